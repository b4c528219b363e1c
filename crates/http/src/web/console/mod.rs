//! The admin console (`/console`, docs/web.md, "Built: the admin console"): an
//! administrator signs in with a password and a passkey (registering the first right
//! after the first password sign-in), then manages tenants and their settings, users,
//! API keys, and watches the outbox.
//!
//! Every page needs the console's own session cookie (`cs_console`); every change is a
//! form post checked like the self-service pages' (`Origin`, CSRF token), refused with
//! `403 role_forbidden` when the administrator's role does not allow it, made through the
//! same core operations as the admin API, and written to the audit log with the actor
//! `admin-account:<username>`.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::rejection::{FormRejection, JsonRejection};
use axum::extract::{Form, Json, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::Core;
use countersign_core::admin::CreateTenant;
use countersign_core::audit::AuditKind;
use countersign_core::web::console::{AdminRole, ConsoleAdmin, ConsoleState};
use serde::Deserialize;

use super::{Assets, SessionCookie, assets, check_form, console_js, render, same_origin};
use crate::AppState;
use crate::error::ApiError;

mod auth_types;
mod callbacks;
mod fido;
mod form;
mod outbox;
mod providers;
mod risk;
mod tenant;
mod users;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console", get(start))
        .route("/console/sign-in", post(sign_in))
        .route("/console/passkey", get(passkey_page))
        .route("/console/passkey/options", post(passkey_options))
        .route("/console/passkey/finish", post(passkey_finish))
        .route("/console/sign-out", post(sign_out))
        .route("/console/tenants", get(tenants).post(create_tenant))
        .merge(tenant::router())
        .merge(users::router())
        .merge(outbox::router())
        .merge(risk::router())
        .merge(auth_types::router())
        .merge(fido::router())
        .merge(callbacks::router())
        .merge(providers::router())
}

/// A posted form: its fields by name (the last value of a repeated name).
pub(crate) type Fields = HashMap<String, String>;

/// The top bar of a signed-in page.
pub(crate) struct Nav {
    pub(crate) username: String,
    pub(crate) role: &'static str,
    pub(crate) csrf: String,
    /// Whether the outbox link is shown (administrators of every tenant).
    pub(crate) outbox: bool,
}

impl Nav {
    pub(crate) fn of(a: &ConsoleAdmin) -> Nav {
        Nav {
            username: a.account.username.clone(),
            role: match a.account.role {
                AdminRole::Superadmin => "superadmin",
                AdminRole::TenantAdmin => "tenant administrator",
                AdminRole::ReadOnly => "read-only",
            },
            csrf: a.csrf.clone(),
            outbox: a.account.tenant_id.is_none(),
        }
    }
}

/// A time as the pages show it: machine-readable in `datetime`, short in the text.
pub(crate) struct Shown {
    pub(crate) iso: String,
    pub(crate) text: String,
}

pub(crate) fn shown(t: countersign_core::Timestamp) -> Shown {
    let iso = t.to_rfc3339();
    let text = match (iso.get(..10), iso.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso.clone(),
    };
    Shown { iso, text }
}

#[derive(Template)]
#[template(path = "console/sign_in.html")]
struct SignInPage {
    assets: Assets,
    username: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "console/passkey.html")]
struct PasskeyPage {
    assets: Assets,
    console_js: &'static str,
    username: String,
    register: bool,
    csrf: String,
}

#[derive(Template)]
#[template(path = "console/error.html")]
struct ErrorPage {
    assets: Assets,
    title: &'static str,
    message: String,
    back: String,
}

struct TenantRow {
    domain: String,
    created: Shown,
}

#[derive(Template)]
#[template(path = "console/tenants.html")]
struct TenantsPage {
    assets: Assets,
    nav: Nav,
    tenants: Vec<TenantRow>,
    next: Option<String>,
    can_create: bool,
    domain: String,
    error: Option<String>,
}

/// An error as a page: the API's status and message, never a secret.
pub(crate) fn error_page(e: ApiError, back: &str) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::CONFLICT => "Not possible now",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    render(e.status, &ErrorPage { assets: assets(), title, message: e.message, back: back.to_owned() })
}

/// The console session state of a request, with its cookie.
async fn state_of(s: &AppState, headers: &HeaderMap) -> Result<Option<(ConsoleState, String)>, ApiError> {
    let Some(cookie) = SessionCookie::console(s).read(headers) else { return Ok(None) };
    Ok(s.core.console_state(&cookie).await?.map(|st| (st, cookie)))
}

/// The signed-in administrator of a page request, or the response that sends the browser
/// to sign in.
pub(crate) async fn admin(s: &AppState, headers: &HeaderMap) -> Result<ConsoleAdmin, Response> {
    match state_of(s, headers).await {
        Ok(Some((ConsoleState::SignedIn(a), _))) => Ok(a),
        Ok(_) => Err(Redirect::to("/console").into_response()),
        Err(e) => Err(error_page(e, "/console")),
    }
}

/// The administrator of a form post, its `Origin` and CSRF token checked; or the response.
pub(crate) async fn posted(
    s: &AppState,
    headers: &HeaderMap,
    form: &Result<Form<Fields>, FormRejection>,
) -> Result<ConsoleAdmin, Response> {
    let csrf = form.as_ref().ok().and_then(|f| f.0.get("csrf").cloned());
    let Some(cookie) = SessionCookie::console(s).read(headers) else {
        return Err(Redirect::to("/console").into_response());
    };
    let a = admin(s, headers).await?;
    check_form(headers, &cookie, csrf.as_deref()).map_err(|e| error_page(e, "/console/tenants"))?;
    Ok(a)
}

/// The core acting for the administrator (operations that record their own audit
/// entries name them).
pub(crate) fn acting(s: &AppState, a: &ConsoleAdmin) -> Core {
    s.core.acting(a.account.actor())
}

/// The error's field with the `settings.` prefix and any index taken off.
pub(crate) fn field_of(e: &ApiError) -> Option<String> {
    let f = e.field.as_deref()?;
    let f = f.strip_prefix("settings.").unwrap_or(f);
    Some(f.split('.').next().unwrap_or(f).to_owned())
}

async fn start(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match state_of(&s, &headers).await {
        Ok(Some((ConsoleState::SignedIn(_), _))) => Redirect::to("/console/tenants").into_response(),
        Ok(Some((ConsoleState::SecondFactor { .. }, _))) => Redirect::to("/console/passkey").into_response(),
        Ok(None) => render(StatusCode::OK, &SignInPage { assets: assets(), username: String::new(), error: None }),
        Err(e) => error_page(e, "/console"),
    }
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// The password step: a half-signed-in session and on to the passkey.
async fn sign_in(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        let e = ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "this form was sent from another site");
        return error_page(e, "/console");
    }
    let Ok(Form(f)) = form else {
        let error = Some("Enter your username and password.".to_owned());
        return render(StatusCode::BAD_REQUEST, &SignInPage { assets: assets(), username: String::new(), error });
    };
    match s.core.console_password(&f.username, &f.password).await {
        Ok(new) => {
            let max_age = (new.expires_at.millis() - s.core.clock.now().millis()) / 1000;
            let mut res = Redirect::to("/console/passkey").into_response();
            res.headers_mut().insert(header::SET_COOKIE, SessionCookie::console(&s).set(&new.cookie, max_age));
            res
        }
        Err(e) => {
            let e = ApiError::from(e);
            let page = SignInPage { assets: assets(), username: f.username, error: Some(e.message) };
            render(e.status, &page)
        }
    }
}

async fn passkey_page(State(s): State<AppState>, headers: HeaderMap) -> Response {
    match state_of(&s, &headers).await {
        Ok(Some((ConsoleState::SecondFactor { account, has_passkey, csrf }, _))) => {
            let page = PasskeyPage {
                assets: assets(),
                console_js: console_js(),
                username: account.username,
                register: !has_passkey,
                csrf,
            };
            render(StatusCode::OK, &page)
        }
        Ok(Some((ConsoleState::SignedIn(_), _))) => Redirect::to("/console/tenants").into_response(),
        Ok(None) => Redirect::to("/console").into_response(),
        Err(e) => error_page(e, "/console"),
    }
}

/// The cookie of a script call, its `Origin` and `X-CSRF-Token` checked.
fn script_call(s: &AppState, headers: &HeaderMap) -> Result<String, ApiError> {
    let cookie = SessionCookie::console(s)
        .read(headers)
        .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in with your password first"))?;
    let csrf = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    check_form(headers, &cookie, csrf)?;
    Ok(cookie)
}

async fn passkey_options(State(s): State<AppState>, headers: HeaderMap) -> Response {
    let cookie = match script_call(&s, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    match s.core.console_passkey_options(&cookie).await {
        Ok(o) => Json(serde_json::json!({ "mode": o.mode, "options": o.options })).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn passkey_finish(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Result<Json<serde_json::Value>, JsonRejection>,
) -> Response {
    let cookie = match script_call(&s, &headers) {
        Ok(c) => c,
        Err(e) => return e.into_response(),
    };
    let Ok(Json(response)) = body else {
        return ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", "not a WebAuthn response")
            .with_field("credential")
            .into_response();
    };
    match s.core.console_passkey_finish(&cookie, response).await {
        Ok(()) => {
            // The cookie of the password step lasted as long as that step: now it lasts
            // as long as the session.
            let max_age = countersign_core::web::ABSOLUTE_MS / 1000;
            let set = SessionCookie::console(&s).set(&cookie, max_age);
            (StatusCode::NO_CONTENT, [(header::SET_COOKIE, set)]).into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

async fn sign_out(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let Some(cookie) = SessionCookie::console(&s).read(&headers) else {
        return Redirect::to("/console").into_response();
    };
    let csrf = form.as_ref().ok().and_then(|f| f.0.get("csrf").cloned());
    if let Err(e) = check_form(&headers, &cookie, csrf.as_deref()) {
        return error_page(e, "/console");
    }
    if let Err(e) = s.core.end_web_session(&cookie).await {
        return error_page(e.into(), "/console");
    }
    let mut res = Redirect::to("/console").into_response();
    res.headers_mut().insert(header::SET_COOKIE, SessionCookie::console(&s).clear());
    res
}

#[derive(Deserialize)]
struct AfterQuery {
    after: Option<String>,
}

async fn tenants_page(
    s: &AppState,
    a: &ConsoleAdmin,
    after: Option<String>,
    domain: String,
    error: Option<ApiError>,
) -> Response {
    let listing = match s.core.list_tenants(after, Some(100)).await {
        Ok(l) => l,
        Err(e) => return error_page(e.into(), "/console"),
    };
    let tenants = listing
        .items
        .into_iter()
        .filter(|t| a.account.may_see(&t.id))
        .map(|t| TenantRow { domain: t.domain.to_string(), created: shown(t.created_at) })
        .collect();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = TenantsPage {
        assets: assets(),
        nav: Nav::of(a),
        tenants,
        next: listing.next_after,
        can_create: a.account.is_superadmin(),
        domain,
        error: error.map(|e| e.message),
    };
    render(status, &page)
}

async fn tenants(State(s): State<AppState>, headers: HeaderMap, q: Query<AfterQuery>) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    tenants_page(&s, &a, q.0.after, String::new(), None).await
}

async fn create_tenant(
    State(s): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let a = or_page!(posted(&s, &headers, &form).await);
    if !a.account.is_superadmin() {
        return error_page(countersign_core::web::console::forbidden().into(), "/console/tenants");
    }
    let domain = form.ok().and_then(|f| f.0.get("domain").cloned()).unwrap_or_default();
    match acting(&s, &a).create_tenant(CreateTenant { domain: domain.clone(), settings: None }).await {
        Ok(t) => {
            let details = serde_json::json!({ "console": true, "action": "tenant_created" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            Redirect::to(&format!("/console/tenants/{}", t.domain)).into_response()
        }
        Err(e) => tenants_page(&s, &a, None, domain, Some(e.into())).await,
    }
}
