//! The HTTP interfaces of countersign: the integration API (`/v1`), the admin API
//! (`/admin/v1`), operations routes, JSON errors and the OpenAPI description generated
//! from the handlers' annotations.
//!
//! Handlers are thin: an extractor authorizes ([`auth::AdminAuth`], [`auth::TenantAuth`]),
//! [`extract`] turns the request into typed input (or a precise [`ApiError`]), one call
//! into [`countersign_core::ops::Core`] does the work.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use countersign_core::ops::Core;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub mod auth;
pub mod docs;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod qr;
pub mod routes;

pub use error::ApiError;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { body_limit_bytes: 64 * 1024 }
    }
}

/// The API description, serialized once at start.
pub struct ApiDocs {
    /// `/openapi.json`.
    pub json: String,
    /// `/docs`.
    pub html: String,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The domain operations.
    pub core: Core,
    /// Request metrics of this instance.
    pub metrics: Arc<metrics::Metrics>,
    /// The API description (set once the router is assembled).
    pub api: Arc<OnceLock<ApiDocs>>,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "countersign",
        description = "Self-hosted out-of-band authentication server. Errors are JSON \
            `{\"error\":{\"code\",\"message\",\"field\"}}` with stable codes.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(error::ErrorBody)),
    tags(
        (name = "integration", description = "For relying parties; tenant API key."),
        (name = "mobile", description = "For authenticator apps; activation code, then device signatures (docs/mobile-protocol.md)."),
        (name = "admin", description = "Tenants, users, keys, devices; admin token."),
        (name = "operations", description = "Health, readiness, metrics, API description."),
    )
)]
struct ApiRoot;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        let bearer = |desc: &str| {
            let mut h = Http::new(HttpAuthScheme::Bearer);
            h.description = Some(desc.to_owned());
            SecurityScheme::Http(h)
        };
        components.add_security_scheme("adminToken", bearer("An admin token, csa_…"));
        components.add_security_scheme("apiKey", bearer("A tenant API key, csk_…"));
        let mut basic = Http::new(HttpAuthScheme::Basic);
        basic.description = Some("The tenant API key as password; the user name empty or the tenant domain.".into());
        components.add_security_scheme("apiKeyBasic", SecurityScheme::Http(basic));
    }
}

/// The OpenAPI description and the routes it describes (state not yet supplied).
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiRoot::openapi())
        .merge(routes::integration::router())
        .merge(routes::mobile::router())
        .merge(routes::admin::router())
        .merge(routes::ops::router())
        .merge(routes::pages::router())
        .split_for_parts()
}

/// The complete application: every route, JSON errors for unknown routes and methods,
/// metrics, request ids, request logs, a body limit, and panics turned into JSON 500s.
pub fn app(core: Core, config: &HttpConfig) -> Router {
    let (router, api) = api_router();
    let docs = Arc::new(OnceLock::new());
    let json = api.to_json().unwrap_or_else(|_| "{}".to_owned());
    let html = serde_json::from_str(&json).map(|v| docs::render(&v)).unwrap_or_default();
    let _ = docs.set(ApiDocs { json, html });
    let state = AppState { core, metrics: Arc::new(metrics::Metrics::default()), api: docs };
    let request_id = HeaderName::from_static("x-request-id");

    router
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(
            // Inside the router, so the span names the route template, never the raw
            // path; headers and bodies are not logged.
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    tracing::info_span!("request", method = %req.method(), route, request_id = id)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| -> Response {
            ApiError::internal(&"a request handler panicked").into_response()
        }))
}
