//! Push through Web Push (docs/delivery.md, "Push messages per platform"): the push
//! reference encrypted for the browser's subscription ([`crate::webpush`]) and posted
//! to its push service with the app's VAPID signature.

use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine;
use countersign_core::Clock;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::{Channel, Resolved};

use super::{self as webpush, VapidKey};
use crate::{Http, SendError, Sender, classify};

/// Sends push references to browsers' push services.
pub struct WebPushSender {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl WebPushSender {
    /// A sender over `http`, dating VAPID tokens with `clock`.
    pub fn new(http: &Http, clock: &Arc<dyn Clock>) -> WebPushSender {
        WebPushSender { http: http.client.clone(), clock: clock.clone() }
    }
}

#[async_trait]
impl Sender for WebPushSender {
    fn channel(&self) -> Channel {
        Channel::WebPush
    }

    /// Encrypt the reference for the subscription and post it with a VAPID signature.
    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::WebPush { config, vapid_private_key, subscription } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        let sub = webpush::parse_subscription(subscription)
            .map_err(|e| SendError::permanent(format!("the Web Push subscription is not usable: {e}")).caused_by(e))?;
        let key = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(vapid_private_key.expose())
            .ok()
            .and_then(|b| VapidKey::from_bytes(&b).ok())
            .ok_or_else(|| SendError::permanent("the stored VAPID key is damaged"))?;
        let body = webpush::encrypt_random(m.payload.as_bytes(), &sub)
            .map_err(|e| SendError::permanent(e.to_string()).caused_by(e))?;
        let now = self.clock.now();
        let auth = webpush::vapid_authorization(&sub.endpoint, &config.subject, &key, now.millis() / 1000)
            .map_err(|e| SendError::permanent(e.to_string()).caused_by(e))?;
        let ttl = ((m.deadline.millis() - now.millis()) / 1000).max(0);
        let resp = self
            .http
            .post(&sub.endpoint)
            .header("content-encoding", "aes128gcm")
            .header("content-type", "application/octet-stream")
            .header("ttl", ttl.to_string())
            .header("urgency", "high")
            .header("authorization", auth)
            .body(body)
            .send()
            .await
            .map_err(|e| SendError::unreachable("Web Push service", e))?;
        match resp.status().as_u16() {
            404 => Err(SendError::TokenGone {
                message: "the Web Push service answered 404: subscription gone".into(),
                status: Some(404),
            }),
            _ => classify(resp.status(), "the Web Push service"),
        }
    }
}
