//! FIDO UAF 1.1 server side (docs/fido.md, "UAF") for ECDSA P-256 authenticators:
//! registration and authentication requests with policies of accepted AAIDs, final
//! challenge parameters checked against the app ID and facet IDs, TLV assertions (KRD and
//! SignedData), basic surrogate and basic full attestation, counters, deregistration.

mod ceremony;

use countersign_proto::uaf::{self, FinalChallengeParams, Header, Response};
use std::collections::BTreeMap;

use countersign_proto::b64u_decode;
use crypto_glue::traits::DecodeDer;
use crypto_glue::x509::Certificate;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::error::{CoreError, Refusal};
use crate::refusal::RefusalCode;

/// A tenant's UAF policy (part of its relying party).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UafPolicy {
    /// The application ID (`https://…`: where the trusted facets list is published).
    #[serde(rename = "appID")]
    pub app_id: String,
    /// Facet IDs allowed to use it (web origins, `android:apk-key-hash:…`, `ios:bundle-id:…`).
    #[serde(rename = "facetIDs")]
    pub facet_ids: Vec<String>,
    /// AAIDs accepted (`VVVV#MMMM`).
    pub accepted_aaids: Vec<String>,
    /// Per accepted AAID, the `attestationRootCertificates` of its metadata statement
    /// (base64 DER, as the FIDO Metadata Service publishes them): a registration of that
    /// AAID must carry basic full attestation chaining to one of them.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attestation_root_certificates: BTreeMap<String, Vec<String>>,
}

/// A UAF registration as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct UafRegistration {
    aaid: String,
    key_id: String,
    public_key: String,
    sign_counter: u32,
    reg_counter: u32,
    attestation: String,
    created_at: i64,
}

/// A UAF ceremony's state.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UafCeremony {
    pub(crate) registration: bool,
    pub(crate) challenge: String,
    pub(crate) transaction: Option<String>,
}

fn refused(code: RefusalCode, message: impl Into<String>) -> CoreError {
    CoreError::Refused { kind: Refusal::Unprocessable, code, message: message.into(), attempts_left: None }
}

impl UafPolicy {
    /// Check the policy's fields.
    pub fn validate(&self) -> Result<(), CoreError> {
        if !self.app_id.starts_with("https://") || self.app_id.len() > 512 {
            return Err(CoreError::invalid("uaf.appID", "an https:// URL"));
        }
        if self.facet_ids.is_empty()
            || self.facet_ids.len() > 50
            || self.facet_ids.iter().any(|f| f.is_empty() || f.len() > 512)
        {
            return Err(CoreError::invalid("uaf.facetIDs", "1 to 50 facet IDs"));
        }
        let aaid_ok = |a: &str| {
            a.len() == 9
                && a.as_bytes().get(4) == Some(&b'#')
                && a.chars().filter(|c| *c != '#').all(|c| c.is_ascii_hexdigit())
        };
        if self.accepted_aaids.is_empty() || !self.accepted_aaids.iter().all(|a| aaid_ok(a)) {
            return Err(CoreError::invalid("uaf.acceptedAaids", "AAIDs such as ABCD#0001"));
        }
        for (aaid, roots) in &self.attestation_root_certificates {
            let field = format!("uaf.attestationRootCertificates.{aaid}");
            if !self.accepted_aaids.contains(aaid) {
                return Err(CoreError::invalid(field, "an AAID of acceptedAaids"));
            }
            if roots.is_empty() || roots.len() > 20 {
                return Err(CoreError::invalid(field, "1 to 20 base64 DER root certificates"));
            }
            for (i, r) in roots.iter().enumerate() {
                root_certificate(r)
                    .ok_or_else(|| CoreError::invalid(format!("{field}.{i}"), "a base64 DER certificate"))?;
            }
        }
        Ok(())
    }

    /// Whether an attestation certificate chain (leaf first) chains to one of the AAID's roots.
    fn chain_trusted(&self, aaid: &str, chain: &[Vec<u8>], now: std::time::SystemTime) -> bool {
        use webauthn_rs_core::proto::{AttestationCaListBuilder, ParsedAttestationData};
        let Some(roots) = self.attestation_root_certificates.get(aaid) else { return true };
        let mut list = AttestationCaListBuilder::new();
        for r in roots {
            let Some(cert) = root_certificate(r) else { return false };
            if list.insert_device_x509(cert, uuid::Uuid::nil(), aaid.to_owned(), BTreeMap::new()).is_err() {
                return false;
            }
        }
        let Ok(chain) = chain.iter().map(|der| Certificate::from_der(der)).collect::<Result<Vec<_>, _>>() else {
            return false;
        };
        let data = ParsedAttestationData::Basic(chain);
        matches!(webauthn_rs_core::attestation::verify_attestation_ca_chain(&data, &list.build(), now), Ok(Some(_)))
    }
}

fn root_certificate(b64: &str) -> Option<Certificate> {
    use base64::Engine;
    let der = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    Certificate::from_der(&der).ok()
}

/// A UAF 1.1 message header.
fn header(op: &str, app_id: Option<String>, request_id: Option<&str>) -> Header {
    Header { upv: uaf::UPV, op: op.into(), app_id, server_data: request_id.map(str::to_owned) }
}

fn verify_sig(key: &VerifyingKey, alg: u16, data: &[u8], sig: &[u8]) -> bool {
    let sig = match alg {
        uaf::ALG_SIGN_P256_RAW => Signature::from_slice(sig).ok(),
        uaf::ALG_SIGN_P256_DER => Signature::from_der(sig).ok(),
        _ => None,
    };
    sig.is_some_and(|s| key.verify(data, &s).is_ok())
}

fn public_key(alg: u16, bytes: &[u8]) -> Option<VerifyingKey> {
    use p256::pkcs8::DecodePublicKey;
    match alg {
        uaf::ALG_KEY_P256_RAW => VerifyingKey::from_sec1_bytes(bytes).ok(),
        uaf::ALG_KEY_P256_DER => VerifyingKey::from_public_key_der(bytes).ok(),
        _ => None,
    }
}

/// The one response of a UAF message (an array of one) and its checked final challenge.
fn response_and_fcp(
    v: &Value,
    op: &str,
    policy: &UafPolicy,
    challenge: &str,
) -> Result<(Response, Vec<u8>), CoreError> {
    let field = "fidoAuthenticator";
    let list: Vec<Response> = serde_json::from_value(v.clone())
        .or_else(|_| serde_json::from_value::<Response>(v.clone()).map(|r| vec![r]))
        .map_err(|_| CoreError::invalid(field, "a UAF response message"))?;
    let [r] = <[Response; 1]>::try_from(list).map_err(|_| CoreError::invalid(field, "exactly one UAF response"))?;
    if r.header.op != op || r.header.upv != uaf::UPV {
        return Err(refused(RefusalCode::UafWrongOperation, format!("expected a UAF 1.1 {op} response")));
    }
    let fcp_bytes = b64u_decode(&r.fc_params).map_err(|_| CoreError::invalid(field, "fcParams is not base64url"))?;
    let fcp: FinalChallengeParams = serde_json::from_slice(&fcp_bytes)
        .map_err(|_| CoreError::invalid(field, "fcParams is not FinalChallengeParams"))?;
    if fcp.app_id != policy.app_id {
        return Err(refused(RefusalCode::UafWrongAppId, "the response is for another app ID"));
    }
    if !bool::from(fcp.challenge.as_bytes().ct_eq(challenge.as_bytes())) {
        return Err(refused(RefusalCode::FidoWrongChallenge, "the response answers another challenge"));
    }
    if !policy.facet_ids.contains(&fcp.facet_id) {
        return Err(refused(RefusalCode::UafWrongFacet, "the calling facet is not among the trusted facet IDs"));
    }
    let fch = Sha256::digest(r.fc_params.as_bytes()).to_vec();
    Ok((r, fch))
}

fn assertion_bytes(r: &Response) -> Result<Vec<u8>, CoreError> {
    let a = r
        .assertions
        .iter()
        .find(|a| a.assertion_scheme == "UAFV1TLV")
        .ok_or_else(|| CoreError::invalid("fidoAuthenticator", "no UAFV1TLV assertion"))?;
    b64u_decode(&a.assertion).map_err(|_| CoreError::invalid("fidoAuthenticator", "the assertion is not base64url"))
}
