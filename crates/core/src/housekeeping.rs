//! Housekeeping (docs/foundation.md, "Housekeeping"; docs/security.md, "Retention"):
//! state that is only useful for a bounded time and would otherwise pile up — FIDO
//! ceremonies begun and never finished, what a risk challenge meant to learn when the
//! challenge was never answered, and, after the periods [`Core::retention`] sets, ended
//! sessions, QR logins, activations, sent and dead outbox messages, the risk engine's
//! failed logins and (only when configured) audit log entries; the request-limit
//! counters of windows that have ended; and device request nonces too old to matter.
//!
//! Each pass removes at most [`Retention::batch`](crate::retention::Retention) rows of
//! each kind, oldest first along an index on its time column; the server runs passes
//! back to back while one comes back full.

use std::time::Duration;

use crate::error::CoreError;
use crate::retention::cutoff;
use crate::service::Core;

/// How often the server sweeps.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// How long a risk challenge's learning waits for its session to end (sessions last an
/// hour at most, codes less).
pub const RISK_PENDING_MS: i64 = 24 * 60 * 60 * 1000;

/// What a sweep removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// FIDO2/UAF ceremonies past their expiry (`expires_at`, 5 minutes after they began).
    pub fido_ceremonies: u64,
    /// Risk-challenge learning whose session never ended.
    pub risk_pending: u64,
    /// Ended sessions past their retention (with their codes).
    pub sessions: u64,
    /// QR logins past their retention.
    pub qr_logins: u64,
    /// Activations past their retention.
    pub activations: u64,
    /// Sent outbox messages past their retention.
    pub outbox_sent: u64,
    /// Dead outbox messages past their retention.
    pub outbox_dead: u64,
    /// Failed logins past their retention.
    pub risk_failures: u64,
    /// Audit log entries past their retention (none unless configured).
    pub audit: u64,
    /// Request-limit counters whose window has ended.
    pub rate_limits: u64,
    /// Device request nonces older than [`crate::mobile::NONCE_MEMORY_MS`].
    pub device_nonces: u64,
    /// Page sessions past their absolute expiry.
    pub web_sessions: u64,
    /// Sign-in links past their expiry (used or not).
    pub sign_in_links: u64,
}

impl Swept {
    /// Whether some purge removed a whole batch (more may be waiting).
    pub fn full(&self, batch: u32) -> bool {
        let batch = u64::from(batch);
        [self.sessions, self.qr_logins, self.activations, self.outbox_sent, self.outbox_dead, self.risk_failures]
            .into_iter()
            .chain([self.audit, self.rate_limits, self.device_nonces, self.web_sessions, self.sign_in_links])
            .any(|n| n >= batch)
    }
}

impl Core {
    /// Remove what has outlived its use — one bounded batch of each kind; what was
    /// removed.
    pub async fn housekeeping(&self) -> Result<Swept, CoreError> {
        let now = self.clock.now();
        let r = self.retention;
        let n = r.batch;
        let store = &*self.store;
        let mut swept = Swept {
            fido_ceremonies: store.delete_expired_fido_ceremonies(now).await?,
            risk_pending: store.delete_risk_pending_before(now.plus_millis(-RISK_PENDING_MS)).await?,
            // Windows that have ended count nothing any more (docs/security.md, "Request limits").
            rate_limits: store.purge_limits_before(now, n).await?,
            // Older than any request that passes the freshness check (docs/mobile-protocol.md, "Replays").
            device_nonces: store
                .delete_device_nonces_before(now.plus_millis(-crate::mobile::NONCE_MEMORY_MS), n)
                .await?,
            web_sessions: store.delete_web_sessions_before(now, n).await?,
            sign_in_links: store.delete_sign_in_links_before(now, n).await?,
            ..Swept::default()
        };
        if let Some(before) = cutoff(now, r.sessions_days) {
            swept.sessions = store.delete_ended_sessions_before(before, n).await?;
            swept.qr_logins = store.delete_qr_logins_before(before, n).await?;
            swept.activations = store.delete_activations_before(before, n).await?;
        }
        if let Some(before) = cutoff(now, r.outbox_sent_days) {
            swept.outbox_sent = store.delete_sent_outbox_before(before, n).await?;
        }
        if let Some(before) = cutoff(now, r.outbox_dead_days) {
            swept.outbox_dead = store.delete_dead_outbox_before(before, n).await?;
        }
        if let Some(before) = cutoff(now, r.risk_failures_days) {
            swept.risk_failures = store.delete_failures_before(before, n).await?;
        }
        if let Some(before) = cutoff(now, r.audit_days) {
            swept.audit = store.purge_audit_before(before, n).await?;
        }
        Ok(swept)
    }
}
