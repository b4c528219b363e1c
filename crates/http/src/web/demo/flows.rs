//! The demo's buttons, one handler each, each wired as an integrator wires that method
//! (docs/mobile-protocol.md, otp.md, tokens.md, fido.md, risk.md): the page posts what
//! its visitor typed, the handler makes the integration API calls and answers the
//! [`Reply`]. Pending sessions are then followed by the page through
//! `/demo/api/sessions/{id}/events`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Calls, Demo, Reply, own_origin, path_word};
use crate::error::ApiError;

pub(super) fn router() -> Router<Arc<Demo>> {
    Router::new()
        .route("/demo/api/activate", post(activate))
        .route("/demo/api/push", post(push))
        .route("/demo/api/code", post(code_start))
        .route("/demo/api/code/check", post(code_check))
        .route("/demo/api/totp/enrol", post(totp_enrol))
        .route("/demo/api/totp/confirm", post(totp_confirm))
        .route("/demo/api/totp", post(totp_login))
        .route("/demo/api/qr", post(qr_login))
        .route("/demo/api/passkey/register-options", post(passkey_register_options))
        .route("/demo/api/passkey/register", post(passkey_register))
        .route("/demo/api/passkey/login-options", post(passkey_login_options))
        .route("/demo/api/passkey/login", post(passkey_login))
        .route("/demo/api/password", post(password))
        .route("/demo/api/transfer", post(transfer))
}

/// What the page posts; each handler reads the fields it needs.
#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Input {
    user: String,
    /// `sync` or `async` (push).
    mode: String,
    /// `email` or `sms` (codes).
    channel: String,
    #[serde(rename = "requestID")]
    request_id: String,
    #[serde(rename = "tokenID")]
    token_id: String,
    code: String,
    password: String,
    /// The browser's attributes, for the risk engine (docs/risk.md, "CDDC").
    cddc: Option<Value>,
    /// A WebAuthn response, as the page encoded it (base64url fields).
    response: Option<Value>,
    amount: Option<f64>,
    beneficiary: String,
}

/// The checked input: the origin, the JSON, and the user when the action needs one.
struct Checked {
    input: Input,
    ip: String,
    user_agent: Option<String>,
}

fn check(
    headers: &HeaderMap,
    addr: SocketAddr,
    body: Result<axum::Json<Input>, JsonRejection>,
) -> Result<Checked, ApiError> {
    own_origin(headers)?;
    let axum::Json(input) = body.map_err(|e| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", format!("the page sent no valid JSON: {e}"))
    })?;
    let user_agent =
        headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(|v| v.chars().take(512).collect());
    Ok(Checked { input, ip: addr.ip().to_string(), user_agent })
}

impl Checked {
    fn user(&self) -> Result<String, ApiError> {
        path_word("user", &self.input.user)
    }

    /// The context a relying party passes along with a login (docs/otp.md, "Context for
    /// the user"; docs/risk.md): the visitor's address, browser, and attributes.
    fn context(&self, body: &mut Value) {
        body["ipAddress"] = json!(self.ip);
        if let Some(ua) = &self.user_agent {
            body["userAgent"] = json!(ua);
        }
        if let Some(c) = self.input.cddc.as_ref().filter(|c| c.is_object()) {
            body["cddc"] = c.clone();
        }
    }
}

type Body = Result<axum::Json<Input>, JsonRejection>;

/// Start activating the user's mobile authenticator: the QR code to scan.
async fn activate(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let mut calls = Calls::new(&d);
    let path = calls.user_path(&c.user()?, "/activations");
    let (s, r) = calls.call("POST", path, None).await?;
    let data = if s < 300 {
        // (The activation answer spells it `qrPng`; the other answers `qrPNG`.)
        json!({"qrPNG": r["qrPng"], "qrPayload": r["qrPayload"], "expiresAt": r["expiresAt"]})
    } else {
        Value::Null
    };
    Ok(calls.reply(None, data))
}

/// A push login: synchronous (the call returns when the user has answered) or
/// asynchronous (`timeout: 0`: at once, with the number to show when number matching
/// is on; the page follows the session).
async fn push(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let mut calls = Calls::new(&d);
    let timeout = if c.input.mode == "async" { 0 } else { 60 };
    let mut body = json!({"objectType": "LoginInput", "passKey": "PIN", "timeout": timeout,
        "loginMessage": "Sign in to the demo shop?"});
    c.context(&mut body);
    let path = calls.user_path(&c.user()?, "/login");
    let (_, r) = calls.call("POST", path, Some(body)).await?;
    Ok(calls.reply(None, json!({"requestID": r["requestID"], "numberToShow": r["numberToShow"]})))
}

/// A one-time code by e-mail or SMS: the login starts it; the code goes out.
async fn code_start(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let channel = match c.input.channel.as_str() {
        "sms" => "sms",
        _ => "email",
    };
    let mut calls = Calls::new(&d);
    let mut body = json!({"objectType": "LoginInput", "passKey": channel});
    c.context(&mut body);
    let path = calls.user_path(&c.user()?, "/login");
    let (_, r) = calls.call("POST", path, Some(body)).await?;
    Ok(calls.reply(None, json!({"requestID": r["requestID"]})))
}

/// The code the visitor typed, sent with the session's request ID.
async fn code_check(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let id = path_word("requestID", &c.input.request_id)?;
    let mut calls = Calls::new(&d);
    let body = json!({"objectType": "LoginInput", "requestID": id, "passKey": c.input.code.trim()});
    let path = calls.user_path(&c.user()?, "/login");
    calls.call("POST", path, Some(body)).await?;
    Ok(calls.reply(None, Value::Null))
}

/// Enrol a TOTP token: the QR code of its `otpauth://` address, shown once.
async fn totp_enrol(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let mut calls = Calls::new(&d);
    let path = calls.user_path(&c.user()?, "/tokens");
    let (s, r) = calls.call("POST", path, Some(json!({"type": "totp"}))).await?;
    let data = if s < 300 {
        json!({"tokenID": r["tokenID"], "otpauthURI": r["otpauthURI"], "qrPNG": r["qrPNG"]})
    } else {
        Value::Null
    };
    Ok(calls.reply(None, data))
}

/// Activate the new token with a first code from the app.
async fn totp_confirm(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let token = path_word("tokenID", &c.input.token_id)?;
    let mut calls = Calls::new(&d);
    let path = calls.user_path(&c.user()?, &format!("/tokens/{token}/confirm"));
    calls.call("POST", path, Some(json!({"otp": c.input.code.trim()}))).await?;
    Ok(calls.reply(None, Value::Null))
}

/// Log in with a code of the user's TOTP app: checked at once.
async fn totp_login(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let mut calls = Calls::new(&d);
    let mut body = json!({"objectType": "LoginInput", "passKey": "totp", "otp": c.input.code.trim()});
    c.context(&mut body);
    let path = calls.user_path(&c.user()?, "/login");
    calls.call("POST", path, Some(body)).await?;
    Ok(calls.reply(None, Value::Null))
}

/// A QR login: no user name; the page shows the QR code and follows the session until
/// an app claims it, which names the user.
async fn qr_login(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    check(&h, a, b)?;
    let mut calls = Calls::new(&d);
    let (s, r) = calls.call("POST", "/v1/qr-logins".to_owned(), Some(json!({"type": "qr"}))).await?;
    let data = json!({"requestID": r["requestID"], "qrPNG": r["qrPNG"], "qrPayload": r["qrPayload"]});
    Ok(calls.reply((s < 300).then(|| "Pending".to_owned()), data))
}

/// Options for `navigator.credentials.create`, for the page to run.
async fn passkey_register_options(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    fido_options(&d, check(&h, a, b)?, "/generate-fido-registration-request", "registrationRequest").await
}

/// A FIDO2 ceremony started with `call`; the page gets its `requestID` and the options
/// in `field` of the answer.
async fn fido_options(d: &Arc<Demo>, c: Checked, call: &str, field: &str) -> Result<Reply, ApiError> {
    let mut calls = Calls::new(d);
    let path = calls.user_path(&c.user()?, call);
    let body = json!({"fidoProtocol": "FIDO2", "userVerification": "required"});
    let (_, r) = calls.call("POST", path, Some(body)).await?;
    let data = json!({"requestID": r["requestID"], "options": r[field]});
    Ok(calls.reply(None, data))
}

/// The browser's new credential, registered.
async fn passkey_register(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let id = path_word("requestID", &c.input.request_id)?;
    let mut calls = Calls::new(&d);
    let path = calls.user_path(&c.user()?, "/register-fido-authenticator");
    let body = json!({"requestID": id, "fidoAuthenticator": {"registrationResponse": c.input.response}, "name": "demo browser"});
    let (s, _) = calls.call("POST", path, Some(body)).await?;
    Ok(calls.reply((s < 300).then(|| "registered".to_owned()), Value::Null))
}

/// Options for `navigator.credentials.get`.
async fn passkey_login_options(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    fido_options(&d, check(&h, a, b)?, "/generate-fido-authentication-request", "authenticationRequest").await
}

/// The browser's assertion, checked by the login call.
async fn passkey_login(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let id = path_word("requestID", &c.input.request_id)?;
    let mut calls = Calls::new(&d);
    let path = calls.user_path(&c.user()?, "/login");
    let mut body = json!({"objectType": "LoginInput", "requestID": id,
        "credentials": {"fidoAuthenticator": {"authenticationResponse": c.input.response}}});
    c.context(&mut body);
    calls.call("POST", path, Some(body)).await?;
    Ok(calls.reply(None, Value::Null))
}

/// A random session ID of the relying party's own (ties the two calls of an adaptive
/// login together; docs/risk.md, "Flows").
fn session_id() -> String {
    let id = countersign_core::random::new_id(&countersign_core::random::OsRandom).unwrap_or_default();
    format!("demo-{id}")
}

/// An adaptive login with a static password: the risk engine scores the visitor first
/// (no credentials: address, browser, CDDC); when it asks for the static password
/// (`riskResponseCode` 2) the second call carries it. Another challenge (a push…) is
/// pending for the page to follow; `0` logs in at once (a device the engine knows).
async fn password(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let user = c.user()?;
    let sid = session_id();
    let mut calls = Calls::new(&d);
    let mut first = json!({"objectType": "LoginInput", "sessionID": sid, "timeout": 0});
    c.context(&mut first);
    let (s, r) = calls.call("POST", calls.user_path(&user, "/login"), Some(first)).await?;
    let code = r["riskResponseCode"].as_i64();
    let data = json!({"riskResponseCode": code, "riskReasons": r["riskReasons"], "requestID": r["requestID"],
        "numberToShow": r["numberToShow"]});
    if s >= 300 {
        return Ok(calls.reply(None, data));
    }
    match code {
        Some(2) => {
            let mut second = json!({"objectType": "LoginInput", "requestID": r["requestID"], "sessionID": sid,
                "passKey": c.input.password});
            c.context(&mut second);
            calls.call("POST", calls.user_path(&user, "/login"), Some(second)).await?;
            Ok(calls.reply(None, data))
        }
        Some(0) => Ok(calls.reply(Some("Accept".into()), data)),
        Some(1) => Ok(calls.reply(Some("Decline".into()), data)),
        _ => Ok(calls.reply(Some("Pending".into()), data)),
    }
}

/// A transfer, validated as an event: the risk engine asks for a push, whose message and
/// amount the user's device shows and signs (docs/risk.md, "Event validation").
async fn transfer(
    State(d): State<Arc<Demo>>,
    ConnectInfo(a): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    b: Body,
) -> Result<Reply, ApiError> {
    let c = check(&h, a, b)?;
    let user = c.user()?;
    let amount = c.input.amount.filter(|a| a.is_finite() && *a > 0.0 && *a < 1e9).ok_or_else(|| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "an amount above 0").with_field("amount")
    })?;
    let beneficiary: String = c.input.beneficiary.trim().chars().take(64).collect();
    if beneficiary.is_empty() {
        return Err(
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "a beneficiary").with_field("beneficiary")
        );
    }
    let mut calls = Calls::new(&d);
    let mut body = json!({"eventType": "Transaction", "amount": amount, "currency": "EUR",
        "beneficiary": beneficiary, "newBeneficiary": true,
        "message": format!("Transfer {amount:.2} EUR to {beneficiary}?")});
    c.context(&mut body);
    // An event carries the address and the browser's attributes, not a user agent.
    if let Some(o) = body.as_object_mut() {
        o.remove("userAgent");
    }
    let (s, r) = calls.call("POST", calls.user_path(&user, "/events/validate"), Some(body)).await?;
    let code = r["riskResponseCode"].as_i64();
    let data = json!({"riskResponseCode": code, "riskReasons": r["riskReasons"], "requestID": r["requestID"],
        "numberToShow": r["numberToShow"]});
    let outcome = match (s < 300, code) {
        (false, _) => None,
        (true, Some(0)) => Some("Accept".to_owned()),
        (true, Some(1)) => Some("Decline".to_owned()),
        (true, _) => Some("Pending".to_owned()),
    };
    Ok(calls.reply(outcome, data))
}
