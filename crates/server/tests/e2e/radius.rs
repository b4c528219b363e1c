//! RADIUS end to end (docs/radius.md), with FreeRADIUS's `radclient` (Debian package
//! `freeradius-utils`) as the client no one here wrote: a static password then a push
//! approved or declined on the reference authenticator; a code by e-mail through a real
//! SMTP server asked for with Access-Challenge; a password with a TOTP code; Status-Server;
//! and, with packets built here, a missing Message-Authenticator, a wrong secret and a
//! retransmission answered once.

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_core::{FixedClock, Timestamp};
use countersign_radius::packet;
use countersign_store::backend_tests;
use serde_json::{Value, json};

use crate::common::peers::{Smtp, eventually};
use crate::common::{App, Auth};

const PASSWORD: &str = "correct horse battery";
const SECRET: &str = "radius-shared-secret-0123";

/// A free UDP port on loopback (taken, then let go for the server to bind).
fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

struct Radius {
    app: App,
    port: u16,
    key: String,
}

/// The app answering RADIUS; tenant example.com with alice (static password set), and a
/// RADIUS client for 127.0.0.1 with `client`'s settings.
async fn radius_app(
    backend: countersign_store::testing::Backend,
    client: Value,
    clock: Option<Arc<FixedClock>>,
) -> Radius {
    let port = free_udp_port();
    let raw = RawConfig {
        radius_listen: Some(format!("127.0.0.1:{port}")),
        password_memory_kib: Some(1024),
        password_iterations: Some(1),
        ..RawConfig::default()
    };
    let app = App::spawn_full(backend, raw, clock.map(|c| c as Arc<dyn countersign_core::Clock>)).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app
        .admin("PUT", "/admin/v1/tenants/example.com/users/alice/static-password", Some(json!({"password": PASSWORD})))
        .await;
    assert_eq!(s, 200, "{b}");
    let mut body = json!({"name": "vpn", "network": "127.0.0.1", "secret": SECRET});
    for (k, v) in client.as_object().unwrap() {
        body[k] = v.clone();
    }
    let (s, c) = app.admin("POST", "/admin/v1/tenants/example.com/radius-clients", Some(body)).await;
    assert_eq!(s, 201, "{c}");
    assert_eq!(c["secret"], SECRET);
    Radius { app, port, key }
}

/// What `radclient` printed: the answer's code name (`Access-Accept` …, or `none`) and
/// its attributes as `name = value` lines.
#[derive(Debug)]
struct Reply {
    code: String,
    attrs: Vec<(String, String)>,
}

impl Reply {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// Send one Access-Request (or Status-Server with `command` "status") with `radclient`.
async fn radclient(port: u16, command: &str, secret: &str, attrs: impl Into<String>, timeout_secs: u32) -> Reply {
    let (command, secret, attrs) = (command.to_owned(), secret.to_owned(), attrs.into());
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = std::process::Command::new("radclient")
            .args(["-x", "-r", "1", "-t", &timeout_secs.to_string(), &format!("127.0.0.1:{port}"), &command, &secret])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("radclient is installed (scripts/test.sh: freeradius-utils)");
        child.stdin.take().unwrap().write_all(attrs.as_bytes()).unwrap();
        let out = child.wait_with_output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let code = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Received ").and_then(|r| r.split_whitespace().next()))
            .unwrap_or("none")
            .to_owned();
        // The attributes follow the "Received" line, indented.
        let attrs = text
            .split_once("Received ")
            .map(|(_, rest)| {
                rest.lines()
                    .skip(1)
                    .filter_map(|l| l.trim().split_once(" = "))
                    .map(|(n, v)| (n.trim().to_owned(), v.trim().trim_matches('"').to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Reply { code, attrs }
    })
    .await
    .unwrap()
}

fn request_attrs(user: &str, password: &str, extra: &str) -> String {
    format!("User-Name = \"{user}\", User-Password = \"{password}\", Message-Authenticator = 0x00{extra}\n")
}

async fn activate(r: &Radius) -> Authenticator {
    let (s, a) = r.app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&r.key), None).await;
    assert_eq!(s, 201, "{a}");
    Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap()
}

async fn wait_pending(auth: &Authenticator) -> countersign_proto::messages::PendingRequest {
    for _ in 0..200 {
        if let Some(r) = auth.pending().await.unwrap().into_iter().next() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pending request arrived");
}

async fn audit_kinds(app: &App) -> Vec<(String, String)> {
    let (s, b) = app.admin("GET", "/admin/v1/audit?tenant=example.com&limit=500", None).await;
    assert_eq!(s, 200, "{b}");
    b["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["kind"].as_str().unwrap_or("").to_owned(), e["actor"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// Send `bytes` from a socket of our own and wait up to `secs` for one answer.
fn exchange(port: u16, socket: &UdpSocket, bytes: &[u8], secs: u64) -> Option<Vec<u8>> {
    socket.set_read_timeout(Some(Duration::from_secs(secs))).unwrap();
    socket.send_to(bytes, ("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 4096];
    socket.recv_from(&mut buf).ok().map(|(n, _)| buf[..n].to_vec())
}

backend_tests! {
    async fn a_password_then_a_push_is_accepted_on_approval_and_rejected_on_decline(backend) {
        let r = radius_app(backend, json!({"policy": "password_push"}), None).await;
        let auth = activate(&r).await;

        // Approve: radclient waits while the push is answered.
        let waiting = tokio::spawn(radclient(r.port, "auth", SECRET, request_attrs("alice", PASSWORD, ""), 30));
        let pending = wait_pending(&auth).await;
        assert_eq!(auth.respond(&pending.request_id, &Answer { approve: true, ..Default::default() }).await.unwrap().session_status, "Accept");
        let reply = waiting.await.unwrap();
        assert_eq!(reply.code, "Access-Accept", "{reply:?}");

        // Decline: rejected, saying so.
        let waiting = tokio::spawn(radclient(r.port, "auth", SECRET, request_attrs("alice", PASSWORD, ""), 30));
        let pending = wait_pending(&auth).await;
        auth.respond(&pending.request_id, &Answer::default()).await.unwrap();
        let reply = waiting.await.unwrap();
        assert_eq!(reply.code, "Access-Reject", "{reply:?}");
        assert_eq!(reply.attr("Reply-Message"), Some("The request was declined."), "{reply:?}");

        // A wrong password: rejected at once, nothing pushed; an unknown user looks the same.
        let reply = radclient(r.port, "auth", SECRET, request_attrs("alice", "wrong", ", Calling-Station-Id = \"192.0.2.9\""), 10).await;
        assert_eq!((reply.code.as_str(), reply.attr("Reply-Message")), ("Access-Reject", Some("Wrong password or code.")));
        let reply = radclient(r.port, "auth", SECRET, request_attrs("mallory", "wrong", ""), 10).await;
        assert_eq!((reply.code.as_str(), reply.attr("Reply-Message")), ("Access-Reject", Some("Wrong password or code.")));
        assert!(auth.pending().await.unwrap().is_empty());

        // The audit log names the RADIUS client; the password failure counted.
        let kinds = audit_kinds(&r.app).await;
        let (_, clients) = r.app.admin("GET", "/admin/v1/tenants/example.com/radius-clients", None).await;
        let clients = clients["items"].clone();
        assert!(clients[0].get("secret").is_none(), "the secret is never listed: {clients}");
        let actor = format!("radius-client:{}", clients[0]["id"].as_str().unwrap());
        // The sessions' endings name the device that answered; the wrong password, the client.
        assert!(kinds.iter().any(|(k, a)| k == "login_succeeded" && a.starts_with("device:")), "{kinds:?}");
        assert_eq!(kinds.iter().filter(|(k, a)| k == "login_failed" && a == &actor).count(), 1, "{kinds:?}");

        // The risk engine counted the failure from its address (only the wrong password came
        // from 192.0.2.9): a velocity rule declines the next adaptive login from there.
        let (s, b) = r.app.admin("PUT", "/admin/v1/tenants/example.com/risk", Some(json!({"rules": [
            {"id": "velocity", "when": {"fact": "velocity.ipFailures", "gte": 1}, "then": "decline"},
            {"id": "rest", "when": {"always": true}, "then": "accept"}]}))).await;
        assert_eq!(s, 200, "{b}");
        let cddc = json!({"userAgent": "Chrome/120", "language": "en-GB", "platform": "MacIntel", "timezone": "Europe/Amsterdam",
            "screen": {"width": 1680, "height": 1050, "colorDepth": 30}, "hardwareConcurrency": 8, "timestamp": 1_800_000_000_000_i64});
        let (s, out) = r.app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&r.key),
            Some(json!({"cddc": cddc, "ipAddress": "192.0.2.9", "sessionID": "S1", "timeout": 0}))).await;
        assert_eq!((s, out["riskReasons"][0].as_str()), (200, Some("velocity")), "{out}");

        // Status-Server answers for health checks; metrics count by result.
        let reply = radclient(r.port, "status", SECRET, "Message-Authenticator = 0x00\n", 5).await;
        assert_eq!(reply.code, "Access-Accept", "{reply:?}");
        let metrics = r.app.client.get(format!("{}/metrics", r.app.base)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("countersign_radius_requests_total{result=\"accept\"} 1"), "{metrics}");
        assert!(metrics.contains("countersign_radius_requests_total{result=\"reject\"} 3"), "{metrics}");
        assert!(metrics.contains("countersign_radius_requests_total{result=\"status\"} 1"), "{metrics}");
        r.app.stop().await.unwrap();
    }

    async fn a_code_by_email_is_asked_for_with_access_challenge(backend) {
        let dir = tempfile::tempdir().unwrap();
        let smtp = Smtp::start(&dir, "plain", None);
        let r = radius_app(backend, json!({"policy": "password_challenge", "secondFactor": "email"}), None).await;
        let (s, b) = r.app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"email": {
            "host": "127.0.0.1", "port": smtp.port, "security": "plain", "from": "Bank <no-reply@bank.example>"}}))).await;
        assert_eq!(s, 200, "{b}");

        let first = radclient(r.port, "auth", SECRET, request_attrs("alice", PASSWORD, ""), 10).await;
        assert_eq!(first.code, "Access-Challenge", "{first:?}");
        assert_eq!(first.attr("Reply-Message"), Some("Enter the code sent to you by e-mail."), "{first:?}");
        let state = first.attr("State").unwrap().to_owned();
        assert!(state.starts_with("0x"), "{first:?}");
        eventually(15, async || smtp.messages().len() == 1).await;
        let mail = smtp.messages().remove(0);
        assert!(mail.contains("To: alice@example.com"), "{mail}");
        let text = mail.split("Content-Type: text/plain").nth(1).unwrap();
        let code: String = text.split(|c: char| !c.is_ascii_digit()).find(|w| w.len() == 6).unwrap().to_owned();

        // A wrong code: asked again, same State, attempts left said.
        let wrong = radclient(r.port, "auth", SECRET, request_attrs("alice", "000000", &format!(", State = {state}")), 10).await;
        assert_eq!(wrong.code, "Access-Challenge", "{wrong:?}");
        assert_eq!(wrong.attr("State"), Some(state.as_str()));
        assert_eq!(wrong.attr("Reply-Message"), Some("Wrong code. 2 tries left."), "{wrong:?}");
        // The State is bound to alice: another user cannot answer it.
        let other = radclient(r.port, "auth", SECRET, request_attrs("bob", &code, &format!(", State = {state}")), 10).await;
        assert_eq!(other.code, "Access-Reject", "{other:?}");
        // The right code.
        let right = radclient(r.port, "auth", SECRET, request_attrs("alice", &code, &format!(", State = {state}")), 10).await;
        assert_eq!(right.code, "Access-Accept", "{right:?}");
        // Used: the same answer again is refused.
        let again = radclient(r.port, "auth", SECRET, request_attrs("alice", &code, &format!(", State = {state}")), 10).await;
        assert_eq!(again.code, "Access-Reject", "{again:?}");
        r.app.stop().await.unwrap();
    }

    async fn a_password_with_a_token_code_is_one_request_and_each_code_works_once(backend) {
        const T0: i64 = 1_800_000_000;
        let clock = Arc::new(FixedClock::new(Timestamp(T0 * 1000)));
        let r = radius_app(backend, json!({"policy": "password_code"}), Some(clock.clone())).await;
        let (s, e) = r.app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&r.key), Some(json!({}))).await;
        assert_eq!(s, 201, "{e}");
        let uri = e["otpauthURI"].as_str().unwrap();
        let secret = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let totp = |unix: i64| {
            let out = std::process::Command::new("oathtool")
                .args(["--totp", "-b", "--now", &format!("@{unix}"), &secret])
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        let confirm = format!("/v1/users/alice@example.com/tokens/{}/confirm", e["tokenID"].as_str().unwrap());
        let (s, t) = r.app.call("POST", &confirm, Auth::Bearer(&r.key), Some(json!({"otp": totp(T0)}))).await;
        assert_eq!(s, 200, "{t}");
        clock.advance(30_000);
        let code = totp(T0 + 30);
        let ok = radclient(r.port, "auth", SECRET, request_attrs("alice", &format!("{PASSWORD}{code}"), ""), 10).await;
        assert_eq!(ok.code, "Access-Accept", "{ok:?}");
        let replay = radclient(r.port, "auth", SECRET, request_attrs("alice", &format!("{PASSWORD}{code}"), ""), 10).await;
        assert_eq!(replay.code, "Access-Reject", "a code works once: {replay:?}");
        let wrong_pw = radclient(r.port, "auth", SECRET, request_attrs("alice", &format!("nope{code}"), ""), 10).await;
        assert_eq!(wrong_pw.code, "Access-Reject", "{wrong_pw:?}");
        r.app.stop().await.unwrap();
    }

    async fn unsigned_wrongly_signed_and_repeated_requests(backend) {
        let r = radius_app(backend, json!({"policy": "password_push"}), None).await;
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let ra = [7u8; 16];
        let attrs = [(packet::USER_NAME, b"alice".to_vec()), (packet::USER_PASSWORD, b"wrong".to_vec())];
        // A wrong secret: dropped (radclient gets no answer).
        let reply = radclient(r.port, "auth", "not-the-secret-at-all", request_attrs("alice", PASSWORD, ""), 2).await;
        assert_eq!(reply.code, "none", "{reply:?}");
        // No Message-Authenticator: dropped, even with the right secret.
        let reply = radclient(r.port, "auth", SECRET, format!("User-Name = \"alice\", User-Password = \"{PASSWORD}\"\n"), 2).await;
        assert_eq!(reply.code, "none", "{reply:?}");
        // A retransmission (same identifier and authenticator) gets the same answer, and the
        // password is checked once.
        let req = packet::request(packet::ACCESS_REQUEST, 42, ra, &attrs, SECRET.as_bytes());
        let first = exchange(r.port, &socket, &req, 10).expect("an answer");
        assert_eq!(first[0], packet::ACCESS_REJECT);
        assert!(packet::response_ok(&first, &ra, SECRET.as_bytes()), "signed with the secret");
        assert_eq!(first[20], packet::MESSAGE_AUTHENTICATOR, "Message-Authenticator first");
        let second = exchange(r.port, &socket, &req, 10).expect("an answer");
        assert_eq!(first, second);
        let failed = async || audit_kinds(&r.app).await.iter().filter(|(k, _)| k == "login_failed").count();
        assert_eq!(failed().await, 1, "the password was checked once");
        // A new request (another authenticator) is checked again.
        let other = packet::request(packet::ACCESS_REQUEST, 42, [8u8; 16], &attrs, SECRET.as_bytes());
        assert_eq!(exchange(r.port, &socket, &other, 10).expect("an answer")[0], packet::ACCESS_REJECT);
        assert_eq!(failed().await, 2);
        // Garbage is dropped and the server goes on answering.
        assert!(exchange(r.port, &socket, &[1, 2, 3], 1).is_none());
        let reply = radclient(r.port, "status", SECRET, "Message-Authenticator = 0x00\n", 5).await;
        assert_eq!(reply.code, "Access-Accept", "{reply:?}");
        r.app.stop().await.unwrap();
    }

    async fn radius_clients_are_checked_and_kept_apart(backend) {
        let r = radius_app(backend, json!({}), None).await;
        let post = |body: Value| r.app.admin("POST", "/admin/v1/tenants/example.com/radius-clients", Some(body));
        let (s, b) = post(json!({"name": "vpn", "network": "10.0.0.0/8"})).await;
        assert_eq!((s, crate::common::code(&b)), (409, "radius_client_name_taken"), "{b}");
        let (s, b) = post(json!({"name": "lan", "network": "127.0.0.0/8"})).await;
        assert_eq!((s, crate::common::code(&b)), (409, "radius_network_overlap"), "{b}");
        let (s, b) = post(json!({"name": "wifi", "network": "10.1.2.3/40"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("network")), "{b}");
        let (s, b) = post(json!({"name": "wifi", "network": "10.1.0.0/16", "secret": "short"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("secret")), "{b}");
        let (s, b) = post(json!({"name": "wifi", "network": "10.1.0.0/16", "secondFactor": "nothing"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("secondFactor")), "{b}");
        let (s, b) = post(json!({"name": "wifi", "network": "10.1.2.3/16", "policy": "password_challenge"})).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!((b["network"].as_str(), b["secondFactor"].as_str()), (Some("10.1.0.0/16"), Some("email")));
        assert_eq!(b["secret"].as_str().unwrap().len(), 32, "a generated secret: {b}");
        // Another tenant cannot take an overlapping block either.
        let (s, _) = r.app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "other.example"}))).await;
        assert_eq!(s, 201);
        let (s, b) = r.app.admin("POST", "/admin/v1/tenants/other.example/radius-clients",
            Some(json!({"name": "vpn", "network": "10.1.200.0/24"}))).await;
        assert_eq!((s, crate::common::code(&b)), (409, "radius_network_overlap"), "{b}");
        // Removed: its requests are dropped.
        let id = b.get("id").cloned();
        assert!(id.is_none());
        let (_, list) = r.app.admin("GET", "/admin/v1/tenants/example.com/radius-clients", None).await;
        let list = list["items"].clone();
        let vpn = list.as_array().unwrap().iter().find(|c| c["name"] == "vpn").unwrap()["id"].as_str().unwrap().to_owned();
        let (s, _) = r.app.admin("DELETE", &format!("/admin/v1/tenants/other.example/radius-clients/{vpn}"), None).await;
        assert_eq!(s, 404, "another tenant's client is not found");
        let (s, _) = r.app.admin("DELETE", &format!("/admin/v1/tenants/example.com/radius-clients/{vpn}"), None).await;
        assert_eq!(s, 204);
        let reply = radclient(r.port, "status", SECRET, "Message-Authenticator = 0x00\n", 2).await;
        assert_eq!(reply.code, "none", "{reply:?}");
        r.app.stop().await.unwrap();
    }
}
