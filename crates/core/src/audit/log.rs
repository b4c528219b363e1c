//! Appending to the audit log, reading it and verifying its chain, and the entries the
//! login paths record (docs/security.md, "Audit log").

use serde_json::json;

use super::{
    Actor, AuditEntry, AuditEvent, AuditFilter, AuditKind, AuditQuery, AuditRecord, AuditScope, AuditVerification,
    ChainWalk, DEFAULT_PAGE, LoginAttempt, MAX_PAGE, WALK_PAGE,
};
use crate::admin::Listing;
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, RefusalCode};
use crate::metrics::{Lockout, method_label};
use crate::service::Core;
use crate::session::{Session, SessionState};
use crate::tenant::{Domain, Tenant};
use crate::user::{UserId, UserRef};

/// Refusals that say a login attempt failed (a wrong secret, a locked or disabled user,
/// a FIDO response that does not verify). Refusals of malformed calls are not security
/// events; those that end their session are recorded by the ending.
fn failed_login(code: RefusalCode, answer: bool) -> bool {
    use RefusalCode as C;
    match code {
        C::InvalidOtp
        | C::InvalidPassword
        | C::TokenLocked
        | C::StaticPasswordExpired
        | C::UserLocked
        | C::UserDisabled
        | C::WrongPin
        | C::BadSignature => true,
        // The answer that locks a static password fails its session (recorded there).
        C::StaticPasswordLocked => !answer,
        c => c.is_fido_response_failure(),
    }
}

impl Core {
    /// `event` ready to append: its time now, its actor the event's or this core's.
    pub fn audit_record(&self, event: AuditEvent) -> AuditRecord {
        AuditRecord {
            at: self.clock.now(),
            tenant_id: event.tenant_id,
            tenant: event.tenant,
            user_pk: event.user_pk,
            user: event.user,
            kind: event.kind.as_str().to_owned(),
            actor: event.actor.unwrap_or_else(|| self.actor.clone()).to_string(),
            details: event.details.to_string(),
        }
    }

    /// Append `event` to the audit log (its own transaction). For a change made by
    /// another component (key rotation, the admin API), called right after it commits.
    pub async fn audit(&self, event: AuditEvent) -> Result<(), CoreError> {
        self.store.append_audit(&[self.audit_record(event)]).await?;
        Ok(())
    }

    /// [`Core::audit`] after a change that has committed already: a failure is logged
    /// with its cause, not returned (the change stands; docs/security.md says so).
    pub async fn audit_or_log(&self, event: AuditEvent) {
        let kind = event.kind.as_str();
        if let Err(e) = self.audit(event).await {
            tracing::error!(kind, error = %crate::session::cause(&e), "could not append to the audit log");
        }
    }

    /// The entry a session's ending appends in its own transaction: the outcome, the
    /// method and the reason, by the device that answered, the server (a timeout) or the
    /// caller.
    pub(crate) fn login_outcome(&self, s: &Session) -> AuditRecord {
        let kind = if s.state() == SessionState::Accept { AuditKind::LoginSucceeded } else { AuditKind::LoginFailed };
        let actor = match (s.device_id(), s.state()) {
            (Some(d), _) => Actor::Device(d.to_owned()),
            (None, SessionState::Timeout) => Actor::System,
            (None, _) => self.actor.clone(),
        };
        let details = json!({
            "requestID": s.id,
            "method": method_label(s),
            "outcome": s.state().as_str(),
            "reason": s.reason(),
        });
        let event = AuditEvent::new(kind).tenant_id(&s.tenant_id).user_pk(&s.user_pk).by(actor).details(details);
        self.audit_record(event)
    }

    /// Record a login call of `user_ref` that was refused with `e`, when that is a
    /// failed attempt (`login_failed`). Rate limits are recorded where they refuse.
    pub(crate) async fn audit_refused_login(&self, tenant: &Tenant, user_ref: &str, a: LoginAttempt, e: &CoreError) {
        let CoreError::Refused { code, .. } = e else { return };
        if !failed_login(*code, a.call == "answer") {
            return;
        }
        let kind = AuditKind::LoginFailed;
        let mut method = a.method.map(str::to_owned);
        if method.is_none()
            && let Some(id) = &a.request_id
            && let Ok(Some(s)) = self.store.session(id).await
            && s.tenant_id == tenant.id
        {
            method = Some(method_label(&s).to_owned());
        }
        let mut event = AuditEvent::new(kind).tenant_id(&tenant.id).tenant(tenant.domain.as_str()).details(json!({
            "call": a.call,
            "type": a.auth_type,
            "requestID": a.request_id,
            "method": method,
            "reason": code.as_str(),
        }));
        if let Ok(r) = UserRef::parse(user_ref) {
            event = event.user(r.user_id.as_str());
        }
        self.audit_or_log(event).await;
    }

    /// A device's answer to session `s` refused as a failed attempt (wrong PIN, bad
    /// signature): `login_failed` by the device.
    pub(crate) async fn audit_device_refusal(
        &self,
        device: &crate::device::Device,
        s: &Session,
        code: RefusalCode,
        attempts_left: Option<u32>,
    ) {
        let event = AuditEvent::new(AuditKind::LoginFailed)
            .tenant_id(&device.tenant_id)
            .user_pk(&device.user_pk)
            .by(Actor::Device(device.id.clone()))
            .details(json!({
                "requestID": s.id,
                "method": method_label(s),
                "reason": code.as_str(),
                "attemptsLeft": attempts_left,
            }));
        self.audit_or_log(event).await;
    }

    /// A lockout: counted for `/metrics` and recorded (`locked`) about `event`'s tenant
    /// and user, its details naming what was locked.
    pub(crate) async fn locked_out(&self, kind: Lockout, event: AuditEvent) {
        self.metrics.lockout(kind);
        let mut event = AuditEvent { kind: AuditKind::Locked, ..event };
        if let Some(d) = event.details.as_object_mut() {
            d.insert("lockout".into(), json!(kind.as_str()));
        }
        self.audit_or_log(event).await;
    }

    /// A checked query for `scope`; `extra` more rows than asked (a page's look-ahead).
    pub fn audit_query(&self, scope: AuditScope<'_>, f: &AuditFilter, extra: u32) -> Result<AuditQuery, CoreError> {
        let limit = f.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(CoreError::invalid("limit", format!("limit must be between 1 and {MAX_PAGE}")));
        }
        let time = |v: &Option<String>, field: &str| -> Result<Option<Timestamp>, CoreError> {
            v.as_deref()
                .map(|t| {
                    Timestamp::parse_rfc3339(t).ok_or_else(|| {
                        CoreError::invalid(
                            field,
                            format!("{field} must be an RFC 3339 time such as 2026-12-01T00:00:00Z"),
                        )
                    })
                })
                .transpose()
        };
        let kind = match f.kind.as_deref() {
            None => None,
            Some(k) => Some(AuditKind::parse(k).ok_or_else(|| {
                let all: Vec<&str> = AuditKind::ALL.iter().map(|k| k.as_str()).collect();
                CoreError::invalid("kind", format!("kind must be one of {}", all.join(", ")))
            })?),
        };
        let after = match f.after.as_deref() {
            None => None,
            Some(a) => Some(
                a.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| CoreError::invalid("after", "after must be the nextAfter of a previous page"))?,
            ),
        };
        let tenant = f.tenant.as_deref().map(|t| Domain::parse(t, "tenant")).transpose()?;
        let user = f.user.as_deref().map(|u| UserId::parse(u, "user")).transpose()?;
        let mut q = AuditQuery {
            tenant_id: None,
            tenant: tenant.map(|d| d.as_str().to_owned()),
            user: user.map(|u| u.as_str().to_owned()),
            kind: kind.map(|k| k.as_str().to_owned()),
            since: time(&f.since, "since")?,
            until: time(&f.until, "until")?,
            after,
            limit: limit + extra,
            newest_first: false,
        };
        if let AuditScope::Tenant(t) = scope {
            // An API key sees its own tenant only; another tenant is not there for it.
            if q.tenant.as_deref().is_some_and(|d| d != t.domain.as_str()) {
                return Err(CoreError::NotFound(Entity::Tenant));
            }
            q.tenant_id = Some(t.id.clone());
            q.tenant = Some(t.domain.as_str().to_owned());
        }
        Ok(q)
    }

    /// A page of the entries `f` asks for, visible to `scope`, in seq order.
    pub async fn audit_entries(
        &self,
        scope: AuditScope<'_>,
        f: &AuditFilter,
    ) -> Result<Listing<AuditEntry>, CoreError> {
        let q = self.audit_query(scope, f, 1)?;
        let shown = (q.limit - 1) as usize;
        let mut rows = self.store.audit_entries(&q).await?;
        let more = rows.len() > shown;
        rows.truncate(shown);
        let next_after = if more { rows.last().map(|e| e.seq.to_string()) } else { None };
        Ok(Listing { items: rows, next_after })
    }

    /// The entries of a checked query (`audit_query`), for an export that pages by
    /// moving `after` to the last seq it got.
    pub async fn audit_page(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, CoreError> {
        Ok(self.store.audit_entries(q).await?)
    }

    /// Walk the whole chain from its base to its head: the first entry altered, removed,
    /// inserted or reordered, if any.
    pub async fn verify_audit(&self) -> Result<AuditVerification, CoreError> {
        let head = self.store.audit_head().await?;
        let mut walk = ChainWalk::new(&head);
        let mut q = AuditQuery { limit: WALK_PAGE, ..AuditQuery::default() };
        let verification =
            |entries, problem| AuditVerification { entries, head_seq: head.seq, head_hash: head.hash.clone(), problem };
        loop {
            let page = self.store.audit_entries(&q).await?;
            for e in &page {
                if let Err(p) = walk.step(e) {
                    return Ok(verification(0, Some(p)));
                }
            }
            match page.last() {
                Some(last) if page.len() == WALK_PAGE as usize => q.after = Some(last.seq),
                _ => break,
            }
        }
        Ok(match walk.finish(&head) {
            Ok(n) => verification(n, None),
            Err(p) => verification(0, Some(p)),
        })
    }
}
