//! The console's administrators (`AdminAccountStore`): accounts with unique usernames
//! and a role that fits their tenant, their passkeys, console sessions in `web_sessions`
//! beside self-service ones, the one-way `password_ok → signed_in` step, ceremonies
//! taken once, and everything gone with the account. (Their password attempts are in
//! attempts.rs with every other counter.)

use super::*;
use countersign_core::web::console::{AdminAccount, AdminCredential, AdminRole, ConsoleSession, ConsoleStep};
use countersign_core::web::{WebSession, WebSessionKind};
use countersign_core::{AdminAccountStore, Counter, WebStore};

pub fn account(id: &str, username: &str, tenant: Option<&str>) -> AdminAccount {
    AdminAccount {
        id: id.into(),
        username: username.into(),
        password_hash: "$argon2id$…".into(),
        role: if tenant.is_some() { AdminRole::TenantAdmin } else { AdminRole::Superadmin },
        tenant_id: tenant.map(str::to_owned),
        active: true,
        failures: 0,
        locked_until: None,
        created_at: Timestamp(1_000),
    }
}

fn console(hash: &str, account_id: &str, step: ConsoleStep) -> ConsoleSession {
    ConsoleSession {
        id_hash: hash.into(),
        account_id: account_id.into(),
        step,
        created_at: Timestamp(1_000),
        last_seen_at: Timestamp(1_000),
        expires_at: Timestamp(5_000),
    }
}

backend_tests! {
    async fn admin_accounts_have_unique_usernames_and_roles_that_fit_their_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_admin_account(&account("a1", "root", None)).await.unwrap();
        s.insert_admin_account(&account("a2", "ops", Some("t1"))).await.unwrap();
        let taken = s.insert_admin_account(&account("a3", "root", None)).await;
        assert!(matches!(taken, Err(StoreError::Conflict)), "{taken:?}");
        // A tenant administrator needs a tenant; a superadmin has none.
        let mut no_tenant = account("a4", "x", None);
        no_tenant.role = AdminRole::TenantAdmin;
        assert!(s.insert_admin_account(&no_tenant).await.is_err());
        let mut with_tenant = account("a5", "y", Some("t1"));
        with_tenant.role = AdminRole::Superadmin;
        assert!(s.insert_admin_account(&with_tenant).await.is_err());
        let mut ro = account("a6", "auditor", None);
        ro.role = AdminRole::ReadOnly;
        s.insert_admin_account(&ro).await.unwrap();
        assert_eq!(s.admin_account_by_username("ops").await.unwrap().unwrap(), account("a2", "ops", Some("t1")));
        assert_eq!(s.admin_account("a6").await.unwrap().unwrap().role, AdminRole::ReadOnly);
        let page = s.list_admin_accounts(&Page { after: None, limit: 2 }).await.unwrap();
        assert_eq!(page.iter().map(|a| a.username.as_str()).collect::<Vec<_>>(), ["auditor", "ops"]);
        let rest = s.list_admin_accounts(&Page { after: Some("ops".into()), limit: 2 }).await.unwrap();
        assert_eq!(rest.iter().map(|a| a.username.as_str()).collect::<Vec<_>>(), ["root"]);
        // A tenant's administrators go with it.
        assert!(s.delete_tenant("t1").await.unwrap());
        assert_eq!(s.admin_account("a2").await.unwrap(), None);
    }

    async fn a_console_session_signs_in_once_and_goes_with_its_account(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_admin_account(&account("a1", "root", None)).await.unwrap();
        s.insert_console_session(&console("c1", "a1", ConsoleStep::PasswordOk)).await.unwrap();
        s.insert_web_session(&WebSession {
            id_hash: "w1".into(),
            kind: WebSessionKind::SelfService,
            tenant_id: "t1".into(),
            user_pk: "u1".into(),
            created_at: Timestamp(1_000),
            last_seen_at: Timestamp(1_000),
            expires_at: Timestamp(5_000),
        })
        .await
        .unwrap();
        // Each kind is found only as itself.
        assert_eq!(s.web_session("c1").await.unwrap(), None);
        assert_eq!(s.console_session("w1").await.unwrap(), None);
        assert_eq!(s.console_session("c1").await.unwrap().unwrap().step, ConsoleStep::PasswordOk);
        // Not after its expiry; then once.
        assert!(!s.complete_console_session("c1", Timestamp(5_000), Timestamp(99_000)).await.unwrap());
        assert!(s.complete_console_session("c1", Timestamp(2_000), Timestamp(99_000)).await.unwrap());
        assert!(!s.complete_console_session("c1", Timestamp(2_001), Timestamp(99_000)).await.unwrap());
        let done = s.console_session("c1").await.unwrap().unwrap();
        assert_eq!((done.step, done.expires_at, done.last_seen_at), (ConsoleStep::SignedIn, Timestamp(99_000), Timestamp(2_000)));
        s.touch_web_session("c1", Timestamp(3_000)).await.unwrap();
        assert_eq!(s.console_session("c1").await.unwrap().unwrap().last_seen_at, Timestamp(3_000));
        // A ceremony is replaced, taken once, and not after its expiry.
        s.insert_console_session(&console("c2", "a1", ConsoleStep::PasswordOk)).await.unwrap();
        s.save_console_ceremony("c2", "first", Timestamp(9_000)).await.unwrap();
        s.save_console_ceremony("c2", "second", Timestamp(9_000)).await.unwrap();
        assert_eq!(s.take_console_ceremony("c2", Timestamp(2_000)).await.unwrap().as_deref(), Some("second"));
        assert_eq!(s.take_console_ceremony("c2", Timestamp(2_000)).await.unwrap(), None);
        s.save_console_ceremony("c2", "late", Timestamp(3_000)).await.unwrap();
        assert_eq!(s.take_console_ceremony("c2", Timestamp(3_000)).await.unwrap(), None);
        // Passkeys: unique credential IDs; their state saved after use.
        let cred = AdminCredential {
            account_id: "a1".into(),
            credential_id: "cred-1".into(),
            name: "passkey".into(),
            credential: "{}".into(),
            created_at: Timestamp(1_000),
            last_used_at: None,
        };
        s.insert_admin_credential(&cred).await.unwrap();
        assert!(matches!(s.insert_admin_credential(&cred).await, Err(StoreError::Conflict)));
        let used = AdminCredential { credential: "{\"n\":1}".into(), last_used_at: Some(Timestamp(4_000)), ..cred };
        s.update_admin_credential(&used).await.unwrap();
        assert_eq!(s.admin_credentials("a1").await.unwrap(), vec![used]);
        // Housekeeping removes console sessions by age like any page session.
        assert_eq!(s.delete_web_sessions_before(Timestamp(6_000), 10).await.unwrap(), 2, "c2 and w1");
        // The account goes with its passkeys and sessions.
        assert!(s.delete_admin_account("root").await.unwrap());
        assert!(!s.delete_admin_account("root").await.unwrap());
        assert_eq!(s.console_session("c1").await.unwrap(), None);
        assert!(s.admin_credentials("a1").await.unwrap().is_empty());
    }

    async fn the_console_finds_users_by_exact_userid_prefix(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        for (pk, t, id) in [("u1", "t1", "alice"), ("u2", "t1", "alfred"), ("u3", "t1", "Albert"), ("u4", "t2", "alan"), ("u5", "t1", "a_b")] {
            s.insert_user(&user(pk, t, id)).await.unwrap();
        }
        let ids = |v: Vec<User>| v.into_iter().map(|u| u.user_id.as_str().to_owned()).collect::<Vec<_>>();
        assert_eq!(ids(s.search_users("t1", "al", 10).await.unwrap()), ["alfred", "alice"]);
        assert_eq!(ids(s.search_users("t1", "al", 1).await.unwrap()), ["alfred"]);
        assert_eq!(ids(s.search_users("t1", "a_", 10).await.unwrap()), ["a_b"], "no wildcard");
        assert_eq!(ids(s.search_users("t1", "Al", 10).await.unwrap()), ["Albert"], "case counts");
        assert_eq!(s.search_users("t1", "", 10).await.unwrap().len(), 4);
    }

    async fn an_admin_password_lock_runs_out_and_the_count_starts_again(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_admin_account(&account("a1", "root", None)).await.unwrap();
        let c = Counter::AdminPassword { account_id: "a1", max: 2, lock_until: Timestamp(100_000) };
        for n in 1..=2 {
            assert_eq!(s.reserve_attempt(c, Timestamp(10_000)).await.unwrap(), Some(n));
        }
        assert_eq!(s.reserve_attempt(c, Timestamp(10_000)).await.unwrap(), None);
        assert!(s.close_attempts(c, Timestamp(10_000)).await.unwrap());
        assert_eq!(s.reserve_attempt(c, Timestamp(99_999)).await.unwrap(), None, "locked");
        assert_eq!(s.reserve_attempt(c, Timestamp(100_000)).await.unwrap(), Some(1), "the lock ran out");
        s.clear_attempts(c, Timestamp(100_000)).await.unwrap();
        assert_eq!(s.admin_account("a1").await.unwrap().unwrap().failures, 0);
    }
}
