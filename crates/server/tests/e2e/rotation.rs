//! Master-key rotation while the server serves (docs/security.md, "Keys and rotation"),
//! with the real binary on both backends: `countersign admin rotate-key` runs while
//! logins keep coming — SMS codes through a Twilio-shaped server (the tenant's sealed
//! credentials), custom-delivery codes (sealed in the session), HOTP tokens (sealed
//! seeds), Web Push (the app's sealed VAPID key), signed callbacks (the sealed callback
//! secret) — and every one keeps working during and after it; `retire-keys` refuses while
//! a code hashed under the old key is usable or a value is still sealed under it, then
//! retires it, and nothing in the database is left under the old key.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::peers::*;
use crate::common::process::{Served, command, mode};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_store::backend_tests;
use countersign_store::testing::TestDb;
use serde_json::{Value, json};

const APP_ID: &str = "countersign-authenticator";
const SEED: &str = "3132333435363738393031323334353637383930";
const WORKERS: usize = 3;

fn hotp(counter: u64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--hotp", "-c", &counter.to_string(), SEED])
        .output()
        .expect("oathtool is installed (.ci/run)");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// The first run of at least 4 digits in `text`.
fn code_in(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() >= 4)
        .unwrap_or_else(|| panic!("no code in {text}"))
        .into()
}

/// Whether `text` holds a value sealed under key 1 (`v1.` and at least 38 base64url
/// characters: a nonce, a tag and a little ciphertext).
fn sealed_under_key_1(text: &str) -> bool {
    text.match_indices("v1.").any(|(i, _)| {
        let body = &text[i + 3..];
        let n = body.bytes().take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_').count();
        n >= 38 && (i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
    }) || text.contains("v2.1.")
}

/// The test's world: the server and the peers it talks to.
struct World {
    server: Served,
    admin: String,
    key: String,
    twilio: Log,
    twilio_auth: String,
    hook: Log,
    hook_url: String,
    webpush: Log,
    vapid_public: String,
    device: Authenticator,
    counter: AtomicUsize,
}

impl World {
    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.server.call("POST", path, &self.key, Some(body)).await
    }

    async fn login(&self, user: &str, body: Value) -> (u16, Value) {
        self.post(&format!("/v1/users/{user}@example.com/login"), body).await
    }

    /// The SMS texts sent to `phone` so far.
    fn texts_to(&self, phone: &str) -> Vec<String> {
        self.twilio
            .lock()
            .unwrap()
            .iter()
            .map(|s| url_decode(&s.body))
            .filter(|f| field(f, "To") == phone)
            .map(|f| field(&f, "Body"))
            .collect()
    }

    /// An SMS login of user `w{i}`, answered with the code the SMS carried; an error text.
    async fn sms_login(&self, i: usize) -> Result<(), String> {
        let phone = format!("+1555010{i}");
        let before = self.texts_to(&phone).len();
        let (s, out) =
            self.login(&format!("w{i}"), json!({"passKey": "sms", "callbackURL": self.hook_url, "timeout": 0})).await;
        if s != 200 {
            return Err(format!("sms start: {s} {out}"));
        }
        let mut text = None;
        for _ in 0..100 {
            if let Some(t) = self.texts_to(&phone).get(before) {
                text = Some(t.clone());
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let code = code_in(&text.ok_or("no SMS arrived")?);
        let (s, b) = self.login(&format!("w{i}"), json!({"requestID": out["requestID"], "passKey": code})).await;
        (s == 200 && b["sessionStatus"] == "Accept").then_some(()).ok_or(format!("sms answer: {s} {b}"))
    }

    /// A custom-delivery code (sealed in the session), read back and answered.
    async fn custom_login(&self) -> Result<(), String> {
        let (s, out) = self.login("alice", json!({"passKey": "votpCustomDelivery"})).await;
        let id = out["requestID"].as_str().ok_or(format!("custom start: {s} {out}"))?.to_owned();
        let (s, st) = self.server.call("GET", &format!("/v1/sessions/{id}"), &self.key, None).await;
        let code = st["votpResponse"].as_str().ok_or(format!("custom read: {s} {st}"))?.to_owned();
        let (s, b) = self.login("alice", json!({"requestID": id, "passKey": code})).await;
        (s == 200 && b["sessionStatus"] == "Accept").then_some(()).ok_or(format!("custom answer: {s} {b}"))
    }

    /// An HOTP login with the token's next code (its seed is sealed).
    async fn hotp_login(&self) -> Result<(), String> {
        let c = self.counter.fetch_add(1, Ordering::SeqCst) as u64;
        let (s, b) = self.login("alice", json!({"passKey": "totp", "otp": hotp(c)})).await;
        (s == 200 && b["sessionStatus"] == "Accept").then_some(()).ok_or(format!("hotp: {s} {b}"))
    }

    /// A push (Web Push, VAPID-signed) approved on the device, with a callback.
    async fn push_login(&self) -> Result<(), String> {
        let body = json!({"passKey": "push", "timeout": 0, "callbackURL": self.hook_url});
        let (s, out) = self.login("alice", body).await;
        let id = out["requestID"].as_str().ok_or(format!("push start: {s} {out}"))?.to_owned();
        self.device
            .respond(&id, &Answer { approve: true, ..Default::default() })
            .await
            .map_err(|e| format!("{e:?}"))?;
        Ok(())
    }

    /// Every request the peers got was authenticated with the stored secrets: Twilio's
    /// Basic credentials, the callbacks' signatures (and Basic credentials once set), the
    /// pushes' VAPID key.
    fn check_peers(&self, callback_secret: &str, callback_basic: Option<&str>, from: usize) {
        for seen in self.twilio.lock().unwrap().iter() {
            assert_eq!(header(seen, "authorization"), self.twilio_auth, "Twilio credentials");
        }
        for seen in self.hook.lock().unwrap().iter().skip(from) {
            let ts: i64 = header(seen, "x-cs-timestamp").parse().unwrap();
            let raw = String::from_utf8(seen.body.clone()).unwrap();
            let want = countersign_core::delivery::callbacks::signature(callback_secret, ts, &raw).unwrap();
            assert_eq!(header(seen, "x-cs-signature"), want, "callback signature");
            if let Some(b) = callback_basic {
                assert_eq!(header(seen, "authorization"), format!("Basic {}", STANDARD.encode(b)));
            }
        }
        let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis() / 1000;
        for seen in self.webpush.lock().unwrap().iter() {
            let url = format!("http://{}{}", header(seen, "host"), seen.path);
            let claims =
                countersign_delivery::webpush::verify_vapid(&header(seen, "authorization"), &url, now).unwrap();
            assert_eq!(claims.public_key, self.vapid_public, "signed with the app's VAPID key");
        }
    }
}

async fn setup(server: Served) -> World {
    let admin = server.token.clone().unwrap();
    let call = |m: &'static str, p: String, b: Value| {
        let (server, admin) = (&server, admin.clone());
        async move {
            let (s, r) = server.call(m, &p, &admin, Some(b)).await;
            assert!((200..300).contains(&s), "{m} {p}: {s} {r}");
            r
        }
    };
    call("POST", "/admin/v1/tenants".into(), json!({"domain": "example.com"})).await;
    call(
        "PATCH",
        "/admin/v1/tenants/example.com".into(),
        json!({"settings": {"numberMatching": false, "loginRequestLimit": 0}}),
    )
    .await;
    let users = "/admin/v1/tenants/example.com/users".to_owned();
    call("POST", users.clone(), json!({"userID": "alice", "phone": "+15550100"})).await;
    for i in 0..=WORKERS {
        call("POST", users.clone(), json!({"userID": format!("w{i}"), "phone": format!("+1555010{i}")})).await;
    }
    let key = call("POST", "/admin/v1/tenants/example.com/api-keys".into(), json!({"name": "web"})).await["key"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = format!("tw-auth-{}", uuid::Uuid::new_v4().simple());
    let (twilio, addr) = twilio().await;
    call(
        "PUT",
        "/admin/v1/tenants/example.com/providers".into(),
        json!({"sms": {"provider": "twilio",
        "accountSid": "AC1", "authToken": token, "from": "+15550001111", "baseUrl": format!("http://{addr}")}}),
    )
    .await;
    // A RADIUS client: its shared secret is sealed too (re-sealed, then checked by the scan).
    call(
        "POST",
        "/admin/v1/tenants/example.com/radius-clients".into(),
        json!({"name": "vpn", "network": "192.0.2.0/24", "secret": "radius-shared-secret-0123"}),
    )
    .await;
    // A Duo-compatible integration: its secret key is sealed too.
    call("POST", "/admin/v1/tenants/example.com/duo-integrations".into(), json!({"name": "ssh"})).await;
    let hook: Log = Arc::default();
    let hook_url = format!("http://{}/callback", serve_plain(recorder(hook.clone(), |_, _| (200, json!({})))).await);
    call("PUT", "/admin/v1/tenants/example.com/callbacks".into(), json!({"endpoints": [{"url": hook_url}]})).await;
    let view =
        call("PUT", format!("/admin/v1/apps/{APP_ID}"), json!({"webpush": {"subject": "mailto:ops@bank.example"}}))
            .await;
    let vapid_public = view["webpush"]["publicKey"].as_str().unwrap().to_owned();
    call(
        "POST",
        "/admin/v1/tenants/example.com/tokens/import".into(),
        json!({"format": "csv",
        "data": format!("serial,type,seed_hex,digits,period_or_counter,algorithm\nHW-1,hotp,{SEED},6,0,SHA1\n")}),
    )
    .await;
    let tokens = call("GET", "/admin/v1/tenants/example.com/tokens".into(), json!(null)).await;
    let token_id = tokens["items"][0]["tokenID"].as_str().unwrap().to_owned();
    call("PUT", format!("/admin/v1/tenants/example.com/tokens/{token_id}/user"), json!({"userID": "alice"})).await;
    // The device, subscribed to a Web Push service.
    let webpush: Log = Arc::default();
    let wp = serve_plain(recorder(webpush.clone(), |_, _| (201, json!({})))).await;
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).unwrap();
    let ua = p256::SecretKey::from_slice(&raw).unwrap();
    let ua_public = {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        ua.public_key().to_encoded_point(false).as_bytes().to_vec()
    };
    let sub = json!({"endpoint": format!("http://{wp}/push/sub-1"),
        "keys": {"p256dh": URL_SAFE_NO_PAD.encode(&ua_public), "auth": URL_SAFE_NO_PAD.encode([7u8; 16])}});
    let (s, a) = server.call("POST", "/v1/users/alice@example.com/activations", &key, None).await;
    assert_eq!(s, 201, "{a}");
    let device =
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
    device.register_push("webpush", Some(&sub.to_string())).await.unwrap();
    World {
        server,
        admin,
        key,
        twilio,
        twilio_auth: format!("Basic {}", STANDARD.encode(format!("AC1:{token}"))),
        hook,
        hook_url,
        webpush,
        vapid_public,
        device,
        counter: AtomicUsize::new(0),
    }
}

/// Every kind of login once; errors as text.
async fn one_of_each(w: &World) -> Vec<String> {
    let mut errors = Vec::new();
    for r in [w.sms_login(0).await, w.custom_login().await, w.hotp_login().await, w.push_login().await] {
        if let Err(e) = r {
            errors.push(e);
        }
    }
    errors
}

async fn admin_cmd(dir: &std::path::Path, db: &str, args: &[&str]) -> (bool, String) {
    let out = command(dir).args(["--data-dir", "data", "--database", db, "admin"]).args(args).output().await.unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

backend_tests! {
    async fn rotate_the_master_key_under_load_then_retire_the_old_one(backend) {
        let dir = tempfile::tempdir().unwrap();
        let db = TestDb::new(backend).await;
        let mut cmd = command(dir.path());
        cmd.args(["--data-dir", "data", "--database", &db.url, "serve", "--listen", "127.0.0.1:0"])
            .env("COUNTERSIGN_VOTP_CUSTOM_DELIVERY", "true")
            .stderr(std::fs::File::create(dir.path().join("server.log")).unwrap());
        let server = Served::start(cmd).await;
        let key_file = dir.path().join("data/countersign.key");
        let key1 = <[u8; 32]>::try_from(countersign_proto::b64u_decode(std::fs::read_to_string(&key_file).unwrap().trim()).unwrap()).unwrap();
        let w = Arc::new(setup(server).await);
        let (s, sec) = w.server.call("POST", "/admin/v1/tenants/example.com/callbacks/secret", &w.admin, None).await;
        assert_eq!(s, 201);
        let secret = sec["secret"].as_str().unwrap().to_owned();
        assert_eq!(one_of_each(&w).await, Vec::<String>::new());

        // A code hashed under key 1, answered only after the rotation.
        let late = format!("+1555010{WORKERS}");
        let (_, out) = w.login(&format!("w{WORKERS}"), json!({"passKey": "sms"})).await;
        let late_id = out["requestID"].as_str().unwrap().to_owned();
        eventually(10, async || !w.texts_to(&late).is_empty()).await;
        let late_code = code_in(&w.texts_to(&late)[0]);

        // Logins keep coming while the key rotates.
        let stop = Arc::new(AtomicBool::new(false));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicUsize::new(0));
        let mut load = tokio::task::JoinSet::new();
        for i in 0..WORKERS + 1 {
            let (w, stop, errors, done) = (w.clone(), stop.clone(), errors.clone(), done.clone());
            load.spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let r = match i {
                        _ if i < WORKERS - 1 => w.sms_login(i).await,
                        _ if i == WORKERS - 1 => w.custom_login().await.and(w.hotp_login().await),
                        _ => w.push_login().await,
                    };
                    match r {
                        Ok(()) => done.fetch_add(1, Ordering::SeqCst),
                        Err(e) => { errors.lock().unwrap().push(e); 0 }
                    };
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
        tokio::time::sleep(Duration::from_millis(800)).await;
        let (ok, text) = admin_cmd(dir.path(), &db.url, &["rotate-key"]).await;
        assert!(ok && text.contains("master key 2 is current"), "{text}");
        let at_rotation = done.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        stop.store(true, Ordering::SeqCst);
        load.join_all().await;
        assert_eq!(*errors.lock().unwrap(), Vec::<String>::new(), "every login worked during the rotation");
        assert!(at_rotation > 10 && done.load(Ordering::SeqCst) > at_rotation, "load ran throughout: {at_rotation}");
        assert_eq!(mode(&key_file), 0o600);
        let ring = std::fs::read_to_string(&key_file).unwrap();
        assert!(ring.contains("\n1 open ") && ring.contains("\n2 current "), "the old key is kept");

        // Retiring waits for the code hashed under key 1 — which still verifies.
        let (ok, text) = admin_cmd(dir.path(), &db.url, &["retire-keys"]).await;
        assert!(!ok && text.contains("cannot retire master keys [1]") && text.contains("1 codes hashed under them"), "{text}");
        let (s, b) = w.login(&format!("w{WORKERS}"), json!({"requestID": late_id, "passKey": late_code})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");

        // A server that had not loaded the new key writes under key 1: retiring refuses
        // until that value is re-sealed too.
        let lagging = countersign_core::Core::new(countersign_store::open(&db.url).await.unwrap()).with_master_key(&key1);
        let basic = format!("rp:cb-pw-{}", uuid::Uuid::new_v4().simple());
        let input = serde_json::from_value(json!({"endpoints": [{"url": w.hook_url, "username": "rp",
            "password": basic.split_once(':').unwrap().1}]})).unwrap();
        lagging.set_callback_config("example.com", input).await.unwrap();
        lagging.store.close().await;
        let (ok, text) = admin_cmd(dir.path(), &db.url, &["retire-keys"]).await;
        assert!(!ok && text.contains("1 values in tenant_callbacks.config"), "{text}");
        let (ok, text) = admin_cmd(dir.path(), &db.url, &["rotate-key", "--reseal-only"]).await;
        assert!(ok && text.contains("tenant_callbacks.config: 1"), "{text}");
        let (ok, text) = admin_cmd(dir.path(), &db.url, &["retire-keys"]).await;
        assert!(ok && text.contains("retired master keys [1]"), "{text}");
        let ring = std::fs::read_to_string(&key_file).unwrap();
        assert!(!ring.contains("\n1 ") && ring.contains("\n2 current "), "{ring}");
        assert_eq!(mode(&key_file), 0o600);

        // The server has dropped key 1 and every secret still works.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let from = w.hook.lock().unwrap().len();
        assert_eq!(one_of_each(&w).await, Vec::<String>::new());
        eventually(10, async || w.hook.lock().unwrap().len() >= from + 2).await;
        w.check_peers(&secret, None, 0);
        w.check_peers(&secret, Some(&basic), from);
        let log = std::fs::read_to_string(dir.path().join("server.log")).unwrap();
        assert!(log.contains("master keyring reloaded") && !log.contains("cannot be opened"), "{log}");

        // Nothing in the database is left under key 1.
        for (column, value) in db.text_values().await {
            assert!(!sealed_under_key_1(&value), "{column} still holds a value sealed under key 1: {value}");
        }
        assert!(Arc::into_inner(w).unwrap().server.terminate().await.success());
    }
}

#[test]
fn values_under_key_1_are_recognised() {
    let v1 = format!("v1.{}", "A".repeat(40));
    assert!(sealed_under_key_1(&v1) && sealed_under_key_1(&format!("{{\"secret\":\"{v1}\"}}")));
    assert!(sealed_under_key_1(&format!("v2.1.{}", "A".repeat(40))));
    assert!(!sealed_under_key_1(&format!("v2.2.{}", "A".repeat(40))));
    assert!(!sealed_under_key_1("https://rp.example/api/v1.0/callback") && !sealed_under_key_1("/mobile/v1/requests"));
}
