//! Input at the edge (docs/security.md, "Input at the edge" and "Device signatures"): NUL
//! characters in paths, queries and JSON; valid JSON of the wrong type; device-signed
//! envelopes with far timestamps, other media types and malleated signatures — on both
//! backends. The route families are read from `/openapi.json`, so a new route is covered
//! without being listed here.

use crate::common::served::Served;
use crate::common::{App, Auth, code};
use countersign_authenticator::{ActivateOptions, Authenticator};
use countersign_proto::{KeyPair, b64u_decode, b64u_encode, signed};
use countersign_store::backend_tests;
use serde_json::{Value, json};

/// One operation of the API description.
struct Operation {
    method: String,
    path: String,
    op: Value,
}

impl Operation {
    /// The credential the operation's family takes.
    fn auth<'a>(&self, admin: &'a str, key: &'a str) -> Auth<'a> {
        if self.path.starts_with("/admin/") {
            Auth::Bearer(admin)
        } else if self.path.starts_with("/v1/") {
            Auth::Bearer(key)
        } else {
            Auth::None
        }
    }

    /// The names of the path parameters, in order.
    fn path_params(&self) -> Vec<String> {
        self.path.split('/').filter_map(|s| s.strip_prefix('{')?.strip_suffix('}')).map(str::to_owned).collect()
    }

    /// The path with `target` set to `value` and every other parameter to `x`.
    fn path_with(&self, target: &str, value: &str) -> String {
        let mut out = self.path.clone();
        for p in self.path_params() {
            out = out.replace(&format!("{{{p}}}"), if p == target { value } else { "x" });
        }
        out
    }

    fn query_params(&self) -> Vec<String> {
        self.op["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// Device-signed mobile routes (their body is read only after the signature).
    fn device_signed(&self) -> bool {
        self.path.starts_with("/mobile/") && self.op["responses"]["401"].is_object()
    }

    /// The JSON request body's schema, `$ref` resolved.
    fn body_schema<'a>(&'a self, api: &'a Value) -> Option<&'a Value> {
        let s = &self.op["requestBody"]["content"]["application/json"]["schema"];
        (!s.is_null()).then(|| resolve(api, s))
    }
}

fn resolve<'a>(api: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(r) => &api["components"]["schemas"][r.rsplit('/').next().unwrap()],
        None => schema,
    }
}

async fn operations(app: &App) -> (Value, Vec<Operation>) {
    let (s, api) = app.call("GET", "/openapi.json", Auth::None, None).await;
    assert_eq!(s, 200);
    let mut ops = Vec::new();
    for (path, item) in api["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            ops.push(Operation { method: method.to_uppercase(), path: path.clone(), op: op.clone() });
        }
    }
    assert!(ops.len() > 80, "{} operations", ops.len());
    (api, ops)
}

/// `(status, code, field)` of an answer.
fn refusal(s: u16, b: &Value) -> (u16, String, Option<String>) {
    (s, code(b).to_owned(), b["error"]["field"].as_str().map(str::to_owned))
}

fn named_422(field: &str) -> (u16, String, Option<String>) {
    (422, "invalid_value".to_owned(), Some(field.to_owned()))
}

/// A wrong-typed value for a property of `schema` (`None` when any value would do).
fn wrong_value(api: &Value, schema: &Value) -> Option<Value> {
    let schema = resolve(api, schema);
    let ty = match &schema["type"] {
        Value::String(t) => Some(t.as_str()),
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
        _ => None,
    };
    match ty {
        Some("string") | Some("array") | Some("object") => Some(json!(0)),
        Some("integer") | Some("number") | Some("boolean") => Some(json!("x")),
        _ if schema["enum"].is_array() || schema["oneOf"].is_array() => Some(json!([[]])),
        _ => None,
    }
}

backend_tests! {
    async fn requests_are_not_logged_one_line_each_at_the_default_level(backend) {
        let server = Served::start(backend).await;
        let key = server.tenant_with_alice().await;
        let few = log_lines_for(&server, &key, 10).await;
        let many = log_lines_for(&server, &key, 300).await;
        let text = server.stderr_text();
        assert!(few <= 2 && many <= 2, "stderr grew by {few} lines for 10 requests, {many} for 300:\n{text}");
        server.stop().await;
        // They are there at debug, for whoever asks.
        let server = Served::start_with(backend, &[("COUNTERSIGN_LOG_LEVEL", "debug")]).await;
        let key = server.tenant_with_alice().await;
        log_lines_for(&server, &key, 10).await;
        let text = server.stderr_text();
        assert!(text.matches("finished processing request").count() >= 10, "{text}");
        server.stop().await;
    }

    async fn nul_in_any_path_parameter_is_refused_naming_it(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (_, ops) = operations(&app).await;
        let mut problems = Vec::new();
        let mut cases = 0;
        for op in &ops {
            for p in op.path_params() {
                cases += 1;
                let path = op.path_with(&p, "a%00b");
                let (s, b) = app.call(&op.method, &path, op.auth(&app.admin, &key), None).await;
                if refusal(s, &b) != named_422(&p) {
                    problems.push(format!("{} {path}: {s} {b}", op.method));
                }
            }
        }
        // The Swagger UI files are not in the description but read a path too.
        let (s, b) = app.call("GET", "/docs/a%00b", Auth::None, None).await;
        if refusal(s, &b) != named_422("file") {
            problems.push(format!("GET /docs/a%00b: {s} {b}"));
        }
        assert!(cases >= 100, "{cases} path parameters");
        assert!(problems.is_empty(), "{} of {cases}:\n{}", problems.len(), problems.join("\n"));
        // Still readable for a real caller afterwards.
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Bearer(&key), None).await;
        assert_eq!(s, 200);
    }

    async fn nul_in_json_strings_and_query_values_is_refused_naming_the_field(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (_, ops) = operations(&app).await;
        let mut problems = Vec::new();
        let mut cases = 0;
        for op in &ops {
            let base = op.path_with("", "x");
            if op.op["requestBody"].is_object() && !op.device_signed() {
                for (body, field) in [
                    (json!({"name": "a\u{0}b"}), "name"),
                    (json!({"zz": {"inner": ["ok", "\u{0}"]}}), "zz.inner[1]"),
                ] {
                    cases += 1;
                    let (s, b) = app.call(&op.method, &base, op.auth(&app.admin, &key), Some(body.clone())).await;
                    if refusal(s, &b) != named_422(field) {
                        problems.push(format!("{} {base} {body}: {s} {b}", op.method));
                    }
                }
            }
            for q in op.query_params() {
                cases += 1;
                let path = format!("{base}?{q}=a%00b");
                let (s, b) = app.call(&op.method, &path, op.auth(&app.admin, &key), None).await;
                if refusal(s, &b) != named_422(&q) {
                    problems.push(format!("{} {path}: {s} {b}", op.method));
                }
            }
        }
        assert!(cases > 60, "{cases} cases");
        assert!(problems.is_empty(), "{} of {cases}:\n{}", problems.len(), problems.join("\n"));

        // The issue's own cases, and real values with a NUL inside.
        let (s, b) = app.call("POST", "/mobile/v1/activations/%00/code", Auth::None, Some(json!({"code": "x"}))).await;
        assert_eq!(refusal(s, &b), named_422("activationID"));
        let (s, b) = app.call("GET", "/mobile/v1/apps/%00/webpush", Auth::None, None).await;
        assert_eq!(refusal(s, &b), named_422("appID"));
        let (s, b) = app.call("GET", "/v1/sessions/%00", Auth::Bearer(&key), None).await;
        assert_eq!(refusal(s, &b), named_422("requestID"));
        let (s, b) = app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "a\u{0}.example"}))).await;
        assert_eq!(refusal(s, &b), named_422("domain"));
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/users",
            Some(json!({"userID": "bob", "email": "bob@example.com\u{0}"}))).await;
        assert_eq!(refusal(s, &b), named_422("email"));
        let (s, b) = app.call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key),
            Some(json!({"passKey": "push", "context": {"\u{0}": "v"}}))).await;
        assert_eq!((s, code(&b)), (422, "invalid_value"), "{b}");
        assert_eq!(b["error"]["field"].as_str().map(|f| f.starts_with("context")), Some(true), "{b}");
        // A NUL in a Basic credential is a wrong credential, not a storage error.
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Basic("example.com\u{0}", &key), None).await;
        assert_eq!(s, 401);
        let (s, _) = app.call("GET", "/v1/users/alice@example.com", Auth::Basic("", &format!("{key}\u{0}")), None).await;
        assert_eq!(s, 401);
        // An escaped backslash before `u0000` is text, not a NUL.
        let (s, b) = app.admin("POST", "/admin/v1/tenants", Some(json!({"domain": "\\u0000.example"}))).await;
        assert_eq!(refusal(s, &b).0, 422, "{b}");
        assert_ne!(b["error"]["message"].as_str().unwrap_or(""), NUL_MESSAGE, "{b}");
    }

    async fn valid_json_of_the_wrong_type_is_422_naming_the_field(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        // The issue's cases.
        for (method, path, auth, body, field) in [
            ("POST", "/v1/users/alice@example.com/tokens", Auth::Bearer(&key), json!({"algorithm": 0}), "algorithm"),
            ("PATCH", "/admin/v1/tenants/example.com/users/alice", Auth::Bearer(&app.admin), json!({"status": false}), "status"),
            ("PATCH", "/admin/v1/tenants/example.com", Auth::Bearer(&app.admin),
                json!({"settings": {"pushEnrollmentMode": {}}}), "settings.pushEnrollmentMode"),
            ("PATCH", "/admin/v1/tenants/example.com", Auth::Bearer(&app.admin),
                json!({"settings": {"pushEnrollmentMode": 5}}), "settings.pushEnrollmentMode"),
            ("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), json!({"passKey": true}), "passKey"),
        ] {
            let (s, b) = app.call(method, path, auth, Some(body.clone())).await;
            assert_eq!(refusal(s, &b), named_422(field), "{method} {path} {body}: {b}");
            assert!(!b["error"]["message"].as_str().unwrap().contains("not valid JSON"), "{b}");
        }
        // Syntax stays a 400.
        let (s, b) = app.raw("POST", "/admin/v1/tenants", Auth::Bearer(&app.admin), "application/json", b"{\"domain\":".to_vec()).await;
        assert_eq!((s, code(&b)), (400, "malformed_json"));
        let (s, b) = app.raw("POST", "/admin/v1/tenants", Auth::Bearer(&app.admin), "application/json", b"{\"domain\":nope}".to_vec()).await;
        assert_eq!((s, code(&b)), (400, "malformed_json"));

        // Every operation: each top-level property given a value of another type.
        let (api, ops) = operations(&app).await;
        let mut problems = Vec::new();
        let mut cases = 0;
        for op in ops.iter().filter(|o| !o.device_signed()) {
            let Some(schema) = op.body_schema(&api) else { continue };
            let path = op.path_with("", "x");
            for (name, prop) in schema["properties"].as_object().into_iter().flatten() {
                let Some(wrong) = wrong_value(&api, prop) else { continue };
                cases += 1;
                let body = json!({ name.as_str(): wrong });
                let (s, b) = app.call(&op.method, &path, op.auth(&app.admin, &key), Some(body.clone())).await;
                let (status, c, field) = refusal(s, &b);
                if (status, c.as_str()) != (422, "invalid_value") || !field.as_deref().is_some_and(|f| f.starts_with(name.as_str())) {
                    problems.push(format!("{} {path} {body}: {s} {b}", op.method));
                }
            }
        }
        assert!(cases > 80, "{cases} cases");
        assert!(problems.is_empty(), "{} of {cases}:\n{}", problems.len(), problems.join("\n"));
    }

    async fn device_signatures_refuse_far_timestamps_other_media_types_and_high_s(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let (s, a) = app.call("POST", "/v1/users/alice@example.com/activations", Auth::Bearer(&key), None).await;
        assert_eq!(s, 201, "{a}");
        let auth = Authenticator::activate(a["qrPayload"].as_str().unwrap(), "1234", &ActivateOptions::default()).await.unwrap();
        let k = KeyPair::from_secret(&b64u_decode(&auth.state.secrets.possession).unwrap()).unwrap();
        use countersign_core::Clock;
        let now = countersign_core::SystemClock.now().millis();
        let mut n = 0u32;
        let mut nonce = || { n += 1; format!("nonce-{n:016}") };
        let send = |method: &'static str, path: &'static str, ts: String, nonce: String, sig: String, ctype: Option<&'static str>, body: Vec<u8>| {
            let mut req = app.client
                .request(method.parse().unwrap(), format!("{}{path}", app.base))
                .header("x-cs-device", &auth.state.device_id)
                .header("x-cs-timestamp", ts)
                .header("x-cs-nonce", nonce)
                .header("x-cs-signature", sig);
            if let Some(c) = ctype { req = req.header("content-type", c); }
            async move { crate::common::read(req.body(body).send().await.unwrap()).await }
        };
        let get = |ts: i64, nonce: String, sig: Option<String>| {
            let sig = sig.unwrap_or_else(|| k.sign(&signed::request("GET", "/mobile/v1/requests", ts, &nonce, b"")));
            send("GET", "/mobile/v1/requests", ts.to_string(), nonce, sig, None, Vec::new())
        };

        // Timestamps: within the window passes; far ones, including those whose distance
        // to now does not fit an i64, are stale, never accepted.
        let (s, b) = get(now, nonce(), None).await;
        assert_eq!(s, 200, "{b}");
        for ts in [now - 5 * 60_000 - 1_000, now + 5 * 60_000 + 1_000, now.wrapping_sub(1 << 62).wrapping_sub(1 << 62),
                   now.wrapping_add(i64::MIN), i64::MIN, i64::MAX, i64::MIN + 1, -now, 0] {
            let (s, b) = get(ts, nonce(), None).await;
            assert_eq!((s, code(&b)), (401, "stale_request"), "timestamp {ts}");
        }
        // Not an i64: refused before anything else.
        for text in ["18446744073709551615", "9223372036854775808", "+1", " 1", "1e3", ""] {
            let nc = nonce();
            let sig = k.sign(format!("countersign-request-v1\nGET\n/mobile/v1/requests\n{text}\n{nc}\n").as_bytes());
            let (s, _) = send("GET", "/mobile/v1/requests", text.to_owned(), nc, sig, None, Vec::new()).await;
            assert_eq!(s, 401, "timestamp {text:?}");
        }

        // A body goes as JSON or not at all.
        let body = br#"{"platform":"poll"}"#.to_vec();
        let put = |ctype: Option<&'static str>, nonce: String| {
            let sig = k.sign(&signed::request("PUT", "/mobile/v1/device/push", now, &nonce, &body));
            send("PUT", "/mobile/v1/device/push", now.to_string(), nonce, sig, ctype, body.clone())
        };
        for ctype in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonx")] {
            let (s, b) = put(ctype, nonce()).await;
            assert_eq!((s, code(&b)), (415, "unsupported_media_type"), "{ctype:?}");
        }
        let (s, b) = put(Some("application/json; charset=utf-8"), nonce()).await;
        assert_eq!(s, 204, "{b}");
        // A NUL inside the signed body is named like any other.
        let nul = br#"{"platform":"webhook","token":"http://127.0.0.1:9/\u0000"}"#.to_vec();
        let nc = nonce();
        let sig = k.sign(&signed::request("PUT", "/mobile/v1/device/push", now, &nc, &nul));
        let (s, b) = send("PUT", "/mobile/v1/device/push", now.to_string(), nc, sig, Some("application/json"), nul).await;
        assert_eq!(refusal(s, &b), named_422("token"));

        // Signatures: only the low-S form verifies; the high-S twin of a good one does not.
        let nc = nonce();
        let good = k.sign(&signed::request("GET", "/mobile/v1/requests", now, &nc, b""));
        let sig = p256::ecdsa::Signature::from_slice(&b64u_decode(&good).unwrap()).unwrap();
        assert!(sig.normalize_s().is_none(), "the reference signer signs low-S");
        let (r, s_scalar) = sig.split_scalars();
        let high = p256::ecdsa::Signature::from_scalars(r, -s_scalar).unwrap();
        assert!(high.normalize_s().is_some(), "the twin is high-S");
        let (s, b) = get(now, nc.clone(), Some(b64u_encode(&high.to_bytes()))).await;
        assert_eq!((s, code(&b)), (401, "unauthorized"), "the high-S twin verified");
        let (s, _) = get(now, nc, Some(good)).await;
        assert_eq!(s, 200, "the low-S original verifies (its nonce was not used by the refusal)");
    }
}

/// Requests of every outcome, `n` of them, against the binary; the lines its standard
/// error grew by.
async fn log_lines_for(server: &Served, key: &str, n: usize) -> usize {
    let before = server.stderr_text().lines().count();
    for i in 0..n {
        let (path, bearer, want) = match i % 5 {
            0 => ("/v1/users/alice@example.com", Some(key), 200),
            1 => ("/v1/users/nobody@example.com", Some(key), 404),
            2 => ("/v1/users/alice@example.com", None, 401),
            3 => ("/v1/sessions/a%00b", Some(key), 422),
            _ => ("/no/such/route", None, 404),
        };
        let (s, b) = server.call("GET", path, bearer, None).await;
        assert_eq!(s, want, "{path}: {b}");
    }
    // Let anything buffered reach the file.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    server.stderr_text().lines().count() - before
}

/// What a NUL is refused with (the message names no value).
const NUL_MESSAGE: &str = "must not contain the NUL character (U+0000)";
