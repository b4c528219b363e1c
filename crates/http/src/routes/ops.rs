//! Operations routes: health, readiness, metrics, and the API description.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;

/// The operations routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(docs))
        // Swagger UI's files: plumbing of the page above, not part of the API.
        .route("/docs/{*file}", axum::routing::get(docs_asset))
        .route("/docs/", axum::routing::get(|| async { axum::response::Redirect::permanent("/docs") }))
}

/// Health or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses(
        (status = 200, body = Status, description = "The process is up.")
    ))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// The database answers: the node can serve.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, body = Status, description = "The database answers."),
        (status = 503, body = ErrorBody, description = "The database does not answer (`storage_unavailable`).")
    ))]
async fn readyz(State(s): State<AppState>) -> Result<Json<Status>, ApiError> {
    s.core.store.ping().await.map_err(countersign_core::CoreError::from)?;
    Ok(Json(Status { status: "ok" }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses(
        (status = 200, content_type = "text/plain", body = String, description = "The metrics, in the Prometheus text format.")
    ))]
async fn metrics(State(s): State<AppState>) -> Response {
    let text = format!("{}{}", s.metrics.render(), s.core.render_metrics().await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses(
        (status = 200, content_type = "application/json", body = Object, description = "This description (OpenAPI 3.1, JSON).")
    ))]
async fn openapi_json(State(s): State<AppState>) -> Response {
    match s.api.get() {
        Some(api) => ([(header::CONTENT_TYPE, "application/json")], api.json.clone()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response(),
    }
}

/// This API's explorer (Swagger UI, embedded in the binary): every operation, grouped
/// by tag, callable from the page after "Authorize".
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses(
        (status = 200, content_type = "text/html", body = String, description = "The API explorer page (HTML).")
    ))]
async fn docs() -> Response {
    (crate::docs::security_headers(), Html(crate::docs::INDEX_HTML)).into_response()
}

/// One of Swagger UI's files.
async fn docs_asset(ApiPath(file): ApiPath<String>) -> Response {
    match crate::docs::asset(&file) {
        Some((content_type, bytes)) => {
            (crate::docs::security_headers(), [(header::CONTENT_TYPE, content_type)], bytes).into_response()
        }
        None => ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response(),
    }
}
