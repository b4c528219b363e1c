//! "Try this input" (the console's risk page, docs/web.md): what the tenant's rules decide
//! for an example login or event, evaluated by the engine's own [`Core::evaluate`]
//! without starting a session, counting a failure or learning anything.

use serde_json::Value;

use super::{Fact, Outcome, RiskInput};
use crate::error::CoreError;
use crate::service::Core;

/// An example login or event, as an administrator types it.
#[derive(Debug, Clone, Default)]
pub struct TrialInput {
    /// The user whose profile and failures count (none: a user nobody knows yet).
    pub user_id: Option<String>,
    /// The end user's address.
    pub ip_address: Option<String>,
    /// The CDDC document (browser attributes).
    pub cddc: Option<Value>,
    /// The event's type (`LoginAttempt`, `Transaction`, …); none for a login.
    pub event_type: Option<String>,
    /// The transaction amount.
    pub amount: Option<f64>,
    /// Whether the beneficiary is new.
    pub new_beneficiary: Option<bool>,
}

/// What the engine decided for a [`TrialInput`].
#[derive(Debug, Clone)]
pub struct TrialResult {
    /// The decision.
    pub outcome: Outcome,
    /// Its `riskResponseCode`.
    pub code: u32,
    /// The ID of the rule that fired (`no-rule` when none did).
    pub rule: String,
    /// Every fact the rules saw, by name, as text.
    pub facts: Vec<(String, String)>,
}

impl Core {
    /// Evaluate the tenant's saved risk settings for `input`. Only reads: nothing is
    /// recorded, learned or started. Errors name the input field at fault.
    pub async fn try_risk(&self, domain: &str, input: &TrialInput) -> Result<TrialResult, CoreError> {
        let tenant = self.tenant(domain).await?;
        let settings = self.risk_settings(&tenant).await?;
        let ip = crate::context::check(input.ip_address.as_deref().filter(|s| !s.trim().is_empty()), None)?;
        let user = match input.user_id.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(id) => match self.user_in(&tenant, id).await {
                Ok(u) => Some(u),
                Err(CoreError::NotFound(_)) => return Err(CoreError::invalid("userID", "no such user in this tenant")),
                Err(e) => return Err(e),
            },
            None => None,
        };
        let profile = match &user {
            Some(u) => Some(self.profile(u).await?),
            None => None,
        };
        let event = input
            .event_type
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|t| (t.to_owned(), input.amount, input.new_beneficiary));
        let risk = RiskInput { cddc: input.cddc.clone(), ip, event };
        let with = user.as_ref().zip(profile.as_ref());
        let (a, facts) = self.evaluate(&tenant, &settings, with, &risk).await?;
        let facts = facts
            .into_iter()
            .map(|(k, v)| {
                let text = match v {
                    Fact::Bool(b) => b.to_string(),
                    Fact::Num(n) => n.to_string(),
                    Fact::Text(t) => t,
                };
                (k.to_owned(), text)
            })
            .collect();
        Ok(TrialResult {
            outcome: a.outcome,
            code: a.outcome.code(),
            rule: a.reasons.into_iter().next().unwrap_or_default(),
            facts,
        })
    }
}
