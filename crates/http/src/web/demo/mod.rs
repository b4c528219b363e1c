//! The demo relying party at `/demo` (docs/web.md, "Demo relying party"): a shop page
//! whose own small back end logs its visitor in, and approves a transfer, by calling
//! countersign's integration API exactly as an integrator would — over HTTP, on loopback,
//! with the demo tenant's API key — and answers the page with what it called
//! ([`Call`]: method, path, request and response JSON, status; the API key never).
//!
//! Served only when the server is told to (`countersign serve --demo`, `countersign
//! demo`): [`router`] is merged by [`crate::app`] when [`crate::HttpConfig::demo`] is
//! set, inside the same security headers, request limits and request log as every page.
//! Its JSON endpoints (`/demo/api/…`, [`flows`]) take only `application/json` from the
//! page's own origin, so another site cannot make a visitor's browser start pushes.

use std::sync::Arc;
use std::time::Duration;

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use super::{Assets, assets, render, same_origin};
use crate::AppState;
use crate::error::ApiError;

mod flows;

/// What the demo back end needs: where the integration API is and the key it uses.
#[derive(Clone)]
pub struct DemoSettings {
    /// The integration API's base on loopback (`http://127.0.0.1:8080`).
    pub api: String,
    /// The demo tenant's API key (never shown, never logged).
    pub key: String,
    /// The demo tenant.
    pub domain: String,
    /// The user the login box suggests.
    pub user: String,
    /// The user's static password, shown on the page (a demo account).
    pub password: Option<String>,
    /// Where one-time codes land when they are not sent (`countersign demo`).
    pub messages: Option<String>,
    /// HTTPS on loopback with this server's own certificate, which names the public
    /// host rather than 127.0.0.1: accepted as it is (development only).
    pub loopback_tls: bool,
}

impl std::fmt::Debug for DemoSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DemoSettings")
            .field("api", &self.api)
            .field("key", &"<redacted>")
            .field("domain", &self.domain)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The demo's back end: its settings and its HTTP client.
pub(crate) struct Demo {
    settings: DemoSettings,
    client: reqwest::Client,
}

/// The demo's routes, for [`crate::app`] to merge when the demo is on.
pub fn router(settings: DemoSettings) -> Router<AppState> {
    let client = reqwest::Client::builder()
        .no_proxy()
        // A synchronous push waits up to the tenant's login timeout (60 s by default).
        .timeout(Duration::from_secs(150))
        .tls_danger_accept_invalid_certs(settings.loopback_tls)
        .build()
        .unwrap_or_default();
    let demo = Arc::new(Demo { settings, client });
    Router::new()
        .route("/demo", get(page))
        .route("/demo/api/sessions/{id}/events", get(session_events))
        .merge(flows::router())
        .with_state(demo)
}

#[derive(Template)]
#[template(path = "demo/shop.html")]
struct ShopPage {
    assets: Assets,
    demo_js: &'static str,
    domain: String,
    user: String,
    password: Option<String>,
    messages: Option<String>,
}

async fn page(State(d): State<Arc<Demo>>) -> Response {
    let s = &d.settings;
    let page = ShopPage {
        assets: assets(),
        demo_js: super::demo_js(),
        domain: s.domain.clone(),
        user: s.user.clone(),
        password: s.password.clone(),
        messages: s.messages.clone(),
    };
    render(StatusCode::OK, &page)
}

/// One call the back end made to the integration API, as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Call {
    method: &'static str,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<Value>,
    status: u16,
    response: Value,
}

/// What a demo endpoint answers: the outcome in a word (`Accept`, `Pending`, an error
/// code…), what the page needs to go on (`data`), and the calls made.
#[derive(Debug, Serialize)]
pub(crate) struct Reply {
    outcome: String,
    data: Value,
    calls: Vec<Call>,
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

/// The calls of one demo action, and the integration API they go to.
pub(crate) struct Calls<'a> {
    demo: &'a Demo,
    made: Vec<Call>,
}

impl<'a> Calls<'a> {
    fn new(demo: &'a Demo) -> Self {
        Calls { demo, made: Vec::new() }
    }

    /// The demo tenant's path of a user: `/v1/users/alice@demo.example{rest}`.
    fn user_path(&self, user: &str, rest: &str) -> String {
        format!("/v1/users/{user}@{}{rest}", self.demo.settings.domain)
    }

    /// Call the integration API; the status and the JSON body. A call that gets no
    /// answer at all is an error of the demo (502), not an outcome to show.
    async fn call(
        &mut self,
        method: &'static str,
        path: String,
        body: Option<Value>,
    ) -> Result<(u16, Value), ApiError> {
        let url = format!("{}{path}", self.demo.settings.api);
        let m = if method == "GET" { reqwest::Method::GET } else { reqwest::Method::POST };
        let mut req = self.demo.client.request(m, url).bearer_auth(&self.demo.settings.key);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let resp = req.send().await.map_err(|e| {
            tracing::warn!(error = %e, path, "the demo cannot reach the integration API");
            ApiError::new(StatusCode::BAD_GATEWAY, "demo_upstream", "the demo cannot reach the integration API")
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        self.made.push(Call { method, path, request: body, status, response: value.clone() });
        Ok((status, value))
    }

    /// The reply: `outcome` from the last answer (its `sessionStatus`, else `ok`, or its
    /// error code), unless given.
    fn reply(self, outcome: Option<String>, data: Value) -> Reply {
        let outcome = outcome.unwrap_or_else(|| match self.made.last() {
            Some(c) if c.status < 300 => c.response["sessionStatus"].as_str().unwrap_or("ok").to_owned(),
            Some(c) => c.response["error"]["code"].as_str().unwrap_or("error").to_owned(),
            None => "nothing".to_owned(),
        });
        Reply { outcome, data, calls: self.made }
    }
}

/// A name the demo puts in a path: a user ID, a request or token ID. Anything else is
/// refused here, so the page cannot steer the back end to another route.
pub(crate) fn path_word(field: &str, v: &str) -> Result<String, ApiError> {
    let ok = !v.is_empty()
        && v.len() <= 64
        && v.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        && !v.starts_with('.');
    if ok {
        Ok(v.to_owned())
    } else {
        Err(ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input", "letters, digits, '.', '_' or '-' only")
            .with_field(field))
    }
}

/// The page's JSON posts come from its own origin (another site's page could otherwise
/// start pushes from its visitors' browsers).
pub(crate) fn own_origin(headers: &HeaderMap) -> Result<(), ApiError> {
    let has_origin = headers.contains_key(header::ORIGIN);
    if has_origin && same_origin(headers) {
        Ok(())
    } else {
        Err(ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "the demo takes calls from its own page only"))
    }
}

/// Follow a session for the page: the back end opens the integration API's event
/// stream (`GET /v1/sessions/{id}/events`, with the API key) and passes each event on,
/// each with the call it came from, as the page shows it.
async fn session_events(State(d): State<Arc<Demo>>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = path_word("requestID", &id)?;
    let path = format!("/v1/sessions/{id}/events");
    let resp = d
        .client
        .get(format!("{}{path}", d.settings.api))
        .bearer_auth(&d.settings.key)
        .timeout(Duration::from_secs(15 * 60))
        .send()
        .await
        .map_err(|_| {
            ApiError::new(StatusCode::BAD_GATEWAY, "demo_upstream", "the demo cannot reach the integration API")
        })?;
    let status = resp.status().as_u16();
    if status != 200 {
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let call = Call { method: "GET", path, request: None, status, response: body };
        let ev = Event::default().event("failed").data(json!({"call": call}).to_string());
        let once = futures_util::stream::iter([Ok::<_, std::convert::Infallible>(ev)]);
        return Ok(Sse::new(once).into_response());
    }
    // (response, bytes not yet split into events, path)
    let stream = futures_util::stream::unfold((Some(resp), String::new(), path), |(resp, mut buf, path)| async move {
        let mut resp = resp?;
        loop {
            if let Some(end) = buf.find("\n\n") {
                let raw: String = buf.drain(..end + 2).collect();
                if let Some(ev) = relay_event(&raw, &path) {
                    return Some((Ok::<_, std::convert::Infallible>(ev), (Some(resp), buf, path)));
                }
                continue;
            }
            match resp.chunk().await {
                Ok(Some(bytes)) => buf.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))).into_response())
}

/// One upstream event (`event: …` / `data: …` lines) as the page's event: the same name,
/// data `{"session": <the upstream data>, "call": …}`. Comments (keep-alives) are dropped.
fn relay_event(raw: &str, path: &str) -> Option<Event> {
    let mut name = None;
    let mut data = String::new();
    for line in raw.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = Some(v.trim().to_owned());
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    let name = name?;
    let session: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
    let call = Call {
        method: "GET",
        path: path.to_owned(),
        request: None,
        status: 200,
        response: Value::String(format!("event: {name}\ndata: {data}")),
    };
    Some(Event::default().event(name).data(json!({"session": session, "call": call}).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_words_reach_a_path() {
        assert!(path_word("user", "alice").is_ok());
        assert!(path_word("user", "a.b-c_9").is_ok());
        for bad in ["", "..", ".x", "a/b", "a@b", "a?b", "a%2F", &"x".repeat(65)] {
            assert!(path_word("user", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_upstream_event_is_passed_on_with_its_call() {
        let raw = "event: state\ndata: {\"requestID\":\"r1\",\"sessionStatus\":\"Accept\"}\n\n";
        assert!(relay_event(raw, "/v1/sessions/r1/events").is_some());
        assert!(relay_event(": keep-alive\n\n", "/v1/sessions/r1/events").is_none());
    }

    #[test]
    fn the_key_is_not_in_debug_output() {
        let s = DemoSettings {
            api: "http://127.0.0.1:1".into(),
            key: "csk_secret".into(),
            domain: "demo.example".into(),
            user: "alice".into(),
            password: None,
            messages: None,
            loopback_tls: false,
        };
        assert!(!format!("{s:?}").contains("csk_secret"));
    }
}
