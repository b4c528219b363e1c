//! RADIUS clients (`RadiusStore`): one name per tenant, listed by name, removed alone or
//! with their tenant.

use super::*;
use countersign_core::radius::{RadiusClient, RadiusPolicy};

fn client(id: &str, tenant_id: &str, name: &str, network: &str) -> RadiusClient {
    RadiusClient {
        id: id.into(),
        tenant_id: tenant_id.into(),
        name: name.into(),
        network: network.into(),
        secret_sealed: format!("v1.sealed-{id}"),
        policy: RadiusPolicy::PasswordChallenge,
        second_factor: "email".into(),
        created_at: Timestamp(5),
    }
}

backend_tests! {
    async fn radius_clients_round_trip_one_name_per_tenant(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        let vpn = client("r1", "t1", "vpn", "10.0.0.0/24");
        s.insert_radius_client(&vpn).await.unwrap();
        s.insert_radius_client(&client("r2", "t1", "bastion", "192.0.2.7/32")).await.unwrap();
        s.insert_radius_client(&client("r3", "t2", "vpn", "10.1.0.0/24")).await.unwrap();
        assert!(matches!(
            s.insert_radius_client(&client("r4", "t1", "vpn", "10.2.0.0/24")).await,
            Err(StoreError::Conflict)
        ));
        let names: Vec<String> = s.radius_clients("t1", &first_page()).await.unwrap().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["bastion", "vpn"]);
        assert_eq!(s.radius_clients("t1", &first_page()).await.unwrap()[1], vpn, "every field comes back");
        assert_eq!(s.all_radius_clients().await.unwrap().len(), 3);
        assert!(!s.delete_radius_client("t2", "r1").await.unwrap(), "another tenant's client is not removed");
        assert!(s.delete_radius_client("t1", "r1").await.unwrap());
        assert!(!s.delete_radius_client("t1", "r1").await.unwrap());
        assert!(s.delete_tenant("t1").await.unwrap());
        let left: Vec<String> = s.all_radius_clients().await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(left, ["r3"], "a tenant's clients go with it");
        assert!(s.insert_radius_client(&client("r5", "nobody", "x", "10.3.0.0/24")).await.is_err());
    }
}
