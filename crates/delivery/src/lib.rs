//! The outbox worker (docs/delivery.md): claims due messages, sends them over their
//! channel, and records the outcome — sent, retry with backoff, or dead. Several
//! workers (one per node) share one queue.
//!
//! Channels: push to a device over `webhook`, `fcm` ([`fcm`]), `apns` ([`apns`]) or
//! `webpush` ([`webpush`] for the encryption, [`jwt`] for VAPID and APNs tokens; devices
//! on `poll` fetch and get no message), SMS ([`sms`]: Twilio, HTTP gateway), e-mail
//! ([`email`]: SMTP), voice calls ([`voice`]: Twilio) and signed session-result
//! callbacks to relying parties; for development, SMS, e-mail and calls can go to a local
//! file instead (`file`). Every HTTP
//! request goes through one client, which honours the configured proxy and extra CA
//! certificates ([`Options`]).

pub mod apns;
pub mod email;
pub mod fcm;
mod file;
pub mod jwt;
pub mod sms;
pub mod voice;
pub mod webpush;

use std::time::{Duration, Instant};

use countersign_core::callbacks;
use countersign_core::device::DeviceState;
use countersign_core::ops::Core;
use countersign_core::outbox::{self, OutboxKind, OutboxMessage, SendOutcome};
use tokio::sync::watch;

/// Messages a worker claims at once.
const BATCH: u32 = 16;
/// How often an idle worker looks for due messages (other nodes' work, retries).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Why a send failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Try again later (network error, 408, 429, 5xx).
    Transient(String),
    /// Never going to work (other 4xx, target gone).
    Permanent(String),
    /// The push token is dead (`410 Gone`): forget it.
    TokenGone(String),
}

/// An outgoing HTTP proxy (docs/delivery.md, "Outgoing HTTP proxy").
#[derive(Clone, Default)]
pub struct Proxy {
    /// `http://host:port` (or `https://`).
    pub url: String,
    /// User name; with it, credentials are sent preemptively.
    pub username: Option<String>,
    /// Password.
    pub password: Option<String>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy").field("url", &self.url).field("username", &self.username).finish_non_exhaustive()
    }
}

/// How the worker reaches the outside.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Send every provider and callback HTTP request through this proxy.
    pub proxy: Option<Proxy>,
    /// Extra CA certificates (PEM) trusted for outgoing TLS, on top of the system's.
    pub extra_roots_pem: Option<Vec<u8>>,
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Worker {
    core: Core,
    http: reqwest::Client,
    extra_roots_pem: Option<std::sync::Arc<Vec<u8>>>,
    fcm_tokens: std::sync::Arc<fcm::TokenCache>,
    apns_tokens: std::sync::Arc<apns::TokenCache>,
}

pub(crate) fn classify(status: reqwest::StatusCode, what: &str) -> Result<(), Failure> {
    match status.as_u16() {
        200..=299 => Ok(()),
        410 => Err(Failure::TokenGone(format!("{what} answered 410 Gone"))),
        408 | 429 | 500..=599 => Err(Failure::Transient(format!("{what} answered {status}"))),
        _ => Err(Failure::Permanent(format!("{what} answered {status}"))),
    }
}

impl Worker {
    /// A worker for `core`'s outbox; each HTTP call may take up to 10 seconds.
    pub fn new(core: Core, options: Options) -> Result<Worker, String> {
        let mut b = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        if let Some(p) = &options.proxy {
            let mut proxy = reqwest::Proxy::all(&p.url).map_err(|_| "the proxy URL is not valid".to_owned())?;
            if let Some(user) = &p.username {
                proxy = proxy.basic_auth(user, p.password.as_deref().unwrap_or(""));
            }
            b = b.proxy(proxy);
        }
        if let Some(pem) = &options.extra_roots_pem {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|_| "the extra CA certificates are not valid PEM certificates".to_owned())?;
            b = b.tls_certs_merge(certs);
        }
        let http = b.build().map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Worker {
            core,
            http,
            extra_roots_pem: options.extra_roots_pem.map(std::sync::Arc::new),
            fcm_tokens: std::sync::Arc::default(),
            apns_tokens: std::sync::Arc::default(),
        })
    }

    /// Work until `stop` turns true: claim due messages, send them, sleep when idle
    /// (woken early when this node enqueues).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let now = self.core.clock.now();
            match self.core.store.claim_outbox(now, now.plus_millis(outbox::LEASE_MS), BATCH).await {
                Ok(batch) if !batch.is_empty() => {
                    let mut set = tokio::task::JoinSet::new();
                    for m in batch {
                        let w = self.clone();
                        set.spawn(async move { w.deliver(m).await });
                    }
                    while set.join_next().await.is_some() {}
                    continue;
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "outbox claim failed"),
            }
            tokio::select! {
                _ = self.core.outbox_wake.notified() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Send one claimed message and record the outcome.
    async fn deliver(&self, m: OutboxMessage) {
        let store = &self.core.store;
        let attempts = m.attempts + 1;
        if self.core.clock.now() > m.deadline {
            let why = match &m.last_error {
                Some(prev) => format!("deadline passed; last error: {prev}"),
                None => "deadline passed before it could be sent".to_owned(),
            };
            let _ = store.outbox_dead(&m.id, m.attempts, &why).await;
            self.core.outbox_metrics.dead_before_sending(m.kind);
            self.went_dead(&m, &why).await;
            return;
        }
        let started = Instant::now();
        let result = match m.kind {
            OutboxKind::Push => self.push(&m).await,
            OutboxKind::Callback => self.callback(&m).await,
            OutboxKind::Sms => sms::send(self, &m).await,
            OutboxKind::Email => email::send(self, &m).await,
            OutboxKind::Voice => voice::send(self, &m).await,
            // Sent nowhere: applied here (the session's ending applies it at once; this
            // retries what that could not do).
            OutboxKind::Learn => self.core.apply_learning(&m).await.map_err(core_failure),
        };
        let seconds = started.elapsed().as_secs_f64();
        let now = self.core.clock.now();
        let error = match &result {
            Ok(()) => None,
            Err(Failure::Permanent(e) | Failure::TokenGone(e) | Failure::Transient(e)) => Some(e.clone()),
        };
        let outcome = match result {
            Ok(()) => store.outbox_sent(&m.id, now).await.map(|_| SendOutcome::Sent),
            Err(Failure::Permanent(e)) => store.outbox_dead(&m.id, attempts, &e).await.map(|_| SendOutcome::Dead),
            Err(Failure::TokenGone(e)) => {
                let _ = store.clear_device_push(&m.target, now).await;
                store.outbox_dead(&m.id, attempts, &e).await.map(|_| SendOutcome::Dead)
            }
            Err(Failure::Transient(e)) => {
                let mut j = [0u8; 1];
                let _ = self.core.random.fill(&mut j);
                let next = now.plus_millis(outbox::backoff_ms(attempts, f64::from(j[0]) / 255.0));
                if next > m.deadline {
                    let e = format!("{e}; no time left before the deadline");
                    store.outbox_dead(&m.id, attempts, &e).await.map(|_| SendOutcome::Dead)
                } else {
                    store.outbox_retry(&m.id, attempts, next, &e).await.map(|_| SendOutcome::Retry)
                }
            }
        };
        match outcome {
            Ok(o) => {
                self.core.outbox_metrics.observe(m.kind, o, seconds);
                if o == SendOutcome::Dead {
                    let why = error.as_deref().unwrap_or("unknown");
                    self.went_dead(&m, why).await;
                } else if o != SendOutcome::Sent {
                    tracing::info!(message = %m.id, kind = m.kind.as_str(), outcome = ?o, error = error.as_deref().unwrap_or(""),
                        "outbox send failed; will retry");
                }
            }
            Err(e) => tracing::warn!(message = %m.id, error = %e, "outbox state not recorded; the lease will expire"),
        }
    }

    /// A message went dead: say so at WARN with the provider's reason (never the payload,
    /// which holds codes), and end the code session it was delivering.
    async fn went_dead(&self, m: &OutboxMessage, why: &str) {
        tracing::warn!(message = %m.id, kind = m.kind.as_str(), reason = why, "outbox message dead: not delivered");
        if matches!(m.kind, OutboxKind::Sms | OutboxKind::Email | OutboxKind::Voice)
            && let Err(e) = self.core.code_delivery_failed(&m.id).await
        {
            tracing::warn!(message = %m.id, error = %e, "could not end the session of an undelivered code");
        }
    }

    /// POST a session result to a relying party, signed, with its Basic credentials.
    async fn callback(&self, m: &OutboxMessage) -> Result<(), Failure> {
        let storage = |e: countersign_core::StoreError| Failure::Transient(format!("storage: {e}"));
        let cfg = self.core.store.callback_config(&m.tenant_id).await.map_err(storage)?;
        let cfg = cfg.ok_or_else(|| Failure::Permanent("callbacks are not configured for this tenant".into()))?;
        let endpoint = cfg.endpoint(&m.target);
        if cfg.allowlist_enabled && endpoint.is_none() {
            return Err(Failure::Permanent("the URL is no longer on the callback allowlist".into()));
        }
        let sealed = cfg.secret.as_deref().ok_or_else(|| Failure::Permanent("no callback signing secret".into()))?;
        let secret = self.core.sealer.open(sealed).map_err(|e| Failure::Permanent(e.to_string()))?;
        let ts = self.core.clock.now().millis();
        let sig = callbacks::signature(&secret, ts, &m.payload).map_err(|e| Failure::Permanent(e.to_string()))?;
        let mut req = self
            .http
            .post(&m.target)
            .header("content-type", "application/json")
            .header("x-cs-message-id", &m.id)
            .header("x-cs-timestamp", ts.to_string())
            .header("x-cs-signature", sig)
            .body(m.payload.clone());
        if let Some(user) = endpoint.and_then(|e| e.username.as_deref()) {
            let password = match endpoint.and_then(|e| e.password.as_deref()) {
                Some(p) => Some(self.core.sealer.open(p).map_err(|e| Failure::Permanent(e.to_string()))?),
                None => None,
            };
            req = req.basic_auth(user, password);
        }
        let resp =
            req.send().await.map_err(|e| Failure::Transient(format!("callback unreachable: {}", without_url(&e))))?;
        match classify(resp.status(), "callback") {
            // A 410 from a relying party is just a refusal, not a dead push token.
            Err(Failure::TokenGone(e)) => Err(Failure::Permanent(e)),
            other => other,
        }
    }

    async fn push(&self, m: &OutboxMessage) -> Result<(), Failure> {
        let device =
            self.core.store.device(&m.target).await.map_err(|e| Failure::Transient(format!("storage: {e}")))?;
        let Some(device) = device.filter(|d| d.state == DeviceState::Active) else {
            return Err(Failure::Permanent("the device is gone or disconnected".into()));
        };
        match (device.push_platform.as_deref(), device.push_token.as_deref()) {
            (None | Some("poll"), _) => Ok(()),
            (Some("webhook"), Some(url)) => {
                let resp = self
                    .http
                    .post(url)
                    .header("content-type", "application/json")
                    .header("x-cs-message-id", &m.id)
                    .body(m.payload.clone())
                    .send()
                    .await
                    .map_err(|e| Failure::Transient(format!("webhook unreachable: {}", without_url(&e))))?;
                classify(resp.status(), "webhook")
            }
            (Some(p @ ("fcm" | "apns" | "webpush")), Some(token)) => {
                let tenant = self.core.store.tenant_by_id(&m.tenant_id).await.map_err(storage)?;
                let app_id = tenant.and_then(|t| t.settings.push_app_id).unwrap_or_else(|| device.app_id.clone());
                let app = self.core.push_app_secrets(&app_id).await.map_err(core_failure)?;
                let Some(app) = app else {
                    return Err(Failure::Permanent(format!("no push app {app_id} is configured")));
                };
                let missing = || Failure::Permanent(format!("push app {app_id} has no {p} credentials"));
                match p {
                    "fcm" => fcm::send(self, app.config.fcm.as_ref().ok_or_else(missing)?, token, m).await,
                    "apns" => {
                        let cfg = app.config.apns.as_ref().ok_or_else(missing)?;
                        apns::send(self, cfg, &device, token, m).await
                    }
                    _ => {
                        let cfg = app.config.webpush.as_ref().ok_or_else(missing)?;
                        let key = app.vapid_private_key.as_deref().ok_or_else(missing)?;
                        self.webpush(cfg, key, token, m).await
                    }
                }
            }
            (Some(p), _) => Err(Failure::Permanent(format!("the device has no token for push platform {p}"))),
        }
    }

    /// Encrypt the reference for the subscription and post it with a VAPID signature.
    async fn webpush(
        &self,
        cfg: &countersign_core::providers::WebPushConfig,
        vapid_private: &str,
        subscription: &str,
        m: &OutboxMessage,
    ) -> Result<(), Failure> {
        let sub = webpush::parse_subscription(subscription)
            .map_err(|e| Failure::Permanent(format!("the Web Push subscription is not usable: {e}")))?;
        let key = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(vapid_private)
        }
        .ok()
        .and_then(|b| webpush::VapidKey::from_bytes(&b).ok())
        .ok_or_else(|| Failure::Permanent("the stored VAPID key is damaged".into()))?;
        let body = webpush::encrypt_random(m.payload.as_bytes(), &sub).map_err(Failure::Permanent)?;
        let now = self.core.clock.now();
        let auth = webpush::vapid_authorization(&sub.endpoint, &cfg.subject, &key, now.millis() / 1000)
            .map_err(Failure::Permanent)?;
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
            .map_err(|e| Failure::Transient(format!("Web Push service unreachable: {}", without_url(&e))))?;
        match resp.status().as_u16() {
            404 => Err(Failure::TokenGone("the Web Push service answered 404: subscription gone".into())),
            _ => classify(resp.status(), "the Web Push service"),
        }
    }
}

/// The payload as sent: SMS and e-mail payloads are sealed at rest.
pub(crate) fn open_payload(w: &Worker, m: &OutboxMessage) -> Result<String, Failure> {
    if m.payload.starts_with("v1.") {
        w.core.sealer.open(&m.payload).map_err(|e| Failure::Permanent(e.to_string()))
    } else {
        Ok(m.payload.clone())
    }
}

pub(crate) fn storage(e: countersign_core::StoreError) -> Failure {
    Failure::Transient(format!("storage: {e}"))
}

pub(crate) fn core_failure(e: countersign_core::error::CoreError) -> Failure {
    match e {
        countersign_core::error::CoreError::Store(e) => storage(e),
        other => Failure::Permanent(other.to_string()),
    }
}

/// A transport error's text without the URL (which may hold a token).
pub(crate) fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "connection failed"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    kind.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        use reqwest::StatusCode as S;
        assert!(classify(S::OK, "x").is_ok());
        assert!(classify(S::NO_CONTENT, "x").is_ok());
        assert!(matches!(classify(S::GONE, "x"), Err(Failure::TokenGone(_))));
        for s in [S::REQUEST_TIMEOUT, S::TOO_MANY_REQUESTS, S::INTERNAL_SERVER_ERROR, S::SERVICE_UNAVAILABLE] {
            assert!(matches!(classify(s, "x"), Err(Failure::Transient(_))), "{s}");
        }
        for s in [S::BAD_REQUEST, S::UNAUTHORIZED, S::NOT_FOUND] {
            assert!(matches!(classify(s, "x"), Err(Failure::Permanent(_))), "{s}");
        }
    }
}
