//! The `countersign gateway` and `countersign relay` subcommands (docs/gateway.md): their
//! flags and how they start the processes of `countersign_gateway`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Subcommand};
use countersign_core::Clock;
use countersign_gateway::sites::{SITES_FILE, Sites};

use crate::ServerError;

/// `countersign gateway`: forward the mobile API to a server.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// The countersign server to forward to, e.g. http://10.0.0.5:8080.
    #[arg(long, value_name = "URL")]
    pub upstream: String,
    /// PEM certificate chain for this gateway's own TLS (with --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for this gateway's own TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Largest request body in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 65536)]
    pub body_limit_bytes: usize,
    /// Requests per minute per client address (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 600)]
    pub rate_per_minute: u32,
    /// Also dial this relay's site port (https://host:port) and serve the mobile API on
    /// the link: the gateway is then the on-premises site (with --gateway-id and
    /// --credential-file).
    #[arg(long, value_name = "URL", requires_all = ["gateway_id", "credential_file"])]
    pub relay_url: Option<String>,
    /// The gateway ID the relay knows this site by.
    #[arg(long, value_name = "ID")]
    pub gateway_id: Option<String>,
    /// The file holding the site credential.
    #[arg(long, value_name = "FILE")]
    pub credential_file: Option<PathBuf>,
    /// PEM CA file trusted for the relay (default: the system's roots).
    #[arg(long, value_name = "FILE")]
    pub relay_ca_file: Option<PathBuf>,
    /// The name in the relay's certificate (default: the host of --relay-url).
    #[arg(long, value_name = "NAME")]
    pub relay_server_name: Option<String>,
}

/// `countersign relay …`.
#[derive(Debug, Subcommand)]
pub enum RelayCommand {
    /// Serve: the mobile port for apps, the site port for site links, metrics.
    Serve(RelayServeArgs),
    /// Site credentials, on the relay's site file in --data-dir (offline; a running relay
    /// picks changes up within a second).
    #[command(subcommand)]
    Site(SiteCommand),
}

/// `countersign relay serve`.
#[derive(Debug, Args)]
pub struct RelayServeArgs {
    /// Address of the mobile port (apps).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: SocketAddr,
    /// Address of the site port (site links, TLS).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7443")]
    pub site_listen: SocketAddr,
    /// Address of the metrics port (`GET /metrics`); none when not given.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// PEM certificate chain of the site port (and the mobile port unless --mobile-plain).
    #[arg(long, value_name = "FILE")]
    pub tls_cert: PathBuf,
    /// PEM private key of the site port.
    #[arg(long, value_name = "FILE")]
    pub tls_key: PathBuf,
    /// Serve the mobile port in plain HTTP (behind a TLS-terminating load balancer, or tests).
    #[arg(long)]
    pub mobile_plain: bool,
    /// Largest app request body in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 65536)]
    pub body_limit_bytes: usize,
    /// App requests per minute per client address (0: no limit).
    #[arg(long, value_name = "N", default_value_t = 600)]
    pub rate_per_minute: u32,
    /// Heartbeat (HTTP/2 PING) interval, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 5)]
    pub heartbeat_seconds: u64,
    /// The longest a site may take to answer, seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    pub request_timeout_seconds: u64,
    /// Push credentials for the notification relay: a JSON file mapping each app ID to
    /// `{"config": <push app document>, "vapidPrivateKey": "<base64url>"}`.
    #[arg(long, value_name = "FILE")]
    pub apps: Option<PathBuf>,
    /// PEM file of extra CA certificates trusted for the push providers.
    #[arg(long, value_name = "FILE")]
    pub provider_ca_file: Option<PathBuf>,
}

/// `countersign relay site …`.
#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Add a site and print its first credential (once).
    Add {
        /// The gateway ID.
        gateway_id: String,
    },
    /// Issue a new credential (printed once); older ones open new links for the grace
    /// period only. Open links stay up.
    Rotate {
        /// The gateway ID.
        gateway_id: String,
        /// How long older credentials still open new links, seconds.
        #[arg(long, default_value_t = 86400)]
        grace_seconds: i64,
    },
    /// Revoke a site: its links are cut at once and its requests refused.
    Revoke {
        /// The gateway ID.
        gateway_id: String,
    },
    /// List the sites.
    List,
}

fn read(path: &Path, what: &str) -> Result<Vec<u8>, ServerError> {
    std::fs::read(path).map_err(ServerError::io(format!("{what}: cannot read {}", path.display())))
}

/// Run `countersign gateway` until `shutdown`.
pub async fn gateway(
    args: GatewayArgs,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    if !(args.upstream.starts_with("http://") || args.upstream.starts_with("https://")) {
        return Err(ServerError::Usage("--upstream must be an http:// or https:// URL".into()));
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(c), Some(k)) => Some(
            countersign_gateway::link::server_tls(
                &read(c, "--tls-cert")?,
                &read(k, "--tls-key")?,
                &[b"h2", b"http/1.1"],
            )
            .map_err(ServerError::Gateway)?,
        ),
        _ => None,
    };
    let listener = crate::bind(args.listen).await?;
    let addr = listener.local_addr().map_err(ServerError::io("cannot read the listening address"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let cfg = countersign_gateway::forwarder::ForwarderConfig {
        upstream: args.upstream,
        body_limit_bytes: args.body_limit_bytes,
        rate_per_minute: args.rate_per_minute,
        timeout: Duration::from_secs(30),
        tls,
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    if let (Some(url), Some(gateway_id), Some(credential_file)) =
        (args.relay_url, args.gateway_id, args.credential_file)
    {
        let ca_pem = match &args.relay_ca_file {
            Some(p) => Some(read(p, "--relay-ca-file")?),
            None => None,
        };
        let site = countersign_gateway::site::SiteConfig {
            url,
            server_name: args.relay_server_name,
            gateway_id,
            credential_file,
            ca_pem,
            connections: 1,
            heartbeat: Duration::from_secs(5),
            push_url: None,
        };
        site.host_port().map_err(ServerError::Usage)?;
        let app = countersign_gateway::forwarder::router(&cfg).map_err(ServerError::Gateway)?;
        let stop = rx.clone();
        tokio::spawn(async move {
            if let Err(e) = countersign_gateway::site::run(site, app, stop).await {
                tracing::error!(error = %e, "cannot link to the relay");
            }
        });
    }
    println!("countersign gateway: listening on {scheme}://{addr}");
    countersign_gateway::forwarder::run(cfg, listener, rx).await.map_err(ServerError::Gateway)
}

/// Run a `countersign relay` command; `data_dir` holds the site file.
pub async fn relay(
    cmd: RelayCommand,
    data_dir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let file = data_dir.join(SITES_FILE);
    let clock = countersign_core::SystemClock;
    let edit = |f: &dyn Fn(&mut Sites) -> Result<Option<String>, String>| -> Result<(), ServerError> {
        if !data_dir.is_dir() {
            std::fs::create_dir_all(data_dir)
                .map_err(ServerError::io(format!("cannot create {}", data_dir.display())))?;
        }
        let mut sites = Sites::load(&file).map_err(ServerError::Gateway)?;
        let printed = f(&mut sites).map_err(ServerError::Gateway)?;
        sites.save(&file).map_err(ServerError::Gateway)?;
        if let Some(p) = printed {
            println!("{p}");
        }
        Ok(())
    };
    match cmd {
        RelayCommand::Site(SiteCommand::Add { gateway_id }) => {
            edit(&|s| s.add(&gateway_id).map(|c| Some(format!("site credential: {c}"))))
        }
        RelayCommand::Site(SiteCommand::Rotate { gateway_id, grace_seconds }) => edit(&|s| {
            s.rotate(&gateway_id, clock.now().0, grace_seconds.saturating_mul(1000))
                .map(|c| Some(format!("site credential: {c}")))
        }),
        RelayCommand::Site(SiteCommand::Revoke { gateway_id }) => {
            edit(&|s| s.revoke(&gateway_id).map(|()| Some(format!("site revoked: {gateway_id}"))))
        }
        RelayCommand::Site(SiteCommand::List) => {
            for (id, s) in Sites::load(&file).map_err(ServerError::Gateway)?.sites {
                let state = if s.revoked { "revoked" } else { "active" };
                println!("{id}\t{state}\t{} credential(s)", s.credentials.len());
            }
            Ok(())
        }
        RelayCommand::Serve(a) => {
            let (cert, key) = (read(&a.tls_cert, "--tls-cert")?, read(&a.tls_key, "--tls-key")?);
            let site_tls = countersign_gateway::link::server_tls(&cert, &key, &[]).map_err(ServerError::Gateway)?;
            let mobile_tls = if a.mobile_plain {
                None
            } else {
                Some(
                    countersign_gateway::link::server_tls(&cert, &key, &[b"h2", b"http/1.1"])
                        .map_err(ServerError::Gateway)?,
                )
            };
            let mobile = crate::bind(a.listen).await?;
            let site = crate::bind(a.site_listen).await?;
            let metrics = match a.metrics_listen {
                Some(m) => Some(crate::bind(m).await?),
                None => None,
            };
            let notifier = match &a.apps {
                None => None,
                Some(path) => {
                    let apps = countersign_gateway::push::parse_apps(&read(path, "--apps")?)
                        .map_err(|e| ServerError::Gateway(format!("--apps {}: {e}", path.display())))?;
                    let extra_roots_pem = match &a.provider_ca_file {
                        Some(p) => Some(read(p, "--provider-ca-file")?),
                        None => None,
                    };
                    let http = countersign_delivery::Http::new(countersign_delivery::Options {
                        proxy: None,
                        extra_roots_pem,
                    })?;
                    Some(countersign_gateway::push::Notifier::new(apps, &http, Arc::new(clock)))
                }
            };
            let relay = countersign_gateway::relay::Relay::new(countersign_gateway::relay::RelayConfig {
                notifier,
                sites_file: file,
                site_tls,
                mobile_tls: mobile_tls.clone(),
                heartbeat: Duration::from_secs(a.heartbeat_seconds.clamp(1, 300)),
                request_timeout: Duration::from_secs(a.request_timeout_seconds.clamp(1, 300)),
                body_limit_bytes: a.body_limit_bytes,
                rate_per_minute: a.rate_per_minute,
                clock: Arc::new(clock),
            })
            .map_err(ServerError::Gateway)?;
            let at = |l: &tokio::net::TcpListener| l.local_addr().map(|a| a.to_string()).unwrap_or_default();
            let scheme = if mobile_tls.is_some() { "https" } else { "http" };
            let mut line = format!("countersign relay: mobile {scheme}://{} sites https://{}", at(&mobile), at(&site));
            if let Some(m) = &metrics {
                line.push_str(&format!(" metrics http://{}", at(m)));
            }
            println!("{line}");
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                shutdown.await;
                let _ = tx.send(true);
            });
            relay.run(mobile, site, metrics, rx).await.map_err(ServerError::Gateway)
        }
    }
}

/// The outbox worker: the standard senders, and with `relay.push_url` the notification
/// relay's sender for pushes (docs/gateway.md, "Notification relay").
pub fn worker(
    port: Arc<dyn countersign_core::delivery::Port>,
    options: countersign_delivery::Options,
    config: &crate::config::Config,
) -> Result<countersign_delivery::Worker, ServerError> {
    let relay = config.relay.as_ref().and_then(|r| r.push_url.clone().map(|url| (r, url)));
    let Some((relay, url)) = relay else {
        return Ok(countersign_delivery::Worker::new(port, options)?);
    };
    let http = countersign_delivery::Http::new(options)?;
    let sender = countersign_gateway::push::RelayPushSender::new(
        &http,
        url,
        relay.gateway_id.clone(),
        relay.credential_file.clone(),
    );
    let senders = countersign_delivery::Senders::standard(&http, &port.clock()).with(sender);
    Ok(countersign_delivery::Worker::with_senders(port, senders))
}
