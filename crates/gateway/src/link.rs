//! The site link's opening (docs/gateway.md, "The link protocol"): TLS, then one hello
//! line each way, then HTTP/2 with the site as server and the relay as client. This
//! module holds the hello and the TLS set-up both ends share.

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The hello's first word.
pub const HELLO: &str = "CSLINK/1";
/// The longest hello line accepted.
const MAX_LINE: usize = 1024;

/// Read one `\n`-ended line byte by byte (nothing after it is consumed: HTTP/2 follows).
pub async fn read_line<S: AsyncRead + Unpin>(s: &mut S) -> Result<String, String> {
    let mut line = Vec::new();
    loop {
        let b = s.read_u8().await.map_err(|e| format!("link closed during hello: {e}"))?;
        if b == b'\n' {
            break;
        }
        if line.len() >= MAX_LINE {
            return Err("hello line too long".into());
        }
        line.push(b);
    }
    String::from_utf8(line).map_err(|_| "hello is not text".to_owned())
}

/// Write one line.
pub async fn write_line<S: AsyncWrite + Unpin>(s: &mut S, line: &str) -> Result<(), String> {
    s.write_all(format!("{line}\n").as_bytes()).await.map_err(|e| format!("cannot write hello: {e}"))?;
    s.flush().await.map_err(|e| format!("cannot write hello: {e}"))
}

/// Parse the site's hello: `(gateway ID, credential)`.
pub fn parse_hello(line: &str) -> Option<(&str, &str)> {
    let mut words = line.split(' ');
    let (magic, id, cred) = (words.next()?, words.next()?, words.next()?);
    (magic == HELLO && words.next().is_none() && !id.is_empty() && !cred.is_empty()).then_some((id, cred))
}

/// A TLS server configuration from PEM files (certificate chain, private key), with
/// the ALPN protocols given.
pub fn server_tls(cert_pem: &[u8], key_pem: &[u8], alpn: &[&[u8]]) -> Result<Arc<rustls::ServerConfig>, String> {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(cert_pem).collect::<Result<_, _>>().map_err(|e| format!("certificate: {e}"))?;
    if certs.is_empty() {
        return Err("certificate: no certificate in the file".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("private key: {e}"))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("certificate and key: {e}"))?;
    cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// A TLS client configuration trusting the PEM CA file given, else the system's roots.
pub fn client_tls(ca_pem: Option<&[u8]>) -> Result<Arc<rustls::ClientConfig>, String> {
    let mut roots = rustls::RootCertStore::empty();
    match ca_pem {
        Some(pem) => {
            for c in CertificateDer::pem_slice_iter(pem) {
                roots.add(c.map_err(|e| format!("ca_file: {e}"))?).map_err(|e| format!("ca_file: {e}"))?;
            }
        }
        None => {
            for c in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(c);
            }
        }
    }
    if roots.is_empty() {
        return Err("no trusted CA certificates (give relay.ca_file)".into());
    }
    let cfg = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(cfg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hellos_have_exactly_three_words() {
        assert_eq!(parse_hello("CSLINK/1 bank-a csr_x.y"), Some(("bank-a", "csr_x.y")));
        assert_eq!(parse_hello("CSLINK/1 bank-a"), None);
        assert_eq!(parse_hello("CSLINK/2 bank-a csr_x.y"), None);
        assert_eq!(parse_hello("CSLINK/1 bank-a csr_x.y extra"), None);
    }
}
