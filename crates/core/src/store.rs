//! The storage interface. Backends live in the `countersign-store` crate; one test suite
//! there runs every behaviour described here against each backend.

use async_trait::async_trait;

use crate::access::{AccessKey, AccessKind};
use crate::clock::Timestamp;
use crate::device::{Activation, ActivationState, Device, DeviceState};
use crate::outbox::{OutboxMessage, OutboxState};
use crate::session::{Session, Transition};
use crate::tenant::{Domain, Tenant};
use crate::user::User;

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken (domain, userID, key hash).
    #[error("conflict: a unique value is already taken")]
    Conflict,
    /// The row to change does not exist.
    #[error("not found")]
    NotFound,
    /// The database failed or could not be reached; the source says why.
    #[error("storage backend error")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A stored value could not be read back (corrupt or from a newer version).
    #[error("stored data is not readable: {0}")]
    Corrupt(String),
}

/// A page of a keyset-paginated listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// Return rows whose key sorts after this one.
    pub after: Option<String>,
    /// At most this many rows.
    pub limit: u32,
}

/// Configuration with secrets: the public view (JSON) and the secrets, sealed under
/// the master key by the core (crates/core/src/seal.rs) before they reach the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedConfig {
    /// What the admin API shows.
    pub view: String,
    /// The full input, sealed.
    pub sealed: String,
}

/// The key of one of a user's FIDO authenticators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FidoAuthenticatorKey {
    /// A FIDO2 credential.
    Fido2 {
        /// Its credential ID (base64url).
        credential_id: String,
    },
    /// A UAF registration.
    Uaf {
        /// The authenticator model.
        aaid: String,
        /// The key ID (base64url).
        key_id: String,
    },
}

/// A FIDO registration or authentication ceremony in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FidoCeremony {
    /// Its ID (the requestID the client answers with).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user it is for.
    pub user_pk: String,
    /// Its state (JSON the core owns: webauthn-rs or UAF challenge state).
    pub state: String,
    /// When it began.
    pub created_at: Timestamp,
    /// When it can no longer be answered; housekeeping removes it after.
    pub expires_at: Timestamp,
}

/// Persistent state: one trait per aggregate, joined. Every method is one atomic
/// operation. Callers hold `Arc<dyn Store>` and call any aggregate's methods on it
/// directly; a part of the system that needs only one aggregate can take that trait.
///
/// The cut: [`AccountStore`] (tenants, users, access keys), [`DeviceStore`] (activations,
/// devices, nonces), [`SessionStore`] (sessions, codes, QR logins), [`CredentialStore`]
/// (static passwords, tokens), [`RiskStore`] (failure log), [`ConfigStore`] (tenant
/// configuration) and [`OutboxStore`] (messages to send). A method belongs to the
/// aggregate whose rows it changes; one that writes two (a session with its outbox
/// messages) belongs to the one whose state it decides.
pub trait Store:
    AccountStore + DeviceStore + SessionStore + CredentialStore + RiskStore + ConfigStore + OutboxStore
{
}

impl<T: AccountStore + DeviceStore + SessionStore + CredentialStore + RiskStore + ConfigStore + OutboxStore> Store
    for T
{
}

/// Tenants, users, access keys, and the database itself (the account aggregate: a
/// tenant owns its users and keys; deleting one deletes what it owns).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Run a trivial query: is the database reachable?
    async fn ping(&self) -> Result<(), StoreError>;
    /// Close connections, waiting for those in use to be returned.
    async fn close(&self);
    /// Apply the migrations this build embeds that the database lacks.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Insert a tenant; `Conflict` when the domain is taken.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// The tenant with this domain.
    async fn tenant_by_domain(&self, domain: &Domain) -> Result<Option<Tenant>, StoreError>;
    /// Tenants ordered by domain.
    async fn list_tenants(&self, page: &Page) -> Result<Vec<Tenant>, StoreError>;
    /// Replace a tenant's settings and `updated_at`; `NotFound` when gone.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Delete a tenant with its users and keys; `false` when it did not exist.
    async fn delete_tenant(&self, tenant_id: &str) -> Result<bool, StoreError>;
    /// The tenant with this internal id.
    async fn tenant_by_id(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError>;
    /// Insert a user; `Conflict` when the userID is taken in the tenant.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    /// The user with this userID in the tenant.
    async fn user(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>, StoreError>;
    /// The user with this internal id.
    async fn user_by_pk(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// A tenant's users ordered by userID.
    async fn list_users(&self, tenant_id: &str, page: &Page) -> Result<Vec<User>, StoreError>;
    /// Replace a user's mutable fields; `NotFound` when gone.
    async fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// Delete a user; `false` when it did not exist.
    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError>;
    /// Insert an access key; `Conflict` when its hash exists.
    async fn insert_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    /// Keys of one kind (and tenant, for API keys), oldest first, revoked included.
    async fn list_access_keys(&self, kind: AccessKind, tenant_id: Option<&str>) -> Result<Vec<AccessKey>, StoreError>;
    /// Mark a key revoked at `at`; `false` when no such unrevoked key of that kind and tenant.
    async fn revoke_access_key(
        &self,
        kind: AccessKind,
        tenant_id: Option<&str>,
        id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The unrevoked key with this hash.
    async fn access_key_by_hash(&self, key_hash: &str) -> Result<Option<AccessKey>, StoreError>;
    /// The unrevoked key with this hash and, for an API key, its tenant — in one query,
    /// as every integration call needs both.
    async fn access_key_with_tenant(&self, key_hash: &str) -> Result<Option<(AccessKey, Option<Tenant>)>, StoreError>;
    /// Set `last_used_at = at` unless it was set after `at - min_interval_ms`.
    async fn touch_access_key(&self, id: &str, at: Timestamp, min_interval_ms: i64) -> Result<(), StoreError>;
    /// Insert `token` as the bootstrap admin token unless one was made before, in one
    /// transaction; `true` when this call made it.
    async fn bootstrap_admin_token(&self, token: &AccessKey) -> Result<bool, StoreError>;
}

/// Enrolment and devices: activations (one-time enrolment codes), the devices they
/// create, the devices' push channels and PIN counters, and request nonces.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Insert an activation.
    async fn insert_activation(&self, activation: &Activation) -> Result<(), StoreError>;
    /// The activation with this id.
    async fn activation(&self, id: &str) -> Result<Option<Activation>, StoreError>;
    /// Count a wrong code on a `Pending` activation, burning it at `max`; the new count
    /// and state, or `None` when it was not `Pending`.
    async fn activation_wrong_code(&self, id: &str, max: u32) -> Result<Option<(u32, ActivationState)>, StoreError>;
    /// Move an activation from `from` to `to` (setting `nonce` when given); `false` when
    /// it was not in `from`.
    async fn activation_transition(
        &self,
        id: &str,
        from: ActivationState,
        to: ActivationState,
        nonce: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Insert a device.
    async fn insert_device(&self, device: &Device) -> Result<(), StoreError>;
    /// The device with this id.
    async fn device(&self, id: &str) -> Result<Option<Device>, StoreError>;
    /// A user's devices in any state, oldest first.
    async fn user_devices(&self, user_pk: &str) -> Result<Vec<Device>, StoreError>;
    /// Move a device from `from` to `to`; `false` when it was not in `from`.
    async fn device_transition(
        &self,
        id: &str,
        from: DeviceState,
        to: DeviceState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Activate a pending device as the user's only active device of its app (the
    /// single enrollment mode): `Conflict` when another device activated so is active
    /// (a unique index decides between concurrent confirmations); `false` when it was
    /// not pending.
    async fn activate_single_device(&self, id: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Disconnect the user's other pending or active devices of `app_id`; how many.
    async fn disconnect_other_devices(
        &self,
        user_pk: &str,
        app_id: &str,
        except_id: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Record the device's push channel.
    async fn set_device_push(
        &self,
        id: &str,
        platform: &str,
        token: Option<&str>,
        app_version: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Count a wrong PIN on an active device, disconnecting it at `max`; the new count
    /// and state, or `None` when it was not active.
    async fn device_pin_failure(
        &self,
        id: &str,
        max: u32,
        at: Timestamp,
    ) -> Result<Option<(u32, DeviceState)>, StoreError>;
    /// Reset the wrong-PIN count.
    async fn device_pin_reset(&self, id: &str) -> Result<(), StoreError>;
    /// Delete one of a user's devices; `false` when there was none.
    async fn delete_device(&self, user_pk: &str, id: &str) -> Result<bool, StoreError>;
    /// Record a request nonce for a device, forgetting those used before
    /// `forget_before`; `false` when the nonce was used already (a replay).
    async fn use_device_nonce(
        &self,
        device_id: &str,
        nonce: &str,
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Forget a device's push channel (its token was refused for good).
    async fn clear_device_push(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;
}

/// Login sessions and what hangs off them: the codes of code sessions (with their
/// attempts and resends), QR logins, and the counts read for rate limits and metrics.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Insert a session and the messages it sends, in one transaction.
    async fn insert_session(&self, session: &Session, outbox: &[OutboxMessage]) -> Result<(), StoreError>;
    /// Insert a code session, its code and the message that delivers it, in one transaction.
    async fn insert_code_session(
        &self,
        session: &Session,
        code: &crate::session::SessionCode,
        outbox: &[OutboxMessage],
    ) -> Result<(), StoreError>;
    /// The code of a code session.
    async fn session_code(&self, session_id: &str) -> Result<Option<crate::session::SessionCode>, StoreError>;
    /// Count a wrong code; the attempts made so far.
    async fn code_attempt(&self, session_id: &str) -> Result<u32, StoreError>;
    /// The session whose code went out first in outbox message `message_id`.
    async fn code_session_of_message(&self, message_id: &str) -> Result<Option<String>, StoreError>;
    /// If fewer than the allowed resends were made, count one and enqueue a copy of the
    /// first message (same payload) with ID `message_id`, due `now`, dying at
    /// `deadline`; the resends made, or `None` at the limit.
    async fn resend_code(
        &self,
        session_id: &str,
        message_id: &str,
        now: Timestamp,
        deadline: Timestamp,
    ) -> Result<Option<u32>, StoreError>;
    /// The session with this request ID.
    async fn session(&self, id: &str) -> Result<Option<Session>, StoreError>;
    /// Apply `transition` in one conditional update — only if the session is still in
    /// its `from` state and its `expires_at` is after `at` (an answer) or at or before it
    /// (`Timeout`; see [`Transition::before_deadline`]) — setting `state`, `decided_at`,
    /// and `device_id` and `reason` when given, and enqueue `outbox` in the same
    /// transaction; `false` (and nothing enqueued) when another transition won.
    async fn finish_session(&self, transition: &Transition, outbox: &[OutboxMessage]) -> Result<bool, StoreError>;
    /// Up to `limit` sessions still `Pending` whose `expires_at` is at or before `now`,
    /// earliest deadline first (the sweeper's query; index `sessions_by_state_expiry`).
    async fn expired_sessions(&self, now: Timestamp, limit: u32) -> Result<Vec<Session>, StoreError>;
    /// A user's pending sessions that expire after `now`, oldest first.
    async fn pending_sessions(&self, user_pk: &str, now: Timestamp) -> Result<Vec<Session>, StoreError>;
    /// How many sessions of all tenants are pending and expire after `now` (one indexed
    /// count, read at each `/metrics` scrape).
    async fn count_pending_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;
    /// How many login requests the user was sent after `since` (sessions delivered as
    /// push notifications, and codes sent by SMS or e-mail), and when the oldest of them
    /// was created.
    async fn login_requests_since(
        &self,
        user_pk: &str,
        since: Timestamp,
    ) -> Result<(u64, Option<Timestamp>), StoreError>;
    /// Insert a QR login waiting to be claimed.
    async fn insert_qr_login(&self, q: &crate::qr::QrLogin) -> Result<(), StoreError>;
    /// A QR login.
    async fn qr_login(&self, id: &str) -> Result<Option<crate::qr::QrLogin>, StoreError>;
    /// Claim a pending, unexpired QR login and insert its (final) session with the same
    /// ID and the messages its ending sends, in one transaction; `false` (and nothing
    /// written) when it was claimed already or has expired.
    async fn claim_qr_login(
        &self,
        id: &str,
        session: &Session,
        outbox: &[OutboxMessage],
        now: Timestamp,
    ) -> Result<bool, StoreError>;
}

/// What a user proves themselves with, other than a device: static passwords (with
/// their failure counters and locks), OATH tokens, virtual authenticators, FIDO2
/// credentials and UAF registrations, and the FIDO ceremonies that create and use them.
/// Every row belongs to a user and goes with them.
#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Insert a virtual authenticator; `Conflict` when its serial is taken in the tenant.
    async fn insert_virtual_authenticator(
        &self,
        tenant_id: &str,
        v: &crate::virtual_auth::VirtualAuthenticator,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// The tenant's virtual authenticator with this serial.
    async fn virtual_authenticator(
        &self,
        tenant_id: &str,
        serial: &str,
    ) -> Result<Option<crate::virtual_auth::VirtualAuthenticator>, StoreError>;
    /// A user's virtual authenticators, by serial.
    async fn user_virtual_authenticators(
        &self,
        user_pk: &str,
    ) -> Result<Vec<crate::virtual_auth::VirtualAuthenticator>, StoreError>;
    /// Remove a virtual authenticator; `false` when there was none.
    async fn delete_virtual_authenticator(&self, tenant_id: &str, serial: &str) -> Result<bool, StoreError>;

    /// A user's FIDO2 credential (JSON), by credential ID.
    async fn fido_credential(&self, user_pk: &str, credential_id: &str) -> Result<Option<String>, StoreError>;
    /// A user's FIDO2 credentials, (credential ID, JSON) by credential ID.
    async fn user_fido_credentials(&self, user_pk: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Create or replace a user's FIDO2 credential; `Conflict` when another user of the
    /// tenant (the relying party) has a credential with this ID.
    async fn save_fido_credential(
        &self,
        tenant_id: &str,
        user_pk: &str,
        credential_id: &str,
        credential: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Remove a user's FIDO2 credential; `false` when there was none.
    async fn delete_fido_credential(&self, user_pk: &str, credential_id: &str) -> Result<bool, StoreError>;
    /// A user's UAF registration (JSON) of this AAID and key ID.
    async fn uaf_registration(&self, user_pk: &str, aaid: &str, key_id: &str) -> Result<Option<String>, StoreError>;
    /// A user's UAF registrations as JSON, by AAID and key ID.
    async fn user_uaf_registrations(&self, user_pk: &str) -> Result<Vec<String>, StoreError>;
    /// Create or replace a user's UAF registration; `Conflict` when another user of the
    /// tenant has this AAID and key ID.
    async fn save_uaf_registration(
        &self,
        tenant_id: &str,
        user_pk: &str,
        aaid: &str,
        key_id: &str,
        registration: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Remove a user's UAF registration; `false` when there was none.
    async fn delete_uaf_registration(&self, user_pk: &str, aaid: &str, key_id: &str) -> Result<bool, StoreError>;
    /// The keys of a user's FIDO2 credentials, then of their UAF registrations.
    async fn fido_authenticator_keys(&self, user_pk: &str) -> Result<Vec<FidoAuthenticatorKey>, StoreError>;

    /// Create or replace a FIDO ceremony.
    async fn save_fido_ceremony(&self, c: &FidoCeremony) -> Result<(), StoreError>;
    /// A FIDO ceremony.
    async fn fido_ceremony(&self, id: &str) -> Result<Option<FidoCeremony>, StoreError>;
    /// Remove a FIDO ceremony; `false` when there was none (another request used it).
    async fn delete_fido_ceremony(&self, id: &str) -> Result<bool, StoreError>;
    /// Remove the ceremonies that expired before `now`; how many.
    async fn delete_expired_fido_ceremonies(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// A user's static password.
    async fn static_password(&self, user_pk: &str) -> Result<Option<crate::password::StaticPassword>, StoreError>;
    /// Create or replace a user's static password (failures and lock cleared).
    async fn set_static_password(&self, p: &crate::password::StaticPassword) -> Result<(), StoreError>;
    /// Remove a user's static password; `false` when there was none.
    async fn delete_static_password(&self, user_pk: &str) -> Result<bool, StoreError>;
    /// Count a wrong password; at `max` failures lock it until `lock_until`. The failures
    /// and the lock after the update.
    async fn password_failure(
        &self,
        user_pk: &str,
        max: u32,
        lock_until: Timestamp,
    ) -> Result<Option<(u32, Option<Timestamp>)>, StoreError>;
    /// Clear a password's failures and lock; `false` when there is no password.
    async fn password_reset_failures(&self, user_pk: &str) -> Result<bool, StoreError>;
    /// Insert tokens, all or none (`Conflict` when a serial exists in the tenant).
    async fn insert_tokens(&self, tokens: &[crate::tokens::Token]) -> Result<(), StoreError>;
    /// A token by ID.
    async fn token(&self, id: &str) -> Result<Option<crate::tokens::Token>, StoreError>;
    /// A tenant's tokens, by serial (at most 1000).
    async fn tenant_tokens(&self, tenant_id: &str) -> Result<Vec<crate::tokens::Token>, StoreError>;
    /// A user's tokens.
    async fn user_tokens(&self, user_pk: &str) -> Result<Vec<crate::tokens::Token>, StoreError>;
    /// Assign a token to a user (or none); `false` when there is no such token.
    async fn set_token_user(&self, id: &str, user_pk: Option<&str>, at: Timestamp) -> Result<bool, StoreError>;
    /// Move a token's moving factor from `expected` to `new`, reset its failures and set
    /// its state; `false` when another request moved it first.
    async fn token_advance(
        &self,
        id: &str,
        expected: i64,
        new: i64,
        state: crate::tokens::TokenState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Count a wrong code, locking the token at `max` failures; the failures and state.
    async fn token_failure(
        &self,
        id: &str,
        max: u32,
        at: Timestamp,
    ) -> Result<Option<(u32, crate::tokens::TokenState)>, StoreError>;
    /// Set a token's state and clear its failures; `false` when there is no such token.
    async fn set_token_state(
        &self,
        id: &str,
        state: crate::tokens::TokenState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Remove a token.
    async fn delete_token(&self, id: &str) -> Result<bool, StoreError>;
}

/// The risk engine's memory: each tenant's rules, each user's learned profile, what a
/// pending challenge will teach when passed, and failed logins counted for velocity.
#[async_trait]
pub trait RiskStore: Send + Sync {
    /// A tenant's risk settings (JSON), if set.
    async fn risk_rules(&self, tenant_id: &str) -> Result<Option<String>, StoreError>;
    /// Create or replace a tenant's risk settings.
    async fn set_risk_rules(&self, tenant_id: &str, rules: &str, at: Timestamp) -> Result<(), StoreError>;
    /// A user's learned risk profile (JSON), if any.
    async fn risk_profile(&self, user_pk: &str) -> Result<Option<String>, StoreError>;
    /// Create or replace a user's risk profile.
    async fn set_risk_profile(
        &self,
        tenant_id: &str,
        user_pk: &str,
        profile: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Remember what the challenge `request_id` teaches if passed (replacing any).
    async fn insert_risk_pending(
        &self,
        request_id: &str,
        tenant_id: &str,
        learn: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// What the challenge `request_id` teaches if passed, if recorded.
    async fn risk_pending(&self, request_id: &str) -> Result<Option<String>, StoreError>;
    /// Remove and return what the challenge `request_id` teaches (at most one caller gets it).
    async fn take_risk_pending(&self, request_id: &str) -> Result<Option<String>, StoreError>;
    /// Forget pending challenges made before `before`; how many.
    async fn delete_risk_pending_before(&self, before: Timestamp) -> Result<u64, StoreError>;
    /// Log a failed login for velocity.
    async fn record_failure(
        &self,
        id: &str,
        tenant_id: &str,
        user_pk: Option<&str>,
        ip: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Failed logins of a user since `since`.
    async fn user_failures_since(&self, user_pk: &str, since: Timestamp) -> Result<u32, StoreError>;
    /// Failed logins from an address in a tenant since `since`.
    async fn ip_failures_since(&self, tenant_id: &str, ip: &str, since: Timestamp) -> Result<u32, StoreError>;
}

/// Configuration, written by the admin API and read on most requests: push apps (not
/// tied to a tenant), and per tenant its callback settings, messaging providers,
/// authentication types and FIDO relying party. Secrets are sealed by the core before
/// they reach the store ([`SealedConfig`]); value objects are JSON the core owns.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// The tenant's callback settings, if ever set.
    async fn callback_config(&self, tenant_id: &str) -> Result<Option<crate::callbacks::StoredCallbacks>, StoreError>;
    /// Replace the tenant's callback settings.
    async fn set_callback_config(
        &self,
        tenant_id: &str,
        config: &crate::callbacks::StoredCallbacks,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// A push app's configuration.
    async fn push_app(&self, app_id: &str) -> Result<Option<SealedConfig>, StoreError>;
    /// Every push app's configuration, by app ID (at most 1000).
    async fn push_apps(&self) -> Result<Vec<(String, SealedConfig)>, StoreError>;
    /// Create or replace a push app.
    async fn set_push_app(&self, app_id: &str, config: &SealedConfig, at: Timestamp) -> Result<(), StoreError>;
    /// Remove a push app; `false` when there was none.
    async fn delete_push_app(&self, app_id: &str) -> Result<bool, StoreError>;
    /// A tenant's own SMS and e-mail providers, if set.
    async fn tenant_providers(&self, tenant_id: &str) -> Result<Option<SealedConfig>, StoreError>;
    /// Create or replace a tenant's providers.
    async fn set_tenant_providers(
        &self,
        tenant_id: &str,
        config: &SealedConfig,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// A tenant's authentication type `name` (its settings, JSON), if the tenant set one.
    async fn auth_type(&self, tenant_id: &str, name: &str) -> Result<Option<String>, StoreError>;
    /// A tenant's own authentication types, (name, settings) by name.
    async fn auth_types(&self, tenant_id: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Create or replace a tenant's authentication type.
    async fn set_auth_type(&self, tenant_id: &str, name: &str, settings: &str, at: Timestamp)
    -> Result<(), StoreError>;
    /// Remove a tenant's authentication type; `false` when there was none.
    async fn delete_auth_type(&self, tenant_id: &str, name: &str) -> Result<bool, StoreError>;
    /// A tenant's FIDO relying party (JSON), if configured.
    async fn relying_party(&self, tenant_id: &str) -> Result<Option<String>, StoreError>;
    /// Create or replace a tenant's FIDO relying party.
    async fn set_relying_party(&self, tenant_id: &str, rp: &str, at: Timestamp) -> Result<(), StoreError>;
}

/// The outbox (docs/delivery.md).
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claim up to `limit` messages that are due at `now` (queued and due, or sending
    /// with an expired lease), moving them to `sending` with a lease until `lease_until`.
    /// Concurrent claimers never get the same message.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError>;
    /// Record that a provider accepted the message.
    async fn outbox_sent(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Record a failed try; the message is due again at `next_at`.
    async fn outbox_retry(&self, id: &str, attempts: u32, next_at: Timestamp, error: &str) -> Result<(), StoreError>;
    /// Give the message up.
    async fn outbox_dead(&self, id: &str, attempts: u32, error: &str) -> Result<(), StoreError>;
    /// Messages, newest first, optionally of one state.
    async fn list_outbox(&self, state: Option<OutboxState>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError>;
    /// How many messages are in each state.
    async fn outbox_counts(&self) -> Result<Vec<(OutboxState, u64)>, StoreError>;
    /// Enqueue messages that no other state change goes with (test messages, codes).
    async fn enqueue(&self, messages: &[OutboxMessage]) -> Result<(), StoreError>;
    /// Put a dead message that is not a push back in the queue, due at `now`, with a new
    /// deadline: `callback_deadline` for callbacks, `message_deadline` for SMS and e-mail;
    /// `false` when there is no such dead message.
    async fn outbox_requeue(
        &self,
        id: &str,
        now: Timestamp,
        callback_deadline: Timestamp,
        message_deadline: Timestamp,
    ) -> Result<bool, StoreError>;
}
