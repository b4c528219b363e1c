//! Request limits (docs/security.md, "Request limits"), on both backends: the budgets
//! per client address, per API key, per activation and per device refuse the request
//! past them with `429 rate_limited` and `Retry-After`; another address (named by a
//! trusted proxy) or key is still served; a window that ends lets requests through
//! again; a burst of requests at once gets exactly the budget through; two server
//! processes on one PostgreSQL schema share the budget.

use std::sync::Arc;
use std::time::Duration;

use crate::common::served::Served;
use crate::common::{self, App, Auth};
use countersign::config::{RawConfig, RawLimits};
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_proto::messages::QrPayload;
use countersign_store::backend_tests;
use countersign_store::testing::Backend;
use serde_json::{Value, json};

const USER: &str = "/v1/users/alice@example.com";

/// Limits on, in a window of `window_seconds`, with these budgets; the test server
/// believes 127.0.0.1's `X-Forwarded-For`.
fn config(window_seconds: u32, set: impl FnOnce(&mut RawLimits)) -> RawConfig {
    let mut limits = RawLimits { enabled: Some(true), window_seconds: Some(window_seconds), ..RawLimits::default() };
    set(&mut limits);
    RawConfig { limits: Some(limits), trusted_proxies: Some(vec!["127.0.0.1/32".to_owned()]), ..RawConfig::default() }
}

/// Wait, if need be, so that at least `margin_ms` of the current `window_seconds`
/// window are left (windows are aligned on the epoch): what follows happens in one window.
async fn fresh_window(window_seconds: u32, margin_ms: i64) {
    let len = i64::from(window_seconds) * 1000;
    let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis();
    let left = len - now.rem_euclid(len);
    if left < margin_ms {
        tokio::time::sleep(Duration::from_millis(left as u64 + 20)).await;
    }
}

/// A GET of `path` with the API key `key`, from `from` (an `X-Forwarded-For` address)
/// when given: the status, the `Retry-After` header and the body.
async fn get(app: &App, path: &str, key: &str, from: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut req = app.client.get(format!("{}{path}", app.base)).bearer_auth(key);
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    answer(req).await
}

async fn answer(req: reqwest::RequestBuilder) -> (u16, Option<u64>, Value) {
    let resp = req.send().await.unwrap();
    let retry = resp.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
    let (status, body) = common::read(resp).await;
    (status, retry, body)
}

/// Assert a `429 rate_limited` with a `Retry-After` of at most `window` seconds.
fn refused((status, retry, body): &(u16, Option<u64>, Value), window: u64) {
    assert_eq!((*status, common::code(body)), (429, "rate_limited"), "{body}");
    let retry = retry.expect("a Retry-After header");
    assert!((1..=window).contains(&retry), "Retry-After {retry}");
    assert_eq!(body["error"]["retryAfterSeconds"].as_u64(), Some(retry), "{body}");
}

/// The audit entries of kind `rate_limited`.
async fn refusals_audited(app: &App) -> Vec<Value> {
    let (s, page) = app.admin("GET", "/admin/v1/audit?kind=rate_limited&limit=500", None).await;
    assert_eq!(s, 200, "{page}");
    page["items"].as_array().unwrap().clone()
}

async fn rate_limited_metric(app: &App, limit: &str) -> f64 {
    let text = common::metrics::scrape(app).await;
    common::metrics::sample(&text, &format!("countersign_rate_limited_total{{limit=\"{limit}\"}}")).unwrap_or(0.0)
}

/// A new activation for alice: its ID and code.
async fn activation(app: &App, key: &str) -> (String, String, String) {
    let (s, a) = app.call("POST", &format!("{USER}/activations"), Auth::Bearer(key), None).await;
    assert_eq!(s, 201, "{a}");
    let payload = a["qrPayload"].as_str().unwrap().to_owned();
    let qr = QrPayload::parse(&payload).unwrap();
    (qr.activation_id, qr.code, payload)
}

async fn activation_code(app: &App, id: &str, code: &str, from: Option<&str>) -> (u16, Option<u64>, Value) {
    let mut req = app.client.post(format!("{}/mobile/v1/activations/{id}/code", app.base)).json(&json!({"code": code}));
    if let Some(ip) = from {
        req = req.header("x-forwarded-for", ip);
    }
    answer(req).await
}

/// A push login for alice, asynchronous: its request ID.
async fn push_login(app: &App, key: &str) -> String {
    let body = json!({"passKey": "push", "timeout": 0});
    let (s, out) = app.call("POST", &format!("{USER}/login"), Auth::Bearer(key), Some(body)).await;
    assert_eq!(s, 200, "{out}");
    out["requestID"].as_str().unwrap().to_owned()
}

/// `auth`'s approval of login `id`, sent `times` times (each signed anew): the answers.
async fn approve(auth: &Authenticator, id: &str, times: usize) -> Vec<(u16, String)> {
    let req = auth.request(id).await.unwrap();
    let body = auth.response_body(&req, &Answer { approve: true, ..Default::default() }).unwrap();
    let mut out = Vec::new();
    for _ in 0..times {
        out.push(match auth.send_response(id, &body).await {
            Ok(r) => (200, r.session_status),
            Err(countersign_authenticator::Error::Server { status, code, .. }) => (status, code),
            Err(e) => panic!("{e}"),
        });
    }
    out
}

backend_tests! {
    async fn web_sign_in_steps_have_their_own_address_budget(backend) {
        let app = App::spawn_with(backend, config(3600, |l| l.sign_in_address = Some(3))).await;
        app.tenant_with_alice("example.com").await;
        fresh_window(3600, 30_000).await;
        let sign_in = |path: &'static str| {
            app.client
                .post(format!("{}{path}", app.base))
                .header("origin", &app.base)
                .form(&[("user", "alice"), ("password", "wrong password")])
                .send()
        };
        // Password guesses on the self-service and console sign-in forms share the budget.
        for path in ["/self-service/example.com/sign-in", "/console/sign-in", "/self-service/example.com/sign-in"] {
            let res = sign_in(path).await.unwrap();
            assert!(res.status().is_client_error() && res.status() != 429, "{path}: {}", res.status());
        }
        for path in ["/self-service/example.com/sign-in", "/console/sign-in", "/self-service/example.com/link"] {
            let res = sign_in(path).await.unwrap();
            assert_eq!(res.status(), 429, "{path}");
        }
        // The signed-in pages and the APIs are not counted against it.
        let page = app.client.get(format!("{}/self-service/example.com", app.base)).send().await.unwrap();
        assert_eq!(page.status(), 200);
        assert_eq!(rate_limited_metric(&app, "sign_in_address").await, 3.0);
    }

    async fn past_the_address_budget_429_and_another_address_is_still_served(backend) {
        let app = App::spawn_with(backend, config(3600, |l| l.integration_address = Some(5))).await;
        let key = app.tenant_with_alice("example.com").await;
        fresh_window(3600, 30_000).await;
        for _ in 0..5 {
            let (s, _, b) = get(&app, USER, &key, None).await;
            assert_eq!(s, 200, "{b}");
        }
        for _ in 0..3 {
            refused(&get(&app, USER, &key, None).await, 3600);
        }
        // Another client, as the trusted proxy (127.0.0.1) reports it, has its own budget.
        let (s, _, b) = get(&app, USER, &key, Some("198.51.100.7")).await;
        assert_eq!(s, 200, "{b}");
        // Unknown routes under /v1 count too; admin and operations routes are not limited.
        refused(&get(&app, "/v1/nowhere", &key, None).await, 3600);
        let (s, _) = app.admin("GET", "/admin/v1/tenants", None).await;
        assert_eq!(s, 200);
        let (s, _) = app.call("GET", "/healthz", Auth::None, None).await;
        assert_eq!(s, 200);
        assert_eq!(rate_limited_metric(&app, "integration_address").await, 4.0);
        // One audit entry for the bucket's window, however many refusals.
        let audited = refusals_audited(&app).await;
        assert_eq!(audited.len(), 1, "{audited:?}");
        let d = &audited[0]["details"];
        assert_eq!((d["limit"].as_str(), d["budget"].as_u64(), d["client"].as_str()), (Some("integration_address"), Some(5), Some("127.0.0.1")), "{d}");
    }

    async fn past_the_api_key_budget_429_from_any_address_and_another_key_is_served(backend) {
        let app = App::spawn_with(backend, config(3600, |l| l.api_key = Some(4))).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, other) = app.admin("POST", "/admin/v1/tenants/example.com/api-keys", Some(json!({"name": "other"}))).await;
        assert_eq!(s, 201);
        let other = other["key"].as_str().unwrap().to_owned();
        fresh_window(3600, 30_000).await;
        for i in 0..4 {
            let (s, _, b) = get(&app, USER, &key, Some(&format!("203.0.113.{i}"))).await;
            assert_eq!(s, 200, "{b}");
        }
        refused(&get(&app, USER, &key, Some("203.0.113.99")).await, 3600);
        let (s, _, b) = get(&app, USER, &other, None).await;
        assert_eq!(s, 200, "{b}");
        // A wrong key is refused as before (401), not counted against a key.
        let (s, _, _) = get(&app, USER, "csk_wrong", None).await;
        assert_eq!(s, 401);
        let audited = refusals_audited(&app).await;
        assert_eq!(audited.len(), 1, "{audited:?}");
        assert!(audited[0]["actor"].as_str().unwrap().starts_with("api-key:"), "{:?}", audited[0]);
        assert_eq!(audited[0]["tenant"].as_str(), Some("example.com"), "{:?}", audited[0]);
        assert_eq!(rate_limited_metric(&app, "api_key").await, 1.0);
    }

    async fn activation_steps_are_limited_per_activation_and_per_address(backend) {
        let app = App::spawn_with(backend, config(3600, |l| {
            l.activation = Some(3);
            l.activation_address = Some(5);
        }))
        .await;
        let key = app.tenant_with_alice("example.com").await;
        let (a, _, _) = activation(&app, &key).await;
        let (b, b_code, _) = activation(&app, &key).await;
        fresh_window(3600, 30_000).await;
        // Per activation: three steps, then refused (before the code is looked at: the
        // activation is not burned by these).
        for _ in 0..3 {
            let (s, _, body) = activation_code(&app, &a, "AAAAAAAA", None).await;
            assert_eq!((s, common::code(&body)), (422, "invalid_activation_code"), "{body}");
        }
        refused(&activation_code(&app, &a, "AAAAAAAA", None).await, 3600);
        // Per address: the fifth step from 127.0.0.1 is taken, the sixth refused, on
        // another activation.
        let (s, _, body) = activation_code(&app, &b, "AAAAAAAA", None).await;
        assert_eq!(s, 422, "{body}");
        refused(&activation_code(&app, &b, &b_code, None).await, 3600);
        // From another address the right code goes through.
        let (s, _, body) = activation_code(&app, &b, &b_code, Some("192.0.2.44")).await;
        assert_eq!(s, 200, "{body}");
        assert_eq!(rate_limited_metric(&app, "activation").await, 1.0);
        assert_eq!(rate_limited_metric(&app, "activation_address").await, 1.0);
    }

    async fn answers_are_limited_per_device(backend) {
        let app = App::spawn_with(backend, config(3600, |l| l.answer_device = Some(3))).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, _) = app
            .admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"numberMatching": "off", "loginRequestLimit": 0, "pushEnrollmentMode": "multiple"}})))
            .await;
        assert_eq!(s, 200);
        let (_, _, qr) = activation(&app, &key).await;
        let first = Authenticator::activate(&qr, "1234", &ActivateOptions::default()).await.unwrap();
        let (_, _, qr) = activation(&app, &key).await;
        let second = Authenticator::activate(&qr, "1234", &ActivateOptions::default()).await.unwrap();
        fresh_window(3600, 30_000).await;
        let id = push_login(&app, &key).await;
        // The first device's three answers are taken (the first decides), the fourth refused.
        let replies = approve(&first, &id, 4).await;
        assert_eq!(replies[0], (200, "Accept".to_owned()), "{replies:?}");
        assert!(replies[1..3].iter().all(|r| r.0 == 409), "{replies:?}");
        assert_eq!(replies[3], (429, "rate_limited".to_owned()), "{replies:?}");
        // The second device, from the same address, answers its own login.
        let id = push_login(&app, &key).await;
        assert_eq!(approve(&second, &id, 1).await, [(200, "Accept".to_owned())]);
        assert_eq!(rate_limited_metric(&app, "answer_device").await, 1.0);
        let audited = refusals_audited(&app).await;
        assert_eq!(audited.len(), 1, "{audited:?}");
        assert!(audited[0]["actor"].as_str().unwrap().starts_with("device:"), "{:?}", audited[0]);
    }

    async fn the_window_ends_and_requests_go_through_again(backend) {
        let app = App::spawn_with(backend, config(2, |l| l.integration_address = Some(2))).await;
        let key = app.tenant_with_alice("example.com").await;
        fresh_window(2, 1500).await;
        for _ in 0..2 {
            assert_eq!(get(&app, USER, &key, None).await.0, 200);
        }
        let r = get(&app, USER, &key, None).await;
        refused(&r, 2);
        tokio::time::sleep(Duration::from_secs(r.1.unwrap())).await;
        let (s, _, b) = get(&app, USER, &key, None).await;
        assert_eq!(s, 200, "{b}");
    }

    async fn a_burst_at_once_gets_exactly_the_budget_through(backend) {
        const BUDGET: usize = 7;
        const BURST: usize = 40;
        let app = App::spawn_with(backend, config(3600, |l| l.integration_address = Some(BUDGET as u32))).await;
        let key = app.tenant_with_alice("example.com").await;
        fresh_window(3600, 60_000).await;
        let app = Arc::new(app);
        let barrier = Arc::new(tokio::sync::Barrier::new(BURST));
        let tasks: Vec<_> = (0..BURST)
            .map(|_| {
                let (app, key, barrier) = (app.clone(), key.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    get(&app, USER, &key, None).await
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap().0);
        }
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), BUDGET, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 429).count(), BURST - BUDGET, "{statuses:?}");
        assert_eq!(refusals_audited(&app).await.len(), 1);
    }
}

/// Two server processes on one PostgreSQL schema share one budget: requests to both,
/// one after the other and then at once, get exactly the budget through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_sharing_postgres_share_the_budget() {
    let env = [
        ("COUNTERSIGN_LIMITS_ENABLED", "true"),
        ("COUNTERSIGN_LIMITS_WINDOW_SECONDS", "3600"),
        ("COUNTERSIGN_LIMITS_API_KEY", "30"),
        ("COUNTERSIGN_TRUSTED_PROXIES", "127.0.0.1/32"),
    ];
    let a = Served::start_with(Backend::Postgres, &env).await;
    let b = a.start_beside(&env).await;
    let key = a.tenant_with_alice().await;
    fresh_window(3600, 60_000).await;
    let client = reqwest::Client::new();
    let send = |base: String, i: usize| {
        let (client, key) = (client.clone(), key.clone());
        async move {
            // A different address each time: only the key's budget is shared.
            let req = client
                .get(format!("{base}{USER}"))
                .bearer_auth(&key)
                .header("x-forwarded-for", format!("10.1.{}.{}", i / 200, i % 200));
            answer(req).await
        }
    };
    // Ten to each, one after the other: all taken.
    for i in 0..20 {
        let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
        let (s, _, body) = send(base, i).await;
        assert_eq!(s, 200, "{body}");
    }
    // Thirty at once across both: the ten left go through.
    let barrier = Arc::new(tokio::sync::Barrier::new(30));
    let tasks: Vec<_> = (20..50)
        .map(|i| {
            let base = if i % 2 == 0 { a.base.clone() } else { b.base.clone() };
            let (barrier, fut) = (barrier.clone(), send(base, i));
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        if r.0 == 429 {
            refused(&r, 3600);
        }
        statuses.push(r.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 20, "{statuses:?}");
    for base in [&a.base, &b.base] {
        refused(&send(base.clone(), 99).await, 3600);
    }
    b.stop().await;
    a.stop().await;
}
