//! The self-service pages (`/self-service/{domain}`, docs/web.md): a user signs in (a
//! one-time link, the password and a second factor, or a passkey), sees their mobile
//! authenticators, tokens, passkeys and recent sign-ins, and activates a new
//! authenticator from the QR code on screen while the page follows the activation live.
//! This file holds the pages of the session itself; the others are in the submodules.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use countersign_core::web::SignedIn;
use serde::Deserialize;

use super::{Assets, SessionCookie, assets, check_form, render, same_origin};

mod passkeys;
mod password;
mod rename;
mod sign_in;
mod tokens;
use crate::AppState;
use crate::error::ApiError;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/self-service/{domain}", get(sign_in_page))
        .route("/self-service/{domain}/link", get(link_page).post(use_link))
        .route("/self-service/{domain}/home", get(home))
        .route("/self-service/{domain}/activation", post(start_activation))
        .route("/self-service/{domain}/activations/{id}", get(activation_page))
        .route("/self-service/{domain}/activations/{id}/events", get(activation_events))
        .route("/self-service/{domain}/devices/{id}/remove", post(remove_device))
        .route("/self-service/{domain}/sign-ins/{seq}/not-me", post(not_me))
        .route("/self-service/{domain}/sign-out", post(sign_out))
        .merge(tokens::router())
        .merge(sign_in::router())
        .merge(password::router())
        .merge(passkeys::router())
        .merge(rename::router())
}

/// The signed-in user as the templates show them.
struct Me {
    user_id: String,
    domain: String,
    csrf: String,
}

impl Me {
    fn of(s: &SignedIn) -> Me {
        Me {
            user_id: s.user.user_id.as_str().to_owned(),
            domain: s.tenant.domain.as_str().to_owned(),
            csrf: s.csrf.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "self_service/sign_in.html")]
struct SignInPage {
    assets: Assets,
    domain: String,
    user: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "self_service/link.html")]
struct LinkPage {
    assets: Assets,
    domain: String,
    token: String,
}

#[derive(Template)]
#[template(path = "self_service/error.html")]
struct ErrorPage {
    assets: Assets,
    title: String,
    message: String,
    back: Option<String>,
}

struct DeviceRow {
    id: String,
    name: String,
    state: &'static str,
    created: Shown,
    updated: Shown,
}

/// A time as the pages show it: machine-readable in `datetime`, short in the text.
struct Shown {
    iso: String,
    text: String,
}

fn shown(t: countersign_core::Timestamp) -> Shown {
    let iso = t.to_rfc3339();
    let text = match (iso.get(..10), iso.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => iso.clone(),
    };
    Shown { iso, text }
}

#[derive(Template)]
#[template(path = "self_service/home.html")]
struct HomePage {
    assets: Assets,
    me: Me,
    devices: Vec<DeviceRow>,
    tokens: Vec<tokens::TokenRow>,
    sign_ins: Vec<SignInRow>,
    passkeys: Vec<PasskeyRow>,
    has_password: bool,
    error: Option<String>,
}

struct PasskeyRow {
    id: String,
    name: String,
    created: Shown,
    used: Option<Shown>,
}

struct SignInRow {
    seq: i64,
    at: Shown,
    method: String,
    succeeded: bool,
    outcome: String,
    message: Option<String>,
}

#[derive(Template)]
#[template(path = "self_service/notice.html")]
struct NoticePage {
    assets: Assets,
    title: &'static str,
    message: String,
    back: Option<String>,
}

struct Qr {
    image: String,
    code: String,
    expires: Shown,
}

#[derive(Template)]
#[template(path = "self_service/activation.html")]
struct ActivationPage {
    assets: Assets,
    me: Me,
    id: String,
    qr: Option<Qr>,
    status: &'static str,
}

/// An error as a page: the API's status and message, never a secret.
fn error_page(e: ApiError, back: Option<String>) -> Response {
    let title = match e.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::GONE => "No longer valid",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Too many requests",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    render(e.status, &ErrorPage { assets: assets(), title: title.into(), message: e.message, back })
}

/// The signed-in session of a request for the pages of `domain`, with its cookie.
async fn session(s: &AppState, headers: &HeaderMap, domain: &str) -> Result<Option<(SignedIn, String)>, ApiError> {
    let Some(cookie) = SessionCookie::of(s).read(headers) else { return Ok(None) };
    Ok(s.core.self_service_session(domain, &cookie).await?.map(|me| (me, cookie)))
}

/// The session, or the response that sends the browser to sign in.
async fn signed_in(s: &AppState, headers: &HeaderMap, domain: &str) -> Result<(SignedIn, String), Response> {
    match session(s, headers, domain).await {
        Ok(Some(found)) => Ok(found),
        Ok(None) => Err(Redirect::to(&format!("/self-service/{domain}")).into_response()),
        Err(e) => Err(error_page(e, None)),
    }
}

async fn sign_in_page(State(s): State<AppState>, Path(domain): Path<String>, headers: HeaderMap) -> Response {
    if let Err(e) = s.core.tenant(&domain).await {
        return error_page(e.into(), None);
    }
    match session(&s, &headers, &domain).await {
        Ok(Some(_)) => Redirect::to(&format!("/self-service/{domain}/home")).into_response(),
        _ => render(StatusCode::OK, &SignInPage { assets: assets(), domain, user: String::new(), error: None }),
    }
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A sign-in link opened: a page with one button, so that link scanners and previews
/// (which follow GETs) do not use it up.
async fn link_page(State(s): State<AppState>, Path(domain): Path<String>, q: Query<TokenQuery>) -> Response {
    if let Err(e) = s.core.tenant(&domain).await {
        return error_page(e.into(), None);
    }
    match q.0.token.filter(|t| !t.is_empty() && t.len() <= 100) {
        Some(token) => render(StatusCode::OK, &LinkPage { assets: assets(), domain, token }),
        None => {
            let error = Some("This address is not a complete sign-in link.".to_owned());
            render(StatusCode::BAD_REQUEST, &SignInPage { assets: assets(), domain, user: String::new(), error })
        }
    }
}

#[derive(Deserialize)]
struct TokenForm {
    token: Option<String>,
}

async fn use_link(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        let e = ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "this form was sent from another site");
        return error_page(e, None);
    }
    let token = form.ok().and_then(|f| f.0.token).unwrap_or_default();
    match s.core.use_sign_in_link(&domain, &token).await {
        Ok(new) => {
            let max_age = (new.expires_at.millis() - s.core.clock.now().millis()) / 1000;
            let cookie = SessionCookie::of(&s).set(&new.cookie, max_age);
            let mut res = Redirect::to(&format!("/self-service/{domain}/home")).into_response();
            res.headers_mut().insert(header::SET_COOKIE, cookie);
            res
        }
        Err(e) => {
            let e = ApiError::from(e);
            let error = Some(e.message);
            render(e.status, &SignInPage { assets: assets(), domain, user: String::new(), error })
        }
    }
}

async fn home(State(s): State<AppState>, Path(domain): Path<String>, headers: HeaderMap) -> Response {
    let (me, _) = or_page!(signed_in(&s, &headers, &domain).await);
    let devices = match s.core.my_devices(&me).await {
        Ok(d) => d,
        Err(e) => return error_page(e.into(), None),
    };
    let devices = devices
        .into_iter()
        .map(|d| DeviceRow {
            name: d.name.clone().unwrap_or_else(|| format!("{} device", d.app_id)),
            state: if countersign_core::web::usable(&d) { "Active" } else { device_state_text(d.state) },
            created: shown(d.created_at),
            updated: shown(d.updated_at),
            id: d.id,
        })
        .collect();
    let tokens = match s.core.my_tokens(&me).await {
        Ok(t) => t.into_iter().map(tokens::TokenRow::of).collect(),
        Err(e) => return error_page(e.into(), None),
    };
    let sign_ins = match s.core.my_sign_ins(&me).await {
        Ok(list) => list
            .into_iter()
            .map(|r| SignInRow {
                seq: r.seq,
                at: shown(r.at),
                method: method_text(&r.method),
                succeeded: r.succeeded,
                outcome: r.outcome,
                message: r.message,
            })
            .collect(),
        Err(e) => return error_page(e.into(), None),
    };
    let has_password = match s.core.my_password_exists(&me).await {
        Ok(b) => b,
        Err(e) => return error_page(e.into(), None),
    };
    let passkeys = match s.core.my_passkeys(&me).await {
        Ok(list) => list
            .into_iter()
            .map(|p| PasskeyRow {
                id: p.credential_id,
                name: p.name,
                created: shown(p.created_at),
                used: p.last_used_at.map(shown),
            })
            .collect(),
        Err(e) => return error_page(e.into(), None),
    };
    let page =
        HomePage { assets: assets(), me: Me::of(&me), devices, tokens, sign_ins, passkeys, has_password, error: None };
    render(StatusCode::OK, &page)
}

fn device_state_text(state: countersign_core::device::DeviceState) -> &'static str {
    match state {
        countersign_core::device::DeviceState::Active => "Active",
        countersign_core::device::DeviceState::Pending => "Not yet confirmed",
        countersign_core::device::DeviceState::Disconnected => "Disconnected",
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: Option<String>,
}

/// Where a change made from the home page leads: home again, or its error with a way
/// back.
fn back_home<T>(domain: &str, done: Result<T, countersign_core::CoreError>) -> Response {
    match done {
        Ok(_) => Redirect::to(&format!("/self-service/{domain}/home")).into_response(),
        Err(e) => error_page(e.into(), Some(format!("/self-service/{domain}/home"))),
    }
}

/// A signed-in form post checked: the session and its CSRF token; or the response.
async fn posted(
    s: &AppState,
    headers: &HeaderMap,
    domain: &str,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Result<SignedIn, Response> {
    checked(s, headers, domain, form.ok().and_then(|f| f.0.csrf).as_deref()).await
}

/// The session of a signed-in form post whose CSRF token is `csrf`; or the response.
async fn checked(s: &AppState, headers: &HeaderMap, domain: &str, csrf: Option<&str>) -> Result<SignedIn, Response> {
    let (me, cookie) = signed_in(s, headers, domain).await?;
    check_form(headers, &cookie, csrf).map_err(|e| error_page(e, Some(format!("/self-service/{domain}/home"))))?;
    Ok(me)
}

async fn start_activation(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let me = or_page!(posted(&s, &headers, &domain, form).await);
    match s.core.start_my_activation(&me).await {
        Ok(a) => Redirect::to(&format!("/self-service/{domain}/activations/{}", a.activation_id)).into_response(),
        Err(e) => error_page(e.into(), Some(format!("/self-service/{domain}/home"))),
    }
}

async fn activation_page(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let (me, _) = or_page!(signed_in(&s, &headers, &domain).await);
    let back = Some(format!("/self-service/{domain}/home"));
    let a = match s.core.my_activation(&me, &id).await {
        Ok(found) => found,
        Err(e) => return error_page(e.into(), back),
    };
    let expires = shown(a.expires_at);
    let qr = match a.payload.as_deref().map(|p| qr_of(p, expires)) {
        Some(Ok(qr)) => Some(qr),
        Some(Err(e)) => return error_page(ApiError::internal(&e), back),
        None => None,
    };
    let page = ActivationPage { assets: assets(), me: Me::of(&me), id, qr, status: a.progress.text() };
    render(StatusCode::OK, &page)
}

/// The QR image (inline, as `data:`) and the code in text of an activation payload.
fn qr_of(payload: &str, expires: Shown) -> Result<Qr, String> {
    let parsed =
        countersign_proto::messages::QrPayload::parse(payload).ok_or("an activation payload that does not parse")?;
    Ok(Qr { image: qr_image(payload)?, code: parsed.code, expires })
}

/// A QR code of `text` as an inline image (`data:`, which the pages' CSP allows).
fn qr_image(text: &str) -> Result<String, String> {
    let png = crate::qr::png(text)?;
    Ok(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)))
}

/// Server-sent events of one of the user's activations: its progress now, then each
/// change, until it is final or the stream's time is up (`event: end`). Woken by the
/// activation's steps, never by a timer.
async fn activation_events(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let me = match session(&s, &headers, &domain).await {
        Ok(Some((me, _))) => me,
        Ok(None) => return ApiError::unauthorized().into_response(),
        Err(e) => return e.into_response(),
    };
    // The activation must be the user's before a stream opens.
    if let Err(e) = s.core.activation_progress(&me.user.id, &id).await {
        return ApiError::from(e).into_response();
    }
    crate::routes::events::activation_stream(s.core.clone(), me.user.id, id)
}

async fn remove_device(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let me = or_page!(posted(&s, &headers, &domain, form).await);
    back_home(&domain, s.core.remove_my_device(&me, &id).await)
}

/// How a sign-in went, in words (the audit log's method labels).
fn method_text(label: &str) -> String {
    match label {
        "NoPIN" => "Push".into(),
        "PIN" => "Push with PIN".into(),
        "Fingerprint" => "Push with fingerprint".into(),
        "Custom" => "Push (custom authenticator)".into(),
        "sms" => "SMS code".into(),
        "email" => "E-mail code".into(),
        "voice" => "Voice call code".into(),
        "votp" | "votpCustomDelivery" => "One-time code".into(),
        "totp" => "Authenticator app code".into(),
        "fido2" => "Passkey".into(),
        "uaf" => "FIDO UAF".into(),
        "qr" => "QR code".into(),
        // Sign-ins to these pages (the login behind them is listed too).
        "sign_in_link" => "Sign-in link, on this site".into(),
        "passkey" => "Passkey, on this site".into(),
        "password_push" => "Password and push, on this site".into(),
        "password_totp" => "Password and code, on this site".into(),
        other => other.replace('_', " "),
    }
}

/// "Not me" on a sign-in: what the tenant's policy locks is locked at once.
async fn not_me(
    State(s): State<AppState>,
    Path((domain, seq)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let me = or_page!(posted(&s, &headers, &domain, form).await);
    let back = format!("/self-service/{domain}/home");
    let Ok(seq) = seq.parse::<i64>() else {
        let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", "no such sign-in of yours");
        return error_page(e.with_field("signIn"), Some(back));
    };
    match s.core.report_not_me(&me, seq).await {
        Ok(countersign_core::web::NotMe::Device(_)) => {
            let message = "Thank you. The authenticator that approved that sign-in is disconnected: \
                           remove it and activate it again if it is yours."
                .to_owned();
            render(
                StatusCode::OK,
                &NoticePage { assets: assets(), title: "Sign-in reported", message, back: Some(back) },
            )
        }
        Ok(countersign_core::web::NotMe::User) => {
            let message = "Thank you. Your account is locked, so nobody can sign in with it: \
                           contact your administrator to unlock it."
                .to_owned();
            let page = NoticePage { assets: assets(), title: "Sign-in reported", message, back: None };
            let mut res = render(StatusCode::OK, &page);
            res.headers_mut().insert(header::SET_COOKIE, SessionCookie::of(&s).clear());
            res
        }
        Err(e) => error_page(e.into(), Some(back)),
    }
}

async fn sign_out(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let cookie = SessionCookie::of(&s);
    if posted(&s, &headers, &domain, form).await.is_ok()
        && let Some(value) = cookie.read(&headers)
        && let Err(e) = s.core.end_web_session(&value).await
    {
        return error_page(e.into(), None);
    }
    let mut res = Redirect::to(&format!("/self-service/{domain}")).into_response();
    res.headers_mut().insert(header::SET_COOKIE, cookie.clear());
    res
}
