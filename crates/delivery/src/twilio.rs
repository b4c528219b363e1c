//! Twilio (docs/delivery.md, "Messaging provider document"): SMS through the Messages
//! resource, from the sender ID of the message's authentication type, retried from the
//! default number when Twilio refuses that sender. [`post`] is the one request every
//! Twilio resource shares (Basic auth with the account SID and auth token, a form body,
//! Twilio's error code and message in the failure), so another resource — a voice call
//! through `Calls.json` — is one more sender over it.

use async_trait::async_trait;
use countersign_core::delivery::outbox::OutboxMessage;
use countersign_core::delivery::providers::{SmsPayload, TwilioConfig};
use countersign_core::delivery::{Channel, Resolved};

use crate::{Http, SendError, Sender, classify};

/// Twilio's API when the configuration names no other base URL.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";

/// `POST` `form` to the account's `resource` (e.g. `Messages.json`, `Calls.json`).
pub async fn post(
    http: &reqwest::Client,
    cfg: &TwilioConfig,
    resource: &str,
    form: &[(&str, &str)],
) -> Result<(), SendError> {
    let base = cfg.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL).trim_end_matches('/');
    let url = format!("{base}/2010-04-01/Accounts/{}/{resource}", cfg.account_sid);
    let resp = http
        .post(url)
        .basic_auth(&cfg.account_sid, Some(&cfg.auth_token))
        .form(form)
        .send()
        .await
        .map_err(|e| SendError::unreachable("Twilio", e))?;
    let status = resp.status();
    if status.is_success() {
        return Ok(());
    }
    let detail: serde_json::Value = resp.json().await.unwrap_or_default();
    let code = detail.get("code").map(ToString::to_string).unwrap_or_default();
    let text = detail.get("message").and_then(|v| v.as_str()).unwrap_or("");
    let why = format!(", error {code}: {}", text.chars().take(200).collect::<String>());
    classify(status, "Twilio").map_err(|e| e.with_detail(&why))
}

/// Sends SMS through Twilio's Messages resource.
pub struct TwilioSender {
    http: reqwest::Client,
}

impl TwilioSender {
    /// A sender over `http`.
    pub fn new(http: &Http) -> TwilioSender {
        TwilioSender { http: http.client.clone() }
    }

    async fn once(&self, cfg: &TwilioConfig, p: &SmsPayload, from: &str) -> Result<(), SendError> {
        let form = [("To", p.to.as_str()), ("From", from), ("Body", p.text.as_str())];
        post(&self.http, cfg, "Messages.json", &form).await
    }
}

#[async_trait]
impl Sender for TwilioSender {
    fn channel(&self) -> Channel {
        Channel::Twilio
    }

    async fn send(&self, _m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::Twilio { config: cfg, payload: p } = to else {
            return Err(SendError::wrong_channel(self.channel()));
        };
        let sender = p.sender.as_ref().or_else(|| cfg.sender_ids.get(&p.auth_type)).filter(|s| **s != cfg.from);
        if let Some(sender) = sender {
            match self.once(cfg, p, sender).await {
                // Twilio refuses a sender ID the destination does not allow with 400.
                Err(e @ SendError::Permanent { status: Some(400), .. }) => {
                    tracing::info!(reason = %e, "Twilio refused the sender ID; sending from the default number");
                }
                other => return other,
            }
        }
        self.once(cfg, p, &cfg.from).await
    }
}
