//! Secrets at rest: values that must be read back (callback passwords and signing
//! secrets, later provider credentials) are sealed with AES-256-GCM under the server's
//! master key before they reach storage. Hashes serve where reading back is not needed
//! (API keys, passwords).

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use countersign_proto::{b64u_decode, b64u_encode};

use crate::error::CoreError;
use crate::random::Random;

/// Seals and opens secrets with the master key.
pub struct Sealer {
    cipher: Aes256Gcm,
    mac_key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<master key>)")
    }
}

impl Sealer {
    /// A sealer with the 32-byte `key`.
    pub fn new(key: &[u8; 32]) -> Sealer {
        use hmac::{Hmac, Mac};
        let mac_key = match <Hmac<sha2::Sha256> as Mac>::new_from_slice(key) {
            Ok(mut m) => {
                m.update(b"countersign code hash v1");
                m.finalize().into_bytes().into()
            }
            Err(_) => [0u8; 32],
        };
        Sealer { cipher: Aes256Gcm::new(&(*key).into()), mac_key }
    }

    /// Hex HMAC-SHA256 of `data` under a key derived from the master key: how one-time
    /// codes are stored (a database alone does not reveal them).
    pub fn mac(&self, data: &str) -> String {
        use hmac::{Hmac, Mac};
        match <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.mac_key) {
            Ok(mut m) => {
                m.update(data.as_bytes());
                hex::encode(m.finalize().into_bytes())
            }
            Err(_) => String::new(),
        }
    }

    /// `v1.` + base64url(nonce ‖ ciphertext ‖ tag).
    pub fn seal(&self, random: &dyn Random, plain: &str) -> Result<String, CoreError> {
        let mut nonce = [0u8; 12];
        random.fill(&mut nonce)?;
        let sealed = self
            .cipher
            .encrypt(&Nonce::from(nonce), plain.as_bytes())
            .map_err(|_| CoreError::Internal("sealing failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(format!("v1.{}", b64u_encode(&out)))
    }

    /// Open a value made by [`Sealer::seal`] with the same master key.
    pub fn open(&self, sealed: &str) -> Result<String, CoreError> {
        let bad = || CoreError::Internal("a stored secret cannot be opened: wrong master key or damaged data".into());
        let bytes = sealed.strip_prefix("v1.").and_then(|b| b64u_decode(b).ok()).ok_or_else(bad)?;
        if bytes.len() < 12 + 16 {
            return Err(bad());
        }
        let (nonce, body) = bytes.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().map_err(|_| bad())?;
        let plain = self.cipher.decrypt(&Nonce::from(nonce), body).map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
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
}
