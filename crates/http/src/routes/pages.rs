//! The pages app links land on. An activation or QR-login link
//! (`/app/activate?…`, `/app/qr-login?…`) is meant for the authenticator app, which
//! handles links to its server; opened on a device without the app (or in a desktop
//! browser) it lands here, on a page that says what to do, with a button that hands the
//! request to an installed app through its `countersign://` address.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use countersign_proto::messages::{QrLoginPayload, QrPayload};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::extract::ApiQuery;

/// The app-link pages.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(activate_link)).routes(routes!(qr_login_link))
}

/// What an app link carries.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LinkQuery {
    /// The activation or request ID.
    id: Option<String>,
    /// The code.
    code: Option<String>,
}

/// IDs and codes are base64url or letters and digits; anything else is not ours.
fn plausible(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| {
        !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The page an activation link lands on without the app.
#[utoipa::path(get, path = "/app/activate", tag = "operations", params(LinkQuery),
    responses((status = 200, description = "An HTML page: open this link with the authenticator app", content_type = "text/html")))]
async fn activate_link(State(s): State<AppState>, ApiQuery(q): ApiQuery<LinkQuery>) -> Response {
    let uri = match (plausible(&q.id), plausible(&q.code)) {
        (Some(id), Some(code)) => Some(
            QrPayload { server: s.core.public_url.clone(), activation_id: id.to_owned(), code: code.to_owned() }
                .to_uri(),
        ),
        _ => None,
    };
    page(
        "Activate your authenticator",
        "This link activates the countersign authenticator app for your account. Open it on the phone \
         where the app is installed, or scan the QR code shown by the site with the app.",
        uri.as_deref(),
    )
}

/// The page a QR-login link lands on without the app.
#[utoipa::path(get, path = "/app/qr-login", tag = "operations", params(LinkQuery),
    responses((status = 200, description = "An HTML page: open this link with the authenticator app", content_type = "text/html")))]
async fn qr_login_link(State(s): State<AppState>, ApiQuery(q): ApiQuery<LinkQuery>) -> Response {
    let uri = match (plausible(&q.id), plausible(&q.code)) {
        (Some(id), Some(code)) => Some(
            QrLoginPayload { server: s.core.public_url.clone(), request_id: id.to_owned(), code: code.to_owned() }
                .to_uri(),
        ),
        _ => None,
    };
    page(
        "Sign in with your authenticator",
        "This link signs you in with the countersign authenticator app. Open it on the phone where the \
         app is installed and activated for your account, or scan the QR code shown by the site with the app.",
        uri.as_deref(),
    )
}

fn page(title: &str, text: &str, app_uri: Option<&str>) -> Response {
    let esc = countersign_core::delivery::providers::html_escape;
    let button = match app_uri {
        Some(uri) => format!(r#"<p><a class="button" href="{}">Open in the authenticator app</a></p>"#, esc(uri)),
        None => "<p><strong>This link is incomplete or damaged.</strong> Ask the site for a new one.</p>".to_owned(),
    };
    let html = format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;line-height:1.5}}
.button{{display:inline-block;padding:.6rem 1.1rem;background:#1a56db;color:#fff;border-radius:.4rem;text-decoration:none}}</style>
</head><body><h1>{title}</h1><p>{text}</p>{button}
<h2>No app on this phone?</h2>
<p>Install the authenticator app your organisation uses for countersign, activate it from your
account's self-service page, then open this link again. The link works once and expires after a
few minutes; if it has expired, start again on the site.</p>
</body></html>"#,
        title = esc(title),
        text = esc(text),
    );
    ([(header::CACHE_CONTROL, "no-store")], Html(html)).into_response()
}
