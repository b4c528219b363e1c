//! The web pages' own accounts and sessions (docs/web.md): a signed-in page session
//! ([`WebSession`], kept behind a cookie) and the one-time sign-in links
//! ([`SignInLink`]) an administrator or a relying party issues to a user. This file holds
//! the data and the pure rules; `links.rs` and `sessions.rs` the operations.
//!
//! Secrets: the cookie and the link token are 256-bit random values the server hands out
//! once and keeps only as SHA-256 hashes. The CSRF token of a session is derived from its
//! cookie ([`csrf_token`]), so nothing more is stored and a page can always show it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::clock::Timestamp;

pub mod console;
mod console_passkeys;
mod links;
mod passkeys;
mod password;
mod self_service;
mod sessions;
mod sign_ins;

pub use self_service::{MyActivation, usable};

pub use password::{PENDING_PREFIX, PasswordStep, SECOND_STEP_MS, SecondStep};
pub use sessions::SignedIn;
pub use sign_ins::{NotMe, RECENT_SIGN_INS, SignInRecord};

/// How long a sign-in link can be used.
pub const SIGN_IN_LINK_TTL_MS: i64 = 15 * 60 * 1000;
/// A self-service session ends after this long without a request.
pub const SELF_SERVICE_IDLE_MS: i64 = 30 * 60 * 1000;
/// A page session ends this long after sign-in, used or not.
pub const ABSOLUTE_MS: i64 = 8 * 60 * 60 * 1000;
/// A session's last use is written at most this often (one write per minute of use, not
/// one per request).
pub const TOUCH_AFTER_MS: i64 = 60 * 1000;
/// The prefix of sign-in link tokens.
pub const LINK_PREFIX: &str = "csl_";

/// Which pages a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebSessionKind {
    /// A user's self-service pages (`/self-service/{domain}`).
    SelfService,
    /// An administrator's console (`/console`; rows owned by an account, see `console`).
    Console,
}

impl WebSessionKind {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            WebSessionKind::SelfService => "self_service",
            WebSessionKind::Console => "console",
        }
    }

    /// The kind stored as `s`.
    pub fn from_stored(s: &str) -> Option<Self> {
        match s {
            "self_service" => Some(WebSessionKind::SelfService),
            "console" => Some(WebSessionKind::Console),
            _ => None,
        }
    }
}

/// A signed-in page session (`web_sessions`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    /// SHA-256 (hex) of the cookie's value.
    pub id_hash: String,
    /// Which pages.
    pub kind: WebSessionKind,
    /// The tenant.
    pub tenant_id: String,
    /// The user signed in.
    pub user_pk: String,
    /// When the user signed in.
    pub created_at: Timestamp,
    /// When the session was last used (to within [`TOUCH_AFTER_MS`]).
    pub last_seen_at: Timestamp,
    /// When it ends, used or not.
    pub expires_at: Timestamp,
}

impl WebSession {
    /// Whether the session still holds at `now`: before its absolute expiry and used
    /// within the idle limit.
    pub fn live_at(&self, now: Timestamp) -> bool {
        now < self.expires_at && now.millis() - self.last_seen_at.millis() < SELF_SERVICE_IDLE_MS
    }
}

/// A one-time sign-in link (`sign_in_links`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInLink {
    /// SHA-256 (hex) of the link's token.
    pub id_hash: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user it signs in.
    pub user_pk: String,
    /// When it was issued.
    pub created_at: Timestamp,
    /// When it stops working.
    pub expires_at: Timestamp,
    /// When it was used (once).
    pub used_at: Option<Timestamp>,
}

/// A link just issued: the token is shown this once.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedLink {
    /// The address to hand to the user (it holds the token).
    pub url: String,
    /// When it stops working.
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
}

/// A session just made: the cookie's value is handed to the browser this once.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    /// The cookie's value.
    pub cookie: String,
    /// When the session ends at the latest.
    pub expires_at: Timestamp,
}

/// SHA-256 of a secret, in hex: how cookies and link tokens are looked up.
pub fn secret_hash(secret: &str) -> String {
    crate::access::key_hash(secret)
}

/// The CSRF token of the session behind `cookie`: a hash of the cookie under its own
/// label, unguessable without the cookie, the same on every page of the session.
pub fn csrf_token(cookie: &str) -> String {
    let mut h = Sha256::new();
    h.update(b"countersign web csrf\0");
    h.update(cookie.as_bytes());
    URL_SAFE_NO_PAD.encode(h.finalize())
}

/// Whether `given` is the CSRF token of `cookie` (constant time).
pub fn csrf_matches(cookie: &str, given: &str) -> bool {
    csrf_token(cookie).as_bytes().ct_eq(given.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_belongs_to_its_cookie_only() {
        let t = csrf_token("cookie-a");
        assert!(csrf_matches("cookie-a", &t));
        assert!(!csrf_matches("cookie-b", &t));
        assert!(!csrf_matches("cookie-a", ""));
        assert!(!csrf_matches("cookie-a", &t[..t.len() - 1]));
        assert_eq!(t.len(), 43);
    }

    #[test]
    fn a_session_ends_at_its_idle_limit_or_its_absolute_expiry() {
        let s = WebSession {
            id_hash: "h".into(),
            kind: WebSessionKind::SelfService,
            tenant_id: "t".into(),
            user_pk: "u".into(),
            created_at: Timestamp(0),
            last_seen_at: Timestamp(1_000),
            expires_at: Timestamp(ABSOLUTE_MS),
        };
        assert!(s.live_at(Timestamp(1_000 + SELF_SERVICE_IDLE_MS - 1)));
        assert!(!s.live_at(Timestamp(1_000 + SELF_SERVICE_IDLE_MS)));
        let recent = WebSession { last_seen_at: Timestamp(ABSOLUTE_MS - 10), ..s };
        assert!(!recent.live_at(Timestamp(ABSOLUTE_MS)));
    }
}
