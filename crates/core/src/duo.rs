//! Duo-compatible integrations (docs/duo.md): what the Duo Auth API front door asks of
//! the domain — which tenant an integration key names, with its secret key — and how
//! integrations are created and removed. The wire protocol lives in
//! `countersign-http` (`duo/`).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::Tenant;
use crate::validate;

/// An integration as stored: the secret key sealed under the master key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuoIntegration {
    /// The integration key (`DI` and 18 upper-case letters and digits), its identity.
    pub ikey: String,
    /// Its tenant.
    pub tenant_id: String,
    /// Its name, unique in the tenant.
    pub name: String,
    /// The secret key, sealed.
    pub skey_sealed: String,
    /// Whether requests signed the way Duo Unix before 2.0 signs them (no `Date`, so
    /// no freshness window) are accepted.
    pub legacy_signatures: bool,
    /// When it was added.
    pub created_at: Timestamp,
}

/// Input of `POST /admin/v1/tenants/{domain}/duo-integrations`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateDuoIntegration {
    /// A name, unique in the tenant (1–64 characters).
    #[schema(example = "ssh")]
    pub name: String,
    /// Accept the unsigned-date requests of Duo Unix 1.x (`/rest/v1`); default `false`.
    #[serde(default)]
    pub legacy_signatures: bool,
}

/// An integration as the admin API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DuoIntegrationView {
    /// The integration key.
    pub ikey: String,
    /// Its name.
    pub name: String,
    /// Whether Duo Unix 1.x's signatures are accepted.
    pub legacy_signatures: bool,
    /// When it was added (RFC 3339).
    pub created_at: String,
    /// The secret key: only in the answer that created it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skey: Option<String>,
}

impl DuoIntegrationView {
    fn of(i: &DuoIntegration, skey: Option<String>) -> DuoIntegrationView {
        DuoIntegrationView {
            ikey: i.ikey.clone(),
            name: i.name.clone(),
            legacy_signatures: i.legacy_signatures,
            created_at: i.created_at.to_rfc3339(),
            skey,
        }
    }
}

/// The integration a request names, ready to check its signature.
#[derive(Debug, Clone)]
pub struct DuoCaller {
    /// The integration.
    pub integration: DuoIntegration,
    /// Its tenant.
    pub tenant: Tenant,
    /// Its secret key, opened.
    pub skey: String,
}

const KEY_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

fn random_text(random: &dyn crate::random::Random, len: usize, alphabet: &[u8]) -> Result<String, CoreError> {
    // 256 is not a multiple of 36 or 62: drop the bias by rejection.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut bytes = [0u8; 64];
        random.fill(&mut bytes)?;
        for b in bytes.into_iter().map(usize::from).filter(|b| *b < limit) {
            if out.len() == len {
                break;
            }
            out.push(char::from(alphabet[b % alphabet.len()]));
        }
    }
    Ok(out)
}

impl Core {
    /// Add a Duo-compatible integration to the tenant; the answer holds the secret key, once.
    pub async fn create_duo_integration(
        &self,
        domain: &str,
        input: CreateDuoIntegration,
    ) -> Result<DuoIntegrationView, CoreError> {
        let tenant = self.tenant(domain).await?;
        let name = validate::short_name(&input.name)?;
        let ikey = format!("DI{}", random_text(&*self.random, 18, KEY_ALPHABET)?);
        let skey = random_text(&*self.random, 40, b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")?;
        let integration = DuoIntegration {
            ikey,
            tenant_id: tenant.id.clone(),
            name: name.to_owned(),
            skey_sealed: self.sealer.seal(&*self.random, &skey)?,
            legacy_signatures: input.legacy_signatures,
            created_at: self.clock.now(),
        };
        match self.store.insert_duo_integration(&integration).await {
            Err(crate::StoreError::Conflict) => {
                return Err(CoreError::refused(
                    Refusal::Conflict,
                    RefusalCode::DuoIntegrationNameTaken,
                    "the tenant has a Duo integration of that name",
                ));
            }
            other => other?,
        }
        let event = AuditEvent::new(AuditKind::AdminChange).tenant_id(&tenant.id).tenant(tenant.domain.as_str()).details(
            serde_json::json!({"change": "duo_integration_added", "ikey": integration.ikey, "name": integration.name}),
        );
        self.audit_or_log(event).await;
        Ok(DuoIntegrationView::of(&integration, Some(skey)))
    }

    /// The tenant's Duo-compatible integrations (never their secret keys).
    pub async fn duo_integrations(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<DuoIntegrationView>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = crate::admin::page(after, limit)?;
        let rows = self.store.duo_integrations(&tenant.id, &page).await?;
        let views = rows.iter().map(|i| DuoIntegrationView::of(i, None)).collect();
        Ok(crate::admin::listing(views, &page, |v| v.name.clone()))
    }

    /// Remove one of the tenant's integrations; its keys stop working at once.
    pub async fn delete_duo_integration(&self, domain: &str, ikey: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        if !self.store.delete_duo_integration(&tenant.id, ikey).await? {
            return Err(CoreError::NotFound(Entity::DuoIntegration));
        }
        let event = AuditEvent::new(AuditKind::AdminChange)
            .tenant_id(&tenant.id)
            .tenant(tenant.domain.as_str())
            .details(serde_json::json!({"change": "duo_integration_removed", "ikey": ikey}));
        self.audit_or_log(event).await;
        Ok(())
    }

    /// The integration of `ikey`, with its tenant and opened secret key.
    pub async fn duo_caller(&self, ikey: &str) -> Result<Option<DuoCaller>, CoreError> {
        let Some(integration) = self.store.duo_integration(ikey).await? else { return Ok(None) };
        let Some(tenant) = self.store.tenant_by_id(&integration.tenant_id).await? else { return Ok(None) };
        let skey = self.sealer.open(&integration.skey_sealed)?;
        Ok(Some(DuoCaller { integration, tenant, skey }))
    }

    /// `user_ref` (`userID@domain`) of `tenant`, whatever its status.
    pub async fn account_user(&self, tenant: &Tenant, user_ref: &str) -> Result<crate::user::User, CoreError> {
        let r = crate::user::UserRef::parse(user_ref)?;
        if r.domain != tenant.domain {
            return Err(CoreError::NotFound(Entity::User));
        }
        self.user_in(tenant, r.user_id.as_str()).await
    }

    /// Where the activation a QR payload names stands, for user `user_pk` of `tenant`:
    /// `success` (the authenticator is activated), `waiting`, or `invalid` (unknown,
    /// another user's, expired, burned).
    pub async fn activation_state_for(
        &self,
        tenant: &Tenant,
        user_pk: &str,
        qr_payload: &str,
    ) -> Result<&'static str, CoreError> {
        use crate::device::ActivationState;
        let Some(payload) = countersign_proto::messages::QrPayload::parse(qr_payload) else { return Ok("invalid") };
        let Some(a) = self.store.activation(&payload.activation_id).await? else { return Ok("invalid") };
        if a.tenant_id != tenant.id || a.user_pk != user_pk {
            return Ok("invalid");
        }
        Ok(match a.state {
            ActivationState::Completed => "success",
            ActivationState::Burned => "invalid",
            _ if self.clock.now() >= a.expires_at => "invalid",
            _ => "waiting",
        })
    }

    /// This core acting as Duo integration `ikey` (what the audit log names).
    pub fn as_duo_integration(&self, ikey: &str) -> Core {
        self.acting(Actor::DuoIntegration(ikey.to_owned()))
    }
}
