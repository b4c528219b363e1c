//! The Duo-compatible API end to end (docs/duo.md), with clients no one here wrote, from
//! Debian's packages: Duo Unix's `login_duo` (package `login-duo`; it speaks Duo's older
//! `/rest/v1/*.bson` API over HTTPS, with a CA file) runs a command after a push approved
//! on the reference authenticator and refuses it after a decline, and takes a token code
//! instead (`DUO_PASSCODE`); Perl's Net::Duo
//! (`libnet-duo-perl`) drives `/auth/v2` — `check`, `preauth`, `auth` with `async=1` and
//! `auth_status`, a passcode — with v2 (dated HMAC-SHA1) signatures. HTTPS is a TLS proxy
//! in front of the server (the reference authenticator talks to the server directly).

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_store::backend_tests;
use serde_json::{Value, json};

use crate::common::peers::{TestCa, serve_tls, test_ca_named};
use crate::common::{App, Auth};

/// A TLS front for `upstream` that forwards every request as it came, `Host` included
/// (the signature covers it).
async fn tls_front(upstream: String, ca: &TestCa) -> std::net::SocketAddr {
    let client = reqwest::Client::new();
    let router = axum::Router::new().fallback(move |req: Request| {
        let (client, upstream) = (client.clone(), upstream.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body: Bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let mut out = client.request(parts.method.clone(), format!("{upstream}{path}")).body(body);
            for (name, value) in &parts.headers {
                out = out.header(name, value);
            }
            let Ok(resp) = out.send().await else { return StatusCode::BAD_GATEWAY.into_response() };
            let status = resp.status();
            let ctype = resp.headers().get("content-type").cloned();
            let bytes = resp.bytes().await.unwrap_or_default();
            let mut r: Response = (status, bytes).into_response();
            if let Some(c) = ctype {
                r.headers_mut().insert("content-type", c);
            }
            r
        }
    });
    serve_tls(router, ca).await
}

/// What a Duo client is configured with.
#[derive(Clone)]
struct Keys {
    ikey: String,
    skey: String,
    /// `localhost:<port>` of the TLS front.
    host: String,
    ca_file: std::path::PathBuf,
    dir: std::path::PathBuf,
}

struct Duo {
    app: App,
    key: String,
    keys: Keys,
    _dir: tempfile::TempDir,
}

async fn duo_app(backend: countersign_store::testing::Backend) -> Duo {
    duo_app_with(backend, countersign::config::RawConfig::default()).await
}

async fn duo_app_with(backend: countersign_store::testing::Backend, raw: countersign::config::RawConfig) -> Duo {
    let app = App::spawn_with(backend, raw).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, i) = app
        .admin(
            "POST",
            "/admin/v1/tenants/example.com/duo-integrations",
            Some(json!({"name": "ssh", "legacySignatures": true})),
        )
        .await;
    assert_eq!(s, 201, "{i}");
    let (ikey, skey) = (i["ikey"].as_str().unwrap().to_owned(), i["skey"].as_str().unwrap().to_owned());
    assert!(ikey.starts_with("DI") && ikey.len() == 20, "{ikey}");
    assert_eq!(skey.len(), 40);
    // Net::Duo insists on a certificate subject under duosecurity.com.
    let ca = test_ca_named("api-test.duosecurity.com");
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, &ca.ca_pem).unwrap();
    let front = tls_front(app.base.clone(), &ca).await;
    let keys = Keys { ikey, skey, host: format!("localhost:{}", front.port()), ca_file, dir: dir.path().to_owned() };
    Duo { app, key, keys, _dir: dir }
}

async fn activate(d: &Duo) -> Authenticator {
    let (s, a) = d.app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&d.key), None).await;
    assert_eq!(s, 201, "{a}");
    Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap()
}

async fn approve_next(auth: &Authenticator, approve: bool) -> String {
    for _ in 0..400 {
        if let Some(r) = auth.pending().await.unwrap().into_iter().next() {
            let out = auth.respond(&r.request_id, &Answer { approve, ..Default::default() }).await.unwrap();
            return out.session_status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no push arrived");
}

/// Run `login_duo` as Duo Unix's documentation sets it up, with `command` to run after a
/// successful login; its exit status and output.
async fn login_duo(d: &Keys, user: &str, extra: &str) -> (bool, String) {
    login_duo_typing(d, user, extra, "").await
}

/// [`login_duo`] with `typed` as the passcode an SSH client passes in `DUO_PASSCODE`
/// (Duo Unix's `accept_env_factor`; without a terminal login_duo asks nothing).
async fn login_duo_typing(d: &Keys, user: &str, extra: &str, typed: &str) -> (bool, String) {
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let conf = d.dir.join(format!("login_duo-{n}.conf"));
    let text = format!(
        "[duo]\nikey = {}\nskey = {}\nhost = {}\ncafile = {}\nfailmode = secure\nautopush = {}prompts = 1\n{extra}",
        d.ikey,
        d.skey,
        d.host,
        d.ca_file.display(),
        if typed.is_empty() { "yes\n" } else { "no\naccept_env_factor = yes\n" },
    );
    std::fs::write(&conf, text).unwrap();
    std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let (conf, user, typed) = (conf.clone(), user.to_owned(), typed.to_owned());
    tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new("/usr/sbin/login_duo")
            .args(["-d", "-c", conf.to_str().unwrap(), "-f", &user, "/bin/echo", "granted"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .env_remove("SSH_CONNECTION")
            .env("DUO_PASSCODE", typed.trim())
            .spawn()
            .expect("login_duo is installed (scripts/test.sh: login-duo)");
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    })
    .await
    .unwrap()
}

/// Run the Net::Duo script; its JSON lines.
async fn net_duo(d: &Keys, args: &[&str]) -> Vec<Value> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/duo_client.pl");
    let mut all = vec![d.ikey.clone(), d.skey.clone(), d.host.clone(), d.ca_file.display().to_string()];
    all.extend(args.iter().map(|a| a.to_string()));
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new("perl")
            .arg(script)
            .args(&all)
            .output()
            .expect("perl with Net::Duo (scripts/test.sh: libnet-duo-perl)");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<Value> =
            text.lines().map(|l| serde_json::from_str(l).unwrap_or(json!({"unparsed": l}))).collect();
        assert!(!lines.is_empty(), "no output: {}", String::from_utf8_lossy(&out.stderr));
        lines
    })
    .await
    .unwrap()
}

backend_tests! {
    async fn login_duo_runs_the_command_after_an_approved_push_and_not_after_a_decline(backend) {
        let d = duo_app(backend).await;
        // Not enrolled yet: login_duo is refused (failmode secure), nothing runs.
        let (ok, out) = login_duo(&d.keys, "alice", "").await;
        assert!(!ok && !out.contains("granted"), "{out}");
        let auth = activate(&d).await;

        let keys = d.keys.clone();
        let run = tokio::spawn(async move { login_duo(&keys, "alice", "").await });
        assert_eq!(approve_next(&auth, true).await, "Accept");
        let (ok, out) = run.await.unwrap();
        assert!(ok && out.contains("granted"), "{out}");

        let keys = d.keys.clone();
        let run = tokio::spawn(async move { login_duo(&keys, "alice", "").await });
        assert_eq!(approve_next(&auth, false).await, "Decline");
        let (ok, out) = run.await.unwrap();
        assert!(!ok && !out.contains("granted"), "{out}");

        // A wrong secret key: refused, nothing runs.
        let wrong = Keys { skey: "X".repeat(40), ..d.keys.clone() };
        let (ok, out) = login_duo(&wrong, "alice", "").await;
        assert!(!ok && !out.contains("granted"), "{out}");

        // The audit log names the integration on its failed calls and the device on the endings.
        let (_, log) = d.app.admin("GET", "/admin/v1/audit?tenant=example.com&limit=500", None).await;
        let kinds: Vec<(String, String)> = log["items"].as_array().unwrap().iter()
            .map(|e| (e["kind"].as_str().unwrap_or("").to_owned(), e["actor"].as_str().unwrap_or("").to_owned())).collect();
        assert!(kinds.iter().any(|(k, a)| k == "login_succeeded" && a.starts_with("device:")), "{kinds:?}");
        assert!(kinds.iter().any(|(k, a)| k == "login_failed" && a.starts_with("device:")), "{kinds:?}");
        d.app.stop().await.unwrap();
    }

    async fn login_duo_takes_a_token_code_instead_of_a_push(backend) {
        let d = duo_app(backend).await;
        let (s, e) = d.app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&d.key), Some(json!({}))).await;
        assert_eq!(s, 201, "{e}");
        let uri = e["otpauthURI"].as_str().unwrap();
        let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let totp = |offset: i64| {
            let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis() / 1000;
            let out = std::process::Command::new("oathtool")
                .args(["--totp", "-b", "--now", &format!("@{}", now + offset), &secret])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        let confirm = format!("/v1/users/alice@example.com/tokens/{}/confirm", e["tokenID"].as_str().unwrap());
        let (s, t) = d.app.call("POST", &confirm, Auth::Bearer(&d.key), Some(json!({"otp": totp(0)}))).await;
        assert_eq!(s, 200, "{t}");
        // No push this time: the user gives the token's next code.
        let (ok, out) = login_duo_typing(&d.keys, "alice", "", &totp(30)).await;
        assert!(ok && out.contains("granted"), "{out}");
        let (ok, out) = login_duo_typing(&d.keys, "alice", "", "000000").await;
        assert!(!ok && !out.contains("granted"), "{out}");
        d.app.stop().await.unwrap();
    }

    async fn net_duo_drives_preauth_async_auth_status_and_passcodes(backend) {
        let d = duo_app(backend).await;
        let check = net_duo(&d.keys, &["check"]).await;
        assert!(check[0]["time"].as_i64().is_some(), "{check:?}");
        let pre = net_duo(&d.keys, &["preauth", "alice"]).await;
        assert_eq!(pre[0]["result"], "enroll", "{pre:?}");
        let pre = net_duo(&d.keys, &["preauth", "nobody"]).await;
        assert_eq!(pre[0]["result"], "enroll", "{pre:?}");

        let auth = activate(&d).await;
        let pre = net_duo(&d.keys, &["preauth", "alice"]).await;
        assert_eq!(pre[0]["result"], "auth", "{pre:?}");
        let devices = pre[0]["devices"].as_array().unwrap();
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0]["device"].as_str(), Some(auth.state.device_id.as_str()));
        assert!(devices[0]["capabilities"].as_array().unwrap().contains(&json!("push")));

        // auth with async=1, then auth_status until the user answers.
        let keys = d.keys.clone();
        let run = tokio::spawn(async move { net_duo(&keys, &["push_async", "alice"]).await });
        // The push shows the pushinfo pairs.
        let mut seen = None;
        for _ in 0..400 {
            if let Some(r) = auth.pending().await.unwrap().into_iter().next() {
                seen = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let pending = seen.expect("a push");
        assert_eq!(pending.context.get("from").map(String::as_str), Some("Net::Duo"), "{:?}", pending.context);
        let answered = auth.respond(&pending.request_id, &Answer { approve: true, ..Default::default() }).await.unwrap();
        assert_eq!(answered.session_status, "Accept", "{pending:?}");
        let lines = run.await.unwrap();
        assert_eq!(lines[0]["txid"].as_str(), Some(pending.request_id.as_str()), "{lines:?}");
        let last = lines.last().unwrap();
        assert_eq!((last["result"].as_str(), last["status"].as_str()), (Some("allow"), Some("allow")), "{lines:?}");

        // A passcode that is no token code: denied, not an error.
        let out = net_duo(&d.keys, &["passcode", "alice", "123456"]).await;
        assert_eq!(out[0]["ok"], 0, "{out:?}");
        assert_eq!(out[0]["status"], "deny", "{out:?}");
        // An unknown user on auth: Duo's parameter error, as Net::Duo reports it.
        let out = net_duo(&d.keys, &["passcode", "nobody", "123456"]).await;
        assert!(out[0]["error"].as_str().unwrap_or("").contains("40002"), "{out:?}");
        d.app.stop().await.unwrap();
    }

    async fn enroll_creates_the_user_and_its_status_follows_the_activation(backend) {
        let d = duo_app(backend).await;
        let e = net_duo(&d.keys, &["enroll", "bob"]).await;
        let e = &e[0];
        assert_eq!(e["username"], "bob", "{e}");
        let (user_id, code) = (e["user_id"].as_str().unwrap().to_owned(), e["activation_code"].as_str().unwrap().to_owned());
        assert!(code.starts_with("countersign://activate?"), "{e}");
        assert!(e["activation_barcode"].as_str().unwrap().contains("/app/activate?"), "{e}");
        assert!(e["expiration"].as_i64().unwrap() > 1_700_000_000, "{e}");
        let (s, _) = d.app.admin("GET", "/admin/v1/tenants/example.com/users/bob", None).await;
        assert_eq!(s, 200, "the user was created");
        let st = net_duo(&d.keys, &["enroll_status", &user_id, &code]).await;
        assert_eq!(st[0]["status"], "waiting", "{st:?}");
        Authenticator::activate(&code, "1234", &ActivateOptions::default()).await.unwrap();
        let st = net_duo(&d.keys, &["enroll_status", &user_id, &code]).await;
        assert_eq!(st[0]["status"], "success", "{st:?}");
        // Another user's ID with this code: invalid.
        let carol = net_duo(&d.keys, &["enroll", "carol"]).await;
        let st = net_duo(&d.keys, &["enroll_status", carol[0]["user_id"].as_str().unwrap(), &code]).await;
        assert_eq!(st[0]["status"], "invalid", "{st:?}");
        let pre = net_duo(&d.keys, &["preauth", "bob"]).await;
        assert_eq!(pre[0]["result"], "auth", "{pre:?}");
        d.app.stop().await.unwrap();
    }

    async fn sms_and_phone_passcodes_are_sent_then_typed_back(backend) {
        let d = duo_app(backend).await;
        let (log, twilio) = crate::common::peers::twilio().await;
        let (s, b) = d.app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"sms": {
            "provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
            "baseUrl": format!("http://{twilio}")}}))).await;
        assert_eq!(s, 200, "{b}");
        let sent = net_duo(&d.keys, &["sms", "alice"]).await;
        assert_eq!(sent[0]["sent"], 1, "{sent:?}");
        let texts = || -> Vec<String> {
            log.lock().unwrap().iter()
                .filter_map(|s| crate::common::peers::url_decode(&s.body).into_iter().find(|(k, _)| k == "Body").map(|(_, v)| v))
                .collect()
        };
        crate::common::peers::eventually(15, async || texts().len() == 1).await;
        let code: String = texts()[0].split(|c: char| !c.is_ascii_digit()).find(|w| w.len() >= 6).unwrap().to_owned();
        let wrong = net_duo(&d.keys, &["passcode", "alice", "000000"]).await;
        assert_eq!((wrong[0]["ok"].as_i64(), wrong[0]["status"].as_str()), (Some(0), Some("deny")), "{wrong:?}");
        let right = net_duo(&d.keys, &["passcode", "alice", &code]).await;
        assert_eq!((right[0]["ok"].as_i64(), right[0]["status"].as_str()), (Some(1), Some("allow")), "{right:?}");
        let again = net_duo(&d.keys, &["passcode", "alice", &code]).await;
        assert_eq!(again[0]["ok"], 0, "a code works once: {again:?}");
        // factor=phone: a call reads a code out; typed back, it logs in.
        let called = net_duo(&d.keys, &["phone", "alice"]).await;
        assert_eq!((called[0]["ok"].as_i64(), called[0]["status"].as_str()), (Some(0), Some("sent")), "{called:?}");
        let calls = || crate::common::peers::twilio_calls(&log);
        crate::common::peers::eventually(15, async || calls().len() == 1).await;
        let (_, text) = crate::common::peers::said(&crate::common::peers::field(&calls()[0], "Twiml"));
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        let spoken = &digits[..6];
        let right = net_duo(&d.keys, &["passcode", "alice", spoken]).await;
        assert_eq!((right[0]["ok"].as_i64(), right[0]["status"].as_str()), (Some(1), Some("allow")), "{right:?}");
        d.app.stop().await.unwrap();
    }

    async fn an_integration_key_has_the_budget_of_an_api_key(backend) {
        // A day-long window: the four calls below fall in one.
        let limits = countersign::config::RawLimits {
            enabled: Some(true),
            window_seconds: Some(86_400),
            api_key: Some(3),
            ..countersign::config::RawLimits::default()
        };
        let d = duo_app_with(backend, countersign::config::RawConfig { limits: Some(limits), ..Default::default() }).await;
        for _ in 0..3 {
            let c = net_duo(&d.keys, &["check"]).await;
            assert!(c[0]["time"].as_i64().is_some(), "{c:?}");
        }
        let c = net_duo(&d.keys, &["check"]).await;
        assert!(c[0]["error"].as_str().unwrap_or("").contains("42901"), "{c:?}");
        // A wrong signature is refused as such, before any budget is looked at.
        let r = reqwest::Client::new().get(format!("{}/auth/v2/check", d.app.base))
            .basic_auth(&d.keys.ikey, Some("0".repeat(40))).header("date", httpdate_now()).send().await.unwrap();
        assert_eq!(r.status(), 401);
        d.app.stop().await.unwrap();
    }

    async fn bad_credentials_get_duo_failures(backend) {
        let d = duo_app(backend).await;
        let url = format!("{}/auth/v2/check", d.app.base);
        let r = reqwest::get(&url).await.unwrap();
        assert_eq!(r.status(), 401);
        let b: Value = r.json().await.unwrap();
        assert_eq!((b["stat"].as_str(), b["code"].as_i64()), (Some("FAIL"), Some(40101)), "{b}");
        // ping needs no credentials.
        let b: Value = reqwest::get(format!("{}/auth/v2/ping", d.app.base)).await.unwrap().json().await.unwrap();
        assert_eq!(b["stat"], "OK", "{b}");
        // An unknown integration key, a bad signature, a stale date.
        let client = reqwest::Client::new();
        let date = "Sat, 05 Dec 2020 21:30:00 GMT";
        for (ikey, code) in [("DIUNKNOWNUNKNOWN0000", 40102), (d.keys.ikey.as_str(), 40103)] {
            let r = client.get(&url).basic_auth(ikey, Some("0".repeat(40))).header("date", httpdate_now()).send().await.unwrap();
            let b: Value = r.json().await.unwrap();
            assert_eq!(b["code"].as_i64(), Some(code), "{b}");
        }
        let r = client.get(&url).basic_auth(&d.keys.ikey, Some("0".repeat(40))).header("date", date).send().await.unwrap();
        let b: Value = r.json().await.unwrap();
        assert_eq!(b["code"].as_i64(), Some(40105), "{b}");
        // The legacy BSON form answers in BSON.
        let r = client.post(format!("{}/rest/v1/preauth.bson", d.app.base)).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()["content-type"], "application/bson");
        d.app.stop().await.unwrap();
    }
}

fn httpdate_now() -> String {
    // `date -u -R`: RFC 2822, what Duo clients send.
    let out = std::process::Command::new("date").args(["-u", "-R"]).output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}
