//! Tenant configuration: [`ConfigStore`].

use async_trait::async_trait;

use super::{SealedConfig, StoreError};
use crate::clock::Timestamp;

/// Configuration, written by the admin API and read on most requests: push apps (not
/// tied to a tenant), and per tenant its callback settings, messaging providers,
/// authentication types and FIDO relying party. Secrets are sealed by the core before
/// they reach the store ([`SealedConfig`]); value objects are JSON the core owns.
#[async_trait]
pub trait ConfigStore: Send + Sync {
    /// The tenant's callback settings, if ever set.
    async fn callback_config(
        &self,
        tenant_id: &str,
    ) -> Result<Option<crate::delivery::callbacks::StoredCallbacks>, StoreError>;
    /// Replace the tenant's callback settings.
    async fn set_callback_config(
        &self,
        tenant_id: &str,
        config: &crate::delivery::callbacks::StoredCallbacks,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// A push app's configuration.
    async fn push_app(&self, app_id: &str) -> Result<Option<SealedConfig>, StoreError>;
    /// A page of the push apps' configurations, by app ID.
    async fn push_apps(&self, page: &super::Page) -> Result<Vec<(String, SealedConfig)>, StoreError>;
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
    /// A page of a tenant's own authentication types, (name, settings) by name.
    async fn auth_types(&self, tenant_id: &str, page: &super::Page) -> Result<Vec<(String, String)>, StoreError>;
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
