//! The audit log: [`AuditStore`].

use async_trait::async_trait;

use super::StoreError;
use crate::audit::{AuditEntry, AuditHead, AuditQuery, AuditRecord};
use crate::clock::Timestamp;

/// The audit log's one hash chain (docs/security.md, "Audit log"). Appends are
/// serialized through the chain's head row, so concurrent appenders — on one node or on
/// several sharing PostgreSQL — make one chain with no fork: each append takes the head
/// (an update, which waits for any other append in progress to commit), numbers its
/// entry after it, hashes it with the head's hash, inserts it and moves the head, in one
/// transaction.
///
/// The methods of other aggregates that append an entry with their own change
/// (`insert_session`, `finish_session`, `claim_qr_login`) do it last in their
/// transaction, so the head is held only until their commit.
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Append `records`, in order, in one transaction. A record's missing tenant ID,
    /// tenant domain or userID is filled in from the tenant and user tables.
    async fn append_audit(&self, records: &[AuditRecord]) -> Result<(), StoreError>;
    /// Entries matching `query`, in seq order.
    async fn audit_entries(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError>;
    /// The chain's head.
    async fn audit_head(&self) -> Result<AuditHead, StoreError>;
    /// Remove up to `limit` of the oldest entries dated before `before` (only from the
    /// start of the chain: the first entry at or after `before` stops it), moving the
    /// chain's base to the last one removed; how many.
    async fn purge_audit_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
