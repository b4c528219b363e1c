//! Adaptive logins and event validation (docs/risk.md, "Flows"): score, then accept,
//! decline, lock, or challenge with the method the registry names for the outcome
//! (static password, a code, a push, FIDO); the challenge's method checks its answer.

use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::ToSchema;

use crate::error::CoreError;
use crate::login::LoginResult;
use crate::methods::command::StartLogin;
use crate::methods::{Why, registry};
use crate::otp::AuthType;
use crate::risk::{Assessment, Outcome, RiskInput};
use crate::service::Core;
use crate::session::{Ending, NewSession, Session, SessionState, Teaches};
use crate::tenant::Tenant;
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
    #[serde(default, deserialize_with = "crate::validate::optional_json_object")]
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

fn outcome_of(l: &mut LoginResult, a: &Assessment) {
    l.risk_response_code = Some(a.outcome.code());
    l.risk_reasons = a.reasons.clone();
}

impl Core {
    /// The first call of an adaptive login: no credentials; the engine decides.
    pub(crate) async fn adaptive_login(
        &self,
        tenant: &Tenant,
        user: &User,
        cddc: Option<serde_json::Value>,
        login: StartLogin,
    ) -> Result<LoginResult, CoreError> {
        let ip = crate::context::check(login.ip_address.as_deref(), login.user_agent.as_deref())?;
        let risk = RiskInput { cddc, ip, event: None };
        let a = self.assess(tenant, user, &risk).await?;
        self.act(tenant, user, &a, login, ip).await
    }

    /// Carry out an assessment: accept or decline at once, or start the challenge the
    /// registry names for the outcome (docs/architecture.md, "Methods").
    async fn act(
        &self,
        tenant: &Tenant,
        user: &User,
        a: &Assessment,
        login: StartLogin,
        ip: Option<std::net::IpAddr>,
    ) -> Result<LoginResult, CoreError> {
        let now = self.clock.now();
        let final_session = |ending: Ending| -> Result<Session, CoreError> {
            let id = crate::random::new_id(&*self.random)?;
            Session::ended(
                NewSession::not_push(id, &tenant.id, &user.id, "adaptive login".into(), None, now, now),
                ending,
            )
        };
        let mut out = match registry::challenge(a.outcome) {
            Some(c) => {
                // Asynchronous: the relying party learns the riskResponseCode at once.
                let login = StartLogin { timeout: Some(0), ..login };
                let o = match c.type_name {
                    Some(name) => self.start_type(tenant, user, name, &login, Why::Challenge).await?,
                    None => {
                        let ty = AuthType::of(c.method);
                        self.start_with(tenant, user, c.method.as_str(), &ty, &login, Why::Challenge).await?
                    }
                };
                self.learn_later(&o.request_id, &tenant.id, &a.learn).await?;
                o
            }
            None if a.outcome == Outcome::Accept => {
                let s = final_session(Ending::accept())?;
                self.insert_teaching(&s, Vec::new(), Teaches::This(&a.learn)).await?;
                LoginResult::of(&s, login.session_id.clone(), &self.public_url)
            }
            None => {
                self.record_risk_failure(tenant, &user.id, ip).await;
                if a.outcome == Outcome::Lock {
                    let mut u = user.clone();
                    u.status = UserStatus::Locked;
                    u.updated_at = now;
                    self.store.update_user(&u).await?;
                    tracing::warn!(user = %user.id, rule = ?a.reasons, "user locked by the risk engine");
                    let event = crate::audit::AuditEvent::new(crate::audit::AuditKind::Locked)
                        .tenant_id(&tenant.id)
                        .tenant(tenant.domain.as_str())
                        .user(user.user_id.as_str())
                        .details(serde_json::json!({ "rules": a.reasons }));
                    self.locked_out(crate::metrics::Lockout::User, event).await;
                }
                let mut ending = Ending::new(SessionState::Decline);
                if let Some(reason) = a.reasons.first() {
                    ending = ending.because(reason);
                }
                let s = final_session(ending)?;
                self.insert_session(&s, Vec::new()).await?;
                LoginResult::of(&s, login.session_id.clone(), &self.public_url)
            }
        };
        outcome_of(&mut out, a);
        self.metrics.risk_decision(a.outcome.code());
        Ok(out)
    }

    /// `POST /v1/users/{userID@domain}/events/validate` (docs/risk.md, "Event validation").
    pub async fn validate_event(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        e: EventInput,
    ) -> Result<LoginResult, CoreError> {
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
        let login = StartLogin {
            // The push shows the event (amount, beneficiary), not the login context.
            message: Some(message),
            context,
            timeout: Some(0),
            session_id: e.session_id,
            ..StartLogin::default()
        };
        self.act(tenant, &user, &a, login, ip).await
    }
}
