//! Extractors whose rejections are [`ApiError`]s: JSON bodies that name the field at
//! fault, queries, paths.
//!
//! Text is checked here, once, before anything reaches the domain or storage
//! (docs/security.md, "Input at the edge"): a NUL character (U+0000) in a path
//! parameter, a query value or any JSON string is `422 invalid_value` naming where it
//! is. PostgreSQL cannot store NUL in text, so letting one through turned a bad request
//! into a storage error.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::{HeaderMap, StatusCode, header, request::Parts};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde_json::Value;

use crate::error::ApiError;

/// What a NUL character is refused with.
pub const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";

/// `422 invalid_value` for a NUL character in `field`.
fn nul_error(field: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", NUL_MESSAGE).with_field(field)
}

/// Whether the request says its body is JSON (`application/json` or `application/…+json`).
pub fn is_json(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(|v| v.split(';').next()).is_some_and(
        |mime| {
            let mime = mime.trim().to_ascii_lowercase();
            mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
        },
    )
}

/// `415`: the body is not sent as JSON.
pub fn not_json() -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
        "the body must be JSON, sent with Content-Type: application/json",
    )
}

/// A JSON request body. Malformed JSON is `400 malformed_json`; a missing, unknown or
/// mistyped field is `422 invalid_value` naming the field; a body over the configured
/// limit is `413 payload_too_large`; another content type is `415`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        if !is_json(req.headers()) {
            return Err(not_json());
        }
        let bytes = Bytes::from_request(req, state).await.map_err(bytes_rejection)?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// A JSON body that may be left out: an empty body (with or without a content type)
/// reads as `T::default()`; anything else is read as [`ApiJson`] reads it.
#[derive(Debug)]
pub struct OptionalJson<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let bytes =
            Bytes::from_request(Request::from_parts(parts.clone(), body), state).await.map_err(bytes_rejection)?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJson(T::default()));
        }
        // A body that is there is read (and refused) as a required one is.
        let req = Request::from_parts(parts, axum::body::Body::from(bytes));
        ApiJson::<T>::from_request(req, state).await.map(|ApiJson(v)| OptionalJson(v))
    }
}

pub(crate) fn bytes_rejection(r: BytesRejection) -> ApiError {
    if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large", "the body is larger than the server accepts")
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", "the body could not be read")
    }
}

/// Deserialize JSON, mapping errors to [`ApiError`]: a document that is not JSON is
/// `400 malformed_json`; JSON that does not fit `T` (a missing, unknown or mistyped
/// field, a NUL character in a string) is `422 invalid_value` with the field's path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // A NUL can only be written as the escape `\u0000` (JSON has no raw control
    // characters in strings), so documents without one skip the walk.
    if bytes.windows(6).any(|w| w == b"\\u0000")
        && let Ok(value) = serde_json::from_slice::<Value>(bytes)
        && let Some(field) = nul_in(&value, "")
    {
        let err = nul_error(field.clone());
        return Err(if field.is_empty() { ApiError { field: None, ..err } } else { err });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => data_error(path, &inner.to_string()),
            // serde_json reports a value of the wrong type for an enum (`{"status":
            // false}`) as "expected value", a syntax error; valid JSON is a data error.
            _ if serde_json::from_slice::<IgnoredAny>(bytes).is_ok() => mistyped::<T>(bytes, path),
            _ => malformed(&inner),
        }
    })?;
    // Trailing characters after the document are malformed too.
    de.end().map_err(|e| malformed(&e))?;
    Ok(value)
}

fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
}

/// `422 invalid_value` from serde's message and the path it happened at.
fn data_error(path: String, message: &str) -> ApiError {
    let message = redact_values(message);
    let field = if path == "." { field_in_message(&message) } else { Some(path) };
    let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message);
    match field {
        Some(f) => err.with_field(f),
        None => err,
    }
}

/// Valid JSON the parser refused as if it were not: read it again from a [`Value`],
/// whose deserializer reports a wrong type as one and says what it expected.
fn mistyped<T: DeserializeOwned>(bytes: &[u8], path: String) -> ApiError {
    let again = serde_json::from_slice::<Value>(bytes).map(serde_path_to_error::deserialize::<_, T>);
    match again {
        Ok(Err(e)) => {
            let at = e.path().to_string();
            data_error(if at == "." { path } else { at }, &e.into_inner().to_string())
        }
        _ => data_error(path, "invalid type"),
    }
}

/// The path of the first string (or object key) holding a NUL, in the form
/// serde_path_to_error writes paths (`a.b[1]`).
fn nul_in(value: &Value, path: &str) -> Option<String> {
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match value {
        Value::String(s) if s.contains('\0') => Some(path.to_owned()),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_in(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            if k.contains('\0') {
                // Name the key without the character itself.
                Some(join(&k.replace('\0', "\\u0000")))
            } else {
                nul_in(v, &join(k))
            }
        }),
        _ => None,
    }
}

/// serde names missing and unknown fields in the message (`missing field `userID``).
fn field_in_message(message: &str) -> Option<String> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(message[start..start + len].to_owned())
}

/// serde quotes the offending value (`invalid type: string "hunter2", expected …`,
/// ``unknown variant `x`, expected …``); drop it, since a value sent in the wrong place
/// may be a secret. Field names (`unknown field`, `missing field`) are kept.
fn redact_values(message: &str) -> String {
    let quotes_value = ["invalid type: ", "invalid value: ", "unknown variant "].iter().any(|p| message.starts_with(p));
    let Some(expected) = message.find(", expected") else {
        return message.to_owned();
    };
    if !quotes_value {
        return message.to_owned();
    }
    let head = &message[..expected];
    let cut = head.find(['"', '`']).unwrap_or(head.len());
    format!("{}{}", head[..cut].trim_end(), &message[expected..])
}

/// Query parameters; unreadable ones are `400 invalid_query` naming the parameter when
/// one is at fault (`limit=ten`), a value (or name) with a NUL character
/// `422 invalid_value` naming the parameter.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

/// `400 invalid_query` from axum's rejection, whose text is
/// `Failed to deserialize query string: {parameter}: {what}` when a parameter is at fault;
/// the parameter becomes the `field`, and a quoted value is dropped from the message.
fn query_error(e: QueryRejection) -> ApiError {
    let text = e.body_text();
    let detail = text.strip_prefix("Failed to deserialize query string: ").unwrap_or(&text);
    let named = detail.split_once(": ").filter(|(name, _)| {
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']'))
    });
    match named {
        Some((name, what)) => ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_query",
            format!("query parameter {name}: {}", redact_values(what)),
        )
        .with_field(name),
        None => ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", redact_values(&text)),
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let invalid = query_error;
        let pairs = axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri).map_err(invalid)?;
        if let Some((name, _)) = pairs.0.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
            return Err(nul_error(name.replace('\0', "\\u0000")));
        }
        axum::extract::Query::<T>::from_request_parts(parts, state).await.map(|q| ApiQuery(q.0)).map_err(invalid)
    }
}

/// Path parameters; undecodable ones are `400 invalid_path`, one with a NUL character
/// `422 invalid_value` naming the parameter.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let invalid = |text: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", text);
        let raw = RawPathParams::from_request_parts(parts, state).await.map_err(|e| invalid(e.body_text()))?;
        if let Some((name, _)) = raw.iter().find(|(_, v)| v.contains('\0')) {
            return Err(nul_error(name));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| invalid(e.body_text()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Input {
        user_id: String,
        count: Option<u32>,
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        n: u8,
    }

    fn err(body: &str) -> ApiError {
        parse_json::<Input>(body.as_bytes()).unwrap_err()
    }

    #[test]
    fn json_errors_name_their_field() {
        let e = err("{");
        assert_eq!((e.status, e.code.as_str()), (StatusCode::BAD_REQUEST, "malformed_json"));
        let e = err("{}");
        assert_eq!((e.status, e.field.as_deref()), (StatusCode::UNPROCESSABLE_ENTITY, Some("userId")));
        let e = err(r#"{"userId":"a","colour":1}"#);
        assert_eq!(e.field.as_deref(), Some("colour"));
        let e = err(r#"{"userId":"a","count":"many"}"#);
        assert_eq!(e.field.as_deref(), Some("count"));
        assert!(!e.message.contains("many"), "value echoed: {}", e.message);
        let e = err(r#"{"userId":"a","inner":{"n":300}}"#);
        assert_eq!(e.field.as_deref(), Some("inner.n"));
        let e = err(r#"{"userId":"a"} trailing"#);
        assert_eq!(e.code, "malformed_json");
        assert!(parse_json::<Input>(br#"{"userId":"a"}"#).is_ok());
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct WithEnum {
        status: Option<Colour>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "lowercase")]
    enum Colour {
        Red,
    }

    #[test]
    fn a_wrong_type_for_an_enum_is_a_data_error() {
        for body in [r#"{"status":false}"#, r#"{"status":0}"#, r#"{"status":[]}"#, r#"{"status":{}}"#] {
            let e = parse_json::<WithEnum>(body.as_bytes()).unwrap_err();
            assert_eq!(
                (e.status, e.code.as_str(), e.field.as_deref()),
                (StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", Some("status")),
                "{body}: {e:?}"
            );
        }
        let e = parse_json::<WithEnum>(br#"{"status":fals}"#).unwrap_err();
        assert_eq!(e.code, "malformed_json");
        assert!(parse_json::<WithEnum>(br#"{"status":"red"}"#).is_ok());
    }

    #[test]
    fn a_nul_anywhere_is_named_by_its_path() {
        let nul = |body: &str| parse_json::<serde_json::Value>(body.as_bytes()).unwrap_err();
        let e = nul(r#"{"a":{"b":["x","y\u0000"]}}"#);
        assert_eq!(
            (e.status, e.field.as_deref(), e.message.as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("a.b[1]"), NUL_MESSAGE)
        );
        assert_eq!(nul(r#"{"k\u0000":1}"#).field.as_deref(), Some("k\\u0000"));
        assert_eq!(nul(r#""\u0000""#).field, None);
        // An escaped backslash before `u0000` is text.
        assert!(parse_json::<serde_json::Value>(br#"{"a":"\\u0000"}"#).is_ok());
    }

    #[test]
    fn string_values_are_not_echoed() {
        let e = err(r#"{"userId":5}"#);
        assert_eq!(e.field.as_deref(), Some("userId"));
        let e = err(r#"{"userId":"a","count":"hunter2"}"#);
        assert!(!e.message.contains("hunter2"), "{}", e.message);
        assert!(e.message.starts_with("invalid type: string, expected"), "{}", e.message);
        let e = err(r#"{"userId":"a","inner":{"n":123456}}"#);
        assert!(!e.message.contains("123456"), "{}", e.message);
        assert_eq!(
            redact_values("unknown variant `hunter2`, expected one of `a`, `b`"),
            "unknown variant, expected one of `a`, `b`"
        );
        assert_eq!(redact_values("unknown field `colour`, expected `n`"), "unknown field `colour`, expected `n`");
    }
}
