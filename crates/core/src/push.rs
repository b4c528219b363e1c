//! The delivery interface for pushes. A push carries only a reference (request ID and
//! device ID); implementations live in `countersign-delivery`.

use async_trait::async_trait;

use crate::device::Device;

/// A reference to a login request, pushed to one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    /// The login request.
    pub request_id: String,
    /// The device it is for.
    pub device_id: String,
}

/// Sends pushes to devices.
#[async_trait]
pub trait PushSender: Send + Sync {
    /// Deliver `push` to `device` over its registered channel. `poll` devices need
    /// nothing sent. Errors are described for the log.
    async fn send(&self, device: &Device, push: &PushMessage) -> Result<(), String>;
}

/// A sender for deployments where every device polls.
#[derive(Debug, Default, Clone, Copy)]
pub struct PollOnly;

#[async_trait]
impl PushSender for PollOnly {
    async fn send(&self, device: &Device, _push: &PushMessage) -> Result<(), String> {
        match device.push_platform.as_deref() {
            None | Some("poll") => Ok(()),
            Some(other) => Err(format!("no sender for push platform {other}")),
        }
    }
}
