//! `cargo bench -p countersign --bench throughput`: the real server in-process on a
//! fresh database (a temporary SQLite file, or `COUNTERSIGN_BENCH_DATABASE_URL`), driven
//! over loopback HTTP. Prints requests per second and latency percentiles for
//! - the account-state call (API key check + user lookup), and
//! - a complete asynchronous push login: login → the reference authenticator fetches
//!   the request, signs and answers → the relying party reads `Accept`.
//!
//! Figures and the machine they came from are kept in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_core::admin::{CreateKey, CreateTenant, CreateUser};
use serde_json::{Value, json};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>, wall: Duration) {
    samples.sort();
    println!(
        "{name:<28} {:>6} ops  {:>8.0} ops/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        samples.len() as f64 / wall.as_secs_f64(),
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
}

fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// Run `total` operations with `concurrency` workers; per-operation latencies and wall time.
async fn drive<F, Fut>(total: usize, concurrency: usize, op: F) -> (Vec<Duration>, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (op, next) = (op.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    return lat;
                }
                let t = Instant::now();
                op(i).await;
                lat.push(t.elapsed());
            }
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    (all, started.elapsed())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("COUNTERSIGN_BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = countersign::open_store(&url).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let core = countersign::core_for(store, &base).unwrap();
    let config = RawConfig {
        log_level: Some("error".into()),
        // Measures the server, not its request limits (all from 127.0.0.1).
        limits: Some(countersign::config::RawLimits::off()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    let server_core = core.clone();
    tokio::spawn(async move { countersign::serve_on(listener, server_core, &config, std::future::pending()).await });

    let domain = format!("bench-{}.example", std::process::id());
    let settings = countersign_core::TenantSettings {
        push_enrollment_mode: countersign_core::PushEnrollmentMode::Multiple,
        // The bench sends thousands of pushes to one user: no per-user limit.
        login_request_limit: 0,
        ..Default::default()
    };
    core.create_tenant(CreateTenant { domain: domain.clone(), settings: Some(settings) }).await.unwrap();
    let user: CreateUser = serde_json::from_value(json!({"userID": "alice"})).unwrap();
    core.create_user(&domain, user).await.unwrap();
    let key = core.create_api_key(&domain, CreateKey { name: "bench".into() }).await.unwrap().secret;
    let client = reqwest::Client::new();
    println!("countersign throughput bench: {} on {url}", env!("CARGO_PKG_VERSION"));

    // Account state.
    let (c, k, b, d) = (client.clone(), key.clone(), base.clone(), domain.clone());
    let (lat, wall) = drive(20_000, 32, move |_| {
        let (c, k, url) = (c.clone(), k.clone(), format!("{b}/v1/users/alice@{d}"));
        async move {
            let r = c.get(url).bearer_auth(k).send().await.unwrap();
            assert_eq!(r.status(), 200);
            r.bytes().await.unwrap();
        }
    })
    .await;
    report("account state (32 conc.)", lat, wall);

    // Push login round trips, spread over 8 activated devices of one user.
    let mut devices = Vec::new();
    for _ in 0..8 {
        let r =
            client.post(format!("{base}/v1/users/alice@{domain}/activations")).bearer_auth(&key).send().await.unwrap();
        let a: Value = r.json().await.unwrap();
        devices.push(
            Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default())
                .await
                .unwrap(),
        );
    }
    let devices = Arc::new(devices);
    let (c, k, b, d) = (client.clone(), key.clone(), base.clone(), domain.clone());
    let (lat, wall) = drive(2_000, 8, move |i| {
        let (c, k, b, d, devices) = (c.clone(), k.clone(), b.clone(), d.clone(), devices.clone());
        async move {
            let out: Value = c
                .post(format!("{b}/v1/users/alice@{d}/login"))
                .bearer_auth(&k)
                .json(&json!({"passKey": "PIN", "timeout": 0}))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            let id = out["requestID"].as_str().unwrap();
            let number = out["numberToShow"].as_u64().map(|n| n as u8);
            let auth = &devices[i % devices.len()];
            let r = auth
                .respond(id, &Answer { approve: true, pin: Some("1234"), number, ..Default::default() })
                .await
                .unwrap();
            assert_eq!(r.session_status, "Accept");
            let s: Value =
                c.get(format!("{b}/v1/sessions/{id}")).bearer_auth(&k).send().await.unwrap().json().await.unwrap();
            assert_eq!(s["sessionStatus"], "Accept");
        }
    })
    .await;
    report("push login, PIN (8 conc.)", lat, wall);
    println!("peak RSS (server and load generator in one process): {:.1} MiB", peak_rss_mib());
    tokio::time::sleep(Duration::from_millis(50)).await;
}
