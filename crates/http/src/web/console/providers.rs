//! A tenant's SMS and e-mail providers in the console (docs/delivery.md): what is set
//! (the admin API's view, which never holds a credential), replaced whole through
//! `Core::set_providers` from a JSON document typed in (credentials included: they are
//! write-only, the form is never filled with them), and "send a test" through
//! `Core::send_test_message`, as `POST …/providers/test` does. Push apps belong to the
//! server, not to a tenant (`/admin/v1/apps`), and have no page yet.

use askama::Template;
use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use countersign_core::audit::AuditKind;
use countersign_core::delivery::providers::{ProvidersInput, TestMessageInput};
use countersign_core::web::console::ConsoleAdmin;

use super::form::{Entered, opt};
use super::tenant::{changing, visible};
use super::{Fields, Nav, acting, admin, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{Assets, assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/console/tenants/{domain}/providers", get(providers_page).post(save_providers))
        .route("/console/tenants/{domain}/providers/test", post(send_test))
}

#[derive(Template)]
#[template(path = "console/providers.html")]
struct ProvidersPage {
    assets: Assets,
    nav: Nav,
    domain: String,
    can_change: bool,
    current: String,
    form: Entered,
    saved: bool,
    test: Entered,
    queued: Option<String>,
}

impl ProvidersPage {
    fn top_error(&self) -> Option<&str> {
        self.form.other_error(&["providers"])
    }

    fn test_error(&self) -> Option<&str> {
        self.test.other_error(&["channel", "to"])
    }
}

#[derive(Default)]
struct Shown {
    form: Entered,
    saved: bool,
    test: Entered,
    queued: Option<String>,
}

async fn page(s: &AppState, a: &ConsoleAdmin, domain: &str, status: StatusCode, shown: Shown) -> Response {
    let t = or_page!(visible(s, a, domain).await);
    let current = match s.core.providers_view(domain).await {
        Ok(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
        Err(e) => return error_page(e.into(), "/console/tenants"),
    };
    let page = ProvidersPage {
        assets: assets(),
        nav: Nav::of(a),
        domain: t.domain.to_string(),
        can_change: a.account.may_change(&t.id),
        current,
        form: shown.form,
        saved: shown.saved,
        test: shown.test,
        queued: shown.queued,
    };
    render(status, &page)
}

async fn providers_page(State(s): State<AppState>, headers: HeaderMap, Path(domain): Path<String>) -> Response {
    match admin(&s, &headers).await {
        Ok(a) => page(&s, &a, &domain, StatusCode::OK, Shown::default()).await,
        Err(res) => res,
    }
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message).with_field(field)
}

async fn save_providers(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let fields = form.map(|f| f.0).unwrap_or_default();
    let doc = fields.get("providers").map_or("", |d| d.trim());
    let result = match serde_json::from_str::<ProvidersInput>(if doc.is_empty() { "{}" } else { doc }) {
        Ok(input) => acting(&s, &a).set_providers(&domain, input).await.map_err(ApiError::from),
        Err(e) => Err(invalid("providers", format!("not a providers document: {e}"))),
    };
    match result {
        Ok(_) => {
            let details = serde_json::json!({ "console": true, "action": "providers_set" });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            page(&s, &a, &domain, StatusCode::OK, Shown { saved: true, ..Shown::default() }).await
        }
        Err(e) => {
            // The document holds credentials: it is not sent back.
            let form = Entered::default().failed_at(&e, "providers".to_owned());
            page(&s, &a, &domain, e.status, Shown { form, ..Shown::default() }).await
        }
    }
}

async fn send_test(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(domain): Path<String>,
    form: Result<Form<Fields>, FormRejection>,
) -> Response {
    let (a, t) = or_page!(changing(&s, &headers, &form, &domain).await);
    let fields = form.map(|f| f.0).unwrap_or_default();
    let input = TestMessageInput {
        channel: opt(&fields, "channel").unwrap_or_default(),
        to: opt(&fields, "to").unwrap_or_default(),
        language: None,
    };
    match acting(&s, &a).send_test_message(&domain, input).await.map_err(ApiError::from) {
        Ok(id) => {
            let details = serde_json::json!({ "console": true, "action": "provider_test_sent", "message": id });
            s.core.console_audit(&a, AuditKind::AdminChange, Some(&t), None, details).await;
            let test = Entered::new(fields);
            page(&s, &a, &domain, StatusCode::OK, Shown { test, queued: Some(id), ..Shown::default() }).await
        }
        Err(e) => {
            let test = Entered::new(fields).failed(&e);
            page(&s, &a, &domain, e.status, Shown { test, ..Shown::default() }).await
        }
    }
}
