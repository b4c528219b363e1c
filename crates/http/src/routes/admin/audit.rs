//! The audit log over the admin API (docs/security.md, "Audit log"): querying and
//! exporting it, and [`record_changes`], the layer that records every change made
//! through the admin API with the administrator's identity.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use countersign_core::admin::Listing;
use countersign_core::audit::{AuditEntry, AuditEvent, AuditFilter, AuditKind, AuditQuery, AuditScope, MAX_PAGE};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::{ActorSlot, AdminAuth, TenantAuth};
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiQuery;

/// These routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit)).routes(routes!(export_audit))
}

/// Who reads the log: an admin token sees every entry, a tenant API key only its own
/// tenant's.
pub enum AuditReader {
    /// An admin token.
    Admin(AdminAuth),
    /// A tenant API key.
    Tenant(TenantAuth),
}

impl AuditReader {
    fn scope(&self) -> AuditScope<'_> {
        match self {
            AuditReader::Admin(_) => AuditScope::All,
            AuditReader::Tenant(t) => AuditScope::Tenant(&t.tenant),
        }
    }
}

impl FromRequestParts<AppState> for AuditReader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match AdminAuth::from_request_parts(parts, state).await {
            Ok(a) => Ok(AuditReader::Admin(a)),
            Err(_) => TenantAuth::from_request_parts(parts, state).await.map(AuditReader::Tenant),
        }
    }
}

/// Which entries: every filter is optional; results come oldest first (by `seq`).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Only entries about this tenant (domain). An API key may name only its own.
    tenant: Option<String>,
    /// Only entries about this userID.
    user: Option<String>,
    /// Only this kind: login_succeeded, login_failed, rate_limited, locked, unlocked,
    /// device_activated, passkey_registered, uaf_registered, token_enrolled,
    /// device_removed, credential_removed, admin_change, key_rotated.
    kind: Option<String>,
    /// Only entries at or after this time (RFC 3339, e.g. 2026-12-01T00:00:00Z).
    since: Option<String>,
    /// Only entries before this time (RFC 3339).
    until: Option<String>,
    /// Entries per page, 1–500 (default 100).
    limit: Option<u32>,
    /// Entries after this one (the `nextAfter` of the previous page).
    after: Option<String>,
}

/// Which entries to export: the query's filters, every page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportParams {
    /// Only entries about this tenant (domain). An API key may name only its own.
    tenant: Option<String>,
    /// Only entries about this userID.
    user: Option<String>,
    /// Only this kind (as for the query).
    kind: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    since: Option<String>,
    /// Only entries before this time (RFC 3339).
    until: Option<String>,
}

/// Query the audit log.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "admin", params(AuditParams),
    security(("adminToken" = []), ("apiKey" = [])),
    responses(
        (status = 200, body = Listing<AuditEntry>, description = "A page of entries, oldest first, and the cursor to the next one."),
        (status = 400, body = ErrorBody, description = "A query parameter cannot be read (`invalid_query`)."),
        (status = 401, body = ErrorBody, description = "No admin token or API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "An API key named another tenant (`tenant_not_found`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn list_audit(
    reader: AuditReader,
    State(s): State<AppState>,
    ApiQuery(q): ApiQuery<AuditParams>,
) -> Result<Json<Listing<AuditEntry>>, ApiError> {
    let f = AuditFilter {
        tenant: q.tenant,
        user: q.user,
        kind: q.kind,
        since: q.since,
        until: q.until,
        after: q.after,
        limit: q.limit,
    };
    Ok(Json(s.core.audit_entries(reader.scope(), &f).await?))
}

/// Export the audit log as JSON lines.
#[utoipa::path(get, path = "/admin/v1/audit/export", tag = "admin", params(ExportParams),
    security(("adminToken" = []), ("apiKey" = [])),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = AuditEntry,
            description = "Every matching entry, oldest first, one JSON object per line (`application/x-ndjson`)."),
        (status = 400, body = ErrorBody, description = "A query parameter cannot be read (`invalid_query`)."),
        (status = 401, body = ErrorBody, description = "No admin token or API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "An API key named another tenant (`tenant_not_found`)."),
        (status = 406, body = ErrorBody, description = "`Accept` does not allow `application/x-ndjson` (`not_acceptable`)."),
        (status = 422, body = ErrorBody, description = "Invalid input: `field` names the value at fault (`invalid_value`).")
    ))]
async fn export_audit(
    reader: AuditReader,
    State(s): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<ExportParams>,
) -> Result<Response, ApiError> {
    if !accepts_ndjson(&headers) {
        return Err(ApiError::new(
            StatusCode::NOT_ACCEPTABLE,
            "not_acceptable",
            "the export is application/x-ndjson: send Accept: application/x-ndjson (or none)",
        ));
    }
    let f = AuditFilter {
        tenant: q.tenant,
        user: q.user,
        kind: q.kind,
        since: q.since,
        until: q.until,
        after: None,
        limit: Some(MAX_PAGE),
    };
    // Checked before the first byte: a bad filter is an error answer, not a cut stream.
    let query = s.core.audit_query(reader.scope(), &f, 0)?;
    let core = s.core.clone();
    let pages = futures_util::stream::unfold(Some(query), move |next: Option<AuditQuery>| {
        let core = core.clone();
        async move {
            let mut q = next?;
            let page = match core.audit_page(&q).await {
                Ok(p) => p,
                Err(e) => {
                    tracing::error!(error = %e, "the audit export stopped: the log could not be read");
                    return Some((Err(std::io::Error::other("the audit log could not be read")), None));
                }
            };
            if page.is_empty() {
                return None;
            }
            let mut lines = String::new();
            for e in &page {
                lines.push_str(&serde_json::to_string(e).unwrap_or_default());
                lines.push('\n');
            }
            let more = page.len() == q.limit as usize;
            q.after = page.last().map(|e| e.seq);
            Some((Ok(Bytes::from(lines)), more.then_some(q)))
        }
    });
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], Body::from_stream(pages)).into_response())
}

/// Whether `Accept` (absent, or a list of media ranges) takes `application/x-ndjson`.
fn accepts_ndjson(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT) else { return true };
    let Ok(accept) = accept.to_str() else { return false };
    accept.split(',').any(|range| {
        let mime = range.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        matches!(mime.as_str(), "application/x-ndjson" | "application/*" | "*/*")
    })
}

/// What a change made through the admin API is, by its route.
fn change_kind(method: &Method, route: &str) -> AuditKind {
    let delete = method == Method::DELETE;
    if delete && route.ends_with("/devices/{deviceID}") {
        AuditKind::DeviceRemoved
    } else if delete
        && (["/fido-credentials/", "/uaf-registrations/", "/tokens/{tokenID}", "/virtual-authenticators/"]
            .iter()
            .any(|p| route.contains(p))
            || route.ends_with("/static-password"))
    {
        AuditKind::CredentialRemoved
    } else if route.ends_with("/unlock") {
        AuditKind::Unlocked
    } else if (method == Method::PUT && route.ends_with("/tokens/{tokenID}/user"))
        || (method == Method::POST && route.ends_with("/users/{userID}/virtual-authenticators"))
    {
        AuditKind::TokenEnrolled
    } else {
        AuditKind::AdminChange
    }
}

/// The layer that records each successful change made through the admin API: the
/// administrator's identity (the credential the handler checked), the route, its path
/// parameters and the status — never the body, which may hold secrets (passwords,
/// provider credentials). Written right after the change commits (docs/security.md).
pub async fn record_changes(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str().to_owned());
    let method = req.method().clone();
    let reads = [Method::GET, Method::HEAD, Method::OPTIONS].contains(&method);
    let Some(route) = route.filter(|r| r.starts_with("/admin/v1/") && !reads) else {
        return next.run(req).await;
    };
    let (mut parts, body) = req.into_parts();
    let params: Vec<(String, String)> = match RawPathParams::from_request_parts(&mut parts, &s).await {
        Ok(p) => p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        Err(_) => Vec::new(),
    };
    let slot = ActorSlot::default();
    parts.extensions.insert(slot.clone());
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(actor) = slot.actor().filter(|_| response.status().is_success()) else {
        return response;
    };
    let (response, created) = created(response).await;
    let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut details = serde_json::json!({
        "method": method.as_str(),
        "route": route,
        "params": params.iter().map(|(k, v)| (k.clone(), serde_json::Value::from(v.as_str()))).collect::<serde_json::Map<_, _>>(),
        "status": response.status().as_u16(),
    });
    if let (Some(id), Some(d)) = (&created.id, details.as_object_mut()) {
        d.insert("created".into(), id.as_str().into());
    }
    let mut event = AuditEvent::new(change_kind(&method, &route)).by(actor).details(details);
    if let Some(domain) = param("domain").or(created.domain) {
        event = event.tenant(domain.to_ascii_lowercase());
    }
    if let Some(user) = param("userID").or(created.user) {
        event = event.user(user);
    }
    s.core.audit_or_log(event).await;
    response
}

/// What a `201 Created` answer names: its tenant (`domain`), user (`userID`) and ID
/// (`id`, `tokenID`) — read from these fields only, never another (a new key's secret
/// is in the same answer).
#[derive(Debug, Default)]
struct Created {
    domain: Option<String>,
    user: Option<String>,
    id: Option<String>,
}

/// The response as it was, and what it created when it is a `201` with a JSON object.
async fn created(response: Response) -> (Response, Created) {
    if response.status() != StatusCode::CREATED {
        return (response, Created::default());
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 1024 * 1024).await else {
        return (Response::from_parts(parts, Body::empty()), Created::default());
    };
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let field = |name: &str| v.get(name).and_then(serde_json::Value::as_str).map(str::to_owned);
    let c = Created { domain: field("domain"), user: field("userID"), id: field("id").or_else(|| field("tokenID")) };
    (Response::from_parts(parts, Body::from(bytes)), c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_name_their_kind() {
        let k = |m: Method, r: &str| change_kind(&m, r).as_str();
        assert_eq!(k(Method::DELETE, "/admin/v1/tenants/{domain}/users/{userID}/devices/{deviceID}"), "device_removed");
        assert_eq!(
            k(Method::DELETE, "/admin/v1/tenants/{domain}/users/{userID}/fido-credentials/{credentialID}"),
            "credential_removed"
        );
        assert_eq!(
            k(Method::DELETE, "/admin/v1/tenants/{domain}/users/{userID}/static-password"),
            "credential_removed"
        );
        assert_eq!(k(Method::PUT, "/admin/v1/tenants/{domain}/users/{userID}/static-password"), "admin_change");
        assert_eq!(k(Method::POST, "/admin/v1/tenants/{domain}/tokens/{tokenID}/unlock"), "unlocked");
        assert_eq!(k(Method::PUT, "/admin/v1/tenants/{domain}/tokens/{tokenID}/user"), "token_enrolled");
        assert_eq!(k(Method::DELETE, "/admin/v1/tenants/{domain}/users/{userID}"), "admin_change");
        assert_eq!(k(Method::POST, "/admin/v1/tenants"), "admin_change");
    }

    #[test]
    fn accept_must_allow_ndjson() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::ACCEPT, v.parse().unwrap_or_else(|_| header::HeaderValue::from_static("x")));
            accepts_ndjson(&h)
        };
        assert!(accepts_ndjson(&HeaderMap::new()));
        assert!(with("application/x-ndjson"));
        assert!(with("text/html, */*;q=0.1"));
        assert!(!with("application/json"));
    }
}
