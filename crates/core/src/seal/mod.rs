//! Secrets at rest (docs/security.md, "Secrets at rest"): values that must be read back
//! (callback passwords and signing secrets, provider credentials, token seeds, SMS and
//! e-mail bodies, activation QR payloads) are sealed with AES-256-GCM under a master key
//! before they reach storage; one-time codes are kept only as an HMAC under a key derived
//! from it. Hashes serve where reading back is not needed (API keys, passwords).
//!
//! The master keys form a [`Keyring`]; every sealed value and code hash names the key it
//! was made under, so that keys can be rotated while the server runs (docs/security.md,
//! "Keys and rotation"):
//!
//! - sealed: `v2.<kid>.` + base64url(nonce ‖ ciphertext ‖ tag); values of key 1 — the
//!   single master key of earlier versions — keep the older form `v1.` + base64url(…);
//! - code hashes: `mac.<kid>.` + hex HMAC-SHA256; key 1's are bare hex, as before.
//!
//! So a server that never rotated writes exactly what earlier versions wrote.

pub mod keyring;

use std::sync::{Arc, RwLock};

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use countersign_proto::{b64u_decode, b64u_encode};
use subtle::ConstantTimeEq;

use crate::error::CoreError;
use crate::random::Random;
pub use keyring::{KeyEntry, KeyState, Keyring};

/// One key of the ring, ready to use.
struct Ready {
    kid: u32,
    cipher: Aes256Gcm,
    mac_key: [u8; 32],
}

struct Ring {
    keys: Vec<Ready>,
    current: u32,
}

impl Ring {
    fn of(keyring: &Keyring) -> Ring {
        let keys = keyring
            .entries()
            .iter()
            .map(|e| Ready { kid: e.kid, cipher: Aes256Gcm::new(&(*e.key()).into()), mac_key: mac_key(e.key()) })
            .collect();
        Ring { keys, current: keyring.current().kid }
    }

    fn key(&self, kid: u32) -> Option<&Ready> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// Seals and opens secrets with the master keyring; the ring can be replaced while the
/// server runs ([`Sealer::load`]), and every holder of the `Arc<Sealer>` sees the change.
pub struct Sealer {
    ring: RwLock<Arc<Ring>>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<master keys>)")
    }
}

/// The HMAC key for code hashes, derived from a master key.
fn mac_key(key: &[u8; 32]) -> [u8; 32] {
    use hmac::{Hmac, Mac};
    match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(b"countersign code hash v1");
            m.finalize().into_bytes().into()
        }
        Err(_) => [0u8; 32],
    }
}

fn hmac_hex(key: &[u8; 32], data: &str) -> String {
    use hmac::{Hmac, Mac};
    match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
        Ok(mut m) => {
            m.update(data.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

/// The key ID a sealed value names (`v1.` is key 1), or `None` when it is not a sealed
/// value's form.
pub fn sealed_kid(value: &str) -> Option<u32> {
    if value.starts_with("v1.") {
        return Some(1);
    }
    let (kid, _) = value.strip_prefix("v2.")?.split_once('.')?;
    kid.parse().ok().filter(|k| *k > 1)
}

/// The key ID a code hash names (bare hex is key 1), or `None` when it is not a code
/// hash of this module.
pub fn mac_kid(value: &str) -> Option<u32> {
    if value.len() == 64 && value.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Some(1);
    }
    let (kid, _) = value.strip_prefix("mac.")?.split_once('.')?;
    kid.parse().ok().filter(|k| *k > 1)
}

/// How values sealed under `kid` begin.
pub fn sealed_prefix(kid: u32) -> String {
    if kid == 1 { "v1.".to_owned() } else { format!("v2.{kid}.") }
}

/// How code hashes made under `kid` begin (`""` for key 1: bare hex).
pub fn mac_prefix(kid: u32) -> String {
    if kid == 1 { String::new() } else { format!("mac.{kid}.") }
}

impl Sealer {
    /// A sealer with the single master key `key` (key ID 1).
    pub fn new(key: &[u8; 32]) -> Sealer {
        Sealer::from_keyring(&Keyring::single(*key))
    }

    /// A sealer with every key of `keyring`, sealing with its current key.
    pub fn from_keyring(keyring: &Keyring) -> Sealer {
        Sealer { ring: RwLock::new(Arc::new(Ring::of(keyring))) }
    }

    /// Replace the keys (the server re-reads its keyring file while it runs).
    pub fn load(&self, keyring: &Keyring) {
        let ring = Arc::new(Ring::of(keyring));
        *self.ring.write().unwrap_or_else(|e| e.into_inner()) = ring;
    }

    fn ring(&self) -> Arc<Ring> {
        self.ring.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The ID of the key that seals.
    pub fn current_kid(&self) -> u32 {
        self.ring().current
    }

    /// The IDs of every key this sealer holds.
    pub fn kids(&self) -> Vec<u32> {
        self.ring().keys.iter().map(|k| k.kid).collect()
    }

    /// The code hash of `data` under the current key (`mac.<kid>.<hex>`, bare hex for key
    /// 1): how one-time codes are stored (a database alone does not reveal them).
    pub fn mac(&self, data: &str) -> String {
        let ring = self.ring();
        match ring.key(ring.current) {
            Some(k) => format!("{}{}", mac_prefix(k.kid), hmac_hex(&k.mac_key, data)),
            None => String::new(),
        }
    }

    /// Whether `stored` (made by [`Sealer::mac`] under any key still in the ring) is the
    /// code hash of `data`; compared in constant time. A hash under a key no longer in the
    /// ring matches nothing.
    pub fn verify_mac(&self, stored: &str, data: &str) -> bool {
        let Some(kid) = mac_kid(stored) else {
            return false;
        };
        let ring = self.ring();
        let Some(k) = ring.key(kid) else {
            return false;
        };
        let given = format!("{}{}", mac_prefix(kid), hmac_hex(&k.mac_key, data));
        given.as_bytes().ct_eq(stored.as_bytes()).into()
    }

    /// Seal `plain` under the current key.
    pub fn seal(&self, random: &dyn Random, plain: &str) -> Result<String, CoreError> {
        let ring = self.ring();
        let k = ring.key(ring.current).ok_or_else(|| CoreError::Internal("no current master key".into()))?;
        let mut nonce = [0u8; 12];
        random.fill(&mut nonce)?;
        let sealed = k
            .cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .map_err(|_| CoreError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("{}{}", sealed_prefix(k.kid), b64u_encode(&out)))
    }

    /// Open a value made by [`Sealer::seal`] under any key in the ring.
    pub fn open(&self, sealed: &str) -> Result<String, CoreError> {
        let bad = || CoreError::Internal("a stored secret cannot be opened: wrong master key or damaged data".into());
        let kid = sealed_kid(sealed).ok_or_else(bad)?;
        let ring = self.ring();
        let k = ring.key(kid).ok_or_else(|| {
            CoreError::Internal(format!(
                "a stored secret is sealed under master key {kid}, which is not in this server's keyring \
                 (docs/security.md, \"Keys and rotation\")"
            ))
        })?;
        let body = &sealed[sealed_prefix(kid).len()..];
        let bytes = b64u_decode(body).map_err(|_| bad())?;
        if bytes.len() < 12 + 16 {
            return Err(bad());
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let plain = k.cipher.decrypt(&Nonce::from(nonce), body).map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    /// `value` sealed again under the current key when it is sealed under another key
    /// (`None` when it is not a sealed value, or already under the current key).
    pub fn reseal(&self, random: &dyn Random, value: &str) -> Result<Option<String>, CoreError> {
        match sealed_kid(value) {
            Some(kid) if kid != self.current_kid() => Ok(Some(self.seal(random, &self.open(value)?)?)),
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::random::OsRandom;

    #[test]
    fn seal_open_round_trip_and_wrong_key() {
        let s = Sealer::new(&[1; 32]);
        let sealed = s.seal(&OsRandom, "hunter2").unwrap();
        assert!(sealed.starts_with("v1.") && !sealed.contains("hunter2"));
        assert_ne!(sealed, s.seal(&OsRandom, "hunter2").unwrap(), "a fresh nonce each time");
        assert_eq!(s.open(&sealed).unwrap(), "hunter2");
        assert!(Sealer::new(&[2; 32]).open(&sealed).is_err());
        assert!(s.open("v1.AAAA").is_err());
        assert!(s.open("plain").is_err());
    }

    #[test]
    fn a_rotated_ring_opens_old_values_and_seals_with_the_new_key() {
        let old = Sealer::new(&[1; 32]);
        let v1 = old.seal(&OsRandom, "cb-secret").unwrap();
        let h1 = old.mac("s1:123456");
        assert_eq!(h1.len(), 64, "key 1 keeps bare hex");
        let mut ring = Keyring::single([1; 32]);
        ring.rotate([2; 32]);
        let s = Sealer::from_keyring(&ring);
        assert_eq!((s.current_kid(), s.kids()), (2, vec![1, 2]));
        let v2 = s.seal(&OsRandom, "cb-secret").unwrap();
        assert!(v2.starts_with("v2.2.") && !v2.contains("cb-secret"));
        assert_eq!(s.open(&v1).unwrap(), "cb-secret");
        assert_eq!(s.open(&v2).unwrap(), "cb-secret");
        assert_eq!((sealed_kid(&v1), sealed_kid(&v2), sealed_kid("{\"a\":1}")), (Some(1), Some(2), None));
        // Old code hashes still verify; new ones are tagged with the new key.
        assert!(s.verify_mac(&h1, "s1:123456") && !s.verify_mac(&h1, "s1:654321"));
        let h2 = s.mac("s1:123456");
        assert!(h2.starts_with("mac.2.") && s.verify_mac(&h2, "s1:123456"));
        assert!(!old.verify_mac(&h2, "s1:123456"), "key 2 unknown to the old ring");
        assert_eq!((mac_kid(&h1), mac_kid(&h2), mac_kid("sha256.ab")), (Some(1), Some(2), None));
        // Re-sealing moves old values only.
        let again = s.reseal(&OsRandom, &v1).unwrap().unwrap();
        assert!(again.starts_with("v2.2.") && s.open(&again).unwrap() == "cb-secret");
        assert_eq!(s.reseal(&OsRandom, &v2).unwrap(), None);
        assert_eq!(s.reseal(&OsRandom, "{\"plain\":true}").unwrap(), None);
        // A value under a key the ring lacks says so; retiring key 1 makes its values unreadable.
        assert!(format!("{:?}", old.open(&v2).unwrap_err()).contains("master key 2"));
        ring.retire_old();
        s.load(&ring);
        assert!(s.open(&v1).is_err() && !s.verify_mac(&h1, "s1:123456"));
        assert_eq!(s.open(&v2).unwrap(), "cb-secret");
        // A tampered key ID does not open under another key.
        let forged = v2.replacen("v2.2.", "v2.3.", 1);
        assert!(s.open(&forged).is_err());
    }
}
