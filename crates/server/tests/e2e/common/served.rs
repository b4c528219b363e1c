//! `countersign serve` started as an operator starts it (default log level, an admin token
//! from the environment) on a throw-away database of either backend, with its standard
//! error kept in a file to read. (`process` starts the binary in a directory of its own.)

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use countersign_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_countersign");

/// A running `countersign serve`.
pub struct Served {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// The admin token it was started with.
    pub admin: String,
    /// The file its standard error goes to.
    pub stderr: PathBuf,
    child: Child,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
    _db: Option<TestDb>,
    db_url: String,
}

impl Served {
    /// Start the binary on a new database of `backend`, with no outside `COUNTERSIGN_*`
    /// or `RUST_LOG` variables (so the default log level), in a temporary directory.
    pub async fn start(backend: Backend) -> Served {
        Self::start_with(backend, &[]).await
    }

    /// The same with these environment variables set.
    pub async fn start_with(backend: Backend, env: &[(&str, &str)]) -> Served {
        let db = TestDb::new(backend).await;
        let url = db.url.clone();
        Self::start_on(url, Some(db), env).await
    }

    /// Another server on this one's database (a second node), with these variables.
    pub async fn start_beside(&self, env: &[(&str, &str)]) -> Served {
        Self::start_on(self.db_url.clone(), None, env).await
    }

    async fn start_on(db_url: String, db: Option<TestDb>, env: &[(&str, &str)]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let stderr = dir.path().join("stderr.log");
        let admin = format!("csa_{}", "e".repeat(40));
        let mut cmd = Command::new(BIN);
        cmd.current_dir(dir.path()).env_remove("RUST_LOG").kill_on_drop(true);
        for (k, _) in std::env::vars() {
            if k.starts_with("COUNTERSIGN_") {
                cmd.env_remove(k);
            }
        }
        cmd.args(["serve", "--listen", "127.0.0.1:0", "--database", &db_url])
            .env("COUNTERSIGN_BOOTSTRAP_ADMIN_TOKEN", &admin)
            // Request limits off unless the test sets them.
            .env("COUNTERSIGN_LIMITS_ENABLED", "false")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).unwrap());
        let mut child = cmd.spawn().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                if let Some(rest) = line.strip_prefix("countersign: listening on ") {
                    return rest.split(' ').next().unwrap().to_owned();
                }
            }
            panic!("the server exited before listening");
        })
        .await
        .expect("server did not start within 30 s");
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Served { base, admin, stderr, child, client: reqwest::Client::new(), _dir: dir, _db: db, db_url }
    }

    /// A request with an optional bearer token and JSON body; status and body.
    pub async fn call(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = bearer {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        super::read(req.send().await.unwrap()).await
    }

    /// Tenant `example.com` with user alice and an API key; the key.
    pub async fn tenant_with_alice(&self) -> String {
        let admin = Some(self.admin.as_str());
        let (s, b) = self.call("POST", "/admin/v1/tenants", admin, Some(json!({"domain": "example.com"}))).await;
        assert_eq!(s, 201, "{b}");
        let user = json!({"userID": "alice", "email": "alice@example.com", "phone": "+15550100", "locale": "en"});
        let (s, b) = self.call("POST", "/admin/v1/tenants/example.com/users", admin, Some(user)).await;
        assert_eq!(s, 201, "{b}");
        let (s, k) =
            self.call("POST", "/admin/v1/tenants/example.com/api-keys", admin, Some(json!({"name": "web"}))).await;
        assert_eq!(s, 201, "{k}");
        k["key"].as_str().unwrap().to_owned()
    }

    /// What the server has written to standard error so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Send the signal `sig` (`HUP`, …) to the server.
    pub fn signal(&self, sig: &str) {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill").args([&format!("-{sig}"), &pid]).status().unwrap().success());
    }

    /// SIGTERM, and wait for the exit.
    pub async fn stop(mut self) {
        if let Some(pid) = self.child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await;
    }
}
