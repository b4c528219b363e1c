//! `[tls]`, `trusted_proxies` and `forwarded_header` (docs/security.md, "TLS" and
//! "Client addresses"): how the server is reached and whose word it takes for the
//! client's address.

use std::path::PathBuf;

use serde::Deserialize;

use super::ConfigError;
use countersign_http::client::{Cidr, ForwardedHeader, ProxyTrust};

/// `[tls]` as read: serve HTTPS with this certificate chain and key (PEM files,
/// re-read on SIGHUP and when they change).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    /// The certificate chain, leaf first.
    pub cert_file: Option<String>,
    /// The private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<String>,
}

/// The certificate and key files HTTPS is served with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain file.
    pub cert_file: PathBuf,
    /// The private key file.
    pub key_file: PathBuf,
}

impl RawTls {
    /// From `COUNTERSIGN_TLS_CERT_FILE` and `COUNTERSIGN_TLS_KEY_FILE`; `None` when neither is set.
    pub fn from_env(env: &impl Fn(&str) -> Option<String>) -> Option<RawTls> {
        let t = RawTls { cert_file: env("COUNTERSIGN_TLS_CERT_FILE"), key_file: env("COUNTERSIGN_TLS_KEY_FILE") };
        (t.cert_file.is_some() || t.key_file.is_some()).then_some(t)
    }

    /// `self` with every setting `over` has replacing ours.
    pub fn overlay(self, over: RawTls) -> RawTls {
        RawTls { cert_file: over.cert_file.or(self.cert_file), key_file: over.key_file.or(self.key_file) }
    }

    /// Both files named (they are read, and checked, when the server starts).
    pub fn validate(self) -> Result<TlsFiles, ConfigError> {
        match (self.cert_file, self.key_file) {
            (Some(c), Some(k)) if !c.is_empty() && !k.is_empty() => {
                Ok(TlsFiles { cert_file: PathBuf::from(c), key_file: PathBuf::from(k) })
            }
            _ => Err(ConfigError::invalid(
                "tls",
                "tls: both tls.cert_file and tls.key_file are needed to serve HTTPS (or neither, for plain HTTP)",
            )),
        }
    }
}

/// `COUNTERSIGN_TRUSTED_PROXIES`: addresses or blocks separated by commas.
pub fn proxies_from_env(env: &impl Fn(&str) -> Option<String>) -> Option<Vec<String>> {
    env("COUNTERSIGN_TRUSTED_PROXIES")
        .map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect())
}

/// The checked proxy trust: every entry a block, the header one of those known.
pub fn proxy_trust(proxies: Option<Vec<String>>, header: Option<String>) -> Result<ProxyTrust, ConfigError> {
    let proxies = proxies
        .unwrap_or_default()
        .iter()
        .map(|p| {
            p.parse::<Cidr>().map_err(|e| ConfigError::invalid("trusted_proxies", format!("trusted_proxies: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let header = match header {
        None => ForwardedHeader::default(),
        Some(h) => h.parse().map_err(|e| ConfigError::invalid("forwarded_header", format!("forwarded_header: {e}")))?,
    };
    Ok(ProxyTrust { proxies, header })
}
