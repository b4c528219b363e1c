//! Static passwords, tokens and other credentials: [`CredentialStore`].

use async_trait::async_trait;

use super::{FidoAuthenticatorKey, FidoCeremony, StoreError};
use crate::clock::Timestamp;

/// What a user proves themselves with, other than a device: static passwords (with
/// their failure counters and locks), OATH tokens, virtual authenticators, FIDO2
/// credentials and UAF registrations, and the FIDO ceremonies that create and use them.
/// Every row belongs to a user and goes with them.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Insert a virtual authenticator; `Conflict` when its serial is taken in the tenant.
    async fn insert_virtual_authenticator(
        &self,
        tenant_id: &str,
        v: &crate::tokens::virtual_auth::VirtualAuthenticator,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The tenant's virtual authenticator with this serial.
    async fn virtual_authenticator(
        &self,
        tenant_id: &str,
        serial: &str,
    ) -> Result<Option<crate::tokens::virtual_auth::VirtualAuthenticator>, StoreError>;
    /// A page of a user's virtual authenticators, by serial.
    async fn user_virtual_authenticators(
        &self,
        user_pk: &str,
        page: &super::Page,
    ) -> Result<Vec<crate::tokens::virtual_auth::VirtualAuthenticator>, StoreError>;
    /// Remove a virtual authenticator; `false` when there was none.
    async fn delete_virtual_authenticator(&self, tenant_id: &str, serial: &str) -> Result<bool, StoreError>;

    /// A user's FIDO2 credential (JSON), by credential ID.
    async fn fido_credential(&self, user_pk: &str, credential_id: &str) -> Result<Option<String>, StoreError>;
    /// Every FIDO2 credential of a user, (credential ID, JSON) by credential ID.
    /// Unbounded on purpose: a ceremony must list all of them (allowed and excluded
    /// credentials); the admin listing pages with [`CredentialStore::list_fido_credentials`].
    async fn user_fido_credentials(&self, user_pk: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// A page of a user's FIDO2 credentials, (credential ID, JSON) by credential ID.
    async fn list_fido_credentials(
        &self,
        user_pk: &str,
        page: &super::Page,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Create or replace a user's FIDO2 credential; `Conflict` when another user of the
    /// tenant (the relying party) has a credential with this ID.
    async fn save_fido_credential(
        &self,
        tenant_id: &str,
        user_pk: &str,
        credential_id: &str,
        credential: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Remove a user's FIDO2 credential; `false` when there was none.
    async fn delete_fido_credential(&self, user_pk: &str, credential_id: &str) -> Result<bool, StoreError>;
    /// A user's UAF registration (JSON) of this AAID and key ID.
    async fn uaf_registration(&self, user_pk: &str, aaid: &str, key_id: &str) -> Result<Option<String>, StoreError>;
    /// Every UAF registration of a user as JSON, by AAID and key ID. Unbounded on
    /// purpose: a ceremony names all of them; the admin listing pages with
    /// [`CredentialStore::list_uaf_registrations`].
    async fn user_uaf_registrations(&self, user_pk: &str) -> Result<Vec<String>, StoreError>;
    /// Up to `limit` of a user's UAF registrations as JSON, by AAID and key ID, after the
    /// (AAID, key ID) `after`.
    async fn list_uaf_registrations(
        &self,
        user_pk: &str,
        after: Option<(&str, &str)>,
        limit: u32,
    ) -> Result<Vec<String>, StoreError>;
    /// Create or replace a user's UAF registration; `Conflict` when another user of the
    /// tenant has this AAID and key ID.
    async fn save_uaf_registration(
        &self,
        tenant_id: &str,
        user_pk: &str,
        aaid: &str,
        key_id: &str,
        registration: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Remove a user's UAF registration; `false` when there was none.
    async fn delete_uaf_registration(&self, user_pk: &str, aaid: &str, key_id: &str) -> Result<bool, StoreError>;
    /// The keys of every FIDO2 credential of a user, then of their UAF registrations.
    /// Unbounded on purpose: the account summary and the choice of protocol need them all.
    async fn fido_authenticator_keys(&self, user_pk: &str) -> Result<Vec<FidoAuthenticatorKey>, StoreError>;

    /// Create or replace a FIDO ceremony.
    async fn save_fido_ceremony(&self, c: &FidoCeremony) -> Result<(), StoreError>;
    /// A FIDO ceremony.
    async fn fido_ceremony(&self, id: &str) -> Result<Option<FidoCeremony>, StoreError>;
    /// Remove a FIDO ceremony; `false` when there was none (another request used it).
    async fn delete_fido_ceremony(&self, id: &str) -> Result<bool, StoreError>;
    /// Remove the ceremonies that expired before `now`; how many.
    async fn delete_expired_fido_ceremonies(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// A user's static password.
    async fn static_password(&self, user_pk: &str) -> Result<Option<crate::password::StaticPassword>, StoreError>;
    /// Create or replace a user's static password (failures and lock cleared).
    async fn set_static_password(&self, p: &crate::password::StaticPassword) -> Result<(), StoreError>;
    /// Remove a user's static password; `false` when there was none.
    async fn delete_static_password(&self, user_pk: &str) -> Result<bool, StoreError>;
    /// Clear a password's failures and lock; `false` when there is no password.
    async fn password_reset_failures(&self, user_pk: &str) -> Result<bool, StoreError>;
    /// Insert tokens, all or none (`Conflict` when a serial exists in the tenant).
    async fn insert_tokens(&self, tokens: &[crate::tokens::Token]) -> Result<(), StoreError>;
    /// A token by ID.
    async fn token(&self, id: &str) -> Result<Option<crate::tokens::Token>, StoreError>;
    /// A page of a tenant's tokens, by serial.
    async fn tenant_tokens(&self, tenant_id: &str, page: &super::Page)
    -> Result<Vec<crate::tokens::Token>, StoreError>;
    /// A user's tokens.
    async fn user_tokens(&self, user_pk: &str) -> Result<Vec<crate::tokens::Token>, StoreError>;
    /// Assign a token to a user (or none); `false` when there is no such token.
    async fn set_token_user(&self, id: &str, user_pk: Option<&str>, at: Timestamp) -> Result<bool, StoreError>;
    /// Move a token's moving factor from `expected` to `new`, reset its failures and set
    /// its state; `false` when another request moved it first.
    async fn token_advance(
        &self,
        id: &str,
        expected: i64,
        new: i64,
        state: crate::tokens::TokenState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Set a token's state and clear its failures; `false` when there is no such token.
    async fn set_token_state(
        &self,
        id: &str,
        state: crate::tokens::TokenState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Remove a token.
    async fn delete_token(&self, id: &str) -> Result<bool, StoreError>;
}
