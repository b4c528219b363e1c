//! Web Push: message encryption (RFC 8291, in the `aes128gcm` content coding of RFC 8188) and VAPID application
//! server identification (RFC 8292).
//!
//! Sending: [`parse_subscription`] reads what the browser's `PushSubscription.toJSON()` gave, [`encrypt`] (or
//! [`encrypt_random`]) makes the request body (`Content-Encoding: aes128gcm`), and [`vapid_authorization`] the
//! `Authorization` header. Receiving (test push services, a browser-like authenticator): [`verify_vapid`] and
//! [`decrypt`]. Time is always a parameter (`now_unix`); randomness is a parameter except in the `*_random` and
//! `generate` conveniences. [`WebPushSender`] is the outbox's sender over them; [`WebPushError`] says why
//! something is refused.

use std::fmt;

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{Aead as _, KeyInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use hkdf::Hkdf;
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToEncodedPoint as _;
use p256::{PublicKey, SecretKey};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;

use super::jwt;

mod error;
mod sender;

pub use error::{PointError, UrlError, WebPushError};
pub use sender::WebPushSender;

/// The record size `encrypt` writes: the whole message travels in one record of at most this many octets.
pub const RECORD_SIZE: u32 = 4096;
/// The longest plaintext [`encrypt`] accepts: one 4096-octet record less the padding delimiter and the 16-octet tag.
pub const MAX_PLAINTEXT: usize = RECORD_SIZE as usize - 1 - TAG_LEN;
/// How long a VAPID token made by [`vapid_authorization`] is valid: 12 hours.
pub const VAPID_VALIDITY_SECS: i64 = 12 * 3600;
/// The furthest ahead a VAPID token's `exp` may be (RFC 8292 §2): 24 hours.
pub const VAPID_MAX_VALIDITY_SECS: i64 = 24 * 3600;

/// AES-GCM tag length.
const TAG_LEN: usize = 16;
/// Uncompressed SEC1 P-256 point length: `0x04 || x || y`.
const POINT_LEN: usize = 65;
/// RFC 8188 §2.1: record sizes below this are invalid (16-octet tag, delimiter, at least one more octet).
const MIN_RECORD_SIZE: u32 = 18;
/// Padding delimiter of every record but the last (RFC 8188 §2).
const DELIMITER: u8 = 1;
/// Padding delimiter of the last record.
const LAST_DELIMITER: u8 = 2;

/// Base64url that decodes with or without `=` padding (browsers and libraries differ).
const B64URL_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_encode_padding(false).with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// A browser's push subscription: where to POST and the keys to encrypt for.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The push service URL to POST messages to.
    pub endpoint: String,
    /// The user agent's public key: an uncompressed P-256 point.
    pub p256dh: [u8; 65],
    /// The user agent's authentication secret.
    pub auth: [u8; 16],
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("endpoint", &self.endpoint)
            .field("p256dh", &URL_SAFE_NO_PAD.encode(self.p256dh))
            .field("auth", &"<redacted>")
            .finish()
    }
}

/// Reads a `PushSubscription` JSON: `{"endpoint": "https://…", "keys": {"p256dh": "…", "auth": "…"}}` with the keys
/// in base64url, padded or not. Other members (`expirationTime`) are ignored.
pub fn parse_subscription(json: &str) -> Result<Subscription, WebPushError> {
    let bad = |what: String| WebPushError::Subscription(what);
    let value: Value = serde_json::from_str(json).map_err(|e| bad(format!("is not JSON: {e}")))?;
    let object = value.as_object().ok_or_else(|| bad("must be a JSON object".into()))?;
    let endpoint = object
        .get("endpoint")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("endpoint is missing or not a string".into()))?;
    origin(endpoint).map_err(|e| bad(format!("endpoint {e}")))?;
    let keys =
        object.get("keys").and_then(Value::as_object).ok_or_else(|| bad("keys is missing or not an object".into()))?;
    let p256dh = keys
        .get("p256dh")
        .and_then(Value::as_str)
        .ok_or_else(|| bad("keys.p256dh is missing or not a string".into()))?;
    let p256dh = B64URL_ANY_PADDING
        .decode(p256dh)
        .map_err(|_| bad("keys.p256dh is not base64url".into()))
        .and_then(|bytes| uncompressed_point(&bytes).map_err(|e| bad(format!("keys.p256dh {e}"))))?;
    let auth =
        keys.get("auth").and_then(Value::as_str).ok_or_else(|| bad("keys.auth is missing or not a string".into()))?;
    let auth = B64URL_ANY_PADDING.decode(auth).map_err(|_| bad("keys.auth is not base64url".into()))?;
    let auth: [u8; 16] =
        auth.as_slice().try_into().map_err(|_| bad(format!("keys.auth must be 16 bytes, got {}", auth.len())))?;
    Ok(Subscription { endpoint: endpoint.to_string(), p256dh, auth })
}

/// Encrypts `plaintext` for `sub` (RFC 8291) into a complete `aes128gcm` body: the header (`salt`, record size 4096,
/// the sender's public key as keyid) and one record. `as_private` must be a fresh ephemeral key and `salt` fresh
/// random bytes for every message. Refuses plaintexts over [`MAX_PLAINTEXT`] bytes.
pub fn encrypt(
    plaintext: &[u8],
    sub: &Subscription,
    as_private: &SecretKey,
    salt: &[u8; 16],
) -> Result<Vec<u8>, WebPushError> {
    if plaintext.len() > MAX_PLAINTEXT {
        return Err(WebPushError::TooLong(plaintext.len()));
    }
    encrypt_records(plaintext, &sub.p256dh, &sub.auth, as_private, salt, RECORD_SIZE)
}

/// [`encrypt`] with a fresh ephemeral key and salt from the operating system's random source.
pub fn encrypt_random(plaintext: &[u8], sub: &Subscription) -> Result<Vec<u8>, WebPushError> {
    let as_private = random_secret_key()?;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| WebPushError::NoRandomness { what: "the salt", reason: e.to_string() })?;
    encrypt(plaintext, sub, &as_private, &salt)
}

/// Decrypts an `aes128gcm` Web Push body (RFC 8291) as the user agent holding `ua_private` and `auth`: any number of
/// records, padding removed. Fails on truncated, corrupted or foreign input.
pub fn decrypt(body: &[u8], ua_private: &SecretKey, auth: &[u8; 16]) -> Result<Vec<u8>, WebPushError> {
    let header = parse_header(body)?;
    let as_public_bytes = uncompressed_point(header.keyid)
        .map_err(|e| WebPushError::Body(format!("aes128gcm keyid (sender key) {e}")))?;
    let as_public = PublicKey::from_sec1_bytes(&as_public_bytes)
        .map_err(|_| WebPushError::Body("aes128gcm keyid (sender key) is not a point on P-256".into()))?;
    let ua_public = point_bytes(&ua_private.public_key())?;
    let shared = p256::ecdh::diffie_hellman(ua_private.to_nonzero_scalar(), as_public.as_affine());
    let ikm = webpush_ikm(shared.raw_secret_bytes(), auth, &ua_public, &as_public_bytes)?;
    let (cek, nonce) = content_keys(&header.salt, &ikm)?;
    decrypt_records(header.records, header.record_size, &cek, &nonce)
}

/// A VAPID key pair (RFC 8292): the application server's long-lived identity towards push services.
#[derive(Clone)]
pub struct VapidKey {
    key: SigningKey,
}

impl fmt::Debug for VapidKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VapidKey").field("public_key", &self.public_key_b64()).finish_non_exhaustive()
    }
}

impl VapidKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<VapidKey, WebPushError> {
        let secret = random_secret_key()?;
        Ok(VapidKey { key: SigningKey::from(secret) })
    }

    /// The key from its raw 32-byte private scalar (as [`VapidKey::to_bytes`] gives it).
    pub fn from_bytes(bytes: &[u8]) -> Result<VapidKey, WebPushError> {
        let raw: [u8; 32] = bytes.try_into().map_err(|_| WebPushError::VapidKeyLength(bytes.len()))?;
        let key = SigningKey::from_bytes(&raw.into()).map_err(|_| WebPushError::VapidKeyScalar)?;
        Ok(VapidKey { key })
    }

    /// The raw 32-byte private scalar, for sealed storage.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.key.to_bytes().into()
    }

    /// The public key, base64url without padding, of the 65-byte uncompressed point: the `applicationServerKey`
    /// browsers subscribe with, and the `k` of the `Authorization` header.
    pub fn public_key_b64(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.key.verifying_key().to_encoded_point(false).as_bytes())
    }

    /// The ECDSA signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

/// What a valid VAPID `Authorization` header said (from [`verify_vapid`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VapidClaims {
    /// The JWT's `aud`: the push service's origin.
    pub aud: String,
    /// The JWT's `exp`, Unix seconds.
    pub exp: i64,
    /// The JWT's `sub` (a contact `mailto:` or `https:` URI), if it had one.
    pub sub: Option<String>,
    /// The `k` parameter: the application server's public key, base64url without padding.
    pub public_key: String,
}

/// The `Authorization` header value for a push to `endpoint`: `vapid t=<JWT>, k=<public key>`, where the ES256 JWT
/// has `aud` = the endpoint's origin, `exp` = `now_unix` + 12 h and `sub` = `subject` (a `mailto:` or `https:` URI).
pub fn vapid_authorization(
    endpoint: &str,
    subject: &str,
    key: &VapidKey,
    now_unix: i64,
) -> Result<String, WebPushError> {
    let aud = origin(endpoint).map_err(WebPushError::Endpoint)?;
    check_subject(subject)?;
    let exp = now_unix.checked_add(VAPID_VALIDITY_SECS).ok_or(WebPushError::TimeRange)?;
    let header = json!({"typ": "JWT", "alg": "ES256"});
    let claims = json!({"aud": aud, "exp": exp, "sub": subject});
    let token = jwt::sign_es256(&header, &claims, &key.key)?;
    Ok(format!("vapid t={token}, k={}", key.public_key_b64()))
}

/// Checks a VAPID `Authorization` header as a push service would for a push to `endpoint`: the JWT verifies under
/// `k`, its `aud` is the endpoint's origin, and its `exp` is after `now_unix` and at most 24 h ahead.
pub fn verify_vapid(authorization: &str, endpoint: &str, now_unix: i64) -> Result<VapidClaims, WebPushError> {
    let bad = |why: &str| WebPushError::Vapid(why.to_owned());
    let (scheme, params) =
        authorization.trim().split_once(' ').ok_or_else(|| bad("Authorization must be \"vapid t=<JWT>, k=<key>\""))?;
    if !scheme.eq_ignore_ascii_case("vapid") {
        return Err(bad("Authorization scheme must be vapid"));
    }
    let (mut token, mut public_key) = (None, None);
    for param in params.split(',') {
        let (name, value) =
            param.trim().split_once('=').ok_or_else(|| bad("Authorization vapid parameters must be name=value"))?;
        let value = value.trim();
        let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
        let slot = match name.trim().to_ascii_lowercase().as_str() {
            "t" => &mut token,
            "k" => &mut public_key,
            _ => continue,
        };
        if slot.replace(value).is_some() {
            return Err(bad(&format!("Authorization has more than one vapid {} parameter", name.trim())));
        }
    }
    let token = token.ok_or_else(|| bad("Authorization has no vapid t parameter"))?;
    let public_key = public_key.ok_or_else(|| bad("Authorization has no vapid k parameter"))?;
    let point = B64URL_ANY_PADDING
        .decode(public_key)
        .map_err(|_| bad("vapid k is not base64url"))
        .and_then(|bytes| uncompressed_point(&bytes).map_err(|e| bad(&format!("vapid k {e}"))))?;
    let verifying_key = VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad("vapid k is not a point on P-256"))?;
    let (_, claims) = jwt::verify_es256(token, &verifying_key).map_err(|e| bad(&format!("vapid t: {e}")))?;

    let aud = claims.get("aud").and_then(Value::as_str).ok_or_else(|| bad("VAPID JWT has no aud string"))?;
    let expected = origin(endpoint).map_err(WebPushError::Endpoint)?;
    if aud != expected {
        return Err(bad(&format!("VAPID aud {aud:?} is not the endpoint's origin {expected:?}")));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or_else(|| bad("VAPID JWT has no integer exp"))?;
    if exp <= now_unix {
        return Err(bad("VAPID JWT has expired"));
    }
    if exp > now_unix.saturating_add(VAPID_MAX_VALIDITY_SECS) {
        return Err(bad("VAPID JWT exp is more than 24 hours ahead"));
    }
    let sub = match claims.get("sub") {
        None => None,
        Some(Value::String(sub)) => Some(sub.clone()),
        Some(_) => return Err(bad("VAPID JWT sub is not a string")),
    };
    Ok(VapidClaims { aud: aud.to_string(), exp, sub, public_key: URL_SAFE_NO_PAD.encode(point) })
}

/// The origin (`scheme://host[:port]`, default port left out, host lowercased) of an `http(s)://` URL.
fn origin(url: &str) -> Result<String, UrlError> {
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::Whitespace);
    }
    let (scheme, default_port, rest) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        ("https", 443, rest)
    } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
        ("http", 80, rest)
    } else {
        return Err(UrlError::Scheme);
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains(['@', '\\']) {
        return Err(UrlError::UserInfo);
    }
    let (host, port) = if authority.starts_with('[') {
        let (host, after) = authority.split_once(']').ok_or(UrlError::UnclosedIpv6)?;
        let host_ok = host.len() > 1 && host.chars().skip(1).all(|c| c.is_ascii_hexdigit() || c == ':' || c == '.');
        if !host_ok {
            return Err(UrlError::BadIpv6);
        }
        let port = match after {
            "" => "",
            _ => after.strip_prefix(':').ok_or(UrlError::Ipv6Junk)?,
        };
        (format!("{}]", host.to_ascii_lowercase()), port)
    } else {
        let (host, port) = authority.split_once(':').unwrap_or((authority, ""));
        let host_ok = host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'));
        if host.is_empty() || !host_ok {
            return Err(UrlError::Host);
        }
        (host.to_ascii_lowercase(), port)
    };
    let port = match port {
        "" => None,
        digits if digits.chars().all(|c| c.is_ascii_digit()) => {
            Some(digits.parse::<u16>().map_err(|_| UrlError::Port)?)
        }
        _ => return Err(UrlError::Port),
    };
    Ok(match port {
        Some(port) if port != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) { s.get(prefix.len()..) } else { None }
}

/// RFC 8292 §2.1: `sub` is a `mailto:` or `https:` URI.
fn check_subject(subject: &str) -> Result<(), WebPushError> {
    if subject.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(WebPushError::Subject("must not contain whitespace or control characters"));
    }
    let rest = strip_prefix_ignore_case(subject, "mailto:").or_else(|| strip_prefix_ignore_case(subject, "https:"));
    match rest {
        Some(rest) if !rest.is_empty() => Ok(()),
        _ => Err(WebPushError::Subject("must be a mailto: or https: URI")),
    }
}

/// Checks `bytes` is an uncompressed P-256 point (`0x04 || x || y`, on the curve).
fn uncompressed_point(bytes: &[u8]) -> Result<[u8; POINT_LEN], PointError> {
    let point: [u8; POINT_LEN] = bytes.try_into().map_err(|_| PointError::Length(bytes.len()))?;
    if point.first() != Some(&4) {
        return Err(PointError::Compressed);
    }
    PublicKey::from_sec1_bytes(&point).map_err(|_| PointError::OffCurve)?;
    Ok(point)
}

fn point_bytes(key: &PublicKey) -> Result<[u8; POINT_LEN], WebPushError> {
    key.to_encoded_point(false)
        .as_bytes()
        .try_into()
        .map_err(|_| WebPushError::Crypto("public key did not encode to 65 bytes"))
}

/// A P-256 private key from the operating system's random source.
fn random_secret_key() -> Result<SecretKey, WebPushError> {
    // A random 32-byte string is a valid scalar but with probability about 2^-32; a few tries always do.
    for _ in 0..8 {
        let mut raw = [0u8; 32];
        getrandom::fill(&mut raw).map_err(|e| WebPushError::NoRandomness { what: "a key", reason: e.to_string() })?;
        if let Ok(key) = SecretKey::from_slice(&raw) {
            return Ok(key);
        }
    }
    Err(WebPushError::KeyGeneration)
}

/// RFC 8291 §3.3: the input keying material from the ECDH secret, bound to both public keys and the auth secret.
fn webpush_ikm(
    ecdh_secret: &[u8],
    auth: &[u8; 16],
    ua_public: &[u8; 65],
    as_public: &[u8; 65],
) -> Result<[u8; 32], WebPushError> {
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), ecdh_secret)
        .expand_multi_info(&[b"WebPush: info\0", ua_public, as_public], &mut ikm)
        .map_err(|_| WebPushError::Crypto("HKDF expand failed"))?;
    Ok(ikm)
}

/// RFC 8188 §2.2–2.3: the content encryption key and base nonce from the header's salt.
fn content_keys(salt: &[u8; 16], ikm: &[u8]) -> Result<([u8; 16], [u8; 12]), WebPushError> {
    let hkdf = Hkdf::<Sha256>::new(Some(salt), ikm);
    let mut cek = [0u8; 16];
    let mut nonce = [0u8; 12];
    hkdf.expand(b"Content-Encoding: aes128gcm\0", &mut cek).map_err(|_| WebPushError::Crypto("HKDF expand failed"))?;
    hkdf.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|_| WebPushError::Crypto("HKDF expand failed"))?;
    Ok((cek, nonce))
}

/// The nonce of record `seq`: the base nonce XOR `seq` as a 96-bit big-endian integer.
fn record_nonce(base: &[u8; 12], seq: u64) -> [u8; 12] {
    let mut nonce = *base;
    for (byte, s) in nonce.iter_mut().rev().zip(seq.to_be_bytes().iter().rev()) {
        *byte ^= s;
    }
    nonce
}

/// Encrypts into an `aes128gcm` body of records of `record_size` octets (the last may be shorter).
fn encrypt_records(
    plaintext: &[u8],
    ua_public: &[u8; 65],
    auth: &[u8; 16],
    as_private: &SecretKey,
    salt: &[u8; 16],
    record_size: u32,
) -> Result<Vec<u8>, WebPushError> {
    if record_size < MIN_RECORD_SIZE {
        return Err(WebPushError::RecordSize);
    }
    let per_record = usize::try_from(record_size)
        .map_err(|_| WebPushError::Crypto("record size does not fit in memory"))?
        .saturating_sub(TAG_LEN + 1);
    let ua_key = PublicKey::from_sec1_bytes(ua_public)
        .map_err(|_| WebPushError::Crypto("subscription p256dh is not a valid P-256 public key"))?;
    let as_public = point_bytes(&as_private.public_key())?;
    let shared = p256::ecdh::diffie_hellman(as_private.to_nonzero_scalar(), ua_key.as_affine());
    let ikm = webpush_ikm(shared.raw_secret_bytes(), auth, ua_public, &as_public)?;
    let (cek, nonce) = content_keys(salt, &ikm)?;
    let cipher = Aes128Gcm::new(&cek.into());

    let mut chunks: Vec<&[u8]> = plaintext.chunks(per_record).collect();
    if chunks.is_empty() {
        chunks.push(&[]);
    }
    let records = chunks.len();
    let mut body = Vec::with_capacity(21 + POINT_LEN + plaintext.len() + records * (TAG_LEN + 1));
    body.extend_from_slice(salt);
    body.extend_from_slice(&record_size.to_be_bytes());
    body.push(POINT_LEN as u8);
    body.extend_from_slice(&as_public);
    for (seq, chunk) in chunks.into_iter().enumerate() {
        let mut record = Vec::with_capacity(chunk.len() + 1 + TAG_LEN);
        record.extend_from_slice(chunk);
        record.push(if seq + 1 == records { LAST_DELIMITER } else { DELIMITER });
        let seq = u64::try_from(seq).map_err(|_| WebPushError::Crypto("too many records"))?;
        let sealed = cipher
            .encrypt(&record_nonce(&nonce, seq).into(), record.as_slice())
            .map_err(|_| WebPushError::Crypto("AES-128-GCM encryption failed"))?;
        body.extend_from_slice(&sealed);
    }
    Ok(body)
}

/// An `aes128gcm` header (RFC 8188 §2.1) and the records after it.
struct Header<'a> {
    salt: [u8; 16],
    record_size: usize,
    keyid: &'a [u8],
    records: &'a [u8],
}

fn parse_header(body: &[u8]) -> Result<Header<'_>, WebPushError> {
    let truncated = || WebPushError::Body("aes128gcm body is shorter than its header".into());
    let (salt, rest) = body.split_first_chunk::<16>().ok_or_else(truncated)?;
    let (record_size, rest) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
    let (idlen, rest) = rest.split_first().ok_or_else(truncated)?;
    let (keyid, records) = rest.split_at_checked(usize::from(*idlen)).ok_or_else(truncated)?;
    let record_size = u32::from_be_bytes(*record_size);
    if record_size < MIN_RECORD_SIZE {
        return Err(WebPushError::Body(format!(
            "aes128gcm record size {record_size} is below the minimum of {MIN_RECORD_SIZE}"
        )));
    }
    let record_size =
        usize::try_from(record_size).map_err(|_| WebPushError::Body("aes128gcm record size is too large".into()))?;
    if records.is_empty() {
        return Err(WebPushError::Body("aes128gcm body has no records".into()));
    }
    Ok(Header { salt: *salt, record_size, keyid, records })
}

/// Decrypts every record, checks the delimiters (1 before the last record, 2 in it) and strips the padding.
fn decrypt_records(data: &[u8], record_size: usize, cek: &[u8; 16], nonce: &[u8; 12]) -> Result<Vec<u8>, WebPushError> {
    let bad = WebPushError::Body;
    let cipher = Aes128Gcm::new(&(*cek).into());
    let records = data.len().div_ceil(record_size);
    let mut out = Vec::with_capacity(data.len());
    for (seq, record) in data.chunks(record_size).enumerate() {
        if record.len() <= TAG_LEN {
            return Err(bad(format!("aes128gcm record {seq} is truncated ({} bytes)", record.len())));
        }
        let seq_nonce = record_nonce(nonce, u64::try_from(seq).map_err(|_| WebPushError::Crypto("too many records"))?);
        let plain = cipher.decrypt(&seq_nonce.into(), record).map_err(|_| {
            bad(format!("aes128gcm record {seq} does not decrypt (wrong key or auth secret, or corrupted data)"))
        })?;
        let end = plain
            .iter()
            .rposition(|&b| b != 0)
            .ok_or_else(|| bad(format!("aes128gcm record {seq} has no padding delimiter")))?;
        let (content, delimiter) = plain.split_at_checked(end).unwrap_or((&[], &[]));
        let last = seq + 1 == records;
        match (delimiter.first(), last) {
            (Some(&LAST_DELIMITER), true) | (Some(&DELIMITER), false) => {}
            (Some(&DELIMITER), true) => {
                return Err(bad("aes128gcm message is truncated (last record is not final)".into()));
            }
            (Some(&LAST_DELIMITER), false) => {
                return Err(bad(format!("aes128gcm record {seq} is marked final but more records follow")));
            }
            _ => return Err(bad(format!("aes128gcm record {seq} has an invalid padding delimiter"))),
        }
        out.extend_from_slice(content);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // RFC 8291 Appendix A (and §5).
    const PLAINTEXT: &str = "When I grow up, I want to be a watermelon";
    const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
    const UA_PUBLIC: &str = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
    const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
    const AS_PUBLIC: &str = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
    const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
    const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
    /// The intermediate IKM the RFC lists.
    const IKM: &str = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg";
    const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27ml\
        mlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPT\
        pK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    fn secret(seed: u8) -> SecretKey {
        SecretKey::from_slice(&[seed; 32]).unwrap()
    }

    fn sub_for(ua_private: &SecretKey, auth: [u8; 16]) -> Subscription {
        Subscription {
            endpoint: "https://push.example.net/push/abc".into(),
            p256dh: point_bytes(&ua_private.public_key()).unwrap(),
            auth,
        }
    }

    fn rfc_sub() -> Subscription {
        Subscription {
            endpoint: "https://push.example.net/push/JzLQ3raZJfFBR0aqvOMsLrt54w4rJUsV".into(),
            p256dh: b64(UA_PUBLIC).try_into().unwrap(),
            auth: b64(AUTH).try_into().unwrap(),
        }
    }

    #[test]
    fn rfc8291_keys_match() {
        let ua = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        assert_eq!(point_bytes(&ua.public_key()).unwrap().to_vec(), b64(UA_PUBLIC));
        let as_key = SecretKey::from_slice(&b64(AS_PRIVATE)).unwrap();
        assert_eq!(point_bytes(&as_key.public_key()).unwrap().to_vec(), b64(AS_PUBLIC));
        let shared = p256::ecdh::diffie_hellman(as_key.to_nonzero_scalar(), ua.public_key().as_affine());
        let ikm = webpush_ikm(
            shared.raw_secret_bytes(),
            &b64(AUTH).try_into().unwrap(),
            &b64(UA_PUBLIC).try_into().unwrap(),
            &b64(AS_PUBLIC).try_into().unwrap(),
        )
        .unwrap();
        assert_eq!(ikm.to_vec(), b64(IKM));
    }

    #[test]
    fn rfc8291_example_encrypts_byte_for_byte() {
        let as_key = SecretKey::from_slice(&b64(AS_PRIVATE)).unwrap();
        let salt: [u8; 16] = b64(SALT).try_into().unwrap();
        let body = encrypt(PLAINTEXT.as_bytes(), &rfc_sub(), &as_key, &salt).unwrap();
        assert_eq!(URL_SAFE_NO_PAD.encode(&body), BODY);
    }

    #[test]
    fn rfc8291_example_decrypts() {
        let ua = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        let auth: [u8; 16] = b64(AUTH).try_into().unwrap();
        assert_eq!(decrypt(&b64(BODY), &ua, &auth).unwrap(), PLAINTEXT.as_bytes());
    }

    /// RFC 8188 §3.1 and §3.2 (the latter: two records, rs 25, keyid "a1", padding), with the IKM given directly.
    #[test]
    fn rfc8188_examples_decrypt() {
        fn decrypt_with_ikm(body: &[u8], ikm: &[u8]) -> Result<Vec<u8>, WebPushError> {
            let header = parse_header(body)?;
            let (cek, nonce) = content_keys(&header.salt, ikm)?;
            decrypt_records(header.records, header.record_size, &cek, &nonce)
        }
        let one = b64("I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg");
        assert_eq!(decrypt_with_ikm(&one, &b64("yqdlZ-tYemfogSmv7Ws5PQ")).unwrap(), b"I am the walrus");
        let two =
            b64("uNCkWiNYzKTnBN9ji3-qWAAAABkCYTHOG8chz_gnvgOqdGYovxyjuqRyJFjEDyoF1Fvkj6hQPdPHI51OEUKEpgz3SsLWIqS_uA");
        let header = parse_header(&two).unwrap();
        assert_eq!((header.record_size, header.keyid), (25, &b"a1"[..]));
        assert_eq!(header.records.len(), 50);
        let ikm = b64("BO3ZVPxUlnLORbVGMpbT1Q");
        assert_eq!(decrypt_with_ikm(&two, &ikm).unwrap(), b"I am the walrus");
        // Only the first record: it is not final, so the message is truncated.
        assert_eq!(
            decrypt_with_ikm(&two[..two.len() - 25], &ikm).unwrap_err().to_string(),
            "aes128gcm message is truncated (last record is not final)"
        );
    }

    #[test]
    fn multi_record_body_decrypts() {
        let ua = secret(3);
        let sub = sub_for(&ua, [9; 16]);
        let plaintext: Vec<u8> = (0..100u8).collect();
        // 40-byte records carry 23 plaintext bytes each: 5 records, the last short.
        let body = encrypt_records(&plaintext, &sub.p256dh, &sub.auth, &secret(4), &[1; 16], 40).unwrap();
        assert_eq!(body.len(), 86 + 4 * 40 + (100 - 4 * 23 + 17));
        assert_eq!(decrypt(&body, &ua, &sub.auth).unwrap(), plaintext);
        // Exactly two full records.
        let two = encrypt_records(&plaintext[..46], &sub.p256dh, &sub.auth, &secret(4), &[1; 16], 40).unwrap();
        assert_eq!(two.len(), 86 + 80);
        assert_eq!(decrypt(&two, &ua, &sub.auth).unwrap(), &plaintext[..46]);
        // Dropping the final record is detected; so is dropping a middle one.
        assert!(decrypt(&two[..86 + 40], &ua, &sub.auth).unwrap_err().to_string().contains("truncated"));
        let mut skipped = body[..86].to_vec();
        skipped.extend_from_slice(&body[86 + 40..]);
        assert!(decrypt(&skipped, &ua, &sub.auth).is_err());
        // Empty message: one record holding only the delimiter.
        let empty = encrypt(b"", &sub, &secret(4), &[1; 16]).unwrap();
        assert_eq!(empty.len(), 86 + 17);
        assert_eq!(decrypt(&empty, &ua, &sub.auth).unwrap(), b"");
    }

    #[test]
    fn padding_is_stripped_and_delimiters_checked() {
        // Build records by hand with the RFC 8188 §3.1 key material.
        let ikm = [7u8; 16];
        let salt = [5u8; 16];
        let (cek, nonce) = content_keys(&salt, &ikm).unwrap();
        let cipher = Aes128Gcm::new(&cek.into());
        let seal = |seq: u64, plain: &[u8]| cipher.encrypt(&record_nonce(&nonce, seq).into(), plain).unwrap();
        let rs = 30;
        let mut data = seal(0, b"hello\x01\0\0\0\0\0\0\0\0");
        assert_eq!(data.len(), rs);
        data.extend(seal(1, b"world\x02\0\0"));
        assert_eq!(decrypt_records(&data, rs, &cek, &nonce).unwrap(), b"helloworld");
        // A zero inside the content stays; only trailing padding goes.
        let data = seal(0, b"a\0b\x02\0");
        assert_eq!(decrypt_records(&data, rs, &cek, &nonce).unwrap(), b"a\0b");
        for (plain, want) in [
            (&b"final\x02\0\0\0\0\0\0\0\0"[..], "marked final"),
            (&[0u8; 14][..], "no padding delimiter"),
            (b"x\x03\0\0\0\0\0\0\0\0\0\0\0\0", "invalid padding delimiter"),
        ] {
            let mut data = seal(0, plain);
            data.extend(seal(1, b"end\x02"));
            let err = decrypt_records(&data, rs, &cek, &nonce).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn too_long_plaintext_is_refused() {
        let sub = sub_for(&secret(3), [2; 16]);
        let max = vec![b'x'; MAX_PLAINTEXT];
        assert_eq!(MAX_PLAINTEXT, 4079);
        let body = encrypt(&max, &sub, &secret(4), &[0; 16]).unwrap();
        assert_eq!(body.len(), 86 + 4096);
        assert_eq!(decrypt(&body, &secret(3), &sub.auth).unwrap(), max);
        let err = encrypt(&[0; MAX_PLAINTEXT + 1], &sub, &secret(4), &[0; 16]).unwrap_err().to_string();
        assert_eq!(err, "push message is 4080 bytes; at most 4079 fit in one 4096-byte record");
    }

    #[test]
    fn wrong_auth_or_key_fails_cleanly() {
        let ua = secret(3);
        let sub = sub_for(&ua, [2; 16]);
        let body = encrypt(b"secret", &sub, &secret(4), &[0; 16]).unwrap();
        assert!(decrypt(&body, &ua, &[3; 16]).unwrap_err().to_string().contains("does not decrypt"));
        assert!(decrypt(&body, &secret(5), &sub.auth).unwrap_err().to_string().contains("does not decrypt"));
        assert_eq!(decrypt(&body, &ua, &sub.auth).unwrap(), b"secret");
    }

    #[test]
    fn garbled_headers_fail_cleanly() {
        let ua = secret(3);
        let sub = sub_for(&ua, [2; 16]);
        let body = encrypt(b"hi", &sub, &secret(4), &[0; 16]).unwrap();
        let auth = &sub.auth;
        assert_eq!(decrypt(&[], &ua, auth).unwrap_err().to_string(), "aes128gcm body is shorter than its header");
        assert_eq!(
            decrypt(&body[..20], &ua, auth).unwrap_err().to_string(),
            "aes128gcm body is shorter than its header"
        );
        assert_eq!(
            decrypt(&body[..50], &ua, auth).unwrap_err().to_string(),
            "aes128gcm body is shorter than its header"
        );
        assert_eq!(decrypt(&body[..86], &ua, auth).unwrap_err().to_string(), "aes128gcm body has no records");
        assert!(decrypt(&body[..90], &ua, auth).unwrap_err().to_string().contains("truncated"));
        let mut small_rs = body.clone();
        small_rs[16..20].copy_from_slice(&17u32.to_be_bytes());
        assert!(decrypt(&small_rs, &ua, auth).unwrap_err().to_string().contains("below the minimum"));
        let mut idlen = body.clone();
        idlen[20] = 0;
        assert!(decrypt(&idlen, &ua, auth).unwrap_err().to_string().contains("keyid"));
        let mut off_curve = body.clone();
        off_curve[21 + 64] ^= 1;
        assert!(decrypt(&off_curve, &ua, auth).unwrap_err().to_string().contains("keyid"));
    }

    #[test]
    fn random_encryption_round_trips() {
        let ua = secret(3);
        let sub = sub_for(&ua, [2; 16]);
        let a = encrypt_random(b"hello", &sub).unwrap();
        let b = encrypt_random(b"hello", &sub).unwrap();
        assert_ne!(a, b);
        assert_eq!(decrypt(&a, &ua, &sub.auth).unwrap(), b"hello");
        assert_eq!(decrypt(&b, &ua, &sub.auth).unwrap(), b"hello");
    }

    #[test]
    fn parses_subscriptions() {
        let ua = SecretKey::from_slice(&b64(UA_PRIVATE)).unwrap();
        let json = json!({
            "endpoint": "https://fcm.googleapis.com/fcm/send/x:y",
            "expirationTime": null,
            "keys": {"p256dh": UA_PUBLIC, "auth": AUTH},
        })
        .to_string();
        let sub = parse_subscription(&json).unwrap();
        assert_eq!(sub.endpoint, "https://fcm.googleapis.com/fcm/send/x:y");
        assert_eq!(sub.p256dh.to_vec(), b64(UA_PUBLIC));
        assert_eq!(sub.auth.to_vec(), b64(AUTH));
        assert!(!format!("{sub:?}").contains(AUTH));
        // Padded base64url is fine too.
        let padded = json.replace(AUTH, &format!("{AUTH}==")).replace(UA_PUBLIC, &format!("{UA_PUBLIC}="));
        assert_eq!(parse_subscription(&padded).unwrap(), sub);
        // And what we parse, we can encrypt to.
        let body = encrypt_random(PLAINTEXT.as_bytes(), &sub).unwrap();
        assert_eq!(decrypt(&body, &ua, &sub.auth).unwrap(), PLAINTEXT.as_bytes());
    }

    #[test]
    fn subscription_errors_name_the_field() {
        let good_p = UA_PUBLIC;
        let sub = |endpoint: &str, p256dh: &str, auth: &str| {
            parse_subscription(&format!(
                r#"{{"endpoint":"{endpoint}","keys":{{"p256dh":"{p256dh}","auth":"{auth}"}}}}"#
            ))
        };
        let ok = "https://push.example.net/x";
        assert!(sub(ok, good_p, AUTH).is_ok());
        assert!(sub("http://localhost:8080/push", good_p, AUTH).is_ok());
        assert!(parse_subscription("nope").unwrap_err().to_string().starts_with("subscription is not JSON"));
        assert_eq!(parse_subscription("[]").unwrap_err().to_string(), "subscription must be a JSON object");
        assert_eq!(
            parse_subscription("{}").unwrap_err().to_string(),
            "subscription endpoint is missing or not a string"
        );
        assert_eq!(
            parse_subscription(r#"{"endpoint":"https://a.example"}"#).unwrap_err().to_string(),
            "subscription keys is missing or not an object"
        );
        assert!(
            sub("ftp://x.example/", good_p, AUTH).unwrap_err().to_string().starts_with("subscription endpoint must be")
        );
        assert!(sub("https:///path", good_p, AUTH).unwrap_err().to_string().starts_with("subscription endpoint"));
        assert!(
            sub("https://user@x.example/", good_p, AUTH).unwrap_err().to_string().starts_with("subscription endpoint")
        );
        assert!(
            sub("https://x.example:99999/", good_p, AUTH).unwrap_err().to_string().starts_with("subscription endpoint")
        );
        assert_eq!(sub(ok, "!!", AUTH).unwrap_err().to_string(), "subscription keys.p256dh is not base64url");
        assert!(
            sub(ok, &good_p[..40], AUTH)
                .unwrap_err()
                .to_string()
                .starts_with("subscription keys.p256dh must be a 65-byte")
        );
        // Compressed form of a point: wrong length. A 65-byte string off the curve: refused.
        let mut off = b64(good_p);
        off[64] ^= 1;
        assert_eq!(
            sub(ok, &URL_SAFE_NO_PAD.encode(&off), AUTH).unwrap_err().to_string(),
            "subscription keys.p256dh is not a point on P-256"
        );
        off[0] = 3;
        assert!(sub(ok, &URL_SAFE_NO_PAD.encode(&off), AUTH).unwrap_err().to_string().contains("starting 0x04"));
        assert_eq!(sub(ok, good_p, "AAAA").unwrap_err().to_string(), "subscription keys.auth must be 16 bytes, got 3");
        assert_eq!(sub(ok, good_p, "*").unwrap_err().to_string(), "subscription keys.auth is not base64url");
        assert_eq!(
            parse_subscription(r#"{"endpoint":"https://a.example","keys":{"auth":"x"}}"#).unwrap_err().to_string(),
            "subscription keys.p256dh is missing or not a string"
        );
    }

    #[test]
    fn origins() {
        let o = |u: &str| origin(u);
        assert_eq!(o("https://fcm.googleapis.com/fcm/send/abc").unwrap(), "https://fcm.googleapis.com");
        assert_eq!(o("https://Push.Example.NET:443/x?y#z").unwrap(), "https://push.example.net");
        assert_eq!(o("HTTPS://a.example:8443").unwrap(), "https://a.example:8443");
        assert_eq!(o("http://127.0.0.1:80/p").unwrap(), "http://127.0.0.1");
        assert_eq!(o("http://127.0.0.1:9000/p").unwrap(), "http://127.0.0.1:9000");
        assert_eq!(o("http://[::1]:9000/p").unwrap(), "http://[::1]:9000");
        assert_eq!(o("https://a.example?q").unwrap(), "https://a.example");
        for bad in
            ["", "https://", "a.example", "https://a b/", "https://a.example:x/", "https://[::1/", "https://[zz]/"]
        {
            assert!(o(bad).is_err(), "{bad}");
        }
    }

    fn sign_raw(key: &VapidKey, claims: Value) -> String {
        let token = jwt::sign_es256(&json!({"typ": "JWT", "alg": "ES256"}), &claims, key.signing_key()).unwrap();
        format!("vapid t={token}, k={}", key.public_key_b64())
    }

    const ENDPOINT: &str = "https://updates.push.services.mozilla.com/wpush/v2/gAAAAAB";
    const NOW: i64 = 1_750_000_000;

    #[test]
    fn vapid_round_trip() {
        let key = VapidKey::generate().unwrap();
        let header = vapid_authorization(ENDPOINT, "mailto:ops@example.com", &key, NOW).unwrap();
        assert!(header.starts_with("vapid t=ey"));
        let claims = verify_vapid(&header, ENDPOINT, NOW).unwrap();
        assert_eq!(
            claims,
            VapidClaims {
                aud: "https://updates.push.services.mozilla.com".into(),
                exp: NOW + 12 * 3600,
                sub: Some("mailto:ops@example.com".into()),
                public_key: key.public_key_b64(),
            }
        );
        // Another endpoint on the same origin is fine; just before exp is fine.
        assert!(verify_vapid(&header, "https://updates.push.services.mozilla.com/other", NOW + 12 * 3600 - 1).is_ok());
        // The JWT header is {"typ":"JWT","alg":"ES256"}.
        let token = header.strip_prefix("vapid t=").unwrap().split(',').next().unwrap();
        assert_eq!(jwt::decode_unverified(token).unwrap().0, json!({"typ": "JWT", "alg": "ES256"}));
        // The public key is a 65-byte uncompressed point.
        let raw = b64(&key.public_key_b64());
        assert_eq!((raw.len(), raw[0]), (65, 4));
        // Parameter order, spacing and case don't matter.
        let k = key.public_key_b64();
        assert!(verify_vapid(&format!("Vapid k={k},t={token}"), ENDPOINT, NOW).is_ok());
    }

    #[test]
    fn vapid_key_bytes_round_trip() {
        let key = VapidKey::generate().unwrap();
        let back = VapidKey::from_bytes(&key.to_bytes()).unwrap();
        assert_eq!(back.public_key_b64(), key.public_key_b64());
        assert_eq!(back.to_bytes(), key.to_bytes());
        assert_ne!(VapidKey::generate().unwrap().to_bytes(), key.to_bytes());
        assert_eq!(
            VapidKey::from_bytes(&[1; 31]).unwrap_err().to_string(),
            "VAPID private key must be 32 bytes, got 31"
        );
        assert!(VapidKey::from_bytes(&[0; 32]).is_err());
        assert!(VapidKey::from_bytes(&[0xff; 32]).is_err());
        let debug = format!("{key:?}");
        assert!(debug.contains(&key.public_key_b64()));
        assert!(!debug.contains(&URL_SAFE_NO_PAD.encode(key.to_bytes())));
    }

    #[test]
    fn vapid_refusals() {
        let key = VapidKey::from_bytes(&[3; 32]).unwrap();
        let header = vapid_authorization(ENDPOINT, "https://example.com/contact", &key, NOW).unwrap();
        // Wrong audience.
        let err = verify_vapid(&header, "https://fcm.googleapis.com/fcm/send/x", NOW).unwrap_err().to_string();
        assert!(err.contains("is not the endpoint's origin"), "{err}");
        assert!(verify_vapid(&header, "https://updates.push.services.mozilla.com:8443/x", NOW).is_err());
        assert!(verify_vapid(&header, "http://updates.push.services.mozilla.com/x", NOW).is_err());
        // Expired.
        assert_eq!(verify_vapid(&header, ENDPOINT, NOW + 12 * 3600).unwrap_err().to_string(), "VAPID JWT has expired");
        // Too far ahead.
        let far = sign_raw(&key, json!({"aud": "https://updates.push.services.mozilla.com", "exp": NOW + 86_401}));
        assert_eq!(
            verify_vapid(&far, ENDPOINT, NOW).unwrap_err().to_string(),
            "VAPID JWT exp is more than 24 hours ahead"
        );
        let day = sign_raw(&key, json!({"aud": "https://updates.push.services.mozilla.com", "exp": NOW + 86_400}));
        assert_eq!(verify_vapid(&day, ENDPOINT, NOW).unwrap().sub, None);
        // Missing or odd claims.
        let no_exp = sign_raw(&key, json!({"aud": "https://updates.push.services.mozilla.com"}));
        assert_eq!(verify_vapid(&no_exp, ENDPOINT, NOW).unwrap_err().to_string(), "VAPID JWT has no integer exp");
        let no_aud = sign_raw(&key, json!({"exp": NOW + 60}));
        assert_eq!(verify_vapid(&no_aud, ENDPOINT, NOW).unwrap_err().to_string(), "VAPID JWT has no aud string");
        // Tampered signature.
        let (front, k) = header.split_once(", k=").unwrap();
        let (input, sig) = front.rsplit_once('.').unwrap();
        let mut raw = b64(sig);
        raw[5] ^= 0x10;
        let tampered = format!("{input}.{}, k={k}", URL_SAFE_NO_PAD.encode(raw));
        assert!(verify_vapid(&tampered, ENDPOINT, NOW).unwrap_err().to_string().contains("does not verify"));
        // Signed by another key than k says.
        let other = VapidKey::from_bytes(&[4; 32]).unwrap();
        let swapped = format!("{front}, k={}", other.public_key_b64());
        assert!(verify_vapid(&swapped, ENDPOINT, NOW).unwrap_err().to_string().contains("does not verify"));
        // Malformed headers.
        for bad in [
            "",
            "vapid",
            "Bearer abc",
            "WebPush t=a",
            "vapid t=abc",
            &format!("vapid k={k}"),
            &format!("vapid t={input}.{sig}, k=AAAA"),
            &format!("vapid t={input}.{sig}, k={k}, t={input}.{sig}"),
            "vapid t",
        ] {
            assert!(verify_vapid(bad, ENDPOINT, NOW).is_err(), "{bad}");
        }
    }

    #[test]
    fn vapid_authorization_refusals() {
        let key = VapidKey::from_bytes(&[3; 32]).unwrap();
        for subject in ["ops@example.com", "http://example.com", "mailto:", "mailto:a b@example.com", ""] {
            assert!(vapid_authorization(ENDPOINT, subject, &key, NOW).is_err(), "{subject}");
        }
        assert!(
            vapid_authorization("ftp://x/", "mailto:a@b.c", &key, NOW)
                .unwrap_err()
                .to_string()
                .starts_with("push endpoint")
        );
        assert!(vapid_authorization(ENDPOINT, "mailto:a@b.c", &key, i64::MAX).is_err());
        assert!(vapid_authorization(ENDPOINT, "MAILTO:a@b.c", &key, NOW).is_ok());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn round_trip_random_keys(
            ua_seed in any::<[u8; 32]>(),
            as_seed in any::<[u8; 32]>(),
            auth in any::<[u8; 16]>(),
            salt in any::<[u8; 16]>(),
            plaintext in proptest::collection::vec(any::<u8>(), 0..=MAX_PLAINTEXT),
        ) {
            let (Ok(ua), Ok(as_key)) = (SecretKey::from_slice(&ua_seed), SecretKey::from_slice(&as_seed)) else {
                return Ok(());
            };
            let sub = sub_for(&ua, auth);
            let body = encrypt(&plaintext, &sub, &as_key, &salt).unwrap();
            prop_assert_eq!(body.len(), 86 + plaintext.len() + 17);
            prop_assert_eq!(decrypt(&body, &ua, &auth).unwrap(), plaintext);
        }

        #[test]
        fn multi_record_round_trip(
            rs in 18u32..120,
            plaintext in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let ua = secret(3);
            let body = encrypt_records(&plaintext, &sub_for(&ua, [1; 16]).p256dh, &[1; 16], &secret(4), &[2; 16], rs)
                .unwrap();
            prop_assert_eq!(decrypt(&body, &ua, &[1; 16]).unwrap(), plaintext);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decrypt_never_panics_on_garbage(body in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert!(decrypt(&body, &secret(3), &[1; 16]).is_err());
        }

        #[test]
        fn decrypt_never_panics_on_mutations(
            index in any::<proptest::sample::Index>(),
            byte in any::<u8>(),
            cut in any::<proptest::sample::Index>(),
            truncate in any::<bool>(),
        ) {
            let ua = secret(3);
            let sub = sub_for(&ua, [1; 16]);
            let plaintext = b"a message long enough to need two records of forty bytes";
            let body = encrypt_records(plaintext, &sub.p256dh, &sub.auth, &secret(4), &[2; 16], 40).unwrap();
            let mut mutated = body.clone();
            mutated[index.index(body.len())] = byte;
            if truncate {
                mutated.truncate(cut.index(body.len()));
            }
            // Changing rs can leave a body that still decrypts; otherwise any change must be caught.
            if let Ok(plain) = decrypt(&mutated, &ua, &sub.auth) {
                prop_assert_eq!(plain, plaintext.to_vec());
            }
        }

        #[test]
        fn parsers_never_panic(s in ".*", now in any::<i64>()) {
            let _ = parse_subscription(&s);
            let _ = origin(&s);
            let _ = verify_vapid(&s, ENDPOINT, now);
            let _ = verify_vapid(&format!("vapid t={s}, k={s}"), &s, now);
        }
    }
}
