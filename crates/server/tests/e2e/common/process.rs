//! The `countersign` executable as a separate process, for tests that need what only the
//! binary does: files it creates, its standard error, signals, offline subcommands that
//! run beside a serving process (`admin rotate-key`).

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const BIN: &str = env!("CARGO_BIN_EXE_countersign");

/// The binary with no COUNTERSIGN_* variables or RUST_LOG from the outside world, run in
/// `dir`, standard error discarded (give it a file with `.stderr(…)`).
pub fn command(dir: &Path) -> Command {
    let mut c = Command::new(BIN);
    clean(&mut c, dir);
    c
}

/// The binary started by `sh` under `umask` (e.g. `0` lets every mode bit through).
pub fn command_with_umask(dir: &Path, umask: &str) -> Command {
    let mut c = Command::new("sh");
    c.args(["-c", &format!("umask {umask} && exec \"$0\" \"$@\""), BIN]);
    clean(&mut c, dir);
    c
}

fn clean(c: &mut Command, dir: &Path) {
    c.current_dir(dir).env_remove("RUST_LOG").stderr(Stdio::null()).kill_on_drop(true);
    for (k, _) in std::env::vars() {
        if k.starts_with("COUNTERSIGN_") {
            c.env_remove(k);
        }
    }
    // Request limits off unless a test sets them (docs/security.md, "Request limits").
    c.env("COUNTERSIGN_LIMITS_ENABLED", "false");
}

/// A serving `countersign`.
pub struct Served {
    pub child: Child,
    pub base: String,
    /// The admin token printed at first start, if one was.
    pub token: Option<String>,
    pub client: reqwest::Client,
}

impl Served {
    /// Start `serve` and read standard output up to the listening line.
    pub async fn start(mut cmd: Command) -> Served {
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
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Served { child, base, token, client: reqwest::Client::new() }
    }

    /// A request with a bearer credential and an optional JSON body.
    pub async fn call(&self, method: &str, path: &str, bearer: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, format!("{}{path}", self.base)).bearer_auth(bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        super::read(req.send().await.unwrap()).await
    }

    /// SIGTERM, and the exit status within 15 s.
    pub async fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().unwrap().to_string();
        assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        tokio::time::timeout(Duration::from_secs(15), self.child.wait()).await.expect("no exit after SIGTERM").unwrap()
    }
}

/// The permission bits of `path`.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

/// The `countersign-authenticator` binary, brought up to date once per test process
/// (cargo does nothing when it is current; a stale binary would test old code).
pub fn authenticator_bin() -> std::path::PathBuf {
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
