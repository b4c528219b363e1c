//! No secret at rest or in the logs (docs/security.md, "Secrets at rest"): the binary
//! runs every method once — activation, push, push with PIN, SMS and e-mail codes, TOTP,
//! a static password, a signed callback with Basic credentials, SMS and SMTP provider
//! credentials — then its standard error, the SQLite file's bytes (database and
//! write-ahead log) and every text value of every table (both backends) are searched for
//! each secret the run used: none is found.

use std::time::Duration;

use crate::common::peers::*;
use crate::common::process::{Served, command};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_store::backend_tests;
use countersign_store::testing::TestDb;
use serde_json::{Value, json};

const PIN: &str = "73915846";

/// Where `secret` occurs in `text`. A secret of digits only counts where it stands alone
/// (no digit right before or after it), so that a 6-digit code is not "found" inside a
/// longer number such as a timestamp.
fn found(text: &[u8], secret: &str) -> bool {
    let s = secret.as_bytes();
    let digits = s.iter().all(u8::is_ascii_digit);
    text.windows(s.len()).enumerate().any(|(i, w)| {
        w == s
            && (!digits
                || (!text.get(i.wrapping_sub(1)).is_some_and(u8::is_ascii_digit)
                    && !text.get(i + s.len()).is_some_and(u8::is_ascii_digit)))
    })
}

fn oathtool_totp(secret_b32: &str, unix: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now", &format!("@{unix}"), secret_b32])
        .output()
        .expect("oathtool is installed (.ci/run)");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn base32_decode(text: &str) -> Vec<u8> {
    let (mut bits, mut n, mut out) = (0u64, 0, Vec::new());
    for c in text.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {text}"),
        };
        bits = (bits << 5) | u64::from(v);
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    out
}

fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() >= 4)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .into()
}

fn query(uri: &str, name: &str) -> String {
    uri.split(['?', '&']).find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().to_owned()
}

backend_tests! {
    async fn no_secret_reaches_the_logs_or_the_database_after_every_method(backend) {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(backend).await;
        let unique = || uuid::Uuid::new_v4().simple().to_string();
        let (twilio_token, smtp_password, callback_password, static_password) =
            (format!("tw-{}", unique()), format!("smtp-{}", unique()), format!("cbpw-{}", unique()), format!("Tr0ub4dor&3-{}", unique()));
        let smtp = Smtp::start_with(&dir, "auth", None, ("mailer", &smtp_password));
        let log_path = dir.path().join("server.log");
        let mut cmd = command(dir.path());
        cmd.args(["--data-dir", "data", "--database", &db.url, "serve", "--listen", "127.0.0.1:0"])
            .env("COUNTERSIGN_PASSWORD_MEMORY_KIB", "1024")
            .env("COUNTERSIGN_PASSWORD_ITERATIONS", "1")
            // The most the server ever writes: request lines are logged at debug.
            .env("COUNTERSIGN_LOG_LEVEL", "info,countersign=debug,countersign_http=debug")
            .stderr(std::fs::File::create(&log_path).unwrap());
        let server = Served::start(cmd).await;
        let admin = server.token.clone().unwrap();
        let call = |m: &'static str, p: String, b: Option<Value>, cred: String| {
            let server = &server;
            async move { server.call(m, &p, &cred, b).await }
        };
        let ok = |r: (u16, Value)| {
            assert!((200..300).contains(&r.0), "{} {}", r.0, r.1);
            r.1
        };
        ok(call("POST", "/admin/v1/tenants".into(), Some(json!({"domain": "example.com"})), admin.clone()).await);
        ok(call("PATCH", "/admin/v1/tenants/example.com".into(), Some(json!({"settings": {"numberMatching": false}})), admin.clone()).await);
        ok(call("POST", "/admin/v1/tenants/example.com/users".into(),
            Some(json!({"userID": "alice", "phone": "+15550100", "email": "alice@example.com"})), admin.clone()).await);
        ok(call("POST", "/admin/v1/tenants/example.com/users".into(),
            Some(json!({"userID": "bob", "email": "bob@example.com", "vdpDeliveryMethod": "Email"})), admin.clone()).await);
        let key = ok(call("POST", "/admin/v1/tenants/example.com/api-keys".into(), Some(json!({"name": "web"})), admin.clone()).await)["key"]
            .as_str().unwrap().to_owned();
        let login = |user: &'static str, body: Value| call("POST", format!("/v1/users/{user}@example.com/login"), Some(body), key.clone());

        // Providers with credentials: Twilio and an SMTP server that requires AUTH.
        let (twilio, addr) = twilio().await;
        ok(call("PUT", "/admin/v1/tenants/example.com/providers".into(), Some(json!({
            "sms": {"provider": "twilio", "accountSid": "AC1", "authToken": twilio_token, "from": "+15550001111",
                    "baseUrl": format!("http://{addr}")},
            "email": {"host": "127.0.0.1", "port": smtp.port, "security": "plain", "username": "mailer",
                      "password": smtp_password, "from": "Bank <no-reply@bank.example>"}})), admin.clone()).await);
        // Callbacks with Basic credentials and a signing secret.
        let hook: Log = Default::default();
        let hook_url = format!("http://{}/callback", serve_plain(recorder(hook.clone(), |_, _| (200, json!({})))).await);
        ok(call("PUT", "/admin/v1/tenants/example.com/callbacks".into(),
            Some(json!({"endpoints": [{"url": hook_url, "username": "rp", "password": callback_password}]})), admin.clone()).await);
        let callback_secret = ok(call("POST", "/admin/v1/tenants/example.com/callbacks/secret".into(), None, admin.clone()).await)["secret"]
            .as_str().unwrap().to_owned();

        // Activation (its code), then a push and a push with PIN.
        let a = ok(call("POST", "/v1/users/alice@example.com/activations".into(), None, key.clone()).await);
        let payload = a["qrPayload"].as_str().unwrap().to_owned();
        let activation_code = query(&payload, "code");
        let device = Authenticator::activate(&payload, PIN, &ActivateOptions::default()).await.unwrap();
        for (pass_key, pin) in [("push", None), ("PIN", Some(PIN))] {
            let out = ok(login("alice", json!({"passKey": pass_key, "timeout": 0, "callbackURL": hook_url})).await);
            let id = out["requestID"].as_str().unwrap();
            device.respond(id, &Answer { approve: true, pin, ..Default::default() }).await.unwrap();
        }
        // An SMS code and an e-mail code, read from what was delivered.
        let out = ok(login("alice", json!({"passKey": "votp"})).await);
        eventually(10, async || !twilio.lock().unwrap().is_empty()).await;
        let sms = field(&url_decode(&twilio.lock().unwrap()[0].body), "Body");
        let sms_code = code_in(&sms);
        let b = ok(login("alice", json!({"requestID": out["requestID"], "passKey": sms_code})).await);
        assert_eq!(b["sessionStatus"], "Accept");
        let out = ok(login("bob", json!({"passKey": "votp"})).await);
        eventually(15, async || smtp.messages().len() == 1).await;
        let mail = smtp.messages().remove(0);
        let email_code = code_in(mail.split("Content-Type: text/plain").nth(1).unwrap());
        let b = ok(login("bob", json!({"requestID": out["requestID"], "passKey": email_code})).await);
        assert_eq!(b["sessionStatus"], "Accept");
        // A TOTP token: enrolled, confirmed, used.
        let e = ok(call("POST", "/v1/users/alice@example.com/tokens".into(), Some(json!({})), key.clone()).await);
        let seed_b32 = query(e["otpauthURI"].as_str().unwrap(), "secret");
        let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis() / 1000;
        let confirm_code = oathtool_totp(&seed_b32, now);
        ok(call("POST", format!("/v1/users/alice@example.com/tokens/{}/confirm", e["tokenID"].as_str().unwrap()),
            Some(json!({"otp": confirm_code})), key.clone()).await);
        let totp_code = oathtool_totp(&seed_b32, now + 30);
        let b = ok(login("alice", json!({"passKey": "totp", "otp": totp_code})).await);
        assert_eq!(b["sessionStatus"], "Accept", "{b}");
        // A static password.
        ok(call("PUT", "/admin/v1/tenants/example.com/users/alice/static-password".into(),
            Some(json!({"password": static_password, "graceDays": 30})), admin.clone()).await);
        ok(call("PUT", "/admin/v1/tenants/example.com/auth-types/password".into(),
            Some(json!({"method": "static_password"})), admin.clone()).await);
        let out = ok(login("alice", json!({"passKey": "password", "timeout": 0})).await);
        let b = ok(login("alice", json!({"requestID": out["requestID"], "passKey": static_password})).await);
        assert_eq!(b["sessionStatus"], "Accept", "{b}");
        // The callbacks arrived, signed and with the Basic credentials.
        eventually(10, async || hook.lock().unwrap().len() >= 2).await;
        for seen in hook.lock().unwrap().iter() {
            let ts: i64 = header(seen, "x-cs-timestamp").parse().unwrap();
            let raw = String::from_utf8(seen.body.clone()).unwrap();
            assert_eq!(header(seen, "x-cs-signature"), countersign_core::delivery::callbacks::signature(&callback_secret, ts, &raw).unwrap());
            assert_eq!(header(seen, "authorization"), format!("Basic {}", STANDARD.encode(format!("rp:{callback_password}"))));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;

        let master_b64u = std::fs::read_to_string(dir.path().join("data/countersign.key")).unwrap().trim().to_owned();
        let master = countersign_proto::b64u_decode(&master_b64u).unwrap();
        let seed_hex = hex_encode(&base32_decode(&seed_b32));
        let secrets: Vec<(&str, String)> = vec![
            ("activation code", activation_code),
            ("activation payload", payload),
            ("PIN", PIN.into()),
            ("SMS code", sms_code),
            ("e-mail code", email_code),
            ("TOTP seed (base32)", seed_b32.clone()),
            ("TOTP seed (hex)", seed_hex),
            ("TOTP code", totp_code),
            ("static password", static_password),
            ("API key", key.clone()),
            ("admin token", admin.clone()),
            ("callback secret", callback_secret),
            ("callback password", callback_password),
            ("Twilio auth token", twilio_token),
            ("SMTP password", smtp_password),
            ("master key (base64url)", master_b64u),
            ("master key (base64)", STANDARD.encode(&master)),
            ("master key (hex)", hex_encode(&master)),
        ];
        let rows = db.text_values().await;
        assert!(rows.iter().any(|(c, _)| c == "tenant_callbacks.config"), "the dump reads every table");
        let live_bytes = db.file_bytes();
        assert!(server.terminate().await.success());
        let log = std::fs::read(&log_path).unwrap();
        assert!(found(&log, "/v1/users/{user}/login"), "the log has request lines");
        let closed_bytes = db.file_bytes();
        for (what, secret) in &secrets {
            assert!(!found(&log, secret), "{what} is in the server's log");
            assert!(!found(&live_bytes, secret) && !found(&closed_bytes, secret), "{what} is in the SQLite files' bytes");
            for (column, value) in &rows {
                assert!(!found(value.as_bytes(), secret), "{what} is in {column}");
            }
        }
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn digits_count_only_standing_alone() {
    assert!(found(b"code 123456.", "123456") && found(b"123456", "123456"));
    assert!(!found(b"ts 1712345678901", "123456"));
    assert!(found(b"xx-secret-yy", "secret") && !found(b"nothing", "secret"));
}
