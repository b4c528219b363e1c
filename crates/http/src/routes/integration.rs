//! The integration API (`/v1/…`) for relying parties. Every handler takes [`TenantAuth`].

use axum::Json;
use axum::extract::State;
use countersign_core::ops::AccountState;

use crate::AppState;
use crate::auth::TenantAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The integration routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(account_state))
}

/// The account state of `userID@domain`: check it before starting a login. A user of
/// another tenant than the key's is reported as not found.
#[utoipa::path(get, path = "/v1/users/{user}", tag = "integration",
    params(("user" = String, Path, description = "userID@domain", example = "alice@example.com")),
    security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses((status = 200, body = AccountState), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "not a userID@domain")))]
async fn account_state(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(user): ApiPath<String>,
) -> Result<Json<AccountState>, ApiError> {
    Ok(Json(s.core.account_state(&auth.tenant, &user).await?))
}
