//! Domain metrics for `/metrics` (docs/foundation.md, "Metrics"): logins by method and
//! outcome, risk decisions, lockouts, rate-limit refusals, and the sessions pending now.
//!
//! They are kept per [`Core`](crate::service::Core) (no global recorder), so that each server — and each test
//! server — counts only its own. Every label value comes from a closed set of names
//! written here (never a user, tenant, request ID or tenant-defined type name), so the
//! number of series stays bounded whatever the traffic.

mod render;

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use crate::methods::{Delivery, Method};
use crate::session::{Session, SessionState};

/// A histogram with fixed upper bounds: cumulative bucket counts, sum and count, in the
/// Prometheus text format.
#[derive(Debug, Clone)]
pub struct Histogram {
    bounds: &'static [f64],
    /// `cumulative[i]`: observations `<= bounds[i]`.
    cumulative: Vec<u64>,
    count: u64,
    sum: f64,
}

impl Histogram {
    /// An empty histogram over `bounds` (ascending upper bounds; `+Inf` is implied).
    pub fn new(bounds: &'static [f64]) -> Histogram {
        Histogram { bounds, cumulative: vec![0; bounds.len()], count: 0, sum: 0.0 }
    }

    /// Record one value.
    pub fn observe(&mut self, value: f64) {
        self.count += 1;
        self.sum += value;
        for (bound, n) in self.bounds.iter().zip(self.cumulative.iter_mut()) {
            if value <= *bound {
                *n += 1;
            }
        }
    }

    /// Append `name_bucket`, `name_sum` and `name_count` samples with `labels` (e.g.
    /// `kind="sms"`, or empty) to `out`.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let sep = if labels.is_empty() { "" } else { "," };
        for (bound, n) in self.bounds.iter().zip(&self.cumulative) {
            let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{bound}\"}} {n}");
        }
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {}", self.count);
        let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum);
        let _ = writeln!(out, "{name}_count{braces} {}", self.count);
    }
}

/// Append the `# HELP` and `# TYPE` lines of a metric family.
pub fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// What was locked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lockout {
    /// A device disconnected after too many wrong PINs.
    DevicePin,
    /// A code session failed after too many wrong codes.
    CodeAttempts,
    /// A static password locked after too many wrong passwords.
    StaticPassword,
    /// A TOTP/HOTP token locked after too many wrong codes.
    Token,
    /// A user locked by the risk engine.
    User,
}

impl Lockout {
    const ALL: [Lockout; 5] =
        [Lockout::DevicePin, Lockout::CodeAttempts, Lockout::StaticPassword, Lockout::Token, Lockout::User];

    /// The `kind` label.
    pub fn as_str(self) -> &'static str {
        match self {
            Lockout::DevicePin => "device_pin",
            Lockout::CodeAttempts => "code_attempts",
            Lockout::StaticPassword => "static_password",
            Lockout::Token => "token",
            Lockout::User => "user",
        }
    }
}

/// Which limit refused a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RateLimit {
    /// The tenant's `loginRequestLimit` per user and window.
    LoginRequests,
    /// A `[limits]` budget (docs/security.md, "Request limits").
    Request(crate::limits::LimitKind),
}

impl RateLimit {
    /// Every limit, in the order the metrics list them.
    fn all() -> impl Iterator<Item = RateLimit> {
        std::iter::once(RateLimit::LoginRequests).chain(crate::limits::LimitKind::ALL.map(RateLimit::Request))
    }

    /// The `limit` label.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimit::LoginRequests => "login_requests",
            RateLimit::Request(kind) => kind.as_str(),
        }
    }
}

/// What became of a RADIUS request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RadiusResult {
    /// Answered Access-Accept.
    Accept,
    /// Answered Access-Reject.
    Reject,
    /// Answered Access-Challenge.
    Challenge,
    /// Answered a Status-Server.
    Status,
    /// A retransmission answered from the cache, or dropped while the first runs.
    Duplicate,
    /// Dropped: unknown client, bad Message-Authenticator, malformed, or overloaded.
    Dropped,
}

impl RadiusResult {
    const ALL: [RadiusResult; 6] = [
        RadiusResult::Accept,
        RadiusResult::Reject,
        RadiusResult::Challenge,
        RadiusResult::Status,
        RadiusResult::Duplicate,
        RadiusResult::Dropped,
    ];

    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            RadiusResult::Accept => "accept",
            RadiusResult::Reject => "reject",
            RadiusResult::Challenge => "challenge",
            RadiusResult::Status => "status",
            RadiusResult::Duplicate => "duplicate",
            RadiusResult::Dropped => "dropped",
        }
    }
}

/// The `method` label of a login: the built-in method the session ran, whatever the
/// tenant called its type.
pub fn method_label(s: &Session) -> &'static str {
    let Some(method) = s.method else { return "adaptive" };
    match method {
        Method::Push => "NoPIN",
        Method::PushPin => "PIN",
        Method::PushFingerprint => "Fingerprint",
        Method::PushCustom => "Custom",
        // Code sessions: the built-in type by name, a tenant-defined one by channel.
        Method::Sms | Method::Email | Method::Voice => match s.message.as_str() {
            "votp" => "votp",
            "votpCustomDelivery" => "votpCustomDelivery",
            "sms" => "sms",
            "email" => "email",
            "voice" => "voice",
            _ if s.delivery == Delivery::Custom => "votpCustomDelivery",
            _ => method.as_str(),
        },
        Method::Totp => "totp",
        Method::Fido2 => "fido2",
        Method::Uaf => "uaf",
        Method::QrOtp => "qr",
        Method::StaticPassword => "static_password",
    }
}

#[derive(Default)]
struct Tallies {
    logins: BTreeMap<(&'static str, &'static str), u64>,
    risk: BTreeMap<u32, u64>,
    lockouts: BTreeMap<Lockout, u64>,
    rate_limited: BTreeMap<RateLimit, u64>,
    radius: BTreeMap<&'static str, u64>,
    duo: BTreeMap<(&'static str, &'static str), u64>,
}

/// The domain counters of one [`Core`](crate::service::Core).
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Tallies>,
}

impl Metrics {
    /// Count a session that ended in `to`.
    pub fn session_ended(&self, s: &Session, to: SessionState) {
        if let Ok(mut t) = self.inner.lock() {
            *t.logins.entry((method_label(s), to.as_str())).or_default() += 1;
        }
    }

    /// Count a risk-engine decision answered to the relying party, by its
    /// `riskResponseCode` (an assessment whose action then failed is not counted).
    pub fn risk_decision(&self, code: u32) {
        if let Ok(mut t) = self.inner.lock() {
            *t.risk.entry(code).or_default() += 1;
        }
    }

    /// Count a lockout.
    pub fn lockout(&self, kind: Lockout) {
        if let Ok(mut t) = self.inner.lock() {
            *t.lockouts.entry(kind).or_default() += 1;
        }
    }

    /// Count a request refused by a rate limit.
    pub fn rate_limited(&self, limit: RateLimit) {
        if let Ok(mut t) = self.inner.lock() {
            *t.rate_limited.entry(limit).or_default() += 1;
        }
    }

    /// Count a RADIUS request by what became of it (docs/radius.md, "Metrics").
    pub fn radius_request(&self, result: RadiusResult) {
        if let Ok(mut t) = self.inner.lock() {
            *t.radius.entry(result.as_str()).or_default() += 1;
        }
    }

    /// Count a call of the Duo-compatible API by endpoint and `stat` (`OK` or `FAIL`).
    pub fn duo_request(&self, endpoint: &'static str, stat: &'static str) {
        if let Ok(mut t) = self.inner.lock() {
            *t.duo.entry((endpoint, stat)).or_default() += 1;
        }
    }

    /// Prometheus text for the counters, with `pending` (sessions pending now) as a gauge
    /// when it could be read.
    pub fn render(&self, pending: Option<u64>) -> String {
        let mut out = String::new();
        let Ok(t) = self.inner.lock() else { return out };
        family(&mut out, "countersign_logins_total", "counter", "Login sessions ended, by method and outcome.");
        for ((method, outcome), n) in &t.logins {
            let _ = writeln!(out, "countersign_logins_total{{method=\"{method}\",outcome=\"{outcome}\"}} {n}");
        }
        family(
            &mut out,
            "countersign_risk_decisions_total",
            "counter",
            "Risk engine decisions answered, by riskResponseCode.",
        );
        for (code, n) in &t.risk {
            let _ = writeln!(out, "countersign_risk_decisions_total{{code=\"{code}\"}} {n}");
        }
        family(&mut out, "countersign_lockouts_total", "counter", "Lockouts after too many failures, by kind.");
        for kind in Lockout::ALL {
            let n = t.lockouts.get(&kind).copied().unwrap_or(0);
            let _ = writeln!(out, "countersign_lockouts_total{{kind=\"{}\"}} {n}", kind.as_str());
        }
        family(&mut out, "countersign_rate_limited_total", "counter", "Requests refused by a rate limit, by limit.");
        for limit in RateLimit::all() {
            let n = t.rate_limited.get(&limit).copied().unwrap_or(0);
            let _ = writeln!(out, "countersign_rate_limited_total{{limit=\"{}\"}} {n}", limit.as_str());
        }
        family(&mut out, "countersign_radius_requests_total", "counter", "RADIUS requests, by what became of them.");
        for r in RadiusResult::ALL {
            let n = t.radius.get(r.as_str()).copied().unwrap_or(0);
            let _ = writeln!(out, "countersign_radius_requests_total{{result=\"{}\"}} {n}", r.as_str());
        }
        family(
            &mut out,
            "countersign_duo_requests_total",
            "counter",
            "Duo-compatible API calls, by endpoint and stat.",
        );
        for ((endpoint, stat), n) in &t.duo {
            let _ = writeln!(out, "countersign_duo_requests_total{{endpoint=\"{endpoint}\",stat=\"{stat}\"}} {n}");
        }
        if let Some(n) = pending {
            family(&mut out, "countersign_sessions_pending", "gauge", "Login sessions pending and not expired.");
            let _ = writeln!(out, "countersign_sessions_pending {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::session::NewSession;

    const BOUNDS: [f64; 3] = [0.1, 1.0, 5.0];

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::new(&BOUNDS);
        for v in [0.05, 0.1, 0.7, 3.0, 9.0] {
            h.observe(v);
        }
        let mut out = String::new();
        h.render(&mut out, "x_seconds", "kind=\"sms\"");
        let sum = 0.05 + 0.1 + 0.7 + 3.0 + 9.0;
        assert_eq!(
            out,
            format!(
                "x_seconds_bucket{{kind=\"sms\",le=\"0.1\"}} 2\n\
                 x_seconds_bucket{{kind=\"sms\",le=\"1\"}} 3\n\
                 x_seconds_bucket{{kind=\"sms\",le=\"5\"}} 4\n\
                 x_seconds_bucket{{kind=\"sms\",le=\"+Inf\"}} 5\n\
                 x_seconds_sum{{kind=\"sms\"}} {sum}\n\
                 x_seconds_count{{kind=\"sms\"}} 5\n"
            )
        );
        let mut bare = String::new();
        Histogram::new(&BOUNDS).render(&mut bare, "y", "");
        assert!(bare.starts_with("y_bucket{le=\"0.1\"} 0\n"), "{bare}");
        assert!(bare.ends_with("y_sum 0\ny_count 0\n"), "{bare}");
    }

    fn session(method: Option<Method>, delivery: Delivery, message: &str) -> Session {
        let mut s = NewSession::not_push("r".into(), "t", "u", message.into(), method, Timestamp(0), Timestamp(0));
        s.delivery = delivery;
        Session::pending(s)
    }

    #[test]
    fn method_labels_are_built_in_names() {
        use Delivery::{Custom, Message, PushNotification, RequestMessage};
        let none = Delivery::None;
        let cases = [
            (Some(Method::Push), PushNotification, "Log in?", "NoPIN"),
            (Some(Method::PushPin), RequestMessage, "Log in?", "PIN"),
            (Some(Method::PushFingerprint), PushNotification, "x", "Fingerprint"),
            (Some(Method::PushCustom), PushNotification, "x", "Custom"),
            (Some(Method::Email), Message, "votp", "votp"),
            (Some(Method::Sms), Message, "sms", "sms"),
            (Some(Method::Sms), Message, "bank-sms-2fa", "sms"),
            (Some(Method::Email), Message, "alice's own type", "email"),
            (Some(Method::Voice), Message, "voice", "voice"),
            (Some(Method::Voice), Message, "call-me", "voice"),
            (Some(Method::Sms), Custom, "votpCustomDelivery", "votpCustomDelivery"),
            (Some(Method::Sms), Custom, "mine", "votpCustomDelivery"),
            (Some(Method::Totp), none, "token 123456", "totp"),
            (Some(Method::Fido2), none, "FIDO2", "fido2"),
            (Some(Method::Uaf), none, "UAF", "uaf"),
            (Some(Method::QrOtp), none, "QR login", "qr"),
            (Some(Method::StaticPassword), none, "static password", "static_password"),
            (None, none, "adaptive login", "adaptive"),
        ];
        for (method, delivery, message, want) in cases {
            assert_eq!(method_label(&session(method, delivery, message)), want, "{method:?} {message}");
        }
    }

    #[test]
    fn counters_render_with_help_type_and_zeroes() {
        let m = Metrics::default();
        let s = session(Some(Method::PushPin), Delivery::PushNotification, "Log in?");
        m.session_ended(&s, SessionState::Accept);
        m.session_ended(&s, SessionState::Accept);
        m.session_ended(&s, SessionState::Timeout);
        m.risk_decision(2);
        m.lockout(Lockout::CodeAttempts);
        m.rate_limited(RateLimit::LoginRequests);
        let text = m.render(Some(4));
        for line in [
            "# TYPE countersign_logins_total counter",
            "countersign_logins_total{method=\"PIN\",outcome=\"Accept\"} 2",
            "countersign_logins_total{method=\"PIN\",outcome=\"Timeout\"} 1",
            "countersign_risk_decisions_total{code=\"2\"} 1",
            "countersign_lockouts_total{kind=\"code_attempts\"} 1",
            "countersign_lockouts_total{kind=\"device_pin\"} 0",
            "countersign_rate_limited_total{limit=\"login_requests\"} 1",
            "# TYPE countersign_sessions_pending gauge",
            "countersign_sessions_pending 4",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert!(!m.render(None).contains("countersign_sessions_pending"));
    }
}
