//! The session state machine seen from outside (docs/mobile-protocol.md, "The session
//! state machine"): the sweeper times out sessions nobody asks about and sends their
//! callbacks, once even with several nodes sweeping; reading a session never writes it;
//! a session another node ends wakes this node's waiters at once (PostgreSQL).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::common::{self, App, Auth};
use axum::http::StatusCode;
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_core::session::SessionState;
use countersign_core::{Domain, FixedClock, Tenant, Timestamp};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// A relying party's callback endpoint: what it received, and when.
struct Receiver {
    url: String,
    received: Arc<std::sync::Mutex<Vec<(Value, Instant)>>>,
}

async fn receiver() -> Receiver {
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let rec = received.clone();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let rec = rec.clone();
            async move {
                rec.lock().unwrap().push((v, Instant::now()));
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver { url, received }
}

/// Tenant `example.com` with alice, her device, the tenant `settings`, and `url` on the
/// callback allowlist; the API key.
async fn setup(app: &App, settings: Value, url: &str) -> (String, Authenticator) {
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({ "settings": settings }))).await;
    assert_eq!(s, 200, "{b}");
    let (s, b) =
        app.admin("PUT", "/admin/v1/tenants/example.com/callbacks", Some(json!({"endpoints": [{"url": url}]}))).await;
    assert_eq!(s, 200, "{b}");
    let (s, _) = app.admin("POST", "/admin/v1/tenants/example.com/callbacks/secret", None).await;
    assert_eq!(s, 201);
    let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
    let auth =
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
    (key, auth)
}

/// An asynchronous push login naming `callback`; its output.
async fn async_login(app: &App, key: &str, callback: &str) -> Value {
    let body = json!({"passKey": "push", "timeout": 0, "callbackURL": callback});
    let (s, out) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await;
    assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Pending")), "{out}");
    out
}

async fn tenant(app: &App) -> Tenant {
    let domain = Domain::parse("example.com", "domain").unwrap();
    app.core.store.tenant_by_domain(&domain).await.unwrap().unwrap()
}

/// Another node on the same database whose clock reads `at` and which runs no sweeper of
/// its own: what it reads and sweeps is up to the test.
fn node(app: &App, at: Timestamp) -> countersign_core::Core {
    let mut core = countersign::core_for(app.core.store.clone(), &app.base).unwrap();
    core.clock = Arc::new(FixedClock::new(at));
    core
}

fn expires_at(out: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(out["expiresAt"].as_str().unwrap()).unwrap()
}

/// The first call of an adaptive login from browser `browser`; its output.
async fn adaptive(app: &App, key: &str, browser: &str) -> Value {
    let body = json!({"cddc": {"userAgent": browser, "platform": "MacIntel"}, "sessionID": "S1", "timeout": 0});
    let (s, out) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await;
    assert_eq!(s, 200, "{out}");
    out
}

async fn learn_messages(app: &App) -> Vec<countersign_core::delivery::outbox::OutboxMessage> {
    let all = app.core.store.list_outbox(None, None, 100).await.unwrap();
    all.into_iter().filter(|m| m.kind == countersign_core::delivery::outbox::OutboxKind::Learn).collect()
}

backend_tests! {
    async fn an_async_login_nobody_polls_times_out_and_calls_back(backend) {
        let app = App::spawn(backend).await;
        let rp = receiver().await;
        let (key, _auth) = setup(&app, json!({"numberMatching": false, "loginTimeoutSeconds": 2}), &rp.url).await;
        let started = Instant::now();
        let out = async_login(&app, &key, &rp.url).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        // Nobody polls, nobody answers: the sweeper ends it and its callback goes.
        let deadline = started + Duration::from_secs(2);
        while rp.received.lock().unwrap().is_empty() {
            assert!(Instant::now() < deadline + Duration::from_secs(3), "no Timeout callback within 3 s of the deadline");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (body, at) = rp.received.lock().unwrap()[0].clone();
        assert!(at >= deadline - Duration::from_millis(100), "called back before the deadline");
        assert_eq!((body["requestID"].as_str(), body["sessionStatus"].as_str()), (Some(id.as_str()), Some("Timeout")), "{body}");
        assert_eq!(body["decidedAt"], out["expiresAt"], "a timeout is decided by the deadline");
        // Recorded, not only seen: the row itself is Timeout.
        let row = app.core.store.session(&id).await.unwrap().unwrap();
        assert_eq!(row.state(), SessionState::Timeout);
        let (s, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!((s, st["sessionStatus"].as_str()), (200, Some("Timeout")), "{st}");
        // Swept once: one callback, one count.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(rp.received.lock().unwrap().len(), 1, "one callback");
        let text = common::metrics::scrape(&app).await;
        assert_eq!(common::metrics::sample(&text, "countersign_logins_total{method=\"NoPIN\",outcome=\"Timeout\"}"), Some(1.0), "{text}");
        assert_eq!(common::metrics::sample(&text, "countersign_sessions_pending"), Some(0.0));
    }

    async fn reading_an_expired_session_does_not_write_it(backend) {
        let app = App::spawn(backend).await;
        let rp = receiver().await;
        let (key, _auth) = setup(&app, json!({"numberMatching": false, "loginTimeoutSeconds": 600}), &rp.url).await;
        let out = async_login(&app, &key, &rp.url).await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        // A node whose clock is past the deadline reads the session: Timeout to it ...
        let late = node(&app, expires_at(&out).plus_millis(1_000));
        let tenant = tenant(&app).await;
        let seen = late.session_status(&tenant, &id, None).await.unwrap();
        assert_eq!(seen.state, SessionState::Timeout);
        // ... and the row is untouched: still Pending, nothing queued, nothing counted.
        let row = app.core.store.session(&id).await.unwrap().unwrap();
        assert_eq!((row.state(), row.decided_at()), (SessionState::Pending, None));
        let callbacks = async || {
            app.core.store.list_outbox(None, None, 100).await.unwrap().into_iter()
                .filter(|m| m.kind == countersign_core::delivery::outbox::OutboxKind::Callback).count()
        };
        assert_eq!(callbacks().await, 0, "no callback for a read");
        assert!(!late.render_metrics().await.contains("outcome=\"Timeout\""));
        // To everyone else it is still pending.
        let (_, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Pending");
        // That node's sweep records it, with its callback.
        let swept = late.sweep_sessions().await.unwrap();
        assert_eq!((swept.found, swept.ended), (1, 1));
        let row = app.core.store.session(&id).await.unwrap().unwrap();
        assert_eq!((row.state(), row.decided_at()), (SessionState::Timeout, Some(expires_at(&out))));
        assert_eq!(callbacks().await, 1);
    }

    async fn nodes_sweeping_at_once_end_each_session_once(backend) {
        const LOGINS: usize = 8;
        const NODES: usize = 4;
        let app = App::spawn(backend).await;
        let rp = receiver().await;
        let (key, _auth) = setup(&app, json!({"numberMatching": false, "loginTimeoutSeconds": 600}), &rp.url).await;
        let mut ids = Vec::new();
        let mut latest = Timestamp(0);
        for _ in 0..LOGINS {
            let out = async_login(&app, &key, &rp.url).await;
            ids.push(out["requestID"].as_str().unwrap().to_owned());
            latest = latest.max(expires_at(&out));
        }
        let nodes: Vec<_> = (0..NODES).map(|_| Arc::new(node(&app, latest.plus_millis(1)))).collect();
        let sweeps: Vec<_> = nodes.iter().map(|n| {
            let n = n.clone();
            tokio::spawn(async move { n.sweep_sessions().await.unwrap() })
        }).collect();
        let mut ended = 0;
        for s in sweeps {
            ended += s.await.unwrap().ended;
        }
        assert_eq!(ended, LOGINS, "each session ended by exactly one node");
        let mut counted = 0.0;
        for n in &nodes {
            let text = n.render_metrics().await;
            counted += common::metrics::sample(&text, "countersign_logins_total{method=\"NoPIN\",outcome=\"Timeout\"}").unwrap_or(0.0);
        }
        assert_eq!(counted, LOGINS as f64, "each timeout counted once, on the node that ended it");
        let callbacks: Vec<Value> = app.core.store.list_outbox(None, None, 1000).await.unwrap().into_iter()
            .filter(|m| m.kind == countersign_core::delivery::outbox::OutboxKind::Callback)
            .map(|m| serde_json::from_str(&m.payload).unwrap())
            .collect();
        assert_eq!(callbacks.len(), LOGINS, "one callback per session");
        for id in &ids {
            assert_eq!(callbacks.iter().filter(|c| c["requestID"] == id.as_str()).count(), 1, "{id}");
            assert_eq!(app.core.store.session(id).await.unwrap().unwrap().state(), SessionState::Timeout);
        }
        // Nothing is left to sweep.
        assert_eq!(nodes[0].sweep_sessions().await.unwrap(), Default::default());
    }

    async fn an_accepted_challenge_teaches_through_a_message_queued_with_the_accept(backend) {
        const PASSWORD: &str = "correct horse battery";
        let raw = countersign::config::RawConfig {
            password_memory_kib: Some(1024),
            password_iterations: Some(1),
            ..Default::default()
        };
        let app = App::spawn_with(backend, raw).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/users/alice/static-password",
            Some(json!({"password": PASSWORD, "graceDays": 30}))).await;
        assert_eq!(s, 200, "{b}");
        // A new browser is challenged; passing the challenge teaches it.
        let out = adaptive(&app, &key, "Chrome/120").await;
        assert_eq!(out["riskResponseCode"], 2, "{out}");
        assert!(learn_messages(&app).await.is_empty(), "nothing to learn before the challenge is passed");
        let body = json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": PASSWORD});
        let (s, b) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(body)).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        // Queued with the Accept, applied at once (so marked sent), for alice.
        let learned = learn_messages(&app).await;
        assert_eq!(learned.len(), 1, "{learned:?}");
        assert_eq!(learned[0].state, countersign_core::delivery::outbox::OutboxState::Sent);
        let tenant = tenant(&app).await;
        let alice = app.core.store.user(&tenant.id, "alice").await.unwrap().unwrap();
        assert_eq!(learned[0].target, alice.id);
        assert_eq!(adaptive(&app, &key, "Chrome/120").await["riskResponseCode"], 0, "the browser is known now");
        // A login accepted outright teaches too (where it was, when), through the same path.
        assert_eq!(learn_messages(&app).await.len(), 2);
        // A challenge that is not passed teaches nothing.
        let out = adaptive(&app, &key, "Firefox/121").await;
        let body = json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": "wrong password"});
        let (s, _) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(body)).await;
        assert_eq!(s, 422);
        assert_eq!(learn_messages(&app).await.len(), 2);
    }

    async fn a_learning_left_in_the_outbox_is_applied_by_the_delivery_worker(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let tenant = tenant(&app).await;
        let alice = app.core.store.user(&tenant.id, "alice").await.unwrap().unwrap();
        assert_eq!(adaptive(&app, &key, "Safari/17").await["riskResponseCode"], 2, "a new browser");
        // As if the node that accepted the challenge died before applying its learning.
        let fp = countersign_core::risk::fingerprint(&json!({"userAgent": "Safari/17", "platform": "MacIntel"})).unwrap();
        let now = app.core.clock.now();
        let payload = json!({"learn": {"fingerprint": fp}, "at": now.millis()}).to_string();
        let m = countersign_core::delivery::outbox::OutboxMessage::new(
            "learn-1".into(), &tenant.id, countersign_core::delivery::outbox::OutboxKind::Learn, &alice.id, payload, now,
            now.plus_millis(60_000));
        app.core.store.enqueue(&[m]).await.unwrap();
        app.core.outbox_wake.notify_one();
        for _ in 0..50 {
            if learn_messages(&app).await[0].state == countersign_core::delivery::outbox::OutboxState::Sent {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(learn_messages(&app).await[0].state, countersign_core::delivery::outbox::OutboxState::Sent);
        assert_eq!(adaptive(&app, &key, "Safari/17").await["riskResponseCode"], 0, "learned by the worker");
    }
}

/// A synchronous login waiting on this node returns as soon as another node ends its
/// session: the end is announced by PostgreSQL's NOTIFY and this node's one LISTEN
/// connection wakes the waiter, well before the node's 5-second safety re-check.
#[tokio::test]
async fn a_session_another_node_ends_wakes_the_waiter_here_at_once() {
    let app = App::spawn(countersign_store::testing::Backend::Postgres).await;
    let rp = receiver().await;
    let (key, _auth) = setup(&app, json!({"numberMatching": false, "loginTimeoutSeconds": 60}), &rp.url).await;
    for round in 0..3 {
        let (app_base, key2) = (app.base.clone(), key.clone());
        let client = app.client.clone();
        let started = Instant::now();
        let waiting = tokio::spawn(async move {
            let body = json!({"passKey": "push", "timeout": 30});
            let r = client
                .post(format!("{app_base}/v1/users/alice@example.com/login"))
                .bearer_auth(&key2)
                .json(&body)
                .send()
                .await
                .unwrap();
            (common::read(r).await, Instant::now())
        });
        // The session exists once the login has started waiting.
        let id = loop {
            let pending = app.core.store.pending_sessions(&user_pk(&app).await, Timestamp(0)).await.unwrap();
            if let Some(s) = pending.into_iter().next() {
                break s.id.clone();
            }
            assert!(started.elapsed() < Duration::from_secs(10), "the login did not start");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        tokio::time::sleep(Duration::from_millis(300)).await;
        // Another node, whose clock is past the deadline, sweeps it: Timeout, on that node.
        let other = node(&app, app.core.clock.now().plus_millis(86_400_000));
        let swept = other.sweep_sessions().await.unwrap();
        assert!(swept.ended >= 1, "round {round}: {swept:?}");
        let ended_at = Instant::now();
        let ((status, out), answered_at) = waiting.await.unwrap();
        assert_eq!(
            (status, out["sessionStatus"].as_str(), out["requestID"].as_str()),
            (200, Some("Timeout"), Some(id.as_str())),
            "{out}"
        );
        let lag = answered_at.saturating_duration_since(ended_at);
        assert!(lag < Duration::from_millis(2000), "round {round}: answered {lag:?} after the other node ended it");
    }
    app.stop().await.unwrap();
}

/// A session ended where no notification is sent (here: by SQL straight into the
/// database, as if the NOTIFY had been lost while the listening connection reconnected)
/// still ends its waiter: the node asks every 5 s, in one query, which of the sessions
/// it waits on have ended.
#[tokio::test]
async fn a_session_ended_without_a_notification_ends_its_waiter_within_the_safety_recheck() {
    let app = App::spawn(countersign_store::testing::Backend::Postgres).await;
    let rp = receiver().await;
    let (key, _auth) = setup(&app, json!({"numberMatching": false, "loginTimeoutSeconds": 60}), &rp.url).await;
    let (app_base, key2, client) = (app.base.clone(), key.clone(), app.client.clone());
    let started = Instant::now();
    let waiting = tokio::spawn(async move {
        let body = json!({"passKey": "push", "timeout": 40});
        let r = client
            .post(format!("{app_base}/v1/users/alice@example.com/login"))
            .bearer_auth(&key2)
            .json(&body)
            .send()
            .await
            .unwrap();
        (common::read(r).await, Instant::now())
    });
    let id = loop {
        let pending = app.core.store.pending_sessions(&user_pk(&app).await, Timestamp(0)).await.unwrap();
        if let Some(s) = pending.into_iter().next() {
            break s.id.clone();
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the login did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let now = app.core.clock.now().millis();
    app.db().execute(&format!("UPDATE sessions SET state = 'Decline', decided_at = {now} WHERE id = '{id}'")).await;
    let ended_at = Instant::now();
    let ((status, out), answered_at) = waiting.await.unwrap();
    assert_eq!((status, out["sessionStatus"].as_str()), (200, Some("Decline")), "{out}");
    let lag = answered_at.saturating_duration_since(ended_at);
    let most = countersign_core::session::SAFETY_RECHECK + Duration::from_secs(2);
    assert!(lag < most, "answered {lag:?} after the session ended unannounced");
    app.stop().await.unwrap();
}

/// Authentication types are cached per node; a change made on another node reaches this
/// node's cache through PostgreSQL's NOTIFY at once, not when some expiry passes.
#[tokio::test]
async fn an_authentication_type_changed_on_another_node_applies_here_at_once() {
    let app = App::spawn(countersign_store::testing::Backend::Postgres).await;
    let rp = receiver().await;
    let (key, _auth) = setup(&app, json!({"numberMatching": false}), &rp.url).await;
    // This node reads (and keeps) the built-in `push` type.
    async_login(&app, &key, &rp.url).await;
    let other = node(&app, app.core.clock.now());
    let off: countersign_core::otp::AuthType =
        serde_json::from_value(json!({"method": "push", "enabled": false})).unwrap();
    other.set_auth_type("example.com", "push", off).await.unwrap();
    let changed = Instant::now();
    loop {
        let body = json!({"passKey": "push", "timeout": 0});
        let (s, out) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(body)).await;
        if s == 403 {
            assert_eq!(common::code(&out), "auth_type_disabled", "{out}");
            break;
        }
        assert_eq!(s, 200, "{out}");
        assert!(changed.elapsed() < Duration::from_secs(2), "the change did not reach this node's cache");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.stop().await.unwrap();
}

async fn user_pk(app: &App) -> String {
    let t = tenant(app).await;
    app.core.store.user(&t.id, "alice").await.unwrap().unwrap().id
}
