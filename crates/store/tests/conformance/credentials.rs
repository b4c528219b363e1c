//! Users' credentials (`CredentialStore`): FIDO2 credentials unique per relying party
//! (tenant), UAF keys unique per AAID in a tenant, virtual authenticator serials unique
//! per tenant, ceremonies swept by their expiry, all removed with their user or tenant.

use super::*;
use countersign_core::tokens::virtual_auth::VirtualAuthenticator;
use countersign_core::{FidoAuthenticatorKey, FidoCeremony};

/// Tenants t1, t2; users u1 (alice) and u2 (bob) in t1, u3 (carol) in t2.
async fn store_with_users(db: &TestDb) -> Arc<dyn Store> {
    let s = store_with_tenants(db).await;
    s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
    s.insert_user(&user("u2", "t1", "bob")).await.unwrap();
    s.insert_user(&user("u3", "t2", "carol")).await.unwrap();
    s
}

fn virtual_of(user_pk: &str, user_id: &str, serial: &str) -> VirtualAuthenticator {
    VirtualAuthenticator {
        serial_number: serial.into(),
        user_id: user_id.into(),
        applications: vec!["APPL1".into()],
        user_pk: user_pk.into(),
    }
}

fn ceremony(id: &str, user_pk: &str, expires: i64) -> FidoCeremony {
    FidoCeremony {
        id: id.into(),
        tenant_id: "t1".into(),
        user_pk: user_pk.into(),
        state: "{}".into(),
        created_at: Timestamp(expires - 300_000),
        expires_at: Timestamp(expires),
    }
}

backend_tests! {
    async fn a_fido2_credential_id_is_unique_per_relying_party(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_users(&db).await;
        s.save_fido_credential("t1", "u1", "c1", "{\"n\":1}", Timestamp(1)).await.unwrap();
        s.save_fido_credential("t1", "u1", "c1", "{\"n\":2}", Timestamp(2)).await.unwrap();
        assert_eq!(s.fido_credential("u1", "c1").await.unwrap().as_deref(), Some("{\"n\":2}"));
        // Another user of the same relying party cannot take (or overwrite) it.
        assert!(matches!(s.save_fido_credential("t1", "u2", "c1", "{}", Timestamp(3)).await, Err(StoreError::Conflict)));
        assert_eq!(s.fido_credential("u1", "c1").await.unwrap().as_deref(), Some("{\"n\":2}"));
        assert_eq!(s.fido_credential("u2", "c1").await.unwrap(), None);
        // Another relying party may have the same ID.
        s.save_fido_credential("t2", "u3", "c1", "{}", Timestamp(3)).await.unwrap();
        s.save_fido_credential("t1", "u1", "c0", "{}", Timestamp(3)).await.unwrap();
        let ids: Vec<String> = s.user_fido_credentials("u1").await.unwrap().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["c0", "c1"]);
        assert!(s.delete_fido_credential("u1", "c0").await.unwrap());
        assert!(!s.delete_fido_credential("u2", "c1").await.unwrap(), "only its owner removes it");
    }

    async fn a_uaf_key_id_is_unique_per_aaid(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_users(&db).await;
        s.save_uaf_registration("t1", "u1", "ABCD#0001", "k1", "{\"n\":1}", Timestamp(1)).await.unwrap();
        s.save_uaf_registration("t1", "u1", "ABCD#0001", "k1", "{\"n\":2}", Timestamp(2)).await.unwrap();
        assert!(matches!(
            s.save_uaf_registration("t1", "u2", "ABCD#0001", "k1", "{}", Timestamp(3)).await,
            Err(StoreError::Conflict)
        ));
        // The same key ID of another model, or in another tenant, is another key.
        s.save_uaf_registration("t1", "u2", "ABCD#0002", "k1", "{}", Timestamp(3)).await.unwrap();
        s.save_uaf_registration("t2", "u3", "ABCD#0001", "k1", "{}", Timestamp(3)).await.unwrap();
        assert_eq!(s.uaf_registration("u1", "ABCD#0001", "k1").await.unwrap().as_deref(), Some("{\"n\":2}"));
        assert_eq!(s.user_uaf_registrations("u1").await.unwrap(), ["{\"n\":2}"]);
        s.save_fido_credential("t1", "u1", "c9", "{}", Timestamp(3)).await.unwrap();
        assert_eq!(
            s.fido_authenticator_keys("u1").await.unwrap(),
            [
                FidoAuthenticatorKey::Fido2 { credential_id: "c9".into() },
                FidoAuthenticatorKey::Uaf { aaid: "ABCD#0001".into(), key_id: "k1".into() },
            ]
        );
        assert!(s.delete_uaf_registration("u1", "ABCD#0001", "k1").await.unwrap());
        assert!(!s.delete_uaf_registration("u1", "ABCD#0001", "k1").await.unwrap());
    }

    async fn a_virtual_authenticator_serial_is_unique_per_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_users(&db).await;
        s.insert_virtual_authenticator("t1", &virtual_of("u1", "alice", "VIR0000002"), Timestamp(1)).await.unwrap();
        s.insert_virtual_authenticator("t1", &virtual_of("u1", "alice", "VIR0000001"), Timestamp(1)).await.unwrap();
        assert!(matches!(
            s.insert_virtual_authenticator("t1", &virtual_of("u2", "bob", "VIR0000001"), Timestamp(1)).await,
            Err(StoreError::Conflict)
        ));
        s.insert_virtual_authenticator("t2", &virtual_of("u3", "carol", "VIR0000001"), Timestamp(1)).await.unwrap();
        assert_eq!(s.virtual_authenticator("t1", "VIR0000001").await.unwrap(), Some(virtual_of("u1", "alice", "VIR0000001")));
        let serials: Vec<String> = s.user_virtual_authenticators("u1", &first_page()).await.unwrap().into_iter().map(|v| v.serial_number).collect();
        assert_eq!(serials, ["VIR0000001", "VIR0000002"]);
        assert!(s.delete_virtual_authenticator("t1", "VIR0000001").await.unwrap());
        assert!(!s.delete_virtual_authenticator("t1", "VIR0000001").await.unwrap());
        assert!(s.virtual_authenticator("t2", "VIR0000001").await.unwrap().is_some());
    }

    async fn ceremonies_are_single_use_and_swept_by_expiry(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_users(&db).await;
        s.save_fido_ceremony(&ceremony("old", "u1", 10_000)).await.unwrap();
        s.save_fido_ceremony(&ceremony("new", "u1", 20_000)).await.unwrap();
        assert_eq!(s.fido_ceremony("old").await.unwrap(), Some(ceremony("old", "u1", 10_000)));
        assert_eq!(s.delete_expired_fido_ceremonies(Timestamp(10_000)).await.unwrap(), 0, "in time up to its expiry");
        assert_eq!(s.delete_expired_fido_ceremonies(Timestamp(10_001)).await.unwrap(), 1);
        assert_eq!(s.fido_ceremony("old").await.unwrap(), None);
        let mut tasks = Vec::new();
        for _ in 0..4 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.delete_fido_ceremony("new").await.unwrap() }));
        }
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap());
        }
        assert_eq!(won, 1, "one request takes a ceremony");
    }

    async fn a_users_credentials_go_with_the_user_and_the_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_users(&db).await;
        for u in ["u1", "u2"] {
            s.save_fido_credential("t1", u, &format!("c-{u}"), "{}", Timestamp(1)).await.unwrap();
            s.save_uaf_registration("t1", u, "ABCD#0001", &format!("k-{u}"), "{}", Timestamp(1)).await.unwrap();
            s.save_fido_ceremony(&ceremony(&format!("f-{u}"), u, 99_000)).await.unwrap();
        }
        s.insert_virtual_authenticator("t1", &virtual_of("u1", "alice", "VIR0000001"), Timestamp(1)).await.unwrap();
        assert!(s.delete_user("t1", "alice").await.unwrap());
        assert!(s.user_fido_credentials("u1").await.unwrap().is_empty());
        assert!(s.user_uaf_registrations("u1").await.unwrap().is_empty());
        assert!(s.fido_ceremony("f-u1").await.unwrap().is_none());
        assert!(s.virtual_authenticator("t1", "VIR0000001").await.unwrap().is_none());
        assert_eq!(s.user_fido_credentials("u2").await.unwrap().len(), 1, "bob's are kept");
        // A credential of a user who is gone cannot be stored.
        assert!(s.save_fido_credential("t1", "u1", "c-again", "{}", Timestamp(2)).await.is_err());
        assert!(s.delete_tenant("t1").await.unwrap());
        assert!(s.user_fido_credentials("u2").await.unwrap().is_empty());
        assert!(s.user_uaf_registrations("u2").await.unwrap().is_empty());
        assert!(s.fido_ceremony("f-u2").await.unwrap().is_none());
    }
}
