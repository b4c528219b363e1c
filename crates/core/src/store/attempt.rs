//! The attempt counters of limited secrets: [`AttemptStore`], the one way an attempt is
//! reserved (docs/security.md, "Attempt limits").

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;

/// A limited secret's attempt counter: the row that counts, and its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter<'a> {
    /// A code session's wrong codes (`session_codes.attempts`), while the session is
    /// pending and unexpired; `max` 0: unlimited. Closed by the session's own ending.
    Code {
        /// The session.
        session_id: &'a str,
        /// The session's `max_attempts`.
        max: u32,
    },
    /// A device's wrong PINs (`devices.pin_failures`), while the device is active;
    /// closing disconnects it.
    Pin {
        /// The device.
        device_id: &'a str,
        /// The tenant's `maxPinAttempts`.
        max: u32,
    },
    /// A static password's wrong passwords (`static_passwords.failures`), while it is
    /// not locked; closing locks it until `lock_until`. A lock that has run out is lifted
    /// by the next reservation, which counts from one again.
    Password {
        /// The user.
        user_pk: &'a str,
        /// The tenant's `maxPasswordFailures`.
        max: u32,
        /// Until when closing locks it.
        lock_until: Timestamp,
    },
    /// A console administrator's wrong passwords (`admin_accounts.failures`), while the
    /// account is not locked; closing locks it until `lock_until`. A lock that has run
    /// out is lifted by the next reservation, as for a static password.
    AdminPassword {
        /// The account.
        account_id: &'a str,
        /// `web::console::MAX_PASSWORD_FAILURES`.
        max: u32,
        /// Until when closing locks it.
        lock_until: Timestamp,
    },
    /// An OATH token's wrong codes (`tokens.failures`), while it is not locked; closing
    /// locks it.
    Token {
        /// The token.
        token_id: &'a str,
        /// The token limit.
        max: u32,
    },
}

impl Counter<'_> {
    /// The limit (0: none).
    pub fn max(&self) -> u32 {
        match *self {
            Counter::Code { max, .. }
            | Counter::Pin { max, .. }
            | Counter::Password { max, .. }
            | Counter::AdminPassword { max, .. }
            | Counter::Token { max, .. } => max,
        }
    }
}

/// Attempt counters. A guess at a limited secret is evaluated only after
/// [`AttemptStore::reserve_attempt`] has counted it, so that however many guesses
/// arrive at once, at most the attempts left are ever evaluated.
#[async_trait]
pub trait AttemptStore: Send + Sync {
    /// Count one attempt, in one conditional update: only while the secret is open (see
    /// [`Counter`]) and fewer than its `max` attempts are counted. The attempts counted
    /// with this one, or `None` when none was left (the guess must not be evaluated).
    /// A reservation stays counted: it is the failure if the guess is wrong.
    async fn reserve_attempt(&self, counter: Counter<'_>, now: Timestamp) -> Result<Option<u32>, StoreError>;
    /// A reserved guess was right: clear the count — only while the secret is still open,
    /// so a lock or disconnection made meanwhile stays. (A code session's count needs no
    /// clearing: the session ends.)
    async fn clear_attempts(&self, counter: Counter<'_>, now: Timestamp) -> Result<(), StoreError>;
    /// The guess holding the last attempt was wrong: close the secret (disconnect the
    /// device, lock the password or token) if it is still open and its count still at the
    /// limit (not cleared meanwhile by a right guess); whether this call closed it. A code
    /// session is closed by its session's ending: `false`.
    async fn close_attempts(&self, counter: Counter<'_>, now: Timestamp) -> Result<bool, StoreError>;
}
