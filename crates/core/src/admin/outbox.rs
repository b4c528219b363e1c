//! The outbox as the admin API shows it: list messages, send a dead one again.

use super::{DEFAULT_PAGE, MAX_PAGE};
use crate::error::{CoreError, Refusal};
use crate::refusal::RefusalCode;
use crate::service::Core;

impl Core {
    pub async fn list_outbox(
        &self,
        state: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::delivery::outbox::OutboxMessage>, CoreError> {
        let state = state
            .map(|s| {
                crate::delivery::outbox::OutboxState::from_stored(s)
                    .ok_or_else(|| CoreError::invalid("state", "state must be one of queued, sending, sent, dead"))
            })
            .transpose()?;
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(CoreError::invalid("limit", format!("limit must be between 1 and {MAX_PAGE}")));
        }
        Ok(self.store.list_outbox(state, limit).await?)
    }

    /// Send a dead callback, SMS or e-mail again (admin API). Pushes are not retried:
    /// their session has a deadline of its own.
    pub async fn retry_outbox(&self, id: &str) -> Result<(), CoreError> {
        let now = self.clock.now();
        let done = self
            .store
            .outbox_requeue(
                id,
                now,
                now.plus_millis(crate::delivery::outbox::CALLBACK_LIFETIME_MS),
                now.plus_millis(crate::delivery::providers::MESSAGE_LIFETIME_MS),
            )
            .await?;
        if !done {
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::NotRetryable,
                "no dead callback, SMS or e-mail with this ID (pushes are not retried)",
            ));
        }
        self.outbox_wake.notify_one();
        Ok(())
    }
}
