//! Test harness: the real application on an ephemeral loopback port, on a throw-away
//! database of either backend, spoken to over HTTP.

pub mod metrics;
pub mod mmdb;
pub mod peers;
pub mod process;
pub mod served;

use countersign::config::RawConfig;
use countersign_core::Core;
use countersign_store::testing::{Backend, TestDb};
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    Basic(&'a str, &'a str),
}

pub struct App {
    pub base: String,
    pub admin: String,
    pub core: Core,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<Result<(), countersign::ServerError>>>,
    _db: TestDb,
}

impl App {
    pub async fn spawn(backend: Backend) -> App {
        Self::spawn_with(backend, RawConfig::default()).await
    }

    pub async fn spawn_with(backend: Backend, raw: RawConfig) -> App {
        Self::spawn_full(backend, raw, None).await
    }

    /// The app with its domain clock replaced (e.g. a `FixedClock` to step over expiries).
    pub async fn spawn_with_clock(backend: Backend, clock: std::sync::Arc<dyn countersign_core::Clock>) -> App {
        Self::spawn_full(backend, RawConfig::default(), Some(clock)).await
    }

    pub async fn spawn_full(
        backend: Backend,
        raw: RawConfig,
        clock: Option<std::sync::Arc<dyn countersign_core::Clock>>,
    ) -> App {
        Self::spawn_on(TestDb::new(backend).await, raw, clock, None, None).await
    }

    /// The app on an existing database (migrated to the latest version first), with a
    /// master key when given, and `admin` as its admin token when the database has one
    /// already (else the first token is made).
    pub async fn spawn_on(
        db: TestDb,
        raw: RawConfig,
        clock: Option<std::sync::Arc<dyn countersign_core::Clock>>,
        master_key: Option<[u8; 32]>,
        admin: Option<String>,
    ) -> App {
        let store = countersign::open_store(&db.url).await.unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut core = countersign::core_for(store, &base).unwrap();
        if let Some(k) = master_key {
            core = core.with_master_key(&k);
        }
        if let Some(c) = clock {
            core.clock = c;
        }
        let admin = match admin {
            Some(a) => a,
            None => core.bootstrap_admin_token(None).await.unwrap().expect("first token").secret,
        };
        // Request limits off unless the test sets them: the suite sends many requests
        // from 127.0.0.1 (docs/security.md, "Request limits").
        let mut raw = raw;
        raw.limits.get_or_insert_with(countersign::config::RawLimits::off);
        let config = raw.validate().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server_core = core.clone();
        let server = tokio::spawn(async move {
            countersign::serve_on(listener, server_core, &config, async move {
                let _ = rx.await;
            })
            .await
        });
        App { base, admin, core, client: reqwest::Client::new(), stop: Some(tx), server: Some(server), _db: db }
    }

    /// Stop the server and wait for it to finish.
    pub async fn stop(mut self) -> Result<(), countersign::ServerError> {
        self.signal_stop();
        self.join().await
    }

    /// Begin shutdown (what SIGTERM does to the binary).
    pub fn signal_stop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }

    /// Wait for the server to finish.
    pub async fn join(&mut self) -> Result<(), countersign::ServerError> {
        self.server.take().unwrap().await.unwrap()
    }

    /// This app's database.
    pub fn db(&self) -> &TestDb {
        &self._db
    }

    /// The URL of this app's database.
    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    fn with_auth(&self, req: reqwest::RequestBuilder, auth: Auth<'_>) -> reqwest::RequestBuilder {
        match auth {
            Auth::None => req,
            Auth::Bearer(t) => req.bearer_auth(t),
            Auth::Basic(u, p) => req.basic_auth(u, Some(p)),
        }
    }

    /// Send a request with an optional JSON body; the status and the body as JSON
    /// (`Value::Null` when empty, a string when not JSON).
    pub async fn call(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<Value>) -> (u16, Value) {
        self.send(method, path, auth, body.map(|b| ("application/json", b.to_string().into_bytes()))).await
    }

    /// Send a raw body with a content type.
    pub async fn raw(&self, method: &str, path: &str, auth: Auth<'_>, ctype: &str, body: Vec<u8>) -> (u16, Value) {
        self.send(method, path, auth, Some((ctype, body))).await
    }

    async fn send(&self, method: &str, path: &str, auth: Auth<'_>, body: Option<(&str, Vec<u8>)>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.with_auth(self.client.request(method, format!("{}{path}", self.base)), auth);
        if let Some((ctype, bytes)) = body {
            req = req.header("content-type", ctype).body(bytes);
        }
        read(req.send().await.unwrap()).await
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let token = self.admin.clone();
        self.call(method, path, Auth::Bearer(&token), body).await
    }

    /// Create a tenant, a user `alice` in it and an API key; return the key.
    pub async fn tenant_with_alice(&self, domain: &str) -> String {
        let (s, _) = self.admin("POST", "/admin/v1/tenants", Some(serde_json::json!({"domain": domain}))).await;
        assert_eq!(s, 201);
        let (s, _) = self
            .admin(
                "POST",
                &format!("/admin/v1/tenants/{domain}/users"),
                Some(serde_json::json!({"userID": "alice", "email": format!("alice@{domain}"), "phone": "+15550100", "locale": "en"})),
            )
            .await;
        assert_eq!(s, 201);
        let (s, key) = self
            .admin("POST", &format!("/admin/v1/tenants/{domain}/api-keys"), Some(serde_json::json!({"name": "web"})))
            .await;
        assert_eq!(s, 201);
        key["key"].as_str().unwrap().to_owned()
    }
}

pub async fn read(resp: reqwest::Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    let value = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
    (status, value)
}

/// The error code of an error body.
pub fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// The Playwright folder of the browser tests, ready to run: Debian's Chromium present,
/// the npm packages installed (`npm ci` when missing).
pub fn browser_dir() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "install Debian's chromium: apt-get install -y chromium"
    );
    if !dir.join("node_modules/playwright-core").exists() || !dir.join("node_modules/axe-core").exists() {
        let ok = std::process::Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).status();
        assert!(ok.is_ok_and(|s| s.success()), "npm ci in {} failed", dir.display());
    }
    dir
}
