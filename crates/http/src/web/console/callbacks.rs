//! A tenant's callbacks in the console (docs/delivery.md, "Callback allowlist"): the
//! allowlist's endpoints with optional Basic credentials, replaced whole through
//! `Core::set_callback_config` as the admin API's `PUT …/callbacks` does; and the signing
//! secret, made new through `Core::new_callback_secret` and shown on that answer only —
//! afterwards the page says only whether one is set. Passwords are write-only too: the
//! admin API replaces the list whole, so an endpoint saved without its password typed
//! again has none (the page says so).

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use countersign_core::audit::AuditKind;
use countersign_core::delivery::callbacks::{CallbackConfigInput, CallbackConfigView, EndpointInput};
use countersign_core::web::console::ConsoleAdmin;

use super::form::{Entered, opt};
use super::tenant::{changing, visible};
use super::{Fields, Nav, acting, admin, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{domain}/callbacks", get(callbacks_page).post(save_callbacks))
        .route("/console/tenants/{domain}/callbacks/secret", post(new_secret))
}

/// One endpoint row of the form (`url.N`, `username.N`, `password.N`).
struct Slot {
    n: usize,
    has_password: bool,
}

#[derive(Template)]
#[template(path = "console/callbacks.html")]
struct CallbacksPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    has_secret: bool,
    new_secret: Option<String>,
    slots: Vec<Slot>,
    form: Entered,
    saved: bool,
}

impl CallbacksPage {
    fn top_error(&self) -> Option<&str> {
        let keys: Vec<String> =
            self.slots.iter().flat_map(|s| [format!("url.{}", s.n), format!("username.{}", s.n)]).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        self.form.other_error(&keys)
    }
}

/// The form's fields of the allowlist: the endpoints, then two empty rows for new ones.
fn values_of(v: &CallbackConfigView) -> Fields {
    let mut f = Fields::new();
    if v.allowlist_enabled {
        f.insert("allowlistEnabled".into(), "on".into());
    }
    for (i, e) in v.endpoints.iter().enumerate() {
        f.insert(format!("url.{i}"), e.url.clone());
        f.insert(format!("username.{i}"), e.username.clone().unwrap_or_default());
    }
    f
}

fn slots(v: &CallbackConfigView, f: &Entered) -> Vec<Slot> {
    let n = v.endpoints.len().max(f.rows("url.")) + 2;
    (0..n).map(|n| Slot { n, has_password: v.endpoints.get(n).is_some_and(|e| e.has_password) }).collect()
}

/// The form's fields as the allowlist, rows without a URL left out; and the form row of
/// each endpoint.
fn input_of(f: &Fields) -> (CallbackConfigInput, Vec<usize>) {
    let mut rows: Vec<usize> = f.keys().filter_map(|k| k.strip_prefix("url.")).filter_map(|n| n.parse().ok()).collect();
    rows.sort_unstable();
    rows.retain(|n| opt(f, &format!("url.{n}")).is_some());
    let endpoints = rows
        .iter()
        .map(|n| EndpointInput {
            url: opt(f, &format!("url.{n}")).unwrap_or_default(),
            username: opt(f, &format!("username.{n}")),
            password: opt(f, &format!("password.{n}")),
        })
        .collect();
    (CallbackConfigInput { allowlist_enabled: f.contains_key("allowlistEnabled"), endpoints }, rows)
}

async fn page(
    s: &AppState,
    a: &ConsoleAdmin,
    domain: &str,
    status: StatusCode,
    shown: Option<(Entered, bool)>,
    new_secret: Option<String>,
) -> Response {
    let t = or_page!(visible(s, a, domain).await);
    let v = match s.core.callback_config(domain).await {
        Ok(v) => v,
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let (form, saved) = shown.unwrap_or_else(|| (Entered::new(values_of(&v)), false));
    let page = CallbacksPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        has_secret: v.has_secret,
        new_secret,
        slots: slots(&v, &form),
        form,
        saved,
    };
    render(status, &page)
}

async fn callbacks_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    match admin(&s, &headers).await {
        Ok(a) => page(&s, &a, &domain, StatusCode::OK, None, None).await,
        Err(res) => res,
    }
}

async fn save_callbacks(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let mut fields = form.map(|f| f.0).unwrap_or_default();
    let (input, rows) = input_of(&fields);
    match acting(&s, &a).set_callback_config(&domain, input).await.map_err(ApiError::from) {
        Ok(v) => {
            let details = serde_json::json!({ "console": true, "action": "callbacks_set" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            page(&s, &a, &domain, StatusCode::OK, Some((Entered::new(values_of(&v)), true)), None).await
        }
        Err(e) => {
            // A password typed is never sent back.
            fields.retain(|k, _| !k.starts_with("password."));
            // `endpoints.I.url` is the form row of the I-th endpoint sent.
            let at = e.field.as_deref().and_then(|f| {
                let mut parts = f.split('.').skip(1);
                let row = rows.get(parts.next()?.parse::<usize>().ok()?)?;
                Some(format!("{}.{row}", parts.next()?))
            });
            let entered = match at {
                Some(field) => Entered::new(fields).failed_at(&e, field),
                None => Entered::new(fields).failed(&e),
            };
            page(&s, &a, &domain, e.status, Some((entered, false)), None).await
        }
    }
}

async fn new_secret(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    match acting(&s, &a).new_callback_secret(&domain).await {
        Ok(secret) => {
            let details = serde_json::json!({ "console": true, "action": "callback_secret_made" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            // Shown on this answer only: it is stored sealed and never shown again.
            page(&s, &a, &domain, StatusCode::OK, None, Some(secret)).await
        }
        Err(e) => error_page(e.into(), &format!("/console/tenants/{domain}/callbacks")),
    }
}
