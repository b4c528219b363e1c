//! A tenant's risk settings in the console (docs/risk.md): the denied and allowed
//! networks and the rules (a JSON list, as the admin API takes it), saved through
//! `Core::set_risk_settings`; and "try this input": an example login or event evaluated
//! by the engine (`Core::try_risk`) — which rule fires and what it decides — without a
//! session, a recorded failure or a learned device. Trying changes nothing, so it is a
//! `GET` form that every role may use.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use countersign_core::audit::AuditKind;
use countersign_core::risk::RiskSettings;
use countersign_core::risk::trial::TrialInput;
use countersign_core::web::console::ConsoleAdmin;
use serde_json::Value;

use super::form::{Entered, list, opt};
use super::tenant::{changing, visible};
use super::{Fields, Nav, acting, admin, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{domain}/risk", get(risk_page).post(save_risk))
        .route("/console/tenants/{domain}/risk/try", get(try_input))
}

/// What the engine decided for the example.
struct Decision {
    outcome: String,
    code: u32,
    rule: String,
    facts: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "console/risk.html")]
struct RiskPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    form: Entered,
    saved: bool,
    trial: Entered,
    decision: Option<Decision>,
}

/// The settings as the form shows them.
fn values_of(r: &RiskSettings) -> Fields {
    let rules = serde_json::to_string_pretty(&r.rules).unwrap_or_default();
    Fields::from([
        ("ipDeny".to_owned(), r.ip_deny.join("\n")),
        ("ipAllow".to_owned(), r.ip_allow.join("\n")),
        ("rules".to_owned(), rules),
    ])
}

/// The form's fields as risk settings; a field that cannot be read names itself.
fn settings_of(f: &Fields) -> Result<RiskSettings, ApiError> {
    let rules = match serde_json::from_str::<Value>(f.get("rules").map_or("", |s| s.trim())) {
        Ok(Value::Array(rules)) => rules,
        _ => {
            let m =
                "a JSON list of rules such as [{\"id\": \"x\", \"when\": {\"always\": true}, \"then\": \"accept\"}]";
            return Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", m).with_field("rules"));
        }
    };
    Ok(RiskSettings { ip_deny: list(f, "ipDeny"), ip_allow: list(f, "ipAllow"), rules })
}

struct Shown {
    form: Entered,
    saved: bool,
    trial: Entered,
    decision: Option<Decision>,
}

async fn page(s: &AppState, a: &ConsoleAdmin, domain: &str, status: StatusCode, shown: Option<Shown>) -> Response {
    let t = or_page!(visible(s, a, domain).await);
    let shown = match shown {
        Some(sh) => sh,
        None => match s.core.risk_settings(&t).await {
            Ok(r) => {
                Shown { form: Entered::new(values_of(&r)), saved: false, trial: Entered::default(), decision: None }
            }
            Err(e) => return error_page(e.into(), "/console/tenants"),
        },
    };
    let page = RiskPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        form: shown.form,
        saved: shown.saved,
        trial: shown.trial,
        decision: shown.decision,
    };
    render(status, &page)
}

async fn risk_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    match admin(&s, &headers).await {
        Ok(a) => page(&s, &a, &domain, StatusCode::OK, None).await,
        Err(res) => res,
    }
}

async fn save_risk(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let fields = form.map(|f| f.0).unwrap_or_default();
    let result = match settings_of(&fields) {
        Ok(r) => acting(&s, &a).set_risk_settings(&domain, r).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let (status, shown) = match result {
        Ok(r) => {
            let details = serde_json::json!({ "console": true, "action": "risk_settings_changed" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            let form = Entered::new(values_of(&r));
            (StatusCode::OK, Shown { form, saved: true, trial: Entered::default(), decision: None })
        }
        Err(e) => {
            let form = Entered::new(fields).failed(&e);
            (e.status, Shown { form, saved: false, trial: Entered::default(), decision: None })
        }
    };
    page(&s, &a, &domain, status, Some(shown)).await
}

/// The example as the engine takes it; a field that cannot be read names itself.
fn trial_of(f: &Fields) -> Result<TrialInput, ApiError> {
    let bad = |field: &str, m: &str| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", m.to_owned()).with_field(field)
    };
    let amount = match opt(f, "amount") {
        Some(a) => Some(a.parse::<f64>().map_err(|_| bad("amount", "a number such as 1500"))?),
        None => None,
    };
    let cddc = match opt(f, "cddc") {
        Some(c) => match serde_json::from_str::<Value>(&c) {
            Ok(v @ Value::Object(_)) => Some(v),
            _ => return Err(bad("cddc", "a JSON object of browser attributes such as {\"userAgent\": \"…\"}")),
        },
        None => None,
    };
    let new_beneficiary = match f.get("newBeneficiary").map(String::as_str) {
        Some("yes") => Some(true),
        Some("no") => Some(false),
        _ => None,
    };
    Ok(TrialInput {
        user_id: opt(f, "userID"),
        ip_address: opt(f, "ipAddress"),
        cddc,
        event_type: opt(f, "eventType"),
        amount,
        new_beneficiary,
    })
}

async fn try_input(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    Query(fields): Query<Fields>,
) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    let t = or_page!(visible(&s, &a, &domain).await);
    let settings = match s.core.risk_settings(&t).await {
        Ok(r) => r,
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let result = match trial_of(&fields) {
        Ok(input) => s.core.try_risk(&domain, &input).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    let form = Entered::new(values_of(&settings));
    let (status, trial, decision) = match result {
        Ok(r) => {
            let outcome = serde_json::to_value(r.outcome).ok().and_then(|v| v.as_str().map(str::to_owned));
            let decision =
                Decision { outcome: outcome.unwrap_or_default(), code: r.code, rule: r.rule, facts: r.facts };
            (StatusCode::OK, Entered::new(fields), Some(decision))
        }
        Err(e) => (e.status, Entered::new(fields).failed(&e), None),
    };
    page(&s, &a, &domain, status, Some(Shown { form, saved: false, trial, decision })).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_settings_go_through_the_form_unchanged() {
        let defaults = RiskSettings::default();
        let back = settings_of(&values_of(&defaults)).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(back.rules, defaults.rules);
        let mut f = values_of(&defaults);
        f.insert("rules".into(), "{}".into());
        assert_eq!(settings_of(&f).err().and_then(|e| e.field), Some("rules".to_owned()));
    }
}
