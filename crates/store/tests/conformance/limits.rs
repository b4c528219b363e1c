//! Request-limit counters (`LimitStore`; docs/security.md, "Request limits"): each
//! request in a bucket's window gets a count of its own, also when many arrive at once;
//! buckets and windows are independent; ended windows are purged in batches.

use super::*;
use countersign_core::Hit;

const START: Timestamp = Timestamp(120_000);
const END: Timestamp = Timestamp(180_000);
/// Requests counted at once in one bucket.
const RACERS: u32 = 40;

backend_tests! {
    async fn counts_go_up_per_bucket_and_window(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        for n in 1..=3 {
            assert_eq!(s.count_hit("mobile_address:aa", START, END).await.unwrap(), Hit { count: n, window_ends: END });
        }
        // Another bucket, and the same bucket's next window, start from one.
        assert_eq!(s.count_hit("mobile_address:bb", START, END).await.unwrap().count, 1);
        let next = s.count_hit("mobile_address:aa", END, Timestamp(240_000)).await.unwrap();
        assert_eq!(next, Hit { count: 1, window_ends: Timestamp(240_000) });
        assert_eq!(s.count_hit("mobile_address:aa", START, END).await.unwrap().count, 4);
    }

    async fn concurrent_hits_each_get_their_own_count(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        // Two stores on one database: two nodes.
        let other = db.store().await;
        let tasks: Vec<_> = (0..RACERS)
            .map(|i| {
                let s = if i % 2 == 0 { s.clone() } else { other.clone() };
                tokio::spawn(async move { s.count_hit("api_key:cc", START, END).await.unwrap().count })
            })
            .collect();
        let mut got = Vec::new();
        for t in tasks {
            got.push(t.await.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, (1..=RACERS).collect::<Vec<_>>(), "every count handed out once");
    }

    async fn ended_windows_are_purged_in_batches(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        for i in 0..5 {
            s.count_hit(&format!("answer_device:{i}"), START, END).await.unwrap();
        }
        s.count_hit("answer_device:0", END, Timestamp(240_000)).await.unwrap();
        // Nothing has ended before the window's end.
        assert_eq!(s.purge_limits_before(Timestamp(179_999), 100).await.unwrap(), 0);
        assert_eq!(s.purge_limits_before(END, 3).await.unwrap(), 3);
        assert_eq!(s.purge_limits_before(END, 3).await.unwrap(), 2);
        assert_eq!(s.purge_limits_before(END, 3).await.unwrap(), 0);
        // The open window keeps counting where it was.
        assert_eq!(s.count_hit("answer_device:0", END, Timestamp(240_000)).await.unwrap().count, 2);
        // A purged window, were it counted again, starts afresh.
        assert_eq!(s.count_hit("answer_device:1", START, END).await.unwrap().count, 1);
    }
}
