//! The notification relay (docs/gateway.md, "Notification relay"): a site with no route
//! to FCM, APNs or Web Push hands each push to the relay ([`RelayPushSender`], the site's
//! sender for [`Channel::PushRelay`]); the relay ([`Notifier`]) sends it with its own
//! provider credentials for the app ID through the senders of `countersign_delivery` and
//! answers with the provider's outcome, which the site's outbox records as for a direct
//! send. Only the reference travels: request ID, device ID, token, app ID.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use countersign_core::Clock;
use countersign_core::delivery::outbox::{OutboxKind, OutboxMessage};
use countersign_core::delivery::providers::PushAppSecrets;
use countersign_core::delivery::{Channel, Opened, Resolved};
use countersign_delivery::{Http, SendError, Sender, Senders};
use serde::{Deserialize, Serialize};

/// What a site sends to the relay for one push.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// The outbox message ID (the providers' de-duplication key).
    #[serde(rename = "messageID")]
    pub message_id: String,
    /// The app whose credentials send it.
    #[serde(rename = "appID")]
    pub app_id: String,
    /// The device's own app ID.
    #[serde(rename = "deviceAppID")]
    pub device_app_id: String,
    /// The device's app version.
    pub app_version: String,
    /// `fcm`, `apns` or `webpush`.
    pub platform: String,
    /// The push token or Web Push subscription.
    pub token: String,
    /// The request the device fetches.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// The device.
    #[serde(rename = "deviceID")]
    pub device_id: String,
    /// Unix ms after which the push is pointless.
    pub deadline: i64,
}

/// The relay's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PushAnswer {
    /// `sent`, `retry`, `dead` or `gone`.
    pub outcome: String,
    /// The provider's answer, for the site's `lastError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The site's sender for [`Channel::PushRelay`].
pub struct RelayPushSender {
    http: reqwest::Client,
    url: String,
    gateway_id: String,
    credential_file: PathBuf,
}

impl RelayPushSender {
    /// Posting to `url` (`…/push/v1/send` on the relay's mobile port) as `gateway_id`
    /// with the credential in `credential_file`.
    pub fn new(http: &Http, url: String, gateway_id: String, credential_file: PathBuf) -> RelayPushSender {
        RelayPushSender { http: http.client.clone(), url, gateway_id, credential_file }
    }
}

#[async_trait]
impl Sender for RelayPushSender {
    fn channel(&self) -> Channel {
        Channel::PushRelay
    }

    async fn send(&self, m: &OutboxMessage, to: &Resolved) -> Result<(), SendError> {
        let Resolved::PushRelay { platform, token, app_id, device_app_id, app_version } = to else {
            return Err(SendError::permanent("the notification relay sender got another channel's message"));
        };
        let reference: serde_json::Value = serde_json::from_str(&m.payload).unwrap_or_default();
        let field = |k: &str| reference.get(k).and_then(|v| v.as_str()).unwrap_or("").to_owned();
        let body = PushRequest {
            message_id: m.id.clone(),
            app_id: app_id.clone(),
            device_app_id: device_app_id.clone(),
            app_version: app_version.clone(),
            platform: platform.clone(),
            token: token.clone(),
            request_id: field("requestID"),
            device_id: field("deviceID"),
            deadline: m.deadline.millis(),
        };
        let credential = std::fs::read_to_string(&self.credential_file)
            .map_err(|_| SendError::transient("the relay credential file cannot be read"))?;
        let resp = self
            .http
            .post(&self.url)
            .header(crate::SITE_HEADER, &self.gateway_id)
            .bearer_auth(credential.trim())
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::unreachable("the notification relay", e))?;
        let status = resp.status();
        if !status.is_success() {
            return countersign_delivery::classify(status, "the notification relay");
        }
        let answer: PushAnswer =
            resp.json().await.map_err(|_| SendError::transient("the notification relay answered nonsense"))?;
        let error = answer.error.unwrap_or_default();
        match answer.outcome.as_str() {
            "sent" => Ok(()),
            "gone" => Err(SendError::token_gone(format!("via the relay: {error}"))),
            "dead" => Err(SendError::permanent(format!("via the relay: {error}"))),
            _ => Err(SendError::transient(format!("via the relay: {error}"))),
        }
    }
}

/// The relay's `--apps` file: app ID → `{"config": <push app document>, "vapidPrivateKey"}`.
pub fn parse_apps(json: &[u8]) -> Result<BTreeMap<String, PushAppSecrets>, String> {
    // Line and column only: serde's text can quote a value, and values here are keys.
    serde_json::from_slice(json).map_err(|e| format!("not an apps file (line {}, column {})", e.line(), e.column()))
}

/// The relay's side: provider credentials per app ID and the senders that use them.
#[derive(Clone)]
pub struct Notifier {
    apps: Arc<BTreeMap<String, PushAppSecrets>>,
    senders: Senders,
    clock: Arc<dyn Clock>,
}

impl Notifier {
    /// Sending for the apps given (app ID → the push app document with its VAPID key,
    /// as the server seals it), over `http`.
    pub fn new(apps: BTreeMap<String, PushAppSecrets>, http: &Http, clock: Arc<dyn Clock>) -> Notifier {
        let senders = Senders::default()
            .with(countersign_delivery::fcm::FcmSender::new(http, &clock))
            .with(countersign_delivery::apns::ApnsSender::new(http, &clock))
            .with(countersign_delivery::webpush::WebPushSender::new(http, &clock));
        Notifier { apps: Arc::new(apps), senders, clock }
    }

    /// Send one push; the outcome for the site.
    pub async fn send(&self, p: PushRequest) -> PushAnswer {
        let answer = |outcome: &str, error: Option<String>| PushAnswer { outcome: outcome.to_owned(), error };
        let app = self.apps.get(&p.app_id);
        let missing =
            || answer("dead", Some(format!("the relay has no {} credentials for app {}", p.platform, p.app_id)));
        let Some(app) = app else { return missing() };
        let token = p.token.clone();
        let resolved = match p.platform.as_str() {
            "fcm" => match app.config.fcm.clone() {
                Some(config) => Resolved::Fcm { config, token },
                None => return missing(),
            },
            "apns" => match app.config.apns.clone() {
                Some(config) => Resolved::Apns {
                    config,
                    token,
                    app_id: p.device_app_id.clone(),
                    app_version: p.app_version.clone(),
                },
                None => return missing(),
            },
            "webpush" => match (app.config.webpush.clone(), app.vapid_private_key.clone()) {
                (Some(config), Some(key)) => {
                    Resolved::WebPush { config, vapid_private_key: Opened::new(key), subscription: token }
                }
                _ => return missing(),
            },
            other => return answer("dead", Some(format!("unknown push platform {other}"))),
        };
        // Only the reference is pushed, rebuilt here: nothing else the site sent goes on.
        let reference = serde_json::json!({"requestID": p.request_id, "deviceID": p.device_id}).to_string();
        let now = self.clock.now();
        let deadline = countersign_core::Timestamp(p.deadline);
        let m = OutboxMessage::new(p.message_id, "", OutboxKind::Push, &p.device_id, reference, now, deadline);
        let Some(channel) = resolved.channel() else { return missing() };
        let Some(sender) = self.senders.get(channel) else { return missing() };
        match sender.send(&m, &resolved).await {
            Ok(()) => answer("sent", None),
            Err(e @ SendError::TokenGone { .. }) => answer("gone", Some(e.to_string())),
            Err(e @ SendError::Permanent { .. }) => answer("dead", Some(e.to_string())),
            Err(e) => answer("retry", Some(e.to_string())),
        }
    }
}
