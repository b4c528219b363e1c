//! The `countersign` binary's wiring: open and migrate the store, make the first admin
//! token, serve the HTTP application until a shutdown signal, close cleanly. The
//! end-to-end tests call these same functions.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use countersign_core::Store;
use countersign_core::ops::Core;
use countersign_http::HttpConfig;
use tokio::net::TcpListener;

pub mod config;

use config::Config;

/// Open the database the URL names and apply migrations.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>, String> {
    let store = countersign_store::open(url).await.map_err(|e| format!("cannot open database: {}", describe(&e)))?;
    store.migrate().await.map_err(|e| format!("cannot migrate database: {}", describe(&e)))?;
    Ok(store)
}

/// An error and its causes on one line (database errors carry the useful part in
/// their source).
pub fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// At first start, install the configured bootstrap admin token or make one and print
/// it once on standard output.
pub async fn bootstrap_admin(core: &Core, provided: Option<&str>) -> Result<(), String> {
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
                tracing::info!("admin tokens exist already; COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN is ignored");
            }
            Ok(())
        }
        Err(countersign_core::CoreError::Invalid { field, message }) => Err(format!("{field}: {message}")),
        Err(e) => Err(format!("cannot create the first admin token: {}", describe(&e))),
    }
}

/// Serve on `listener` until `shutdown` completes; then stop accepting, let in-flight
/// requests finish for up to the configured grace period, and close the store.
pub async fn serve_on(
    listener: TcpListener,
    core: Core,
    config: &Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), String> {
    let mut core = core.with_default_providers(config.providers.clone());
    core.custom_delivery = config.votp_custom_delivery;
    core.password_cost = config.password_cost;
    if let Some(path) = &config.geoip_database {
        core.geo = Arc::new(countersign_core::context::Geo::open(path)?);
    }
    let app = countersign_http::app(core.clone(), &HttpConfig { body_limit_bytes: config.body_limit_bytes });
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let extra_roots_pem = match &config.tls_ca_file {
        Some(path) => Some(std::fs::read(path).map_err(|e| format!("tls_ca_file: cannot read {path}: {e}"))?),
        None => None,
    };
    let options = countersign_delivery::Options { proxy: config.proxy.clone(), extra_roots_pem };
    let worker = tokio::spawn(countersign_delivery::Worker::new(core.clone(), options)?.run(stop_rx.clone()));
    tokio::spawn(housekeeping(core.clone(), stop_rx.clone()));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop_tx.send(true);
    });
    let mut graceful_rx = stop_rx.clone();
    let server = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).with_graceful_shutdown(
        async move {
            let _ = graceful_rx.wait_for(|stop| *stop).await;
            tracing::info!("shutting down: no new connections; finishing requests in flight");
        },
    );
    let grace = Duration::from_secs(config.shutdown_grace_seconds);
    let result = tokio::select! {
        r = server => r.map_err(|e| format!("server error: {e}")),
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
    core.store.close().await;
    tracing::info!("stopped");
    result
}

/// Sweep what has outlived its use (countersign_core::housekeeping) every minute until stopped.
async fn housekeeping(core: Core, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(countersign_core::housekeeping::INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => match core.housekeeping().await {
                Ok(s) if s != countersign_core::housekeeping::Swept::default() => {
                    tracing::info!(fido_ceremonies = s.fido_ceremonies, risk_pending = s.risk_pending, "housekeeping");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "housekeeping failed; trying again in a minute"),
            },
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                return;
            },
        }
    }
}

/// The domain core as the server runs it, with `public_url` in QR codes.
pub fn core_for(store: Arc<dyn Store>, public_url: &str) -> Result<Core, String> {
    Ok(Core::new(store).with_public_url(public_url))
}

/// The master key: `master_key` when configured, else the key file, created with a new
/// random key (mode 0600) when missing.
pub fn master_key(config: &Config) -> Result<[u8; 32], String> {
    let decode = |text: &str, from: &str| -> Result<[u8; 32], String> {
        countersign_proto::b64u_decode(text.trim())
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| format!("{from}: the master key must be 32 bytes in base64url (43 characters)"))
    };
    if let Some(k) = &config.master_key {
        return decode(&k.0, "COUNTERSIGN_MASTER_KEY");
    }
    let path = std::path::Path::new(&config.master_key_file);
    match std::fs::read_to_string(path) {
        Ok(text) => decode(&text, &config.master_key_file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key).map_err(|e| format!("random source failed: {e}"))?;
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
            std::io::Write::write_all(&mut f, countersign_proto::b64u_encode(&key).as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            tracing::warn!(file = %path.display(), "created a new master key file: back it up; stored secrets cannot be read without it");
            Ok(key)
        }
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
    }
}

/// Everything `countersign serve` does.
pub async fn serve(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), String> {
    let store = open_store(&config.database_url).await?;
    let listener =
        TcpListener::bind(config.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| format!("cannot read the listening address: {e}"))?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
    let core = core_for(store, &public_url)?.with_master_key(&master_key(&config)?);
    bootstrap_admin(&core, config.bootstrap_admin_token.as_ref().map(|s| s.0.as_str())).await?;
    println!("countersign: listening on http://{addr} (database {})", redact_url(&config.database_url));
    serve_on(listener, core, &config, shutdown).await
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

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
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
