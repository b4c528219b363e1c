//! Authenticator-app (TOTP) tokens on the self-service pages: enrol one from a QR code of
//! its `otpauth://` URI (with the secret in text beside it), confirm it with a first
//! code, remove one.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::tokens::{Token, TokenState};
use countersign_core::web::SignedIn;
use serde::Deserialize;

use super::{CsrfForm, Me, Shown, back_home, checked, error_page, posted, qr_image, shown};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/self-service/{domain}/totp", post(enroll))
        .route("/self-service/{domain}/tokens/{id}", get(token_page))
        .route("/self-service/{domain}/tokens/{id}/confirm", post(confirm))
        .route("/self-service/{domain}/tokens/{id}/remove", post(remove))
}

/// A token as the home page lists it.
pub(super) struct TokenRow {
    pub(super) id: String,
    pub(super) serial: String,
    pub(super) kind: &'static str,
    pub(super) state: &'static str,
    pub(super) pending: bool,
    pub(super) created: Shown,
}

impl TokenRow {
    pub(super) fn of(t: Token) -> TokenRow {
        TokenRow {
            serial: t.serial,
            kind: t.kind.as_str(),
            state: match t.state {
                TokenState::Pending => "Not yet confirmed",
                TokenState::Active => "Active",
                TokenState::Locked => "Locked (too many wrong codes)",
            },
            pending: t.state == TokenState::Pending,
            created: shown(t.created_at),
            id: t.id,
        }
    }
}

#[derive(Template)]
#[template(path = "self_service/token.html")]
struct TokenPage {
    assets: Assets,
    me: Me,
    id: String,
    serial: String,
    image: String,
    secret: String,
    error: Option<String>,
}

async fn enroll(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let me = or_page!(posted(&s, &headers, &domain, form).await);
    match s.core.enroll_my_totp(&me).await {
        Ok(t) => Redirect::to(&format!("/self-service/{domain}/tokens/{}", t.id)).into_response(),
        Err(e) => error_page(e.into(), Some(format!("/self-service/{domain}/home"))),
    }
}

/// The page of a pending token: its QR code, its secret in text, the confirmation form.
async fn pending_page(s: &AppState, me: &SignedIn, id: &str, error: Option<ApiError>) -> Response {
    let back = Some(format!("/self-service/{}/home", me.tenant.domain.as_str()));
    let (t, uri) = match s.core.my_pending_token(me, id).await {
        Ok(found) => found,
        Err(e) => return error_page(e.into(), back),
    };
    let image = match qr_image(&uri) {
        Ok(i) => i,
        Err(e) => return error_page(ApiError::internal(&e), back),
    };
    let secret = uri.split("secret=").nth(1).and_then(|r| r.split('&').next()).unwrap_or_default().to_owned();
    let status = error.as_ref().map_or(StatusCode::OK, |e| e.status);
    let page = TokenPage {
        assets: assets(),
        me: Me::of(me),
        id: t.id,
        serial: t.serial,
        image,
        secret,
        error: error.map(|e| e.message),
    };
    render(status, &page)
}

async fn token_page(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    match super::signed_in(&s, &headers, &domain).await {
        Ok((me, _)) => pending_page(&s, &me, &id, None).await,
        Err(res) => res,
    }
}

#[derive(Deserialize)]
struct ConfirmForm {
    csrf: Option<String>,
    otp: Option<String>,
}

async fn confirm(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<ConfirmForm>, FormRejection>,
) -> Response {
    let form = form.map(|f| f.0).unwrap_or(ConfirmForm { csrf: None, otp: None });
    let me = or_page!(checked(&s, &headers, &domain, form.csrf.as_deref()).await);
    let otp = form.otp.unwrap_or_default();
    match s.core.confirm_my_token(&me, &id, otp.trim()).await {
        Ok(_) => Redirect::to(&format!("/self-service/{domain}/home")).into_response(),
        Err(e) => pending_page(&s, &me, &id, Some(e.into())).await,
    }
}

async fn remove(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let me = or_page!(posted(&s, &headers, &domain, form).await);
    back_home(&domain, s.core.remove_my_token(&me, &id).await)
}
