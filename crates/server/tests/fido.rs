//! FIDO2 passkeys end to end (docs/fido.md) with webauthn-authenticator-rs's software
//! passkey playing the browser and authenticator: registration and login through the seed
//! API, single-use ceremonies, expiry, wrong origin, missing user verification, another
//! user's credential, tenant isolation, credential administration — on both backends.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;

use common::{App, Auth};
use countersign_core::{Clock, FixedClock, SystemClock};
use countersign_store::backend_tests;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

const ORIGIN: &str = "https://app.example.com";

async fn setup(backend: countersign_store::testing::Backend) -> (App, Arc<FixedClock>, String) {
    let clock = Arc::new(FixedClock::new(SystemClock.now()));
    let app = App::spawn_with_clock(backend, clock.clone()).await;
    let key = app.tenant_with_alice("example.com").await;
    let (s, b) = app
        .admin(
            "PUT",
            "/admin/v1/tenants/example.com/fido",
            Some(json!({"rpID": "example.com", "rpName": "Example", "origins": [ORIGIN]})),
        )
        .await;
    assert_eq!(s, 200, "{b}");
    (app, clock, key)
}

async fn post(app: &App, key: &str, path: &str, body: Value) -> (u16, Value) {
    app.call("POST", path, Auth::Bearer(key), Some(body)).await
}

/// Register a passkey for `user` with `auth`; the credential view.
async fn register(app: &App, key: &str, user: &str, auth: &mut SoftPasskey) -> Value {
    let (s, r) = post(
        app,
        key,
        &format!("/v1/users/{user}/generate-fido-registration-request"),
        json!({"fidoProtocol": "FIDO2", "userVerification": "required"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    assert!(r["uafStatusCode"].is_null());
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

/// An authentication request for `user`: (requestID, options).
async fn auth_request(app: &App, key: &str, user: &str) -> (String, RequestChallengeResponse) {
    let (s, r) = post(
        app,
        key,
        &format!("/v1/users/{user}/generate-fido-authentication-request"),
        json!({"fidoProtocol": "FIDO2", "userVerification": "required"}),
    )
    .await;
    assert_eq!(s, 200, "{r}");
    (r["requestID"].as_str().unwrap().to_owned(), serde_json::from_value(r["authenticationRequest"].clone()).unwrap())
}

fn finish(request_id: &str, response: &impl serde::Serialize) -> Value {
    json!({"objectType": "LoginInput", "requestID": request_id,
           "credentials": {"fidoAuthenticator": {"authenticationResponse": response}}})
}

backend_tests! {
    async fn a_passkey_is_registered_and_logs_in_once_per_ceremony(backend) {
        let (app, clock, key) = setup(backend).await;
        let mut auth = SoftPasskey::new(true);
        let c = register(&app, &key, "alice@example.com", &mut auth).await;
        assert_eq!(c["name"], "laptop");
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/fido-credentials", None).await;
        assert_eq!(list[0]["credentialID"], c["credentialID"]);

        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = auth.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, out) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, out["sessionStatus"].as_str()), (200, Some("Accept")), "{out}");
        let (_, st) = app.call("GET", &format!("/v1/sessions/{}", out["requestID"].as_str().unwrap()), Auth::Bearer(&key), None).await;
        assert_eq!(st["sessionStatus"], "Accept");
        // The ceremony is used up.
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (404, "request_not_found"), "{b}");
        let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/fido-credentials", None).await;
        assert!(list[0]["lastUsedAt"].is_string() && list[0]["counter"].as_u64().unwrap() >= 1, "{list}");

        // An expired challenge.
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = auth.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        clock.advance(6 * 60_000);
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (409, "session_closed"));

        // Rename and remove.
        let cid = c["credentialID"].as_str().unwrap();
        let path = format!("/admin/v1/tenants/example.com/users/alice/fido-credentials/{cid}");
        let (s, r) = app.admin("PATCH", &path, Some(json!({"name": "work laptop"}))).await;
        assert_eq!((s, r["name"].as_str()), (200, Some("work laptop")));
        let (s, _) = app.admin("DELETE", &path, None).await;
        assert_eq!(s, 204);
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "FIDO2"})).await;
        assert_eq!((s, common::code(&b)), (422, "no_fido_authenticator"));
    }

    async fn wrong_origins_missing_verification_and_other_users_are_refused(backend) {
        let (app, _clock, key) = setup(backend).await;
        let mut alice = SoftPasskey::new(true);
        register(&app, &key, "alice@example.com", &mut alice).await;
        app.admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": "bob"}))).await;
        let mut bob = SoftPasskey::new(true);
        register(&app, &key, "bob@example.com", &mut bob).await;

        // A page on another origin of the same site.
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = alice.do_authentication(Url::parse("https://evil.example.com").unwrap(), rcr).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_wrong_origin"), "{b}");

        // User verification required but not performed.
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let mut options = serde_json::to_value(&rcr).unwrap();
        options["publicKey"]["userVerification"] = json!("discouraged");
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), serde_json::from_value(options).unwrap()).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/login", finish(&id, &pkc)).await;
        assert_eq!((s, common::code(&b)), (422, "fido_user_not_verified"), "{b}");

        // Alice's response to alice's challenge, sent as bob's login: bob's ceremony is another.
        let (bob_id, _) = auth_request(&app, &key, "bob@example.com").await;
        let (_, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, b) = post(&app, &key, "/v1/users/bob@example.com/login", finish(&bob_id, &pkc)).await;
        assert_eq!(s, 422, "{b}");
        assert!(common::code(&b).starts_with("fido_"), "{b}");

        // Another tenant cannot finish this tenant's ceremony.
        let other = app.tenant_with_alice("other.example").await;
        let (id, rcr) = auth_request(&app, &key, "alice@example.com").await;
        let pkc = alice.do_authentication(Url::parse(ORIGIN).unwrap(), rcr).unwrap();
        let (s, b) = app.call("POST", "/v1/users/alice@other.example/login", Auth::Bearer(&other), Some(finish(&id, &pkc))).await;
        assert_eq!((s, common::code(&b)), (409, "fido_not_configured"), "{b}");

        // Prerequisites fail with their own errors.
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "U2F"})).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("fidoProtocol")));
        let (s, b) = post(&app, &key, "/v1/users/nobody@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "FIDO2"})).await;
        assert_eq!((s, common::code(&b)), (404, "user_not_found"));
        app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": [ORIGIN], "enabled": false}))).await;
        let (s, b) = post(&app, &key, "/v1/users/alice@example.com/generate-fido-authentication-request", json!({"fidoProtocol": "FIDO2"})).await;
        assert_eq!((s, common::code(&b)), (403, "fido_disabled"));
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "example.com", "origins": ["http://example.com"]}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("origins.0")));
    }
}

/// A passkey registered and used in real Chromium (Debian's, driven by Playwright over
/// CDP with a virtual authenticator) on the demo page the server serves, through the seed
/// API. Needs `/usr/bin/chromium` and `npm ci` in tests/browser (`.ci/run` does both).
#[tokio::test]
async fn a_passkey_in_headless_chromium() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        std::path::Path::new("/usr/bin/chromium").exists(),
        "install Debian's chromium: apt-get install -y chromium"
    );
    if !dir.join("node_modules/playwright-core").exists() {
        let ok = std::process::Command::new("npm").args(["ci", "--no-audit", "--no-fund"]).current_dir(&dir).status();
        assert!(ok.is_ok_and(|s| s.success()), "npm ci in {} failed", dir.display());
    }
    let app = App::spawn(countersign_store::testing::Backend::Sqlite).await;
    let key = app.tenant_with_alice("example.com").await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let origin = format!("http://localhost:{port}");
    let (s, b) = app
        .admin("PUT", "/admin/v1/tenants/example.com/fido", Some(json!({"rpID": "localhost", "origins": [origin]})))
        .await;
    assert_eq!(s, 200, "{b}");
    let url = format!("{origin}/demo/passkey#key={key}&user=alice@example.com");
    let out = tokio::process::Command::new("node").arg(dir.join("passkey.mjs")).arg(&url).output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let result: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        (result["registered"].as_str(), result["login"].as_str(), result["credentials"].as_u64()),
        (Some("registered"), Some("Accept"), Some(1)),
        "{result}"
    );
    let (_, list) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/fido-credentials", None).await;
    assert_eq!(list[0]["name"], "browser");
    assert!(list[0]["lastUsedAt"].is_string(), "{list}");
}
