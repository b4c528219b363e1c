//! The outbox (`OutboxStore`): concurrent workers share the queue without taking the
//! same message twice.

use super::*;
use countersign_core::delivery::outbox::{OutboxKind, OutboxMessage};

backend_tests! {
    async fn concurrent_claimers_never_get_the_same_message(backend) {
        const MESSAGES: usize = 60;
        const WORKERS: usize = 8;
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        let messages: Vec<_> = (0..MESSAGES)
            .map(|n| {
                OutboxMessage::new(format!("m{n:02}"), "t1", OutboxKind::Callback, "https://rp.example/cb", "{}".into(),
                    Timestamp(1_000), Timestamp(999_000))
            })
            .collect();
        s.enqueue(&messages).await.unwrap();
        // Workers claim small batches until the queue is empty, all at the same instant,
        // with leases that outlive the test: a message claimed is never due again here.
        let workers: Vec<_> = (0..WORKERS)
            .map(|_| {
                let s = s.clone();
                tokio::spawn(async move {
                    let mut got = Vec::new();
                    loop {
                        let batch = s.claim_outbox(Timestamp(2_000), Timestamp(500_000), 3).await.unwrap();
                        if batch.is_empty() {
                            return got;
                        }
                        got.extend(batch.into_iter().map(|m| m.id));
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        let mut claimed = Vec::new();
        let mut busy = 0;
        for w in workers {
            let got = w.await.unwrap();
            busy += usize::from(!got.is_empty());
            claimed.extend(got);
        }
        let total = claimed.len();
        claimed.sort();
        claimed.dedup();
        assert_eq!(claimed.len(), total, "a message was claimed twice");
        assert_eq!(total, MESSAGES, "every message claimed once");
        assert!(busy >= 1);
        let counts = s.outbox_counts().await.unwrap();
        assert!(counts.contains(&(countersign_core::delivery::outbox::OutboxState::Sending, MESSAGES as u64)), "{counts:?}");
    }
}
