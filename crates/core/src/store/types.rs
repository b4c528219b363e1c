//! What the store traits share: their error, paging, sealed configuration, FIDO rows.

use crate::clock::Timestamp;

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (domain, userID, key hash).
    #[error("conflict: a unique value is already taken")]
    Conflict,
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database failed or could not be reached; the source says why.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value could not be read back (corrupt or from a newer version).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

/// A page of a keyset-paginated listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Return rows whose key sorts after this one.
    pub after: Option<String>,
    /// At most this many rows.
    pub limit: u32,
}

/// Configuration with secrets: the public view (JSON) and the secrets, sealed under
/// the master key by the core (crates/core/src/seal.rs) before they reach the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedConfig {
    /// What the admin API shows.
    pub view: String,
    /// The full input, sealed.
    pub sealed: String,
}

/// The key of one of a user's FIDO authenticators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FidoAuthenticatorKey {
    /// A FIDO2 credential.
    Fido2 {
        /// Its credential ID (base64url).
        credential_id: String,
    },
    /// A UAF registration.
    Uaf {
        /// The authenticator model.
        aaid: String,
        /// The key ID (base64url).
        key_id: String,
    },
}

/// A FIDO registration or authentication ceremony in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FidoCeremony {
    /// Its ID (the requestID the client answers with).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user it is for.
    pub user_pk: String,
    /// Its state (JSON the core owns: webauthn-rs or UAF challenge state).
    pub state: String,
    /// When it began.
    pub created_at: Timestamp,
    /// When it can no longer be answered; housekeeping removes it after.
    pub expires_at: Timestamp,
}
