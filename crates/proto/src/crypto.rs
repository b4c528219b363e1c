//! ECDSA P-256 keys, signatures and the PIN key derivation.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hkdf::Hkdf;
use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::Sha256;

/// What can go wrong with keys and encodings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProtoError {
    /// Not base64url.
    #[error("not base64url")]
    Base64,
    /// Not a P-256 public key (SEC1 uncompressed).
    #[error("not a P-256 public key")]
    PublicKey,
    /// Not 32 bytes forming a valid P-256 scalar.
    #[error("not a P-256 private key")]
    PrivateKey,
    /// A PIN key could not be derived (practically impossible).
    #[error("no valid key from this secret")]
    Derivation,
}

/// base64url without padding.
pub fn b64u_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decode base64url without padding.
pub fn b64u_decode(text: &str) -> Result<Vec<u8>, ProtoError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| ProtoError::Base64)
}

/// A P-256 signing key.
#[derive(Clone)]
pub struct KeyPair(SigningKey);

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyPair(public {})", self.public_b64u())
    }
}

impl KeyPair {
    /// The key whose scalar is `secret` (32 bytes, 0 < scalar < n).
    pub fn from_secret(secret: &[u8]) -> Result<KeyPair, ProtoError> {
        if secret.len() != 32 {
            return Err(ProtoError::PrivateKey);
        }
        SigningKey::from_slice(secret).map(KeyPair).map_err(|_| ProtoError::PrivateKey)
    }

    /// The private scalar, for storing.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes().into()
    }

    /// The public key, SEC1 uncompressed, base64url.
    pub fn public_b64u(&self) -> String {
        b64u_encode(VerifyingKey::from(&self.0).to_encoded_point(false).as_bytes())
    }

    /// Sign `message` (ECDSA with SHA-256); `r‖s` base64url, `s` in its low form (the
    /// only one [`verify`] accepts; p256's signer does not normalize it by itself).
    pub fn sign(&self, message: &[u8]) -> String {
        let sig: Signature = self.0.sign(message);
        let sig = sig.normalize_s().unwrap_or(sig);
        b64u_encode(&sig.to_bytes())
    }
}

/// Check a public key's encoding.
pub fn parse_public_key(public_b64u: &str) -> Result<(), ProtoError> {
    let bytes = b64u_decode(public_b64u)?;
    if bytes.len() != 65 {
        return Err(ProtoError::PublicKey);
    }
    VerifyingKey::from_sec1_bytes(&bytes).map(|_| ()).map_err(|_| ProtoError::PublicKey)
}

/// Does `signature_b64u` sign `message` under `public_b64u`? Any malformed input is
/// simply `false`. Only the low-S form counts: for every valid `(r, s)`, `(r, n − s)`
/// verifies too under plain ECDSA, and accepting both would let anyone turn a seen
/// signature into a different valid one (docs/security.md, "Device signatures").
pub fn verify(public_b64u: &str, message: &[u8], signature_b64u: &str) -> bool {
    let Ok(key) = b64u_decode(public_b64u) else { return false };
    let Ok(key) = VerifyingKey::from_sec1_bytes(&key) else { return false };
    let Ok(sig) = b64u_decode(signature_b64u) else { return false };
    let Ok(sig) = Signature::from_slice(&sig) else { return false };
    if sig.normalize_s().is_some() {
        return false;
    }
    key.verify(message, &sig).is_ok()
}

/// The PIN key for `pin` on the device whose secret is `device_secret`
/// (docs/mobile-protocol.md, "Keys on the device").
pub fn derive_pin_key(device_secret: &[u8], pin: &str) -> Result<KeyPair, ProtoError> {
    let hk = Hkdf::<Sha256>::new(Some(device_secret), pin.as_bytes());
    for counter in 0u8..=255 {
        let mut okm = [0u8; 32];
        let mut info = b"countersign pin key v1".to_vec();
        info.push(counter);
        hk.expand(&info, &mut okm).map_err(|_| ProtoError::Derivation)?;
        if let Ok(k) = KeyPair::from_secret(&okm) {
            return Ok(k);
        }
    }
    Err(ProtoError::Derivation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(seed: u8) -> KeyPair {
        KeyPair::from_secret(&[seed; 32]).unwrap()
    }

    #[test]
    fn sign_verify_round_trip_and_tamper() {
        let k = key(7);
        let sig = k.sign(b"hello");
        assert!(verify(&k.public_b64u(), b"hello", &sig));
        assert!(!verify(&k.public_b64u(), b"hellp", &sig));
        assert!(!verify(&key(8).public_b64u(), b"hello", &sig));
        assert!(parse_public_key(&k.public_b64u()).is_ok());
        assert_eq!(b64u_decode(&k.public_b64u()).unwrap().len(), 65);
        assert_eq!(b64u_decode(&sig).unwrap().len(), 64);
    }

    #[test]
    fn out_of_range_scalars_are_refused() {
        assert_eq!(KeyPair::from_secret(&[0u8; 32]).unwrap_err(), ProtoError::PrivateKey);
        assert_eq!(KeyPair::from_secret(&[0xffu8; 32]).unwrap_err(), ProtoError::PrivateKey);
        assert!(KeyPair::from_secret(&[1u8; 31]).is_err());
        let k = key(9);
        assert_eq!(KeyPair::from_secret(&k.secret_bytes()).unwrap().public_b64u(), k.public_b64u());
    }

    #[test]
    fn pin_key_depends_on_pin_and_secret_only() {
        let a = derive_pin_key(&[1; 32], "1234").unwrap();
        assert_eq!(a.public_b64u(), derive_pin_key(&[1; 32], "1234").unwrap().public_b64u());
        assert_ne!(a.public_b64u(), derive_pin_key(&[1; 32], "1235").unwrap().public_b64u());
        assert_ne!(a.public_b64u(), derive_pin_key(&[2; 32], "1234").unwrap().public_b64u());
        // A wrong PIN's signature fails against the right PIN's public key.
        let wrong = derive_pin_key(&[1; 32], "0000").unwrap();
        assert!(!verify(&a.public_b64u(), b"m", &wrong.sign(b"m")));
    }

    proptest! {
        // Verification is total: hostile keys and signatures give false, never a panic.
        #[test]
        fn verify_never_panics(k in ".{0,120}", s in ".{0,120}", m in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = verify(&k, &m, &s);
            let _ = parse_public_key(&k);
        }

        #[test]
        fn signatures_verify_for_any_message(seed in 1u8..=254, m in proptest::collection::vec(any::<u8>(), 0..256)) {
            let k = key(seed);
            prop_assert!(verify(&k.public_b64u(), &m, &k.sign(&m)));
        }

        /// What `sign` makes is low-S, and its high-S twin `(r, n − s)` — a valid ECDSA
        /// signature of the same message — is refused.
        #[test]
        fn only_the_low_s_form_verifies(seed in 1u8..=254, m in proptest::collection::vec(any::<u8>(), 0..128)) {
            let k = key(seed);
            let low = k.sign(&m);
            let sig = Signature::from_slice(&b64u_decode(&low).unwrap()).unwrap();
            prop_assert!(sig.normalize_s().is_none(), "sign made a high-S signature");
            let (r, s) = sig.split_scalars();
            let high = Signature::from_scalars(r, -s).unwrap();
            prop_assert!(high.normalize_s().is_some());
            // Plain ECDSA accepts the twin; verify does not.
            let public = VerifyingKey::from(&k.0);
            prop_assert!(public.verify(&m, &high).is_ok());
            prop_assert!(!verify(&k.public_b64u(), &m, &b64u_encode(&high.to_bytes())));
        }
    }
}
