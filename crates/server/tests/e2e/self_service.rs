//! The self-service pages over plain HTTP (docs/web.md), on both backends: a one-time
//! sign-in link, the session cookie and its rules, CSRF and origin checks, activation of
//! the reference authenticator from the QR image on the page with the page's event
//! stream following it to "activated", device removal, sign-out; and the integration
//! API's event stream of a login session. The same flows in real Chromium are in
//! browser/self_service.mjs (`a_user_activates_from_the_self_service_page_in_chromium`).

use std::time::Duration;

use base64::Engine;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator, qrimage};
use countersign_store::backend_tests;
use serde_json::json;

use crate::common::{App, Auth, code};

/// A browser without one: no redirects followed, cookies kept by hand.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Issue a sign-in link for alice through the admin API; its URL.
async fn link(app: &App) -> String {
    let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/users/alice/sign-in-links", None).await;
    assert_eq!(s, 201, "{b}");
    b["url"].as_str().unwrap().to_owned()
}

fn token_of(url: &str) -> String {
    url.split_once("token=").unwrap().1.to_owned()
}

/// Post a form as the page would: from this server's own origin.
async fn post(app: &App, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut req = browser().post(format!("{}{path}", app.base)).header("origin", &app.base).form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

async fn get(app: &App, path: &str, cookie: &str) -> reqwest::Response {
    browser().get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap()
}

/// Sign alice in with a fresh link; the `Cookie` header that carries the session.
async fn sign_in(app: &App) -> String {
    let res = post(app, "/self-service/example.com/link", None, &[("token", &token_of(&link(app).await))]).await;
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/self-service/example.com/home");
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// The value of the hidden CSRF field on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// The events of a server-sent event stream until it ends, as (event, data) pairs.
async fn events(mut res: reqwest::Response, limit: Duration) -> Vec<(String, String)> {
    let mut text = String::new();
    let _ = tokio::time::timeout(limit, async {
        while let Ok(Some(chunk)) = res.chunk().await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await;
    text.split("\n\n")
        .filter_map(|block| {
            let field = |name: &str| {
                block.lines().find_map(|l| l.strip_prefix(&format!("{name}:")).map(|v| v.trim().to_owned()))
            };
            Some((field("event")?, field("data").unwrap_or_default()))
        })
        .collect()
}

/// Give alice the static password `correct horse battery`.
async fn set_password(app: &App) {
    let path = "/admin/v1/tenants/example.com/users/alice/static-password";
    let (s, b) = app.admin("PUT", path, Some(json!({"password": "correct horse battery"}))).await;
    assert_eq!(s, 200, "{b}");
}

backend_tests! {
    async fn a_sign_in_link_opens_a_session_once_with_a_strict_cookie(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let url = link(&app).await;
        assert!(url.starts_with(&format!("{}/self-service/example.com/link?token=csl_", app.base)), "{url}");
        // Opening the link only shows a button: a preview that follows it uses nothing.
        let page = browser().get(&url).send().await.unwrap();
        assert_eq!(page.status(), 200);
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(page.headers()["x-content-type-options"], "nosniff");
        assert!(page.text().await.unwrap().contains("Continue"));
        // A post from another site is refused before the link is spent.
        let token = token_of(&url);
        let forged = browser()
            .post(format!("{}/self-service/example.com/link", app.base))
            .header("origin", "https://evil.example")
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403);
        let res = post(&app, "/self-service/example.com/link", None, &[("token", &token)]).await;
        assert_eq!(res.status(), 303);
        let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set.starts_with("cs_self_service="), "{set}");
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=28"] {
            assert!(set.contains(attr), "{attr} missing from {set}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        let home = get(&app, "/self-service/example.com/home", &cookie).await;
        assert_eq!(home.status(), 200);
        assert_eq!(home.headers()["cache-control"], "no-store");
        assert!(home.text().await.unwrap().contains("You have no mobile authenticator yet."));
        // The link is spent, and a made-up one is refused the same way.
        for t in [token.as_str(), "csl_madeup"] {
            let again = post(&app, "/self-service/example.com/link", None, &[("token", t)]).await;
            assert_eq!(again.status(), 410);
            assert!(again.text().await.unwrap().contains("not valid"));
        }
        // Another tenant's pages do not know this session.
        app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "other.example"}))).await;
        let elsewhere = get(&app, "/self-service/other.example/home", &cookie).await;
        assert_eq!((elsewhere.status().as_u16(), elsewhere.headers()["location"].to_str().unwrap()), (303, "/self-service/other.example"));
        // Only hashes are stored.
        let secret = cookie.split_once('=').unwrap().1;
        let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=example.com", None).await;
        assert!(!audit.to_string().contains(secret) && !audit.to_string().contains(&token));
        assert!(audit.to_string().contains("self-service:alice"), "{audit}");
        app.stop().await.unwrap();
    }

    async fn the_page_activates_the_authenticator_and_follows_it_to_activated(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let cookie = sign_in(&app).await;
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        let csrf = csrf_of(&home);
        // Without the token, or with another session's, nothing starts.
        let res = post(&app, "/self-service/example.com/activation", Some(&cookie), &[]).await;
        assert_eq!(res.status(), 403);
        let other = sign_in(&app).await;
        let other_csrf = csrf_of(&get(&app, "/self-service/example.com/home", &other).await.text().await.unwrap());
        let res = post(&app, "/self-service/example.com/activation", Some(&cookie), &[("csrf", &other_csrf)]).await;
        assert_eq!(res.status(), 403);
        let res = post(&app, "/self-service/example.com/activation", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        let page_path = res.headers()["location"].to_str().unwrap().to_owned();
        let id = page_path.rsplit('/').next().unwrap().to_owned();
        let page = get(&app, &page_path, &cookie).await.text().await.unwrap();
        // The QR image on the page, read as a camera would, and the code in text beside it.
        let b64 = page.split("data:image/png;base64,").nth(1).unwrap().split('"').next().unwrap();
        let png = base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
        let payload = qrimage::decode_png(&png).unwrap();
        let shown_code = page.split("id=\"activation-text\">").nth(1).unwrap().split('<').next().unwrap();
        assert!(payload.contains(&format!("code={shown_code}")) || payload.contains(shown_code), "{payload}");
        // Bob cannot follow alice's activation.
        let stream = get(&app, &format!("{page_path}/events"), &cookie).await;
        assert_eq!(stream.headers()["content-type"], "text/event-stream");
        let following = tokio::spawn(events(stream, Duration::from_secs(20)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let auth = Authenticator::activate(&payload, "1234", &ActivateOptions::default()).await.unwrap();
        let seen = following.await.unwrap();
        let progress: Vec<String> = seen
            .iter()
            .filter(|(e, _)| e == "progress")
            .map(|(_, d)| serde_json::from_str::<serde_json::Value>(d).unwrap()["progress"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(progress.first().map(String::as_str), Some("waiting"), "{seen:?}");
        assert_eq!(progress.last().map(String::as_str), Some("activated"), "{seen:?}");
        assert!(app.core.waiters.is_empty(), "the stream's waiter is released");
        // The page now says so, and the device is listed with a way to remove it.
        let page = get(&app, &page_path, &cookie).await.text().await.unwrap();
        assert!(page.contains("Activated") && !page.contains("data:image/png"), "the QR is gone once used");
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        let remove = format!("/self-service/example.com/devices/{}/remove", auth.state.device_id);
        assert!(home.contains(&remove), "{home}");
        let rename = format!("/self-service/example.com/devices/{}/name", auth.state.device_id);
        for (name, status) in [("", 422), ("bad\u{7}name", 422), ("Work phone", 303)] {
            let res = post(&app, &rename, Some(&cookie), &[("csrf", &csrf), ("name", name)]).await;
            assert_eq!(res.status(), status, "{name:?}");
        }
        let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
        assert_eq!(devices["items"][0]["name"], "Work phone", "{devices}");
        let res = post(&app, &remove, Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
        assert_eq!(devices["items"].as_array().unwrap().len(), 0, "{devices}");
        // Sign-out ends the session on the server, not only in the browser.
        let res = post(&app, "/self-service/example.com/sign-out", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        let after = get(&app, "/self-service/example.com/home", &cookie).await;
        assert_eq!(after.status(), 303);
        let _ = id;
        app.stop().await.unwrap();
    }

    async fn a_locked_user_is_signed_out_and_gets_no_link(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let cookie = sign_in(&app).await;
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com/users/alice", Some(json!({"status": "locked"}))).await;
        assert_eq!(s, 200, "{b}");
        assert_eq!(get(&app, "/self-service/example.com/home", &cookie).await.status(), 303);
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/users/alice/sign-in-links", None).await;
        assert_eq!((s, code(&b)), (403, "user_locked"));
        app.stop().await.unwrap();
    }

    async fn an_authenticator_app_is_enrolled_from_the_page_and_confirmed_by_an_oathtool_code(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let cookie = sign_in(&app).await;
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        let csrf = csrf_of(&home);
        let res = post(&app, "/self-service/example.com/totp", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        let page_path = res.headers()["location"].to_str().unwrap().to_owned();
        let token_id = page_path.rsplit('/').next().unwrap().to_owned();
        let page = get(&app, &page_path, &cookie).await.text().await.unwrap();
        let secret = page.split("id=\"token-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
        // The QR code on the page holds the same secret.
        let b64 = page.split("data:image/png;base64,").nth(1).unwrap().split('"').next().unwrap();
        let uri = qrimage::decode_png(&base64::engine::general_purpose::STANDARD.decode(b64).unwrap()).unwrap();
        assert!(uri.starts_with("otpauth://totp/example.com:alice?secret=") && uri.contains(&secret), "{uri}");
        let confirm = format!("{page_path}/confirm");
        let res = post(&app, &confirm, Some(&cookie), &[("csrf", &csrf), ("otp", "000000")]).await;
        assert_eq!(res.status(), 422);
        let text = res.text().await.unwrap();
        assert!(text.contains("aria-invalid=\"true\"") && text.contains(&secret), "the page stays, with the error");
        let out = std::process::Command::new("oathtool").args(["--totp", "-b", &secret]).output().unwrap();
        let otp = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let res = post(&app, &confirm, Some(&cookie), &[("csrf", &csrf), ("otp", &otp)]).await;
        assert_eq!(res.status(), 303);
        let (_, tokens) = app.call("GET", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), None).await;
        let tokens = tokens.as_array().cloned().unwrap_or_else(|| tokens["items"].as_array().unwrap().clone());
        assert_eq!((tokens.len(), tokens[0]["state"].as_str()), (1, Some("active")), "{tokens:?}");
        // Confirmed: the seed is never shown again.
        assert_eq!(get(&app, &page_path, &cookie).await.status(), 409);
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        assert!(home.contains(&format!("/tokens/{token_id}/remove")) && !home.contains("finish setting up"));
        let res = post(&app, &format!("/self-service/example.com/tokens/{token_id}/remove"), Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        let (_, tokens) = app.call("GET", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), None).await;
        assert_eq!(tokens.as_array().map_or_else(|| tokens["items"].as_array().unwrap().len(), Vec::len), 0);
        app.stop().await.unwrap();
    }

    async fn not_me_locks_the_approving_device_or_the_user_as_the_tenant_says(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"notMePolicy": "lockDevice"}}))).await;
        assert_eq!(s, 200, "{b}");
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        // A push login someone else started and alice's phone approved.
        let (_, out) = app
            .call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(json!({"passKey": "push", "timeout": 0})))
            .await;
        let id = out["requestID"].as_str().unwrap().to_owned();
        let number = out["numberToShow"].as_u64().map(|n| n as u8);
        auth.respond(&id, &Answer { approve: true, number, ..Default::default() }).await.unwrap();
        let cookie = sign_in(&app).await;
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        let csrf = csrf_of(&home);
        // Newest first: the sign-in link, then the push (with what the phone showed).
        let rows: Vec<&str> = home.split("<tr>").skip(1).filter(|r| r.contains("/not-me")).collect();
        assert_eq!(rows.len(), 2, "{home}");
        assert!(rows[0].contains("Sign-in link, on this site") && rows[1].contains("Push") && rows[1].contains("Log in to example.com"), "{home}");
        let not_me = rows[1].split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let res = post(&app, &not_me, Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("is disconnected"));
        let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
        assert_eq!(devices["items"][0]["state"], "Disconnected", "{devices}");
        let (_, user) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice", None).await;
        assert_eq!(user["status"], "active", "the device only: {user}");
        let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=example.com&kind=locked", None).await;
        assert!(audit.to_string().contains("not_me"), "{audit}");
        // A number that is not one of hers changes nothing.
        let res = post(&app, "/self-service/example.com/sign-ins/999999/not-me", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 422);
        // The default policy locks the user, who is signed out at once.
        app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"notMePolicy": "lockUser"}}))).await;
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        let first = home.split("<tr>").skip(1).find(|r| r.contains("/not-me")).unwrap();
        let not_me = first.split("action=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
        let res = post(&app, &not_me, Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 200);
        assert!(res.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        let (_, user) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice", None).await;
        assert_eq!(user["status"], "locked", "{user}");
        assert_eq!(get(&app, "/self-service/example.com/home", &cookie).await.status(), 303);
        app.stop().await.unwrap();
    }

    async fn a_password_and_an_approved_push_sign_in_only_the_browser_that_typed_it(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        set_password(&app).await;
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        // Wrong password and unknown user: one answer, nothing pushed.
        for (user, pw) in [("alice", "not-the-password"), ("nobody", "correct horse battery")] {
            let res = post(&app, "/self-service/example.com/sign-in", None, &[("user", user), ("password", pw)]).await;
            assert_eq!(res.status(), 401);
            assert!(res.text().await.unwrap().contains("the user ID or the password is wrong"));
        }
        assert!(auth.pending().await.unwrap().is_empty(), "no push for a wrong password");
        let res = post(&app, "/self-service/example.com/sign-in", None, &[("user", "alice"), ("password", "correct horse battery")]).await;
        assert_eq!(res.status(), 200);
        let pending = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        assert!(pending.starts_with("cs_self_service_pending=csb_"), "{pending}");
        let page = res.text().await.unwrap();
        let finish = page.split("action=\"").find(|p| p.contains("/finish")).unwrap().split('"').next().unwrap().to_owned();
        let id = finish.split('/').nth(4).unwrap().to_owned();
        let number: Option<u8> = page.split("id=\"sign-in-number\">").nth(1).map(|r| r.split('<').next().unwrap().parse().unwrap());
        // Not approved yet: no session.
        let res = post(&app, &finish, Some(&pending), &[]).await;
        assert_eq!(res.status(), 403);
        // The page's stream follows the push; another browser's pending cookie does not.
        let stranger = browser().get(format!("{}/self-service/example.com/sign-in/{id}/events", app.base))
            .header("cookie", "cs_self_service_pending=csb_stranger").send().await.unwrap();
        assert_eq!(stranger.status(), 410);
        let stream = get(&app, &format!("/self-service/example.com/sign-in/{id}/events"), &pending).await;
        let following = tokio::spawn(events(stream, Duration::from_secs(20)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        let shown = auth.pending().await.unwrap();
        assert!(shown[0].message.contains("Sign in to your account page at example.com?"), "{:?}", shown[0].message);
        auth.respond(&id, &Answer { approve: true, number, ..Default::default() }).await.unwrap();
        let seen = following.await.unwrap();
        assert_eq!(seen.last().map(|(e, d)| (e.as_str(), d.contains("\"Accept\""))), Some(("state", true)), "{seen:?}");
        // The approval opens a session only with the pending cookie, and only once.
        let res = post(&app, &finish, None, &[]).await;
        assert_eq!(res.status(), 410);
        let res = post(&app, &finish, Some(&pending), &[]).await;
        assert_eq!(res.status(), 303);
        let cookies: Vec<String> = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
        let session = cookies.iter().find(|c| c.starts_with("cs_self_service=")).unwrap().split(';').next().unwrap().to_owned();
        assert!(cookies.iter().any(|c| c.starts_with("cs_self_service_pending=;") && c.contains("Max-Age=0")), "{cookies:?}");
        assert_eq!(get(&app, "/self-service/example.com/home", &session).await.status(), 200);
        assert_eq!(post(&app, &finish, Some(&pending), &[]).await.status(), 410);
        app.stop().await.unwrap();
    }

    async fn a_password_and_an_authenticator_app_code_sign_in_and_a_password_alone_does_not(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        set_password(&app).await;
        let form = [("user", "alice"), ("password", "correct horse battery")];
        let res = post(&app, "/self-service/example.com/sign-in", None, &form).await;
        assert_eq!(res.status(), 403, "no second factor yet");
        assert!(res.text().await.unwrap().contains("a password alone does not sign in"));
        let (s, t) = app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), Some(json!({}))).await;
        assert_eq!(s, 201, "{t}");
        let secret = t["otpauthURI"].as_str().unwrap().split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let totp = |at: &str| {
            let out = std::process::Command::new("oathtool").args(["--totp", "-b", "--now", at, &secret]).output().unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        };
        let now = totp("now");
        let (s, b) = app.call("POST", &format!("/v1/users/alice@example.com/tokens/{}/confirm", t["tokenID"].as_str().unwrap()), Auth::Bearer(&key), Some(json!({"otp": now}))).await;
        assert_eq!(s, 200, "{b}");
        let res = post(&app, "/self-service/example.com/sign-in", None, &form).await;
        assert_eq!(res.status(), 200);
        let pending = res.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        assert!(res.text().await.unwrap().contains("Code from your authenticator app"));
        let res = post(&app, "/self-service/example.com/sign-in/totp", Some(&pending), &[("otp", "000000")]).await;
        assert_eq!(res.status(), 422);
        // The next period's code (the confirmation used this one's).
        let next = totp(&format!("@{}", (app.core.clock.now().millis() / 1000 / 30 + 1) * 30));
        let res = post(&app, "/self-service/example.com/sign-in/totp", Some(&pending), &[("otp", &next)]).await;
        assert_eq!(res.status(), 303);
        let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=example.com&kind=login_succeeded", None).await;
        assert!(audit.to_string().contains("password_totp"), "{audit}");
        app.stop().await.unwrap();
    }

    async fn the_user_sets_then_changes_the_password_knowing_the_current_one(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let cookie = sign_in(&app).await;
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        let csrf = csrf_of(&home);
        assert!(home.contains("Set password") && !home.contains("Current password"), "none yet");
        let set = [("csrf", csrf.as_str()), ("new", "first password 1"), ("confirm", "first password 1")];
        assert_eq!(post(&app, "/self-service/example.com/password", Some(&cookie), &set).await.status(), 200);
        let home = get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap();
        assert!(home.contains("Current password"));
        for (current, new, confirm, field) in [
            ("wrong password", "second password 2", "second password 2", "the current password is wrong"),
            ("first password 1", "second password 2", "different", "the two new passwords differ"),
            ("first password 1", "short", "short", "8 to 256 characters"),
        ] {
            let form = [("csrf", csrf.as_str()), ("current", current), ("new", new), ("confirm", confirm)];
            let res = post(&app, "/self-service/example.com/password", Some(&cookie), &form).await;
            assert_eq!(res.status(), 422);
            assert!(res.text().await.unwrap().contains(field), "{field}");
        }
        let change = [("csrf", csrf.as_str()), ("current", "first password 1"), ("new", "second password 2"), ("confirm", "second password 2")];
        assert_eq!(post(&app, "/self-service/example.com/password", Some(&cookie), &change).await.status(), 200);
        // The new password is the one that passes (then asks for a second factor she lacks).
        let old = post(&app, "/self-service/example.com/sign-in", None, &[("user", "alice"), ("password", "first password 1")]).await;
        assert_eq!(old.status(), 401);
        let new = post(&app, "/self-service/example.com/sign-in", None, &[("user", "alice"), ("password", "second password 2")]).await;
        assert_eq!(new.status(), 403);
        app.stop().await.unwrap();
    }

    async fn passkey_calls_need_the_csrf_header_and_the_sites_own_origin(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let cookie = sign_in(&app).await;
        let csrf = csrf_of(&get(&app, "/self-service/example.com/home", &cookie).await.text().await.unwrap());
        let call = |path: &str, origin: &str, token: Option<&str>, body: serde_json::Value| {
            let mut req = browser().post(format!("{}{path}", app.base)).header("origin", origin).header("cookie", &cookie).json(&body);
            if let Some(t) = token {
                req = req.header("x-csrf-token", t);
            }
            req.send()
        };
        let res = call("/self-service/example.com/passkeys/options", &app.base, None, json!({})).await.unwrap();
        assert_eq!(res.status(), 403);
        assert_eq!(res.json::<serde_json::Value>().await.unwrap()["error"]["code"], "csrf_failed");
        // With the token: the tenant has no relying party yet, which the answer says.
        let res = call("/self-service/example.com/passkeys/options", &app.base, Some(&csrf), json!({})).await.unwrap();
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "fido_not_configured", "{body}");
        let res = call("/self-service/example.com/sign-in/passkey/options", "https://evil.example", None, json!({"user": "alice"}))
            .await
            .unwrap();
        assert_eq!(res.status(), 403);
        let res = call("/self-service/example.com/sign-in/passkey", &app.base, None, json!({"user": "alice", "requestID": "nope", "response": {}}))
            .await
            .unwrap();
        assert!(res.status().is_client_error() && res.headers().get("set-cookie").is_none(), "{}", res.status());
        app.stop().await.unwrap();
    }

    async fn an_activation_streams_its_progress_to_the_integration_api(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let other = app.tenant_with_alice("other.example").await;
        let (_, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let id = a["activationID"].as_str().unwrap().to_owned();
        let path = format!("/v1/activations/{id}/events");
        let (s, b) = app.call("GET", &path, Auth::Bearer(&other), None).await;
        assert_eq!((s, code(&b)), (404, "activation_not_found"), "another tenant's key");
        let res = reqwest::Client::new().get(format!("{}{path}", app.base)).bearer_auth(&key).send().await.unwrap();
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let following = tokio::spawn(events(res, Duration::from_secs(20)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        let seen = following.await.unwrap();
        let progress: Vec<String> = seen
            .iter()
            .map(|(_, d)| serde_json::from_str::<serde_json::Value>(d).unwrap()["progress"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(progress.first().map(String::as_str), Some("waiting"), "{seen:?}");
        assert_eq!(progress.last().map(String::as_str), Some("activated"), "{seen:?}");
        app.stop().await.unwrap();
    }

    async fn a_login_session_streams_its_end_to_the_integration_api(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        assert_eq!(s, 201, "{a}");
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default())
            .await
            .unwrap();
        let (s, out) = app
            .call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(json!({"passKey": "push", "timeout": 0})))
            .await;
        assert_eq!(s, 200, "{out}");
        let id = out["requestID"].as_str().unwrap().to_owned();
        let (s, b) = app.call("GET", "/v1/sessions/nope/events", Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&b)), (404, "request_not_found"));
        let res = reqwest::Client::new()
            .get(format!("{}/v1/sessions/{id}/events", app.base))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["content-type"], "text/event-stream");
        let following = tokio::spawn(events(res, Duration::from_secs(20)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        for _ in 0..100 {
            if !auth.pending().await.unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let number = out["numberToShow"].as_u64().map(|n| n as u8);
        auth.respond(&id, &Answer { approve: true, number, ..Default::default() }).await.unwrap();
        let seen = following.await.unwrap();
        let states: Vec<String> = seen
            .iter()
            .map(|(e, d)| format!("{e}:{}", serde_json::from_str::<serde_json::Value>(d).unwrap()["sessionStatus"].as_str().unwrap()))
            .collect();
        assert_eq!(states, ["state:Pending", "state:Accept"], "{seen:?}");
        app.stop().await.unwrap();
    }
}

/// The same activation in Debian's Chromium (browser/self_service.mjs): the QR code is
/// photographed from the page and scanned by the authenticator CLI, and the page turns to
/// "activated" on its own; every page passes axe-core. With COUNTERSIGN_SCREENSHOTS=1 the
/// pages are saved to docs/img (the screenshots in docs/web.md).
#[tokio::test]
async fn a_user_activates_from_the_self_service_page_in_chromium() {
    let dir = crate::common::browser_dir();
    let cli = crate::common::process::authenticator_bin();
    let app = App::spawn(countersign_store::testing::Backend::Sqlite).await;
    app.tenant_with_alice("example.com").await;
    set_password(&app).await;
    // Browsers refuse passkeys on an IP address: the pages are opened on localhost.
    let origin = app.base.replace("127.0.0.1", "localhost");
    let rp = json!({"rpID": "localhost", "origins": [origin], "residentKey": "required"});
    let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/fido", Some(rp)).await;
    assert_eq!(s, 200, "{b}");
    let url = link(&app).await.replace("127.0.0.1", "localhost");
    let work = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("self_service.mjs")).arg(&url).arg(&cli).arg(work.path());
    if std::env::var_os("COUNTERSIGN_SCREENSHOTS").is_some() {
        cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img"));
    }
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(r["status"], "Activated: your authenticator is ready.", "{r}");
    assert_eq!((r["qrHidden"].as_bool(), r["overflow"].as_bool()), (Some(true), Some(false)), "{r}");
    let rows = r["rows"].as_array().unwrap();
    assert!(rows.len() == 1 && rows[0].as_str().unwrap().contains("Active"), "{r}");
    let tokens = r["tokens"].as_array().unwrap();
    assert!(tokens.len() == 1 && tokens[0].as_str().unwrap().contains("totp Active"), "{r}");
    assert!(r["signedOut"].as_str().unwrap().starts_with("Sign in"), "{r}");
    assert!(r["pushed"].as_str().unwrap().starts_with("Sign in to your account page at example.com?"), "{r}");
    assert_eq!(r["backIn"], "Your authenticators", "signed in again with password and push: {r}");
    let passkeys = r["passkeys"].as_array().unwrap();
    assert!(passkeys.len() == 1 && !passkeys[0].as_str().unwrap().contains("never"), "used to sign in: {r}");
    assert_eq!((&r["credentials"], &r["passkeyName"]), (&json!(1), &json!("Laptop passkey")), "{r}");
    assert!(r["a11y"].as_array().unwrap().len() >= 10, "axe ran on every page: {r}");
    let (_, creds) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/fido-credentials", None).await;
    assert_eq!(creds["items"].as_array().unwrap().len(), 1, "{creds}");
    let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=example.com&kind=login_succeeded", None).await;
    assert!(audit.to_string().contains("\"via\":\"passkey\""), "{audit}");
    assert!(r["reported"].as_str().unwrap().contains("Your account is locked"), "{r}");
    let (_, user) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice", None).await;
    assert_eq!(user["status"], "locked", "\"not me\" under the default policy: {user}");
    let (_, devices) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice/devices", None).await;
    let items = devices["items"].as_array().unwrap();
    assert_eq!((items.len(), items[0]["state"].as_str()), (1, Some("Active")), "{devices}");
    app.stop().await.unwrap();
}
