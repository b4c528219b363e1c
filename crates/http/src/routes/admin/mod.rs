//! The admin API (`/admin/v1/…`): tenants, their users and API keys, admin tokens.
//! Every handler takes [`AdminAuth`](crate::auth::AdminAuth) — the audit log's also a
//! tenant API key, which sees its own tenant's entries — and every change is recorded
//! in the audit log by [`audit::record_changes`].

mod accounts;
mod admin_accounts;
pub mod audit;
mod authenticators;
mod delivery;
mod duo;
mod import;
mod radius;

use axum::Json;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

/// The admin routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(accounts::router())
        .merge(admin_accounts::router())
        .merge(delivery::router())
        .merge(authenticators::router())
        .merge(audit::router())
        .merge(radius::router())
        .merge(duo::router())
        .merge(import::router())
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
