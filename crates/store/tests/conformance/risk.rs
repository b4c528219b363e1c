//! The risk engine's memory (`RiskStore`): rules per tenant, a profile per user, what a
//! pending challenge teaches (taken once, swept when old), removed with their owners.

use super::*;

backend_tests! {
    async fn rules_profiles_and_pending_challenges(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.set_risk_rules("t1", "{\"rules\":[]}", Timestamp(1)).await.unwrap();
        s.set_risk_rules("t1", "{\"rules\":[1]}", Timestamp(2)).await.unwrap();
        assert_eq!(s.risk_rules("t1").await.unwrap().as_deref(), Some("{\"rules\":[1]}"));
        assert_eq!(s.risk_rules("t2").await.unwrap(), None);
        s.set_risk_profile("t1", "u1", "{\"devices\":[]}", Timestamp(1)).await.unwrap();
        s.set_risk_profile("t1", "u1", "{\"devices\":[\"d\"]}", Timestamp(2)).await.unwrap();
        assert_eq!(s.risk_profile("u1").await.unwrap().as_deref(), Some("{\"devices\":[\"d\"]}"));

        s.insert_risk_pending("r1", "t1", "{\"fingerprint\":\"a\"}", Timestamp(1_000)).await.unwrap();
        s.insert_risk_pending("r2", "t1", "{}", Timestamp(5_000)).await.unwrap();
        // Taken once: concurrent ends of one challenge learn once.
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.take_risk_pending("r1").await }));
        }
        let mut got = 0;
        for t in tasks {
            if let Ok(Some(doc)) = t.await.unwrap() {
                assert_eq!(doc, "{\"fingerprint\":\"a\"}");
                got += 1;
            }
        }
        assert_eq!(got, 1);
        assert_eq!(s.delete_risk_pending_before(Timestamp(5_000)).await.unwrap(), 0);
        assert_eq!(s.delete_risk_pending_before(Timestamp(5_001)).await.unwrap(), 1);
        assert_eq!(s.take_risk_pending("r2").await.unwrap(), None);
    }

    async fn profiles_go_with_the_user_and_rules_with_the_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.set_risk_profile("t1", "u1", "{}", Timestamp(1)).await.unwrap();
        assert!(s.set_risk_profile("t1", "nobody", "{}", Timestamp(1)).await.is_err(), "a profile needs its user");
        assert!(s.delete_user("t1", "alice").await.unwrap());
        assert_eq!(s.risk_profile("u1").await.unwrap(), None);
        s.set_risk_rules("t1", "{}", Timestamp(1)).await.unwrap();
        s.insert_risk_pending("r1", "t1", "{}", Timestamp(1)).await.unwrap();
        assert!(s.delete_tenant("t1").await.unwrap());
        assert_eq!(s.risk_rules("t1").await.unwrap(), None);
        assert_eq!(s.take_risk_pending("r1").await.unwrap(), None);
    }
}
