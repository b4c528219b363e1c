//! RADIUS clients of a tenant (docs/radius.md, "Clients").

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use countersign_core::admin::Listing;
use countersign_core::radius::{CreateRadiusClient, RadiusClientView};
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
        .routes(routes!(create_radius_client, list_radius_clients))
        .routes(routes!(delete_radius_client))
}

/// Add a RADIUS client (NAS) to a tenant. The shared secret is in this answer only.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/radius-clients", tag = "admin",
    params(("domain" = String, Path)), request_body = CreateRadiusClient, security(("adminToken" = [])),
    responses(
        (status = 201, body = RadiusClientView, description = "The new client; `secret` is shown this once."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "The tenant has a client of that name (`radius_client_name_taken`), or the network overlaps another client's (`radius_network_overlap`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn create_radius_client(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiJson(input): ApiJson<CreateRadiusClient>,
) -> Result<(StatusCode, Json<RadiusClientView>), ApiError> {
    Ok((StatusCode::CREATED, Json(s.core.create_radius_client(&domain, input).await?)))
}

/// List a tenant's RADIUS clients (never their secrets).
#[utoipa::path(get, path = "/admin/v1/tenants/{domain}/radius-clients", tag = "admin",
    params(("domain" = String, Path), ListQuery), security(("adminToken" = [])),
    responses(
        (status = 200, body = Listing<RadiusClientView>, description = "A page of the tenant's RADIUS clients by name, and the cursor to the next one."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 422, body = ErrorBody, description = "`limit` out of 1–500 or `after` not a cursor of this listing (`invalid_value`, `field` names it).")
    ))]
async fn list_radius_clients(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Listing<RadiusClientView>>, ApiError> {
    Ok(Json(s.core.radius_clients(&domain, q.after, q.limit).await?))
}

/// Remove a RADIUS client; its requests are dropped from then on.
#[utoipa::path(delete, path = "/admin/v1/tenants/{domain}/radius-clients/{id}", tag = "admin",
    params(("domain" = String, Path), ("id" = String, Path)), security(("adminToken" = [])),
    responses(
        (status = 204, description = "Removed."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant or client.")
    ))]
async fn delete_radius_client(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath((domain, id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    s.core.delete_radius_client(&domain, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
