//! Reading a session as it stands now, and waiting for it to end without a thread per
//! waiter. Reading never writes: a pending session past its deadline reads as `Timeout`
//! ([`Session::seen_at`]) until the sweeper records it.

use std::time::Duration;

use super::Session;
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity};
use crate::service::Core;

/// How often a waiter re-reads its session when no wake-up came: what a lost
/// notification (a listening connection that dropped) costs at most.
pub const SAFETY_RECHECK: Duration = Duration::from_secs(5);

impl Core {
    /// Wake this node's waiters for sessions other nodes end, until `stop` turns true (then
    /// the stream is dropped, which gives its connection back before the store closes);
    /// returns at once where the store has none (one node).
    pub async fn wake_on_session_endings(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> Result<(), CoreError> {
        let Some(mut endings) = self.store.session_endings().await? else { return Ok(()) };
        loop {
            tokio::select! {
                id = endings.recv() => match id {
                    Some(id) => self.waiters.wake(&id),
                    None => return Ok(()),
                },
                _ = stop.wait_for(|s| *s) => return Ok(()),
            }
        }
    }

    /// The session as it stands now: a pending session past its deadline reads as
    /// `Timeout`. Never writes.
    pub(crate) async fn current_session(&self, id: &str) -> Result<Option<Session>, CoreError> {
        let now = self.clock.now();
        Ok(self.store.session(id).await?.map(|s| s.seen_at(now)))
    }

    /// Wait until the session ends (as [`Core::current_session`] sees it) or `until`
    /// passes; a future per waiter, woken by transitions on this node and, through the
    /// store's session notifications, on other nodes ([`Core::wake_on_session_endings`]),
    /// re-reading every [`SAFETY_RECHECK`] in case a notification was lost.
    pub(crate) async fn wait_for_end(&self, id: &str, until: Timestamp) -> Result<Session, CoreError> {
        loop {
            let sub = self.waiters.subscribe(id);
            let notified = sub.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let s = self.current_session(id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
            let remaining = until.millis() - self.clock.now().millis();
            if s.state().is_final() || remaining <= 0 {
                return Ok(s);
            }
            let nap = Duration::from_millis(remaining.clamp(1, SAFETY_RECHECK.as_millis() as i64) as u64);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}
