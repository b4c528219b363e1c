//! The session as stored: what a login asked for (public, fixed when it starts) and
//! where it stands (private: only a constructor or a [`Transition`] sets it).

use std::collections::BTreeMap;

use super::state::{Ending, SessionState, Transition, closed};
use crate::clock::Timestamp;
use crate::error::CoreError;
use crate::methods::{Delivery, Method};

/// The code of a code session (docs/otp.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCode {
    /// The session.
    pub session_id: String,
    /// HMAC of the code under the master key's code-hash key.
    pub code_hash: String,
    /// Wrong codes so far.
    pub attempts: u32,
    /// Wrong codes allowed (0: unlimited).
    pub max_attempts: u32,
    /// Resends so far.
    pub resends: u32,
    /// Resends allowed.
    pub max_resends: u32,
    /// The outbox message that delivered it (none with custom delivery).
    pub message_id: Option<String>,
    /// The code, sealed, for custom delivery only.
    pub custom_code: Option<String>,
}

/// What a new session is: everything a login fixes when it starts. Build one (with
/// [`NewSession::not_push`] for sessions that are not a push, or as a literal), then make
/// it a [`Session`] with [`Session::pending`] or [`Session::ended`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The request ID.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user's internal id.
    pub user_pk: String,
    /// The method (docs/architecture.md, "Methods"); `None` for an adaptive login the
    /// risk engine decided at once.
    pub method: Option<Method>,
    /// `push_custom`: the custom authenticator that approves.
    pub custom_authenticator: Option<String>,
    /// What the device shows.
    pub message: String,
    /// Shown with the message.
    pub context: BTreeMap<String, String>,
    /// Server nonce the response signs.
    pub nonce: String,
    /// The number to match, when number matching is on.
    pub number: Option<u8>,
    /// The choices the device offers (the number among them).
    pub number_choices: Vec<u8>,
    /// How the challenge reached the user.
    pub delivery: Delivery,
    /// Creation time.
    pub created_at: Timestamp,
    /// When a pending session times out.
    pub expires_at: Timestamp,
    /// Where the result is posted when the session ends (allowlisted).
    pub callback_url: Option<String>,
}

impl NewSession {
    /// A session of `method` that is not a push (a code, token, FIDO, QR or password
    /// login; `None`: a risk decision): no nonce, number or context; nothing delivered
    /// until the caller says otherwise.
    pub fn not_push(
        id: String,
        tenant_id: &str,
        user_pk: &str,
        message: String,
        method: Option<Method>,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> NewSession {
        NewSession {
            id,
            tenant_id: tenant_id.to_owned(),
            user_pk: user_pk.to_owned(),
            method,
            custom_authenticator: None,
            message,
            context: BTreeMap::new(),
            nonce: String::new(),
            number: None,
            number_choices: Vec::new(),
            delivery: Delivery::None,
            created_at,
            expires_at,
            callback_url: None,
        }
    }
}

/// A login session. What the login asked for is public; where it stands (state, when it
/// was decided, by which device, why) is private, read through getters, and changes only
/// through [`Session::finish`] applied by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// What the login fixed when it started, read through `Deref` (`session.id`, …).
    start: NewSession,
    state: SessionState,
    decided_at: Option<Timestamp>,
    device_id: Option<String>,
    reason: Option<String>,
}

impl std::ops::Deref for Session {
    type Target = NewSession;

    fn deref(&self) -> &NewSession {
        &self.start
    }
}

impl Session {
    fn with(n: NewSession, state: SessionState, decided_at: Option<Timestamp>, e: Option<Ending>) -> Session {
        let (device_id, reason) = e.map(|e| (e.device_id, e.reason)).unwrap_or_default();
        Session { start: n, state, decided_at, device_id, reason }
    }

    /// A session waiting for the user until `expires_at`.
    pub fn pending(n: NewSession) -> Session {
        Session::with(n, SessionState::Pending, None, None)
    }

    /// A session that ended as it was created (a login decided at once: no device, a
    /// token or FIDO login, a claimed QR login, a risk decision); `Internal` when the
    /// ending is not final.
    pub fn ended(n: NewSession, ending: Ending) -> Result<Session, CoreError> {
        let at = n.created_at;
        Session::ended_at(n, ending, at)
    }

    /// [`Session::ended`], decided at `decided_at` rather than when it was created (a QR
    /// login, created when shown and decided when claimed).
    pub fn ended_at(n: NewSession, ending: Ending, decided_at: Timestamp) -> Result<Session, CoreError> {
        if !ending.state.is_final() {
            return Err(CoreError::Internal("a session cannot be created ended in Pending".into()));
        }
        Ok(Session::with(n, ending.state, Some(decided_at), Some(ending)))
    }

    /// A session read back from storage, exactly as stored. For storage backends only:
    /// the domain creates sessions with [`Session::pending`] and [`Session::ended`].
    pub fn from_stored(
        n: NewSession,
        state: SessionState,
        decided_at: Option<Timestamp>,
        device_id: Option<String>,
        reason: Option<String>,
    ) -> Session {
        Session { device_id, reason, ..Session::with(n, state, decided_at, None) }
    }

    /// Where it stands.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// When it ended.
    pub fn decided_at(&self) -> Option<Timestamp> {
        self.decided_at
    }

    /// The device that answered.
    pub fn device_id(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    /// Why it failed or was declined, when the server decided.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    /// Whether it is pending past its deadline: it has timed out, and the sweeper has not
    /// recorded it yet.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.state == SessionState::Pending && now >= self.expires_at
    }

    /// The session as a reader sees it at `now`: a pending session past its deadline is
    /// `Timeout` (decided at its deadline) although the row still says `Pending` until the
    /// sweeper records it. Reads never write; an answer to such a session is refused by
    /// [`Session::finish`] all the same.
    pub fn seen_at(mut self, now: Timestamp) -> Session {
        if self.is_expired_at(now) {
            self.state = SessionState::Timeout;
            self.decided_at = Some(self.expires_at);
        }
        self
    }

    /// Check the transition of this session (as read) to `ending` at `at`, for the store
    /// to apply: only `Pending` moves, only to a final state; an answer only before the
    /// deadline (after it: `409 session_closed`, `Timeout`), a `Timeout` only at or after
    /// it.
    pub fn finish(&self, ending: &Ending, at: Timestamp) -> Result<Transition, CoreError> {
        if self.state.is_final() {
            return Err(closed(self.state));
        }
        let to = ending.state;
        let expired = at >= self.expires_at;
        let decided_at = match to {
            SessionState::Pending => return Err(CoreError::Internal("a session cannot move to Pending".into())),
            SessionState::Timeout if !expired => {
                return Err(CoreError::Internal("a session cannot time out before its deadline".into()));
            }
            SessionState::Timeout => self.expires_at,
            _ if expired => return Err(closed(SessionState::Timeout)),
            _ => at,
        };
        Ok(Transition {
            id: self.id.clone(),
            from: self.state,
            to,
            at,
            decided_at,
            device_id: ending.device_id.clone(),
            reason: ending.reason.clone(),
        })
    }

    /// The session after `t` was applied to it.
    pub(crate) fn after(&self, t: &Transition) -> Session {
        let mut s = self.clone();
        s.state = t.to;
        s.decided_at = Some(t.decided_at);
        if t.device_id.is_some() {
            s.device_id.clone_from(&t.device_id);
        }
        if t.reason.is_some() {
            s.reason.clone_from(&t.reason);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::refusal::RefusalCode;

    fn new(expires: i64) -> NewSession {
        NewSession::not_push("r".into(), "t", "u", "m".into(), Some(Method::Sms), Timestamp(1_000), Timestamp(expires))
    }

    #[test]
    fn only_pending_moves_and_only_to_final() {
        use SessionState::*;
        let pending = Session::pending(new(10_000));
        for to in [Accept, Decline, Failed] {
            let t = pending.finish(&Ending::new(to), Timestamp(2_000)).unwrap();
            assert_eq!((t.from(), t.to(), t.at(), t.decided_at()), (Pending, to, Timestamp(2_000), Timestamp(2_000)));
            assert!(t.before_deadline());
            let ended = Session::ended(new(10_000), Ending::new(to)).unwrap();
            assert_eq!(ended.decided_at(), Some(Timestamp(1_000)));
            for again in [Accept, Decline, Timeout, Failed] {
                assert!(ended.finish(&Ending::new(again), Timestamp(20_000)).is_err(), "{to:?} -> {again:?}");
                assert!(pending.after(&t).finish(&Ending::new(again), Timestamp(2_000)).is_err());
            }
        }
        assert!(pending.finish(&Ending::new(Pending), Timestamp(2_000)).is_err());
        assert!(Session::ended(new(10_000), Ending::new(Pending)).is_err());
        for s in [Pending, Accept, Decline, Timeout, Failed] {
            assert_eq!(SessionState::from_stored(s.as_str()), Some(s));
        }
    }

    #[test]
    fn the_deadline_splits_answers_from_timeouts() {
        let s = Session::pending(new(10_000));
        // An answer at or after the deadline is refused as the Timeout it is.
        for at in [10_000, 12_000] {
            match s.finish(&Ending::accept(), Timestamp(at)) {
                Err(CoreError::Refused { code: RefusalCode::SessionClosed, message, .. }) => {
                    assert!(message.ends_with("Timeout"))
                }
                other => panic!("{other:?}"),
            }
        }
        // A timeout before it is a bug, not a refusal.
        assert!(matches!(s.finish(&Ending::new(SessionState::Timeout), Timestamp(9_999)), Err(CoreError::Internal(_))));
        let t = s.finish(&Ending::new(SessionState::Timeout), Timestamp(10_250)).unwrap();
        assert!(!t.before_deadline());
        assert_eq!(t.decided_at(), Timestamp(10_000), "a timeout is decided by the deadline");
    }

    #[test]
    fn readers_see_an_expired_pending_session_as_timeout() {
        let s = Session::pending(new(10_000));
        assert_eq!(s.clone().seen_at(Timestamp(9_999)).state(), SessionState::Pending);
        let seen = s.clone().seen_at(Timestamp(10_000));
        assert_eq!((seen.state(), seen.decided_at()), (SessionState::Timeout, Some(Timestamp(10_000))));
        assert!(s.is_expired_at(Timestamp(10_000)) && !s.is_expired_at(Timestamp(9_999)));
        let ended = Session::ended(new(10_000), Ending::failed("no_device")).unwrap();
        assert_eq!(ended.clone().seen_at(Timestamp(99_000)), ended, "a final state is what it is");
        assert_eq!(ended.reason(), Some("no_device"));
    }

    #[test]
    fn after_records_the_ending() {
        let s = Session::pending(new(10_000));
        let t =
            s.finish(&Ending::new(SessionState::Decline).by("d1").because("wrong_number"), Timestamp(2_000)).unwrap();
        let s = s.after(&t);
        assert_eq!(
            (s.state(), s.decided_at(), s.device_id(), s.reason()),
            (SessionState::Decline, Some(Timestamp(2_000)), Some("d1"), Some("wrong_number"))
        );
    }
}
