//! Per-session wake-ups: [`Waiters`], one of `Core`'s fields (so it sits in a file with
//! no `impl Core`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// The waiter key of an activation (pages following an activation wait on it like a
/// session; [`crate::session::SAFETY_RECHECK`] wakes them without a query).
pub fn activation_key(id: &str) -> String {
    format!("{ACTIVATION_PREFIX}{id}")
}

/// What starts the waiter keys of activations.
pub const ACTIVATION_PREFIX: &str = "activation:";

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

    /// The sessions someone here waits on.
    pub fn ids(&self) -> Vec<String> {
        self.map.lock().map(|m| m.keys().cloned().collect()).unwrap_or_default()
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
