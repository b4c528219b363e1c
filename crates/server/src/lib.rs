//! The `countersign` binary's wiring: open and migrate the store, make the first admin
//! token, serve the HTTP application until a shutdown signal, close cleanly. The
//! end-to-end tests call these same functions.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use countersign_core::Core;
use countersign_core::Store;
use countersign_http::HttpConfig;
use tokio::net::TcpListener;

pub mod config;
pub mod demo;
mod error;
pub mod keys;
pub mod permissions;
pub mod tls;
pub mod topology;

use config::Config;
pub use error::ServerError;

/// Open the database the URL names and apply migrations. A SQLite file that cannot
/// be opened is named, with the reason, once.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, ServerError> {
    let store = countersign_store::open(url).await.map_err(|e| match sqlite_path(url) {
        Some(path) => ServerError::Database {
            action: "open",
            database: path.display().to_string(),
            reason: why_not_open(&path, &e),
            source: e,
        },
        None => ServerError::Database { action: "open", database: redact_url(url), reason: describe(&e), source: e },
    })?;
    store.migrate().await.map_err(|e| ServerError::Database {
        action: "migrate",
        database: redact_url(url),
        reason: describe(&e),
        source: e,
    })?;
    Ok(store)
}

/// The file a `sqlite:` URL names (`None` for an in-memory database).
pub fn sqlite_path(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let file = rest.split('?').next().unwrap_or("");
    if file.is_empty() || file == ":memory:" {
        return None;
    }
    Some(std::path::PathBuf::from(percent_decode(file)))
}

/// `%XX` escapes decoded (as the SQLite driver does with the file name).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Why SQLite could not open `path`, in the file system's words when it has some
/// (SQLite itself only says "unable to open database file").
fn why_not_open(path: &std::path::Path, e: &countersign_core::StoreError) -> String {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if path.is_dir() {
        return "it is a directory".to_owned();
    }
    if !dir.is_dir() {
        return format!("the directory {} does not exist (create it, or choose another path)", dir.display());
    }
    let existed = path.exists();
    match std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path) {
        Err(io) => format!("{io}"),
        Ok(_) => {
            if !existed {
                let _ = std::fs::remove_file(path);
            }
            describe(e)
        }
    }
}

/// An error and its causes on one line (database errors carry the useful part in
/// their source); a cause already said is not repeated.
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let said = c.to_string();
        if !text.contains(&said) {
            text.push_str(": ");
            text.push_str(&said);
        }
        cause = c.source();
    }
    text
}

/// Create the data directory (mode 0700) when it is missing and the database, or
/// (with `key`: the command needs the master key) the key file, lives there.
pub fn ensure_data_dir(config: &Config, key: bool) -> Result<(), ServerError> {
    let dir = &config.data_dir;
    let used = config.database_in_data_dir || (key && config.key_file_in_data_dir);
    if !used || dir.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(ServerError::io(format!("cannot create the data directory {}", dir.display())))?;
    tracing::info!(dir = %dir.display(), "created the data directory");
    Ok(())
}

/// At first start, install the configured bootstrap admin token or make one and print
/// it once on standard output. When a configured one is not used because the database
/// (`database`, for the message) has admin tokens already, say so on standard error.
pub async fn bootstrap_admin(core: &Core, provided: Option<&str>, database: &str) -> Result<(), ServerError> {
    match core.bootstrap_admin_token(provided).await {
        Ok(Some(cred)) if provided.is_none() => {
            println!("countersign: first start: created an admin token (shown once, keep it safe):");
            println!("admin token: {}", cred.secret);
            Ok(())
        }
        Ok(Some(_)) => {
            tracing::info!("first start: installed the admin token from COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN");
            Ok(())
        }
        Ok(None) => {
            if provided.is_some() {
                eprintln!("{}", bootstrap_ignored(database));
                tracing::warn!("admin tokens exist already; COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN is ignored");
            }
            Ok(())
        }
        Err(e) => Err(ServerError::domain("", "cannot create the first admin token: ", e)),
    }
}

/// The warning printed when the bootstrap admin token is not used.
pub fn bootstrap_ignored(database: &str) -> String {
    let at = match sqlite_path(database) {
        Some(path) => path.display().to_string(),
        None => redact_url(database),
    };
    format!(
        "countersign: WARNING: the bootstrap admin token (COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN) was ignored: \
         the database at {at} already has admin tokens, so that token will get 401 unauthorized. \
         Use an admin token you already have; or start on a fresh database (--data-dir on an empty \
         directory, or another --database) for the bootstrap token to be installed; or make another \
         token with `countersign admin token create` (with the same --data-dir or --database)."
    )
}

/// Serve on `listener` until `shutdown` completes; then stop accepting, let in-flight
/// requests finish for up to the configured grace period, and close the store. RADIUS is
/// answered too when `radius_listen` is set.
pub async fn serve_on(
    listener: TcpListener,
    core: Core,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    serve_parts(listener, None, core, config, shutdown).await
}

/// [`serve_on`] with a RADIUS socket already bound (else bound here when configured).
async fn serve_parts(
    listener: TcpListener,
    radius: Option<tokio::net::UdpSocket>,
    core: Core,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let radius = match (radius, config.radius_listen) {
        (Some(s), _) => Some(s),
        (None, Some(addr)) => {
            Some(tokio::net::UdpSocket::bind(addr).await.map_err(|source| ServerError::Listen { addr, source })?)
        }
        (None, None) => None,
    };
    let mut core = core.with_default_providers(config.providers.clone());
    core.custom_delivery = config.votp_custom_delivery;
    core.hasher = Arc::new(countersign_core::password::Hasher::new(config.password_cost, config.password_hash_threads));
    core.gateway_id = config.gateway_id.clone();
    core.push_relay = config.relay.as_ref().is_some_and(|r| r.push_url.is_some());
    core.retention = config.retention;
    core.limits = config.limits;
    if let Some(path) = &config.geoip_database {
        core.geo = Arc::new(countersign_core::context::Geo::open(path).map_err(ServerError::Geo)?);
    }
    // The demo relying party (docs/web.md), only when asked for: it calls this server's
    // integration API on the listening address.
    let demo = if config.demo {
        let addr = listener.local_addr().map_err(ServerError::io("cannot read the listening address"))?;
        let messages = config.providers.email.as_ref().and_then(|e| e.file.clone());
        Some(demo::page(&core, addr, config.tls.is_some(), messages).await?)
    } else {
        None
    };
    let http = HttpConfig {
        body_limit_bytes: config.body_limit_bytes,
        import_limit_bytes: config.import_limit_bytes,
        proxies: config.proxies.clone(),
        demo,
    };
    let app = countersign_http::app(core.clone(), &http);
    let certs = config.tls.as_ref().map(tls::Certs::open).transpose()?;
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let extra_roots_pem = match &config.tls_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(ServerError::io(format!("tls_ca_file: cannot read {path}")))?),
        None => None,
    };
    let options = countersign_delivery::Options { proxy: config.proxy.clone(), extra_roots_pem };
    let port: Arc<dyn countersign_core::delivery::Port> = Arc::new(core.clone());
    let worker = topology::worker(port, options, config)?;
    let worker = tokio::spawn(worker.run(stop_rx.clone()));
    tokio::spawn(housekeeping(core.clone(), stop_rx.clone()));
    // Sessions other nodes end wake this node's waiters (PostgreSQL LISTEN/NOTIFY).
    let listening = {
        let (core, mut stop) = (core.clone(), stop_rx.clone());
        tokio::spawn(async move {
            while let Err(e) = core.follow_other_nodes(stop.clone()).await {
                tracing::warn!(error = %countersign_core::session::cause(&e),
                    "cannot listen for sessions other nodes end; trying again in 5 s");
                tokio::select! {
                    _ = tokio::time::sleep(countersign_core::session::SAFETY_RECHECK) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
            }
        })
    };
    // RADIUS (docs/radius.md): a task of its own with the configured core.
    if let Some(socket) = radius {
        tokio::spawn(countersign_radius::serve(core.clone(), socket, stop_rx.clone()));
    }
    // Ends expired pending sessions as Timeout (docs/mobile-protocol.md, "The sweeper").
    let sweeper = tokio::spawn(countersign_core::session::sweeper::run(core.clone(), stop_rx.clone()));
    // A site of a relay: dial it and serve the mobile API on the link (docs/gateway.md).
    if let Some(site) = config.relay.clone() {
        let (app, stop) = (app.clone(), stop_rx.clone());
        tokio::spawn(async move {
            if let Err(e) = countersign_gateway::site::run(site, app, stop).await {
                tracing::error!(error = %e, "cannot link to the relay");
            }
        });
    }
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut graceful_rx = stop_rx.clone();
    let server = async move {
        match certs {
            // HTTPS (docs/security.md, "TLS"): certificates reloaded on SIGHUP or change.
            Some(certs) => {
                let acceptor = certs.acceptor()?;
                tokio::spawn(tls::watch(certs, graceful_rx.clone()));
                tls::serve(listener, app, acceptor, graceful_rx).await;
                Ok(())
            }
            None => axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
                .with_graceful_shutdown(async move {
                    let _ = graceful_rx.wait_for(|stop| *stop).await;
                    tracing::info!("shutting down: no new connections; finishing requests in flight");
                })
                .await
                .map_err(ServerError::Serve),
        }
    };
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let result = tokio::select! {
        r = server => r,
        _ = async {
            let _ = stop_rx.wait_for(|stop| *stop).await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(seconds = config.shutdown_grace_seconds, "grace period over; abandoning requests in flight");
            Ok(())
        }
    };
    // The worker finishes the sends in hand (each at most 10 s); unsent ones stay queued.
    let _ = tokio::time::timeout(Duration::from_secs(15), worker).await;
    // The sweeper stops between sweeps; one in hand is a few short transactions.
    let _ = tokio::time::timeout(Duration::from_secs(5), sweeper).await;
    // The listening connection goes back to the pool before it closes.
    let _ = tokio::time::timeout(Duration::from_secs(5), listening).await;
    core.store.close().await;
    tracing::info!("stopped");
    result
}

/// Sweep what has outlived its use (countersign_core::housekeeping) every minute until
/// stopped; passes follow each other at once while a purge removes a whole batch.
/// Return the heap memory freed since the last pass to the system (glibc keeps it in its
/// arenas otherwise: after a burst of thousands of waiting logins the RSS would stay at
/// its peak; docs/benchmarks.md, "Load generator").
fn give_back_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps and
    // arenas; it takes no pointers and is safe to call from any thread at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Serve allocations of 1 MiB and more (an Argon2id hash takes 19 MiB) from their own
/// mappings, returned to the system when freed. By default glibc raises that threshold
/// after the first such block is freed, and from then on keeps the hashing threads' blocks
/// in their arenas: after a burst of static-password logins the RSS stayed 200 MiB above
/// its start even after `malloc_trim` (docs/benchmarks.md).
fn return_large_allocations() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; it takes no pointers. Setting
    // M_MMAP_THRESHOLD also turns glibc's dynamic adjustment of it off.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

/// Let the process hold as many connections as the system allows it: each waiting
/// synchronous login is an open connection, and the usual soft limit (1,024, or the
/// service manager's) is far below the hard limit.
fn raise_open_files_limit() {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
        // SAFETY: getrlimit and setrlimit only read and write the struct passed by
        // reference, which lives for both calls.
        let raised = unsafe {
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max && {
                lim.rlim_cur = lim.rlim_max;
                libc::setrlimit(libc::RLIMIT_NOFILE, &lim) == 0
            }
        };
        if raised {
            tracing::debug!(open_files = lim.rlim_cur, "raised the open-files limit to the hard limit");
        }
    }
}

async fn housekeeping(core: Core, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(countersign_core::housekeeping::INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => loop {
                match core.housekeeping().await {
                    Ok(s) => {
                        if s != countersign_core::housekeeping::Swept::default() {
                            tracing::info!(fido_ceremonies = s.fido_ceremonies, risk_pending = s.risk_pending,
                                sessions = s.sessions, qr_logins = s.qr_logins, activations = s.activations,
                                outbox_sent = s.outbox_sent, outbox_dead = s.outbox_dead,
                                risk_failures = s.risk_failures, audit = s.audit, rate_limits = s.rate_limits,
                                device_nonces = s.device_nonces, web_sessions = s.web_sessions,
                                sign_in_links = s.sign_in_links, "housekeeping");
                        }
                        if !s.full(core.retention.batch) || *stop.borrow() {
                            give_back_freed_memory();
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "housekeeping failed; trying again in a minute");
                        break;
                    }
                }
            },
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                return;
            },
        }
    }
}

/// The domain core as the server runs it, with `public_url` in QR codes.
pub fn core_for(store: Arc<dyn Store>, public_url: &str) -> Result<Core, ServerError> {
    Ok(Core::new(store).with_public_url(public_url))
}

/// Bind the listening address, saying which address when it cannot be had. Done
/// before anything is created on disk.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, ServerError> {
    TcpListener::bind(addr).await.map_err(|source| ServerError::Listen { addr, source })
}

/// Everything `countersign serve` does: bind the address first (so a port in use
/// leaves nothing behind), then the data directory, database and master key.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), ServerError> {
    raise_open_files_limit();
    return_large_allocations();
    let listener = bind(config.listen).await?;
    let radius = match config.radius_listen {
        Some(addr) => {
            Some(tokio::net::UdpSocket::bind(addr).await.map_err(|source| ServerError::Listen { addr, source })?)
        }
        None => None,
    };
    let addr = listener.local_addr().map_err(ServerError::io("cannot read the listening address"))?;
    // A certificate that cannot be used stops the start before anything is created.
    if let Some(files) = &config.tls {
        tls::Certs::open(files)?;
    }
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    ensure_data_dir(&config, true)?;
    let store = open_store(&config.database_url).await?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("{scheme}://{addr}"));
    let ring = match keys::keyring(&config) {
        Ok(k) => k,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    permissions::warn_loose_modes(&config);
    let core = core_for(store, &public_url)?.with_keyring(&ring);
    if let Err(e) =
        bootstrap_admin(&core, config.bootstrap_admin_token.as_ref().map(|s| s.0.as_str()), &config.database_url).await
    {
        core.store.close().await;
        return Err(e);
    }
    println!("countersign: listening on {scheme}://{addr} (database {})", redact_url(&config.database_url));
    if config.demo {
        println!(
            "countersign: demo shop at {} (development only: anyone who reaches it uses the demo tenant)",
            demo::shop_url(&public_url)
        );
    }
    // A keyring file is re-read when it changes (`countersign admin rotate-key`).
    let (stop_watch, watching) = tokio::sync::watch::channel(false);
    if config.master_key.is_none() {
        tokio::spawn(keys::watch(config.master_key_file.clone().into(), core.sealer.clone(), watching));
    }
    if let Some(a) = radius.as_ref().and_then(|s| s.local_addr().ok()) {
        println!("countersign: answering RADIUS on udp {a}");
    }
    let result = serve_parts(listener, radius, core, &config, shutdown).await;
    let _ = stop_watch.send(true);
    result
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((creds, host)) if creds.contains(':') => {
            let user = creds.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// Resolves on Ctrl-C or SIGTERM. The handlers are installed when this is called (not
/// when first polled), so a signal that comes right after the "listening" line stops
/// the server cleanly instead of killing it.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let interrupt = signal(SignalKind::interrupt()).ok();
        let terminate = signal(SignalKind::terminate()).ok();
        async move {
            let wait = |s: Option<tokio::signal::unix::Signal>| async move {
                match s {
                    Some(mut s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => {},
                _ = wait(terminate) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_cut_from_urls() {
        assert_eq!(redact_url("postgres://u:pw@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact_url("sqlite://countersign.db"), "sqlite://countersign.db");
    }
}
