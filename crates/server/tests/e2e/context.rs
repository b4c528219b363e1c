//! The secure message's context (docs/otp.md, "Context for the user"): a push login's
//! message filled from a GeoIP database the test builds (real MaxMind DB format) and a
//! real browser user-agent string, per language; the base message alone when
//! geolocation fails — on both storage backends.

use crate::common::mmdb;
use crate::common::{App, Auth};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_store::backend_tests;
use serde_json::json;

const CHROME_ON_MAC: &str = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) AppleWebKit/537.36 (KHTML, like Gecko) \
                             Chrome/73.0.3683.103 Safari/537.36";

/// The app with a GeoIP database holding 81.2.69.0/24 (Utrecht) and 2.125.160.0/20 (London).
async fn app_with_geo(backend: countersign_store::testing::Backend, dir: &tempfile::TempDir) -> App {
    let db = mmdb::build(vec![
        ("81.2.69.0", 24, mmdb::city("NL", "Provincie Utrecht", "UT", "Utrecht")),
        ("2.125.160.0", 20, mmdb::city("GB", "England", "ENG", "London")),
    ]);
    let path = dir.path().join("city.mmdb");
    std::fs::write(&path, db).unwrap();
    App::spawn_with(
        backend,
        RawConfig { geoip_database: Some(path.to_string_lossy().into_owned()), ..RawConfig::default() },
    )
    .await
}

async fn device(app: &App, key: &str) -> Authenticator {
    let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(key), None).await;
    Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap()
}

/// Start a push login with `extra` fields; the message the device is shown.
async fn shown(app: &App, key: &str, auth: &Authenticator, extra: serde_json::Value) -> String {
    let mut body = json!({"passKey": "push", "timeout": 0, "loginMessage": "You are logging into the XYZ portal"});
    body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
    let (s, out) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(key), Some(body)).await;
    assert_eq!(s, 200, "{out}");
    auth.request(out["requestID"].as_str().unwrap()).await.unwrap().message
}

backend_tests! {
    async fn the_message_carries_browser_system_and_place(backend) {
        let dir = tempfile::tempdir().unwrap();
        let app = app_with_geo(backend, &dir).await;
        let key = app.tenant_with_alice("example.com").await;
        let auth = device(&app, &key).await;
        let m = shown(&app, &key, &auth, json!({"ipAddress": "81.2.69.142", "userAgent": CHROME_ON_MAC})).await;
        assert_eq!(
            m,
            "You are logging into the XYZ portal Device: Mac OSX 10.14 Chrome 73.0, Location: NL, Provincie Utrecht, Utrecht"
        );
        // Per language, with fallback to the primary subtag.
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"confirmationTemplates": {
            "de": "[message] mit [browser] aus [city], [countryCode]"}}}))).await;
        assert_eq!(s, 200, "{b}");
        let m = shown(&app, &key, &auth, json!({"ipAddress": "2.125.160.216", "userAgent": CHROME_ON_MAC, "languageCode": "de-AT"})).await;
        assert_eq!(m, "You are logging into the XYZ portal mit Chrome 73.0 aus London, GB");
        // Only a user agent: no place.
        let m = shown(&app, &key, &auth, json!({"userAgent": CHROME_ON_MAC, "languageCode": "de"})).await;
        assert_eq!(m, "You are logging into the XYZ portal mit Chrome 73.0 aus ,");
        // An address the database does not know: the base message only.
        let m = shown(&app, &key, &auth, json!({"ipAddress": "192.0.2.7", "userAgent": CHROME_ON_MAC})).await;
        assert_eq!(m, "You are logging into the XYZ portal");
        // The device signs what it was shown: approving still works.
        let (_, out) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key),
            Some(json!({"passKey": "NoPIN", "timeout": 0, "ipAddress": "81.2.69.1", "userAgent": CHROME_ON_MAC}))).await;
        let id = out["requestID"].as_str().unwrap();
        let req = auth.request(id).await.unwrap();
        assert!(req.message.contains("Utrecht"), "{}", req.message);
        let number = out["numberToShow"].as_u64().map(|n| n as u8);
        let r = auth.respond(id, &countersign_authenticator::Answer { approve: true, number, ..Default::default() }).await.unwrap();
        assert_eq!(r.session_status, "Accept");
        // Bad input is refused by field.
        let (s, b) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key),
            Some(json!({"passKey": "push", "timeout": 0, "ipAddress": "300.1.1.1"}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("ipAddress")));
    }

    async fn without_a_database_the_base_message_is_sent(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let auth = device(&app, &key).await;
        let m = shown(&app, &key, &auth, json!({"ipAddress": "81.2.69.142", "userAgent": CHROME_ON_MAC})).await;
        assert_eq!(m, "You are logging into the XYZ portal");
    }
}
