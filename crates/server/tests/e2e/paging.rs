//! Every admin listing pages the same way (docs/foundation.md, "Pagination"): `limit`
//! and `after` in, `{items, nextAfter}` out. Each test makes more rows than one page
//! holds, reads them a page at a time, and checks that every row comes exactly once, in
//! order, and that the last page says `nextAfter: null` — on both backends.

use std::collections::BTreeSet;

use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_store::backend_tests;
use serde_json::{Value, json};

use crate::common::{App, Auth};

/// `s` with everything but RFC 3986's unreserved characters percent-encoded (a cursor
/// may hold `#` or `:`).
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every item of the listing at `path`, read `limit` at a time. Checks that no page is
/// larger than `limit`, that only a full page points to another, that the listing takes
/// more than one page, and that it ends with `nextAfter: null`.
pub async fn read_all(app: &App, path: &str, limit: usize) -> Vec<Value> {
    let sep = if path.contains('?') { '&' } else { '?' };
    let (mut items, mut after, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let cursor = after.as_deref().map(|a| format!("&after={}", encode(a))).unwrap_or_default();
        let (s, page) = app.admin("GET", &format!("{path}{sep}limit={limit}{cursor}"), None).await;
        assert_eq!(s, 200, "{path}: {page}");
        let got = page["items"].as_array().unwrap_or_else(|| panic!("{path}: no items in {page}"));
        assert!(got.len() <= limit, "{path}: {} items on a page of {limit}", got.len());
        items.extend(got.iter().cloned());
        pages += 1;
        assert!(pages < 100, "{path}: the listing does not end");
        match &page["nextAfter"] {
            Value::String(a) => {
                assert_eq!(got.len(), limit, "{path}: a page short of the limit points to another: {page}");
                after = Some(a.clone());
            }
            Value::Null => break,
            other => panic!("{path}: nextAfter is {other}"),
        }
    }
    assert!(pages > 1, "{path}: {} items fit one page of {limit}: make more", items.len());
    items
}

/// The values of `field` of `items`, checked to be unique.
pub fn unique(items: &[Value], field: &str) -> Vec<String> {
    let keys: Vec<String> =
        items.iter().map(|i| i[field].as_str().unwrap_or_else(|| panic!("no {field} in {i}")).to_owned()).collect();
    let set: BTreeSet<&String> = keys.iter().collect();
    assert_eq!(set.len(), keys.len(), "a row came twice: {keys:?}");
    keys
}

/// A limit that is not a number is `400 invalid_query` naming `limit`; one out of 1–500,
/// and a cursor that is not one, `422 invalid_value` naming the parameter.
pub async fn refuses_bad_paging(app: &App, path: &str, bad_after: Option<&str>) {
    let sep = if path.contains('?') { '&' } else { '?' };
    for (query, status, code, field) in [
        ("limit=ten", 400, "invalid_query", "limit"),
        ("limit=-1", 400, "invalid_query", "limit"),
        ("limit=0", 422, "invalid_value", "limit"),
        ("limit=501", 422, "invalid_value", "limit"),
    ] {
        let (s, b) = app.admin("GET", &format!("{path}{sep}{query}"), None).await;
        assert_eq!(
            (s, b["error"]["code"].as_str(), b["error"]["field"].as_str()),
            (status, Some(code), Some(field)),
            "{path} {query}: {b}"
        );
    }
    if let Some(after) = bad_after {
        let (s, b) = app.admin("GET", &format!("{path}{sep}after={}", encode(after)), None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("after")), "{path} after={after}: {b}");
    }
}

/// Sorted, as the listing must already be.
fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

backend_tests! {
    async fn api_keys_and_admin_tokens_page_by_id(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let mut made = Vec::new();
        for i in 0..5 {
            let (s, k) = app.admin("POST", "/admin/v1/tenants/example.com/api-keys", Some(json!({"name": format!("k{i}")}))).await;
            assert_eq!(s, 201, "{k}");
            made.push(k["id"].as_str().unwrap().to_owned());
            let (s, t) = app.admin("POST", "/admin/v1/admin-tokens", Some(json!({"name": format!("t{i}")}))).await;
            assert_eq!(s, 201, "{t}");
        }
        // Revoked keys are listed too.
        let (s, _) = app.admin("DELETE", &format!("/admin/v1/tenants/example.com/api-keys/{}", made[0]), None).await;
        assert_eq!(s, 204);
        let keys = read_all(&app, "/admin/v1/tenants/example.com/api-keys", 2).await;
        let ids = unique(&keys, "id");
        assert_eq!(ids, sorted(ids.clone()), "by ID");
        assert_eq!(ids.len(), 6, "the five and tenant_with_alice's: {ids:?}");
        assert!(made.iter().all(|m| ids.contains(m)), "{made:?} in {ids:?}");
        assert!(keys.iter().all(|k| k.get("keyHash").is_none() && k.get("key").is_none()), "no secrets: {keys:?}");
        let tokens = read_all(&app, "/admin/v1/admin-tokens", 4).await;
        let ids = unique(&tokens, "id");
        assert_eq!(ids, sorted(ids.clone()));
        assert_eq!(ids.len(), 6, "the five and the bootstrap token: {ids:?}");
        // Another tenant's keys are not in the listing.
        let (s, _) = app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "other.example"}))).await;
        assert_eq!(s, 201);
        let (s, b) = app.admin("GET", "/admin/v1/tenants/other.example/api-keys", None).await;
        assert_eq!((s, b), (200, json!({"items": [], "nextAfter": null})));
        refuses_bad_paging(&app, "/admin/v1/tenants/example.com/api-keys", None).await;
        refuses_bad_paging(&app, "/admin/v1/admin-tokens", None).await;
        app.stop().await.unwrap();
    }

    async fn auth_types_page_built_in_and_own_types_by_name(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        // Own types before, between and after the built-in names, and one adjusted built-in.
        for name in ["AAA-sms", "mail-2", "zz-last", "sms"] {
            let (s, b) = app.admin("PUT", &format!("/admin/v1/tenants/example.com/auth-types/{name}"), Some(json!({"method": "sms"}))).await;
            assert_eq!(s, 200, "{b}");
        }
        let all = read_all(&app, "/admin/v1/tenants/example.com/auth-types", 4).await;
        let names = unique(&all, "name");
        assert_eq!(names, sorted(names.clone()), "by name, byte order");
        assert_eq!(names.len(), 11 + 3, "the 11 built-in types and 3 own ones: {names:?}");
        for n in ["AAA-sms", "mail-2", "zz-last", "push", "PIN", "votp", "email"] {
            assert!(names.contains(&n.to_owned()), "{n} in {names:?}");
        }
        let sms = all.iter().find(|t| t["name"] == "sms").unwrap();
        assert_eq!((sms["builtin"].as_bool(), sms["customised"].as_bool()), (Some(true), Some(true)), "{sms}");
        let own = all.iter().find(|t| t["name"] == "zz-last").unwrap();
        assert_eq!((own["builtin"].as_bool(), own["customised"].as_bool()), (Some(false), Some(true)), "{own}");
        refuses_bad_paging(&app, "/admin/v1/tenants/example.com/auth-types", None).await;
        app.stop().await.unwrap();
    }

    async fn virtual_authenticators_duo_integrations_and_radius_clients_page(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let mut serials = Vec::new();
        for _ in 0..5 {
            let (s, v) = app.admin("POST", "/admin/v1/tenants/example.com/users/alice/virtual-authenticators",
                Some(json!({"applications": ["APPL1"]}))).await;
            assert_eq!(s, 201, "{v}");
            serials.push(v["serialNumber"].as_str().unwrap().to_owned());
            let i = serials.len();
            let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/duo-integrations", Some(json!({"name": format!("duo-{i}")}))).await;
            assert_eq!(s, 201, "{b}");
            let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/radius-clients",
                Some(json!({"name": format!("nas-{i}"), "network": format!("10.{i}.0.0/16")}))).await;
            assert_eq!(s, 201, "{b}");
        }
        let path = "/admin/v1/tenants/example.com/users/alice/virtual-authenticators";
        let listed = unique(&read_all(&app, path, 2).await, "serialNumber");
        assert_eq!(listed, sorted(serials));
        refuses_bad_paging(&app, path, None).await;

        let path = "/admin/v1/tenants/example.com/duo-integrations";
        let duo = read_all(&app, path, 2).await;
        assert_eq!(unique(&duo, "name"), ["duo-1", "duo-2", "duo-3", "duo-4", "duo-5"]);
        assert!(duo.iter().all(|d| d.get("skey").is_none()), "no secret keys: {duo:?}");
        refuses_bad_paging(&app, path, None).await;

        let path = "/admin/v1/tenants/example.com/radius-clients";
        let nas = read_all(&app, path, 3).await;
        assert_eq!(unique(&nas, "name"), ["nas-1", "nas-2", "nas-3", "nas-4", "nas-5"]);
        assert!(nas.iter().all(|c| c.get("secret").is_none()), "no secrets: {nas:?}");
        refuses_bad_paging(&app, path, None).await;
        app.stop().await.unwrap();
    }

    async fn push_apps_page_by_app_id(backend) {
        let app = App::spawn(backend).await;
        for id in ["c-app", "a-app", "e-app", "b-app", "d-app"] {
            let (s, b) = app.admin("PUT", &format!("/admin/v1/apps/{id}"), Some(json!({"webpush": {"subject": "mailto:ops@bank.example"}}))).await;
            assert_eq!(s, 200, "{b}");
        }
        let apps = read_all(&app, "/admin/v1/apps", 2).await;
        assert_eq!(unique(&apps, "appID"), ["a-app", "b-app", "c-app", "d-app", "e-app"]);
        refuses_bad_paging(&app, "/admin/v1/apps", None).await;
        app.stop().await.unwrap();
    }

    async fn a_users_devices_page_by_id(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, b) = app.admin("PATCH", "/admin/v1/tenants/example.com", Some(json!({"settings": {"pushEnrollmentMode": "multiple"}}))).await;
        assert_eq!(s, 200, "{b}");
        let mut made = Vec::new();
        for _ in 0..3 {
            let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
            assert_eq!(s, 201, "{a}");
            let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
            made.push(auth.state.device_id.clone());
        }
        let path = "/admin/v1/tenants/example.com/users/alice/devices";
        let ids = unique(&read_all(&app, path, 2).await, "deviceID");
        assert_eq!(ids, sorted(made), "every device, in any state, by ID");
        refuses_bad_paging(&app, path, None).await;
        app.stop().await.unwrap();
    }

    async fn the_outbox_pages_newest_first_through_equal_times(backend) {
        // A fixed clock: every message has the same creation time, so the ID breaks ties.
        let clock = std::sync::Arc::new(countersign_core::FixedClock::new(countersign_core::Timestamp(1_800_000_000_000)));
        let app = App::spawn_with_clock(backend, clock.clone()).await;
        app.tenant_with_alice("example.com").await;
        let (_log, twilio) = crate::common::peers::twilio().await;
        let (s, b) = app.admin("PUT", "/admin/v1/tenants/example.com/providers", Some(json!({"sms": {
            "provider": "twilio", "accountSid": "AC1", "authToken": "tok", "from": "+15550001111",
            "baseUrl": format!("http://{twilio}")}}))).await;
        assert_eq!(s, 200, "{b}");
        let mut made = Vec::new();
        for i in 0..7 {
            if i == 4 {
                clock.advance(1_000);
            }
            let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/providers/test", Some(json!({"channel": "sms", "to": "+15550100"}))).await;
            assert_eq!(s, 202, "{b}");
            made.push(b["messageID"].as_str().unwrap().to_owned());
        }
        let all = read_all(&app, "/admin/v1/outbox", 2).await;
        let ids = unique(&all, "id");
        assert_eq!(ids.len(), 7, "{ids:?}");
        assert_eq!(BTreeSet::from_iter(&ids), BTreeSet::from_iter(&made));
        // The three made later come first; within one time, by ID.
        assert_eq!(BTreeSet::from_iter(&ids[..3]), BTreeSet::from_iter(&made[4..]));
        assert_eq!(ids[..3], sorted(ids[..3].to_vec()));
        assert_eq!(ids[3..], sorted(ids[3..].to_vec()));
        // The state filter pages too, once the worker has sent them all.
        crate::common::peers::eventually(15, async || {
            let (_, b) = app.admin("GET", "/admin/v1/outbox?state=sent&limit=500", None).await;
            b["items"].as_array().is_some_and(|a| a.len() == 7)
        })
        .await;
        let sent = unique(&read_all(&app, "/admin/v1/outbox?state=sent", 3).await, "id");
        assert_eq!(sent, ids, "the same order within one state");
        refuses_bad_paging(&app, "/admin/v1/outbox", Some("not-a-cursor")).await;
        let (s, b) = app.admin("GET", "/admin/v1/outbox?after=soon%3Aabc", None).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("after")), "{b}");
        app.stop().await.unwrap();
    }
}
