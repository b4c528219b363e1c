//! Request-limit counters: [`LimitStore`], one fixed-window counter per bucket
//! (docs/security.md, "Request limits").

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;

/// A request counted in its bucket's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    /// Requests counted in this bucket's window, this one included.
    pub count: u32,
    /// When the window ends (Unix ms): the next window starts afresh.
    pub window_ends: Timestamp,
}

/// Fixed-window request counters, shared by every node on the database.
#[async_trait]
pub trait LimitStore: Send + Sync {
    /// Count one request in `bucket`'s window starting at `window_start` (ending at
    /// `window_ends`), in one statement (an upsert that increments and returns the
    /// count), so that concurrent requests on any number of nodes each get a distinct
    /// count: with a budget of `k`, exactly `k` of them see a count of at most `k`.
    async fn count_hit(&self, bucket: &str, window_start: Timestamp, window_ends: Timestamp)
    -> Result<Hit, StoreError>;
    /// Remove at most `limit` counters whose window ended at or before `now`, oldest
    /// first; how many were removed.
    async fn purge_limits_before(&self, now: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
