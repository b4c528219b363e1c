//! The outbox worker (docs/delivery.md): claims due messages, sends them over their
//! channel, and records the outcome — sent, retry with backoff, or dead. Several
//! workers (one per node) share one queue.
//!
//! Channels here: push to a device's `webhook` (devices on `poll` fetch and get no
//! message), and signed session-result callbacks to relying parties. FCM, APNs and Web Push senders are not built yet: messages for such
//! devices are dead-lettered with that reason, and the devices can still poll.

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
enum Failure {
    /// Try again later (network error, 408, 429, 5xx).
    Transient(String),
    /// Never going to work (other 4xx, target gone).
    Permanent(String),
    /// The push token is dead (`410 Gone`): forget it.
    TokenGone(String),
}

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Worker {
    core: Core,
    http: reqwest::Client,
}

fn classify(status: reqwest::StatusCode, what: &str) -> Result<(), Failure> {
    match status.as_u16() {
        200..=299 => Ok(()),
        410 => Err(Failure::TokenGone(format!("{what} answered 410 Gone"))),
        408 | 429 | 500..=599 => Err(Failure::Transient(format!("{what} answered {status}"))),
        _ => Err(Failure::Permanent(format!("{what} answered {status}"))),
    }
}

impl Worker {
    /// A worker for `core`'s outbox; each HTTP call may take up to 10 seconds.
    pub fn new(core: Core) -> Result<Worker, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Worker { core, http })
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
            self.core.outbox_metrics.observe(m.kind, SendOutcome::Dead, 0.0);
            return;
        }
        let started = Instant::now();
        let result = match m.kind {
            OutboxKind::Push => self.push(&m).await,
            OutboxKind::Callback => self.callback(&m).await,
        };
        let seconds = started.elapsed().as_secs_f64();
        let now = self.core.clock.now();
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
                if o != SendOutcome::Sent {
                    tracing::info!(message = %m.id, kind = m.kind.as_str(), outcome = ?o, "outbox send failed");
                }
            }
            Err(e) => tracing::warn!(message = %m.id, error = %e, "outbox state not recorded; the lease will expire"),
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
            (Some(p), _) => {
                Err(Failure::Permanent(format!("push platform {p} is not available yet; the device can poll")))
            }
        }
    }
}

/// A transport error's text without the URL (which may hold a token).
fn without_url(e: &reqwest::Error) -> String {
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
