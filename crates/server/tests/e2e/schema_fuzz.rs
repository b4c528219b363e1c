//! schemathesis (PyPI) against `/openapi.json` of the running binary, on both backends:
//! every operation with valid credentials, a bounded budget, and three checks — no 5xx,
//! every answer matches its documented schema, every status is documented
//! (docs/security.md, "API fuzzing", for longer runs).
//!
//! Device-signed mobile operations are left out: a fuzzer cannot sign as a device, so
//! it would only ever see their `401`. Their input is covered by `edge.rs` and
//! `mobile.rs` with real signatures.

use std::process::Stdio;
use std::time::Duration;

use crate::common::served::Served;
use countersign_store::backend_tests;

/// Test cases per operation and phase; `COUNTERSIGN_FUZZ_EXAMPLES` raises it.
const DEFAULT_EXAMPLES: &str = "10";

/// The checks that must hold.
const CHECKS: &str = "not_a_server_error,response_schema_conformance,status_code_conformance";

/// The device-signed operations (by path), left out.
const DEVICE_SIGNED: &str = "^/mobile/v1/(device/|requests|qr-logins/)";

/// The configuration: a credential per security scheme of the description, `wait=0`
/// (a session status call may otherwise wait 60 s), the device-signed operations off,
/// and the event streams (which stay open until their session or activation ends) read
/// for 3 s, a few times.
fn config() -> String {
    format!(
        r#"request-timeout = 20

[parameters]
"query.wait" = 0

[auth.openapi.adminToken]
bearer = "${{CS_ADMIN}}"

[auth.openapi.apiKey]
bearer = "${{CS_KEY}}"

[[operations]]
include-path-regex = "{DEVICE_SIGNED}"
enabled = false

[[operations]]
include-path-regex = "/events$"
request-timeout = 3
generation.max-examples = 3
"#
    )
}

/// Run schemathesis on the operations of `tags`; its exit status and output.
async fn run(server: &Served, key: &str, dir: &std::path::Path, tags: &[&str]) -> (bool, String) {
    let examples = std::env::var("COUNTERSIGN_FUZZ_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.to_owned());
    let mut cmd = tokio::process::Command::new("schemathesis");
    cmd.current_dir(dir)
        .env("CS_ADMIN", &server.admin)
        .env("CS_KEY", key)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(dir.join("schemathesis.toml"))
        .args(["run", &format!("{}/openapi.json", server.base), "--checks", CHECKS])
        .args(["--max-examples", &examples, "--no-shrink", "--output-sanitize", "false"])
        // One worker: schemathesis's threads trip a CPython 3.11 bug in `ast`
        // ("AST constructor recursion depth mismatch"), and the machine has two cores.
        .args(["--workers", "1"]);
    for t in tags {
        cmd.args(["--include-tag", t]);
    }
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true).spawn().unwrap_or_else(|e| {
        panic!(
            "schemathesis is not installed ({e}): python3 -m pip install 'schemathesis==4.32.5' (scripts/test.sh does)"
        )
    });
    // The suite's budget finishes well within 300 s; a longer one chosen by hand may take hours.
    let limit = if std::env::var_os("COUNTERSIGN_FUZZ_EXAMPLES").is_some() { 6 * 3600 } else { 300 };
    let out = tokio::time::timeout(Duration::from_secs(limit), child.wait_with_output())
        .await
        .expect("schemathesis did not finish in time")
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

/// How many operations the run tested (its summary's `Tested: N`).
fn tested(output: &str) -> usize {
    output.lines().find_map(|l| l.trim().strip_prefix("Tested: ")).and_then(|n| n.trim().parse().ok()).unwrap_or(0)
}

backend_tests! {
    async fn schemathesis_finds_no_server_error_schema_violation_or_undocumented_status(backend) {
        let server = Served::start(backend).await;
        let key = server.tenant_with_alice().await;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("schemathesis.toml"), config()).unwrap();
        // The integration, mobile and operations routes first, while the tenant that
        // the description's examples name (example.com, alice) is as it was set up;
        // then the admin routes, which may delete it.
        let (ok, first) = run(&server, &key, dir.path(), &["integration", "mobile", "operations"]).await;
        assert!(ok, "schemathesis failed (integration, mobile, operations):\n{first}");
        let (ok, second) = run(&server, &key, dir.path(), &["admin"]).await;
        assert!(ok, "schemathesis failed (admin):\n{second}");
        // Every operation but the device-signed ones was exercised.
        let total = tested(&first) + tested(&second);
        assert!(total >= 75, "only {total} operations tested:\n{first}\n{second}");
        let stderr = server.stderr_text();
        assert!(!stderr.contains("ERROR"), "the server logged errors:\n{stderr}");
        server.stop().await;
    }
}
