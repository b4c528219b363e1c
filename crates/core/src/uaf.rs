//! FIDO UAF 1.1 server side (docs/fido.md, "UAF") for ECDSA P-256 authenticators:
//! registration and authentication requests with policies of accepted AAIDs, final
//! challenge parameters checked against the app ID and facet IDs, TLV assertions (KRD and
//! SignedData), basic surrogate and basic full attestation, counters, deregistration.

use countersign_proto::uaf::{
    self, Attestation, FinalChallengeParams, Header, MatchCriteria, Policy, Request, Response,
};
use std::collections::BTreeMap;

use countersign_proto::{b64u_decode, b64u_encode};
use crypto_glue::traits::DecodeDer;
use crypto_glue::x509::Certificate;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginOutput;
use crate::methods::Method;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::Tenant;
use crate::user::User;

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

impl Core {
    /// The tenant's TrustedFacets list (UAF 1.1 AppID and Facet specification): what a
    /// FIDO UAF client fetches from the policy's app ID to learn which facets may use it.
    pub async fn uaf_trusted_facets(&self, domain: &str) -> Result<Value, CoreError> {
        let tenant = self.tenant(domain).await?;
        let rp = self.relying_party(&tenant).await?;
        let p = Self::uaf_policy(&rp)?;
        Ok(serde_json::json!({"trustedFacets": [{"version": uaf::UPV, "ids": p.facet_ids}]}))
    }

    fn uaf_policy(rp: &crate::fido::RelyingParty) -> Result<&UafPolicy, CoreError> {
        rp.uaf.as_ref().ok_or_else(|| {
            CoreError::refused(Refusal::Conflict, RefusalCode::UafNotConfigured, "the relying party has no UAF policy")
        })
    }

    async fn uaf_registrations(&self, user: &User) -> Result<Vec<UafRegistration>, CoreError> {
        let mut out = Vec::new();
        for doc in self.store.user_uaf_registrations(&user.id).await? {
            out.push(serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged UAF registration".into()))?);
        }
        Ok(out)
    }

    /// The UAF registration request message (and the ceremony state).
    pub(crate) async fn uaf_registration_request(
        &self,
        rp: &crate::fido::RelyingParty,
        user: &User,
        request_id: &str,
        challenge: &str,
    ) -> Result<Value, CoreError> {
        let p = Self::uaf_policy(rp)?;
        let req = Request {
            header: header("Reg", Some(p.app_id.clone()), Some(request_id)),
            challenge: challenge.to_owned(),
            username: Some(user.user_id.as_str().to_owned()),
            transaction: None,
            policy: Policy {
                accepted: vec![vec![MatchCriteria { aaid: Some(p.accepted_aaids.clone()), key_ids: None }]],
                disallowed: None,
            },
        };
        serde_json::to_value(vec![req]).map_err(|e| CoreError::Internal(e.to_string()))
    }

    /// The UAF authentication request message.
    pub(crate) async fn uaf_authentication_request(
        &self,
        rp: &crate::fido::RelyingParty,
        user: &User,
        request_id: &str,
        challenge: &str,
        message: Option<&str>,
    ) -> Result<Value, CoreError> {
        let p = Self::uaf_policy(rp)?;
        let regs = self.uaf_registrations(user).await?;
        if regs.is_empty() {
            return Err(refused(RefusalCode::NoFidoAuthenticator, "the user has no registered UAF authenticator"));
        }
        let accepted = regs
            .iter()
            .filter(|r| p.accepted_aaids.contains(&r.aaid))
            .map(|r| vec![MatchCriteria { aaid: Some(vec![r.aaid.clone()]), key_ids: Some(vec![r.key_id.clone()]) }])
            .collect();
        let req = Request {
            header: header("Auth", Some(p.app_id.clone()), Some(request_id)),
            challenge: challenge.to_owned(),
            username: None,
            transaction: message.map(|m| {
                vec![uaf::Transaction { content_type: "text/plain".into(), content: b64u_encode(m.as_bytes()) }]
            }),
            policy: Policy { accepted, disallowed: None },
        };
        serde_json::to_value(vec![req]).map_err(|e| CoreError::Internal(e.to_string()))
    }

    /// Finish a UAF registration; the stored registration's (AAID, key ID).
    pub(crate) async fn uaf_register(
        &self,
        rp: &crate::fido::RelyingParty,
        tenant: &Tenant,
        user: &User,
        c: &UafCeremony,
        response: &Value,
    ) -> Result<(String, String), CoreError> {
        let p = Self::uaf_policy(rp)?;
        let (r, fch) = response_and_fcp(response, "Reg", p, &c.challenge)?;
        let a =
            uaf::parse_reg_assertion(&assertion_bytes(&r)?).map_err(|e| refused(RefusalCode::UafBadAssertion, e.0))?;
        let k = &a.krd;
        if !p.accepted_aaids.contains(&k.aaid) {
            return Err(refused(
                RefusalCode::UafAaidNotAccepted,
                format!("the policy does not accept authenticator {}", k.aaid),
            ));
        }
        if !bool::from(k.final_challenge_hash.as_slice().ct_eq(&fch)) {
            return Err(refused(
                RefusalCode::UafBadAssertion,
                "the assertion is bound to other final challenge parameters",
            ));
        }
        let key = public_key(k.pub_key_alg, &k.pub_key)
            .ok_or_else(|| refused(RefusalCode::UafBadAssertion, "the public key is not a P-256 key"))?;
        let (kind, ok) = match &a.attestation {
            Attestation::Surrogate { signature } => {
                ("basic_surrogate", verify_sig(&key, k.sign_alg, &a.krd_raw, signature))
            }
            Attestation::Full { signature, certs } => {
                let att_key = certs.first().and_then(|der| {
                    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
                    VerifyingKey::from_sec1_bytes(&cert.public_key().subject_public_key.data).ok()
                });
                ("basic_full", att_key.is_some_and(|ak| verify_sig(&ak, k.sign_alg, &a.krd_raw, signature)))
            }
        };
        if !ok {
            return Err(refused(RefusalCode::UafBadAttestation, "the attestation signature does not verify"));
        }
        if p.attestation_root_certificates.contains_key(&k.aaid) {
            let now =
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(self.clock.now().millis().unsigned_abs());
            let trusted = match &a.attestation {
                Attestation::Full { certs, .. } => p.chain_trusted(&k.aaid, certs, now),
                Attestation::Surrogate { .. } => false,
            };
            if !trusted {
                return Err(refused(
                    RefusalCode::UafAttestationNotTrusted,
                    format!("authenticator {} must attest with a certificate chaining to its vendor's root", k.aaid),
                ));
            }
        }
        let key_id = b64u_encode(&k.key_id);
        let reg = UafRegistration {
            aaid: k.aaid.clone(),
            key_id: key_id.clone(),
            public_key: b64u_encode(&key.to_encoded_point(false).to_bytes()),
            sign_counter: k.sign_counter,
            reg_counter: k.reg_counter,
            attestation: kind.into(),
            created_at: self.clock.now().millis(),
        };
        let doc = serde_json::to_string(&reg).map_err(|e| CoreError::Internal(e.to_string()))?;
        match self.store.save_uaf_registration(&tenant.id, &user.id, &reg.aaid, &key_id, &doc, self.clock.now()).await {
            Ok(()) => Ok((reg.aaid, key_id)),
            Err(crate::store::StoreError::Conflict) => Err(refused(
                RefusalCode::UafKeyTaken,
                "this authenticator key is registered to another user of the relying party",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// Finish the UAF authentication of ceremony `request_id`: the session.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn uaf_login(
        &self,
        rp: &crate::fido::RelyingParty,
        tenant: &Tenant,
        user: &User,
        c: &UafCeremony,
        response: &Value,
        session_id: Option<String>,
        request_id: &str,
    ) -> Result<LoginOutput, CoreError> {
        let p = Self::uaf_policy(rp)?;
        let (r, fch) = response_and_fcp(response, "Auth", p, &c.challenge)?;
        let a =
            uaf::parse_auth_assertion(&assertion_bytes(&r)?).map_err(|e| refused(RefusalCode::UafBadAssertion, e.0))?;
        let s = &a.signed;
        let key_id = b64u_encode(&s.key_id);
        let doc = self.store.uaf_registration(&user.id, &s.aaid, &key_id).await?.ok_or_else(|| {
            refused(RefusalCode::FidoVerificationFailed, "the assertion names no authenticator registered to this user")
        })?;
        let mut reg: UafRegistration =
            serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged UAF registration".into()))?;
        if !bool::from(s.final_challenge_hash.as_slice().ct_eq(&fch)) {
            return Err(refused(
                RefusalCode::UafBadAssertion,
                "the assertion is bound to other final challenge parameters",
            ));
        }
        if let Some(text) = &c.transaction {
            let want: [u8; 32] = Sha256::digest(text.as_bytes()).into();
            if s.authentication_mode != 2 || !bool::from(s.transaction_content_hash.as_slice().ct_eq(&want[..])) {
                return Err(refused(RefusalCode::UafTransactionMismatch, "the user confirmed another text"));
            }
        }
        let key = b64u_decode(&reg.public_key).ok().and_then(|b| VerifyingKey::from_sec1_bytes(&b).ok());
        let key = key.ok_or_else(|| CoreError::Internal("damaged UAF key".into()))?;
        if !verify_sig(&key, s.sign_alg, &a.signed_raw, &a.signature) {
            return Err(refused(RefusalCode::FidoVerificationFailed, "the assertion's signature does not verify"));
        }
        if (s.sign_counter != 0 || reg.sign_counter != 0) && s.sign_counter <= reg.sign_counter {
            tracing::warn!(user = %user.id, aaid = %s.aaid, "UAF signature counter went backwards: possible clone");
            return Err(refused(
                RefusalCode::FidoCounterRegression,
                "the signature counter went backwards: the authenticator may have been cloned",
            ));
        }
        reg.sign_counter = s.sign_counter;
        let doc = serde_json::to_string(&reg).map_err(|e| CoreError::Internal(e.to_string()))?;
        let now = self.clock.now();
        self.store.save_uaf_registration(&tenant.id, &user.id, &s.aaid, &key_id, &doc, now).await?;
        self.accepted_session(tenant, user, "UAF".into(), Method::Uaf, session_id, Some(request_id)).await
    }

    /// Deregister a UAF authenticator (admin API): the deregistration request message for
    /// the client to pass to the authenticator.
    pub async fn uaf_deregister(
        &self,
        domain: &str,
        user_id: &str,
        aaid: &str,
        key_id: &str,
    ) -> Result<Value, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        if !self.store.delete_uaf_registration(&user.id, aaid, key_id).await? {
            return Err(CoreError::NotFound(Entity::Credential));
        }
        let app_id = self.relying_party_of(domain).await.ok().and_then(|rp| rp.uaf.map(|u| u.app_id));
        let msg = uaf::DeregistrationRequest {
            header: header("Dereg", app_id, None),
            authenticators: vec![uaf::DeregisterAuthenticator { aaid: aaid.to_owned(), key_id: key_id.to_owned() }],
        };
        serde_json::to_value(vec![msg]).map_err(|e| CoreError::Internal(e.to_string()))
    }

    /// A user's UAF registrations (admin API): `[{aaid, keyID, signCounter, attestation}]`.
    pub async fn uaf_registrations_of(&self, domain: &str, user_id: &str) -> Result<Vec<Value>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        Ok(self
            .uaf_registrations(&user)
            .await?
            .into_iter()
            .map(|r| serde_json::json!({"aaid": r.aaid, "keyID": r.key_id, "signCounter": r.sign_counter, "attestation": r.attestation}))
            .collect())
    }
}
