//! Request metrics in Prometheus text format, kept per application instance (no global
//! recorder), so that each test server counts only its own requests.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use countersign_core::metrics::{Histogram, family};

use crate::AppState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 12] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0];

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<(String, String), Histogram>,
}

/// Counters and histograms of one application instance.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

impl Metrics {
    /// Count one request of `method` on `route` answered with `status` after `seconds`.
    pub fn observe(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let Ok(mut m) = self.inner.lock() else { return };
        *m.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
        m.latency
            .entry((method.to_owned(), route.to_owned()))
            .or_insert_with(|| Histogram::new(&BUCKETS))
            .observe(seconds);
    }

    /// Everything in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let Ok(m) = self.inner.lock() else { return out };
        family(&mut out, "countersign_http_requests_total", "counter", "HTTP requests by method, route and status.");
        for ((method, route, status), n) in &m.requests {
            let _ = writeln!(
                out,
                "countersign_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                escape(route)
            );
        }
        family(
            &mut out,
            "countersign_http_request_duration_seconds",
            "histogram",
            "HTTP request latency by method and route.",
        );
        for ((method, route), h) in &m.latency {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            h.render(&mut out, "countersign_http_request_duration_seconds", &labels);
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Middleware: time each request and count it under its route template (never the raw
/// path, which would carry user names and grow without bound).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let method = req.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    state.metrics.observe(&method, &route, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_buckets() {
        let m = Metrics::default();
        m.observe("GET", "/v1/users/{user}", 200, 0.003);
        m.observe("GET", "/v1/users/{user}", 200, 2.0);
        let text = m.render();
        assert!(
            text.contains(
                "countersign_http_requests_total{method=\"GET\",route=\"/v1/users/{user}\",status=\"200\"} 2"
            )
        );
        assert!(text.contains("le=\"0.005\"} 1"));
        assert!(text.contains("le=\"5\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert!(text.contains("_count{method=\"GET\",route=\"/v1/users/{user}\"} 2"));
    }
}
