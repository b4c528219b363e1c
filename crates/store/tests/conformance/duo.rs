//! Duo-compatible integrations (`DuoStore`): found by integration key, one name per
//! tenant, removed alone or with their tenant.

use super::*;
use countersign_core::duo::DuoIntegration;

fn integration(ikey: &str, tenant_id: &str, name: &str, legacy: bool) -> DuoIntegration {
    DuoIntegration {
        ikey: ikey.into(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        skey_sealed: format!("v1.sealed-{ikey}"),
        legacy_signatures: legacy,
        created_at: Timestamp(7),
    }
}

backend_tests! {
    async fn duo_integrations_round_trip_by_key_and_name(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        let ssh = integration("DIAAAAAAAAAAAAAAAAAA", "t1", "ssh", true);
        s.insert_duo_integration(&ssh).await.unwrap();
        s.insert_duo_integration(&integration("DIBBBBBBBBBBBBBBBBBB", "t1", "vpn", false)).await.unwrap();
        s.insert_duo_integration(&integration("DICCCCCCCCCCCCCCCCCC", "t2", "ssh", false)).await.unwrap();
        assert!(matches!(
            s.insert_duo_integration(&integration("DIDDDDDDDDDDDDDDDDDD", "t1", "ssh", false)).await,
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            s.insert_duo_integration(&integration("DIAAAAAAAAAAAAAAAAAA", "t2", "other", false)).await,
            Err(StoreError::Conflict)
        ));
        assert_eq!(s.duo_integration("DIAAAAAAAAAAAAAAAAAA").await.unwrap(), Some(ssh), "every field comes back");
        assert_eq!(s.duo_integration("DIZZZZZZZZZZZZZZZZZZ").await.unwrap(), None);
        let names: Vec<String> = s.duo_integrations("t1", &first_page()).await.unwrap().into_iter().map(|i| i.name).collect();
        assert_eq!(names, ["ssh", "vpn"]);
        assert!(!s.delete_duo_integration("t2", "DIAAAAAAAAAAAAAAAAAA").await.unwrap(), "not another tenant's");
        assert!(s.delete_duo_integration("t1", "DIAAAAAAAAAAAAAAAAAA").await.unwrap());
        assert!(s.delete_tenant("t1").await.unwrap());
        assert_eq!(s.duo_integration("DIBBBBBBBBBBBBBBBBBB").await.unwrap(), None, "a tenant's go with it");
        assert!(s.duo_integration("DICCCCCCCCCCCCCCCCCC").await.unwrap().is_some());
    }
}
