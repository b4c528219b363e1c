//! The outbox as the admin API shows it: list messages, send a dead one again.

use super::{Listing, cursor_pair, listing, page};
use crate::clock::Timestamp;
use crate::delivery::outbox::OutboxMessage;
use crate::error::{CoreError, Refusal};
use crate::refusal::RefusalCode;
use crate::service::Core;

impl Core {
    /// A page of messages, newest first (ties by ID), optionally of one state. The
    /// cursor is `createdAtMillis:messageID`.
    pub async fn list_outbox(
        &self,
        state: Option<&str>,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<OutboxMessage>, CoreError> {
        let state = state
            .map(|s| {
                crate::delivery::outbox::OutboxState::from_stored(s)
                    .ok_or_else(|| CoreError::invalid("state", "state must be one of queued, sending, sent, dead"))
            })
            .transpose()?;
        let page = page(after.clone(), limit)?;
        let after = match after.as_deref().map(cursor_pair).transpose()? {
            Some((at, id)) => {
                let at = at
                    .parse::<i64>()
                    .map_err(|_| CoreError::invalid("after", "after must be the nextAfter of a previous page"))?;
                Some((Timestamp(at), id))
            }
            None => None,
        };
        let rows = self.store.list_outbox(state, after, page.limit).await?;
        Ok(listing(rows, &page, |m| format!("{}:{}", m.created_at.millis(), m.id)))
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
