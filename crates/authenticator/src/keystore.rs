//! The authenticator's state file. Public facts (server, IDs) are plain JSON; the
//! private keys and the device secret are sealed with AES-256-GCM under a key derived
//! (HKDF-SHA256, random salt) from a passphrase, the way a phone keeps them in its
//! keystore. The PIN is never stored: the PIN key is re-derived when the PIN is given.

use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use countersign_proto::{b64u_decode, b64u_encode};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::Error;

/// The secrets a device holds.
#[derive(Clone, Serialize, Deserialize)]
pub struct Secrets {
    /// Possession private key (32 bytes, b64u).
    pub possession: String,
    /// Device secret the PIN key is derived from (32 bytes, b64u).
    pub device_secret: String,
    /// Biometric private key, when the device has biometrics.
    pub biometric: Option<String>,
    /// Custom-authenticator private keys by name (`push_custom` requests).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub custom: std::collections::BTreeMap<String, String>,
}

/// The state file's content.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredState {
    /// The server's base URL.
    pub server: String,
    /// The device ID.
    #[serde(rename = "deviceID")]
    pub device_id: String,
    /// The user ID.
    #[serde(rename = "userID")]
    pub user_id: String,
    /// The tenant domain.
    pub domain: String,
    /// The app ID registered.
    #[serde(rename = "appID")]
    pub app_id: String,
    /// HKDF salt for the sealing key (b64u).
    pub salt: String,
    /// AES-GCM nonce (b64u).
    pub nonce: String,
    /// The sealed [`Secrets`] (b64u).
    pub sealed: String,
}

/// The state in memory.
#[derive(Clone)]
pub struct State {
    /// The server's base URL.
    pub server: String,
    /// The device ID.
    pub device_id: String,
    /// The user ID.
    pub user_id: String,
    /// The tenant domain.
    pub domain: String,
    /// The app ID registered.
    pub app_id: String,
    /// The private material.
    pub secrets: Secrets,
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| Error::Local(format!("random source failed: {e}")))?;
    Ok(b)
}

fn cipher(passphrase: &str, salt: &[u8]) -> Result<Aes256Gcm, Error> {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(salt), passphrase.as_bytes())
        .expand(b"countersign authenticator store v1", &mut key)
        .map_err(|_| Error::Local("key derivation failed".into()))?;
    Aes256Gcm::new_from_slice(&key).map_err(|_| Error::Local("bad key length".into()))
}

impl State {
    /// Write the state to `path` (mode 0600 on Unix), sealing the secrets.
    pub fn save(&self, path: &Path, passphrase: &str) -> Result<(), Error> {
        let salt = random_bytes::<16>()?;
        let nonce = random_bytes::<12>()?;
        let plain = serde_json::to_vec(&self.secrets).map_err(|e| Error::Local(e.to_string()))?;
        let sealed = cipher(passphrase, &salt)?
            .encrypt(&Nonce::from(nonce), plain.as_slice())
            .map_err(|_| Error::Local("sealing the keys failed".into()))?;
        let stored = StoredState {
            server: self.server.clone(),
            device_id: self.device_id.clone(),
            user_id: self.user_id.clone(),
            domain: self.domain.clone(),
            app_id: self.app_id.clone(),
            salt: b64u_encode(&salt),
            nonce: b64u_encode(&nonce),
            sealed: b64u_encode(&sealed),
        };
        let text = serde_json::to_string_pretty(&stored).map_err(|e| Error::Local(e.to_string()))?;
        let tmp = path.with_extension("tmp");
        write_private(&tmp, text.as_bytes())?;
        std::fs::rename(&tmp, path).map_err(|e| Error::Local(format!("cannot write {}: {e}", path.display())))
    }

    /// Read the state from `path`, unsealing the secrets with `passphrase`.
    pub fn load(path: &Path, passphrase: &str) -> Result<State, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Local(format!("cannot read {}: {e} (activate first)", path.display())))?;
        let s: StoredState =
            serde_json::from_str(&text).map_err(|e| Error::Local(format!("{} is not a store: {e}", path.display())))?;
        let bad = || Error::Local("cannot unseal the keys: wrong passphrase or damaged store".into());
        let salt = b64u_decode(&s.salt).map_err(|_| bad())?;
        let nonce = b64u_decode(&s.nonce).map_err(|_| bad())?;
        let sealed = b64u_decode(&s.sealed).map_err(|_| bad())?;
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let plain = cipher(passphrase, &salt)?.decrypt(&Nonce::from(nonce), sealed.as_slice()).map_err(|_| bad())?;
        let secrets: Secrets = serde_json::from_slice(&plain).map_err(|_| bad())?;
        Ok(State {
            server: s.server,
            device_id: s.device_id,
            user_id: s.user_id,
            domain: s.domain,
            app_id: s.app_id,
            secrets,
        })
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).map_err(|e| Error::Local(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(bytes).map_err(|e| Error::Local(format!("cannot write {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        let st = State {
            server: "http://x".into(),
            device_id: "d".into(),
            user_id: "u".into(),
            domain: "example.com".into(),
            app_id: "a".into(),
            secrets: Secrets {
                possession: "cG9zcw".into(),
                device_secret: "c2VjcmV0LXZhbHVl".into(),
                biometric: None,
                custom: Default::default(),
            },
        };
        st.save(&path, "pass").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("c2VjcmV0LXZhbHVl"), "secrets are sealed");
        assert_eq!(State::load(&path, "pass").unwrap().secrets.device_secret, "c2VjcmV0LXZhbHVl");
        assert!(State::load(&path, "other").is_err());
    }
}
