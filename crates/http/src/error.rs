//! `ApiError`: every error the HTTP interfaces return, as
//! `{"error":{"code":…,"message":…,"field":…}}` with the right status.
//!
//! Internal causes (database errors, bugs) are logged here and replaced by a generic
//! message, so no internal text or secret reaches a caller.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use countersign_core::{CoreError, Refusal, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// An error answer.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
    /// Tries left, when a counter is involved.
    pub attempts_left: Option<u32>,
    /// Seconds until a rate-limited request may be made again (also `Retry-After`).
    pub retry_after_seconds: Option<u32>,
}

/// The JSON body of every error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable snake_case code, e.g. `invalid_value`, `user_not_found`.
    #[schema(example = "invalid_value")]
    pub code: String,
    /// Explanation for a human; may change between versions.
    #[schema(example = "phone must be in E.164 form, e.g. +15550100")]
    pub message: String,
    /// The field at fault (JSON path for nested fields), when one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "phone")]
    pub field: Option<String>,
    /// Tries left before a lockout, when a counter is involved (activation codes, PINs).
    #[serde(rename = "attemptsLeft", skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
    /// Seconds until the request may be made again, when a rate limit refused it (the
    /// `Retry-After` header says the same).
    #[serde(rename = "retryAfterSeconds", skip_serializing_if = "Option::is_none")]
    pub retry_after_seconds: Option<u32>,
}

impl ApiError {
    /// An error with no field.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.into(),
            message: message.into(),
            field: None,
            attempts_left: None,
            retry_after_seconds: None,
        }
    }

    /// The same error naming `field`.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 401: the credential is missing, unknown or revoked.
    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "a valid credential is required")
    }

    /// 500, after logging `cause`.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; the cause was logged")
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Invalid { field, message } => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_value", message).with_field(field)
            }
            CoreError::NotFound(what) => {
                ApiError::new(StatusCode::NOT_FOUND, format!("{}_not_found", what.name()), e_text(&e))
            }
            CoreError::Exists(what) => {
                ApiError::new(StatusCode::CONFLICT, format!("{}_exists", what.name()), e_text(&e))
            }
            CoreError::RateLimited { code, message, retry_after_seconds } => ApiError {
                retry_after_seconds: Some(retry_after_seconds),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, code.as_str(), message)
            },
            CoreError::Unauthorized => ApiError::unauthorized(),
            CoreError::Refused { kind, code, message, attempts_left } => {
                let status = match kind {
                    Refusal::Unauthenticated => StatusCode::UNAUTHORIZED,
                    Refusal::Forbidden => StatusCode::FORBIDDEN,
                    Refusal::Conflict => StatusCode::CONFLICT,
                    Refusal::Gone => StatusCode::GONE,
                    Refusal::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
                };
                ApiError { attempts_left, ..ApiError::new(status, code.as_str(), message) }
            }
            CoreError::Store(StoreError::Backend(source)) => {
                tracing::error!(error = %source, "storage unavailable");
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "storage is unavailable")
            }
            CoreError::Store(other) => ApiError::internal(&other),
            CoreError::Internal(text) => ApiError::internal(&text),
        }
    }
}

fn e_text(e: &CoreError) -> String {
    e.to_string().replace('_', " ")
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status;
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: self.message,
                field: self.field,
                attempts_left: self.attempts_left,
                retry_after_seconds: self.retry_after_seconds,
            },
        };
        let mut response = (status, Json(body)).into_response();
        if let Some(secs) = self.retry_after_seconds {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"countersign\", Basic realm=\"countersign\""),
            );
        }
        response
    }
}
