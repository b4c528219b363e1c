//! Sealed values across tables (`SealedStore`), for master-key rotation: rows that may
//! hold a value under another key than the current one, in key order and paged; a JSON
//! column's rows with a sealed string anywhere; conditional replacement; the code hashes
//! still usable.

use super::*;
use countersign_core::{SealedColumn, SealedRow};

fn rows(list: &[SealedRow]) -> Vec<(&str, &str)> {
    list.iter().map(|r| (r.key.as_str(), r.value.as_str())).collect()
}

backend_tests! {
    async fn sealed_values_are_listed_by_key_and_replaced_only_if_unchanged(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        db.execute(
            "INSERT INTO push_apps (app_id, public_view, sealed, updated_at) VALUES \
               ('a1', '{}', 'v1.AAA', 1), ('a2', '{}', 'v2.2.BBB', 1), ('a3', '{}', 'v2.3.CCC', 1), ('a4', '{}', 'plain', 1);
             INSERT INTO tenant_callbacks (tenant_id, config, updated_at) VALUES \
               ('t1', '{\"secret\":\"v2.2.X\",\"endpoints\":[]}', 1), ('t2', '{\"endpoints\":[{\"url\":\"https://rp/v1.0\"}]}', 1);
             INSERT INTO activations (id, tenant_id, user_pk, code_hash, state, attempts, nonce, qr_sealed, created_at, expires_at) VALUES \
               ('x1', 't1', 'u1', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'Pending', 0, NULL, 'v1.Q', 1, 5000), \
               ('x2', 't1', 'u1', 'mac.2.ff', 'Pending', 0, NULL, NULL, 1, 5000), \
               ('x3', 't1', 'u1', 'mac.3.ff', 'Pending', 0, NULL, NULL, 1, 100), \
               ('x4', 't1', 'u1', 'mac.3.ee', 'Completed', 0, NULL, NULL, 1, 5000);",
        )
        .await;
        // Values not under key 2, in key order, a page at a time.
        let page = s.sealed_rows(SealedColumn::PushApps, "v2.2.", "", 1).await.unwrap();
        assert_eq!(rows(&page), [("a1", "v1.AAA")]);
        let page = s.sealed_rows(SealedColumn::PushApps, "v2.2.", "a1", 10).await.unwrap();
        assert_eq!(rows(&page), [("a3", "v2.3.CCC")]);
        // A JSON column: the rows with a sealed string anywhere (a URL with "v1." is not one).
        let page = s.sealed_rows(SealedColumn::TenantCallbacks, "v2.2.", "", 10).await.unwrap();
        assert_eq!(rows(&page), [("t1", "{\"secret\":\"v2.2.X\",\"endpoints\":[]}")]);
        let page = s.sealed_rows(SealedColumn::Activations, "v2.2.", "", 10).await.unwrap();
        assert_eq!(rows(&page), [("x1", "v1.Q")]);
        // Replaced only while it still holds the value read.
        assert!(s.replace_sealed(SealedColumn::PushApps, "a1", "v1.AAA", "v2.2.NEW").await.unwrap());
        assert!(!s.replace_sealed(SealedColumn::PushApps, "a1", "v1.AAA", "v2.2.OTHER").await.unwrap());
        assert_eq!(s.push_app("a1").await.unwrap().unwrap().sealed, "v2.2.NEW");
        let page = s.sealed_rows(SealedColumn::PushApps, "v2.2.", "", 10).await.unwrap();
        assert_eq!(rows(&page), [("a3", "v2.3.CCC")]);
        // Code hashes still usable and not under the current key: pending, unexpired.
        let live = s.live_code_hashes(Timestamp(1_000), "mac.2.").await.unwrap();
        assert_eq!(live, [("a".repeat(64), Timestamp(5_000))]);
        let live = s.live_code_hashes(Timestamp(1_000), "mac.3.").await.unwrap();
        assert_eq!(live.len(), 2, "bare hex and key 2's: {live:?}");
    }
}
