//! The API explorer at `/docs`: Swagger UI reading `/openapi.json`.
//!
//! Swagger UI's files come from the crates.io package `utoipa-swagger-ui-vendored`
//! (through `utoipa-swagger-ui`'s `vendored` feature) and are compiled into the binary:
//! nothing is downloaded at build time and the page loads nothing from another host.
//! The page itself is ours, so its asset paths are absolute (`/docs` works without a
//! trailing slash) and it runs no inline script, which lets a strict
//! Content-Security-Policy cover it.

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use axum::body::Bytes;
use axum::http::{HeaderName, HeaderValue, header};
use utoipa_swagger_ui::Config;

/// The Content-Security-Policy of `/docs` and its assets: scripts, styles and calls from
/// this server only (Swagger UI sets inline `style` attributes, and its icons are `data:`
/// images).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; font-src 'self' data:; connect-src 'self'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// The headers every `/docs` response carries.
pub fn security_headers() -> [(HeaderName, HeaderValue); 3] {
    [
        (header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP)),
        (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
    ]
}

/// The page at `/docs`.
pub const INDEX_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>countersign API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css">
<link rel="icon" type="image/png" href="/docs/favicon-32x32.png" sizes="32x32">
</head>
<body>
<noscript><p>This page needs JavaScript. The API description is at <a href="/openapi.json">/openapi.json</a>.</p></noscript>
<div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script src="/docs/swagger-initializer.js"></script>
</body>
</html>
"#;

/// Swagger UI's settings, written into `swagger-initializer.js`.
static CONFIG: LazyLock<Arc<Config<'static>>> = LazyLock::new(|| {
    Arc::new(
        Config::new(["/openapi.json"])
            // No top bar: its box loads a description from any address.
            .use_base_layout()
            // The default validator is a badge image from another host.
            .validator_url("none")
            .deep_linking(true)
            .filter(true)
            .display_request_duration(true)
            .doc_expansion("list")
            .default_models_expand_depth(0)
            .persist_authorization(false),
    )
});

/// One of Swagger UI's files, by its name under `/docs/`: its media type and bytes.
pub fn asset(name: &str) -> Option<(String, Bytes)> {
    // The page above is the only index; Swagger UI's own one uses relative paths.
    if name.is_empty() || name == "index.html" {
        return None;
    }
    match utoipa_swagger_ui::serve(name, CONFIG.clone()) {
        Ok(Some(file)) => {
            let bytes = match file.bytes {
                Cow::Borrowed(b) => Bytes::from_static(b),
                Cow::Owned(v) => Bytes::from(v),
            };
            Some((file.content_type, bytes))
        }
        Ok(None) => None,
        Err(e) => {
            tracing::error!(error = %e, name, "cannot render a Swagger UI file");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_loads_the_embedded_files_and_the_initializer_reads_our_description() {
        for src in ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/swagger-ui-standalone-preset.js"] {
            assert!(INDEX_HTML.contains(src), "{src}");
            let (ty, bytes) = asset(src.trim_start_matches("/docs/")).unwrap();
            assert!(bytes.len() > 10_000, "{src}: {} bytes", bytes.len());
            assert!(ty.starts_with("text/css") || ty.contains("javascript"), "{src}: {ty}");
        }
        let (_, init) = asset("swagger-initializer.js").unwrap();
        let init = String::from_utf8(init.to_vec()).unwrap();
        assert!(init.contains("\"url\": \"/openapi.json\""), "{init}");
        assert!(init.contains("\"validatorUrl\": \"none\""), "{init}");
        assert!(init.contains("BaseLayout"), "{init}");
        assert!(!INDEX_HTML.contains("<script>"), "no inline script: the CSP forbids it");
        assert!(!INDEX_HTML.contains("http"), "no other host");
        assert_eq!(asset(""), None);
        assert_eq!(asset("index.html"), None);
        assert_eq!(asset("nope.js"), None);
    }
}
