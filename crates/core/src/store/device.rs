//! Activations, devices and nonces: [`DeviceStore`].

use async_trait::async_trait;

use super::StoreError;
use crate::clock::Timestamp;
use crate::device::{Activation, ActivationState, Device, DeviceState};

/// Enrolment and devices: activations (one-time enrolment codes), the devices they
/// create, the devices' push channels and PIN counters, and request nonces.
#[async_trait]
pub trait DeviceStore: Send + Sync {
    /// Insert an activation.
    async fn insert_activation(&self, activation: &Activation) -> Result<(), StoreError>;
    /// The activation with this id.
    async fn activation(&self, id: &str) -> Result<Option<Activation>, StoreError>;
    /// Count a wrong code on a `Pending` activation, burning it at `max`; the new count
    /// and state, or `None` when it was not `Pending`.
    async fn activation_wrong_code(&self, id: &str, max: u32) -> Result<Option<(u32, ActivationState)>, StoreError>;
    /// Move an activation from `from` to `to` (setting `nonce` when given); `false` when
    /// it was not in `from`.
    async fn activation_transition(
        &self,
        id: &str,
        from: ActivationState,
        to: ActivationState,
        nonce: Option<&str>,
    ) -> Result<bool, StoreError>;
    /// Insert a device.
    async fn insert_device(&self, device: &Device) -> Result<(), StoreError>;
    /// The device with this id.
    async fn device(&self, id: &str) -> Result<Option<Device>, StoreError>;
    /// Every device of a user in any state, oldest first. Unbounded on purpose: a push
    /// goes to all of a user's active devices and activation checks them all; a user has
    /// a handful. The admin listing pages with [`DeviceStore::list_user_devices`].
    async fn user_devices(&self, user_pk: &str) -> Result<Vec<Device>, StoreError>;
    /// A page of a user's devices in any state, by ID.
    async fn list_user_devices(&self, user_pk: &str, page: &super::Page) -> Result<Vec<Device>, StoreError>;
    /// Move a device from `from` to `to`; `false` when it was not in `from`.
    async fn device_transition(
        &self,
        id: &str,
        from: DeviceState,
        to: DeviceState,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Activate a pending device as the user's only active device of its app (the
    /// single enrollment mode): `Conflict` when another device activated so is active
    /// (a unique index decides between concurrent confirmations); `false` when it was
    /// not pending.
    async fn activate_single_device(&self, id: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Disconnect the user's other pending or active devices of `app_id`; how many.
    async fn disconnect_other_devices(
        &self,
        user_pk: &str,
        app_id: &str,
        except_id: &str,
        at: Timestamp,
    ) -> Result<u64, StoreError>;
    /// Record the device's push channel.
    async fn set_device_push(
        &self,
        id: &str,
        platform: &str,
        token: Option<&str>,
        app_version: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError>;
    /// Delete one of a user's devices; `false` when there was none.
    async fn delete_device(&self, user_pk: &str, id: &str) -> Result<bool, StoreError>;
    /// Rename one of a user's devices; `false` when there was none.
    async fn rename_device(&self, user_pk: &str, id: &str, name: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Record a request nonce for a device (one insert against the primary key); `false`
    /// when the nonce was used already (a replay).
    async fn use_device_nonce(&self, device_id: &str, nonce: &str, at: Timestamp) -> Result<bool, StoreError>;
    /// Housekeeping: forget up to `limit` nonces of any device used before `before`,
    /// oldest first (index `device_nonces_by_use`); how many.
    async fn delete_device_nonces_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
    /// Forget a device's push channel (its token was refused for good).
    async fn clear_device_push(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Retention: remove up to `limit` activations that expired before `before` (used,
    /// burned or never used), oldest first; how many.
    async fn delete_activations_before(&self, before: Timestamp, limit: u32) -> Result<u64, StoreError>;
}
