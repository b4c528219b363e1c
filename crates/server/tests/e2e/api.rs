//! End-to-end tests of the admin and integration APIs over HTTP, on both backends.

use crate::common;
use crate::common::{App, Auth, code};
use countersign::config::RawConfig;
use countersign_store::backend_tests;
use serde_json::json;

backend_tests! {
    async fn foundation_flow_end_to_end(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;

        let (s, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(s, 200, "{state}");
        assert_eq!(state, json!({"userID": "alice", "domain": "example.com", "status": "active", "authenticators": []}));

        // The same key through HTTP Basic, with and without the domain as user name.
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Basic("example.com", &key), None).await;
        assert_eq!(s, 200);
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Basic("", &key), None).await;
        assert_eq!(s, 200);
        // Domains are case-insensitive.
        let (s, _) = app.call("GET", "/v1/users/alice@Example.COM", Auth::Bearer(&key), None).await;
        assert_eq!(s, 200);

        // The admin view carries the contact data; a change shows in the account state.
        let (s, u) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice", None).await;
        assert_eq!(s, 200);
        assert_eq!((u["phone"].as_str(), u["email"].as_str(), u["vdpDeliveryMethod"].as_str()),
            (Some("+15550100"), Some("alice@example.com"), Some("Default")));
        let (s, u) = app.admin("PATCH", "/admin/v1/tenants/example.com/users/alice",
            Some(json!({"status": "locked", "phone": null, "vdpDeliveryMethod": "SMS"}))).await;
        assert_eq!(s, 200, "{u}");
        assert_eq!((u["status"].as_str(), &u["phone"], u["email"].as_str()),
            (Some("locked"), &serde_json::Value::Null, Some("alice@example.com")));
        let (_, state) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(state["status"], "locked");

        let (s, _) = app.admin("DELETE", "/admin/v1/tenants/example.com/users/alice", None).await;
        assert_eq!(s, 204);
        let (s, body) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&body)), (404, "user_not_found"));
        let (s, body) = app.admin("DELETE", "/admin/v1/tenants/example.com/users/alice", None).await;
        assert_eq!((s, code(&body)), (404, "user_not_found"));
        app.stop().await.unwrap();
    }

    async fn a_key_sees_only_its_own_tenant(backend) {
        let app = App::spawn(backend).await;
        let key_a = app.tenant_with_alice("a.example").await;
        let key_b = app.tenant_with_alice("b.example").await;
        let (s, _) = app.call("GET", "/v1/users/alice@a.example", Auth::Bearer(&key_a), None).await;
        assert_eq!(s, 200);
        // B's key asking for A's user (who exists) gets the same answer as for nobody.
        let (s, body) = app.call("GET", "/v1/users/alice@a.example", Auth::Bearer(&key_b), None).await;
        assert_eq!((s, code(&body)), (404, "user_not_found"));
        let (s, body) = app.call("GET", "/v1/users/nobody@a.example", Auth::Bearer(&key_b), None).await;
        assert_eq!((s, code(&body)), (404, "user_not_found"));
        // Basic with A's key but B's domain as user name is refused.
        let (s, _) = app.call("GET", "/v1/users/alice@a.example", Auth::Basic("b.example", &key_a), None).await;
        assert_eq!(s, 401);
        // Revoking B's key does not touch A's.
        let (_, keys) = app.admin("GET", "/admin/v1/tenants/b.example/api-keys", None).await;
        let keys = keys["items"].clone();
        let id = keys[0]["id"].as_str().unwrap().to_owned();
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/a.example/api-keys/{id}"), None).await;
        assert_eq!(s, 404, "a key is revoked only through its own tenant");
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/b.example/api-keys/{id}"), None).await;
        assert_eq!(s, 204);
        let (s, _) = app.call("GET", "/v1/users/alice@b.example", Auth::Bearer(&key_b), None).await;
        assert_eq!(s, 401);
        let (s, _) = app.call("GET", "/v1/users/alice@a.example", Auth::Bearer(&key_a), None).await;
        assert_eq!(s, 200);
    }

    async fn credentials_are_checked(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let path = "/v1/users/alice@example.com";
        let fake = format!("csk_{}", "A".repeat(43));
        for auth in [Auth::None, Auth::Bearer(&fake), Auth::Bearer("csk_"), Auth::Bearer(&app.admin), Auth::Basic(&key, "")] {
            let (s, body) = app.call("GET", path, auth, None).await;
            assert_eq!((s, code(&body)), (401, "unauthorized"));
        }
        // An API key does not open the admin API.
        let (s, _) = app.call("GET", "/admin/v1/tenants", Auth::Bearer(&key), None).await;
        assert_eq!(s, 401);
        let resp = app.client.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert!(resp.headers().get("www-authenticate").is_some());

        // Keys are listed without the secret, and the listing records use.
        let (_, keys) = app.admin("GET", "/admin/v1/tenants/example.com/api-keys", None).await;
        let keys = keys["items"].clone();
        assert!(keys[0]["lastUsedAt"].is_null(), "not used yet: {keys}");
        let (s, _) = app.call("GET", path, Auth::Bearer(&key), None).await;
        assert_eq!(s, 200);
        let (_, keys) = app.admin("GET", "/admin/v1/tenants/example.com/api-keys", None).await;
        let keys = keys["items"].clone();
        assert_eq!(keys.as_array().unwrap().len(), 1);
        assert!(!keys.to_string().contains(&key), "a listing must not reveal the key");
        assert!(keys[0]["lastUsedAt"].is_string(), "last use recorded: {keys}");
        assert_eq!(keys[0]["hint"].as_str().unwrap(), &key[..8]);

        // Admin tokens: create, use, revoke.
        let (s, t) = app.admin("POST", "/admin/v1/admin-tokens", Some(json!({"name": "ops"}))).await;
        assert_eq!(s, 201);
        let second = t["key"].as_str().unwrap().to_owned();
        assert!(second.starts_with("csa_"));
        let (s, list) = app.call("GET", "/admin/v1/admin-tokens", Auth::Bearer(&second), None).await;
        let list = list["items"].clone();
        assert_eq!(s, 200);
        assert_eq!(list.as_array().unwrap().len(), 2);
        let id = t["id"].as_str().unwrap();
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/admin-tokens/{id}"), None).await;
        assert_eq!(s, 204);
        let (s, _) = app.call("GET", "/admin/v1/tenants", Auth::Bearer(&second), None).await;
        assert_eq!(s, 401);
        let (s, _) = app.admin("GET", "/admin/v1/tenants", None).await;
        assert_eq!(s, 200);
    }

    async fn bad_input_gets_a_clear_error(backend) {
        let app = App::spawn_with(backend, RawConfig { body_limit_bytes: Some(4096), ..Default::default() }).await;
        let key = app.tenant_with_alice("example.com").await;
        let admin = app.admin.clone();
        let users = "/admin/v1/tenants/example.com/users";
        // (method, path, body, status, code, field)
        type Case<'a> = (&'a str, &'a str, Option<serde_json::Value>, u16, &'a str, Option<&'a str>);
        let cases: Vec<Case> = vec![
            ("POST", "/admin/v1/tenants", Some(json!({"domain": "bad domain"})), 422, "invalid_value", Some("domain")),
            ("POST", "/admin/v1/tenants", Some(json!({})), 422, "invalid_value", Some("domain")),
            ("POST", "/admin/v1/tenants", Some(json!({"domain": 5})), 422, "invalid_value", Some("domain")),
            ("POST", "/admin/v1/tenants", Some(json!({"domain": "example.com"})), 409, "tenant_exists", None),
            ("POST", "/admin/v1/tenants", Some(json!({"domain": "x.com", "settings": {"loginTimeoutSeconds": 0}})), 422, "invalid_value", Some("settings.loginTimeoutSeconds")),
            ("POST", users, Some(json!({"userID": "alice"})), 409, "user_exists", None),
            ("POST", users, Some(json!({"userID": "bob", "phone": "5550100"})), 422, "invalid_value", Some("phone")),
            ("POST", users, Some(json!({"userID": "bob", "email": "bob"})), 422, "invalid_value", Some("email")),
            ("POST", users, Some(json!({"userID": "bob", "locale": "e"})), 422, "invalid_value", Some("locale")),
            ("POST", users, Some(json!({"userID": "bob", "status": "asleep"})), 422, "invalid_value", Some("status")),
            ("POST", users, Some(json!({"userID": "bob", "vdpDeliveryMethod": "Pigeon"})), 422, "invalid_value", Some("vdpDeliveryMethod")),
            ("POST", users, Some(json!({"userID": "bo b"})), 422, "invalid_value", Some("userID")),
            ("POST", users, Some(json!({"userID": "bob", "pets": 2})), 422, "invalid_value", Some("pets")),
            ("POST", "/admin/v1/tenants/nowhere.example/users", Some(json!({"userID": "bob"})), 404, "tenant_not_found", None),
            ("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"colour": "red"}})), 422, "invalid_value", Some("settings.colour")),
            ("GET", "/admin/v1/tenants/Not_A_Domain", None, 422, "invalid_value", Some("domain")),
            ("GET", "/admin/v1/tenants?limit=0", None, 422, "invalid_value", Some("limit")),
            ("GET", "/admin/v1/tenants?limit=many", None, 400, "invalid_query", Some("limit")),
            ("POST", "/admin/v1/tenants/example.com/api-keys", Some(json!({"name": ""})), 422, "invalid_value", Some("name")),
            ("GET", "/nowhere", None, 404, "not_found", None),
            ("PUT", "/admin/v1/tenants", None, 405, "method_not_allowed", None),
        ];
        for (method, path, body, status, want, field) in cases {
            let (s, b) = app.call(method, path, Auth::Bearer(&admin), body.clone()).await;
            assert_eq!((s, code(&b)), (status, want), "{method} {path} {body:?}: {b}");
            assert_eq!(b["error"]["field"].as_str(), field, "{method} {path}: {b}");
            assert!(b["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
        }
        let (s, b) = app.call("GET", "/v1/users/alice", Auth::Bearer(&key), None).await;
        assert_eq!((s, code(&b), b["error"]["field"].as_str()), (422, "invalid_value", Some("userID@domain")));

        let raw = |ctype: &'static str, body: &'static [u8]| app.raw("POST", users, Auth::Bearer(&admin), ctype, body.to_vec());
        let (s, b) = raw("application/json", b"{\"userID\":").await;
        assert_eq!((s, code(&b)), (400, "malformed_json"));
        let (s, b) = raw("application/json", b"").await;
        assert_eq!((s, code(&b)), (400, "malformed_json"));
        let (s, b) = raw("text/plain", b"{\"userID\":\"bob\"}").await;
        assert_eq!((s, code(&b)), (415, "unsupported_media_type"));
        let big = format!("{{\"userID\":\"bob\",\"locale\":\"{}\"}}", "a".repeat(10_000));
        let (s, b) = app.raw("POST", users, Auth::Bearer(&admin), "application/json", big.into_bytes()).await;
        assert_eq!((s, code(&b)), (413, "payload_too_large"));

        // Nothing was created by any of the refused requests.
        let (_, list) = app.admin("GET", users, None).await;
        let ids: Vec<_> = list["items"].as_array().unwrap().iter().map(|u| u["userID"].as_str().unwrap().to_owned()).collect();
        assert_eq!(ids, ["alice"]);
        let (_, tenants) = app.admin("GET", "/admin/v1/tenants", None).await;
        assert_eq!(tenants["items"].as_array().unwrap().len(), 1);
    }

    async fn hostile_bodies_never_cause_a_server_error(backend) {
        use proptest::strategy::{Strategy, ValueTree};
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let admin = app.admin.clone();
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let strategy = proptest::collection::vec(proptest::num::u8::ANY, 0..300);
        let json_like = "\\{\"(userID|phone|email|locale|status|settings|domain|name)\":(\"[a-z@+.0-9 ]{0,20}\"|[0-9]{1,25}|null|true|\\[\\]|\\{\\}),?(\"phone\":\"\\+?[0-9]{0,18}\")?\\}";
        let json_strategy = proptest::string::string_regex(json_like).unwrap();
        for i in 0..120 {
            let body = if i % 2 == 0 {
                strategy.new_tree(&mut runner).unwrap().current()
            } else {
                json_strategy.new_tree(&mut runner).unwrap().current().into_bytes()
            };
            for path in ["/admin/v1/tenants", "/admin/v1/tenants/example.com/users", "/admin/v1/tenants/example.com/api-keys"] {
                let (s, b) = app.raw("POST", path, Auth::Bearer(&admin), "application/json", body.clone()).await;
                assert!(s < 500, "{path} {:?} -> {s} {b}", String::from_utf8_lossy(&body));
                if s >= 400 {
                    assert!(b["error"]["code"].is_string(), "{b}");
                }
            }
            let (s, _) = app.raw("PATCH", "/admin/v1/tenants/example.com/users/alice", Auth::Bearer(&admin), "application/json", body.clone()).await;
            assert!(s < 500);
        }
    }

    async fn listings_are_paged(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        for name in ["bob", "carol", "dave", "erin"] {
            let (s, _) = app.admin("POST", "/admin/v1/tenants/example.com/users", Some(json!({"userID": name}))).await;
            assert_eq!(s, 201);
        }
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let q = match &after { Some(a) => format!("?limit=2&after={a}"), None => "?limit=2".into() };
            let (s, page) = app.admin("GET", &format!("/admin/v1/tenants/example.com/users{q}"), None).await;
            assert_eq!(s, 200);
            let items = page["items"].as_array().unwrap();
            assert!(items.len() <= 2);
            seen.extend(items.iter().map(|u| u["userID"].as_str().unwrap().to_owned()));
            match page["nextAfter"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, ["alice", "bob", "carol", "dave", "erin"]);
    }

    async fn tenant_settings_and_deletion(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, t) = app.admin("GET", "/admin/v1/tenants/example.com", None).await;
        assert_eq!((s, t["settings"]["loginTimeoutSeconds"].as_u64()), (200, Some(60)));
        let (s, t) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"loginTimeoutSeconds": 45}}))).await;
        assert_eq!((s, t["settings"]["loginTimeoutSeconds"].as_u64()), (200, Some(45)));
        let (_, t) = app.admin("GET", "/admin/v1/tenants/example.com", None).await;
        assert_eq!(t["settings"]["loginTimeoutSeconds"].as_u64(), Some(45));

        let (s, _) = app.admin("DELETE", "/admin/v1/tenants/example.com", None).await;
        assert_eq!(s, 204);
        let (s, b) = app.admin("GET", "/admin/v1/tenants/example.com", None).await;
        assert_eq!((s, code(&b)), (404, "tenant_not_found"));
        // Its key died with it; re-creating the domain does not revive the key or the user.
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(s, 401);
        let (s, _) = app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "example.com"}))).await;
        assert_eq!(s, 201);
        let (s, _) = app.admin("GET", "/admin/v1/tenants/example.com/users/alice", None).await;
        assert_eq!(s, 404);
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(s, 401);
    }

    async fn operations_routes(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = app.call("GET", "/healthz", Auth::None, None).await;
        assert_eq!((s, b["status"].as_str()), (200, Some("ok")));
        let (s, _) = app.call("GET", "/readyz", Auth::None, None).await;
        assert_eq!(s, 200);
        app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        app.call("GET", "/v1/users/bob@example.com", Auth::Bearer(&key), None).await;

        let resp = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap();
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
        let text = resp.text().await.unwrap();
        assert!(text.contains("countersign_http_requests_total{method=\"GET\",route=\"/v1/users/{user}\",status=\"200\"} 1"), "{text}");
        assert!(text.contains("countersign_http_requests_total{method=\"GET\",route=\"/v1/users/{user}\",status=\"404\"} 1"), "{text}");
        assert!(text.contains("countersign_http_request_duration_seconds_bucket"));
        assert!(!text.contains("alice"), "user names must not reach metrics");

        let resp = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert!(resp.headers().get("x-request-id").is_some());

        // The description covers every route the server answers.
        let (s, api) = app.call("GET", "/openapi.json", Auth::None, None).await;
        assert_eq!(s, 200);
        let paths = api["paths"].as_object().unwrap();
        for (path, methods) in [
            ("/v1/users/{user}", &["get"][..]),
            ("/admin/v1/tenants", &["get", "post"]),
            ("/admin/v1/tenants/{domain}", &["get", "patch", "delete"]),
            ("/admin/v1/tenants/{domain}/users", &["get", "post"]),
            ("/admin/v1/tenants/{domain}/users/{userID}", &["get", "patch", "delete"]),
            ("/admin/v1/tenants/{domain}/api-keys", &["get", "post"]),
            ("/admin/v1/tenants/{domain}/api-keys/{id}", &["delete"]),
            ("/admin/v1/admin-tokens", &["get", "post"]),
            ("/admin/v1/admin-tokens/{id}", &["delete"]),
            ("/admin/v1/admin-accounts", &["get", "post"]),
            ("/admin/v1/admin-accounts/{username}", &["delete"]),
            ("/v1/users/{user}/activations", &["post"]),
            ("/v1/activations/{activationID}/qr.png", &["get"]),
            ("/v1/activations/{activationID}/qr.svg", &["get"]),
            ("/v1/users/{user}/login", &["post"]),
            ("/v1/sessions/{requestID}", &["get"]),
            ("/mobile/v1/activations/{activationID}/code", &["post"]),
            ("/mobile/v1/activations/{activationID}/instance", &["post"]),
            ("/mobile/v1/device/confirm", &["post"]),
            ("/mobile/v1/device/push", &["put"]),
            ("/mobile/v1/requests", &["get"]),
            ("/mobile/v1/requests/{requestID}", &["get"]),
            ("/mobile/v1/requests/{requestID}/response", &["post"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/devices", &["get"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/devices/{deviceID}", &["delete"]),
            ("/admin/v1/outbox", &["get"]),
            ("/admin/v1/tenants/{domain}/callbacks", &["get", "put"]),
            ("/admin/v1/tenants/{domain}/callbacks/secret", &["post"]),
            ("/admin/v1/outbox/{messageID}/retry", &["post"]),
            ("/admin/v1/apps", &["get"]),
            ("/admin/v1/apps/{appID}", &["get", "put", "delete"]),
            ("/admin/v1/tenants/{domain}/providers", &["get", "put"]),
            ("/admin/v1/tenants/{domain}/providers/test", &["post"]),
            ("/mobile/v1/apps/{appID}/webpush", &["get"]),
            ("/v1/sessions/{requestID}/resend", &["post"]),
            ("/admin/v1/tenants/{domain}/auth-types", &["get"]),
            ("/admin/v1/tenants/{domain}/auth-types/{name}", &["put", "delete"]),
            ("/v1/users/{user}/tokens", &["get", "post"]),
            ("/v1/users/{user}/tokens/{tokenID}/confirm", &["post"]),
            ("/admin/v1/tenants/{domain}/tokens", &["get"]),
            ("/admin/v1/tenants/{domain}/tokens/import", &["post"]),
            ("/admin/v1/tenants/{domain}/tokens/{tokenID}", &["delete"]),
            ("/admin/v1/tenants/{domain}/tokens/{tokenID}/user", &["put"]),
            ("/admin/v1/tenants/{domain}/tokens/{tokenID}/unlock", &["post"]),
            ("/admin/v1/tenants/{domain}/tokens/{tokenID}/resync", &["post"]),
            ("/v1/qr-logins", &["post"]),
            ("/v1/users/{user}/generate-fido-registration-request", &["post"]),
            ("/v1/users/{user}/register-fido-authenticator", &["post"]),
            ("/v1/users/{user}/generate-fido-authentication-request", &["post"]),
            ("/admin/v1/tenants/{domain}/fido", &["get", "put"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/fido-credentials", &["get"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/fido-credentials/{credentialID}", &["patch", "delete"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/uaf-registrations", &["get"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/uaf-registrations/{aaid}/{keyID}", &["delete"]),
            ("/v1/users/{user}/events/validate", &["post"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/static-password", &["put", "delete"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/static-password/unlock", &["post"]),
            ("/admin/v1/tenants/{domain}/risk", &["get", "put"]),
            ("/v1/authenticators/{serialNumber}/applications/{applName}/generate-votp", &["post"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/virtual-authenticators", &["get", "post"]),
            ("/admin/v1/tenants/{domain}/virtual-authenticators/{serialNumber}", &["delete"]),
            ("/mobile/v1/qr-logins/{requestID}/claim", &["post"]),
            ("/mobile/v1/tenants/{domain}/uaf/trusted-facets", &["get"]),
            ("/admin/v1/audit", &["get"]), ("/admin/v1/audit/export", &["get"]),
            ("/admin/v1/tenants/{domain}/radius-clients", &["get", "post"]),
            ("/admin/v1/tenants/{domain}/radius-clients/{id}", &["delete"]),
            ("/admin/v1/tenants/{domain}/duo-integrations", &["get", "post"]),
            ("/admin/v1/tenants/{domain}/duo-integrations/{ikey}", &["delete"]),
            ("/healthz", &["get"]), ("/readyz", &["get"]), ("/metrics", &["get"]),
            ("/openapi.json", &["get"]), ("/docs", &["get"]),
            ("/app/activate", &["get"]), ("/app/qr-login", &["get"]),
            ("/v1/sessions/{requestID}/events", &["get"]), ("/v1/users/{user}/sign-in-links", &["post"]),
            ("/v1/activations/{activationID}/events", &["get"]),
            ("/admin/v1/tenants/{domain}/users/{userID}/sign-in-links", &["post"]),
        ] {
            for m in methods {
                assert!(paths.get(path).and_then(|p| p.get(*m)).is_some(), "{m} {path} missing from /openapi.json");
            }
        }
        assert_eq!(paths.len(), 80, "a route was added: list it above");
        assert!(api["components"]["schemas"]["ErrorBody"].is_object());
        assert!(api["components"]["securitySchemes"]["adminToken"].is_object());

        // The explorer page and its embedded files, under a Content-Security-Policy.
        let resp = app.client.get(format!("{}/docs", app.base)).send().await.unwrap();
        assert!(resp.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert!(resp.headers()["content-security-policy"].to_str().unwrap().contains("script-src 'self'"));
        let html = resp.text().await.unwrap();
        assert!(html.contains("<script src=\"/docs/swagger-ui-bundle.js\">"), "{html}");
        let resp = app.client.get(format!("{}/docs/swagger-ui-bundle.js", app.base)).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(resp.headers()["content-type"].to_str().unwrap().contains("javascript"));
        assert!(resp.text().await.unwrap().contains("SwaggerUIBundle"));
        let (s, b) = app.call("GET", "/docs/swagger-initializer.js", Auth::None, None).await;
        assert_eq!(s, 200, "{b}");
        let resp = app.client.get(format!("{}/docs/", app.base)).send().await.unwrap();
        assert_eq!((resp.status().as_u16(), resp.url().path()), (200, "/docs"));
        let (s, b) = app.call("GET", "/docs/no-such-file.js", Auth::None, None).await;
        assert_eq!((s, code(&b)), (404, "not_found"));
        app.stop().await.unwrap();
    }
}

#[tokio::test]
async fn readyz_reports_an_unreachable_database() {
    let app = App::spawn(countersign_store::testing::Backend::Sqlite).await;
    app.core.store.close().await;
    let (s, b) = app.call("GET", "/readyz", Auth::None, None).await;
    assert_eq!((s, code(&b)), (503, "storage_unavailable"));
    let (s, b) = app.admin("GET", "/admin/v1/tenants", None).await;
    assert_eq!((s, code(&b)), (503, "storage_unavailable"));
}

/// A request in flight when shutdown begins still completes and is stored; new
/// connections are refused.
#[tokio::test]
async fn shutdown_lets_requests_in_flight_finish() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut app = App::spawn(countersign_store::testing::Backend::Sqlite).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let body = br#"{"domain":"late.example"}"#;
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /admin/v1/tenants HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        app.admin,
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    conn.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;

    // Begin shutdown while the body is half sent.
    app.signal_stop();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert!(tokio::net::TcpStream::connect(&addr).await.is_err(), "no new connections after shutdown began");

    conn.write_all(&body[5..]).await.unwrap();
    let mut response = String::new();
    conn.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 201"), "{response}");
    app.join().await.unwrap();

    // The tenant was stored, and the database was closed and opens again.
    let store = countersign::open_store(&app.db_url()).await.unwrap();
    let domain = countersign_core::Domain::parse("late.example", "domain").unwrap();
    assert!(store.tenant_by_domain(&domain).await.unwrap().is_some());
}

/// The `/metrics` format check used by the end-to-end tests catches what Prometheus refuses.
#[test]
fn the_metrics_checker_refuses_what_prometheus_would() {
    let good =
        "# HELP countersign_x_total X.\n# TYPE countersign_x_total counter\ncountersign_x_total{a=\"q\\\"\"} 1\n";
    common::metrics::check_exposition(good);
    for bad in [
        // Samples of one family after another family's TYPE.
        "# HELP countersign_a_total A.\n# TYPE countersign_a_total counter\n# HELP countersign_b B.\n# TYPE countersign_b gauge\ncountersign_a_total 1\n",
        // No HELP.
        "# TYPE countersign_b gauge\ncountersign_b 1\n",
        // A counter without _total, a label without quotes, a summary-style histogram.
        "# HELP countersign_c C.\n# TYPE countersign_c counter\ncountersign_c 1\n",
        "# HELP countersign_b B.\n# TYPE countersign_b gauge\ncountersign_b{a=x} 1\n",
        "# HELP countersign_h H.\n# TYPE countersign_h histogram\ncountersign_h_sum 1\ncountersign_h_count 1\ncountersign_h_bucket{le=\"1\"} 1\n",
        "# HELP countersign_h H.\n# TYPE countersign_h histogram\ncountersign_h_bucket{le=\"1\"} 2\ncountersign_h_bucket{le=\"+Inf\"} 1\ncountersign_h_count 1\n",
    ] {
        assert!(std::panic::catch_unwind(|| common::metrics::check_exposition(bad)).is_err(), "accepted:\n{bad}");
    }
}

/// The API explorer at /docs in real Chromium (Debian's, driven by Playwright): the
/// operations are grouped by tag, the intro is rendered markdown, "Authorize" takes the
/// admin token and "Try it out" / "Execute" runs `GET /admin/v1/tenants` against this
/// server; the page requests nothing from any other host and logs no error (a CSP
/// violation would be one). Needs `/usr/bin/chromium` and `npm ci` in tests/browser.
#[tokio::test]
async fn the_api_explorer_runs_a_call_in_headless_chromium() {
    let dir = common::browser_dir();
    let app = App::spawn(countersign_store::testing::Backend::Sqlite).await;
    app.tenant_with_alice("docs.example").await;
    let out = tokio::process::Command::new("node")
        .arg(dir.join("docs.mjs"))
        .arg(&app.base)
        .arg(&app.admin)
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();

    assert_eq!(r["tags"], json!(["integration", "mobile", "admin", "operations"]), "{r}");
    let intro = r["intro"]["text"].as_str().unwrap();
    assert!(!intro.contains('`') && !intro.contains("**"), "the intro is rendered markdown: {intro}");
    assert!(r["intro"]["code"].as_u64() > Some(2) && r["intro"]["strong"].as_u64() > Some(0), "{r}");
    let summaries = r["summaries"].as_array().unwrap();
    assert!(summaries.len() > 80, "{r}");
    assert!(summaries.iter().all(|s| !s.as_str().unwrap().contains('`')), "{r}");
    assert_eq!(r["authorization"].as_str(), Some(format!("Bearer {}", app.admin).as_str()), "{r}");
    assert_eq!(r["status"], "200", "{r}");
    let body: serde_json::Value =
        serde_json::from_str(r["body"].as_str().unwrap()).unwrap_or_else(|e| panic!("{e}: {r}"));
    let domains: Vec<&str> = body["items"].as_array().unwrap().iter().filter_map(|t| t["domain"].as_str()).collect();
    assert_eq!(domains, ["docs.example"], "{body}");
    assert_eq!(r["foreign"], json!([]), "the page reached another host: {r}");
    assert_eq!(r["problems"], json!([]), "{r}");
    assert!(r["requests"].as_u64() >= Some(5), "{r}");
    app.stop().await.unwrap();
}
