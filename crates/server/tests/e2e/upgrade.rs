//! Schema upgrade from the previous release (schema version 12, when eleven kinds of
//! data lived in one `config_docs` table): a database made by that release through its
//! API, kept as fixtures in crates/store/tests/fixtures/v0_12/, is loaded at version 12,
//! upgraded by the current server, and every kind is read back through the HTTP API —
//! including a login with the FIDO2 credential (through the stored ceremony), one with
//! the UAF registration, a learned risk profile and the answer to a pending risk challenge.
//!
//! To regenerate the fixtures (only ever from the release they describe), see the
//! fixtures' README.md: `make_v0_12_fixture` below, run on that release's code.

use std::path::PathBuf;
use std::sync::Arc;

use crate::common::{App, Auth};
use countersign::config::RawConfig;
use countersign_authenticator::uaf::SoftUaf;
use countersign_core::{FixedClock, Timestamp};
use countersign_store::backend_tests;
use countersign_store::testing::{Backend, TestDb};
use serde_json::{Value, json};
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_authenticator_rs::softtoken::SoftToken;
use webauthn_authenticator_rs::{AuthenticatorBackend, WebauthnAuthenticator};

/// The instant the fixtures were made at (the app's clock then and, ten seconds later, in the test).
const T0: i64 = 1_796_000_000_000;
const ORIGIN: &str = "https://app.example.com";
const FACET: &str = "https://app.example.com";
const AAID: &str = "ABCD#0001";
const PASSWORD: &str = "correct horse battery";

/// Tables in an order that satisfies their foreign keys (then all others, by name).
const FIRST_TABLES: &[&str] =
    &["meta", "tenants", "users", "access_keys", "activations", "devices", "outbox", "sessions", "session_codes"];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../store/tests/fixtures/v0_12")
}

fn master_key(dir: &std::path::Path) -> [u8; 32] {
    let text = std::fs::read_to_string(dir.join("master.key")).unwrap();
    <[u8; 32]>::try_from(countersign_proto::b64u_decode(text.trim()).unwrap()).unwrap()
}

fn cheap() -> RawConfig {
    RawConfig { password_memory_kib: Some(1024), password_iterations: Some(1), ..RawConfig::default() }
}

fn cddc(browser: &str) -> Value {
    json!({"userAgent": browser, "language": "en-GB", "platform": "MacIntel", "timezone": "Europe/Amsterdam",
           "screen": {"width": 1680, "height": 1050, "colorDepth": 30}, "hardwareConcurrency": 8,
           "timestamp": 1_800_000_000_000_i64})
}

async fn post(app: &App, key: &str, path: &str, body: Value) -> (u16, Value) {
    app.call("POST", path, Auth::Bearer(key), Some(body)).await
}

fn finish(request_id: &str, response: &impl serde::Serialize) -> Value {
    json!({"objectType": "LoginInput", "requestID": request_id,
           "credentials": {"fidoAuthenticator": {"authenticationResponse": response}}})
}

async fn login(app: &App, key: &str, body: Value) -> (u16, Value) {
    post(app, key, "/v1/users/alice@example.com/login", body).await
}

async fn fido2_register<A: AuthenticatorBackend>(app: &App, key: &str, user: &str, auth: &mut A) -> Value {
    let (s, r) = post(
        app,
        key,
        &format!("/v1/users/{user}/generate-fido-registration-request"),
        json!({"fidoProtocol": "FIDO2", "userVerification": "required"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let ccr: CreationChallengeResponse = serde_json::from_value(r["registrationRequest"].clone()).unwrap();
    let reg = auth.do_registration(Url::parse(ORIGIN).unwrap(), ccr).unwrap();
    let (s, c) = post(
        app,
        key,
        &format!("/v1/users/{user}/register-fido-authenticator"),
        json!({"requestID": r["requestID"], "fidoAuthenticator": {"registrationResponse": reg}, "name": "laptop"}),
    )
    .await;
    assert_eq!(s, 201, "{c}");
    c
}

/// The admin reads whose answers must be the same before and after the upgrade.
const READS: &[&str] = &[
    "/admin/v1/apps",
    "/admin/v1/apps/bank-app",
    "/admin/v1/tenants/example.com/providers",
    "/admin/v1/tenants/example.com/risk",
    "/admin/v1/tenants/example.com/auth-types",
    "/admin/v1/tenants/example.com/fido",
    "/admin/v1/tenants/example.com/users/alice/virtual-authenticators",
    "/admin/v1/tenants/example.com/users/alice/fido-credentials",
    "/admin/v1/tenants/example.com/users/bob/fido-credentials",
    "/admin/v1/tenants/example.com/users/alice/uaf-registrations",
];

/// Make the fixtures: the app of this build on a fresh SQLite file, with a fixed master
/// key and clock, given data of every kind through its API; then every row dumped as
/// portable SQL (`sqlite3` must be installed). Run on the release the fixtures describe:
/// `cargo nextest run -p countersign -E 'test(/make_v0_12_fixture/)' --run-ignored only`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "makes the upgrade fixtures; run by hand on the release they describe"]
async fn make_v0_12_fixture() {
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    if !dir.join("master.key").exists() {
        let key: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
        std::fs::write(dir.join("master.key"), countersign_proto::b64u_encode(&key)).unwrap();
    }
    let clock = Arc::new(FixedClock::new(Timestamp(T0)));
    let db = TestDb::new(Backend::Sqlite).await;
    let app = App::spawn_on(db, cheap(), Some(clock.clone()), Some(master_key(&dir)), None).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": "bob"}))).await;
    assert_eq!(s, 201, "{b}");

    // Push app and tenant providers (both with sealed secrets).
    let (s, b) = app
        .admin("PUT", "/admin/v1/apps/bank-app", Some(json!({"webpush": {"subject": "mailto:ops@bank.example"}})))
        .await;
    assert_eq!(s, 200, "{b}");
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/providers",
            Some(json!({"sms": {"provider": "twilio", "accountSid": "AC1", "authToken": "tok-secret",
                "from": "+15550001111", "baseUrl": "http://127.0.0.1:9"}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    // Authentication types.
    for (name, body) in
        [("bank-sms", json!({"method": "sms", "maxResends": 1})), ("passkey", json!({"method": "fido2"}))]
    {
        let (s, b) = app.admin("PUT", &format!("/admin/v1/tenants/example.com/auth-types/{name}"), Some(body)).await;
        assert_eq!(s, 200, "{b}");
    }
    // A virtual authenticator.
    let (s, b) = app
        .admin(
            "POST",
            "/admin/v1/tenants/example.com/users/alice/virtual-authenticators",
            Some(json!({"applications": ["APPL1", "BANK"]})),
        )
        .await;
    assert_eq!(s, 201, "{b}");

    // Risk rules, a profile learned from a successful adaptive login, a pending challenge.
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/users/alice/static-password",
            Some(json!({"password": PASSWORD, "graceDays": 30})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (_, mut risk) = app.admin("GET", "/admin/v1/tenants/example.com/risk", None).await;
    risk["ipDeny"] = json!(["203.0.113.0/24"]);
    let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/risk", Some(risk)).await;
    assert_eq!(s, 200, "{b}");
    let (s, out) = login(&app, &key, json!({"cddc": cddc("Chrome/120"), "sessionID": "S1", "timeout": 60})).await;
    assert_eq!((s, out["riskResponseCode"].as_u64()), (200, Some(2)), "{out}");
    let (s, done) = login(
        &app,
        &key,
        json!({"requestID": out["requestID"], "sessionID": "S1", "passKey": PASSWORD, "cddc": cddc("Chrome/120")}),
    )
    .await;
    assert_eq!((s, done["sessionStatus"].as_str()), (200, Some("Accept")), "{done}");
    let (s, pending) =
        login(&app, &key, json!({"cddc": cddc("Firefox/121"), "sessionID": "S9", "timeout": 3600})).await;
    assert_eq!((s, pending["riskResponseCode"].as_u64()), (200, Some(2)), "{pending}");

    // FIDO relying party (with UAF), FIDO2 credentials, a ceremony begun, a UAF registration.
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/fido",
            Some(json!({"rpID": "example.com", "rpName": "Example", "origins": [ORIGIN],
                "uaf": {"appID": "https://app.example.com/uaf/facets.json", "facetIDs": [FACET], "acceptedAaids": [AAID]}})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    let (mut token, _ca) = SoftToken::new(true).unwrap();
    fido2_register(&app, &key, "alice@example.com", &mut token).await;
    let mut passkey = SoftPasskey::new(true);
    fido2_register(&app, &key, "bob@example.com", &mut passkey).await;
    let (s, r) = post(
        &app,
        &key,
        "/v1/users/alice@example.com/generate-fido-authentication-request",
        json!({"fidoProtocol": "FIDO2", "userVerification": "required"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let ceremony = json!({"requestID": r["requestID"], "authenticationRequest": r["authenticationRequest"]});
    let mut uaf = SoftUaf::new(AAID, FACET);
    let (s, r) = post(
        &app,
        &key,
        "/v1/users/alice@example.com/generate-fido-registration-request",
        json!({"fidoProtocol": "UAF11"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    let response = uaf.register(&r["registrationRequest"]).unwrap();
    let (s, b) = post(
        &app,
        &key,
        "/v1/users/alice@example.com/register-fido-authenticator",
        json!({"requestID": r["requestID"], "fidoAuthenticator": {"registrationResponse": response}}),
    )
    .await;
    assert_eq!(s, 201, "{b}");

    let mut reads = serde_json::Map::new();
    for path in READS {
        let (s, b) = app.admin("GET", path, None).await;
        assert_eq!(s, 200, "{path}: {b}");
        reads.insert((*path).to_owned(), b);
    }
    let state = json!({
        "note": "secrets of the fixture data (test only): the admin token, the API key, the FIDO2 token, the UAF keys",
        "admin": app.admin, "apiKey": key, "at": T0,
        "fido2Token": countersign_proto::b64u_encode(&token.to_cbor().unwrap()),
        "ceremony": ceremony, "pendingRisk": pending["requestID"],
        "uaf": uaf.export(), "reads": reads,
    });
    std::fs::write(dir.join("state.json"), serde_json::to_string_pretty(&state).unwrap() + "\n").unwrap();

    // Dump every row as portable INSERTs (text and integers only).
    let path = countersign::sqlite_path(&app.db_url()).unwrap();
    let sqlite = |sql: &str, mode: &[&str]| {
        let out = std::process::Command::new("sqlite3").args(mode).arg(&path).arg(sql).output().expect("sqlite3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let all = sqlite(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         AND name NOT LIKE '_sqlx%' ORDER BY name",
        &[],
    );
    let mut tables: Vec<String> = FIRST_TABLES.iter().map(|t| (*t).to_owned()).collect();
    tables.extend(all.lines().filter(|t| !FIRST_TABLES.contains(t)).map(str::to_owned));
    let mut dump = String::from(
        "-- countersign schema version 12 data, made through the API by make_v0_12_fixture\n\
         -- (crates/server/tests/e2e/upgrade.rs); see README.md. Portable: text and integers.\n",
    );
    for t in &tables {
        let rows =
            sqlite(&format!("SELECT * FROM {t} ORDER BY rowid"), &["-cmd", &format!(".mode insert {t}"), "-header"]);
        assert!(!rows.contains("char("), "{t}: a value needs an escape that is not portable");
        dump.push_str(&rows);
    }
    // A row of a user that no longer exists (the upgrade drops it).
    dump.push_str(
        "INSERT INTO config_docs(kind,doc_key,tenant_id,doc,updated_at) VALUES('risk_profile','gone-user',NULL,'{}',0);\n",
    );
    std::fs::write(dir.join("data.sql"), dump).unwrap();
    app.stop().await.unwrap();
}

/// Built-in authentication types that version 12 did not have.
const NEW_BUILTIN_TYPES: [&str; 1] = ["voice"];

backend_tests! {
    async fn a_version_12_database_upgrades_and_every_kind_reads_back(backend) {
        let dir = fixture_dir();
        let state: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("state.json")).unwrap()).unwrap();
        let db = TestDb::new(backend).await;
        db.migrate_to(12).await;
        db.execute(&std::fs::read_to_string(dir.join("data.sql")).unwrap()).await;
        let clock = Arc::new(FixedClock::new(Timestamp(T0 + 10_000)));
        let admin = state["admin"].as_str().unwrap().to_owned();
        let app = App::spawn_on(db, cheap(), Some(clock.clone()), Some(master_key(&dir)), Some(admin)).await;
        let key = state["apiKey"].as_str().unwrap();

        // Every kind, as the previous release answered.
        for path in READS {
            let (s, mut b) = app.admin("GET", path, None).await;
            let mut before = state["reads"][*path].clone();
            if before.is_array() {
                // Lists answered a bare array then; now every admin listing is a page
                // (docs/foundation.md, "Pagination"), here the only one.
                assert_eq!(b["nextAfter"], Value::Null, "{path}: {b}");
                b = b["items"].take();
            }
            if path.ends_with("/auth-types") {
                // Built-in types added since version 12 are listed too; the rest as before,
                // in name order now (version 12 listed the built-in types first).
                b.as_array_mut().unwrap().retain(|t| !(t["builtin"] == true && NEW_BUILTIN_TYPES.contains(&t["name"].as_str().unwrap())));
                before.as_array_mut().unwrap().sort_by(|x, y| x["name"].as_str().cmp(&y["name"].as_str()));
            }
            assert_eq!((s, &b), (200, &before), "{path}");
        }
        // The push app's sealed VAPID key still opens under the master key.
        let (s, b) = app.call("GET", "/mobile/v1/apps/bank-app/webpush", Auth::None, None).await;
        assert_eq!(s, 200, "{b}");

        // The risk profile: the device learned before the upgrade is known.
        let (s, out) = login(&app, key, json!({"cddc": cddc("Chrome/120"), "sessionID": "S2", "timeout": 60})).await;
        assert_eq!((s, out["riskResponseCode"].as_u64(), out["riskReasons"][0].as_str()), (200, Some(0), Some("known-device")), "{out}");
        // The pending challenge: answered now, it teaches its device.
        let (s, done) = login(&app, key, json!({"requestID": state["pendingRisk"], "sessionID": "S9", "passKey": PASSWORD,
            "cddc": cddc("Firefox/121")})).await;
        assert_eq!((s, done["sessionStatus"].as_str()), (200, Some("Accept")), "{done}");
        let (_, out) = login(&app, key, json!({"cddc": cddc("Firefox/121"), "sessionID": "S3", "timeout": 60})).await;
        assert_eq!(out["riskResponseCode"], 0, "{out}");

        // The FIDO2 credential answers the ceremony begun before the upgrade.
        let mut token = SoftToken::from_cbor(&countersign_proto::b64u_decode(state["fido2Token"].as_str().unwrap()).unwrap()).unwrap();
        let rcr: RequestChallengeResponse = serde_json::from_value(state["ceremony"]["authenticationRequest"].clone()).unwrap();
        let pkc = token.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, out) = login(&app, key, finish(state["ceremony"]["requestID"].as_str().unwrap(), &pkc)).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

        // The UAF registration logs in.
        let mut uaf = SoftUaf::import(&state["uaf"]).unwrap();
        let (s, r) = post(&app, key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "UAF11"})).await;
        assert_eq!(s, 200, "{r}");
        let response = uaf.authenticate(&r["authenticationRequest"]).unwrap();
        let (s, out) = login(&app, key, finish(r["requestID"].as_str().unwrap(), &response)).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");

        // Deleting a user removes its rows of every kind.
        let (s, _) = app.admin("DELETE", "/admin/v1/tenants/example.com/users/bob", None).await;
        assert_eq!(s, 204);
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": "bob"}))).await;
        assert_eq!(s, 201, "{b}");
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/bob/fido-credentials", None).await;
        let list = list["items"].clone();
        assert_eq!(list, json!([]));
        app.stop().await.unwrap();
    }
}
