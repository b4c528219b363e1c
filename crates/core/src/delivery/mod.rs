//! The delivery port (docs/delivery.md, "Worker structure"): what the outbox worker
//! needs from the domain, and nothing more. The worker (`countersign-delivery`) claims
//! due messages, asks the port to [`Port::resolve`] each one into what to send — a
//! push channel with its app credentials, a callback URL with its opened signing
//! secret, an SMS or e-mail with its opened payload and the tenant's provider — hands
//! that to the [`Channel`]'s sender, and reports the outcome back through the port.
//!
//! [`Core`] implements the port; tests of the worker can implement it over anything.

pub mod callbacks;
pub mod outbox;
pub mod providers;

use async_trait::async_trait;

use crate::clock::{Clock, Timestamp};
use crate::delivery::outbox::{OutboxKind, OutboxMessage, SendOutcome};
use crate::delivery::providers::{
    ApnsConfig, EmailConfig, EmailPayload, FcmConfig, HttpSmsConfig, SmsConfig, SmsPayload, TwilioConfig, VoicePayload,
    WebPushConfig,
};
use crate::device::DeviceState;
use crate::error::CoreError;
use crate::service::Core;
use crate::store::StoreError;

/// What the outbox worker depends on.
#[async_trait]
pub trait Port: Send + Sync {
    /// What time it is (for deadlines, provider tokens and signatures).
    fn clock(&self) -> std::sync::Arc<dyn Clock>;
    /// A random number in [0, 1], to spread retries (jitter).
    fn jitter(&self) -> f64;
    /// Resolves when this node enqueues messages (an idle worker wakes early).
    async fn woken(&self);

    /// Claim up to `limit` due messages, leased to this worker until `lease_until`.
    async fn claim(&self, now: Timestamp, lease_until: Timestamp, limit: u32)
    -> Result<Vec<OutboxMessage>, StoreError>;
    /// A provider accepted message `id`.
    async fn mark_sent(&self, id: &str, at: Timestamp) -> Result<(), StoreError>;
    /// Message `id` failed for now; try again at `next_at`.
    async fn mark_retry(&self, id: &str, attempts: u32, next_at: Timestamp, error: &str) -> Result<(), StoreError>;
    /// Message `id` is given up.
    async fn mark_dead(&self, id: &str, attempts: u32, error: &str) -> Result<(), StoreError>;
    /// The push provider says device `device_id`'s token is gone: forget it (the device
    /// registers again, and can poll meanwhile).
    async fn forget_push_token(&self, device_id: &str, at: Timestamp) -> Result<(), StoreError>;

    /// What sending `m` takes: the channel, its target and credentials.
    async fn resolve(&self, m: &OutboxMessage) -> Result<Resolved, Unresolved>;
    /// Apply a message that is sent nowhere ([`Resolved::Local`]: what a risk challenge
    /// taught) here; the session's ending applies it at once, this retries what that
    /// could not do.
    async fn apply_local(&self, m: &OutboxMessage) -> Result<(), Unresolved>;
    /// Message `m` went dead: do what follows in the domain (a one-time code that cannot
    /// be delivered ends its session as failed).
    async fn went_dead(&self, m: &OutboxMessage) -> Result<(), CoreError>;

    /// Count one send of `kind` ending in `outcome` after `seconds` with the provider.
    fn observe(&self, kind: OutboxKind, outcome: SendOutcome, seconds: f64);
    /// Count a message given up before any provider saw it.
    fn dead_before_sending(&self, kind: OutboxKind);
}

/// The ways out, one sender each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Channel {
    /// Push: `POST` to the URL the device registered.
    Webhook,
    /// Push through Firebase Cloud Messaging.
    Fcm,
    /// Push through the Apple Push Notification service.
    Apns,
    /// Push through the browser's Web Push service.
    WebPush,
    /// A signed session-result callback to a relying party.
    Callback,
    /// SMS through Twilio's REST API.
    Twilio,
    /// A voice call through Twilio's REST API (the Calls resource).
    TwilioCall,
    /// SMS through a generic HTTP gateway.
    HttpSms,
    /// E-mail over SMTP.
    Smtp,
    /// Development only: SMS appended to a local file.
    FileSms,
    /// Development only: e-mail appended to a local file.
    FileEmail,
    /// Push handed to the notification relay, which holds the provider credentials
    /// (docs/gateway.md, "Notification relay").
    PushRelay,
    /// Development only: a voice call appended to a local file.
    FileVoice,
}

impl Channel {
    /// A short name for logs and errors.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Webhook => "webhook",
            Channel::Fcm => "fcm",
            Channel::Apns => "apns",
            Channel::WebPush => "webpush",
            Channel::Callback => "callback",
            Channel::Twilio => "twilio",
            Channel::TwilioCall => "twilio_call",
            Channel::HttpSms => "http_sms",
            Channel::Smtp => "smtp",
            Channel::FileSms => "file_sms",
            Channel::FileEmail => "file_email",
            Channel::PushRelay => "push_relay",
            Channel::FileVoice => "file_voice",
        }
    }
}

/// An opened secret: usable, never printed.
#[derive(Clone)]
pub struct Opened(String);

impl Opened {
    /// Wrap a secret (the notification relay's credentials come from its own file).
    pub fn new(secret: String) -> Opened {
        Opened(secret)
    }

    /// The secret itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// A message resolved into what its sender needs.
#[derive(Clone)]
pub enum Resolved {
    /// The device polls: nothing to send.
    Poll,
    /// Sent nowhere: the port applies it ([`Port::apply_local`]).
    Local,
    /// Push to the device's webhook.
    Webhook {
        /// Where to post.
        url: String,
    },
    /// Push through FCM.
    Fcm {
        /// The app's FCM credentials.
        config: FcmConfig,
        /// The device's registration token.
        token: String,
    },
    /// Push through APNs.
    Apns {
        /// The app's APNs credentials and routes.
        config: ApnsConfig,
        /// The device token (hex).
        token: String,
        /// The device's app, for the topic.
        app_id: String,
        /// The device's app version, for the route.
        app_version: String,
    },
    /// Push through Web Push.
    WebPush {
        /// The app's Web Push settings.
        config: WebPushConfig,
        /// The app's VAPID private key, base64url.
        vapid_private_key: Opened,
        /// The browser's subscription JSON.
        subscription: String,
    },
    /// A session-result callback.
    Callback {
        /// The tenant's signing secret.
        secret: Opened,
        /// HTTP Basic credentials of the allowlist entry: user name and password.
        basic: Option<(String, Option<Opened>)>,
    },
    /// SMS through Twilio.
    Twilio {
        /// The provider.
        config: TwilioConfig,
        /// The message.
        payload: SmsPayload,
    },
    /// A voice call through Twilio.
    TwilioCall {
        /// The provider (the tenant's Twilio SMS provider).
        config: TwilioConfig,
        /// The call: number, text, language.
        payload: VoicePayload,
    },
    /// SMS through an HTTP gateway.
    HttpSms {
        /// The provider.
        config: HttpSmsConfig,
        /// The message.
        payload: SmsPayload,
    },
    /// E-mail over SMTP.
    Smtp {
        /// The server.
        config: EmailConfig,
        /// The message.
        payload: EmailPayload,
    },
    /// SMS to a local file.
    FileSms {
        /// The file.
        file: String,
        /// The message.
        payload: SmsPayload,
    },
    /// E-mail to a local file.
    FileEmail {
        /// The file.
        file: String,
        /// The message.
        payload: EmailPayload,
    },
    /// A push for the notification relay: only the reference and where it goes.
    PushRelay {
        /// `fcm`, `apns` or `webpush`.
        platform: String,
        /// The device's push token (or Web Push subscription).
        token: String,
        /// The app ID whose credentials send it (the tenant's `pushAppId`, else the device's).
        app_id: String,
        /// The device's own app ID (the APNs topic when its version names no bundle).
        device_app_id: String,
        /// The device's app version (APNs routes by it).
        app_version: String,
    },
    /// A voice call to a local file.
    FileVoice {
        /// The file.
        file: String,
        /// The call.
        payload: VoicePayload,
    },
}

impl Resolved {
    /// The channel that sends it; `None` for nothing to send.
    pub fn channel(&self) -> Option<Channel> {
        Some(match self {
            Resolved::Poll | Resolved::Local => return None,
            Resolved::Webhook { .. } => Channel::Webhook,
            Resolved::Fcm { .. } => Channel::Fcm,
            Resolved::Apns { .. } => Channel::Apns,
            Resolved::WebPush { .. } => Channel::WebPush,
            Resolved::Callback { .. } => Channel::Callback,
            Resolved::Twilio { .. } => Channel::Twilio,
            Resolved::TwilioCall { .. } => Channel::TwilioCall,
            Resolved::HttpSms { .. } => Channel::HttpSms,
            Resolved::Smtp { .. } => Channel::Smtp,
            Resolved::FileSms { .. } => Channel::FileSms,
            Resolved::FileEmail { .. } => Channel::FileEmail,
            Resolved::PushRelay { .. } => Channel::PushRelay,
            Resolved::FileVoice { .. } => Channel::FileVoice,
        })
    }
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let local = if matches!(self, Resolved::Local) { "local" } else { "poll" };
        write!(f, "Resolved({})", self.channel().map_or(local, Channel::as_str))
    }
}

/// Why a message could not be resolved; the text is what the outbox records.
#[derive(Debug, thiserror::Error)]
pub enum Unresolved {
    /// Storage failed: try again later.
    #[error("storage: {0}")]
    Storage(#[source] StoreError),
    /// The device was deleted or disconnected.
    #[error("the device is gone or disconnected")]
    DeviceGone,
    /// The device's platform needs a token it does not have (or is unknown).
    #[error("the device has no token for push platform {0}")]
    NoPushToken(String),
    /// No push app with this ID.
    #[error("no push app {0} is configured")]
    NoPushApp(String),
    /// The push app lacks credentials for the device's platform.
    #[error("push app {app_id} has no {platform} credentials")]
    NoCredentials {
        /// The app.
        app_id: String,
        /// The platform.
        platform: &'static str,
    },
    /// The tenant never configured callbacks.
    #[error("callbacks are not configured for this tenant")]
    NoCallbacks,
    /// The URL was taken off the allowlist since the message was queued.
    #[error("the URL is no longer on the callback allowlist")]
    NotAllowed,
    /// The tenant has no callback signing secret.
    #[error("no callback signing secret")]
    NoSigningSecret,
    /// The payload does not parse (`what`: `SMS`, `e-mail`, `voice`).
    #[error("damaged {0} payload")]
    DamagedPayload(&'static str),
    /// The tenant has no SMS provider and the server none by default.
    #[error("no SMS provider is configured for this tenant")]
    NoSmsProvider,
    /// The tenant has no SMTP server and the server none by default.
    #[error("no SMTP server is configured for this tenant")]
    NoSmtpServer,
    /// The tenant's SMS provider cannot place calls (an HTTP gateway).
    #[error("voice calls need Twilio; this tenant's SMS provider is an HTTP gateway")]
    NoVoiceProvider,
    /// Another domain failure: a sealed secret that does not open, a damaged document.
    #[error(transparent)]
    Core(CoreError),
}

impl Unresolved {
    /// Whether trying again later may help (storage failures only).
    pub fn is_transient(&self) -> bool {
        matches!(self, Unresolved::Storage(_))
    }
}

impl From<StoreError> for Unresolved {
    fn from(e: StoreError) -> Self {
        Unresolved::Storage(e)
    }
}

impl From<CoreError> for Unresolved {
    fn from(e: CoreError) -> Self {
        match e {
            CoreError::Store(e) => Unresolved::Storage(e),
            other => Unresolved::Core(other),
        }
    }
}

#[async_trait]
impl Port for Core {
    fn clock(&self) -> std::sync::Arc<dyn Clock> {
        self.clock.clone()
    }

    fn jitter(&self) -> f64 {
        let mut j = [0u8; 1];
        let _ = self.random.fill(&mut j);
        f64::from(j[0]) / 255.0
    }

    async fn woken(&self) {
        self.outbox_wake.notified().await;
    }

    async fn claim(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.store.claim_outbox(now, lease_until, limit).await
    }

    async fn mark_sent(&self, id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.store.outbox_sent(id, at).await
    }

    async fn mark_retry(&self, id: &str, attempts: u32, next_at: Timestamp, error: &str) -> Result<(), StoreError> {
        self.store.outbox_retry(id, attempts, next_at, error).await
    }

    async fn mark_dead(&self, id: &str, attempts: u32, error: &str) -> Result<(), StoreError> {
        self.store.outbox_dead(id, attempts, error).await
    }

    async fn forget_push_token(&self, device_id: &str, at: Timestamp) -> Result<(), StoreError> {
        self.store.clear_device_push(device_id, at).await
    }

    async fn resolve(&self, m: &OutboxMessage) -> Result<Resolved, Unresolved> {
        match m.kind {
            OutboxKind::Learn => Ok(Resolved::Local),
            OutboxKind::Push => self.resolve_push(m).await,
            OutboxKind::Callback => self.resolve_callback(m).await,
            OutboxKind::Sms => {
                let payload: SmsPayload =
                    serde_json::from_str(&self.open_payload(m)?).map_err(|_| Unresolved::DamagedPayload("SMS"))?;
                match self.providers_for(&m.tenant_id).await?.sms {
                    Some(SmsConfig::Twilio(config)) => Ok(Resolved::Twilio { config, payload }),
                    Some(SmsConfig::Http(config)) => Ok(Resolved::HttpSms { config, payload }),
                    Some(SmsConfig::File(f)) => Ok(Resolved::FileSms { file: f.file, payload }),
                    None => Err(Unresolved::NoSmsProvider),
                }
            }
            OutboxKind::Voice => {
                let payload: VoicePayload =
                    serde_json::from_str(&self.open_payload(m)?).map_err(|_| Unresolved::DamagedPayload("voice"))?;
                match self.providers_for(&m.tenant_id).await?.sms {
                    Some(SmsConfig::Twilio(config)) => Ok(Resolved::TwilioCall { config, payload }),
                    Some(SmsConfig::File(f)) => Ok(Resolved::FileVoice { file: f.file, payload }),
                    Some(SmsConfig::Http(_)) => Err(Unresolved::NoVoiceProvider),
                    None => Err(Unresolved::NoSmsProvider),
                }
            }
            OutboxKind::Email => {
                let payload: EmailPayload =
                    serde_json::from_str(&self.open_payload(m)?).map_err(|_| Unresolved::DamagedPayload("e-mail"))?;
                let config = self.providers_for(&m.tenant_id).await?.email.ok_or(Unresolved::NoSmtpServer)?;
                match config.file.clone() {
                    Some(file) => Ok(Resolved::FileEmail { file, payload }),
                    None => Ok(Resolved::Smtp { config, payload }),
                }
            }
        }
    }

    async fn apply_local(&self, m: &OutboxMessage) -> Result<(), Unresolved> {
        Ok(self.apply_learning(m).await?)
    }

    async fn went_dead(&self, m: &OutboxMessage) -> Result<(), CoreError> {
        match m.kind {
            OutboxKind::Sms | OutboxKind::Email | OutboxKind::Voice => self.code_delivery_failed(&m.id).await,
            OutboxKind::Push | OutboxKind::Callback | OutboxKind::Learn => Ok(()),
        }
    }

    fn observe(&self, kind: OutboxKind, outcome: SendOutcome, seconds: f64) {
        self.outbox_metrics.observe(kind, outcome, seconds);
    }

    fn dead_before_sending(&self, kind: OutboxKind) {
        self.outbox_metrics.dead_before_sending(kind);
    }
}

impl Core {
    /// The push channel of the device `m` targets, with its app's credentials.
    async fn resolve_push(&self, m: &OutboxMessage) -> Result<Resolved, Unresolved> {
        let device = self.store.device(&m.target).await?;
        let Some(device) = device.filter(|d| d.state == DeviceState::Active) else {
            return Err(Unresolved::DeviceGone);
        };
        let platform = match device.push_platform.as_deref() {
            None | Some("poll") => return Ok(Resolved::Poll),
            Some(p) => p,
        };
        let (platform, token) = match (platform, device.push_token.clone()) {
            ("webhook", Some(url)) => return Ok(Resolved::Webhook { url }),
            ("fcm", Some(t)) => ("fcm", t),
            ("apns", Some(t)) => ("apns", t),
            ("webpush", Some(t)) => ("webpush", t),
            (p, _) => return Err(Unresolved::NoPushToken(p.to_owned())),
        };
        let tenant = self.store.tenant_by_id(&m.tenant_id).await?;
        let app_id = tenant.and_then(|t| t.settings.push_app_id).unwrap_or_else(|| device.app_id.clone());
        if self.push_relay {
            let (platform, device_app_id, app_version) = (platform.to_owned(), device.app_id, device.app_version);
            return Ok(Resolved::PushRelay { platform, token, app_id, device_app_id, app_version });
        }
        let app = self.push_app_secrets(&app_id).await?.ok_or_else(|| Unresolved::NoPushApp(app_id.clone()))?;
        let missing = || Unresolved::NoCredentials { app_id: app_id.clone(), platform };
        Ok(match platform {
            "fcm" => Resolved::Fcm { config: app.config.fcm.ok_or_else(missing)?, token },
            "apns" => Resolved::Apns {
                config: app.config.apns.ok_or_else(missing)?,
                token,
                app_id: device.app_id,
                app_version: device.app_version,
            },
            _ => {
                let config = app.config.webpush.ok_or_else(missing)?;
                let key = app.vapid_private_key.ok_or_else(missing)?;
                Resolved::WebPush { config, vapid_private_key: Opened(key), subscription: token }
            }
        })
    }

    /// The tenant's signing secret and the allowlist entry's credentials for `m.target`.
    async fn resolve_callback(&self, m: &OutboxMessage) -> Result<Resolved, Unresolved> {
        let cfg = self.store.callback_config(&m.tenant_id).await?.ok_or(Unresolved::NoCallbacks)?;
        let endpoint = cfg.endpoint(&m.target);
        if cfg.allowlist_enabled && endpoint.is_none() {
            return Err(Unresolved::NotAllowed);
        }
        let sealed = cfg.secret.as_deref().ok_or(Unresolved::NoSigningSecret)?;
        let secret = Opened(self.sealer.open(sealed).map_err(Unresolved::Core)?);
        let basic = match endpoint.and_then(|e| e.username.clone()) {
            Some(user) => {
                let password = match endpoint.and_then(|e| e.password.as_deref()) {
                    Some(p) => Some(Opened(self.sealer.open(p).map_err(Unresolved::Core)?)),
                    None => None,
                };
                Some((user, password))
            }
            None => None,
        };
        Ok(Resolved::Callback { secret, basic })
    }

    /// The payload as sent: SMS and e-mail payloads are sealed at rest.
    fn open_payload(&self, m: &OutboxMessage) -> Result<String, Unresolved> {
        if crate::seal::sealed_kid(&m.payload).is_some() {
            self.sealer.open(&m.payload).map_err(Unresolved::Core)
        } else {
            Ok(m.payload.clone())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let r = Resolved::Callback { secret: Opened("s3cret".into()), basic: Some(("u".into(), None)) };
        assert_eq!(format!("{r:?}"), "Resolved(callback)");
        assert_eq!(format!("{:?}", Opened("s3cret".into())), "<redacted>");
    }

    #[test]
    fn only_storage_failures_are_transient() {
        assert!(Unresolved::from(CoreError::Store(StoreError::NotFound)).is_transient());
        assert!(!Unresolved::from(CoreError::Internal("x".into())).is_transient());
        assert_eq!(Unresolved::DamagedPayload("SMS").to_string(), "damaged SMS payload");
        assert_eq!(
            Unresolved::NoCredentials { app_id: "a".into(), platform: "fcm" }.to_string(),
            "push app a has no fcm credentials"
        );
    }
}
