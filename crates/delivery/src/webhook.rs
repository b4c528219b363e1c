//! Push to a device's own webhook (docs/delivery.md, "Channels"): `POST` the push
//! reference to the URL the device registered, with the message ID.

use async_trait::async_trait;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::{Channel, Resolved};

use crate::{Http, SendError, Sender, classify};

/// Posts push references to device webhooks.
pub struct WebhookSender {
    http: reqwest::Client,
}

impl WebhookSender {
    /// A sender over `http`.
    pub fn new(http: &Http) -> WebhookSender {
        WebhookSender { http: http.client.clone() }
    }
}

#[async_trait]
impl Sender for WebhookSender {
    fn channel(&self) -> Channel {
        Channel::Webhook
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::Webhook { url } = to else { return Err(SendError::wrong_channel(self.channel())) };
        let resp = self
            .http
            .post(url)
            .header("content-type", "application/json")
            .header("x-cs-message-id", &m.id)
            .body(m.payload.clone())
            .send()
            .await
            .map_err(|e| SendError::unreachable("webhook", e))?;
        classify(resp.status(), "webhook")
    }
}
