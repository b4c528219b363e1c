//! The site's side of the link (docs/gateway.md, "The link protocol"): dial the relay over
//! TLS, send the hello with the gateway ID and credential, then serve the mobile API over
//! HTTP/2 on the dialled connection. Every link redials when it drops, with back-off;
//! nothing ever connects to the site.

use std::path::PathBuf;
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::sync::watch;
use tokio_rustls::rustls::pki_types::ServerName;
use tower::ServiceExt;

use crate::{error, link};

/// How a site reaches its relay.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// The relay's site port, `https://host:port` (or `host:port`).
    pub url: String,
    /// The name in the relay's certificate (default: the host of `url`).
    pub server_name: Option<String>,
    /// This site's gateway ID.
    pub gateway_id: String,
    /// The file holding this site's credential (read at every dial: replace it to rotate).
    pub credential_file: PathBuf,
    /// PEM CA certificates trusted for the relay (default: the system's roots).
    pub ca_pem: Option<Vec<u8>>,
    /// Links to hold.
    pub connections: usize,
    /// PING interval and the time an answer may take.
    pub heartbeat: Duration,
    /// The notification relay's URL, when pushes go through the relay.
    pub push_url: Option<String>,
}

impl SiteConfig {
    /// `(host, port)` of the relay's site port.
    pub fn host_port(&self) -> Result<(String, u16), String> {
        let rest = self.url.strip_prefix("https://").unwrap_or(&self.url).trim_end_matches('/');
        let (host, port) = rest.rsplit_once(':').ok_or_else(|| format!("relay.url {:?} needs a port", self.url))?;
        let port = port.parse().map_err(|_| format!("relay.url {:?}: bad port", self.url))?;
        Ok((host.trim_start_matches('[').trim_end_matches(']').to_owned(), port))
    }
}

/// Only the mobile API is served on a link; paths with dot segments are refused.
async fn only_mobile(app: axum::Router, req: Request) -> Response {
    let path = req.uri().path();
    let mobile = path == "/mobile/v1" || path.starts_with("/mobile/v1/");
    if !mobile || path.split('/').any(|s| s == ".." || s == ".") {
        return error(StatusCode::NOT_FOUND, "not_found", "only the mobile API is served through the relay");
    }
    // The link is authenticated: the relay's word for the app's address is taken (it
    // strips any such header the app sent), so request limits count the app, not the relay.
    let mut req = req;
    let client =
        req.headers().get(crate::CLIENT_ADDR_HEADER).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    if let Some(addr) = client {
        req.extensions_mut().insert(axum::extract::ConnectInfo::<std::net::SocketAddr>(addr));
    }
    match app.oneshot(req).await {
        Ok(r) => r,
        Err(never) => match never {},
    }
}

/// Hold `cfg.connections` links to the relay, serving `app` on them, until `stop`.
pub async fn run(cfg: SiteConfig, app: axum::Router, stop: watch::Receiver<bool>) -> Result<(), String> {
    let tls = tokio_rustls::TlsConnector::from(link::client_tls(cfg.ca_pem.as_deref())?);
    let (host, port) = cfg.host_port()?;
    let name = cfg.server_name.clone().unwrap_or_else(|| host.clone());
    let name = ServerName::try_from(name.clone()).map_err(|_| format!("relay server name {name:?} is not valid"))?;
    let filtered = axum::Router::new().fallback(move |req: Request| only_mobile(app.clone(), req));
    let mut tasks = Vec::new();
    for n in 0..cfg.connections.max(1) {
        let (cfg, tls, host, name, app, stop) =
            (cfg.clone(), tls.clone(), host.clone(), name.clone(), filtered.clone(), stop.clone());
        tasks.push(tokio::spawn(async move { hold(n, cfg, tls, (host, port), name, app, stop).await }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

async fn hold(
    n: usize,
    cfg: SiteConfig,
    tls: tokio_rustls::TlsConnector,
    addr: (String, u16),
    name: ServerName<'static>,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(500);
    loop {
        if *stop.borrow() {
            return;
        }
        let started = tokio::time::Instant::now();
        match one_link(&cfg, &tls, &addr, name.clone(), app.clone(), stop.clone()).await {
            Ok(()) => tracing::info!(link = n, gateway = %cfg.gateway_id, "relay link closed; redialling"),
            Err(e) => tracing::warn!(link = n, gateway = %cfg.gateway_id, error = %e, "relay link failed; redialling"),
        }
        // A link that lived a while redials at once; quick failures back off.
        if started.elapsed() > Duration::from_secs(30) {
            backoff = Duration::from_millis(100);
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = crate::stopped(&mut stop) => return,
        }
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}

async fn one_link(
    cfg: &SiteConfig,
    tls: &tokio_rustls::TlsConnector,
    addr: &(String, u16),
    name: ServerName<'static>,
    app: axum::Router,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let ten = Duration::from_secs(10);
    let tcp = tokio::time::timeout(ten, tokio::net::TcpStream::connect((addr.0.as_str(), addr.1)))
        .await
        .map_err(|_| "connect timed out".to_owned())?
        .map_err(|e| format!("cannot connect to {}:{}: {e}", addr.0, addr.1))?;
    let _ = tcp.set_nodelay(true);
    let mut s = tokio::time::timeout(ten, tls.connect(name, tcp))
        .await
        .map_err(|_| "TLS handshake timed out".to_owned())?
        .map_err(|e| format!("TLS handshake failed: {e}"))?;
    let credential = std::fs::read_to_string(&cfg.credential_file)
        .map_err(|e| format!("cannot read {}: {e}", cfg.credential_file.display()))?;
    let hello = format!("{} {} {}", link::HELLO, cfg.gateway_id, credential.trim());
    link::write_line(&mut s, &hello).await?;
    let answer =
        tokio::time::timeout(ten, link::read_line(&mut s)).await.map_err(|_| "no answer to hello".to_owned())??;
    if answer != "OK" {
        return Err(format!("the relay refused this site: {}", answer.strip_prefix("ERR ").unwrap_or(&answer)));
    }
    tracing::info!(gateway = %cfg.gateway_id, "linked to the relay");
    let svc = hyper_util::service::TowerToHyperService::new(app);
    let conn = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(cfg.heartbeat))
        .keep_alive_timeout(cfg.heartbeat)
        .serve_connection(TokioIo::new(s), svc);
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => r.map_err(|e| format!("link error: {e}")),
        _ = crate::stopped(&mut stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(10), conn).await;
            Ok(())
        }
    }
}
