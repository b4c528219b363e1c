//! The admin API (`/admin/v1/…`): tenants, their users and API keys, admin tokens.
//! Every handler takes [`AdminAuth`].

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::AccessKey;
use countersign_core::callbacks::{CallbackConfigInput, CallbackConfigView};
use countersign_core::device::Device;
use countersign_core::ops::{CreateKey, CreateTenant, CreateUser, Listing, UpdateTenant, UpdateUser};
use countersign_core::outbox::OutboxMessage;
use countersign_core::providers::{ProvidersInput, PushAppInput, TestMessageInput};
use countersign_core::{Tenant, User};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(create_user, list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(list_devices))
        .routes(routes!(remove_device))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(list_outbox))
        .routes(routes!(retry_outbox))
        .routes(routes!(list_apps))
        .routes(routes!(get_app, put_app, delete_app))
        .routes(routes!(get_providers, put_providers))
        .routes(routes!(test_message))
        .routes(routes!(list_auth_types))
        .routes(routes!(put_auth_type, delete_auth_type))
        .routes(routes!(import_tokens))
        .routes(routes!(list_tenant_tokens))
        .routes(routes!(delete_token))
        .routes(routes!(assign_token))
        .routes(routes!(unlock_token))
        .routes(routes!(resync_token))
        .routes(routes!(assign_virtual, list_virtuals))
        .routes(routes!(delete_virtual))
        .routes(routes!(set_static_password, delete_static_password))
        .routes(routes!(unlock_static_password))
        .routes(routes!(get_risk, put_risk))
        .routes(routes!(get_fido, put_fido))
        .routes(routes!(list_fido_credentials))
        .routes(routes!(rename_fido_credential, delete_fido_credential))
        .routes(routes!(list_uaf_registrations))
        .routes(routes!(deregister_uaf))
        .routes(routes!(get_callbacks, put_callbacks))
        .routes(routes!(new_callback_secret))
        .routes(routes!(create_admin_token, list_admin_tokens))
        .routes(routes!(revoke_admin_token))
}

/// Paging parameters of list endpoints.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Rows per page, 1–500 (default 100).
    limit: Option<u32>,
    /// Return rows after this key (the `nextAfter` of the previous page).
    after: Option<String>,
}

/// A key or token just created; `key` is shown this once and cannot be retrieved again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedKey {
    /// Identifier, used to revoke it.
    id: String,
    /// Its name.
    name: String,
    /// The secret itself.
    #[schema(example = "csk_3q2-7xYbQb5mZ0r8mJmH1uP0n4WQy2m3Vx7l0cQe1Zk")]
    key: String,
}

fn created(c: countersign_core::NewCredential) -> (StatusCode, Json<CreatedKey>) {
    (StatusCode::CREATED, Json(CreatedKey { id: c.record.id, name: c.record.name, key: c.secret }))
}

/// Create a tenant.
#[utoipa::path(post, path = "/admin/v1/tenants", tag = "admin", request_body = CreateTenant,
    security(("adminToken" = [])),
    responses(
        (status = 201, body = Tenant, description = "The new tenant."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 409, body = ErrorBody, description = "A tenant with this domain exists (`tenant_exists`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_tenant(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CreateTenant>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.create_tenant(input).await?)))
}

/// List tenants by domain.
#[utoipa::path(get, path = "/admin/v1/tenants", tag = "admin", params(ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<Tenant>, description = "A page of tenants and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn list_tenants(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Tenant>>, ApiError> {
    Ok(Json(s.core.list_tenants(q.after, q.limit).await?))
}

/// Get a tenant.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Tenant, description = "The tenant."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn get_tenant(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(s.core.tenant(&domain).await?))
}

/// Change a tenant's settings (settings not named keep their values).
#[utoipa::path(patch, path = "/admin/v1/tenants/{domain}", tag = "admin", params(("domain" = String, Path)),
    request_body = UpdateTenant, security(("adminToken" = [])),
    responses(
        (status = 200, body = Tenant, description = "The tenant with its new settings."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn update_tenant(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(patch): ApiJson<UpdateTenant>,
) -> Result<Json<Tenant>, ApiError> {
    Ok(Json(s.core.update_tenant(&domain, patch).await?))
}

/// Delete a tenant with all its users and API keys.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 204, description = "Deleted, with its users and API keys."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn delete_tenant(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_tenant(&domain).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a user.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/users", tag = "admin", params(("domain" = String, Path)),
    request_body = CreateUser, security(("adminToken" = [])),
    responses(
        (status = 201, body = User, description = "The new user."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "A user with this userID exists (`user_exists`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_user(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<CreateUser>,
) -> Result<(StatusCode, Json<User>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.create_user(&domain, input).await?)))
}

/// List a tenant's users by userID.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users", tag = "admin",
    params(("domain" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<User>, description = "A page of users and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn list_users(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<User>>, ApiError> {
    Ok(Json(s.core.list_users(&domain, q.after, q.limit).await?))
}

/// Get a user.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = User, description = "The user, with contact data."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn get_user(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.core.user(&domain, &user_id).await?))
}

/// Change a user (fields left out keep their values; `null` clears phone, email, locale).
#[utoipa::path(patch, path = "/admin/v1/tenants/{domain}/users/{userID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), request_body = UpdateUser,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = User, description = "The user as it is now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn update_user(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiJson(patch): ApiJson<UpdateUser>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.core.update_user(&domain, &user_id, patch).await?))
}

/// Delete a user.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn delete_user(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_user(&domain, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an API key for a tenant. The key is in this answer only.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/api-keys", tag = "admin", params(("domain" = String, Path)),
    request_body = CreateKey, security(("adminToken" = [])),
    responses(
        (status = 201, body = CreatedKey, description = "The new API key; `token` is shown this once."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_api_key(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    Ok(created(s.core.create_api_key(&domain, input).await?))
}

/// List a tenant's API keys (never the keys themselves), revoked ones included.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/api-keys", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<AccessKey>, description = "The tenant's API keys, without their secrets."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn list_api_keys(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<Vec<AccessKey>>, ApiError> {
    Ok(Json(s.core.list_api_keys(&domain).await?))
}

/// Revoke an API key; it stops working at once.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/api-keys/{id}", tag = "admin",
    params(("domain" = String, Path), ("id" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or key.")
    ))]
async fn revoke_api_key(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.revoke_api_key(&domain, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create an admin token. The token is in this answer only.
#[utoipa::path(post, path = "/admin/v1/admin-tokens", tag = "admin", request_body = CreateKey,
    security(("adminToken" = [])),
    responses(
        (status = 201, body = CreatedKey, description = "The new admin token; `token` is shown this once."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_admin_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CreateKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    Ok(created(s.core.create_admin_token(input).await?))
}

/// List admin tokens (never the tokens themselves), revoked ones included.
#[utoipa::path(get, path = "/admin/v1/admin-tokens", tag = "admin", security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<AccessKey>, description = "The admin tokens, without their secrets."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`).")
    ))]
async fn list_admin_tokens(_: AdminAuth, State(s): State<AppState>) -> Result<Json<Vec<AccessKey>>, ApiError> {
    Ok(Json(s.core.list_admin_tokens().await?))
}

/// Revoke an admin token (the one making the call included).
#[utoipa::path(delete, path = "/admin/v1/admin-tokens/{id}", tag = "admin", params(("id" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 204, description = "Revoked."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such admin token (`admin_token_not_found`).")
    ))]
async fn revoke_admin_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.core.revoke_admin_token(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's mobile authenticators, in any state.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/devices", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<Device>, description = "The user's mobile authenticators."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn list_devices(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<Device>>, ApiError> {
    Ok(Json(s.core.list_devices(&domain, &user_id).await?))
}

/// Remove a user's mobile authenticator; it can no longer sign in or answer.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/devices/{deviceID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("deviceID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or device.")
    ))]
async fn remove_device(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, device_id)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.remove_device(&domain, &user_id, &device_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Filter of the outbox listing.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OutboxQuery {
    /// Only messages in this state: `queued`, `sending`, `sent`, `dead`.
    state: Option<String>,
    /// At most this many (1–500, default 100).
    limit: Option<u32>,
}

/// Outbox messages, newest first, without their payloads (docs/delivery.md).
#[utoipa::path(get, path = "/admin/v1/outbox", tag = "admin", params(OutboxQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<OutboxMessage>, description = "The messages, newest first."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn list_outbox(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<OutboxQuery>,
) -> Result<Json<Vec<OutboxMessage>>, ApiError> {
    Ok(Json(s.core.list_outbox(q.state.as_deref(), q.limit).await?))
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

/// Every push app, without credentials.
#[utoipa::path(get, path = "/admin/v1/apps", tag = "admin", security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<Object>, description = "The push apps, without credentials."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`).")
    ))]
async fn list_apps(_: AdminAuth, State(s): State<AppState>) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    Ok(Json(s.core.push_apps().await?))
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

/// The tenant's authentication types: the built-in ones (as adjusted) and its own.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/auth-types", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<countersign_core::otp::AuthTypeView>, description = "The tenant's authentication types."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn list_auth_types(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<Vec<countersign_core::otp::AuthTypeView>>, ApiError> {
    Ok(Json(s.core.auth_types(&domain).await?))
}

/// Adjust a built-in authentication type or add one (docs/otp.md).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/auth-types/{name}", tag = "admin",
    params(("domain" = String, Path), ("name" = String, Path)), request_body = countersign_core::otp::AuthType,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::otp::AuthTypeView, description = "The type as it is now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or type."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_auth_type(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, name)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::otp::AuthType>,
) -> Result<Json<countersign_core::otp::AuthTypeView>, ApiError> {
    Ok(Json(s.core.set_auth_type(&domain, &name, input).await?))
}

/// Remove a tenant's own type, or return a built-in one to its defaults.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/auth-types/{name}", tag = "admin",
    params(("domain" = String, Path), ("name" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed, or back to the built-in defaults."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or type."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn delete_auth_type(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, name)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_auth_type(&domain, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// How many tokens an import added.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    /// Tokens imported.
    imported: usize,
}

/// Import hardware tokens from CSV (all or none; docs/tokens.md).
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/tokens/import", tag = "admin", params(("domain" = String, Path)),
    request_body = countersign_core::tokens::ImportInput, security(("adminToken" = [])),
    responses(
        (status = 201, body = Imported, description = "Every token in the file was imported."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "A token in the file exists already (`token_exists`); nothing was imported."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn import_tokens(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::tokens::ImportInput>,
) -> Result<(StatusCode, Json<Imported>), ApiError> {
    Ok((StatusCode::CREATED, Json(Imported { imported: s.core.import_tokens(&domain, input).await? })))
}

/// The tenant's tokens (never their seeds).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/tokens", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<countersign_core::tokens::Token>, description = "The tenant's tokens, without seeds."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn list_tenant_tokens(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<Vec<countersign_core::tokens::Token>>, ApiError> {
    Ok(Json(s.core.tenant_tokens(&domain).await?))
}

/// Remove a token.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token.")
    ))]
async fn delete_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_token(&domain, &token_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Assign a token to a user (`{"userID": null}` unassigns it).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}/user", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), request_body = countersign_core::tokens::AssignInput,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "The token with its new user."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token.")
    ))]
async fn assign_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::AssignInput>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.assign_token(&domain, &token_id, input).await?))
}

/// Unlock a token locked after too many wrong codes.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}/unlock", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "Unlocked; the token."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token.")
    ))]
async fn unlock_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.unlock_token(&domain, &token_id).await?))
}

/// Resynchronise an HOTP token with two consecutive codes.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/tokens/{tokenID}/resync", tag = "admin",
    params(("domain" = String, Path), ("tokenID" = String, Path)), request_body = countersign_core::tokens::ResyncInput,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::tokens::Token, description = "Resynchronised; the token."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or token."),
        (status = 422, body = ErrorBody, description = "The codes do not resynchronise the token (`resync_failed`), or it is not HOTP (`not_hotp`).")
    ))]
async fn resync_token(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, token_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::tokens::ResyncInput>,
) -> Result<Json<countersign_core::tokens::Token>, ApiError> {
    Ok(Json(s.core.resync_token(&domain, &token_id, input).await?))
}

/// Assign a new virtual authenticator (serial number and applications) to a user.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/users/{userID}/virtual-authenticators", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), request_body = countersign_core::virtual_auth::AssignVirtual,
    security(("adminToken" = [])),
    responses(
        (status = 201, body = countersign_core::virtual_auth::VirtualAuthenticator, description = "The new virtual authenticator."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn assign_virtual(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::virtual_auth::AssignVirtual>,
) -> Result<(StatusCode, Json<countersign_core::virtual_auth::VirtualAuthenticator>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.assign_virtual(&domain, &user_id, input).await?)))
}

/// A user's virtual authenticators.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/virtual-authenticators", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<countersign_core::virtual_auth::VirtualAuthenticator>, description = "The user's virtual authenticators."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn list_virtuals(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<countersign_core::virtual_auth::VirtualAuthenticator>>, ApiError> {
    Ok(Json(s.core.user_virtuals(&domain, &user_id).await?))
}

/// Remove a virtual authenticator.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/virtual-authenticators/{serialNumber}", tag = "admin",
    params(("domain" = String, Path), ("serialNumber" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or virtual authenticator."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn delete_virtual(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, serial)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_virtual(&domain, &serial).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Set a user's static password (stored as an Argon2id hash; never shown).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/users/{userID}/static-password", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), request_body = countersign_core::password::SetPasswordInput,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::password::PasswordState, description = "Set; the password's state (never the password)."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn set_static_password(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiJson(input): ApiJson<countersign_core::password::SetPasswordInput>,
) -> Result<Json<countersign_core::password::PasswordState>, ApiError> {
    Ok(Json(s.core.set_static_password(&domain, &user_id, input).await?))
}

/// Remove a user's static password.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/static-password", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn delete_static_password(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_static_password(&domain, &user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Unlock a static password locked after wrong tries.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/users/{userID}/static-password/unlock", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::password::PasswordState, description = "Unlocked; the password's state."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn unlock_static_password(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<countersign_core::password::PasswordState>, ApiError> {
    Ok(Json(s.core.unlock_static_password(&domain, &user_id).await?))
}

/// The tenant's risk settings: IP lists and rules (the defaults when it set none).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/risk", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::risk::RiskSettings, description = "The risk settings."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant.")
    ))]
async fn get_risk(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<countersign_core::risk::RiskSettings>, ApiError> {
    Ok(Json(s.core.risk_settings_of(&domain).await?))
}

/// Replace the tenant's risk settings (docs/risk.md: facts, conditions, outcomes).
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/risk", tag = "admin", params(("domain" = String, Path)),
    request_body = countersign_core::risk::RiskSettings, security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::risk::RiskSettings, description = "The risk settings as they are now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_risk(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::risk::RiskSettings>,
) -> Result<Json<countersign_core::risk::RiskSettings>, ApiError> {
    Ok(Json(s.core.set_risk_settings(&domain, input).await?))
}

/// The tenant's FIDO relying party.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/fido", tag = "admin", params(("domain" = String, Path)),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::fido::RelyingParty, description = "The FIDO relying party."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "The tenant has no FIDO relying party (`fido_not_configured`).")
    ))]
async fn get_fido(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
) -> Result<Json<countersign_core::fido::RelyingParty>, ApiError> {
    Ok(Json(s.core.relying_party_of(&domain).await?))
}

/// Set the tenant's FIDO relying party: RP ID, allowed origins, on/off.
#[utoipa::path(put, path = "/admin/v1/tenants/{domain}/fido", tag = "admin", params(("domain" = String, Path)),
    request_body = countersign_core::fido::RelyingParty, security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::fido::RelyingParty, description = "The FIDO relying party as it is now."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn put_fido(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<countersign_core::fido::RelyingParty>,
) -> Result<Json<countersign_core::fido::RelyingParty>, ApiError> {
    Ok(Json(s.core.set_relying_party(&domain, input).await?))
}

/// A user's FIDO credentials.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<countersign_core::fido::CredentialView>, description = "The user's FIDO credentials."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn list_fido_credentials(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<countersign_core::fido::CredentialView>>, ApiError> {
    Ok(Json(s.core.fido_credentials(&domain, &user_id).await?))
}

/// A new name for a credential.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    /// The name.
    name: String,
}

/// Rename a FIDO credential.
#[utoipa::path(patch, path = "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials/{credentialID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("credentialID" = String, Path)), request_body = Rename,
    security(("adminToken" = [])),
    responses(
        (status = 200, body = countersign_core::fido::CredentialView, description = "The renamed credential."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or credential."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn rename_fido_credential(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, credential_id)): ApiPath<(String, String, String)>,
    ApiJson(input): ApiJson<Rename>,
) -> Result<Json<countersign_core::fido::CredentialView>, ApiError> {
    Ok(Json(s.core.rename_fido_credential(&domain, &user_id, &credential_id, &input.name).await?))
}

/// Remove a FIDO credential.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials/{credentialID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("credentialID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or credential.")
    ))]
async fn delete_fido_credential(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, credential_id)): ApiPath<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_fido_credential(&domain, &user_id, &credential_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A user's FIDO UAF registrations.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/uaf-registrations", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<Object>, description = "The user's UAF registrations."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn list_uaf_registrations(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    Ok(Json(s.core.uaf_registrations_of(&domain, &user_id).await?))
}

/// Deregister a FIDO UAF authenticator; answers the UAF deregistration request message for
/// the client to hand to the authenticator.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/users/{userID}/uaf-registrations/{aaid}/{keyID}", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ("aaid" = String, Path, description = "e.g. ABCD%230001"),
        ("keyID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 200, body = Vec<Object>, description = "Deregistered; the UAF deregistration request message for the authenticator."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant, user or registration.")
    ))]
async fn deregister_uaf(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id, aaid, key_id)): ApiPath<(String, String, String, String)>,
) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(s.core.uaf_deregister(&domain, &user_id, &aaid, &key_id).await?))
}
