//! `countersign relay`: apps connect to its mobile port; sites dial its site port and
//! register under their gateway ID (docs/gateway.md). Each app request becomes one
//! HTTP/2 stream on a link of the site its gateway ID names; the relay keeps nothing but
//! the requests in flight.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use countersign_core::Clock;
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::rustls;

use crate::metrics::Metrics;
use crate::ratelimit::RateLimiter;
use crate::sites::{Refusal, Sites};
use crate::{CLIENT_ADDR_HEADER, GATEWAY_HEADER, error, hop_by_hop, link};

/// The relay's settings.
#[derive(Clone)]
pub struct RelayConfig {
    /// The site file (`relay-sites.json`).
    pub sites_file: PathBuf,
    /// TLS of the site port (required: site credentials travel on it).
    pub site_tls: Arc<rustls::ServerConfig>,
    /// TLS of the mobile port (`None`: plain HTTP, e.g. behind a TLS-terminating load balancer).
    pub mobile_tls: Option<Arc<rustls::ServerConfig>>,
    /// PING interval and the time an answer may take.
    pub heartbeat: Duration,
    /// The longest a site may take to answer.
    pub request_timeout: Duration,
    /// Largest app request body.
    pub body_limit_bytes: usize,
    /// App requests per minute per client address (0: no limit).
    pub rate_per_minute: u32,
    /// The clock (credential grace periods).
    pub clock: Arc<dyn Clock>,
    /// The notification relay, when the relay holds provider credentials.
    pub notifier: Option<crate::push::Notifier>,
}

struct Link {
    id: u64,
    send: SendRequest<Body>,
    kill: watch::Sender<bool>,
}

struct Inner {
    cfg: RelayConfig,
    sites: RwLock<Sites>,
    links: Mutex<HashMap<String, Vec<Link>>>,
    next_link: AtomicU64,
    turn: AtomicUsize,
    metrics: Metrics,
    limiter: RateLimiter,
}

/// A running relay's shared state.
#[derive(Clone)]
pub struct Relay(Arc<Inner>);

#[derive(Clone, Copy)]
struct Peer(SocketAddr);

impl Relay {
    /// A relay with the sites of its site file.
    pub fn new(cfg: RelayConfig) -> Result<Relay, String> {
        let sites = Sites::load(&cfg.sites_file)?;
        Ok(Relay(Arc::new(Inner {
            limiter: RateLimiter::new(cfg.rate_per_minute),
            cfg,
            sites: RwLock::new(sites),
            links: Mutex::new(HashMap::new()),
            next_link: AtomicU64::new(1),
            turn: AtomicUsize::new(0),
            metrics: Metrics::default(),
        })))
    }

    /// Live links per gateway ID.
    pub fn links(&self) -> BTreeMap<String, usize> {
        let links = self.0.links.lock().map(|l| l.iter().map(|(k, v)| (k.clone(), v.len())).collect());
        links.unwrap_or_default()
    }

    /// The metrics exposition.
    pub fn metrics(&self) -> String {
        self.0.metrics.render(&self.links())
    }

    /// Serve the mobile port, the site port and (optionally) the metrics port until `stop`.
    pub async fn run(
        self,
        mobile: TcpListener,
        site: TcpListener,
        metrics: Option<TcpListener>,
        stop: watch::Receiver<bool>,
    ) -> Result<(), String> {
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(self.clone().watch_sites(stop.clone())));
        tasks.push(tokio::spawn(self.clone().accept_sites(site, stop.clone())));
        if let Some(l) = metrics {
            let r = self.clone();
            let app = axum::Router::new().route(
                "/metrics",
                axum::routing::get(move || {
                    let r = r.clone();
                    async move { ([("content-type", "text/plain; version=0.0.4")], r.metrics()) }
                }),
            );
            let mut s = stop.clone();
            tasks.push(tokio::spawn(async move {
                let _ = axum::serve(l, app)
                    .with_graceful_shutdown(async move {
                        let _ = s.wait_for(|v| *v).await;
                    })
                    .await;
            }));
        }
        let router = axum::Router::new()
            .route("/push/v1/send", axum::routing::post(push_send))
            .fallback(route)
            .with_state(self.clone());
        let tls = self.0.cfg.mobile_tls.clone().map(tokio_rustls::TlsAcceptor::from);
        serve_http(mobile, router, tls, stop).await;
        for t in tasks {
            t.abort();
        }
        if let Ok(mut links) = self.0.links.lock() {
            for l in links.values().flatten() {
                let _ = l.kill.send(true);
            }
            links.clear();
        }
        Ok(())
    }

    /// Re-read the site file when it changes; cut the links of revoked sites at once.
    async fn watch_sites(self, mut stop: watch::Receiver<bool>) {
        let path = self.0.cfg.sites_file.clone();
        let stamp = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        let mut seen = stamp(&path);
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = crate::stopped(&mut stop) => return,
            }
            let now = stamp(&path);
            if now == seen {
                continue;
            }
            seen = now;
            let sites = match Sites::load(&path) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot re-read the site file; keeping the sites as they were");
                    continue;
                }
            };
            let Ok(mut links) = self.0.links.lock() else { continue };
            links.retain(|gw, ls| {
                let keep = sites.sites.get(gw).is_some_and(|s| !s.revoked);
                if !keep {
                    tracing::warn!(gateway = %gw, links = ls.len(), "site revoked or removed: cutting its links");
                    for l in ls.iter() {
                        let _ = l.kill.send(true);
                    }
                }
                keep
            });
            drop(links);
            if let Ok(mut s) = self.0.sites.write() {
                *s = sites;
            }
        }
    }

    async fn accept_sites(self, listener: TcpListener, mut stop: watch::Receiver<bool>) {
        let acceptor = tokio_rustls::TlsAcceptor::from(self.0.cfg.site_tls.clone());
        loop {
            let (tcp, peer) = tokio::select! {
                r = listener.accept() => match r {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::warn!(error = %e, "site port: accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                },
                _ = crate::stopped(&mut stop) => return,
            };
            let relay = self.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                if let Err(e) = relay.link(acceptor, tcp, peer).await {
                    tracing::info!(%peer, error = %e, "site link ended");
                }
            });
        }
    }

    /// One site link: TLS, hello, then the HTTP/2 client side until it ends or is cut.
    async fn link(
        self,
        acceptor: tokio_rustls::TlsAcceptor,
        tcp: tokio::net::TcpStream,
        peer: SocketAddr,
    ) -> Result<(), String> {
        let _ = tcp.set_nodelay(true);
        let ten = Duration::from_secs(10);
        let mut tls = tokio::time::timeout(ten, acceptor.accept(tcp))
            .await
            .map_err(|_| "TLS handshake timed out".to_owned())?
            .map_err(|e| format!("TLS handshake failed: {e}"))?;
        let line = tokio::time::timeout(ten, link::read_line(&mut tls)).await.map_err(|_| "no hello".to_owned())??;
        let Some((gateway, credential)) = link::parse_hello(&line) else {
            let _ = link::write_line(&mut tls, "ERR bad_hello").await;
            return Err("bad hello".into());
        };
        let gateway = gateway.to_owned();
        let now = crate::now_ms(self.0.cfg.clock.as_ref());
        let checked = match self.0.sites.read() {
            Ok(s) => s.check(&gateway, credential, now),
            Err(_) => Err(Refusal::BadCredential),
        };
        if let Err(r) = checked {
            tracing::warn!(%peer, gateway = %gateway, code = r.code(), "site hello refused");
            self.0.metrics.error(&format!("hello_{}", r.code()));
            let _ = link::write_line(&mut tls, &format!("ERR {}", r.code())).await;
            return Err(format!("refused: {}", r.code()));
        }
        link::write_line(&mut tls, "OK").await?;
        let hb = self.0.cfg.heartbeat;
        let (send, conn) = hyper::client::conn::http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(hb)
            .keep_alive_timeout(hb)
            .keep_alive_while_idle(true)
            .handshake::<_, Body>(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP/2 handshake failed: {e}"))?;
        let id = self.0.next_link.fetch_add(1, Ordering::Relaxed);
        let (kill, mut killed) = watch::channel(false);
        if let Ok(mut links) = self.0.links.lock() {
            links.entry(gateway.clone()).or_default().push(Link { id, send, kill });
        }
        tracing::info!(%peer, gateway = %gateway, link = id, "site linked");
        let result = tokio::select! {
            r = conn => r.map_err(|e| format!("link error: {e}")),
            _ = crate::stopped(&mut killed) => Err("cut: site revoked".to_owned()),
        };
        if let Ok(mut links) = self.0.links.lock()
            && let Some(ls) = links.get_mut(&gateway)
        {
            ls.retain(|l| l.id != id);
            if ls.is_empty() {
                links.remove(&gateway);
            }
        }
        tracing::info!(gateway = %gateway, link = id, "site unlinked");
        result
    }

    /// A live link of `gateway`, in turn.
    fn pick(&self, gateway: &str) -> Option<SendRequest<Body>> {
        let links = self.0.links.lock().ok()?;
        let ls: Vec<&Link> = links.get(gateway)?.iter().filter(|l| !l.send.is_closed()).collect();
        if ls.is_empty() {
            return None;
        }
        let i = self.0.turn.fetch_add(1, Ordering::Relaxed) % ls.len();
        ls.get(i).map(|l| l.send.clone())
    }
}

/// Serve `router` on `listener` (TLS when given) with the peer address as an extension,
/// HTTP/1.1 and HTTP/2, until `stop`.
pub(crate) async fn serve_http(
    listener: TcpListener,
    router: axum::Router,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = crate::stopped(&mut stop) => return,
        };
        let _ = tcp.set_nodelay(true);
        let svc = hyper_util::service::TowerToHyperService::new(router.clone().layer(axum::Extension(Peer(peer))));
        let tls = tls.clone();
        tokio::spawn(async move {
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            match tls {
                None => {
                    let _ = builder.serve_connection(TokioIo::new(tcp), svc).await;
                }
                Some(acc) => {
                    if let Ok(Ok(s)) = tokio::time::timeout(Duration::from_secs(10), acc.accept(tcp)).await {
                        let _ = builder.serve_connection(TokioIo::new(s), svc).await;
                    }
                }
            }
        });
    }
}

/// The client address a request came from.
pub(crate) fn peer_of(req: &Request) -> Option<SocketAddr> {
    req.extensions().get::<Peer>().map(|p| p.0)
}

/// `(gateway ID, path and query to forward)` of an app request, or the refusal.
fn target(req: &Request) -> Result<(String, String), (StatusCode, &'static str, &'static str)> {
    let header = req.headers().get(GATEWAY_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = req.uri().path();
    let query = req.uri().query().map(|q| format!("?{q}")).unwrap_or_default();
    let (gateway, rest) = match path.strip_prefix("/g/") {
        Some(rest) => {
            let (gw, tail) = rest.split_once('/').map_or((rest, ""), |(g, t)| (g, t));
            (Some(gw.to_owned()), format!("/{tail}"))
        }
        None => (None, path.to_owned()),
    };
    let dots = rest.split('/').any(|s| s == ".." || s == ".");
    if dots || !(rest == "/mobile/v1" || rest.starts_with("/mobile/v1/")) {
        return Err((StatusCode::NOT_FOUND, "not_found", "the relay carries only the mobile API (/mobile/v1)"));
    }
    let gateway = match (gateway, header) {
        (Some(p), Some(h)) if p != h => {
            return Err((
                StatusCode::BAD_REQUEST,
                "gateway_mismatch",
                "the gateway ID in the path and in X-CS-Gateway differ",
            ));
        }
        (Some(g), _) | (None, Some(g)) => g,
        (None, None) => {
            return Err((StatusCode::BAD_REQUEST, "no_gateway", "say which site: /g/<gatewayID>/… or X-CS-Gateway"));
        }
    };
    Ok((gateway, format!("{rest}{query}")))
}

/// The notification relay's endpoint: a site, by its gateway ID and credential, hands
/// over one push reference; the answer is the provider's outcome.
async fn push_send(State(relay): State<Relay>, headers: axum::http::HeaderMap, body: axum::body::Bytes) -> Response {
    let inner = &relay.0;
    let refuse = |status: StatusCode, code: &'static str, message: &str| {
        inner.metrics.error(code);
        error(status, code, message)
    };
    let gateway = headers.get(crate::SITE_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let credential = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let now = crate::now_ms(inner.cfg.clock.as_ref());
    let allowed = inner.sites.read().map(|s| s.check(gateway, credential, now).is_ok()).unwrap_or(false);
    if !allowed {
        return refuse(
            StatusCode::UNAUTHORIZED,
            "bad_site_credential",
            "X-CS-Site and the bearer credential do not match a site",
        );
    }
    let Some(notifier) = &inner.cfg.notifier else {
        return refuse(StatusCode::NOT_FOUND, "no_notification_relay", "this relay holds no push credentials");
    };
    let Ok(p) = serde_json::from_slice::<crate::push::PushRequest>(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "not a push request");
    };
    let platform = p.platform.clone();
    let answer = notifier.send(p).await;
    inner.metrics.push(&platform, &answer.outcome);
    if answer.outcome != "sent" {
        tracing::info!(gateway, platform = %platform, outcome = %answer.outcome, "relayed push not sent");
    }
    axum::Json(answer).into_response()
}

async fn route(State(relay): State<Relay>, req: Request) -> Response {
    let inner = &relay.0;
    let refuse = |status: StatusCode, code: &'static str, message: &str| {
        inner.metrics.error(code);
        error(status, code, message)
    };
    let (gateway, path) = match target(&req) {
        Ok(t) => t,
        Err((s, c, m)) => return refuse(s, c, m),
    };
    let peer = peer_of(&req);
    if let Some(p) = peer
        && !inner.limiter.allow(p.ip())
    {
        return refuse(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests from this address");
    }
    let known = inner.sites.read().ok().and_then(|s| s.sites.get(&gateway).map(|s| s.revoked));
    match known {
        None => return refuse(StatusCode::NOT_FOUND, "unknown_gateway", "no site has this gateway ID"),
        Some(true) => return refuse(StatusCode::FORBIDDEN, "site_revoked", "this site is revoked"),
        Some(false) => {}
    }
    let Some(mut send) = relay.pick(&gateway) else {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "site_unavailable",
            "the site is not connected to the relay; try again shortly",
        );
    };
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, inner.cfg.body_limit_bytes).await {
        Ok(b) => b,
        Err(_) => return refuse(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large"),
    };
    let Ok(uri) = format!("http://site{path}").parse::<Uri>() else {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "malformed path");
    };
    let mut out = axum::http::Request::builder().method(parts.method).uri(uri);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name.as_str()) && name != CLIENT_ADDR_HEADER {
            out = out.header(name, value);
        }
    }
    if let Some(p) = peer
        && let Ok(v) = HeaderValue::from_str(&p.to_string())
    {
        out = out.header(CLIENT_ADDR_HEADER, v);
    }
    let Ok(out) = out.body(Body::from(body)) else {
        return refuse(StatusCode::BAD_REQUEST, "bad_request", "malformed request");
    };
    let started = tokio::time::Instant::now();
    let answer = tokio::time::timeout(inner.cfg.request_timeout, async {
        send.ready().await?;
        send.send_request(out).await
    })
    .await;
    let resp = match answer {
        Err(_) => return refuse(StatusCode::GATEWAY_TIMEOUT, "site_timeout", "the site did not answer in time"),
        Ok(Err(e)) => {
            tracing::info!(gateway = %gateway, error = %e, "link failed during a request");
            return refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "site_unavailable",
                "the site's link failed; try again shortly",
            );
        }
        Ok(Ok(r)) => r,
    };
    inner.metrics.routed(&gateway, resp.status().as_u16(), started.elapsed().as_secs_f64());
    let (mut parts, body) = resp.into_parts();
    let names: Vec<_> = parts.headers.keys().filter(|n| hop_by_hop(n.as_str())).cloned().collect();
    for n in names {
        parts.headers.remove(n);
    }
    Response::from_parts(parts, Body::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(path: &str, header: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder().uri(path);
        if let Some(h) = header {
            b = b.header(GATEWAY_HEADER, h);
        }
        b.body(Body::empty()).unwrap()
    }

    #[test]
    fn the_gateway_id_comes_from_the_path_or_the_header_and_they_must_agree() {
        assert_eq!(
            target(&req("/g/a/mobile/v1/requests?x=1", None)).unwrap(),
            ("a".into(), "/mobile/v1/requests?x=1".into())
        );
        assert_eq!(target(&req("/mobile/v1/requests", Some("b"))).unwrap(), ("b".into(), "/mobile/v1/requests".into()));
        assert_eq!(target(&req("/g/a/mobile/v1/requests", Some("a"))).unwrap().0, "a");
        assert_eq!(target(&req("/g/a/mobile/v1/requests", Some("b"))).unwrap_err().1, "gateway_mismatch");
        assert_eq!(target(&req("/mobile/v1/requests", None)).unwrap_err().1, "no_gateway");
        assert_eq!(target(&req("/g/a/admin/v1/tenants", None)).unwrap_err().1, "not_found");
        assert_eq!(target(&req("/v1/users", Some("a"))).unwrap_err().1, "not_found");
        assert_eq!(target(&req("/g/a/mobile/v1/../../admin/v1/tenants", None)).unwrap_err().1, "not_found");
    }
}
