//! Enrolment and devices (`DeviceStore`): in the single enrollment mode, concurrent
//! confirmations of one user's devices of one app leave exactly one active.

use super::*;
use countersign_core::device::{Device, DeviceState};

pub(crate) fn device(id: &str, user_pk: &str, app_id: &str) -> Device {
    Device {
        id: id.into(),
        tenant_id: "t1".into(),
        user_pk: user_pk.into(),
        app_id: app_id.into(),
        app_version: "1.0".into(),
        name: None,
        possession_key: "pk".into(),
        pin_key: "pin".into(),
        biometric_key: None,
        custom_keys: Default::default(),
        state: DeviceState::Pending,
        pin_failures: 0,
        push_platform: None,
        push_token: None,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        activation_id: None,
    }
}

backend_tests! {
    async fn concurrent_single_mode_activations_leave_one_active_device(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        for i in 0..8 {
            s.insert_device(&device(&format!("d{i}"), "u1", "bank-app")).await.unwrap();
        }
        let mut tasks = Vec::new();
        for i in 0..8 {
            let s = s.clone();
            tasks.push(tokio::spawn(async move { s.activate_single_device(&format!("d{i}"), Timestamp(2_000)).await }));
        }
        let mut won = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(true) => won += 1,
                Ok(false) => panic!("every device was pending"),
                Err(StoreError::Conflict) => {}
                // Concurrent SQLite writers may be refused; none of them may activate a device.
                Err(e) => eprintln!("activation refused: {e}"),
            }
        }
        assert_eq!(won, 1);
        let active = s.user_devices("u1").await.unwrap().into_iter().filter(|d| d.state == DeviceState::Active).count();
        assert_eq!(active, 1);
    }

    async fn single_mode_holds_per_app_and_frees_the_slot_on_disconnect(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        for (id, app) in [("a", "bank-app"), ("b", "bank-app"), ("c", "other-app"), ("d", "bank-app")] {
            s.insert_device(&device(id, "u1", app)).await.unwrap();
        }
        assert!(s.activate_single_device("a", Timestamp(2)).await.unwrap());
        assert!(!s.activate_single_device("a", Timestamp(3)).await.unwrap(), "not pending any more");
        assert!(matches!(s.activate_single_device("b", Timestamp(3)).await, Err(StoreError::Conflict)));
        assert!(s.activate_single_device("c", Timestamp(3)).await.unwrap(), "another app");
        // Activated outside single mode: not counted.
        assert!(s.device_transition("d", DeviceState::Pending, DeviceState::Active, Timestamp(3)).await.unwrap());
        assert!(s.device_transition("a", DeviceState::Active, DeviceState::Disconnected, Timestamp(4)).await.unwrap());
        assert!(s.activate_single_device("b", Timestamp(5)).await.unwrap());
    }

    async fn a_nonce_is_refused_the_second_time_until_housekeeping_forgets_it(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_tenants(&db).await;
        s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
        s.insert_device(&device("a", "u1", "bank-app")).await.unwrap();
        s.insert_device(&device("b", "u1", "bank-app")).await.unwrap();
        assert!(s.use_device_nonce("a", "n1", Timestamp(1_000)).await.unwrap());
        assert!(!s.use_device_nonce("a", "n1", Timestamp(2_000)).await.unwrap(), "a replay");
        assert!(s.use_device_nonce("b", "n1", Timestamp(2_000)).await.unwrap(), "another device's nonce");
        for i in 0..5 {
            assert!(s.use_device_nonce("a", &format!("m{i}"), Timestamp(3_000 + i)).await.unwrap());
        }
        // Oldest first, in batches; what is newer stays.
        assert_eq!(s.delete_device_nonces_before(Timestamp(3_002), 2).await.unwrap(), 2);
        assert_eq!(s.delete_device_nonces_before(Timestamp(3_002), 10).await.unwrap(), 2);
        assert_eq!(s.delete_device_nonces_before(Timestamp(3_002), 10).await.unwrap(), 0);
        assert!(!s.use_device_nonce("a", "m2", Timestamp(4_000)).await.unwrap(), "kept: used at 3 002");
        assert!(s.use_device_nonce("a", "n1", Timestamp(4_000)).await.unwrap(), "forgotten");
    }
}

#[tokio::test]
async fn forgetting_old_nonces_reads_only_the_expired_ones_on_sqlite() {
    // The plan SQLite picks for housekeeping's purge: along the time index, not a scan
    // of every nonce (docs/mobile-protocol.md, "Replays").
    let db = TestDb::new(countersign_store::testing::Backend::Sqlite).await;
    let _ = db.store().await;
    let plan = db
        .query_plan(
            "DELETE FROM device_nonces WHERE (device_id, nonce) IN (SELECT device_id, nonce \
             FROM device_nonces WHERE used_at < 5 ORDER BY used_at LIMIT 10)",
        )
        .await;
    assert!(plan.contains("device_nonces_by_use"), "{plan}");
    assert!(plan.contains("used_at<"), "the time bound is used in the index: {plan}");
}
