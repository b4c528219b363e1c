//! Login sessions (`SessionStore`).

use super::*;
use countersign_core::delivery::outbox::{OutboxKind, OutboxMessage};
use countersign_core::methods::{Delivery, Method};
use countersign_core::mobile::qr::QrLogin;
use countersign_core::session::{Ending, NewSession};

fn new(id: &str, expires: i64) -> NewSession {
    let mut n = NewSession::not_push(
        id.into(),
        "t1",
        "u1",
        "m".into(),
        Some(Method::Push),
        Timestamp(5_000),
        Timestamp(expires),
    );
    n.delivery = Delivery::PushNotification;
    n
}

/// The callback an ending to `state` of session `id` would queue.
fn callback(id: &str, state: SessionState, n: usize) -> OutboxMessage {
    let body = format!(r#"{{"requestID":"{id}","sessionStatus":"{}"}}"#, state.as_str());
    OutboxMessage::new(
        format!("{id}-cb-{n}"),
        "t1",
        OutboxKind::Callback,
        "https://rp.example/cb",
        body,
        Timestamp(5_000),
        Timestamp(999_000),
    )
}

async fn store_with_alice(db: &TestDb) -> Arc<dyn Store> {
    let s = store_with_tenants(db).await;
    s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
    s
}

backend_tests! {
    async fn every_methods_session_reads_back_as_it_was_stored(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_alice(&db).await;
        let mut kinds: Vec<(Option<Method>, Delivery, &str)> = vec![(None, Delivery::None, "adaptive login")];
        for m in Method::ALL {
            let (d, message) = match m {
                _ if m.is_push() => (Delivery::PushNotification, "Log in?"),
                _ if m.is_code() => (Delivery::Message, "sms"),
                Method::Uaf => (Delivery::None, "UAF"),
                _ => (Delivery::None, "x"),
            };
            kinds.push((Some(m), d, message));
        }
        kinds.push((Some(Method::PushPin), Delivery::RequestMessage, "Log in?"));
        kinds.push((Some(Method::Sms), Delivery::Custom, "votpCustomDelivery"));
        for (i, (method, delivery, message)) in kinds.into_iter().enumerate() {
            let id = format!("s{i}");
            let mut n = NewSession::not_push(id.clone(), "t1", "u1", message.into(), method, Timestamp(5_000), Timestamp(60_000));
            n.delivery = delivery;
            if method == Some(Method::PushCustom) {
                n.custom_authenticator = Some("face-id".into());
            }
            let session = Session::pending(n);
            s.insert_session(&session, &[], &[]).await.unwrap();
            assert_eq!(s.session(&id).await.unwrap(), Some(session), "{method:?} {delivery:?}");
        }
        // The device sees its pushes only; the login-request limit counts what was sent.
        let pending = s.pending_sessions("u1", Timestamp(6_000)).await.unwrap();
        assert!(pending.iter().all(|p| p.method.is_some_and(Method::is_push)) && pending.len() == 5, "{pending:?}");
        let (sent, _) = s.login_requests_since("u1", Timestamp(0)).await.unwrap();
        assert_eq!(sent, 3 + 4, "three codes sent and four pushes notified");
    }

    async fn a_qr_login_keeps_the_user_it_is_bound_to(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_alice(&db).await;
        for (id, user) in [("q1", None), ("q2", Some("u1".to_owned()))] {
            let q = QrLogin {
                id: id.into(),
                tenant_id: "t1".into(),
                code_hash: "h".into(),
                created_at: Timestamp(5_000),
                expires_at: Timestamp(60_000),
                claimed_at: None,
                user_pk: user,
            };
            s.insert_qr_login(&q).await.unwrap();
            assert_eq!(s.qr_login(id).await.unwrap(), Some(q));
        }
    }

    async fn pending_sessions_are_counted_across_tenants_until_they_end_or_expire(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_user(&user("u2", "t2", "bob")).await.unwrap();
        assert_eq!(s.count_pending_sessions(Timestamp(10_000)).await.unwrap(), 0);
        let session = |id: &str, tenant: &str, user: &str, expires: i64| {
            let mut n =
                NewSession::not_push(id.into(), tenant, user, "m".into(), Some(Method::Sms), Timestamp(5_000), Timestamp(expires));
            n.delivery = Delivery::Message;
            n
        };
        let a = Session::pending(session("a", "t1", "u1", 60_000));
        s.insert_session(&a, &[], &[]).await.unwrap();
        s.insert_session(&Session::pending(session("b", "t2", "u2", 90_000)), &[], &[]).await.unwrap();
        // Pending in the table but past its expiry: not pending any more.
        s.insert_session(&Session::pending(session("c", "t1", "u1", 9_000)), &[], &[]).await.unwrap();
        // Final when inserted (a login decided at once).
        let accepted = Session::ended(session("d", "t2", "u2", 90_000), Ending::accept()).unwrap();
        s.insert_session(&accepted, &[], &[]).await.unwrap();
        assert_eq!(s.count_pending_sessions(Timestamp(10_000)).await.unwrap(), 2);

        let t = a.finish(&Ending::new(SessionState::Decline), Timestamp(11_000)).unwrap();
        assert!(s.finish_session(&t, &[], &[]).await.unwrap());
        assert_eq!(s.count_pending_sessions(Timestamp(11_000)).await.unwrap(), 1);
        // At its expiry instant a session is no longer pending.
        assert_eq!(s.count_pending_sessions(Timestamp(90_000)).await.unwrap(), 0);
    }

    async fn ended_among_names_the_ended_sessions_of_those_asked_about(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_alice(&db).await;
        assert!(s.ended_among(&[]).await.unwrap().is_empty());
        let mut ids = Vec::new();
        for i in 0..6 {
            let id = format!("e{i}");
            s.insert_session(&Session::pending(new(&id, 60_000)), &[], &[]).await.unwrap();
            ids.push(id);
        }
        for id in ["e1", "e4"] {
            let t = s.session(id).await.unwrap().unwrap().finish(&Ending::new(SessionState::Accept), Timestamp(6_000)).unwrap();
            assert!(s.finish_session(&t, &[], &[]).await.unwrap());
        }
        // An unknown ID is not "ended"; a pending one past its deadline is still pending
        // in the table (the sweeper records it; its waiter wakes at its own deadline).
        ids.push("nosuch".into());
        let mut ended = s.ended_among(&ids).await.unwrap();
        ended.sort();
        assert_eq!(ended, ["e1", "e4"]);
        // Many at once: the most one call takes.
        let many: Vec<String> = (0..countersign_core::store::ENDED_AMONG_MAX).map(|i| if i == 7 { "e4".into() } else { format!("x{i}") }).collect();
        assert_eq!(s.ended_among(&many).await.unwrap(), ["e4"]);
    }

    async fn racing_transitions_leave_one_winner_and_one_callback(backend) {
        const TASKS: usize = 16;
        let db = TestDb::new(backend).await;
        let s = store_with_alice(&db).await;
        for round in 0..4 {
            let id = format!("race-{round}");
            let session = Session::pending(new(&id, 60_000));
            s.insert_session(&session, &[], &[]).await.unwrap();
            // Answers just before the deadline, sweepers just after it: each transition is
            // valid as read, and only one may apply.
            let finals = [SessionState::Accept, SessionState::Decline, SessionState::Failed, SessionState::Timeout];
            let tasks: Vec<_> = (0..TASKS)
                .map(|n| {
                    let (s, session) = (s.clone(), session.clone());
                    let to = finals[(n + round) % finals.len()];
                    let at = if to == SessionState::Timeout { Timestamp(60_000 + n as i64) } else { Timestamp(59_000 + n as i64) };
                    let t = session.finish(&Ending::new(to).by(&format!("d{n}")), at).unwrap();
                    let cb = callback(&session.id, to, n);
                    tokio::spawn(async move { (to, n, s.finish_session(&t, &[cb], &[]).await.unwrap()) })
                })
                .collect();
            let mut winners = Vec::new();
            for t in tasks {
                let (to, n, won) = t.await.unwrap();
                if won {
                    winners.push((to, n));
                }
            }
            assert_eq!(winners.len(), 1, "exactly one transition wins: {winners:?}");
            let (to, n) = winners[0];
            let row = s.session(&id).await.unwrap().unwrap();
            assert_eq!((row.state(), row.device_id()), (to, Some(format!("d{n}").as_str())));
            let callbacks: Vec<_> = s.list_outbox(None, None, 1000).await.unwrap().into_iter()
                .filter(|m| m.payload.contains(&format!(r#""requestID":"{id}""#)))
                .collect();
            assert_eq!(callbacks.len(), 1, "one callback row, the winner's");
            assert_eq!(callbacks[0].id, format!("{id}-cb-{n}"));
        }
    }

    async fn the_store_checks_the_deadline_the_transition_was_made_for(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_alice(&db).await;
        s.insert_session(&Session::pending(new("a", 60_000)), &[], &[]).await.unwrap();
        // Read with a later deadline than the row's (a stale copy): the answer at 70 s is
        // valid as read, but the row expired at 60 s.
        let stale = Session::pending(new("a", 100_000));
        let late = stale.finish(&Ending::accept(), Timestamp(70_000)).unwrap();
        assert!(!s.finish_session(&late, &[callback("a", SessionState::Accept, 0)], &[]).await.unwrap());
        // Read with an earlier deadline: a timeout at 55 s is valid as read, but the row
        // is pending until 60 s.
        let early = Session::pending(new("a", 50_000));
        let timeout = early.finish(&Ending::new(SessionState::Timeout), Timestamp(55_000)).unwrap();
        assert!(!s.finish_session(&timeout, &[callback("a", SessionState::Timeout, 1)], &[]).await.unwrap());
        assert_eq!(s.session("a").await.unwrap().unwrap().state(), SessionState::Pending);
        assert!(s.list_outbox(None, None, 10).await.unwrap().is_empty(), "nothing queued by a refused transition");
        // At the deadline itself it is a timeout, decided at the deadline.
        let row = s.session("a").await.unwrap().unwrap();
        let timeout = row.finish(&Ending::new(SessionState::Timeout), Timestamp(60_000)).unwrap();
        assert!(s.finish_session(&timeout, &[], &[]).await.unwrap());
        let row = s.session("a").await.unwrap().unwrap();
        assert_eq!((row.state(), row.decided_at()), (SessionState::Timeout, Some(Timestamp(60_000))));
    }

    async fn expired_sessions_are_the_pending_ones_past_their_deadline_bounded_oldest_first(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_alice(&db).await;
        assert!(s.expired_sessions(Timestamp(10_000), 10).await.unwrap().is_empty());
        for (id, expires) in [("e7", 7_000), ("e5", 5_000), ("e6", 6_000), ("live", 20_000)] {
            s.insert_session(&Session::pending(new(id, expires)), &[], &[]).await.unwrap();
        }
        // Ended sessions are never expired, whatever their deadline.
        s.insert_session(&Session::ended(new("done", 1_000), Ending::accept()).unwrap(), &[], &[]).await.unwrap();
        let ids = |v: Vec<Session>| v.into_iter().map(|s| s.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(s.expired_sessions(Timestamp(10_000), 10).await.unwrap()), ["e5", "e6", "e7"]);
        assert_eq!(ids(s.expired_sessions(Timestamp(10_000), 2).await.unwrap()), ["e5", "e6"], "bounded");
        assert_eq!(ids(s.expired_sessions(Timestamp(6_000), 10).await.unwrap()), ["e5", "e6"], "at the deadline it has expired");
        let e5 = s.session("e5").await.unwrap().unwrap();
        let t = e5.finish(&Ending::new(SessionState::Timeout), Timestamp(10_000)).unwrap();
        assert!(s.finish_session(&t, &[], &[]).await.unwrap());
        assert_eq!(ids(s.expired_sessions(Timestamp(10_000), 10).await.unwrap()), ["e6", "e7"]);
    }
}
