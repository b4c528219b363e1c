//! Tenants, their users, devices and API keys, and admin tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::admin::{CreateKey, CreateTenant, CreateUser, Listing, UpdateTenant, UpdateUser};
use countersign_core::device::Device;
use countersign_core::{AccessKey, Tenant, User};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{CreatedKey, ListQuery, created};
use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// These routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_tenant, list_tenants))
        .routes(routes!(get_tenant, update_tenant, delete_tenant))
        .routes(routes!(create_user, list_users))
        .routes(routes!(get_user, update_user, delete_user))
        .routes(routes!(list_devices))
        .routes(routes!(remove_device))
        .routes(routes!(issue_sign_in_link))
        .routes(routes!(create_api_key, list_api_keys))
        .routes(routes!(revoke_api_key))
        .routes(routes!(create_admin_token, list_admin_tokens))
        .routes(routes!(revoke_admin_token))
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

/// Issue a one-time link that signs the user in to the self-service pages (docs/web.md).
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/users/{userID}/sign-in-links", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 201, body = countersign_core::web::IssuedLink, description = "The link (`url` holds its token, shown this once): it works once, for 15 minutes."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 403, body = ErrorBody, description = "The user is locked or disabled (`user_locked`, `user_disabled`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user.")
    ))]
async fn issue_sign_in_link(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
) -> Result<(StatusCode, Json<countersign_core::web::IssuedLink>), ApiError> {
    let tenant = s.core.tenant(&domain).await?;
    let user = format!("{user_id}@{}", tenant.domain.as_str());
    Ok((StatusCode::CREATED, Json(s.core.issue_sign_in_link(&tenant, &user).await?)))
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

/// List a tenant's API keys by ID (never the keys themselves), revoked ones included.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/api-keys", tag = "admin",
    params(("domain" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<AccessKey>, description = "A page of the tenant's API keys, without their secrets, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_api_keys(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<AccessKey>>, ApiError> {
    Ok(Json(s.core.list_api_keys(&domain, q.after, q.limit).await?))
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

/// List admin tokens by ID (never the tokens themselves), revoked ones included.
#[utoipa::path(get, path = "/admin/v1/admin-tokens", tag = "admin", params(ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<AccessKey>, description = "A page of the admin tokens, without their secrets, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_admin_tokens(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<AccessKey>>, ApiError> {
    Ok(Json(s.core.list_admin_tokens(q.after, q.limit).await?))
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

/// A user's mobile authenticators in any state, by device ID.
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/users/{userID}/devices", tag = "admin",
    params(("domain" = String, Path), ("userID" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<Device>, description = "A page of the user's mobile authenticators and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or user."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_devices(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, user_id)): ApiPath<(String, String)>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<Device>>, ApiError> {
    Ok(Json(s.core.list_devices(&domain, &user_id, q.after, q.limit).await?))
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
