//! The mobile API (`/mobile/v1/…`) for authenticator apps (docs/mobile-protocol.md).
//! Activation steps (a) and (b) are authenticated by the activation code and nonce;
//! everything after by [`DeviceRequest`] signatures.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_proto::messages::{
    CodeRequest, Confirmation, InstanceData, InstanceRequest, LicenseData, PendingRequest, PushRegistration,
    ResponseBody, ResponseResult,
};
use serde::de::IgnoredAny;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::DeviceRequest;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

/// The mobile routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(activation_code))
        .routes(routes!(activation_instance))
        .routes(routes!(confirm))
        .routes(routes!(register_push))
        .routes(routes!(pending_requests))
        .routes(routes!(pending_request))
        .routes(routes!(respond))
        .routes(routes!(webpush_key))
        .routes(routes!(claim_qr_login))
        .routes(routes!(uaf_trusted_facets))
}

/// The tenant's UAF TrustedFacets list (`application/fido.trusted-apps+json`): a UAF
/// policy's `appID` may point here, and FIDO UAF clients fetch it to learn which apps and
/// web origins may use the tenant's UAF registrations (docs/fido.md).
#[utoipa::path(get, path = "/mobile/v1/tenants/{domain}/uaf/trusted-facets", tag = "mobile",
    params(("domain" = String, Path)),
    responses(
        (status = 200, content_type = "application/fido.trusted-apps+json", body = Object, description = "{\"trustedFacets\": [{\"version\": {\"major\": 1, \"minor\": 1}, \"ids\": [...]}]}"),
        (status = 403, body = ErrorBody, description = "FIDO is turned off for the tenant (`fido_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "The tenant has no FIDO relying party (`fido_not_configured`) or no UAF facets (`uaf_not_configured`).")
    ))]
async fn uaf_trusted_facets(
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let list = s.core.uaf_trusted_facets(&domain).await?;
    Ok(([(axum::http::header::CONTENT_TYPE, "application/fido.trusted-apps+json")], Json(list)).into_response())
}

/// The Web Push key of an app.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebPushKey {
    /// The VAPID public key (uncompressed P-256 point, base64url): the
    /// `applicationServerKey` a browser subscribes with.
    public_key: String,
}

/// The VAPID public key a browser-based authenticator subscribes to Web Push with.
#[utoipa::path(get, path = "/mobile/v1/apps/{appID}/webpush", tag = "mobile", params(("appID" = String, Path)),
    responses(
        (status = 200, body = WebPushKey, description = "The VAPID public key."),
        (status = 404, body = ErrorBody, description = "No Web Push configured for this app (`app_not_found`).")
    ))]
async fn webpush_key(
    State(s): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<WebPushKey>, ApiError> {
    Ok(Json(WebPushKey { public_key: s.core.webpush_public_key(&app_id).await? }))
}

/// Activation step (a): prove the activation code; get the license data.
#[utoipa::path(post, path = "/mobile/v1/activations/{activationID}/code", tag = "mobile",
    params(("activationID" = String, Path)), request_body = Object,
    responses(
        (status = 200, body = Object, description = "The code is right: the license data (`activationID`, `nonce`, `userID`, `domain`, `expiresAt`, `pinRequired`)."),
        (status = 404, body = ErrorBody, description = "No such activation."),
        (status = 410, body = ErrorBody, description = "The activation is over (`activation_burned`, `activation_used`, `activation_expired`)."),
        (status = 422, body = ErrorBody, description = "The activation code is wrong (`invalid_activation_code`, with `attemptsLeft`).")
    ))]
async fn activation_code(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CodeRequest>,
) -> Result<Json<LicenseData>, ApiError> {
    Ok(Json(s.core.activation_code(&id, &req.code).await?))
}

/// Activation step (b): register the instance's public keys, with proofs of possession.
#[utoipa::path(post, path = "/mobile/v1/activations/{activationID}/instance", tag = "mobile",
    params(("activationID" = String, Path)), request_body = Object,
    responses(
        (status = 201, body = Object, description = "Registered: the `deviceID`, in state `Pending` until confirmed."),
        (status = 403, body = ErrorBody, description = "The tenant does not allow this (`device_enrollment_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such activation."),
        (status = 409, body = ErrorBody, description = "The user has a device already and the tenant allows one (`device_exists`)."),
        (status = 410, body = ErrorBody, description = "The activation was used, burned or expired."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn activation_instance(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<InstanceRequest>,
) -> Result<(StatusCode, Json<InstanceData>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.activation_instance(&id, req).await?)))
}

/// Activation step (c): confirm; the device becomes active. Device-signed.
#[utoipa::path(post, path = "/mobile/v1/device/confirm", tag = "mobile", security(("deviceSignature" = [])),
    responses(
        (status = 200, body = Object, description = "Confirmed: `userID`, `domain`, `deviceID`, `gatewayID`."),
        (status = 401, body = ErrorBody, description = "The device signature headers are missing or do not verify, or the device is unknown."),
        (status = 409, body = ErrorBody, description = "The device is confirmed already (`device_not_pending`).")
    ))]
async fn confirm(
    State(s): State<AppState>,
    req: DeviceRequest<IgnoredAny, true>,
) -> Result<Json<Confirmation>, ApiError> {
    Ok(Json(s.core.confirm_device(&req.device).await?))
}

/// Activation step (d): register where pushes go. Device-signed.
#[utoipa::path(put, path = "/mobile/v1/device/push", tag = "mobile", request_body = Object, security(("deviceSignature" = [])),
    responses(
        (status = 204, description = "Stored: pushes go there from now on."),
        (status = 401, body = ErrorBody, description = "The device signature headers are missing or do not verify, or the device is unknown."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn register_push(
    State(s): State<AppState>,
    req: DeviceRequest<PushRegistration>,
) -> Result<StatusCode, ApiError> {
    s.core.register_push(&req.device, req.body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The device user's pending login requests. Device-signed.
#[utoipa::path(get, path = "/mobile/v1/requests", tag = "mobile", security(("deviceSignature" = [])),
    responses(
        (status = 200, body = Vec<Object>, description = "The pending requests, possibly none."),
        (status = 401, body = ErrorBody, description = "The device signature headers are missing or do not verify, or the device is unknown.")
    ))]
async fn pending_requests(
    State(s): State<AppState>,
    req: DeviceRequest<IgnoredAny>,
) -> Result<Json<Vec<PendingRequest>>, ApiError> {
    Ok(Json(s.core.pending_requests(&req.device).await?))
}

/// One pending login request. Device-signed.
#[utoipa::path(get, path = "/mobile/v1/requests/{requestID}", tag = "mobile", params(("requestID" = String, Path)), security(("deviceSignature" = [])),
    responses(
        (status = 200, body = Object, description = "The pending request: what to show the user and how to answer."),
        (status = 401, body = ErrorBody, description = "The device signature headers are missing or do not verify, or the device is unknown."),
        (status = 404, body = ErrorBody, description = "No such request."),
        (status = 409, body = ErrorBody, description = "The session is no longer pending (`session_closed`).")
    ))]
async fn pending_request(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    req: DeviceRequest<IgnoredAny>,
) -> Result<Json<PendingRequest>, ApiError> {
    Ok(Json(s.core.pending_request(&req.device, &id).await?))
}

/// Answer a login request with a signed decision. Device-signed.
#[utoipa::path(post, path = "/mobile/v1/requests/{requestID}/response", tag = "mobile",
    params(("requestID" = String, Path)), request_body = Object, security(("deviceSignature" = [])),
    responses(
        (status = 200, body = Object, description = "The answer was taken: the session's `sessionStatus`."),
        (status = 401, body = ErrorBody, description = "The device signature does not verify (`bad_signature`), or the device is unknown."),
        (status = 403, body = ErrorBody, description = "The device was removed or disconnected (`device_disconnected`)."),
        (status = 404, body = ErrorBody, description = "No such request."),
        (status = 409, body = ErrorBody, description = "The session is no longer pending (`session_closed`)."),
        (status = 422, body = ErrorBody, description = "Wrong PIN (`wrong_pin`, with `attemptsLeft`) or a display that does not match (`display_mismatch`).")
    ))]
async fn respond(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    req: DeviceRequest<ResponseBody>,
) -> Result<Json<ResponseResult>, ApiError> {
    crate::limits::answer_by_device(&s, &req.device).await?;
    Ok(Json(s.core.respond(&req.device, &id, req.body).await?))
}

/// Claim a QR login with the code from its QR payload. Device-signed.
#[utoipa::path(post, path = "/mobile/v1/qr-logins/{requestID}/claim", tag = "mobile", params(("requestID" = String, Path)),
    request_body = Object, security(("deviceSignature" = [])),
    responses(
        (status = 200, body = Object, description = "Claimed: `sessionStatus` `Accept`."),
        (status = 401, body = ErrorBody, description = "The device signature headers are missing or do not verify, or the device is unknown."),
        (status = 404, body = ErrorBody, description = "No such request."),
        (status = 409, body = ErrorBody, description = "The QR login was claimed or expired (`session_closed`)."),
        (status = 422, body = ErrorBody, description = "The code is wrong (`invalid_code`).")
    ))]
async fn claim_qr_login(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    req: DeviceRequest<countersign_proto::messages::ClaimRequest>,
) -> Result<Json<ResponseResult>, ApiError> {
    let state = s.core.claim_qr_login(&req.device, &id, &req.body.code).await?;
    Ok(Json(ResponseResult { session_status: state.as_str().to_owned() }))
}
