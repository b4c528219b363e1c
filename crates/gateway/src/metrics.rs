//! The relay's metrics in the Prometheus text format (docs/gateway.md, "Metrics").

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Latency bucket bounds, seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    count: u64,
}

#[derive(Debug, Default)]
struct Inner {
    requests: BTreeMap<(String, String), u64>,
    latency: BTreeMap<String, Histogram>,
    errors: BTreeMap<String, u64>,
    pushes: BTreeMap<(String, String), u64>,
}

/// Counters.
#[derive(Debug, Default)]
pub struct Metrics(Mutex<Inner>);

fn label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

impl Metrics {
    /// A request routed to `gateway` answered with `status` after `seconds`.
    pub fn routed(&self, gateway: &str, status: u16, seconds: f64) {
        let Ok(mut m) = self.0.lock() else { return };
        let class = format!("{}xx", status / 100);
        *m.requests.entry((gateway.to_owned(), class)).or_default() += 1;
        let h = m.latency.entry(gateway.to_owned()).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.sum += seconds;
        h.count += 1;
    }

    /// A refusal by the relay itself.
    pub fn error(&self, code: &str) {
        if let Ok(mut m) = self.0.lock() {
            *m.errors.entry(code.to_owned()).or_default() += 1;
        }
    }

    /// A push handled by the notification relay.
    pub fn push(&self, platform: &str, outcome: &str) {
        if let Ok(mut m) = self.0.lock() {
            *m.pushes.entry((platform.to_owned(), outcome.to_owned())).or_default() += 1;
        }
    }

    /// The exposition, with the live link counts given.
    pub fn render(&self, links: &BTreeMap<String, usize>) -> String {
        let mut out = String::new();
        let Ok(m) = self.0.lock() else { return out };
        let connected = links.values().filter(|n| **n > 0).count();
        let _ = writeln!(out, "# HELP countersign_relay_sites_connected Gateway IDs with at least one live link.");
        let _ = writeln!(out, "# TYPE countersign_relay_sites_connected gauge");
        let _ = writeln!(out, "countersign_relay_sites_connected {connected}");
        let _ = writeln!(out, "# HELP countersign_relay_links Live links per site.");
        let _ = writeln!(out, "# TYPE countersign_relay_links gauge");
        for (g, n) in links {
            let _ = writeln!(out, "countersign_relay_links{{gateway=\"{}\"}} {n}", label(g));
        }
        let _ =
            writeln!(out, "# HELP countersign_relay_requests_total App requests routed to a site, by status class.");
        let _ = writeln!(out, "# TYPE countersign_relay_requests_total counter");
        for ((g, s), n) in &m.requests {
            let _ = writeln!(out, "countersign_relay_requests_total{{gateway=\"{}\",status=\"{s}\"}} {n}", label(g));
        }
        let _ = writeln!(out, "# HELP countersign_relay_request_seconds Time to the site's answer.");
        let _ = writeln!(out, "# TYPE countersign_relay_request_seconds histogram");
        for (g, h) in &m.latency {
            let g = label(g);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "countersign_relay_request_seconds_bucket{{gateway=\"{g}\",le=\"{b}\"}} {}",
                    h.counts[i]
                );
            }
            let _ =
                writeln!(out, "countersign_relay_request_seconds_bucket{{gateway=\"{g}\",le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(out, "countersign_relay_request_seconds_sum{{gateway=\"{g}\"}} {}", h.sum);
            let _ = writeln!(out, "countersign_relay_request_seconds_count{{gateway=\"{g}\"}} {}", h.count);
        }
        let _ = writeln!(out, "# HELP countersign_relay_errors_total Requests the relay refused, by error code.");
        let _ = writeln!(out, "# TYPE countersign_relay_errors_total counter");
        for (c, n) in &m.errors {
            let _ = writeln!(out, "countersign_relay_errors_total{{code=\"{}\"}} {n}", label(c));
        }
        let _ = writeln!(out, "# HELP countersign_relay_pushes_total Pushes delivered for sites, by outcome.");
        let _ = writeln!(out, "# TYPE countersign_relay_pushes_total counter");
        for ((p, o), n) in &m.pushes {
            let _ = writeln!(
                out,
                "countersign_relay_pushes_total{{platform=\"{}\",outcome=\"{}\"}} {n}",
                label(p),
                label(o)
            );
        }
        out
    }
}
