//! Reading a session as it stands now, and waiting for it to end without a thread per
//! waiter. Reading never writes: a pending session past its deadline reads as `Timeout`
//! ([`Session::seen_at`]) until the sweeper records it.

use std::time::Duration;

use super::Session;
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity};
use crate::service::Core;
use crate::store::NodeEvent;

/// How often a node checks, in one query per [`crate::store::ENDED_AMONG_MAX`]
/// sessions, whether sessions its waiters wait on ended elsewhere: what a lost
/// notification (a listening connection that dropped) costs at most. Waiters themselves
/// never re-read on a timer.
pub const SAFETY_RECHECK: Duration = Duration::from_secs(5);

impl Core {
    /// Wake this node's waiters for sessions other nodes end, and forget cached
    /// configuration other nodes change, until `stop` turns true (then
    /// the stream is dropped, which gives its connection back before the store closes);
    /// returns at once where the store has none (one node). Every [`SAFETY_RECHECK`] it
    /// also asks the store which of the sessions waited on here have ended, and wakes
    /// those: one query per node, whatever the number of waiters.
    pub async fn follow_other_nodes(&self, mut stop: tokio::sync::watch::Receiver<bool>) -> Result<(), CoreError> {
        let Some(mut events) = self.store.node_events().await? else { return Ok(()) };
        let mut recheck = tokio::time::interval(SAFETY_RECHECK);
        recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let recheck_now = tokio::select! {
                event = events.recv() => match event {
                    Some(NodeEvent::SessionEnded(id)) => {
                        self.waiters.wake(&id);
                        false
                    }
                    Some(NodeEvent::ConfigChanged(tenant_id)) => {
                        self.config_cache.forget_tenant(&tenant_id);
                        false
                    }
                    // Announcements may have been missed: forget what is cached, and
                    // look for sessions that ended meanwhile now.
                    Some(NodeEvent::Reconnected) => {
                        self.config_cache.clear();
                        true
                    }
                    None => return Ok(()),
                },
                _ = recheck.tick() => true,
                _ = stop.wait_for(|s| *s) => return Ok(()),
            };
            if recheck_now && let Err(e) = self.recheck_waiters().await {
                tracing::warn!(error = %crate::session::cause(&e), "could not re-check waiting logins");
            }
        }
    }

    /// Wake the waiters here whose sessions have ended (on any node), and every page
    /// following an activation (they re-read it: few, and activations send no
    /// notifications between nodes).
    pub async fn recheck_waiters(&self) -> Result<(), CoreError> {
        let (activations, ids): (Vec<String>, Vec<String>) =
            self.waiters.ids().into_iter().partition(|id| id.starts_with(super::waiters::ACTIVATION_PREFIX));
        for id in activations {
            self.waiters.wake(&id);
        }
        for chunk in ids.chunks(crate::store::ENDED_AMONG_MAX) {
            for id in self.store.ended_among(chunk).await? {
                self.waiters.wake(&id);
            }
        }
        Ok(())
    }

    /// The session as it stands now: a pending session past its deadline reads as
    /// `Timeout`. Never writes.
    pub(crate) async fn current_session(&self, id: &str) -> Result<Option<Session>, CoreError> {
        let now = self.clock.now();
        Ok(self.store.session(id).await?.map(|s| s.seen_at(now)))
    }

    /// Wait until the session ends (as [`Core::current_session`] sees it) or `until`
    /// passes; a future per waiter, woken by transitions on this node and, through the
    /// store's session notifications and the node's safety re-check, on other nodes
    /// ([`Core::follow_other_nodes`]). It reads the session when it starts and when
    /// woken, never on a timer.
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
            let nap = Duration::from_millis(u64::try_from(remaining).unwrap_or(1).max(1));
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}
