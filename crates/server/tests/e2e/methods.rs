//! The methods made startable through the method seam (docs/architecture.md, "Methods";
//! docs/otp.md): push with a custom authenticator, approved with its key or with the PIN;
//! voice codes read from the TwiML a Twilio-shaped server recorded, as a type and as a
//! risk challenge; and `qr_otp`, `totp` and `static_password` started as authentication
//! types — on both backends.

use std::sync::Arc;
use std::time::Duration;

use crate::common::peers::*;
use crate::common::{self, App, Auth, code};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator, KeyKind};
use countersign_core::{FixedClock, Timestamp};
use countersign_store::backend_tests;
use serde_json::{Value, json};

async fn login(app: &App, key: &str, user: &str, body: Value) -> (u16, Value) {
    app.call("POST", &format!("/v1/users/{user}@example.com/login"), Auth::Bearer(key), Some(body)).await
}

async fn status(app: &App, key: &str, id: &str) -> Value {
    let (s, b) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(key), None).await;
    assert_eq!(s, 200, "{b}");
    b
}

async fn put_type(app: &App, name: &str, body: Value) -> (u16, Value) {
    app.admin("PUT", &format!("/admin/v1/tenants/example.com/auth-types/{name}"), Some(body)).await
}

async fn add_user(app: &App, user: &str) {
    let (s, b) = app
        .admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": user, "phone": "+15550199"})))
        .await;
    assert_eq!(s, 201, "{b}");
}

async fn activate(app: &App, key: &str, user: &str, opts: ActivateOptions) -> Authenticator {
    let (s, a) = app.call("POST", &format!("/v1/users/{user}@example.com/activations"), Auth::Bearer(key), None).await;
    assert_eq!(s, 201, "{a}");
    Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &opts).await.unwrap()
}

/// The request the authenticator sees for `id`.
async fn pending(auth: &Authenticator, id: &str) -> countersign_proto::messages::PendingRequest {
    for _ in 0..100 {
        if let Some(r) = auth.pending().await.unwrap().into_iter().find(|r| r.request_id == id) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("request {id} never reached the device");
}

/// A Twilio-shaped server serving the tenant's SMS provider; its log.
async fn with_twilio(app: &App) -> Log {
    let (log, addr) = twilio().await;
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/providers",
            Some(json!({"sms": {"provider": "twilio", "accountSid": "AC1", "authToken": "tok",
                                 "from": "+15550001111", "baseUrl": format!("http://{addr}")}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    log
}

/// The code a call read out (twice: the digits of the text, halved), and the call's
/// language; waits for the `n`th call.
async fn code_called(log: &Log, n: usize) -> (String, String, Vec<(String, String)>) {
    eventually(10, async || twilio_calls(log).len() > n).await;
    let call = twilio_calls(log).remove(n);
    let (language, text) = said(&field(&call, "Twiml"));
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(digits.len(), 12, "the code is said twice: {text}");
    let (first, again) = digits.split_at(6);
    assert_eq!(first, again, "{text}");
    assert!(text.contains(&first.chars().map(String::from).collect::<Vec<_>>().join(" ")), "digits spaced: {text}");
    (first.to_owned(), language, call)
}

fn oathtool_totp(secret_b32: &str, unix: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now", &format!("@{unix}"), secret_b32])
        .output()
        .expect("oathtool is installed (.ci/run)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

backend_tests! {
    async fn push_custom_is_approved_by_the_named_custom_authenticator_or_the_pin(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = put_type(&app, "face", json!({"method": "push_custom"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("customAuthenticator")), "{b}");
        let (s, b) = put_type(&app, "face", json!({"method": "push_custom", "customAuthenticator": "face-id"})).await;
        assert_eq!(s, 200, "{b}");
        let opts = ActivateOptions { custom: vec!["face-id".into()], ..ActivateOptions::default() };
        let auth = activate(&app, &key, "alice", opts).await;

        // Approved with the custom authenticator's key.
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "face", "timeout": 0})).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Pending")), "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        let number = out["numberToShow"].as_u64().map(|n| n as u8);
        let req = pending(&auth, &id).await;
        assert_eq!((req.method.as_str(), req.custom_authenticator.as_deref()), ("Custom", Some("face-id")));
        // The possession key alone does not approve it.
        let e = auth.respond(&id, &Answer { approve: true, number, key: Some(KeyKind::Possession), ..Default::default() })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Some("invalid_value"), "{e}");
        let body = auth.response_body(&req, &Answer { approve: true, number, ..Default::default() }).unwrap();
        assert_eq!(body.key, "custom", "the custom key is the default choice");
        assert_eq!(auth.send_response(&id, &body).await.unwrap().session_status, "Accept");
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Accept");

        // The PIN is the fallback.
        let (_, out) = login(&app, &key, "alice", json!({"passKey": "face", "timeout": 0})).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        let number = out["numberToShow"].as_u64().map(|n| n as u8);
        let answer = Answer { approve: true, pin: Some("1234"), number, ..Default::default() };
        let req = pending(&auth, &id).await;
        assert_eq!(auth.response_body(&req, &answer).unwrap().key, "pin");
        assert_eq!(auth.respond(&id, &answer).await.unwrap().session_status, "Accept");

        // A device without that custom authenticator can only use the PIN: a synchronous
        // login, approved on the device while the relying party waits.
        let (s, _) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"pushEnrollmentMode": "multiple"}}))).await;
        assert_eq!(s, 200);
        let plain = activate(&app, &key, "alice", ActivateOptions { app_id: "other-app".into(), ..ActivateOptions::default() }).await;
        let waiter = {
            let (client, url, key) = (app.client.clone(), format!("{}/v1/users/alice@example.com/login", app.base), key.clone());
            tokio::spawn(async move {
                common::read(client.post(url).bearer_auth(key).json(&json!({"passKey": "face", "timeout": 20})).send().await.unwrap()).await
            })
        };
        let req = loop {
            if let Some(r) = plain.pending().await.unwrap().into_iter().next() {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let custom = Answer { approve: true, custom: true, ..Default::default() };
        assert!(plain.response_body(&req, &custom).is_err(), "no such custom authenticator on this device");
        let forced = Answer { approve: true, key: Some(KeyKind::Custom), ..Default::default() };
        assert!(plain.response_body(&req, &forced).is_err());
        let r = plain.respond(&req.request_id, &Answer { approve: true, pin: Some("1234"), ..Default::default() }).await.unwrap();
        assert_eq!(r.session_status, "Accept");
        let (s, done) = waiter.await.unwrap();
        assert_eq!((s, done["sessionStatus"].as_str()), (200, Some("Accept")), "{done}");
    }

    async fn a_voice_code_is_read_out_by_a_call_and_logs_the_user_in(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "voice", "languageCode": "de-CH"})).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Pending")), "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        let (otp, language, call) = code_called(&log, 0).await;
        assert_eq!((field(&call, "To"), field(&call, "From")), ("+15550100".into(), "+15550001111".into()));
        assert_eq!(language, "de-DE");
        assert!(said(&field(&call, "Twiml")).1.starts_with("Ihr Bestätigungscode für example.com lautet"), "{call:?}");
        let seen = log.lock().unwrap()[0].clone();
        assert_eq!(seen.path, "/2010-04-01/Accounts/AC1/Calls.json");
        assert!(header(&seen, "authorization").starts_with("Basic "));
        assert!(log.lock().unwrap().iter().all(|s| !s.path.ends_with("/Messages.json")), "no text message");
        // The call's payload is sealed in the outbox, like an SMS.
        let msgs = app.core.store.list_outbox(None, None, 10).await.unwrap();
        assert!(msgs.iter().any(|m| m.kind.as_str() == "voice"));
        assert!(msgs.iter().all(|m| m.payload.starts_with("v1.") && !m.payload.contains(&otp)));

        let wrong: String = otp.chars().map(|c| if c == '1' { '2' } else { '1' }).collect();
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": wrong})).await;
        assert_eq!((s, code(&b)), (422, "invalid_otp"));
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": otp})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        // A resend calls again, with the same code.
        let (_, out) = login(&app, &key, "alice", json!({"passKey": "voice"})).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        let (first, language, _) = code_called(&log, 1).await;
        assert_eq!(language, "en-US", "alice's locale");
        let (s, _) = app.call("POST", &format!("/v1/sessions/{id}/resend"), Auth::Bearer(&key), None).await;
        assert_eq!(s, 202);
        assert_eq!(code_called(&log, 2).await.0, first);
    }

    async fn a_risk_rule_can_challenge_with_a_voice_call(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        let (s, b) = app
            .admin("PUT", "/admin/v1/tenants/example.com/risk",
                Some(json!({"rules": [{"id": "call-me", "when": {"always": true}, "then": "voice"}]})))
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, out) = login(&app, &key, "alice", json!({"cddc": {"userAgent": "Firefox/128"}, "sessionID": "S1"})).await;
        assert_eq!(
            (s, out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str(), out["sessionStatus"].as_str()),
            (200, Some(13), Some("call-me"), Some("Pending")),
            "{out}"
        );
        let (otp, _, _) = code_called(&log, 0).await;
        let (s, b) = login(&app, &key, "alice", json!({"requestID": out["requestID"], "passKey": otp})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
    }

    async fn a_qr_otp_type_starts_a_qr_login_only_the_users_device_can_claim(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        add_user(&app, "bob").await;
        let alice = activate(&app, &key, "alice", ActivateOptions::default()).await;
        let bob = activate(&app, &key, "bob", ActivateOptions::default()).await;
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "qr", "sessionID": "rp-1"})).await;
        assert_eq!((s, out["sessionStatus"].as_str(), out["sessionID"].as_str()), (200, Some("Pending"), Some("rp-1")), "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        let payload = out["qrPayload"].as_str().unwrap().to_owned();
        assert!(payload.starts_with("countersign://qr-login?v=1&server="), "{payload}");
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(out["qrPNG"].as_str().unwrap()).unwrap();
        assert_eq!(countersign_authenticator::qrimage::decode_png(&png).unwrap(), payload);
        assert!(out["appLink"].as_str().unwrap().contains(&id));
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Pending");
        // Bound to alice: bob's device cannot claim it.
        let e = bob.claim(&payload).await.unwrap_err();
        assert!(matches!(e, countersign_authenticator::Error::Server { status: 404, .. }), "{e}");
        assert_eq!(alice.claim(&payload).await.unwrap().session_status, "Accept");
        let st = status(&app, &key, &id).await;
        assert_eq!(
            (st["sessionStatus"].as_str(), st["userID"].as_str(), st["deviceID"].as_str()),
            (Some("Accept"), Some("alice"), Some(alice.state.device_id.as_str()))
        );
        let (s, b) = put_type(&app, "qr", json!({"method": "qr_otp", "enabled": false})).await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "qr"})).await;
        assert_eq!((s, code(&b)), (403, "auth_type_disabled"));
    }

    async fn a_totp_type_checks_the_otp_field_against_the_users_token(backend) {
        const T0: i64 = 1_800_000_000;
        let clock = Arc::new(FixedClock::new(Timestamp(T0 * 1000)));
        let app = App::spawn_with_clock(backend, clock.clone()).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, e) = app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), Some(json!({}))).await;
        assert_eq!(s, 201, "{e}");
        let uri = e["otpauthURI"].as_str().unwrap();
        let secret = uri.split(['?', '&']).find_map(|p| p.strip_prefix("secret=")).unwrap().to_owned();
        let confirm = format!("/v1/users/alice@example.com/tokens/{}/confirm", e["tokenID"].as_str().unwrap());
        let (s, _) = app.call("POST", &confirm, Auth::Bearer(&key), Some(json!({"otp": oathtool_totp(&secret, T0)}))).await;
        assert_eq!(s, 200);
        let (s, b) = put_type(&app, "hardware", json!({"method": "totp"})).await;
        assert_eq!(s, 200, "{b}");

        let (s, b) = login(&app, &key, "alice", json!({"passKey": "hardware"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("otp")), "{b}");
        clock.advance(30_000);
        let otp = oathtool_totp(&secret, T0 + 30);
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "hardware", "otp": otp, "sessionID": "rp-2"})).await;
        assert_eq!((s, b["sessionStatus"].as_str(), b["sessionID"].as_str()), (200, Some("Accept"), Some("rp-2")), "{b}");
        assert_eq!(status(&app, &key, b["requestID"].as_str().unwrap()).await["sessionStatus"], "Accept");
        let (s, b) = put_type(&app, "hardware", json!({"method": "totp", "enabled": false})).await;
        assert_eq!(s, 200, "{b}");
        clock.advance(30_000);
        let otp = oathtool_totp(&secret, T0 + 60);
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "hardware", "otp": otp})).await;
        assert_eq!((s, code(&b)), (403, "auth_type_disabled"));
        // The built-in type still takes it.
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "totp", "otp": otp})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
    }

    async fn a_static_password_type_starts_the_password_challenge(backend) {
        let raw = RawConfig { password_memory_kib: Some(1024), password_iterations: Some(1), ..RawConfig::default() };
        let app = App::spawn_with(backend, raw).await;
        let key = app.tenant_with_alice("example.com").await;
        let password = "correct horse battery";
        let (s, b) = app
            .admin("PUT", "/admin/v1/tenants/example.com/users/alice/static-password",
                Some(json!({"password": password, "graceDays": 30})))
            .await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = put_type(&app, "password", json!({"method": "static_password", "ttlSeconds": 120})).await;
        assert_eq!(s, 200, "{b}");
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "password", "sessionID": "S1", "timeout": 0})).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Pending")), "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Pending");
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "sessionID": "S2", "passKey": password})).await;
        assert_eq!((s, code(&b)), (409, "session_mismatch"));
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "sessionID": "S1", "passKey": "wrong"})).await;
        assert_eq!((s, code(&b)), (422, "invalid_password"));
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "sessionID": "S1", "passKey": password})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Accept");
        let (s, _) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"staticPasswordMode": "off"}}))).await;
        assert_eq!(s, 200);
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "password", "sessionID": "S3"})).await;
        assert_eq!((s, code(&b)), (403, "static_password_disabled"));
    }
}
