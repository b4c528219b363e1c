//! Access keys: tenant API keys and admin tokens.
//!
//! Both are 32 random bytes behind a prefix (`csk_` for API keys, `csa_` for admin
//! tokens), shown once at creation and stored only as a SHA-256 digest. See
//! docs/foundation.md for why a fast digest (not Argon2) is right for 256-bit secrets.

use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::clock::Timestamp;

/// What an access key opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessKind {
    /// The integration API of one tenant.
    ApiKey,
    /// The admin API.
    AdminToken,
}

impl AccessKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            AccessKind::ApiKey => "api_key",
            AccessKind::AdminToken => "admin_token",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<AccessKind> {
        match s {
            "api_key" => Some(AccessKind::ApiKey),
            "admin_token" => Some(AccessKind::AdminToken),
            _ => None,
        }
    }

    /// The prefix every key of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            AccessKind::ApiKey => "csk_",
            AccessKind::AdminToken => "csa_",
        }
    }
}

/// An access key as stored (never the key itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    /// Identifier, used to revoke the key.
    pub id: String,
    /// What the key opens.
    #[serde(skip)]
    pub kind: AccessKind,
    /// The tenant of an API key; `None` for admin tokens.
    #[serde(skip)]
    pub tenant_id: Option<String>,
    /// A name to tell keys apart.
    pub name: String,
    /// The first characters of the key, to recognise it.
    #[schema(example = "csk_Xy12")]
    pub hint: String,
    /// SHA-256 of the key, hex.
    #[serde(skip)]
    pub key_hash: String,
    /// When the key was created.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When the key was last used (refreshed at most once a minute).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    /// When the key was revoked.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub revoked_at: Option<Timestamp>,
}

/// A key just created: the record, and the secret shown this once.
#[derive(Clone)]
pub struct NewCredential {
    /// What is stored.
    pub record: AccessKey,
    /// The key itself.
    pub secret: String,
}

impl std::fmt::Debug for NewCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewCredential").field("record", &self.record).field("secret", &"<redacted>").finish()
    }
}

/// Who an authenticated request comes from.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A tenant's API key.
    Tenant {
        /// The key's id.
        key_id: String,
        /// The tenant it belongs to.
        tenant: crate::tenant::Tenant,
    },
    /// An admin token.
    Admin {
        /// The token's id.
        token_id: String,
    },
}

/// SHA-256 of a key, lower-case hex: what the store keeps and looks up by.
pub fn key_hash(key: &str) -> String {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The part of a key shown in listings: its prefix and four more characters.
pub fn key_hint(key: &str) -> String {
    key.chars().take(8).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_sha256_hex() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(key_hash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn secret_not_in_debug() {
        let c = NewCredential {
            record: AccessKey {
                id: "1".into(),
                kind: AccessKind::ApiKey,
                tenant_id: None,
                name: "n".into(),
                hint: "csk_abcd".into(),
                key_hash: key_hash("csk_secret"),
                created_at: Timestamp(0),
                last_used_at: None,
                revoked_at: None,
            },
            secret: "csk_secretvalue".into(),
        };
        assert!(!format!("{c:?}").contains("secretvalue"));
    }
}
