//! Several nodes on one PostgreSQL database (docs/deployment.md): three `countersign serve`
//! processes share the database and nothing else. Logins are started on one node and
//! approved through another (the waiter is woken by the other node's NOTIFY); one node is
//! killed mid-run with callbacks of its own still queued, and the others send them; no
//! session is decided twice and no callback is acknowledged twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_store::testing::{Backend, TestDb};
use serde_json::{Value, json};

use crate::common::peers::eventually;
use crate::common::process::{Served, command};

const ADMIN: &str = "csa_nodesnodesnodesnodesnodesnodesnodes0000";
const MASTER_KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

/// A relying party's callback endpoint that answers `503` while `refusing` is set; what
/// it acknowledged (`200`) per session.
#[derive(Clone, Default)]
struct Rp {
    refusing: Arc<std::sync::atomic::AtomicBool>,
    acknowledged: Arc<Mutex<HashMap<String, usize>>>,
    refused: Arc<std::sync::atomic::AtomicUsize>,
}

async fn rp() -> (Rp, String) {
    let rp = Rp::default();
    let state = rp.clone();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let rp = state.clone();
            async move {
                if rp.refusing.load(std::sync::atomic::Ordering::SeqCst) {
                    rp.refused.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let id = v["requestID"].as_str().unwrap_or("").to_owned();
                *rp.acknowledged.lock().unwrap().entry(id).or_default() += 1;
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/callback", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (rp, url)
}

async fn node(db: &TestDb, dir: &std::path::Path) -> Served {
    let mut cmd = command(dir);
    cmd.args(["--data-dir", "data", "--database", &db.url, "serve", "--listen", "127.0.0.1:0"])
        .env("COUNTERSIGN_MASTER_KEY", MASTER_KEY)
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", ADMIN)
        .env("COUNTERSIGN_LIMITS_ENABLED", "false");
    Served::start(cmd).await
}

async fn ok(n: &Served, method: &str, path: &str, bearer: &str, body: Option<Value>) -> Value {
    let (s, b) = n.call(method, path, bearer, body).await;
    assert!((200..300).contains(&s), "{method} {path}: {s} {b}");
    b
}

/// Approve the next push the device sees; its session's ID.
async fn approve_next(device: &Authenticator) -> String {
    for _ in 0..400 {
        if let Some(r) = device.pending().await.unwrap().into_iter().next() {
            let out = device.respond(&r.request_id, &Answer { approve: true, ..Default::default() }).await.unwrap();
            assert_eq!(out.session_status, "Accept");
            return r.request_id;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("no push arrived");
}

#[tokio::test]
async fn three_nodes_share_one_database_and_survive_losing_one() {
    let db = TestDb::new(Backend::Postgres).await;
    let dirs: Vec<tempfile::TempDir> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut nodes = Vec::new();
    for d in &dirs {
        nodes.push(node(&db, d.path()).await);
    }
    let (rp, url) = rp().await;
    let n0 = &nodes[0];
    ok(n0, "POST", "/admin/v1/tenants", ADMIN, Some(json!({"domain": "example.com"}))).await;
    ok(
        n0,
        "PATCH",
        "/admin/v1/tenants/example.com",
        ADMIN,
        Some(json!({"settings": {"numberMatching": "off", "loginRequestLimit": 0}})),
    )
    .await;
    ok(n0, "PUT", "/admin/v1/tenants/example.com/callbacks", ADMIN, Some(json!({"endpoints": [{"url": url}]}))).await;
    ok(n0, "POST", "/admin/v1/tenants/example.com/callbacks/secret", ADMIN, None).await;
    let key =
        ok(n0, "POST", "/admin/v1/tenants/example.com/api-keys", ADMIN, Some(json!({"name": "web"}))).await["key"]
            .as_str()
            .unwrap()
            .to_owned();
    // User i's device is activated through node i, and talks to it from then on.
    let mut devices = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        ok(n0, "POST", "/admin/v1/tenants/example.com/users", ADMIN, Some(json!({"userID": format!("u{i}")}))).await;
        let a = ok(n, "POST", &format!("/v1/users/u{i}@example.com/activations"), &key, None).await;
        devices.push(
            Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default())
                .await
                .unwrap(),
        );
    }

    // Synchronous logins started on one node, approved through the next: each returns
    // Accept as soon as the other node records it.
    let mut decided = Vec::new();
    for round in 0..6 {
        let user = round % 3;
        let waiting_on = &nodes[(user + 1) % 3];
        let (base, key2, client) = (waiting_on.base.clone(), key.clone(), waiting_on.client.clone());
        let body = json!({"passKey": "push", "timeout": 20, "callbackURL": url});
        let login = tokio::spawn(async move {
            let r = client
                .post(format!("{base}/v1/users/u{user}@example.com/login"))
                .bearer_auth(&key2)
                .json(&body)
                .send()
                .await
                .unwrap();
            crate::common::read(r).await
        });
        let started = std::time::Instant::now();
        let id = approve_next(&devices[user]).await;
        let (s, out) = login.await.unwrap();
        assert_eq!(
            (s, out["sessionStatus"].as_str(), out["requestID"].as_str()),
            (200, Some("Accept"), Some(id.as_str())),
            "{out}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "round {round}: the waiter was not woken ({:?})",
            started.elapsed()
        );
        decided.push(id);
    }

    // Node 2's callbacks cannot be delivered for now; then node 2 dies with them queued.
    rp.refusing.store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..3 {
        let out = ok(
            &nodes[2],
            "POST",
            "/v1/users/u2@example.com/login",
            &key,
            Some(json!({"passKey": "push", "timeout": 0, "callbackURL": url})),
        )
        .await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        assert_eq!(approve_next(&devices[2]).await, id);
        decided.push(id);
    }
    eventually(20, async || rp.refused.load(std::sync::atomic::Ordering::SeqCst) >= 1).await;
    let mut dead = nodes.pop().unwrap();
    dead.child.kill().await.unwrap();
    rp.refusing.store(false, std::sync::atomic::Ordering::SeqCst);

    // The two left carry on: logins across them, every callback delivered once.
    for round in 0..4 {
        let user = round % 2;
        let waiting_on = &nodes[(user + 1) % 2];
        let out = ok(
            waiting_on,
            "POST",
            &format!("/v1/users/u{user}@example.com/login"),
            &key,
            Some(json!({"passKey": "push", "timeout": 0, "callbackURL": url})),
        )
        .await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        assert_eq!(approve_next(&devices[user]).await, id);
        let st = ok(waiting_on, "GET", &format!("/v1/sessions/{id}?wait=10"), &key, None).await;
        assert_eq!(st["sessionStatus"], "Accept", "{st}");
        decided.push(id);
    }
    eventually(90, async || {
        let acked = rp.acknowledged.lock().unwrap();
        decided.iter().all(|id| acked.contains_key(id))
    })
    .await;
    {
        let acked = rp.acknowledged.lock().unwrap();
        for id in &decided {
            assert_eq!(acked.get(id), Some(&1), "session {id}: acknowledged callbacks");
        }
    }
    // Each session was decided once: one login_succeeded entry each in the audit log.
    let log = ok(&nodes[0], "GET", "/admin/v1/audit?kind=login_succeeded&limit=500", ADMIN, None).await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in log["items"].as_array().unwrap() {
        *seen.entry(e["details"]["requestID"].as_str().unwrap_or("").to_owned()).or_default() += 1;
    }
    for id in &decided {
        assert_eq!(seen.get(id), Some(&1), "session {id} decided {:?} times", seen.get(id));
    }
    for n in nodes {
        n.terminate().await;
    }
}
