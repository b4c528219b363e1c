//! Access keys: API keys per tenant, admin tokens, the bootstrap token, and who presents
//! a key.

use serde::Deserialize;
use utoipa::ToSchema;

use super::{Listing, TOUCH_INTERVAL_MS, listing, page};
use crate::access::{AccessKey, AccessKind, Credential, NewCredential};
use crate::error::{CoreError, Entity};
use crate::service::Core;
use crate::{access, random, validate};

/// Input of `POST …/api-keys` and `POST /admin/v1/admin-tokens`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateKey {
    /// A name to tell keys apart.
    #[schema(example = "web")]
    pub name: String,
}

impl Core {
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

    /// A page of the tenant's API keys by ID, revoked ones included.
    pub async fn list_api_keys(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<AccessKey>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = page(after, limit)?;
        let rows = self.store.list_access_keys(AccessKind::ApiKey, Some(&tenant.id), &page).await?;
        Ok(listing(rows, &page, |k| k.id.clone()))
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

    /// A page of the admin tokens by ID, revoked ones included.
    pub async fn list_admin_tokens(
        &self,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<AccessKey>, CoreError> {
        let page = page(after, limit)?;
        let rows = self.store.list_access_keys(AccessKind::AdminToken, None, &page).await?;
        Ok(listing(rows, &page, |k| k.id.clone()))
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
        if !self.store.bootstrap_admin_token(&key.record).await? {
            return Ok(None);
        }
        let details = serde_json::json!({ "action": "admin_token_created", "token": key.record.id, "bootstrap": true });
        self.audit_or_log(crate::audit::AuditEvent::new(crate::audit::AuditKind::AdminChange).details(details)).await;
        Ok(Some(key))
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
}
