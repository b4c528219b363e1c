//! FIDO2/WebAuthn passkeys (docs/fido.md) on webauthn-rs-core: the relying party per
//! tenant with its policies (user verification, attestation trust anchors, AAGUIDs),
//! registration and authentication ceremonies whose state lives in the database (so any
//! node finishes what another began, once), credentials with counters and backup flags.

mod ceremony;
pub mod uaf;

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use utoipa::ToSchema;
use uuid::Uuid;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationCaList, AttestationCaListBuilder, AttestationFormat, AttestationMetadata, AuthenticationState,
    COSEAlgorithm, Credential, ExtnState, PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState,
    UserVerificationPolicy,
};

use crate::clock::Timestamp;
use crate::error::{CoreError, Refusal};
use crate::refusal::RefusalCode;
use crate::user::User;

/// How long a ceremony may take.
pub const CEREMONY_MS: i64 = 5 * 60 * 1000;

/// A tenant's relying party (`PUT /admin/v1/tenants/{domain}/fido`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RelyingParty {
    /// Whether FIDO logins are on for the tenant.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// The RP ID: the registrable domain the credentials are bound to.
    #[serde(rename = "rpID")]
    pub rp_id: String,
    /// Shown by authenticators.
    #[serde(default)]
    pub rp_name: Option<String>,
    /// Web origins allowed to use the credentials (`https://…`, or `http://localhost:…`).
    pub origins: Vec<String>,
    /// The least user verification a ceremony may ask for (default `required`).
    #[serde(default)]
    pub user_verification: UserVerification,
    /// Attestation conveyance: `none` (default) or `direct` (the model must be proven).
    #[serde(default)]
    pub attestation: Conveyance,
    /// Whether credentials must be discoverable (resident keys: sign-in without a user
    /// name): `discouraged` (default) or `required`.
    #[serde(default)]
    pub resident_key: ResidentKey,
    /// With `direct`: PEM root certificates attestations must chain to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attestation_trust_anchors: Vec<String>,
    /// With `direct`: the authenticator models (AAGUIDs) allowed; left out, any the anchors vouch for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_aaguids: Option<Vec<String>>,
    /// FIDO UAF 1.1: app ID, trusted facet IDs, accepted AAIDs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uaf: Option<crate::fido::uaf::UafPolicy>,
}

fn yes() -> bool {
    true
}

/// User verification, weakest first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// A touch is enough.
    Discouraged,
    /// Asked for; enforced for credentials registered with it.
    Preferred,
    /// A PIN or biometric every time.
    #[default]
    Required,
}

impl UserVerification {
    fn parse(s: &str) -> Option<UserVerification> {
        match s {
            "required" => Some(UserVerification::Required),
            "preferred" => Some(UserVerification::Preferred),
            "discouraged" => Some(UserVerification::Discouraged),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            UserVerification::Required => "required",
            UserVerification::Preferred => "preferred",
            UserVerification::Discouraged => "discouraged",
        }
    }

    pub(crate) fn policy(self) -> UserVerificationPolicy {
        match self {
            UserVerification::Required => UserVerificationPolicy::Required,
            UserVerification::Preferred => UserVerificationPolicy::Preferred,
            UserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
        }
    }
}

/// Resident-key (discoverable credential) requirement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ResidentKey {
    /// The authenticator chooses; server-side credentials are fine.
    #[default]
    Discouraged,
    /// The credential must be stored on the authenticator (a discoverable passkey).
    Required,
}

/// Attestation conveyance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Conveyance {
    /// No attestation: any authenticator, its model unproven.
    #[default]
    None,
    /// An attestation chaining to a trust anchor.
    Direct,
}

/// A ceremony in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ceremony {
    user_pk: String,
    tenant_id: String,
    expires_at: i64,
    registration: Option<RegistrationState>,
    authentication: Option<AuthenticationState>,
    #[serde(default)]
    uaf: Option<crate::fido::uaf::UafCeremony>,
}

/// A registered credential as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredCredential {
    name: String,
    created_at: i64,
    last_used_at: Option<i64>,
    /// Its counter and backup flags live in the credential (older documents also carry
    /// copies at this level, which are ignored).
    passkey: Key,
}

/// The credential as webauthn-rs stores it (`{"cred": …}`, the shape of its `Passkey`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Key {
    cred: Credential,
}

/// A credential as listed.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialView {
    /// The credential ID (base64url).
    #[serde(rename = "credentialID")]
    pub credential_id: String,
    /// Its name.
    pub name: String,
    /// When it was registered.
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// When it was last used.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_used_at: Option<Timestamp>,
    /// May be synchronised (a multi-device passkey).
    pub backup_eligible: bool,
    /// Is synchronised.
    pub backup_state: bool,
    /// The signature counter last seen.
    pub counter: u32,
    /// The authenticator model, when it was proven by an attestation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aaguid: Option<String>,
    /// Whether the user was verified (PIN, biometric) at registration.
    pub user_verified: bool,
    /// Whether the browser reported a discoverable credential (the `credProps` extension:
    /// a hint from the client, not signed by the authenticator); absent when not reported.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discoverable: Option<bool>,
}

/// `generate-fido-registration-request` / `generate-fido-authentication-request`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FidoRequestInput {
    /// `FIDO2` (`UAF11`: not yet).
    pub fido_protocol: String,
    /// `required`, `preferred` or `discouraged`; never weaker than the relying party's policy.
    #[serde(default)]
    pub user_verification: Option<String>,
    /// UAF only.
    #[serde(default)]
    pub authentication_message: Option<String>,
}

/// The answer of the generate calls.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FidoRequestOutput {
    /// The options to pass to `navigator.credentials.create` (registration).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub registration_request: Option<Value>,
    /// The options to pass to `navigator.credentials.get` (authentication).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub authentication_request: Option<Value>,
    /// The ceremony: name it when finishing.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// UAF status code; null for FIDO2.
    pub uaf_status_code: Option<u32>,
}

impl FidoRequestOutput {
    /// A UAF request message (`uafStatusCode` 1200: OK).
    fn uaf(request_id: String, message: Value, registration: bool) -> FidoRequestOutput {
        let (reg, auth) = if registration { (Some(message), None) } else { (None, Some(message)) };
        FidoRequestOutput {
            registration_request: reg,
            authentication_request: auth,
            request_id,
            uaf_status_code: Some(1200),
        }
    }
}

/// A FIDO challenge of the risk engine, in the login output.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FidoChallenge {
    /// `FIDO2` (the user has a passkey) or `UAF11` (a UAF registration only).
    pub fido_protocol: &'static str,
    /// As `generate-fido-authentication-request` answers it.
    #[schema(value_type = Object)]
    pub authentication_request: Value,
    /// UAF status code; null for FIDO2.
    pub uaf_status_code: Option<u32>,
}

/// `POST /v1/users/{userID@domain}/register-fido-authenticator`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FidoRegisterInput {
    /// The registration ceremony.
    #[serde(rename = "requestID")]
    pub request_id: String,
    /// `{"registrationResponse": <the PublicKeyCredential from navigator.credentials.create>}`.
    #[serde(deserialize_with = "crate::validate::json_object")]
    #[schema(value_type = Object)]
    pub fido_authenticator: Value,
    /// A name for the credential (default `passkey`).
    #[serde(default)]
    pub name: Option<String>,
}

pub(crate) fn fido_error(e: &WebauthnError) -> CoreError {
    use WebauthnError as W;
    let (code, message): (RefusalCode, String) = match e {
        W::InvalidRPOrigin => {
            (RefusalCode::FidoWrongOrigin, "the response comes from an origin this relying party does not allow".into())
        }
        W::InvalidRPIDHash => {
            (RefusalCode::FidoWrongRpId, "the authenticator signed for another relying party ID".into())
        }
        W::UserNotVerified => {
            (RefusalCode::FidoUserNotVerified, "user verification is required but was not performed".into())
        }
        W::MismatchedChallenge | W::ChallengeNotFound => {
            (RefusalCode::FidoWrongChallenge, "the response answers another challenge".into())
        }
        W::AttestationNotVerifiable
        | W::AttestationChainNotTrusted(_)
        | W::AttestationUntrustedAaguid
        | W::AttestationFormatMissingAaguid
        | W::AttestationCertificateTrustStoreEmpty
        | W::AttestationTrustFailure => (
            RefusalCode::FidoAttestationNotTrusted,
            "the authenticator's attestation does not prove a model this relying party allows".into(),
        ),
        W::CredentialPossibleCompromise => (
            RefusalCode::FidoCounterRegression,
            "the signature counter went backwards: the credential may have been cloned".into(),
        ),
        other => (RefusalCode::FidoVerificationFailed, format!("the FIDO response does not verify: {other}")),
    };
    CoreError::Refused { kind: Refusal::Unprocessable, code, message, attempts_left: None }
}

fn user_handle(user: &User) -> Uuid {
    Uuid::parse_str(&user.id).unwrap_or_else(|_| {
        use sha2::Digest;
        let h = sha2::Sha256::digest(user.id.as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&h[..16]);
        Uuid::from_bytes(b)
    })
}

fn b64u(bytes: &[u8]) -> String {
    countersign_proto::b64u_encode(bytes)
}

impl RelyingParty {
    fn validate(&self) -> Result<(), CoreError> {
        crate::validate::domain(&self.rp_id.to_ascii_lowercase())
            .or_else(|_| if self.rp_id == "localhost" { Ok(()) } else { Err(()) })
            .map_err(|_| CoreError::invalid("rpID", "a domain such as example.com"))?;
        if let Some(n) = &self.rp_name
            && (n.is_empty() || n.chars().count() > 100 || n.chars().any(char::is_control))
        {
            return Err(CoreError::invalid("rpName", "1 to 100 characters without control characters"));
        }
        if let Some(u) = &self.uaf {
            u.validate()?;
        }
        if self.origins.is_empty() || self.origins.len() > 20 {
            return Err(CoreError::invalid("origins", "1 to 20 origins"));
        }
        for (i, o) in self.origins.iter().enumerate() {
            let url = Url::parse(o).map_err(|_| CoreError::invalid(format!("origins.{i}"), "an origin URL"))?;
            let ok = url.scheme() == "https" || (url.scheme() == "http" && url.host_str() == Some("localhost"));
            if !ok {
                return Err(CoreError::invalid(format!("origins.{i}"), "https://…, or http://localhost:…"));
            }
            let host = url.domain().unwrap_or("");
            if host != self.rp_id && !host.ends_with(&format!(".{}", self.rp_id)) {
                return Err(CoreError::invalid(format!("origins.{i}"), "the rpID or one of its subdomains"));
            }
        }
        let direct = self.attestation == Conveyance::Direct;
        if direct && (self.attestation_trust_anchors.is_empty() || self.attestation_trust_anchors.len() > 50) {
            return Err(CoreError::invalid(
                "attestationTrustAnchors",
                "attestation direct needs 1 to 50 PEM root certificates",
            ));
        }
        if !direct && !self.attestation_trust_anchors.is_empty() {
            return Err(CoreError::invalid("attestationTrustAnchors", "trust anchors need attestation direct"));
        }
        for (i, pem) in self.attestation_trust_anchors.iter().enumerate() {
            AttestationCaList::try_from(pem.as_bytes())
                .map_err(|_| CoreError::invalid(format!("attestationTrustAnchors.{i}"), "a PEM certificate"))?;
        }
        if let Some(list) = &self.allowed_aaguids {
            if !direct {
                return Err(CoreError::invalid(
                    "allowedAaguids",
                    "authenticator models are only proven with attestation direct",
                ));
            }
            if list.is_empty() || list.len() > 100 {
                return Err(CoreError::invalid("allowedAaguids", "1 to 100 AAGUIDs"));
            }
            for (i, a) in list.iter().enumerate() {
                Uuid::parse_str(a)
                    .map_err(|_| CoreError::invalid(format!("allowedAaguids.{i}"), "an AAGUID (a UUID)"))?;
            }
        }
        Ok(())
    }

    /// The attestation trust store of a `direct` policy.
    fn ca_list(&self) -> Result<Option<AttestationCaList>, CoreError> {
        if self.attestation != Conveyance::Direct {
            return Ok(None);
        }
        let bad = || CoreError::Internal("the attestation trust anchors do not load".into());
        let list = match &self.allowed_aaguids {
            None => {
                let mut list = AttestationCaList::default();
                for pem in &self.attestation_trust_anchors {
                    list.union(&AttestationCaList::try_from(pem.as_bytes()).map_err(|_| bad())?);
                }
                list
            }
            Some(aaguids) => {
                let mut b = AttestationCaListBuilder::new();
                for pem in &self.attestation_trust_anchors {
                    for a in aaguids {
                        let aaguid = Uuid::parse_str(a).map_err(|_| bad())?;
                        b.insert_device_pem(pem.as_bytes(), aaguid, a.clone(), Default::default())
                            .map_err(|_| bad())?;
                    }
                }
                b.build()
            }
        };
        Ok(Some(list))
    }

    /// Whether a stored credential satisfies the current policy.
    fn allows(&self, cred: &Credential, ca_list: Option<&AttestationCaList>) -> bool {
        let Some(list) = ca_list else { return true };
        match cred.verify_attestation(list) {
            Ok(Some(ca)) => ca.blanket_allow() || aaguid_of(cred).is_some_and(|a| ca.aaguids().contains_key(&a)),
            _ => false,
        }
    }

    /// The ceremony's user verification: the request's, never weaker than the policy's.
    fn verification(&self, requested: Option<&str>) -> Result<UserVerification, CoreError> {
        let Some(r) = requested else { return Ok(self.user_verification) };
        let uv = UserVerification::parse(r)
            .ok_or_else(|| CoreError::invalid("userVerification", "required, preferred or discouraged"))?;
        if uv < self.user_verification {
            return Err(CoreError::invalid(
                "userVerification",
                format!("the relying party's policy requires at least {}", self.user_verification.as_str()),
            ));
        }
        Ok(uv)
    }

    pub(crate) fn webauthn(&self) -> Result<WebauthnCore, CoreError> {
        let bad = || CoreError::Internal("the relying party settings do not build".into());
        let origins = self.origins.iter().map(|o| Url::parse(o).map_err(|_| bad())).collect::<Result<Vec<_>, _>>()?;
        Ok(WebauthnCore::new_unsafe_experts_only(
            self.rp_name.as_deref().unwrap_or(&self.rp_id),
            &self.rp_id,
            origins,
            Duration::from_millis(CEREMONY_MS.unsigned_abs()),
            Some(false),
            Some(false),
        ))
    }
}

fn aaguid_of(cred: &Credential) -> Option<Uuid> {
    match &cred.attestation.metadata {
        AttestationMetadata::Packed { aaguid } | AttestationMetadata::Tpm { aaguid, .. } => Some(*aaguid),
        _ => None,
    }
}

fn view(id: &str, c: &StoredCredential) -> CredentialView {
    CredentialView {
        credential_id: id.to_owned(),
        name: c.name.clone(),
        created_at: Timestamp(c.created_at),
        last_used_at: c.last_used_at.map(Timestamp),
        backup_eligible: c.passkey.cred.backup_eligible,
        backup_state: c.passkey.cred.backup_state,
        counter: c.passkey.cred.counter,
        aaguid: aaguid_of(&c.passkey.cred).map(|a| a.to_string()),
        user_verified: c.passkey.cred.user_verified,
        discoverable: match &c.passkey.cred.extensions.cred_props {
            ExtnState::Set(p) | ExtnState::Unsolicited(p) | ExtnState::Unsigned(p) => p.rk,
            _ => None,
        },
    }
}

/// Feed hostile bytes to the WebAuthn response parsers — CBOR attestation objects with
/// their COSE keys, authenticator data, signatures — as a registration and as an
/// authentication for a fixed relying party, past the client data checks; true if
/// anything verified. For the property tests here and the `webauthn_responses` fuzz
/// target (`fuzz/`): whatever the bytes, it returns, never panics.
#[doc(hidden)]
pub fn verify_hostile_webauthn(attestation_object: &[u8], authenticator_data: &[u8], signature: &[u8]) -> bool {
    use webauthn_rs_core::proto::{
        AuthenticatorAssertionResponseRaw, AuthenticatorAttestationResponseRaw, COSEEC2Key, COSEKey, COSEKeyType,
        ECDSACurve, ParsedAttestation, ParsedAttestationData, RegisteredExtensions,
    };
    const ORIGIN: &str = "https://example.com";
    let rp = RelyingParty {
        enabled: true,
        rp_id: "example.com".into(),
        rp_name: None,
        origins: vec![ORIGIN.into()],
        user_verification: UserVerification::Discouraged,
        attestation: Conveyance::None,
        resident_key: ResidentKey::Discouraged,
        attestation_trust_anchors: Vec::new(),
        allowed_aaguids: None,
        uaf: None,
    };
    let Ok(wa) = rp.webauthn() else { return false };
    let client_data = |kind: &str, challenge: &[u8]| {
        serde_json::json!({"type": kind, "challenge": b64u(challenge), "origin": ORIGIN}).to_string().into_bytes()
    };
    let registered = wa
        .new_challenge_register_builder(b"hostile", "hostile", "hostile")
        .map(|b| b.user_verification_policy(UserVerificationPolicy::Discouraged_DO_NOT_USE))
        .and_then(|b| wa.generate_challenge_register(b))
        .and_then(|(ccr, state)| {
            let reg = RegisterPublicKeyCredential {
                id: "AAAA".into(),
                raw_id: vec![0, 0, 0],
                response: AuthenticatorAttestationResponseRaw {
                    attestation_object: attestation_object.to_vec(),
                    client_data_json: client_data("webauthn.create", ccr.public_key.challenge.as_ref()),
                    transports: None,
                },
                type_: "public-key".into(),
                extensions: Default::default(),
            };
            wa.register_credential(&reg, &state, None)
        })
        .is_ok();
    // A credential with a real P-256 public key (the point of scalar 1: the generator).
    use p256::elliptic_curve::sec1::ToEncodedPoint;
    let g = p256::AffinePoint::GENERATOR.to_encoded_point(false);
    let (Some(x), Some(y)) = (g.x(), g.y()) else { return registered };
    let cred = Credential {
        cred_id: vec![1u8; 16],
        cred: COSEKey {
            type_: COSEAlgorithm::ES256,
            key: COSEKeyType::EC_EC2(COSEEC2Key { curve: ECDSACurve::SECP256R1, x: x.to_vec(), y: y.to_vec() }),
        },
        counter: 0,
        transports: None,
        user_verified: false,
        backup_eligible: false,
        backup_state: false,
        registration_policy: UserVerificationPolicy::Discouraged_DO_NOT_USE,
        extensions: RegisteredExtensions::none(),
        attestation: ParsedAttestation { data: ParsedAttestationData::None, metadata: AttestationMetadata::None },
        attestation_format: AttestationFormat::None,
    };
    let authenticated = wa
        .new_challenge_authenticate_builder(vec![cred], Some(UserVerificationPolicy::Discouraged_DO_NOT_USE))
        .and_then(|b| wa.generate_challenge_authenticate(b))
        .and_then(|(rcr, state)| {
            let pkc = PublicKeyCredential {
                id: b64u(&[1u8; 16]),
                raw_id: vec![1u8; 16],
                response: AuthenticatorAssertionResponseRaw {
                    authenticator_data: authenticator_data.to_vec(),
                    client_data_json: client_data("webauthn.get", rcr.public_key.challenge.as_ref()),
                    signature: signature.to_vec(),
                    user_handle: None,
                },
                extensions: Default::default(),
                type_: "public-key".into(),
            };
            wa.authenticate_credential(&pkc, &state)
        })
        .is_ok();
    registered || authenticated
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    use super::verify_hostile_webauthn;

    /// A minimal CBOR writer for building near-valid attestation objects.
    fn head(major: u8, n: usize, out: &mut Vec<u8>) {
        let m = major << 5;
        match n {
            0..=23 => out.push(m | n as u8),
            24..=0xff => out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            }
            _ => {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            }
        }
    }

    fn text(s: &str, out: &mut Vec<u8>) {
        head(3, s.len(), out);
        out.extend(s.as_bytes());
    }

    fn bytes(b: &[u8], out: &mut Vec<u8>) {
        head(2, b.len(), out);
        out.extend(b);
    }

    /// `{"fmt": fmt, "attStmt": {"alg": -7, "sig": sig} (or {} without sig), "authData": auth_data}`.
    fn attestation_object(fmt: &str, sig: &[u8], auth_data: &[u8]) -> Vec<u8> {
        let mut o = Vec::new();
        head(5, 3, &mut o);
        text("fmt", &mut o);
        text(fmt, &mut o);
        text("attStmt", &mut o);
        if sig.is_empty() {
            head(5, 0, &mut o);
        } else {
            head(5, 2, &mut o);
            text("alg", &mut o);
            o.push(0x26); // -7
            text("sig", &mut o);
            bytes(sig, &mut o);
        }
        text("authData", &mut o);
        bytes(auth_data, &mut o);
        o
    }

    /// Authenticator data for example.com with attested credential data: `tail` follows
    /// the credential ID in place of the COSE key.
    fn auth_data(flags: u8, cred_id_len: u16, tail: &[u8]) -> Vec<u8> {
        let mut a = Sha256::digest(b"example.com").to_vec();
        a.push(flags | 0x41);
        a.extend([0, 0, 0, 1]);
        a.extend([0u8; 16]);
        a.extend(cred_id_len.to_be_bytes());
        a.extend(tail);
        a
    }

    #[test]
    fn the_hostile_input_harness_reaches_the_parsers() {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        // A well-formed `none` registration with an ES256 COSE key verifies: the harness
        // gets past the client data, so its refusals below come from the parsers.
        let g = p256::AffinePoint::GENERATOR.to_encoded_point(false);
        let mut cose = Vec::new();
        head(5, 5, &mut cose);
        cose.extend([0x01, 0x02, 0x03, 0x26, 0x20, 0x01]); // kty EC2, alg ES256, crv P-256
        cose.push(0x21);
        bytes(g.x().unwrap(), &mut cose);
        cose.push(0x22);
        bytes(g.y().unwrap(), &mut cose);
        let ad = auth_data(0, 4, &[[1u8, 2, 3, 4].as_slice(), &cose].concat());
        assert!(verify_hostile_webauthn(&attestation_object("none", &[], &ad), &[], &[]));
        // The same with the key cut short, or an unsigned assertion: refused.
        assert!(!verify_hostile_webauthn(&attestation_object("none", &[], &ad[..ad.len() - 1]), &[], &[]));
        assert!(!verify_hostile_webauthn(&[], &ad[..37], &[0x30, 0x00]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn arbitrary_bytes_never_verify_nor_panic(
            ao in proptest::collection::vec(any::<u8>(), 0..300),
            ad in proptest::collection::vec(any::<u8>(), 0..120),
            sig in proptest::collection::vec(any::<u8>(), 0..80),
        ) {
            prop_assert!(!verify_hostile_webauthn(&ao, &ad, &sig));
        }

        #[test]
        fn near_valid_attestation_objects_never_verify_nor_panic(
            fmt in prop_oneof![
                Just("none".to_owned()), Just("packed".to_owned()), Just("fido-u2f".to_owned()), Just("tpm".to_owned()),
                Just("android-key".to_owned()), Just("apple".to_owned()), "[a-z-]{0,12}",
            ],
            flags in any::<u8>(),
            cred_id_len in prop_oneof![0u16..80, any::<u16>()],
            tail in proptest::collection::vec(any::<u8>(), 0..200),
            sig in proptest::collection::vec(any::<u8>(), 0..80),
            cut in any::<prop::sample::Index>(),
        ) {
            let ad = auth_data(flags, cred_id_len, &tail);
            let ao = attestation_object(&fmt, &sig, &ad);
            let cut_ao = &ao[..cut.index(ao.len() + 1)];
            prop_assert!(!verify_hostile_webauthn(&ao, &ad, &sig));
            prop_assert!(!verify_hostile_webauthn(cut_ao, &ad[..cut.index(ad.len() + 1)], &sig));
        }
    }
}
