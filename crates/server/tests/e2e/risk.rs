//! Static passwords and the risk engine end to end (docs/risk.md): each default rule
//! driven to its outcome, the synchronous and asynchronous static-password flows of seed
//! 003, lockout and unlock, grace periods and modes, and an event validation that
//! challenges with a push whose signed text carries the amount, a FIDO challenge answered
//! with a passkey — on both backends.

use crate::common;
use std::sync::Arc;

use crate::common::mmdb;
use crate::common::{App, Auth};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_core::{Clock, FixedClock, SystemClock};
use countersign_store::backend_tests;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const PASSWORD: &str = "correct horse battery";

fn cddc(browser: &str) -> Value {
    json!({"userAgent": browser, "language": "en-GB", "platform": "MacIntel", "timezone": "Europe/Amsterdam",
           "screen": {"width": 1680, "height": 1050, "colorDepth": 30}, "hardwareConcurrency": 8,
           "timestamp": 1_800_000_000_000_i64})
}

fn cheap() -> RawConfig {
    RawConfig { password_memory_kib: Some(1024), password_iterations: Some(1), ..RawConfig::default() }
}

/// The app (with a GeoIP database: Amsterdam 81.2.69.0/24, New York 2.125.160.0/20) on
/// a clock the test steps; alice with a static password (30 days of grace).
async fn setup(
    backend: countersign_store::testing::Backend,
    dir: &tempfile::TempDir,
) -> (App, Arc<FixedClock>, String) {
    let db = mmdb::build(vec![
        ("81.2.69.0", 24, mmdb::city_at("NL", "Amsterdam", 52.37, 4.90)),
        ("2.125.160.0", 20, mmdb::city_at("US", "New York", 40.71, -74.01)),
    ]);
    let path = dir.path().join("city.mmdb");
    std::fs::write(&path, db).unwrap();
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let raw = RawConfig { geoip_database: Some(path.to_string_lossy().into_owned()), ..cheap() };
    let app = App::spawn_full(backend, raw, Some(clock.clone())).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/users/alice/static-password",
            Some(json!({"password": PASSWORD, "graceDays": 30})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    assert!(!b.to_string().contains(PASSWORD));
    (app, clock, key)
}

async fn login(app: &App, key: &str, body: Value) -> (u16, Value) {
    app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await
}

/// First call of an adaptive login.
async fn first(app: &App, key: &str, browser: &str, ip: &str, sid: &str) -> Value {
    let (s, out) =
        login(app, key, json!({"cddc": cddc(browser), "ipAddress": ip, "sessionID": sid, "timeout": 60})).await;
    assert_eq!(s, 200, "{out}");
    out
}

/// A full login from a new device: challenge 2, then the password.
async fn with_password(app: &App, key: &str, browser: &str, ip: &str) -> Value {
    let out = first(app, key, browser, ip, "S1").await;
    assert_eq!(out["riskResponseCode"], 2, "{out}");
    let (s, done) = login(
        app,
        key,
        json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": PASSWORD,
        "cddc": cddc(browser), "ipAddress": ip}),
    )
    .await;
    assert_eq!(s, 200, "{done}");
    done
}

backend_tests! {
    async fn a_burst_of_password_checks_leaves_health_probes_fast(backend) {
        // Costly hashes on a pool of one thread: 20 checks take seconds; the async
        // workers stay free for everything else.
        let raw = RawConfig {
            password_memory_kib: Some(65_536),
            password_iterations: Some(3),
            password_hash_threads: Some(1),
            ..RawConfig::default()
        };
        let app = Arc::new(App::spawn_with(backend, raw).await);
        let key = app.tenant_with_alice("example.com").await;
        let burst: Vec<_> = (0..20)
            .map(|i| {
                let (app, key) = (app.clone(), key.clone());
                tokio::spawn(async move {
                    let body = json!({"requestID": format!("r{i}"), "sessionID": "S1", "passKey": "wrong password"});
                    app.call("POST", "/v1/users/nobody@example.com/login", Auth::Bearer(&key), Some(body)).await.0
                })
            })
            .collect();
        let started = std::time::Instant::now();
        let mut slowest = std::time::Duration::ZERO;
        while !burst.iter().all(|t| t.is_finished()) {
            let asked = std::time::Instant::now();
            let (s, _) = app.call("GET", "/healthz", Auth::None, None).await;
            assert_eq!(s, 200);
            slowest = slowest.max(asked.elapsed());
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        for t in burst {
            assert!((400..500).contains(&t.await.unwrap()), "an unknown user is refused");
        }
        let took = started.elapsed();
        assert!(took > std::time::Duration::from_millis(200), "the burst did cost something: {took:?}");
        assert!(slowest < std::time::Duration::from_millis(500), "/healthz took {slowest:?} during a {took:?} burst");
    }

    async fn the_synchronous_static_password_flow_then_a_known_device(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, _clock, key) = setup(backend, &dir).await;
        let (_, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert!(state["staticPassword"]["graceUntil"].is_string(), "{state}");
        // New device: challenge 2 with the reason, and a pending request.
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S1").await;
        assert_eq!((out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str(), out["sessionStatus"].as_str()),
            (Some(2), Some("new-device"), Some("Pending")), "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        // The wrong session ID, a wrong password, then the right one.
        let (s, b) = login(&app, &key, json!({"requestID": id, "sessionID": "S2", "passKey": PASSWORD})).await;
        assert_eq!((s, common::code(&b)), (409, "session_mismatch"));
        let (s, b) = login(&app, &key, json!({"requestID": id, "sessionID": "S1", "passKey": "wrong password"})).await;
        assert_eq!((s, common::code(&b), b["error"]["attemptsLeft"].as_u64()), (422, "invalid_password", Some(4)));
        let (s, b) = login(&app, &key, json!({"requestID": id, "sessionID": "S1", "passKey": PASSWORD, "cddc": cddc("Chrome/120")})).await;
        assert_eq!((s, b["sessionStatus"].as_str(), b["riskResponseCode"].as_u64()), (200, Some("Accept"), Some(0)), "{b}");
        let (s, b) = login(&app, &key, json!({"requestID": id, "sessionID": "S1", "passKey": PASSWORD})).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"), "one answer per challenge");
        // The device is known now: accepted outright.
        let out = first(&app, &key, "Chrome/120", "81.2.69.11", "S3").await;
        assert_eq!((out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str(), out["sessionStatus"].as_str()),
            (Some(0), Some("known-device"), Some("Accept")), "{out}");
        // Another browser is new again.
        assert_eq!(first(&app, &key, "Firefox/121", "81.2.69.11", "S4").await["riskResponseCode"], 2);
    }

    async fn the_asynchronous_flow_reads_the_real_state_and_requests_expire(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, clock, key) = setup(backend, &dir).await;
        let (_, out) = login(&app, &key, json!({"cddc": cddc("Chrome/120"), "sessionID": "A1", "timeout": 0})).await;
        assert_eq!(out["riskResponseCode"], 2);
        let id = out["requestID"].as_str().unwrap().to_owned();
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Pending", "not Accept before the password is checked");
        let (s, _) = login(&app, &key, json!({"requestID": id, "sessionID": "A1", "passKey": PASSWORD})).await;
        assert_eq!(s, 200);
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Accept");
        // An expired request fails clearly.
        let (_, out) = login(&app, &key, json!({"cddc": cddc("Edge/120"), "sessionID": "A2", "timeout": 0})).await;
        clock.advance(61_000);
        let (s, b) = login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "A2", "passKey": PASSWORD})).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"));
    }

    async fn wrong_passwords_lock_until_unlocked_or_the_time_passes_and_velocity_locks_the_user(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, clock, key) = setup(backend, &dir).await;
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S1").await;
        let answer = |pw: &str| json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": pw});
        for left in [4, 3, 2, 1] {
            let (s, b) = login(&app, &key, answer("wrong password")).await;
            assert_eq!((s, b["error"]["attemptsLeft"].as_u64()), (422, Some(left)));
        }
        let (s, b) = login(&app, &key, answer("wrong password")).await;
        assert_eq!((s, common::code(&b)), (403, "static_password_locked"));
        // Velocity: five failures in 15 minutes lock the user at the next login.
        let out2 = first(&app, &key, "Chrome/120", "81.2.69.10", "S9").await;
        assert_eq!((out2["riskResponseCode"].as_u64(), out2["riskReasons"][0].as_str()), (Some(1), Some("velocity")), "{out2}");
        let (_, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(state["status"], "locked", "{state}");
        let (s, b) = first_raw(&app, &key).await;
        assert_eq!((s, common::code(&b)), (403, "user_locked"));
        // Unlock the user; the password is still locked, until the admin unlocks it…
        app.admin("PATCH", "/admin/v1/tenants/example.com/users/alice", Some(json!({"status": "active"}))).await;
        clock.advance(16 * 60_000);
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S5").await;
        let (s, b) = login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S5", "passKey": PASSWORD})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "…or the lock time passes: {b}");
        // Admin unlock.
        let out = first(&app, &key, "Safari/17", "81.2.69.10", "S6").await;
        for _ in 0..5 {
            login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S6", "passKey": "nope nope"})).await;
        }
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/users/alice/static-password/unlock", None).await;
        assert_eq!((s, b["failures"].as_u64()), (200, Some(0)), "{b}");
    }

    async fn deny_listed_addresses_are_declined_and_impossible_travel_too(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, clock, key) = setup(backend, &dir).await;
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/risk", Some(json!({"ipDeny": ["203.0.113.0/24"],
            "rules": app.admin("GET", "/admin/v1/tenants/example.com/risk", None).await.1["rules"]}))).await;
        assert_eq!(s, 200, "{b}");
        let out = first(&app, &key, "Chrome/120", "203.0.113.9", "S1").await;
        assert_eq!((out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str(), out["sessionStatus"].as_str()),
            (Some(1), Some("deny-ip"), Some("Decline")), "{out}");
        // A login in Amsterdam, then ten minutes later the same device in New York.
        assert_eq!(with_password(&app, &key, "Chrome/120", "81.2.69.10").await["sessionStatus"], "Accept");
        clock.advance(10 * 60_000);
        let out = first(&app, &key, "Chrome/120", "2.125.160.216", "S2").await;
        assert_eq!((out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str()), (Some(1), Some("travel")), "{out}");
        // A day later the trip is possible.
        clock.advance(24 * 3_600_000);
        let out = first(&app, &key, "Chrome/120", "2.125.160.216", "S3").await;
        assert_eq!(out["riskResponseCode"], 0, "{out}");
        // Bad settings are refused by field.
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/risk", Some(json!({"ipDeny": ["nope"]}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("ipDeny.0")));
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/risk",
            Some(json!({"rules": [{"id": "x", "when": {"fact": "weather", "eq": "rain"}, "then": "accept"}]}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("rules.0.when")));
    }

    async fn grace_periods_and_modes(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, _clock, key) = setup(backend, &dir).await;
        // Past its grace period, the password alone is refused (exclusive mode).
        app.admin("PUT", "/admin/v1/tenants/example.com/users/alice/static-password",
            Some(json!({"password": PASSWORD, "graceUntil": "2020-01-01T00:00:00Z"}))).await;
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S1").await;
        let (s, b) = login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": PASSWORD})).await;
        assert_eq!((s, common::code(&b)), (403, "static_password_expired"));
        // Parallel: the password, then a push approved on the phone.
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"staticPasswordMode": "parallel", "numberMatching": false}}))).await;
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S2").await;
        let (s, b) = login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S2", "passKey": PASSWORD})).await;
        assert_eq!((s, b["riskResponseCode"].as_u64(), b["sessionStatus"].as_str()), (200, Some(6), Some("Pending")), "{b}");
        let push_id = b["requestID"].as_str().unwrap().to_owned();
        assert_ne!(push_id, out["requestID"].as_str().unwrap());
        let r = auth.respond(&push_id, &Answer { approve: true, ..Default::default() }).await.unwrap();
        assert_eq!(r.session_status, "Accept");
        // Off: the challenge cannot be given.
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"staticPasswordMode": "off"}}))).await;
        let (s, b) = login(&app, &key, json!({"cddc": cddc("Opera/1"), "sessionID": "S3"})).await;
        assert_eq!((s, common::code(&b)), (403, "static_password_disabled"));
    }

    async fn a_large_transfer_is_challenged_with_a_push_that_shows_the_amount(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, _clock, key) = setup(backend, &dir).await;
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"numberMatching": false}}))).await;
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        with_password(&app, &key, "Chrome/120", "81.2.69.10").await;
        let event = |amount: f64| json!({"eventType": "Transaction", "cddc": cddc("Chrome/120"), "ipAddress": "81.2.69.10",
            "amount": amount, "currency": "EUR", "beneficiary": "NL91 ABNA 0417 1643 00", "newBeneficiary": true});
        let (s, out) = app.call("POST", "/v1/users/alice@example.com/events/validate", Auth::Bearer(&key), Some(event(1250.0))).await;
        assert_eq!((s, out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str(), out["objectType"].as_str()),
            (200, Some(6), Some("big-transfer"), Some("EventValidationOutput")), "{out}");
        let id = out["requestID"].as_str().unwrap();
        let req = auth.request(id).await.unwrap();
        assert_eq!(req.message, "Confirm Transaction: 1250.00 EUR?");
        assert_eq!(req.context.get("amount").map(String::as_str), Some("1250.00 EUR"));
        assert_eq!(req.context.get("beneficiary").map(String::as_str), Some("NL91 ABNA 0417 1643 00"));
        let r = auth.respond(id, &Answer { approve: true, ..Default::default() }).await.unwrap();
        assert_eq!(r.session_status, "Accept", "the device signed the digest of the amount it showed");
        // A small one from the known device passes.
        let (_, out) = app.call("POST", "/v1/users/alice@example.com/events/validate", Auth::Bearer(&key), Some(event(20.0))).await;
        assert_eq!((out["riskResponseCode"].as_u64(), out["sessionStatus"].as_str()), (Some(0), Some("Accept")), "{out}");
        let (s, b) = app.call("POST", "/v1/users/alice@example.com/events/validate", Auth::Bearer(&key),
            Some(json!({"eventType": "Transaction", "amount": -5}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("amount")));
    }

    async fn a_fido_challenge_is_a_passkey_ceremony_and_teaches_the_device(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, _clock, key) = setup(backend, &dir).await;
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/risk", Some(json!({"rules": [
            {"id": "known-device", "when": {"fact": "device.known", "eq": true}, "then": "accept"},
            {"id": "new-device-fido", "when": {"always": true}, "then": "fido"}]}))).await;
        assert_eq!(s, 200, "{b}");
        let adaptive = json!({"cddc": cddc("Chrome/120"), "ipAddress": "81.2.69.10", "sessionID": "S1"});
        // The challenge needs a relying party and a registered authenticator: clear errors until then.
        let (s, b) = login(&app, &key, adaptive.clone()).await;
        assert_eq!((s, common::code(&b)), (409, "fido_not_configured"), "{b}");
        const ORIGIN: &str = "https://app.example.com";
        app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": [ORIGIN]}))).await;
        let (s, b) = login(&app, &key, adaptive.clone()).await;
        assert_eq!((s, common::code(&b)), (422, "no_fido_authenticator"), "{b}");
        let mut passkey = SoftPasskey::new(true);
        let (_, r) = app.call("POST", "/v1/users/alice@example.com/generate-fido-registration-request", Auth::Bearer(&key),
            Some(json!({"fidoProtocol": "FIDO2"}))).await;
        let ccr: CreationChallengeResponse = serde_json::from_value(r["registrationRequest"].clone()).unwrap();
        let reg = passkey.do_registration(Url::parse(ORIGIN).unwrap(), ccr).unwrap();
        let (s, b) = app.call("POST", "/v1/users/alice@example.com/register-fido-authenticator", Auth::Bearer(&key),
            Some(json!({"requestID": r["requestID"], "fidoAuthenticator": {"registrationResponse": reg}}))).await;
        assert_eq!(s, 201, "{b}");

        // A new device: riskResponseCode 14 with the passkey ceremony to run.
        let (s, out) = login(&app, &key, adaptive.clone()).await;
        assert_eq!((s, out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str(), out["sessionStatus"].as_str()),
            (200, Some(14), Some("new-device-fido"), Some("Pending")), "{out}");
        assert_eq!((out["fidoChallenge"]["fidoProtocol"].as_str(), out["sessionID"].as_str()), (Some("FIDO2"), Some("S1")), "{out}");
        let rcr: RequestChallengeResponse = serde_json::from_value(out["fidoChallenge"]["authenticationRequest"].clone()).unwrap();
        let pkc = passkey.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, done) = login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S1",
            "credentials": {"fidoAuthenticator": {"authenticationResponse": pkc}}})).await;
        assert_eq!((s, done["sessionStatus"].as_str()), (200, Some("Accept")), "{done}");
        // The passed challenge taught the device: from it, the next login is accepted at once.
        let (s, out) = login(&app, &key, json!({"cddc": cddc("Chrome/120"), "ipAddress": "81.2.69.10", "sessionID": "S2"})).await;
        assert_eq!((s, out["riskResponseCode"].as_u64(), out["sessionStatus"].as_str()), (200, Some(0), Some("Accept")), "{out}");
        // Another device is challenged again.
        let (_, out) = login(&app, &key, json!({"cddc": cddc("Firefox/130"), "ipAddress": "81.2.69.10", "sessionID": "S3"})).await;
        assert_eq!(out["riskResponseCode"], 14, "{out}");

        // The passkey as the second factor after the static password (parallel mode).
        app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/passkey", Some(json!({"method": "fido2"}))).await;
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com",
            Some(json!({"settings": {"staticPasswordMode": "parallel", "secondFactor": "passkey"}}))).await;
        assert_eq!(s, 200, "{b}");
        app.admin("PUT", "/admin/v1/tenants/example.com/risk", Some(json!({"rules": [
            {"id": "password-first", "when": {"always": true}, "then": "static_password"}]}))).await;
        let (_, out) = login(&app, &key, json!({"cddc": cddc("Safari/17"), "ipAddress": "81.2.69.10", "sessionID": "S4"})).await;
        assert_eq!(out["riskResponseCode"], 2, "{out}");
        let (s, second) = login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S4", "passKey": PASSWORD})).await;
        assert_eq!((s, second["riskResponseCode"].as_u64(), second["fidoChallenge"]["fidoProtocol"].as_str()),
            (200, Some(14), Some("FIDO2")), "{second}");
        let rcr: RequestChallengeResponse = serde_json::from_value(second["fidoChallenge"]["authenticationRequest"].clone()).unwrap();
        let pkc = passkey.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, done) = login(&app, &key, json!({"requestID": second["requestID"],
            "credentials": {"fidoAuthenticator": {"authenticationResponse": pkc}}})).await;
        assert_eq!((s, done["sessionStatus"].as_str()), (200, Some("Accept")), "{done}");
    }

    async fn metrics_count_risk_decisions_password_and_user_lockouts(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (app, _clock, key) = setup(backend, &dir).await;
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S1").await;
        assert_eq!(out["riskResponseCode"], 2);
        for _ in 0..5 {
            login(&app, &key, json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": "wrong password"})).await;
        }
        let out = first(&app, &key, "Chrome/120", "81.2.69.10", "S2").await;
        assert_eq!((out["riskResponseCode"].as_u64(), out["sessionStatus"].as_str()), (Some(1), Some("Decline")), "{out}");
        let text = common::metrics::scrape(&app).await;
        for line in [
            "countersign_risk_decisions_total{code=\"1\"} 1",
            "countersign_risk_decisions_total{code=\"2\"} 1",
            "countersign_lockouts_total{kind=\"static_password\"} 1",
            "countersign_lockouts_total{kind=\"user\"} 1",
            "countersign_logins_total{method=\"static_password\",outcome=\"Failed\"} 1",
            "countersign_logins_total{method=\"adaptive\",outcome=\"Decline\"} 1",
            "countersign_sessions_pending 0",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}

async fn first_raw(app: &App, key: &str) -> (u16, Value) {
    login(app, key, json!({"cddc": cddc("Chrome/120"), "sessionID": "S0"})).await
}
