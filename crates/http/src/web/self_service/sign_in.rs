//! Signing in with the static password and a second factor (docs/web.md, "Password
//! sign-in"): the password form, then a push to approve (followed live) or a code from
//! the authenticator app. Between the two, the browser holds the pending cookie.

use std::net::SocketAddr;

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Form, Path, State};
use axum::http::{Extensions, HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::methods::command::StartLogin;
use countersign_core::web::{NewWebSession, SECOND_STEP_MS, SecondStep};
use serde::Deserialize;

use super::{SignInPage, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, SessionCookie, assets, render, same_origin};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/self-service/{domain}/sign-in", post(password))
        .route("/self-service/{domain}/sign-in/{id}/events", get(push_events))
        .route("/self-service/{domain}/sign-in/{id}/finish", post(finish_push))
        .route("/self-service/{domain}/sign-in/totp", post(finish_totp))
}

struct Push {
    request_id: String,
    number: Option<u8>,
}

#[derive(Template)]
#[template(path = "self_service/second.html")]
struct SecondPage {
    assets: Assets,
    domain: String,
    push: Option<Push>,
    error: Option<String>,
}

#[derive(Deserialize)]
struct PasswordForm {
    user: Option<String>,
    password: Option<String>,
}

fn cross_origin() -> Response {
    error_page(ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "this form was sent from another site"), None)
}

async fn password(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    ext: Extensions,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return cross_origin();
    }
    let form = form.map(|f| f.0).unwrap_or(PasswordForm { user: None, password: None });
    let user = form.user.unwrap_or_default().trim().to_owned();
    // Where the sign-in comes from, as a relying party would pass it (the push shows it).
    let login = StartLogin {
        ip_address: ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string()),
        user_agent: headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|u| u.chars().take(500).collect()),
        ..StartLogin::default()
    };
    let step = match s.core.self_service_password(&domain, &user, &form.password.unwrap_or_default(), login).await {
        Ok(step) => step,
        Err(e) => {
            let e = ApiError::from(e);
            return render(e.status, &SignInPage { assets: assets(), domain, user, error: Some(e.message) });
        }
    };
    let push = match step.second {
        SecondStep::Push { request_id, number } => Some(Push { request_id, number }),
        SecondStep::Totp => None,
    };
    let mut res = render(StatusCode::OK, &SecondPage { assets: assets(), domain, push, error: None });
    let cookie = SessionCookie::pending_of(&s).set(&step.pending, SECOND_STEP_MS / 1000);
    res.headers_mut().insert(header::SET_COOKIE, cookie);
    res
}

/// The pending cookie of a request, or the page that says to start again.
fn pending(s: &AppState, headers: &HeaderMap, domain: &str) -> Result<String, Box<Response>> {
    SessionCookie::pending_of(s).read(headers).ok_or_else(|| {
        let e = ApiError::new(StatusCode::GONE, "sign_in_link_invalid", "this sign-in has expired: sign in again");
        Box::new(error_page(e, Some(format!("/self-service/{domain}"))))
    })
}

/// The session of the push that confirms a pending sign-in, as server-sent events.
async fn push_events(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(pending) = SessionCookie::pending_of(&s).read(&headers) else {
        return ApiError::unauthorized().into_response();
    };
    let tenant = match s.core.pending_push(&domain, &pending, &id).await {
        Ok(t) => t,
        Err(e) => return ApiError::from(e).into_response(),
    };
    match s.core.session_status(&tenant, &id, None).await {
        Ok(first) => crate::routes::events::session_stream(s.core.clone(), tenant, id, first),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// Signed in: the session cookie set, the pending one cleared, on to the home page.
fn signed_in(s: &AppState, domain: &str, new: NewWebSession) -> Response {
    let max_age = (new.expires_at.millis() - s.core.clock.now().millis()) / 1000;
    let mut res = Redirect::to(&format!("/self-service/{domain}/home")).into_response();
    res.headers_mut().append(header::SET_COOKIE, SessionCookie::of(s).set(&new.cookie, max_age));
    res.headers_mut().append(header::SET_COOKIE, SessionCookie::pending_of(s).clear());
    res
}

async fn finish_push(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if !same_origin(&headers) {
        return cross_origin();
    }
    let pending = or_page!(pending(&s, &headers, &domain).map_err(|page| *page));
    match s.core.finish_push_sign_in(&domain, &pending, &id).await {
        Ok(new) => signed_in(&s, &domain, new),
        Err(e) => error_page(e.into(), Some(format!("/self-service/{domain}"))),
    }
}

#[derive(Deserialize)]
struct OtpForm {
    otp: Option<String>,
}

async fn finish_totp(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Form<OtpForm>, FormRejection>,
) -> Response {
    if !same_origin(&headers) {
        return cross_origin();
    }
    let pending = or_page!(pending(&s, &headers, &domain).map_err(|page| *page));
    let otp = form.ok().and_then(|f| f.0.otp).unwrap_or_default();
    match s.core.finish_totp_sign_in(&domain, &pending, otp.trim()).await {
        Ok(new) => signed_in(&s, &domain, new),
        Err(e) => {
            let e = ApiError::from(e);
            let page = SecondPage { assets: assets(), domain, push: None, error: Some(e.message) };
            render(e.status, &page)
        }
    }
}
