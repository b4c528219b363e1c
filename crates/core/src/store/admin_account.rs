//! Administrator accounts of the console, their passkeys, and the console's page
//! sessions and WebAuthn ceremonies: [`AdminAccountStore`] (docs/web.md, "Built: the
//! admin console").

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::clock::Timestamp;
use crate::web::console::{AdminAccount, AdminCredential, ConsoleSession};

/// The `admin_accounts`, `admin_credentials` and `console_ceremonies` tables, and the
/// console's rows of `web_sessions` (kind `console`). A console session is touched and
/// ended through [`WebStore`](super::WebStore) like any page session.
#[async_trait]
pub trait AdminAccountStore: Send + Sync {
    /// Add an account; `Conflict` when its username is taken.
    async fn insert_admin_account(&self, account: &AdminAccount) -> Result<(), StoreError>;
    /// The account named `username`.
    async fn admin_account_by_username(&self, username: &str) -> Result<Option<AdminAccount>, StoreError>;
    /// The account with ID `id`.
    async fn admin_account(&self, id: &str) -> Result<Option<AdminAccount>, StoreError>;
    /// A page of accounts by username, after `page.after`.
    async fn list_admin_accounts(&self, page: &Page) -> Result<Vec<AdminAccount>, StoreError>;
    /// Remove an account with its passkeys and sessions; whether it existed.
    async fn delete_admin_account(&self, username: &str) -> Result<bool, StoreError>;

    /// Add a passkey to an account; `Conflict` when the credential ID is registered already.
    async fn insert_admin_credential(&self, credential: &AdminCredential) -> Result<(), StoreError>;
    /// An account's passkeys, oldest first.
    async fn admin_credentials(&self, account_id: &str) -> Result<Vec<AdminCredential>, StoreError>;
    /// Save a passkey's new state after a sign-in (its counter, its last use).
    async fn update_admin_credential(&self, credential: &AdminCredential) -> Result<(), StoreError>;

    /// Add a console session.
    async fn insert_console_session(&self, session: &ConsoleSession) -> Result<(), StoreError>;
    /// The console session whose cookie hashes to `id_hash`, expired or not.
    async fn console_session(&self, id_hash: &str) -> Result<Option<ConsoleSession>, StoreError>;
    /// The second factor passed: `password_ok` → `signed_in` with its new absolute expiry,
    /// in one conditional update (only from `password_ok`, only before it expired at
    /// `now`); whether this call made the step.
    async fn complete_console_session(
        &self,
        id_hash: &str,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<bool, StoreError>;

    /// Keep the WebAuthn ceremony of a console session (replacing an earlier one).
    async fn save_console_ceremony(&self, id_hash: &str, state: &str, expires_at: Timestamp) -> Result<(), StoreError>;
    /// Take the session's ceremony (single use: deleted as it is read), if it is still
    /// in time at `now`.
    async fn take_console_ceremony(&self, id_hash: &str, now: Timestamp) -> Result<Option<String>, StoreError>;
}
