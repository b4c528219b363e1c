//! Server-sent events of a login session (docs/web.md, "Live status"): a relying party's
//! page follows a session without polling. The stream sleeps on the session's waiter
//! like `GET /v1/sessions/{id}?wait=`, so it costs no database read on a timer.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use countersign_core::login::MAX_STATUS_WAIT_SECONDS;
use countersign_core::mobile::ActivationProgress;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::TenantAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::ApiPath;
use crate::wire::LoginOutput;

/// The event routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(session_events)).routes(routes!(activation_events))
}

/// One server-sent event of a session stream, as the OpenAPI describes it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a description of the wire, never built
pub struct SessionEvent {
    /// `state` (the session changed) or `end` (the stream's time is up).
    #[schema(example = "state")]
    event: String,
    /// For `state`: the session as `GET /v1/sessions/{requestID}` returns it (a
    /// `LoginOutput`, as JSON text); empty for `end`.
    data: String,
}

/// How long one stream lasts at most; a browser's `EventSource` then reconnects.
const STREAM_SECONDS: u32 = 10 * 60;

fn state_event(out: &LoginOutput) -> Event {
    Event::default().event("state").data(serde_json::to_string(out).unwrap_or_else(|_| "{}".into()))
}

/// Follow a login session as server-sent events (`text/event-stream`): an event `state`
/// with the session as `GET /v1/sessions/{requestID}` returns it, at once and again when
/// it ends; then the stream closes. A stream still open after 10 minutes ends with an
/// event `end` (reconnect to go on); a comment line every 15 s keeps proxies from
/// closing it.
#[utoipa::path(get, path = "/v1/sessions/{requestID}/events", tag = "integration",
    params(("requestID" = String, Path)), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", body = SessionEvent, description = "Events `state` (data: the session, as `GET /v1/sessions/{requestID}` returns it) until it ends, or `end` when the stream's 10 minutes are up."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such session for this tenant (`request_not_found`).")
    ))]
async fn session_events(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    // Unknown sessions are refused before a stream opens.
    let first = s.core.session_status(&auth.tenant, &id, None).await?;
    Ok(session_stream(s.core.clone(), auth.tenant, id, first))
}

/// The event stream of session `id` of `tenant` whose state now is `first`: `first` at
/// once, then the session when it ends, or `end` after [`STREAM_SECONDS`]. Also the
/// self-service sign-in page's stream of its push.
pub(crate) fn session_stream(
    core: countersign_core::Core,
    tenant: countersign_core::Tenant,
    id: String,
    first: countersign_core::login::LoginResult,
) -> Response {
    let deadline = core.clock.now().plus_millis(i64::from(STREAM_SECONDS) * 1000);
    let start = (first.state.is_final(), LoginOutput::from(first));
    // States: Some(Some(out)) = emit this first; Some(None) = wait for the end; None = done.
    let stream = futures_util::stream::unfold(Some(Some(start)), move |step| {
        let (core, tenant, id) = (core.clone(), tenant.clone(), id.clone());
        async move {
            match step? {
                Some((is_final, out)) => {
                    Some((Ok::<_, Infallible>(state_event(&out)), if is_final { None } else { Some(None) }))
                }
                None => loop {
                    let left = (deadline.millis() - core.clock.now().millis()) / 1000;
                    if left <= 0 {
                        return Some((Ok(Event::default().event("end").data("")), None));
                    }
                    let wait = u32::try_from(left).unwrap_or(MAX_STATUS_WAIT_SECONDS).min(MAX_STATUS_WAIT_SECONDS);
                    match core.session_status(&tenant, &id, Some(wait)).await {
                        Ok(r) if r.state.is_final() => {
                            return Some((Ok(state_event(&LoginOutput::from(r))), None));
                        }
                        Ok(_) => continue,
                        Err(_) => return Some((Ok(Event::default().event("end").data("")), None)),
                    }
                },
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive")).into_response()
}

/// One server-sent event of an activation stream, as the OpenAPI describes it.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // a description of the wire, never built
pub struct ActivationEvent {
    /// `progress` (the activation moved on) or `end` (the stream's time is up).
    #[schema(example = "progress")]
    event: String,
    /// For `progress`: JSON text `{"progress": "waiting" | "code_verified" | "confirming" |
    /// "activated" | "expired" | "burned" | "removed", "final": bool, "text": "…"}`; empty
    /// for `end`.
    data: String,
}

/// Follow an activation as server-sent events (`text/event-stream`): an event
/// `progress` now and at each step (the app proved the code, registered its keys,
/// confirmed), until a final state (`activated`, `expired`, `burned`, `removed`); then
/// the stream closes. After 10 minutes it ends with `end`. A relying party's page shows
/// "activated" without polling.
#[utoipa::path(get, path = "/v1/activations/{activationID}/events", tag = "integration",
    params(("activationID" = String, Path)), security(("apiKey" = []), ("apiKeyBasic" = [])),
    responses(
        (status = 200, content_type = "text/event-stream", body = ActivationEvent, description = "Events `progress` until a final state, or `end` when the stream's 10 minutes are up."),
        (status = 401, body = ErrorBody, description = "No API key, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such activation for this tenant (`activation_not_found`).")
    ))]
async fn activation_events(
    auth: TenantAuth,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let user_pk = s.core.activation_owner(&auth.tenant, &id).await?;
    Ok(activation_stream(s.core.clone(), user_pk, id))
}

fn progress_event(p: ActivationProgress) -> Event {
    let data = serde_json::json!({ "progress": p, "final": p.is_final(), "text": p.text() });
    Event::default().event("progress").data(data.to_string())
}

/// The event stream of activation `id` of user `user_pk`: its progress now, then each
/// change, until it is final or the stream's time is up (`end`). Woken by the
/// activation's steps, never by a timer. Also the self-service activation page's stream.
pub(crate) fn activation_stream(core: countersign_core::Core, user_pk: String, id: String) -> Response {
    let until = core.clock.now().plus_millis(i64::from(STREAM_SECONDS) * 1000);
    let end = || Event::default().event("end").data("");
    let stream = futures_util::stream::unfold(Some(None), move |state: Option<Option<ActivationProgress>>| {
        let (core, user_pk, id) = (core.clone(), user_pk.clone(), id.clone());
        async move {
            let seen = state?;
            let (event, next) = match core.next_activation_progress(&user_pk, &id, seen, until).await {
                Ok(p) if Some(p) == seen => (end(), None),
                Ok(p) if p.is_final() => (progress_event(p), None),
                Ok(p) => (progress_event(p), Some(Some(p))),
                Err(_) => (end(), None),
            };
            Some((Ok::<_, Infallible>(event), next))
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)).text("keep-alive")).into_response()
}
