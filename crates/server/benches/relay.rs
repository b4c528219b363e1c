//! `cargo bench -p countersign --bench relay`: what the relay adds (docs/gateway.md). The
//! real server runs in-process on a fresh SQLite database as a site of an in-process
//! relay (TLS site link on loopback); the same device-signed mobile call is driven
//! directly and through the relay, sequentially (latency) and 32 at once (throughput).
//!
//! Figures and the machine they came from are kept in docs/benchmarks.md.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use countersign::config::{RawConfig, RawRelay};
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_core::admin::{CreateKey, CreateTenant, CreateUser};
use countersign_gateway::relay::{Relay, RelayConfig};
use countersign_gateway::sites::{SITES_FILE, Sites};
use serde_json::{Value, json};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn report(name: &str, mut samples: Vec<Duration>, wall: Duration) -> f64 {
    samples.sort();
    let rate = samples.len() as f64 / wall.as_secs_f64();
    println!(
        "{name:<34} {:>6} ops  {:>8.0} ops/s  p50 {:>7.2} ms  p99 {:>7.2} ms  max {:>7.2} ms",
        samples.len(),
        rate,
        percentile(&samples, 0.50).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().unwrap().as_secs_f64() * 1e3,
    );
    percentile(&samples, 0.50).as_secs_f64() * 1e3
}

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

/// A CA and a `localhost` certificate it signed: (CA PEM, certificate PEM, key PEM).
fn certificates() -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose};
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, "bench CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".to_owned()]).unwrap().signed_by(&key, &ca).unwrap();
    (ca.pem(), leaf.pem(), key.serialize_pem())
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key_pem) = certificates();
    let mut sites = Sites::default();
    let credential = sites.add("bench").unwrap();
    sites.save(&dir.path().join(SITES_FILE)).unwrap();
    std::fs::write(dir.path().join("credential"), &credential).unwrap();
    std::fs::write(dir.path().join("ca.pem"), &ca).unwrap();

    // The relay.
    let mobile = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let site_port = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let relay_base = format!("http://{}", mobile.local_addr().unwrap());
    let site_addr = site_port.local_addr().unwrap();
    let relay = Relay::new(RelayConfig {
        sites_file: dir.path().join(SITES_FILE),
        site_tls: countersign_gateway::link::server_tls(cert.as_bytes(), key_pem.as_bytes(), &[]).unwrap(),
        mobile_tls: None,
        heartbeat: Duration::from_secs(5),
        request_timeout: Duration::from_secs(30),
        body_limit_bytes: 65536,
        rate_per_minute: 0,
        clock: Arc::new(countersign_core::SystemClock),
        notifier: None,
    })
    .unwrap();
    let (_stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(relay.clone().run(mobile, site_port, None, stop_rx));

    // The site: the real server, announcing the relay's address, linked to it.
    let store = countersign::open_store(&format!("sqlite://{}", dir.path().join("bench.db").display())).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let direct = format!("http://{}", listener.local_addr().unwrap());
    let via_relay = format!("{relay_base}/g/bench");
    let core = countersign::core_for(store, &via_relay).unwrap();
    let raw = RawConfig {
        log_level: Some("error".into()),
        gateway_id: Some("bench".into()),
        // Measures the relay, not the request limits.
        limits: Some(countersign::config::RawLimits::off()),
        relay: Some(RawRelay {
            url: Some(format!("https://{site_addr}")),
            server_name: Some("localhost".into()),
            credential_file: Some(dir.path().join("credential").display().to_string()),
            ca_file: Some(dir.path().join("ca.pem").display().to_string()),
            connections: Some(1),
            ..Default::default()
        }),
        ..Default::default()
    };
    let config = raw.validate().unwrap();
    let server_core = core.clone();
    tokio::spawn(async move { countersign::serve_on(listener, server_core, &config, std::future::pending()).await });
    for _ in 0..100 {
        if relay.links().get("bench").copied().unwrap_or(0) > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(relay.links().contains_key("bench"), "the site did not link");

    let domain = "bench.example".to_owned();
    let settings = countersign_core::TenantSettings {
        push_enrollment_mode: countersign_core::PushEnrollmentMode::Multiple,
        ..Default::default()
    };
    core.create_tenant(CreateTenant { domain: domain.clone(), settings: Some(settings) }).await.unwrap();
    let user: CreateUser = serde_json::from_value(json!({"userID": "alice"})).unwrap();
    core.create_user(&domain, user).await.unwrap();
    let key = core.create_api_key(&domain, CreateKey { name: "bench".into() }).await.unwrap().secret;
    let client = reqwest::Client::new();
    let mut relayed = Vec::new();
    for _ in 0..8 {
        let r = client
            .post(format!("{direct}/v1/users/alice@{domain}/activations"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        let a: Value = r.json().await.unwrap();
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default())
            .await
            .unwrap();
        relayed.push(auth);
    }
    let directs: Vec<Authenticator> = relayed
        .iter()
        .map(|a| {
            let mut d = a.clone();
            d.state.server = direct.clone();
            d
        })
        .collect();
    println!("countersign relay bench: {}; device-signed GET /mobile/v1/requests", env!("CARGO_PKG_VERSION"));

    let mut p50 = Vec::new();
    for (name, devices) in [("direct", directs), ("through the relay", relayed)] {
        let devices = Arc::new(devices);
        for (total, conc) in [(2_000, 1), (10_000, 32)] {
            let d = devices.clone();
            let (lat, wall) = drive(total, conc, move |i| {
                let d = d.clone();
                async move {
                    d[i % d.len()].pending().await.unwrap();
                }
            })
            .await;
            p50.push(report(&format!("{name} ({conc} conc.)"), lat, wall));
        }
    }
    println!(
        "added by the relay at p50: {:.2} ms sequential, {:.2} ms at 32 concurrent",
        p50[2] - p50[0],
        p50[3] - p50[1]
    );
}
