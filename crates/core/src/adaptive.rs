//! Adaptive logins and event validation (docs/risk.md, "Flows"): score, then accept,
//! decline, lock, or challenge — static password, code, or push — and continue with the
//! challenge's answer.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::{CoreError, Refusal};
use crate::login::{LoginInput, LoginOutput};
use crate::refusal::RefusalCode;
use crate::risk::{Assessment, Outcome, RiskInput};
use crate::service::Core;
use crate::session::{Ending, NewSession, Session, SessionState, Teaches, cause, closed};
use crate::tenant::{StaticPasswordMode, Tenant};
use crate::user::{User, UserStatus};

/// `POST /v1/users/{userID@domain}/events/validate`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventInput {
    /// `EventValidationInput` (optional).
    #[serde(default)]
    pub object_type: Option<String>,
    /// `LoginAttempt`, `Transaction`, `AddBeneficiary`, `ChangeContact`, or another name.
    pub event_type: String,
    /// Client device data collected by the page.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub cddc: Option<serde_json::Value>,
    /// The end user's IP address.
    #[serde(default)]
    pub ip_address: Option<String>,
    /// The transaction amount.
    #[serde(default)]
    pub amount: Option<f64>,
    /// Its currency (ISO 4217).
    #[serde(default)]
    pub currency: Option<String>,
    /// The beneficiary (account, name).
    #[serde(default)]
    pub beneficiary: Option<String>,
    /// Whether the beneficiary is new.
    #[serde(default)]
    pub new_beneficiary: Option<bool>,
    /// What a push challenge shows (default: the event and amount).
    #[serde(default)]
    pub message: Option<String>,
    /// The relying party's session ID.
    #[serde(default, rename = "sessionID")]
    pub session_id: Option<String>,
}

fn outcome_of(l: &mut LoginOutput, a: &Assessment, code: Option<u32>) {
    l.risk_response_code = Some(code.unwrap_or(a.outcome.code()));
    l.risk_reasons = a.reasons.clone();
}

impl Core {
    /// The first call of an adaptive login: no credentials; the engine decides.
    pub(crate) async fn adaptive_login(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        user: &User,
        input: LoginInput,
    ) -> Result<LoginOutput, CoreError> {
        let ip = crate::context::check(input.ip_address.as_deref(), input.user_agent.as_deref())?;
        let risk = RiskInput { cddc: input.cddc.clone(), ip, event: None };
        let a = self.assess(tenant, user, &risk).await?;
        self.act(tenant, user_ref, user, &a, input, ip).await
    }

    /// Carry out an assessment.
    async fn act(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        user: &User,
        a: &Assessment,
        input: LoginInput,
        ip: Option<std::net::IpAddr>,
    ) -> Result<LoginOutput, CoreError> {
        let now = self.clock.now();
        let final_session = |ending: Ending| -> Result<Session, CoreError> {
            let id = crate::random::new_id(&*self.random)?;
            Session::ended(
                NewSession::not_push(id, &tenant.id, &user.id, "adaptive login".into(), "risk", now, now),
                ending,
            )
        };
        let mut out = match a.outcome {
            Outcome::Accept => {
                let s = final_session(Ending::accept())?;
                self.insert_teaching(&s, Vec::new(), Teaches::This(&a.learn)).await?;
                LoginOutput::of(&s, input.session_id.clone(), &self.public_url)
            }
            Outcome::Decline | Outcome::Lock => {
                self.record_risk_failure(tenant, &user.id, ip).await;
                if a.outcome == Outcome::Lock {
                    let mut u = user.clone();
                    u.status = UserStatus::Locked;
                    u.updated_at = now;
                    self.store.update_user(&u).await?;
                    tracing::warn!(user = %user.id, rule = ?a.reasons, "user locked by the risk engine");
                    self.metrics.lockout(crate::metrics::Lockout::User);
                }
                let mut ending = Ending::new(SessionState::Decline);
                if let Some(reason) = a.reasons.first() {
                    ending = ending.because(reason);
                }
                let s = final_session(ending)?;
                self.insert_session(&s, Vec::new()).await?;
                LoginOutput::of(&s, input.session_id.clone(), &self.public_url)
            }
            Outcome::StaticPassword => {
                if tenant.settings.static_password_mode == StaticPasswordMode::Off {
                    return Err(CoreError::refused(
                        Refusal::Forbidden,
                        RefusalCode::StaticPasswordDisabled,
                        "the risk engine asks for a static password, but static passwords are off for this tenant",
                    ));
                }
                let expires = now.plus_millis(i64::from(tenant.settings.login_timeout_seconds) * 1000);
                let mut s = NewSession::not_push(
                    crate::random::new_id(&*self.random)?,
                    &tenant.id,
                    &user.id,
                    "static password".into(),
                    "static_password",
                    now,
                    expires,
                );
                if let Some(sid) = &input.session_id {
                    s.context = BTreeMap::from([("sessionID".to_owned(), sid.clone())]);
                }
                s.callback_url = input.callback_url.clone();
                let s = Session::pending(s);
                self.insert_session(&s, Vec::new()).await?;
                self.learn_later(&s.id, &tenant.id, &a.learn).await?;
                LoginOutput::of(&s, input.session_id.clone(), &self.public_url)
            }
            Outcome::Sms | Outcome::Email => {
                let name = if a.outcome == Outcome::Sms { "sms" } else { "email" };
                let ty = self.auth_type(tenant, name).await?.ok_or_else(|| CoreError::Internal("no type".into()))?;
                let o = self.start_code(tenant, user, &input, name, &ty, false).await?;
                self.learn_later(&o.request_id, &tenant.id, &a.learn).await?;
                o
            }
            Outcome::Push | Outcome::PushPin | Outcome::PushFingerprint => {
                let pass_key = match a.outcome {
                    Outcome::PushPin => "PIN",
                    Outcome::PushFingerprint => "Fingerprint",
                    _ => "push",
                };
                let li = LoginInput { pass_key: pass_key.into(), timeout: Some(0), cddc: None, ..input.clone() };
                let o = Box::pin(self.login(tenant, user_ref, li)).await?;
                self.learn_later(&o.request_id, &tenant.id, &a.learn).await?;
                o
            }
            Outcome::Fido => {
                let o = self.fido_challenge(tenant, user, None, input.login_message.as_deref()).await?;
                self.learn_later(&o.request_id, &tenant.id, &a.learn).await?;
                LoginOutput { session_id: input.session_id.clone(), ..o }
            }
        };
        outcome_of(&mut out, a, None);
        self.metrics.risk_decision(a.outcome.code());
        Ok(out)
    }

    /// The second call of a static-password challenge.
    pub(crate) async fn answer_password(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        user: &User,
        s: Session,
        input: LoginInput,
    ) -> Result<LoginOutput, CoreError> {
        if s.state().is_final() {
            self.burn_password_check(&input.pass_key).await;
            return Err(closed(s.state()));
        }
        if s.context.get("sessionID") != input.session_id.as_ref() {
            self.burn_password_check(&input.pass_key).await;
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::SessionMismatch,
                "the sessionID is not the one the challenge was given to",
            ));
        }
        let mode = tenant.settings.static_password_mode;
        let ip = crate::context::check(input.ip_address.as_deref(), None)?;
        match self.check_static_password(tenant, user, &input.pass_key, mode == StaticPasswordMode::Exclusive).await {
            Ok(()) => {}
            Err(e) => {
                self.record_risk_failure(tenant, &user.id, ip).await;
                if matches!(&e, CoreError::Refused { code: RefusalCode::StaticPasswordLocked, .. }) {
                    match self.end_session(&s, Ending::failed("static_password_locked")).await {
                        Ok(_) | Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                        Err(e) => tracing::warn!(request = %s.id, error = %cause(&e),
                            "could not fail the challenge of a locked static password"),
                    }
                }
                return Err(e);
            }
        }
        let s = self.end_session(&s, Ending::accept()).await?;
        if mode == StaticPasswordMode::Parallel {
            // The password was the first factor: the second follows.
            let second = tenant.settings.second_factor.clone();
            let li = LoginInput { pass_key: second, request_id: None, timeout: Some(0), cddc: None, ..input };
            let mut o = Box::pin(self.login(tenant, user_ref, li)).await?;
            o.risk_response_code = Some(if o.session_status == SessionState::Failed {
                1
            } else {
                self.challenge_code(tenant, &tenant.settings.second_factor).await?
            });
            return Ok(o);
        }
        let mut o = LoginOutput::of(&s, input.session_id, &self.public_url);
        o.risk_response_code = Some(0);
        Ok(o)
    }

    /// The `riskResponseCode` of starting type `name`.
    async fn challenge_code(&self, tenant: &Tenant, name: &str) -> Result<u32, CoreError> {
        use crate::otp::AuthMethod as M;
        let ty = self.auth_type(tenant, name).await?;
        Ok(match ty.map(|t| t.method) {
            Some(M::Push) => 6,
            Some(M::PushPin) => 22,
            Some(M::PushFingerprint) => 23,
            Some(M::Sms) => 3,
            Some(M::Email) => 8,
            Some(M::Fido2 | M::Uaf) => 14,
            Some(M::StaticPassword) => 2,
            _ => 101,
        })
    }

    /// `POST /v1/users/{userID@domain}/events/validate` (docs/risk.md, "Event validation").
    pub async fn validate_event(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        e: EventInput,
    ) -> Result<LoginOutput, CoreError> {
        if e.object_type.as_deref().is_some_and(|t| t != "EventValidationInput") {
            return Err(CoreError::invalid("objectType", "objectType must be EventValidationInput"));
        }
        let ok_type = !e.event_type.is_empty()
            && e.event_type.len() <= 64
            && e.event_type.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok_type {
            return Err(CoreError::invalid("eventType", "1 to 64 of A-Z, a-z, 0-9, '_' (e.g. Transaction)"));
        }
        if e.amount.is_some_and(|a| !a.is_finite() || a < 0.0) {
            return Err(CoreError::invalid("amount", "a non-negative number"));
        }
        if let Some(c) = &e.currency
            && !(c.len() == 3 && c.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(CoreError::invalid("currency", "an ISO 4217 code such as EUR"));
        }
        let user = self.login_user(tenant, user_ref).await?;
        let ip = crate::context::check(e.ip_address.as_deref(), None)?;
        let risk =
            RiskInput { cddc: e.cddc.clone(), ip, event: Some((e.event_type.clone(), e.amount, e.new_beneficiary)) };
        let a = self.assess(tenant, &user, &risk).await?;
        let mut context = BTreeMap::new();
        if let Some(amount) = e.amount {
            context.insert(
                "amount".to_owned(),
                format!("{amount:.2} {}", e.currency.as_deref().unwrap_or("")).trim().to_owned(),
            );
        }
        if let Some(b) = &e.beneficiary {
            context.insert("beneficiary".to_owned(), b.chars().take(200).collect());
        }
        let message = e.message.clone().unwrap_or_else(|| match context.get("amount") {
            Some(a) => format!("Confirm {}: {a}?", e.event_type),
            None => format!("Confirm {}?", e.event_type),
        });
        let input = LoginInput {
            object_type: None,
            pass_key: String::new(),
            request_id: None,
            otp: None,
            credentials: None,
            cddc: e.cddc,
            // The push shows the event (amount, beneficiary), not the login context.
            ip_address: None,
            user_agent: None,
            language_code: None,
            timeout: Some(0),
            orchestration_delivery: None,
            login_message: Some(message),
            context,
            session_id: e.session_id,
            callback_url: None,
        };
        let mut out = self.act(tenant, user_ref, &user, &a, input, ip).await?;
        out.object_type = "EventValidationOutput";
        Ok(out)
    }
}
