//! The outbox in the console, read-only but for one button: the newest messages (their
//! kind, target, state, attempts, last error — never the payload, which may hold a code),
//! and "Retry" on a dead callback, SMS or e-mail (`Core::retry_outbox`, as
//! `POST /admin/v1/outbox/{id}/retry`). The outbox is every tenant's: administrators
//! of one tenant do not see it; only a superadmin retries.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use countersign_core::audit::AuditKind;
use countersign_core::delivery::outbox::{OutboxKind, OutboxState};
use serde::Deserialize;

use super::{Fields, Nav, Shown, acting, admin, error_page, posted, shown};
use crate::AppState;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/console/outbox", get(outbox_page)).route("/console/outbox/{id}/retry", post(retry))
}

struct MessageRow {
    id: String,
    tenant: String,
    kind: &'static str,
    target: String,
    state: &'static str,
    attempts: u32,
    created: Shown,
    last_error: String,
    retryable: bool,
}

#[derive(Template)]
#[template(path = "console/outbox.html")]
struct OutboxPage {
    assets: Assets,
    nav: Nav,
    state: String,
    messages: Vec<MessageRow>,
    next: Option<String>,
}

#[derive(Deserialize)]
struct OutboxQuery {
    state: Option<String>,
    after: Option<String>,
}

async fn outbox_page(State(s): State<AppState>, headers: HeaderMap, q: Query<OutboxQuery>) -> Response {
    let a = or_page!(admin(&s, &headers).await);
    let state = q.0.state.filter(|s| !s.is_empty());
    let listing = match s.core.console_outbox(&a, state.as_deref(), q.0.after).await {
        Ok(l) => l,
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let superadmin = a.account.is_superadmin();
    let messages = listing
        .items
        .into_iter()
        .map(|(tenant, m)| MessageRow {
            tenant,
            kind: m.kind.as_str(),
            state: m.state.as_str(),
            attempts: m.attempts,
            created: shown(m.created_at),
            last_error: m.last_error.clone().unwrap_or_default(),
            retryable: superadmin
                && m.state == OutboxState::Dead
                && matches!(m.kind, OutboxKind::Callback | OutboxKind::Sms | OutboxKind::Email),
            target: m.target,
            id: m.id,
        })
        .collect();
    let page = OutboxPage {
        assets: assets(),
        nav: Nav::of(&a),
        state: state.unwrap_or_default(),
        messages,
        next: listing.next_after,
    };
    render(StatusCode::OK, &page)
}

async fn retry(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let a = or_page!(posted(&s, &headers, &form).await);
    // The outbox is every tenant's: only a superadmin retries.
    if !a.account.is_superadmin() {
        return error_page(countersign_core::web::console::forbidden().into(), "/console/outbox");
    }
    match acting(&s, &a).retry_outbox(&id).await {
        Ok(()) => {
            let details = serde_json::json!({ "console": true, "action": "outbox_retried", "message": id });
            s.core.console_audit(&a, AuditKind::AdminChange, None, None, details).await;
            Redirect::to("/console/outbox?state=dead").into_response()
        }
        Err(e) => error_page(e.into(), "/console/outbox"),
    }
}
