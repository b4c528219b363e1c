//! What a session's ending causes — in one place, whether it ended by a transition or was
//! created already ended (docs/mobile-protocol.md, "The session state machine").
//!
//! In the ending's own transaction: the callback, the `learn` message of an accepted
//! risk challenge, and the outcome's entry in the audit log. After it commits ([`Core::session_ended`]): waiters woken, the outcome
//! counted, the learning applied (a failure is logged with its cause and retried from
//! the outbox), the delivery worker woken.

use super::{Ending, NewSession, Session, SessionState, closed};
use crate::delivery::outbox::{OutboxKind, OutboxMessage};
use crate::error::{CoreError, Entity};
use crate::login::LoginResult;
use crate::random;
use crate::risk::Learn;
use crate::service::Core;
use crate::tenant::Tenant;

/// What an ending teaches the user's risk profile.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Teaches<'a> {
    /// Nothing.
    Nothing,
    /// What the risk challenge with this ID (the session's, or a FIDO ceremony's) was
    /// to teach when passed.
    Challenge(&'a str),
    /// This (a login the risk engine accepted outright).
    This(&'a Learn),
}

/// What an ending queued in its transaction, for the effects after it commits.
#[derive(Debug, Default)]
struct Queued {
    /// Every message queued (callback, learning).
    any: bool,
    /// The learning message, to apply at once.
    learn: Option<OutboxMessage>,
    /// The challenge whose learning was queued, to forget.
    challenge: Option<String>,
}

impl Core {
    /// Store a new session with the messages its start sends (pushes, a code). A session
    /// created already ended has every effect of an ending (callback, metrics).
    pub(crate) async fn insert_session(&self, s: &Session, outbox: Vec<OutboxMessage>) -> Result<(), CoreError> {
        self.insert_teaching(s, outbox, Teaches::Nothing).await
    }

    /// [`Core::insert_session`], for an ended session that teaches the risk profile
    /// `teaches` when it is `Accept`.
    pub(crate) async fn insert_teaching(
        &self,
        s: &Session,
        mut outbox: Vec<OutboxMessage>,
        teaches: Teaches<'_>,
    ) -> Result<(), CoreError> {
        if !s.state().is_final() {
            self.store.insert_session(s, &outbox, &[]).await?;
            if !outbox.is_empty() {
                self.outbox_wake.notify_one();
            }
            return Ok(());
        }
        let queued = self.ending_messages(s, teaches, &mut outbox).await?;
        self.store.insert_session(s, &outbox, &[self.login_outcome(s)]).await?;
        self.session_ended(s, queued).await;
        Ok(())
    }

    /// Record a login that succeeded at once (token, FIDO2, UAF) as an accepted session,
    /// so `GET /v1/sessions/{requestID}` reads it; its output. `challenge`: the risk
    /// challenge it passes (a FIDO ceremony the risk engine asked for), if any.
    pub(crate) async fn accepted_session(
        &self,
        tenant: &Tenant,
        user: &crate::user::User,
        message: String,
        method: crate::methods::Method,
        session_id: Option<String>,
        challenge: Option<&str>,
    ) -> Result<LoginResult, CoreError> {
        let now = self.clock.now();
        let id = random::new_id(&*self.random)?;
        let n = NewSession::not_push(id, &tenant.id, &user.id, message, Some(method), now, now);
        let session = Session::ended(n, Ending::accept())?;
        let teaches = challenge.map_or(Teaches::Nothing, Teaches::Challenge);
        self.insert_teaching(&session, Vec::new(), teaches).await?;
        Ok(LoginResult::of(&session, session_id, &self.public_url))
    }

    /// Claim QR login `qr_id` for `session` (created ended: accepted by the device) in one
    /// transaction with what its ending queues; `false` when it was claimed already or
    /// has expired.
    pub(crate) async fn claim_qr_session(&self, qr_id: &str, session: &Session) -> Result<bool, CoreError> {
        let mut outbox = Vec::new();
        let queued = self.ending_messages(session, Teaches::Nothing, &mut outbox).await?;
        let audit = [self.login_outcome(session)];
        if !self.store.claim_qr_login(qr_id, session, &outbox, &audit, self.clock.now()).await? {
            return Ok(false);
        }
        self.session_ended(session, queued).await;
        Ok(true)
    }

    /// End pending session `s` (as read) with `ending`, if it is still pending: the
    /// transition, its callback and learning in one transaction, then the effects of an
    /// ending. The session as ended; `409 session_closed` with the state that won when
    /// another transition did, or when an answer comes after the deadline.
    pub(crate) async fn end_session(&self, s: &Session, ending: Ending) -> Result<Session, CoreError> {
        let t = s.finish(&ending, self.clock.now())?;
        let ended = s.after(&t);
        let mut outbox = Vec::new();
        let queued = self.ending_messages(&ended, Teaches::Challenge(&s.id), &mut outbox).await?;
        if self.store.finish_session(&t, &outbox, &[self.login_outcome(&ended)]).await? {
            self.session_ended(&ended, queued).await;
            return Ok(ended);
        }
        let now = self.store.session(&s.id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
        Err(closed(now.seen_at(self.clock.now()).state()))
    }

    /// The messages ending `s` (as ended) queues with its final state: the callback when
    /// it named a callback URL; what it teaches when it is `Accept`.
    async fn ending_messages(
        &self,
        s: &Session,
        teaches: Teaches<'_>,
        outbox: &mut Vec<OutboxMessage>,
    ) -> Result<Queued, CoreError> {
        let mut q = Queued::default();
        outbox.extend(self.callback_message(s).await?);
        if s.state() == SessionState::Accept {
            let decided = s.decided_at().unwrap_or(s.created_at);
            let (learn, challenge) = match teaches {
                Teaches::Nothing => (None, None),
                Teaches::This(l) => (Some(l.clone()), None),
                Teaches::Challenge(id) => (self.challenge_learning(id).await?, Some(id.to_owned())),
            };
            if let Some(l) = learn {
                let m = self.learning_message(&s.tenant_id, &s.user_pk, &l, decided)?;
                outbox.push(m.clone());
                q.learn = Some(m);
                q.challenge = challenge;
            }
        }
        q.any = !outbox.is_empty();
        Ok(q)
    }

    /// The effects of `s` having ended, once its final state is committed: its waiters
    /// on this node woken, its outcome counted, what it teaches learned (a failure is
    /// logged with its cause; the outbox applies the message again later), the delivery
    /// worker woken for its callback.
    async fn session_ended(&self, s: &Session, q: Queued) {
        self.waiters.wake(&s.id);
        self.metrics.session_ended(s, s.state());
        if let Some(m) = &q.learn {
            match self.apply_learning(m).await {
                Ok(()) => {
                    if let Err(e) = self.store.outbox_sent(&m.id, self.clock.now()).await {
                        tracing::warn!(request = %s.id, message = %m.id, error = %cause(&e),
                            "learned from a risk challenge, but could not mark its message done; it is applied again later");
                    }
                }
                Err(e) => tracing::warn!(request = %s.id, message = %m.id, error = %cause(&e),
                    "learning from a risk challenge failed; the delivery worker tries it again"),
            }
        }
        if let Some(id) = &q.challenge
            && let Err(e) = self.forget_challenge(id).await
        {
            tracing::warn!(request = %id, error = %cause(&e),
                "could not forget a risk challenge's learning (queued already); housekeeping removes it");
        }
        if q.any {
            self.outbox_wake.notify_one();
        }
    }

    /// The callback message for `s` (as ended), when it named a callback URL.
    async fn callback_message(&self, s: &Session) -> Result<Option<OutboxMessage>, CoreError> {
        let Some(url) = &s.callback_url else { return Ok(None) };
        let tenant = self.store.tenant_by_id(&s.tenant_id).await?.ok_or(CoreError::NotFound(Entity::Tenant))?;
        let user = self.store.user_by_pk(&s.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
        let now = self.clock.now();
        let decided = s.decided_at().unwrap_or(now);
        let body = crate::delivery::callbacks::body(
            &s.id,
            user.user_id.as_str(),
            tenant.domain.as_str(),
            s.state().as_str(),
            s.reason(),
            decided,
        );
        let id = random::new_id(&*self.random)?;
        let deadline = now.plus_millis(crate::delivery::outbox::CALLBACK_LIFETIME_MS);
        Ok(Some(OutboxMessage::new(id, &s.tenant_id, OutboxKind::Callback, url, body, now, deadline)))
    }
}

/// An error with its sources, for the log: the cause, not only its summary.
pub fn cause(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
