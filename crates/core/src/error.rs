//! The domain's error type.

pub use crate::refusal::RefusalCode;
use crate::store::StoreError;

/// Things an identifier can name, for `…_not_found` and `…_exists` errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entity {
    /// A tenant (domain).
    Tenant,
    /// A user of a tenant.
    User,
    /// An API key of a tenant.
    ApiKey,
    /// An admin token.
    AdminToken,
    /// A mobile authenticator activation.
    Activation,
    /// An activated mobile authenticator.
    Device,
    /// A login session (request).
    Session,
    /// A push app (credentials per platform).
    App,
    /// An OATH token.
    Token,
    /// A user's static password.
    Password,
    /// A FIDO credential.
    Credential,
    /// A RADIUS client (NAS) of a tenant.
    RadiusClient,
    /// A Duo-compatible integration of a tenant.
    DuoIntegration,
    /// An administrator account of the console.
    AdminAccount,
}

impl Entity {
    /// The snake_case name used in error codes.
    pub fn name(self) -> &'static str {
        match self {
            Entity::Tenant => "tenant",
            Entity::User => "user",
            Entity::ApiKey => "api_key",
            Entity::AdminToken => "admin_token",
            Entity::Activation => "activation",
            Entity::Device => "device",
            Entity::Session => "request",
            Entity::App => "app",
            Entity::Token => "token",
            Entity::Password => "static_password",
            Entity::Credential => "credential",
            Entity::RadiusClient => "radius_client",
            Entity::DuoIntegration => "duo_integration",
            Entity::AdminAccount => "admin_account",
        }
    }
}

/// What can go wrong in a domain operation.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// A field has a value the rules refuse.
    #[error("{message}")]
    Invalid {
        /// The field at fault, as named on the wire (camelCase).
        field: String,
        /// What is wrong, for a human.
        message: String,
    },
    /// The named thing does not exist (or is not visible to the caller).
    #[error("{} not found", .0.name())]
    NotFound(Entity),
    /// The named thing exists already.
    #[error("{} already exists", .0.name())]
    Exists(Entity),
    /// The request is well-formed but refused in the current state (wrong code, closed
    /// session, disabled feature …); `code` is stable, `kind` picks the HTTP status.
    #[error("{message}")]
    Refused {
        /// Why, in the HTTP layer's terms.
        kind: Refusal,
        /// Stable code (its wire text: [`RefusalCode::as_str`]).
        code: RefusalCode,
        /// What is wrong, for a human.
        message: String,
        /// Tries left, when a counter is involved.
        attempts_left: Option<u32>,
    },
    /// Too many of these for now (429); `retry_after_seconds` says when to try again.
    #[error("{message}")]
    RateLimited {
        /// Stable code (its wire text: [`RefusalCode::as_str`]).
        code: RefusalCode,
        /// What is limited, for a human.
        message: String,
        /// When the next one may go, in seconds (at least 1).
        retry_after_seconds: u32,
    },
    /// The credential is missing, unknown or revoked.
    #[error("unauthorized")]
    Unauthorized,
    /// Storage failed; the source is kept for the log, never shown to callers.
    #[error("storage failed")]
    Store(#[source] StoreError),
    /// A bug or an environment failure; the text goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

/// Kinds of refusal, mapped to HTTP statuses by the HTTP layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The secret or signature is wrong (401).
    Unauthenticated,
    /// Switched off, or not allowed for this caller (403).
    Forbidden,
    /// Conflicts with the current state (409).
    Conflict,
    /// Used up or expired for good (410).
    Gone,
    /// Understood, but the content is wrong (422).
    Unprocessable,
}

impl CoreError {
    /// A [`CoreError::Refused`] without a counter.
    pub fn refused(kind: Refusal, code: RefusalCode, message: impl Into<String>) -> Self {
        CoreError::Refused { kind, code, message: message.into(), attempts_left: None }
    }

    /// An [`CoreError::Invalid`] for `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        CoreError::Invalid { field: field.into(), message: message.into() }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        CoreError::Store(e)
    }
}
