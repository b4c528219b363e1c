//! FIDO UAF 1.1 assertions (docs/fido.md, "UAF"): the TLV encoding (tag and length as
//! little-endian 16-bit numbers) of registration assertions (KRD and attestation) and
//! authentication assertions (SignedData and signature), shared by the server and the
//! reference authenticator's software UAF authenticator.

use std::collections::BTreeMap;

/// `TAG_UAFV1_REG_ASSERTION`.
pub const TAG_REG_ASSERTION: u16 = 0x3E01;
/// `TAG_UAFV1_AUTH_ASSERTION`.
pub const TAG_AUTH_ASSERTION: u16 = 0x3E02;
/// `TAG_UAFV1_KRD`.
pub const TAG_KRD: u16 = 0x3E03;
/// `TAG_UAFV1_SIGNED_DATA`.
pub const TAG_SIGNED_DATA: u16 = 0x3E04;
/// `TAG_ATTESTATION_CERT`.
pub const TAG_ATTESTATION_CERT: u16 = 0x2E05;
/// `TAG_SIGNATURE`.
pub const TAG_SIGNATURE: u16 = 0x2E06;
/// `TAG_ATTESTATION_BASIC_FULL`.
pub const TAG_ATTESTATION_BASIC_FULL: u16 = 0x3E07;
/// `TAG_ATTESTATION_BASIC_SURROGATE`.
pub const TAG_ATTESTATION_BASIC_SURROGATE: u16 = 0x3E08;
/// `TAG_KEYID`.
pub const TAG_KEYID: u16 = 0x2E09;
/// `TAG_FINAL_CHALLENGE_HASH`.
pub const TAG_FINAL_CHALLENGE_HASH: u16 = 0x2E0A;
/// `TAG_AAID`.
pub const TAG_AAID: u16 = 0x2E0B;
/// `TAG_PUB_KEY`.
pub const TAG_PUB_KEY: u16 = 0x2E0C;
/// `TAG_COUNTERS`.
pub const TAG_COUNTERS: u16 = 0x2E0D;
/// `TAG_ASSERTION_INFO`.
pub const TAG_ASSERTION_INFO: u16 = 0x2E0E;
/// `TAG_AUTHENTICATOR_NONCE`.
pub const TAG_AUTHENTICATOR_NONCE: u16 = 0x2E0F;
/// `TAG_TRANSACTION_CONTENT_HASH`.
pub const TAG_TRANSACTION_CONTENT_HASH: u16 = 0x2E10;

/// `UAF_ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW`: r ‖ s, 64 bytes.
pub const ALG_SIGN_P256_RAW: u16 = 0x0001;
/// `UAF_ALG_SIGN_SECP256R1_ECDSA_SHA256_DER`.
pub const ALG_SIGN_P256_DER: u16 = 0x0002;
/// `UAF_ALG_KEY_ECC_X962_RAW`: the uncompressed point, 65 bytes.
pub const ALG_KEY_P256_RAW: u16 = 0x0100;
/// `UAF_ALG_KEY_ECC_X962_DER`: SubjectPublicKeyInfo.
pub const ALG_KEY_P256_DER: u16 = 0x0101;

/// Why TLV data was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlvError(pub String);

impl std::fmt::Display for TlvError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn err(m: impl Into<String>) -> TlvError {
    TlvError(m.into())
}

/// One TLV element as it lies in the input: tag, value, and the whole element's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element<'a> {
    /// The tag.
    pub tag: u16,
    /// The value.
    pub value: &'a [u8],
    /// Tag, length and value: what UAF signatures cover.
    pub raw: &'a [u8],
}

/// Split `data` into its elements (all of it; no trailing bytes).
pub fn elements(mut data: &[u8]) -> Result<Vec<Element<'_>>, TlvError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        if out.len() >= 64 {
            return Err(err("too many TLV elements"));
        }
        let (head, _) = data.split_at_checked(4).ok_or_else(|| err("a TLV header is cut short"))?;
        let tag = u16::from_le_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_le_bytes([head[2], head[3]]));
        let (raw, rest) = data.split_at_checked(4 + len).ok_or_else(|| err(format!("TLV 0x{tag:04X} is cut short")))?;
        out.push(Element { tag, value: &raw[4..], raw });
        data = rest;
    }
    Ok(out)
}

/// The elements of `data` by tag; a repeated tag (other than the attestation certificate)
/// is refused.
pub fn by_tag(data: &[u8]) -> Result<BTreeMap<u16, Element<'_>>, TlvError> {
    let mut m = BTreeMap::new();
    for e in elements(data)? {
        if e.tag != TAG_ATTESTATION_CERT && m.contains_key(&e.tag) {
            return Err(err(format!("TLV 0x{:04X} appears twice", e.tag)));
        }
        m.entry(e.tag).or_insert(e);
    }
    Ok(m)
}

/// Encode one element.
pub fn encode(tag: u16, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + value.len());
    out.extend(tag.to_le_bytes());
    out.extend((value.len().min(usize::from(u16::MAX)) as u16).to_le_bytes());
    out.extend(value);
    out
}

fn need<'a>(m: &BTreeMap<u16, Element<'a>>, tag: u16, what: &str) -> Result<&'a [u8], TlvError> {
    m.get(&tag).map(|e| e.value).ok_or_else(|| err(format!("{what} (0x{tag:04X}) is missing")))
}

fn u16_at(b: &[u8], i: usize) -> Result<u16, TlvError> {
    b.get(i..i + 2).map(|s| u16::from_le_bytes([s[0], s[1]])).ok_or_else(|| err("assertion info is cut short"))
}

fn u32_at(b: &[u8], i: usize) -> Result<u32, TlvError> {
    b.get(i..i + 4).map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]])).ok_or_else(|| err("counters are cut short"))
}

/// The key registration data of a registration assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Krd {
    /// The authenticator's AAID (`VVVV#MMMM`).
    pub aaid: String,
    /// Authenticator version.
    pub authenticator_version: u16,
    /// Signature algorithm and encoding.
    pub sign_alg: u16,
    /// Public key algorithm and encoding.
    pub pub_key_alg: u16,
    /// SHA-256 of the final challenge parameters.
    pub final_challenge_hash: Vec<u8>,
    /// The key handle's ID.
    pub key_id: Vec<u8>,
    /// Signature counter.
    pub sign_counter: u32,
    /// Registration counter.
    pub reg_counter: u32,
    /// The new public key.
    pub pub_key: Vec<u8>,
}

/// How a registration is attested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attestation {
    /// Signed by the new key itself.
    Surrogate {
        /// The signature over the KRD element.
        signature: Vec<u8>,
    },
    /// Signed by an attestation key whose certificate chain is given (leaf first).
    Full {
        /// The signature over the KRD element.
        signature: Vec<u8>,
        /// DER certificates.
        certs: Vec<Vec<u8>>,
    },
}

/// A parsed registration assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegAssertion {
    /// The key registration data.
    pub krd: Krd,
    /// The KRD element's bytes (what the attestation signs).
    pub krd_raw: Vec<u8>,
    /// The attestation.
    pub attestation: Attestation,
}

/// Read a `TAG_UAFV1_REG_ASSERTION`.
pub fn parse_reg_assertion(data: &[u8]) -> Result<RegAssertion, TlvError> {
    let outer = by_tag(data)?;
    let inner = need(&outer, TAG_REG_ASSERTION, "the registration assertion")?;
    let parts = by_tag(inner)?;
    let krd_el = parts.get(&TAG_KRD).ok_or_else(|| err("the KRD is missing"))?;
    let k = by_tag(krd_el.value)?;
    let info = need(&k, TAG_ASSERTION_INFO, "assertion info")?;
    if info.len() != 7 {
        return Err(err("registration assertion info is 7 bytes"));
    }
    let counters = need(&k, TAG_COUNTERS, "counters")?;
    let aaid = String::from_utf8(need(&k, TAG_AAID, "the AAID")?.to_vec()).map_err(|_| err("the AAID is not text"))?;
    let krd = Krd {
        aaid,
        authenticator_version: u16_at(info, 0)?,
        sign_alg: u16_at(info, 3)?,
        pub_key_alg: u16_at(info, 5)?,
        final_challenge_hash: need(&k, TAG_FINAL_CHALLENGE_HASH, "the final challenge hash")?.to_vec(),
        key_id: need(&k, TAG_KEYID, "the key ID")?.to_vec(),
        sign_counter: u32_at(counters, 0)?,
        reg_counter: u32_at(counters, 4)?,
        pub_key: need(&k, TAG_PUB_KEY, "the public key")?.to_vec(),
    };
    let attestation = if let Some(full) = parts.get(&TAG_ATTESTATION_BASIC_FULL) {
        let a = elements(full.value)?;
        let signature =
            a.iter().find(|e| e.tag == TAG_SIGNATURE).ok_or_else(|| err("the attestation signature is missing"))?;
        let certs: Vec<Vec<u8>> =
            a.iter().filter(|e| e.tag == TAG_ATTESTATION_CERT).map(|e| e.value.to_vec()).collect();
        if certs.is_empty() {
            return Err(err("basic full attestation carries a certificate"));
        }
        Attestation::Full { signature: signature.value.to_vec(), certs }
    } else if let Some(s) = parts.get(&TAG_ATTESTATION_BASIC_SURROGATE) {
        let a = by_tag(s.value)?;
        Attestation::Surrogate { signature: need(&a, TAG_SIGNATURE, "the attestation signature")?.to_vec() }
    } else {
        return Err(err("the attestation is missing or of an unknown kind"));
    };
    Ok(RegAssertion { krd, krd_raw: krd_el.raw.to_vec(), attestation })
}

/// The signed data of an authentication assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedData {
    /// The AAID.
    pub aaid: String,
    /// Authentication mode: 1 user verified, 2 with a transaction confirmed.
    pub authentication_mode: u8,
    /// Signature algorithm and encoding.
    pub sign_alg: u16,
    /// The authenticator's nonce.
    pub nonce: Vec<u8>,
    /// SHA-256 of the final challenge parameters.
    pub final_challenge_hash: Vec<u8>,
    /// SHA-256 of the transaction text shown (empty when none).
    pub transaction_content_hash: Vec<u8>,
    /// The key handle's ID.
    pub key_id: Vec<u8>,
    /// Signature counter.
    pub sign_counter: u32,
}

/// A parsed authentication assertion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthAssertion {
    /// The signed data.
    pub signed: SignedData,
    /// The SignedData element's bytes (what the signature covers).
    pub signed_raw: Vec<u8>,
    /// The signature.
    pub signature: Vec<u8>,
}

/// Read a `TAG_UAFV1_AUTH_ASSERTION`.
pub fn parse_auth_assertion(data: &[u8]) -> Result<AuthAssertion, TlvError> {
    let outer = by_tag(data)?;
    let inner = need(&outer, TAG_AUTH_ASSERTION, "the authentication assertion")?;
    let parts = by_tag(inner)?;
    let sd = parts.get(&TAG_SIGNED_DATA).ok_or_else(|| err("the signed data is missing"))?;
    let s = by_tag(sd.value)?;
    let info = need(&s, TAG_ASSERTION_INFO, "assertion info")?;
    if info.len() != 5 {
        return Err(err("authentication assertion info is 5 bytes"));
    }
    let aaid = String::from_utf8(need(&s, TAG_AAID, "the AAID")?.to_vec()).map_err(|_| err("the AAID is not text"))?;
    let signed = SignedData {
        aaid,
        authentication_mode: info[2],
        sign_alg: u16_at(info, 3)?,
        nonce: need(&s, TAG_AUTHENTICATOR_NONCE, "the authenticator nonce")?.to_vec(),
        final_challenge_hash: need(&s, TAG_FINAL_CHALLENGE_HASH, "the final challenge hash")?.to_vec(),
        transaction_content_hash: s.get(&TAG_TRANSACTION_CONTENT_HASH).map(|e| e.value.to_vec()).unwrap_or_default(),
        key_id: need(&s, TAG_KEYID, "the key ID")?.to_vec(),
        sign_counter: u32_at(need(&s, TAG_COUNTERS, "counters")?, 0)?,
    };
    Ok(AuthAssertion {
        signed,
        signed_raw: sd.raw.to_vec(),
        signature: need(&parts, TAG_SIGNATURE, "the signature")?.to_vec(),
    })
}

/// Build a registration KRD element.
pub fn krd(k: &Krd) -> Vec<u8> {
    let mut info = k.authenticator_version.to_le_bytes().to_vec();
    info.push(1);
    info.extend(k.sign_alg.to_le_bytes());
    info.extend(k.pub_key_alg.to_le_bytes());
    let mut counters = k.sign_counter.to_le_bytes().to_vec();
    counters.extend(k.reg_counter.to_le_bytes());
    let body = [
        encode(TAG_AAID, k.aaid.as_bytes()),
        encode(TAG_ASSERTION_INFO, &info),
        encode(TAG_FINAL_CHALLENGE_HASH, &k.final_challenge_hash),
        encode(TAG_KEYID, &k.key_id),
        encode(TAG_COUNTERS, &counters),
        encode(TAG_PUB_KEY, &k.pub_key),
    ]
    .concat();
    encode(TAG_KRD, &body)
}

/// Build a SignedData element.
pub fn signed_data(s: &SignedData) -> Vec<u8> {
    let mut info = 0x0100u16.to_le_bytes().to_vec();
    info.push(s.authentication_mode);
    info.extend(s.sign_alg.to_le_bytes());
    let mut body = vec![
        encode(TAG_AAID, s.aaid.as_bytes()),
        encode(TAG_ASSERTION_INFO, &info),
        encode(TAG_AUTHENTICATOR_NONCE, &s.nonce),
        encode(TAG_FINAL_CHALLENGE_HASH, &s.final_challenge_hash),
    ];
    if !s.transaction_content_hash.is_empty() {
        body.push(encode(TAG_TRANSACTION_CONTENT_HASH, &s.transaction_content_hash));
    }
    body.push(encode(TAG_KEYID, &s.key_id));
    body.push(encode(TAG_COUNTERS, &s.sign_counter.to_le_bytes()));
    encode(TAG_SIGNED_DATA, &body.concat())
}

// ---- UAF protocol messages (JSON) -------------------------------------------------------

use serde::{Deserialize, Serialize};

/// `{"major": 1, "minor": 1}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Major.
    pub major: u16,
    /// Minor.
    pub minor: u16,
}

/// UAF 1.1.
pub const UPV: Version = Version { major: 1, minor: 1 };

/// The header of every UAF message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// Protocol version.
    pub upv: Version,
    /// `Reg`, `Auth` or `Dereg`.
    pub op: String,
    /// The application ID (the facets list URL).
    #[serde(rename = "appID", default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// Opaque server data (the request ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_data: Option<String>,
}

/// Which authenticators a policy matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MatchCriteria {
    /// AAIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aaid: Option<Vec<String>>,
    /// Key IDs (base64url).
    #[serde(rename = "keyIDs", default, skip_serializing_if = "Option::is_none")]
    pub key_ids: Option<Vec<String>>,
}

/// A policy: one of the `accepted` sets, none of the `disallowed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Accepted combinations.
    pub accepted: Vec<Vec<MatchCriteria>>,
    /// Refused authenticators.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disallowed: Option<Vec<MatchCriteria>>,
}

/// A transaction to confirm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Transaction {
    /// `text/plain`.
    pub content_type: String,
    /// The text, base64url.
    pub content: String,
}

/// A registration or authentication request (the message is an array of one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// The header.
    pub header: Header,
    /// The server's challenge.
    pub challenge: String,
    /// Registration: the user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Authentication: what the user confirms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<Vec<Transaction>>,
    /// Which authenticators may answer.
    pub policy: Policy,
}

/// What the client binds the assertion to; hashed into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalChallengeParams {
    /// The application ID.
    #[serde(rename = "appID")]
    pub app_id: String,
    /// The server's challenge.
    pub challenge: String,
    /// The caller's facet (web origin or app facet).
    #[serde(rename = "facetID")]
    pub facet_id: String,
    /// TLS channel binding (empty here).
    #[serde(rename = "channelBinding")]
    pub channel_binding: serde_json::Value,
}

/// One assertion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticatorAssertion {
    /// `UAFV1TLV`.
    pub assertion_scheme: String,
    /// The TLV assertion, base64url.
    pub assertion: String,
}

/// A registration or authentication response (an array of one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// The header.
    pub header: Header,
    /// The final challenge parameters, base64url of their JSON.
    pub fc_params: String,
    /// The assertions.
    pub assertions: Vec<AuthenticatorAssertion>,
}

/// One authenticator to deregister.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeregisterAuthenticator {
    /// Its AAID.
    pub aaid: String,
    /// Its key ID (base64url).
    #[serde(rename = "keyID")]
    pub key_id: String,
}

/// A deregistration request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeregistrationRequest {
    /// The header.
    pub header: Header,
    /// What to forget.
    pub authenticators: Vec<DeregisterAuthenticator>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    fn sample_krd() -> Krd {
        Krd {
            aaid: "ABCD#0001".into(),
            authenticator_version: 0x0100,
            sign_alg: ALG_SIGN_P256_RAW,
            pub_key_alg: ALG_KEY_P256_RAW,
            final_challenge_hash: vec![7; 32],
            key_id: vec![1, 2, 3],
            sign_counter: 0,
            reg_counter: 5,
            pub_key: vec![4; 65],
        }
    }

    #[test]
    fn registration_assertions_round_trip() {
        let k = sample_krd();
        let krd_el = krd(&k);
        let att = encode(TAG_ATTESTATION_BASIC_SURROGATE, &encode(TAG_SIGNATURE, &[9; 64]));
        let data = encode(TAG_REG_ASSERTION, &[krd_el.clone(), att].concat());
        let r = parse_reg_assertion(&data).unwrap();
        assert_eq!(r.krd, k);
        assert_eq!(r.krd_raw, krd_el);
        assert_eq!(r.attestation, Attestation::Surrogate { signature: vec![9; 64] });
        // Little-endian tags: the first bytes are 01 3E.
        assert_eq!(&data[..2], &[0x01, 0x3E]);
    }

    #[test]
    fn authentication_assertions_round_trip() {
        let s = SignedData {
            aaid: "ABCD#0001".into(),
            authentication_mode: 2,
            sign_alg: ALG_SIGN_P256_RAW,
            nonce: vec![3; 8],
            final_challenge_hash: vec![1; 32],
            transaction_content_hash: vec![2; 32],
            key_id: vec![5; 32],
            sign_counter: 9,
        };
        let sd = signed_data(&s);
        let data = encode(TAG_AUTH_ASSERTION, &[sd.clone(), encode(TAG_SIGNATURE, &[8; 64])].concat());
        let a = parse_auth_assertion(&data).unwrap();
        assert_eq!((a.signed, a.signed_raw, a.signature), (s, sd, vec![8; 64]));
    }

    #[test]
    fn damaged_input_is_refused_by_name() {
        assert!(elements(&[0x01, 0x3E, 0x10]).unwrap_err().0.contains("header"));
        assert!(elements(&[0x01, 0x3E, 0x10, 0x00, 1]).unwrap_err().0.contains("cut short"));
        let twice = [encode(TAG_AAID, b"a"), encode(TAG_AAID, b"b")].concat();
        assert!(by_tag(&twice).is_err());
        assert!(parse_reg_assertion(&encode(TAG_REG_ASSERTION, &[])).unwrap_err().0.contains("KRD"));
    }

    proptest! {
        #[test]
        fn parsing_never_panics(data in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = parse_reg_assertion(&data);
            let _ = parse_auth_assertion(&data);
            let _ = elements(&data);
        }

        #[test]
        fn parsing_mutated_assertions_never_panics(i in 0usize..200, b in any::<u8>()) {
            let k = sample_krd();
            let mut data = encode(TAG_REG_ASSERTION, &[krd(&k), encode(TAG_ATTESTATION_BASIC_SURROGATE, &encode(TAG_SIGNATURE, &[9; 64]))].concat());
            let n = data.len();
            data[i % n] = b;
            let _ = parse_reg_assertion(&data);
        }
    }
}
