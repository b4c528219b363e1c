//! A tenant's authentication types in the console (docs/otp.md): the built-in and the
//! tenant's own listed; one edited or made with every field of `AuthType` (a test checks
//! the list against the struct) through `Core::set_auth_type`, as the admin API's
//! `PUT …/auth-types/{name}` does; a tenant's own removed (a built-in one returns to its
//! defaults).

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::audit::AuditKind;
use countersign_core::methods::Method;
use countersign_core::otp::AuthType;
use countersign_core::web::console::ConsoleAdmin;
use serde_json::{Map, Value};

use super::form::Entered;
use super::tenant::{changing, visible};
use super::{Fields, Nav, acting, admin, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{domain}/auth-types", get(list_page).post(save))
        .route("/console/tenants/{domain}/auth-types/{name}", get(edit_page))
        .route("/console/tenants/{domain}/auth-types/{name}/delete", post(delete))
}

/// How a field is edited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Method,
    Number,
    Bool,
    /// Text; empty is absent.
    OptText,
    /// A JSON object of texts.
    Map,
}

/// Every field of an authentication type, by JSON name (the labels and hints are in
/// templates/console/auth_types.html).
const FIELDS: &[(&str, Kind)] = &[
    ("method", Kind::Method),
    ("enabled", Kind::Bool),
    ("ttlSeconds", Kind::Number),
    ("maxAttempts", Kind::Number),
    ("maxResends", Kind::Number),
    ("codeLength", Kind::Number),
    ("fallback", Kind::OptText),
    ("senderID", Kind::OptText),
    ("messages", Kind::Map),
    ("autofillHost", Kind::OptText),
    ("customDelivery", Kind::Bool),
    ("followUserDelivery", Kind::Bool),
    ("customAuthenticator", Kind::OptText),
];

const KEYS: [&str; 14] = [
    "name",
    "method",
    "enabled",
    "ttlSeconds",
    "maxAttempts",
    "maxResends",
    "codeLength",
    "fallback",
    "senderID",
    "messages",
    "autofillHost",
    "customDelivery",
    "followUserDelivery",
    "customAuthenticator",
];

struct Row {
    name: String,
    method: String,
    enabled: bool,
    origin: &'static str,
}

#[derive(Template)]
#[template(path = "console/auth_types.html")]
struct TypesPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    /// The listing (empty on a type's own page).
    types: Vec<Row>,
    /// The type edited, when on its own page.
    editing: Option<String>,
    /// Whether the edited type has tenant settings to delete.
    deletable: bool,
    form: Entered,
    methods: Vec<String>,
    saved: bool,
}

impl TypesPage {
    /// The error no field of the form shows.
    fn top_error(&self) -> Option<&str> {
        self.form.other_error(&KEYS)
    }
}

fn wire(m: Method) -> String {
    serde_json::to_value(m).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

/// A type's fields as the form shows them.
fn values_of(name: &str, t: &AuthType) -> Fields {
    let mut f = Fields::new();
    f.insert("name".into(), name.to_owned());
    let v = match serde_json::to_value(t) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    for &(key, kind) in FIELDS {
        match (kind, v.get(key)) {
            (Kind::Bool, Some(Value::Bool(true))) => {
                f.insert(key.into(), "on".into());
            }
            (Kind::Bool, _) | (_, None | Some(Value::Null)) => {}
            (Kind::Map, Some(m)) => {
                let empty = m.as_object().is_none_or(Map::is_empty);
                f.insert(key.into(), if empty { String::new() } else { m.to_string() });
            }
            (_, Some(Value::String(s))) => {
                f.insert(key.into(), s.clone());
            }
            (_, Some(other)) => {
                f.insert(key.into(), other.to_string());
            }
        }
    }
    f
}

fn invalid(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message.to_owned()).with_field(field)
}

/// The form's fields as an authentication type; a field that cannot be read names itself.
fn type_of(f: &Fields) -> Result<AuthType, ApiError> {
    let mut doc = Map::new();
    for &(key, kind) in FIELDS {
        let raw = f.get(key).map(|s| s.trim().to_owned()).unwrap_or_default();
        let v = match kind {
            Kind::Bool => Value::Bool(f.contains_key(key)),
            Kind::Number => Value::from(raw.parse::<u32>().map_err(|_| invalid(key, "a whole number"))?),
            Kind::Method => Value::String(raw),
            Kind::OptText if raw.is_empty() => continue,
            Kind::OptText => Value::String(raw),
            Kind::Map if raw.is_empty() => continue,
            Kind::Map => match serde_json::from_str::<Value>(&raw) {
                Ok(v @ Value::Object(_)) => v,
                _ => return Err(invalid(key, "a JSON object such as {\"en\": \"Your code is {code}\"}")),
            },
        };
        doc.insert(key.to_owned(), v);
    }
    serde_json::from_value(Value::Object(doc)).map_err(|e| {
        let e = e.to_string();
        let field = if e.contains("variant") { "method" } else { "messages" };
        invalid(field, "not a value this field takes")
    })
}

struct View {
    editing: Option<String>,
    deletable: bool,
    form: Entered,
    saved: bool,
}

async fn page(s: &AppState, a: &ConsoleAdmin, domain: &str, status: StatusCode, view: View) -> Response {
    let t = or_page!(visible(s, a, domain).await);
    let mut types = Vec::new();
    if view.editing.is_none() {
        match s.core.auth_types(domain, None, Some(500)).await {
            Ok(l) => {
                types = l
                    .items
                    .into_iter()
                    .map(|v| Row {
                        method: wire(v.settings.method),
                        enabled: v.settings.enabled,
                        origin: match (v.builtin, v.customised) {
                            (true, false) => "built in",
                            (true, true) => "built in, changed",
                            _ => "this tenant's",
                        },
                        name: v.name,
                    })
                    .collect();
            }
            Err(e) => return error_page(e.into(), "/console/tenants"),
        }
    }
    let page = TypesPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        types,
        editing: view.editing,
        deletable: view.deletable,
        form: view.form,
        methods: Method::ALL.into_iter().map(wire).collect(),
        saved: view.saved,
    };
    render(status, &page)
}

async fn list_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    let blank = AuthType::builtin("sms").map(|t| values_of("", &t)).unwrap_or_default();
    let view = View { editing: None, deletable: false, form: Entered::new(blank), saved: false };
    page(&s, &a, &domain, StatusCode::OK, view).await
}

async fn edit_page(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, name)): Path<(String, String)>,
) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    let t = or_page!(visible(&s, &a, &domain).await);
    let found = match s.core.auth_types(&domain, None, Some(500)).await {
        Ok(l) => l.items.into_iter().find(|v| v.name == name),
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let Some(v) = found else {
        let e = ApiError::new(StatusCode::NOT_FOUND, "auth_type_not_found", "no such authentication type");
        return error_page(e, &format!("/console/tenants/{}/auth-types", t.domain));
    };
    let view = View {
        editing: Some(name.clone()),
        deletable: v.customised,
        form: Entered::new(values_of(&name, &v.settings)),
        saved: false,
    };
    page(&s, &a, &domain, StatusCode::OK, view).await
}

async fn save(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let fields = form.map(|f| f.0).unwrap_or_default();
    let name = fields.get("name").map(|n| n.trim().to_owned()).unwrap_or_default();
    let editing = fields.contains_key("editing").then(|| name.clone());
    let result = match type_of(&fields) {
        Ok(ty) => acting(&s, &a).set_auth_type(&domain, &name, ty).await.map_err(ApiError::from),
        Err(e) => Err(e),
    };
    match result {
        Ok(v) => {
            let details = serde_json::json!({ "console": true, "action": "auth_type_set", "name": v.name });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            let form = Entered::new(values_of(&v.name, &v.settings));
            page(&s, &a, &domain, StatusCode::OK, View { editing: Some(v.name), deletable: true, form, saved: true })
                .await
        }
        Err(e) => {
            let status = e.status;
            let view = View { deletable: false, editing, form: Entered::new(fields).failed(&e), saved: false };
            page(&s, &a, &domain, status, view).await
        }
    }
}

async fn delete(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path((domain, name)): Path<(String, String)>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    match acting(&s, &a).delete_auth_type(&domain, &name).await {
        Ok(()) => {
            let details = serde_json::json!({ "console": true, "action": "auth_type_deleted", "name": name });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            Redirect::to(&format!("/console/tenants/{domain}/auth-types")).into_response()
        }
        Err(e) => error_page(e.into(), &format!("/console/tenants/{domain}/auth-types")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_edits_every_field_of_a_type_and_keeps_it() {
        let Some(mut full) = AuthType::builtin("sms") else { panic!("sms is built in") };
        full.fallback = Some("email".into());
        full.sender_id = Some("Shop".into());
        full.messages.insert("en".into(), "{code}".into());
        full.autofill_host = Some("shop.example".into());
        full.custom_delivery = true;
        full.follow_user_delivery = true;
        full.custom_authenticator = Some("face".into());
        let Ok(Value::Object(all)) = serde_json::to_value(&full) else { panic!("not an object") };
        let mut theirs: Vec<&str> = all.keys().map(String::as_str).collect();
        let mut ours: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
        theirs.sort_unstable();
        ours.sort_unstable();
        assert_eq!(ours, theirs, "an AuthType field the console does not edit, or one it invents");
        assert_eq!(KEYS.len(), FIELDS.len() + 1);
        let back = type_of(&values_of("x", &full)).unwrap_or_else(|e| panic!("{}", e.message));
        assert_eq!(serde_json::to_value(&back).ok(), serde_json::to_value(&full).ok());
        let mut f = values_of("x", &full);
        f.insert("codeLength".into(), "six".into());
        assert_eq!(type_of(&f).err().and_then(|e| e.field), Some("codeLength".to_owned()));
    }
}
