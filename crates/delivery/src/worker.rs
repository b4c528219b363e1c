//! The loop: claim due messages through the port, resolve each, hand it to its
//! channel's sender, and record sent, retry (with backoff and jitter) or dead.

use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign_core::delivery::outbox::{self, OutboxMessage, SendOutcome};
use countersign_core::delivery::{Port, Resolved};
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
        if matches!(to, Resolved::Local) {
            return Ok(self.port.apply_local(m).await?);
        }
        // A device that polls has nothing sent.
        let Some(channel) = to.channel() else { return Ok(()) };
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use std::sync::Mutex;

    use async_trait::async_trait;
    use countersign_core::delivery::outbox::{OutboxKind, OutboxMessage, SendOutcome};
    use countersign_core::delivery::{Channel, Resolved, Unresolved};
    use countersign_core::{Clock, CoreError, FixedClock, StoreError, Timestamp};

    use super::*;
    use crate::Sender;

    /// An outbox in memory: what the worker marked, forgot and reported.
    #[derive(Default)]
    struct FakePort {
        queue: Mutex<Vec<OutboxMessage>>,
        marks: Mutex<Vec<String>>,
        resolve_to: Mutex<Option<Resolved>>,
    }

    impl FakePort {
        fn mark(&self, s: String) {
            self.marks.lock().unwrap().push(s);
        }
    }

    #[async_trait]
    impl Port for FakePort {
        fn clock(&self) -> Arc<dyn Clock> {
            Arc::new(FixedClock::new(Timestamp(1_000_000)))
        }
        fn jitter(&self) -> f64 {
            1.0
        }
        async fn woken(&self) {
            std::future::pending::<()>().await;
        }
        async fn claim(&self, _: Timestamp, _: Timestamp, _: u32) -> Result<Vec<OutboxMessage>, StoreError> {
            Ok(std::mem::take(&mut *self.queue.lock().unwrap()))
        }
        async fn mark_sent(&self, id: &str, _: Timestamp) -> Result<(), StoreError> {
            self.mark(format!("sent {id}"));
            Ok(())
        }
        async fn mark_retry(&self, id: &str, n: u32, next: Timestamp, e: &str) -> Result<(), StoreError> {
            self.mark(format!("retry {id} {n} +{} {e}", next.millis() - 1_000_000));
            Ok(())
        }
        async fn mark_dead(&self, id: &str, n: u32, e: &str) -> Result<(), StoreError> {
            self.mark(format!("dead {id} {n} {e}"));
            Ok(())
        }
        async fn forget_push_token(&self, device: &str, _: Timestamp) -> Result<(), StoreError> {
            self.mark(format!("forget {device}"));
            Ok(())
        }
        async fn resolve(&self, _: &OutboxMessage) -> Result<Resolved, Unresolved> {
            self.resolve_to.lock().unwrap().clone().ok_or(Unresolved::NoSmsProvider)
        }
        async fn apply_local(&self, m: &OutboxMessage) -> Result<(), Unresolved> {
            self.mark(format!("applied {}", m.id));
            Ok(())
        }
        async fn went_dead(&self, m: &OutboxMessage) -> Result<(), CoreError> {
            self.mark(format!("went dead {}", m.id));
            Ok(())
        }
        fn observe(&self, kind: OutboxKind, outcome: SendOutcome, _: f64) {
            self.mark(format!("observe {} {outcome:?}", kind.as_str()));
        }
        fn dead_before_sending(&self, kind: OutboxKind) {
            self.mark(format!("dead before sending {}", kind.as_str()));
        }
    }

    /// A webhook "provider" that fails as told.
    struct Scripted(fn() -> Result<(), SendError>);

    #[async_trait]
    impl Sender for Scripted {
        fn channel(&self) -> Channel {
            Channel::Webhook
        }
        async fn send(&self, _: &OutboxMessage, _: &Resolved) -> Result<(), SendError> {
            (self.0)()
        }
    }

    fn message(deadline: i64) -> OutboxMessage {
        let now = Timestamp(1_000_000);
        OutboxMessage::new("m1".into(), "t", OutboxKind::Push, "dev1", "{}".into(), now, Timestamp(deadline))
    }

    async fn deliver(port: Arc<FakePort>, to: Option<Resolved>, sender: Scripted, m: OutboxMessage) -> Vec<String> {
        *port.resolve_to.lock().unwrap() = to;
        let worker = Worker::with_senders(port.clone(), Senders::default().with(sender));
        worker.deliver(m).await;
        port.marks.lock().unwrap().clone()
    }

    fn webhook() -> Option<Resolved> {
        Some(Resolved::Webhook { url: "http://127.0.0.1:9/hook".into() })
    }

    #[tokio::test]
    async fn outcomes_are_recorded_through_the_port() {
        let ok = deliver(Arc::default(), webhook(), Scripted(|| Ok(())), message(2_000_000)).await;
        assert_eq!(ok, ["sent m1", "observe push Sent"]);

        let later = Scripted(|| Err(SendError::transient("webhook answered 503")));
        let retry = deliver(Arc::default(), webhook(), later, message(2_000_000)).await;
        assert_eq!(retry, ["retry m1 1 +1000 webhook answered 503", "observe push Retry"]);

        let later = Scripted(|| Err(SendError::transient("webhook answered 503")));
        let no_time = deliver(Arc::default(), webhook(), later, message(1_000_500)).await;
        assert_eq!(
            no_time,
            ["dead m1 1 webhook answered 503; no time left before the deadline", "observe push Dead", "went dead m1"]
        );

        let gone = Scripted(|| Err(SendError::token_gone("webhook answered 410 Gone")));
        let gone = deliver(Arc::default(), webhook(), gone, message(2_000_000)).await;
        assert_eq!(gone, ["forget dev1", "dead m1 1 webhook answered 410 Gone", "observe push Dead", "went dead m1"]);

        let never = Scripted(|| Err(SendError::permanent("webhook answered 400 Bad Request")));
        let never = deliver(Arc::default(), webhook(), never, message(2_000_000)).await;
        assert_eq!(never, ["dead m1 1 webhook answered 400 Bad Request", "observe push Dead", "went dead m1"]);
    }

    #[tokio::test]
    async fn unresolved_unsent_and_late_messages() {
        let unresolved = deliver(Arc::default(), None, Scripted(|| Ok(())), message(2_000_000)).await;
        assert_eq!(
            unresolved,
            ["dead m1 1 no SMS provider is configured for this tenant", "observe push Dead", "went dead m1"]
        );
        let poll = deliver(Arc::default(), Some(Resolved::Poll), Scripted(|| panic!("no send")), message(2_000_000));
        assert_eq!(poll.await, ["sent m1", "observe push Sent"]);
        let local = deliver(Arc::default(), Some(Resolved::Local), Scripted(|| panic!("no send")), message(2_000_000));
        assert_eq!(local.await, ["applied m1", "sent m1", "observe push Sent"]);
        let other = Some(Resolved::FileSms {
            file: "/dev/null".into(),
            payload: countersign_core::delivery::providers::SmsPayload {
                to: "+15550100".into(),
                text: "x".into(),
                auth_type: "otp".into(),
                sender: None,
            },
        });
        let unsent = deliver(Arc::default(), other, Scripted(|| Ok(())), message(2_000_000)).await;
        assert_eq!(
            unsent,
            ["dead m1 1 no sender for channel file_sms is configured", "observe push Dead", "went dead m1"]
        );
        let late = deliver(Arc::default(), webhook(), Scripted(|| Ok(())), message(999_999)).await;
        assert_eq!(
            late,
            ["dead m1 0 deadline passed before it could be sent", "dead before sending push", "went dead m1"]
        );
    }
}
