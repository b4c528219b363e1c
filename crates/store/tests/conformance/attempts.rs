//! Attempt counters (`AttemptStore`; docs/security.md, "Attempt limits"): for every
//! limited secret, N reservations at once with k attempts left succeed exactly k times;
//! closing and clearing touch only an open secret (console administrators' passwords too).

use super::*;
use countersign_core::Counter;
use countersign_core::device::{Device, DeviceState};
use countersign_core::methods::Method;
use countersign_core::password::StaticPassword;
use countersign_core::session::{Ending, NewSession, SessionCode};
use countersign_core::tokens::{Token, TokenKind, TokenState};

const NOW: Timestamp = Timestamp(10_000);
const MAX: u32 = 5;
/// Reservations sent at once.
const RACERS: usize = 16;
/// Attempts left when they race.
const LEFT: u32 = 3;

/// A store with alice, her pending code session `c1` (limit `max`, expiring at 60 s),
/// her active device `d1`, her static password and her token `k1`.
async fn store_with_secrets(db: &TestDb, max: u32) -> Arc<dyn Store> {
    let s = store_with_tenants(db).await;
    s.insert_user(&user("u1", "t1", "alice")).await.unwrap();
    let n = NewSession::not_push(
        "c1".into(),
        "t1",
        "u1",
        "sms".into(),
        Some(Method::Sms),
        Timestamp(5_000),
        Timestamp(60_000),
    );
    let code = SessionCode {
        session_id: "c1".into(),
        code_hash: "h".into(),
        attempts: 0,
        max_attempts: max,
        resends: 0,
        max_resends: 0,
        message_id: None,
        custom_code: None,
    };
    s.insert_code_session(&Session::pending(n), &code, &[]).await.unwrap();
    s.insert_device(&Device {
        id: "d1".into(),
        tenant_id: "t1".into(),
        user_pk: "u1".into(),
        app_id: "app".into(),
        app_version: "1.0".into(),
        name: None,
        possession_key: "pk".into(),
        pin_key: "pin".into(),
        biometric_key: None,
        custom_keys: Default::default(),
        state: DeviceState::Active,
        pin_failures: 0,
        push_platform: None,
        push_token: None,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
        activation_id: None,
    })
    .await
    .unwrap();
    s.set_static_password(&StaticPassword {
        user_pk: "u1".into(),
        hash: "$argon2id$…".into(),
        grace_until: None,
        failures: 0,
        locked_until: None,
        updated_at: Timestamp(1_000),
    })
    .await
    .unwrap();
    s.insert_tokens(&[Token {
        id: "k1".into(),
        tenant_id: "t1".into(),
        user_pk: Some("u1".into()),
        serial: "HW-1".into(),
        kind: TokenKind::Totp,
        algorithm: Default::default(),
        digits: 6,
        period: 30,
        moving: 0,
        secret: "sealed".into(),
        state: TokenState::Active,
        failures: 0,
        created_at: Timestamp(1_000),
        updated_at: Timestamp(1_000),
    }])
    .await
    .unwrap();
    s.insert_admin_account(&super::admin_accounts::account("a1", "root", None)).await.unwrap();
    s
}

const LOCK_UNTIL: Timestamp = Timestamp(100_000);

fn counters(max: u32) -> [Counter<'static>; 5] {
    [
        Counter::Code { session_id: "c1", max },
        Counter::Pin { device_id: "d1", max },
        Counter::Password { user_pk: "u1", max, lock_until: LOCK_UNTIL },
        Counter::Token { token_id: "k1", max },
        Counter::AdminPassword { account_id: "a1", max, lock_until: LOCK_UNTIL },
    ]
}

/// The count a counter's row holds.
async fn stored(s: &Arc<dyn Store>, c: Counter<'_>) -> u32 {
    match c {
        Counter::Code { session_id, .. } => s.session_code(session_id).await.unwrap().unwrap().attempts,
        Counter::Pin { device_id, .. } => s.device(device_id).await.unwrap().unwrap().pin_failures,
        Counter::Password { user_pk, .. } => s.static_password(user_pk).await.unwrap().unwrap().failures,
        Counter::Token { token_id, .. } => s.token(token_id).await.unwrap().unwrap().failures,
        Counter::AdminPassword { account_id, .. } => s.admin_account(account_id).await.unwrap().unwrap().failures,
    }
}

/// Whether the secret is closed (disconnected, locked); a code session never is here.
async fn closed(s: &Arc<dyn Store>, c: Counter<'_>) -> bool {
    match c {
        Counter::Code { .. } => false,
        Counter::Pin { device_id, .. } => {
            s.device(device_id).await.unwrap().unwrap().state == DeviceState::Disconnected
        }
        Counter::Password { user_pk, .. } => s.static_password(user_pk).await.unwrap().unwrap().locked_until.is_some(),
        Counter::Token { token_id, .. } => s.token(token_id).await.unwrap().unwrap().state == TokenState::Locked,
        Counter::AdminPassword { account_id, .. } => {
            s.admin_account(account_id).await.unwrap().unwrap().locked_until.is_some()
        }
    }
}

backend_tests! {
    async fn concurrent_reservations_with_k_attempts_left_succeed_exactly_k_times(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_secrets(&db, MAX).await;
        for c in counters(MAX) {
            for n in 1..=MAX - LEFT {
                assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), Some(n), "{c:?}");
            }
            let tasks: Vec<_> = (0..RACERS)
                .map(|_| {
                    let s = s.clone();
                    tokio::spawn(async move { s.reserve_attempt(c, NOW).await.unwrap() })
                })
                .collect();
            let mut got = Vec::new();
            for t in tasks {
                got.extend(t.await.unwrap());
            }
            got.sort_unstable();
            assert_eq!(got, (MAX - LEFT + 1..=MAX).collect::<Vec<_>>(), "{c:?}: each attempt left taken once");
            assert_eq!(stored(&s, c).await, MAX, "{c:?}: the count stops at the limit");
            assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), None, "{c:?}");
            assert!(!closed(&s, c).await, "{c:?}: reserving never closes");
        }
    }

    async fn only_the_wrong_last_attempt_closes_and_a_right_one_never_reopens(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_secrets(&db, 2).await;
        for c in counters(2).into_iter().skip(1) {
            // Below the limit, closing does nothing; clearing starts again from zero.
            assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), Some(1));
            assert!(!s.close_attempts(c, NOW).await.unwrap(), "{c:?}");
            s.clear_attempts(c, NOW).await.unwrap();
            assert_eq!(stored(&s, c).await, 0, "{c:?}");
            // At the limit: closed once; a right guess that held an attempt meanwhile
            // leaves it closed and counted.
            for n in 1..=2 {
                assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), Some(n));
            }
            assert!(s.close_attempts(c, NOW).await.unwrap(), "{c:?}");
            assert!(!s.close_attempts(c, NOW).await.unwrap(), "{c:?}: closed once");
            s.clear_attempts(c, NOW).await.unwrap();
            assert!(closed(&s, c).await, "{c:?}");
            assert_eq!(stored(&s, c).await, 2, "{c:?}");
            assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), None, "{c:?}");
        }
        // A cleared count cannot be closed by a late wrong guess.
        s.set_token_state("k1", TokenState::Active, NOW).await.unwrap();
        let token = counters(2)[3];
        for n in 1..=2 {
            assert_eq!(s.reserve_attempt(token, NOW).await.unwrap(), Some(n));
        }
        s.clear_attempts(token, NOW).await.unwrap();
        assert!(!s.close_attempts(token, NOW).await.unwrap());
        assert!(!closed(&s, token).await);
    }

    async fn a_password_lock_runs_out_and_the_count_starts_again(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_secrets(&db, 2).await;
        let c = counters(2)[2];
        for n in 1..=2 {
            assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), Some(n));
        }
        assert!(s.close_attempts(c, NOW).await.unwrap());
        assert_eq!(s.reserve_attempt(c, Timestamp(LOCK_UNTIL.0 - 1)).await.unwrap(), None, "locked");
        assert_eq!(s.reserve_attempt(c, LOCK_UNTIL).await.unwrap(), Some(1), "the lock ran out: counted from one");
        assert!(!closed(&s, c).await, "and lifted");
        assert_eq!(s.reserve_attempt(c, LOCK_UNTIL).await.unwrap(), Some(2));
        assert_eq!(s.reserve_attempt(c, LOCK_UNTIL).await.unwrap(), None);
        // The admin's unlock clears everything.
        assert!(s.password_reset_failures("u1").await.unwrap());
        assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), Some(1));
    }

    async fn a_code_attempt_needs_its_session_pending_and_unexpired(backend) {
        let db = TestDb::new(backend).await;
        let s = store_with_secrets(&db, 0).await;
        let c = Counter::Code { session_id: "c1", max: 0 };
        // maxAttempts 0: unlimited while the session lasts.
        for n in 1..=30 {
            assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), Some(n));
        }
        assert_eq!(s.reserve_attempt(c, Timestamp(60_000)).await.unwrap(), None, "expired");
        let session = s.session("c1").await.unwrap().unwrap();
        let t = session.finish(&Ending::accept(), NOW).unwrap();
        assert!(s.finish_session(&t, &[], &[]).await.unwrap());
        assert_eq!(s.reserve_attempt(c, NOW).await.unwrap(), None, "ended");
        assert_eq!(s.reserve_attempt(Counter::Code { session_id: "nope", max: 3 }, NOW).await.unwrap(), None);
    }
}
