//! A Duo Auth API v2 compatible front door (docs/duo.md), and the `/rest/v1/*.bson`
//! endpoints Duo Unix 1.x (`login_duo`, `pam_duo`) still calls. Each call is
//! authenticated with a tenant's Duo-compatible integration key and an HMAC signature
//! (`sign.rs`), then becomes the domain's own commands: `Core::login` with a
//! [`LoginCall`], `Core::session_status`, `Core::start_activation`. Not in
//! `/openapi.json`: Duo documents this API.

pub mod bson;
pub mod sign;

use std::collections::BTreeMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use countersign_core::duo::DuoCaller;
use countersign_core::methods::command::{AnswerLogin, LoginCall, StartLogin};
use countersign_core::session::SessionState;
use countersign_core::{Core, CoreError, Entity, RefusalCode, Tenant, User};
use serde_json::{Value, json};

use crate::AppState;

/// The routes: `/auth/v2/{endpoint}` (JSON) and `/rest/v1/{endpoint}.bson` (BSON).
pub fn router() -> Router<AppState> {
    Router::new().route("/auth/v2/{endpoint}", any(call)).route("/rest/v1/{endpoint}", any(call))
}

/// How long `auth_status` waits for the user before answering `waiting`.
const STATUS_WAIT_SECONDS: u32 = 10;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Bson,
}

/// Duo's failure answer.
struct Fail {
    status: StatusCode,
    code: u32,
    message: String,
    detail: Option<String>,
    retry_after: Option<u32>,
}

impl Fail {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Fail {
        Fail { status, code, message: message.into(), detail: None, retry_after: None }
    }

    fn param(name: &str) -> Fail {
        Fail {
            status: StatusCode::BAD_REQUEST,
            code: 40002,
            message: "Invalid request parameters".into(),
            detail: Some(name.to_owned()),
            retry_after: None,
        }
    }

    fn not_found() -> Fail {
        Fail::new(StatusCode::NOT_FOUND, 40401, "Resource not found")
    }

    fn from_core(e: &CoreError) -> Fail {
        match e {
            CoreError::Invalid { field, .. } => Fail::param(field),
            CoreError::NotFound(Entity::User) => Fail {
                detail: Some("username".into()),
                ..Fail::new(StatusCode::BAD_REQUEST, 40002, "Invalid request parameters")
            },
            CoreError::NotFound(_) => Fail::not_found(),
            CoreError::RateLimited { retry_after_seconds, .. } => Fail {
                retry_after: Some(*retry_after_seconds),
                ..Fail::new(StatusCode::TOO_MANY_REQUESTS, 42901, "Too many requests")
            },
            CoreError::Store(_) | CoreError::Internal(_) => {
                tracing::error!(error = %countersign_core::session::cause(e), "duo: the request failed");
                Fail::new(StatusCode::INTERNAL_SERVER_ERROR, 50000, "Internal server error")
            }
            _ => Fail::new(StatusCode::FORBIDDEN, 40301, "Access forbidden"),
        }
    }
}

fn answer(format: Format, status: StatusCode, body: &Value) -> Response {
    let mut r = match format {
        Format::Json => (status, axum::Json(body.clone())).into_response(),
        Format::Bson => {
            let mut r = (status, bson::document(body)).into_response();
            r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/bson"));
            r
        }
    };
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn ok(format: Format, response: Value) -> Response {
    answer(format, StatusCode::OK, &json!({"stat": "OK", "response": response}))
}

fn fail(format: Format, f: Fail) -> Response {
    let mut body = json!({"stat": "FAIL", "code": f.code, "message": f.message});
    if let Some(d) = f.detail {
        body["message_detail"] = Value::String(d);
    }
    let mut r = answer(format, f.status, &body);
    if let Some(secs) = f.retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// Both routes: `/rest/v1/{name}.bson` answers in BSON, `/auth/v2/{name}` in JSON.
async fn call(
    State(s): State<AppState>,
    Path(endpoint): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (format, endpoint) = if uri.path().starts_with("/rest/v1/") {
        match endpoint.strip_suffix(".bson") {
            Some(name) => (Format::Bson, format!("legacy:{name}")),
            None => return fail(Format::Json, Fail::not_found()),
        }
    } else {
        (Format::Json, endpoint)
    };
    let response = handle(&s.core, format, &endpoint, &method, &uri, &headers, &body).await;
    let label = ENDPOINTS.iter().find(|e| **e == endpoint).copied().unwrap_or("other");
    s.core.metrics.duo_request(label, if response.status().is_success() { "OK" } else { "FAIL" });
    response
}

fn form(bytes: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(bytes).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

/// The request's parameters by name (the last of a repeated name wins).
struct Params(BTreeMap<String, String>);

impl Params {
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }
}

/// The endpoints, as the `endpoint` label of `countersign_duo_requests_total`.
const ENDPOINTS: [&str; 11] = [
    "ping",
    "check",
    "logo",
    "preauth",
    "auth",
    "auth_status",
    "enroll",
    "enroll_status",
    "legacy:preauth",
    "legacy:auth",
    "legacy:status",
];

async fn handle(
    core: &Core,
    format: Format,
    endpoint: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let now = core.clock.now().millis() / 1000;
    if endpoint == "ping" {
        return ok(format, json!({"time": now}));
    }
    if *method != Method::GET && *method != Method::POST {
        return fail(format, Fail::new(StatusCode::METHOD_NOT_ALLOWED, 40501, "Method not allowed"));
    }
    let query = form(uri.query().unwrap_or("").as_bytes());
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    let form_params = if *method == Method::POST && is_form { form(body) } else { Vec::new() };
    if query.iter().chain(&form_params).any(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return fail(format, Fail::param("parameters"));
    }
    let (ikey, sig) = match sign::credentials(headers) {
        Ok(c) => c,
        Err(r) => return refused(format, r),
    };
    let caller = match core.duo_caller(&ikey).await {
        Ok(Some(c)) => c,
        Ok(None) => return refused(format, sign::Refused::UnknownKey),
        Err(e) => return fail(format, Fail::from_core(&e)),
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    let req = sign::Request { method, host: &host, path: uri.path(), query: &query, form: &form_params, body, headers };
    if let Err(r) = sign::verify(&req, &sig, &caller.skey, caller.integration.legacy_signatures, now) {
        tracing::warn!(ikey = %caller.integration.ikey, code = r.code().0, "duo: request credentials refused");
        return refused(format, r);
    }
    // The integration key's budget, as an API key's (docs/security.md, "Request limits").
    let budget = core.count_request(countersign_core::limits::LimitKind::ApiKey, &ikey, Some(&caller.tenant.id)).await;
    if let Err(e) = budget {
        return fail(format, Fail::from_core(&e));
    }
    let mut params = BTreeMap::new();
    for (k, v) in query.into_iter().chain(form_params) {
        params.insert(k, v);
    }
    let params = Params(params);
    let core = core.as_duo_integration(&caller.integration.ikey);
    let out = match endpoint {
        "check" => Ok(json!({"time": now})),
        "logo" => Err(Fail::not_found()),
        "preauth" => preauth(&core, &caller, &params, false).await,
        "legacy:preauth" => preauth(&core, &caller, &params, true).await,
        "auth" | "legacy:auth" => auth(&core, &caller, &params).await,
        "auth_status" | "legacy:status" => auth_status(&core, &caller, &params).await,
        "enroll" => enroll(&core, &caller, &params).await,
        "enroll_status" => enroll_status(&core, &caller, &params).await,
        _ => Err(Fail::not_found()),
    };
    match out {
        Ok(v) => ok(format, v),
        Err(f) => fail(format, f),
    }
}

fn refused(format: Format, r: sign::Refused) -> Response {
    let (code, message) = r.code();
    fail(format, Fail::new(StatusCode::UNAUTHORIZED, code, message))
}

/// The user a call names: `username` (or Duo Unix's `user`), else `user_id`.
async fn user_of(core: &Core, caller: &DuoCaller, p: &Params) -> Result<Option<User>, Fail> {
    let tenant = &caller.tenant;
    if let Some(name) = p.get("username").or_else(|| p.get("user")) {
        let user_ref = format!("{name}@{}", tenant.domain.as_str());
        return match core.account_user(tenant, &user_ref).await {
            Ok(u) => Ok(Some(u)),
            Err(CoreError::NotFound(_)) | Err(CoreError::Invalid { .. }) => Ok(None),
            Err(e) => Err(Fail::from_core(&e)),
        };
    }
    if let Some(id) = p.get("user_id") {
        return match core.store.user_by_pk(id).await {
            Ok(Some(u)) if u.tenant_id == tenant.id => Ok(Some(u)),
            Ok(_) => Ok(None),
            Err(e) => Err(Fail::from_core(&CoreError::from(e))),
        };
    }
    Err(Fail::param("username"))
}

fn user_ref(tenant: &Tenant, u: &User) -> String {
    format!("{}@{}", u.user_id.as_str(), tenant.domain.as_str())
}

async fn preauth(core: &Core, caller: &DuoCaller, p: &Params, legacy: bool) -> Result<Value, Fail> {
    let tenant = &caller.tenant;
    let Some(user) = user_of(core, caller, p).await? else {
        return Ok(json!({"result": "enroll", "status_msg": "Enroll an authentication device to proceed",
            "status": "Enroll an authentication device to proceed"}));
    };
    if user.status != countersign_core::UserStatus::Active {
        return Ok(
            json!({"result": "deny", "status_msg": "Your account is disabled.", "status": "Your account is disabled."}),
        );
    }
    let state = core.account_state(tenant, &user_ref(tenant, &user)).await.map_err(|e| Fail::from_core(&e))?;
    let mut devices = Vec::new();
    for a in &state.authenticators {
        match a.kind.as_str() {
            "mobile" => devices.push(json!({"device": a.id, "type": "phone", "name": "countersign authenticator",
                "number": "", "capabilities": ["auto", "push"]})),
            "totp" | "hotp" => devices.push(json!({"device": a.id, "type": "token", "name": a.id, "capabilities": []})),
            _ => {}
        }
    }
    if devices.is_empty() && state.static_password.is_none() {
        return Ok(json!({"result": "enroll", "status_msg": "Enroll an authentication device to proceed",
            "status": "Enroll an authentication device to proceed"}));
    }
    let mut out = json!({"result": "auth", "status_msg": "Account is active", "status": "Account is active",
        "devices": devices});
    if legacy {
        // Duo Unix 1.x: a prompt and the factors it maps answers to.
        let has_phone = state.authenticators.iter().any(|a| a.kind == "mobile");
        let (text, factors) = if has_phone {
            (
                "Duo two-factor login\n\nEnter a passcode or select one of the following options:\n\n 1. Duo Push\n\nPasscode or option (1-1): ",
                json!({"1": "push1", "default": "push1"}),
            )
        } else {
            ("Duo two-factor login\n\nEnter a passcode: ", json!({}))
        };
        out["prompt"] = Value::String(text.into());
        out["factors"] = factors;
    }
    Ok(out)
}

/// `pushinfo`: URL-encoded key/value pairs shown with the push.
fn pushinfo(p: &Params) -> BTreeMap<String, String> {
    p.get("pushinfo")
        .map(|s| {
            url::form_urlencoded::parse(s.as_bytes())
                .filter(|(k, _)| !k.is_empty())
                .take(20)
                .map(|(k, v)| (k.chars().take(64).collect(), v.chars().take(256).collect()))
                .collect()
        })
        .unwrap_or_default()
}

fn ended(state: SessionState) -> Value {
    match state {
        SessionState::Accept => {
            json!({"result": "allow", "status": "allow", "status_msg": "Success. Logging you in..."})
        }
        SessionState::Decline => json!({"result": "deny", "status": "deny", "status_msg": "Login request denied."}),
        SessionState::Timeout => json!({"result": "deny", "status": "timeout", "status_msg": "Login timed out."}),
        SessionState::Failed => {
            json!({"result": "deny", "status": "deny", "status_msg": "Login request could not be completed."})
        }
        SessionState::Pending => {
            json!({"result": "waiting", "status": "pushed", "status_msg": "Pushed a login request to your device..."})
        }
    }
}

fn denied(e: &CoreError) -> Result<Value, Fail> {
    match e {
        CoreError::Refused { code, .. } => {
            let msg = match code {
                RefusalCode::StaticPasswordLocked | RefusalCode::TokenLocked => {
                    "Your account is locked after too many wrong passcodes."
                }
                RefusalCode::UserLocked | RefusalCode::UserDisabled => "Your account is disabled.",
                _ => "Incorrect passcode. Please try again.",
            };
            Ok(json!({"result": "deny", "status": "deny", "status_msg": msg}))
        }
        other => Err(Fail::from_core(other)),
    }
}

async fn auth(core: &Core, caller: &DuoCaller, p: &Params) -> Result<Value, Fail> {
    let tenant = &caller.tenant;
    let user = user_of(core, caller, p).await?.ok_or_else(|| Fail::param("username"))?;
    let user_ref = user_ref(tenant, &user);
    let is_async = p.get("async").is_some_and(|a| a == "1" || a.eq_ignore_ascii_case("true"));
    let ip_address = p.get("ipaddr").filter(|a| a.parse::<std::net::IpAddr>().is_ok()).map(str::to_owned);
    let ip = ip_address.clone();
    let mut context = pushinfo(p);
    if let Some(d) = p.get("display_username") {
        context.insert("user".into(), d.chars().take(64).collect());
    }
    let message = p.get("type").map(|t| format!("{} request", t.chars().take(40).collect::<String>()));
    let login = StartLogin { ip_address, context, message, no_number: true, ..StartLogin::default() };
    // What to do: Duo's factors, and Duo Unix 1.x's `factor=auto&auto=<choice>`.
    let factor = p.get("factor").ok_or_else(|| Fail::param("factor"))?;
    if factor == "sms" || factor == "phone" {
        // A code by SMS, or read out by a call (the tenant's `voice` type: countersign's
        // calls say a code rather than ask for a keypress); the user types it back as the
        // passcode of the next call.
        let (pass_key, said) = if factor == "sms" {
            ("sms", "New SMS passcodes sent.")
        } else {
            ("voice", "Calling you with a passcode.")
        };
        let call = LoginCall::Start { pass_key: pass_key.into(), login: StartLogin { timeout: Some(0), ..login } };
        return match core.login(tenant, &user_ref, call).await {
            Ok(r) if r.state == SessionState::Pending => {
                Ok(json!({"result": "deny", "status": "sent", "status_msg": said}))
            }
            Ok(r) => Ok(ended(r.state)),
            Err(e) => denied(&e),
        };
    }
    let (push, passcode) = match factor {
        "push" => (true, None),
        "passcode" => (false, Some(p.get("passcode").ok_or_else(|| Fail::param("passcode"))?.to_owned())),
        "auto" => match p.get("auto") {
            None | Some("push1") | Some("1") | Some("push") => (true, None),
            Some(code) => (false, Some(code.to_owned())),
        },
        _ => return Err(Fail::param("factor")),
    };
    if push {
        let call =
            LoginCall::Start { pass_key: "push".into(), login: StartLogin { timeout: is_async.then_some(0), ..login } };
        return match core.login(tenant, &user_ref, call).await {
            Ok(r) if is_async => Ok(json!({"txid": r.request_id})),
            Ok(r) => Ok(ended(r.state)),
            Err(e) => denied(&e),
        };
    }
    let code = passcode.unwrap_or_default();
    let digits = !code.is_empty() && code.len() <= 10 && code.bytes().all(|b| b.is_ascii_digit());
    let result = if digits && let Some(request_id) = pending_code(core, &user).await? {
        // The answer to the code sent by `factor=sms` (the latest still pending).
        let answer = AnswerLogin { request_id, secret: code, credentials: None, login };
        core.login(tenant, &user_ref, LoginCall::Answer(answer)).await.map(Some)
    } else if digits {
        core.login(tenant, &user_ref, LoginCall::Token { pass_key: None, otp: code, login }).await.map(Some)
    } else {
        // A static password as the passcode: the whole login, so its grace period applies.
        core.front_door_password(tenant, &user_ref, &code, true, ip.as_deref(), "duo").await.map(|_| None)
    };
    match result {
        Ok(Some(r)) if is_async => Ok(json!({"txid": r.request_id})),
        Ok(Some(r)) => Ok(ended(r.state)),
        Ok(None) if is_async => Err(Fail::param("async")),
        Ok(None) => Ok(ended(SessionState::Accept)),
        Err(e) => denied(&e),
    }
}

/// The user's latest pending session that waits for a code (SMS, e-mail, voice).
async fn pending_code(core: &Core, user: &User) -> Result<Option<String>, Fail> {
    let s = core.store.latest_pending_code_session(&user.id, core.clock.now()).await;
    Ok(s.map_err(|e| Fail::from_core(&e.into()))?.map(|s| s.id.clone()))
}

async fn auth_status(core: &Core, caller: &DuoCaller, p: &Params) -> Result<Value, Fail> {
    let txid = p.get("txid").ok_or_else(|| Fail::param("txid"))?;
    match core.session_status(&caller.tenant, txid, Some(STATUS_WAIT_SECONDS)).await {
        Ok(r) => Ok(ended(r.state)),
        Err(CoreError::NotFound(_)) | Err(CoreError::Invalid { .. }) => Err(Fail::param("txid")),
        Err(e) => Err(Fail::from_core(&e)),
    }
}

async fn enroll(core: &Core, caller: &DuoCaller, p: &Params) -> Result<Value, Fail> {
    let tenant = &caller.tenant;
    let name = p.get("username").ok_or_else(|| Fail::param("username"))?;
    let user = match user_of(core, caller, p).await? {
        Some(u) => u,
        None => {
            let input = countersign_core::admin::CreateUser::named(name);
            core.create_user(tenant.domain.as_str(), input).await.map_err(|e| match e {
                CoreError::Invalid { .. } => Fail::param("username"),
                other => Fail::from_core(&other),
            })?
        }
    };
    let a = core.start_activation(tenant, &user_ref(tenant, &user)).await.map_err(|e| Fail::from_core(&e))?;
    Ok(json!({
        "activation_barcode": a.app_link,
        "activation_code": a.qr_payload,
        "expiration": a.expires_at.millis() / 1000,
        "user_id": user.id,
        "username": user.user_id.as_str(),
    }))
}

async fn enroll_status(core: &Core, caller: &DuoCaller, p: &Params) -> Result<Value, Fail> {
    let user_id = p.get("user_id").ok_or_else(|| Fail::param("user_id"))?;
    let code = p.get("activation_code").ok_or_else(|| Fail::param("activation_code"))?;
    let state = core.activation_state_for(&caller.tenant, user_id, code).await.map_err(|e| Fail::from_core(&e))?;
    Ok(Value::String(state.into()))
}
