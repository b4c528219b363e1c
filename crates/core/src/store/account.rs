//! Tenants, users and access keys: [`AccountStore`].

use async_trait::async_trait;

use super::{Page, StoreError};
use crate::access::{AccessKey, AccessKind};
use crate::clock::Timestamp;
use crate::tenant::{Domain, Tenant};
use crate::user::User;

/// Tenants, users, access keys, and the database itself (the account aggregate: a
/// tenant owns its users and keys; deleting one deletes what it owns).
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Run a trivial query: is the database reachable?
    async fn ping(&self) -> Result<(), StoreError>;
    /// Close connections, waiting for those in use to be returned.
    async fn close(&self);
    /// Apply the migrations this build embeds that the database lacks.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Insert a tenant; `Conflict` when the domain is taken.
    async fn insert_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// The tenant with this domain.
    async fn tenant_by_domain(&self, domain: &Domain) -> Result<Option<Tenant>, StoreError>;
    /// Tenants ordered by domain.
    async fn list_tenants(&self, page: &Page) -> Result<Vec<Tenant>, StoreError>;
    /// Replace a tenant's settings and `updated_at`; `NotFound` when gone.
    async fn update_tenant(&self, tenant: &Tenant) -> Result<(), StoreError>;
    /// Delete a tenant with its users and keys; `false` when it did not exist.
    async fn delete_tenant(&self, tenant_id: &str) -> Result<bool, StoreError>;
    /// The tenant with this internal id.
    async fn tenant_by_id(&self, tenant_id: &str) -> Result<Option<Tenant>, StoreError>;
    /// Insert a user; `Conflict` when the userID is taken in the tenant.
    async fn insert_user(&self, user: &User) -> Result<(), StoreError>;
    /// The user with this userID in the tenant.
    async fn user(&self, tenant_id: &str, user_id: &str) -> Result<Option<User>, StoreError>;
    /// The user with this internal id.
    async fn user_by_pk(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// A tenant's users ordered by userID.
    async fn list_users(&self, tenant_id: &str, page: &Page) -> Result<Vec<User>, StoreError>;
    /// Up to `limit` of a tenant's users whose userID starts with `prefix` (exactly, case
    /// included), ordered by userID.
    async fn search_users(&self, tenant_id: &str, prefix: &str, limit: u32) -> Result<Vec<User>, StoreError>;
    /// Replace a user's mutable fields; `NotFound` when gone.
    async fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// Delete a user; `false` when it did not exist.
    async fn delete_user(&self, tenant_id: &str, user_id: &str) -> Result<bool, StoreError>;
    /// Insert an access key; `Conflict` when its hash exists.
    async fn insert_access_key(&self, key: &AccessKey) -> Result<(), StoreError>;
    /// A page of the keys of one kind (and tenant, for API keys) by ID, revoked included.
    async fn list_access_keys(
        &self,
        kind: AccessKind,
        tenant_id: Option<&str>,
        page: &Page,
    ) -> Result<Vec<AccessKey>, StoreError>;
    /// Mark a key revoked at `at`; `false` when no such unrevoked key of that kind and tenant.
    async fn revoke_access_key(
        &self,
        kind: AccessKind,
        tenant_id: Option<&str>,
        id: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// The unrevoked key with this hash.
    async fn access_key_by_hash(&self, key_hash: &str) -> Result<Option<AccessKey>, StoreError>;
    /// The unrevoked key with this hash and, for an API key, its tenant — in one query,
    /// as every integration call needs both.
    async fn access_key_with_tenant(&self, key_hash: &str) -> Result<Option<(AccessKey, Option<Tenant>)>, StoreError>;
    /// Set `last_used_at = at` unless it was set after `at - min_interval_ms`.
    async fn touch_access_key(&self, id: &str, at: Timestamp, min_interval_ms: i64) -> Result<(), StoreError>;
    /// Insert `token` as the bootstrap admin token unless one was made before, in one
    /// transaction; `true` when this call made it.
    async fn bootstrap_admin_token(&self, token: &AccessKey) -> Result<bool, StoreError>;
}
