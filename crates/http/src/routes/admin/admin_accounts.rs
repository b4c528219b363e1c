//! The console's administrator accounts (docs/web.md, "Built: the admin console"):
//! created with an admin token — the bootstrap token makes the first —, listed, deleted.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::admin::{AdminAccountView, CreateAdminAccount, Listing};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// These routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_admin_account, list_admin_accounts))
        .routes(routes!(delete_admin_account))
}

/// Create an administrator account of the console (`/console`). It signs in with this
/// password, then registers its first passkey.
#[utoipa::path(post, path = "/admin/v1/admin-accounts", tag = "admin", request_body = CreateAdminAccount,
    security(("adminToken" = [])),
    responses(
        (status = 201, body = AdminAccountView, description = "The new account (never its password)."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 409, body = ErrorBody, description = "The username is taken (`admin_account_exists`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_admin_account(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiJson(input): ApiJson<CreateAdminAccount>,
) -> Result<(StatusCode, Json<AdminAccountView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.create_admin_account(input).await?)))
}

/// List the administrator accounts by username.
#[utoipa::path(get, path = "/admin/v1/admin-accounts", tag = "admin", params(ListQuery),
    security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<AdminAccountView>, description = "A page of accounts and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn list_admin_accounts(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<AdminAccountView>>, ApiError> {
    Ok(Json(s.core.list_admin_accounts(q.after, q.limit).await?))
}

/// Delete an administrator account with its passkeys; its console sessions end.
#[utoipa::path(delete, path = "/admin/v1/admin-accounts/{username}", tag = "admin",
    params(("username" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such account (`admin_account_not_found`).")
    ))]
async fn delete_admin_account(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(username): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_admin_account(&username).await?;
    Ok(StatusCode::NO_CONTENT)
}
