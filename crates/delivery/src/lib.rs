//! Push delivery. A push carries only `{"requestID", "deviceID"}`; the device fetches
//! the details over the mobile API.
//!
//! Channels here: `poll` (nothing is sent; the device asks) and `webhook` (an HTTP POST
//! of the reference to the URL the device registered). FCM, APNs and Web Push, and the
//! durable outbox with retries, come with the delivery work (issue 4): until then a
//! failed webhook is logged and the device can still poll.

use std::time::Duration;

use async_trait::async_trait;
use countersign_core::device::Device;
use countersign_core::push::{PushMessage, PushSender};

/// Sends pushes over the channel each device registered.
#[derive(Debug, Clone)]
pub struct Channels {
    http: reqwest::Client,
}

impl Channels {
    /// Channels with a 10-second timeout per webhook call.
    pub fn new() -> Result<Channels, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Channels { http })
    }
}

#[async_trait]
impl PushSender for Channels {
    async fn send(&self, device: &Device, push: &PushMessage) -> Result<(), String> {
        match (device.push_platform.as_deref(), device.push_token.as_deref()) {
            (None | Some("poll"), _) => Ok(()),
            (Some("webhook"), Some(url)) => {
                let body = serde_json::json!({"requestID": push.request_id, "deviceID": push.device_id});
                let resp = self.http.post(url).json(&body).send().await.map_err(|e| format!("webhook: {e}"))?;
                if resp.status().is_success() { Ok(()) } else { Err(format!("webhook answered {}", resp.status())) }
            }
            (Some(other), _) => Err(format!("push platform {other} is not available yet; the device can poll")),
        }
    }
}
