//! The storage interface. Backends live in the `countersign-store` crate; one test suite
//! there runs every behaviour described here against each backend.

mod account;
mod admin_account;
pub mod attempt;
mod audit;
mod config;
mod credential;
mod device;
mod duo;
pub mod limit;
mod outbox;
mod radius;
mod risk;
mod sealed;
mod session;
mod types;
mod web;

pub use account::AccountStore;
pub use admin_account::AdminAccountStore;
pub use attempt::{AttemptStore, Counter};
pub use audit::AuditStore;
pub use config::ConfigStore;
pub use credential::CredentialStore;
pub use device::DeviceStore;
pub use duo::DuoStore;
pub use limit::{Hit, LimitStore};
pub use outbox::OutboxStore;
pub use radius::RadiusStore;
pub use risk::RiskStore;
pub use sealed::{SealedColumn, SealedRow, SealedStore};
pub use session::{ENDED_AMONG_MAX, NodeEvent, SessionEvents, SessionStore};
pub use types::{FidoAuthenticatorKey, FidoCeremony, Page, SealedConfig, StoreError};
pub use web::WebStore;

/// Persistent state: one trait per aggregate, joined. Every method is one atomic
/// operation. Callers hold `Arc<dyn Store>` and call any aggregate's methods on it
/// directly; a part of the system that needs only one aggregate can take that trait.
///
/// The cut: [`AccountStore`] (tenants, users, access keys), [`DeviceStore`] (activations,
/// devices, nonces), [`SessionStore`] (sessions, codes, QR logins), [`CredentialStore`]
/// (static passwords, tokens), [`RiskStore`] (failure log), [`ConfigStore`] (tenant
/// configuration), [`OutboxStore`] (messages to send), [`AttemptStore`] (the attempt
/// counters of codes, PINs, passwords and tokens, reserved one way for all of them),
/// [`AuditStore`] (the audit log), [`LimitStore`] (request-limit counters), [`RadiusStore`] (RADIUS clients), [`DuoStore`] (Duo-compatible integrations), [`WebStore`] (the pages' sessions and sign-in links), [`AdminAccountStore`] (console administrators, their passkeys and sessions) and [`SealedStore`] (sealed values across tables, for key
/// rotation). A method belongs to the aggregate whose rows it changes; one that writes two
/// (a session with its outbox messages) belongs to the one whose state it decides.
pub trait Store:
    AccountStore
    + DeviceStore
    + SessionStore
    + CredentialStore
    + RiskStore
    + ConfigStore
    + OutboxStore
    + AttemptStore
    + AuditStore
    + RadiusStore
    + DuoStore
    + WebStore
    + AdminAccountStore
    + SessionEvents
    + LimitStore
    + SealedStore
{
}

impl<
    T: AccountStore
        + DeviceStore
        + SessionStore
        + CredentialStore
        + RiskStore
        + ConfigStore
        + OutboxStore
        + AttemptStore
        + AuditStore
        + RadiusStore
        + DuoStore
        + WebStore
        + AdminAccountStore
        + SessionEvents
        + LimitStore
        + SealedStore,
> Store for T
{
}
