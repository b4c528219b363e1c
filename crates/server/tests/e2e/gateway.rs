//! The gateway topology of seed 000 (docs/gateway.md) with separate processes on
//! loopback: `countersign relay`, `countersign serve` as sites that dial it (through a
//! test "cable" that can be cut), and the reference authenticator that knows only the
//! relay's address; and `countersign gateway` in front of a server.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::peers::{TestCa, test_ca};
use crate::common::{code, read};
use base64::Engine;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_countersign");
const ADMIN: &str = "csa_gatewaytestadmintoken0000000000000000";

fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.current_dir(dir).env_remove("RUST_LOG").stderr(Stdio::null()).kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("COUNTERSIGN_") {
            c.env_remove(k);
        }
    }
    // Request limits off unless a test sets them (docs/security.md, "Request limits").
    c.env("COUNTERSIGN_LIMITS_ENABLED", "false");
    c
}

/// Start `cmd` and return it with the first standard-output line starting with `prefix`.
async fn start(mut cmd: Command, prefix: &str) -> (Child, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.starts_with(prefix) {
                return line;
            }
        }
        panic!("the process exited before printing {prefix:?}");
    })
    .await
    .expect("no start within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, line)
}

/// The word after `label ` in `line`, without its scheme.
fn addr_after(line: &str, label: &str) -> String {
    let word = line.split(&format!("{label} ")).nth(1).unwrap().split(' ').next().unwrap();
    word.split("://").nth(1).unwrap().to_owned()
}

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

struct Relay {
    child: Child,
    dir: tempfile::TempDir,
    mobile: String,
    sites: String,
    metrics: String,
    ca: TestCa,
}

impl Relay {
    async fn start(extra: &[&str]) -> Relay {
        Relay::start_in(tempfile::tempdir().unwrap(), extra).await
    }

    async fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Relay {
        let ca = test_ca();
        std::fs::write(dir.path().join("relay.pem"), pem("CERTIFICATE", &ca.cert)).unwrap();
        std::fs::write(dir.path().join("relay.key"), pem("PRIVATE KEY", &ca.key)).unwrap();
        std::fs::write(dir.path().join("ca.pem"), &ca.ca_pem).unwrap();
        let mut cmd = command(dir.path());
        cmd.args(["relay", "--data-dir", "data", "serve", "--listen", "127.0.0.1:0", "--site-listen", "127.0.0.1:0"])
            .args(["--metrics-listen", "127.0.0.1:0", "--tls-cert", "relay.pem", "--tls-key", "relay.key"])
            .args(["--mobile-plain", "--heartbeat-seconds", "1"])
            .args(extra);
        let (child, line) = start(cmd, "countersign relay: ").await;
        let (mobile, sites, metrics) =
            (addr_after(&line, "mobile"), addr_after(&line, "sites"), addr_after(&line, "metrics"));
        Relay { child, dir, mobile, sites, metrics, ca }
    }

    /// `countersign relay site <args>`: its standard output.
    async fn site(&self, args: &[&str]) -> String {
        let out =
            command(self.dir.path()).args(["relay", "--data-dir", "data", "site"]).args(args).output().await.unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    }

    /// A new site's credential.
    async fn add(&self, gateway: &str) -> String {
        let out = self.site(&["add", gateway]).await;
        out.trim().strip_prefix("site credential: ").unwrap().to_owned()
    }

    async fn metrics(&self) -> String {
        reqwest::get(format!("http://{}/metrics", self.metrics)).await.unwrap().text().await.unwrap()
    }

    /// Request `path` on the mobile port with optional X-CS-Gateway.
    async fn get(&self, path: &str, gateway: Option<&str>) -> (u16, Value) {
        let mut req = reqwest::Client::new().get(format!("http://{}{path}", self.mobile));
        if let Some(g) = gateway {
            req = req.header("x-cs-gateway", g);
        }
        read(req.send().await.unwrap()).await
    }
}

/// A TCP "cable" between a site and the relay's site port, which the test can cut.
struct Cable {
    addr: SocketAddr,
    cut: Arc<AtomicBool>,
    freeze: tokio::sync::watch::Sender<bool>,
    conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Cable {
    async fn to(target: String) -> Cable {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (freeze, frozen) = tokio::sync::watch::channel(false);
        let (c, k) = (cut.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else { return };
                if c.load(Ordering::SeqCst) {
                    continue; // dropped: the site's dial fails
                }
                let (target, mut frozen) = (target.clone(), frozen.clone());
                frozen.mark_unchanged();
                k.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(target).await {
                        tokio::select! {
                            _ = tokio::io::copy_bidirectional(&mut inbound, &mut out) => {}
                            // Frozen: nothing passes, but both connections stay open.
                            _ = frozen.changed() => std::future::pending::<()>().await,
                        }
                    }
                }));
            }
        });
        Cable { addr, cut, freeze, conns }
    }

    /// Open connections go silent (a dead link that no one closed); new ones pass.
    fn freeze(&self) {
        self.freeze.send_modify(|v| *v = !*v);
    }

    fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for t in self.conns.lock().unwrap().drain(..) {
            t.abort();
        }
    }

    fn mend(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}

/// A `countersign serve` site of the relay, reached by the test only for the integration
/// and admin APIs (the app never connects to it).
struct Site {
    child: Child,
    _dir: tempfile::TempDir,
    base: String,
    client: reqwest::Client,
}

impl Site {
    async fn start(relay: &Relay, gateway: &str, credential: &str, dial: SocketAddr) -> Site {
        Site::start_with(relay, gateway, credential, dial, "").await
    }

    async fn start_with(relay: &Relay, gateway: &str, credential: &str, dial: SocketAddr, extra: &str) -> Site {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("credential"), credential).unwrap();
        std::fs::write(dir.path().join("ca.pem"), &relay.ca.ca_pem).unwrap();
        let config = format!(
            "listen = \"127.0.0.1:0\"\npublic_url = \"http://{}/g/{gateway}\"\ngateway_id = \"{gateway}\"\n\
             [relay]\nurl = \"https://{dial}\"\nserver_name = \"localhost\"\ncredential_file = \"credential\"\n\
             ca_file = \"ca.pem\"\nheartbeat_seconds = 1\n{extra}",
            relay.mobile
        );
        std::fs::write(dir.path().join("site.toml"), config).unwrap();
        let mut cmd = command(dir.path());
        cmd.args(["serve", "--config", "site.toml"]).env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", ADMIN);
        let (child, line) = start(cmd, "countersign: listening on ").await;
        let base = line.strip_prefix("countersign: listening on ").unwrap().split(' ').next().unwrap().to_owned();
        Site { child, _dir: dir, base, client: reqwest::Client::new() }
    }

    async fn call(&self, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    /// Tenant `bank.example` with alice; an API key.
    async fn tenant(&self) -> String {
        let (s, b) = self.call("POST", "/admin/v1/tenants", ADMIN, Some(json!({"domain": "bank.example"}))).await;
        assert_eq!(s, 201, "{b}");
        let user = json!({"userID": "alice", "email": "alice@bank.example", "phone": "+15550100", "locale": "en"});
        let (s, b) = self.call("POST", "/admin/v1/tenants/bank.example/users", ADMIN, Some(user)).await;
        assert_eq!(s, 201, "{b}");
        let settings = json!({"settings": {"numberMatching": false}});
        let (s, b) = self.call("PATCH", "/admin/v1/tenants/bank.example", ADMIN, Some(settings)).await;
        assert_eq!(s, 200, "{b}");
        let (s, k) =
            self.call("POST", "/admin/v1/tenants/bank.example/api-keys", ADMIN, Some(json!({"name": "rp"}))).await;
        assert_eq!(s, 201, "{k}");
        k["key"].as_str().unwrap().to_owned()
    }

    async fn activation(&self, key: &str) -> String {
        let (s, a) = self.call("POST", "/v1/users/alice@bank.example/activations", key, None).await;
        assert_eq!(s, 201, "{a}");
        a["qrPayload"].as_str().unwrap().to_owned()
    }

    async fn login(&self, key: &str, body: Value) -> Value {
        let (s, out) = self.call("POST", "/v1/users/alice@bank.example/login", key, Some(body)).await;
        assert_eq!(s, 200, "{out}");
        out
    }

    async fn status(&self, key: &str, id: &str) -> String {
        let (_, st) = self.call("GET", &format!("/v1/sessions/{id}"), key, None).await;
        st["sessionStatus"].as_str().unwrap_or("").to_owned()
    }
}

/// Until `f` holds (within `secs`).
async fn until<F: AsyncFn() -> bool>(secs: u64, what: &str, f: F) {
    let end = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("not within {secs} s: {what}");
}

async fn linked(relay: &Relay, gateway: &str) -> bool {
    relay.metrics().await.contains(&format!("countersign_relay_links{{gateway=\"{gateway}\"}} "))
}

async fn wait_pending(auth: &Authenticator) -> countersign_proto::messages::PendingRequest {
    for _ in 0..100 {
        if let Some(r) = auth.pending().await.unwrap().into_iter().next() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pending request arrived");
}

/// Seed 000 end to end: activation, push login with PIN, a synchronous login and QR login,
/// all through the relay; the site's link cut mid-run; the relay's metrics.
#[tokio::test]
async fn the_app_reaches_an_on_premises_site_only_through_the_relay() {
    let relay = Relay::start(&[]).await;
    let credential = relay.add("bank-a").await;
    let cable = Cable::to(relay.sites.clone()).await;
    let site = Site::start(&relay, "bank-a", &credential, cable.addr).await;
    until(15, "the site links to the relay", async || linked(&relay, "bank-a").await).await;
    let key = site.tenant().await;

    // Activation: the QR payload names the relay, never the site.
    let qr = site.activation(&key).await;
    let site_port = site.base.rsplit(':').next().unwrap().to_owned();
    assert!(qr.contains(&format!("127.0.0.1%3A{}%2Fg%2Fbank-a", relay.mobile.rsplit(':').next().unwrap())), "{qr}");
    assert!(!qr.contains(&format!("%3A{site_port}&")) && !qr.contains(&format!("%3A{site_port}%2F")), "{qr}");
    let auth = Authenticator::activate(&qr, "1234", &ActivateOptions::default()).await.unwrap();
    assert_eq!(auth.state.gateway_id.as_deref(), Some("bank-a"), "the confirmation names the site's gateway");
    assert_eq!(auth.state.server, format!("http://{}/g/bank-a", relay.mobile));
    auth.register_push("poll", None).await.unwrap();

    // Push login with PIN (asynchronous), fetched and answered through the relay.
    let out = site.login(&key, json!({"passKey": "PIN", "timeout": 0, "loginMessage": "Pay 10 EUR?"})).await;
    let id = out["requestID"].as_str().unwrap().to_owned();
    let req = wait_pending(&auth).await;
    assert_eq!((req.request_id.as_str(), req.message.as_str()), (id.as_str(), "Pay 10 EUR?"));
    let wrong =
        auth.respond(&id, &Answer { approve: true, pin: Some("0000"), ..Default::default() }).await.unwrap_err();
    assert_eq!(wrong.code(), Some("wrong_pin"));
    let r = auth.respond(&id, &Answer { approve: true, pin: Some("1234"), ..Default::default() }).await.unwrap();
    assert_eq!(r.session_status, "Accept");
    assert_eq!(site.status(&key, &id).await, "Accept");

    // A synchronous login: the relying party waits while the app answers via the relay.
    let waiting = {
        let (base, key) = (site.base.clone(), key.clone());
        tokio::spawn(async move {
            let body = json!({"passKey": "NoPIN", "timeout": 20});
            let url = format!("{base}/v1/users/alice@bank.example/login");
            read(reqwest::Client::new().post(url).bearer_auth(key).json(&body).send().await.unwrap()).await
        })
    };
    let req = wait_pending(&auth).await;
    auth.respond(&req.request_id, &Answer { approve: true, ..Default::default() }).await.unwrap();
    let (s, out) = tokio::time::timeout(Duration::from_secs(10), waiting).await.unwrap().unwrap();
    assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

    // QR login: the portal's code claimed through the relay.
    let (s, q) = site.call("POST", "/v1/qr-logins", &key, Some(json!({}))).await;
    assert_eq!(s, 201, "{q}");
    let claimed = auth.claim(q["qrPayload"].as_str().unwrap()).await.unwrap();
    assert_eq!(claimed.session_status, "Accept");
    assert_eq!(site.status(&key, q["requestID"].as_str().unwrap()).await, "Accept");

    // The link is cut with a login pending: requests get the clear error at once...
    let out = site.login(&key, json!({"passKey": "push", "timeout": 0})).await;
    let pending = out["requestID"].as_str().unwrap().to_owned();
    cable.cut();
    until(10, "the relay notices the cut", async || !linked(&relay, "bank-a").await).await;
    let asked = Instant::now();
    let e = auth.pending().await.unwrap_err();
    assert_eq!(e.code(), Some("site_unavailable"), "{e}");
    assert!(asked.elapsed() < Duration::from_secs(1), "refused at once, not after a timeout");
    // ...and after the site redials, the pending login completes.
    cable.mend();
    until(15, "the site redials", async || linked(&relay, "bank-a").await).await;
    let req = wait_pending(&auth).await;
    assert_eq!(req.request_id, pending);
    auth.respond(&pending, &Answer { approve: true, ..Default::default() }).await.unwrap();
    assert_eq!(site.status(&key, &pending).await, "Accept");

    // A link that goes silent without closing is found dead by the heartbeats (1 s here)
    // within seconds; the site redials and requests flow again.
    let links_before = relay.metrics().await;
    cable.freeze();
    let frozen_at = Instant::now();
    until(10, "the relay drops the silent link", async || !linked(&relay, "bank-a").await).await;
    assert!(frozen_at.elapsed() < Duration::from_secs(6), "found dead in {:?}", frozen_at.elapsed());
    until(20, "the site redials", async || linked(&relay, "bank-a").await).await;
    assert!(auth.pending().await.unwrap().is_empty());
    assert!(links_before.contains("countersign_relay_links{gateway=\"bank-a\"} 1"), "{links_before}");

    // FIDO UAF: the one UAF call of the mobile API (the trusted facets a UAF client checks
    // the app ID against) comes through the relay as it does directly; UAF messages
    // themselves travel with the relying party, not over the mobile API.
    let fido = json!({"rpID": "bank.example", "origins": ["https://bank.example"],
        "uaf": {"appID": "https://bank.example/uaf/facets.json", "facetIDs": ["https://app.bank.example"], "acceptedAaids": ["ABCD#0001"]}});
    let (s, b) = site.call("PUT", "/admin/v1/tenants/bank.example/fido", ADMIN, Some(fido)).await;
    assert_eq!(s, 200, "{b}");
    let path = "/mobile/v1/tenants/bank.example/uaf/trusted-facets";
    let (s, relayed) = relay.get(&format!("/g/bank-a{path}"), None).await;
    let (_, direct) = site.call("GET", path, "", None).await;
    assert_eq!((s, &relayed), (200, &direct));
    assert_eq!(relayed["trustedFacets"][0]["ids"], json!(["https://app.bank.example"]));

    // Only the mobile API is carried: the admin and integration APIs are not reachable.
    let (s, b) = relay.get("/g/bank-a/admin/v1/tenants", None).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    let (s, b) = relay.get("/g/bank-a/mobile/v1/../../admin/v1/tenants", None).await;
    assert_eq!(s, 404, "{b}");

    let m = relay.metrics().await;
    assert!(m.contains("countersign_relay_sites_connected 1"), "{m}");
    assert!(m.contains("countersign_relay_requests_total{gateway=\"bank-a\",status=\"2xx\"}"), "{m}");
    assert!(m.contains("countersign_relay_request_seconds_count{gateway=\"bank-a\"}"), "{m}");
    assert!(m.contains("countersign_relay_errors_total{code=\"site_unavailable\"} 1"), "{m}");
    drop((site, relay));
}

/// Two sites with the same tenant and user stay apart; forged and mixed gateway IDs, a
/// site claiming another's ID, and a revoked site are refused; rotation keeps the link.
#[tokio::test]
async fn sites_stay_apart_and_only_their_own_credential_opens_their_gateway_id() {
    let relay = Relay::start(&[]).await;
    let (cred_a, cred_b) = (relay.add("bank-a").await, relay.add("bank-b").await);
    let relay_sites: SocketAddr = relay.sites.parse().unwrap();
    let a = Site::start_with(&relay, "bank-a", &cred_a, relay_sites, "connections = 2\n").await;
    let b = Site::start(&relay, "bank-b", &cred_b, relay_sites).await;
    // A third process claims bank-a's ID with bank-b's credential: never linked.
    let thief = Site::start(&relay, "bank-a", &cred_b, relay_sites).await;
    until(15, "both sites link", async || {
        relay.metrics().await.contains("countersign_relay_links{gateway=\"bank-a\"} 2")
            && linked(&relay, "bank-b").await
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let m = relay.metrics().await;
    assert!(m.contains("countersign_relay_links{gateway=\"bank-a\"} 2"), "the real bank-a's two links only: {m}");
    assert!(m.contains("countersign_relay_errors_total{code=\"hello_bad_credential\"}"), "{m}");
    drop(thief);

    let (key_a, key_b) = (a.tenant().await, b.tenant().await);
    let auth_a =
        Authenticator::activate(&a.activation(&key_a).await, "1234", &ActivateOptions::default()).await.unwrap();
    let auth_b =
        Authenticator::activate(&b.activation(&key_b).await, "1234", &ActivateOptions::default()).await.unwrap();
    assert_eq!(auth_a.state.user_id, auth_b.state.user_id);
    assert_eq!(auth_a.state.domain, auth_b.state.domain);
    let id_b =
        b.login(&key_b, json!({"passKey": "push", "timeout": 0})).await["requestID"].as_str().unwrap().to_owned();
    // Each device sees only its own site's requests.
    assert!(auth_a.pending().await.unwrap().is_empty());
    assert_eq!(wait_pending(&auth_b).await.request_id, id_b);

    // A device of bank-a that sends its requests to bank-b's gateway ID is unknown there.
    let mut forged = auth_a.clone();
    forged.state.server = format!("http://{}/g/bank-b", relay.mobile);
    forged.state.gateway_id = Some("bank-b".into());
    let e = forged.pending().await.unwrap_err();
    assert!(matches!(e, countersign_authenticator::Error::Server { status: 401, .. }), "{e}");
    // Path and header disagreeing, an unknown ID, or no ID at all: refused by the relay.
    forged.state.server = format!("http://{}/g/bank-a", relay.mobile);
    assert_eq!(forged.pending().await.unwrap_err().code(), Some("gateway_mismatch"));
    assert_eq!(code(&relay.get("/mobile/v1/requests", Some("bank-zz")).await.1), "unknown_gateway");
    assert_eq!(code(&relay.get("/mobile/v1/requests", None).await.1), "no_gateway");
    // The header alone routes too.
    let mut by_header = auth_b.clone();
    by_header.state.server = format!("http://{}", relay.mobile);
    assert_eq!(by_header.pending().await.unwrap()[0].request_id, id_b);

    // Rotation: a new credential, the link stays up.
    let rotated = relay.site(&["rotate", "bank-a", "--grace-seconds", "0"]).await;
    assert!(rotated.starts_with("site credential: csr_"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(auth_a.pending().await.is_ok(), "the open link survives rotation");

    // Revocation cuts bank-b at once; its app gets a clear refusal.
    relay.site(&["revoke", "bank-b"]).await;
    until(5, "bank-b is cut", async || !linked(&relay, "bank-b").await).await;
    assert_eq!(auth_b.pending().await.unwrap_err().code(), Some("site_revoked"));
    assert!(auth_a.pending().await.is_ok(), "bank-a is untouched");
    let list = relay.site(&["list"]).await;
    assert!(list.contains("bank-b\trevoked"), "{list}");
    drop((a, b, relay));
}

/// `countersign gateway` forwards only the mobile API, bounds bodies and rates per address.
#[tokio::test]
async fn the_gateway_forwards_the_mobile_api_with_size_and_rate_limits() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", ADMIN);
    let (_server, line) = start(cmd, "countersign: listening on ").await;
    let upstream = line.strip_prefix("countersign: listening on ").unwrap().split(' ').next().unwrap().to_owned();
    let mut cmd = command(dir.path());
    cmd.args(["gateway", "--listen", "127.0.0.1:0", "--upstream", &upstream]).args([
        "--body-limit-bytes",
        "2048",
        "--rate-per-minute",
        "20",
    ]);
    let (_gw, line) = start(cmd, "countersign gateway: listening on ").await;
    let gw = line.strip_prefix("countersign gateway: listening on ").unwrap().to_owned();
    let http = reqwest::Client::new();
    let post = |path: &str, body: Vec<u8>| {
        http.post(format!("{gw}{path}")).header("content-type", "application/json").body(body).send()
    };

    // Forwarded: the server's own answer comes back.
    let (s, b) = read(post("/mobile/v1/activations/nope/code", br#"{"code":"X"}"#.to_vec()).await.unwrap()).await;
    assert_eq!(s, 404, "{b}");
    assert_ne!(code(&b), "not_found", "the server's refusal, not the gateway's: {b}");
    // Not the mobile API: refused by the gateway.
    let (s, b) = read(http.get(format!("{gw}/admin/v1/tenants")).bearer_auth(ADMIN).send().await.unwrap()).await;
    assert_eq!((s, code(&b)), (404, "not_found"));
    // Too large.
    let (s, b) = read(post("/mobile/v1/activations/nope/code", vec![b' '; 4096]).await.unwrap()).await;
    assert_eq!((s, code(&b)), (413, "payload_too_large"));
    // The rate: 20 a minute from this address, then 429.
    let mut refused = 0;
    for _ in 0..25 {
        let (s, _) = read(http.get(format!("{gw}/mobile/v1/requests")).send().await.unwrap()).await;
        if s == 429 {
            refused += 1;
        }
    }
    assert!(refused >= 5, "{refused} refused");
}

/// Pushes leave through the notification relay with the relay's credentials: Web Push
/// and APNs to the local test services; the provider's answer comes back to the site's
/// outbox (sent; 410 dead-letters and forgets the token, as for a direct send).
#[tokio::test]
async fn pushes_leave_through_the_notification_relay_with_its_credentials() {
    use crate::common::peers::{Log, header, recorder, serve_plain, serve_tls};
    use countersign_delivery::webpush;
    let dir = tempfile::tempdir().unwrap();
    let wp_log: Log = Arc::default();
    let wp =
        serve_plain(recorder(wp_log.clone(), |n, _| if n == 0 { (201, json!({})) } else { (410, json!({})) })).await;
    let apns_ca = test_ca();
    let apns_log: Log = Arc::default();
    let apns = serve_tls(recorder(apns_log.clone(), |_, _| (200, json!({}))), &apns_ca).await;
    std::fs::write(dir.path().join("providers-ca.pem"), &apns_ca.ca_pem).unwrap();
    let vapid = webpush::VapidKey::generate().unwrap();
    let apns_key = {
        use p256::pkcs8::EncodePrivateKey;
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).unwrap();
        p256::SecretKey::from_slice(&raw).unwrap().to_pkcs8_pem(p256::pkcs8::LineEnding::LF).unwrap().to_string()
    };
    // FCM: an OAuth2 token endpoint and a send endpoint.
    let fcm_log: Log = Arc::default();
    let fcm = serve_plain(recorder(fcm_log.clone(), |_, seen| {
        if seen.path == "/token" {
            return (200, json!({"access_token": "ya29.relay", "expires_in": 3599, "token_type": "Bearer"}));
        }
        if header(seen, "authorization") != "Bearer ya29.relay" {
            return (401, json!({"error": {"status": "UNAUTHENTICATED"}}));
        }
        (200, json!({"name": "projects/bank-app/messages/1"}))
    }))
    .await;
    let rsa_pem = {
        use aws_lc_rs::encoding::AsDer;
        let rsa = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        pem("PRIVATE KEY", AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&rsa).unwrap().as_ref())
    };
    let apps = json!({"countersign-authenticator": {
        "config": {
            "fcm": {"serviceAccount": {"type": "service_account", "project_id": "bank-app", "private_key_id": "key-1",
                                       "private_key": rsa_pem, "client_email": "push@bank-app.iam.gserviceaccount.com",
                                       "token_uri": format!("http://{fcm}/token")},
                    "sendUrl": format!("http://{fcm}/v1/projects/bank-app/messages:send")},
            "webpush": {"subject": "mailto:push@relay.example"},
            "apns": {"teamId": "TEAM123456", "keyId": "KEY1234567", "privateKey": apns_key, "environment": "sandbox",
                     "sandboxUrl": format!("https://127.0.0.1:{}", apns.port())}
        },
        "vapidPrivateKey": base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(vapid.to_bytes()),
    }});
    std::fs::write(dir.path().join("apps.json"), apps.to_string()).unwrap();
    let relay = Relay::start_in(dir, &["--apps", "apps.json", "--provider-ca-file", "providers-ca.pem"]).await;
    let credential = relay.add("bank-a").await;
    let push_url = format!("push_url = \"http://{}/push/v1/send\"\n", relay.mobile);
    let site = Site::start_with(&relay, "bank-a", &credential, relay.sites.parse().unwrap(), &push_url).await;
    until(15, "the site links", async || linked(&relay, "bank-a").await).await;
    let key = site.tenant().await;
    let outbox = async |state: &str| {
        let (s, list) = site.call("GET", &format!("/admin/v1/outbox?state={state}"), ADMIN, None).await;
        let list = list["items"].clone();
        assert_eq!(s, 200, "{list}");
        list.as_array().unwrap().clone()
    };

    // A browser authenticator subscribed with the relay's VAPID key.
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).unwrap();
    let ua = p256::SecretKey::from_slice(&raw).unwrap();
    let ua_public = {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        ua.public_key().to_encoded_point(false).as_bytes().to_vec()
    };
    let mut secret = [0u8; 16];
    getrandom::fill(&mut secret).unwrap();
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let endpoint = format!("http://{wp}/push/sub-1");
    let sub = json!({"endpoint": endpoint, "keys": {"p256dh": b64(&ua_public), "auth": b64(&secret)}});
    let auth =
        Authenticator::activate(&site.activation(&key).await, "1234", &ActivateOptions::default()).await.unwrap();
    auth.register_push("webpush", Some(&sub.to_string())).await.unwrap();
    let body = json!({"passKey": "push", "timeout": 0, "loginMessage": "Transfer 5000 EUR to Mallory?"});
    let id = site.login(&key, body.clone()).await["requestID"].as_str().unwrap().to_owned();
    until(10, "the push is sent", async || outbox("sent").await.len() == 1).await;
    let got = wp_log.lock().unwrap()[0].clone();
    let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis() / 1000;
    let claims = webpush::verify_vapid(&header(&got, "authorization"), &endpoint, now).unwrap();
    assert_eq!(claims.public_key, vapid.public_key_b64(), "signed with the relay's key");
    let plain = webpush::decrypt(&got.body, &ua, &secret).unwrap();
    let reference: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(reference, json!({"requestID": id, "deviceID": auth.state.device_id}), "only the reference");
    // The app fetches the content through the tunnel.
    assert_eq!(wait_pending(&auth).await.message, "Transfer 5000 EUR to Mallory?");

    // The service says the subscription is gone: dead-lettered and forgotten, as direct.
    site.login(&key, body.clone()).await;
    until(10, "the second push is dead", async || outbox("dead").await.len() == 1).await;
    let dead = &outbox("dead").await[0];
    assert!(
        dead["lastError"].as_str().unwrap().contains("404") || dead["lastError"].as_str().unwrap().contains("410"),
        "{dead}"
    );
    let (_, devices) = site.call("GET", "/admin/v1/tenants/bank.example/users/alice/devices", ADMIN, None).await;
    let devices = devices["items"].clone();
    assert_eq!(devices[0]["pushPlatform"], Value::Null, "{devices}");

    // APNs, over HTTP/2 and TLS, with the relay's team key.
    let token = "a1b2c3d4".repeat(8);
    auth.register_push("apns", Some(&token)).await.unwrap();
    let id = site.login(&key, body).await["requestID"].as_str().unwrap().to_owned();
    until(10, "the APNs push is sent", async || outbox("sent").await.len() == 2).await;
    let got = apns_log.lock().unwrap()[0].clone();
    assert_eq!(got.path, format!("/3/device/{token}"));
    assert!(header(&got, "authorization").starts_with("bearer "));
    let sent: Value = serde_json::from_slice(&got.body).unwrap();
    assert_eq!(sent["requestID"].as_str(), Some(id.as_str()));
    assert!(!String::from_utf8_lossy(&got.body).contains("Mallory"), "never the login's content");

    // FCM, with the relay's service account.
    auth.register_push("fcm", Some("fcm-token-1")).await.unwrap();
    let body = json!({"passKey": "push", "timeout": 0, "loginMessage": "Transfer 5000 EUR to Mallory?"});
    let id = site.login(&key, body).await["requestID"].as_str().unwrap().to_owned();
    until(10, "the FCM push is sent", async || outbox("sent").await.len() == 3).await;
    let send = fcm_log.lock().unwrap().iter().find(|s| s.path.ends_with("messages:send")).unwrap().clone();
    let sent: Value = serde_json::from_slice(&send.body).unwrap();
    assert_eq!(sent["message"]["token"], "fcm-token-1");
    assert_eq!(sent["message"]["data"]["requestID"].as_str(), Some(id.as_str()));
    assert!(!String::from_utf8_lossy(&send.body).contains("Mallory"), "never the login's content");

    let m = relay.metrics().await;
    assert!(m.contains("countersign_relay_pushes_total{platform=\"webpush\",outcome=\"sent\"} 1"), "{m}");
    assert!(m.contains("countersign_relay_pushes_total{platform=\"webpush\",outcome=\"gone\"} 1"), "{m}");
    assert!(m.contains("countersign_relay_pushes_total{platform=\"apns\",outcome=\"sent\"} 1"), "{m}");
    assert!(m.contains("countersign_relay_pushes_total{platform=\"fcm\",outcome=\"sent\"} 1"), "{m}");
    // Without the site's credential the notification relay sends nothing.
    let (s, b) = read(
        reqwest::Client::new()
            .post(format!("http://{}/push/v1/send", relay.mobile))
            .header("x-cs-site", "bank-a")
            .bearer_auth("csr_forged.secret")
            .json(&json!({}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((s, code(&b)), (401, "bad_site_credential"));
    drop((site, relay));
}

/// The on-premises site may be a `countersign gateway` in a DMZ that dials the relay and
/// forwards to a server with no relay settings: app → relay → gateway → server.
#[tokio::test]
async fn a_dmz_gateway_can_be_the_site_that_dials_the_relay() {
    let relay = Relay::start(&[]).await;
    let credential = relay.add("dmz").await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("credential"), &credential).unwrap();
    std::fs::write(dir.path().join("ca.pem"), &relay.ca.ca_pem).unwrap();
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--public-url", &format!("http://{}/g/dmz", relay.mobile)])
        .env("COUNTERSIGN_GATEWAY_ID", "dmz")
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", ADMIN);
    let (child, line) = start(cmd, "countersign: listening on ").await;
    let base = line.strip_prefix("countersign: listening on ").unwrap().split(' ').next().unwrap().to_owned();
    let site = Site { child, _dir: tempfile::tempdir().unwrap(), base: base.clone(), client: reqwest::Client::new() };
    let mut cmd = command(dir.path());
    cmd.args(["gateway", "--listen", "127.0.0.1:0", "--upstream", &base])
        .args(["--relay-url", &format!("https://{}", relay.sites), "--gateway-id", "dmz"])
        .args(["--credential-file", "credential", "--relay-ca-file", "ca.pem", "--relay-server-name", "localhost"]);
    let (_gateway, _) = start(cmd, "countersign gateway: listening on ").await;
    until(15, "the gateway links to the relay", async || linked(&relay, "dmz").await).await;

    let key = site.tenant().await;
    let auth =
        Authenticator::activate(&site.activation(&key).await, "1234", &ActivateOptions::default()).await.unwrap();
    assert_eq!(auth.state.gateway_id.as_deref(), Some("dmz"));
    let out = site.login(&key, json!({"passKey": "PIN", "timeout": 0})).await;
    let id = out["requestID"].as_str().unwrap().to_owned();
    assert_eq!(wait_pending(&auth).await.request_id, id);
    auth.respond(&id, &Answer { approve: true, pin: Some("1234"), ..Default::default() }).await.unwrap();
    assert_eq!(site.status(&key, &id).await, "Accept");
    // The gateway still carries only the mobile API, also on the link.
    let (s, b) = relay.get("/g/dmz/mobile/v1/../../admin/v1/tenants", None).await;
    assert_eq!(s, 404, "{b}");
}
