//! The console's pages for a tenant's methods and risk (docs/web.md, "Built: the admin
//! console"), on both backends: each change made in a page and read back through the
//! admin API, a read-only account's changes refused, another tenant's administrator
//! shown nothing, and "try this input" deciding without writing.

use countersign_core::Timestamp;
use countersign_store::backend_tests;
use serde_json::{Value, json};

use crate::common::App;
use crate::console::{admin, browser, csrf_of, get, post};

/// Post a form whose fields are owned strings.
async fn post_owned(app: &App, path: &str, cookie: &str, form: &[(&str, String)]) -> reqwest::Response {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    post(app, path, Some(cookie), &form).await
}

/// The `(status, text)` of a page.
async fn page(app: &App, path: &str, cookie: &str) -> (u16, String) {
    let res = get(app, path, cookie).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The fired rule and outcome shown by "try this input".
fn decision(html: &str) -> (String, String) {
    let between = |from: &str| html.split(from).nth(1).and_then(|s| s.split('<').next()).map(str::to_owned);
    (between("id=\"fired-rule\">").unwrap_or_default(), between("id=\"outcome\">").unwrap_or_default())
}

/// A form's fields.
type FormFields = Vec<(&'static str, String)>;

/// Every tenant page these tests cover, with a change a form of it posts: (page, form
/// action, fields).
fn pages(domain: &str) -> Vec<(String, String, FormFields)> {
    let t = format!("/console/tenants/{domain}");
    vec![
        (
            format!("{t}/risk"),
            format!("{t}/risk"),
            vec![("ipDeny", String::new()), ("ipAllow", String::new()), ("rules", "[]".into())],
        ),
        (
            format!("{t}/auth-types/sms"),
            format!("{t}/auth-types"),
            vec![
                ("editing", "1".into()),
                ("name", "sms".into()),
                ("method", "sms".into()),
                ("ttlSeconds", "60".into()),
                ("maxAttempts", "3".into()),
                ("maxResends", "3".into()),
                ("codeLength", "6".into()),
            ],
        ),
        (format!("{t}/auth-types/sms"), format!("{t}/auth-types/sms/delete"), vec![]),
        (
            format!("{t}/fido"),
            format!("{t}/fido"),
            vec![("enabled", "on".into()), ("rpID", domain.into()), ("origins", format!("https://{domain}"))],
        ),
        (format!("{t}/callbacks"), format!("{t}/callbacks"), vec![("url.0", "https://rp.example/cb".into())]),
        (format!("{t}/callbacks"), format!("{t}/callbacks/secret"), vec![]),
        (format!("{t}/providers"), format!("{t}/providers"), vec![("providers", "{}".into())]),
        (
            format!("{t}/providers"),
            format!("{t}/providers/test"),
            vec![("channel", "sms".into()), ("to", "+15550100".into())],
        ),
    ]
}

backend_tests! {
    async fn risk_rules_saved_in_the_console_show_in_the_admin_api_and_trying_an_input_writes_nothing(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("shop.example").await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let (s, html) = page(&app, "/console/tenants/shop.example/risk", &cookie).await;
        assert_eq!(s, 200);
        assert!(html.contains("new-device") && html.contains("Try it"), "the defaults are shown: {html}");
        let csrf = csrf_of(&html);
        let path = "/console/tenants/shop.example/risk";
        // A wrong rule is shown beside the rules, with what was typed kept.
        let wrong = r#"[{"id": "x", "when": {"fact": "weather", "eq": 1}, "then": "accept"}]"#;
        let res = post_owned(&app, path, &cookie, &[("csrf", csrf.clone()), ("ipDeny", String::new()), ("rules", wrong.into())]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"e-rules\"") && html.contains("unknown fact weather"), "{html}");
        let res = post_owned(&app, path, &cookie, &[("csrf", csrf.clone()), ("ipDeny", "10.0.0.0/33".into()), ("rules", "[]".into())]).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("id=\"e-ipDeny\""));
        let rules = json!([
            {"id": "deny-ip", "when": {"fact": "ip.denied", "eq": true}, "then": "decline"},
            {"id": "big-transfer", "when": {"all": [{"fact": "event.type", "eq": "Transaction"}, {"fact": "event.amount", "gt": 1000}]}, "then": "push"},
            {"id": "known-device", "when": {"fact": "device.known", "eq": true}, "then": "accept"},
            {"id": "new-device", "when": {"always": true}, "then": "accept"}
        ]);
        let res = post_owned(&app, path, &cookie, &[("csrf", csrf.clone()), ("ipDeny", "203.0.113.0/24\n198.51.100.0/24".into()), ("ipAllow", "10.0.0.0/8".into()), ("rules", rules.to_string())]).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("The risk settings are saved."));
        let (_, risk) = app.admin("GET", "/admin/v1/tenants/shop.example/risk", None).await;
        assert_eq!(risk["ipDeny"], json!(["203.0.113.0/24", "198.51.100.0/24"]), "{risk}");
        assert_eq!((risk["ipAllow"].clone(), risk["rules"].clone()), (json!(["10.0.0.0/8"]), rules));

        // Try this input: each example hits the rule built for it.
        let tenant = app.core.tenant("shop.example").await.unwrap();
        let alice = app.core.user("shop.example", "alice").await.unwrap();
        let try_path = "/console/tenants/shop.example/risk/try";
        let cddc = r#"{"userAgent": "Mozilla/5.0 (X11)", "screen": "1920x1080"}"#;
        for (query, rule, outcome) in [
            (vec![("userID", "alice"), ("ipAddress", "203.0.113.7"), ("cddc", cddc)], "deny-ip", "decline"),
            (vec![("userID", "alice"), ("ipAddress", "203.0.113.8")], "deny-ip", "decline"),
            (vec![("ipAddress", "192.0.2.1"), ("eventType", "Transaction"), ("amount", "1500")], "big-transfer", "push"),
            (vec![("eventType", "Transaction"), ("amount", "900")], "new-device", "accept"),
            (vec![("userID", "alice"), ("cddc", cddc)], "new-device", "accept"),
            (vec![("userID", "alice"), ("cddc", cddc)], "new-device", "accept"),
        ] {
            let res = browser().get(reqwest::Url::parse_with_params(&format!("{}{try_path}", app.base), &query).unwrap()).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status(), 200, "{query:?}");
            let html = res.text().await.unwrap();
            assert_eq!(decision(&html), (rule.to_owned(), outcome.to_owned()), "{query:?}: {html}");
        }
        // A declined and an accepted try wrote nothing: no failure counted, no device learned.
        assert_eq!(app.core.store.user_failures_since(&alice.id, Timestamp(0)).await.unwrap(), 0);
        assert_eq!(app.core.store.ip_failures_since(&tenant.id, "203.0.113.7", Timestamp(0)).await.unwrap(), 0);
        assert_eq!(app.core.store.risk_profile(&alice.id).await.unwrap(), None, "no device or country learned");
        // Wrong examples are shown beside their fields.
        for (query, field) in [
            (vec![("ipAddress", "not an address")], "ipAddress"),
            (vec![("userID", "nobody")], "userID"),
            (vec![("amount", "lots")], "amount"),
            (vec![("cddc", "[1]")], "cddc"),
        ] {
            let res = browser().get(reqwest::Url::parse_with_params(&format!("{}{try_path}", app.base), &query).unwrap()).header("cookie", &cookie).send().await.unwrap();
            assert_eq!(res.status(), 422, "{query:?}");
            let html = res.text().await.unwrap();
            assert!(html.contains(&format!("id=\"e-{field}\"")), "{query:?}: {html}");
        }
        let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=shop.example", None).await;
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["actor"] == "admin-account:root" && e["details"]["action"] == "risk_settings_changed"), "{audit}");
        app.stop().await.unwrap();
    }

    async fn an_authentication_type_made_edited_and_deleted_in_the_console_shows_in_the_admin_api(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("shop.example").await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let (s, html) = page(&app, "/console/tenants/shop.example/auth-types", &cookie).await;
        assert_eq!(s, 200);
        assert!(html.contains("/auth-types/sms\"") && html.contains("/auth-types/Fingerprint\""), "the built-in types: {html}");
        let csrf = csrf_of(&html);
        let path = "/console/tenants/shop.example/auth-types";
        let form = |ttl: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("name", "sms-short".to_owned()),
                ("method", "sms".into()),
                ("ttlSeconds", ttl.to_owned()),
                ("maxAttempts", "2".into()),
                ("maxResends", "0".into()),
                ("codeLength", "8".into()),
                ("fallback", "".into()),
                ("senderID", "Shop".into()),
                ("messages", r#"{"en": "Your code: {code}"}"#.into()),
                ("autofillHost", "shop.example".into()),
                ("customAuthenticator", "".into()),
                ("followUserDelivery", "on".into()),
            ]
        };
        // A wrong value is shown beside its field, with what was typed kept.
        let res = post_owned(&app, path, &cookie, &form("99999")).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"e-ttlSeconds\"") && html.contains("value=\"99999\""), "{html}");
        let mut bad = form("60");
        bad.push(("fallback", "push".into()));
        let res = post_owned(&app, path, &cookie, &bad).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("id=\"e-fallback\""));
        let res = post_owned(&app, path, &cookie, &form("120")).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("The authentication type is saved."));
        let (_, types) = app.admin("GET", "/admin/v1/tenants/shop.example/auth-types", None).await;
        let t = types["items"].as_array().unwrap().iter().find(|t| t["name"] == "sms-short").cloned().unwrap_or(Value::Null);
        assert_eq!(
            (t["method"].as_str(), t["ttlSeconds"].as_u64(), t["maxAttempts"].as_u64(), t["maxResends"].as_u64(), t["codeLength"].as_u64()),
            (Some("sms"), Some(120), Some(2), Some(0), Some(8)),
            "{t}"
        );
        assert_eq!((t["senderID"].as_str(), t["autofillHost"].as_str(), t["enabled"].as_bool(), t["followUserDelivery"].as_bool()), (Some("Shop"), Some("shop.example"), Some(false), Some(true)), "{t}");
        assert_eq!(t["messages"], json!({"en": "Your code: {code}"}));
        // Its own page shows it; an edit keeps the name; deleting it removes it.
        let (s, html) = page(&app, "/console/tenants/shop.example/auth-types/sms-short", &cookie).await;
        assert_eq!(s, 200);
        assert!(html.contains("value=\"Shop\"") && html.contains("/auth-types/sms-short/delete"), "{html}");
        let mut edit = form("300");
        edit.push(("editing", "1".into()));
        edit.push(("enabled", "on".into()));
        assert_eq!(post_owned(&app, path, &cookie, &edit).await.status(), 200);
        let (_, types) = app.admin("GET", "/admin/v1/tenants/shop.example/auth-types", None).await;
        let t = types["items"].as_array().unwrap().iter().find(|t| t["name"] == "sms-short").cloned().unwrap_or(Value::Null);
        assert_eq!((t["ttlSeconds"].as_u64(), t["enabled"].as_bool()), (Some(300), Some(true)), "{t}");
        let res = post(&app, "/console/tenants/shop.example/auth-types/sms-short/delete", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 303);
        let (_, types) = app.admin("GET", "/admin/v1/tenants/shop.example/auth-types", None).await;
        assert!(!types.to_string().contains("sms-short"), "{types}");
        assert_eq!(page(&app, "/console/tenants/shop.example/auth-types/nope", &cookie).await.0, 404);
        let (_, audit) = app.admin("GET", "/admin/v1/audit?tenant=shop.example", None).await;
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["actor"] == "admin-account:root" && e["details"]["action"] == "auth_type_deleted"), "{audit}");
        app.stop().await.unwrap();
    }

    async fn a_fido_relying_party_set_in_the_console_shows_in_the_admin_api(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("shop.example").await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let (s, html) = page(&app, "/console/tenants/shop.example/fido", &cookie).await;
        assert_eq!(s, 200);
        assert!(html.contains("No relying party yet") && html.contains("value=\"shop.example\""), "{html}");
        let csrf = csrf_of(&html);
        let path = "/console/tenants/shop.example/fido";
        let form = |origin: &str| {
            vec![
                ("csrf", csrf.clone()),
                ("enabled", "on".to_owned()),
                ("rpID", "shop.example".into()),
                ("rpName", "The Shop".into()),
                ("origins", format!("https://shop.example\n{origin}")),
                ("userVerification", "preferred".into()),
                ("attestation", "none".into()),
                ("residentKey", "required".into()),
                ("attestationTrustAnchors", String::new()),
                ("allowedAaguids", String::new()),
                ("uaf", String::new()),
            ]
        };
        let res = post_owned(&app, path, &cookie, &form("ftp://elsewhere")).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"e-origins\"") && html.contains("ftp://elsewhere"), "{html}");
        let res = post_owned(&app, path, &cookie, &form("https://www.shop.example")).await;
        assert_eq!(res.status(), 200);
        assert!(res.text().await.unwrap().contains("The relying party is saved."));
        let (s, rp) = app.admin("GET", "/admin/v1/tenants/shop.example/fido", None).await;
        assert_eq!(s, 200, "{rp}");
        assert_eq!(
            (rp["rpID"].as_str(), rp["rpName"].as_str(), rp["userVerification"].as_str(), rp["residentKey"].as_str(), rp["enabled"].as_bool()),
            (Some("shop.example"), Some("The Shop"), Some("preferred"), Some("required"), Some(true)),
            "{rp}"
        );
        assert_eq!(rp["origins"], json!(["https://shop.example", "https://www.shop.example"]));
        let (_, html) = page(&app, path, &cookie).await;
        assert!(!html.contains("No relying party yet") && html.contains("The Shop"), "{html}");
        app.stop().await.unwrap();
    }

    async fn a_callback_allowlist_and_secret_set_in_the_console_show_in_the_admin_api(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("shop.example").await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let (s, html) = page(&app, "/console/tenants/shop.example/callbacks", &cookie).await;
        assert_eq!(s, 200);
        assert!(html.contains("No signing secret yet"), "{html}");
        let csrf = csrf_of(&html);
        let path = "/console/tenants/shop.example/callbacks";
        let res = post_owned(&app, path, &cookie, &[("csrf", csrf.clone()), ("allowlistEnabled", "on".into()), ("url.0", "https://rp.example/a".into()), ("url.1", "".into()), ("url.2", "ftp://rp.example/b".into())]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"e-url.2\""), "the error is beside the row typed: {html}");
        let res = post_owned(&app, path, &cookie, &[
            ("csrf", csrf.clone()), ("allowlistEnabled", "on".into()),
            ("url.0", "https://rp.example/a".into()), ("username.0", "shop".into()), ("password.0", "hunter2-secret".into()),
            ("url.1", "https://rp.example/b".into()),
        ]).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("The allowlist is saved.") && !html.contains("hunter2-secret"), "{html}");
        let (_, cb) = app.admin("GET", "/admin/v1/tenants/shop.example/callbacks", None).await;
        assert_eq!(cb["allowlistEnabled"], true);
        assert_eq!(cb["endpoints"], json!([
            {"url": "https://rp.example/a", "username": "shop", "hasPassword": true},
            {"url": "https://rp.example/b", "username": null, "hasPassword": false}
        ]), "{cb}");
        // The secret: shown on the answer that made it, then only said to be set.
        let res = post(&app, "/console/tenants/shop.example/callbacks/secret", Some(&cookie), &[("csrf", &csrf)]).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        let secret = html.split("id=\"new-secret\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
        assert!(secret.starts_with("cbs_"), "{secret}");
        let (_, cb) = app.admin("GET", "/admin/v1/tenants/shop.example/callbacks", None).await;
        assert_eq!(cb["hasSecret"], true);
        let (_, html) = page(&app, path, &cookie).await;
        assert!(!html.contains(&secret) && html.contains("A signing secret is set"), "{html}");
        app.stop().await.unwrap();
    }

    async fn providers_set_and_tested_in_the_console_show_in_the_admin_api(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("shop.example").await;
        let cookie = admin(&app, "root", "superadmin", None).await;
        let (s, html) = page(&app, "/console/tenants/shop.example/providers", &cookie).await;
        assert_eq!(s, 200);
        let csrf = csrf_of(&html);
        let path = "/console/tenants/shop.example/providers";
        let res = post_owned(&app, path, &cookie, &[("csrf", csrf.clone()), ("providers", r#"{"email": {"host": "smtp.shop.example", "security": "plain", "from": "a@shop.example", "password": "mail-secret"}}"#.into())]).await;
        assert_eq!(res.status(), 422);
        let html = res.text().await.unwrap();
        assert!(html.contains("id=\"e-providers\"") && !html.contains("mail-secret"), "the error is shown, the secret is not: {html}");
        let doc = json!({"sms": {"provider": "twilio", "accountSid": "AC123", "authToken": "tw-secret", "from": "+15550001111", "baseUrl": "http://127.0.0.1:9"}});
        let res = post_owned(&app, path, &cookie, &[("csrf", csrf.clone()), ("providers", doc.to_string())]).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        assert!(html.contains("The providers are saved.") && html.contains("AC123") && !html.contains("tw-secret"), "{html}");
        let (_, got) = app.admin("GET", "/admin/v1/tenants/shop.example/providers", None).await;
        assert_eq!(got["sms"]["accountSid"], "AC123", "{got}");
        // Send a test: a wrong number beside its field, then one queued in the outbox.
        let res = post(&app, "/console/tenants/shop.example/providers/test", Some(&cookie), &[("csrf", &csrf), ("channel", "sms"), ("to", "0155")]).await;
        assert_eq!(res.status(), 422);
        assert!(res.text().await.unwrap().contains("id=\"e-to\""));
        let res = post(&app, "/console/tenants/shop.example/providers/test", Some(&cookie), &[("csrf", &csrf), ("channel", "sms"), ("to", "+15550100")]).await;
        assert_eq!(res.status(), 200);
        let html = res.text().await.unwrap();
        let id = html.split("id=\"queued\">").nth(1).unwrap().split('<').next().unwrap().to_owned();
        let (_, outbox) = app.admin("GET", "/admin/v1/outbox", None).await;
        assert!(outbox.to_string().contains(&id), "{id} in {outbox}");
        app.stop().await.unwrap();
    }

    async fn the_console_pages_of_a_tenant_follow_the_roles(backend) {
        let app = App::spawn(backend).await;
        for d in ["one.example", "two.example"] {
            let (s, _) = app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": d}))).await;
            assert_eq!(s, 201);
        }
        let auditor = admin(&app, "auditor", "read_only", Some("one.example")).await;
        let other = admin(&app, "other", "tenant_admin", Some("two.example")).await;
        let (_, before) = app.admin("GET", "/admin/v1/tenants/one.example/risk", None).await;
        for (view, action, form) in pages("one.example") {
            // Read-only: the page, without a way to submit a change; a posted change is refused.
            let (s, html) = page(&app, &view, &auditor).await;
            assert_eq!(s, 200, "{view}");
            assert!(!html.contains("<button type=\"submit\">Save") && !html.contains("class=\"danger\""), "{view}: {html}");
            let mut form = form.clone();
            form.push(("csrf", csrf_of(&html)));
            let res = post_owned(&app, &action, &auditor, &form).await;
            assert_eq!(res.status(), 403, "{action}");
            assert!(res.text().await.unwrap().contains("role"), "{action}");
            // Another tenant's administrator: the page does not exist for it.
            let (s, other_page) = page(&app, &view, &other).await;
            assert_eq!(s, 404, "{view}");
            let csrf = csrf_of(&page(&app, "/console/tenants/two.example/risk", &other).await.1);
            let mut form = form.clone();
            form.retain(|(k, _)| *k != "csrf");
            form.push(("csrf", csrf));
            assert_eq!(post_owned(&app, &action, &other, &form).await.status(), 404, "{action}: {other_page}");
        }
        // Trying an input changes nothing: read-only may; another tenant's may not.
        let (s, html) = page(&app, "/console/tenants/one.example/risk/try?eventType=Transaction&amount=5000", &auditor).await;
        assert_eq!(s, 200);
        assert_eq!(decision(&html).0, "big-transfer");
        assert_eq!(page(&app, "/console/tenants/one.example/risk/try?amount=1", &other).await.0, 404);
        let (_, after) = app.admin("GET", "/admin/v1/tenants/one.example/risk", None).await;
        assert_eq!(before, after);
        let (_, cb) = app.admin("GET", "/admin/v1/tenants/one.example/callbacks", None).await;
        assert_eq!((cb["endpoints"].clone(), cb["hasSecret"].clone()), (json!([]), json!(false)), "{cb}");
        let (s, _) = app.admin("GET", "/admin/v1/tenants/one.example/fido", None).await;
        assert_eq!(s, 409, "no relying party was set");
        let _: Value = after;
        app.stop().await.unwrap();
    }
}
