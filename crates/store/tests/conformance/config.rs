//! Configuration (`ConfigStore`): push apps, and per tenant its providers,
//! authentication types and FIDO relying party — replaced in place, removed with the
//! tenant.

use super::*;
use countersign_core::SealedConfig;

fn sealed(view: &str) -> SealedConfig {
    SealedConfig { view: view.into(), sealed: format!("sealed:{view}") }
}

backend_tests! {
    async fn push_apps_round_trip_in_app_id_order(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        s.set_push_app("b-app", &sealed("{\"b\":1}"), Timestamp(1)).await.unwrap();
        s.set_push_app("a-app", &sealed("{\"a\":1}"), Timestamp(1)).await.unwrap();
        s.set_push_app("b-app", &sealed("{\"b\":2}"), Timestamp(2)).await.unwrap();
        assert_eq!(s.push_app("b-app").await.unwrap(), Some(sealed("{\"b\":2}")));
        let ids: Vec<String> = s.push_apps(&first_page()).await.unwrap().into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, ["a-app", "b-app"]);
        assert!(s.delete_push_app("a-app").await.unwrap());
        assert!(!s.delete_push_app("a-app").await.unwrap());
        assert_eq!(s.push_app("a-app").await.unwrap(), None);
    }

    async fn tenant_configuration_is_replaced_in_place_and_goes_with_the_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.set_tenant_providers("t1", &sealed("{}"), Timestamp(1)).await.unwrap();
        s.set_tenant_providers("t1", &sealed("{\"sms\":{}}"), Timestamp(2)).await.unwrap();
        assert_eq!(s.tenant_providers("t1").await.unwrap(), Some(sealed("{\"sms\":{}}")));
        assert_eq!(s.tenant_providers("t2").await.unwrap(), None);
        s.set_relying_party("t1", "{\"rpID\":\"one.example\"}", Timestamp(1)).await.unwrap();
        assert_eq!(s.relying_party("t1").await.unwrap().as_deref(), Some("{\"rpID\":\"one.example\"}"));
        for (tenant, name) in [("t1", "sms-b"), ("t1", "sms-a"), ("t2", "sms-a")] {
            s.set_auth_type(tenant, name, "{\"method\":\"sms\"}", Timestamp(1)).await.unwrap();
        }
        s.set_auth_type("t1", "sms-a", "{\"method\":\"email\"}", Timestamp(2)).await.unwrap();
        let names: Vec<(String, String)> = s.auth_types("t1", &first_page()).await.unwrap();
        assert_eq!(names, [("sms-a".to_owned(), "{\"method\":\"email\"}".to_owned()), ("sms-b".to_owned(), "{\"method\":\"sms\"}".to_owned())]);
        assert_eq!(s.auth_type("t2", "sms-a").await.unwrap().as_deref(), Some("{\"method\":\"sms\"}"));
        assert!(s.delete_auth_type("t1", "sms-b").await.unwrap());
        assert!(!s.delete_auth_type("t1", "sms-b").await.unwrap());

        assert!(s.delete_tenant("t1").await.unwrap());
        assert_eq!(s.tenant_providers("t1").await.unwrap(), None);
        assert_eq!(s.relying_party("t1").await.unwrap(), None);
        assert!(s.auth_types("t1", &first_page()).await.unwrap().is_empty());
        assert_eq!(s.auth_types("t2", &first_page()).await.unwrap().len(), 1, "another tenant's are kept");
    }

    async fn configuration_of_a_missing_tenant_is_refused(backend) {
        let db = TestDb::new(backend).await;
        let s = db.store().await;
        assert!(s.set_tenant_providers("nobody", &sealed("{}"), Timestamp(1)).await.is_err());
        assert!(s.set_auth_type("nobody", "sms", "{}", Timestamp(1)).await.is_err());
        assert!(s.set_relying_party("nobody", "{}", Timestamp(1)).await.is_err());
    }
}
