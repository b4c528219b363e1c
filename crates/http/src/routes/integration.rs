//! The integration API (`/v1/…`) for relying parties. Every handler takes [`TenantAuth`].

use crate::wire::{LoginInput, LoginOutput};
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use countersign_core::Timestamp;
use countersign_core::admin::AccountState;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::TenantAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery, OptionalJson};
use crate::qr;

/// The integration routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(account_state))
        .routes(routes!(start_activation))
        .routes(routes!(issue_sign_in_link))
        .routes(routes!(activation_png))
        .routes(routes!(activation_svg))
        .routes(routes!(login))
        .routes(routes!(session_status))
        .routes(routes!(resend))
        .routes(routes!(enroll_token, list_tokens))
        .routes(routes!(confirm_token))
        .routes(routes!(start_qr_login))
        .routes(routes!(generate_votp))
        .routes(routes!(validate_event))
        .routes(routes!(fido_registration_request))
        .routes(routes!(fido_register))
        .routes(routes!(fido_authentication_request))
}

/// The account state of `userID@domain`: check it before starting a login. A user of
/// another tenant than the key's is reported as not found.
#[utoipa::path(get, path = "/v1/users/{user}", tag = "integration",
    params(("user" = String, Path, description = "userID@domain", example = "alice@example.com")),
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = AccountState, description = "The user's account state and authenticators."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 422, body = ErrorBody, description = "The path is not a `userID@domain` (`invalid_value`).")
    ))]
async fn account_state(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<AccountState>, ApiError> {
    Ok(Json(s.core.account_state(&auth.tenant, &user).await?))
}

/// Activation data: what the self-service page shows the user.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActivationOutput {
    /// The activation ID.
    #[serde(rename = "activationID")]
    activation_id: String,
    /// When the activation stops being usable.
    #[schema(value_type = String, format = DateTime)]
    expires_at: Timestamp,
    /// The text the QR code encodes (`countersign://activate?…`).
    qr_payload: String,
    /// The same as a link a phone can open (`<server>/app/activate?…`).
    app_link: String,
    /// The QR code as PNG, base64.
    qr_png: String,
    /// The QR code as SVG.
    qr_svg: String,
}

/// Start activating a mobile authenticator for a user.
#[utoipa::path(post, path = "/v1/users/{user}/activations", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 201, body = ActivationOutput, description = "The activation: its code, QR code links and expiry."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "The tenant does not allow device enrollment (`device_enrollment_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer.")
    ))]
async fn start_activation(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> Result<(StatusCode, Json<ActivationOutput>), ApiError> {
    let a = s.core.start_activation(&auth.tenant, &user).await?;
    let png = qr::png(&a.qr_payload).map_err(|e| ApiError::internal(&e))?;
    let svg = qr::svg(&a.qr_payload).map_err(|e| ApiError::internal(&e))?;
    Ok((
        StatusCode::CREATED,
        Json(ActivationOutput {
            activation_id: a.activation_id,
            expires_at: a.expires_at,
            qr_payload: a.qr_payload,
            app_link: a.app_link,
            qr_png: STANDARD.encode(png),
            qr_svg: svg,
        }),
    ))
}

/// Issue a one-time link that signs the user in to the self-service pages (docs/web.md):
/// hand it to a user who is signed in at the relying party.
#[utoipa::path(post, path = "/v1/users/{user}/sign-in-links", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 201, body = countersign_core::web::IssuedLink, description = "The link (`url` holds its token, shown this once): it works once, for 15 minutes."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "The user is locked or disabled (`user_locked`, `user_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`).")
    ))]
async fn issue_sign_in_link(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> Result<(StatusCode, Json<countersign_core::web::IssuedLink>), ApiError> {
    let core = s.core.acting(auth.actor());
    Ok((StatusCode::CREATED, Json(core.issue_sign_in_link(&auth.tenant, &user).await?)))
}

/// The activation's QR code as PNG, while its code is unused.
#[utoipa::path(get, path = "/v1/activations/{activationID}/qr.png", tag = "integration",
    params(("activationID" = String, Path)), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, content_type = "image/png", body = Vec<u8>, description = "The QR code as a PNG image."),
        (status = 404, body = ErrorBody, description = "No such activation."),
        (status = 410, body = ErrorBody, description = "The activation's code was used or expired.")
    ))]
async fn activation_png(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let payload = s.core.activation_qr(&auth.tenant, &id).await?;
    let png = qr::png(&payload).map_err(|e| ApiError::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

/// The activation's QR code as SVG, while its code is unused.
#[utoipa::path(get, path = "/v1/activations/{activationID}/qr.svg", tag = "integration",
    params(("activationID" = String, Path)), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, content_type = "image/svg+xml", body = String, description = "The QR code as an SVG image."),
        (status = 404, body = ErrorBody, description = "No such activation."),
        (status = 410, body = ErrorBody, description = "The activation's code was used or expired.")
    ))]
async fn activation_svg(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let payload = s.core.activation_qr(&auth.tenant, &id).await?;
    let svg = qr::svg(&payload).map_err(|e| ApiError::internal(&e))?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")], svg).into_response())
}

/// Start the authentication type `passKey` names (a push — `push`, `NoPIN`, `PIN`,
/// `Fingerprint` — a one-time code by SMS, e-mail or voice call, a QR login, a FIDO
/// ceremony, a static-password challenge; docs/otp.md), check a token code (`otp`),
/// answer a challenge (`requestID`), or let the risk engine decide (no credentials). A
/// push with `timeout` > 0 waits for the answer.
#[utoipa::path(post, path = "/v1/users/{user}/login", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), request_body = LoginInput,
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = LoginOutput, description = "The session: final (`Accept`, `Decline`, …) for a synchronous login, else `Pending` with its request ID."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "Push is off for the tenant (`push_authorization_disabled`), or the user is locked (`user_locked`) or disabled (`user_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 409, body = ErrorBody, description = "The session answered is over (`session_closed`) or is not this user's or type's (`session_mismatch`); FIDO or UAF is not set up for the tenant (`fido_not_configured`, `uaf_not_configured`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`)."),
        (status = 429, body = ErrorBody, description = "Too many login requests for the user (`too_many_login_requests`, with `retryAfterSeconds` and a `Retry-After` header).")
    ))]
async fn login(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(input): ApiJson<LoginInput>,
) -> Result<Json<LoginOutput>, ApiError> {
    let mut out = LoginOutput::from(s.core.acting(auth.actor()).login(&auth.tenant, &user, input.into_call()?).await?);
    // A QR login started as a type: its QR code, as `POST /v1/qr-logins` gives it.
    if let Some(payload) = &out.qr_payload {
        out.qr_png = Some(STANDARD.encode(qr::png(payload).map_err(|e| ApiError::internal(&e))?));
        out.qr_svg = Some(qr::svg(payload).map_err(|e| ApiError::internal(&e))?);
    }
    Ok(Json(out))
}

/// Parameters of the session status call.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatusQuery {
    /// Wait up to this many seconds (0–60) for the session to end.
    wait: Option<u32>,
}

/// The state of a login session, at once or after waiting up to `wait` seconds.
#[utoipa::path(get, path = "/v1/sessions/{requestID}", tag = "integration",
    params(("requestID" = String, Path), StatusQuery), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = LoginOutput, description = "The session's state (`sessionStatus`), final or still `Pending`."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such session for this tenant (`session_not_found`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn session_status(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StatusQuery>,
) -> Result<Json<LoginOutput>, ApiError> {
    Ok(Json(s.core.session_status(&auth.tenant, &id, q.wait).await?.into()))
}

/// Send a code session's message again (the same code), within the type's `maxResends`.
#[utoipa::path(post, path = "/v1/sessions/{requestID}/resend", tag = "integration",
    params(("requestID" = String, Path)), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 202, body = countersign_core::otp::ResendOutput, description = "The message is queued again."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such session for this tenant (`session_not_found`)."),
        (status = 409, body = ErrorBody, description = "No more resends (`resend_limit`), resends are off (`resend_disabled`), or the session is over (`session_closed`).")
    ))]
async fn resend(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<(axum::http::StatusCode, Json<countersign_core::otp::ResendOutput>), ApiError> {
    Ok((axum::http::StatusCode::ACCEPTED, Json(s.core.resend(&auth.tenant, &id).await?)))
}

/// A software token just enrolled: the `otpauth://` URI (holding the seed, shown this
/// once) and its QR code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenEnrollment {
    /// The token and its URI.
    #[serde(flatten)]
    enrollment: countersign_core::tokens::Enrollment,
    /// The QR code of the URI as PNG, base64.
    #[serde(rename = "qrPNG")]
    qr_png: String,
    /// The QR code as SVG.
    #[serde(rename = "qrSVG")]
    qr_svg: String,
}

/// Enroll a software TOTP/HOTP token (docs/tokens.md); confirm it with a first code.
#[utoipa::path(post, path = "/v1/users/{user}/tokens", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), request_body = countersign_core::tokens::EnrollInput,
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 201, body = TokenEnrollment, description = "The pending token: its seed and `otpauth://` URI, shown this once."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn enroll_token(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::tokens::EnrollInput>,
) -> Result<(StatusCode, Json<TokenEnrollment>), ApiError> {
    let e = s.core.acting(auth.actor()).enroll_token(&auth.tenant, &user, input).await?;
    let png = qr::png(&e.otpauth_uri).map_err(|e| ApiError::internal(&e))?;
    let svg = qr::svg(&e.otpauth_uri).map_err(|e| ApiError::internal(&e))?;
    Ok((StatusCode::CREATED, Json(TokenEnrollment { enrollment: e, qr_png: STANDARD.encode(png), qr_svg: svg })))
}

/// A user's tokens (never their seeds).
#[utoipa::path(get, path = "/v1/users/{user}/tokens", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = Vec<countersign_core::tokens::Token>, description = "The user's tokens, without seeds."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer.")
    ))]
async fn list_tokens(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<Vec<countersign_core::tokens::Token>>, ApiError> {
    Ok(Json(s.core.user_tokens(&auth.tenant, &user).await?))
}

/// Activate a pending software token with its first code.
#[utoipa::path(post, path = "/v1/users/{user}/tokens/{tokenID}/confirm", tag = "integration",
    params(("user" = String, Path, description = "userID@domain"), ("tokenID" = String, Path)),
    request_body = countersign_core::tokens::OtpInput, security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "The token is active."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`), or no such token; another tenant's user gets the same answer."),
        (status = 409, body = ErrorBody, description = "The token is confirmed already (`token_not_pending`)."),
        (status = 422, body = ErrorBody, description = "The code is wrong (`invalid_otp`, with `attemptsLeft`), or invalid input.")
    ))]
async fn confirm_token(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath((user, token_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::OtpInput>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.acting(auth.actor()).confirm_token(&auth.tenant, &user, &token_id, &input.otp).await?))
}

/// A QR login just started, with its QR code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QrLoginOutput {
    /// Request ID, payload and app link.
    #[serde(flatten)]
    start: countersign_core::mobile::qr::QrLoginStart,
    /// The QR code as PNG, base64.
    #[serde(rename = "qrPNG")]
    qr_png: String,
    /// The QR code as SVG.
    #[serde(rename = "qrSVG")]
    qr_svg: String,
}

/// Start a QR login: show the QR code, then follow `GET /v1/sessions/{requestID}` until
/// a device claims it (docs/otp.md, "QR login").
#[utoipa::path(post, path = "/v1/qr-logins", tag = "integration", request_body(content = Option<countersign_core::mobile::qr::QrLoginInput>, description = "optional: an empty body starts the built-in `qr` type"),
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 201, body = QrLoginOutput, description = "The QR login's session, its QR payload and app link."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "QR login is switched off for the tenant (`auth_type_disabled`), or the user is locked or disabled."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn start_qr_login(
    auth: TenantAuth,
    State(s): State<AppState>,
    OptionalJson(input): OptionalJson<countersign_core::mobile::qr::QrLoginInput>,
) -> Result<(StatusCode, Json<QrLoginOutput>), ApiError> {
    let start = s.core.start_qr_login(&auth.tenant, input).await?;
    let png = qr::png(&start.qr_payload).map_err(|e| ApiError::internal(&e))?;
    let svg = qr::svg(&start.qr_payload).map_err(|e| ApiError::internal(&e))?;
    Ok((StatusCode::CREATED, Json(QrLoginOutput { start, qr_png: STANDARD.encode(png), qr_svg: svg })))
}

/// Generate a virtual one-time code through a virtual authenticator's application and
/// deliver it by `SMS`, `Email`, or in this answer (`Response`, where the deployment
/// allows custom delivery). Check it with the login's second call (docs/otp.md).
#[utoipa::path(post, path = "/v1/authenticators/{serialNumber}/applications/{applName}/generate-votp", tag = "integration",
    params(("serialNumber" = String, Path), ("applName" = String, Path)),
    request_body = countersign_core::tokens::virtual_auth::GenerateVotpInput, security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::virtual_auth::GenerateVotpOutput, description = "The code was generated and handed to delivery (or returned, for custom delivery)."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "The tenant does not allow custom delivery (`custom_delivery_disabled`)."),
        (status = 422, body = ErrorBody, description = "No such virtual authenticator (`authenticator_not_found`), no contact for the delivery method (`no_contact`), or a bad `deliveryMethod`.")
    ))]
async fn generate_votp(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath((serial, application)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::virtual_auth::GenerateVotpInput>,
) -> Result<Json<countersign_core::tokens::virtual_auth::GenerateVotpOutput>, ApiError> {
    Ok(Json(s.core.generate_votp(&auth.tenant, &serial, &application, input).await?))
}

/// Score an event (a transaction, a new beneficiary, a login attempt) and, when the risk
/// engine challenges, start the challenge (docs/risk.md, "Event validation").
#[utoipa::path(post, path = "/v1/users/{user}/events/validate", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), request_body = countersign_core::risk::adaptive::EventInput,
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = LoginOutput, description = "The risk decision; a session to follow when the event is challenged."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "The user is locked or disabled, or the challenge's method is switched off."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 409, body = ErrorBody, description = "The challenge's method is not set up for the tenant (`fido_not_configured`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn validate_event(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::risk::adaptive::EventInput>,
) -> Result<Json<LoginOutput>, ApiError> {
    let r = s.core.acting(auth.actor()).validate_event(&auth.tenant, &user, input).await?;
    Ok(Json(LoginOutput::new("EventValidationOutput", r)))
}

/// Start registering a FIDO2 passkey: options for `navigator.credentials.create`
/// (docs/fido.md).
#[utoipa::path(post, path = "/v1/users/{user}/generate-fido-registration-request", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), request_body = countersign_core::fido::FidoRequestInput,
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = countersign_core::fido::FidoRequestOutput, description = "Options for `navigator.credentials.create` and the request ID."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "FIDO is turned off for the tenant (`fido_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 409, body = ErrorBody, description = "The tenant has no FIDO relying party (`fido_not_configured`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn fido_registration_request(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::fido::FidoRequestInput>,
) -> Result<Json<countersign_core::fido::FidoRequestOutput>, ApiError> {
    Ok(Json(s.core.fido_registration_request(&auth.tenant, &user, input).await?))
}

/// Finish registering a FIDO2 passkey with the browser's response.
#[utoipa::path(post, path = "/v1/users/{user}/register-fido-authenticator", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), request_body = countersign_core::fido::FidoRegisterInput,
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 201, body = countersign_core::fido::CredentialView, description = "The passkey is registered."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 409, body = ErrorBody, description = "The ceremony was used or expired (`session_closed`), or the credential is registered already."),
        (status = 422, body = ErrorBody, description = "The browser's response does not verify (`fido_wrong_origin`, `fido_wrong_rp_id`, `fido_user_not_verified`, …).")
    ))]
async fn fido_register(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::fido::FidoRegisterInput>,
) -> Result<(StatusCode, Json<countersign_core::fido::CredentialView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.acting(auth.actor()).fido_register(&auth.tenant, &user, input).await?)))
}

/// Start a FIDO2 authentication: options for `navigator.credentials.get`; finish it with
/// the login call carrying `credentials.fidoAuthenticator.authenticationResponse`.
#[utoipa::path(post, path = "/v1/users/{user}/generate-fido-authentication-request", tag = "integration",
    params(("user" = String, Path, description = "userID@domain")), request_body = countersign_core::fido::FidoRequestInput,
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, body = countersign_core::fido::FidoRequestOutput, description = "Options for `navigator.credentials.get` and the request ID."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "FIDO is disabled for the tenant (`fido_disabled`), or the user is locked or disabled."),
        (status = 404, body = ErrorBody, description = "No such user in the key's tenant (`user_not_found`, …); another tenant's user gets the same answer."),
        (status = 409, body = ErrorBody, description = "The tenant has no FIDO relying party (`fido_not_configured`)."),
        (status = 422, body = ErrorBody, description = "The user has no FIDO authenticator (`no_fido_authenticator`), or UAF is not available (`uaf_unavailable`); or invalid input.")
    ))]
async fn fido_authentication_request(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::fido::FidoRequestInput>,
) -> Result<Json<countersign_core::fido::FidoRequestOutput>, ApiError> {
    Ok(Json(s.core.fido_authentication_request(&auth.tenant, &user, input).await?))
}
