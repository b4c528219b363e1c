//! The `countersign` executable as a user runs it: no configuration, flags, environment,
//! offline admin commands, signals.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crate::common::read;
use base64::Engine;
use countersign_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_countersign");

/// The binary with no COUNTERSIGN_* variables from the outside world, run in `dir`.
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

struct Server {
    child: Child,
    base: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl Server {
    /// Start `serve` and read standard output up to the listening line.
    async fn start(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut token = None;
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(t) = line.strip_prefix("admin token: ") {
                    token = Some(t.to_owned());
                }
                if let Some(rest) = line.strip_prefix("countersign: listening on ") {
                    return rest.split(' ').next().unwrap().to_owned();
                }
            }
            panic!("the server exited before listening");
        })
        .await
        .expect("server did not start within 30 s");
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Server { child, base, token, client: reqwest::Client::new() }
    }

    async fn call(&self, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        read(req.send().await.unwrap()).await
    }

    /// SIGTERM, and the exit status within 10 s.
    async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await.expect("no exit after SIGTERM").unwrap()
    }
}

/// The README's flow: tenant, user, API key, account state.
async fn readme_flow(server: &Server, admin: &str) {
    let (s, _) = server.call("POST", "/admin/v1/tenants", admin, Some(json!({"domain": "example.com"}))).await;
    assert_eq!(s, 201);
    let user = json!({"userID": "alice", "email": "alice@example.com", "phone": "+15550100", "locale": "en"});
    let (s, _) = server.call("POST", "/admin/v1/tenants/example.com/users", admin, Some(user)).await;
    assert_eq!(s, 201);
    let (s, k) =
        server.call("POST", "/admin/v1/tenants/example.com/api-keys", admin, Some(json!({"name": "web"}))).await;
    assert_eq!(s, 201);
    let key = k["key"].as_str().unwrap();
    let (s, state) = server.call("GET", "/v1/users/alice@example.com", key, None).await;
    assert_eq!((s, state["status"].as_str(), state["domain"].as_str()), (200, Some("active"), Some("example.com")));
}

#[tokio::test]
async fn serve_with_no_configuration_uses_sqlite_in_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    // Only the port differs from a bare `countersign serve`, so tests can run in parallel.
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::start(cmd).await;
    assert!(server.base.starts_with("http://127.0.0.1:"));
    let token = server.token.clone().expect("the first start prints an admin token");
    assert!(token.starts_with("csa_"));
    assert!(dir.path().join("countersign.db").exists());
    // The master key file is made on first start, readable by the owner only.
    let key_file = dir.path().join("countersign.key");
    let key_text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(key_text.len(), 43, "32 bytes, base64url");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }
    readme_flow(&server, &token).await;
    let status = server.terminate().await;
    assert!(status.success(), "exit after SIGTERM: {status:?}");
    // Closed cleanly: the last connection checkpointed the write-ahead log away.
    assert!(!dir.path().join("countersign.db-wal").exists(), "WAL left behind: database not closed cleanly");

    // A second start keeps the data and prints no new token.
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::start(cmd).await;
    assert_eq!(server.token, None);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), key_text, "the key file is kept");
    let (s, t) = server.call("GET", "/admin/v1/tenants/example.com", &token, None).await;
    assert_eq!((s, t["domain"].as_str()), (200, Some("example.com")));
    assert!(server.terminate().await.success());
}

async fn bootstrap_token_from_environment(backend: Backend) {
    let db = TestDb::new(backend).await;
    let dir = tempfile::tempdir().unwrap();
    let chosen = format!("csa_{}", "b".repeat(40));
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &db.url])
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &chosen);
    let server = Server::start(cmd).await;
    assert_eq!(server.token, None, "a configured token is not printed");
    readme_flow(&server, &chosen).await;
    assert!(server.terminate().await.success());

    // Later starts ignore another bootstrap value: admin tokens exist already.
    let other = format!("csa_{}", "c".repeat(40));
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("COUNTERSIGN_DATABASE_URL", &db.url)
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &other);
    let server = Server::start(cmd).await;
    let (s, _) = server.call("GET", "/admin/v1/tenants", &other, None).await;
    assert_eq!(s, 401);
    let (s, list) = server.call("GET", "/admin/v1/tenants", &chosen, None).await;
    assert_eq!((s, list["items"][0]["domain"].as_str()), (200, Some("example.com")));
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn offline_admin_commands_then_serve_on_postgres() {
    let db = TestDb::new(Backend::Postgres).await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let mut c = command(dir.path());
        c.arg("--database").arg(&db.url).args(args);
        c
    };
    let out = run(&["migrate"]).output().await.unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["admin", "tenant", "create", "example.com"]).output().await.unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("tenant created: example.com"));
    let out = run(&["admin", "tenant", "create", "example.com"]).output().await.unwrap();
    assert!(!out.status.success(), "a second tenant with one domain is refused");
    let out = run(&["admin", "api-key", "create", "example.com", "--name", "batch"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let key = stdout.lines().find_map(|l| l.strip_prefix("api key: ")).unwrap().to_owned();
    let out = run(&["admin", "token", "create"]).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let token = stdout.lines().find_map(|l| l.strip_prefix("admin token: ")).unwrap().to_owned();

    let mut cmd = run(&["serve", "--listen", "127.0.0.1:0"]);
    cmd.arg("--log-format").arg("json");
    let server = Server::start(cmd).await;
    let (s, _) =
        server.call("POST", "/admin/v1/tenants/example.com/users", &token, Some(json!({"userID": "alice"}))).await;
    assert_eq!(s, 201);
    let (s, state) = server.call("GET", "/v1/users/alice@example.com", &key, None).await;
    assert_eq!((s, state["userID"].as_str()), (200, Some("alice")));
    // The key made offline is listed with the name given.
    let (_, keys) = server.call("GET", "/admin/v1/tenants/example.com/api-keys", &token, None).await;
    let keys = keys["items"].clone();
    assert_eq!(keys[0]["name"].as_str(), Some("batch"));
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn configuration_errors_and_help_are_clear() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.toml"), "listen = \"127.0.0.1:0\"\ncolour = \"red\"\n").unwrap();
    let out = command(dir.path()).args(["--config", "bad.toml", "serve"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("colour"));

    let out = command(dir.path()).args(["serve", "--listen", "here"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("listen"));

    let out = command(dir.path())
        .args(["serve"])
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", "short")
        .env("COUNTERSIGN_LISTEN", "127.0.0.1:0")
        .output()
        .await
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN"), "{stderr}");
    assert!(!stderr.contains("short"), "the secret is not echoed");

    let out =
        command(dir.path()).args(["migrate", "--database", "sqlite:///nonexistent-dir/x/y.db"]).output().await.unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open database"));

    // A configuration file is read, and a flag beats it.
    std::fs::write(dir.path().join("good.toml"), "database_url = \"sqlite://from-file.db\"\nlog_format = \"json\"\n")
        .unwrap();
    let out = command(dir.path()).args(["--config", "good.toml", "migrate"]).output().await.unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("from-file.db").exists());
    let out = command(dir.path())
        .args(["--config", "good.toml", "migrate", "--database", "sqlite://from-flag.db"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("from-flag.db").exists());

    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["migrate", "--help"],
        &["admin", "--help"],
        &["admin", "tenant", "create", "--help"],
        &["admin", "api-key", "create", "--help"],
        &["admin", "token", "create", "--help"],
    ] {
        let out = command(dir.path()).args(args).output().await.unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{args:?}: {text}");
    }
    let out = command(dir.path()).args(["serve", "--help"]).output().await.unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN"));
}

/// Nothing secret reaches the logs, even at the most verbose level: not the admin
/// token, not an API key, not a secret sent in the wrong field.
#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let token = format!("csa_{}", "s".repeat(40));
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0", "--log-level", "trace"])
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &token)
        .stderr(std::fs::File::create(&log_path).unwrap());
    let server = Server::start(cmd).await;
    readme_flow(&server, &token).await;
    let (_, k) =
        server.call("POST", "/admin/v1/tenants/example.com/api-keys", &token, Some(json!({"name": "x"}))).await;
    let key = k["key"].as_str().unwrap().to_owned();
    let (s, _) = server.call("GET", "/v1/users/alice@example.com", &key, None).await;
    assert_eq!(s, 200);
    let (s, _) = server.call("GET", "/v1/users/alice@example.com", "csk_wrong-key-hunter2", None).await;
    assert_eq!(s, 401);
    let (s, e) = server
        .call(
            "POST",
            "/admin/v1/tenants/example.com/users",
            &token,
            Some(json!({"userID": "bob", "status": "hunter2-secret"})),
        )
        .await;
    assert_eq!(s, 422);
    assert!(!e.to_string().contains("hunter2"), "the error echoes the value: {e}");
    assert!(server.terminate().await.success());

    let log = std::fs::read_to_string(&log_path).unwrap();
    assert!(log.contains("/v1/users/{user}"), "request logs name the route: {log}");
    for secret in [token.as_str(), key.as_str(), &key[4..], "hunter2"] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

/// The `countersign-authenticator` binary, brought up to date once per test process
/// (cargo does nothing when it is current; a stale binary would test old code).
pub(crate) fn authenticator_bin() -> std::path::PathBuf {
    static BUILT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *BUILT.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        std::process::Command::new(cargo)
            .args(["build", "-p", "countersign-authenticator", "--bin", "countersign-authenticator"])
            .status()
            .is_ok_and(|s| s.success())
    });
    assert!(ok, "cannot build countersign-authenticator");
    Path::new(BIN).with_file_name("countersign-authenticator")
}

/// Run the authenticator CLI in `dir` with the store passphrase `pw`.
async fn run_cli(bin: &Path, dir: &Path, args: &[&str], pw: &str) -> std::process::Output {
    Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("COUNTERSIGN_AUTHENTICATOR_PASSPHRASE", pw)
        .output()
        .await
        .unwrap()
}

/// The CLI activates from a PNG of the QR code, and `listen` receives webhook pushes
/// and auto-approves them.
#[tokio::test]
async fn authenticator_cli_qr_image_and_listen() {
    let dir = tempfile::tempdir().unwrap();
    let token = format!("csa_{}", "l".repeat(40));
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &token);
    let server = Server::start(cmd).await;
    readme_flow(&server, &token).await;
    let (_, k) =
        server.call("POST", "/admin/v1/tenants/example.com/api-keys", &token, Some(json!({"name": "cli"}))).await;
    let key = k["key"].as_str().unwrap().to_owned();
    let (s, _) = server
        .call("PATCH", "/admin/v1/tenants/example.com", &token, Some(json!({"settings": {"numberMatching": false}})))
        .await;
    assert_eq!(s, 200);
    let (_, a) = server.call("POST", "/v1/users/alice@example.com/activations", &key, None).await;
    let id = a["activationID"].as_str().unwrap();
    let png = server
        .client
        .get(format!("{}/v1/activations/{id}/qr.png", server.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    std::fs::write(dir.path().join("qr.png"), png.bytes().await.unwrap()).unwrap();

    let bin = authenticator_bin();
    let out =
        run_cli(&bin, dir.path(), &["--store", "a.json", "activate", "--pin", "2468", "--qr-image", "qr.png"], "pw")
            .await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let mut listen = Command::new(&bin)
        .args(["--store", "a.json", "listen", "--addr", "127.0.0.1:0", "--auto-approve", "--pin", "2468"])
        .current_dir(dir.path())
        .env("COUNTERSIGN_AUTHENTICATOR_PASSPHRASE", "pw")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut errs = BufReader::new(listen.stderr.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(10), errs.next_line()).await.unwrap().unwrap().unwrap();
    assert!(ready.starts_with("listening for pushes on http://127.0.0.1:"), "{ready}");

    let (_, out) = server
        .call("POST", "/v1/users/alice@example.com/login", &key, Some(json!({"passKey": "PIN", "timeout": 15})))
        .await;
    assert_eq!(out["sessionStatus"], "Accept", "the synchronous login was approved by the listener: {out}");
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();
    let push: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(push["requestID"], out["requestID"]);
    let answered: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(answered["sessionStatus"], "Accept");
    listen.kill().await.unwrap();

    // A wrong passphrase cannot unseal the store.
    let out = run_cli(&bin, dir.path(), &["--store", "a.json", "pending"], "not-pw").await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong passphrase"));

    // QR login: `claim` reads the portal's QR code from a PNG and claims it.
    let (s, q) = server.call("POST", "/v1/qr-logins", &key, Some(json!({}))).await;
    assert_eq!(s, 201, "{q}");
    let png = base64::engine::general_purpose::STANDARD.decode(q["qrPNG"].as_str().unwrap()).unwrap();
    std::fs::write(dir.path().join("login.png"), png).unwrap();
    let out = run_cli(&bin, dir.path(), &["--store", "a.json", "claim", "--qr-image", "login.png"], "pw").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "{\"sessionStatus\":\"Accept\"}");
    let (_, st) = server.call("GET", &format!("/v1/sessions/{}", q["requestID"].as_str().unwrap()), &key, None).await;
    assert_eq!(
        (st["sessionStatus"].as_str(), st["userID"].as_str(), st["domain"].as_str()),
        (Some("Accept"), Some("alice"), Some("example.com"))
    );
    assert!(server.terminate().await.success());
}

/// A server killed (SIGKILL) with a push queued for retry delivers it after restart.
#[tokio::test]
async fn a_killed_server_delivers_its_queue_after_restart() {
    use countersign_authenticator::{ActivateOptions, Authenticator};
    let dir = tempfile::tempdir().unwrap();
    let token = format!("csa_{}", "k".repeat(40));
    let start = || {
        let mut cmd = command(dir.path());
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &token);
        Server::start(cmd)
    };
    let mut server = start().await;
    readme_flow(&server, &token).await;
    let (_, k) =
        server.call("POST", "/admin/v1/tenants/example.com/api-keys", &token, Some(json!({"name": "k"}))).await;
    let key = k["key"].as_str().unwrap().to_owned();
    let (_, a) = server.call("POST", "/v1/users/alice@example.com/activations", &key, None).await;
    let auth =
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
    // The device's webhook is down for now.
    let spot = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = spot.local_addr().unwrap();
    drop(spot);
    auth.register_push("webhook", Some(&format!("http://{addr}/push"))).await.unwrap();
    let (_, out) = server
        .call("POST", "/v1/users/alice@example.com/login", &key, Some(json!({"passKey": "push", "timeout": 0})))
        .await;
    let request_id = out["requestID"].as_str().unwrap().to_owned();
    // Wait for the first failed try, then kill the server outright.
    for _ in 0..50 {
        let (_, q) = server.call("GET", "/admin/v1/outbox?state=queued", &token, None).await;
        let q = q["items"].clone();
        if q.as_array().is_some_and(|a| a.len() == 1 && a[0]["attempts"].as_u64() >= Some(1)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.child.kill().await.unwrap();

    // The webhook comes up; the restarted server delivers the queued push.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Value>();
    let hook = axum::Router::new().route(
        "/push",
        axum::routing::post(move |axum::Json(v): axum::Json<Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(v);
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
    tokio::spawn(async move { axum::serve(listener, hook).await });
    server = start().await;
    let push = tokio::time::timeout(Duration::from_secs(15), rx.recv()).await.expect("no push after restart").unwrap();
    assert_eq!(push["requestID"], request_id.as_str());
    assert!(server.terminate().await.success());
}

// The flows above, once per storage backend.
countersign_store::backend_tests! {
    async fn bootstrap_token_from_the_environment(backend) { bootstrap_token_from_environment(backend).await }
}

/// A server with alice, an API key, and the CLI activated for her with PIN 1234 in
/// `dir/a.json` (passphrase `pw`); tenant `settings` patched in first when given.
async fn server_with_cli(dir: &Path, settings: Option<Value>) -> (Server, String, std::path::PathBuf) {
    let token = format!("csa_{}", "m".repeat(40));
    let mut cmd = command(dir);
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &token);
    let server = Server::start(cmd).await;
    readme_flow(&server, &token).await;
    let (_, k) =
        server.call("POST", "/admin/v1/tenants/example.com/api-keys", &token, Some(json!({"name": "cli"}))).await;
    let key = k["key"].as_str().unwrap().to_owned();
    if let Some(settings) = settings {
        let (s, out) =
            server.call("PATCH", "/admin/v1/tenants/example.com", &token, Some(json!({"settings": settings}))).await;
        assert_eq!(s, 200, "{out}");
    }
    let (_, a) = server.call("POST", "/v1/users/alice@example.com/activations", &key, None).await;
    let bin = authenticator_bin();
    let qr = a["qrPayload"].as_str().unwrap();
    let out = run_cli(&bin, dir, &["--store", "a.json", "activate", "--pin", "1234", qr], "pw").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (server, key, bin)
}

/// An asynchronous login of `passKey`: its request ID and the number to show, if any.
async fn async_login(server: &Server, key: &str, pass_key: &str) -> (String, Option<u8>) {
    let (s, out) = server
        .call("POST", "/v1/users/alice@example.com/login", key, Some(json!({"passKey": pass_key, "timeout": 0})))
        .await;
    assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Pending")), "{out}");
    (out["requestID"].as_str().unwrap().to_owned(), out["numberToShow"].as_u64().map(|n| n as u8))
}

async fn session_status(server: &Server, key: &str, id: &str) -> Value {
    let (s, out) = server.call("GET", &format!("/v1/sessions/{id}"), key, None).await;
    assert_eq!(s, 200, "{out}");
    out
}

/// `respond` signs with the key the request's method needs: a plain push with a PIN
/// given, a PIN login without one (refused locally), and exits non-zero when the session
/// does not end as asked.
#[tokio::test]
async fn authenticator_cli_respond_signs_with_the_key_the_method_needs() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key, bin) = server_with_cli(dir.path(), None).await;
    let cli = |args: Vec<String>| {
        let (bin, dir) = (bin.clone(), dir.path().to_owned());
        async move {
            let args: Vec<&str> = ["--store", "a.json"].into_iter().chain(args.iter().map(String::as_str)).collect();
            let out = run_cli(&bin, &dir, &args, "pw").await;
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let args = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();

    // A plain push (NoPIN) with the README's `--pin 1234`: the PIN is not used, and it is said.
    let (id, number) = async_login(&server, &key, "push").await;
    let n = number.expect("number matching is on by default").to_string();
    let (code, out, err) = cli(args(&["respond", &id, "--approve", "--pin", "1234", "--number", &n])).await;
    assert_eq!((code, out.trim()), (Some(0), "{\"sessionStatus\":\"Accept\"}"), "{err}");
    assert!(err.contains("PIN is not used") && err.contains("NoPIN"), "a note says the PIN is not used: {err}");
    assert_eq!(session_status(&server, &key, &id).await["sessionStatus"], "Accept");

    // A wrong number declines: `respond --approve` prints the answer and exits non-zero.
    let (id, number) = async_login(&server, &key, "push").await;
    let wrong = number.unwrap().wrapping_add(1).to_string();
    let (code, out, err) = cli(args(&["respond", &id, "--approve", "--number", &wrong])).await;
    assert_eq!((code, out.trim()), (Some(3), "{\"sessionStatus\":\"Decline\"}"), "{err}");
    assert!(err.contains("not Accept"), "{err}");
    let st = session_status(&server, &key, &id).await;
    assert_eq!((st["sessionStatus"].as_str(), st["reason"].as_str()), (Some("Decline"), Some("wrong_number")));

    // `--decline` that declines exits 0 (a PIN given is not needed for a decline).
    let (id, _) = async_login(&server, &key, "PIN").await;
    let (code, out, err) = cli(args(&["respond", &id, "--decline", "--pin", "1234"])).await;
    assert_eq!((code, out.trim()), (Some(0), "{\"sessionStatus\":\"Decline\"}"), "{err}");
    assert_eq!(session_status(&server, &key, &id).await["sessionStatus"], "Decline");

    // A PIN login without --pin: a local error naming --pin; nothing reaches the server.
    let (id, number) = async_login(&server, &key, "PIN").await;
    let n = number.unwrap().to_string();
    let (code, out, err) = cli(args(&["respond", &id, "--approve", "--number", &n])).await;
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert!(err.contains("PIN login") && err.contains("--pin"), "{err}");
    assert_eq!(session_status(&server, &key, &id).await["sessionStatus"], "Pending");
    let (code, out, err) = cli(args(&["respond", &id, "--approve", "--pin", "1234", "--number", &n])).await;
    assert_eq!((code, out.trim()), (Some(0), "{\"sessionStatus\":\"Accept\"}"), "{err}");
    assert!(err.is_empty(), "no note when everything given is used: {err}");

    // Neither --approve nor --decline: the usage error names both.
    let (code, _, err) = cli(args(&["respond", &id])).await;
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("--approve") && err.contains("--decline"), "{err}");

    // The library chooses the same way: a Fingerprint login with nothing given is approved
    // with the biometric key, a plain push with a PIN given with the possession key.
    use countersign_authenticator::{Answer, Authenticator};
    let auth = Authenticator::load(&dir.path().join("a.json"), "pw").unwrap();
    for (pass_key, pin) in [("Fingerprint", None), ("push", Some("1234"))] {
        let (id, number) = async_login(&server, &key, pass_key).await;
        let r = auth.respond(&id, &Answer { approve: true, pin, number, ..Default::default() }).await.unwrap();
        assert_eq!(r.session_status, "Accept", "{pass_key}");
        assert_eq!(session_status(&server, &key, &id).await["sessionStatus"], "Accept");
    }
    assert!(server.terminate().await.success());
}

/// `activate --custom NAME` registers a custom authenticator; `respond` approves a login
/// of a `push_custom` type with its key (the default), or with `--pin`; a store without
/// that authenticator refuses `--custom` locally.
#[tokio::test]
async fn authenticator_cli_custom_authenticator() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key, bin) = server_with_cli(dir.path(), Some(json!({"pushEnrollmentMode": "multiple"}))).await;
    let admin = format!("csa_{}", "m".repeat(40));
    let face = json!({"method": "push_custom", "customAuthenticator": "face-id"});
    let (s, b) = server.call("PUT", "/admin/v1/tenants/example.com/auth-types/face", &admin, Some(face)).await;
    assert_eq!(s, 200, "{b}");
    let (_, a) = server.call("POST", "/v1/users/alice@example.com/activations", &key, None).await;
    let qr = a["qrPayload"].as_str().unwrap();
    let args = ["--store", "b.json", "activate", "--pin", "1234", "--custom", "face-id", "--app-id", "second", qr];
    let out = run_cli(&bin, dir.path(), &args, "pw").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let respond = |store: &'static str, more: Vec<String>| {
        let (bin, dir) = (bin.clone(), dir.path().to_owned());
        async move {
            let args: Vec<&str> =
                ["--store", store, "respond"].into_iter().chain(more.iter().map(String::as_str)).collect();
            let out = run_cli(&bin, &dir, &args, "pw").await;
            (
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        }
    };
    let args = |s: &[&str]| s.iter().map(|a| a.to_string()).collect::<Vec<_>>();

    // The custom authenticator's key approves by default.
    let (id, number) = async_login(&server, &key, "face").await;
    let n = number.unwrap().to_string();
    let (code, out, err) = respond("b.json", args(&[&id, "--approve", "--number", &n])).await;
    assert_eq!((code, out.trim()), (Some(0), "{\"sessionStatus\":\"Accept\"}"), "{err}");
    // A store without it refuses --custom before anything is sent, and approves with --pin.
    let (id, number) = async_login(&server, &key, "face").await;
    let n = number.unwrap().to_string();
    let (code, _, err) = respond("a.json", args(&[&id, "--approve", "--custom", "--number", &n])).await;
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("--custom NAME") && err.contains("face-id"), "{err}");
    assert_eq!(session_status(&server, &key, &id).await["sessionStatus"], "Pending");
    let (code, out, err) = respond("a.json", args(&[&id, "--approve", "--pin", "1234", "--number", &n])).await;
    assert_eq!((code, out.trim()), (Some(0), "{\"sessionStatus\":\"Accept\"}"), "{err}");
    // --pin with --custom: the custom key signs, and the note says the PIN was not used.
    let (id, number) = async_login(&server, &key, "face").await;
    let n = number.unwrap().to_string();
    let (code, _, err) =
        respond("b.json", args(&[&id, "--approve", "--custom", "--pin", "1234", "--number", &n])).await;
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("PIN is not used") && err.contains("custom authenticator"), "{err}");
    assert!(server.terminate().await.success());
}

/// `listen --auto-approve` without `--pin` approves plain pushes and fingerprint logins
/// (biometric key), and reports PIN logins it cannot approve.
#[tokio::test]
async fn authenticator_cli_listen_auto_approves_without_a_pin() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key, bin) = server_with_cli(dir.path(), Some(json!({"numberMatching": false}))).await;
    let mut listen = Command::new(&bin)
        .args(["--store", "a.json", "listen", "--addr", "127.0.0.1:0", "--auto-approve"])
        .current_dir(dir.path())
        .env("COUNTERSIGN_AUTHENTICATOR_PASSPHRASE", "pw")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut errs = BufReader::new(listen.stderr.take().unwrap()).lines();
    let mut next_err = async || {
        tokio::time::timeout(Duration::from_secs(10), errs.next_line()).await.unwrap().unwrap().unwrap_or_default()
    };
    let ready = next_err().await;
    assert!(ready.starts_with("listening for pushes on http://127.0.0.1:"), "{ready}");
    let mode = next_err().await;
    assert!(mode.contains("NoPIN and Fingerprint"), "{mode}");
    let mut lines = BufReader::new(listen.stdout.take().unwrap()).lines();

    for pass_key in ["push", "Fingerprint"] {
        let (_, out) = server
            .call("POST", "/v1/users/alice@example.com/login", &key, Some(json!({"passKey": pass_key, "timeout": 15})))
            .await;
        assert_eq!(out["sessionStatus"], "Accept", "the listener approved the {pass_key} login: {out}");
        let push: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!(push["requestID"], out["requestID"]);
        let answered: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
        assert_eq!((&answered["requestID"], answered["sessionStatus"].as_str()), (&out["requestID"], Some("Accept")));
    }

    // A PIN login is reported on standard error and left pending.
    let (id, _) = async_login(&server, &key, "PIN").await;
    let push: Value = serde_json::from_str(&lines.next_line().await.unwrap().unwrap()).unwrap();
    assert_eq!(push["requestID"], id.as_str());
    let said = next_err().await;
    assert!(said.starts_with(&id) && said.contains("--pin"), "{said}");
    assert_eq!(session_status(&server, &key, &id).await["sessionStatus"], "Pending");
    listen.kill().await.unwrap();
    assert!(server.terminate().await.success());
}

/// The names in a directory (to show it stayed empty).
fn names_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect()
}

/// A port in use is reported with its address, before anything is made on disk.
#[tokio::test]
async fn a_port_in_use_is_named_and_leaves_nothing_behind() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    for sub in ["serve", "demo"] {
        let dir = tempfile::tempdir().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let out = command(dir.path())
            .args([sub, "--listen", &addr])
            .env("TMPDIR", tmp.path())
            .stderr(Stdio::piped())
            .output()
            .await
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{sub}: {stderr}");
        assert!(stderr.contains(&format!("cannot listen on {addr}: the address is in use")), "{sub}: {stderr}");
        assert_eq!(names_in(dir.path()), Vec::<String>::new(), "{sub}: no database or key file is left");
        assert_eq!(names_in(tmp.path()), Vec::<String>::new(), "{sub}: no scratch directory is left");
    }
}

/// A SQLite path that cannot be opened is named, with the reason, once.
#[tokio::test]
async fn an_unopenable_database_path_is_named_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("a-directory")).unwrap();
    let missing = dir.path().join("no-such-dir").join("x.db");
    let cases = [
        (format!("sqlite://{}", missing.display()), missing.display().to_string(), "does not exist"),
        ("sqlite://a-directory".to_owned(), "a-directory".to_owned(), "it is a directory"),
    ];
    for (url, path, reason) in cases {
        for args in [&["migrate"][..], &["serve", "--listen", "127.0.0.1:0"]] {
            let out = command(dir.path())
                .args(args)
                .args(["--database", &url])
                .stderr(Stdio::piped())
                .output()
                .await
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{args:?} {url}: {stderr}");
            let line = stderr.lines().find(|l| l.starts_with("countersign: ")).unwrap_or_default();
            assert!(line.contains(&format!("cannot open database {path}: ")), "{args:?}: {stderr}");
            assert!(line.contains(reason), "{args:?}: {stderr}");
            assert_eq!(stderr.matches(path.as_str()).count(), 1, "the path once: {stderr}");
            assert!(stderr.matches("unable to open database file").count() <= 1, "{stderr}");
        }
    }
    assert_eq!(names_in(&dir.path().join("a-directory")), Vec::<String>::new());
    assert!(!dir.path().join("no-such-dir").exists());
}

/// A configured bootstrap token that the database does not take is a warning on
/// standard error, naming the database and what to do.
#[tokio::test]
async fn an_ignored_bootstrap_token_is_a_warning_on_standard_error() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]);
    let server = Server::start(cmd).await;
    let first = server.token.clone().expect("a random first token");
    assert!(server.terminate().await.success());

    let chosen = format!("csa_{}", "w".repeat(40));
    let err_path = logs.path().join("stderr");
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"])
        .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &chosen)
        .stderr(std::fs::File::create(&err_path).unwrap());
    let server = Server::start(cmd).await;
    let (s, _) = server.call("GET", "/admin/v1/tenants", &chosen, None).await;
    assert_eq!(s, 401);
    let (s, _) = server.call("GET", "/admin/v1/tenants", &first, None).await;
    assert_eq!(s, 200);
    assert!(server.terminate().await.success());
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    let warning = stderr.lines().find(|l| l.starts_with("countersign: WARNING:")).expect(&stderr);
    assert!(warning.contains("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN"), "{warning}");
    assert!(warning.contains("the database at countersign.db already has admin tokens"), "{warning}");
    assert!(warning.contains("--data-dir") && warning.contains("countersign admin token create"), "{warning}");
    assert!(!stderr.contains(&chosen[4..]), "the token is not echoed");
}

/// `--data-dir` (or COUNTERSIGN_DATA_DIR) holds the database and the key file, made
/// owner-only when missing; a named database still wins.
#[tokio::test]
async fn the_data_dir_holds_the_database_and_the_key_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command(dir.path());
    cmd.args(["--data-dir", "data/cs", "serve", "--listen", "127.0.0.1:0"]);
    let server = Server::start(cmd).await;
    let token = server.token.clone().unwrap();
    assert!(server.terminate().await.success());
    assert_eq!(names_in(dir.path()), vec!["data".to_owned()], "nothing else in the working directory");
    let data = dir.path().join("data/cs");
    assert!(data.join("countersign.db").is_file() && data.join("countersign.key").is_file());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&data).unwrap().permissions().mode() & 0o777, 0o700);
    }
    // The environment variable names the same directory: the token made there works.
    let mut cmd = command(dir.path());
    cmd.args(["serve", "--listen", "127.0.0.1:0"]).env("COUNTERSIGN_DATA_DIR", &data);
    let server = Server::start(cmd).await;
    assert_eq!(server.token, None, "the same database: no new first token");
    let (s, _) = server.call("GET", "/admin/v1/tenants", &token, None).await;
    assert_eq!(s, 200);
    assert!(server.terminate().await.success());
    // An explicit database wins over the data directory.
    let out = command(dir.path())
        .args(["--data-dir", "other", "--database", "sqlite://named.db", "migrate"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    assert!(dir.path().join("named.db").exists() && !dir.path().join("other").exists());
}

/// `countersign demo` prints commands that work as printed: the test runs them with
/// bash — activation with the reference authenticator, a push login approved with the
/// PIN and the number (`Accept`), and an e-mail code read from the message file.
#[tokio::test]
async fn the_demo_prints_commands_that_work() {
    let bin = authenticator_bin();
    let cwd = tempfile::tempdir().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let err_path = cwd.path().join("demo.stderr");
    let mut child = command(cwd.path())
        .args(["demo", "--listen", "127.0.0.1:0"])
        .env("TMPDIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            printed.push_str(&line);
            printed.push('\n');
            if line.starts_with("countersign: listening on ") {
                return;
            }
        }
        panic!("the demo exited before listening: {printed}");
    })
    .await
    .expect("the demo did not start within 30 s");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });

    let script = printed.split("Try it in another shell, in this directory:\n\n").nth(1).expect(&printed);
    let script = script.split("\n\n").next().unwrap();
    let value = |name: &str| {
        script.lines().find_map(|l| l.strip_prefix(&format!("{name}="))).unwrap_or_else(|| panic!("{name}")).to_owned()
    };
    let (base, key, token, demo_dir) = (value("BASE"), value("KEY"), value("TOKEN"), value("DEMO"));
    assert!(key.starts_with("csk_") && token.starts_with("csa_"));
    assert!(printed.contains(&format!("API key         {key}")), "the key is labelled: {printed}");
    let demo_dir = std::path::PathBuf::from(demo_dir);
    assert!(demo_dir.starts_with(tmp.path()), "a scratch directory in the temporary directory");
    assert!(
        script.contains(&format!(
            "{} --store \"$DEMO/alice.authenticator.json\" activate --pin 1234 \"$QR\"",
            bin.display()
        )),
        "the authenticator next to the server binary: {script}"
    );

    let out = Command::new("bash").arg("-euc").arg(script).current_dir(cwd.path()).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let results: Vec<&str> = stdout.lines().collect();
    assert!(results.contains(&"{\"sessionStatus\":\"Accept\"}"), "the authenticator approved: {stdout}");
    let accepted = results.iter().filter(|l| l.contains("\"sessionStatus\":\"Accept\"")).count();
    assert_eq!(accepted, 3, "push answer, push session, e-mail code: {stdout}");
    // The code came through the message file, as an e-mail to alice.
    let messages = std::fs::read_to_string(demo_dir.join("messages.jsonl")).unwrap();
    let message: Value = serde_json::from_str(messages.lines().last().unwrap()).unwrap();
    assert_eq!((message["channel"].as_str(), message["to"].as_str()), (Some("email"), Some("alice@demo.example")));
    // The relying party's view agrees: alice has one device.
    let client = reqwest::Client::new();
    let (s, state) =
        read(client.get(format!("{base}/v1/users/alice@demo.example")).bearer_auth(&key).send().await.unwrap()).await;
    assert_eq!((s, state["authenticators"].as_array().map(Vec::len)), (200, Some(1)), "{state}");

    let pid = child.id().unwrap().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait()).await.unwrap().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!demo_dir.exists(), "the scratch directory is removed at the end");
    let log = std::fs::read_to_string(&err_path).unwrap();
    for secret in [&key, &token] {
        assert!(!log.contains(secret.as_str()), "a demo secret reached the log");
    }
    let code = message["text"].as_str().unwrap().split("code is ").nth(1).unwrap().split('.').next().unwrap();
    assert!(!log.contains(&format!("code is {code}")), "the code reached the log");
}

/// The demo never runs on a database that exists: it starts from scratch.
#[tokio::test]
async fn the_demo_refuses_a_data_dir_with_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let out = command(dir.path()).args(["--data-dir", "data", "migrate"]).output().await.unwrap();
    assert!(out.status.success());
    let out = command(dir.path())
        .args(["demo", "--data-dir", "data", "--listen", "127.0.0.1:0"])
        .stderr(Stdio::piped())
        .output()
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("data/countersign.db exists already: the demo starts on a fresh database"), "{stderr}");
    assert_eq!(names_in(&dir.path().join("data")), vec!["countersign.db".to_owned()], "nothing added");
    let out = command(dir.path()).args(["demo", "--help"]).output().await.unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && help.contains("--data-dir") && help.contains("--listen"), "{help}");
}
