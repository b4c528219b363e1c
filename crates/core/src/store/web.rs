//! The web pages' signed-in sessions and one-time sign-in links: [`WebStore`]
//! (docs/web.md, "Accounts and sessions of the pages").

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;
use crate::web::{SignInLink, WebSession};

/// The `web_sessions` and `sign_in_links` tables. Cookies and link tokens arrive here
/// only as SHA-256 hashes.
#[async_trait]
pub trait WebStore: Send + Sync {
    /// Add a signed-in session.
    async fn insert_web_session(&self, session: &WebSession) -> Result<(), StoreError>;
    /// The session whose cookie hashes to `id_hash`, expired or not.
    async fn web_session(&self, id_hash: &str) -> Result<Option<WebSession>, StoreError>;
    /// Record that the session was used at `at`.
    async fn touch_web_session(&self, id_hash: &str, at: Timestamp) -> Result<(), StoreError>;
    /// End a session (sign-out); whether it existed.
    async fn delete_web_session(&self, id_hash: &str) -> Result<bool, StoreError>;
    /// End every session of a user (locked, removed, "not me").
    async fn delete_user_web_sessions(&self, user_pk: &str) -> Result<u64, StoreError>;
    /// Housekeeping: remove up to `limit` sessions whose absolute expiry is before `before`.
    async fn delete_web_sessions_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;

    /// Add a sign-in link.
    async fn insert_sign_in_link(&self, link: &SignInLink) -> Result<(), StoreError>;
    /// The link whose token hashes to `id_hash`, if it is unused and unexpired at `at`
    /// (reads only: a second factor checks it before spending it).
    async fn live_sign_in_link(&self, id_hash: &str, at: Timestamp) -> Result<Option<SignInLink>, StoreError>;
    /// Use the link whose token hashes to `id_hash`: in one conditional update, only if it
    /// is unused and unexpired at `at`; the link as used, or `None` (unknown, used or
    /// expired: concurrent uses get it once).
    async fn use_sign_in_link(&self, id_hash: &str, at: Timestamp) -> Result<Option<SignInLink>, StoreError>;
    /// Housekeeping: remove up to `limit` links that expired before `before`.
    async fn delete_sign_in_links_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
