//! The operations behind the admin and integration APIs and the `admin` subcommand.
//!
//! Each takes wire-shaped input, validates it (naming the field at fault), applies it
//! through the [`Store`], and returns the domain record. Handlers stay thin: extract,
//! call one of these, map the result.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

use crate::access::{self, AccessKey, AccessKind, Credential, NewCredential};
use crate::clock::Clock;
use crate::error::{CoreError, Entity, Refusal};
use crate::random::{self, Random};
use crate::refusal::RefusalCode;
use crate::store::{Page, Store, StoreError};
use crate::tenant::{Domain, Tenant, TenantSettings};
use crate::user::{self, User, UserId, UserRef, UserStatus, VdpDeliveryMethod};
use crate::validate;

/// Largest page a listing returns.
pub const MAX_PAGE: u32 = 500;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// `last_used_at` is refreshed at most this often per key.
pub const TOUCH_INTERVAL_MS: i64 = 60_000;

/// Input of `POST /admin/v1/tenants`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenant {
    /// The tenant's domain (lower-cased).
    #[schema(example = "example.com")]
    pub domain: String,
    /// Settings; defaults where missing.
    #[serde(default)]
    pub settings: Option<TenantSettings>,
}

/// Input of `PATCH /admin/v1/tenants/{domain}`: the settings to change (a JSON merge:
/// settings not named keep their values).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateTenant {
    /// Settings to change.
    #[schema(value_type = Option<TenantSettings>)]
    #[serde(default)]
    pub settings: Option<Map<String, Value>>,
}

/// Input of `POST /admin/v1/tenants/{domain}/users`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUser {
    /// The user ID, unique in the tenant.
    #[serde(rename = "userID")]
    #[schema(example = "alice")]
    pub user_id: String,
    /// Initial status (default `active`).
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// Mobile number, E.164.
    #[schema(example = "+15550100")]
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[schema(example = "alice@example.com")]
    #[serde(default)]
    pub email: Option<String>,
    /// Language tag.
    #[schema(example = "en")]
    #[serde(default)]
    pub locale: Option<String>,
    /// How virtual one-time codes reach the user (default `Default`).
    #[serde(default)]
    pub vdp_delivery_method: Option<VdpDeliveryMethod>,
}

/// Input of `PATCH /admin/v1/tenants/{domain}/users/{userID}`. Fields left out keep
/// their values; `null` clears `phone`, `email` or `locale`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUser {
    /// New status.
    #[serde(default)]
    pub status: Option<UserStatus>,
    /// New phone, or `null` to clear.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub phone: Option<Option<String>>,
    /// New email, or `null` to clear.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub email: Option<Option<String>>,
    /// New locale, or `null` to clear.
    #[schema(value_type = Option<String>)]
    #[serde(default, deserialize_with = "present")]
    pub locale: Option<Option<String>>,
    /// New delivery method.
    #[serde(default)]
    pub vdp_delivery_method: Option<VdpDeliveryMethod>,
}

/// A field that is present deserializes to `Some(value or None for null)`; an absent
/// field stays `None` through `#[serde(default)]`.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Input of `POST …/api-keys` and `POST /admin/v1/admin-tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name to tell keys apart.
    #[schema(example = "web")]
    pub name: String,
}

/// What the integration API tells about a user (`GET /v1/users/{userID@domain}`).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountState {
    /// The user ID.
    #[serde(rename = "userID")]
    #[schema(value_type = String, example = "alice")]
    pub user_id: UserId,
    /// The tenant domain.
    #[schema(value_type = String, example = "example.com")]
    pub domain: Domain,
    /// Whether the user may authenticate.
    pub status: UserStatus,
    /// The user's active authenticators.
    pub authenticators: Vec<AuthenticatorSummary>,
    /// The static password's state, when the user has one (never the password).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub static_password: Option<crate::password::PasswordState>,
}

/// One of a user's authenticators, as listed in the account state.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorSummary {
    /// The kind of authenticator: `mobile` (an activated mobile authenticator), `totp`
    /// or `hotp` (a token; `id` is its serial), `fido2` (a passkey or security key; `id`
    /// is its credential ID), `uaf` (a FIDO UAF registration; `id` is `AAID/keyID`).
    pub kind: String,
    /// Its identifier.
    pub id: String,
}

/// A page of results and where the next one starts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_after: Option<String>,
}

/// The domain's entry point: storage, time, randomness, push delivery, and the
/// operations on them.
#[derive(Clone)]
pub struct Core {
    /// Where state lives.
    pub store: Arc<dyn Store>,
    /// What time it is.
    pub clock: Arc<dyn Clock>,
    /// Where secrets come from.
    pub random: Arc<dyn Random>,
    /// Wakes this node's outbox worker when messages are enqueued.
    pub outbox_wake: Arc<tokio::sync::Notify>,
    /// Counters of this node's outbox worker.
    pub outbox_metrics: Arc<crate::outbox::OutboxMetrics>,
    /// This node's login, risk, lockout and rate-limit counters.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Wakes those waiting for a session to end.
    pub waiters: Arc<crate::session::Waiters>,
    /// This server's public base URL (in QR payloads and as the gateway ID).
    pub public_url: String,
    /// Seals secrets that are stored (master key).
    pub sealer: Arc<crate::seal::Sealer>,
    /// SMS and e-mail providers for tenants that configure none (config file).
    pub default_providers: Arc<crate::providers::ProvidersInput>,
    /// Whether `votpCustomDelivery` may be used (deployment-wide, off by default).
    pub custom_delivery: bool,
    /// The geolocation database for secure-message context (none by default).
    pub geo: Arc<crate::context::Geo>,
    /// Argon2id for static passwords, on a bounded blocking pool (cost of new hashes,
    /// threads).
    pub hasher: Arc<crate::password::Hasher>,
}

/// A random master key for a core that is never given one (tests, tools); secrets it
/// seals cannot be opened by another process.
fn ephemeral_key() -> [u8; 32] {
    let mut k = [0u8; 32];
    let _ = random::OsRandom.fill(&mut k);
    k
}

fn page(after: Option<String>, limit: Option<u32>) -> Result<Page, CoreError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(CoreError::invalid("limit", format!("limit must be between 1 and {MAX_PAGE}")));
    }
    // Ask for one more row than shown, to know whether another page follows.
    Ok(Page { after, limit: limit + 1 })
}

fn listing<T>(mut rows: Vec<T>, page: &Page, key: impl Fn(&T) -> String) -> Listing<T> {
    let shown = (page.limit - 1) as usize;
    let more = rows.len() > shown;
    rows.truncate(shown);
    let next_after = if more { rows.last().map(key) } else { None };
    Listing { items: rows, next_after }
}

fn conflict_as(entity: Entity) -> impl Fn(StoreError) -> CoreError {
    move |e| match e {
        StoreError::Conflict => CoreError::Exists(entity),
        StoreError::NotFound => CoreError::NotFound(entity),
        other => CoreError::Store(other),
    }
}

fn merge_settings(current: &TenantSettings, patch: Map<String, Value>) -> Result<TenantSettings, CoreError> {
    let mut merged = match serde_json::to_value(current) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(CoreError::Internal("settings do not serialize to an object".into()));
        }
    };
    merged.extend(patch);
    let settings: TenantSettings = serde_path_to_error::deserialize(Value::Object(merged)).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." { "settings".to_owned() } else { format!("settings.{path}") };
        CoreError::invalid(field, e.into_inner().to_string())
    })?;
    settings.validate()?;
    Ok(settings)
}

impl Core {
    /// A core over `store` with the system clock, the operating system's randomness,
    /// `http://127.0.0.1:8080` as public URL and an ephemeral master key (the server
    /// sets its configured one with [`Core::with_master_key`]). Outward messages go to the outbox; a
    /// worker (`countersign-delivery`) sends them.
    pub fn new(store: Arc<dyn Store>) -> Core {
        Core {
            store,
            clock: Arc::new(crate::clock::SystemClock),
            random: Arc::new(random::OsRandom),
            outbox_wake: Arc::default(),
            outbox_metrics: Arc::default(),
            metrics: Arc::default(),
            waiters: Arc::default(),
            public_url: "http://127.0.0.1:8080".to_owned(),
            sealer: Arc::new(crate::seal::Sealer::new(&ephemeral_key())),
            default_providers: Arc::default(),
            custom_delivery: false,
            geo: Arc::default(),
            hasher: Arc::default(),
        }
    }

    /// The same core with these default SMS and e-mail providers.
    pub fn with_default_providers(mut self, providers: crate::providers::ProvidersInput) -> Core {
        self.default_providers = Arc::new(providers);
        self
    }

    /// The same core sealing stored secrets with `master_key`.
    pub fn with_master_key(mut self, master_key: &[u8; 32]) -> Core {
        self.sealer = Arc::new(crate::seal::Sealer::new(master_key));
        self
    }

    /// The same core announcing `url` as its public base URL.
    pub fn with_public_url(mut self, url: impl Into<String>) -> Core {
        self.public_url = url.into().trim_end_matches('/').to_owned();
        self
    }

    // ---- tenants -------------------------------------------------------------------

    /// Create a tenant.
    pub async fn create_tenant(&self, input: CreateTenant) -> Result<Tenant, CoreError> {
        let domain = Domain::parse(&input.domain, "domain")?;
        let settings = input.settings.unwrap_or_default();
        settings.validate()?;
        let now = self.clock.now();
        let tenant = Tenant { id: random::new_id(&*self.random)?, domain, settings, created_at: now, updated_at: now };
        self.store.insert_tenant(&tenant).await.map_err(conflict_as(Entity::Tenant))?;
        Ok(tenant)
    }

    /// The tenant named by `domain` (as given in a path).
    pub async fn tenant(&self, domain: &str) -> Result<Tenant, CoreError> {
        let domain = Domain::parse(domain, "domain")?;
        self.store.tenant_by_domain(&domain).await?.ok_or(CoreError::NotFound(Entity::Tenant))
    }

    /// A page of tenants by domain.
    pub async fn list_tenants(&self, after: Option<String>, limit: Option<u32>) -> Result<Listing<Tenant>, CoreError> {
        let page = page(after, limit)?;
        let rows = self.store.list_tenants(&page).await?;
        Ok(listing(rows, &page, |t| t.domain.to_string()))
    }

    /// Change a tenant's settings.
    pub async fn update_tenant(&self, domain: &str, patch: UpdateTenant) -> Result<Tenant, CoreError> {
        let mut tenant = self.tenant(domain).await?;
        if let Some(p) = patch.settings {
            tenant.settings = merge_settings(&tenant.settings, p)?;
        }
        tenant.updated_at = self.clock.now();
        self.store.update_tenant(&tenant).await.map_err(conflict_as(Entity::Tenant))?;
        Ok(tenant)
    }

    /// Delete a tenant and everything it owns.
    pub async fn delete_tenant(&self, domain: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        if self.store.delete_tenant(&tenant.id).await? { Ok(()) } else { Err(CoreError::NotFound(Entity::Tenant)) }
    }

    // ---- users ---------------------------------------------------------------------

    /// Create a user in the tenant named by `domain`.
    pub async fn create_user(&self, domain: &str, input: CreateUser) -> Result<User, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user_id = UserId::parse(&input.user_id, "userID")?;
        user::check_contacts(input.phone.as_deref(), input.email.as_deref(), input.locale.as_deref())?;
        let now = self.clock.now();
        let user = User {
            id: random::new_id(&*self.random)?,
            tenant_id: tenant.id,
            user_id,
            status: input.status.unwrap_or(UserStatus::Active),
            phone: input.phone,
            email: input.email,
            locale: input.locale,
            vdp_delivery_method: input.vdp_delivery_method.unwrap_or(VdpDeliveryMethod::Default),
            created_at: now,
            updated_at: now,
        };
        self.store.insert_user(&user).await.map_err(conflict_as(Entity::User))?;
        Ok(user)
    }

    pub(crate) async fn user_in(&self, tenant: &Tenant, user_id: &str) -> Result<User, CoreError> {
        let user_id = UserId::parse(user_id, "userID")?;
        self.store.user(&tenant.id, user_id.as_str()).await?.ok_or(CoreError::NotFound(Entity::User))
    }

    /// The user `user_id` of the tenant named by `domain`.
    pub async fn user(&self, domain: &str, user_id: &str) -> Result<User, CoreError> {
        let tenant = self.tenant(domain).await?;
        self.user_in(&tenant, user_id).await
    }

    /// A page of a tenant's users by userID.
    pub async fn list_users(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<User>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = page(after, limit)?;
        let rows = self.store.list_users(&tenant.id, &page).await?;
        Ok(listing(rows, &page, |u| u.user_id.as_str().to_owned()))
    }

    /// Change a user.
    pub async fn update_user(&self, domain: &str, user_id: &str, patch: UpdateUser) -> Result<User, CoreError> {
        let mut user = self.user(domain, user_id).await?;
        user::check_contacts(
            patch.phone.as_ref().and_then(Option::as_deref),
            patch.email.as_ref().and_then(Option::as_deref),
            patch.locale.as_ref().and_then(Option::as_deref),
        )?;
        if let Some(s) = patch.status {
            user.status = s;
        }
        if let Some(p) = patch.phone {
            user.phone = p;
        }
        if let Some(e) = patch.email {
            user.email = e;
        }
        if let Some(l) = patch.locale {
            user.locale = l;
        }
        if let Some(m) = patch.vdp_delivery_method {
            user.vdp_delivery_method = m;
        }
        user.updated_at = self.clock.now();
        self.store.update_user(&user).await.map_err(conflict_as(Entity::User))?;
        Ok(user)
    }

    /// Delete a user.
    pub async fn delete_user(&self, domain: &str, user_id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        let user_id = UserId::parse(user_id, "userID")?;
        // Everything the user owns (devices, sessions, credentials, registrations, the
        // risk profile, virtual authenticators) goes with the row: ON DELETE CASCADE.
        if !self.store.delete_user(&tenant.id, user_id.as_str()).await? {
            return Err(CoreError::NotFound(Entity::User));
        }
        Ok(())
    }

    // ---- access keys ---------------------------------------------------------------

    fn new_key(&self, kind: AccessKind, tenant_id: Option<String>, name: &str) -> Result<NewCredential, CoreError> {
        validate::name(name).map_err(|m| CoreError::invalid("name", m))?;
        let secret = random::secret_token(&*self.random, kind.prefix())?;
        let record = AccessKey {
            id: random::new_id(&*self.random)?,
            kind,
            tenant_id,
            name: name.to_owned(),
            hint: access::key_hint(&secret),
            key_hash: access::key_hash(&secret),
            created_at: self.clock.now(),
            last_used_at: None,
            revoked_at: None,
        };
        Ok(NewCredential { record, secret })
    }

    /// Create an API key for the tenant named by `domain`; the key is in the result only.
    pub async fn create_api_key(&self, domain: &str, input: CreateKey) -> Result<NewCredential, CoreError> {
        let tenant = self.tenant(domain).await?;
        let key = self.new_key(AccessKind::ApiKey, Some(tenant.id), &input.name)?;
        self.store.insert_access_key(&key.record).await?;
        Ok(key)
    }

    /// The tenant's API keys, revoked ones included.
    pub async fn list_api_keys(&self, domain: &str) -> Result<Vec<AccessKey>, CoreError> {
        let tenant = self.tenant(domain).await?;
        Ok(self.store.list_access_keys(AccessKind::ApiKey, Some(&tenant.id)).await?)
    }

    /// Revoke one of the tenant's API keys.
    pub async fn revoke_api_key(&self, domain: &str, id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        let now = self.clock.now();
        if self.store.revoke_access_key(AccessKind::ApiKey, Some(&tenant.id), id, now).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::ApiKey))
        }
    }

    /// Create an admin token; the token is in the result only.
    pub async fn create_admin_token(&self, input: CreateKey) -> Result<NewCredential, CoreError> {
        let key = self.new_key(AccessKind::AdminToken, None, &input.name)?;
        self.store.insert_access_key(&key.record).await?;
        Ok(key)
    }

    /// All admin tokens, revoked ones included.
    pub async fn list_admin_tokens(&self) -> Result<Vec<AccessKey>, CoreError> {
        Ok(self.store.list_access_keys(AccessKind::AdminToken, None).await?)
    }

    /// Revoke an admin token.
    pub async fn revoke_admin_token(&self, id: &str) -> Result<(), CoreError> {
        let now = self.clock.now();
        if self.store.revoke_access_key(AccessKind::AdminToken, None, id, now).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::AdminToken))
        }
    }

    /// At first start, make the first admin token: `provided` when given (checked for
    /// form and strength), else a random one. Returns the new credential when this call
    /// made it, `None` when admin tokens were made before.
    pub async fn bootstrap_admin_token(&self, provided: Option<&str>) -> Result<Option<NewCredential>, CoreError> {
        let mut key = self.new_key(AccessKind::AdminToken, None, "bootstrap")?;
        if let Some(p) = provided {
            let body = p.strip_prefix(AccessKind::AdminToken.prefix()).unwrap_or("");
            let strong = body.len() >= 32 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !strong {
                return Err(CoreError::invalid(
                    "COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN",
                    "the bootstrap admin token must be csa_ followed by at least 32 characters of A-Z, a-z, 0-9, '-' and '_'",
                ));
            }
            key.record.hint = access::key_hint(p);
            key.record.key_hash = access::key_hash(p);
            key.secret = p.to_owned();
        }
        Ok(self.store.bootstrap_admin_token(&key.record).await?.then_some(key))
    }

    /// Who presents `key` for `kind`: a live key of that kind, or `Unauthorized`.
    pub async fn authenticate(&self, kind: AccessKind, key: &str) -> Result<Credential, CoreError> {
        // Refuse what cannot be a key before touching storage.
        if !key.starts_with(kind.prefix()) || key.len() > 200 {
            return Err(CoreError::Unauthorized);
        }
        let found = self.store.access_key_with_tenant(&access::key_hash(key)).await?;
        let Some((record, tenant)) = found.filter(|(k, _)| k.kind == kind && k.revoked_at.is_none()) else {
            return Err(CoreError::Unauthorized);
        };
        // Record the use at most once per interval: the read says whether it is due, so
        // most calls make no write (on SQLite a write, even one that changes nothing,
        // takes the database's single write lock).
        let now = self.clock.now();
        if record.last_used_at.is_none_or(|t| now.millis() - t.millis() >= TOUCH_INTERVAL_MS) {
            self.store.touch_access_key(&record.id, now, TOUCH_INTERVAL_MS).await?;
        }
        match (kind, record.tenant_id) {
            (AccessKind::AdminToken, _) => Ok(Credential::Admin { token_id: record.id }),
            (AccessKind::ApiKey, Some(_)) => {
                let tenant = tenant.ok_or(CoreError::Unauthorized)?;
                Ok(Credential::Tenant { key_id: record.id, tenant })
            }
            (AccessKind::ApiKey, None) => Err(CoreError::Unauthorized),
        }
    }

    /// Outbox messages, newest first (admin API).
    pub async fn list_outbox(
        &self,
        state: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::outbox::OutboxMessage>, CoreError> {
        let state = state
            .map(|s| {
                crate::outbox::OutboxState::from_stored(s)
                    .ok_or_else(|| CoreError::invalid("state", "state must be one of queued, sending, sent, dead"))
            })
            .transpose()?;
        let limit = limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(CoreError::invalid("limit", format!("limit must be between 1 and {MAX_PAGE}")));
        }
        Ok(self.store.list_outbox(state, limit).await?)
    }

    /// Send a dead callback, SMS or e-mail again (admin API). Pushes are not retried:
    /// their session has a deadline of its own.
    pub async fn retry_outbox(&self, id: &str) -> Result<(), CoreError> {
        let now = self.clock.now();
        let done = self
            .store
            .outbox_requeue(
                id,
                now,
                now.plus_millis(crate::outbox::CALLBACK_LIFETIME_MS),
                now.plus_millis(crate::providers::MESSAGE_LIFETIME_MS),
            )
            .await?;
        if !done {
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::NotRetryable,
                "no dead callback, SMS or e-mail with this ID (pushes are not retried)",
            ));
        }
        self.outbox_wake.notify_one();
        Ok(())
    }

    // ---- integration API -----------------------------------------------------------

    /// The account state of `user` (`userID@domain`) as seen by `tenant`'s key: a user of
    /// another tenant is reported as not found.
    pub async fn account_state(&self, tenant: &Tenant, user: &str) -> Result<AccountState, CoreError> {
        let r = UserRef::parse(user)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        let u = self.user_in(tenant, r.user_id.as_str()).await?;
        // Four independent reads, at once.
        let (devices, tokens, password, fido) = tokio::try_join!(
            self.store.user_devices(&u.id),
            self.store.user_tokens(&u.id),
            self.store.static_password(&u.id),
            self.store.fido_authenticator_keys(&u.id)
        )?;
        let mut authenticators: Vec<AuthenticatorSummary> = devices
            .into_iter()
            .filter(|d| d.state == crate::device::DeviceState::Active)
            .map(|d| AuthenticatorSummary { kind: "mobile".to_owned(), id: d.id })
            .collect();
        authenticators.extend(
            tokens
                .into_iter()
                .filter(|t| t.state == crate::tokens::TokenState::Active)
                .map(|t| AuthenticatorSummary { kind: t.kind.as_str().to_owned(), id: t.serial }),
        );
        authenticators.extend(fido.into_iter().map(|key| match key {
            crate::store::FidoAuthenticatorKey::Fido2 { credential_id } => {
                AuthenticatorSummary { kind: "fido2".to_owned(), id: credential_id }
            }
            crate::store::FidoAuthenticatorKey::Uaf { aaid, key_id } => {
                AuthenticatorSummary { kind: "uaf".to_owned(), id: format!("{aaid}/{key_id}") }
            }
        }));
        let static_password = password.as_ref().map(crate::password::PasswordState::from);
        Ok(AccountState { user_id: u.user_id, domain: r.domain, status: u.status, authenticators, static_password })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_merge_keeps_unnamed_and_names_bad_field() {
        let cur = TenantSettings { login_timeout_seconds: 30, ..Default::default() };
        let same = merge_settings(&cur, Map::new()).expect("empty patch");
        assert_eq!(same, cur);
        let mut p = Map::new();
        p.insert("loginTimeoutSeconds".into(), Value::from(90));
        assert_eq!(merge_settings(&cur, p).expect("valid").login_timeout_seconds, 90);
        let mut bad = Map::new();
        bad.insert("loginTimeoutSeconds".into(), Value::from("soon"));
        match merge_settings(&cur, bad) {
            Err(CoreError::Invalid { field, .. }) => {
                assert_eq!(field, "settings.loginTimeoutSeconds")
            }
            other => panic!("unexpected {other:?}"),
        }
        let mut zero = Map::new();
        zero.insert("loginTimeoutSeconds".into(), Value::from(0));
        assert!(matches!(merge_settings(&cur, zero), Err(CoreError::Invalid { .. })));
        let mut unknown = Map::new();
        unknown.insert("colour".into(), Value::from("red"));
        assert!(matches!(merge_settings(&cur, unknown), Err(CoreError::Invalid { .. })));
    }

    #[test]
    fn update_user_distinguishes_absent_and_null() {
        let p: UpdateUser = serde_json::from_str(r#"{"phone":null}"#).expect("json");
        assert_eq!(p.phone, Some(None));
        assert_eq!(p.email, None);
        let p: UpdateUser = serde_json::from_str(r#"{"email":"a@b.co"}"#).expect("json");
        assert_eq!(p.email, Some(Some("a@b.co".into())));
    }

    #[test]
    fn listing_cuts_and_points_to_next() {
        let page = Page { after: None, limit: 3 };
        let l = listing(vec![1, 2, 3], &page, |n| n.to_string());
        assert_eq!(l.items, vec![1, 2]);
        assert_eq!(l.next_after.as_deref(), Some("2"));
        let l = listing(vec![1, 2], &page, |n| n.to_string());
        assert_eq!(l.next_after, None);
    }
}
