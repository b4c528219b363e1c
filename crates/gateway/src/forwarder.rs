//! `countersign gateway`: serves only the mobile API (`/mobile/v1/…`) and forwards it to
//! an upstream countersign server. It stores nothing and verifies nothing it cannot (the
//! server verifies device signatures); it bounds request bodies and the request rate per
//! client address, so it can stand in a DMZ in front of the server.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::rustls;

use crate::ratelimit::RateLimiter;
use crate::{CLIENT_ADDR_HEADER, error, hop_by_hop};

/// The forwarder's settings.
#[derive(Clone)]
pub struct ForwarderConfig {
    /// The server's base URL, e.g. `http://10.0.0.5:8080`.
    pub upstream: String,
    /// Largest request body.
    pub body_limit_bytes: usize,
    /// Requests per minute per client address (0: no limit).
    pub rate_per_minute: u32,
    /// The longest the upstream may take.
    pub timeout: Duration,
    /// Own TLS (`None`: plain HTTP).
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

struct Inner {
    upstream: String,
    body_limit: usize,
    limiter: RateLimiter,
    http: reqwest::Client,
}

/// The forwarding application.
pub fn router(cfg: &ForwarderConfig) -> Result<axum::Router, String> {
    let http = reqwest::Client::builder()
        .timeout(cfg.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let inner = Arc::new(Inner {
        upstream: cfg.upstream.trim_end_matches('/').to_owned(),
        body_limit: cfg.body_limit_bytes,
        limiter: RateLimiter::new(cfg.rate_per_minute),
        http,
    });
    Ok(axum::Router::new().fallback(forward).with_state(inner))
}

/// Serve the forwarder on `listener` until `stop`.
pub async fn run(cfg: ForwarderConfig, listener: TcpListener, stop: watch::Receiver<bool>) -> Result<(), String> {
    let app = router(&cfg)?;
    let tls = cfg.tls.clone().map(tokio_rustls::TlsAcceptor::from);
    crate::relay::serve_http(listener, app, tls, stop).await;
    Ok(())
}

async fn forward(State(inner): State<Arc<Inner>>, req: Request) -> Response {
    let path = req.uri().path();
    let mobile = path == "/mobile/v1" || path.starts_with("/mobile/v1/");
    if !mobile || path.split('/').any(|s| s == ".." || s == ".") {
        return error(StatusCode::NOT_FOUND, "not_found", "this gateway carries only the mobile API (/mobile/v1)");
    }
    // Behind a relay the peer is the relay: keep the address it reported.
    let relayed = req.headers().get(CLIENT_ADDR_HEADER).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let peer = crate::relay::peer_of(&req);
    let client = match (&peer, &relayed) {
        (None, Some(r)) => Some(r.clone()),
        (Some(p), _) => Some(p.to_string()),
        (None, None) => None,
    };
    let limited_ip = match (&peer, &relayed) {
        (Some(p), _) => Some(p.ip()),
        (None, Some(r)) => r.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()),
        _ => None,
    };
    if let Some(ip) = limited_ip
        && !inner.limiter.allow(ip)
    {
        return error(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests from this address");
    }
    let url = format!("{}{}", inner.upstream, req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let (parts, body) = req.into_parts();
    if parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok())
        > Some(inner.body_limit)
    {
        return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large");
    }
    let body = match axum::body::to_bytes(body, inner.body_limit).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the request body is too large"),
    };
    let mut out = inner.http.request(parts.method, url);
    for (name, value) in &parts.headers {
        let skip = name == CLIENT_ADDR_HEADER || name == "content-length" || name == "x-forwarded-for";
        if !hop_by_hop(name.as_str()) && !skip {
            out = out.header(name, value);
        }
    }
    // The app's address as the server's trusted-proxy setting reads it (docs/security.md,
    // "Client addresses"): our own header, and appended to X-Forwarded-For.
    if let Some(ip) = limited_ip {
        let mut chain: Vec<String> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        chain.push(ip.to_string());
        out = out.header("x-forwarded-for", chain.join(", "));
    }
    if let Some(c) = client {
        out = out.header(CLIENT_ADDR_HEADER, c);
    }
    let resp = match out.body(body).send().await {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return error(StatusCode::GATEWAY_TIMEOUT, "upstream_timeout", "the server did not answer in time");
        }
        Err(e) => {
            tracing::warn!(error = %e, "upstream unreachable");
            return error(StatusCode::BAD_GATEWAY, "upstream_unavailable", "the server cannot be reached");
        }
    };
    let mut builder = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        if !hop_by_hop(name.as_str()) && name != "content-length" {
            builder = builder.header(name, value);
        }
    }
    let body = match resp.bytes().await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::BAD_GATEWAY, "upstream_unavailable", "the server's answer broke off"),
    };
    builder
        .body(Body::from(body))
        .unwrap_or_else(|_| error(StatusCode::BAD_GATEWAY, "upstream_unavailable", "bad answer"))
}
