//! Attempt limits (docs/security.md, "Attempt limits"): the one way a guess at a limited
//! secret — a one-time code, a device's PIN, a static password, a token's code — is
//! checked. **Reserve, then check**: the attempt is counted first, by one conditional
//! update that succeeds only while an attempt is left ([`crate::store::AttemptStore`]);
//! only a guess that got one is evaluated. So with `k` attempts left at most `k` guesses
//! are ever evaluated, however many arrive at once and on however many nodes.
//!
//! After the check: a right guess clears the count (unless the secret was closed
//! meanwhile); a wrong one keeps its reservation as the failure; the wrong guess holding
//! the last attempt closes the secret. A guess that finds no attempt left is refused
//! unevaluated and changes nothing: the guess holding the last attempt decides, so a
//! flood of refused guesses cannot take a right last guess's success from it.
//!
//! Activation codes are checked the other way round and hold all the same: comparing a
//! hash changes nothing, and both outcomes are one conditional update on the
//! activation's state (`mobile/activation.rs`).

use std::future::Future;

use crate::error::CoreError;
use crate::service::Core;
use crate::store::Counter;

/// What a guess came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guess {
    /// Evaluated: right.
    Right,
    /// Evaluated: wrong; the attempts left (`None`: unlimited).
    Wrong { left: Option<u32> },
    /// Evaluated: wrong, and it held the last attempt; `closed` when this guess closed
    /// the secret (lock, disconnection; never for a code session, whose caller ends it).
    Exhausted { closed: bool },
    /// Not evaluated: no attempt was left (or the secret is closed).
    Refused,
}

impl Core {
    /// Reserve an attempt on `counter`, then (only then) run `check`; record the outcome.
    /// `check` is a future that has not started: it runs only when an attempt was
    /// reserved for it. An error from `check` leaves the attempt counted.
    pub(crate) async fn guess(
        &self,
        counter: Counter<'_>,
        check: impl Future<Output = Result<bool, CoreError>>,
    ) -> Result<Guess, CoreError> {
        let now = self.clock.now();
        let Some(n) = self.store.reserve_attempt(counter, now).await? else {
            return Ok(Guess::Refused);
        };
        if check.await? {
            self.store.clear_attempts(counter, now).await?;
            return Ok(Guess::Right);
        }
        let max = counter.max();
        if max == 0 {
            return Ok(Guess::Wrong { left: None });
        }
        if n >= max {
            let closed = self.store.close_attempts(counter, now).await?;
            return Ok(Guess::Exhausted { closed });
        }
        Ok(Guess::Wrong { left: Some(max - n) })
    }
}
