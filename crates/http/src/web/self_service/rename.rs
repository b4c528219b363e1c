//! Renaming a mobile authenticator or a passkey on the self-service pages.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use serde::Deserialize;

use super::{checked, error_page};
use crate::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/self-service/{domain}/devices/{id}/name", post(device))
        .route("/self-service/{domain}/passkeys/{id}/name", post(passkey))
}

#[derive(Deserialize)]
struct NameForm {
    csrf: Option<String>,
    name: Option<String>,
}

/// What is renamed.
enum Thing {
    Device,
    Passkey,
}

async fn rename(
    s: AppState,
    domain: String,
    id: String,
    headers: HeaderMap,
    form: Result<Form<NameForm>, FormRejection>,
    what: Thing,
) -> Response {
    let f = form.map(|f| f.0).unwrap_or(NameForm { csrf: None, name: None });
    let me = or_page!(checked(&s, &headers, &domain, f.csrf.as_deref()).await);
    let name = f.name.unwrap_or_default();
    let done = match what {
        Thing::Device => s.core.rename_my_device(&me, &id, &name).await,
        Thing::Passkey => s.core.rename_my_passkey(&me, &id, &name).await,
    };
    match done {
        Ok(()) => Redirect::to(&format!("/self-service/{domain}/home")).into_response(),
        Err(e) => error_page(e.into(), Some(format!("/self-service/{domain}/home"))),
    }
}

async fn device(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<NameForm>, FormRejection>,
) -> Response {
    rename(s, domain, id, headers, form, Thing::Device).await
}

async fn passkey(
    State(s): State<AppState>,
    Path((domain, id)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<NameForm>, FormRejection>,
) -> Response {
    rename(s, domain, id, headers, form, Thing::Passkey).await
}
