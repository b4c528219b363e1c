//! Retention end to end (docs/security.md, "Retention"): with the clock moved past the
//! periods, housekeeping removes ended sessions (a timeout ends at its deadline), sent messages, failed logins, QR logins,
//! activations and (when configured) audit entries that are old, and keeps what is
//! recent or still pending — on both backends.

use std::sync::Arc;
use std::time::Duration;

use crate::common::{App, Auth};
use countersign::config::RawConfig;
use countersign_core::delivery::providers::{FileSinkConfig, SmsConfig};
use countersign_core::retention::DAY_MS;
use countersign_core::session::SessionState;
use countersign_core::{Clock, FixedClock, SystemClock, Timestamp};
use countersign_store::backend_tests;
use serde_json::{Value, json};

fn totp(seed: &str, unix: i64) -> String {
    let out = std::process::Command::new("oathtool")
        .args(["--totp", "-b", "--now", &format!("@{unix}"), seed])
        .output()
        .expect("oathtool is installed (.ci/run)");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

async fn sent_messages(app: &App) -> Vec<String> {
    let (s, list) = app.admin("GET", "/admin/v1/outbox?state=sent", None).await;
    let list = list["items"].clone();
    assert_eq!(s, 200, "{list}");
    list.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap().to_owned()).collect()
}

backend_tests! {
    async fn housekeeping_purges_what_outlived_its_period_and_keeps_the_rest(backend) {
        let clock = Arc::new(FixedClock::new(SystemClock.now()));
        let dir = tempfile::tempdir().unwrap();
        let sink = dir.path().join("messages.jsonl").display().to_string();
        let raw = RawConfig {
            sms: Some(SmsConfig::File(FileSinkConfig { file: sink })),
            password_memory_kib: Some(1024),
            password_iterations: Some(1),
            ..RawConfig::default()
        };
        let app = App::spawn_full(backend, raw, Some(clock.clone())).await;
        let key = app.tenant_with_alice("example.com").await;
        let login = |body: Value| {
            let (app, key) = (&app, key.clone());
            async move { app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(body)).await }
        };
        let session = |id: String| {
            let (app, key) = (&app, key.clone());
            async move { app.call("GET", &format!("/v1/sessions/{id}"), Auth::Bearer(&key), None).await }
        };
        let now = || clock.now().millis() / 1000;

        // Old: a token login (a session ended at once), a code sent by SMS, a wrong static
        // password (a failed login for the risk engine), an activation, a QR login.
        let (_, t) = app.call("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), Some(json!({}))).await;
        let seed = t["otpauthURI"].as_str().unwrap().split("secret=").nth(1).unwrap().split('&').next().unwrap().to_owned();
        let confirm = format!("/v1/users/alice@example.com/tokens/{}/confirm", t["tokenID"].as_str().unwrap());
        assert_eq!(app.call("POST", &confirm, Auth::Bearer(&key), Some(json!({"otp": totp(&seed, now())}))).await.0, 200);
        clock.advance(30_000);
        let (s, old) = login(json!({"passKey": "totp", "otp": totp(&seed, now())})).await;
        assert_eq!((s, old["sessionStatus"].as_str()), (200, Some("Accept")), "{old}");
        let old = old["requestID"].as_str().unwrap().to_owned();
        let (s, b) = login(json!({"passKey": "sms", "timeout": 0})).await;
        assert_eq!(s, 200, "{b}");
        let sms = b["requestID"].as_str().unwrap().to_owned();
        for _ in 0..600 {
            if !sent_messages(&app).await.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let old_sent = sent_messages(&app).await;
        assert_eq!(old_sent.len(), 1, "the code went out");
        let path = "/admin/v1/tenants/example.com/users/alice/static-password";
        assert_eq!(app.admin("PUT", path, Some(json!({"password": "correct horse battery"}))).await.0, 200);
        let ty = json!({"method": "static_password", "ttlSeconds": 120});
        assert_eq!(app.admin("PUT", "/admin/v1/tenants/example.com/auth-types/password", Some(ty)).await.0, 200);
        let (_, pw) = login(json!({"passKey": "password", "timeout": 0})).await;
        let (s, _) = login(json!({"requestID": pw["requestID"], "passKey": "wrong"})).await;
        assert_eq!(s, 422);
        let user = app.core.store.user(&app.core.tenant("example.com").await.unwrap().id, "alice").await.unwrap().unwrap();
        assert_eq!(app.core.store.user_failures_since(&user.id, Timestamp(0)).await.unwrap(), 1);
        let (_, activation) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        let qr_svg = format!("/v1/activations/{}/qr.svg", activation["activationID"].as_str().unwrap());
        assert_eq!(app.call("GET", &qr_svg, Auth::Bearer(&key), None).await.0, 200);
        let (_, qr) = app.call("POST", "/v1/qr-logins", Auth::Bearer(&key), Some(json!({}))).await;
        let qr = qr["requestID"].as_str().unwrap().to_owned();
        let old_audit = app.core.store.audit_head().await.unwrap().seq;

        // 31 days later: another token login, and a challenge still pending.
        clock.advance(31 * DAY_MS);
        // The sweeper records the timeouts of what was pending meanwhile: they ended at
        // their deadlines, 31 days ago.
        for id in [pw["requestID"].as_str().unwrap(), sms.as_str()] {
            for _ in 0..600 {
                if app.core.store.session(id).await.unwrap().unwrap().state() == SessionState::Timeout {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let (s, recent) = login(json!({"passKey": "totp", "otp": totp(&seed, now())})).await;
        assert_eq!((s, recent["sessionStatus"].as_str()), (200, Some("Accept")), "{recent}");
        let recent = recent["requestID"].as_str().unwrap().to_owned();
        let (_, pending) = login(json!({"passKey": "password", "timeout": 0})).await;
        let pending = pending["requestID"].as_str().unwrap().to_owned();

        // Default periods, and the audit log kept 30 days (off by default).
        let mut core = app.core.clone();
        core.retention.audit_days = Some(30);
        let swept = core.housekeeping().await.unwrap();
        assert_eq!((swept.sessions, swept.outbox_sent, swept.risk_failures), (3, 1, 1), "{swept:?}");
        assert_eq!((swept.activations, swept.qr_logins), (1, 1), "{swept:?}");
        assert_eq!(swept.audit as i64, old_audit, "{swept:?}");
        assert_eq!(core.housekeeping().await.unwrap().sessions, 0, "nothing more is old");

        assert_eq!(session(old).await.0, 404, "the old ended session is gone");
        assert_eq!(session(sms).await.0, 404, "timed out at its deadline, 31 days ago");
        assert_eq!(session(recent).await.1["sessionStatus"], "Accept");
        assert_eq!(session(pending).await.1["sessionStatus"], "Pending");
        assert!(sent_messages(&app).await.iter().all(|m| !old_sent.contains(m)));
        assert_eq!(app.core.store.user_failures_since(&user.id, Timestamp(0)).await.unwrap(), 0);
        assert_eq!(app.call("GET", &qr_svg, Auth::Bearer(&key), None).await.0, 404);
        assert_eq!(session(qr).await.0, 404);
        // The audit log starts after the entries purged, and still verifies.
        let head = app.core.store.audit_head().await.unwrap();
        assert_eq!(head.base_seq, old_audit);
        let v = app.core.verify_audit().await.unwrap();
        assert_eq!((v.problem, v.entries as i64), (None, head.seq - old_audit));
        assert!(v.entries > 0);

        // The server's own defaults never purge the audit log.
        clock.advance(400 * DAY_MS);
        let swept = app.core.housekeeping().await.unwrap();
        assert_eq!(swept.audit, 0);
        assert_eq!(app.core.store.audit_head().await.unwrap().base_seq, old_audit);
    }
}
