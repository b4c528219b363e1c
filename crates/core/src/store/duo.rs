//! Duo-compatible integrations of tenants: [`DuoStore`] (docs/duo.md, "Integrations").

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::duo::DuoIntegration;

/// The `duo_integrations` table.
#[async_trait]
pub trait DuoStore: Send + Sync {
    /// Add an integration. `Conflict` when its integration key or its name in the tenant
    /// is taken.
    async fn insert_duo_integration(&self, integration: &DuoIntegration) -> Result<(), StoreError>;
    /// The integration with this integration key.
    async fn duo_integration(&self, ikey: &str) -> Result<Option<DuoIntegration>, StoreError>;
    /// A page of the tenant's integrations, by name.
    async fn duo_integrations(&self, tenant_id: &str, page: &Page) -> Result<Vec<DuoIntegration>, StoreError>;
    /// Remove one of the tenant's integrations; whether it existed.
    async fn delete_duo_integration(&self, tenant_id: &str, ikey: &str) -> Result<bool, StoreError>;
}
