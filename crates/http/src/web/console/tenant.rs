//! One tenant in the console: its settings (a form over every `TenantSettings` field,
//! each with the server's error beside it) and its API keys (created — the key shown
//! once —, listed, revoked).

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::admin::{CreateKey, UpdateTenant};
use countersign_core::audit::AuditKind;
use countersign_core::web::console::ConsoleAdmin;
use countersign_core::{Tenant, TenantSettings};
use serde_json::{Map, Value};

use super::{Fields, Nav, Shown, acting, admin, error_page, field_of, shown};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{domain}", get(settings_page))
        .route("/console/tenants/{domain}/settings", post(save_settings))
        .route("/console/tenants/{domain}/api-keys", get(keys_page).post(create_key))
        .route("/console/tenants/{domain}/api-keys/{id}/revoke", post(revoke_key))
}

/// How a setting is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Bool,
    Choice(&'static [&'static str]),
    Text,
    /// Text; empty is `null`.
    OptText,
    /// Comma-separated words.
    List,
    /// A JSON object.
    Map,
}

/// Every tenant setting the form edits: (JSON name, label, kind, hint). A test checks it
/// names every field of `TenantSettings`.
const SETTINGS: &[(&str, &str, Kind, &str)] = &[
    ("loginTimeoutSeconds", "Login timeout (seconds)", Kind::Number, "1 to 3600"),
    ("activationTtlSeconds", "Activation QR code lifetime (seconds)", Kind::Number, "60 to 86400"),
    ("pushEnrollmentMode", "Devices per user and app", Kind::Choice(&["single", "override", "multiple"]), ""),
    ("deviceEnrollment", "Mobile authenticators may be activated", Kind::Bool, ""),
    ("pushAuthorization", "Push logins may be started", Kind::Bool, ""),
    ("maxPinAttempts", "Wrong PINs before a device is disconnected", Kind::Number, "1 to 10"),
    ("numberMatching", "Number matching", Kind::Choice(&["off", "asynchronous", "required"]), ""),
    ("pushAppId", "Push app", Kind::OptText, "empty: each device's own app"),
    ("confirmationTemplates", "Secure-message templates", Kind::Map, "a JSON object: language code → template"),
    ("supportedLanguages", "Supported languages", Kind::List, "comma-separated codes; empty: any"),
    ("staticPasswordMode", "Static passwords", Kind::Choice(&["exclusive", "parallel", "off"]), ""),
    ("maxPasswordFailures", "Wrong static passwords before it locks", Kind::Number, "1 to 20"),
    ("passwordLockMinutes", "Static password lock (minutes)", Kind::Number, "0: until unlocked"),
    ("secondFactor", "Second factor after a password (parallel mode)", Kind::Text, "an authentication type"),
    ("loginRequestLimit", "Login requests per user and window", Kind::Number, "0: no limit; at most 1000"),
    ("loginRequestWindowSeconds", "Window of that limit (seconds)", Kind::Number, "60 to 86400"),
    ("notMePolicy", "What \u{201c}not me\u{201d} locks", Kind::Choice(&["lockUser", "lockDevice"]), ""),
];

/// One row of the settings form.
struct Setting {
    key: &'static str,
    label: &'static str,
    hint: &'static str,
    /// `number`, `checkbox`, `select`, `text` or `textarea`.
    input: &'static str,
    value: String,
    checked: bool,
    options: &'static [&'static str],
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/tenant.html")]
struct SettingsPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    settings: Vec<Setting>,
    saved: bool,
    error: Option<String>,
}

/// The form's value of a setting, from its JSON value.
fn shown_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(a) => {
            a.iter().map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_owned)).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn rows(values: &Map<String, Value>, posted: Option<&Fields>, error: Option<(&str, &str)>) -> Vec<Setting> {
    SETTINGS
        .iter()
        .map(|&(key, label, kind, hint)| {
            let current = values.get(key).cloned().unwrap_or(Value::Null);
            let value = posted.map_or_else(|| shown_value(&current), |f| f.get(key).cloned().unwrap_or_default());
            let checked = posted.map_or(current == Value::Bool(true), |f| f.contains_key(key));
            let (input, options) = match kind {
                Kind::Number => ("number", &[][..]),
                Kind::Bool => ("checkbox", &[][..]),
                Kind::Choice(o) => ("select", o),
                Kind::Map => ("textarea", &[][..]),
                Kind::Text | Kind::OptText | Kind::List => ("text", &[][..]),
            };
            let error = error.filter(|(f, _)| *f == key).map(|(_, m)| m.to_owned());
            Setting { key, label, hint, input, value, checked, options, error }
        })
        .collect()
}

/// The form's fields as a settings patch; a field that cannot be read names itself.
fn patch_of(f: &Fields) -> Result<Map<String, Value>, (&'static str, String)> {
    let mut patch = Map::new();
    for &(key, _, kind, _) in SETTINGS {
        let raw = f.get(key).map(|s| s.trim().to_owned()).unwrap_or_default();
        let v = match kind {
            Kind::Number => raw.parse::<u64>().map(Value::from).unwrap_or(Value::String(raw)),
            Kind::Bool => Value::Bool(f.contains_key(key)),
            Kind::Choice(_) | Kind::Text => Value::String(raw),
            Kind::OptText if raw.is_empty() => Value::Null,
            Kind::OptText => Value::String(raw),
            Kind::List => Value::from(
                raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>(),
            ),
            Kind::Map if raw.is_empty() => Value::Object(Map::new()),
            Kind::Map => match serde_json::from_str::<Value>(&raw) {
                Ok(v @ Value::Object(_)) => v,
                _ => return Err((key, "a JSON object such as {\"en\": \"[message]\"}".to_owned())),
            },
        };
        patch.insert(key.to_owned(), v);
    }
    Ok(patch)
}

fn values_of(settings: &TenantSettings) -> Map<String, Value> {
    match serde_json::to_value(settings) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// The tenant named by `domain`, when the administrator may see it.
pub(super) async fn visible(s: &AppState, a: &ConsoleAdmin, domain: &str) -> Result<Tenant, Response> {
    let t = s.core.tenant(domain).await.map_err(|e| error_page(e.into(), "/console/tenants"))?;
    a.see(&t).map_err(|e| error_page(e.into(), "/console/tenants"))?;
    Ok(t)
}

/// The tenant of a change, when the administrator may change it.
pub(super) async fn changeable(s: &AppState, a: &ConsoleAdmin, domain: &str) -> Result<Tenant, Response> {
    let t = visible(s, a, domain).await?;
    a.change(&t).map_err(|e| error_page(e.into(), &format!("/console/tenants/{domain}")))?;
    Ok(t)
}

/// A form post that changes `domain`: the signed-in administrator (CSRF and Origin
/// checked) and the tenant, which their role may change.
pub(super) async fn changing(
    s: &AppState,
    headers: &HeaderMap,
    form: &Result<Form<Fields>, FormRejection>,
    domain: &str,
) -> Result<(ConsoleAdmin, Tenant), Response> {
    let a = super::posted(s, headers, form).await?;
    let t = changeable(s, &a, domain).await?;
    Ok((a, t))
}

async fn settings_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    let t = or_page!(visible(&s, &a, &domain).await);
    let page = SettingsPage {
        assets: assets(),
        nav: Nav::of(&a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        settings: rows(&values_of(&t.settings), None, None),
        saved: false,
        error: None,
    };
    render(StatusCode::OK, &page)
}

async fn save_settings(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let fields = form.map(|f| f.0).unwrap_or_default();
    let result = match patch_of(&fields) {
        Ok(patch) => {
            acting(&s, &a).update_tenant(&domain, UpdateTenant { settings: Some(patch) }).await.map_err(ApiError::from)
        }
        Err((field, message)) => {
            Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message).with_field(field))
        }
    };
    let page = |status, settings, saved, error| {
        let page = SettingsPage {
            assets: assets(),
            nav: Nav::of(&a),
            domain: t.domain.to_string(),
            can_change: true,
            settings,
            saved,
            error,
        };
        render(status, &page)
    };
    match result {
        Ok(updated) => {
            let details = serde_json::json!({ "console": true, "action": "tenant_settings_changed" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&updated), None, details).await;
            page(StatusCode::OK, rows(&values_of(&updated.settings), None, None), true, None)
        }
        Err(e) => {
            let field = field_of(&e);
            let settings =
                rows(&values_of(&t.settings), Some(&fields), field.as_deref().map(|f| (f, e.message.as_str())));
            // An error no field shows goes at the top.
            let top = (!settings.iter().any(|r| r.error.is_some())).then(|| e.message.clone());
            page(e.status, settings, false, top)
        }
    }
}

struct KeyRow {
    id: String,
    name: String,
    hint: String,
    created: Shown,
    last_used: Option<Shown>,
    revoked: bool,
}

#[derive(Template)]
#[template(path = "console/keys.html")]
struct KeysPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    keys: Vec<KeyRow>,
    new_key: Option<String>,
    name: String,
    error: Option<String>,
}

async fn keys_of(
    s: &AppState,
    a: &ConsoleAdmin,
    t: &Tenant,
    new_key: Option<String>,
    name: String,
    error: Option<ApiError>,
) -> Response {
    let listing = match s.core.list_api_keys(t.domain.as_str(), None, Some(500)).await {
        Ok(l) => l,
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let keys = listing
        .items
        .into_iter()
        .map(|k| KeyRow {
            revoked: k.revoked_at.is_some(),
            created: shown(k.created_at),
            last_used: k.last_used_at.map(shown),
            id: k.id,
            name: k.name,
            hint: k.hint,
        })
        .collect();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = KeysPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        keys,
        new_key,
        name,
        error: error.map(|e| e.message),
    };
    render(status, &page)
}

async fn keys_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    match visible(&s, &a, &domain).await {
        Ok(t) => keys_of(&s, &a, &t, None, String::new(), None).await,
        Err(res) => res,
    }
}

async fn create_key(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let name = form.ok().and_then(|f| f.0.get("name").cloned()).unwrap_or_default();
    match acting(&s, &a).create_api_key(&domain, CreateKey { name: name.clone() }).await {
        Ok(k) => {
            let details = serde_json::json!({ "console": true, "action": "api_key_created", "created": k.record.id });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            // The key is shown on this answer only: it is not kept.
            keys_of(&s, &a, &t, Some(k.secret), String::new(), None).await
        }
        Err(e) => keys_of(&s, &a, &t, None, name, Some(e.into())).await,
    }
}

async fn revoke_key(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, id)): Path<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    match acting(&s, &a).revoke_api_key(&domain, &id).await {
        Ok(()) => {
            let details = serde_json::json!({ "console": true, "action": "api_key_revoked", "key": id });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            Redirect::to(&format!("/console/tenants/{domain}/api-keys")).into_response()
        }
        Err(e) => error_page(e.into(), &format!("/console/tenants/{domain}/api-keys")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_edits_every_tenant_setting() {
        let all: Vec<String> = values_of(&TenantSettings::default()).keys().cloned().collect();
        let mut ours: Vec<String> = SETTINGS.iter().map(|s| s.0.to_owned()).collect();
        ours.sort();
        let mut all = all;
        all.sort();
        assert_eq!(ours, all, "a TenantSettings field the console does not edit, or one it invents");
    }

    #[test]
    fn the_default_settings_go_through_the_form_unchanged() {
        let defaults = TenantSettings::default();
        let rows = rows(&values_of(&defaults), None, None);
        let mut f = Fields::new();
        for r in &rows {
            if r.input != "checkbox" || r.checked {
                f.insert(r.key.to_owned(), if r.input == "checkbox" { "on".into() } else { r.value.clone() });
            }
        }
        let patch = patch_of(&f).unwrap_or_else(|e| panic!("{e:?}"));
        let back: TenantSettings = serde_json::from_value(Value::Object(patch)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, defaults);
        f.insert("confirmationTemplates".into(), "not json".into());
        assert_eq!(patch_of(&f).err().map(|e| e.0), Some("confirmationTemplates"));
    }
}
