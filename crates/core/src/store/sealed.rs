//! Sealed values wherever they are stored: [`SealedStore`], for master-key rotation
//! (docs/security.md, "Keys and rotation").

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;

/// A column that holds values sealed under the master keyring. Every column written
/// with [`Sealer::seal`](crate::seal::Sealer::seal) is listed here, so that a rotation
/// re-seals it and retiring a key checks it (an end-to-end test scans every text column
/// of every table for values left under an old key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `push_apps.sealed`: push credentials of an app (FCM, APNs, VAPID keys).
    PushApps,
    /// `tenant_providers.sealed`: a tenant's SMS and e-mail provider credentials.
    TenantProviders,
    /// `tenant_callbacks.config`: JSON holding the sealed callback signing secret and
    /// the allowlist entries' sealed passwords.
    TenantCallbacks,
    /// `outbox.payload`: SMS, e-mail and voice messages, sealed (other kinds are plain
    /// JSON and are left alone).
    Outbox,
    /// `session_codes.custom_code`: the code of a custom-delivery session.
    SessionCodes,
    /// `tokens.secret`: OATH token seeds.
    Tokens,
    /// `activations.qr_sealed`: the QR payload of a pending activation.
    Activations,
    /// `radius_clients.secret`: a RADIUS client's shared secret.
    RadiusClients,
    /// `duo_integrations.skey`: a Duo-compatible integration's secret key.
    DuoIntegrations,
}

impl SealedColumn {
    /// Every sealed column.
    pub const ALL: [SealedColumn; 9] = [
        SealedColumn::PushApps,
        SealedColumn::TenantProviders,
        SealedColumn::TenantCallbacks,
        SealedColumn::Outbox,
        SealedColumn::SessionCodes,
        SealedColumn::Tokens,
        SealedColumn::Activations,
        SealedColumn::RadiusClients,
        SealedColumn::DuoIntegrations,
    ];

    /// `table.column`, for reports.
    pub fn name(self) -> &'static str {
        match self {
            SealedColumn::PushApps => "push_apps.sealed",
            SealedColumn::TenantProviders => "tenant_providers.sealed",
            SealedColumn::TenantCallbacks => "tenant_callbacks.config",
            SealedColumn::Outbox => "outbox.payload",
            SealedColumn::SessionCodes => "session_codes.custom_code",
            SealedColumn::Tokens => "tokens.secret",
            SealedColumn::Activations => "activations.qr_sealed",
            SealedColumn::RadiusClients => "radius_clients.secret",
            SealedColumn::DuoIntegrations => "duo_integrations.skey",
        }
    }

    /// Whether the column is JSON with sealed strings inside, rather than one sealed value.
    pub fn is_json(self) -> bool {
        self == SealedColumn::TenantCallbacks
    }
}

/// One row's key and sealed column value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    /// The row's primary key.
    pub key: String,
    /// The column's value.
    pub value: String,
}

/// Reading and replacing sealed values across tables, for re-sealing under a new key.
#[async_trait]
pub trait SealedStore: Send + Sync {
    /// Up to `limit` rows of `column` whose key is after `after` (`""`: from the start),
    /// in key order, whose value may hold a value sealed under another key than the
    /// current one: a value beginning `v1.` or `v2.` but not `current` (the current key's
    /// prefix); for a JSON column, one with a JSON string beginning `v1.` or `v2.`
    /// anywhere (`current` is not applied).
    async fn sealed_rows(
        &self,
        column: SealedColumn,
        current: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<SealedRow>, StoreError>;

    /// Set row `key`'s value of `column` to `new` if it is still `old` (a conditional
    /// update: a value written meanwhile is never overwritten); whether it was.
    async fn replace_sealed(&self, column: SealedColumn, key: &str, old: &str, new: &str) -> Result<bool, StoreError>;

    /// The hashes of codes still usable at `now` — of pending code sessions and pending
    /// activations — that do not begin with `current` (the current key's code-hash
    /// prefix), with when each stops being usable.
    async fn live_code_hashes(&self, now: Timestamp, current: &str) -> Result<Vec<(String, Timestamp)>, StoreError>;
}
