//! Duo-compatible integrations of a tenant (docs/duo.md, "Integrations").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::admin::Listing;
use countersign_core::duo::{CreateDuoIntegration, DuoIntegrationView};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ListQuery;
use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath, ApiQuery};

/// The routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_duo_integration, list_duo_integrations))
        .routes(routes!(delete_duo_integration))
}

/// Add a Duo-compatible integration to a tenant. The secret key is in this answer only.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/duo-integrations", tag = "admin",
    params(("domain" = String, Path)), request_body = CreateDuoIntegration, security(("adminToken" = [])),
    responses(
        (status = 201, body = DuoIntegrationView, description = "The new integration; `skey` is shown this once."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "The tenant has an integration of that name (`duo_integration_name_taken`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_duo_integration(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<CreateDuoIntegration>,
) -> Result<(StatusCode, Json<DuoIntegrationView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.create_duo_integration(&domain, input).await?)))
}

/// List a tenant's Duo-compatible integrations (never their secret keys).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/duo-integrations", tag = "admin",
    params(("domain" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<DuoIntegrationView>, description = "A page of the tenant's integrations by name, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_duo_integrations(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<DuoIntegrationView>>, ApiError> {
    Ok(Json(s.core.duo_integrations(&domain, q.after, q.limit).await?))
}

/// Remove a Duo-compatible integration; its keys stop working at once.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/duo-integrations/{ikey}", tag = "admin",
    params(("domain" = String, Path), ("ikey" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or integration.")
    ))]
async fn delete_duo_integration(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_duo_integration(&domain, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
