//! Extractors whose rejections are [`ApiError`]s: JSON bodies that name the field at
//! fault, queries, paths.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::{StatusCode, header, request::Parts};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// A JSON request body. Malformed JSON is `400 malformed_json`; a missing, unknown or
/// mistyped field is `422 invalid_value` naming the field; a body over the configured
/// limit is `413 payload_too_large`; another content type is `415`.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                let mime = mime.trim().to_ascii_lowercase();
                mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the body must be JSON, sent with Content-Type: application/json",
            ));
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

/// Deserialize JSON, mapping errors to [`ApiError`] with the field path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = redact_values(&inner.to_string());
                let field = if path == "." { field_in_message(&message) } else { Some(path) };
                let err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message);
                match field {
                    Some(f) => err.with_field(f),
                    None => err,
                }
            }
            _ => {
                ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {inner}"))
            }
        }
    })?;
    // Trailing characters after the document are malformed too.
    de.end().map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", format!("the body is not valid JSON: {e}"))
    })?;
    Ok(value)
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

/// Query parameters; unreadable ones are `400 invalid_query`.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|q| ApiQuery(q.0))
            .map_err(|e: QueryRejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

/// Path parameters; undecodable ones are `400 invalid_path`.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| ApiPath(p.0))
            .map_err(|e: PathRejection| ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", e.body_text()))
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
