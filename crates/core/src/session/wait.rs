//! Reading a session as it stands now, and waiting for it to end without a thread per
//! waiter. Reading never writes: a pending session past its deadline reads as `Timeout`
//! ([`Session::seen_at`]) until the sweeper records it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::Session;
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity};
use crate::service::Core;

/// Per-session wake-ups for those waiting on a session (sync logins, `?wait=`).
#[derive(Default)]
pub struct Waiters {
    map: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
}

/// A subscription; dropping it forgets the entry when nobody else waits.
pub(crate) struct Subscription<'a> {
    waiters: &'a Waiters,
    id: String,
    pub(crate) notify: Arc<Notify>,
}

impl Waiters {
    pub(crate) fn subscribe(&self, id: &str) -> Subscription<'_> {
        let notify = match self.map.lock() {
            Ok(mut m) => {
                let e = m.entry(id.to_owned()).or_insert_with(|| (Arc::new(Notify::new()), 0));
                e.1 += 1;
                e.0.clone()
            }
            Err(_) => Arc::new(Notify::new()),
        };
        Subscription { waiters: self, id: id.to_owned(), notify }
    }

    /// Wake everyone waiting on session `id`.
    pub fn wake(&self, id: &str) {
        if let Ok(m) = self.map.lock()
            && let Some((n, _)) = m.get(id)
        {
            n.notify_waiters();
        }
    }

    /// How many sessions have waiters (for tests and metrics).
    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether nobody waits.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        if let Ok(mut m) = self.waiters.map.lock()
            && let Some(e) = m.get_mut(&self.id)
        {
            e.1 -= 1;
            if e.1 == 0 {
                m.remove(&self.id);
            }
        }
    }
}

impl Core {
    /// The session as it stands now: a pending session past its deadline reads as
    /// `Timeout`. Never writes.
    pub(crate) async fn current_session(&self, id: &str) -> Result<Option<Session>, CoreError> {
        let now = self.clock.now();
        Ok(self.store.session(id).await?.map(|s| s.seen_at(now)))
    }

    /// Wait until the session ends (as [`Core::current_session`] sees it) or `until`
    /// passes; a future per waiter, woken by transitions on this node and re-reading
    /// every second for those on other nodes.
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
            let nap = Duration::from_millis(remaining.clamp(1, 1000) as u64);
            tokio::select! {
                _ = &mut notified => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}
