//! Migration 0013 moves `config_docs` into the typed tables on both backends: keys and
//! JSON parsed in SQL, rows of users or tenants that are gone dropped, duplicates of a
//! now-unique key dropped. (The end-to-end `upgrade` test does the same with a real
//! version-12 database made through the API.)

use super::*;
use countersign_core::FidoAuthenticatorKey;

const V12: &str = "
INSERT INTO tenants (id, domain, settings, created_at, updated_at) VALUES ('t1', 'one.example', '{}', 1, 1);
INSERT INTO users (id, tenant_id, user_id, status, phone, email, locale, vdp_delivery_method, created_at, updated_at)
  VALUES ('u1', 't1', 'alice', 'active', NULL, NULL, NULL, 'Default', 1, 1),
         ('u2', 't1', 'bob', 'active', NULL, NULL, NULL, 'Default', 1, 1);
INSERT INTO config_docs (kind, doc_key, tenant_id, doc, updated_at) VALUES
  ('push_app', 'bank-app', NULL, '{\"view\":{\"appID\":\"bank-app\"},\"sealed\":\"s1\"}', 5),
  ('tenant_providers', 't1', 't1', '{\"view\":{\"sms\":{\"from\":\"+1\"}},\"sealed\":\"s2\"}', 5),
  ('auth_type', 't1:bank-sms', 't1', '{\"method\":\"sms\"}', 5),
  ('fido_rp', 't1', 't1', '{\"rpID\":\"one.example\"}', 5),
  ('risk', 't1', 't1', '{\"ipDeny\":[]}', 5),
  ('risk_profile', 'u1', 't1', '{\"devices\":[\"d\"]}', 5),
  ('risk_profile', 'gone', 't1', '{}', 5),
  ('risk_pending', 'req-1', 't1', '{\"country\":\"NL\"}', 5),
  ('virtual_authenticator', 't1:VIR0000001', 't1', '{\"serialNumber\":\"VIR0000001\",\"userID\":\"alice\",\"applications\":[\"APPL1\"],\"userPk\":\"u1\"}', 5),
  ('virtual_authenticator', 't1:VIR0000002', 't1', '{\"serialNumber\":\"VIR0000002\",\"userID\":\"gone\",\"applications\":[],\"userPk\":\"gone\"}', 5),
  ('fido_credential', 'u1:cred-1', 't1', '{\"name\":\"a\"}', 5),
  ('fido_credential', 'u2:cred-1', 't1', '{\"name\":\"b\"}', 6),
  ('fido_credential', 'gone:cred-2', 't1', '{\"name\":\"c\"}', 5),
  ('uaf_registration', 'u1:ABCD#0001:key-1', 't1', '{\"aaid\":\"ABCD#0001\",\"keyId\":\"key-1\"}', 5),
  ('fido_ceremony', 'cer-1', 't1', '{\"userPk\":\"u1\",\"tenantId\":\"t1\",\"expiresAt\":300005}', 5),
  ('fido_ceremony', 'cer-2', 't1', '{\"userPk\":\"gone\",\"tenantId\":\"t1\",\"expiresAt\":300005}', 5);
";

backend_tests! {
    async fn migration_13_moves_config_docs_into_typed_tables(backend) {
        let db = TestDb::new(backend).await;
        db.migrate_to(12).await;
        db.execute(V12).await;
        let s = db.store().await;
        let app = s.push_app("bank-app").await.unwrap().unwrap();
        assert_eq!((serde_json::from_str::<serde_json::Value>(&app.view).unwrap(), app.sealed.as_str()),
            (serde_json::json!({"appID": "bank-app"}), "s1"));
        let p = s.tenant_providers("t1").await.unwrap().unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&p.view).unwrap(), serde_json::json!({"sms": {"from": "+1"}}));
        assert_eq!(p.sealed, "s2");
        assert_eq!(s.auth_types("t1", &first_page()).await.unwrap(), [("bank-sms".to_owned(), "{\"method\":\"sms\"}".to_owned())]);
        assert_eq!(s.relying_party("t1").await.unwrap().as_deref(), Some("{\"rpID\":\"one.example\"}"));
        assert_eq!(s.risk_rules("t1").await.unwrap().as_deref(), Some("{\"ipDeny\":[]}"));
        assert_eq!(s.risk_profile("u1").await.unwrap().as_deref(), Some("{\"devices\":[\"d\"]}"));
        assert_eq!(s.risk_profile("gone").await.unwrap(), None);
        assert_eq!(s.take_risk_pending("req-1").await.unwrap().as_deref(), Some("{\"country\":\"NL\"}"));
        let v = s.virtual_authenticator("t1", "VIR0000001").await.unwrap().unwrap();
        assert_eq!((v.user_id.as_str(), v.applications.clone(), v.user_pk.as_str()), ("alice", vec!["APPL1".to_owned()], "u1"));
        assert!(s.virtual_authenticator("t1", "VIR0000002").await.unwrap().is_none(), "its user is gone");
        // Two users with one credential ID in one relying party: one keeps it.
        let holders = [s.fido_credential("u1", "cred-1").await.unwrap(), s.fido_credential("u2", "cred-1").await.unwrap()];
        assert_eq!(holders.iter().filter(|h| h.is_some()).count(), 1);
        assert_eq!(
            s.fido_authenticator_keys("u1").await.unwrap().last(),
            Some(&FidoAuthenticatorKey::Uaf { aaid: "ABCD#0001".into(), key_id: "key-1".into() })
        );
        let c = s.fido_ceremony("cer-1").await.unwrap().unwrap();
        assert_eq!((c.user_pk.as_str(), c.created_at, c.expires_at), ("u1", Timestamp(5), Timestamp(300_005)));
        assert!(s.fido_ceremony("cer-2").await.unwrap().is_none());
        // config_docs is gone.
        db.execute("CREATE TABLE config_docs (x INTEGER)").await;
    }
}
