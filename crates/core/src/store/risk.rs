//! The risk data: [`RiskStore`].

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;

/// The risk engine's memory: each tenant's rules, each user's learned profile, what a
/// pending challenge will teach when passed, and failed logins counted for velocity.
#[async_trait]
pub trait RiskStore: Send + Sync {
    /// A tenant's risk settings (JSON), if set.
    async fn risk_rules(&self, tenant_id: &str) -> Result<Option<String>, StoreError>;
    /// Create or replace a tenant's risk settings.
    async fn set_risk_rules(&self, tenant_id: &str, rules: &str, at: Timestamp) -> Result<(), StoreError>;
    /// A user's learned risk profile (JSON), if any.
    async fn risk_profile(&self, user_pk: &str) -> Result<Option<String>, StoreError>;
    /// Create or replace a user's risk profile.
    async fn set_risk_profile(
        &self,
        tenant_id: &str,
        user_pk: &str,
        profile: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Remember what the challenge `request_id` teaches if passed (replacing any).
    async fn insert_risk_pending(
        &self,
        request_id: &str,
        tenant_id: &str,
        learn: &str,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// What the challenge `request_id` teaches if passed, if recorded.
    async fn risk_pending(&self, request_id: &str) -> Result<Option<String>, StoreError>;
    /// Remove and return what the challenge `request_id` teaches (at most one caller gets it).
    async fn take_risk_pending(&self, request_id: &str) -> Result<Option<String>, StoreError>;
    /// Forget pending challenges made before `before`; how many.
    async fn delete_risk_pending_before(&self, before: Timestamp) -> Result<u64, StoreError>;
    /// Log a failed login for velocity.
    async fn record_failure(
        &self,
        id: &str,
        tenant_id: &str,
        user_pk: Option<&str>,
        ip: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Failed logins of a user since `since`.
    async fn user_failures_since(&self, user_pk: &str, since: Timestamp) -> Result<u32, StoreError>;
    /// Failed logins from an address in a tenant since `since`.
    async fn ip_failures_since(&self, tenant_id: &str, ip: &str, since: Timestamp) -> Result<u32, StoreError>;
    /// Retention: remove up to `limit` failed logins recorded before `before`, oldest
    /// first; how many.
    async fn delete_failures_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
