//! UAF through the core: registration and authentication requests, their responses, and
//! deregistration.

use super::*;
use countersign_proto::uaf::{Attestation, MatchCriteria, Policy, Request};
use countersign_proto::{b64u_decode, b64u_encode, uaf};
use p256::ecdsa::VerifyingKey;
use serde_json::Value;
use sha2::Sha256;

use crate::error::{CoreError, Entity, Refusal};
use crate::login::LoginResult;
use crate::methods::Method;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::tenant::Tenant;
use crate::user::User;

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
    ) -> Result<LoginResult, CoreError> {
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
    pub async fn uaf_registrations_of(
        &self,
        domain: &str,
        user_id: &str,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<crate::admin::Listing<Value>, CoreError> {
        let tenant = self.tenant(domain).await?;
        let user = self.user_in(&tenant, user_id).await?;
        let page = crate::admin::page(after.clone(), limit)?;
        let after = after.as_deref().map(crate::admin::cursor_pair).transpose()?;
        let mut rows = Vec::new();
        for doc in self.store.list_uaf_registrations(&user.id, after, page.limit).await? {
            let r: UafRegistration =
                serde_json::from_str(&doc).map_err(|_| CoreError::Internal("damaged UAF registration".into()))?;
            let key = format!("{}:{}", r.aaid, r.key_id);
            rows.push((key, serde_json::json!({"aaid": r.aaid, "keyID": r.key_id, "signCounter": r.sign_counter, "attestation": r.attestation})));
        }
        Ok(crate::admin::keyed_listing(rows, &page))
    }
}
