//! Compact JWS signed with ES256 (RFC 7515, RFC 7518 §3.4): ECDSA P-256 with SHA-256, the signature sent as the
//! raw 64-byte `r || s` (not DER). Used for APNs provider tokens and VAPID (RFC 8292).
//!
//! Header and claims must be JSON objects. Nothing here reads the clock: checking `exp` and friends is the caller's.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::DecodePrivateKey as _;
use serde_json::Value;

/// Length of a raw ES256 signature: `r || s`, 32 bytes each.
const SIGNATURE_LEN: usize = 64;

/// Why a token cannot be made or checked, or a key read. Never quotes a key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// The header to sign is not a JSON object.
    #[error("JWS header must be a JSON object")]
    HeaderNotObject,
    /// The header to sign does not say ES256.
    #[error("JWS header must have \"alg\": \"ES256\"")]
    SignAlg,
    /// The claims are not a JSON object.
    #[error("JWT claims must be a JSON object")]
    ClaimsNotObject,
    /// Header or claims do not serialise.
    #[error("cannot serialise the {0}")]
    Serialise(&'static str),
    /// The signer failed.
    #[error("ES256 signing failed")]
    Signing,
    /// The token's `alg` is another algorithm.
    #[error("JWS alg is not \"ES256\"")]
    WrongAlg,
    /// The token's header has no `alg`.
    #[error("JWS header has no alg")]
    NoAlg,
    /// The token's header names extensions (`crit`).
    #[error("JWS header has crit extensions, none of which are supported")]
    Crit,
    /// The token is not three base64url parts with JSON objects, or its signature is
    /// not 64 bytes.
    #[error("{0}")]
    Malformed(String),
    /// The signature does not verify under the key.
    #[error("ES256 signature does not verify")]
    BadSignature,
    /// The key is SEC1, not PKCS#8.
    #[error("key is SEC1 (\"BEGIN EC PRIVATE KEY\"); expected PKCS#8 (\"BEGIN PRIVATE KEY\"), as in a .p8 file")]
    Sec1Key,
    /// The key is not a PEM `PRIVATE KEY` block.
    #[error("key is not a PEM block starting with \"-----BEGIN PRIVATE KEY-----\"")]
    NotPem,
    /// The key is not a P-256 private key.
    #[error("key is not a valid PKCS#8 P-256 (EC prime256v1) private key")]
    NotP256,
}

/// Signs `claims` under `header` (which must say `"alg": "ES256"`) and returns the compact serialisation
/// `base64url(header).base64url(claims).base64url(r || s)`. Signing is deterministic (RFC 6979).
pub fn sign_es256(header: &Value, claims: &Value, key: &SigningKey) -> Result<String, JwtError> {
    if !header.is_object() {
        return Err(JwtError::HeaderNotObject);
    }
    if header.get("alg").and_then(Value::as_str) != Some("ES256") {
        return Err(JwtError::SignAlg);
    }
    if !claims.is_object() {
        return Err(JwtError::ClaimsNotObject);
    }
    let header_json = serde_json::to_vec(header).map_err(|_| JwtError::Serialise("JWS header"))?;
    let claims_json = serde_json::to_vec(claims).map_err(|_| JwtError::Serialise("JWT claims"))?;
    let signing_input = format!("{}.{}", URL_SAFE_NO_PAD.encode(header_json), URL_SAFE_NO_PAD.encode(claims_json));
    let signature: Signature = key.try_sign(signing_input.as_bytes()).map_err(|_| JwtError::Signing)?;
    Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes())))
}

/// Checks a compact ES256 JWS against `key` and returns its (header, claims). Refuses any `alg` but `"ES256"`, a
/// `crit` header (no extensions are understood), and malformed tokens.
pub fn verify_es256(token: &str, key: &VerifyingKey) -> Result<(Value, Value), JwtError> {
    let parts = split(token)?;
    match parts.header.get("alg") {
        Some(Value::String(alg)) if alg == "ES256" => {}
        Some(_) => return Err(JwtError::WrongAlg),
        None => return Err(JwtError::NoAlg),
    }
    if parts.header.get("crit").is_some() {
        return Err(JwtError::Crit);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(parts.signature)
        .map_err(|_| JwtError::Malformed("JWS signature is not valid base64url".into()))?;
    if raw.len() != SIGNATURE_LEN {
        return Err(JwtError::Malformed(format!("ES256 signature must be {SIGNATURE_LEN} bytes, got {}", raw.len())));
    }
    let signature =
        Signature::from_slice(&raw).map_err(|_| JwtError::Malformed("ES256 signature is malformed".into()))?;
    key.verify(parts.signing_input.as_bytes(), &signature).map_err(|_| JwtError::BadSignature)?;
    Ok((parts.header, parts.claims))
}

/// Decodes a compact JWS's (header, claims) WITHOUT checking its signature: only for choosing a key (by `kid`)
/// before calling [`verify_es256`]. Never trust what it returns.
pub fn decode_unverified(token: &str) -> Result<(Value, Value), JwtError> {
    let parts = split(token)?;
    Ok((parts.header, parts.claims))
}

/// Reads a PKCS#8 PEM P-256 private key (`-----BEGIN PRIVATE KEY-----`, as in an APNs `.p8` file). Errors never
/// quote the input.
pub fn signing_key_from_pkcs8_pem(pem: &str) -> Result<SigningKey, JwtError> {
    let pem = pem.trim();
    if pem.contains("-----BEGIN EC PRIVATE KEY-----") {
        return Err(JwtError::Sec1Key);
    }
    if !pem.starts_with("-----BEGIN PRIVATE KEY-----") {
        return Err(JwtError::NotPem);
    }
    SigningKey::from_pkcs8_pem(pem).map_err(|_| JwtError::NotP256)
}

/// A compact JWS split and decoded, signature not yet checked.
struct Parts<'a> {
    header: Value,
    claims: Value,
    /// `header.claims` as it appeared in the token: what the signature covers.
    signing_input: &'a str,
    /// The signature part, still base64url.
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, JwtError> {
    let count = token.split('.').count();
    if count != 3 {
        return Err(JwtError::Malformed(format!("JWS must have 3 dot-separated parts, found {count}")));
    }
    let (signing_input, signature) =
        token.rsplit_once('.').ok_or_else(|| JwtError::Malformed("JWS has no signature part".into()))?;
    let (header, claims) =
        signing_input.split_once('.').ok_or_else(|| JwtError::Malformed("JWS has no claims part".into()))?;
    Ok(Parts {
        header: decode_object(header, "header")?,
        claims: decode_object(claims, "claims")?,
        signing_input,
        signature,
    })
}

fn decode_object(part: &str, what: &str) -> Result<Value, JwtError> {
    let bytes =
        URL_SAFE_NO_PAD.decode(part).map_err(|_| JwtError::Malformed(format!("JWS {what} is not valid base64url")))?;
    let value: Value =
        serde_json::from_slice(&bytes).map_err(|e| JwtError::Malformed(format!("JWS {what} is not JSON: {e}")))?;
    if !value.is_object() {
        return Err(JwtError::Malformed(format!("JWS {what} must be a JSON object")));
    }
    Ok(value)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use p256::pkcs8::{EncodePrivateKey as _, LineEnding};
    use proptest::prelude::*;
    use serde_json::json;

    /// RFC 7515 Appendix A.3: the ES256 example's public key (JWK x, y) and its published token.
    const A3_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const A3_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
    const A3_TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9\
        .eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ\
        .DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

    fn a3_key() -> VerifyingKey {
        let mut sec1 = vec![4u8];
        sec1.extend(URL_SAFE_NO_PAD.decode(A3_X).unwrap());
        sec1.extend(URL_SAFE_NO_PAD.decode(A3_Y).unwrap());
        VerifyingKey::from_sec1_bytes(&sec1).unwrap()
    }

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_slice(&[seed; 32]).unwrap()
    }

    fn es256() -> Value {
        json!({"alg": "ES256", "typ": "JWT"})
    }

    /// Re-encodes a token with one bit of the decoded part `index` flipped.
    fn flip_bit(token: &str, index: usize, byte: usize, bit: u8) -> String {
        let mut parts: Vec<String> = token.split('.').map(str::to_string).collect();
        let mut raw = URL_SAFE_NO_PAD.decode(&parts[index]).unwrap();
        raw[byte] ^= 1 << bit;
        parts[index] = URL_SAFE_NO_PAD.encode(raw);
        parts.join(".")
    }

    #[test]
    fn rfc7515_a3_example_verifies() {
        let (header, claims) = verify_es256(A3_TOKEN, &a3_key()).unwrap();
        assert_eq!(header, json!({"alg": "ES256"}));
        assert_eq!(claims, json!({"iss": "joe", "exp": 1300819380, "http://example.com/is_root": true}));
    }

    #[test]
    fn rfc7515_a3_example_one_bit_changes_fail() {
        let k = a3_key();
        for byte in [0, 31, 32, 63] {
            for bit in [0, 7] {
                assert!(
                    verify_es256(&flip_bit(A3_TOKEN, 2, byte, bit), &k).is_err(),
                    "signature byte {byte} bit {bit}"
                );
            }
        }
        // "joe" -> "jod" in the payload: still valid JSON, different signing input.
        let tampered = flip_bit(A3_TOKEN, 1, 10, 0);
        assert!(decode_unverified(&tampered).is_ok());
        assert_eq!(verify_es256(&tampered, &k).unwrap_err().to_string(), "ES256 signature does not verify");
    }

    #[test]
    fn round_trip() {
        let k = key(7);
        let claims = json!({"iss": "countersign", "iat": 1_700_000_000, "nested": {"a": [1, 2]}});
        let token = sign_es256(&json!({"alg": "ES256", "kid": "ABC123"}), &claims, &k).unwrap();
        let (header, got) = verify_es256(&token, k.verifying_key()).unwrap();
        assert_eq!(got, claims);
        assert_eq!(header["kid"], "ABC123");
        assert_eq!(decode_unverified(&token).unwrap(), (header, got));
        // RFC 6979: deterministic.
        assert_eq!(sign_es256(&json!({"alg": "ES256", "kid": "ABC123"}), &claims, &k).unwrap(), token);
        // Another key refuses it.
        assert!(verify_es256(&token, key(8).verifying_key()).is_err());
        // The signature is raw r || s.
        let sig = URL_SAFE_NO_PAD.decode(token.rsplit('.').next().unwrap()).unwrap();
        assert_eq!(sig.len(), 64);
    }

    #[test]
    fn sign_refuses_bad_inputs() {
        let k = key(1);
        assert!(sign_es256(&json!({"alg": "HS256"}), &json!({}), &k).is_err());
        assert!(sign_es256(&json!({}), &json!({}), &k).is_err());
        assert!(sign_es256(&json!("ES256"), &json!({}), &k).is_err());
        assert!(sign_es256(&es256(), &json!([1]), &k).is_err());
    }

    #[test]
    fn refuses_other_algs_and_crit() {
        let k = key(2);
        // An otherwise valid ES256 signature over a header claiming another alg.
        let forge = |header: Value| {
            let input = format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap()),
                URL_SAFE_NO_PAD.encode(b"{}")
            );
            let sig: Signature = k.sign(input.as_bytes());
            format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
        };
        assert!(verify_es256(&forge(json!({"alg": "ES256"})), k.verifying_key()).is_ok());
        assert_eq!(
            verify_es256(&forge(json!({"alg": "HS256"})), k.verifying_key()).unwrap_err().to_string(),
            "JWS alg is not \"ES256\""
        );
        assert!(verify_es256(&forge(json!({"alg": "none"})), k.verifying_key()).is_err());
        assert!(verify_es256(&forge(json!({"alg": 1})), k.verifying_key()).is_err());
        assert_eq!(
            verify_es256(&forge(json!({})), k.verifying_key()).unwrap_err().to_string(),
            "JWS header has no alg"
        );
        assert!(verify_es256(&forge(json!({"alg": "ES256", "crit": ["exp"]})), k.verifying_key()).is_err());
    }

    #[test]
    fn malformed_tokens() {
        let k = key(3);
        let good = sign_es256(&es256(), &json!({"a": 1}), &k).unwrap();
        let (h, rest) = good.split_once('.').unwrap();
        let (c, s) = rest.split_once('.').unwrap();
        let vk = k.verifying_key();
        let err = |t: &str| verify_es256(t, vk).unwrap_err().to_string();
        assert_eq!(err(""), "JWS must have 3 dot-separated parts, found 1");
        assert_eq!(err(&format!("{h}.{c}")), "JWS must have 3 dot-separated parts, found 2");
        assert_eq!(err(&format!("{good}.{s}")), "JWS must have 3 dot-separated parts, found 4");
        assert_eq!(err(&format!("!!.{c}.{s}")), "JWS header is not valid base64url");
        assert_eq!(err(&format!("{h}.{c}=.{s}")), "JWS claims is not valid base64url");
        assert_eq!(err(&format!("{h}.{c}.{s}*")), "JWS signature is not valid base64url");
        assert!(err(&format!("{}.{c}.{s}", URL_SAFE_NO_PAD.encode("not json"))).starts_with("JWS header is not JSON"));
        assert_eq!(err(&format!("{h}.{}.{s}", URL_SAFE_NO_PAD.encode("[1]"))), "JWS claims must be a JSON object");
        let short = URL_SAFE_NO_PAD.encode([1u8; 63]);
        assert_eq!(err(&format!("{h}.{c}.{short}")), "ES256 signature must be 64 bytes, got 63");
        let zero = URL_SAFE_NO_PAD.encode([0u8; 64]);
        assert_eq!(err(&format!("{h}.{c}.{zero}")), "ES256 signature is malformed");
        assert!(err(&format!("{h}.{c}.")).starts_with("ES256 signature must be 64 bytes"));
        assert!(decode_unverified("a.b").is_err());
    }

    #[test]
    fn pkcs8_pem_round_trip() {
        let k = key(9);
        let pem = k.to_pkcs8_pem(LineEnding::LF).unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let back = signing_key_from_pkcs8_pem(&pem).unwrap();
        assert_eq!(back.to_bytes(), k.to_bytes());
        // CRLF line endings and surrounding whitespace, as files come.
        let crlf = k.to_pkcs8_pem(LineEnding::CRLF).unwrap();
        assert_eq!(signing_key_from_pkcs8_pem(&format!("\n  {}\r\n", crlf.as_str())).unwrap().to_bytes(), k.to_bytes());
        // And the key signs tokens the original verifies.
        let token = sign_es256(&es256(), &json!({"iss": "TEAMID"}), &back).unwrap();
        assert!(verify_es256(&token, k.verifying_key()).is_ok());
    }

    #[test]
    fn pkcs8_pem_errors_do_not_echo_input() {
        let k = key(10);
        let pem = k.to_pkcs8_pem(LineEnding::LF).unwrap();
        let body: Vec<&str> = pem.lines().collect();
        let secret_line = body[1];
        // Corrupt the base64 body.
        let corrupted = pem.replacen(secret_line, &secret_line.replace(|c: char| c.is_ascii_alphabetic(), "A"), 1);
        for input in [
            corrupted.as_str(),
            secret_line,
            "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIA==\n-----END EC PRIVATE KEY-----",
            "-----BEGIN PRIVATE KEY-----\nnot base64 at all\n-----END PRIVATE KEY-----",
            "",
        ] {
            let e = signing_key_from_pkcs8_pem(input).unwrap_err().to_string();
            assert!(!e.contains(secret_line), "{e}");
            assert!(!e.contains("MHcCAQEEIA"), "{e}");
            assert!(!e.contains("not base64"), "{e}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_strings_never_panic(s in ".*") {
            let vk = *key(4).verifying_key();
            let _ = verify_es256(&s, &vk);
            let _ = decode_unverified(&s);
            let _ = signing_key_from_pkcs8_pem(&s);
        }

        #[test]
        fn arbitrary_dotted_parts_never_panic(
            h in proptest::collection::vec(any::<u8>(), 0..80),
            c in proptest::collection::vec(any::<u8>(), 0..80),
            s in proptest::collection::vec(any::<u8>(), 0..80),
            json_header in any::<bool>(),
        ) {
            let vk = *key(5).verifying_key();
            let h = if json_header { br#"{"alg":"ES256"}"#.to_vec() } else { h };
            let token = [h, c, s].map(|part| URL_SAFE_NO_PAD.encode(part)).join(".");
            prop_assert!(verify_es256(&token, &vk).is_err());
            let _ = decode_unverified(&token);
        }

        #[test]
        fn sign_verify_round_trip(seed in 1u8..255, n in any::<i64>(), text in ".{0,40}") {
            let k = key(seed);
            let claims = json!({"n": n, "text": text});
            let token = sign_es256(&es256(), &claims, &k).unwrap();
            prop_assert_eq!(verify_es256(&token, k.verifying_key()).unwrap().1, claims);
        }
    }
}
