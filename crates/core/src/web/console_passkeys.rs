//! The console's second factor: an administrator's passkeys (WebAuthn, on the same
//! webauthn-rs-core as `crate::fido`). The console's relying party is the server itself:
//! its ID is the host of the public URL (`localhost` for a loopback or IP address, where
//! browsers refuse passkeys on an IP), its one origin the public URL's.
//!
//! A half-signed-in session (`password_ok`) asks for options: a registration when the
//! account has no passkey yet (its first, right after its first password sign-in), else
//! an authentication. The ceremony's state is kept in `console_ceremonies` beside the
//! session and taken once by the answer; a passed answer moves the session to
//! `signed_in` by one conditional update.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;
use uuid::Uuid;
use webauthn_rs_core::proto::{
    AttestationConveyancePreference, AuthenticationState, COSEAlgorithm, Credential, PublicKeyCredential,
    RegisterPublicKeyCredential, RegistrationState,
};

use super::console::{AdminAccount, AdminCredential, ConsoleStep};
use super::{ABSOLUTE_MS, secret_hash};
use crate::audit::{AuditEvent, AuditKind};
use crate::error::{CoreError, Refusal};
use crate::fido::{CEREMONY_MS, RelyingParty, UserVerification, fido_error};
use crate::refusal::RefusalCode;
use crate::service::Core;

/// A console ceremony in progress (`console_ceremonies.state`).
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
enum ConsoleCeremony {
    Registration(RegistrationState),
    Authentication(AuthenticationState),
}

/// What the page passes to the browser: `register` (`navigator.credentials.create`) or
/// `authenticate` (`navigator.credentials.get`), with the options.
#[derive(Debug, Clone, Serialize)]
pub struct ConsolePasskeyOptions {
    /// `register` or `authenticate`.
    pub mode: &'static str,
    /// The options, as webauthn-rs makes them (`{"publicKey": …}`).
    pub options: Value,
}

/// The console's relying party for the server at `public_url`.
pub fn console_relying_party(public_url: &str) -> Result<RelyingParty, CoreError> {
    let bad = || CoreError::Internal("the public URL has no host for the console's passkeys".into());
    let url = Url::parse(public_url).map_err(|_| bad())?;
    let host = url.host_str().ok_or_else(bad)?;
    let loopback = host == "localhost" || url.host().is_some_and(|h| !matches!(h, url::Host::Domain(_)));
    let rp_id = if loopback { "localhost".to_owned() } else { host.to_ascii_lowercase() };
    let origin = match url.port() {
        Some(p) => format!("{}://{rp_id}:{p}", url.scheme()),
        None => format!("{}://{rp_id}", url.scheme()),
    };
    Ok(RelyingParty {
        enabled: true,
        rp_id,
        rp_name: Some("countersign console".into()),
        origins: vec![origin],
        user_verification: UserVerification::Preferred,
        attestation: crate::fido::Conveyance::None,
        resident_key: crate::fido::ResidentKey::Discouraged,
        attestation_trust_anchors: Vec::new(),
        allowed_aaguids: None,
        uaf: None,
    })
}

/// The WebAuthn user handle of an account: 16 bytes derived from its ID.
fn handle(account: &AdminAccount) -> Uuid {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("countersign console\0{}", account.id).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    Uuid::from_bytes(b)
}

fn internal(e: impl std::fmt::Display) -> CoreError {
    CoreError::Internal(e.to_string())
}

fn not_waiting() -> CoreError {
    CoreError::refused(
        Refusal::Conflict,
        RefusalCode::SessionClosed,
        "sign in with your password first (or again: the passkey step lasts 5 minutes)",
    )
}

impl Core {
    /// The half-signed-in session behind `cookie` and its account.
    async fn second_factor_of(&self, cookie: &str) -> Result<(String, AdminAccount), CoreError> {
        let id_hash = secret_hash(cookie);
        let s = self.store.console_session(&id_hash).await?.ok_or_else(not_waiting)?;
        if s.step != ConsoleStep::PasswordOk || !s.live_at(self.clock.now()) {
            return Err(not_waiting());
        }
        let account = self.store.admin_account(&s.account_id).await?.filter(|a| a.active).ok_or_else(not_waiting)?;
        Ok((id_hash, account))
    }

    /// Start the passkey step of a console sign-in: a registration of the account's
    /// first passkey, or an authentication with one of its passkeys.
    pub async fn console_passkey_options(&self, cookie: &str) -> Result<ConsolePasskeyOptions, CoreError> {
        let (id_hash, account) = self.second_factor_of(cookie).await?;
        let rp = console_relying_party(&self.public_url)?;
        let wa = rp.webauthn()?;
        let uv = rp.user_verification.policy();
        let creds = self.store.admin_credentials(&account.id).await?;
        let (mode, options, ceremony) = if creds.is_empty() {
            let builder = wa
                .new_challenge_register_builder(handle(&account).as_bytes(), &account.username, &account.username)
                .map_err(|e| fido_error(&e))?
                .attestation(AttestationConveyancePreference::None)
                .credential_algorithms(COSEAlgorithm::secure_algs())
                .require_resident_key(false)
                .authenticator_attachment(None)
                .user_verification_policy(uv)
                .reject_synchronised_authenticators(false)
                .exclude_credentials(None)
                .hints(None)
                .extensions(None);
            let (ccr, state) = wa.generate_challenge_register(builder).map_err(|e| fido_error(&e))?;
            ("register", serde_json::to_value(&ccr).map_err(internal)?, ConsoleCeremony::Registration(state))
        } else {
            let mut keys = Vec::new();
            for c in &creds {
                keys.push(serde_json::from_str::<Credential>(&c.credential).map_err(internal)?);
            }
            let builder = wa
                .new_challenge_authenticate_builder(keys, Some(uv))
                .map_err(|e| fido_error(&e))?
                .extensions(None)
                .allow_backup_eligible_upgrade(true)
                .hints(None);
            let (rcr, state) = wa.generate_challenge_authenticate(builder).map_err(|e| fido_error(&e))?;
            ("authenticate", serde_json::to_value(&rcr).map_err(internal)?, ConsoleCeremony::Authentication(state))
        };
        let state = serde_json::to_string(&ceremony).map_err(internal)?;
        self.store.save_console_ceremony(&id_hash, &state, self.clock.now().plus_millis(CEREMONY_MS)).await?;
        Ok(ConsolePasskeyOptions { mode, options })
    }

    /// Finish the passkey step with the browser's `PublicKeyCredential`: the first
    /// passkey is stored, or the passkey checked; the session is signed in.
    pub async fn console_passkey_finish(&self, cookie: &str, response: Value) -> Result<(), CoreError> {
        let (id_hash, account) = self.second_factor_of(cookie).await?;
        let now = self.clock.now();
        let state = self.store.take_console_ceremony(&id_hash, now).await?.ok_or_else(not_waiting)?;
        let ceremony: ConsoleCeremony = serde_json::from_str(&state).map_err(internal)?;
        let wa = console_relying_party(&self.public_url)?.webauthn()?;
        let unreadable = || CoreError::invalid("credential", "not a WebAuthn response");
        match ceremony {
            ConsoleCeremony::Registration(state) => {
                let reg: RegisterPublicKeyCredential = serde_json::from_value(response).map_err(|_| unreadable())?;
                let cred = wa.register_credential(&reg, &state, None).map_err(|e| fido_error(&e))?;
                let credential_id = countersign_proto::b64u_encode(cred.cred_id.as_ref());
                let record = AdminCredential {
                    account_id: account.id.clone(),
                    credential_id: credential_id.clone(),
                    name: "passkey".into(),
                    credential: serde_json::to_string(&cred).map_err(internal)?,
                    created_at: now,
                    last_used_at: Some(now),
                };
                self.store.insert_admin_credential(&record).await.map_err(|e| match e {
                    crate::store::StoreError::Conflict => CoreError::refused(
                        Refusal::Conflict,
                        RefusalCode::FidoCredentialTaken,
                        "this passkey is registered already",
                    ),
                    other => other.into(),
                })?;
                let event = AuditEvent::new(AuditKind::PasskeyRegistered)
                    .by(account.actor())
                    .details(serde_json::json!({ "console": true, "credentialID": credential_id }));
                self.audit_or_log(event).await;
            }
            ConsoleCeremony::Authentication(state) => {
                let pkc: PublicKeyCredential = serde_json::from_value(response).map_err(|_| unreadable())?;
                let result = match wa.authenticate_credential(&pkc, &state) {
                    Ok(r) => r,
                    Err(e) => {
                        let event = AuditEvent::new(AuditKind::LoginFailed).by(account.actor()).details(
                            serde_json::json!({ "console": true, "method": "passkey", "outcome": "fido_failed" }),
                        );
                        self.audit_or_log(event).await;
                        return Err(fido_error(&e));
                    }
                };
                let id = countersign_proto::b64u_encode(result.cred_id().as_ref());
                let creds = self.store.admin_credentials(&account.id).await?;
                let Some(mut record) = creds.into_iter().find(|c| c.credential_id == id) else {
                    return Err(CoreError::NotFound(crate::error::Entity::Credential));
                };
                let mut cred: Credential = serde_json::from_str(&record.credential).map_err(internal)?;
                if result.counter() > cred.counter {
                    cred.counter = result.counter();
                }
                cred.backup_state = result.backup_state();
                cred.backup_eligible |= result.backup_eligible();
                record.credential = serde_json::to_string(&cred).map_err(internal)?;
                record.last_used_at = Some(now);
                self.store.update_admin_credential(&record).await?;
            }
        }
        if !self.store.complete_console_session(&id_hash, now, now.plus_millis(ABSOLUTE_MS)).await? {
            return Err(not_waiting());
        }
        let event = AuditEvent::new(AuditKind::LoginSucceeded)
            .by(account.actor())
            .details(serde_json::json!({ "console": true, "method": "password+passkey" }));
        self.audit_or_log(event).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_console_relying_party_is_the_public_url_host() {
        let rp = console_relying_party("http://127.0.0.1:8080").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rp.rp_id.as_str(), rp.origins[0].as_str()), ("localhost", "http://localhost:8080"));
        let rp = console_relying_party("https://Auth.Example.com").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((rp.rp_id.as_str(), rp.origins[0].as_str()), ("auth.example.com", "https://auth.example.com"));
        let rp = console_relying_party("https://auth.example.com:8443/").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rp.origins[0], "https://auth.example.com:8443");
        assert!(rp.webauthn().is_ok());
    }
}
