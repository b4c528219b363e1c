//! Activated mobile authenticators (devices) and the activations that create them.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::clock::Timestamp;

/// Where an activation stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationState {
    /// Waiting for the app to prove the code.
    Pending,
    /// Code proven; waiting for the instance's keys.
    CodeVerified,
    /// A device was created from it.
    Completed,
    /// Too many wrong codes.
    Burned,
}

impl ActivationState {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            ActivationState::Pending => "Pending",
            ActivationState::CodeVerified => "CodeVerified",
            ActivationState::Completed => "Completed",
            ActivationState::Burned => "Burned",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Pending, Self::CodeVerified, Self::Completed, Self::Burned].into_iter().find(|v| v.as_str() == s)
    }
}

/// An activation of a mobile authenticator for one user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activation {
    /// The activation ID (in the QR payload).
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user's internal id.
    pub user_pk: String,
    /// The one-time code's hash: [`Sealer::mac`](crate::seal::Sealer::mac) of
    /// `<activation id>:<code>`; `sha256.<hex>` (its SHA-256) for activations made
    /// before codes were hashed under the master key.
    pub code_hash: String,
    /// Where it stands.
    pub state: ActivationState,
    /// Wrong codes so far.
    pub attempts: u32,
    /// Server nonce handed out with the license data.
    pub nonce: Option<String>,
    /// The QR payload (it holds the code), sealed under the master key, kept only until
    /// the code is used or the activation burned, so the QR image can be fetched again
    /// meanwhile. Never stored in clear.
    pub qr_sealed: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// When it stops being usable.
    pub expires_at: Timestamp,
}

/// Wrong activation codes allowed before the activation is burned.
pub const MAX_ACTIVATION_ATTEMPTS: u32 = 5;

/// Where a device stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub enum DeviceState {
    /// Keys registered, not yet confirmed.
    Pending,
    /// Usable.
    Active,
    /// Cut off (too many wrong PINs, replaced, or removed); kept for the record.
    Disconnected,
}

impl DeviceState {
    /// The stored and wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Pending => "Pending",
            DeviceState::Active => "Active",
            DeviceState::Disconnected => "Disconnected",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Pending, Self::Active, Self::Disconnected].into_iter().find(|v| v.as_str() == s)
    }
}

/// An activated mobile authenticator instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// The device ID.
    #[serde(rename = "deviceID")]
    pub id: String,
    /// The tenant.
    #[serde(skip)]
    pub tenant_id: String,
    /// The user's internal id.
    #[serde(skip)]
    pub user_pk: String,
    /// The app's ID.
    #[serde(rename = "appID")]
    pub app_id: String,
    /// The app's version.
    pub app_version: String,
    /// A name for the device.
    pub name: Option<String>,
    /// Possession public key (SEC1, base64url).
    pub possession_key: String,
    /// PIN public key.
    pub pin_key: String,
    /// Biometric public key.
    pub biometric_key: Option<String>,
    /// Custom-authenticator public keys by name.
    pub custom_keys: BTreeMap<String, String>,
    /// Where it stands.
    pub state: DeviceState,
    /// Consecutive wrong PINs.
    pub pin_failures: u32,
    /// Push channel: `poll`, `webhook`, `fcm`, `apns`, `webpush`.
    pub push_platform: Option<String>,
    /// Push token, endpoint or webhook URL; never returned by the API.
    #[serde(skip)]
    pub push_token: Option<String>,
    /// When it was activated.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was last changed.
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
    /// The activation that made it (none for devices made before migration 25).
    #[serde(skip)]
    pub activation_id: Option<String>,
}
