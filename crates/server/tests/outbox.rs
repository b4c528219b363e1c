//! The outbox under faults (docs/delivery.md): retries, deadlines, dead letters, dead
//! tokens, on both backends. Pushes go to a webhook served by the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::StatusCode;
use common::{App, Auth};
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// A webhook that answers each POST with the next status of `script` (the last one
/// repeats), recording what it received (body and message ID header).
struct Hook {
    url: String,
    received: Arc<std::sync::Mutex<Vec<(Value, String, u16)>>>,
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
                rec.lock().unwrap().push((v, id, status));
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
        assert_eq!((s, b), (200, json!([])));
    }
}
