//! Retention (docs/security.md, "Retention"): how long rows that only grow are kept
//! once they are of no more use. Housekeeping (`housekeeping.rs`) purges them in
//! bounded batches; this file is the settings only.

/// A day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How long each kind of row is kept after it is done with, in days; `None`: kept for
/// ever. The defaults are documented in docs/security.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Ended sessions (with their codes), counted from when they ended; also QR logins
    /// and activations, counted from their expiry.
    pub sessions_days: Option<u32>,
    /// Sent outbox messages, counted from when they were sent.
    pub outbox_sent_days: Option<u32>,
    /// Dead outbox messages, counted from when they were queued.
    pub outbox_dead_days: Option<u32>,
    /// Failed logins the risk engine counted (its velocity window is 15 minutes).
    pub risk_failures_days: Option<u32>,
    /// Audit log entries: kept for ever unless set.
    pub audit_days: Option<u32>,
    /// At most this many rows of each kind per pass; a full batch is followed at once by
    /// the next.
    pub batch: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            sessions_days: Some(30),
            outbox_sent_days: Some(7),
            outbox_dead_days: Some(30),
            risk_failures_days: Some(30),
            audit_days: None,
            batch: 1000,
        }
    }
}

impl Retention {
    /// Nothing is ever purged.
    pub fn keep_everything() -> Retention {
        Retention {
            sessions_days: None,
            outbox_sent_days: None,
            outbox_dead_days: None,
            risk_failures_days: None,
            audit_days: None,
            batch: 1000,
        }
    }
}

/// The cut-off `days` before `now` (Unix ms), when a period is set.
pub fn cutoff(now: crate::clock::Timestamp, days: Option<u32>) -> Option<crate::clock::Timestamp> {
    days.map(|d| now.plus_millis(-(i64::from(d) * DAY_MS)))
}
