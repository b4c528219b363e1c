//! What a node keeps in memory of what rarely changes (docs/architecture.md, "Caches"):
//! a tenant's authentication types, read by every login. An entry is dropped when its
//! tenant's types change — on this node at once, on other nodes through the store's
//! announcement (PostgreSQL `NOTIFY countersign_config_changed`) — and everything is
//! dropped when the listening connection was lost, since announcements may have been
//! missed meanwhile.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::otp::AuthType;

/// Most entries kept; past it the cache starts over (names come from requests, but only
/// names that exist are kept, so this bounds tenants × their types).
const MAX_ENTRIES: usize = 10_000;

/// Authentication types by (tenant ID, name).
#[derive(Default)]
pub struct ConfigCache {
    auth_types: Mutex<HashMap<(String, String), AuthType>>,
}

impl ConfigCache {
    /// The type `name` of tenant `tenant_id`, when kept.
    pub(crate) fn auth_type(&self, tenant_id: &str, name: &str) -> Option<AuthType> {
        let m = self.auth_types.lock().ok()?;
        m.get(&(tenant_id.to_owned(), name.to_owned())).cloned()
    }

    /// Keep type `name` of tenant `tenant_id` (as stored, or built in).
    pub(crate) fn keep_auth_type(&self, tenant_id: &str, name: &str, t: &AuthType) {
        if let Ok(mut m) = self.auth_types.lock() {
            if m.len() >= MAX_ENTRIES {
                m.clear();
            }
            m.insert((tenant_id.to_owned(), name.to_owned()), t.clone());
        }
    }

    /// Forget what is kept of tenant `tenant_id`.
    pub fn forget_tenant(&self, tenant_id: &str) {
        if let Ok(mut m) = self.auth_types.lock() {
            m.retain(|(t, _), _| t != tenant_id);
        }
    }

    /// Forget everything.
    pub fn clear(&self) {
        if let Ok(mut m) = self.auth_types.lock() {
            m.clear();
        }
    }

    /// How many entries are kept (tests).
    pub fn len(&self) -> usize {
        self.auth_types.lock().map(|m| m.len()).unwrap_or(0)
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
