//! Administrator accounts of the console (`/admin/v1/admin-accounts`): create with a
//! password and a role, list, delete. The password is hashed with Argon2id on the
//! hashing pool (`Core::hasher`) and never shown again.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Listing, listing, page};
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity};
use crate::service::Core;
use crate::store::StoreError;
use crate::web::console::{AdminAccount, AdminRole};

/// Input of `POST /admin/v1/admin-accounts`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAdminAccount {
    /// The name it signs in with: 1–64 of `A-Z a-z 0-9 . _ @ -`.
    #[schema(example = "root")]
    pub username: String,
    /// Its password, 12–256 characters.
    pub password: String,
    /// `superadmin` (every tenant), `tenant_admin` (one tenant: `tenant`) or `read_only`
    /// (changes nothing; one tenant when `tenant` is given, else all).
    pub role: AdminRole,
    /// The tenant (domain) of a `tenant_admin` or a one-tenant `read_only` account.
    #[serde(default)]
    #[schema(example = "example.com")]
    pub tenant: Option<String>,
}

/// An administrator account as the admin API shows it (never its password or hash).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AdminAccountView {
    /// The name it signs in with.
    pub username: String,
    /// Its role.
    pub role: AdminRole,
    /// Its tenant's domain, for a one-tenant role.
    pub tenant: Option<String>,
    /// `active` or `disabled`.
    pub status: &'static str,
    /// Until when wrong passwords have locked it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub locked_until: Option<Timestamp>,
    /// When it was made.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

fn check_username(u: &str) -> Result<(), CoreError> {
    let ok = !u.is_empty()
        && u.len() <= 64
        && u.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'));
    if ok { Ok(()) } else { Err(CoreError::invalid("username", "1 to 64 of A-Z, a-z, 0-9, '.', '_', '@' and '-'")) }
}

fn check_password(p: &str) -> Result<(), CoreError> {
    let n = p.chars().count();
    if (12..=256).contains(&n) { Ok(()) } else { Err(CoreError::invalid("password", "12 to 256 characters")) }
}

impl Core {
    async fn admin_account_view(&self, a: &AdminAccount) -> Result<AdminAccountView, CoreError> {
        let tenant = match &a.tenant_id {
            Some(id) => self.store.tenant_by_id(id).await?.map(|t| t.domain.to_string()),
            None => None,
        };
        Ok(AdminAccountView {
            username: a.username.clone(),
            role: a.role,
            tenant,
            status: if a.active { "active" } else { "disabled" },
            locked_until: a.locked_until.filter(|t| *t > self.clock.now()),
            created_at: a.created_at,
        })
    }

    /// Create an administrator account.
    pub async fn create_admin_account(&self, input: CreateAdminAccount) -> Result<AdminAccountView, CoreError> {
        check_username(&input.username)?;
        check_password(&input.password)?;
        let tenant_id = match (input.role, input.tenant.as_deref()) {
            (AdminRole::Superadmin, Some(_)) => {
                return Err(CoreError::invalid("tenant", "a superadmin is for every tenant: leave tenant out"));
            }
            (AdminRole::TenantAdmin, None) => {
                return Err(CoreError::invalid("tenant", "a tenant_admin needs its tenant"));
            }
            (_, Some(domain)) => Some(self.tenant(domain).await.map_err(|e| match e {
                CoreError::NotFound(_) | CoreError::Invalid { .. } => CoreError::invalid("tenant", "no such tenant"),
                other => other,
            })?),
            (_, None) => None,
        };
        let password_hash = self.hasher.hash(&*self.random, &input.password).await?;
        let account = AdminAccount {
            id: crate::random::new_id(&*self.random)?,
            username: input.username,
            password_hash,
            role: input.role,
            tenant_id: tenant_id.map(|t| t.id),
            active: true,
            failures: 0,
            locked_until: None,
            created_at: self.clock.now(),
        };
        self.store.insert_admin_account(&account).await.map_err(|e| match e {
            StoreError::Conflict => CoreError::Exists(Entity::AdminAccount),
            other => other.into(),
        })?;
        self.admin_account_view(&account).await
    }

    /// A page of administrator accounts by username.
    pub async fn list_admin_accounts(
        &self,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<AdminAccountView>, CoreError> {
        let page = page(after, limit)?;
        let rows = self.store.list_admin_accounts(&page).await?;
        let mut views = Vec::with_capacity(rows.len());
        for a in &rows {
            views.push(self.admin_account_view(a).await?);
        }
        Ok(listing(views, &page, |v| v.username.clone()))
    }

    /// Delete an administrator account with its passkeys and console sessions.
    pub async fn delete_admin_account(&self, username: &str) -> Result<(), CoreError> {
        if self.store.delete_admin_account(username).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::AdminAccount))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_and_passwords_are_checked() {
        assert!(check_username("root").is_ok() && check_username("ops.admin@example.com").is_ok());
        for bad in ["", "with space", "x/y", &"a".repeat(65)] {
            assert!(check_username(bad).is_err(), "{bad}");
        }
        assert!(check_password("twelve chars").is_ok());
        assert!(check_password("short").is_err() && check_password(&"p".repeat(257)).is_err());
    }
}
