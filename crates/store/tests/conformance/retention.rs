//! Retention's purges (docs/security.md, "Retention"): rows past the cut-off go, oldest
//! first and at most a batch at a time; recent rows stay; a pending session never goes.

use super::*;
use countersign_core::delivery::outbox::{OutboxKind, OutboxMessage, OutboxState};
use countersign_core::device::{Activation, ActivationState};
use countersign_core::methods::{Delivery, Method};
use countersign_core::mobile::qr::QrLogin;
use countersign_core::session::{Ending, NewSession, SessionCode};

fn session(id: &str, created: i64) -> NewSession {
    let mut n = NewSession::not_push(
        id.into(),
        "t1",
        "u1",
        "sms".into(),
        Some(Method::Sms),
        Timestamp(created),
        Timestamp(created + 60_000),
    );
    n.delivery = Delivery::Message;
    n
}

fn message(id: &str, created: i64) -> OutboxMessage {
    OutboxMessage::new(
        id.into(),
        "t1",
        OutboxKind::Callback,
        "https://rp.example/cb",
        "{}".into(),
        Timestamp(created),
        Timestamp(created + 86_400_000),
    )
}

async fn ids<T>(rows: Vec<T>, id: fn(&T) -> String) -> Vec<String> {
    let mut v: Vec<String> = rows.iter().map(id).collect();
    v.sort();
    v
}

backend_tests! {
    async fn old_ended_sessions_go_in_batches_recent_and_pending_ones_stay(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        // Ended long ago (decided at creation), twice; ended recently; pending long ago
        // (past its deadline, never swept); pending now.
        for (id, created) in [("old1", 1_000), ("old2", 2_000), ("new", 900_000)] {
            s.insert_session(&Session::ended(session(id, created), Ending::accept()).unwrap(), &[], &[]).await.unwrap();
        }
        let code = |id: &str| SessionCode {
            session_id: id.into(),
            code_hash: "h".into(),
            attempts: 0,
            max_attempts: 3,
            resends: 0,
            max_resends: 0,
            message_id: None,
            custom_code: None,
        };
        s.insert_code_session(&Session::pending(session("stuck", 1_500)), &code("stuck"), &[]).await.unwrap();
        s.insert_code_session(&Session::pending(session("live", 950_000)), &code("live"), &[]).await.unwrap();
        // A code session that ended long ago takes its code with it.
        let coded = Session::pending(session("coded", 500));
        s.insert_code_session(&coded, &code("coded"), &[]).await.unwrap();
        let t = coded.finish(&Ending::failed("otp_attempts_exceeded"), Timestamp(600)).unwrap();
        assert!(s.finish_session(&t, &[], &[]).await.unwrap());

        let cutoff = Timestamp(500_000);
        assert_eq!(s.delete_ended_sessions_before(cutoff, 2).await.unwrap(), 2, "a bounded batch");
        assert!(s.session("coded").await.unwrap().is_none(), "oldest first");
        assert!(s.session_code("coded").await.unwrap().is_none(), "its code goes with it");
        assert_eq!(s.delete_ended_sessions_before(cutoff, 100).await.unwrap(), 1);
        assert_eq!(s.delete_ended_sessions_before(cutoff, 100).await.unwrap(), 0);
        for gone in ["old1", "old2"] {
            assert!(s.session(gone).await.unwrap().is_none(), "{gone}");
        }
        for kept in ["new", "stuck", "live"] {
            assert!(s.session(kept).await.unwrap().is_some(), "{kept}");
        }
        assert!(s.session_code("stuck").await.unwrap().is_some(), "a pending session never goes");
        // Even with the cut-off far in the future, only ended sessions go.
        assert_eq!(s.delete_ended_sessions_before(Timestamp(i64::MAX), 100).await.unwrap(), 1);
        assert!(s.session("stuck").await.unwrap().is_some() && s.session("live").await.unwrap().is_some());
    }

    async fn sent_and_dead_messages_failures_qr_logins_and_activations_go_after_their_period(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        let msgs: Vec<_> = [("sent-old", 1_000), ("sent-new", 900_000), ("dead-old", 1_000), ("dead-new", 900_000), ("queued-old", 1_000)]
            .into_iter()
            .map(|(id, at)| message(id, at))
            .collect();
        s.enqueue(&msgs).await.unwrap();
        s.outbox_sent("sent-old", Timestamp(2_000)).await.unwrap();
        s.outbox_sent("sent-new", Timestamp(900_001)).await.unwrap();
        s.outbox_dead("dead-old", 3, "gone").await.unwrap();
        s.outbox_dead("dead-new", 3, "gone").await.unwrap();
        let cutoff = Timestamp(500_000);
        assert_eq!(s.delete_sent_outbox_before(cutoff, 100).await.unwrap(), 1);
        assert_eq!(s.delete_dead_outbox_before(cutoff, 100).await.unwrap(), 1);
        let left = ids(s.list_outbox(None, None, 100).await.unwrap(), |m| m.id.clone()).await;
        assert_eq!(left, ["dead-new", "queued-old", "sent-new"]);
        assert!(s.list_outbox(Some(OutboxState::Queued), None, 10).await.unwrap().iter().any(|m| m.id == "queued-old"));

        for (id, at) in [("f1", 1_000), ("f2", 2_000), ("f3", 900_000)] {
            s.record_failure(id, "t1", Some("u1"), Some("192.0.2.1"), Timestamp(at)).await.unwrap();
        }
        assert_eq!(s.delete_failures_before(cutoff, 1).await.unwrap(), 1);
        assert_eq!(s.delete_failures_before(cutoff, 100).await.unwrap(), 1);
        assert_eq!(s.user_failures_since("u1", Timestamp(0)).await.unwrap(), 1);

        for (id, expires) in [("q-old", 60_000), ("q-new", 960_000)] {
            let q = QrLogin { id: id.into(), tenant_id: "t1".into(), code_hash: "h".into(), created_at: Timestamp(expires - 60_000),
                expires_at: Timestamp(expires), claimed_at: None, user_pk: None };
            s.insert_qr_login(&q).await.unwrap();
        }
        assert_eq!(s.delete_qr_logins_before(cutoff, 100).await.unwrap(), 1);
        assert!(s.qr_login("q-old").await.unwrap().is_none() && s.qr_login("q-new").await.unwrap().is_some());

        for (id, expires) in [("a-old", 60_000), ("a-new", 960_000)] {
            let a = Activation { id: id.into(), tenant_id: "t1".into(), user_pk: "u1".into(), code_hash: "h".into(),
                state: ActivationState::Pending, attempts: 0, nonce: None, qr_sealed: None,
                created_at: Timestamp(expires - 60_000), expires_at: Timestamp(expires) };
            s.insert_activation(&a).await.unwrap();
        }
        assert_eq!(s.delete_activations_before(cutoff, 100).await.unwrap(), 1);
        assert!(s.activation("a-old").await.unwrap().is_none() && s.activation("a-new").await.unwrap().is_some());
    }
}
