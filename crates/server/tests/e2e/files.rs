//! Files and secrets at rest (docs/security.md, "Files and permissions", "Secrets at
//! rest"): what a first start creates is readable by its owner only whatever the umask;
//! an existing file others can read is warned about at startup; an activation code is
//! never in the database's bytes, on either backend, and old activations lose their
//! clear payload on upgrade.

use crate::common::process::{Served, command, command_with_umask, mode};
use crate::common::{App, Auth, code};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Authenticator, qrimage};
use countersign_store::backend_tests;
use countersign_store::testing::TestDb;
use serde_json::json;

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A tenant, a user and an API key through the admin API; the key.
async fn setup(server: &Served, admin: &str) -> String {
    let (s, _) = server.call("POST", "/admin/v1/tenants", admin, Some(json!({"domain": "example.com"}))).await;
    assert_eq!(s, 201);
    let (s, _) =
        server.call("POST", "/admin/v1/tenants/example.com/users", admin, Some(json!({"userID": "alice"}))).await;
    assert_eq!(s, 201);
    let (s, k) =
        server.call("POST", "/admin/v1/tenants/example.com/api-keys", admin, Some(json!({"name": "web"}))).await;
    assert_eq!(s, 201);
    k["key"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_first_start_makes_private_files_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = command_with_umask(dir.path(), "000");
    cmd.args(["--data-dir", "data/cs", "serve", "--listen", "127.0.0.1:0"]);
    let server = Served::start(cmd).await;
    let admin = server.token.clone().unwrap();
    // Writes, so that the write-ahead log and its index exist.
    let key = setup(&server, &admin).await;
    let (s, _) = server.call("POST", "/v1/users/alice@example.com/activations", &key, None).await;
    assert_eq!(s, 201);
    let data = dir.path().join("data/cs");
    assert_eq!(mode(&dir.path().join("data")), 0o700, "every directory created");
    assert_eq!(mode(&data), 0o700);
    for file in ["countersign.db", "countersign.db-wal", "countersign.db-shm", "countersign.key"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    assert!(server.terminate().await.success());
}

#[tokio::test]
async fn a_database_or_key_file_others_can_read_is_warned_about_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let start = |log: &str| {
        let mut cmd = command(dir.path());
        cmd.args(["serve", "--listen", "127.0.0.1:0"]).stderr(std::fs::File::create(dir.path().join(log)).unwrap());
        cmd
    };
    let server = Served::start(start("first.log")).await;
    setup(&server, &server.token.clone().unwrap()).await;
    assert!(server.terminate().await.success());
    let first = std::fs::read_to_string(dir.path().join("first.log")).unwrap();
    assert!(!first.contains("WARNING"), "{first}");

    use std::os::unix::fs::PermissionsExt;
    for file in ["countersign.db", "countersign.key"] {
        std::fs::set_permissions(dir.path().join(file), std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let server = Served::start(start("second.log")).await;
    assert!(server.terminate().await.success());
    let second = std::fs::read_to_string(dir.path().join("second.log")).unwrap();
    for file in ["countersign.db", "countersign.key"] {
        let path = file;
        assert!(
            second.contains(&format!("WARNING: {path} can be read by other users (mode 0644)")),
            "{file}: {second}"
        );
        assert!(second.contains(&format!("run: chmod 600 {path}\n")), "{second}");
    }
}

backend_tests! {
    async fn activation_codes_are_never_in_the_database_in_clear(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        assert_eq!(s, 201, "{a}");
        let payload = a["qrPayload"].as_str().unwrap().to_owned();
        let code = payload.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        assert_eq!(code.len(), 12);
        // Neither the file's bytes (database and log) nor any text value hold the code.
        let bytes = app.db().file_bytes();
        assert!(!contains(&bytes, &code) && !contains(&bytes, "countersign://activate"), "the code is in the file");
        for (column, value) in app.db().text_values().await {
            assert!(!value.contains(&code) && !value.contains("countersign://activate"), "{column} holds the code");
        }
        // The QR image is shown again while the code is unused, and it activates.
        let id = a["activationID"].as_str().unwrap();
        let resp = app.client.get(format!("{}/v1/activations/{id}/qr.png", app.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(qrimage::decode_png(&resp.bytes().await.unwrap()).unwrap(), payload);
        let auth = Authenticator::activate(&payload, "1234", &ActivateOptions::default()).await.unwrap();
        assert_eq!(auth.state.user_id, "alice");
        let bytes = app.db().file_bytes();
        assert!(!contains(&bytes, &code));
    }

    async fn an_activation_made_before_the_upgrade_keeps_its_code_and_loses_its_clear_payload(backend) {
        let db = TestDb::new(backend).await;
        db.migrate_to(15).await;
        let right = "ABCDEFGHJKMN";
        let payload = format!("countersign://activate?v=1&server=http%3A%2F%2Fx&id=act-1&code={right}");
        let now = countersign_core::Clock::now(&countersign_core::SystemClock).millis();
        db.execute(&format!(
            "INSERT INTO tenants (id, domain, settings, created_at, updated_at) VALUES ('t1', 'example.com', '{{}}', 1, 1);
             INSERT INTO users (id, tenant_id, user_id, status, phone, email, locale, vdp_delivery_method, created_at, updated_at)
               VALUES ('u1', 't1', 'alice', 'active', NULL, NULL, NULL, 'Default', 1, 1);
             INSERT INTO activations (id, tenant_id, user_pk, code_hash, state, attempts, nonce, qr_payload, created_at, expires_at)
               VALUES ('act-1', 't1', 'u1', '{}', 'Pending', 0, NULL, '{payload}', {now}, {});",
            countersign_core::access::key_hash(right),
            now + 600_000
        ))
        .await;
        let app = App::spawn_on(db, RawConfig::default(), None, None, None).await;
        assert!(!contains(&app.db().file_bytes(), "countersign://activate"), "the clear payload is gone from the file");
        for (column, value) in app.db().text_values().await {
            assert!(!value.contains("countersign://activate"), "{column} holds the payload");
        }
        let (s, k) = app.admin("POST", "/admin/v1/tenants/example.com/api-keys", Some(json!({"name": "web"}))).await;
        assert_eq!(s, 201);
        let key = k["key"].as_str().unwrap();
        // The QR image cannot be rendered again; the code itself still works.
        let (s, b) = app.call("GET", "/v1/activations/act-1/qr.svg", Auth::Bearer(key), None).await;
        assert_eq!((s, code(&b)), (410, "activation_used"));
        let (s, b) = app.call("POST", "/mobile/v1/activations/act-1/code", Auth::None, Some(json!({"code": "AAAAAAAAAAAA"}))).await;
        assert_eq!((s, code(&b)), (422, "invalid_activation_code"));
        let (s, b) = app.call("POST", "/mobile/v1/activations/act-1/code", Auth::None, Some(json!({"code": right}))).await;
        assert_eq!((s, b["userID"].as_str()), (200, Some("alice")), "{b}");
    }
}
