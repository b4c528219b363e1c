//! RADIUS clients (NAS) and the first factor of a RADIUS login (docs/radius.md). The wire
//! protocol and the policies live in `countersign-radius`; this is what it asks of the
//! domain: which client a source address names, with its tenant and shared secret, and
//! whether a user's static password is right.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::net::Cidr;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::{StaticPasswordMode, Tenant};
use crate::user::User;
use crate::{random, validate};

/// What a client's `Access-Request`s mean (docs/radius.md, "Requests").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RadiusPolicy {
    /// The static password, then the second factor (a push) while the request waits.
    PasswordPush,
    /// The static password, then a code sent by the second factor, asked for with
    /// `Access-Challenge`.
    PasswordChallenge,
    /// The static password followed by a TOTP/HOTP code, in one `User-Password`.
    PasswordCode,
}

impl RadiusPolicy {
    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            RadiusPolicy::PasswordPush => "password_push",
            RadiusPolicy::PasswordChallenge => "password_challenge",
            RadiusPolicy::PasswordCode => "password_code",
        }
    }

    /// From the stored name.
    pub fn parse(s: &str) -> Option<RadiusPolicy> {
        [RadiusPolicy::PasswordPush, RadiusPolicy::PasswordChallenge, RadiusPolicy::PasswordCode]
            .into_iter()
            .find(|p| p.as_str() == s)
    }

    fn default_second_factor(self) -> &'static str {
        match self {
            RadiusPolicy::PasswordPush => "push",
            RadiusPolicy::PasswordChallenge => "email",
            RadiusPolicy::PasswordCode => "totp",
        }
    }
}

/// A RADIUS client as stored: the secret sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RadiusClient {
    /// Its ID.
    pub id: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    pub name: String,
    /// Where its requests come from, normalized (`10.0.0.0/24`).
    pub network: String,
    /// The shared secret, sealed.
    pub secret_sealed: String,
    /// What its requests mean.
    pub policy: RadiusPolicy,
    /// The authentication type started after the password.
    pub second_factor: String,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Input of `POST /admin/v1/tenants/{domain}/radius-clients`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRadiusClient {
    /// A name, unique in the tenant (1–64 characters).
    #[schema(example = "vpn")]
    pub name: String,
    /// The address or block its requests come from.
    #[schema(example = "192.0.2.0/24")]
    pub network: String,
    /// The shared secret (16–128 printable ASCII characters); generated when absent.
    #[serde(default)]
    pub secret: Option<String>,
    /// What its requests mean (default `password_push`).
    #[serde(default)]
    pub policy: Option<RadiusPolicy>,
    /// The type started after the password (default: `push`, `email` or `totp` by policy).
    #[serde(default)]
    pub second_factor: Option<String>,
}

/// A RADIUS client as the admin API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RadiusClientView {
    /// Its ID.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Where its requests come from.
    pub network: String,
    /// What its requests mean.
    pub policy: RadiusPolicy,
    /// The type started after the password.
    pub second_factor: String,
    /// When it was added (RFC 3339).
    pub created_at: String,
    /// The shared secret: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl RadiusClientView {
    fn of(c: &RadiusClient, secret: Option<String>) -> RadiusClientView {
        RadiusClientView {
            id: c.id.clone(),
            name: c.name.clone(),
            network: c.network.clone(),
            policy: c.policy,
            second_factor: c.second_factor.clone(),
            created_at: c.created_at.to_rfc3339(),
            secret,
        }
    }
}

/// The client a datagram came from, ready to check and answer it.
#[derive(Debug, Clone)]
pub struct NasClient {
    /// The client.
    pub client: RadiusClient,
    /// Its tenant.
    pub tenant: Tenant,
    /// Its shared secret, opened.
    pub secret: Vec<u8>,
}

fn check_secret(s: &str) -> Result<(), CoreError> {
    let ok = (16..=128).contains(&s.len()) && s.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if ok { Ok(()) } else { Err(CoreError::invalid("secret", "secret must be 16 to 128 printable ASCII characters")) }
}

impl Core {
    /// Add a RADIUS client to the tenant; the answer holds the secret, once.
    pub async fn create_radius_client(
        &self,
        domain: &str,
        input: CreateRadiusClient,
    ) -> Result<RadiusClientView, CoreError> {
        let tenant = self.tenant(domain).await?;
        let name = validate::short_name(&input.name)?;
        let network = input.network.parse::<Cidr>().map_err(|m| CoreError::invalid("network", m))?.normalized();
        let secret = match input.secret {
            Some(s) => {
                check_secret(&s)?;
                s
            }
            None => random::secret_token(&*self.random, "")?.chars().take(32).collect(),
        };
        let policy = input.policy.unwrap_or(RadiusPolicy::PasswordPush);
        let second_factor = input.second_factor.unwrap_or_else(|| policy.default_second_factor().to_owned());
        validate::name(&second_factor)
            .map_err(|_| CoreError::invalid("secondFactor", "secondFactor must name a type"))?;
        if policy != RadiusPolicy::PasswordCode && self.auth_type(&tenant, &second_factor).await?.is_none() {
            return Err(CoreError::invalid("secondFactor", "secondFactor names no authentication type of this tenant"));
        }
        // One source address names one client: blocks may not overlap, across tenants.
        if let Some(other) = self
            .store
            .all_radius_clients()
            .await?
            .into_iter()
            .find(|c| c.network.parse::<Cidr>().is_ok_and(|n| n.overlaps(&network)))
        {
            let whose =
                if other.tenant_id == tenant.id { "another client of this tenant" } else { "another tenant's client" };
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::RadiusNetworkOverlap,
                format!("network {network} overlaps {} of {whose}", other.network),
            ));
        }
        let client = RadiusClient {
            id: random::new_id(&*self.random)?,
            tenant_id: tenant.id.clone(),
            name: name.to_owned(),
            network: network.to_string(),
            secret_sealed: self.sealer.seal(&*self.random, &secret)?,
            policy,
            second_factor,
            created_at: self.clock.now(),
        };
        match self.store.insert_radius_client(&client).await {
            Err(crate::StoreError::Conflict) => {
                return Err(CoreError::refused(
                    Refusal::Conflict,
                    RefusalCode::RadiusClientNameTaken,
                    "the tenant has a RADIUS client of that name",
                ));
            }
            other => other?,
        }
        let event = AuditEvent::new(AuditKind::AdminChange).tenant_id(&tenant.id).tenant(tenant.domain.as_str()).details(
            serde_json::json!({"change": "radius_client_added", "id": client.id, "name": client.name, "network": client.network}),
        );
        self.audit_or_log(event).await;
        Ok(RadiusClientView::of(&client, Some(secret)))
    }

    /// The tenant's RADIUS clients (never their secrets).
    pub async fn radius_clients(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<RadiusClientView>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = crate::admin::page(after, limit)?;
        let rows = self.store.radius_clients(&tenant.id, &page).await?;
        let views = rows.iter().map(|c| RadiusClientView::of(c, None)).collect();
        Ok(crate::admin::listing(views, &page, |v| v.name.clone()))
    }

    /// Remove one of the tenant's RADIUS clients.
    pub async fn delete_radius_client(&self, domain: &str, id: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        if !self.store.delete_radius_client(&tenant.id, id).await? {
            return Err(CoreError::NotFound(Entity::RadiusClient));
        }
        let event = AuditEvent::new(AuditKind::AdminChange)
            .tenant_id(&tenant.id)
            .tenant(tenant.domain.as_str())
            .details(serde_json::json!({"change": "radius_client_removed", "id": id}));
        self.audit_or_log(event).await;
        Ok(())
    }

    /// The client whose network holds `ip`, with its tenant and opened secret.
    pub async fn radius_client_for(&self, ip: IpAddr) -> Result<Option<NasClient>, CoreError> {
        let found = self
            .store
            .all_radius_clients()
            .await?
            .into_iter()
            .find(|c| c.network.parse::<Cidr>().is_ok_and(|n| n.contains(ip)));
        let Some(client) = found else { return Ok(None) };
        let Some(tenant) = self.store.tenant_by_id(&client.tenant_id).await? else { return Ok(None) };
        let secret = self.sealer.open(&client.secret_sealed)?.into_bytes();
        Ok(Some(NasClient { client, tenant, secret }))
    }

    /// The first factor of a RADIUS login: `user_ref`'s static password, not used alone
    /// (the grace period does not apply). See [`Core::front_door_password`].
    pub async fn radius_password(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        password: &str,
        ip: Option<&str>,
    ) -> Result<User, CoreError> {
        self.front_door_password(tenant, user_ref, password, false, ip, "radius").await
    }

    /// A static password given to a front door (RADIUS, the Duo-compatible API): counted
    /// and locked like any static password (docs/security.md, "Attempt limits"); a wrong
    /// one is recorded as `login_failed` (`call` names the front door) and, with the end
    /// user's address `ip`, as a failure the risk engine's velocity rules count. With `alone` the
    /// password is the whole login and its grace period applies; `staticPasswordMode`
    /// `off` refuses it either way. An unknown user costs the same Argon2 work.
    pub async fn front_door_password(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        password: &str,
        alone: bool,
        ip: Option<&str>,
        call: &'static str,
    ) -> Result<User, CoreError> {
        let ip = ip.and_then(|a| a.trim().parse::<std::net::IpAddr>().ok());
        let out = async {
            if tenant.settings.static_password_mode == StaticPasswordMode::Off {
                return Err(CoreError::refused(
                    Refusal::Forbidden,
                    RefusalCode::StaticPasswordDisabled,
                    "static passwords are off for this tenant",
                ));
            }
            let user = match self.login_user(tenant, user_ref).await {
                Ok(u) => u,
                Err(e) => {
                    // The same Argon2 work as a wrong password: timing does not tell.
                    self.burn_password_check(password).await;
                    return Err(e);
                }
            };
            if let Err(e) = self.check_static_password(tenant, &user, password, alone).await {
                self.record_risk_failure(tenant, &user.id, ip).await;
                return Err(e);
            }
            Ok(user)
        }
        .await;
        if let Err(e) = &out {
            let attempt = crate::audit::LoginAttempt {
                call,
                method: Some("static_password"),
                ..crate::audit::LoginAttempt::default()
            };
            self.audit_refused_login(tenant, user_ref, attempt, e).await;
        }
        out
    }

    /// This core acting as RADIUS client `id` (what the audit log names).
    pub fn as_radius_client(&self, id: &str) -> Core {
        self.acting(Actor::RadiusClient(id.to_owned()))
    }
}
