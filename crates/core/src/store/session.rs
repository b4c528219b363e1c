//! Sessions, their codes and QR logins: [`SessionStore`].

use async_trait::async_trait;

use super::StoreError;
use crate::audit::AuditRecord;
use crate::clock::Timestamp;
use crate::delivery::outbox::OutboxMessage;
use crate::session::{Session, Transition};

/// Login sessions and what hangs off them: the codes of code sessions (with their
/// attempts and resends), QR logins, and the counts read for rate limits and metrics.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Insert a session and the messages it sends, and append `audit` to the audit log
    /// (a session created already ended records its outcome), in one transaction.
    async fn insert_session(
        &self,
        session: &Session,
        outbox: &[OutboxMessage],
        audit: &[AuditRecord],
    ) -> Result<(), StoreError>;
    /// Insert a code session, its code and the message that delivers it, in one transaction.
    async fn insert_code_session(
        &self,
        session: &Session,
        code: &crate::session::SessionCode,
        outbox: &[OutboxMessage],
    ) -> Result<(), StoreError>;
    /// The code of a code session.
    async fn session_code(&self, session_id: &str) -> Result<Option<crate::session::SessionCode>, StoreError>;
    /// The session whose code went out first in outbox message `message_id`.
    async fn code_session_of_message(&self, message_id: &str) -> Result<Option<String>, StoreError>;
    /// If fewer than the allowed resends were made, count one and enqueue a copy of the
    /// first message (same payload) with ID `message_id`, due `now`, dying at
    /// `deadline`; the resends made, or `None` at the limit.
    async fn resend_code(
        &self,
        session_id: &str,
        message_id: &str,
        now: Timestamp,
        deadline: Timestamp,
    ) -> Result<Option<u32>, StoreError>;
    /// The session with this request ID.
    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Which of these sessions are no longer `Pending` (the node-wide safety re-check of
    /// waiting logins: one query for many waiters; at most [`ENDED_AMONG_MAX`] IDs).
    async fn ended_among(&self, ids: &[String]) -> Result<Vec<String>, StoreError>;
    /// Apply `transition` in one conditional update — only if the session is still in
    /// its `from` state and its `expires_at` is after `at` (an answer) or at or before it
    /// (`Timeout`; see [`Transition::before_deadline`]) — setting `state`, `decided_at`,
    /// and `device_id` and `reason` when given, and enqueue `outbox` and append `audit`
    /// (the outcome) in the same transaction; `false` (and nothing enqueued or appended)
    /// when another transition won.
    async fn finish_session(
        &self,
        transition: &Transition,
        outbox: &[OutboxMessage],
        audit: &[AuditRecord],
    ) -> Result<bool, StoreError>;
    /// Up to `limit` sessions still `Pending` whose `expires_at` is at or before `now`,
    /// earliest deadline first (the sweeper's query; index `sessions_by_state_expiry`).
    async fn expired_sessions(&self, now: Timestamp, limit: u32) -> Result<Vec<Session>, StoreError>;
    /// A user's pending sessions that expire after `now`, oldest first.
    async fn pending_sessions(&self, user_pk: &str, now: Timestamp) -> Result<Vec<Session>, StoreError>;
    /// The user's latest pending session waiting for a code sent by SMS, e-mail or voice
    /// (not custom delivery) that expires after `now` (the Duo-compatible API's SMS
    /// passcodes).
    async fn latest_pending_code_session(&self, user_pk: &str, now: Timestamp) -> Result<Option<Session>, StoreError>;
    /// How many sessions of all tenants are pending and expire after `now` (one indexed
    /// count, read at each `/metrics` scrape).
    async fn count_pending_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
    /// How many login requests the user was sent after `since` (sessions delivered as
    /// push notifications, and codes sent by SMS or e-mail), and when the oldest of them
    /// was created.
    async fn login_requests_since(
        &self,
        user_pk: &str,
        since: Timestamp,
    ) -> Result<(u64, Option<Timestamp>), StoreError>;
    /// Insert a QR login waiting to be claimed.
    async fn insert_qr_login(&self, q: &crate::mobile::qr::QrLogin) -> Result<(), StoreError>;
    /// A QR login.
    async fn qr_login(&self, id: &str) -> Result<Option<crate::mobile::qr::QrLogin>, StoreError>;
    /// Claim a pending, unexpired QR login and insert its (final) session with the same
    /// ID, the messages its ending sends and its audit entries, in one transaction;
    /// `false` (and nothing written) when it was claimed already or has expired.
    async fn claim_qr_login(
        &self,
        id: &str,
        session: &Session,
        outbox: &[OutboxMessage],
        audit: &[AuditRecord],
        now: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Retention: remove up to `limit` ended sessions (never a `Pending` one) decided
    /// before `before`, oldest first, with their codes; how many.
    async fn delete_ended_sessions_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
    /// Retention: remove up to `limit` QR logins that expired before `before`; how many.
    async fn delete_qr_logins_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}

/// Most session IDs one [`SessionStore::ended_among`] takes.
pub const ENDED_AMONG_MAX: usize = 500;

/// What nodes sharing a database tell each other (docs/deployment.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeEvent {
    /// A session ended (its ID), for the waiters here.
    SessionEnded(String),
    /// A tenant's cached configuration changed (its ID): forget it here.
    ConfigChanged(String),
    /// The listening connection was lost and is back: announcements may have been missed.
    Reconnected,
}

/// Sessions ended and configuration changed on other nodes (docs/architecture.md, "The
/// life of a push login" and "Caches").
#[async_trait]
pub trait SessionEvents: Send + Sync {
    /// A stream of what the nodes sharing the database announce (sessions they end,
    /// configuration they change), or `None` where the backend serves one node (SQLite).
    async fn node_events(&self) -> Result<Option<tokio::sync::mpsc::Receiver<NodeEvent>>, StoreError>;
    /// Tell the other nodes that tenant `tenant_id`'s cached configuration changed
    /// (nothing to do where there are none).
    async fn announce_config_change(&self, tenant_id: &str) -> Result<(), StoreError>;
}
