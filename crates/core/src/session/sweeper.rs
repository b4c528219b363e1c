//! The sweeper (docs/mobile-protocol.md, "The session state machine"): on every node, a
//! background task that ends `Pending` sessions past their deadline as `Timeout` through
//! the ordinary transition, so that a login nobody polls still ends and sends its
//! callback. Several nodes sweeping at once are harmless: the conditional update lets one
//! of them end each session.

use std::time::Duration;

use tokio::sync::watch;

use super::end::cause;
use super::{Ending, Session, SessionState};
use crate::error::{CoreError, Entity};
use crate::refusal::RefusalCode;
use crate::service::Core;

/// How often each node sweeps.
pub const INTERVAL: Duration = Duration::from_millis(300);
/// At most this many sessions per sweep; a full batch is followed at once by the next.
pub const BATCH: u32 = 100;

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    /// Expired pending sessions found.
    pub found: usize,
    /// Of those, the ones this sweep ended (the others ended otherwise meanwhile).
    pub ended: usize,
}

impl Core {
    /// End as `Timeout` one batch of the pending sessions whose deadline has passed.
    pub async fn sweep_sessions(&self) -> Result<Swept, CoreError> {
        let expired = self.store.expired_sessions(self.clock.now(), BATCH).await?;
        let mut swept = Swept { found: expired.len(), ended: 0 };
        for s in &expired {
            match self.end_session(s, Ending::new(SessionState::Timeout)).await {
                Ok(_) => swept.ended += 1,
                // Answered just in time, or swept by another node.
                Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                Err(e) => tracing::warn!(request = %s.id, error = %cause(&e),
                    "could not time out an expired session; the next sweep tries again"),
            }
        }
        Ok(swept)
    }

    /// Record the timeout of session `id` now that its deadline has passed (the sweeper's
    /// transition, for a synchronous login that waited it out); the session as it ends.
    pub(crate) async fn time_out(&self, id: &str) -> Result<Session, CoreError> {
        let s = self.store.session(id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
        if !s.is_expired_at(self.clock.now()) {
            return Ok(s.seen_at(self.clock.now()));
        }
        match self.end_session(&s, Ending::new(SessionState::Timeout)).await {
            Ok(ended) => Ok(ended),
            Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {
                let now = self.clock.now();
                Ok(self.store.session(id).await?.ok_or(CoreError::NotFound(Entity::Session))?.seen_at(now))
            }
            Err(e) => Err(e),
        }
    }
}

/// Sweep every [`INTERVAL`] until `stop` says so (or its sender is gone). A failed sweep
/// is logged with its cause and tried again at the next tick.
pub async fn run(core: Core, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => loop {
                match core.sweep_sessions().await {
                    Ok(s) if s.found == BATCH as usize && s.ended > 0 && !*stop.borrow() => {}
                    Ok(s) => {
                        if s.ended > 0 {
                            tracing::debug!(ended = s.ended, "expired sessions timed out");
                        }
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %cause(&e), "the session sweep failed; trying again shortly");
                        break;
                    }
                }
            },
            changed = stop.changed() => if changed.is_err() || *stop.borrow() {
                return;
            },
        }
    }
}
