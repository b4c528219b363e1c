//! Local peers that speak provider protocols, shared by the delivery and one-time-code
//! tests: a recording HTTP(S) server (HTTP/2 over TLS with a test CA), aiosmtpd as a real
//! SMTP server, and small helpers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use super::App;

/// One request as a test peer saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub version: axum::http::Version,
    pub headers: axum::http::HeaderMap,
    pub body: Vec<u8>,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

/// A router that records every request and answers with `answer(n, &seen)`.
pub fn recorder<F>(log: Log, answer: F) -> axum::Router
where
    F: Fn(usize, &Seen) -> (u16, Value) + Clone + Send + Sync + 'static,
{
    axum::Router::new().fallback(move |req: Request| {
        let (log, answer) = (log.clone(), answer.clone());
        async move {
            let (parts, body) = req.into_parts();
            let body = axum::body::to_bytes(body, 1 << 20).await.unwrap().to_vec();
            let seen = Seen {
                method: parts.method.to_string(),
                path: parts.uri.path().to_owned(),
                version: parts.version,
                headers: parts.headers,
                body,
            };
            let n = {
                let mut l = log.lock().unwrap();
                l.push(seen.clone());
                l.len() - 1
            };
            let (status, body) = answer(n, &seen);
            (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response()
        }
    })
}

pub async fn serve_plain(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    addr
}

/// A test CA and a server certificate for 127.0.0.1 / localhost signed by it.
pub struct TestCa {
    pub ca_pem: String,
    pub cert: rustls_pki_types::CertificateDer<'static>,
    pub key: Vec<u8>,
}

pub mod rustls_pki_types {
    pub use tokio_rustls::rustls::pki_types::*;
}

pub fn test_ca() -> TestCa {
    test_ca_named("localhost")
}

/// [`test_ca`] with `common_name` as the server certificate's subject CN (its names stay
/// 127.0.0.1 and localhost).
pub fn test_ca_named(common_name: &str) -> TestCa {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "countersign test CA");
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    leaf.distinguished_name.push(DnType::CommonName, common_name);
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let cert = leaf.signed_by(&leaf_key, &ca).unwrap();
    TestCa { ca_pem: ca.pem(), cert: cert.der().clone(), key: leaf_key.serialize_der() }
}

/// Serve `router` over TLS, offering HTTP/2 and HTTP/1.1 by ALPN.
pub async fn serve_tls(router: axum::Router, ca: &TestCa) -> SocketAddr {
    use tokio_rustls::rustls;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![ca.cert.clone()],
            rustls_pki_types::PrivateKeyDer::Pkcs8(rustls_pki_types::PrivatePkcs8KeyDer::from(ca.key.clone())),
        )
        .unwrap();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else { return };
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let svc = hyper_util::service::TowerToHyperService::new(router);
                let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
            });
        }
    });
    addr
}

pub async fn outbox(app: &App, state: &str) -> Vec<Value> {
    let (s, list) = app.admin("GET", &format!("/admin/v1/outbox?state={state}"), None).await;
    let list = list["items"].clone();
    assert_eq!(s, 200, "{list}");
    list.as_array().unwrap().clone()
}

pub async fn eventually<F: AsyncFn() -> bool>(secs: u64, f: F) {
    for _ in 0..secs * 10 {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("condition not reached in {secs} s");
}

pub fn header(s: &Seen, name: &str) -> String {
    s.headers.get(name).and_then(|h| h.to_str().ok()).unwrap_or("").to_owned()
}

/// `application/x-www-form-urlencoded` pairs.
pub fn url_decode(body: &[u8]) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let dec = |s: &str| -> String {
        let bytes = s.replace('+', " ").into_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                out.push(u8::from_str_radix(std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap(), 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (dec(k), dec(v))
        })
        .collect()
}

/// A Twilio-shaped server: text messages (`…/Messages.json`) and calls (`…/Calls.json`)
/// are accepted with `201` and a message or call SID, and every request is recorded.
pub async fn twilio() -> (Log, SocketAddr) {
    let log: Log = Arc::default();
    let addr = serve_plain(recorder(log.clone(), |n, seen| {
        if seen.path.ends_with("/Calls.json") {
            (201, serde_json::json!({"sid": format!("CA{n}"), "status": "queued"}))
        } else {
            (201, serde_json::json!({"sid": format!("SM{n}"), "status": "queued"}))
        }
    }))
    .await;
    (log, addr)
}

/// The calls placed so far: each one's form fields (`To`, `From`, `Twiml`).
pub fn twilio_calls(log: &Log) -> Vec<Vec<(String, String)>> {
    log.lock().unwrap().iter().filter(|s| s.path.ends_with("/Calls.json")).map(|s| url_decode(&s.body)).collect()
}

/// One form field's value.
pub fn field(form: &[(String, String)], name: &str) -> String {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
}

/// What TwiML of the shape `<Response><Say language="L">TEXT</Say></Response>` says:
/// `(L, TEXT)`, the text unescaped.
pub fn said(twiml: &str) -> (String, String) {
    let rest = twiml.strip_prefix("<Response><Say language=\"").unwrap_or_else(|| panic!("not a Say: {twiml}"));
    let (language, rest) = rest.split_once("\">").unwrap();
    let text = rest.strip_suffix("</Say></Response>").unwrap_or_else(|| panic!("not one Say: {twiml}"));
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&");
    (language.to_owned(), text)
}

/// aiosmtpd on loopback, saving what it receives into a Maildir: `plain`, `tls`
/// (STARTTLS), `smtps` (implicit TLS) or `auth` (AUTH required: mailer / smtp-secret).
pub struct Smtp {
    pub name: String,
    pub port: u16,
    pub maildir: std::path::PathBuf,
    pub child: std::process::Child,
}

impl Smtp {
    pub fn start(dir: &tempfile::TempDir, name: &str, tls: Option<&TestCa>) -> Smtp {
        Self::start_with(dir, name, tls, ("mailer", "smtp-secret"))
    }

    /// The same; `auth` requires these credentials (user, password).
    pub fn start_with(dir: &tempfile::TempDir, name: &str, tls: Option<&TestCa>, creds: (&str, &str)) -> Smtp {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let maildir = dir.path().join(format!("maildir-{name}"));
        let mut cmd = std::process::Command::new("python3");
        if name == "auth" {
            let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/smtp_auth_server.py");
            cmd.arg(script).arg(port.to_string()).arg(&maildir).args([creds.0, creds.1]);
        } else {
            cmd.args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"]);
        }
        if let Some(ca) = tls {
            let cert = dir.path().join(format!("{name}-cert.pem"));
            let key = dir.path().join(format!("{name}-key.pem"));
            let cert_pem = format!(
                "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
                STANDARD.encode(ca.cert.as_ref())
            );
            let key_pem =
                format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(&ca.key));
            std::fs::write(&cert, cert_pem).unwrap();
            std::fs::write(&key, key_pem).unwrap();
            let (cert_flag, key_flag) =
                if name == "smtps" { ("--smtpscert", "--smtpskey") } else { ("--tlscert", "--tlskey") };
            cmd.arg(cert_flag).arg(&cert).arg(key_flag).arg(&key);
        }
        if name != "auth" {
            cmd.arg("--").arg(&maildir);
        }
        let child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Smtp { name: name.to_owned(), port, maildir, child }
    }

    pub fn messages(&self) -> Vec<String> {
        let new = self.maildir.join("new");
        let Ok(entries) = std::fs::read_dir(new) else { return Vec::new() };
        entries.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
