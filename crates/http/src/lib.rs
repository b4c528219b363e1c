//! The HTTP interfaces of countersign: the integration API (`/v1`), the admin API
//! (`/admin/v1`), operations routes, JSON errors and the OpenAPI description generated
//! from the handlers' annotations.
//!
//! Handlers are thin: an extractor authorizes ([`auth::AdminAuth`], [`auth::TenantAuth`]),
//! [`extract`] turns the request into typed input (or a precise [`ApiError`]), one call
//! into [`countersign_core::Core`] does the work.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use countersign_core::Core;
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

pub mod auth;
pub mod client;
pub mod docs;
pub mod duo;
pub mod error;
pub mod extract;
pub mod limits;
pub mod metrics;
pub mod openapi;
pub mod qr;
pub mod routes;
pub mod web;
pub mod wire;

pub use error::ApiError;

/// Default cap of a streamed token import (a `text/csv` body, docs/tokens.md): 256 MiB,
/// room for the most tokens one import takes (200,000) at the longest line (1 KiB).
pub const DEFAULT_IMPORT_LIMIT_BYTES: u64 = 256 * 1024 * 1024;

/// Settings of the HTTP layer.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// Largest request body accepted, in bytes.
    pub body_limit_bytes: usize,
    /// Largest streamed token import (`text/csv`), in bytes; JSON bodies keep
    /// `body_limit_bytes`.
    pub import_limit_bytes: u64,
    /// Which peers' forwarding headers name the client ([`client`]).
    pub proxies: client::ProxyTrust,
    /// The demo relying party at `/demo`, when it is on ([`web::demo`]).
    pub demo: Option<web::demo::DemoSettings>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            body_limit_bytes: 64 * 1024,
            import_limit_bytes: DEFAULT_IMPORT_LIMIT_BYTES,
            proxies: client::ProxyTrust::default(),
            demo: None,
        }
    }
}

/// The API description, serialized once at start.
pub struct ApiDocs {
    /// `/openapi.json` (which `/docs` reads).
    pub json: String,
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
    /// Largest streamed token import, in bytes ([`HttpConfig::import_limit_bytes`]).
    pub import_limit_bytes: u64,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "countersign",
        description = "Self-hosted out-of-band authentication server.\n\n\
**Credentials.** The integration API (`/v1`) takes a tenant API key (`csk_…`) as a bearer \
token, or as the password of HTTP Basic (user name empty or the tenant domain). The admin API \
(`/admin/v1`) takes an admin token (`csa_…`) as a bearer token. Press **Authorize** to set \
them, then **Try it out** on an operation. The mobile API (`/mobile/v1`) is for authenticator \
apps: its calls are signed by the device (docs/mobile-protocol.md), so they cannot be tried \
from this page.\n\n\
**Errors** are JSON, `{\"error\": {\"code\": …, \"message\": …, \"field\": …}}`, with \
stable codes; the response descriptions below name them.",
    ),
    modifiers(&SecuritySchemes),
    components(schemas(error::ErrorBody)),
    tags(
        (name = "integration", description = "`/v1`: for relying parties (logins, sessions, activations, tokens, FIDO); a tenant API key."),
        (name = "mobile", description = "`/mobile/v1`: for authenticator apps; the activation code, then device signatures (docs/mobile-protocol.md)."),
        (name = "admin", description = "`/admin/v1`: tenants, users, keys, devices, providers, settings; an admin token."),
        (name = "operations", description = "Health, readiness, metrics and this description."),
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
        components.add_security_scheme(
            openapi::DEVICE_SIGNATURE,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CS-Signature",
                "A device signature (docs/mobile-protocol.md, \"Device-signed requests\"), with X-CS-Device, \
                 X-CS-Timestamp and X-CS-Nonce: made by the authenticator app, not settable here.",
            ))),
        );
    }
}

/// Operation summaries are plain text (explorers show them as typed); the doc comment they
/// come from is markdown, so a summary with code spans or line breaks is kept, rendered,
/// as the description, and the summary loses its backticks.
struct PlainSummaries;

impl Modify for PlainSummaries {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        for item in api.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ];
            for op in ops.into_iter().flatten() {
                let Some(summary) = op.summary.as_mut() else { continue };
                if !summary.contains(['`', '\n']) {
                    continue;
                }
                if op.description.is_none() {
                    op.description = Some(summary.clone());
                }
                *summary = summary.replace('`', "").split_whitespace().collect::<Vec<_>>().join(" ");
            }
        }
    }
}

/// The OpenAPI description and the routes it describes (state not yet supplied).
pub fn api_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = OpenApiRouter::with_openapi(ApiRoot::openapi())
        .merge(routes::integration::router())
        .merge(routes::events::router())
        .merge(routes::mobile::router())
        .merge(routes::admin::router())
        .merge(routes::ops::router())
        .merge(routes::pages::router())
        .split_for_parts();
    // After the merge: the operations are not in ApiRoot's own description.
    PlainSummaries.modify(&mut api);
    openapi::CommonErrors.modify(&mut api);
    openapi::OpenComposition.modify(&mut api);
    (router, api)
}

/// The complete application: every route, JSON errors for unknown routes and methods,
/// metrics, request ids, request logs, a body limit, and panics turned into JSON 500s.
pub fn app(core: Core, config: &HttpConfig) -> Router {
    let (router, api) = api_router();
    let docs = Arc::new(OnceLock::new());
    let json = api.to_json().unwrap_or_else(|_| "{}".to_owned());
    let _ = docs.set(ApiDocs { json });
    let state = AppState {
        core,
        metrics: Arc::new(metrics::Metrics::default()),
        api: docs,
        import_limit_bytes: config.import_limit_bytes,
    };
    let request_id = HeaderName::from_static("x-request-id");

    router
        // The Duo-compatible API (docs/duo.md), outside the OpenAPI description.
        .merge(duo::router())
        // The web pages (docs/web.md): HTML, outside the OpenAPI description.
        .merge(web::router(config.demo.clone()))
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
        })
        // Request limits (docs/security.md, "Request limits"): inside the metrics and the
        // request log, so a refusal is counted and logged like any answer.
        .layer(axum::middleware::from_fn_with_state(state.clone(), limits::enforce))
        .layer(axum::middleware::from_fn_with_state(state.clone(), routes::admin::audit::record_changes))
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(
            // Inside the router, so the span names the route template, never the raw
            // path; headers and bodies are not logged. The span gives the warnings and
            // errors logged while a request is handled its route and request ID; the
            // line per response is at DEBUG (docs/security.md, "Logs": counts are in
            // /metrics), while a 5xx is still logged at ERROR (the default `on_failure`).
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str());
                    let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("");
                    let client = client::client_of(req).map(|a| a.ip().to_string()).unwrap_or_default();
                    tracing::info_span!("request", method = %req.method(), route, request_id = id, client)
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::DEBUG).latency_unit(LatencyUnit::Micros)),
        )
        .layer(DefaultBodyLimit::max(config.body_limit_bytes))
        .with_state(state)
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| -> Response {
            ApiError::internal(&"a request handler panicked").into_response()
        }))
        // Outermost: everything inside sees the believed client address.
        .layer(axum::middleware::from_fn_with_state(Arc::new(config.proxies.clone()), client::resolve))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    /// What `/openapi.json` serves, walked: a tag on every operation (one of the four the
    /// page groups by), a description on every response, the credentials "Authorize" sets.
    #[test]
    fn every_operation_is_tagged_and_every_response_described() {
        let (_, api) = super::api_router();
        let api: Value = serde_json::from_str(&api.to_json().unwrap()).unwrap();
        let tags: Vec<&str> = api["tags"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(tags, ["integration", "mobile", "admin", "operations"]);
        let mut problems = Vec::new();
        let mut operations = 0;
        for (path, item) in api["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                operations += 1;
                let op_tags: Vec<&str> =
                    op["tags"].as_array().map(|t| t.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                let want = match path.as_str() {
                    p if p.starts_with("/v1/") => "integration",
                    p if p.starts_with("/mobile/v1/") => "mobile",
                    p if p.starts_with("/admin/v1/") => "admin",
                    _ => "operations",
                };
                if op_tags != [want] {
                    problems.push(format!("{method} {path}: tags {op_tags:?}, want [{want}]"));
                }
                if op["summary"].as_str().is_none_or(|t| t.contains(['`', '\n'])) {
                    problems.push(format!("{method} {path}: no summary, or not plain text"));
                }
                let responses = op["responses"].as_object().filter(|r| !r.is_empty());
                let Some(responses) = responses else {
                    problems.push(format!("{method} {path}: no responses"));
                    continue;
                };
                for (status, r) in responses {
                    if r["description"].as_str().is_none_or(|d| d.trim().is_empty()) {
                        problems.push(format!("{method} {path} {status}: empty description"));
                    }
                }
                for scheme in
                    op["security"].as_array().into_iter().flatten().filter_map(Value::as_object).flat_map(|o| o.keys())
                {
                    if api["components"]["securitySchemes"][scheme].is_null() {
                        problems.push(format!("{method} {path}: undeclared security scheme {scheme}"));
                    }
                }
                let audit = path.starts_with("/admin/v1/audit");
                if want == "admin" && audit && op["security"] != serde_json::json!([{"adminToken": []}, {"apiKey": []}])
                {
                    problems.push(format!("{method} {path}: not behind adminToken / apiKey"));
                }
                if want == "admin" && !audit && op["security"] != serde_json::json!([{"adminToken": []}]) {
                    problems.push(format!("{method} {path}: not behind adminToken"));
                }
                if want == "integration" && op["security"] != serde_json::json!([{"apiKey": []}, {"apiKeyBasic": []}]) {
                    problems.push(format!("{method} {path}: not behind apiKey / apiKeyBasic"));
                }
            }
        }
        assert!(operations > 80, "{operations} operations");
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let schemes = &api["components"]["securitySchemes"];
        assert_eq!(
            (schemes["adminToken"]["scheme"].as_str(), schemes["apiKey"]["scheme"].as_str()),
            (Some("bearer"), Some("bearer"))
        );
        assert_eq!(schemes["apiKeyBasic"]["scheme"].as_str(), Some("basic"));
        let intro = api["info"]["description"].as_str().unwrap();
        assert!(intro.contains("\n\n**Credentials.**"), "the intro is markdown paragraphs: {intro}");
    }
}
