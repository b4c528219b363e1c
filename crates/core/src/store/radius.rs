//! RADIUS clients (NAS) of tenants: [`RadiusStore`] (docs/radius.md, "Clients").

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::radius::RadiusClient;

/// The `radius_clients` table.
#[async_trait]
pub trait RadiusStore: Send + Sync {
    /// Add a client. `Conflict` when the tenant has one of that name.
    async fn insert_radius_client(&self, client: &RadiusClient) -> Result<(), StoreError>;
    /// A page of the tenant's clients, by name.
    async fn radius_clients(&self, tenant_id: &str, page: &Page) -> Result<Vec<RadiusClient>, StoreError>;
    /// Every tenant's clients (to find the one a datagram's source address names, and
    /// to refuse a network that overlaps another client's). Unbounded on purpose: a
    /// source address must be matched against every client, never the first thousand.
    async fn all_radius_clients(&self) -> Result<Vec<RadiusClient>, StoreError>;
    /// Remove one of the tenant's clients; whether it existed.
    async fn delete_radius_client(&self, tenant_id: &str, id: &str) -> Result<bool, StoreError>;
}
