//! The outbox under faults (docs/delivery.md): retries, deadlines, dead letters, dead
//! tokens, on both backends. Pushes go to a webhook served by the test.

use crate::common;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::{App, Auth};
use axum::http::StatusCode;
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// What the webhook got: body, message ID header, the status it answered, all headers.
type Received = (Value, String, u16, axum::http::HeaderMap);

/// A webhook that answers each POST with the next status of `script` (the last one
/// repeats), recording what it received (body and message ID header).
struct Hook {
    url: String,
    received: Arc<std::sync::Mutex<Vec<Received>>>,
}

async fn hook(script: Vec<u16>) -> Hook {
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let calls = Arc::new(AtomicUsize::new(0));
    let rec = received.clone();
    let app = axum::Router::new().route(
        "/push",
        axum::routing::post(move |headers: axum::http::HeaderMap, axum::Json(v): axum::Json<Value>| {
            let (rec, calls, script) = (rec.clone(), calls.clone(), script.clone());
            async move {
                let n = calls.fetch_add(1, Ordering::SeqCst);
                let status = script[n.min(script.len() - 1)];
                let id = headers.get("x-cs-message-id").and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
                rec.lock().unwrap().push((v, id, status, headers.clone()));
                StatusCode::from_u16(status).unwrap()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/push", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Hook { url, received }
}

async fn device_on(app: &App, key: &str, url: &str) -> Authenticator {
    let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(key), None).await;
    let auth =
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
    auth.register_push("webhook", Some(url)).await.unwrap();
    auth
}

async fn outbox(app: &App, state: &str) -> Vec<Value> {
    let (s, list) = app.admin("GET", &format!("/admin/v1/outbox?state={state}"), None).await;
    let list = list["items"].clone();
    assert_eq!(s, 200, "{list}");
    list.as_array().unwrap().clone()
}

/// Wait until `f` holds (checking every 100 ms, up to `secs`).
async fn eventually<F: AsyncFn() -> bool>(secs: u64, f: F) {
    for _ in 0..secs * 10 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached in {secs} s");
}

async fn push_login(app: &App, key: &str) -> String {
    let (_, out) = app
        .call(
            "POST",
            "/v1/users/alice@example.com/login",
            Auth::Bearer(key),
            Some(json!({"passKey": "push", "timeout": 0})),
        )
        .await;
    out["requestID"].as_str().unwrap().to_owned()
}

backend_tests! {
    async fn a_failed_push_is_retried_and_delivered_once(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let h = hook(vec![500, 200]).await;
        let auth = device_on(&app, &key, &h.url).await;
        let id = push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "sent").await.len() == 1).await;
        let sent = &outbox(&app, "sent").await[0];
        assert_eq!(sent["attempts"], 2);
        let got = h.received.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "one failure, one success");
        assert_eq!(got[0].0, got[1].0, "the retry sends the same bytes");
        assert_eq!(got[1].0, json!({"requestID": id, "deviceID": auth.state.device_id}));
        assert_eq!(got[0].1, sent["id"].as_str().unwrap(), "the message ID lets receivers de-duplicate");
        assert_eq!(got.iter().filter(|r| r.2 == 200).count(), 1, "delivered once");
        // Metrics show the outcome.
        let text = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
        assert!(text.contains("countersign_outbox_messages{state=\"sent\"} 1"), "{text}");
        assert!(text.contains("countersign_outbox_sends_total{kind=\"push\",outcome=\"retry\"} 1"), "{text}");
        assert!(text.contains("countersign_outbox_sends_total{kind=\"push\",outcome=\"sent\"} 1"), "{text}");
    }

    async fn a_provider_down_past_the_deadline_dead_letters_the_push(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"loginTimeoutSeconds": 3}}))).await;
        // A port nobody listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/push", closed.local_addr().unwrap());
        drop(closed);
        device_on(&app, &key, &url).await;
        push_login(&app, &key).await;
        eventually(15, async || outbox(&app, "dead").await.len() == 1).await;
        let dead = &outbox(&app, "dead").await[0];
        let error = dead["lastError"].as_str().unwrap();
        assert!(error.contains("webhook unreachable"), "{error}");
        assert!(!error.contains(&url), "the error does not carry the target URL");
        assert!(dead["attempts"].as_u64().unwrap() >= 2, "{dead}");
        assert!(outbox(&app, "queued").await.is_empty());
    }

    async fn a_gone_token_is_removed(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let h = hook(vec![410]).await;
        let auth = device_on(&app, &key, &h.url).await;
        push_login(&app, &key).await;
        eventually(10, async || outbox(&app, "dead").await.len() == 1).await;
        let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
        let devices = devices["items"].clone();
        assert_eq!(devices[0]["pushPlatform"], Value::Null, "the dead token is forgotten: {devices}");
        // The device still works by polling.
        assert_eq!(auth.pending().await.unwrap().len(), 1);
        push_login(&app, &key).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(h.received.lock().unwrap().len(), 1, "no push after the token was removed");
    }

    async fn outbox_listing_checks_its_filter(backend) {
        let app = App::spawn(backend).await;
        let (s, b) = app.admin("GET", "/admin/v1/outbox?state=lost", None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("state")));
        let (s, b) = app.admin("GET", "/admin/v1/outbox", None).await;
        assert_eq!((s, b), (200, json!({"items": [], "nextAfter": null})));
    }

    async fn callbacks_are_allowlisted_signed_and_authenticated(backend) {
        use base64::Engine;
        use countersign_authenticator::Answer;
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"numberMatching": false}}))).await;
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        let h = hook(vec![200]).await;
        let login = |body: Value| {
            let key = key.clone();
            let app = &app;
            async move { app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(body)).await }
        };
        // Not listed: refused before anything starts.
        let (s, b) = login(json!({"passKey": "push", "timeout": 0, "callbackURL": h.url})).await;
        assert_eq!((s, common::code(&b)), (422, "callback_not_allowed"));
        let (s, view) = app
            .admin("PUT", "/admin/v1/tenants/example.com/callbacks",
                Some(json!({"endpoints": [{"url": h.url, "username": "rp", "password": "pw-secret-1"}]})))
            .await;
        assert_eq!(s, 200, "{view}");
        assert_eq!(view["endpoints"][0]["hasPassword"], true);
        assert!(!view.to_string().contains("pw-secret-1"));
        let (s, b) = login(json!({"passKey": "push", "timeout": 0, "callbackURL": h.url})).await;
        assert_eq!((s, common::code(&b)), (422, "callback_not_configured"));
        let (s, sec) = app.admin("POST", "/admin/v1/tenants/example.com/callbacks/secret", None).await;
        assert_eq!(s, 201);
        let secret = sec["secret"].as_str().unwrap().to_owned();
        let (_, view) = app.admin("GET", "/admin/v1/tenants/example.com/callbacks", None).await;
        assert_eq!((view["hasSecret"].as_bool(), view.to_string().contains(&secret)), (Some(true), false));

        // Approved: the callback arrives, signed, with the Basic credentials.
        let (_, out) = login(json!({"passKey": "push", "timeout": 0, "callbackURL": h.url})).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        assert!(h.received.lock().unwrap().is_empty(), "nothing before the session ends");
        auth.respond(&id, &Answer { approve: true, ..Default::default() }).await.unwrap();
        eventually(10, async || h.received.lock().unwrap().len() == 1).await;
        let (body, msg_id, _, headers) = h.received.lock().unwrap()[0].clone();
        assert_eq!((body["requestID"].as_str(), body["sessionStatus"].as_str(), body["userID"].as_str(), body["domain"].as_str()),
            (Some(id.as_str()), Some("Accept"), Some("alice"), Some("example.com")));
        assert!(!msg_id.is_empty());
        let header = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
        let ts: i64 = header("x-cs-timestamp").parse().unwrap();
        let raw = body.to_string();
        assert_eq!(header("x-cs-signature"), countersign_core::delivery::callbacks::signature(&secret, ts, &raw).unwrap());
        let basic = base64::engine::general_purpose::STANDARD.encode("rp:pw-secret-1");
        assert_eq!(header("authorization"), format!("Basic {basic}"));

        // A timeout is reported too.
        let (_, out) = login(json!({"passKey": "push", "timeout": 1, "callbackURL": h.url})).await;
        assert_eq!(out["sessionStatus"], "Timeout");
        eventually(10, async || h.received.lock().unwrap().len() == 2).await;
        assert_eq!(h.received.lock().unwrap()[1].0["sessionStatus"], "Timeout");

        // Secrets are sealed in storage.
        let domain = countersign_core::Domain::parse("example.com", "domain").unwrap();
        let tenant = app.core.store.tenant_by_domain(&domain).await.unwrap().unwrap();
        let stored = serde_json::to_string(&app.core.store.callback_config(&tenant.id).await.unwrap().unwrap()).unwrap();
        assert!(!stored.contains("pw-secret-1") && !stored.contains(&secret), "stored in the clear: {stored}");

        // With the allowlist off, any http(s) URL may be named.
        app.admin("PUT", "/admin/v1/tenants/example.com/callbacks", Some(json!({"allowlistEnabled": false}))).await;
        let (s, _) = login(json!({"passKey": "push", "timeout": 0, "callbackURL": "http://127.0.0.1:9/elsewhere"})).await;
        assert_eq!(s, 200);
        let (s, b) = login(json!({"passKey": "push", "timeout": 0, "callbackURL": "ftp://x"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("callbackURL")));
    }
}
