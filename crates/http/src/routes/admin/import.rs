//! Importing hardware tokens (docs/tokens.md, "Importing hardware tokens"), in two forms
//! on one route: a JSON body (`{"format": "csv", "data": "…"}`, under the JSON body
//! limit) or the CSV file itself (`Content-Type: text/csv`), read as a stream under its
//! own cap (`import_limit_bytes`) and handed to the core a line at a time, so the file is
//! never held in memory: only the checked tokens are.

use axum::Json;
use axum::body::Body;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use countersign_core::tokens::import::{ImportForm, MAX_LINE};
use futures_util::StreamExt;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::auth::AdminAuth;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{ApiJson, ApiPath};

/// These routes.
pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_tokens))
}

/// How many tokens an import added.
#[derive(Debug, Serialize, ToSchema)]
pub struct Imported {
    /// Tokens imported.
    imported: usize,
}

/// Import hardware tokens from CSV, all or none (docs/tokens.md). Send either JSON
/// (`{"format": "csv", "data": "…"}`, at most 10,000 tokens, within the JSON body limit)
/// or the file itself with `Content-Type: text/csv` (streamed: at most 200,000 tokens and
/// `import_limit_bytes`, default 256 MiB). Columns:
/// `serial,type,seed_hex,digits,period_or_counter,algorithm`; a first line starting with
/// `serial` is a header. An error names the line (`data.lineN` for JSON, `lineN.column`
/// for CSV) and never echoes a seed.
#[utoipa::path(post, path = "/admin/v1/tenants/{domain}/tokens/import", tag = "admin", params(("domain" = String, Path)),
    request_body(description = "The tokens: JSON, or the CSV file streamed as `text/csv`.", content(
        (countersign_core::tokens::ImportInput = "application/json"),
        (String = "text/csv", example = json!("serial,type,seed_hex,digits,period_or_counter,algorithm\nHW-1,hotp,3132333435363738393031323334353637383930,6,0,SHA1\n"))
    )),
    security(("adminToken" = [])),
    responses(
        (status = 201, body = Imported, description = "Every token in the file was imported."),
        (status = 401, body = ErrorBody, description = "No admin token, or not a valid one (`unauthorized`)."),
        (status = 404, body = ErrorBody, description = "No such tenant."),
        (status = 409, body = ErrorBody, description = "A token in the file exists already (`token_exists`); nothing was imported."),
        (status = 413, body = ErrorBody, description = "The body is larger than the JSON body limit (JSON) or `import_limit_bytes` (CSV) (`payload_too_large`); nothing was imported."),
        (status = 415, body = ErrorBody, description = "A body neither `application/json` nor `text/csv` (`unsupported_media_type`)."),
        (status = 422, body = ErrorBody, description = "A line does not fit: `field` names it (`data.line7`, `line7.seed_hex`) (`invalid_value`); nothing was imported.")
    ))]
async fn import_tokens(
    _: AdminAuth,
    State(s): State<AppState>,
    ApiPath(domain): ApiPath<String>,
    req: Request,
) -> Result<(StatusCode, Json<Imported>), ApiError> {
    let imported = if is_csv(req.headers()) {
        import_csv(&s, &domain, req).await?
    } else if crate::extract::is_json(req.headers()) {
        let ApiJson(input) = ApiJson::<countersign_core::tokens::ImportInput>::from_request(req, &s).await?;
        s.core.import_tokens(&domain, input).await?
    } else {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the body must be JSON (Content-Type: application/json) or a CSV file (Content-Type: text/csv)",
        ));
    };
    Ok((StatusCode::CREATED, Json(Imported { imported })))
}

/// Whether the body is sent as `text/csv`.
fn is_csv(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("text/csv"))
}

fn too_large(limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!(
            "the CSV file is larger than this server's import limit of {limit} bytes (import_limit_bytes); nothing was imported"
        ),
    )
}

/// Read the body as a stream of lines into an import, then insert it: refused as a whole
/// (`413`) when it declares or turns out to be larger than the cap, at the first line
/// that does not fit (`422` naming it), or when the body cannot be read (`400`).
async fn import_csv(s: &AppState, domain: &str, req: Request) -> Result<usize, ApiError> {
    let limit = s.import_limit_bytes;
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit));
    }
    let mut import = s.core.begin_token_import(domain, ImportForm::Csv).await?;
    let mut body = Body::into_data_stream(req.into_body());
    // The bytes of the line being read; a line ends at `\n` (an `\r` before it is trimmed).
    let mut pending: Vec<u8> = Vec::new();
    let mut read: u64 = 0;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "unreadable_body",
                "the body could not be read; nothing was imported",
            )
        })?;
        read += chunk.len() as u64;
        if read > limit {
            return Err(too_large(limit));
        }
        let mut rest = &chunk[..];
        while let Some(end) = rest.iter().position(|b| *b == b'\n') {
            pending.extend_from_slice(&rest[..end]);
            feed(&mut import, &pending)?;
            pending.clear();
            rest = &rest[end + 1..];
        }
        pending.extend_from_slice(rest);
        if pending.len() > MAX_LINE {
            // A line with no end in sight: refuse it without buffering more of it.
            feed(&mut import, &pending)?;
        }
    }
    if !pending.is_empty() {
        feed(&mut import, &pending)?;
    }
    Ok(import.finish().await?)
}

/// One line to the import; a line that is not UTF-8 is refused, naming it.
fn feed(import: &mut countersign_core::tokens::import::TokenImport<'_>, bytes: &[u8]) -> Result<(), ApiError> {
    let Ok(text) = std::str::from_utf8(bytes) else {
        let n = import.lines() + 1;
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_value",
            format!("line {n}: not UTF-8 text"),
        )
        .with_field(format!("line{n}")));
    };
    Ok(import.line(text)?)
}
