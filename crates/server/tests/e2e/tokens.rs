//! TOTP and HOTP tokens end to end (docs/tokens.md), with codes made by `oathtool`
//! (Debian's package) as an independent generator: enrollment by `otpauth://` URI and QR
//! code, drift, look-ahead, replay refusal, lockout and unlock, resynchronisation,
//! imports, races and tenant isolation — on both storage backends.

use crate::common;
use std::sync::Arc;

use crate::common::{App, Auth};
use base64::Engine;
use countersign_core::{FixedClock, Timestamp};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// 2027-01-15T08:00:00Z, on a 30-second boundary.
const T0: i64 = 1_800_000_000;

/// What `oathtool` prints for these arguments.
fn oathtool(args: &[&str]) -> String {
    let out = std::process::Command::new("oathtool").args(args).output().expect("oathtool is installed (.ci/run)");
    assert!(out.status.success(), "oathtool {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn totp_at(secret_b32: &str, unix: i64) -> String {
    oathtool(&["--totp", "-b", "--now", &format!("@{unix}"), secret_b32])
}

pub(crate) fn hotp_at(seed_hex: &str, counter: u64) -> String {
    oathtool(&["--hotp", "-c", &counter.to_string(), seed_hex])
}

async fn app_at(backend: countersign_store::testing::Backend) -> (App, Arc<FixedClock>, String) {
    let clock = Arc::new(FixedClock::new(Timestamp(T0 * 1000)));
    let app = App::spawn_with_clock(backend, clock.clone()).await;
    let key = app.tenant_with_alice("example.com").await;
    (app, clock, key)
}

async fn login(app: &App, key: &str, body: Value) -> (u16, Value) {
    app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await
}

fn query(uri: &str, name: &str) -> String {
    uri.split(['?', '&']).find_map(|p| p.strip_prefix(&format!("{name}="))).unwrap().to_owned()
}

/// Import one hardware token and assign it to alice; its ID.
async fn hardware(app: &App, line: &str) -> String {
    let (s, b) = app
        .admin("POST", "/admin/v1/tenants/example.com/tokens/import",
            Some(json!({"format": "csv", "data": format!("serial,type,seed_hex,digits,period_or_counter,algorithm\n{line}\n")})))
        .await;
    assert_eq!((s, b["imported"].as_u64()), (201, Some(1)), "{b}");
    let serial = line.split(',').next().unwrap();
    let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/tokens", None).await;
    let id = list["items"].as_array().unwrap().iter().find(|t| t["serial"] == serial).unwrap()["tokenID"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, b) = app
        .admin("PUT", &format!("/admin/v1/tenants/example.com/tokens/{id}/user"), Some(json!({"userID": "alice"})))
        .await;
    assert_eq!(s, 200, "{b}");
    id
}

pub(crate) const RFC_SEED: &str = "3132333435363738393031323334353637383930";

backend_tests! {
    async fn the_token_list_is_paged_by_serial(backend) {
        let (app, _clock, _key) = app_at(backend).await;
        let mut csv = String::from("serial,type,seed_hex,digits,period_or_counter,algorithm\n");
        for n in 1..=5 {
            csv.push_str(&format!("HW-{n},hotp,{RFC_SEED},6,0,SHA1\n"));
        }
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/tokens/import", Some(json!({"format": "csv", "data": csv}))).await;
        assert_eq!((s, b["imported"].as_u64()), (201, Some(5)), "{b}");
        let mut serials = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..5 {
            let q = after.as_ref().map(|a| format!("&after={a}")).unwrap_or_default();
            let (s, page) = app.admin("GET", &format!("/admin/v1/tenants/example.com/tokens?limit=2{q}"), None).await;
            assert_eq!(s, 200, "{page}");
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2, "{page}");
            serials.extend(items.iter().map(|t| t["serial"].as_str().unwrap().to_owned()));
            match page["nextAfter"].as_str() {
                Some(a) => after = Some(a.to_owned()),
                None => break,
            }
        }
        assert_eq!(serials, ["HW-1", "HW-2", "HW-3", "HW-4", "HW-5"]);
        let (s, b) = app.admin("GET", "/admin/v1/tenants/example.com/tokens?limit=0", None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("limit")), "{b}");
    }

    async fn a_software_totp_token_is_enrolled_confirmed_and_never_accepts_a_code_twice(backend) {
        let (app, clock, key) = app_at(backend).await;
        let (s, e) = app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), Some(json!({}))).await;
        assert_eq!(s, 201, "{e}");
        let uri = e["otpauthURI"].as_str().unwrap().to_owned();
        assert!(uri.starts_with("otpauth://totp/example.com:alice?"), "{uri}");
        assert_eq!((query(&uri, "issuer"), query(&uri, "digits"), query(&uri, "period")), ("example.com".into(), "6".into(), "30".into()));
        // The QR code carries exactly the URI (what an authenticator app scans).
        let png = base64::engine::general_purpose::STANDARD.decode(e["qrPNG"].as_str().unwrap()).unwrap();
        assert_eq!(countersign_authenticator::qrimage::decode_png(&png).unwrap(), uri);
        let secret = query(&uri, "secret");
        let id = e["tokenID"].as_str().unwrap().to_owned();
        assert_eq!(e["state"], "pending");

        // Pending tokens do not log in; a first code confirms.
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": totp_at(&secret, T0)})).await;
        assert_eq!((s, common::code(&b)), (422, "no_token"));
        let confirm = format!("/v1/users/alice@example.com/tokens/{id}/confirm");
        let (s, b) = app.call("POST", &confirm, Auth::Bearer(&key), Some(json!({"otp": "000000"}))).await;
        assert_eq!((s, common::code(&b)), (422, "invalid_otp"));
        let (s, t) = app.call("POST", &confirm, Auth::Bearer(&key), Some(json!({"otp": totp_at(&secret, T0)}))).await;
        assert_eq!((s, t["state"].as_str(), t["failures"].as_u64()), (200, Some("active"), Some(0)), "{t}");

        // The confirming code is used; the next step's code logs in, once.
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": totp_at(&secret, T0)})).await;
        assert_eq!((s, common::code(&b)), (422, "invalid_otp"), "replay of the confirming code");
        clock.advance(30_000);
        let now = T0 + 30;
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": totp_at(&secret, now), "sessionID": "rp-9"})).await;
        assert_eq!((s, b["sessionStatus"].as_str(), b["sessionID"].as_str()), (200, Some("Accept"), Some("rp-9")), "{b}");
        let (_, st) = app.call("GET", &format!("/v1/sessions/{}", b["requestID"].as_str().unwrap()), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Accept");
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": totp_at(&secret, now)})).await;
        assert_eq!((s, common::code(&b)), (422, "invalid_otp"), "replay refused");
        assert!(b["error"]["message"].as_str().unwrap().contains("already used"), "{b}");
        assert!(b["error"]["attemptsLeft"].is_u64(), "a replay counts as a failure: {b}");

        // One step of drift each way; the code itself as passKey (OneSpan style).
        clock.advance(60_000);
        let now = T0 + 90;
        let (s, b) = login(&app, &key, json!({"passKey": totp_at(&secret, now + 30)})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "a clock 30 s ahead: {b}");
        let (s, _) = login(&app, &key, json!({"passKey": totp_at(&secret, now + 90)})).await;
        assert_eq!(s, 422, "three steps ahead is too far");
        let (s, _) = login(&app, &key, json!({"passKey": totp_at(&secret, now)})).await;
        assert_eq!(s, 422, "a step older than the last accepted one is refused");
        let (_, list) = app.call("GET", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), None).await;
        assert!(!list.to_string().contains(&secret), "the seed is never listed");
    }

    async fn an_hotp_token_looks_ahead_and_resynchronises(backend) {
        let (app, _clock, key) = app_at(backend).await;
        let id = hardware(&app, &format!("HW-0001,hotp,{RFC_SEED},6,0,SHA1")).await;
        // RFC 4226's own vector, as a cross-check of oathtool.
        assert_eq!(hotp_at(RFC_SEED, 3), "969429");
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, 3)})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "three presses lost: within the window");
        for c in [3, 2, 0] {
            let (s, _) = login(&app, &key, json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, c)})).await;
            assert_eq!(s, 422, "counter {c} is used or behind");
        }
        let (s, _) = login(&app, &key, json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, 60)})).await;
        assert_eq!(s, 422, "beyond the look-ahead window");
        let resync = format!("/admin/v1/tenants/example.com/tokens/{id}/resync");
        let (s, b) = app.admin("POST", &resync, Some(json!({"otp1": hotp_at(RFC_SEED, 60), "otp2": hotp_at(RFC_SEED, 62)}))).await;
        assert_eq!((s, common::code(&b)), (422, "resync_failed"), "not consecutive");
        let (s, b) = app.admin("POST", &resync, Some(json!({"otp1": hotp_at(RFC_SEED, 60), "otp2": hotp_at(RFC_SEED, 61)}))).await;
        assert_eq!(s, 200, "{b}");
        let (s, _) = login(&app, &key, json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, 61)})).await;
        assert_eq!(s, 422, "the resync codes are used");
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, 62)})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")));
    }

    async fn wrong_codes_lock_the_token_until_unlocked(backend) {
        let (app, _clock, key) = app_at(backend).await;
        let id = hardware(&app, &format!("HW-0002,hotp,{RFC_SEED},6,0,SHA1")).await;
        let right = hotp_at(RFC_SEED, 0);
        let wrong = if right == "111111" { "222222" } else { "111111" };
        for left in [4, 3, 2, 1] {
            let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": wrong})).await;
            assert_eq!((s, b["error"]["attemptsLeft"].as_u64()), (422, Some(left)), "{b}");
        }
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": wrong})).await;
        assert_eq!((s, common::code(&b)), (403, "token_locked"));
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": right})).await;
        assert_eq!((s, common::code(&b)), (403, "token_locked"), "locked even for the right code");
        let (s, t) = app.admin("POST", &format!("/admin/v1/tenants/example.com/tokens/{id}/unlock"), None).await;
        assert_eq!((s, t["state"].as_str()), (200, Some("active")));
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": right})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")));
    }

    async fn sha256_eight_digit_totp_imports_and_verifies(backend) {
        let (app, clock, key) = app_at(backend).await;
        let seed = "3132333435363738393031323334353637383930313233343536373839303132";
        hardware(&app, &format!("HW-0003,totp,{seed},8,60,sha256")).await;
        clock.advance(120_000);
        let code = oathtool(&["--totp=sha256", "-d", "8", "-s", "60", "--now", &format!("@{}", T0 + 120), seed]);
        assert_eq!(code.len(), 8);
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": code})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
    }

    async fn imports_are_checked_and_all_or_nothing(backend) {
        let (app, _clock, _key) = app_at(backend).await;
        let import = |data: &str| {
            let (app, body) = (&app, json!({"format": "csv", "data": data}));
            async move { app.admin("POST", "/admin/v1/tenants/example.com/tokens/import", Some(body)).await }
        };
        let (s, b) = import(&format!("A1,hotp,{RFC_SEED},6,0,SHA1\nA2,hotp,zz,6,0,SHA1")).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("data.line2")), "{b}");
        let (s, b) = import(&format!("A1,hotp,{RFC_SEED},9,0,SHA1")).await;
        assert_eq!(s, 422, "{b}");
        let (s, _) = import(&format!("A1,hotp,{RFC_SEED},6,0,SHA1")).await;
        assert_eq!(s, 201);
        let (s, b) = import(&format!("A3,hotp,{RFC_SEED},6,0,SHA1\nA1,hotp,{RFC_SEED},6,0,SHA1")).await;
        assert_eq!((s, common::code(&b)), (409, "token_exists"));
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/tokens", None).await;
        assert_eq!(list["items"].as_array().unwrap().len(), 1, "nothing of the refused import was kept: {list}");
        assert!(!list.to_string().contains(RFC_SEED));
    }

    async fn racing_logins_with_one_code_accept_once(backend) {
        let (app, _clock, key) = app_at(backend).await;
        hardware(&app, &format!("HW-0004,hotp,{RFC_SEED},6,0,SHA1")).await;
        let code = hotp_at(RFC_SEED, 1);
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..8 {
            let (client, url, key, code) =
                (app.client.clone(), format!("{}/v1/users/alice@example.com/login", app.base), key.clone(), code.clone());
            set.spawn(async move {
                let resp = client.post(url).bearer_auth(key).json(&json!({"passKey": "totp", "otp": code})).send().await.unwrap();
                resp.status().as_u16()
            });
        }
        let statuses = set.join_all().await;
        assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    }

    async fn tokens_stay_inside_their_tenant(backend) {
        let (app, _clock, _key) = app_at(backend).await;
        let other = app.tenant_with_alice("other.example").await;
        let id = hardware(&app, &format!("HW-0005,hotp,{RFC_SEED},6,0,SHA1")).await;
        let (s, _) = app.admin("PUT", &format!("/admin/v1/tenants/other.example/tokens/{id}/user"), Some(json!({"userID": "alice"}))).await;
        assert_eq!(s, 404);
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/other.example/tokens/{id}"), None).await;
        assert_eq!(s, 404);
        let (s, b) = app
            .call("POST", "/v1/users/alice@other.example/login", Auth::Bearer(&other), Some(json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, 0)})))
            .await;
        assert_eq!((s, common::code(&b)), (422, "no_token"));
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/example.com/tokens/{id}"), None).await;
        assert_eq!(s, 204);
    }

    async fn metrics_count_token_lockouts_once_and_token_logins(backend) {
        let (app, _clock, key) = app_at(backend).await;
        let id = hardware(&app, &format!("HW-0003,hotp,{RFC_SEED},6,0,SHA1")).await;
        let right = hotp_at(RFC_SEED, 0);
        let wrong = if right == "111111" { "222222" } else { "111111" };
        for _ in 0..7 {
            login(&app, &key, json!({"passKey": "totp", "otp": wrong})).await;
        }
        app.admin("POST", &format!("/admin/v1/tenants/example.com/tokens/{id}/unlock"), None).await;
        let (s, b) = login(&app, &key, json!({"passKey": "totp", "otp": right})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        let text = common::metrics::scrape(&app).await;
        for line in [
            "countersign_lockouts_total{kind=\"token\"} 1",
            "countersign_logins_total{method=\"totp\",outcome=\"Accept\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from\n{text}");
        }
    }
}
