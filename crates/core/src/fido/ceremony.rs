//! FIDO2 through the core: the tenant's relying party, registration and authentication
//! ceremonies (their state stored, so any node finishes what another began, once), and a
//! user's credentials.

use super::*;
use serde_json::Value;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AttestationFormat, COSEAlgorithm, CredProtect, Credential,
    CredentialProtectionPolicy, PublicKeyCredential, RegisterPublicKeyCredential, RequestRegistrationExtensions,
};

use crate::audit::{AuditEvent, AuditKind};
use crate::clock::Timestamp;
use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginResult;
use crate::methods::Method;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::SessionState;
use crate::tenant::Tenant;
use crate::user::User;

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
            uaf: Some(crate::fido::uaf::UafCeremony {
                registration,
                challenge,
                transaction: message.map(str::to_owned),
            }),
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
            let details = serde_json::json!({ "aaid": aaid, "keyID": key_id });
            self.audit_or_log(enrolled(AuditKind::UafRegistered, tenant, &user, details)).await;
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
            Ok(()) => {
                let details = serde_json::json!({ "credentialID": id, "name": stored.name });
                self.audit_or_log(enrolled(AuditKind::PasskeyRegistered, tenant, &user, details)).await;
                Ok(view(&id, &stored))
            }
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
    ) -> Result<LoginResult, CoreError> {
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
        let mut out = LoginResult::bare(&r.request_id, SessionState::Pending, expires);
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
    ) -> Result<LoginResult, CoreError> {
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
    pub async fn fido_credentials(
        &self,
        domain: &str,
        user_id: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<CredentialView>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        let page = crate::admin::page(after, limit)?;
        let mut rows = Vec::new();
        for (key, doc) in self.store.list_fido_credentials(&user.id, &page).await? {
            let c: StoredCredential =
                serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged credential".into()))?;
            rows.push((key.clone(), view(&key, &c)));
        }
        Ok(crate::admin::keyed_listing(rows, &page))
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

/// An enrollment of `user`'s (by the caller: the relying party's API key).
fn enrolled(kind: AuditKind, tenant: &Tenant, user: &User, details: Value) -> AuditEvent {
    AuditEvent::new(kind)
        .tenant_id(&tenant.id)
        .tenant(tenant.domain.as_str())
        .user(user.user_id.as_str())
        .details(details)
}
