//! One-time codes end to end (docs/otp.md): codes delivered through a Twilio-shaped server
//! and a real SMTP server (aiosmtpd), read from what was delivered and typed back;
//! attempts, resends, expiry, custom delivery, push falling back to SMS, and the types'
//! admin API — on both storage backends.

use crate::common;
use std::sync::Arc;

use crate::common::peers::*;
use crate::common::{App, Auth};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// A Twilio-shaped endpoint that accepts everything.
async fn twilio_peer() -> (Log, std::net::SocketAddr) {
    let log: Log = Arc::default();
    let addr = serve_plain(recorder(log.clone(), |_, _| (201, json!({"sid": "SM1"})))).await;
    (log, addr)
}

/// A Twilio-shaped endpoint, and the app configured to use it.
async fn with_twilio(app: &App) -> Log {
    let (log, twilio) = twilio_peer().await;
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/providers",
            Some(json!({"sms": {
            "provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
            "baseUrl": format!("http://{twilio}")}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    log
}

/// The bodies of the SMS sent so far.
fn texts(log: &Log) -> Vec<String> {
    log.lock()
        .unwrap()
        .iter()
        .map(|s| url_decode(&s.body).into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v).unwrap_or_default())
        .collect()
}

/// The first run of at least 4 digits in `text`.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() >= 4)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .into()
}

async fn login(app: &App, key: &str, user: &str, body: Value) -> (u16, Value) {
    app.call("POST", &format!("/v1/users/{user}@example.com/login"), Auth::Bearer(key), Some(body)).await
}

async fn start(app: &App, key: &str, pass_key: &str) -> String {
    let (s, out) = login(app, key, "alice", json!({"passKey": pass_key})).await;
    assert_eq!(s, 200, "{out}");
    assert_eq!(out["sessionStatus"], "Pending");
    out["requestID"].as_str().unwrap().to_owned()
}

/// `n` identical logins at once.
async fn futures_join(app: &App, key: &str, body: Value, n: usize) -> Vec<(u16, Value)> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (client, url, key, body) = (
            app.client.clone(),
            format!("{}/v1/users/alice@example.com/login", app.base),
            key.to_owned(),
            body.clone(),
        );
        set.spawn(
            async move { common::read(client.post(url).bearer_auth(key).json(&body).send().await.unwrap()).await },
        );
    }
    set.join_all().await
}

fn wrong(code: &str) -> String {
    code.chars().map(|c| if c == '1' { '2' } else { '1' }).collect()
}

backend_tests! {
    async fn an_sms_code_read_from_the_message_logs_the_user_in_once(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        let id = start(&app, &key, "votp").await;
        eventually(10, async || texts(&log).len() == 1).await;
        let text = texts(&log).remove(0);
        let code = code_in(&text);
        assert_eq!(code.len(), 6, "{text}");
        assert!(text.contains("example.com"), "{text}");
        assert_eq!(url_decode(&log.lock().unwrap()[0].body).into_iter().find(|(k, _)| k == "To").unwrap().1, "+15550100");

        // Stored only as a hash; the outbox payload sealed.
        let stored = app.core.store.session_code(&id).await.unwrap().unwrap();
        assert!(!stored.code_hash.contains(&code) && stored.code_hash.len() == 64);
        let msgs = app.core.store.list_outbox(None, None, 10).await.unwrap();
        assert!(msgs.iter().all(|m| m.payload.starts_with("v1.") && !m.payload.contains(&code)));

        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": wrong(&code)})).await;
        assert_eq!((s, common::code(&b), b["error"]["attemptsLeft"].as_u64()), (422, "invalid_otp", Some(2)));
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code, "sessionID": "rp-1"})).await;
        assert_eq!((s, b["sessionStatus"].as_str(), b["sessionID"].as_str()), (200, Some("Accept"), Some("rp-1")), "{b}");
        // Single use.
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"));
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Accept");
        assert!(st.get("votpResponse").is_none());
    }

    async fn an_email_code_arrives_through_a_real_smtp_server(backend) {
        let dir = tempfile::tempdir().unwrap();
        let smtp = Smtp::start(&dir, "plain", None);
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, _) = app
            .admin("POST", "/admin/v1/tenants/example.com/users",
                Some(json!({"userID": "bob", "email": "bob@example.com", "vdpDeliveryMethod": "Email", "locale": "de"})))
            .await;
        assert_eq!(s, 201);
        app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"email": {
            "host": "127.0.0.1", "port": smtp.port, "security": "plain", "from": "Bank <no-reply@bank.example>"}}))).await;
        let (s, out) = login(&app, &key, "bob", json!({"passKey": "votp"})).await;
        assert_eq!(s, 200, "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        eventually(15, async || smtp.messages().len() == 1).await;
        let raw = smtp.messages().remove(0);
        assert!(raw.contains("To: bob@example.com"), "{raw}");
        // The code, from the plain-text part.
        let text_part = raw.split("Content-Type: text/plain").nth(1).unwrap();
        let code = code_in(text_part);
        assert_eq!(code.len(), 6, "{raw}");
        let (s, b) = login(&app, &key, "bob", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
    }

    async fn racing_right_codes_accept_exactly_once(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        let id = start(&app, &key, "sms").await;
        eventually(10, async || texts(&log).len() == 1).await;
        let code = code_in(&texts(&log)[0]);
        let body = json!({"requestID": id, "passKey": code});
        let results = futures_join(&app, &key, body, 8).await;
        assert_eq!(results.iter().filter(|(s, _)| *s == 200).count(), 1, "{results:?}");
        assert!(results.iter().filter(|(s, _)| *s != 200).all(|(s, b)| *s == 409 && common::code(b) == "session_closed"));
    }

    async fn too_many_wrong_codes_fail_the_session(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/sms",
            Some(json!({"method": "sms", "maxAttempts": 2, "codeLength": 8}))).await;
        assert_eq!(s, 200, "{b}");
        let id = start(&app, &key, "sms").await;
        eventually(10, async || texts(&log).len() == 1).await;
        let code = code_in(&texts(&log)[0]);
        assert_eq!(code.len(), 8);
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": wrong(&code)})).await;
        assert_eq!((s, b["error"]["attemptsLeft"].as_u64()), (422, Some(1)));
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": wrong(&code)})).await;
        assert_eq!((s, common::code(&b)), (403, "otp_attempts_exceeded"));
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"), "the right code is too late");
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!((st["sessionStatus"].as_str(), st["reason"].as_str()), (Some("Failed"), Some("otp_attempts_exceeded")));
    }

    async fn resends_send_the_same_code_up_to_the_limit(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/sms", Some(json!({"method": "sms", "maxResends": 1}))).await;
        let id = start(&app, &key, "sms").await;
        let resend = |id: String| {
            let (app, key) = (&app, key.clone());
            async move { app.call("POST", &format!("/v1/sessions/{id}/resend"), Auth::Bearer(&key), None).await }
        };
        let (s, b) = resend(id.clone()).await;
        assert_eq!((s, b["resends"].as_u64(), b["maxResends"].as_u64()), (202, Some(1), Some(1)), "{b}");
        eventually(10, async || texts(&log).len() == 2).await;
        let t = texts(&log);
        assert_eq!(t[0], t[1], "a resend sends the same code");
        let (s, b) = resend(id.clone()).await;
        assert_eq!((s, common::code(&b)), (409, "resend_limit"));
        // Resending switched off.
        app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/sms", Some(json!({"method": "sms", "maxResends": 0}))).await;
        let id2 = start(&app, &key, "sms").await;
        let (s, b) = resend(id2).await;
        assert_eq!((s, common::code(&b)), (409, "resend_disabled"));
        // The code still works after resends.
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code_in(&t[0])})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")));

        // SMS pumping: new sessions count against the user's login-request limit (two sent so far).
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"loginRequestLimit": 3}}))).await;
        start(&app, &key, "sms").await;
        eventually(10, async || texts(&log).len() == 4).await;
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "sms"})).await;
        assert_eq!((s, common::code(&b)), (429, "too_many_login_requests"), "{b}");
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(texts(&log).len(), 4, "nothing more was sent");
    }

    async fn a_code_dies_with_its_time_to_live(backend) {
        let clock = Arc::new(countersign_core::FixedClock::new(countersign_core::Timestamp(1_800_000_000_000)));
        let app = App::spawn_with_clock(backend, clock.clone()).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/sms", Some(json!({"method": "sms", "ttlSeconds": 60}))).await;
        let id = start(&app, &key, "sms").await;
        eventually(10, async || texts(&log).len() == 1).await;
        let code = code_in(&texts(&log)[0]);
        clock.advance(61_000);
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Timeout");
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"));
        let (s, b) = app.call("POST", &format!("/v1/sessions/{id}/resend"), Auth::Bearer(&key), None).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"));
    }

    async fn custom_delivery_returns_the_code_only_when_switched_on(backend) {
        // Off by default.
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "votpCustomDelivery"})).await;
        assert_eq!((s, common::code(&b)), (403, "custom_delivery_disabled"));
        drop(app);

        let app = App::spawn_with(backend, RawConfig { votp_custom_delivery: Some(true), ..RawConfig::default() }).await;
        let key = app.tenant_with_alice("example.com").await;
        let id = start(&app, &key, "votpCustomDelivery").await;
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        let code = st["votpResponse"].as_str().unwrap().to_owned();
        assert_eq!((code.len(), st["sessionStatus"].as_str()), (6, Some("Pending")));
        assert!(app.core.store.list_outbox(None, None, 10).await.unwrap().is_empty(), "nothing is sent");
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")));
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert!(st.get("votpResponse").is_none(), "not shown after the end: {st}");
        // It needs vdpDeliveryMethod Default.
        app.admin("PATCH", "/admin/v1/tenants/example.com/users/alice", Some(json!({"vdpDeliveryMethod": "SMS"}))).await;
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "votpCustomDelivery"})).await;
        assert_eq!((s, common::code(&b)), (422, "delivery_method_not_default"));
    }

    async fn push_falls_back_to_sms_for_a_user_without_a_device(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        // Without a fallback: Failed, no_device.
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, out["sessionStatus"].as_str(), out["reason"].as_str()), (200, Some("Failed"), Some("no_device")));
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/push", Some(json!({"method": "push", "fallback": "sms"}))).await;
        assert_eq!(s, 200, "{b}");
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, out["sessionStatus"].as_str(), out["fallback"].as_str()), (200, Some("Pending"), Some("sms")), "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        eventually(10, async || texts(&log).len() == 1).await;
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code_in(&texts(&log)[0])})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")));

        // With a device, push is used, and code sessions never reach the device.
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        let code_id = start(&app, &key, "votp").await;
        assert!(auth.pending().await.unwrap().is_empty(), "code sessions are not shown to devices");
        assert!(auth.request(&code_id).await.is_err());
        let (_, out) = login(&app, &key, "alice", json!({"passKey": "push", "timeout": 0})).await;
        assert!(out.get("fallback").is_none());
        assert_eq!(auth.pending().await.unwrap().len(), 1);
    }

    async fn generate_votp_delivers_by_each_method(backend) {
        let dir = tempfile::tempdir().unwrap();
        let smtp = Smtp::start(&dir, "plain", None);
        let app = App::spawn_with(backend, RawConfig { votp_custom_delivery: Some(true), ..RawConfig::default() }).await;
        let key = app.tenant_with_alice("example.com").await;
        let (log, twilio) = twilio_peer().await;
        app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({
            "sms": {"provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
                    "baseUrl": format!("http://{twilio}")},
            "email": {"host": "127.0.0.1", "port": smtp.port, "security": "plain", "from": "no-reply@bank.example"}}))).await;
        let (s, v) = app.admin("POST", "/admin/v1/tenants/example.com/users/alice/virtual-authenticators",
            Some(json!({"applications": ["APPL1", "BANK"]}))).await;
        assert_eq!(s, 201, "{v}");
        let serial = v["serialNumber"].as_str().unwrap().to_owned();
        assert!(serial.starts_with("VIR") && serial.len() == 10, "{serial}");
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/virtual-authenticators", None).await;
        let list = list["items"].clone();
        assert_eq!(list[0]["serialNumber"].as_str(), Some(serial.as_str()));
        let generate = |appl: &str, method: &str| {
            let (app, key, path) = (&app, key.clone(), format!("/v1/authenticators/{serial}/applications/{appl}/generate-votp"));
            let body = json!({"objectType": "GenerateVOTPInput", "deliveryMethod": method});
            async move { app.call("POST", &path, Auth::Bearer(&key), Some(body)).await }
        };
        let check = |id: String, code: String| {
            let (app, key) = (&app, key.clone());
            async move {
                let (s, b) = login(app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
                assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
            }
        };
        // SMS
        let (s, out) = generate("APPL1", "SMS").await;
        assert_eq!((s, out["objectType"].as_str()), (200, Some("GenerateVOTPOutput")), "{out}");
        assert!(out.get("votp").is_none());
        eventually(10, async || !texts(&log).is_empty()).await;
        check(out["requestID"].as_str().unwrap().into(), code_in(&texts(&log)[0])).await;
        // Email
        let (s, out) = generate("BANK", "Email").await;
        assert_eq!(s, 200, "{out}");
        eventually(15, async || smtp.messages().len() == 1).await;
        let raw = smtp.messages().remove(0);
        let code = code_in(raw.split("Content-Type: text/plain").nth(1).unwrap());
        check(out["requestID"].as_str().unwrap().into(), code).await;
        // Response
        let (s, out) = generate("APPL1", "Response").await;
        assert_eq!(s, 200, "{out}");
        let votp = out["votp"].as_str().unwrap().to_owned();
        assert_eq!(votp.len(), 6);
        check(out["requestID"].as_str().unwrap().into(), votp).await;
        // Refusals.
        let (s, b) = generate("OTHER", "SMS").await;
        assert_eq!((s, common::code(&b)), (422, "authenticator_not_found"));
        let (s, b) = generate("APPL1", "Pigeon").await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("deliveryMethod")));
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/example.com/virtual-authenticators/{serial}"), None).await;
        assert_eq!(s, 204);
        let (s, b) = generate("APPL1", "SMS").await;
        assert_eq!((s, common::code(&b)), (422, "authenticator_not_found"));
    }

    async fn authentication_types_are_listed_checked_and_removed(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, list) = app.admin("GET", "/admin/v1/tenants/example.com/auth-types", None).await;
        let list = list["items"].clone();
        assert_eq!(s, 200);
        let names: Vec<&str> = list.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        for n in ["push", "PIN", "Fingerprint", "votp", "votpCustomDelivery", "sms", "email"] {
            assert!(names.contains(&n), "{names:?}");
        }
        let put = |name: &str, body: Value| {
            let (app, path) = (&app, format!("/admin/v1/tenants/example.com/auth-types/{name}"));
            async move { app.admin("PUT", &path, Some(body)).await }
        };
        let (s, b) = put("otp-short", json!({"method": "sms", "ttlSeconds": 5})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("ttlSeconds")));
        let (s, b) = put("p2", json!({"method": "push", "fallback": "PIN"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("fallback")));
        let (s, b) = put("p2", json!({"method": "sms", "colour": "red"})).await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = put("bank-sms", json!({"method": "sms", "senderID": "BANK", "enabled": false})).await;
        assert_eq!((s, b["builtin"].as_bool()), (200, Some(false)), "{b}");
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "bank-sms"})).await;
        assert_eq!((s, common::code(&b)), (403, "auth_type_disabled"));
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "nothing"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("passKey")));
        let (s, b) = put("qr", json!({"method": "qr_otp"})).await;
        assert_eq!(s, 200, "{b}");
        // A qr_otp type starts a QR login for the user (docs/otp.md; methods.rs tests it).
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "qr"})).await;
        assert_eq!((s, b["sessionStatus"].as_str(), b["qrPayload"].is_string()), (200, Some("Pending"), true), "{b}");
        let (s, _) = app.admin("DELETE", "/admin/v1/tenants/example.com/auth-types/bank-sms", None).await;
        assert_eq!(s, 204);
        let (s, b) = app.admin("DELETE", "/admin/v1/tenants/example.com/auth-types/bank-sms", None).await;
        assert_eq!((s, common::code(&b)), (422, "auth_type_not_found"));
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "bank-sms"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("passKey")));
        // A code session for a user with no phone: a clear refusal.
        app.admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": "carol"}))).await;
        let (s, b) = login(&app, &key, "carol", json!({"passKey": "sms"})).await;
        assert_eq!((s, common::code(&b)), (422, "no_contact"));
    }

    async fn default_delivery_takes_the_channel_the_tenant_can_deliver_on(backend) {
        // alice has a phone and an e-mail address and vdpDeliveryMethod Default; the tenant
        // has only an SMTP server: the code goes by e-mail.
        let dir = tempfile::tempdir().unwrap();
        let smtp = Smtp::start(&dir, "plain", None);
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"email": {
            "host": "127.0.0.1", "port": smtp.port, "security": "plain", "from": "Bank <no-reply@bank.example>"}}))).await;
        let id = start(&app, &key, "votp").await;
        eventually(15, async || smtp.messages().len() == 1).await;
        let raw = smtp.messages().remove(0);
        assert!(raw.contains("To: alice@example.com"), "{raw}");
        let code = code_in(raw.split("Content-Type: text/plain").nth(1).unwrap());
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        // With an SMS provider as well, SMS comes first.
        let (log, twilio) = twilio_peer().await;
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({
            "email": {"host": "127.0.0.1", "port": smtp.port, "security": "plain", "from": "Bank <no-reply@bank.example>"},
            "sms": {"provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
                    "baseUrl": format!("http://{twilio}")}}))).await;
        assert_eq!(s, 200, "{b}");
        start(&app, &key, "votp").await;
        eventually(10, async || texts(&log).len() == 1).await;
        assert_eq!(smtp.messages().len(), 1);
    }

    async fn an_undeliverable_code_fails_the_session_with_a_reason(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let hook: Log = Arc::default();
        let url = format!("http://{}/cb", serve_plain(recorder(hook.clone(), |_, _| (200, json!({})))).await);
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/callbacks", Some(json!({"endpoints": [{"url": url}]}))).await;
        assert_eq!(s, 200, "{b}");
        app.admin("POST", "/admin/v1/tenants/example.com/callbacks/secret", None).await;
        // No provider at all: the session ends Failed at once, the relying party sees why.
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "votp", "callbackURL": url})).await;
        assert_eq!((s, out["sessionStatus"].as_str(), out["reason"].as_str()), (200, Some("Failed"), Some("no_sms_provider")), "{out}");
        let id = out["requestID"].as_str().unwrap();
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!((st["sessionStatus"].as_str(), st["reason"].as_str()), (Some("Failed"), Some("no_sms_provider")), "{st}");
        eventually(10, async || !hook.lock().unwrap().is_empty()).await;
        let cb: Value = serde_json::from_slice(&hook.lock().unwrap()[0].body).unwrap();
        assert_eq!((cb["sessionStatus"].as_str(), cb["reason"].as_str()), (Some("Failed"), Some("no_sms_provider")), "{cb}");
        let (s, out) = login(&app, &key, "alice", json!({"passKey": "email"})).await;
        assert_eq!((s, out["reason"].as_str()), (200, Some("no_email_provider")), "{out}");
        assert!(outbox(&app, "queued").await.iter().all(|m| m["kind"] == "callback"));

        // The provider refuses for good: the message goes dead and the session fails.
        let log: Log = Arc::default();
        let twilio = serve_plain(recorder(log.clone(), |_, _| (400, json!({"code": 21211, "message": "Invalid 'To' Phone Number"})))).await;
        app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"sms": {
            "provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
            "baseUrl": format!("http://{twilio}")}}))).await;
        let id = start(&app, &key, "votp").await;
        eventually(15, async || outbox(&app, "dead").await.iter().any(|m| m["kind"] == "sms")).await;
        eventually(10, async || {
            let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
            st["sessionStatus"] == "Failed" && st["reason"] == "delivery_failed"
        }).await;
    }

    async fn metrics_count_logins_lockouts_rate_limits_risk_and_pending_sessions(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let log = with_twilio(&app).await;
        // A code read from the SMS: accepted.
        let id = start(&app, &key, "votp").await;
        eventually(10, async || texts(&log).len() == 1).await;
        let code = code_in(&texts(&log)[0]);
        let (s, b) = login(&app, &key, "alice", json!({"requestID": id, "passKey": code})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        // Wrong codes until the attempts run out: failed, and a lockout.
        let id = start(&app, &key, "votp").await;
        eventually(10, async || texts(&log).len() == 2).await;
        let code = code_in(&texts(&log)[1]);
        for _ in 0..3 {
            login(&app, &key, "alice", json!({"requestID": id, "passKey": wrong(&code)})).await;
        }
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!(st["reason"], "otp_attempts_exceeded", "{st}");
        // A push to a user without a device fails at once (a session inserted final).
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "push"})).await;
        assert_eq!((s, b["reason"].as_str()), (200, Some("no_device")), "{b}");
        // Three login requests sent: a limit of 3 refuses the fourth.
        let (s, _) =
            app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"loginRequestLimit": 3}}))).await;
        assert_eq!(s, 200);
        let (s, b) = login(&app, &key, "alice", json!({"passKey": "votp"})).await;
        assert_eq!((s, common::code(&b)), (429, "too_many_login_requests"), "{b}");
        // A risk-scored login from a new device: riskResponseCode 2, a pending static-password challenge.
        let cddc = json!({"userAgent": "Chrome/120", "language": "en-GB", "platform": "MacIntel"});
        let (s, b) = login(&app, &key, "alice", json!({"cddc": cddc, "sessionID": "S1"})).await;
        assert_eq!((s, b["riskResponseCode"].as_u64(), b["sessionStatus"].as_str()), (200, Some(2), Some("Pending")), "{b}");

        eventually(10, async || {
            common::metrics::sample(&common::metrics::scrape(&app).await, "countersign_outbox_send_seconds_count{kind=\"sms\"}") == Some(2.0)
        })
        .await;
        let text = common::metrics::scrape(&app).await;
        for line in [
            "countersign_logins_total{method=\"NoPIN\",outcome=\"Failed\"} 1",
            "countersign_logins_total{method=\"votp\",outcome=\"Accept\"} 1",
            "countersign_logins_total{method=\"votp\",outcome=\"Failed\"} 1",
            "countersign_lockouts_total{kind=\"code_attempts\"} 1",
            "countersign_lockouts_total{kind=\"device_pin\"} 0",
            "countersign_rate_limited_total{limit=\"login_requests\"} 1",
            "countersign_risk_decisions_total{code=\"2\"} 1",
            "countersign_sessions_pending 1",
            "countersign_outbox_sends_total{kind=\"sms\",outcome=\"sent\"} 2",
            "countersign_outbox_send_seconds_bucket{kind=\"sms\",le=\"+Inf\"} 2",
            "# TYPE countersign_outbox_send_seconds histogram",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        // Exactly these logins were counted; no user, tenant or request ID in any label.
        let logins: Vec<&str> = text.lines().filter(|l| l.starts_with("countersign_logins_total{")).collect();
        assert_eq!(logins.len(), 3, "{logins:?}");
        for secret in ["alice", "example.com", id.as_str()] {
            assert!(!text.contains(secret), "{secret} reached /metrics");
        }
    }
}
