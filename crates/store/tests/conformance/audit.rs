//! The audit log (`AuditStore`): one hash chain whatever the concurrency — appends from
//! many tasks and from two connection pools (two nodes) make no fork; an ending's entry
//! is written with it or not at all; names are filled in; retention purges from the
//! start and moves the chain's base.

use super::*;
use countersign_core::audit::{AuditEntry, AuditHead, AuditQuery, AuditRecord, ChainWalk, GENESIS_HASH};
use countersign_core::methods::{Delivery, Method};
use countersign_core::session::{Ending, NewSession};

fn record(at: i64, kind: &str, tenant_id: Option<&str>, user_pk: Option<&str>) -> AuditRecord {
    AuditRecord {
        at: Timestamp(at),
        tenant_id: tenant_id.map(Into::into),
        tenant: None,
        user_pk: user_pk.map(Into::into),
        user: None,
        kind: kind.into(),
        actor: "system".into(),
        details: format!("{{\"at\":{at}}}"),
    }
}

fn all() -> AuditQuery {
    AuditQuery { limit: 10_000, ..AuditQuery::default() }
}

/// Walk the whole chain as `admin audit verify` does: the entries checked.
fn verify(entries: &[AuditEntry], head: &AuditHead) -> u64 {
    let mut walk = ChainWalk::new(head);
    for e in entries {
        walk.step(e).unwrap_or_else(|p| panic!("chain broken: {p}"));
    }
    walk.finish(head).unwrap_or_else(|p| panic!("chain broken at its end: {p}"))
}

backend_tests! {
    async fn a_users_newest_entries_come_first_when_asked(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        for at in 1..=5 {
            s.append_audit(&[record(at * 1_000, "login_succeeded", Some("t1"), Some("u1"))]).await.unwrap();
            s.append_audit(&[record(at * 1_000 + 1, "admin_change", Some("t1"), None)]).await.unwrap();
        }
        let q = AuditQuery { tenant_id: Some("t1".into()), user: Some("alice".into()), limit: 3, newest_first: true, ..AuditQuery::default() };
        let at: Vec<i64> = s.audit_entries(&q).await.unwrap().iter().map(|e| e.at.millis()).collect();
        assert_eq!(at, [5_000, 4_000, 3_000]);
        let oldest = AuditQuery { newest_first: false, ..q };
        let at: Vec<i64> = s.audit_entries(&oldest).await.unwrap().iter().map(|e| e.at.millis()).collect();
        assert_eq!(at, [1_000, 2_000, 3_000]);
    }

    async fn entries_chain_take_their_names_and_filter(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        let head = s.audit_head().await.unwrap();
        assert_eq!((head.seq, head.hash.as_str(), head.base_seq), (0, GENESIS_HASH, 0));

        s.append_audit(&[record(1_000, "login_succeeded", Some("t1"), Some("u1"))]).await.unwrap();
        // Named by domain only: the tenant's ID is found; a deleted user keeps its name.
        let by_name = AuditRecord { tenant: Some("two.example".into()), user: Some("gone".into()), ..record(2_000, "admin_change", None, None) };
        s.append_audit(&[by_name, record(3_000, "key_rotated", None, None)]).await.unwrap();
        let e = s.audit_entries(&all()).await.unwrap();
        assert_eq!(e.len(), 3);
        assert_eq!((e[0].tenant_id.as_deref(), e[0].tenant.as_deref(), e[0].user.as_deref()), (Some("t1"), Some("one.example"), Some("alice")));
        assert_eq!((e[1].tenant_id.as_deref(), e[1].tenant.as_deref(), e[1].user.as_deref()), (Some("t2"), Some("two.example"), Some("gone")));
        assert_eq!((e[2].tenant_id.as_deref(), e[2].tenant.as_deref()), (None, None));
        assert_eq!(e[0].prev_hash, GENESIS_HASH);
        assert_eq!(e[1].prev_hash, e[0].hash);
        assert_eq!(e[2].details, "{\"at\":3000}");
        let head = s.audit_head().await.unwrap();
        assert_eq!((head.seq, &head.hash), (3, &e[2].hash));
        assert_eq!(verify(&e, &head), 3);

        let q = |f: fn(&mut AuditQuery)| {
            let mut q = all();
            f(&mut q);
            let s = s.clone();
            async move { s.audit_entries(&q).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>() }
        };
        assert_eq!(q(|q| q.tenant = Some("one.example".into())).await, [1]);
        assert_eq!(q(|q| q.tenant_id = Some("t2".into())).await, [2]);
        assert_eq!(q(|q| q.user = Some("alice".into())).await, [1]);
        assert_eq!(q(|q| q.kind = Some("key_rotated".into())).await, [3]);
        assert_eq!(q(|q| { q.since = Some(Timestamp(2_000)); q.until = Some(Timestamp(3_000)); }).await, [2]);
        assert_eq!(q(|q| { q.after = Some(1); q.limit = 1; }).await, [2]);
    }

    async fn concurrent_appends_from_two_nodes_make_one_chain(backend) {
        const TASKS: usize = 16;
        const EACH: usize = 6;
        let db = TestDb::new(backend).await;
        let a = store_with_tenants(&db).await;
        // A second pool on the same database: another node.
        let b = db.store().await;
        let tasks: Vec<_> = (0..TASKS)
            .map(|t| {
                let s = if t % 2 == 0 { a.clone() } else { b.clone() };
                tokio::spawn(async move {
                    for n in 0..EACH {
                        let r = record(1_000 + n as i64, "login_failed", Some("t1"), None);
                        // Some appends carry two entries in one transaction.
                        if n % 3 == 0 {
                            s.append_audit(&[r.clone(), r]).await.unwrap();
                        } else {
                            s.append_audit(&[r]).await.unwrap();
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let entries = a.audit_entries(&all()).await.unwrap();
        let expected = TASKS * (EACH + EACH / 3);
        assert_eq!(entries.len(), expected);
        let head = b.audit_head().await.unwrap();
        assert_eq!(verify(&entries, &head), expected as u64, "one chain, no fork, no gap");
        let mut prevs: Vec<&str> = entries.iter().map(|e| e.prev_hash.as_str()).collect();
        prevs.sort_unstable();
        prevs.dedup();
        assert_eq!(prevs.len(), expected, "no two entries follow the same one");
    }

    async fn an_ending_appends_with_its_transition_and_a_lost_race_appends_nothing(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        let mut n = NewSession::not_push("s1".into(), "t1", "u1", "m".into(), Some(Method::Push), Timestamp(5_000), Timestamp(60_000));
        n.delivery = Delivery::PushNotification;
        let pending = Session::pending(n.clone());
        s.insert_session(&pending, &[], &[]).await.unwrap();
        let racers: Vec<_> = (0..8)
            .map(|i| {
                let (s, pending) = (s.clone(), pending.clone());
                tokio::spawn(async move {
                    let t = pending.finish(&Ending::accept(), Timestamp(6_000 + i)).unwrap();
                    s.finish_session(&t, &[], &[record(6_000 + i, "login_succeeded", Some("t1"), Some("u1"))]).await.unwrap()
                })
            })
            .collect();
        let mut won = 0;
        for r in racers {
            won += usize::from(r.await.unwrap());
        }
        assert_eq!(won, 1);
        let e = s.audit_entries(&all()).await.unwrap();
        assert_eq!(e.len(), 1, "only the winning transition is recorded");
        assert_eq!(e[0].user.as_deref(), Some("alice"));
        // A session created ended appends with it.
        n.id = "s2".into();
        let ended = Session::ended(n, Ending::failed("no_device")).unwrap();
        s.insert_session(&ended, &[], &[record(7_000, "login_failed", Some("t1"), Some("u1"))]).await.unwrap();
        assert_eq!(s.audit_head().await.unwrap().seq, 2);
    }

    async fn purging_removes_the_oldest_and_moves_the_base(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        for at in [1_000, 2_000, 3_000, 2_500, 5_000] {
            s.append_audit(&[record(at, "admin_change", None, None)]).await.unwrap();
        }
        let before = s.audit_entries(&all()).await.unwrap();
        // Only from the start: the entry dated 2 500 after one dated 3 000 stays.
        assert_eq!(s.purge_audit_before(Timestamp(3_000), 100).await.unwrap(), 2);
        let head = s.audit_head().await.unwrap();
        assert_eq!((head.base_seq, &head.base_hash), (2, &before[1].hash));
        let left = s.audit_entries(&all()).await.unwrap();
        assert_eq!(left.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
        assert_eq!(verify(&left, &head), 3);
        // Bounded batches.
        assert_eq!(s.purge_audit_before(Timestamp(9_000), 2).await.unwrap(), 2);
        assert_eq!(s.purge_audit_before(Timestamp(1), 100).await.unwrap(), 0);
        s.append_audit(&[record(9_000, "admin_change", None, None)]).await.unwrap();
        let left = s.audit_entries(&all()).await.unwrap();
        assert_eq!(verify(&left, &s.audit_head().await.unwrap()), 2);
    }
}
