//! The countersign domain.
//!
//! Tenants, users and access keys (API keys and admin tokens), their validation rules,
//! the [`Store`] trait the storage backends implement, and the operations the HTTP
//! layer and the command line call. This crate knows nothing of HTTP or SQL: time and
//! randomness come in through [`Clock`] and [`Random`] so that every rule can be tested
//! at a fixed instant.

// The layout (docs/architecture.md, "Module map"; no import cycle between these files,
// checked by tests/layout.rs).

// Pure data and rules: no `impl Core`.
pub mod access;
pub mod cache;
pub mod clock;
pub mod context;
pub mod device;
pub mod error;
pub mod limits;
pub mod net;
pub mod random;
pub mod refusal;
pub mod retention;
pub mod seal;
pub mod tenant;
pub mod user;
pub mod validate;

// The storage interface, and the service every feature extends.
pub mod service;
pub mod store;

// Features: each extends `Core` with `impl Core` blocks.
pub mod admin;
mod attempts;
pub mod audit;
pub mod delivery;
pub mod duo;
pub mod fido;
pub mod housekeeping;
pub mod login;
pub mod methods;
pub mod metrics;
pub mod mobile;
pub mod otp;
pub mod password;
pub mod radius;
pub mod risk;
pub mod session;
pub mod tokens;
pub mod web;

pub use access::{AccessKey, AccessKind, Credential, NewCredential};
pub use clock::{Clock, FixedClock, SystemClock, Timestamp};
pub use error::{CoreError, Entity, Refusal, RefusalCode};
pub use random::{OsRandom, Random};
pub use service::Core;
pub use store::{
    AccountStore, AdminAccountStore, AttemptStore, AuditStore, ConfigStore, Counter, CredentialStore, DeviceStore,
    DuoStore, FidoAuthenticatorKey, FidoCeremony, Hit, LimitStore, OutboxStore, Page, RadiusStore, RiskStore,
    SealedColumn, SealedConfig, SealedRow, SealedStore, SessionEvents, SessionStore, Store, StoreError, WebStore,
};
pub use tenant::{Domain, PushEnrollmentMode, Tenant, TenantSettings};
pub use user::{User, UserId, UserRef, UserStatus, VdpDeliveryMethod};
