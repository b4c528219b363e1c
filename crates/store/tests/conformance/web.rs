//! The web pages' sessions and sign-in links (`WebStore`): a link is used once even
//! under concurrent uses, and never after it expires; sessions end one by one, per
//! user, and by age.

use super::*;
use countersign_core::WebStore;
use countersign_core::web::{SignInLink, WebSession, WebSessionKind};

fn link(hash: &str, user_pk: &str, expires: i64) -> SignInLink {
    SignInLink {
        id_hash: hash.into(),
        tenant_id: "t1".into(),
        user_pk: user_pk.into(),
        created_at: Timestamp(1_000),
        expires_at: Timestamp(expires),
        used_at: None,
    }
}

fn session(hash: &str, user_pk: &str, expires: i64) -> WebSession {
    WebSession {
        id_hash: hash.into(),
        kind: WebSessionKind::SelfService,
        tenant_id: "t1".into(),
        user_pk: user_pk.into(),
        created_at: Timestamp(1_000),
        last_seen_at: Timestamp(1_000),
        expires_at: Timestamp(expires),
    }
}

backend_tests! {
    async fn a_sign_in_link_is_used_once_even_by_concurrent_uses(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_sign_in_link(&link("h1", "u1", 10_000)).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.use_sign_in_link("h1", Timestamp(2_000 + i)).await }));
        }
        let mut used = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(Some(l)) => used.push(l),
                Ok(None) => {}
                // Concurrent SQLite writers may be refused; none of them may use the link.
                Err(e) => eprintln!("use refused: {e}"),
            }
        }
        assert_eq!(used.len(), 1, "{used:?}");
        assert_eq!((used[0].user_pk.as_str(), used[0].tenant_id.as_str()), ("u1", "t1"));
        assert!(used[0].used_at.is_some());
        assert_eq!(s.use_sign_in_link("h1", Timestamp(3_000)).await.unwrap(), None);
    }

    async fn an_expired_or_unknown_link_signs_nobody_in_and_housekeeping_removes_it(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_sign_in_link(&link("old", "u1", 5_000)).await.unwrap();
        s.insert_sign_in_link(&link("new", "u1", 50_000)).await.unwrap();
        assert_eq!(s.use_sign_in_link("old", Timestamp(5_000)).await.unwrap(), None, "expired at 5000");
        assert_eq!(s.use_sign_in_link("nope", Timestamp(1_000)).await.unwrap(), None);
        assert_eq!(s.delete_sign_in_links_before(Timestamp(6_000), 100).await.unwrap(), 1);
        assert!(s.use_sign_in_link("new", Timestamp(6_000)).await.unwrap().is_some(), "the other link stays");
    }

    async fn web_sessions_end_alone_per_user_and_by_age(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_user(&user("u2", "t1", "bob")).await.unwrap();
        for (h, u, exp) in [("a", "u1", 10_000), ("b", "u1", 90_000), ("c", "u2", 90_000), ("d", "u2", 5_000)] {
            s.insert_web_session(&session(h, u, exp)).await.unwrap();
        }
        assert_eq!(s.web_session("a").await.unwrap(), Some(session("a", "u1", 10_000)));
        s.touch_web_session("a", Timestamp(7_000)).await.unwrap();
        assert_eq!(s.web_session("a").await.unwrap().unwrap().last_seen_at, Timestamp(7_000));
        assert!(s.delete_web_session("a").await.unwrap());
        assert!(!s.delete_web_session("a").await.unwrap());
        assert_eq!(s.web_session("a").await.unwrap(), None);
        assert_eq!(s.delete_user_web_sessions("u1").await.unwrap(), 1);
        assert_eq!(s.web_session("b").await.unwrap(), None);
        assert_eq!(s.delete_web_sessions_before(Timestamp(6_000), 100).await.unwrap(), 1);
        assert_eq!(s.web_session("d").await.unwrap(), None);
        assert!(s.web_session("c").await.unwrap().is_some(), "bob's live session stays");
    }

    async fn a_device_remembers_the_activation_that_made_it(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        let mut d = super::devices::device("d1", "u1", "bank-app");
        d.activation_id = Some("act-1".into());
        s.insert_device(&d).await.unwrap();
        assert_eq!(s.device("d1").await.unwrap().unwrap().activation_id.as_deref(), Some("act-1"));
        // Renamed by its own user only.
        assert!(!s.rename_device("someone-else", "d1", "Mine now", Timestamp(5_000)).await.unwrap());
        assert!(s.rename_device("u1", "d1", "Work phone", Timestamp(5_000)).await.unwrap());
        let d = s.device("d1").await.unwrap().unwrap();
        assert_eq!((d.name.as_deref(), d.updated_at), (Some("Work phone"), Timestamp(5_000)));
    }
}
