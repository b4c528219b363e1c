//! `countersign-load`: drives a running countersign server — local or remote — as relying
//! parties and phones would, and prints throughput and latency (docs/benchmarks.md,
//! "Load generator"). It makes a tenant of its own (an admin token is needed), users, an
//! API key, and activates one reference authenticator per user; then runs:
//!
//! - `push`: the push login full cycle — start (asynchronous), the device fetches the
//!   request and approves it (a signed answer), the relying party reads the outcome —
//!   at each concurrency given;
//! - `waiters`: that many synchronous logins waiting at once, each on a connection of its
//!   own (a minimal HTTP/1.1 client, so that 100,000 fit in the generator; spread over
//!   `--source-addresses` loopback addresses past 25,000): the server's RSS per waiter
//!   (with `--pid`), `/healthz` latency while they wait, then approval-to-answer latency
//!   as they are all approved;
//! - `hotp`: token checks with fresh correct codes (HOTP tokens imported with known
//!   seeds, one per user), at each concurrency;
//! - `password`: static-password logins (start a type of method `static_password`, then answer with the password: two
//!   calls and one Argon2id verification each), at each concurrency, naming the Argon2id
//!   cost the server hashed the passwords with;
//!
//! and reports the activation throughput of its own setup.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(name = "countersign-load", about = "Drive a running countersign server and measure it")]
struct Args {
    /// The server's base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// An admin token of that server.
    #[arg(long, env = "COUNTERSIGN_ADMIN_TOKEN")]
    admin_token: String,
    /// The server's process ID, to report its resident memory (same machine only).
    #[arg(long)]
    pid: Option<u32>,
    /// Users (each with an authenticator and an HOTP token).
    #[arg(long, default_value_t = 64)]
    users: usize,
    /// What to run: push, waiters, hotp, password (comma-separated).
    #[arg(long, default_value = "push,waiters,hotp,password")]
    scenarios: String,
    /// Concurrencies for push and hotp (comma-separated).
    #[arg(long, default_value = "1,16,256")]
    concurrency: String,
    /// Seconds per measured step.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Synchronous logins held waiting at once in `waiters` (comma-separated for several
    /// rounds, e.g. 10000,100000).
    #[arg(long, default_value = "1000")]
    waiters: String,
    /// Loopback source addresses the waiters' connections come from (127.0.0.1, .2, …):
    /// one address has about 28,000 ephemeral ports. Loopback servers only.
    #[arg(long, default_value_t = 1)]
    source_addresses: u8,
}

/// The static password every load user gets.
const PASSWORD: &str = "load generator password 1";

struct Setup {
    http: reqwest::Client,
    server: String,
    domain: String,
    key: String,
    devices: Vec<Authenticator>,
    seeds: Vec<Vec<u8>>,
}

#[path = "bench.rs"]
mod bench;
use bench::{Auth::Bearer, Res, call, hotp, must};

fn rss_kib(pid: Option<u32>) -> Option<u64> {
    bench::vm_rss_kib(pid?)
}

/// Latencies, for percentiles.
#[derive(Default)]
struct Samples(std::sync::Mutex<Vec<Duration>>);

impl Samples {
    fn add(&self, d: Duration) {
        if let Ok(mut v) = self.0.lock() {
            v.push(d);
        }
    }
    fn summary(&self) -> (usize, Duration, Duration, Duration) {
        let mut v = self.0.lock().map(|v| v.clone()).unwrap_or_default();
        v.sort();
        let at =
            |q: f64| v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1))).copied().unwrap_or_default();
        (v.len(), at(0.5), at(0.99), v.last().copied().unwrap_or_default())
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

async fn setup(args: &Args, http: reqwest::Client) -> Res<Setup> {
    let server = args.server.trim_end_matches('/').to_owned();
    let admin = args.admin_token.as_str();
    let mut tag = [0u8; 6];
    getrandom::fill(&mut tag).map_err(|e| e.to_string())?;
    let domain = format!("load-{}.example", tag.iter().map(|b| format!("{b:02x}")).collect::<String>());
    must(&http, "POST", &format!("{server}/admin/v1/tenants"), Bearer(admin), Some(json!({"domain": domain}))).await?;
    must(
        &http,
        "PATCH",
        &format!("{server}/admin/v1/tenants/{domain}"),
        Bearer(admin),
        Some(json!({"settings": {"numberMatching": "off", "loginRequestLimit": 0}})),
    )
    .await?;
    let key = must(
        &http,
        "POST",
        &format!("{server}/admin/v1/tenants/{domain}/api-keys"),
        Bearer(admin),
        Some(json!({"name": "load"})),
    )
    .await?["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut seeds = Vec::new();
    let mut csv = String::from("serial,type,seed_hex,digits,period_or_counter,algorithm\n");
    for i in 0..args.users {
        must(
            &http,
            "POST",
            &format!("{server}/admin/v1/tenants/{domain}/users"),
            Bearer(admin),
            Some(json!({"userID": format!("u{i}")})),
        )
        .await?;
        let mut seed = vec![0u8; 20];
        getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
        csv.push_str(&format!(
            "LOAD-{i:06},hotp,{},6,0,SHA1\n",
            seed.iter().map(|b| format!("{b:02x}")).collect::<String>()
        ));
        seeds.push(seed);
    }
    // A static password per user (usable alone: a grace period in exclusive mode).
    // (Only when measured: each Argon2id hash takes 19 MiB for a moment, which glibc
    // keeps until the server's next housekeeping pass and would skew the waiters' RSS.)
    let mut state = Value::Null;
    let passwords = if args.scenarios.contains("password") { args.users } else { 0 };
    if passwords > 0 {
        let ty = json!({"method": "static_password"});
        must(&http, "PUT", &format!("{server}/admin/v1/tenants/{domain}/auth-types/password"), Bearer(admin), Some(ty))
            .await?;
    }
    for i in 0..passwords {
        state = must(
            &http,
            "PUT",
            &format!("{server}/admin/v1/tenants/{domain}/users/u{i}/static-password"),
            Bearer(admin),
            Some(json!({"password": PASSWORD, "graceDays": 30})),
        )
        .await?;
    }
    let cost = &state["hashCost"];
    if passwords > 0 {
        println!(
            "setup: static passwords hashed with Argon2id m={} KiB, t={}, p={}",
            cost["memoryKib"], cost["iterations"], cost["parallelism"]
        );
    }
    // One HOTP token per user.
    must(
        &http,
        "POST",
        &format!("{server}/admin/v1/tenants/{domain}/tokens/import"),
        Bearer(admin),
        Some(json!({"format": "csv", "data": csv})),
    )
    .await?;
    let mut after: Option<String> = None;
    loop {
        let q = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let page =
            must(&http, "GET", &format!("{server}/admin/v1/tenants/{domain}/tokens?limit=500{q}"), Bearer(admin), None)
                .await?;
        for t in page["items"].as_array().cloned().unwrap_or_default() {
            let serial = t["serial"].as_str().unwrap_or("");
            let Some(i) = serial.strip_prefix("LOAD-").and_then(|n| n.parse::<usize>().ok()) else { continue };
            let id = t["tokenID"].as_str().unwrap_or("");
            must(
                &http,
                "PUT",
                &format!("{server}/admin/v1/tenants/{domain}/tokens/{id}/user"),
                Bearer(admin),
                Some(json!({"userID": format!("u{i}")})),
            )
            .await?;
        }
        match page["nextAfter"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    // One authenticator per user, activated 16 at a time.
    let started = Instant::now();
    let mut devices: Vec<Option<Authenticator>> = (0..args.users).map(|_| None).collect();
    for chunk in (0..args.users).collect::<Vec<_>>().chunks(16) {
        let mut set = tokio::task::JoinSet::new();
        for &i in chunk {
            let (http, server, domain, key) = (http.clone(), server.clone(), domain.clone(), key.clone());
            set.spawn(async move {
                let a =
                    must(&http, "POST", &format!("{server}/v1/users/u{i}@{domain}/activations"), Bearer(&key), None)
                        .await?;
                let qr = a["qrPayload"].as_str().unwrap_or_default().to_owned();
                let d =
                    Authenticator::activate(&qr, "1234", &ActivateOptions { biometric: false, ..Default::default() })
                        .await
                        .map_err(|e| e.to_string())?;
                Ok::<_, String>((i, d))
            });
        }
        while let Some(r) = set.join_next().await {
            let (i, d) = r.map_err(|e| e.to_string())??;
            devices[i] = Some(d);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "setup: {} users; activations {:.1}/s (16 at a time, 4 round trips each)",
        args.users,
        args.users as f64 / secs
    );
    Ok(Setup { http, server, domain, key, devices: devices.into_iter().flatten().collect(), seeds })
}

async fn push(s: &Arc<Setup>, concurrency: usize, seconds: u64) {
    let samples = Arc::new(Samples::default());
    let (ok, wrong) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (s, samples, ok, wrong) = (s.clone(), samples.clone(), ok.clone(), wrong.clone());
        set.spawn(async move {
            let user = w % s.devices.len();
            let url = format!("{}/v1/users/u{user}@{}/login", s.server, s.domain);
            while Instant::now() < deadline {
                let t0 = Instant::now();
                let outcome = async {
                    let out =
                        must(&s.http, "POST", &url, Bearer(&s.key), Some(json!({"passKey": "push", "timeout": 0})))
                            .await?;
                    let id = out["requestID"].as_str().unwrap_or_default().to_owned();
                    s.devices[user]
                        .respond(&id, &Answer { approve: true, ..Default::default() })
                        .await
                        .map_err(|e| e.to_string())?;
                    let st =
                        must(&s.http, "GET", &format!("{}/v1/sessions/{id}", s.server), Bearer(&s.key), None).await?;
                    Ok::<_, String>(st["sessionStatus"] == "Accept")
                }
                .await;
                match outcome {
                    Ok(true) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        samples.add(t0.elapsed());
                    }
                    _ => {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    report(
        "push login cycle",
        concurrency,
        seconds,
        &samples,
        ok.load(Ordering::Relaxed),
        wrong.load(Ordering::Relaxed),
    );
}

async fn hotp_checks(s: &Arc<Setup>, concurrency: usize, seconds: u64, counters: &Arc<Vec<AtomicU64>>) {
    let samples = Arc::new(Samples::default());
    let (ok, wrong) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut set = tokio::task::JoinSet::new();
    // One worker per token at most: a token's codes are used in order.
    for w in 0..concurrency.min(s.seeds.len()) {
        let (s, samples, ok, wrong, counters) =
            (s.clone(), samples.clone(), ok.clone(), wrong.clone(), counters.clone());
        set.spawn(async move {
            let url = format!("{}/v1/users/u{w}@{}/login", s.server, s.domain);
            while Instant::now() < deadline {
                let counter = counters[w].fetch_add(1, Ordering::Relaxed);
                let code = hotp(&s.seeds[w], counter);
                let t0 = Instant::now();
                match call(&s.http, "POST", &url, Bearer(&s.key), Some(json!({"passKey": "totp", "otp": code}))).await {
                    Ok((200, v)) if v["sessionStatus"] == "Accept" => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        samples.add(t0.elapsed());
                    }
                    _ => {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    let c = concurrency.min(s.seeds.len());
    report("HOTP check", c, seconds, &samples, ok.load(Ordering::Relaxed), wrong.load(Ordering::Relaxed));
}

async fn password_logins(s: &Arc<Setup>, concurrency: usize, seconds: u64) {
    let samples = Arc::new(Samples::default());
    let (ok, wrong) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut set = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (s, samples, ok, wrong) = (s.clone(), samples.clone(), ok.clone(), wrong.clone());
        set.spawn(async move {
            let user = w % s.seeds.len();
            let url = format!("{}/v1/users/u{user}@{}/login", s.server, s.domain);
            let mut n = 0u64;
            while Instant::now() < deadline {
                n += 1;
                let session_id = format!("load-{w}-{n}");
                let t0 = Instant::now();
                let outcome = async {
                    let start = json!({"passKey": "password", "sessionID": session_id, "timeout": 0});
                    let out = must(&s.http, "POST", &url, Bearer(&s.key), Some(start)).await?;
                    let id = out["requestID"].as_str().unwrap_or_default();
                    let answer = json!({"requestID": id, "sessionID": session_id, "passKey": PASSWORD});
                    let done = must(&s.http, "POST", &url, Bearer(&s.key), Some(answer)).await?;
                    Ok::<_, String>(done["sessionStatus"] == "Accept")
                }
                .await;
                match outcome {
                    Ok(true) => {
                        ok.fetch_add(1, Ordering::Relaxed);
                        samples.add(t0.elapsed());
                    }
                    _ => {
                        wrong.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    report(
        "static-password login (2 calls)",
        concurrency,
        seconds,
        &samples,
        ok.load(Ordering::Relaxed),
        wrong.load(Ordering::Relaxed),
    );
}

async fn waiters(s: &Arc<Setup>, n: usize, sources: u8, pid: Option<u32>) -> Res<()> {
    let target = raw::Target::of(&s.server)?;
    let before = rss_kib(pid);
    let answered = Arc::new(answers::Answered::default());
    let failed = Arc::new(AtomicUsize::new(0));
    // Connections are opened at most 256 at a time (the listen backlog is finite).
    let connecting = Arc::new(tokio::sync::Semaphore::new(256));
    let mut set = tokio::task::JoinSet::new();
    for w in 0..n {
        let (s, answered, failed, connecting, target) =
            (s.clone(), answered.clone(), failed.clone(), connecting.clone(), target.clone());
        let source = std::net::Ipv4Addr::new(127, 0, 0, 1 + (w % usize::from(sources.max(1))) as u8);
        set.spawn(async move {
            let user = w % s.devices.len();
            let path = format!("/v1/users/u{user}@{}/login", s.domain);
            let body = json!({"passKey": "push", "timeout": 3600}).to_string();
            let permit = connecting.acquire().await;
            let r = target.post(source, &path, &s.key, &body, permit.ok()).await;
            let at = Instant::now();
            match r {
                Ok((200, v)) => answered.add(
                    v["requestID"].as_str().unwrap_or_default().to_owned(),
                    v["sessionStatus"] == "Accept",
                    at,
                ),
                other => {
                    if failed.fetch_add(1, Ordering::Relaxed) < 3 {
                        eprintln!("waiters: a login failed: {other:?}");
                    }
                }
            }
        });
    }
    // Wait until every login is pending on the server (its pending-sessions gauge).
    let t0 = Instant::now();
    let mut last = 0;
    loop {
        let pending = pending_sessions(s).await.unwrap_or(0);
        if pending >= n as u64 || failed.load(Ordering::Relaxed) > 0 {
            break;
        }
        if pending == last && t0.elapsed() > Duration::from_secs(60) {
            return Err(format!("only {pending} of {n} logins are pending"));
        }
        last = pending;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ready = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let during = rss_kib(pid);
    // The health probe while they wait.
    let health = Samples::default();
    for _ in 0..200 {
        let t = Instant::now();
        if let Ok(r) = s.http.get(format!("{}/healthz", s.server)).send().await
            && r.status().is_success()
        {
            health.add(t.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Approve all, noting when each answer was accepted by the server.
    let approved = Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let mut approvals = tokio::task::JoinSet::new();
    let approving = Instant::now();
    for d in &s.devices {
        let (d, approved) = (d.clone(), approved.clone());
        approvals.spawn(async move {
            for r in d.pending().await.unwrap_or_default() {
                if d.respond(&r.request_id, &Answer { approve: true, ..Default::default() }).await.is_ok()
                    && let Ok(mut m) = approved.lock()
                {
                    m.insert(r.request_id.clone(), Instant::now());
                }
            }
        });
    }
    while approvals.join_next().await.is_some() {}
    let approve_secs = approving.elapsed().as_secs_f64();
    while set.join_next().await.is_some() {}
    let after = rss_kib(pid);
    let samples = Samples::default();
    let (mut ok, mut wrong) = (0u64, 0u64);
    let approved = approved.lock().map(|m| m.clone()).unwrap_or_default();
    for (id, accepted, at) in answered.take() {
        match approved.get(&id) {
            Some(t) if accepted => {
                ok += 1;
                samples.add(at.saturating_duration_since(*t));
            }
            _ => wrong += 1,
        }
    }
    wrong += failed.load(Ordering::Relaxed) as u64;
    let (count, p50, p99, max) = samples.summary();
    println!("waiters: {n} synchronous logins held (all pending after {:.1} s)", ready.as_secs_f64());
    let (hn, h50, h99, hmax) = health.summary();
    println!("waiters: /healthz while they wait ({hn} probes): p50 {} p99 {} max {}", ms(h50), ms(h99), ms(hmax));
    println!(
        "waiters: approved in {approve_secs:.1} s; approval-to-answer {count} answered: p50 {} p99 {} max {}; correct {ok}, wrong {wrong}",
        ms(p50),
        ms(p99),
        ms(max)
    );
    if let (Some(b), Some(d), Some(a)) = (before, during, after) {
        println!(
            "waiters: server RSS {b} KiB before, {d} KiB while waiting ({:.1} KiB per waiter), {a} KiB after",
            (d.saturating_sub(b)) as f64 / n as f64
        );
    }
    Ok(())
}

/// The server's `countersign_sessions_pending` gauge.
async fn pending_sessions(s: &Setup) -> Option<u64> {
    let text = s.http.get(format!("{}/metrics", s.server)).send().await.ok()?.text().await.ok()?;
    text.lines().find_map(|l| l.strip_prefix("countersign_sessions_pending ")).and_then(|v| v.trim().parse().ok())
}

#[path = "load_raw.rs"]
mod raw;

/// Answers of the waiting logins, as they come.
mod answers {
    use std::time::Instant;

    #[derive(Default)]
    pub struct Answered(std::sync::Mutex<Vec<(String, bool, Instant)>>);

    impl Answered {
        pub fn add(&self, id: String, accepted: bool, at: Instant) {
            if let Ok(mut v) = self.0.lock() {
                v.push((id, accepted, at));
            }
        }
        pub fn take(&self) -> Vec<(String, bool, Instant)> {
            self.0.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
        }
    }
}

fn report(what: &str, concurrency: usize, seconds: u64, samples: &Samples, ok: u64, wrong: u64) {
    let (n, p50, p99, max) = samples.summary();
    println!(
        "{what}: c={concurrency}: {:.1}/s ({n} in {seconds} s); p50 {} p99 {} max {}; correct {ok}, wrong {wrong}",
        n as f64 / seconds as f64,
        ms(p50),
        ms(p99),
        ms(max)
    );
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).build().unwrap_or_default();
    let s = match setup(&args, http).await {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("countersign-load: setup failed: {e}");
            std::process::exit(1);
        }
    };
    let conc: Vec<usize> = args.concurrency.split(',').filter_map(|c| c.trim().parse().ok()).collect();
    let counters: Arc<Vec<AtomicU64>> = Arc::new((0..s.seeds.len()).map(|_| AtomicU64::new(0)).collect());
    println!("server RSS: {} KiB", rss_kib(args.pid).map_or("unknown (no --pid)".to_owned(), |k| k.to_string()));
    for scenario in args.scenarios.split(',').map(str::trim) {
        match scenario {
            "push" => {
                for &c in &conc {
                    push(&s, c, args.seconds).await;
                }
            }
            "hotp" => {
                for &c in &conc {
                    hotp_checks(&s, c, args.seconds, &counters).await;
                }
            }
            "password" => {
                for &c in &conc {
                    password_logins(&s, c, args.seconds).await;
                }
            }
            "waiters" => {
                for n in args.waiters.split(',').filter_map(|n| n.trim().parse::<usize>().ok()) {
                    if let Err(e) = waiters(&s, n, args.source_addresses, args.pid).await {
                        eprintln!("countersign-load: waiters: {e}");
                    }
                }
            }
            other => eprintln!("countersign-load: unknown scenario {other}"),
        }
    }
    println!("server RSS at the end: {} KiB", rss_kib(args.pid).map_or("unknown".to_owned(), |k| k.to_string()));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn raw_responses_are_read() {
        let r = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 13\r\n\r\n{\"a\":\"Acc\"}";
        let (status, v) = raw::parse(r).unwrap();
        assert_eq!((status, v["a"].as_str()), (200, Some("Acc")));
        assert!(raw::parse(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(raw::Target::of("https://example.com").is_err());
        assert!(raw::Target::of("http://127.0.0.1:8080/").is_ok());
    }

    #[test]
    fn hotp_matches_rfc_4226() {
        let seed = b"12345678901234567890";
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (i, e) in expected.iter().enumerate() {
            assert_eq!(hotp(seed, i as u64), *e);
        }
    }
}
