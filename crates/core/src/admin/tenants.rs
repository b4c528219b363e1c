//! Tenants: create, read, list, change settings, delete.

use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::{Listing, conflict_as, listing, page};
use crate::error::{CoreError, Entity};
use crate::random;
use crate::service::Core;
use crate::tenant::{Domain, Tenant, TenantSettings};

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
}
