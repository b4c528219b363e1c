//! Passkeys on the self-service pages: registering one (signed in), removing one, and
//! signing in with one. The browser side is in web.js (`navigator.credentials`); these
//! are the JSON calls it makes, each checked like a form: the `Origin`, and for a
//! signed-in user the session's CSRF token in `X-CSRF-Token`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use countersign_core::fido::{CredentialView, FidoRegisterInput, FidoRequestOutput};
use countersign_core::web::SignedIn;
use serde::Deserialize;

use super::{CsrfForm, back_home, posted, session};
use crate::AppState;
use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::web::{SessionCookie, check_form, same_origin};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/self-service/{domain}/passkeys/options", post(options))
        .route("/self-service/{domain}/passkeys", post(register))
        .route("/self-service/{domain}/passkeys/{id}/remove", post(remove))
        .route("/self-service/{domain}/sign-in/passkey/options", post(sign_in_options))
        .route("/self-service/{domain}/sign-in/passkey", post(sign_in))
}

/// The signed-in user of a script call, its CSRF token in `X-CSRF-Token`.
async fn scripted(s: &AppState, headers: &HeaderMap, domain: &str) -> Result<SignedIn, ApiError> {
    let Some((me, cookie)) = session(s, headers, domain).await? else { return Err(ApiError::unauthorized()) };
    let token = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
    check_form(headers, &cookie, token)?;
    Ok(me)
}

fn same_site(headers: &HeaderMap) -> Result<(), ApiError> {
    if same_origin(headers) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "this call was sent from another site"))
    }
}

async fn options(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
) -> Result<Json<FidoRequestOutput>, ApiError> {
    let me = scripted(&s, &headers, &domain).await?;
    Ok(Json(s.core.my_passkey_options(&me).await?))
}

async fn register(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<FidoRegisterInput>,
) -> Result<(StatusCode, Json<CredentialView>), ApiError> {
    let me = scripted(&s, &headers, &domain).await?;
    Ok((StatusCode::CREATED, Json(s.core.register_my_passkey(&me, input).await?)))
}

async fn remove(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<CsrfForm>, FormRejection>,
) -> Response {
    let me = or_page!(posted(&s, &headers, &domain, form).await);
    back_home(&domain, s.core.remove_my_passkey(&me, &id).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WhoInput {
    user: String,
}

async fn sign_in_options(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<WhoInput>,
) -> Result<Json<FidoRequestOutput>, ApiError> {
    same_site(&headers)?;
    Ok(Json(s.core.passkey_sign_in_options(&domain, input.user.trim()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssertionInput {
    user: String,
    #[serde(rename = "requestID")]
    request_id: String,
    response: serde_json::Value,
}

/// Where the page goes once signed in.
#[derive(serde::Serialize)]
struct Next {
    next: String,
}

async fn sign_in(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    ApiJson(input): ApiJson<AssertionInput>,
) -> Result<Response, ApiError> {
    same_site(&headers)?;
    let new = s.core.finish_passkey_sign_in(&domain, input.user.trim(), &input.request_id, input.response).await?;
    let max_age = (new.expires_at.millis() - s.core.clock.now().millis()) / 1000;
    let mut res = Json(Next { next: format!("/self-service/{domain}/home") }).into_response();
    res.headers_mut().insert(header::SET_COOKIE, SessionCookie::of(&s).set(&new.cookie, max_age));
    Ok(res)
}
