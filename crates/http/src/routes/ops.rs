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

/// The operations routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
        .routes(routes!(docs))
        .routes(routes!(passkey_demo))
}

/// A development page that registers and uses a passkey through the integration API
/// (docs/fido.md); the API key comes from the address's fragment, never from the server.
#[utoipa::path(get, path = "/demo/passkey", tag = "operations",
    responses((status = 200, content_type = "text/html", body = String)))]
async fn passkey_demo() -> Html<&'static str> {
    Html(include_str!("../../assets/passkey.html"))
}

/// Health or readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct Status {
    /// `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, body = Status)))]
async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

/// The database answers: the node can serve.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, body = Status), (status = 503, body = ErrorBody, description = "storage_unavailable")))]
async fn readyz(State(s): State<AppState>) -> Result<Json<Status>, ApiError> {
    s.core.store.ping().await.map_err(countersign_core::CoreError::from)?;
    Ok(Json(Status { status: "ok" }))
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, content_type = "text/plain", body = String)))]
async fn metrics(State(s): State<AppState>) -> Response {
    let text = format!("{}{}", s.metrics.render(), s.core.render_metrics().await);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}

/// This API's OpenAPI 3.1 description, generated from the code.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, content_type = "application/json", body = Object)))]
async fn openapi_json(State(s): State<AppState>) -> Response {
    match s.api.get() {
        Some(api) => ([(header::CONTENT_TYPE, "application/json")], api.json.clone()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response(),
    }
}

/// This API's description as a web page.
#[utoipa::path(get, path = "/docs", tag = "operations",
    responses((status = 200, content_type = "text/html", body = String)))]
async fn docs(State(s): State<AppState>) -> Response {
    match s.api.get() {
        Some(api) => Html(api.html.clone()).into_response(),
        None => (StatusCode::SERVICE_UNAVAILABLE, "starting").into_response(),
    }
}
