//! Login sessions (`SessionStore`).

use super::*;
use countersign_core::session::{Ending, NewSession};

backend_tests! {
    async fn pending_sessions_are_counted_across_tenants_until_they_end_or_expire(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_user(&user("u2", "t2", "bob")).await.unwrap();
        assert_eq!(s.count_pending_sessions(Timestamp(10_000)).await.unwrap(), 0);
        let session = |id: &str, tenant: &str, user: &str, expires: i64| {
            NewSession::not_push(id.into(), tenant, user, "m".into(), "sms", Timestamp(5_000), Timestamp(expires))
        };
        let a = Session::pending(session("a", "t1", "u1", 60_000));
        s.insert_session(&a, &[]).await.unwrap();
        s.insert_session(&Session::pending(session("b", "t2", "u2", 90_000)), &[]).await.unwrap();
        // Pending in the table but past its expiry: not pending any more.
        s.insert_session(&Session::pending(session("c", "t1", "u1", 9_000)), &[]).await.unwrap();
        // Final when inserted (a login decided at once).
        let accepted = Session::ended(session("d", "t2", "u2", 90_000), Ending::accept()).unwrap();
        s.insert_session(&accepted, &[]).await.unwrap();
        assert_eq!(s.count_pending_sessions(Timestamp(10_000)).await.unwrap(), 2);

        let t = a.finish(&Ending::new(SessionState::Decline), Timestamp(11_000)).unwrap();
        assert!(s.finish_session(&t, &[]).await.unwrap());
        assert_eq!(s.count_pending_sessions(Timestamp(11_000)).await.unwrap(), 1);
        // At its expiry instant a session is no longer pending.
        assert_eq!(s.count_pending_sessions(Timestamp(90_000)).await.unwrap(), 0);
    }
}
