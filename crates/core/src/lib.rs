//! The countersign domain.
//!
//! Tenants, users and access keys (API keys and admin tokens), their validation rules,
//! the [`Store`] trait the storage backends implement, and the operations the HTTP
//! layer and the command line call. This crate knows nothing of HTTP or SQL: time and
//! randomness come in through [`Clock`] and [`Random`] so that every rule can be tested
//! at a fixed instant.

pub mod access;
pub mod admin;
pub mod clock;
pub mod context;
pub mod delivery;
pub mod device;
pub mod error;
pub mod fido;
pub mod housekeeping;
pub mod login;
pub mod methods;
pub mod metrics;
pub mod mobile;
pub mod ops;
pub mod otp;
pub mod password;
pub mod random;
pub mod refusal;
pub mod risk;
pub mod seal;
pub mod service;
pub mod session;
pub mod store;
pub mod tenant;
pub mod tokens;

pub mod user;
pub mod validate;

/// Former paths of modules that moved, for code written against them.
pub use delivery::{callbacks, outbox, providers};
pub use fido::uaf;
pub use mobile::qr;
pub use risk::adaptive;
pub use tokens::{oath, virtual_auth};

pub use access::{AccessKey, AccessKind, Credential, NewCredential};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use error::{CoreError, Entity, Refusal, RefusalCode};
pub use random::{OsRandom, Random};
pub use service::Core;
pub use store::{
    AccountStore, ConfigStore, CredentialStore, DeviceStore, FidoAuthenticatorKey, FidoCeremony, OutboxStore, Page,
    RiskStore, SealedConfig, SessionStore, Store, StoreError,
};
pub use tenant::{Domain, PushEnrollmentMode, Tenant, TenantSettings};
pub use user::{User, UserId, UserRef, UserStatus, VdpDeliveryMethod};
