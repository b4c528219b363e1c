//! The domain's `/metrics` page: its counters, the sessions pending and the outbox.

use crate::service::Core;

impl Core {
    /// Everything the domain exposes on `/metrics`: its counters, the sessions pending
    /// and the outbox (each gauge read with one query; left out when storage fails).
    pub async fn render_metrics(&self) -> String {
        let pending = self.store.count_pending_sessions(self.clock.now()).await.ok();
        let counts = self.store.outbox_counts().await.unwrap_or_default();
        format!("{}{}", self.metrics.render(pending), self.outbox_metrics.render(&counts))
    }
}
