//! The audit log end to end (docs/security.md, "Audit log"): logins, enrollments,
//! lockouts and admin changes leave entries with the right actor; the admin API queries
//! and exports them (an API key sees its own tenant only); the chain verifies — and an
//! entry altered, removed or reordered in the database is named by
//! `countersign admin audit verify`. No secret ever enters the log. On both backends.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{App, Auth, code};
use countersign::config::RawConfig;
use countersign_authenticator::{ActivateOptions, Answer, Authenticator};
use countersign_core::{Clock, FixedClock, SystemClock};
use countersign_store::backend_tests;
use serde_json::{Value, json};

const PIN: &str = "8642";
const PASSWORD: &str = "correct horse battery";

fn oathtool_totp(secret_b32: &str, unix: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now", &format!("@{unix}"), secret_b32])
        .output()
        .expect("oathtool is installed (.ci/run)");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Every entry `query` finds through the admin API (all pages).
async fn entries(app: &App, auth: Auth<'_>, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = String::new();
    loop {
        let (s, page) = app.call("GET", &format!("/admin/v1/audit?limit=7{after}{query}"), auth, None).await;
        assert_eq!(s, 200, "{page}");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["nextAfter"].as_str() {
            Some(next) => after = format!("&after={next}"),
            None => return out,
        }
    }
}

fn kinds(e: &[Value]) -> Vec<&str> {
    e.iter().map(|e| e["kind"].as_str().unwrap()).collect()
}

/// The entries of `kind`.
fn of<'a>(e: &'a [Value], kind: &str) -> Vec<&'a Value> {
    e.iter().filter(|e| e["kind"] == kind).collect()
}

/// Every string in `v`, recursively.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|v| strings(v, out)),
        Value::Object(o) => o.values().for_each(|v| strings(v, out)),
        _ => {}
    }
}

/// The `countersign` binary on this app's database.
async fn cli(app: &App, args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_countersign"));
    c.current_dir(dir.path()).env_remove("RUST_LOG").arg("--database").arg(app.db_url()).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("COUNTERSIGN_") {
            c.env_remove(k);
        }
    }
    c.output().await.unwrap()
}

async fn wait_pending(auth: &Authenticator) -> String {
    for _ in 0..100 {
        if let Some(r) = auth.pending().await.unwrap().into_iter().next() {
            return r.request_id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no pending request arrived");
}

backend_tests! {
    async fn security_events_are_recorded_with_their_actor_queried_and_exported(backend) {
        // A clock that stands still at the real time (so devices' signed timestamps are
        // fresh), moved by hand for TOTP steps.
        let clock = Arc::new(FixedClock::new(SystemClock.now()));
        let raw = RawConfig { password_memory_kib: Some(1024), password_iterations: Some(1), ..RawConfig::default() };
        let app = App::spawn_full(backend, raw, Some(clock.clone())).await;
        let key = app.tenant_with_alice("example.com").await;
        let (_, tokens) = app.admin("GET", "/admin/v1/admin-tokens", None).await;
        let tokens = tokens["items"].clone();
        let admin_actor = format!("admin-token:{}", tokens[0]["id"].as_str().unwrap());
        let (_, keys) = app.admin("GET", "/admin/v1/tenants/example.com/api-keys", None).await;
        let keys = keys["items"].clone();
        let key_actor = format!("api-key:{}", keys[0]["id"].as_str().unwrap());
        let settings = json!({"settings": {"numberMatching": false, "maxPinAttempts": 3}});
        assert_eq!(app.admin("PATCH", "/admin/v1/tenants/example.com", Some(settings)).await.0, 200);
        let login = |body: Value| {
            let key = key.clone();
            let app = &app;
            async move { app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(body)).await }
        };

        // A device: activated, a wrong PIN, the right one, a decline.
        let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        assert_eq!(s, 201, "{a}");
        let payload = a["qrPayload"].as_str().unwrap().to_owned();
        let activation_code = payload.split("code=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let device = Authenticator::activate(&payload, PIN, &ActivateOptions::default()).await.unwrap();
        let device_actor = format!("device:{}", device.state.device_id);
        let (s, out) = login(json!({"passKey": "PIN", "timeout": 0})).await;
        assert_eq!(s, 200, "{out}");
        let id = wait_pending(&device).await;
        let e = device.respond(&id, &Answer { approve: true, pin: Some("0000"), ..Default::default() }).await.unwrap_err();
        assert_eq!(e.code(), Some("wrong_pin"));
        let right = Answer { approve: true, pin: Some(PIN), ..Default::default() };
        assert_eq!(device.respond(&id, &right).await.unwrap().session_status, "Accept");
        login(json!({"passKey": "push", "timeout": 0})).await;
        let declined = wait_pending(&device).await;
        assert_eq!(device.respond(&declined, &Answer::default()).await.unwrap().session_status, "Decline");

        // A software token: enrolled by the relying party, a wrong code (no session is
        // made), a right one; then locked by wrong codes and unlocked by the admin.
        let (s, t) = app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), Some(json!({}))).await;
        assert_eq!(s, 201, "{t}");
        let uri = t["otpauthURI"].as_str().unwrap();
        let seed = uri.split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let token_id = t["tokenID"].as_str().unwrap().to_owned();
        let now = || clock.now().millis() / 1000;
        let confirm = format!("/v1/users/alice@example.com/tokens/{token_id}/confirm");
        let (s, b) = app.call("POST", &confirm, Auth::Bearer(&key), Some(json!({"otp": oathtool_totp(&seed, now())}))).await;
        assert_eq!(s, 200, "{b}");
        clock.advance(30_000);
        let good = oathtool_totp(&seed, now());
        let wrong = if good == "135790" { "246801" } else { "135790" };
        let (s, b) = login(json!({"passKey": wrong})).await;
        assert_eq!((s, code(&b)), (422, "invalid_otp"), "a code as passKey, OneSpan style");
        let (s, b) = login(json!({"passKey": "totp", "otp": good})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        for _ in 0..5 {
            login(json!({"passKey": "totp", "otp": wrong})).await;
        }
        let (s, b) = app.admin("POST", &format!("/admin/v1/tenants/example.com/tokens/{token_id}/unlock"), None).await;
        assert_eq!(s, 200, "{b}");

        // A static password: a wrong one, the right one.
        let path = "/admin/v1/tenants/example.com/users/alice/static-password";
        assert_eq!(app.admin("PUT", path, Some(json!({"password": PASSWORD, "graceDays": 30}))).await.0, 200);
        let ty = json!({"method": "static_password", "ttlSeconds": 120});
        assert_eq!(app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/password", Some(ty)).await.0, 200);
        let (_, out) = login(json!({"passKey": "password", "sessionID": "S1", "timeout": 0})).await;
        let pw_session = out["requestID"].as_str().unwrap().to_owned();
        let (s, b) = login(json!({"requestID": pw_session, "sessionID": "S1", "passKey": "wrong horse"})).await;
        assert_eq!((s, code(&b)), (422, "invalid_password"));
        let (s, b) = login(json!({"requestID": pw_session, "sessionID": "S1", "passKey": PASSWORD})).await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");

        // The login-request limit, then the device removed by the admin.
        let limit = json!({"settings": {"loginRequestLimit": 1, "loginRequestWindowSeconds": 60}});
        assert_eq!(app.admin("PATCH", "/admin/v1/tenants/example.com", Some(limit)).await.0, 200);
        let (s, b) = login(json!({"passKey": "push", "timeout": 0})).await;
        assert_eq!((s, code(&b)), (429, "too_many_login_requests"));
        let remove = format!("/admin/v1/tenants/example.com/users/alice/devices/{}", device.state.device_id);
        assert_eq!(app.admin("DELETE", &remove, None).await.0, 204);

        // What the log says, as the admin reads it.
        let all = entries(&app, Auth::Bearer(&app.admin), "").await;
        let seqs: Vec<i64> = all.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "paged in order, no gap: {seqs:?}");
        let bootstrap = &of(&all, "admin_change")[0];
        assert_eq!((bootstrap["actor"].as_str(), bootstrap["details"]["bootstrap"].as_bool()), (Some("system"), Some(true)));
        let changes = of(&all, "admin_change");
        let create_user = changes.iter().find(|e| e["details"]["route"] == "/admin/v1/tenants/{domain}/users").unwrap();
        assert_eq!(create_user["actor"], admin_actor.as_str());
        assert_eq!((create_user["tenant"].as_str(), create_user["details"]["method"].as_str()), (Some("example.com"), Some("POST")));
        assert!(create_user["tenantId"].is_string(), "the tenant's ID is filled in: {create_user}");
        assert_eq!(create_user["user"], "alice", "the user created is named from the answer");
        let create_tenant = changes.iter().find(|e| e["details"]["route"] == "/admin/v1/tenants").unwrap();
        assert_eq!(create_tenant["tenant"], "example.com");
        let create_key = changes.iter().find(|e| e["details"]["route"] == "/admin/v1/tenants/{domain}/api-keys").unwrap();
        assert_eq!(create_key["details"]["created"], keys[0]["id"], "the key's ID, never the key");

        let activated = of(&all, "device_activated");
        assert_eq!(activated.len(), 1);
        assert_eq!((activated[0]["actor"].as_str(), activated[0]["user"].as_str()), (Some(device_actor.as_str()), Some("alice")));

        let failed = of(&all, "login_failed");
        let by_reason = |r: &str| failed.iter().find(|e| e["details"]["reason"] == r).unwrap_or_else(|| panic!("no {r}: {failed:?}"));
        let pin = by_reason("wrong_pin");
        assert_eq!((pin["actor"].as_str(), pin["details"]["method"].as_str(), pin["details"]["attemptsLeft"].as_u64()),
            (Some(device_actor.as_str()), Some("PIN"), Some(2)));
        let decline = failed.iter().find(|e| e["details"]["outcome"] == "Decline").unwrap();
        assert_eq!((decline["actor"].as_str(), decline["details"]["requestID"].as_str()), (Some(device_actor.as_str()), Some(declined.as_str())));
        let otp = by_reason("invalid_otp");
        assert_eq!((otp["actor"].as_str(), otp["details"]["method"].as_str(), otp["user"].as_str()), (Some(key_actor.as_str()), Some("totp"), Some("alice")));
        assert!(otp["details"]["requestID"].is_null(), "a wrong token code makes no session");
        assert_eq!(by_reason("invalid_password")["details"]["method"], "static_password");

        let ok = of(&all, "login_succeeded");
        let methods: Vec<(&str, &str)> = ok.iter().map(|e| (e["details"]["method"].as_str().unwrap(), e["actor"].as_str().unwrap())).collect();
        assert_eq!(methods, [("PIN", device_actor.as_str()), ("totp", key_actor.as_str()), ("static_password", key_actor.as_str())]);

        let enrolled = of(&all, "token_enrolled");
        assert_eq!((enrolled.len(), enrolled[0]["actor"].as_str()), (1, Some(key_actor.as_str())));
        let locked = of(&all, "locked");
        assert_eq!((locked.len(), locked[0]["details"]["lockout"].as_str(), locked[0]["user"].as_str()), (1, Some("token"), Some("alice")));
        let unlocked = of(&all, "unlocked");
        assert_eq!((unlocked.len(), unlocked[0]["actor"].as_str()), (1, Some(admin_actor.as_str())));
        let limited = of(&all, "rate_limited");
        assert_eq!((limited.len(), limited[0]["details"]["reason"].as_str()), (1, Some("too_many_login_requests")));
        let removed = of(&all, "device_removed");
        assert_eq!((removed.len(), removed[0]["actor"].as_str()), (1, Some(admin_actor.as_str())));
        assert_eq!(removed[0]["details"]["params"]["deviceID"], device.state.device_id.as_str());

        // Filters: tenant, user, kind, time.
        let failures = entries(&app, Auth::Bearer(&app.admin), "&tenant=example.com&user=alice&kind=login_failed").await;
        assert_eq!(failures, failed.iter().map(|e| (*e).clone()).collect::<Vec<_>>());
        // The clock moved once (for the token): entries before and after that instant.
        let at = all.iter().position(|e| e["time"] != all[0]["time"]).unwrap();
        let moved = all[at]["time"].as_str().unwrap();
        let since = entries(&app, Auth::Bearer(&app.admin), &format!("&since={moved}")).await;
        assert_eq!(since, all[at..]);
        let until = entries(&app, Auth::Bearer(&app.admin), &format!("&until={moved}")).await;
        assert_eq!(until, all[..at]);
        let (s, b) = app.admin("GET", "/admin/v1/audit?kind=logged_in", None).await;
        assert_eq!((s, code(&b), b["error"]["field"].as_str()), (422, "invalid_value", Some("kind")));
        let (s, b) = app.admin("GET", "/admin/v1/audit?since=yesterday", None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("since")));
        let (s, b) = app.admin("GET", "/admin/v1/audit?limit=501", None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("limit")));

        // An API key sees its own tenant's entries only.
        let other_key = app.tenant_with_alice("other.example").await;
        let mine = entries(&app, Auth::Bearer(&key), "").await;
        assert!(!mine.is_empty() && mine.iter().all(|e| e["tenant"] == "example.com"), "{mine:?}");
        let theirs = entries(&app, Auth::Bearer(&other_key), "").await;
        assert!(theirs.iter().all(|e| e["tenant"] == "other.example"), "{theirs:?}");
        let (s, _) = app.call("GET", "/admin/v1/audit?tenant=example.com", Auth::Bearer(&other_key), None).await;
        assert_eq!(s, 404);
        let (s, _) = app.call("GET", "/admin/v1/audit", Auth::None, None).await;
        assert_eq!(s, 401);

        // The export: every entry, one JSON object a line, the same as the query's.
        let resp = app.client.get(format!("{}/admin/v1/audit/export", app.base)).bearer_auth(&app.admin)
            .header("accept", "application/x-ndjson").send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
        let text = resp.text().await.unwrap();
        let exported: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let now_all = entries(&app, Auth::Bearer(&app.admin), "").await;
        assert_eq!(exported, now_all);
        let resp = app.client.get(format!("{}/admin/v1/audit/export?kind=locked", app.base)).bearer_auth(&key).send().await.unwrap();
        let lines = resp.text().await.unwrap();
        assert_eq!(lines.lines().count(), 1, "{lines}");
        let resp = app.client.get(format!("{}/admin/v1/audit/export", app.base)).bearer_auth(&app.admin)
            .header("accept", "application/json").send().await.unwrap();
        assert_eq!(resp.status(), 406);
        let out = cli(&app, &["admin", "audit", "export", "--tenant", "example.com", "--kind", "login_succeeded"]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 3);

        // No secret in any entry: not the PIN, codes, password, activation code, seed or keys.
        let long_secrets = [PASSWORD, "wrong horse", &activation_code, &seed, &key, &other_key, &app.admin];
        for secret in long_secrets {
            assert!(!text.contains(secret), "a secret in the audit log: {secret}");
        }
        for e in &exported {
            let mut values = Vec::new();
            strings(&e["details"], &mut values);
            for v in values {
                assert!(![PIN, "0000", wrong, good.as_str()].contains(&v.as_str()), "a PIN or code in {e}");
            }
        }

        // The chain verifies, through the core and the command line.
        let v = app.core.verify_audit().await.unwrap();
        assert_eq!((v.problem, v.entries as usize), (None, now_all.len()));
        let out = cli(&app, &["admin", "audit", "verify"]).await;
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains(&format!("{} entries", now_all.len())));
    }

    async fn an_altered_removed_or_reordered_entry_is_named_by_verify(backend) {
        let app = App::spawn(backend).await;
        for n in 0..4 {
            let (s, _) = app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": format!("t{n}.example")}))).await;
            assert_eq!(s, 201);
        }
        // The bootstrap token and four tenants: entries 1 to 5.
        let v = app.core.verify_audit().await.unwrap();
        assert_eq!((v.entries, v.head_seq, v.problem), (5, 5, None));
        let row = app.core.audit_page(&countersign_core::audit::AuditQuery { limit: 10, ..Default::default() }).await.unwrap();
        let details3 = row[2].details.replace('\'', "''");
        let verify_fails_at = |seq: i64, what: &'static str| {
            let app = &app;
            async move {
                let v = app.core.verify_audit().await.unwrap();
                let p = v.problem.unwrap_or_else(|| panic!("tampering ({what}) not found"));
                assert_eq!(p.seq, seq, "{what}: {p}");
                let out = cli(app, &["admin", "audit", "verify"]).await;
                assert_eq!(out.status.code(), Some(1), "{what}");
                let stderr = String::from_utf8_lossy(&out.stderr);
                assert!(stderr.contains(&format!("entry {seq}")), "{what}: {stderr}");
            }
        };

        // Altered: details changed in place.
        app.db().execute("UPDATE audit_log SET details = '{\"method\":\"GET\"}' WHERE seq = 3").await;
        verify_fails_at(3, "an altered entry").await;
        app.db().execute(&format!("UPDATE audit_log SET details = '{details3}' WHERE seq = 3")).await;
        assert_eq!(app.core.verify_audit().await.unwrap().problem, None, "restored");

        // Removed: a row deleted.
        let r = &row[3];
        app.db().execute("DELETE FROM audit_log WHERE seq = 4").await;
        verify_fails_at(4, "a removed entry").await;
        let text = |v: Option<&str>| v.map_or("NULL".to_owned(), |v| format!("'{}'", v.replace('\'', "''")));
        let restore = format!(
            "INSERT INTO audit_log (seq, at, tenant_id, tenant, user_id, kind, actor, details, prev_hash, hash) \
             VALUES (4, {}, {}, {}, {}, {}, {}, {}, {}, {})",
            r.at.millis(), text(r.tenant_id.as_deref()), text(r.tenant.as_deref()), text(r.user.as_deref()),
            text(Some(&r.kind)), text(Some(&r.actor)), text(Some(&r.details)), text(Some(&r.prev_hash)), text(Some(&r.hash))
        );
        app.db().execute(&restore).await;
        assert_eq!(app.core.verify_audit().await.unwrap().problem, None, "restored");

        // Reordered: two rows swap their places.
        app.db().execute("UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4; \
            UPDATE audit_log SET seq = 4 WHERE seq = -2").await;
        verify_fails_at(2, "reordered entries").await;

        // The last entry removed: the head still names it.
        app.db().execute("UPDATE audit_log SET seq = -2 WHERE seq = 2; UPDATE audit_log SET seq = 2 WHERE seq = 4; \
            UPDATE audit_log SET seq = 4 WHERE seq = -2; DELETE FROM audit_log WHERE seq = 5").await;
        verify_fails_at(5, "the last entry removed").await;
    }
}
