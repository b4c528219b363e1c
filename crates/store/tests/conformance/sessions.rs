//! Login sessions (`SessionStore`).

use super::*;

backend_tests! {
    async fn pending_sessions_are_counted_across_tenants_until_they_end_or_expire(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_user(&user("u2", "t2", "bob")).await.unwrap();
        assert_eq!(s.count_pending_sessions(Timestamp(10_000)).await.unwrap(), 0);
        let session = |id: &str, tenant: &str, user: &str, expires: i64| {
            Session::not_push(id.into(), tenant, user, "m".into(), "sms", Timestamp(5_000), Timestamp(expires))
        };
        s.insert_session(&session("a", "t1", "u1", 60_000), &[]).await.unwrap();
        s.insert_session(&session("b", "t2", "u2", 90_000), &[]).await.unwrap();
        // Pending in the table but past its expiry: not pending any more.
        s.insert_session(&session("c", "t1", "u1", 9_000), &[]).await.unwrap();
        // Final when inserted (a login decided at once).
        let accepted = Session { state: SessionState::Accept, ..session("d", "t2", "u2", 90_000) };
        s.insert_session(&accepted, &[]).await.unwrap();
        assert_eq!(s.count_pending_sessions(Timestamp(10_000)).await.unwrap(), 2);

        let t = SessionState::Pending.finish(SessionState::Decline).unwrap();
        assert!(s.finish_session("a", t, Timestamp(11_000), None, None, &[]).await.unwrap());
        assert_eq!(s.count_pending_sessions(Timestamp(11_000)).await.unwrap(), 1);
        // At its expiry instant a session is no longer pending.
        assert_eq!(s.count_pending_sessions(Timestamp(90_000)).await.unwrap(), 0);
    }
}
