//! Changing the static password on the self-service pages: the current one (checked as
//! every password guess is), the new one twice.

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use serde::Deserialize;

use super::{NoticePage, checked, error_page};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{assets, render};

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/self-service/{domain}/password", post(change))
}

#[derive(Deserialize)]
struct PasswordForm {
    csrf: Option<String>,
    current: Option<String>,
    new: Option<String>,
    confirm: Option<String>,
}

async fn change(
    State(s): State<AppState>,
    Path(domain): Path<String>,
    headers: HeaderMap,
    form: Result<Form<PasswordForm>, FormRejection>,
) -> Response {
    let f = form.map(|f| f.0).unwrap_or(PasswordForm { csrf: None, current: None, new: None, confirm: None });
    let me = or_page!(checked(&s, &headers, &domain, f.csrf.as_deref()).await);
    let back = Some(format!("/self-service/{domain}/home"));
    let new = f.new.unwrap_or_default();
    if f.confirm.as_deref() != Some(new.as_str()) {
        let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", "the two new passwords differ");
        return error_page(e.with_field("confirm"), back);
    }
    match s.core.change_my_password(&me, &f.current.unwrap_or_default(), &new).await {
        Ok(()) => {
            let message = "Your password is changed. Use the new one from now on.".to_owned();
            render(StatusCode::OK, &NoticePage { assets: assets(), title: "Password changed", message, back })
        }
        Err(e) => error_page(e.into(), back),
    }
}
