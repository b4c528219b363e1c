//! Session-result callbacks (docs/delivery.md, "Channels"): `POST` the body to the
//! relying party's URL, signed with the tenant's secret over the timestamp and body,
//! with the allowlist entry's Basic credentials when it has some.

use std::sync::Arc;

use async_trait::async_trait;
use countersign_core::Clock;
use countersign_core::delivery::callbacks;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::{Channel, Resolved};

use crate::{Http, SendError, Sender, classify};

/// Posts signed session results to relying parties.
pub struct CallbackSender {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
}

impl CallbackSender {
    /// A sender over `http`, stamping requests with `clock`'s time.
    pub fn new(http: &Http, clock: &Arc<dyn Clock>) -> CallbackSender {
        CallbackSender { http: http.client.clone(), clock: clock.clone() }
    }
}

#[async_trait]
impl Sender for CallbackSender {
    fn channel(&self) -> Channel {
        Channel::Callback
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::Callback { secret, basic } = to else { return Err(SendError::wrong_channel(self.channel())) };
        let ts = self.clock.now().millis();
        let sig = callbacks::signature(secret.expose(), ts, &m.payload)
            .map_err(|e| SendError::permanent(e.to_string()).caused_by(e))?;
        let mut req = self
            .http
            .post(&m.target)
            .header("content-type", "application/json")
            .header("x-cs-message-id", &m.id)
            .header("x-cs-timestamp", ts.to_string())
            .header("x-cs-signature", sig)
            .body(m.payload.clone());
        if let Some((user, password)) = basic {
            req = req.basic_auth(user, password.as_ref().map(|p| p.expose()));
        }
        let resp = req.send().await.map_err(|e| SendError::unreachable("callback", e))?;
        // A 410 from a relying party is just a refusal, not a dead push token.
        classify(resp.status(), "callback").map_err(SendError::gone_is_permanent)
    }
}
