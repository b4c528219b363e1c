//! The admin console over plain HTTP (docs/web.md, "Built: the admin console"), on both
//! backends: administrator accounts through the admin API, the password step with its
//! lockout (also under concurrent wrong guesses), the passkey step with
//! webauthn-authenticator-rs's software passkey playing the browser, roles, CSRF and
//! origin refusals, and a tenant, a user and a setting made in the pages and read back
//! through the admin API. The same in real Chromium is browser/console.mjs
//! (`an_administrator_signs_in_to_the_console_in_chromium`).

use countersign_store::backend_tests;
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

use crate::common::{App, code};

const PASSWORD: &str = "correct horse battery";

/// A browser without one: no redirects followed, cookies kept by hand.
pub(crate) fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The origin the console's passkeys are bound to: `localhost` and the test server's port.
fn passkey_origin(app: &App) -> Url {
    Url::parse(&app.base.replace("127.0.0.1", "localhost")).unwrap()
}

async fn account(app: &App, body: Value) -> (u16, Value) {
    app.admin("POST", "/admin/v1/admin-accounts", Some(body)).await
}

/// Post a form as the console's pages do: from this server's own origin.
pub(crate) async fn post(app: &App, path: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> reqwest::Response {
    let mut req = browser().post(format!("{}{path}", app.base)).header("origin", &app.base).form(form);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    req.send().await.unwrap()
}

pub(crate) async fn get(app: &App, path: &str, cookie: &str) -> reqwest::Response {
    browser().get(format!("{}{path}", app.base)).header("cookie", cookie).send().await.unwrap()
}

/// A script call of the passkey page: JSON with the CSRF header.
async fn call(app: &App, path: &str, cookie: &str, csrf: &str, body: Value) -> (u16, Value) {
    crate::common::read(send(app, path, cookie, csrf, body).await).await
}

async fn send(app: &App, path: &str, cookie: &str, csrf: &str, body: Value) -> reqwest::Response {
    browser()
        .post(format!("{}{path}", app.base))
        .header("origin", &app.base)
        .header("cookie", cookie)
        .header("x-csrf-token", csrf)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// The value of the first hidden CSRF field on a page (or the passkey button's).
pub(crate) fn csrf_of(html: &str) -> String {
    for marker in ["name=\"csrf\" value=\"", "data-csrf=\""] {
        if let Some(at) = html.find(marker) {
            return html[at + marker.len()..].split('"').next().unwrap().to_owned();
        }
    }
    panic!("no CSRF token in {html}");
}

/// The password step: the `Cookie` header of the half-signed-in session.
async fn password(app: &App, username: &str, password: &str) -> String {
    let res = post(app, "/console/sign-in", None, &[("username", username), ("password", password)]).await;
    assert_eq!(res.status(), 303, "{}", res.text().await.unwrap());
    assert_eq!(res.headers()["location"], "/console/passkey");
    let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
    set.split(';').next().unwrap().to_owned()
}

/// The passkey step with `key` (registering it when the account has none); the mode the
/// server asked for and the finishing answer's status.
async fn passkey(app: &App, cookie: &str, key: &mut SoftPasskey) -> (String, u16, Value) {
    let page = get(app, "/console/passkey", cookie).await.text().await.unwrap();
    let csrf = csrf_of(&page);
    let (s, o) = call(app, "/console/passkey/options", cookie, &csrf, json!({})).await;
    assert_eq!(s, 200, "{o}");
    let origin = passkey_origin(app);
    let answer = if o["mode"] == "register" {
        let ccr: CreationChallengeResponse = serde_json::from_value(o["options"].clone()).unwrap();
        serde_json::to_value(key.do_registration(origin, ccr).unwrap()).unwrap()
    } else {
        let rcr: RequestChallengeResponse = serde_json::from_value(o["options"].clone()).unwrap();
        serde_json::to_value(key.do_authentication(origin, rcr).unwrap()).unwrap()
    };
    let res = send(app, "/console/passkey/finish", cookie, &csrf, answer).await;
    if let Some(set) = res.headers().get("set-cookie") {
        // The session's cookie now lasts as long as the session (8 hours).
        let set = set.to_str().unwrap();
        assert!(set.starts_with(cookie) && set.contains("Max-Age=28800"), "{set}");
    }
    let (s, b) = crate::common::read(res).await;
    (o["mode"].as_str().unwrap().to_owned(), s, b)
}

/// Sign `username` in with the password and `key`: the session's cookie.
async fn sign_in(app: &App, username: &str, key: &mut SoftPasskey) -> String {
    let cookie = password(app, username, PASSWORD).await;
    let (_, s, b) = passkey(app, &cookie, key).await;
    assert_eq!(s, 204, "{b}");
    cookie
}

/// A new account signed in with a new passkey: its cookie.
pub(crate) async fn admin(app: &App, username: &str, role: &str, tenant: Option<&str>) -> String {
    let mut body = json!({"username": username, "password": PASSWORD, "role": role});
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    let (s, b) = account(app, body).await;
    assert_eq!(s, 201, "{b}");
    sign_in(app, username, &mut SoftPasskey::new(true)).await
}

backend_tests! {
    async fn admin_accounts_are_made_listed_and_deleted_through_the_admin_api(backend) {
        let app = App::spawn(backend).await;
        app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "example.com"}))).await;
        // The bootstrap token makes the first account; the password is never shown.
        let (s, b) = account(&app, json!({"username": "root", "password": PASSWORD, "role": "superadmin"})).await;
        assert_eq!(s, 201, "{b}");
        assert_eq!((b["username"].as_str(), b["role"].as_str(), b["status"].as_str()), (Some("root"), Some("superadmin"), Some("active")));
        assert!(!b.to_string().contains(PASSWORD) && !b.to_string().contains("argon2"), "{b}");
        let bad = [
            (json!({"username": "root", "password": PASSWORD, "role": "superadmin"}), 409, "admin_account_exists", None),
            (json!({"username": "a b", "password": PASSWORD, "role": "superadmin"}), 422, "invalid_value", Some("username")),
            (json!({"username": "x", "password": "short", "role": "superadmin"}), 422, "invalid_value", Some("password")),
            (json!({"username": "x", "password": PASSWORD, "role": "tenant_admin"}), 422, "invalid_value", Some("tenant")),
            (json!({"username": "x", "password": PASSWORD, "role": "superadmin", "tenant": "example.com"}), 422, "invalid_value", Some("tenant")),
            (json!({"username": "x", "password": PASSWORD, "role": "tenant_admin", "tenant": "nope.example"}), 422, "invalid_value", Some("tenant")),
            (json!({"username": "x", "password": PASSWORD, "role": "god"}), 422, "invalid_value", Some("role")),
        ];
        for (body, status, err, field) in bad {
            let (s, b) = account(&app, body.clone()).await;
            assert_eq!((s, code(&b)), (status, err), "{body} → {b}");
            assert_eq!(b["error"]["field"].as_str(), field, "{b}");
        }
        let (s, b) = account(&app, json!({"username": "ops", "password": PASSWORD, "role": "tenant_admin", "tenant": "EXAMPLE.com"})).await;
        assert_eq!((s, b["tenant"].as_str()), (201, Some("example.com")), "{b}");
        let (s, list) = app.admin("GET", "/admin/v1/admin-accounts", None).await;
        assert_eq!(s, 200);
        let names: Vec<_> = list["items"].as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap()).collect();
        assert_eq!(names, ["ops", "root"]);
        let (s, _) = app.call("GET", "/admin/v1/admin-accounts", crate::common::Auth::None, None).await;
        assert_eq!(s, 401);
        let (s, _) = app.admin("DELETE", "/admin/v1/admin-accounts/ops", None).await;
        assert_eq!(s, 204);
        let (s, b) = app.admin("DELETE", "/admin/v1/admin-accounts/ops", None).await;
        assert_eq!((s, code(&b)), (404, "admin_account_not_found"));
        // The creation is in the audit log, by the token that made it.
        let (_, audit) = app.admin("GET", "/admin/v1/audit?kind=admin_change", None).await;
        assert!(audit.to_string().contains("/admin/v1/admin-accounts"), "{audit}");
        app.stop().await.unwrap();
    }

    async fn the_console_signs_in_with_the_password_then_the_first_passkey_then_that_passkey(backend) {
        let app = App::spawn(backend).await;
        account(&app, json!({"username": "root", "password": PASSWORD, "role": "superadmin"})).await;
        let start = browser().get(format!("{}/console", app.base)).send().await.unwrap();
        assert_eq!(start.status(), 200);
        assert!(start.headers()["content-security-policy"].to_str().unwrap().contains("default-src 'none'"));
        assert!(start.text().await.unwrap().contains("Sign in to the console"));
        let res = post(&app, "/console/sign-in", None, &[("username", "root"), ("password", PASSWORD)]).await;
        let set = res.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set.starts_with("cs_console="), "{set}");
        // The password step's cookie lasts as long as that step (5 minutes).
        for attr in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=29"] {
            assert!(set.contains(attr), "{attr} missing from {set}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        // Half signed in: the pages wait for the passkey.
        let tenants = get(&app, "/console/tenants", &cookie).await;
        assert_eq!((tenants.status().as_u16(), tenants.headers()["location"].to_str().unwrap()), (303, "/console"));
        let page = get(&app, "/console/passkey", &cookie).await.text().await.unwrap();
        assert!(page.contains("Create a passkey"), "{page}");
        // The script calls need the session's CSRF token and our origin.
        let (s, b) = call(&app, "/console/passkey/options", &cookie, "forged", json!({})).await;
        assert_eq!((s, code(&b)), (403, "csrf_failed"));
        let mut key = SoftPasskey::new(true);
        let (mode, s, b) = passkey(&app, &cookie, &mut key).await;
        assert_eq!((mode.as_str(), s), ("register", 204), "{b}");
        let tenants = get(&app, "/console/tenants", &cookie).await;
        assert_eq!(tenants.status(), 200);
        assert_eq!(tenants.headers()["cache-control"], "no-store");
        // The step is made once: the same session cannot run it again.
        let (s, _) = call(&app, "/console/passkey/options", &cookie, &csrf_of(&tenants.text().await.unwrap()), json!({})).await;
        assert_eq!(s, 409);
        // Sign out: the session is gone.
        let csrf = csrf_of(&get(&app, "/console/tenants", &cookie).await.text().await.unwrap());
        let out = post(&app, "/console/sign-out", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(out.status(), 303);
        assert!(out.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
        assert_eq!(get(&app, "/console/tenants", &cookie).await.status(), 303);
        // Next time the registered passkey is asked for; an answer to an earlier challenge
        // (replaced by a newer one) does not pass.
        let cookie = password(&app, "root", PASSWORD).await;
        let csrf = csrf_of(&get(&app, "/console/passkey", &cookie).await.text().await.unwrap());
        let (_, first) = call(&app, "/console/passkey/options", &cookie, &csrf, json!({})).await;
        assert_eq!(first["mode"], "authenticate", "{first}");
        let rcr: RequestChallengeResponse = serde_json::from_value(first["options"].clone()).unwrap();
        let stale = serde_json::to_value(key.do_authentication(passkey_origin(&app), rcr).unwrap()).unwrap();
        let (s, _) = call(&app, "/console/passkey/options", &cookie, &csrf, json!({})).await;
        assert_eq!(s, 200);
        let (s, b) = call(&app, "/console/passkey/finish", &cookie, &csrf, stale).await;
        assert_eq!((s, code(&b)), (422, "fido_wrong_challenge"), "{b}");
        assert_eq!(get(&app, "/console/tenants", &cookie).await.status(), 303, "still not signed in");
        let (mode, s, b) = passkey(&app, &cookie, &mut key).await;
        assert_eq!((mode.as_str(), s), ("authenticate", 204), "{b}");
        assert_eq!(get(&app, "/console/tenants", &cookie).await.status(), 200);
        // The audit log has the sign-ins by the account, and no secret.
        let (_, audit) = app.admin("GET", "/admin/v1/audit?kind=login_succeeded", None).await;
        let text = audit.to_string();
        assert!(text.contains("admin-account:root"), "{audit}");
        assert!(!text.contains(cookie.split_once('=').unwrap().1) && !text.contains(PASSWORD));
        app.stop().await.unwrap();
    }

    async fn wrong_passwords_lock_the_account_even_when_guessed_at_once(backend) {
        let app = App::spawn(backend).await;
        account(&app, json!({"username": "root", "password": PASSWORD, "role": "superadmin"})).await;
        // An unknown account gets the wrong password's answer.
        let res = post(&app, "/console/sign-in", None, &[("username", "nobody"), ("password", "guess")]).await;
        assert_eq!(res.status(), 401);
        assert!(res.text().await.unwrap().contains("wrong username or password"));
        let guesses: Vec<_> = (0..12)
            .map(|i| {
                let (base, client) = (app.base.clone(), browser());
                tokio::spawn(async move {
                    let pw = format!("wrong password {i}");
                    client
                        .post(format!("{base}/console/sign-in"))
                        .header("origin", &base)
                        .form(&[("username", "root"), ("password", pw.as_str())])
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses = Vec::new();
        for g in guesses {
            statuses.push(g.await.unwrap());
        }
        let evaluated = statuses.iter().filter(|s| **s == 401).count();
        let refused = statuses.iter().filter(|s| **s == 403).count();
        assert_eq!((evaluated, refused), (5, 7), "at most 5 guesses evaluated: {statuses:?}");
        // Locked: even the right password is refused now.
        let res = post(&app, "/console/sign-in", None, &[("username", "root"), ("password", PASSWORD)]).await;
        assert_eq!(res.status(), 403);
        assert!(res.text().await.unwrap().contains("locked"));
        let (_, accounts) = app.admin("GET", "/admin/v1/admin-accounts", None).await;
        assert!(accounts["items"][0]["lockedUntil"].is_string(), "{accounts}");
        let (_, audit) = app.admin("GET", "/admin/v1/audit?kind=locked", None).await;
        assert!(audit.to_string().contains("admin-account:root"), "{audit}");
        app.stop().await.unwrap();
    }

    async fn forms_need_the_session_token_and_our_origin(backend) {
        let app = App::spawn(backend).await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let csrf = csrf_of(&get(&app, "/console/tenants", &cookie).await.text().await.unwrap());
        let res = post(&app, "/console/tenants", Some(&cookie), &[("domain", "a.example")]).await;
        assert_eq!(res.status(), 403, "no token");
        let res = post(&app, "/console/tenants", Some(&cookie), &[("domain", "a.example"), ("csrf", "forged")]).await;
        assert_eq!(res.status(), 403, "a wrong token");
        let forged = browser()
            .post(format!("{}/console/tenants", app.base))
            .header("origin", "https://evil.example")
            .header("cookie", &cookie)
            .form(&[("domain", "a.example"), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "another site");
        let forged = browser()
            .post(format!("{}/console/sign-in", app.base))
            .header("origin", "https://evil.example")
            .form(&[("username", "root"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status(), 403, "a sign-in from another site");
        let (s, _) = app.admin("GET", "/admin/v1/tenants/a.example", None).await;
        assert_eq!(s, 404, "nothing was made");
        // A self-service cookie is no console cookie.
        let other = cookie.replace("cs_console", "cs_self_service");
        assert_eq!(get(&app, "/console/tenants", &other).await.status(), 303);
        let res = post(&app, "/console/tenants", Some(&cookie), &[("domain", "a.example"), ("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        app.stop().await.unwrap();
    }

    async fn roles_limit_what_an_administrator_sees_and_changes(backend) {
        let app = App::spawn(backend).await;
        for d in ["one.example", "two.example"] {
            app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": d}))).await;
        }
        let ops = admin(&app, "ops", "tenant_admin", Some("one.example")).await;
        let page = get(&app, "/console/tenants", &ops).await.text().await.unwrap();
        assert!(page.contains("one.example") && !page.contains("two.example"), "{page}");
        assert!(!page.contains("Create the tenant") && !page.contains("/console/outbox"));
        assert_eq!(get(&app, "/console/tenants/two.example", &ops).await.status(), 404);
        assert_eq!(get(&app, "/console/outbox", &ops).await.status(), 403);
        let csrf = csrf_of(&page);
        let res = post(&app, "/console/tenants/two.example/users", Some(&ops), &[("csrf", &csrf), ("userID", "eve")]).await;
        assert_eq!(res.status(), 404, "another tenant");
        let res = post(&app, "/console/tenants", Some(&ops), &[("csrf", &csrf), ("domain", "three.example")]).await;
        assert_eq!(res.status(), 403, "tenants are made by a superadmin");
        let res = post(&app, "/console/tenants/one.example/users", Some(&ops), &[("csrf", &csrf), ("userID", "bob")]).await;
        assert_eq!(res.status(), 303, "its own tenant");
        // Read-only: no button, and the posts are refused.
        let auditor = admin(&app, "auditor", "read_only", None).await;
        let page = get(&app, "/console/tenants/one.example", &auditor).await.text().await.unwrap();
        assert!(page.contains("Settings of one.example") && !page.contains("Save the settings"), "{page}");
        let users = get(&app, "/console/tenants/one.example/users", &auditor).await.text().await.unwrap();
        assert!(users.contains("bob") && !users.contains("Create the user"), "{users}");
        let user = get(&app, "/console/tenants/one.example/users/bob", &auditor).await.text().await.unwrap();
        assert!(!user.contains("Lock the user"), "{user}");
        let keys = get(&app, "/console/tenants/one.example/api-keys", &auditor).await.text().await.unwrap();
        assert!(!keys.contains("Create the key"), "{keys}");
        let csrf = csrf_of(&page);
        for (path, form) in [
            ("/console/tenants/one.example/settings", vec![("loginTimeoutSeconds", "90")]),
            ("/console/tenants/one.example/users", vec![("userID", "carol")]),
            ("/console/tenants/one.example/users/bob/status", vec![("status", "locked")]),
            ("/console/tenants/one.example/api-keys", vec![("name", "k")]),
            ("/console/tenants", vec![("domain", "three.example")]),
        ] {
            let mut form = form;
            form.push(("csrf", &csrf));
            let res = post(&app, path, Some(&auditor), &form).await;
            assert_eq!(res.status(), 403, "{path}");
        }
        let (_, bob) = app.admin("GET", "/admin/v1/tenants/one.example/users/bob", None).await;
        assert_eq!(bob["status"], "active");
        let (s, _) = app.admin("GET", "/admin/v1/tenants/one.example/users/carol", None).await;
        assert_eq!(s, 404);
        app.stop().await.unwrap();
    }

    async fn a_tenant_user_and_setting_made_in_the_console_show_in_the_admin_api(backend) {
        let app = App::spawn(backend).await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let csrf = csrf_of(&get(&app, "/console/tenants", &cookie).await.text().await.unwrap());
        // A bad domain is shown beside its field.
        let res = post(&app, "/console/tenants", Some(&cookie), &[("csrf", &csrf), ("domain", "not a domain")]).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("id=\"domain-error\""));
        let res = post(&app, "/console/tenants", Some(&cookie), &[("csrf", &csrf), ("domain", "shop.example")]).await;
        assert_eq!(res.headers()["location"], "/console/tenants/shop.example");
        // Every setting is on the form; a wrong value is shown beside its field.
        let page = get(&app, "/console/tenants/shop.example", &cookie).await.text().await.unwrap();
        let (_, tenant) = app.admin("GET", "/admin/v1/tenants/shop.example", None).await;
        for key in tenant["settings"].as_object().unwrap().keys() {
            assert!(page.contains(&format!("name=\"{key}\"")), "{key} is not on the form");
        }
        let form = |timeout: &'static str| {
            vec![
                ("csrf", csrf.clone()),
                ("loginTimeoutSeconds", timeout.to_owned()),
                ("activationTtlSeconds", "600".into()),
                ("pushEnrollmentMode", "multiple".into()),
                ("deviceEnrollment", "on".into()),
                ("maxPinAttempts", "3".into()),
                ("numberMatching", "required".into()),
                ("pushAppId", "".into()),
                ("confirmationTemplates", "".into()),
                ("supportedLanguages", "en, de".into()),
                ("staticPasswordMode", "parallel".into()),
                ("maxPasswordFailures", "5".into()),
                ("passwordLockMinutes", "15".into()),
                ("secondFactor", "push".into()),
                ("loginRequestLimit", "20".into()),
                ("loginRequestWindowSeconds", "600".into()),
                ("notMePolicy", "lockDevice".into()),
            ]
        };
        let as_refs = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
        let bad = as_refs(&form("99999"));
        let res = browser().post(format!("{}/console/tenants/shop.example/settings", app.base)).header("origin", &app.base).header("cookie", &cookie).form(&bad).send().await.unwrap();
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"e-loginTimeoutSeconds\""), "{html}");
        assert!(html.contains("value=\"99999\""), "the value typed is kept");
        let good = as_refs(&form("90"));
        let res = browser().post(format!("{}/console/tenants/shop.example/settings", app.base)).header("origin", &app.base).header("cookie", &cookie).form(&good).send().await.unwrap();
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("The settings are saved."));
        let (_, tenant) = app.admin("GET", "/admin/v1/tenants/shop.example", None).await;
        let st = &tenant["settings"];
        assert_eq!((st["loginTimeoutSeconds"].as_u64(), st["pushEnrollmentMode"].as_str(), st["pushAuthorization"].as_bool()), (Some(90), Some("multiple"), Some(false)), "{st}");
        assert_eq!((st["supportedLanguages"].clone(), st["notMePolicy"].as_str()), (json!(["en", "de"]), Some("lockDevice")));
        // A user: made, found by prefix, given a phone, locked.
        let res = post(&app, "/console/tenants/shop.example/users", Some(&cookie), &[("csrf", &csrf), ("userID", "alice"), ("email", "alice@shop.example"), ("phone", "not a phone")]).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("id=\"new-phone-error\""));
        let res = post(&app, "/console/tenants/shop.example/users", Some(&cookie), &[("csrf", &csrf), ("userID", "alice"), ("email", "alice@shop.example")]).await;
        assert_eq!(res.headers()["location"], "/console/tenants/shop.example/users/alice");
        let found = get(&app, "/console/tenants/shop.example/users?prefix=al", &cookie).await.text().await.unwrap();
        assert!(found.contains("alice@shop.example"), "{found}");
        let none = get(&app, "/console/tenants/shop.example/users?prefix=bo", &cookie).await.text().await.unwrap();
        assert!(none.contains("No user found."));
        let res = post(&app, "/console/tenants/shop.example/users/alice/contact", Some(&cookie), &[("csrf", &csrf), ("email", "alice@shop.example"), ("phone", "+15550123")]).await;
        assert_eq!(res.status(), 200);
        let res = post(&app, "/console/tenants/shop.example/users/alice/status", Some(&cookie), &[("csrf", &csrf), ("status", "locked")]).await;
        assert!(res.text().await.unwrap().contains("Unlock the user"));
        let (_, alice) = app.admin("GET", "/admin/v1/tenants/shop.example/users/alice", None).await;
        assert_eq!((alice["phone"].as_str(), alice["status"].as_str()), (Some("+15550123"), Some("locked")), "{alice}");
        // An API key, shown once, then revoked.
        let res = post(&app, "/console/tenants/shop.example/api-keys", Some(&cookie), &[("csrf", &csrf), ("name", "shop")]).await;
        let html = res.text().await.unwrap();
        let key = html.split("id=\"new-key\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
        assert!(key.starts_with("csk_"), "{key}");
        let (s, _) = app.call("GET", "/v1/users/alice@shop.example", crate::common::Auth::Bearer(&key), None).await;
        assert_ne!(s, 401, "the key works");
        let again = get(&app, "/console/tenants/shop.example/api-keys", &cookie).await.text().await.unwrap();
        assert!(!again.contains(&key), "shown once");
        let (_, keys) = app.admin("GET", "/admin/v1/tenants/shop.example/api-keys", None).await;
        let id = keys["items"][0]["id"].as_str().unwrap().to_owned();
        let res = post(&app, &format!("/console/tenants/shop.example/api-keys/{id}/revoke"), Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        let (s, _) = app.call("GET", "/v1/users/alice@shop.example", crate::common::Auth::Bearer(&key), None).await;
        assert_eq!(s, 401, "revoked");
        // Every change is in the audit log by the account.
        let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=shop.example", None).await;
        let entries = audit["items"].as_array().unwrap();
        let by_root = entries.iter().filter(|e| e["actor"] == "admin-account:root").count();
        assert!(by_root >= 6, "{audit}");
        // The outbox page opens for a superadmin.
        assert_eq!(get(&app, "/console/outbox?state=dead", &cookie).await.status(), 200);
        app.stop().await.unwrap();
    }
}

/// The console in Debian's Chromium (browser/console.mjs): password, a passkey of the
/// CDP virtual authenticator registered, sign-out, password + passkey again, a tenant, a
/// setting (a wrong value shown beside its field first), a user, an API key, an
/// authentication type, the risk rules (an input tried), the FIDO relying party, the
/// callbacks, the SMS provider and a test sent; axe-core on every page. With COUNTERSIGN_SCREENSHOTS=1 the pages are saved to docs/img
/// (console-*.png, in docs/web.md).
#[tokio::test]
async fn an_administrator_signs_in_to_the_console_in_chromium() {
    let dir = crate::common::browser_dir();
    let app = App::spawn(countersign_store::testing::Backend::Sqlite).await;
    let (s, b) = account(&app, json!({"username": "root", "password": PASSWORD, "role": "superadmin"})).await;
    assert_eq!(s, 201, "{b}");
    let url = app.base.replace("127.0.0.1", "localhost");
    let mut cmd = tokio::process::Command::new("node");
    cmd.arg(dir.join("console.mjs")).arg(&url).arg("root").arg(PASSWORD);
    if std::env::var_os("COUNTERSIGN_SCREENSHOTS").is_some() {
        cmd.arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/img"));
    }
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(
        (r["firstStep"].as_str(), r["secondStep"].as_str()),
        (Some("Set up your passkey"), Some("Confirm with your passkey")),
        "{r}"
    );
    assert_eq!(r["signedOut"], "Sign in to the console", "{r}");
    assert!(r["settingError"].as_str().unwrap().contains("3600"), "{r}");
    assert!(r["describedBy"].as_str().unwrap().contains("e-loginTimeoutSeconds"), "{r}");
    assert_eq!(r["saved"], "90", "{r}");
    assert!(r["users"][0].as_str().unwrap().contains("alice@shop.example"), "{r}");
    assert_eq!((r["keyShown"].as_bool(), r["overflow"].as_bool()), (Some(true), Some(false)), "{r}");
    assert_eq!((r["firedRule"].as_str(), r["secretShown"].as_bool()), (Some("deny-ip"), Some(true)), "{r}");
    assert_eq!(r["testQueued"], true, "{r}");
    assert!(r["a11y"].as_array().unwrap().len() >= 18, "axe ran on every page: {r}");
    let (_, risk) = app.admin("GET", "/admin/v1/tenants/shop.example/risk", None).await;
    assert_eq!(risk["ipDeny"], json!(["203.0.113.0/24"]), "{risk}");
    let (_, types) = app.admin("GET", "/admin/v1/tenants/shop.example/auth-types", None).await;
    assert!(
        types["items"].as_array().unwrap().iter().any(|t| t["name"] == "sms-short" && t["ttlSeconds"] == 120),
        "{types}"
    );
    let (_, rp) = app.admin("GET", "/admin/v1/tenants/shop.example/fido", None).await;
    assert_eq!(rp["rpName"], "The Shop", "{rp}");
    let (_, cb) = app.admin("GET", "/admin/v1/tenants/shop.example/callbacks", None).await;
    assert_eq!(
        (cb["endpoints"][0]["url"].as_str(), cb["hasSecret"].as_bool()),
        (Some("https://shop.example/callback"), Some(true)),
        "{cb}"
    );
    let (_, tenant) = app.admin("GET", "/admin/v1/tenants/shop.example", None).await;
    assert_eq!(
        (tenant["settings"]["loginTimeoutSeconds"].as_u64(), tenant["settings"]["numberMatching"].as_str()),
        (Some(90), Some("required")),
        "{tenant}"
    );
    let (_, alice) = app.admin("GET", "/admin/v1/tenants/shop.example/users/alice", None).await;
    assert_eq!(alice["phone"], "+15550100", "{alice}");
    let (_, audit) = app.admin("GET", "/admin/v1/audit?kind=passkey_registered", None).await;
    assert!(audit.to_string().contains("admin-account:root"), "{audit}");
    app.stop().await.unwrap();
}
