//! FIDO2/WebAuthn passkeys (docs/fido.md) on webauthn-rs-core: the relying party per
//! tenant with its policies (user verification, attestation trust anchors, AAGUIDs),
//! registration and authentication ceremonies whose state lives in the database (so any
//! node finishes what another began, once), credentials with counters and backup flags.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use utoipa::ToSchema;
use uuid::Uuid;
use webauthn_rs_core::WebauthnCore;
use webauthn_rs_core::error::WebauthnError;
use webauthn_rs_core::proto::{
    AttestationCaList, AttestationCaListBuilder, AttestationConveyancePreference, AttestationFormat,
    AttestationMetadata, AuthenticationState, COSEAlgorithm, CredProtect, Credential, CredentialProtectionPolicy,
    ExtnState, PublicKeyCredential, RegisterPublicKeyCredential, RegistrationState, RequestRegistrationExtensions,
    UserVerificationPolicy,
};

use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginOutput;
use crate::methods::Method;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::SessionState;
use crate::tenant::Tenant;
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
    pub uaf: Option<crate::uaf::UafPolicy>,
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

    fn policy(self) -> UserVerificationPolicy {
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
    uaf: Option<crate::uaf::UafCeremony>,
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
    #[schema(value_type = Object)]
    pub fido_authenticator: Value,
    /// A name for the credential (default `passkey`).
    #[serde(default)]
    pub name: Option<String>,
}

fn fido_error(e: &WebauthnError) -> CoreError {
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

    fn webauthn(&self) -> Result<WebauthnCore, CoreError> {
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

impl Core {
    /// Set the tenant's relying party (admin API).
    pub async fn set_relying_party(&self, domain: &str, rp: RelyingParty) -> Result<RelyingParty, CoreError> {
        let tenant = self.tenant(domain).await?;
        rp.validate()?;
        rp.webauthn()?;
        rp.ca_list()?;
        let doc = serde_json::to_string(&rp).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.set_relying_party(&tenant.id, &doc, self.clock.now()).await?;
        Ok(rp)
    }

    /// The tenant's relying party (admin API).
    pub async fn relying_party_of(&self, domain: &str) -> Result<RelyingParty, CoreError> {
        let tenant = self.tenant(domain).await?;
        self.relying_party(&tenant).await
    }

    pub(crate) async fn relying_party(&self, tenant: &Tenant) -> Result<RelyingParty, CoreError> {
        let doc = self.store.relying_party(&tenant.id).await?.ok_or_else(|| {
            CoreError::refused(
                Refusal::Conflict,
                RefusalCode::FidoNotConfigured,
                "FIDO needs a relying party: PUT /admin/v1/tenants/{domain}/fido",
            )
        })?;
        let rp: RelyingParty =
            serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged relying party".into()))?;
        if !rp.enabled {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::FidoDisabled,
                "FIDO is switched off for this tenant",
            ));
        }
        Ok(rp)
    }

    async fn credentials(&self, user: &User) -> Result<Vec<(String, StoredCredential)>, CoreError> {
        let mut out = Vec::new();
        for (key, doc) in self.store.user_fido_credentials(&user.id).await? {
            let c: StoredCredential =
                serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged credential".into()))?;
            out.push((key, c));
        }
        Ok(out)
    }

    fn check_request(input: &FidoRequestInput) -> Result<(), CoreError> {
        match input.fido_protocol.as_str() {
            "FIDO2" | "UAF11" => Ok(()),
            _ => Err(CoreError::invalid("fidoProtocol", "fidoProtocol must be FIDO2 or UAF11")),
        }
    }

    async fn save_ceremony(&self, tenant: &Tenant, c: &Ceremony) -> Result<String, CoreError> {
        let id = crate::random::new_id(&*self.random)?;
        self.save_ceremony_as(tenant, &id, c).await?;
        Ok(id)
    }

    async fn save_ceremony_as(&self, tenant: &Tenant, id: &str, c: &Ceremony) -> Result<(), CoreError> {
        let state = serde_json::to_string(c).map_err(|e| CoreError::Internal(e.to_string()))?;
        let record = crate::store::FidoCeremony {
            id: id.to_owned(),
            tenant_id: tenant.id.clone(),
            user_pk: c.user_pk.clone(),
            state,
            created_at: self.clock.now(),
            expires_at: Timestamp(c.expires_at),
        };
        self.store.save_fido_ceremony(&record).await?;
        Ok(())
    }

    /// Start a UAF ceremony: its ID and the request message.
    async fn uaf_start(
        &self,
        tenant: &Tenant,
        user: &User,
        rp: &RelyingParty,
        registration: bool,
        message: Option<&str>,
    ) -> Result<(String, Value), CoreError> {
        if let Some(m) = message
            && (m.is_empty() || m.chars().count() > 200 || m.chars().any(char::is_control))
        {
            return Err(CoreError::invalid("authenticationMessage", "1 to 200 characters without control characters"));
        }
        let id = crate::random::new_id(&*self.random)?;
        let mut raw = [0u8; 32];
        self.random.fill(&mut raw)?;
        let challenge = b64u(&raw);
        let msg = if registration {
            self.uaf_registration_request(rp, user, &id, &challenge).await?
        } else {
            self.uaf_authentication_request(rp, user, &id, &challenge, message).await?
        };
        let c = Ceremony {
            user_pk: user.id.clone(),
            tenant_id: tenant.id.clone(),
            expires_at: self.clock.now().millis() + CEREMONY_MS,
            registration: None,
            authentication: None,
            uaf: Some(crate::uaf::UafCeremony { registration, challenge, transaction: message.map(str::to_owned) }),
        };
        self.save_ceremony_as(tenant, &id, &c).await?;
        Ok((id, msg))
    }

    /// Take a ceremony (single use): its state, if it exists, is this user's, and is in time.
    async fn take_ceremony(&self, tenant: &Tenant, user: &User, id: &str) -> Result<Ceremony, CoreError> {
        let gone = || CoreError::NotFound(Entity::Session);
        let record = self.store.fido_ceremony(id).await?.ok_or_else(gone)?;
        let c: Ceremony =
            serde_json::from_str(&record.state).map_err(|_| CoreError::Internal("damaged ceremony".into()))?;
        if c.tenant_id != tenant.id || c.user_pk != user.id {
            return Err(gone());
        }
        if !self.store.delete_fido_ceremony(id).await? {
            return Err(crate::session::closed(SessionState::Accept));
        }
        if self.clock.now().millis() >= c.expires_at {
            return Err(crate::session::closed(SessionState::Timeout));
        }
        Ok(c)
    }

    /// `generate-fido-registration-request`.
    pub async fn fido_registration_request(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        input: FidoRequestInput,
    ) -> Result<FidoRequestOutput, CoreError> {
        Self::check_request(&input)?;
        let user = self.login_user(tenant, user_ref).await?;
        let rp = self.relying_party(tenant).await?;
        if input.fido_protocol == "UAF11" {
            let (id, msg) = self.uaf_start(tenant, &user, &rp, true, None).await?;
            return Ok(FidoRequestOutput::uaf(id, msg, true));
        }
        let uv = rp.verification(input.user_verification.as_deref())?;
        let ca_list = rp.ca_list()?;
        let wa = rp.webauthn()?;
        let existing: Vec<_> =
            self.credentials(&user).await?.into_iter().map(|(_, c)| c.passkey.cred.cred_id).collect();
        let name = format!("{}@{}", user.user_id.as_str(), tenant.domain.as_str());
        let direct = ca_list.is_some();
        let cred_protect = (uv != UserVerification::Discouraged).then_some(CredProtect {
            credential_protection_policy: CredentialProtectionPolicy::UserVerificationRequired,
            // Enforcing it makes many authenticators without the extension fail; attested ones have it.
            enforce_credential_protection_policy: Some(direct),
        });
        let extensions = RequestRegistrationExtensions {
            cred_protect,
            uvm: Some(true),
            cred_props: Some(true),
            min_pin_length: None,
            hmac_create_secret: None,
        };
        let builder = wa
            .new_challenge_register_builder(user_handle(&user).as_bytes(), &name, &name)
            .map_err(|e| fido_error(&e))?
            .attestation(if direct {
                AttestationConveyancePreference::Direct
            } else {
                AttestationConveyancePreference::None
            })
            .attestation_formats(direct.then(|| vec![AttestationFormat::Packed, AttestationFormat::Tpm]))
            .credential_algorithms(COSEAlgorithm::secure_algs())
            .require_resident_key(rp.resident_key == ResidentKey::Required)
            .authenticator_attachment(None)
            .user_verification_policy(uv.policy())
            // Synced passkeys do not attest: only device-bound ones can prove their model.
            .reject_synchronised_authenticators(direct)
            .exclude_credentials(Some(existing))
            .hints(None)
            .extensions(Some(extensions));
        let (ccr, state) = wa.generate_challenge_register(builder).map_err(|e| fido_error(&e))?;
        let c = Ceremony {
            user_pk: user.id.clone(),
            tenant_id: tenant.id.clone(),
            expires_at: self.clock.now().millis() + CEREMONY_MS,
            registration: Some(state),
            authentication: None,
            uaf: None,
        };
        let id = self.save_ceremony(tenant, &c).await?;
        Ok(FidoRequestOutput {
            registration_request: Some(serde_json::to_value(&ccr).map_err(|e| CoreError::Internal(e.to_string()))?),
            authentication_request: None,
            request_id: id,
            uaf_status_code: None,
        })
    }

    /// Finish a registration: the credential is stored.
    pub async fn fido_register(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        input: FidoRegisterInput,
    ) -> Result<CredentialView, CoreError> {
        let user = self.login_user(tenant, user_ref).await?;
        let rp = self.relying_party(tenant).await?;
        let response = input.fido_authenticator.get("registrationResponse").cloned().ok_or_else(|| {
            CoreError::invalid(
                "fidoAuthenticator.registrationResponse",
                "the PublicKeyCredential from navigator.credentials.create",
            )
        })?;
        let name = input.name.unwrap_or_else(|| "passkey".into());
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(CoreError::invalid("name", "1 to 100 characters"));
        }
        let c = self.take_ceremony(tenant, &user, &input.request_id).await?;
        if let Some(u) = c.uaf.as_ref().filter(|u| u.registration) {
            let (aaid, key_id) = self.uaf_register(&rp, tenant, &user, u, &response).await?;
            return Ok(CredentialView {
                credential_id: key_id,
                name: format!("UAF {aaid}"),
                created_at: self.clock.now(),
                last_used_at: None,
                backup_eligible: false,
                backup_state: false,
                counter: 0,
                aaguid: None,
                user_verified: true,
                discoverable: None,
            });
        }
        let reg: RegisterPublicKeyCredential = serde_json::from_value(response).map_err(|_| {
            CoreError::invalid("fidoAuthenticator.registrationResponse", "not a WebAuthn registration response")
        })?;
        let state = c.registration.ok_or_else(|| CoreError::invalid("requestID", "not a registration request"))?;
        let cred =
            rp.webauthn()?.register_credential(&reg, &state, rp.ca_list()?.as_ref()).map_err(|e| fido_error(&e))?;
        let id = b64u(cred.cred_id.as_ref());
        let now = self.clock.now().millis();
        let stored = StoredCredential { name, created_at: now, last_used_at: None, passkey: Key { cred } };
        let doc = serde_json::to_string(&stored).map_err(|e| CoreError::Internal(e.to_string()))?;
        match self.store.save_fido_credential(&tenant.id, &user.id, &id, &doc, self.clock.now()).await {
            Ok(()) => Ok(view(&id, &stored)),
            Err(crate::store::StoreError::Conflict) => Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::FidoCredentialTaken,
                "this credential is registered to another user of the relying party",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// `generate-fido-authentication-request`.
    pub async fn fido_authentication_request(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        input: FidoRequestInput,
    ) -> Result<FidoRequestOutput, CoreError> {
        Self::check_request(&input)?;
        let user = self.login_user(tenant, user_ref).await?;
        self.authentication_request_for(tenant, &user, input).await
    }

    /// An authentication ceremony for `user` (already looked up).
    async fn authentication_request_for(
        &self,
        tenant: &Tenant,
        user: &User,
        input: FidoRequestInput,
    ) -> Result<FidoRequestOutput, CoreError> {
        let rp = self.relying_party(tenant).await?;
        if input.fido_protocol == "UAF11" {
            let (id, msg) = self.uaf_start(tenant, user, &rp, false, input.authentication_message.as_deref()).await?;
            return Ok(FidoRequestOutput::uaf(id, msg, false));
        }
        let uv = rp.verification(input.user_verification.as_deref())?;
        let all = self.credentials(user).await?;
        if all.is_empty() {
            return Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::NoFidoAuthenticator,
                "the user has no registered FIDO authenticator",
            ));
        }
        let ca_list = rp.ca_list()?;
        let creds: Vec<Credential> =
            all.into_iter().map(|(_, c)| c.passkey.cred).filter(|c| rp.allows(c, ca_list.as_ref())).collect();
        if creds.is_empty() {
            return Err(CoreError::refused(
                Refusal::Unprocessable,
                RefusalCode::FidoAuthenticatorNotAllowed,
                "none of the user's FIDO authenticators satisfies the relying party's current attestation policy",
            ));
        }
        let wa = rp.webauthn()?;
        let builder = wa
            .new_challenge_authenticate_builder(creds, Some(uv.policy()))
            .map_err(|e| fido_error(&e))?
            .extensions(None)
            // A device-bound credential that later turns up synced is refused when models are policed.
            .allow_backup_eligible_upgrade(ca_list.is_none())
            .hints(None);
        let (rcr, state) = wa.generate_challenge_authenticate(builder).map_err(|e| fido_error(&e))?;
        let c = Ceremony {
            user_pk: user.id.clone(),
            tenant_id: tenant.id.clone(),
            expires_at: self.clock.now().millis() + CEREMONY_MS,
            registration: None,
            authentication: Some(state),
            uaf: None,
        };
        let id = self.save_ceremony(tenant, &c).await?;
        Ok(FidoRequestOutput {
            registration_request: None,
            authentication_request: Some(serde_json::to_value(&rcr).map_err(|e| CoreError::Internal(e.to_string()))?),
            request_id: id,
            uaf_status_code: None,
        })
    }

    /// Start a FIDO authentication ceremony from a login: a risk challenge
    /// (`riskResponseCode` 14; `protocol` None: FIDO2 when the user has a passkey, else
    /// UAF when a UAF registration) or an authentication type of method `fido2`/`uaf`;
    /// the pending output, whose `requestID` names the ceremony the login call finishes.
    pub(crate) async fn fido_challenge(
        &self,
        tenant: &Tenant,
        user: &User,
        protocol: Option<&'static str>,
        message: Option<&str>,
    ) -> Result<LoginOutput, CoreError> {
        let protocol = match protocol {
            Some(p) => p,
            None => {
                use crate::store::FidoAuthenticatorKey as K;
                let keys = self.store.fido_authenticator_keys(&user.id).await?;
                let fido2 = keys.iter().any(|k| matches!(k, K::Fido2 { .. }));
                let uaf = keys.iter().any(|k| matches!(k, K::Uaf { .. }));
                if fido2 || !uaf { "FIDO2" } else { "UAF11" }
            }
        };
        let fido2 = protocol == "FIDO2";
        let input = FidoRequestInput {
            fido_protocol: protocol.to_owned(),
            user_verification: None,
            authentication_message: if fido2 { None } else { message.map(str::to_owned) },
        };
        let r = self.authentication_request_for(tenant, user, input).await?;
        let expires = self.clock.now().plus_millis(CEREMONY_MS);
        let mut out = LoginOutput::bare(&r.request_id, SessionState::Pending, expires);
        out.fido_challenge = Some(FidoChallenge {
            fido_protocol: protocol,
            authentication_request: r.authentication_request.unwrap_or(Value::Null),
            uaf_status_code: r.uaf_status_code,
        });
        Ok(out)
    }

    /// The login call finishing a FIDO2 authentication.
    pub(crate) async fn fido_login(
        &self,
        tenant: &Tenant,
        user: &User,
        request_id: &str,
        credentials: &Value,
        session_id: Option<String>,
    ) -> Result<LoginOutput, CoreError> {
        let rp = self.relying_party(tenant).await?;
        let response = credentials.pointer("/fidoAuthenticator/authenticationResponse").cloned().ok_or_else(|| {
            CoreError::invalid(
                "credentials.fidoAuthenticator.authenticationResponse",
                "the PublicKeyCredential from navigator.credentials.get",
            )
        })?;
        let c = self.take_ceremony(tenant, user, request_id).await?;
        if let Some(u) = c.uaf.as_ref().filter(|u| !u.registration) {
            // A risk challenge's ceremony teaches what it was to teach when passed.
            return self.uaf_login(&rp, tenant, user, u, &response, session_id, request_id).await;
        }
        let pkc: PublicKeyCredential = serde_json::from_value(response).map_err(|_| {
            CoreError::invalid(
                "credentials.fidoAuthenticator.authenticationResponse",
                "not a WebAuthn authentication response",
            )
        })?;
        let state = c.authentication.ok_or_else(|| CoreError::invalid("requestID", "not an authentication request"))?;
        let result = rp.webauthn()?.authenticate_credential(&pkc, &state).map_err(|e| fido_error(&e))?;
        let id = b64u(result.cred_id().as_ref());
        let doc = self.store.fido_credential(&user.id, &id).await?.ok_or(CoreError::NotFound(Entity::Credential))?;
        let mut stored: StoredCredential =
            serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged credential".into()))?;
        let cred = &mut stored.passkey.cred;
        if result.counter() > cred.counter {
            cred.counter = result.counter();
        }
        cred.backup_state = result.backup_state();
        cred.backup_eligible |= result.backup_eligible();
        let now = self.clock.now();
        stored.last_used_at = Some(now.millis());
        let doc = serde_json::to_string(&stored).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.save_fido_credential(&tenant.id, &user.id, &id, &doc, now).await?;
        // A risk challenge's ceremony teaches what it was to teach when passed.
        self.accepted_session(tenant, user, "FIDO2".into(), Method::Fido2, session_id, Some(request_id)).await
    }

    /// A user's credentials (admin API).
    pub async fn fido_credentials(&self, domain: &str, user_id: &str) -> Result<Vec<CredentialView>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        Ok(self.credentials(&user).await?.iter().map(|(id, c)| view(id, c)).collect())
    }

    /// Rename a credential (admin API).
    pub async fn rename_fido_credential(
        &self,
        domain: &str,
        user_id: &str,
        credential_id: &str,
        name: &str,
    ) -> Result<CredentialView, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
            return Err(CoreError::invalid("name", "1 to 100 characters"));
        }
        let doc = self
            .store
            .fido_credential(&user.id, credential_id)
            .await?
            .ok_or(CoreError::NotFound(Entity::Credential))?;
        let mut c: StoredCredential =
            serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged credential".into()))?;
        c.name = name.to_owned();
        let doc = serde_json::to_string(&c).map_err(|e| CoreError::Internal(e.to_string()))?;
        self.store.save_fido_credential(&tenant.id, &user.id, credential_id, &doc, self.clock.now()).await?;
        Ok(view(credential_id, &c))
    }

    /// Remove a credential (admin API).
    pub async fn delete_fido_credential(
        &self,
        domain: &str,
        user_id: &str,
        credential_id: &str,
    ) -> Result<(), CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        if self.store.delete_fido_credential(&user.id, credential_id).await? {
            Ok(())
        } else {
            Err(CoreError::NotFound(Entity::Credential))
        }
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
