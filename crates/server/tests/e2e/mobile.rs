//! The mobile authenticator end to end: the reference authenticator (library) against
//! the real server over HTTP, on both backends.

use crate::common;
use std::sync::Arc;
use std::time::Duration;

use crate::common::{App, Auth, code};
use countersign_authenticator::{ActivateOptions, Answer, Authenticator, KeyKind, qrimage};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// A tenant `example.com` with user alice and an API key; the key.
async fn setup(app: &App, settings: Value) -> String {
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({ "settings": settings }))).await;
    assert_eq!(s, 200, "{b}");
    key
}

async fn start_activation(app: &App, key: &str) -> Value {
    let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(key), None).await;
    assert_eq!(s, 201, "{a}");
    a
}

async fn activate(app: &App, key: &str) -> Authenticator {
    let a = start_activation(app, key).await;
    Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap()
}

async fn login(app: &App, key: &str, body: Value) -> (u16, Value) {
    app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await
}

async fn status(app: &App, key: &str, id: &str) -> Value {
    let (s, b) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(key), None).await;
    assert_eq!(s, 200, "{b}");
    b
}

/// Wait until the authenticator sees a pending request; its ID.
async fn wait_pending(auth: &Authenticator) -> countersign_proto::messages::PendingRequest {
    for _ in 0..100 {
        if let Some(r) = auth.pending().await.unwrap().into_iter().next() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pending request arrived");
}

fn server_code(e: &countersign_authenticator::Error) -> String {
    e.code().unwrap_or("<not a server error>").to_owned()
}

backend_tests! {
    async fn activation_from_the_qr_payload_and_the_png(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        let a = start_activation(&app, &key).await;
        let payload = a["qrPayload"].as_str().unwrap().to_owned();
        assert!(payload.starts_with(&format!("countersign://activate?v=1&server={}", app.base.replace(':', "%3A").replace('/', "%2F"))));
        assert!(a["qrSvg"].as_str().unwrap().contains("<svg"));
        // The PNG in the answer and the downloadable one both carry the payload.
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD.decode(a["qrPng"].as_str().unwrap()).unwrap();
        assert_eq!(qrimage::decode_png(&png).unwrap(), payload);
        let id = a["activationID"].as_str().unwrap();
        let resp = app.client.get(format!("{}/v1/activations/{id}/qr.png", app.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(resp.headers()["content-type"], "image/png");
        let png = resp.bytes().await.unwrap();
        let from_image = qrimage::decode_png(&png).unwrap();
        assert_eq!(from_image, payload);

        let auth = Authenticator::activate(&from_image, "1234", &ActivateOptions::default()).await.unwrap();
        assert_eq!((auth.state.user_id.as_str(), auth.state.domain.as_str()), ("alice", "example.com"));
        let (_, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(state["authenticators"], json!([{"kind": "mobile", "id": auth.state.device_id}]));
        // The code is used: the QR is gone, and the payload cannot activate again.
        let (s, b) = app.call("GET", &format!("/v1/activations/{id}/qr.svg"), Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&b)), (410, "activation_used"));
        let again = Authenticator::activate(&payload, "1234", &ActivateOptions::default()).await.unwrap_err();
        assert_eq!(server_code(&again), "activation_used");
        // Another tenant's key cannot see the activation.
        let other = app.tenant_with_alice("other.example").await;
        let a2 = start_activation(&app, &key).await;
        let (s, _) = app.call("GET", &format!("/v1/activations/{}/qr.svg", a2["activationID"].as_str().unwrap()), Auth::Bearer(&other), None).await;
        assert_eq!(s, 404);
    }

    async fn activation_codes_allow_five_wrong_tries(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        let a = start_activation(&app, &key).await;
        let id = a["activationID"].as_str().unwrap();
        let path = format!("/mobile/v1/activations/{id}/code");
        for left in [4, 3, 2, 1] {
            let (s, b) = app.call("POST", &path, Auth::None, Some(json!({"code": "AAAAAAAAAAAA"}))).await;
            assert_eq!((s, code(&b), b["error"]["attemptsLeft"].as_u64()), (422, "invalid_activation_code", Some(left)));
        }
        let (s, b) = app.call("POST", &path, Auth::None, Some(json!({"code": "AAAAAAAAAAAA"}))).await;
        assert_eq!((s, code(&b)), (410, "activation_burned"));
        // The right code no longer helps.
        let err = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap_err();
        assert_eq!(server_code(&err), "activation_burned");
        let (s, _) = app.call("POST", "/mobile/v1/activations/nope/code", Auth::None, Some(json!({"code": "X"}))).await;
        assert_eq!(s, 404);
    }

    async fn async_push_login_pending_then_accept(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        let auth = activate(&app, &key).await;
        let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0, "loginMessage": "Sign in to the shop?",
            "context": {"ip": "203.0.113.7"}, "sessionID": "rp-1"})).await;
        assert_eq!(s, 200, "{out}");
        assert_eq!((out["sessionStatus"].as_str(), out["sessionID"].as_str()), (Some("Pending"), Some("rp-1")));
        let id = out["requestID"].as_str().unwrap().to_owned();
        let number = out["numberToShow"].as_u64().unwrap() as u8;
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Pending");

        let req = wait_pending(&auth).await;
        assert_eq!((req.request_id.as_str(), req.method.as_str(), req.message.as_str()), (id.as_str(), "NoPIN", "Sign in to the shop?"));
        assert_eq!(req.context.get("ip").map(String::as_str), Some("203.0.113.7"));
        let choices = req.number_choices.clone().unwrap();
        assert_eq!(choices.len(), 3);
        assert!(choices.contains(&number));

        let body = auth.response_body(&req, &Answer { approve: true, number: Some(number), ..Default::default() }).unwrap();
        assert_eq!(auth.send_response(&id, &body).await.unwrap().session_status, "Accept");
        let done = status(&app, &key, &id).await;
        assert_eq!(done["sessionStatus"], "Accept");
        // The same signed answer again is refused, and nothing changes.
        let replay = auth.send_response(&id, &body).await.unwrap_err();
        assert_eq!(server_code(&replay), "session_closed");
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Accept");
        assert!(auth.pending().await.unwrap().is_empty());
    }

    async fn sync_login_accept_decline_and_timeout(backend) {
        let app = Arc::new(App::spawn(backend).await);
        let key = setup(&app, json!({"numberMatching": false})).await;
        let auth = activate(&app, &key).await;
        for (approve, expected) in [(true, "Accept"), (false, "Decline")] {
            let waiting = {
                let (app, key) = (app.clone(), key.clone());
                tokio::spawn(async move { login(&app, &key, json!({"passKey": "NoPIN", "timeout": 20})).await })
            };
            let req = wait_pending(&auth).await;
            auth.respond(&req.request_id, &Answer { approve, ..Default::default() }).await.unwrap();
            let (s, out) = tokio::time::timeout(Duration::from_secs(5), waiting).await.unwrap().unwrap();
            assert_eq!((s, out["sessionStatus"].as_str()), (200, Some(expected)), "{out}");
        }
        let started = std::time::Instant::now();
        let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 1})).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Timeout")));
        assert!(started.elapsed() >= Duration::from_millis(900));
        // A late answer to the timed-out request is refused.
        let err = auth.respond(out["requestID"].as_str().unwrap(), &Answer { approve: true, ..Default::default() }).await.unwrap_err();
        assert_eq!(server_code(&err), "session_closed");
        // Long-poll: `?wait=` returns when the answer comes.
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        let polling = {
            let (app, key, id) = (app.clone(), key.clone(), id.clone());
            tokio::spawn(async move { app.call("GET", &format!("/v1/sessions/{id}?wait=20"), Auth::Bearer(&key), None).await })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        auth.respond(&id, &Answer { approve: true, ..Default::default() }).await.unwrap();
        let (_, out) = tokio::time::timeout(Duration::from_secs(5), polling).await.unwrap().unwrap();
        assert_eq!(out["sessionStatus"], "Accept");
        assert!(app.core.waiters.is_empty(), "waiters are released");
    }

    async fn pin_login_counts_wrong_pins_and_disconnects(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({"numberMatching": false, "maxPinAttempts": 3})).await;
        let auth = activate(&app, &key).await;
        let new_login = || async { login(&app, &key, json!({"passKey": "PIN", "timeout": 0})).await.1["requestID"].as_str().unwrap().to_owned() };

        let id = new_login().await;
        let wrong = Answer { approve: true, pin: Some("0000"), ..Default::default() };
        let e = auth.respond(&id, &wrong).await.unwrap_err();
        assert!(matches!(e, countersign_authenticator::Error::Server { ref code, attempts_left: Some(2), .. } if code == "wrong_pin"), "{e}");
        // Possession alone does not approve a PIN login.
        let e = auth.respond(&id, &Answer { approve: true, key: Some(KeyKind::Possession), ..Default::default() }).await.unwrap_err();
        assert_eq!(server_code(&e), "invalid_value");
        let right = Answer { approve: true, pin: Some("1234"), ..Default::default() };
        assert_eq!(auth.respond(&id, &right).await.unwrap().session_status, "Accept");

        // The right PIN reset the count: three more wrong ones are needed to disconnect.
        let id = new_login().await;
        for left in [2, 1] {
            let e = auth.respond(&id, &wrong).await.unwrap_err();
            assert!(matches!(e, countersign_authenticator::Error::Server { attempts_left: Some(n), .. } if n == left), "{e}");
        }
        let e = auth.respond(&id, &wrong).await.unwrap_err();
        assert_eq!(server_code(&e), "device_disconnected");
        let out = status(&app, &key, &id).await;
        assert_eq!((out["sessionStatus"].as_str(), out["reason"].as_str()), (Some("Failed"), Some("pin_attempts_exceeded")));
        let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
        let devices = devices["items"].clone();
        assert_eq!(devices[0]["state"], "Disconnected");
        assert_eq!(server_code(&auth.pending().await.unwrap_err()), "device_disconnected");
        // With no active device a new login fails at once.
        let (_, out) = login(&app, &key, json!({"passKey": "PIN", "timeout": 30})).await;
        assert_eq!((out["sessionStatus"].as_str(), out["reason"].as_str()), (Some("Failed"), Some("no_device")));
    }

    async fn fingerprint_login_with_biometric_key_or_pin(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({"numberMatching": false})).await;
        let auth = activate(&app, &key).await;
        for answer in [Answer { approve: true, biometric: true, ..Default::default() }, Answer { approve: true, pin: Some("1234"), ..Default::default() }] {
            let (_, out) = login(&app, &key, json!({"passKey": "Fingerprint", "timeout": 0})).await;
            let id = out["requestID"].as_str().unwrap();
            assert_eq!(auth.respond(id, &answer).await.unwrap().session_status, "Accept");
        }
        let (_, out) = login(&app, &key, json!({"passKey": "Fingerprint", "timeout": 0})).await;
        let id = out["requestID"].as_str().unwrap();
        let e = auth.respond(id, &Answer { approve: true, key: Some(KeyKind::Possession), ..Default::default() }).await.unwrap_err();
        assert_eq!(server_code(&e), "invalid_value");
        // A biometric key is not accepted for a PIN login.
        let (_, out) = login(&app, &key, json!({"passKey": "PIN", "timeout": 0})).await;
        let e = auth.respond(out["requestID"].as_str().unwrap(), &Answer { approve: true, key: Some(KeyKind::Biometric), ..Default::default() }).await.unwrap_err();
        assert_eq!(server_code(&e), "invalid_value");
    }

    async fn number_matching_and_what_you_see_is_what_you_sign(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        let auth = activate(&app, &key).await;
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        let number = out["numberToShow"].as_u64().unwrap() as u8;
        let req = auth.request(&id).await.unwrap();
        // A different display digest is refused, and the session stays pending.
        let mut shown = req.clone();
        shown.message = "Something else".into();
        let body = auth.response_body(&shown, &Answer { approve: true, number: Some(number), ..Default::default() }).unwrap();
        assert_eq!(server_code(&auth.send_response(&id, &body).await.unwrap_err()), "display_mismatch");
        // A tampered signature is refused.
        let mut body = auth.response_body(&req, &Answer { approve: true, number: Some(number), ..Default::default() }).unwrap();
        body.number = Some(number.wrapping_add(1));
        assert_eq!(server_code(&auth.send_response(&id, &body).await.unwrap_err()), "bad_signature");
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Pending");
        // The wrong number declines.
        let wrong = req.number_choices.clone().unwrap().into_iter().find(|n| *n != number).unwrap();
        let r = auth.respond(&id, &Answer { approve: true, number: Some(wrong), ..Default::default() }).await.unwrap();
        assert_eq!(r.session_status, "Decline");
        assert_eq!(status(&app, &key, &id).await["reason"], "wrong_number");
    }

    async fn racing_answers_and_timeout_end_in_exactly_one_state(backend) {
        let app = Arc::new(App::spawn(backend).await);
        let key = setup(&app, json!({"numberMatching": false, "loginTimeoutSeconds": 1})).await;
        let auth = activate(&app, &key).await;
        let mut outcomes = std::collections::BTreeMap::<String, u32>::new();
        for round in 0..6 {
            let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
            let id = out["requestID"].as_str().unwrap().to_owned();
            let req = auth.request(&id).await.unwrap();
            let approve = auth.response_body(&req, &Answer { approve: true, ..Default::default() }).unwrap();
            let decline = auth.response_body(&req, &Answer { approve: false, ..Default::default() }).unwrap();
            // Later rounds answer close to the expiry, so the timeout joins the race.
            tokio::time::sleep(Duration::from_millis(if round < 3 { 0 } else { 980 })).await;
            let status_path = format!("/v1/sessions/{id}");
            let (a, d, s) = tokio::join!(
                auth.send_response(&id, &approve),
                auth.send_response(&id, &decline),
                app.call("GET", &status_path, Auth::Bearer(&key), None)
            );
            let winners = [a.is_ok(), d.is_ok()].iter().filter(|w| **w).count();
            let final_state = status(&app, &key, &id).await["sessionStatus"].as_str().unwrap().to_owned();
            assert!(winners <= 1, "two answers won");
            match final_state.as_str() {
                "Accept" => assert!(a.is_ok() && d.is_err()),
                "Decline" => assert!(d.is_ok() && a.is_err()),
                "Timeout" => assert_eq!(winners, 0),
                other => panic!("unexpected final state {other}"),
            }
            for loser in [a.err(), d.err()].into_iter().flatten() {
                assert_eq!(server_code(&loser), "session_closed");
            }
            assert!(s.0 == 200);
            *outcomes.entry(final_state).or_default() += 1;
        }
        assert_eq!(outcomes.values().sum::<u32>(), 6);
    }

    async fn enrollment_modes(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({"numberMatching": false})).await;
        let first = activate(&app, &key).await;
        // single (default): a second device for the same app is refused.
        let a = start_activation(&app, &key).await;
        let e = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap_err();
        assert_eq!(server_code(&e), "device_exists");
        // A different app ID is another application: allowed.
        let other_app = ActivateOptions { app_id: "other-app".into(), ..Default::default() };
        let a = start_activation(&app, &key).await;
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &other_app).await.unwrap();

        // override: the new device replaces the old one.
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"pushEnrollmentMode": "override"}}))).await;
        let second = activate(&app, &key).await;
        let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
        let devices = devices["items"].clone();
        let state_of = |id: &str| devices.as_array().unwrap().iter().find(|d| d["deviceID"] == id).unwrap()["state"].clone();
        assert_eq!(state_of(&first.state.device_id), "Disconnected");
        assert_eq!(state_of(&second.state.device_id), "Active");

        // multiple: both stay active and both see a login.
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"pushEnrollmentMode": "multiple"}}))).await;
        let third = activate(&app, &key).await;
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        let id = out["requestID"].as_str().unwrap();
        assert_eq!(second.request(id).await.unwrap().request_id, id);
        assert_eq!(third.request(id).await.unwrap().request_id, id);
        assert_eq!(third.respond(id, &Answer { approve: true, ..Default::default() }).await.unwrap().session_status, "Accept");

        // Removing a device through the admin API cuts it off.
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/example.com/users/alice/devices/{}", third.state.device_id), None).await;
        assert_eq!(s, 204);
        assert!(third.pending().await.is_err());
        // Switched off: no enrollment, no push login.
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"deviceEnrollment": false, "pushAuthorization": false}}))).await;
        let (s, b) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&b)), (403, "device_enrollment_disabled"));
        let (s, b) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, code(&b)), (403, "push_authorization_disabled"));
    }

    async fn pushes_reach_a_webhook_with_only_a_reference(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({"numberMatching": false})).await;
        let auth = activate(&app, &key).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
        let hook = axum::Router::new().route("/push", axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let tx = tx.clone();
            async move { let _ = tx.send(v); }
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/push", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, hook).await });
        auth.register_push("webhook", Some(&url)).await.unwrap();

        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0, "loginMessage": "secret text"})).await;
        let push = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap();
        assert_eq!(push, json!({"requestID": out["requestID"], "deviceID": auth.state.device_id}));
        assert!(!push.to_string().contains("secret text"), "a push carries no content");

        // requestMessage delivery sends no push; the caller gets the reference instead.
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0, "orchestrationDelivery": "requestMessage"})).await;
        let id = out["requestID"].as_str().unwrap();
        let message = countersign_proto::messages::RequestMessage::parse(out["requestMessage"].as_str().unwrap()).unwrap();
        assert_eq!((message.server.as_str(), message.request_id.as_str()), (app.base.as_str(), id));
        assert!(tokio::time::timeout(Duration::from_millis(300), rx.recv()).await.is_err(), "no push for requestMessage");
        assert_eq!(auth.respond(id, &Answer { approve: true, ..Default::default() }).await.unwrap().session_status, "Accept");
    }

    async fn signed_requests_cannot_be_replayed_or_forged(backend) {
        use countersign_proto::{KeyPair, b64u_decode, signed};
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        let auth = activate(&app, &key).await;
        let secret = b64u_decode(&auth.state.secrets.possession).unwrap();
        let k = KeyPair::from_secret(&secret).unwrap();
        use countersign_core::Clock;
        let now = countersign_core::SystemClock.now().millis();
        let send = |ts: i64, nonce: &'static str, sig_key: &KeyPair| {
            let sig = sig_key.sign(&signed::request("GET", "/mobile/v1/requests", ts, nonce, b""));
            app.client
                .get(format!("{}/mobile/v1/requests", app.base))
                .header("x-cs-device", &auth.state.device_id)
                .header("x-cs-timestamp", ts.to_string())
                .header("x-cs-nonce", nonce)
                .header("x-cs-signature", sig)
                .send()
        };
        let r = send(now, "nonce-aaaaaaaaaaaaaaaa", &k).await.unwrap();
        assert_eq!(r.status(), 200);
        let r = common::read(send(now, "nonce-aaaaaaaaaaaaaaaa", &k).await.unwrap()).await;
        assert_eq!((r.0, code(&r.1)), (401, "replayed_request"));
        let r = common::read(send(now - 10 * 60_000, "nonce-bbbbbbbbbbbbbbbb", &k).await.unwrap()).await;
        assert_eq!((r.0, code(&r.1)), (401, "stale_request"));
        let forger = KeyPair::from_secret(&[5u8; 32]).unwrap();
        let r = common::read(send(now, "nonce-cccccccccccccccc", &forger).await.unwrap()).await;
        assert_eq!((r.0, code(&r.1)), (401, "unauthorized"));
        let r = app.client.get(format!("{}/mobile/v1/requests", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 401);
    }

    async fn login_input_is_checked(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        for (body, field) in [
            (json!({"passKey": "carrier-pigeon"}), "passKey"),
            (json!({"passKey": "push", "timeout": 4000}), "timeout"),
            (json!({"passKey": "push", "orchestrationDelivery": "smoke"}), "orchestrationDelivery"),
            (json!({"passKey": "push", "loginMessage": ""}), "loginMessage"),
            (json!({"passKey": "push", "context": {"k": "a\u{0007}b"}}), "context.k"),
            (json!({"passKey": "push", "favouriteColour": "red"}), "favouriteColour"),
        ] {
            let (s, b) = login(&app, &key, body.clone()).await;
            assert_eq!((s, code(&b), b["error"]["field"].as_str()), (422, "invalid_value", Some(field)), "{body}");
        }
        let (s, b) = app.call("POST", "/v1/users/nobody@example.com/login", Auth::Bearer(&key), Some(json!({"passKey": "push"}))).await;
        assert_eq!((s, code(&b)), (404, "user_not_found"));
        app.admin("PATCH", "/admin/v1/tenants/example.com/users/alice", Some(json!({"status": "locked"}))).await;
        let (s, b) = login(&app, &key, json!({"passKey": "push"})).await;
        assert_eq!((s, code(&b)), (403, "user_locked"));
        let (s, b) = app.call("GET", "/v1/sessions/unknown", Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&b)), (404, "request_not_found"));
        let (s, b) = app.call("GET", "/v1/sessions/x?wait=61", Auth::Bearer(&key), None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("wait")));
    }

    async fn expiries_follow_the_clock(backend) {
        use countersign_core::{Clock, FixedClock, SystemClock};
        let clock = Arc::new(FixedClock::new(SystemClock.now()));
        let app = App::spawn_with_clock(backend, clock.clone()).await;
        let key = setup(&app, json!({"numberMatching": false, "activationTtlSeconds": 600, "loginTimeoutSeconds": 60})).await;
        // An activation expires after its time to live (one second less is still in time
        // for the code step).
        let a = start_activation(&app, &key).await;
        let id = a["activationID"].as_str().unwrap().to_owned();
        clock.advance(599_000);
        let (s, _) = app.call("GET", &format!("/v1/activations/{id}/qr.svg"), Auth::Bearer(&key), None).await;
        assert_eq!(s, 200);
        clock.advance(1_000);
        let e = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap_err();
        assert_eq!(server_code(&e), "activation_expired");
        let (s, b) = app.call("GET", &format!("/v1/activations/{id}/qr.png"), Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&b)), (410, "activation_expired"));
        // Back to the devices' time: device requests are signed with the real clock.
        clock.advance(-600_000);
        let auth = activate(&app, &key).await;

        // An asynchronous session times out when its lifetime passes, seen at the next read.
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        clock.advance(59_000);
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Pending");
        assert_eq!(auth.pending().await.unwrap().len(), 1);
        clock.advance(1_000);
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Timeout");
        assert!(auth.pending().await.unwrap().is_empty());
        let e = auth.respond(&id, &Answer { approve: true, ..Default::default() }).await.unwrap_err();
        assert_eq!(server_code(&e), "session_closed");
    }

    async fn login_requests_per_user_are_limited(backend) {
        use countersign_core::{Clock, FixedClock, SystemClock};
        let clock = Arc::new(FixedClock::new(SystemClock.now()));
        let app = App::spawn_with_clock(backend, clock.clone()).await;
        let key = setup(&app, json!({"numberMatching": false, "loginRequestLimit": 3, "loginRequestWindowSeconds": 60})).await;
        let _auth = activate(&app, &key).await;
        // Push bombing: the fourth push within the window is refused, saying when to retry.
        for i in 0..3 {
            clock.advance(10_000);
            let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
            assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Pending")), "push {i}: {out}");
        }
        let (s, b) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, code(&b)), (429, "too_many_login_requests"), "{b}");
        assert_eq!(b["error"]["retryAfterSeconds"], 40, "{b}");
        let r = app.client.post(format!("{}/v1/users/alice@example.com/login", app.base)).bearer_auth(&key)
            .json(&json!({"passKey": "push", "timeout": 0})).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["retry-after"].to_str().unwrap()), (429, "40"));
        // A minute after the first, one more may go.
        clock.advance(40_000);
        let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!(s, 200, "{out}");
        let (s, _) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!(s, 429);
        // A request the user scans from the page (requestMessage) is not a push: not limited, not counted.
        let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0, "orchestrationDelivery": "requestMessage"})).await;
        assert_eq!((s, out["requestMessage"].is_string()), (200, true), "{out}");
        // 0 switches the limit off; more than 1000 is refused.
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"loginRequestLimit": 0}}))).await;
        assert_eq!((s, b["settings"]["loginRequestLimit"].as_u64()), (200, Some(0)), "{b}");
        let (s, _) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!(s, 200);
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"loginRequestLimit": 1001}}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("settings.loginRequestLimit")), "{b}");
    }

    async fn synchronous_logins_are_approvable_with_the_default_number_matching(backend) {
        let app = Arc::new(App::spawn(backend).await);
        // The defaults: numberMatching is "asynchronous".
        let key = setup(&app, json!({})).await;
        let (_, t) = app.admin("GET", "/admin/v1/tenants/example.com", None).await;
        assert_eq!(t["settings"]["numberMatching"], "asynchronous", "{t}");
        let auth = activate(&app, &key).await;
        for pass_key in ["PIN", "push"] {
            let (a, k) = (app.clone(), key.clone());
            let waiting = tokio::spawn(async move { login(&a, &k, json!({"passKey": pass_key, "timeout": 30})).await });
            let req = wait_pending(&auth).await;
            // A synchronous login shows no numbers: its relying party could never show one.
            assert_eq!(req.number_choices, None, "{pass_key}");
            let answer = Answer { approve: true, pin: (pass_key == "PIN").then_some("1234"), ..Default::default() };
            assert_eq!(auth.respond(&req.request_id, &answer).await.unwrap().session_status, "Accept");
            let (s, out) = waiting.await.unwrap();
            assert_eq!((s, out["sessionStatus"].as_str(), out.get("numberToShow")), (200, Some("Accept"), None), "{out}");
        }
        // An asynchronous login still matches numbers.
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert!(out["numberToShow"].is_u64(), "{out}");
        // "required": a synchronous login is refused with a code saying what to do; asynchronous works.
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"numberMatching": "required"}}))).await;
        assert_eq!((s, b["settings"]["numberMatching"].as_str()), (200, Some("required")), "{b}");
        let (s, b) = login(&app, &key, json!({"passKey": "push", "timeout": 30})).await;
        assert_eq!((s, code(&b)), (422, "number_matching_requires_async"), "{b}");
        let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, out["numberToShow"].is_u64()), (200, true), "{out}");
        // The old boolean still reads; a wrong word is refused at its field.
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"numberMatching": false}}))).await;
        assert_eq!((s, b["settings"]["numberMatching"].as_str()), (200, Some("off")), "{b}");
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"numberMatching": "sometimes"}}))).await;
        assert_eq!(s, 422, "{b}");
    }

    async fn a_login_without_a_device_fails_with_no_number(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({})).await;
        let (s, out) = login(&app, &key, json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, out["sessionStatus"].as_str(), out["reason"].as_str()), (200, Some("Failed"), Some("no_device")), "{out}");
        assert_eq!(out.get("numberToShow"), None, "{out}");
    }

    async fn metrics_count_push_outcomes_and_pin_lockouts(backend) {
        let app = App::spawn(backend).await;
        let key = setup(&app, json!({"numberMatching": false, "maxPinAttempts": 2})).await;
        let auth = activate(&app, &key).await;
        let async_login = |pass_key: &'static str| {
            let (app, key) = (&app, key.clone());
            async move { login(app, &key, json!({"passKey": pass_key, "timeout": 0})).await.1["requestID"].as_str().unwrap().to_owned() }
        };
        let id = async_login("PIN").await;
        let right = Answer { approve: true, pin: Some("1234"), ..Default::default() };
        assert_eq!(auth.respond(&id, &right).await.unwrap().session_status, "Accept");
        let id = async_login("push").await;
        assert_eq!(auth.respond(&id, &Answer::default()).await.unwrap().session_status, "Decline");
        // Nobody answers a synchronous login within its timeout.
        let (_, out) = login(&app, &key, json!({"passKey": "push", "timeout": 1})).await;
        assert_eq!(out["sessionStatus"], "Timeout", "{out}");
        let pending = async_login("Fingerprint").await;
        let id = async_login("PIN").await;
        let wrong = Answer { approve: true, pin: Some("0000"), ..Default::default() };
        auth.respond(&id, &wrong).await.unwrap_err();
        assert_eq!(server_code(&auth.respond(&id, &wrong).await.unwrap_err()), "device_disconnected");

        let text = common::metrics::scrape(&app).await;
        for line in [
            "countersign_logins_total{method=\"NoPIN\",outcome=\"Decline\"} 1",
            "countersign_logins_total{method=\"NoPIN\",outcome=\"Timeout\"} 1",
            "countersign_logins_total{method=\"PIN\",outcome=\"Accept\"} 1",
            "countersign_logins_total{method=\"PIN\",outcome=\"Failed\"} 1",
            "countersign_lockouts_total{kind=\"device_pin\"} 1",
            "countersign_sessions_pending 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
        assert_eq!(text.lines().filter(|l| l.starts_with("countersign_logins_total{")).count(), 4, "{text}");
        assert!(!text.contains(&pending), "request IDs stay out of metrics");
    }
}
