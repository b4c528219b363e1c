//! The delivery crate's errors: why a send failed ([`SendError`], which decides retry,
//! dead letter or token removal) and why a worker could not start ([`StartError`]).
//! A send error's text is what the outbox records as `lastError`: it names the provider
//! and its answer, never a credential or a URL (which may hold a token).

use countersign_core::delivery::{Channel, Unresolved};

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later (network error, 408, 429, 5xx, storage).
    #[error("{message}")]
    Transient {
        /// What happened, for `lastError`.
        message: String,
        /// The provider's HTTP status, when it answered.
        status: Option<u16>,
        /// The underlying error (transport errors without their URL).
        #[source]
        source: Option<BoxError>,
    },
    /// Never going to work (other 4xx, missing or bad credentials, bad target).
    #[error("{message}")]
    Permanent {
        /// What happened, for `lastError`.
        message: String,
        /// The provider's HTTP status, when it answered.
        status: Option<u16>,
        /// The underlying error.
        #[source]
        source: Option<BoxError>,
    },
    /// The push token is dead (`410 Gone`, `UNREGISTERED`): forget it, and give up.
    #[error("{message}")]
    TokenGone {
        /// What happened, for `lastError`.
        message: String,
        /// The provider's HTTP status, when it answered.
        status: Option<u16>,
    },
}

impl SendError {
    /// A [`SendError::Transient`].
    pub fn transient(message: impl Into<String>) -> Self {
        SendError::Transient { message: message.into(), status: None, source: None }
    }

    /// A [`SendError::Permanent`].
    pub fn permanent(message: impl Into<String>) -> Self {
        SendError::Permanent { message: message.into(), status: None, source: None }
    }

    /// A [`SendError::TokenGone`].
    pub fn token_gone(message: impl Into<String>) -> Self {
        SendError::TokenGone { message: message.into(), status: None }
    }

    /// `what` could not be reached: transient, with the transport error (its URL cut,
    /// which may hold a token) as source.
    pub fn unreachable(what: &str, e: reqwest::Error) -> Self {
        let kind = if e.is_connect() {
            "connection failed"
        } else if e.is_timeout() {
            "timed out"
        } else {
            "request failed"
        };
        SendError::Transient {
            message: format!("{what} unreachable: {kind}"),
            status: None,
            source: Some(Box::new(e.without_url())),
        }
    }

    /// The same error with `source` as its cause.
    pub fn caused_by(mut self, e: impl Into<BoxError>) -> Self {
        match &mut self {
            SendError::Transient { source, .. } | SendError::Permanent { source, .. } => *source = Some(e.into()),
            SendError::TokenGone { .. } => {}
        }
        self
    }

    /// The provider's HTTP status, when it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            SendError::Transient { status, .. }
            | SendError::Permanent { status, .. }
            | SendError::TokenGone { status, .. } => *status,
        }
    }

    /// Whether a retry may help.
    pub fn is_transient(&self) -> bool {
        matches!(self, SendError::Transient { .. })
    }

    /// The same error where a dead token is just a refusal (callbacks, SMS gateways and
    /// token endpoints have no token to forget).
    pub fn gone_is_permanent(self) -> Self {
        match self {
            SendError::TokenGone { message, status } => SendError::Permanent { message, status, source: None },
            other => other,
        }
    }

    /// [`SendError::gone_is_permanent`], with `detail` appended to the message (the
    /// provider's own reason).
    pub fn with_detail(self, detail: &str) -> Self {
        match self.gone_is_permanent() {
            SendError::Transient { message, status, source } => {
                SendError::Transient { message: message + detail, status, source }
            }
            SendError::Permanent { message, status, source } => {
                SendError::Permanent { message: message + detail, status, source }
            }
            gone @ SendError::TokenGone { .. } => gone,
        }
    }

    /// A sender was handed a message resolved for another channel (a wiring bug).
    pub(crate) fn wrong_channel(sender: Channel) -> Self {
        SendError::permanent(format!("the {} sender was given a message for another channel", sender.as_str()))
    }
}

impl From<Unresolved> for SendError {
    fn from(e: Unresolved) -> Self {
        let (message, transient) = (e.to_string(), e.is_transient());
        let source: Option<BoxError> = Some(Box::new(e));
        if transient {
            SendError::Transient { message, status: None, source }
        } else {
            SendError::Permanent { message, status: None, source }
        }
    }
}

/// What a provider's HTTP status means: success; `410 Gone` a dead token; 408, 429 and
/// 5xx try again; any other answer will not change.
pub fn classify(status: reqwest::StatusCode, what: &str) -> Result<(), SendError> {
    let code = Some(status.as_u16());
    match status.as_u16() {
        200..=299 => Ok(()),
        410 => Err(SendError::TokenGone { message: format!("{what} answered 410 Gone"), status: code }),
        408 | 429 | 500..=599 => {
            Err(SendError::Transient { message: format!("{what} answered {status}"), status: code, source: None })
        }
        _ => Err(SendError::Permanent { message: format!("{what} answered {status}"), status: code, source: None }),
    }
}

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configured proxy URL does not parse.
    #[error("the proxy URL is not valid")]
    ProxyUrl(#[source] reqwest::Error),
    /// The extra CA file holds no usable certificate.
    #[error("the extra CA certificates are not valid PEM certificates")]
    ExtraRoots(#[source] reqwest::Error),
    /// The HTTP client cannot be built (TLS backend).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn statuses_are_classified() {
        use reqwest::StatusCode as S;
        assert!(classify(S::OK, "x").is_ok());
        assert!(classify(S::NO_CONTENT, "x").is_ok());
        assert!(matches!(classify(S::GONE, "x"), Err(SendError::TokenGone { .. })));
        for s in [S::REQUEST_TIMEOUT, S::TOO_MANY_REQUESTS, S::INTERNAL_SERVER_ERROR, S::SERVICE_UNAVAILABLE] {
            assert!(matches!(classify(s, "x"), Err(SendError::Transient { .. })), "{s}");
        }
        for s in [S::BAD_REQUEST, S::UNAUTHORIZED, S::NOT_FOUND] {
            assert!(matches!(classify(s, "x"), Err(SendError::Permanent { .. })), "{s}");
        }
    }

    #[test]
    fn details_keep_the_status_and_gone_becomes_permanent() {
        let e = classify(reqwest::StatusCode::GONE, "Twilio").unwrap_err().with_detail(", error 1: no");
        assert!(matches!(e, SendError::Permanent { .. }));
        assert_eq!(e.to_string(), "Twilio answered 410 Gone, error 1: no");
        assert_eq!(e.status(), Some(410));
        let e = classify(reqwest::StatusCode::BAD_GATEWAY, "FCM").unwrap_err().with_detail(" UNAVAILABLE");
        assert!(e.is_transient());
        assert_eq!(e.to_string(), "FCM answered 502 Bad Gateway UNAVAILABLE");
    }

    #[test]
    fn unresolved_storage_is_transient_and_the_rest_permanent() {
        let e = SendError::from(Unresolved::Storage(countersign_core::StoreError::NotFound));
        assert!(e.is_transient());
        assert_eq!(e.to_string(), "storage: not found");
        let e = SendError::from(Unresolved::NoPushApp("app".into()));
        assert!(matches!(e, SendError::Permanent { .. }));
        assert_eq!(e.to_string(), "no push app app is configured");
    }
}
