//! The loop: claim due messages through the port, resolve each, hand it to its
//! channel's sender, and record sent, retry (with backoff and jitter) or dead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign_core::delivery::Port;
use countersign_core::outbox::{self, OutboxMessage, SendOutcome};
use tokio::sync::watch;

use crate::{Http, Options, SendError, Senders, StartError};

/// Messages a worker claims at once.
const BATCH: u32 = 16;
/// How often an idle worker looks for due messages (other nodes' work, retries).
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Sends what the outbox holds.
#[derive(Clone)]
pub struct Worker {
    port: Arc<dyn Port>,
    senders: Arc<Senders>,
}

impl Worker {
    /// A worker for `port`'s outbox with every standard sender, reaching out as
    /// `options` say; each HTTP call may take up to 10 seconds.
    pub fn new(port: Arc<dyn Port>, options: Options) -> Result<Worker, StartError> {
        let http = Http::new(options)?;
        let senders = Senders::standard(&http, &port.clock());
        Ok(Worker::with_senders(port, senders))
    }

    /// A worker for `port`'s outbox with these senders.
    pub fn with_senders(port: Arc<dyn Port>, senders: Senders) -> Worker {
        Worker { port, senders: Arc::new(senders) }
    }

    /// Work until `stop` turns true: claim due messages, send them, sleep when idle
    /// (woken early when this node enqueues).
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let now = self.port.clock().now();
            match self.port.claim(now, now.plus_millis(outbox::LEASE_MS), BATCH).await {
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
                _ = self.port.woken() => {}
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = stop.changed() => {}
            }
        }
    }

    /// Resolve `m` and send it over its channel.
    async fn send(&self, m: &OutboxMessage) -> Result<(), SendError> {
        let to = self.port.resolve(m).await?;
        let Some(channel) = to.channel() else {
            return Ok(());
        };
        match self.senders.get(channel) {
            Some(sender) => sender.send(m, &to).await,
            None => Err(SendError::permanent(format!("no sender for channel {} is configured", channel.as_str()))),
        }
    }

    /// Send one claimed message and record the outcome.
    async fn deliver(&self, m: OutboxMessage) {
        let port = &self.port;
        let attempts = m.attempts + 1;
        let clock = port.clock();
        if clock.now() > m.deadline {
            let why = match &m.last_error {
                Some(prev) => format!("deadline passed; last error: {prev}"),
                None => "deadline passed before it could be sent".to_owned(),
            };
            let _ = port.mark_dead(&m.id, m.attempts, &why).await;
            port.dead_before_sending(m.kind);
            self.went_dead(&m, &why).await;
            return;
        }
        let started = Instant::now();
        let result = self.send(&m).await;
        let seconds = started.elapsed().as_secs_f64();
        let now = clock.now();
        let error = result.as_ref().err().map(ToString::to_string);
        let outcome = match result {
            Ok(()) => port.mark_sent(&m.id, now).await.map(|_| SendOutcome::Sent),
            Err(e @ SendError::Permanent { .. }) => {
                port.mark_dead(&m.id, attempts, &e.to_string()).await.map(|_| SendOutcome::Dead)
            }
            Err(e @ SendError::TokenGone { .. }) => {
                let _ = port.forget_push_token(&m.target, now).await;
                port.mark_dead(&m.id, attempts, &e.to_string()).await.map(|_| SendOutcome::Dead)
            }
            Err(e @ SendError::Transient { .. }) => {
                let next = now.plus_millis(outbox::backoff_ms(attempts, port.jitter()));
                if next > m.deadline {
                    let e = format!("{e}; no time left before the deadline");
                    port.mark_dead(&m.id, attempts, &e).await.map(|_| SendOutcome::Dead)
                } else {
                    port.mark_retry(&m.id, attempts, next, &e.to_string()).await.map(|_| SendOutcome::Retry)
                }
            }
        };
        match outcome {
            Ok(o) => {
                port.observe(m.kind, o, seconds);
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
    /// which holds codes), and let the domain do what follows (end the code session it
    /// was delivering).
    async fn went_dead(&self, m: &OutboxMessage, why: &str) {
        tracing::warn!(message = %m.id, kind = m.kind.as_str(), reason = why, "outbox message dead: not delivered");
        if let Err(e) = self.port.went_dead(m).await {
            tracing::warn!(message = %m.id, error = %e, "could not end the session of an undelivered code");
        }
    }
}
