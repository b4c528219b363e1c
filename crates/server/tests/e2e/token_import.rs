//! Streamed token imports (docs/tokens.md, "Importing hardware tokens"): the CSV file
//! itself as a `text/csv` body, past the JSON body limit, all or nothing, the line at
//! fault named without its seed, a body over `import_limit_bytes` refused — on both
//! backends, with one imported token checked against `oathtool`'s code.

use std::time::Instant;

use countersign::config::RawConfig;
use countersign_store::backend_tests;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::{self, App, Auth};
use crate::paging::{read_all, unique};
use crate::tokens::{RFC_SEED, hotp_at};

const HEADER: &str = "serial,type,seed_hex,digits,period_or_counter,algorithm\n";

/// A file of `n` HOTP tokens `HW-000001`…; token 42 has RFC 4226's seed, the others a
/// seed of their own.
fn csv(n: usize) -> String {
    let mut out = String::from(HEADER);
    for i in 1..=n {
        let seed = if i == 42 { RFC_SEED.to_owned() } else { format!("{:040x}", 0xC0FFEE_u64 * i as u64 + 1) };
        out.push_str(&format!("HW-{i:06},hotp,{seed},6,0,SHA1\r\n"));
    }
    out
}

async fn post_csv(app: &App, body: Vec<u8>) -> (u16, Value) {
    let admin = app.admin.clone();
    app.raw("POST", "/admin/v1/tenants/example.com/tokens/import", Auth::Bearer(&admin), "text/csv", body).await
}

async fn token_count(app: &App) -> usize {
    let (s, b) = app.admin("GET", "/admin/v1/tenants/example.com/tokens?limit=500", None).await;
    assert_eq!(s, 200, "{b}");
    b["items"].as_array().unwrap().len()
}

backend_tests! {
    async fn twenty_thousand_tokens_stream_in_past_the_json_limit_and_work(backend) {
        let app = App::spawn(backend).await;
        let key = app.tenant_with_alice("example.com").await;
        let file = csv(20_000);
        assert!(file.len() > 64 * 1024 * 8, "{} bytes: well past the 64 KiB JSON limit", file.len());
        // As JSON, a file of even 1,200 tokens is over the body limit. (Kept a little over
        // it: a body far over is refused before it is sent whole, and the client may see
        // the connection closed instead of the answer.)
        let json_file = csv(1_200);
        assert!(json_file.len() > 64 * 1024 && json_file.len() < 96 * 1024, "{}", json_file.len());
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/tokens/import", Some(json!({"format": "csv", "data": json_file}))).await;
        assert_eq!((s, common::code(&b)), (413, "payload_too_large"), "{b}");
        // Streamed as text/csv it goes in, in one go.
        let started = Instant::now();
        let (s, b) = post_csv(&app, file.into_bytes()).await;
        assert_eq!((s, b["imported"].as_u64()), (201, Some(20_000)), "{b}");
        eprintln!("20,000 tokens imported in {:?}", started.elapsed());
        let tokens = read_all(&app, "/admin/v1/tenants/example.com/tokens", 500).await;
        let serials = unique(&tokens, "serial");
        assert_eq!(serials.len(), 20_000);
        assert_eq!((serials[0].as_str(), serials[19_999].as_str()), ("HW-000001", "HW-020000"));
        assert!(tokens.iter().all(|t| t.get("seed").is_none() && t.get("secret").is_none()), "no seeds listed");
        // Token 42 answers with oathtool's code for RFC 4226's seed.
        let id = tokens.iter().find(|t| t["serial"] == "HW-000042").unwrap()["tokenID"].as_str().unwrap().to_owned();
        let (s, b) = app.admin("PUT", &format!("/admin/v1/tenants/example.com/tokens/{id}/user"), Some(json!({"userID": "alice"}))).await;
        assert_eq!(s, 200, "{b}");
        let (s, b) = app
            .call("POST", "/v1/users/alice@example.com/login", Auth::Bearer(&key), Some(json!({"passKey": "totp", "otp": hotp_at(RFC_SEED, 0)})))
            .await;
        assert_eq!((s, b["sessionStatus"].as_str()), (200, Some("Accept")), "{b}");
        // The same file again: every serial exists, nothing more is imported.
        let (s, b) = post_csv(&app, csv(3).into_bytes()).await;
        assert_eq!((s, common::code(&b)), (409, "token_exists"), "{b}");
        app.stop().await.unwrap();
    }

    async fn one_bad_row_imports_nothing_and_names_its_line_without_the_seed(backend) {
        let app = App::spawn(backend).await;
        app.tenant_with_alice("example.com").await;
        let secret_looking = "zz6b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b";
        for (bad_row, field, words) in [
            (format!("HW-BAD,hotp,{secret_looking},6,0,SHA1"), "line502.seed_hex", "hexadecimal"),
            ("HW-BAD,hotp,3132333435363738393031323334353637383930,9,0,SHA1".to_owned(), "line502.digits", "digits"),
            ("HW-BAD,hotp,3132333435363738393031323334353637383930".to_owned(), "line502", "six columns"),
            ("HW-000007,hotp,3132333435363738393031323334353637383930,6,0,SHA1".to_owned(), "line502.serial", "line 8"),
        ] {
            let mut lines: Vec<String> = csv(1_000).lines().map(str::to_owned).collect();
            lines.insert(501, bad_row.clone());
            let (s, b) = post_csv(&app, lines.join("\n").into_bytes()).await;
            assert_eq!(
                (s, common::code(&b), b["error"]["field"].as_str()),
                (422, "invalid_value", Some(field)),
                "{bad_row}: {b}"
            );
            let message = b["error"]["message"].as_str().unwrap();
            assert!(message.contains("line 502") && message.contains(words), "{message}");
            assert!(!b.to_string().contains(secret_looking), "the seed is not echoed: {b}");
            assert_eq!(token_count(&app).await, 0, "nothing imported for {bad_row}");
        }
        // Not UTF-8, and a line with no end: named too.
        let mut bytes = HEADER.as_bytes().to_vec();
        bytes.extend_from_slice(b"HW-1,hotp,\xff\xfe,6,0,SHA1\n");
        let (s, b) = post_csv(&app, bytes).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("line2")), "{b}");
        let (s, b) = post_csv(&app, format!("{HEADER}{}", "9".repeat(5_000)).into_bytes()).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("line2")), "{b}");
        // A file with no token, and a body of another type.
        let (s, b) = post_csv(&app, HEADER.as_bytes().to_vec()).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("body")), "{b}");
        let admin = app.admin.clone();
        let (s, b) = app.raw("POST", "/admin/v1/tenants/example.com/tokens/import", Auth::Bearer(&admin), "text/plain", csv(2).into_bytes()).await;
        assert_eq!((s, common::code(&b)), (415, "unsupported_media_type"), "{b}");
        let (s, b) = app.raw("POST", "/admin/v1/tenants/nowhere.example/tokens/import", Auth::Bearer(&admin), "text/csv", csv(2).into_bytes()).await;
        assert_eq!((s, common::code(&b)), (404, "tenant_not_found"), "{b}");
        // The JSON form still names the line as it did.
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/tokens/import",
            Some(json!({"format": "csv", "data": format!("{HEADER}HW-1,hotp,{secret_looking},6,0,SHA1\n")}))).await;
        assert_eq!((s, b["error"]["field"].as_str()), (422, Some("data.line2")), "{b}");
        assert!(!b.to_string().contains(secret_looking), "{b}");
        let (s, b) = app.admin("POST", "/admin/v1/tenants/example.com/tokens/import",
            Some(json!({"format": "csv", "data": csv(2)}))).await;
        assert_eq!((s, b["imported"].as_u64()), (201, Some(2)), "{b}");
        app.stop().await.unwrap();
    }

    async fn a_csv_body_over_the_import_limit_is_refused(backend) {
        let app = App::spawn_with(backend, RawConfig { import_limit_bytes: Some(100_000), ..RawConfig::default() }).await;
        app.tenant_with_alice("example.com").await;
        // Just over the limit: the answer comes before the body is read, so a body far
        // over could meet a closed connection instead of it.
        let file = csv(1_600);
        assert!(file.len() > 100_000 && file.len() < 120_000, "{}", file.len());
        // Declared too large: refused before a byte is read.
        let (s, b) = post_csv(&app, file.clone().into_bytes()).await;
        assert_eq!((s, common::code(&b)), (413, "payload_too_large"), "{b}");
        assert!(b["error"]["message"].as_str().unwrap().contains("100000 bytes"), "{b}");
        // Sent in chunks with no length: refused once the count passes the limit.
        let (s, b) = chunked(&app, "/admin/v1/tenants/example.com/tokens/import", file.as_bytes()).await;
        assert_eq!((s, common::code(&b)), (413, "payload_too_large"), "{b}");
        assert_eq!(token_count(&app).await, 0);
        // Under the limit, chunked, it goes in.
        let (s, b) = chunked(&app, "/admin/v1/tenants/example.com/tokens/import", csv(500).as_bytes()).await;
        assert_eq!((s, b["imported"].as_u64()), (201, Some(500)), "{b}");
        app.stop().await.unwrap();
    }
}

/// POST `body` as `text/csv` with `Transfer-Encoding: chunked` (no length up front),
/// over a plain HTTP/1.1 connection; the status and JSON body of the answer.
async fn chunked(app: &App, path: &str, body: &[u8]) -> (u16, Value) {
    let host = app.base.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&host).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\nContent-Type: text/csv\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        app.admin
    );
    let mut out = head.into_bytes();
    for piece in body.chunks(8 * 1024) {
        out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        out.extend_from_slice(piece);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    // The server may answer before it has read everything; what it read is enough.
    let _ = conn.write_all(&out).await;
    let mut answer = Vec::new();
    let _ = conn.read_to_end(&mut answer).await;
    let text = String::from_utf8_lossy(&answer);
    let status: u16 =
        text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("no answer: {text}"));
    let (headers, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let json = if headers.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        // One chunk (the error or result is small): its size line, then the JSON.
        rest.split_once("\r\n").map(|(_, r)| r).unwrap_or("").split("\r\n").next().unwrap_or("").to_owned()
    } else {
        rest.to_owned()
    };
    (status, serde_json::from_str(&json).unwrap_or(Value::String(json)))
}
