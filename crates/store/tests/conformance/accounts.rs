//! Tenants, users, access keys and the database itself (`AccountStore`).

use super::*;

backend_tests! {
    async fn migrations_are_idempotent_and_ping_works(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        s.migrate().await.unwrap();
        s.ping().await.unwrap();
        // A second store on the same database sees the same state.
        s.insert_tenant(&tenant("t1", "one.example")).await.unwrap();
        let again = db.store().await;
        assert!(again.tenant_by_id("t1").await.unwrap().is_some());
        again.close().await;
        s.close().await;
    }

    async fn tenants_round_trip_and_conflict(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        let mut t = tenant("t1", "one.example");
        s.insert_tenant(&t).await.unwrap();
        assert_eq!(s.tenant_by_domain(&t.domain).await.unwrap(), Some(t.clone()));
        assert_eq!(s.tenant_by_id("t1").await.unwrap(), Some(t.clone()));
        // Same domain again: conflict, and the first row is untouched.
        let dup = tenant("t9", "one.example");
        assert!(matches!(s.insert_tenant(&dup).await, Err(StoreError::Conflict)));
        assert_eq!(s.tenant_by_id("t9").await.unwrap(), None);

        t.settings.login_timeout_seconds = 15;
        t.updated_at = Timestamp(9_999);
        s.update_tenant(&t).await.unwrap();
        let back = s.tenant_by_id("t1").await.unwrap().unwrap();
        assert_eq!(back.settings.login_timeout_seconds, 15);
        assert_eq!(back.updated_at, Timestamp(9_999));
        assert_eq!(back.created_at, Timestamp(1_000));

        let gone = tenant("nope", "gone.example");
        assert!(matches!(s.update_tenant(&gone).await, Err(StoreError::NotFound)));
    }

    async fn tenant_listing_is_paged_in_byte_order(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        for (i, d) in ["b.example", "a.example", "c.example", "a-b.example", "z"].iter().enumerate() {
            s.insert_tenant(&tenant(&format!("t{i}"), d)).await.unwrap();
        }
        let first = s.list_tenants(&Page { after: None, limit: 2 }).await.unwrap();
        let names: Vec<_> = first.iter().map(|t| t.domain.to_string()).collect();
        assert_eq!(names, ["a-b.example", "a.example"]);
        let rest = s.list_tenants(&Page { after: Some("a.example".into()), limit: 10 }).await.unwrap();
        let names: Vec<_> = rest.iter().map(|t| t.domain.to_string()).collect();
        assert_eq!(names, ["b.example", "c.example", "z"]);
    }

    async fn deleting_a_tenant_removes_its_users_and_keys(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_user(&user("u2", "t2", "alice")).await.unwrap();
        s.insert_access_key(&key("k1", AccessKind::ApiKey, Some("t1"), "h1")).await.unwrap();
        s.insert_access_key(&key("k2", AccessKind::ApiKey, Some("t2"), "h2")).await.unwrap();

        assert!(s.delete_tenant("t1").await.unwrap());
        assert!(!s.delete_tenant("t1").await.unwrap());
        assert_eq!(s.user("t1", "alice").await.unwrap(), None);
        assert_eq!(s.access_key_by_hash("h1").await.unwrap(), None);
        // The other tenant keeps its rows.
        assert!(s.user("t2", "alice").await.unwrap().is_some());
        assert!(s.access_key_by_hash("h2").await.unwrap().is_some());
    }

    async fn users_round_trip_per_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        let mut u = user("u1", "t1", "alice");
        s.insert_user(&u).await.unwrap();
        assert_eq!(s.user("t1", "alice").await.unwrap(), Some(u.clone()));
        // The same userID in another tenant is another user; in the same tenant, a conflict.
        s.insert_user(&user("u2", "t2", "alice")).await.unwrap();
        assert!(matches!(s.insert_user(&user("u3", "t1", "alice")).await, Err(StoreError::Conflict)));
        // userIDs are case-sensitive.
        assert_eq!(s.user("t1", "Alice").await.unwrap(), None);

        u.status = UserStatus::Locked;
        u.phone = None;
        u.email = Some("alice@one.example".into());
        u.vdp_delivery_method = VdpDeliveryMethod::Email;
        u.updated_at = Timestamp(5_000);
        s.update_user(&u).await.unwrap();
        assert_eq!(s.user("t1", "alice").await.unwrap(), Some(u.clone()));
        assert_eq!(s.user("t2", "alice").await.unwrap().unwrap().status, UserStatus::Active);

        assert!(s.delete_user("t1", "alice").await.unwrap());
        assert!(!s.delete_user("t1", "alice").await.unwrap());
        assert!(matches!(s.update_user(&u).await, Err(StoreError::NotFound)));
        assert!(s.user("t2", "alice").await.unwrap().is_some());
    }

    async fn user_listing_is_paged_and_tenant_scoped(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        for (i, name) in ["carol", "alice", "bob", "Zed"].iter().enumerate() {
            s.insert_user(&user(&format!("u{i}"), "t1", name)).await.unwrap();
        }
        s.insert_user(&user("other", "t2", "aaron")).await.unwrap();
        let all = s.list_users("t1", &Page { after: None, limit: 10 }).await.unwrap();
        let names: Vec<_> = all.iter().map(|u| u.user_id.as_str().to_owned()).collect();
        assert_eq!(names, ["Zed", "alice", "bob", "carol"]);
        let page = s.list_users("t1", &Page { after: Some("alice".into()), limit: 1 }).await.unwrap();
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].user_id.as_str(), "bob");
    }

    async fn access_keys_revoke_and_scope(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        let k1 = key("k1", AccessKind::ApiKey, Some("t1"), "h1");
        s.insert_access_key(&k1).await.unwrap();
        s.insert_access_key(&key("k2", AccessKind::ApiKey, Some("t2"), "h2")).await.unwrap();
        s.insert_access_key(&key("a1", AccessKind::AdminToken, None, "ha")).await.unwrap();
        assert!(matches!(
            s.insert_access_key(&key("k3", AccessKind::ApiKey, Some("t1"), "h1")).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(s.access_key_by_hash("h1").await.unwrap(), Some(k1.clone()));
        // With its tenant, in one read; an admin token has none.
        let (k, t) = s.access_key_with_tenant("h2").await.unwrap().unwrap();
        assert_eq!((k.id.as_str(), t.map(|t| t.domain.as_str().to_owned())), ("k2", Some("two.example".to_owned())));
        assert_eq!(s.access_key_with_tenant("h2").await.unwrap().unwrap().1, s.tenant_by_id("t2").await.unwrap());
        let (k, t) = s.access_key_with_tenant("ha").await.unwrap().unwrap();
        assert_eq!((k.id.as_str(), t), ("a1", None));
        assert!(s.access_key_with_tenant("nope").await.unwrap().is_none());

        let t1_keys = s.list_access_keys(AccessKind::ApiKey, Some("t1"), &first_page()).await.unwrap();
        assert_eq!(t1_keys.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["k1"]);
        let admin = s.list_access_keys(AccessKind::AdminToken, None, &first_page()).await.unwrap();
        assert_eq!(admin.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), ["a1"]);

        // Revoking through the wrong tenant or kind does nothing.
        assert!(!s.revoke_access_key(AccessKind::ApiKey, Some("t2"), "k1", Timestamp(7)).await.unwrap());
        assert!(!s.revoke_access_key(AccessKind::AdminToken, None, "k1", Timestamp(7)).await.unwrap());
        assert!(s.access_key_by_hash("h1").await.unwrap().is_some());

        assert!(s.revoke_access_key(AccessKind::ApiKey, Some("t1"), "k1", Timestamp(7)).await.unwrap());
        assert!(!s.revoke_access_key(AccessKind::ApiKey, Some("t1"), "k1", Timestamp(8)).await.unwrap());
        assert_eq!(s.access_key_by_hash("h1").await.unwrap(), None);
        let listed = s.list_access_keys(AccessKind::ApiKey, Some("t1"), &first_page()).await.unwrap();
        assert_eq!(listed[0].revoked_at, Some(Timestamp(7)));
    }

    async fn touch_respects_the_interval(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_access_key(&key("k1", AccessKind::ApiKey, Some("t1"), "h1")).await.unwrap();
        let last = |s: Arc<dyn Store>| async move { s.access_key_by_hash("h1").await.unwrap().unwrap().last_used_at };
        s.touch_access_key("k1", Timestamp(100_000), 60_000).await.unwrap();
        assert_eq!(last(s.clone()).await, Some(Timestamp(100_000)));
        s.touch_access_key("k1", Timestamp(130_000), 60_000).await.unwrap();
        assert_eq!(last(s.clone()).await, Some(Timestamp(100_000)), "within the interval: unchanged");
        s.touch_access_key("k1", Timestamp(160_000), 60_000).await.unwrap();
        assert_eq!(last(s.clone()).await, Some(Timestamp(160_000)));
    }

    async fn bootstrap_admin_token_happens_once_under_concurrency(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move {
                s.bootstrap_admin_token(&key(&format!("b{i}"), AccessKind::AdminToken, None, &format!("hb{i}"))).await
            }));
        }
        let mut made = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(true) => made += 1,
                Ok(false) => {}
                // Concurrent SQLite writers may be refused; none of them may create a token.
                Err(e) => eprintln!("bootstrap attempt refused: {e}"),
            }
        }
        assert_eq!(made, 1);
        assert_eq!(s.list_access_keys(AccessKind::AdminToken, None, &first_page()).await.unwrap().len(), 1);
        assert!(!s.bootstrap_admin_token(&key("late", AccessKind::AdminToken, None, "hl")).await.unwrap());
        assert_eq!(s.list_access_keys(AccessKind::AdminToken, None, &first_page()).await.unwrap().len(), 1);
    }

    async fn concurrent_inserts_of_one_domain_leave_one_row(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.insert_tenant(&tenant(&format!("t{i}"), "race.example")).await }));
        }
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap().is_ok() {
                ok += 1;
            }
        }
        assert_eq!(ok, 1);
        assert_eq!(s.list_tenants(&Page { after: None, limit: 10 }).await.unwrap().len(), 1);
    }
}
