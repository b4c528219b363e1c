//! HTTPS served by the binary and client addresses behind proxies (docs/security.md,
//! "TLS" and "Client addresses"): the certificate is the one in the files, a changed file
//! is served to new connections without a restart, SIGHUP reloads, a broken file keeps
//! the certificate in use, a bad file stops the start before anything is created; a
//! forwarding header is believed from a trusted proxy only, read from the right.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use crate::common::peers::{TestCa, eventually, test_ca};
use crate::common::process;
use crate::common::served::Served;
use countersign_store::backend_tests;

fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

/// Write `ca`'s server certificate and key where the server reads them.
fn install(ca: &TestCa, cert: &Path, key: &Path) {
    std::fs::write(cert, pem("CERTIFICATE", &ca.cert)).unwrap();
    std::fs::write(key, pem("PRIVATE KEY", &ca.key)).unwrap();
}

/// A new client (no pooled connection) trusting only `ca`; the status of `GET url`, or
/// `None` when the TLS handshake (or anything else) fails.
async fn status_trusting(ca: &TestCa, url: &str) -> Option<u16> {
    let root = reqwest::Certificate::from_pem(ca.ca_pem.as_bytes()).unwrap();
    let client = reqwest::Client::builder().tls_certs_only([root]).build().unwrap();
    client.get(url).send().await.ok().map(|r| r.status().as_u16())
}

backend_tests! {
    async fn https_serves_the_files_certificate_and_reloads_it_on_change_and_on_sighup(backend) {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let (first, second) = (test_ca(), test_ca());
        install(&first, &cert, &key);
        let env = [
            ("COUNTERSIGN_TLS_CERT_FILE", cert.to_str().unwrap()),
            ("COUNTERSIGN_TLS_KEY_FILE", key.to_str().unwrap()),
        ];
        let server = Served::start_with(backend, &env).await;
        assert!(server.base.starts_with("https://127.0.0.1:"), "{}", server.base);
        let health = format!("{}/healthz", server.base.replace("127.0.0.1", "localhost"));
        assert_eq!(status_trusting(&first, &health).await, Some(200));
        assert_eq!(status_trusting(&second, &health).await, None, "only the installed certificate is served");
        // Plain HTTP on the HTTPS port gets no answer from the API.
        let plain = format!("{}/healthz", server.base.replace("https://", "http://"));
        assert!(reqwest::get(&plain).await.map(|r| r.status().as_u16()).ok() != Some(200));

        // New files: served to new connections without a restart.
        install(&second, &cert, &key);
        eventually(15, async || status_trusting(&second, &health).await == Some(200)).await;
        assert_eq!(status_trusting(&first, &health).await, None);

        // SIGHUP reloads at once.
        server.signal("HUP");
        eventually(10, async || server.stderr_text().contains("why=\"SIGHUP\"")
            || server.stderr_text().contains("why=SIGHUP")).await;

        // A broken file is refused and the certificate in use kept.
        std::fs::write(&cert, "not a certificate").unwrap();
        eventually(15, async || server.stderr_text().contains("cannot reload the TLS certificate")).await;
        assert_eq!(status_trusting(&second, &health).await, Some(200));
        let log = server.stderr_text();
        assert!(!log.contains(&STANDARD.encode(&second.key)[..40]), "no key material in the log");
        server.stop().await;
    }

    async fn a_forwarding_header_is_believed_from_a_trusted_proxy_only(backend) {
        // The client address of a request is in its span (logged at debug).
        let debug = ("COUNTERSIGN_LOG_LEVEL", "info,tower_http=debug");
        let untrusted = Served::start_with(backend, &[debug]).await;
        let trusted = Served::start_with(backend, &[debug, ("COUNTERSIGN_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8")]).await;
        let client = reqwest::Client::new();
        let send = async |s: &Served, id: &str, xff: &str| {
            let r = client.get(format!("{}/healthz", s.base)).header("x-request-id", id)
                .header("x-forwarded-for", xff).send().await.unwrap();
            assert_eq!(r.status(), 200);
        };
        let line_of = |s: &Served, id: &str| -> String {
            s.stderr_text().lines().find(|l| l.contains(id) && l.contains("client=")).unwrap_or("").to_owned()
        };
        send(&untrusted, "req-a", "198.51.100.7").await;
        // The leftmost entry is the client's own claim; 10.0.0.2 is a trusted hop.
        send(&trusted, "req-b", "1.2.3.4, 198.51.100.7, 10.0.0.2").await;
        let seen = async || !line_of(&untrusted, "req-a").is_empty() && !line_of(&trusted, "req-b").is_empty();
        if tokio::time::timeout(Duration::from_secs(10), async { while !seen().await { tokio::time::sleep(Duration::from_millis(100)).await } }).await.is_err() {
            panic!("no request lines:\n{}\n---\n{}", untrusted.stderr_text(), trusted.stderr_text());
        }
        let (a, b) = (line_of(&untrusted, "req-a"), line_of(&trusted, "req-b"));
        let client = |line: &str| line.split("client=").nth(1).unwrap_or("").trim_start_matches('"').split(['"', '}', ' ']).next().unwrap_or("").to_owned();
        assert_eq!(client(&a), "127.0.0.1", "{a}");
        assert_eq!(client(&b), "198.51.100.7", "{b}");
        untrusted.stop().await;
        trusted.stop().await;
    }
}

/// A certificate that cannot be used stops `serve` with the file named, before the data
/// directory, database or key file are created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unusable_certificate_stops_the_start_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    let (one, other) = (test_ca(), test_ca());
    std::fs::write(&cert, pem("CERTIFICATE", &one.cert)).unwrap();
    for (key_text, want) in [
        (None, "tls.key_file: cannot read"),
        (Some("junk".to_owned()), "tls.key_file"),
        (Some(pem("PRIVATE KEY", &other.key)), "does not fit the certificate"),
    ] {
        match &key_text {
            Some(t) => std::fs::write(&key, t).unwrap(),
            None => {
                let _ = std::fs::remove_file(&key);
            }
        }
        let out = process::command(dir.path())
            .args(["--data-dir", "data", "serve", "--listen", "127.0.0.1:0"])
            .env("COUNTERSIGN_TLS_CERT_FILE", &cert)
            .env("COUNTERSIGN_TLS_KEY_FILE", &key)
            .stderr(std::process::Stdio::piped())
            .output();
        let out = tokio::time::timeout(Duration::from_secs(30), out).await.unwrap().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains(want), "{want:?} not in {err}");
        assert!(!dir.path().join("data").exists(), "nothing is created");
    }
}
