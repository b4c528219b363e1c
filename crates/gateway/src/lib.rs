//! The gateway topology of docs/gateway.md (issue 16): the on-premises server stays
//! behind a firewall with no inbound opening.
//!
//! - [`forwarder`]: `countersign gateway`, a mobile-API-only forwarder with request size
//!   and per-address rate limits.
//! - [`relay`]: `countersign relay`, the cloud part: apps connect to it; sites dial it.
//! - [`site`]: the site's side of the link: dial the relay over TLS, say hello, then
//!   serve HTTP/2 on the dialled connection.
//! - [`sites`]: the relay's site credentials file.
//! - [`link`]: the hello and the TLS set-up both ends share.
//! - [`push`]: the notification relay: the site's push sender and the relay's notifier.
//! - [`metrics`]: the relay's Prometheus counters.

pub mod forwarder;
pub mod link;
pub mod metrics;
pub mod push;
pub mod ratelimit;
pub mod relay;
pub mod site;
pub mod sites;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// The header carrying the gateway ID on app requests.
pub const GATEWAY_HEADER: &str = "x-cs-gateway";
/// The header naming the site on its notification-relay requests.
pub const SITE_HEADER: &str = "x-cs-site";
/// The header the relay and the forwarder set to the app's address.
pub const CLIENT_ADDR_HEADER: &str = "x-cs-client-addr";

/// An error answer in the API's shape: `{"error": {"code", "message"}}`.
pub fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// Hop-by-hop headers, never forwarded (RFC 9110 section 7.6.1), and `host`.
pub fn hop_by_hop(name: &str) -> bool {
    matches!(
        name,
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "transfer-encoding"
            | "upgrade"
            | "te"
            | "trailer"
            | "host"
            | "proxy-authorization"
            | "proxy-authenticate"
    )
}

/// A whole-millisecond Unix time from the clock.
pub(crate) fn now_ms(clock: &dyn countersign_core::Clock) -> i64 {
    clock.now().0
}

/// Resolves once `stop` says stop (or its sender is gone).
pub(crate) async fn stopped(stop: &mut tokio::sync::watch::Receiver<bool>) {
    let _ = stop.wait_for(|v| *v).await;
}
