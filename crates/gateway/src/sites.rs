//! The relay's site file: which gateway IDs exist, their credentials (as hashes) and
//! whether they are revoked. Written by the offline `countersign relay site …` commands,
//! re-read by a running relay when it changes (docs/gateway.md, "Site credentials").

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The file's name in the relay's data directory.
pub const SITES_FILE: &str = "relay-sites.json";

/// All sites.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Sites {
    /// By gateway ID.
    pub sites: BTreeMap<String, Site>,
}

/// One site.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Site {
    /// Revoked: no link, no request.
    #[serde(default)]
    pub revoked: bool,
    /// Its credentials, newest last.
    pub credentials: Vec<Credential>,
}

/// One credential, as stored.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Credential {
    /// Public ID (the part before the dot).
    pub id: String,
    /// Hex SHA-256 of the secret.
    pub sha256: String,
    /// Unix ms after which it opens no new link (`None`: no end).
    #[serde(rename = "validUntil", default)]
    pub valid_until: Option<i64>,
}

/// Why a hello is refused (the codes on the wire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such gateway ID.
    UnknownGateway,
    /// The credential is not one of this site's valid ones.
    BadCredential,
    /// The site is revoked.
    Revoked,
}

impl Refusal {
    /// The wire code.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::UnknownGateway => "unknown_gateway",
            Refusal::BadCredential => "bad_credential",
            Refusal::Revoked => "revoked",
        }
    }
}

fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn random_b64u<const N: usize>() -> Result<String, String> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| format!("random source failed: {e}"))?;
    Ok(countersign_proto::b64u_encode(&b))
}

/// Gateway IDs are short printable names (they travel in paths and headers).
pub fn valid_gateway_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Sites {
    /// Read the file; a missing file is no sites.
    pub fn load(path: &Path) -> Result<Sites, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Sites::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// Write the file (mode 0600) by replacing it whole.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_vec_pretty(self).map_err(|e| e.to_string())?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        let mut f = opts.open(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::io::Write::write_all(&mut f, &text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        f.sync_all().map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// Add a site with a first credential; returns the credential (shown once).
    pub fn add(&mut self, gateway_id: &str) -> Result<String, String> {
        if !valid_gateway_id(gateway_id) {
            return Err(format!(
                "{gateway_id:?} is not a gateway ID (1–64 characters: letters, digits, '-', '_', '.')"
            ));
        }
        match self.sites.get(gateway_id) {
            Some(s) if s.revoked => return Err(format!("{gateway_id} was revoked; gateway IDs are not reused")),
            Some(_) => return Err(format!("{gateway_id} exists already (use `site rotate` for a new credential)")),
            None => {}
        }
        let (cred, text) = Self::issue()?;
        self.sites.insert(gateway_id.to_owned(), Site { revoked: false, credentials: vec![cred] });
        Ok(text)
    }

    /// Issue a new credential for a site; older ones open new links until `now + grace`.
    pub fn rotate(&mut self, gateway_id: &str, now_ms: i64, grace_ms: i64) -> Result<String, String> {
        let site = self.sites.get_mut(gateway_id).ok_or_else(|| format!("no site {gateway_id}"))?;
        if site.revoked {
            return Err(format!("{gateway_id} is revoked"));
        }
        let until = now_ms.saturating_add(grace_ms);
        for c in &mut site.credentials {
            c.valid_until = Some(c.valid_until.map_or(until, |v| v.min(until)));
        }
        // Credentials long past their end are dropped.
        site.credentials.retain(|c| c.valid_until.is_none_or(|v| v > now_ms));
        let (cred, text) = Self::issue()?;
        site.credentials.push(cred);
        Ok(text)
    }

    /// Revoke a site.
    pub fn revoke(&mut self, gateway_id: &str) -> Result<(), String> {
        let site = self.sites.get_mut(gateway_id).ok_or_else(|| format!("no site {gateway_id}"))?;
        site.revoked = true;
        site.credentials.clear();
        Ok(())
    }

    fn issue() -> Result<(Credential, String), String> {
        let id = random_b64u::<9>()?;
        let secret = random_b64u::<32>()?;
        Ok((Credential { id: id.clone(), sha256: hash(&secret), valid_until: None }, format!("csr_{id}.{secret}")))
    }

    /// Check a hello: the credential ID it matched, or why not.
    pub fn check(&self, gateway_id: &str, credential: &str, now_ms: i64) -> Result<String, Refusal> {
        let site = self.sites.get(gateway_id).ok_or(Refusal::UnknownGateway)?;
        if site.revoked {
            return Err(Refusal::Revoked);
        }
        let (id, secret) =
            credential.strip_prefix("csr_").and_then(|c| c.split_once('.')).ok_or(Refusal::BadCredential)?;
        let given = hash(secret);
        let found = site.credentials.iter().find(|c| c.id == id).ok_or(Refusal::BadCredential)?;
        let same: bool = found.sha256.as_bytes().ct_eq(given.as_bytes()).into();
        if !same || found.valid_until.is_some_and(|v| v <= now_ms) {
            return Err(Refusal::BadCredential);
        }
        Ok(found.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_open_only_their_own_site_and_rotation_keeps_the_old_one_for_the_grace() {
        let mut s = Sites::default();
        let a = s.add("bank-a").unwrap();
        let b = s.add("bank-b").unwrap();
        assert!(s.check("bank-a", &a, 0).is_ok());
        assert_eq!(s.check("bank-b", &a, 0), Err(Refusal::BadCredential));
        assert_eq!(s.check("bank-c", &a, 0), Err(Refusal::UnknownGateway));
        assert_eq!(s.check("bank-a", "csr_x.y", 0), Err(Refusal::BadCredential));
        let a2 = s.rotate("bank-a", 1_000, 500).unwrap();
        assert!(s.check("bank-a", &a, 1_400).is_ok());
        assert_eq!(s.check("bank-a", &a, 1_500), Err(Refusal::BadCredential));
        assert!(s.check("bank-a", &a2, 10_000).is_ok());
        s.revoke("bank-b").unwrap();
        assert_eq!(s.check("bank-b", &b, 0), Err(Refusal::Revoked));
        assert!(s.add("bank-b").is_err());
        assert!(s.add("bad id").is_err());
        assert!(!format!("{s:?}").contains(a2.split('.').nth(1).unwrap()));
    }
}
