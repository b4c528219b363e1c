//! The web pages (docs/web.md): server-rendered HTML from templates compiled into the
//! binary (askama, `crates/http/templates`), one stylesheet and one small script, both
//! embedded. The pages are one more front door: each handler calls the same core
//! operations as the JSON APIs.
//!
//! Every page gets the same security headers ([`secure_headers`]); signed-in pages carry
//! a session cookie ([`SessionCookie`]) and every form a CSRF token checked with the
//! request's `Origin` ([`check_form`]).

use std::sync::LazyLock;

use askama::Template;
use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

/// The value of a `Result<T, Response>`, or return its response: a page handler's `?`.
macro_rules! or_page {
    ($e:expr) => {
        match $e {
            Ok(v) => v,
            Err(res) => return res,
        }
    };
}

mod console;
pub mod demo;
mod self_service;

/// The pages' routes (outside the OpenAPI description: they are HTML, not an API); the
/// demo relying party's only when it is on.
pub fn router(demo: Option<demo::DemoSettings>) -> Router<AppState> {
    let mut router = Router::new().merge(self_service::router()).merge(console::router());
    if let Some(settings) = demo {
        router = router.merge(demo::router(settings));
    }
    router.route("/assets/{file}", axum::routing::get(asset)).layer(axum::middleware::from_fn(secure_headers))
}

/// The Content-Security-Policy of every page: nothing from elsewhere, no inline script
/// or style, images only from here or `data:` (the QR codes).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn secure_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null`
    // on every form post, and the origin check below could not tell our pages apart.
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    res
}

/// An embedded file, addressed by a hash of its content so it can be cached for good.
struct Asset {
    path: String,
    body: &'static str,
    content_type: &'static str,
}

fn asset_of(name: &str, ext: &str, body: &'static str, content_type: &'static str) -> Asset {
    let hash = Sha256::digest(body.as_bytes());
    let tag: String = hash.iter().take(6).map(|b| format!("{b:02x}")).collect();
    Asset { path: format!("/assets/{name}.{tag}.{ext}"), body, content_type }
}

static CSS: LazyLock<Asset> =
    LazyLock::new(|| asset_of("web", "css", include_str!("../../assets/web.css"), "text/css; charset=utf-8"));
static JS: LazyLock<Asset> =
    LazyLock::new(|| asset_of("web", "js", include_str!("../../assets/web.js"), "text/javascript; charset=utf-8"));
static CONSOLE_JS: LazyLock<Asset> = LazyLock::new(|| {
    asset_of("console", "js", include_str!("../../assets/console.js"), "text/javascript; charset=utf-8")
});
static DEMO_JS: LazyLock<Asset> =
    LazyLock::new(|| asset_of("demo", "js", include_str!("../../assets/demo.js"), "text/javascript; charset=utf-8"));

/// The addresses of the embedded stylesheet and script, for the templates.
pub struct Assets {
    /// The stylesheet.
    pub css: &'static str,
    /// The script.
    pub js: &'static str,
}

/// The console's script (WebAuthn for the administrator's passkey).
fn console_js() -> &'static str {
    &CONSOLE_JS.path
}

/// The assets as the pages link them.
pub fn assets() -> Assets {
    Assets { css: &CSS.path, js: &JS.path }
}

/// The demo page's script (served whether or not the demo is on: it is inert alone).
fn demo_js() -> &'static str {
    &DEMO_JS.path
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    for a in [&*CSS, &*JS, &*CONSOLE_JS, &*DEMO_JS] {
        if a.path.strip_prefix("/assets/") == Some(file.as_str()) {
            return (
                [
                    (header::CONTENT_TYPE, a.content_type),
                    (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
                ],
                a.body,
            )
                .into_response();
        }
    }
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such asset").into_response()
}

/// A rendered page, or a plain 500 when a template cannot render (it never should: the
/// templates are checked when the binary is built).
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page template failed to render");
            ApiError::internal(&"a page could not be rendered").into_response()
        }
    }
}

/// The cookie that holds a page session, as this server names it: `__Host-` prefixed
/// and `Secure` when the public URL is HTTPS; plain (`cs_self_service`) on a plain-HTTP
/// development server (browsers drop `Secure` cookies sent over plain HTTP). The console
/// has its own cookie (`cs_console`), so the two kinds of session never meet.
#[derive(Debug, Clone, Copy)]
pub struct SessionCookie {
    secure: bool,
    base: &'static str,
}

impl SessionCookie {
    /// The self-service session cookie of this server.
    pub fn of(state: &AppState) -> Self {
        SessionCookie { secure: state.core.public_url.starts_with("https://"), base: "cs_self_service" }
    }

    /// The console cookie of this server.
    pub fn console(state: &AppState) -> Self {
        SessionCookie { base: "cs_console", ..Self::of(state) }
    }

    /// The cookie of a self-service sign-in between its password and its second factor.
    pub fn pending_of(state: &AppState) -> Self {
        SessionCookie { base: "cs_self_service_pending", ..Self::of(state) }
    }

    fn name(self) -> String {
        if self.secure { format!("__Host-{}", self.base) } else { self.base.to_owned() }
    }

    /// The cookie's value in a request, if it is there.
    pub fn read(self, headers: &HeaderMap) -> Option<String> {
        let name = self.name();
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name.as_str())
            .map(|(_, v)| v.to_owned())
            .filter(|v| !v.is_empty() && v.len() <= 64)
    }

    /// `Set-Cookie` for a new session lasting `max_age_s` seconds.
    pub fn set(self, value: &str, max_age_s: i64) -> HeaderValue {
        let secure = if self.secure { "; Secure" } else { "" };
        let text = format!("{}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{secure}", self.name());
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `Set-Cookie` that removes the cookie.
    pub fn clear(self) -> HeaderValue {
        self.set("", 0)
    }
}

/// Whether a form post comes from this server's own pages: its `Origin` (sent by every
/// current browser on a POST) names the host the request was sent to. A post without
/// `Origin` still needs the session's CSRF token.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN) else { return true };
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else { return false };
    let origin = origin.to_str().unwrap_or("");
    origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://")) == Some(host)
}

/// Check a signed-in form post: same origin, and the session's CSRF token.
pub fn check_form(headers: &HeaderMap, cookie: &str, csrf: Option<&str>) -> Result<(), ApiError> {
    if !same_origin(headers) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "cross_origin", "this form was sent from another site"));
    }
    if !csrf.is_some_and(|t| countersign_core::web::csrf_matches(cookie, t)) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", "this form has expired: reload the page")
            .with_field("csrf"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_post_from_another_origin_is_refused() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, HeaderValue::from_static("auth.example:8443"));
        assert!(same_origin(&h), "no Origin: left to the CSRF token");
        h.insert(header::ORIGIN, HeaderValue::from_static("https://auth.example:8443"));
        assert!(same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin(&h));
        h.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&h));
    }

    #[test]
    fn the_cookie_is_read_by_its_name_only() {
        let c = SessionCookie { secure: false, base: "cs_self_service" };
        let mut h = HeaderMap::new();
        h.insert(header::COOKIE, HeaderValue::from_static("a=1; cs_self_service=abc; b=2"));
        assert_eq!(c.read(&h).as_deref(), Some("abc"));
        assert_eq!(SessionCookie { secure: true, ..c }.read(&h), None);
        let set = c.set("v", 60);
        assert_eq!(set.to_str().unwrap(), "cs_self_service=v; Path=/; HttpOnly; SameSite=Strict; Max-Age=60");
        let secure = SessionCookie { secure: true, ..c }.set("v", 60);
        assert!(secure.to_str().unwrap().starts_with("__Host-cs_self_service=v;"));
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
        let console = SessionCookie { secure: true, base: "cs_console" }.set("v", 60);
        assert!(console.to_str().unwrap().starts_with("__Host-cs_console=v;"));
        assert_eq!(SessionCookie { secure: false, base: "cs_console" }.read(&h), None);
    }
}
