//! What the server sends for a tenant: the outbox, callback settings, push apps,
//! messaging providers and test messages.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::admin::Listing;
use countersign_core::delivery::callbacks::{CallbackConfigInput, CallbackConfigView};
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::{ProvidersInput, PushAppInput, TestMessageInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// These routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_outbox))
        .routes(routes!(retry_outbox))
        .routes(routes!(list_apps))
        .routes(routes!(get_app, put_app, delete_app))
        .routes(routes!(get_providers, put_providers))
        .routes(routes!(test_message))
        .routes(routes!(get_callbacks, put_callbacks))
        .routes(routes!(new_callback_secret))
}

/// Filter of the outbox listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only messages in this state: `queued`, `sending`, `sent`, `dead`.
    state: Option<String>,
    /// Rows per page, 1–500 (default 100).
    limit: Option<u32>,
    /// Return messages after this cursor (the `nextAfter` of the previous page,
    /// `createdAtMillis:messageID`).
    after: Option<String>,
}

/// Outbox messages, newest first, without their payloads (docs/delivery.md).
#[utoipa::path(get, path = "/admin/v1/outbox", tag = "admin", params(OutboxQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<OutboxMessage>, description = "A page of messages, newest first, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "`state` unknown, `limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_outbox(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> Result<Json<Listing<OutboxMessage>>, ApiError> {
    Ok(Json(s.core.list_outbox(q.state.as_deref(), q.after, q.limit).await?))
}

/// The tenant's callback allowlist (passwords and the secret are never shown).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/callbacks", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = CallbackConfigView, description = "The callback allowlist."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn get_callbacks(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<CallbackConfigView>, ApiError> {
    Ok(Json(s.core.callback_config(&domain).await?))
}

/// Replace the tenant's callback allowlist; passwords are stored sealed.
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/callbacks", tag = "admin", params(("domain" = String, Path)),
    request_body = CallbackConfigInput, security(("adminToken" = [])),
    responses(
        (status = 200, body = CallbackConfigView, description = "The callback allowlist as it is now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_callbacks(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<CallbackConfigInput>,
) -> Result<Json<CallbackConfigView>, ApiError> {
    Ok(Json(s.core.set_callback_config(&domain, input).await?))
}

/// A new callback signing secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackSecret {
    /// The secret, shown this once; the relying party verifies `X-CS-Signature` with it.
    secret: String,
}

/// Make a new callback signing secret (the old one stops being used at once).
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/callbacks/secret", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 201, body = CallbackSecret, description = "The new signing secret, shown this once."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn new_callback_secret(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<(StatusCode, Json<CallbackSecret>), ApiError> {
    Ok((StatusCode::CREATED, Json(CallbackSecret { secret: s.core.new_callback_secret(&domain).await? })))
}

/// Send a dead callback, SMS or e-mail again, with a fresh deadline.
#[utoipa::path(post, path = "/admin/v1/outbox/{messageID}/retry", tag = "admin", params(("messageID" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 202, description = "Queued again."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 409, body = ErrorBody, description = "No dead callback, SMS or e-mail with this ID; pushes are not retried (`not_retryable`).")
    ))]
async fn retry_outbox(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.core.retry_outbox(&id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The push apps by app ID, without credentials.
#[utoipa::path(get, path = "/admin/v1/apps", tag = "admin", params(super::ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<serde_json::Value>, description = "A page of the push apps, without credentials, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_apps(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<super::ListQuery>,
) -> Result<Json<Listing<serde_json::Value>>, ApiError> {
    Ok(Json(s.core.push_apps(q.after, q.limit).await?))
}

/// A push app, without credentials (`hasPrivateKey` etc. say what is set; `webpush.publicKey`
/// is the VAPID key browsers subscribe with).
#[utoipa::path(get, path = "/admin/v1/apps/{appID}", tag = "admin", params(("appID" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Object, description = "The push app, without credentials."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such app.")
    ))]
async fn get_app(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.core.push_app(&app_id).await?))
}

/// Create or replace a push app's credentials (FCM, APNs, Web Push); they are stored
/// sealed and never shown again. Every secret must be sent with every change.
#[utoipa::path(put, path = "/admin/v1/apps/{appID}", tag = "admin", params(("appID" = String, Path)),
    request_body = PushAppInput, security(("adminToken" = [])),
    responses(
        (status = 200, body = Object, description = "Stored; the app as it is now, without credentials."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_app(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
    ApiJson(input): ApiJson<PushAppInput>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.core.set_push_app(&app_id, input).await?))
}

/// Remove a push app's credentials.
#[utoipa::path(delete, path = "/admin/v1/apps/{appID}", tag = "admin", params(("appID" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such app.")
    ))]
async fn delete_app(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(app_id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_push_app(&app_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tenant's SMS and e-mail providers, without credentials (`serverDefaults: true`
/// when the tenant has none of its own and the config file's apply).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/providers", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Object, description = "The SMS and e-mail providers, without credentials."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn get_providers(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.core.providers_view(&domain).await?))
}

/// Replace the tenant's SMS and e-mail providers; credentials are stored sealed.
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/providers", tag = "admin", params(("domain" = String, Path)),
    request_body = ProvidersInput, security(("adminToken" = [])),
    responses(
        (status = 200, body = Object, description = "Stored; the providers as they are now, without credentials."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_providers(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<ProvidersInput>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.core.set_providers(&domain, input).await?))
}

/// The outbox message a test send made.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueuedMessage {
    /// Its outbox ID (see `GET /admin/v1/outbox`).
    #[serde(rename = "messageID")]
    message_id: String,
}

/// Send a test SMS or e-mail through the tenant's provider, via the outbox.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/providers/test", tag = "admin",
    params(("domain" = String, Path)), request_body = TestMessageInput, security(("adminToken" = [])),
    responses(
        (status = 202, body = QueuedMessage, description = "The test message is queued in the outbox."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn test_message(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<TestMessageInput>,
) -> Result<(StatusCode, Json<QueuedMessage>), ApiError> {
    let message_id = s.core.send_test_message(&domain, input).await?;
    Ok((StatusCode::ACCEPTED, Json(QueuedMessage { message_id })))
}
