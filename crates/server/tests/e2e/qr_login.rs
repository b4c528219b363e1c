//! QR login end to end (docs/otp.md, "QR login"): the portal's code claimed by the
//! reference authenticator; single use, expiry, wrong codes, other servers and other
//! tenants refused; long-polling the session — on both storage backends.

use crate::common;
use std::sync::Arc;

use crate::common::{App, Auth};
use base64::Engine;
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_core::FixedClock;
use countersign_store::backend_tests;
use serde_json::{Value, json};

async fn device(app: &App, key: &str, user: &str) -> Authenticator {
    let (s, a) = app.call("POST", &format!("/v1/users/{user}/activations"), Auth::Bearer(key), None).await;
    assert_eq!(s, 201, "{a}");
    Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap()
}

async fn start(app: &App, key: &str) -> Value {
    let (s, q) = app.call("POST", "/v1/qr-logins", Auth::Bearer(key), Some(json!({}))).await;
    assert_eq!(s, 201, "{q}");
    q
}

async fn status(app: &App, key: &str, id: &str) -> Value {
    let (s, st) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(key), None).await;
    assert_eq!(s, 200, "{st}");
    st
}

backend_tests! {
    async fn a_qr_login_is_claimed_once_by_the_users_authenticator(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let auth = device(&app, &key, "alice@example.com").await;
        let q = start(&app, &key).await;
        let id = q["requestID"].as_str().unwrap().to_owned();
        let payload = q["qrPayload"].as_str().unwrap().to_owned();
        assert!(payload.starts_with("countersign://qr-login?v=1&server="), "{payload}");
        let png = base64::engine::general_purpose::STANDARD.decode(q["qrPNG"].as_str().unwrap()).unwrap();
        assert_eq!(countersign_authenticator::qrimage::decode_png(&png).unwrap(), payload);
        assert!(q["appLink"].as_str().unwrap().starts_with(&format!("{}/app/qr-login?id={id}&code=", app.base)));
        let st = status(&app, &key, &id).await;
        assert_eq!((st["sessionStatus"].as_str(), st.get("userID")), (Some("Pending"), None));

        // The relying party long-polls while the app claims.
        let waiter = {
            let (client, url, key) = (app.client.clone(), format!("{}/v1/sessions/{id}?wait=10", app.base), key.clone());
            tokio::spawn(async move { common::read(client.get(url).bearer_auth(key).send().await.unwrap()).await })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let r = auth.claim(&payload).await.unwrap();
        assert_eq!(r.session_status, "Accept");
        let (s, waited) = waiter.await.unwrap();
        assert_eq!((s, waited["sessionStatus"].as_str()), (200, Some("Accept")), "{waited}");
        let st = status(&app, &key, &id).await;
        assert_eq!((st["userID"].as_str(), st["domain"].as_str(), st["deviceID"].as_str()), (Some("alice"), Some("example.com"), Some(auth.state.device_id.as_str())));

        // Single use, also through the app link form.
        let err = auth.claim(&payload).await.unwrap_err();
        assert!(err.to_string().contains("session_closed"), "{err}");
        let q2 = start(&app, &key).await;
        let r = auth.claim(q2["appLink"].as_str().unwrap()).await.unwrap();
        assert_eq!(r.session_status, "Accept");
        // A QR login is never shown as a pending request.
        assert!(auth.pending().await.unwrap().is_empty());
    }

    async fn wrong_codes_other_servers_and_other_tenants_are_refused(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let other_key = app.tenant_with_alice("other.example").await;
        let auth = device(&app, &key, "alice@example.com").await;
        let stranger = device(&app, &other_key, "alice@other.example").await;
        let q = start(&app, &key).await;
        let id = q["requestID"].as_str().unwrap().to_owned();
        let payload = q["qrPayload"].as_str().unwrap().to_owned();
        let code = payload.split("code=").nth(1).unwrap().to_owned();
        let other = if code.starts_with('A') { "B" } else { "A" };
        let forged = payload.replace(&format!("code={code}"), &format!("code={other}{}", &code[1..]));
        let err = auth.claim(&forged).await.unwrap_err();
        assert!(err.to_string().contains("invalid_code"), "{err}");
        let elsewhere = payload.replace("server=http%3A%2F%2F127.0.0.1", "server=https%3A%2F%2Fevil.example");
        let err = auth.claim(&elsewhere).await.unwrap_err();
        assert!(err.to_string().contains("refused"), "{err}");
        let err = stranger.claim(&payload).await.unwrap_err();
        assert!(err.to_string().contains("404") || err.to_string().contains("not_found"), "{err}");
        let (s, _) = app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&other_key), None).await;
        assert_eq!(s, 404, "another tenant cannot read it");
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Pending", "still claimable after the refusals");
        assert_eq!(auth.claim(&payload).await.unwrap().session_status, "Accept");
        // Unknown types and non-QR types are refused at the start.
        let (s, b) = app.call("POST", "/v1/qr-logins", Auth::Bearer(&key), Some(json!({"type": "sms"}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("type")));
    }

    async fn an_unclaimed_qr_login_times_out(backend) {
        // The real time (devices sign with it), then stepped past the 120 s TTL.
        let clock = Arc::new(FixedClock::new(countersign_core::Clock::now(&countersign_core::SystemClock)));
        let app = App::spawn_with_clock(backend, clock.clone()).await;
        let key = app.tenant_with_alice("example.com").await;
        let auth = device(&app, &key, "alice@example.com").await;
        let q = start(&app, &key).await;
        let id = q["requestID"].as_str().unwrap().to_owned();
        clock.advance(121_000);
        assert_eq!(status(&app, &key, &id).await["sessionStatus"], "Timeout");
        let err = auth.claim(q["qrPayload"].as_str().unwrap()).await.unwrap_err();
        assert!(err.to_string().contains("session_closed"), "{err}");
    }

    async fn app_links_without_the_app_land_on_a_page_that_says_what_to_do(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        // The README's call: no body at all starts the built-in qr type.
        let r = app.client.post(format!("{}/v1/qr-logins", app.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 201);
        let q: Value = r.json().await.unwrap();
        let link = q["appLink"].as_str().unwrap();
        let r = app.client.get(link).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.headers()["content-type"].to_str().unwrap()), (200, "text/html; charset=utf-8"));
        let page = r.text().await.unwrap();
        assert!(page.contains("Sign in with your authenticator") && page.contains("No app on this phone?"), "{page}");
        let uri = countersign_proto::messages::QrLoginPayload::parse(link).unwrap().to_uri();
        assert!(page.contains(&uri.replace('&', "&amp;")), "{page}");
        // The activation's link too, and the reference authenticator activates from it.
        let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        assert_eq!(s, 201, "{a}");
        let link = a["appLink"].as_str().unwrap();
        assert!(link.starts_with(&format!("{}/app/activate?id=", app.base)), "{link}");
        let page = app.client.get(link).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Activate your authenticator"), "{page}");
        let auth = Authenticator::activate(link, "1234", &ActivateOptions::default()).await.unwrap();
        assert_eq!(auth.state.user_id, "alice");
        // Hostile values are never echoed into the page.
        let r = app.client.get(format!("{}/app/qr-login?id=%3Cscript%3E&code=x%22y", app.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200);
        let page = r.text().await.unwrap();
        assert!(!page.contains("<script>") && page.contains("incomplete or damaged"), "{page}");
    }
}
