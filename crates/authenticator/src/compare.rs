//! `countersign-compare`: countersign and privacyIDEA side by side, driven by one client
//! (docs/benchmarks.md, "Side by side with privacyIDEA"; `scripts/compare-privacyidea.sh`
//! sets both servers up and runs this). Both servers run on this machine; the same HTTP
//! client, at the same concurrency, makes equivalent calls:
//!
//! - `password`: a static password checked with Argon2id. countersign: the login call
//!   naming a `static_password` type, then the login call with the password (two calls,
//!   the API's only way to log in with a static password); privacyIDEA: `/validate/check`
//!   for a user whose only token is a `spass` token with the password as its PIN.
//! - `hotp`: fresh correct HOTP codes (RFC 4226, the same computation for both), one
//!   worker per token. countersign: the login call with `otp`; privacyIDEA:
//!   `/validate/check` for a user whose only token is an HOTP token.
//!
//! Every answer is checked ("wrong" counts anything but an acceptance). The servers' CPU
//! (utime + stime of each process and its descendants, from /proc) is read before and
//! after each measured run; their resident memory (summed the same way) is sampled during
//! it. One table of both, with countersign/privacyIDEA ratios, is printed at the end.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::{Value, json};

#[derive(Parser, Debug)]
#[command(name = "countersign-compare", about = "Measure countersign and privacyIDEA side by side")]
struct Args {
    /// countersign's base URL.
    #[arg(long, default_value = "http://127.0.0.1:18480")]
    countersign: String,
    /// An admin token of that countersign server.
    #[arg(long, env = "COUNTERSIGN_ADMIN_TOKEN")]
    admin_token: String,
    /// countersign's process ID.
    #[arg(long)]
    countersign_pid: u32,
    /// privacyIDEA's base URL.
    #[arg(long, default_value = "http://127.0.0.1:18481")]
    privacyidea: String,
    /// A privacyIDEA administrator.
    #[arg(long, default_value = "admin")]
    pi_admin: String,
    /// That administrator's password.
    #[arg(long, env = "COMPARE_PI_ADMIN_PASSWORD")]
    pi_password: String,
    /// The privacyIDEA realm holding the users `pw0…` and `otp0…`.
    #[arg(long, default_value = "bench")]
    pi_realm: String,
    /// privacyIDEA's process ID (the gunicorn master: its workers are counted with it).
    #[arg(long)]
    privacyidea_pid: u32,
    /// Users of each kind (`pwN`, `otpN`): at least the larger concurrency.
    #[arg(long, default_value_t = 16)]
    users: usize,
    /// Concurrency of the static-password scenario.
    #[arg(long, default_value_t = 4)]
    password_concurrency: usize,
    /// Concurrency of the HOTP scenario (one worker per token).
    #[arg(long, default_value_t = 16)]
    hotp_concurrency: usize,
    /// Seconds measured per scenario and server.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds of unmeasured warm-up before each measured run.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Clock ticks per second of /proc/<pid>/stat (`getconf CLK_TCK`).
    #[arg(long, default_value_t = 100)]
    clk_tck: u64,
    /// Seconds to wait for both servers to answer.
    #[arg(long, default_value_t = 120)]
    wait: u64,
}

/// The static password of every `pwN` user, on both servers.
const PASSWORD: &str = "correct horse battery staple";

#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Countersign,
    PrivacyIdea,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Server::Countersign => "countersign",
            Server::PrivacyIdea => "privacyIDEA",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Password,
    Hotp,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Password => "static password",
            Scenario::Hotp => "HOTP check",
        }
    }
}

struct Ctx {
    http: reqwest::Client,
    cs: String,
    domain: String,
    key: String,
    pi: String,
    realm: String,
    seeds: Vec<Vec<u8>>,
    /// Next HOTP counter of each token, per server.
    cs_counters: Vec<AtomicU64>,
    pi_counters: Vec<AtomicU64>,
}

#[path = "bench.rs"]
mod bench;
use bench::{Auth, Res, call, hotp, must};

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

/// `(ppid, utime + stime in clock ticks)` from the text of `/proc/<pid>/stat`. The command
/// name (field 2) is in parentheses and may itself hold spaces and parentheses: the
/// fields are counted from the last `)`.
fn parse_stat(stat: &str) -> Option<(u32, u64)> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state (3), ppid (4), …, utime (14), stime (15).
    let ppid = f.get(1)?.parse().ok()?;
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some((ppid, utime + stime))
}

/// `root` and all its descendants, from every process's parent in /proc.
fn process_tree(root: u32) -> Vec<u32> {
    let mut parent = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc") {
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if let Some((ppid, _)) =
                std::fs::read_to_string(format!("/proc/{pid}/stat")).ok().as_deref().and_then(parse_stat)
            {
                parent.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parent.iter().filter(|(_, pp)| *pp == p).map(|(c, _)| *c));
        i += 1;
    }
    tree
}

/// CPU ticks used so far by `root` and its descendants.
fn cpu_ticks(root: u32) -> u64 {
    process_tree(root)
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter_map(|s| parse_stat(&s).map(|(_, t)| t))
        .sum()
}

/// Resident memory of `root` and its descendants, KiB.
fn rss_kib(root: u32) -> u64 {
    process_tree(root).into_iter().filter_map(bench::vm_rss_kib).sum()
}

async fn wait_for(http: &reqwest::Client, url: &str, seconds: u64) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        match http.get(url).send().await {
            Ok(_) => return Ok(()),
            Err(e) if Instant::now() > deadline => return Err(format!("{url} does not answer: {e}")),
            Err(_) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
}

async fn setup_countersign(args: &Args, http: &reqwest::Client, seeds: &[Vec<u8>]) -> Res<(String, String)> {
    let cs = args.countersign.trim_end_matches('/');
    let admin_header = format!("Bearer {}", args.admin_token);
    let admin = Auth::Header(&admin_header);
    let mut tag = [0u8; 6];
    getrandom::fill(&mut tag).map_err(|e| e.to_string())?;
    let domain = format!("compare-{}.example", hex(&tag));
    let t = format!("{cs}/admin/v1/tenants/{domain}");
    must(http, "POST", &format!("{cs}/admin/v1/tenants"), admin, Some(json!({"domain": domain}))).await?;
    must(http, "PATCH", &t, admin, Some(json!({"settings": {"loginRequestLimit": 0}}))).await?;
    let key = must(http, "POST", &format!("{t}/api-keys"), admin, Some(json!({"name": "compare"}))).await?["key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    must(http, "PUT", &format!("{t}/auth-types/password"), admin, Some(json!({"method": "static_password"}))).await?;
    let mut csv = String::from("serial,type,seed_hex,digits,period_or_counter,algorithm\n");
    for (i, seed) in seeds.iter().enumerate() {
        for user in [format!("pw{i}"), format!("otp{i}")] {
            must(http, "POST", &format!("{t}/users"), admin, Some(json!({"userID": user}))).await?;
        }
        must(
            http,
            "PUT",
            &format!("{t}/users/pw{i}/static-password"),
            admin,
            Some(json!({"password": PASSWORD, "graceDays": 30})),
        )
        .await?;
        csv.push_str(&format!("CMP-{i:06},hotp,{},6,0,SHA1\n", hex(seed)));
    }
    must(http, "POST", &format!("{t}/tokens/import"), admin, Some(json!({"format": "csv", "data": csv}))).await?;
    let mut after: Option<String> = None;
    loop {
        let q = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
        let page = must(http, "GET", &format!("{t}/tokens?limit=500{q}"), admin, None).await?;
        for tok in page["items"].as_array().cloned().unwrap_or_default() {
            let serial = tok["serial"].as_str().unwrap_or("");
            let Some(i) = serial.strip_prefix("CMP-").and_then(|n| n.parse::<usize>().ok()) else { continue };
            let id = tok["tokenID"].as_str().unwrap_or("");
            let body = Some(json!({"userID": format!("otp{i}")}));
            must(http, "PUT", &format!("{t}/tokens/{id}/user"), admin, body).await?;
        }
        match page["nextAfter"].as_str() {
            Some(a) => after = Some(a.to_owned()),
            None => break,
        }
    }
    Ok((domain, format!("Bearer {key}")))
}

async fn setup_privacyidea(args: &Args, http: &reqwest::Client, seeds: &[Vec<u8>]) -> Res<()> {
    let pi = args.privacyidea.trim_end_matches('/');
    let auth = must(
        http,
        "POST",
        &format!("{pi}/auth"),
        Auth::None,
        Some(json!({"username": args.pi_admin, "password": args.pi_password})),
    )
    .await?;
    let jwt = auth["result"]["value"]["token"].as_str().unwrap_or_default().to_owned();
    let realm = &args.pi_realm;
    for (i, seed) in seeds.iter().enumerate() {
        let tokens = [
            json!({"type": "spass", "serial": format!("CMP-SPASS-{i}"), "pin": PASSWORD,
                   "user": format!("pw{i}"), "realm": realm}),
            json!({"type": "hotp", "serial": format!("CMP-HOTP-{i}"), "otpkey": hex(seed), "genkey": 0,
                   "otplen": 6, "hashlib": "sha1", "user": format!("otp{i}"), "realm": realm}),
        ];
        for t in tokens {
            let v = must(http, "POST", &format!("{pi}/token/init"), Auth::Header(&jwt), Some(t)).await?;
            if v["result"]["status"] != true {
                return Err(format!("privacyIDEA /token/init: {v}"));
            }
        }
    }
    Ok(())
}

/// One operation; whether the answer was the expected acceptance.
async fn op(c: &Ctx, server: Server, scenario: Scenario, w: usize) -> Res<bool> {
    match (server, scenario) {
        (Server::Countersign, Scenario::Password) => {
            let url = format!("{}/v1/users/pw{w}@{}/login", c.cs, c.domain);
            let body = json!({"passKey": "password", "sessionID": "S", "timeout": 0});
            let (s, v) = call(&c.http, "POST", &url, Auth::Header(&c.key), Some(body)).await?;
            let Some(id) = v["requestID"].as_str().filter(|_| s == 200 && v["sessionStatus"] == "Pending") else {
                return Err(format!("start: {s} {v}"));
            };
            let body = json!({"requestID": id, "sessionID": "S", "passKey": PASSWORD});
            let (s, v) = call(&c.http, "POST", &url, Auth::Header(&c.key), Some(body)).await?;
            accepted(s == 200 && v["sessionStatus"] == "Accept", s, &v)
        }
        (Server::Countersign, Scenario::Hotp) => {
            let code = hotp(&c.seeds[w], c.cs_counters[w].fetch_add(1, Ordering::Relaxed));
            let url = format!("{}/v1/users/otp{w}@{}/login", c.cs, c.domain);
            let (s, v) =
                call(&c.http, "POST", &url, Auth::Header(&c.key), Some(json!({"passKey": "totp", "otp": code})))
                    .await?;
            accepted(s == 200 && v["sessionStatus"] == "Accept", s, &v)
        }
        (Server::PrivacyIdea, _) => {
            let (user, pass) = match scenario {
                Scenario::Password => (format!("pw{w}"), PASSWORD.to_owned()),
                Scenario::Hotp => {
                    (format!("otp{w}"), hotp(&c.seeds[w], c.pi_counters[w].fetch_add(1, Ordering::Relaxed)))
                }
            };
            let body = json!({"user": user, "realm": c.realm, "pass": pass});
            let (s, v) = call(&c.http, "POST", &format!("{}/validate/check", c.pi), Auth::None, Some(body)).await?;
            accepted(s == 200 && v["result"]["authentication"] == "ACCEPT" && v["result"]["value"] == true, s, &v)
        }
    }
}

fn accepted(ok: bool, status: u16, v: &Value) -> Res<bool> {
    if ok { Ok(true) } else { Err(format!("{status} {v}")) }
}

/// One row of the table.
struct Row {
    scenario: Scenario,
    server: Server,
    concurrency: usize,
    throughput: f64,
    p50: Duration,
    p99: Duration,
    cpu_ms_per_op: f64,
    rss_kib: u64,
    wrong: u64,
}

/// `concurrency` workers making operations for `seconds`: the sorted latencies of the
/// right answers, and the number of wrong ones.
async fn run(
    c: &Arc<Ctx>,
    server: Server,
    scenario: Scenario,
    concurrency: usize,
    seconds: u64,
) -> (Vec<Duration>, u64) {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let wrong = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for w in 0..concurrency {
        let (c, wrong) = (c.clone(), wrong.clone());
        set.spawn(async move {
            let mut lat = Vec::new();
            while Instant::now() < deadline {
                let t0 = Instant::now();
                match op(&c, server, scenario, w).await {
                    Ok(_) => lat.push(t0.elapsed()),
                    Err(e) => {
                        if wrong.fetch_add(1, Ordering::Relaxed) < 3 {
                            eprintln!("countersign-compare: {} {}: wrong answer: {e}", server.name(), scenario.name());
                        }
                    }
                }
            }
            lat
        });
    }
    let mut all = Vec::new();
    while let Some(r) = set.join_next().await {
        all.extend(r.unwrap_or_default());
    }
    all.sort();
    (all, wrong.load(Ordering::Relaxed))
}

async fn measure(c: &Arc<Ctx>, args: &Args, server: Server, scenario: Scenario, concurrency: usize, pid: u32) -> Row {
    if args.warmup > 0 {
        run(c, server, scenario, concurrency, args.warmup).await;
    }
    let peak = Arc::new(AtomicU64::new(rss_kib(pid)));
    let sampler = {
        let peak = peak.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_millis(250)).await;
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
            }
        })
    };
    let ticks0 = cpu_ticks(pid);
    let t0 = Instant::now();
    let (lat, wrong) = run(c, server, scenario, concurrency, args.seconds).await;
    let secs = t0.elapsed().as_secs_f64();
    let ticks = cpu_ticks(pid).saturating_sub(ticks0);
    sampler.abort();
    let at = |q: f64| {
        lat.get(((lat.len() as f64 * q) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or_default()
    };
    let n = lat.len().max(1) as f64;
    Row {
        scenario,
        server,
        concurrency,
        throughput: lat.len() as f64 / secs,
        p50: at(0.5),
        p99: at(0.99),
        cpu_ms_per_op: ticks as f64 * 1000.0 / args.clk_tck.max(1) as f64 / n,
        rss_kib: peak.load(Ordering::Relaxed),
        wrong,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 { format!("{:.2}×", a / b) } else { "–".to_owned() }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::from(
        "| scenario | server | concurrency | throughput | p50 | p99 | CPU per op | RSS | wrong |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in rows {
        out.push_str(&format!(
            "| {} | {} | {} | {:.1}/s | {} | {} | {:.2} ms | {:.1} MiB | {} |\n",
            r.scenario.name(),
            r.server.name(),
            r.concurrency,
            r.throughput,
            ms(r.p50),
            ms(r.p99),
            r.cpu_ms_per_op,
            r.rss_kib as f64 / 1024.0,
            r.wrong
        ));
        if r.server == Server::PrivacyIdea
            && let Some(cs) = rows.iter().find(|o| o.scenario == r.scenario && o.server == Server::Countersign)
        {
            out.push_str(&format!(
                "| {} | countersign/privacyIDEA | | {} | {} | {} | {} | {} | |\n",
                r.scenario.name(),
                ratio(cs.throughput, r.throughput),
                ratio(cs.p50.as_secs_f64(), r.p50.as_secs_f64()),
                ratio(cs.p99.as_secs_f64(), r.p99.as_secs_f64()),
                ratio(cs.cpu_ms_per_op, r.cpu_ms_per_op),
                ratio(cs.rss_kib as f64, r.rss_kib as f64)
            ));
        }
    }
    out
}

async fn main_inner(args: Args) -> Res<()> {
    let http = reqwest::Client::builder().pool_max_idle_per_host(1024).build().map_err(|e| e.to_string())?;
    let users = args.users.max(args.password_concurrency).max(args.hotp_concurrency);
    let (cs, pi) =
        (args.countersign.trim_end_matches('/').to_owned(), args.privacyidea.trim_end_matches('/').to_owned());
    wait_for(&http, &format!("{cs}/"), args.wait).await?;
    wait_for(&http, &format!("{pi}/"), args.wait).await?;
    let mut seeds = Vec::new();
    for _ in 0..users {
        let mut seed = vec![0u8; 20];
        getrandom::fill(&mut seed).map_err(|e| e.to_string())?;
        seeds.push(seed);
    }
    let (domain, key) = setup_countersign(&args, &http, &seeds).await.map_err(|e| format!("countersign setup: {e}"))?;
    setup_privacyidea(&args, &http, &seeds).await.map_err(|e| format!("privacyIDEA setup: {e}"))?;
    let c = Arc::new(Ctx {
        http,
        cs,
        domain,
        key,
        pi,
        realm: args.pi_realm.clone(),
        cs_counters: (0..users).map(|_| AtomicU64::new(0)).collect(),
        pi_counters: (0..users).map(|_| AtomicU64::new(0)).collect(),
        seeds,
    });
    let mut rows = Vec::new();
    // HOTP first: the memory that Argon2 leaves behind in a server would otherwise be
    // counted in the HOTP scenario's RSS.
    for (scenario, conc) in [(Scenario::Hotp, args.hotp_concurrency), (Scenario::Password, args.password_concurrency)] {
        for (server, pid) in [(Server::Countersign, args.countersign_pid), (Server::PrivacyIdea, args.privacyidea_pid)]
        {
            let row = measure(&c, &args, server, scenario, conc, pid).await;
            eprintln!(
                "countersign-compare: {} {}: {:.1}/s, {} wrong",
                scenario.name(),
                server.name(),
                row.throughput,
                row.wrong
            );
            rows.push(row);
        }
    }
    print!("{}", table(&rows));
    Ok(())
}

#[tokio::main]
async fn main() {
    if let Err(e) = main_inner(Args::parse()).await {
        eprintln!("countersign-compare: {e}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        // A gunicorn worker's name holds spaces and parentheses.
        let stat = "4242 (gunicorn: worker [privacyidea.app:create_app()]) S 4200 4200 4200 0 -1 4194560 \
                    9000 0 0 0 1234 56 0 0 20 0 1 0 777 123456 7890 18446744073709551615";
        assert_eq!(parse_stat(stat), Some((4200, 1290)));
        assert_eq!(parse_stat("1 (init) S"), None);
        assert_eq!(parse_stat("no parenthesis"), None);
    }
}
