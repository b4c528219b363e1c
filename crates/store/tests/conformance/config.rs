//! Tenants' configuration (`ConfigStore`).

use super::*;

backend_tests! {
    async fn old_config_docs_are_swept_by_kind(backend) {
        let db = TestDb::new(backend).await;
        let store = store_with_tenants(&db).await;
        store.set_config_doc("fido_ceremony", "old", Some("t1"), "{}", Timestamp(1_000)).await.unwrap();
        store.set_config_doc("fido_ceremony", "new", Some("t1"), "{}", Timestamp(5_000)).await.unwrap();
        store.set_config_doc("fido_rp", "t1", Some("t1"), "{}", Timestamp(1_000)).await.unwrap();
        assert_eq!(store.delete_config_docs_before("fido_ceremony", Timestamp(5_000)).await.unwrap(), 1);
        assert!(store.config_doc("fido_ceremony", "old").await.unwrap().is_none());
        assert!(store.config_doc("fido_ceremony", "new").await.unwrap().is_some());
        assert!(store.config_doc("fido_rp", "t1").await.unwrap().is_some(), "another kind is kept");
        assert_eq!(store.delete_config_docs_before("fido_ceremony", Timestamp(5_000)).await.unwrap(), 0);
    }

    async fn config_doc_keys_of_several_kinds_by_prefix(backend) {
        let db = TestDb::new(backend).await;
        let store = store_with_tenants(&db).await;
        for (kind, key) in [("fido_credential", "u1:c2"), ("fido_credential", "u1:c1"), ("uaf_registration", "u1:A#1:k"),
                            ("fido_credential", "u10:c9"), ("fido_rp", "u1:x"), ("uaf_registration", "u2:A#1:k")] {
            store.set_config_doc(kind, key, Some("t1"), "{}", Timestamp(1_000)).await.unwrap();
        }
        let keys = store.config_doc_keys(&["fido_credential", "uaf_registration"], "u1:").await.unwrap();
        let want: Vec<(String, String)> = [("fido_credential", "u1:c1"), ("fido_credential", "u1:c2"), ("uaf_registration", "u1:A#1:k")]
            .iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(keys, want);
        assert!(store.config_doc_keys(&[], "u1:").await.unwrap().is_empty());
        assert_eq!(store.config_doc_keys(&["fido_rp"], "").await.unwrap().len(), 1);
    }
}
