//! The operations behind the admin and integration APIs and the `admin` subcommand.
//!
//! Each takes wire-shaped input, validates it (naming the field at fault), applies it
//! through the [`Store`](crate::Store), and returns the domain record. Handlers stay thin: extract,
//! call one of these, map the result.
//!
//! - `tenants`, `users`, `keys`: the admin API's records;
//! - `outbox`: listing and retrying messages;
//! - `account`: a user's account state (integration API);
//! - `admin_accounts`: the console's administrator accounts;
//! - `rotation`: re-sealing stored secrets under a new master key, and what old keys still hold.

mod account;
mod admin_accounts;
mod auth_types;
mod callbacks;
mod keys;
mod outbox;
mod rotation;
mod tenants;
mod users;

pub use account::{AccountState, AuthenticatorSummary};
pub use admin_accounts::{AdminAccountView, CreateAdminAccount};
pub use keys::CreateKey;
pub use rotation::{OldKeyUse, RESEAL_BATCH, Resealed};
pub use tenants::{CreateTenant, UpdateTenant};
pub use users::{CreateUser, UpdateUser};

use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{CoreError, Entity};
use crate::store::{Page, StoreError};

/// Largest page a listing returns.
pub const MAX_PAGE: u32 = 500;
/// Page size when the caller does not say.
pub const DEFAULT_PAGE: u32 = 100;
/// `last_used_at` is refreshed at most this often per key.
pub const TOUCH_INTERVAL_MS: i64 = 60_000;

/// A page of results and where the next one starts.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Listing<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `null` on the last page.
    pub next_after: Option<String>,
}

pub(crate) fn page(after: Option<String>, limit: Option<u32>) -> Result<Page, CoreError> {
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    if !(1..=MAX_PAGE).contains(&limit) {
        return Err(CoreError::invalid("limit", format!("limit must be between 1 and {MAX_PAGE}")));
    }
    // Ask for one more row than shown, to know whether another page follows.
    Ok(Page { after, limit: limit + 1 })
}

/// The two parts of a cursor `first:second` (listings ordered by two keys: the outbox by
/// time and ID, UAF registrations by AAID and key ID), split at the last `:`; neither
/// key can hold one. `422` naming `after` when it is not such a cursor.
pub(crate) fn cursor_pair(after: &str) -> Result<(&str, &str), CoreError> {
    after
        .rsplit_once(':')
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .ok_or_else(|| CoreError::invalid("after", "after must be the nextAfter of a previous page"))
}

/// A listing of `(key, item)` rows, fetched for `page`, as items with the key as cursor.
pub(crate) fn keyed_listing<T>(rows: Vec<(String, T)>, page: &Page) -> Listing<T> {
    let l = listing(rows, page, |(k, _)| k.clone());
    Listing { items: l.items.into_iter().map(|(_, t)| t).collect(), next_after: l.next_after }
}

pub(crate) fn listing<T>(mut rows: Vec<T>, page: &Page, key: impl Fn(&T) -> String) -> Listing<T> {
    let shown = (page.limit - 1) as usize;
    let more = rows.len() > shown;
    rows.truncate(shown);
    let next_after = if more { rows.last().map(key) } else { None };
    Listing { items: rows, next_after }
}

fn conflict_as(entity: Entity) -> impl Fn(StoreError) -> CoreError {
    move |e| match e {
        StoreError::Conflict => CoreError::Exists(entity),
        StoreError::NotFound => CoreError::NotFound(entity),
        other => CoreError::Store(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_cuts_and_points_to_next() {
        let page = Page { after: None, limit: 3 };
        let l = listing(vec![1, 2, 3], &page, |n| n.to_string());
        assert_eq!(l.items, vec![1, 2]);
        assert_eq!(l.next_after.as_deref(), Some("2"));
        let l = listing(vec![1, 2], &page, |n| n.to_string());
        assert_eq!(l.next_after, None);
        let l = keyed_listing(vec![("a".to_owned(), 1), ("b".to_owned(), 2), ("c".to_owned(), 3)], &page);
        assert_eq!((l.items, l.next_after.as_deref()), (vec![1, 2], Some("b")));
    }

    #[test]
    fn a_two_part_cursor_splits_at_its_last_colon() {
        assert_eq!(cursor_pair("ABCD#0001:a2V5").unwrap(), ("ABCD#0001", "a2V5"));
        assert_eq!(cursor_pair("1800000000000:0b9c").unwrap(), ("1800000000000", "0b9c"));
        for bad in ["", "nocolon", ":x", "x:"] {
            assert!(matches!(cursor_pair(bad), Err(CoreError::Invalid { ref field, .. }) if field == "after"), "{bad}");
        }
    }
}
