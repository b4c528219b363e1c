//! Housekeeping (docs/foundation.md, "Housekeeping"): state that is only useful for a
//! bounded time and would otherwise pile up — FIDO ceremonies begun and never finished,
//! and what a risk challenge meant to learn when the challenge was never answered.

use std::time::Duration;

use crate::error::CoreError;
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
}

impl Core {
    /// Remove what has outlived its use; what was removed.
    pub async fn housekeeping(&self) -> Result<Swept, CoreError> {
        let now = self.clock.now();
        Ok(Swept {
            fido_ceremonies: self.store.delete_expired_fido_ceremonies(now).await?,
            risk_pending: self.store.delete_risk_pending_before(now.plus_millis(-RISK_PENDING_MS)).await?,
        })
    }
}
