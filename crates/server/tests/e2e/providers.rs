//! Providers against local servers that speak their protocols (docs/delivery.md,
//! "Providers"): an HTTP/2 + TLS APNs server checking the provider JWT, topic and
//! payload; an OAuth2 token endpoint and FCM send endpoint checking the RS256 grant; a
//! Web Push service that checks VAPID and decrypts the payload with the subscription's
//! keys; a Twilio-shaped endpoint and an HTTP SMS gateway; a real SMTP server (aiosmtpd)
//! with and without STARTTLS; and a forward proxy that demands preemptive credentials.
//! Every test runs on both storage backends.

use crate::common;
use crate::common::peers::*;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use crate::common::{App, Auth};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_delivery::{jwt, webpush};
use countersign_store::backend_tests;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const APP_ID: &str = "countersign-authenticator";

/// The app, with `tls_ca_file` trusting `ca` when given.
async fn app_with(backend: countersign_store::testing::Backend, ca: Option<&TestCa>, dir: &tempfile::TempDir) -> App {
    let mut raw = RawConfig::default();
    if let Some(ca) = ca {
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &ca.ca_pem).unwrap();
        raw.tls_ca_file = Some(path.to_string_lossy().into_owned());
    }
    App::spawn_with(backend, raw).await
}

async fn device(app: &App, key: &str, platform: &str, token: &str) -> Authenticator {
    let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(key), None).await;
    let auth =
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
    auth.register_push(platform, Some(token)).await.unwrap();
    auth
}

async fn push_login(app: &App, key: &str) -> String {
    let body = json!({"passKey": "push", "timeout": 0});
    let (s, out) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await;
    assert_eq!(s, 200, "{out}");
    out["requestID"].as_str().unwrap().to_owned()
}

fn p256_pem() -> (String, p256::ecdsa::VerifyingKey) {
    use p256::pkcs8::EncodePrivateKey;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).unwrap();
    let key = p256::SecretKey::from_slice(&raw).unwrap();
    let pem = key.to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap().to_string();
    (pem, p256::ecdsa::VerifyingKey::from(p256::ecdsa::SigningKey::from(&key)))
}

async fn push_device_state(app: &App) -> Value {
    let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
    let devices = devices["items"].clone();
    devices[0].clone()
}

backend_tests! {
    async fn apns_gets_an_authenticated_http2_request_and_410_removes_the_token(backend) {
        let dir = tempfile::tempdir().unwrap();
        let ca = test_ca();
        let log: Log = Arc::default();
        let apns = serve_tls(
            recorder(log.clone(), |n, _| if n == 0 { (200, json!({})) } else { (410, json!({"reason": "Unregistered"})) }),
            &ca,
        )
        .await;
        let app = app_with(backend, Some(&ca), &dir).await;
        let key = app.tenant_with_alice("example.com").await;
        let (pem, verifying) = p256_pem();
        let (s, view) = app
            .admin("PUT", &format!("/admin/v1/apps/{APP_ID}"), Some(json!({"apns": {
                "teamId": "TEAM123456", "keyId": "KEY1234567", "privateKey": pem,
                "productionUrl": "https://127.0.0.1:9", // unused: this app version is on sandbox
                "sandboxUrl": format!("https://127.0.0.1:{}", apns.port()),
                "versions": {"0.1.0": {"bundleId": "com.bank.authenticator", "environment": "sandbox"}}
            }})))
            .await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["apns"]["hasPrivateKey"], true);
        assert!(!view.to_string().contains("PRIVATE KEY"), "{view}");

        let token = "a1b2c3d4".repeat(8);
        let auth = device(&app, &key, "apns", &token).await;
        let id = push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        let got = log.lock().unwrap()[0].clone();
        assert_eq!(got.version, axum::http::Version::HTTP_2, "APNs is spoken over HTTP/2");
        assert_eq!((got.method.as_str(), got.path.clone()), ("POST", format!("/3/device/{token}")));
        assert_eq!(header(&got, "apns-topic"), "com.bank.authenticator", "the version's bundle ID");
        assert_eq!(header(&got, "apns-push-type"), "alert");
        assert!(header(&got, "apns-expiration").parse::<i64>().unwrap() > 0);
        let bearer = header(&got, "authorization");
        let (h, claims) = jwt::verify_es256(bearer.strip_prefix("bearer ").unwrap(), &verifying).unwrap();
        assert_eq!((h["alg"].as_str(), h["kid"].as_str()), (Some("ES256"), Some("KEY1234567")));
        assert_eq!(claims["iss"], "TEAM123456");
        let body: Value = serde_json::from_slice(&got.body).unwrap();
        assert_eq!((body["requestID"].as_str(), body["deviceID"].as_str()), (Some(id.as_str()), Some(auth.state.device_id.as_str())));
        assert!(body["aps"]["alert"]["title"].is_string());

        // The provider token is reused; Unregistered removes the device's token.
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "dead").await.len() == 1).await;
        let second = log.lock().unwrap()[1].clone();
        assert_eq!(header(&second, "authorization"), bearer, "one provider token for both sends");
        assert_eq!(push_device_state(&app).await["pushPlatform"], Value::Null);
        let dead = &outbox(&app, "dead").await[0];
        assert!(dead["lastError"].as_str().unwrap().contains("410"), "{dead}");
    }

    async fn fcm_gets_a_token_by_signed_grant_and_a_send_and_unregistered_removes_the_token(backend) {
        use aws_lc_rs::encoding::AsDer;
        use aws_lc_rs::signature::KeyPair;
        let dir = tempfile::tempdir().unwrap();
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let pkcs8 = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap();
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref()).as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n")
        );
        let public = rsa.public_key().as_ref().to_vec();
        let log: Log = Arc::default();
        let token_uri = Arc::new(Mutex::new(String::new()));
        let issued = Arc::new(Mutex::new(Vec::<String>::new()));
        let (uri, iss) = (token_uri.clone(), issued.clone());
        let router = recorder(log.clone(), move |_, seen| {
            if seen.path == "/token" {
                // The JWT-bearer grant, signed RS256 by the service account's key.
                let form: Vec<(String, String)> = url_decode(&seen.body);
                let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
                assert_eq!(get("grant_type"), "urn:ietf:params:oauth:grant-type:jwt-bearer");
                let assertion = get("assertion");
                let parts: Vec<&str> = assertion.split('.').collect();
                let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
                let key = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256, &public);
                if key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig).is_err() {
                    return (400, json!({"error": "invalid_grant"}));
                }
                let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
                let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
                assert_eq!((header["alg"].as_str(), header["kid"].as_str()), (Some("RS256"), Some("key-1")));
                assert_eq!(claims["iss"], "push@bank-app.iam.gserviceaccount.com");
                assert_eq!(claims["scope"], "https://www.googleapis.com/auth/firebase.messaging");
                assert_eq!(claims["aud"].as_str().unwrap(), uri.lock().unwrap().as_str());
                assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
                let mut issued = iss.lock().unwrap();
                let token = format!("ya29.test-{}", issued.len());
                issued.push(token.clone());
                return (200, json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer"}));
            }
            let bearer = header(seen, "authorization");
            if !iss.lock().unwrap().iter().any(|t| bearer == format!("Bearer {t}")) {
                return (401, json!({"error": {"status": "UNAUTHENTICATED"}}));
            }
            let body: Value = serde_json::from_slice(&seen.body).unwrap();
            if body["message"]["token"] == "fcm-gone" {
                return (404, json!({"error": {"status": "NOT_FOUND", "details": [{"errorCode": "UNREGISTERED"}]}}));
            }
            (200, json!({"name": "projects/bank-app/messages/1"}))
        });
        let fcm = serve_plain(router).await;
        *token_uri.lock().unwrap() = format!("http://{fcm}/token");
        let app = app_with(backend, None, &dir).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, view) = app
            .admin("PUT", &format!("/admin/v1/apps/{APP_ID}"), Some(json!({"fcm": {
                "serviceAccount": {"type": "service_account", "project_id": "bank-app", "private_key_id": "key-1",
                    "private_key": pem, "client_email": "push@bank-app.iam.gserviceaccount.com",
                    "token_uri": format!("http://{fcm}/token"), "auth_uri": "ignored"},
                "sendUrl": format!("http://{fcm}/v1/projects/bank-app/messages:send")
            }})))
            .await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["fcm"]["serviceAccount"]["hasPrivateKey"], true);
        assert!(!view.to_string().contains("PRIVATE KEY"));

        let auth = device(&app, &key, "fcm", "fcm-token-1").await;
        let id1 = push_login(&app, &key).await;
        let id2 = push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 2).await;
        let seen = log.lock().unwrap().clone();
        let sends: Vec<&Seen> = seen.iter().filter(|s| s.path == "/v1/projects/bank-app/messages:send").collect();
        assert_eq!(seen.iter().filter(|s| s.path == "/token").count(), 1, "the access token is cached");
        assert_eq!(sends.len(), 2);
        let mut ids = Vec::new();
        for s in &sends {
            let m: Value = serde_json::from_slice(&s.body).unwrap();
            assert_eq!(m["message"]["token"], "fcm-token-1");
            assert_eq!(m["message"]["data"]["deviceID"].as_str(), Some(auth.state.device_id.as_str()));
            assert_eq!(m["message"]["android"]["priority"], "high");
            ids.push(m["message"]["data"]["requestID"].as_str().unwrap().to_owned());
        }
        ids.sort();
        let mut want = vec![id1, id2];
        want.sort();
        assert_eq!(ids, want);

        // UNREGISTERED: the token is removed and the message dead-lettered.
        auth.register_push("fcm", Some("fcm-gone")).await.unwrap();
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "dead").await.len() == 1).await;
        assert_eq!(push_device_state(&app).await["pushPlatform"], Value::Null);
    }

    async fn web_push_is_vapid_signed_and_decrypts_with_the_subscription_keys(backend) {
        let dir = tempfile::tempdir().unwrap();
        let log: Log = Arc::default();
        let wp = serve_plain(recorder(log.clone(), |n, _| if n == 0 { (201, json!({})) } else { (410, json!({})) })).await;
        let app = app_with(backend, None, &dir).await;
        let key = app.tenant_with_alice("example.com").await;
        // Not configured yet: no key for browsers.
        let (s, _) = app.call("GET", &format!("/mobile/v1/apps/{APP_ID}/webpush"), Auth::None, None).await;
        assert_eq!(s, 404);
        let (s, view) = app
            .admin("PUT", &format!("/admin/v1/apps/{APP_ID}"), Some(json!({"webpush": {"subject": "mailto:security@bank.example"}})))
            .await;
        assert_eq!(s, 200, "{view}");
        let (_, k) = app.call("GET", &format!("/mobile/v1/apps/{APP_ID}/webpush"), Auth::None, None).await;
        let vapid_public = k["publicKey"].as_str().unwrap().to_owned();
        assert_eq!(view["webpush"]["publicKey"].as_str(), Some(vapid_public.as_str()));
        // The key survives a later change of the document.
        app.admin("PUT", &format!("/admin/v1/apps/{APP_ID}"), Some(json!({"webpush": {"subject": "https://bank.example"}}))).await;
        let (_, k2) = app.call("GET", &format!("/mobile/v1/apps/{APP_ID}/webpush"), Auth::None, None).await;
        assert_eq!(k2["publicKey"].as_str(), Some(vapid_public.as_str()));

        // The browser's subscription: its own key pair and auth secret.
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).unwrap();
        let ua = p256::SecretKey::from_slice(&raw).unwrap();
        let ua_public = {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            ua.public_key().to_encoded_point(false).as_bytes().to_vec()
        };
        let mut secret = [0u8; 16];
        getrandom::fill(&mut secret).unwrap();
        let endpoint = format!("http://{wp}/push/sub-1");
        let sub = json!({"endpoint": endpoint, "keys": {"p256dh": URL_SAFE_NO_PAD.encode(&ua_public), "auth": URL_SAFE_NO_PAD.encode(secret)}});
        let auth = device(&app, &key, "webpush", &sub.to_string()).await;
        let id = push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        let got = log.lock().unwrap()[0].clone();
        assert_eq!(got.path, "/push/sub-1");
        assert_eq!(header(&got, "content-encoding"), "aes128gcm");
        assert!(header(&got, "ttl").parse::<i64>().unwrap() > 0);
        let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis() / 1000;
        let claims = webpush::verify_vapid(&header(&got, "authorization"), &endpoint, now).unwrap();
        assert_eq!(claims.public_key, vapid_public, "signed with the app's published VAPID key");
        assert_eq!(claims.sub.as_deref(), Some("https://bank.example"));
        let plain = webpush::decrypt(&got.body, &ua, &secret).unwrap();
        let reference: Value = serde_json::from_slice(&plain).unwrap();
        assert_eq!(reference, json!({"requestID": id, "deviceID": auth.state.device_id}));
        assert!(!got.body.windows(id.len()).any(|w| w == id.as_bytes()), "the body is encrypted");

        // A gone subscription is forgotten.
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "dead").await.len() == 1).await;
        assert_eq!(push_device_state(&app).await["pushPlatform"], Value::Null);
    }

    async fn push_without_credentials_is_dead_lettered_with_the_reason(backend) {
        let dir = tempfile::tempdir().unwrap();
        let app = app_with(backend, None, &dir).await;
        let key = app.tenant_with_alice("example.com").await;
        let auth = device(&app, &key, "fcm", "fcm-token-1").await;
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "dead").await.len() == 1).await;
        let dead = &outbox(&app, "dead").await[0];
        assert!(dead["lastError"].as_str().unwrap().contains("no push app"), "{dead}");
        assert_eq!(auth.pending().await.unwrap().len(), 1, "the device can still poll");
        // Bad registrations are refused where they enter.
        let err = auth.register_push("apns", Some("not hex")).await.unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
        let err = auth.register_push("webpush", Some("{\"endpoint\": \"https://x.example\"}")).await.unwrap_err();
        assert!(err.to_string().contains("token"), "{err}");
    }

    async fn twilio_retries_a_refused_sender_id_from_the_default_number(backend) {
        let dir = tempfile::tempdir().unwrap();
        let log: Log = Arc::default();
        let twilio = serve_plain(recorder(log.clone(), |_, seen| {
            let form = url_decode(&seen.body);
            let from = form.iter().find(|(k, _)| k == "From").map(|(_, v)| v.clone()).unwrap_or_default();
            if header(seen, "authorization") != format!("Basic {}", STANDARD.encode("AC123:tw-secret")) {
                return (401, json!({"code": 20003, "message": "Authenticate", "status": 401}));
            }
            if from == "BANKOTP" {
                return (400, json!({"code": 21212, "message": "The 'From' number BANKOTP is not valid", "status": 400}));
            }
            (201, json!({"sid": "SM1", "status": "queued"}))
        }))
        .await;
        let app = app_with(backend, None, &dir).await;
        app.tenant_with_alice("example.com").await;
        // Unconfigured: a clear refusal.
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "+15550100"}))).await;
        assert_eq!((s, common::code(&b)), (422, "provider_not_configured"));
        let (s, view) = app
            .admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"sms": {
                "provider": "twilio", "accountSid": "AC123", "authToken": "tw-secret", "from": "+15550001111",
                "senderIds": {"test": "BANKOTP"}, "baseUrl": format!("http://{twilio}")
            }})))
            .await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["sms"]["hasAuthToken"], true);
        assert!(!view.to_string().contains("tw-secret"));
        let (_, got) = app.admin("GET", "/admin/v1/tenants/example.com/providers", None).await;
        assert_eq!(got, view);
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "0155"}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("to")), "E.164 only");
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "+15550100"}))).await;
        assert_eq!(s, 202, "{b}");
        let msg = b["messageID"].as_str().unwrap().to_owned();
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        assert_eq!(outbox(&app, "sent").await[0]["id"].as_str(), Some(msg.as_str()));
        let seen = log.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "the sender ID, then the default number");
        assert_eq!(seen[0].path, "/2010-04-01/Accounts/AC123/Messages.json");
        let froms: Vec<String> = seen.iter().map(|s| url_decode(&s.body).into_iter().find(|(k, _)| k == "From").unwrap().1).collect();
        assert_eq!(froms, ["BANKOTP", "+15550001111"]);
        let form = url_decode(&seen[1].body);
        assert!(form.contains(&("To".to_owned(), "+15550100".to_owned())));
        assert!(form.iter().any(|(k, v)| k == "Body" && v.contains("example.com")));
    }

    async fn an_http_sms_gateway_gets_the_filled_template_and_its_header(backend) {
        let dir = tempfile::tempdir().unwrap();
        let log: Log = Arc::default();
        let gw = serve_plain(recorder(log.clone(), |n, _| if n == 0 { (503, json!({})) } else { (200, json!({})) })).await;
        let app = app_with(backend, None, &dir).await;
        app.tenant_with_alice("example.com").await;
        let (s, view) = app
            .admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"sms": {
                "provider": "http", "url": format!("http://{gw}/sms"), "headers": {"X-Api-Key": "gw-secret"},
                "body": "{\"number\": \"{{to}}\", \"message\": \"{{text}}\", \"sender\": \"{{from}}\"}", "from": "BANK"
            }})))
            .await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["sms"]["headerNames"], json!(["X-Api-Key"]));
        assert!(!view.to_string().contains("gw-secret"));
        let (s, _) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "+4915112345678"}))).await;
        assert_eq!(s, 202);
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        let seen = log.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "a 503, then delivered on the retry");
        assert_eq!(seen[0].body, seen[1].body, "the retry sends the same text");
        assert_eq!(header(&seen[1], "x-api-key"), "gw-secret");
        let body: Value = serde_json::from_slice(&seen[1].body).unwrap();
        assert_eq!((body["number"].as_str(), body["sender"].as_str()), (Some("+4915112345678"), Some("BANK")));
        assert!(body["message"].as_str().unwrap().contains("example.com"));
        assert_eq!(outbox(&app, "sent").await[0]["attempts"], 2);
    }

    async fn email_reaches_a_real_smtp_server_plain_starttls_implicit_tls_and_with_auth(backend) {
        let dir = tempfile::tempdir().unwrap();
        let ca = test_ca();
        let plain = Smtp::start(&dir, "plain", None);
        let tls = Smtp::start(&dir, "tls", Some(&ca));
        let smtps = Smtp::start(&dir, "smtps", Some(&ca));
        let authed = Smtp::start(&dir, "auth", None);
        let app = app_with(backend, Some(&ca), &dir).await;
        app.tenant_with_alice("example.com").await;
        let templates = json!({"test": {"de": {"subject": "Testnachricht {{domain}}", "text": "Hallo {{domain}} plain",
            "html": "<p>Hallo <b>{{domain}}</b> html</p>"}}});
        for (server, security, lang, want_subject) in [
            (&plain, "plain", "de-CH", "Testnachricht example.com"),
            (&tls, "starttls", "en", "countersign test message"),
            (&smtps, "tls", "en", "countersign test message"),
            (&authed, "plain", "en", "countersign test message"),
        ] {
            let mut email = json!({"host": "127.0.0.1", "port": server.port, "security": security,
                "from": "Bank <no-reply@bank.example>", "templates": templates});
            if server.name == "auth" {
                email["username"] = json!("mailer");
                email["password"] = json!("smtp-secret");
            }
            let (s, view) =
                app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"email": email}))).await;
            assert_eq!(s, 200, "{view}");
            assert!(!view.to_string().contains("smtp-secret"));
            let (s, b) = app
                .admin("POST", "/admin/v1/tenants/example.com/providers/test",
                    Some(json!({"channel": "email", "to": "alice@example.com", "language": lang})))
                .await;
            assert_eq!(s, 202, "{b}");
            let id = b["messageID"].as_str().unwrap().to_owned();
            eventually(15, async || server.messages().len() == 1).await;
            let raw = server.messages().remove(0);
            assert!(raw.contains(&format!("Subject: {want_subject}")), "{raw}");
            assert!(raw.contains(&format!("Message-ID: <{id}@countersign>")), "{raw}");
            assert!(raw.contains("To: alice@example.com"), "{raw}");
            assert!(raw.contains("multipart/alternative") && raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
            eventually(5, async || outbox(&app, "sent").await.iter().any(|m| m["id"] == id.as_str())).await;
        }
        // A wrong password: the server refuses (535), the message is dead with the reason.
        let (s, _) = app
            .admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"email": {
                "host": "127.0.0.1", "port": authed.port, "security": "plain", "username": "mailer",
                "password": "wrong-secret", "from": "a@bank.example"}})))
            .await;
        assert_eq!(s, 200);
        let (_, b) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test",
            Some(json!({"channel": "email", "to": "bob@example.com"}))).await;
        let id = b["messageID"].as_str().unwrap().to_owned();
        eventually(15, async || outbox(&app, "dead").await.iter().any(|m| m["id"] == id.as_str())).await;
        let dead = outbox(&app, "dead").await;
        let err = dead.iter().find(|m| m["id"] == id.as_str()).unwrap()["lastError"].as_str().unwrap().to_owned();
        assert!(err.contains("535") || err.to_lowercase().contains("auth"), "{err}");
        assert!(!err.contains("wrong-secret"), "{err}");
        // Plain SMTP to a remote host is refused when configured.
        let (s, b) = app
            .admin("PUT", "/admin/v1/tenants/example.com/providers",
                Some(json!({"email": {"host": "smtp.bank.example", "security": "plain", "from": "a@bank.example"}})))
            .await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("email.security")));
    }

    async fn push_apps_are_validated_listed_named_by_tenants_and_removed(backend) {
        let dir = tempfile::tempdir().unwrap();
        let log: Log = Arc::default();
        let wp = serve_plain(recorder(log.clone(), |_, _| (201, json!({})))).await;
        let app = app_with(backend, None, &dir).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = app.admin("PUT", "/admin/v1/apps/bank-app", Some(json!({"apns": {
            "teamId": "T", "keyId": "K", "privateKey": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("apns.privateKey")), "{b}");
        assert!(!b.to_string().contains("AAAA"), "the refused key is not echoed: {b}");
        let (s, b) = app.admin("PUT", "/admin/v1/apps/bank-app", Some(json!({"gcm": {}}))).await;
        assert_eq!(s, 422, "{b}");
        let (s, b) = app.admin("PUT", "/admin/v1/apps/bank app", Some(json!({}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("appID")), "{b}");
        let (s, _) = app.admin("PUT", "/admin/v1/apps/bank-app", Some(json!({"webpush": {"subject": "mailto:ops@bank.example"}}))).await;
        assert_eq!(s, 200);
        let (_, list) = app.admin("GET", "/admin/v1/apps", None).await;
        let list = list["items"].clone();
        assert_eq!(list.as_array().unwrap().len(), 1);
        assert_eq!(list[0]["appID"], "bank-app");
        let (_, bank_key) = app.call("GET", "/mobile/v1/apps/bank-app/webpush", Auth::None, None).await;

        // The tenant names bank-app: its credentials serve devices of any app ID.
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"pushAppId": "bank-app"}}))).await;
        assert_eq!(s, 200, "{b}");
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).unwrap();
        let ua = p256::SecretKey::from_slice(&raw).unwrap();
        let ua_public = {
            use p256::elliptic_curve::sec1::ToEncodedPoint;
            ua.public_key().to_encoded_point(false).as_bytes().to_vec()
        };
        let endpoint = format!("http://{wp}/push/1");
        let sub = json!({"endpoint": endpoint, "keys": {"p256dh": URL_SAFE_NO_PAD.encode(&ua_public), "auth": URL_SAFE_NO_PAD.encode([7u8; 16])}});
        device(&app, &key, "webpush", &sub.to_string()).await;
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        let got = log.lock().unwrap()[0].clone();
        let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis() / 1000;
        let claims = webpush::verify_vapid(&header(&got, "authorization"), &endpoint, now).unwrap();
        assert_eq!(Some(claims.public_key.as_str()), bank_key["publicKey"].as_str());

        let (s, _) = app.admin("DELETE", "/admin/v1/apps/bank-app", None).await;
        assert_eq!(s, 204);
        let (s, b) = app.admin("GET", "/admin/v1/apps/bank-app", None).await;
        assert_eq!((s, common::code(&b)), (404, "app_not_found"));
        let (s, _) = app.admin("DELETE", "/admin/v1/apps/bank-app", None).await;
        assert_eq!(s, 404);
    }

    async fn a_dead_message_can_be_sent_again_and_a_sent_one_cannot(backend) {
        let dir = tempfile::tempdir().unwrap();
        let log: Log = Arc::default();
        // The gateway refuses at first (a permanent 400), then accepts.
        let gw = serve_plain(recorder(log.clone(), |n, _| if n == 0 { (400, json!({})) } else { (200, json!({})) })).await;
        let app = app_with(backend, None, &dir).await;
        app.tenant_with_alice("example.com").await;
        app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"sms": {
            "provider": "http", "url": format!("http://{gw}/sms"), "body": "{{to}} {{text}}",
            "contentType": "application/x-www-form-urlencoded"}}))).await;
        let (_, b) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "+15550100"}))).await;
        let id = b["messageID"].as_str().unwrap().to_owned();
        eventually(10, async || outbox(&app, "dead").await.len() == 1).await;
        assert!(outbox(&app, "dead").await[0]["lastError"].as_str().unwrap().contains("400"));
        let (s, _) = app.admin("POST", &format!("/admin/v1/outbox/{id}/retry"), None).await;
        assert_eq!(s, 202);
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        assert_eq!(log.lock().unwrap().len(), 2);
        let (s, b) = app.admin("POST", &format!("/admin/v1/outbox/{id}/retry"), None).await;
        assert_eq!((s, common::code(&b)), (409, "not_retryable"));
        let (s, b) = app.admin("POST", "/admin/v1/outbox/nothing-here/retry", None).await;
        assert_eq!((s, common::code(&b)), (409, "not_retryable"));
    }

    async fn config_file_providers_serve_tenants_without_their_own(backend) {
        let log: Log = Arc::default();
        let gw = serve_plain(recorder(log.clone(), |_, _| (200, json!({})))).await;
        let raw: RawConfig = toml::from_str(&format!(r#"
            [sms]
            provider = "http"
            url = "http://{gw}/sms"
            body = "{{{{to}}}}:{{{{text}}}}"
            contentType = "application/x-www-form-urlencoded"
            headers = {{ Authorization = "Bearer file-secret" }}
        "#)).unwrap();
        let app = App::spawn_with(backend, raw).await;
        app.tenant_with_alice("example.com").await;
        let (s, view) = app.admin("GET", "/admin/v1/tenants/example.com/providers", None).await;
        assert_eq!(s, 200);
        assert_eq!(view["serverDefaults"], true);
        assert_eq!(view["sms"]["headerNames"], json!(["Authorization"]));
        assert!(!view.to_string().contains("file-secret"));
        let (s, _) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "+15550100"}))).await;
        assert_eq!(s, 202);
        eventually(10, async || log.lock().unwrap().len() == 1).await;
        let got = log.lock().unwrap()[0].clone();
        assert_eq!(header(&got, "authorization"), "Bearer file-secret");
        assert!(String::from_utf8(got.body).unwrap().starts_with("%2B15550100:countersign+test+message"));
    }

    async fn every_provider_request_goes_through_the_proxy_with_preemptive_credentials(backend) {
        let dir = tempfile::tempdir().unwrap();
        let ca = test_ca();
        let log: Log = Arc::default();
        let apns = serve_tls(recorder(log.clone(), |_, _| (200, json!({}))), &ca).await;
        let hook_log: Log = Arc::default();
        let hook = serve_plain(recorder(hook_log.clone(), |_, _| (200, json!({})))).await;
        let proxy = Proxy::start("proxyuser", "proxy-pass").await;
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, &ca.ca_pem).unwrap();
        let raw = RawConfig {
            tls_ca_file: Some(path.to_string_lossy().into_owned()),
            proxy: Some(countersign::config::RawProxy {
                url: Some(format!("http://{}", proxy.addr)),
                username: Some("proxyuser".into()),
                password: Some(countersign::config::Secret("proxy-pass".into())),
            }),
            ..RawConfig::default()
        };
        let app = App::spawn_with(backend, raw).await;
        let key = app.tenant_with_alice("example.com").await;
        let (pem, _) = p256_pem();
        app.admin("PUT", &format!("/admin/v1/apps/{APP_ID}"), Some(json!({"apns": {
            "teamId": "TEAM123456", "keyId": "KEY1234567", "privateKey": pem,
            "productionUrl": format!("https://127.0.0.1:{}", apns.port())
        }}))).await;
        // An HTTPS provider: tunnelled with CONNECT.
        let auth = device(&app, &key, "apns", &"ab".repeat(32)).await;
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        assert_eq!(log.lock().unwrap().len(), 1);
        // A plain-HTTP target: sent to the proxy in absolute form.
        auth.register_push("webhook", Some(&format!("http://{hook}/push"))).await.unwrap();
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 2).await;
        assert_eq!(hook_log.lock().unwrap().len(), 1);
        let lines = proxy.requests.lock().unwrap().clone();
        assert!(lines.iter().any(|l| l.starts_with(&format!("CONNECT 127.0.0.1:{}", apns.port()))), "{lines:?}");
        assert!(lines.iter().any(|l| l.starts_with(&format!("POST http://{hook}/push"))), "{lines:?}");
        assert_eq!(*proxy.refused.lock().unwrap(), 0, "credentials were sent with the first request");
    }
}

/// A forward proxy: absolute-form HTTP and CONNECT tunnels, refusing (407) any request
/// without the expected Basic credentials.
struct Proxy {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
    refused: Arc<Mutex<usize>>,
}

impl Proxy {
    async fn start(user: &str, pass: &str) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests: Arc<Mutex<Vec<String>>> = Arc::default();
        let refused: Arc<Mutex<usize>> = Arc::default();
        let expected = format!("basic {}", STANDARD.encode(format!("{user}:{pass}"))).to_lowercase();
        let (req_log, refused_log) = (requests.clone(), refused.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else { return };
                let (req_log, refused_log, expected) = (req_log.clone(), refused_log.clone(), expected.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let head_end = loop {
                        let n = client.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
                    let rest = buf[head_end..].to_vec();
                    let mut lines = head.split("\r\n");
                    let first = lines.next().unwrap_or("").to_owned();
                    let authorised = head.split("\r\n").any(|l| {
                        l.to_lowercase().starts_with("proxy-authorization:") && l.to_lowercase().ends_with(&expected)
                    });
                    if !authorised {
                        *refused_log.lock().unwrap() += 1;
                        let _ = client
                            .write_all(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n")
                            .await;
                        return;
                    }
                    req_log.lock().unwrap().push(first.clone());
                    let mut parts = first.split(' ');
                    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
                    if method == "CONNECT" {
                        let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else { return };
                        let _ = client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n").await;
                        let _ = upstream.write_all(&rest).await;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    } else {
                        let without_scheme = target.strip_prefix("http://").unwrap_or(target);
                        let (authority, path) = without_scheme.split_once('/').unwrap_or((without_scheme, ""));
                        let Ok(mut upstream) = tokio::net::TcpStream::connect(authority).await else { return };
                        let mut out = format!("{method} /{path} HTTP/1.1\r\n");
                        for l in head.split("\r\n").skip(1) {
                            if !l.is_empty() && !l.to_lowercase().starts_with("proxy-") {
                                out.push_str(l);
                                out.push_str("\r\n");
                            }
                        }
                        out.push_str("\r\n");
                        let _ = upstream.write_all(out.as_bytes()).await;
                        let _ = upstream.write_all(&rest).await;
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                    }
                });
            }
        });
        Proxy { addr, requests, refused }
    }
}
