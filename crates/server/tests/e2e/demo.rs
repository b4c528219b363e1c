//! The demo relying party at `/demo` (docs/web.md, "Demo relying party"): its back end
//! driven over HTTP as its page drives it — activation, push (synchronous, and
//! asynchronous with the number to show, followed through its event stream), an e-mail
//! code read from a real SMTP server, an SMS code from a Twilio-shaped server, TOTP with
//! codes from `oathtool`, QR login, the static password scored by the risk engine, and a
//! transfer whose amount the device signs — each answer listing the integration API
//! calls made, never the API key; and the page off unless asked for. The same page in
//! Chromium: [`the_demo_in_headless_chromium`].

use crate::common;
use std::time::Duration;

use crate::common::App;
use crate::common::peers::{Log, Smtp, eventually, recorder, serve_plain, url_decode};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_core::{Clock, SystemClock};
use countersign_store::testing::Backend;
use serde_json::{Value, json};

/// The server with the demo on, its e-mail going to `smtp` and its SMS to a
/// Twilio-shaped server (whose requests are in the log).
async fn demo_app(smtp: &Smtp) -> (App, Log) {
    let app = App::spawn_with(Backend::Sqlite, RawConfig { demo: Some(true), ..RawConfig::default() }).await;
    let log: Log = std::sync::Arc::default();
    let twilio = serve_plain(recorder(log.clone(), |_, _| (201, json!({"sid": "SM1"})))).await;
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/demo.example/providers",
            Some(json!({
                "email": {"host": "127.0.0.1", "port": smtp.port, "security": "plain",
                    "from": "Demo shop <no-reply@demo.example>"},
                "sms": {"provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
                    "baseUrl": format!("http://{twilio}")}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (app, log)
}

/// A post of the demo page to its back end (from its own origin, as a browser sends it).
async fn post(app: &App, path: &str, body: Value) -> (u16, Value) {
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .header("origin", &app.base)
        .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64) demo-test/1.0")
        .json(&body)
        .send()
        .await
        .unwrap();
    common::read(resp).await
}

/// The demo's answer checked: 200, this outcome, no API key in it; the paths it called.
fn expect(r: &(u16, Value), outcome: &str) -> Vec<String> {
    let (s, b) = r;
    assert_eq!((*s, b["outcome"].as_str()), (200, Some(outcome)), "{b}");
    let text = b.to_string();
    assert!(!text.contains("csk_"), "the API key reached the page: {text}");
    b["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| format!("{} {} {}", c["method"].as_str().unwrap(), c["path"].as_str().unwrap(), c["status"]))
        .collect()
}

/// The events the demo passes on for a session, until the stream ends.
async fn events(app: &App, id: &str) -> String {
    let resp = app.client.get(format!("{}/demo/api/sessions/{id}/events", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let text = tokio::time::timeout(Duration::from_secs(30), resp.text()).await.unwrap().unwrap();
    assert!(!text.contains("csk_"), "{text}");
    text
}

fn oathtool_at(secret: &str, unix: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now", &format!("@{unix}"), secret])
        .output()
        .expect("oathtool is installed (.ci/run)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn demo_back_end_logs_in_with_every_method_through_the_integration_api() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir, "plain", None);
    let (app, sms) = demo_app(&smtp).await;

    // The page: every asset from here, under the pages' security headers.
    let page = app.client.get(format!("{}/demo", app.base)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("Demo shop") && html.contains("/assets/demo."), "{html}");
    assert!(!html.contains("csk_"));

    // Activation: the QR payload the reference authenticator activates with.
    let r = post(&app, "/demo/api/activate", json!({"user": "alice"})).await;
    assert_eq!(expect(&r, "ok"), ["POST /v1/users/alice@demo.example/activations 201"]);
    let payload = r.1["data"]["qrPayload"].as_str().unwrap();
    assert!(r.1["data"]["qrPNG"].as_str().is_some_and(|p| p.len() > 100));
    let auth = Authenticator::activate(payload, "1234", &ActivateOptions::default()).await.unwrap();

    // Asynchronous push: at once, with the number; approved; the stream ends Accept.
    let r = post(&app, "/demo/api/push", json!({"user": "alice", "mode": "async"})).await;
    assert_eq!(expect(&r, "Pending"), ["POST /v1/users/alice@demo.example/login 200"]);
    assert_eq!(r.1["calls"][0]["request"]["timeout"], 0);
    let id = r.1["data"]["requestID"].as_str().unwrap().to_owned();
    let number = r.1["data"]["numberToShow"].as_u64().expect("number matching is on for asynchronous pushes") as u8;
    let answer = Answer { approve: true, pin: Some("1234"), number: Some(number), ..Answer::default() };
    assert_eq!(auth.respond(&id, &answer).await.unwrap().session_status, "Accept");
    let ev = events(&app, &id).await;
    assert!(ev.contains("event: state") && ev.contains(r#"\"sessionStatus\":\"Accept\""#), "{ev}");
    assert!(ev.contains(&format!("/v1/sessions/{id}/events")), "{ev}");

    // Synchronous push: the call returns once the device has answered.
    let sync = tokio::spawn({
        let (client, base) = (app.client.clone(), app.base.clone());
        async move {
            let resp = client
                .post(format!("{base}/demo/api/push"))
                .header("origin", &base)
                .json(&json!({"user": "alice", "mode": "sync"}))
                .send()
                .await
                .unwrap();
            common::read(resp).await
        }
    });
    let mut pending = Vec::new();
    for _ in 0..100 {
        pending = auth.pending().await.unwrap();
        if !pending.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(pending[0].message, "Sign in to the demo shop?", "{pending:?}");
    assert!(pending[0].number_choices.is_none(), "no number for a synchronous login");
    let answer = Answer { approve: true, pin: Some("1234"), ..Answer::default() };
    auth.respond(&pending[0].request_id, &answer).await.unwrap();
    let r = sync.await.unwrap();
    assert_eq!(expect(&r, "Accept"), ["POST /v1/users/alice@demo.example/login 200"]);
    assert_eq!(r.1["calls"][0]["request"]["timeout"], 60);

    // E-mail code: sent through the SMTP server; a wrong code, then the right one.
    let r = post(&app, "/demo/api/code", json!({"user": "alice", "channel": "email"})).await;
    expect(&r, "Pending");
    let id = r.1["data"]["requestID"].as_str().unwrap().to_owned();
    eventually(15, async || smtp.messages().len() == 1).await;
    let mail = smtp.messages().remove(0);
    assert!(mail.contains("To: alice@demo.example"), "{mail}");
    let text = mail.split("Content-Type: text/plain").nth(1).unwrap();
    let code: String = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().into();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(&app, "/demo/api/code/check", json!({"user": "alice", "requestID": id, "code": wrong})).await;
    expect(&r, "invalid_otp");
    let r = post(&app, "/demo/api/code/check", json!({"user": "alice", "requestID": id, "code": code})).await;
    assert_eq!(expect(&r, "Accept"), ["POST /v1/users/alice@demo.example/login 200"]);

    // SMS code: sent through the Twilio-shaped server, typed back.
    let r = post(&app, "/demo/api/code", json!({"user": "alice", "channel": "sms"})).await;
    expect(&r, "Pending");
    assert_eq!(r.1["calls"][0]["request"]["passKey"], "sms");
    let id = r.1["data"]["requestID"].as_str().unwrap().to_owned();
    eventually(15, async || !sms.lock().unwrap().is_empty()).await;
    let form = url_decode(&sms.lock().unwrap()[0].body);
    let text = form.iter().find(|(k, _)| k == "Body").map(|(_, v)| v.clone()).unwrap();
    assert_eq!(form.iter().find(|(k, _)| k == "To").map(|(_, v)| v.as_str()), Some("+15550100"));
    let code: String = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().into();
    let r = post(&app, "/demo/api/code/check", json!({"user": "alice", "requestID": id, "code": code})).await;
    expect(&r, "Accept");

    // TOTP: enrolled, confirmed with a code of now, then a login with the next step's.
    let r = post(&app, "/demo/api/totp/enrol", json!({"user": "alice"})).await;
    assert_eq!(expect(&r, "ok"), ["POST /v1/users/alice@demo.example/tokens 201"]);
    let uri = r.1["data"]["otpauthURI"].as_str().unwrap();
    let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let token = r.1["data"]["tokenID"].as_str().unwrap().to_owned();
    let now = SystemClock.now().0 / 1000;
    let r = post(
        &app,
        "/demo/api/totp/confirm",
        json!({"user": "alice", "tokenID": token,
        "code": oathtool_at(&secret, now)}),
    )
    .await;
    assert_eq!(expect(&r, "ok"), [format!("POST /v1/users/alice@demo.example/tokens/{token}/confirm 200")]);
    let r = post(&app, "/demo/api/totp", json!({"user": "alice", "code": oathtool_at(&secret, now + 30)})).await;
    expect(&r, "Accept");

    // QR login: no user name; the app claims it; the stream names alice.
    let r = post(&app, "/demo/api/qr", json!({})).await;
    assert_eq!(expect(&r, "Pending"), ["POST /v1/qr-logins 201"]);
    let id = r.1["data"]["requestID"].as_str().unwrap().to_owned();
    assert_eq!(auth.claim(r.1["data"]["qrPayload"].as_str().unwrap()).await.unwrap().session_status, "Accept");
    let ev = events(&app, &id).await;
    assert!(ev.contains(r#"\"userID\":\"alice\""#), "{ev}");

    // Static password with the risk engine: a new device is asked for the password.
    let cddc = json!({"userAgent": "demo-test", "screen": {"width": 1280, "height": 800}, "timezone": "UTC"});
    let r =
        post(&app, "/demo/api/password", json!({"user": "alice", "password": "wrong-password", "cddc": cddc})).await;
    expect(&r, "invalid_password");
    assert_eq!(r.1["data"]["riskResponseCode"], 2);
    let r = post(
        &app,
        "/demo/api/password",
        json!({"user": "alice", "password": countersign::demo::PASSWORD,
        "cddc": cddc}),
    )
    .await;
    let calls = expect(&r, "Accept");
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert_eq!(r.1["data"]["riskReasons"], json!(["new-device"]));
    assert_eq!(r.1["calls"][1]["request"]["passKey"], countersign::demo::PASSWORD);
    // Learned: the same browser is let in without the password.
    eventually(10, async || {
        let r = post(&app, "/demo/api/password", json!({"user": "alice", "password": "", "cddc": cddc})).await;
        r.1["data"]["riskResponseCode"] == 0
    })
    .await;

    // A transfer: the rule asks a push; the device shows, and signs, the amount.
    let r = post(
        &app,
        "/demo/api/transfer",
        json!({"user": "alice", "amount": 1250.5,
        "beneficiary": "NL91 ABNA 0417 1643 00", "cddc": cddc}),
    )
    .await;
    assert_eq!(expect(&r, "Pending"), ["POST /v1/users/alice@demo.example/events/validate 200"]);
    assert_eq!(r.1["data"]["riskResponseCode"], 6);
    assert_eq!(r.1["data"]["riskReasons"], json!(["transfer"]));
    let id = r.1["data"]["requestID"].as_str().unwrap().to_owned();
    let req = auth.request(&id).await.unwrap();
    assert_eq!(req.message, "Transfer 1250.50 EUR to NL91 ABNA 0417 1643 00?");
    assert_eq!(req.context.get("amount").map(String::as_str), Some("1250.50 EUR"), "{req:?}");
    let number = r.1["data"]["numberToShow"].as_u64().map(|n| n as u8);
    let answer = Answer { approve: true, pin: Some("1234"), number, ..Answer::default() };
    assert_eq!(auth.respond(&id, &answer).await.unwrap().session_status, "Accept");
    assert!(events(&app, &id).await.contains(r#"\"sessionStatus\":\"Accept\""#));
}

#[tokio::test]
async fn demo_back_end_refuses_other_origins_and_odd_names() {
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir, "plain", None);
    let (app, _sms) = demo_app(&smtp).await;
    let send = |origin: Option<&str>, body: Value| {
        let mut req = app.client.post(format!("{}/demo/api/push", app.base)).json(&body);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        async move { common::read(req.send().await.unwrap()).await }
    };
    let (s, b) = send(Some("https://evil.example"), json!({"user": "alice"})).await;
    assert_eq!((s, common::code(&b)), (403, "cross_origin"));
    let (s, b) = send(None, json!({"user": "alice"})).await;
    assert_eq!((s, common::code(&b)), (403, "cross_origin"), "no Origin: not the page");
    let (s, b) = post(&app, "/demo/api/push", json!({"user": "../../admin/v1/tenants"})).await;
    assert_eq!((s, b["error"]["field"].as_str()), (422, Some("user")), "{b}");
    // A form post (no JSON) is refused too.
    let resp = app
        .client
        .post(format!("{}/demo/api/push", app.base))
        .header("origin", &app.base)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("user=alice")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    // A user the tenant does not have: the API's answer, shown.
    let r = post(&app, "/demo/api/push", json!({"user": "mallory", "mode": "async"})).await;
    expect(&r, "user_not_found");
    // The page's key is the demo page's own, and a restart revokes the previous one.
    let (_, keys) = app.admin("GET", "/admin/v1/tenants/demo.example/api-keys", None).await;
    let names: Vec<&str> = keys["items"].as_array().unwrap().iter().filter_map(|k| k["name"].as_str()).collect();
    assert_eq!(names, [countersign::demo::PAGE_KEY_NAME]);
}

#[tokio::test]
async fn demo_is_off_unless_asked_for() {
    let app = App::spawn(Backend::Sqlite).await;
    for path in ["/demo", "/demo/passkey", "/demo/api/sessions/x/events"] {
        let resp = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 404, "{path}");
    }
    let (s, _) = post(&app, "/demo/api/push", json!({"user": "alice"})).await;
    assert_eq!(s, 404);
    let (s, _) = app.admin("GET", "/admin/v1/tenants/demo.example", None).await;
    assert_eq!(s, 404, "no demo tenant made");
}

/// The demo page in real Chromium (Debian's, driven by Playwright, tests/browser/demo.mjs):
/// every method signed in with, as a visitor does it — the push approved by the
/// `countersign-authenticator` CLI, the e-mail code read from aiosmtpd's Maildir, the TOTP
/// code from `oathtool`, the passkey from Chromium's virtual authenticator — and axe-core
/// finding no serious or critical violation. With COUNTERSIGN_SCREENSHOTS=1 the page is
/// saved as docs/img/demo.png. Needs `/usr/bin/chromium` and `npm ci` in tests/browser.
#[tokio::test]
async fn the_demo_in_headless_chromium() {
    let browser = common::browser_dir();
    let cli = crate::common::process::authenticator_bin();
    let dir = tempfile::tempdir().unwrap();
    let smtp = Smtp::start(&dir, "plain", None);
    let (app, _sms) = demo_app(&smtp).await;
    // Browsers allow passkeys on localhost, not on 127.0.0.1 (the demo's relying party
    // is `localhost` on this port).
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let url = format!("http://localhost:{port}/demo");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(browser.join("demo.mjs"))
        .arg(&url)
        .env("CS_AUTHENTICATOR", &cli)
        .env("CS_STORE", dir.path().join("alice.authenticator.json"))
        .env("CS_MAILDIR", &smtp.maildir)
        .env("CS_PASSWORD", countersign::demo::PASSWORD);
    if std::env::var("COUNTERSIGN_SCREENSHOTS").as_deref() == Ok("1") {
        let img = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img");
        std::fs::create_dir_all(&img).unwrap();
        cmd.env("CS_SCREENSHOT", img.join("demo.png"));
    }
    let out = tokio::time::timeout(Duration::from_secs(240), cmd.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    assert_eq!(r["problems"], json!([]), "no script error, no CSP violation: {r}");
    assert_eq!((r["axeBefore"].clone(), r["axeAfter"].clone()), (json!([]), json!([])), "accessibility: {r}");
    assert_eq!(r["activated"]["userID"], "alice", "{r}");
    assert_eq!(r["qrImage"], true);
    assert!(r["number"].as_str().is_some_and(|n| n.parse::<u8>().is_ok()), "the number was shown: {r}");
    for (step, how) in [
        ("pushAsync", "a push"),
        ("pushSync", "a push"),
        ("email", "a code by e-mail"),
        ("totp", "a TOTP code"),
        ("passkey", "a passkey"),
        ("qr", "a QR login"),
    ] {
        assert_eq!(r[step].as_str(), Some(format!("Signed in as alice with {how}.").as_str()), "{step}: {r}");
    }
    let followed = r["pushAsyncCalls"][1].as_str().unwrap_or("");
    assert_eq!(r["pushAsyncCalls"][0], "POST /v1/users/alice@demo.example/login", "{r}");
    assert!(followed.starts_with("GET /v1/sessions/") && followed.ends_with("/events"), "{r}");
    assert_eq!(r["password"], "Signed in as alice with a password. Risk rule: new-device.", "{r}");
    assert_eq!(r["passwordCalls"].as_array().map(Vec::len), Some(2), "risk engine, then the password: {r}");
    assert_eq!(r["transferMessage"], "Transfer 1250.00 EUR to NL91 ABNA 0417 1643 00?");
    assert!(r["transfer"].as_str().unwrap().starts_with("Transfer of 1250.00 EUR"), "{r}");
    assert_eq!(r["transferCalls"][0], "POST /v1/users/alice@demo.example/events/validate");
    assert_eq!(r["signedIn"], "Signed in as alice (a password)", "{r}");
    assert_eq!(r["credentials"], 1);
    assert!(r["overflow"].as_i64().is_some_and(|o| o <= 0), "usable at 360 px: {r}");

    // What the browser did is stored: the passkey (used), the device, the TOTP token.
    let (_, creds) = app.admin("GET", "/admin/v1/tenants/demo.example/users/alice/fido-credentials", None).await;
    assert_eq!(creds["items"][0]["name"], "demo browser", "{creds}");
    assert!(creds["items"][0]["lastUsedAt"].is_string(), "{creds}");
    // A discoverable passkey, as the demo's relying party requires (Chromium reports credProps).
    assert_eq!(
        (creds["items"][0]["discoverable"].as_bool(), creds["items"][0]["userVerified"].as_bool()),
        (Some(true), Some(true)),
        "{creds}"
    );
    let (_, devices) = app.admin("GET", "/admin/v1/tenants/demo.example/users/alice/devices", None).await;
    assert_eq!(devices["items"].as_array().map(Vec::len), Some(1), "{devices}");
}
