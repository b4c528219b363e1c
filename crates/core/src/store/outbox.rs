//! Messages to send: [`OutboxStore`].

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;
use crate::delivery::outbox::{OutboxMessage, OutboxState};

/// The outbox (docs/delivery.md).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claim up to `limit` messages that are due at `now` (queued and due, or sending
    /// with an expired lease), moving them to `sending` with a lease until `lease_until`.
    /// Concurrent claimers never get the same message.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Record that a provider accepted the message.
    async fn outbox_sent(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Record a failed try; the message is due again at `next_at`.
    async fn outbox_retry(&self, id: &str, attempts: u32, next_at: Timestamp, error: &str) -> Result<(), StoreError>;
    /// Give the message up.
    async fn outbox_dead(&self, id: &str, attempts: u32, error: &str) -> Result<(), StoreError>;
    /// Up to `limit` messages, newest first (ties by ID), optionally of one state, after
    /// the (creation time, ID) `after`.
    async fn list_outbox(
        &self,
        state: Option<OutboxState>,
        after: Option<(Timestamp, &str)>,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// How many messages are in each state.
    async fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>, StoreError>;
    /// Enqueue messages that no other state change goes with (test messages, codes).
    async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<(), StoreError>;
    /// Put a dead message that is not a push back in the queue, due at `now`, with a new
    /// deadline: `callback_deadline` for callbacks, `message_deadline` for SMS and e-mail;
    /// `false` when there is no such dead message.
    async fn outbox_requeue(
        &self,
        id: &str,
        now: Timestamp,
        callback_deadline: Timestamp,
        message_deadline: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Retention: remove up to `limit` sent messages sent before `before`, oldest
    /// first; how many.
    async fn delete_sent_outbox_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
    /// Retention: remove up to `limit` dead messages created before `before`, oldest
    /// first; how many.
    async fn delete_dead_outbox_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
