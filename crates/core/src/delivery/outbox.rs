//! The outbox (docs/delivery.md): messages written in the same transaction as the state
//! change that causes them, sent by workers with retries, deadlines and dead letters.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::metrics::{Histogram, family};

/// What a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutboxKind {
    /// A push reference to a device.
    Push,
    /// A session-result callback to a relying party.
    Callback,
    /// A text message.
    Sms,
    /// An e-mail.
    Email,
    /// A phone call that reads a text out.
    Voice,
    /// Not sent anywhere: what an accepted risk challenge teaches the user's profile,
    /// queued with the session's final state and applied locally (docs/risk.md).
    Learn,
}

impl OutboxKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Push => "push",
            OutboxKind::Callback => "callback",
            OutboxKind::Sms => "sms",
            OutboxKind::Email => "email",
            OutboxKind::Voice => "voice",
            OutboxKind::Learn => "learn",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Push, Self::Callback, Self::Sms, Self::Email, Self::Voice, Self::Learn]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OutboxState {
    /// Waiting to be sent (first time or retry).
    Queued,
    /// A worker holds it (until its lease runs out).
    Sending,
    /// A provider accepted it.
    Sent,
    /// Given up: permanent failure or deadline passed.
    Dead,
}

impl OutboxState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Queued => "queued",
            OutboxState::Sending => "sending",
            OutboxState::Sent => "sent",
            OutboxState::Dead => "dead",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Queued, Self::Sending, Self::Sent, Self::Dead].into_iter().find(|v| v.as_str() == s)
    }
}

/// One outward message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxMessage {
    /// Message ID (also sent as `X-CS-Message-ID`).
    pub id: String,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: String,
    /// What it is.
    pub kind: OutboxKind,
    /// Device ID (push) or URL (callback).
    pub target: String,
    /// The exact body to send.
    #[serde(skip)]
    pub payload: String,
    /// Where it stands.
    pub state: OutboxState,
    /// Sends tried.
    pub attempts: u32,
    /// When it is due.
    #[schema(value_type = String, format = DateTime)]
    pub next_attempt_at: Timestamp,
    /// Not sent after this.
    #[schema(value_type = String, format = DateTime)]
    pub deadline: Timestamp,
    /// The last failure.
    pub last_error: Option<String>,
    /// The sending worker's lease.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<Timestamp>,
    /// When it was enqueued.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When a provider accepted it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub sent_at: Option<Timestamp>,
}

impl OutboxMessage {
    /// A new queued message, due now.
    pub fn new(
        id: String,
        tenant_id: &str,
        kind: OutboxKind,
        target: &str,
        payload: String,
        now: Timestamp,
        deadline: Timestamp,
    ) -> Self {
        OutboxMessage {
            id,
            tenant_id: tenant_id.to_owned(),
            kind,
            target: target.to_owned(),
            payload,
            state: OutboxState::Queued,
            attempts: 0,
            next_attempt_at: now,
            deadline,
            last_error: None,
            locked_until: None,
            created_at: now,
            sent_at: None,
        }
    }
}

/// A worker's lease on a claimed message.
pub const LEASE_MS: i64 = 60_000;
/// Longest wait between tries.
pub const MAX_BACKOFF_MS: i64 = 300_000;
/// How long a callback is tried.
pub const CALLBACK_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// Wait before the next try after `attempts` failures: `min(2^(attempts-1) s, 300 s)`
/// scaled by `jitter` ∈ [0, 1] into [50 %, 100 %].
pub fn backoff_ms(attempts: u32, jitter: f64) -> i64 {
    let base = 1000i64.saturating_mul(1i64 << attempts.saturating_sub(1).min(20)).min(MAX_BACKOFF_MS);
    let factor = 0.5 + 0.5 * jitter.clamp(0.0, 1.0);
    (base as f64 * factor) as i64
}

/// How a send ended, as the worker reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SendOutcome {
    /// Accepted.
    Sent,
    /// Failed; tried again later.
    Retry,
    /// Given up.
    Dead,
}

impl SendOutcome {
    fn as_str(self) -> &'static str {
        match self {
            SendOutcome::Sent => "sent",
            SendOutcome::Retry => "retry",
            SendOutcome::Dead => "dead",
        }
    }
}

/// Upper bounds of the provider-latency buckets, in seconds: from a LAN webhook to a
/// provider near its timeout.
pub const SEND_BUCKETS: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

#[derive(Default)]
struct Tallies {
    sends: BTreeMap<(OutboxKind, SendOutcome), u64>,
    latency: BTreeMap<OutboxKind, Histogram>,
}

/// Counters of the outbox workers on this node, for `/metrics`.
#[derive(Default)]
pub struct OutboxMetrics {
    inner: Mutex<Tallies>,
}

impl OutboxMetrics {
    /// Count one send of `kind` ending in `outcome` after `seconds` with the provider.
    pub fn observe(&self, kind: OutboxKind, outcome: SendOutcome, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            *m.sends.entry((kind, outcome)).or_default() += 1;
            m.latency.entry(kind).or_insert_with(|| Histogram::new(&SEND_BUCKETS)).observe(seconds);
        }
    }

    /// Count a message given up before any provider saw it (its deadline passed while
    /// queued): a dead send, but no provider latency.
    pub fn dead_before_sending(&self, kind: OutboxKind) {
        if let Ok(mut m) = self.inner.lock() {
            *m.sends.entry((kind, SendOutcome::Dead)).or_default() += 1;
        }
    }

    /// Prometheus text for the counters, with `counts` (state → messages) as a gauge.
    pub fn render(&self, counts: &[(OutboxState, u64)]) -> String {
        let mut out = String::new();
        family(&mut out, "countersign_outbox_messages", "gauge", "Outbox messages by state.");
        for (state, n) in counts {
            let _ = writeln!(out, "countersign_outbox_messages{{state=\"{}\"}} {n}", state.as_str());
        }
        let Ok(m) = self.inner.lock() else { return out };
        family(&mut out, "countersign_outbox_sends_total", "counter", "Send attempts by kind and outcome.");
        for ((kind, outcome), n) in &m.sends {
            let _ = writeln!(
                out,
                "countersign_outbox_sends_total{{kind=\"{}\",outcome=\"{}\"}} {n}",
                kind.as_str(),
                outcome.as_str()
            );
        }
        family(
            &mut out,
            "countersign_outbox_send_seconds",
            "histogram",
            "Time spent with providers per send, by kind.",
        );
        for (kind, h) in &m.latency {
            h.render(&mut out, "countersign_outbox_send_seconds", &format!("kind=\"{}\"", kind.as_str()));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_caps_and_jitters() {
        assert_eq!(backoff_ms(1, 1.0), 1000);
        assert_eq!(backoff_ms(2, 1.0), 2000);
        assert_eq!(backoff_ms(4, 1.0), 8000);
        assert_eq!(backoff_ms(4, 0.0), 4000);
        assert_eq!(backoff_ms(30, 1.0), MAX_BACKOFF_MS);
        assert_eq!(backoff_ms(0, 1.0), 1000);
        for a in 1..40 {
            let b = backoff_ms(a, 0.3);
            assert!((500..=MAX_BACKOFF_MS).contains(&b));
        }
    }

    #[test]
    fn provider_latency_is_a_histogram_by_kind() {
        let m = OutboxMetrics::default();
        m.observe(OutboxKind::Sms, SendOutcome::Sent, 0.02);
        m.observe(OutboxKind::Sms, SendOutcome::Retry, 0.3);
        m.dead_before_sending(OutboxKind::Sms);
        let text = m.render(&[(OutboxState::Sent, 1)]);
        for line in [
            "# TYPE countersign_outbox_send_seconds histogram",
            "countersign_outbox_send_seconds_bucket{kind=\"sms\",le=\"0.01\"} 0",
            "countersign_outbox_send_seconds_bucket{kind=\"sms\",le=\"0.025\"} 1",
            "countersign_outbox_send_seconds_bucket{kind=\"sms\",le=\"0.25\"} 1",
            "countersign_outbox_send_seconds_bucket{kind=\"sms\",le=\"0.5\"} 2",
            "countersign_outbox_send_seconds_bucket{kind=\"sms\",le=\"+Inf\"} 2",
            "countersign_outbox_send_seconds_count{kind=\"sms\"} 2",
            "countersign_outbox_sends_total{kind=\"sms\",outcome=\"dead\"} 1",
            "countersign_outbox_messages{state=\"sent\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        // Each family's samples follow its own TYPE line.
        let sends = text.find("# TYPE countersign_outbox_sends_total").unwrap();
        let seconds = text.find("# TYPE countersign_outbox_send_seconds").unwrap();
        let first_send = text.find("countersign_outbox_sends_total{").unwrap();
        assert!(sends < first_send && first_send < seconds, "{text}");
    }

    #[test]
    fn stored_words_round_trip() {
        for s in [OutboxState::Queued, OutboxState::Sending, OutboxState::Sent, OutboxState::Dead] {
            assert_eq!(OutboxState::from_stored(s.as_str()), Some(s));
        }
        for k in [OutboxKind::Push, OutboxKind::Callback] {
            assert_eq!(OutboxKind::from_stored(k.as_str()), Some(k));
        }
    }
}
