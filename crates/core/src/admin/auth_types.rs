//! Authentication types through the admin API (docs/otp.md): list a tenant's types with
//! the built-in ones, define or replace one, delete one.

use std::collections::BTreeMap;

use super::{Listing, listing, page};
use crate::error::{CoreError, Refusal};
use crate::otp::{AuthType, AuthTypeView};
use crate::refusal::RefusalCode;
use crate::service::Core;

impl Core {
    /// A page of the tenant's types, built-in (as adjusted) and its own, by name (admin API).
    ///
    /// The listing merges two sources: the built-in types (a fixed handful) and the
    /// tenant's rows. The first `n` names after `after` are among the built-in ones after
    /// it and the tenant's first `n` rows after it, so one page of rows is enough.
    pub async fn auth_types(
        &self,
        domain: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Listing<AuthTypeView>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let page = page(after, limit)?;
        let from = page.after.clone().unwrap_or_default();
        let mut merged = BTreeMap::new();
        for name in AuthType::BUILTIN.iter().filter(|n| **n > from.as_str()) {
            let settings = AuthType::builtin(name).ok_or_else(|| CoreError::Internal("builtin".into()))?;
            merged.insert(
                (*name).to_owned(),
                AuthTypeView { name: (*name).to_owned(), builtin: true, customised: false, settings },
            );
        }
        for (name, doc) in self.store.auth_types(&tenant.id, &page).await? {
            let settings: AuthType =
                serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged authentication type".into()))?;
            let builtin = AuthType::builtin(&name).is_some();
            merged.insert(name.clone(), AuthTypeView { name, builtin, customised: true, settings });
        }
        let rows: Vec<AuthTypeView> = merged.into_values().take(page.limit as usize).collect();
        Ok(listing(rows, &page, |v| v.name.clone()))
    }

    /// Create or replace a type (admin API).
    pub async fn set_auth_type(&self, domain: &str, name: &str, t: AuthType) -> Result<AuthTypeView, CoreError> {
        let tenant = self.tenant(domain).await?;
        t.validate(name)?;
        if let Some(f) = &t.fallback {
            let target = self.auth_type(&tenant, f).await?;
            if !target.is_some_and(|ft| ft.method.is_code()) {
                return Err(CoreError::invalid("fallback", "the fallback must name an SMS, e-mail or voice type"));
            }
        }
        let doc = serde_json::to_string(&t).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.set_auth_type(&tenant.id, name, &doc, self.clock.now()).await?;
        self.config_changed(&tenant.id).await;
        let builtin = AuthType::builtin(name).is_some();
        Ok(AuthTypeView { name: name.to_owned(), builtin, customised: true, settings: t })
    }

    /// Remove a tenant's type (a built-in one returns to its defaults).
    pub async fn delete_auth_type(&self, domain: &str, name: &str) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        if self.store.delete_auth_type(&tenant.id, name).await? {
            self.config_changed(&tenant.id).await;
            Ok(())
        } else {
            Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::AuthTypeNotFound,
                "no such tenant-defined type",
            ))
        }
    }

    /// Tenant `tenant_id`'s cached configuration changed: forget it here, and have the
    /// other nodes forget it (a failed announcement is logged: they would keep the old
    /// types until their listening connection is renewed).
    pub(crate) async fn config_changed(&self, tenant_id: &str) {
        self.config_cache.forget_tenant(tenant_id);
        if let Err(e) = self.store.announce_config_change(tenant_id).await {
            tracing::warn!(tenant = %tenant_id, error = %crate::session::cause(&e),
                "could not tell the other nodes that authentication types changed");
        }
    }
}
