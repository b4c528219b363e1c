//! Passkeys on the self-service pages (docs/web.md): the signed-in user registers and
//! removes passkeys, and signs in with one (user ID first, then the browser's passkey).
//! Each is the FIDO2 ceremony the integration API runs (`crate::fido`), for the tenant's
//! relying party.

use super::{NewWebSession, SignedIn, WebSessionKind};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::error::CoreError;
use crate::fido::{CredentialView, FidoRegisterInput, FidoRequestInput, FidoRequestOutput};
use crate::methods::command::{AnswerLogin, LoginCall, StartLogin};
use crate::service::Core;
use crate::session::SessionState;

fn fido2() -> FidoRequestInput {
    FidoRequestInput {
        fido_protocol: "FIDO2".into(),
        user_verification: Some("required".into()),
        authentication_message: None,
    }
}

fn user_ref(me: &SignedIn) -> String {
    format!("{}@{}", me.user.user_id.as_str(), me.tenant.domain.as_str())
}

impl Core {
    /// The signed-in user's passkeys.
    pub async fn my_passkeys(&self, me: &SignedIn) -> Result<Vec<CredentialView>, CoreError> {
        let domain = me.tenant.domain.as_str();
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.fido_credentials(domain, me.user.user_id.as_str(), after, Some(500)).await?;
            all.extend(page.items);
            match page.next_after {
                Some(next) => after = Some(next),
                None => return Ok(all),
            }
        }
    }

    /// The options for `navigator.credentials.create` (user verification required).
    pub async fn my_passkey_options(&self, me: &SignedIn) -> Result<FidoRequestOutput, CoreError> {
        self.fido_registration_request(&me.tenant, &user_ref(me), fido2()).await
    }

    /// Register the browser's new passkey.
    pub async fn register_my_passkey(
        &self,
        me: &SignedIn,
        input: FidoRegisterInput,
    ) -> Result<CredentialView, CoreError> {
        self.fido_register(&me.tenant, &user_ref(me), input).await
    }

    /// Rename one of the signed-in user's passkeys.
    pub async fn rename_my_passkey(&self, me: &SignedIn, credential_id: &str, name: &str) -> Result<(), CoreError> {
        let (domain, user) = (me.tenant.domain.as_str(), me.user.user_id.as_str());
        self.rename_fido_credential(domain, user, credential_id, name.trim()).await.map(|_| ())
    }

    /// Remove one of the signed-in user's passkeys.
    pub async fn remove_my_passkey(&self, me: &SignedIn, credential_id: &str) -> Result<(), CoreError> {
        self.delete_fido_credential(me.tenant.domain.as_str(), me.user.user_id.as_str(), credential_id).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::CredentialRemoved)
                .tenant_id(&me.tenant.id)
                .tenant(me.tenant.domain.as_str())
                .user(me.user.user_id.as_str())
                .by(Actor::SelfService(me.user.user_id.as_str().to_owned()))
                .details(serde_json::json!({ "credentialID": credential_id, "page": "self-service" })),
        )
        .await;
        Ok(())
    }

    /// Passkey sign-in, step one: the options for `navigator.credentials.get` for
    /// `user_id` of the tenant named by `domain`.
    pub async fn passkey_sign_in_options(&self, domain: &str, user_id: &str) -> Result<FidoRequestOutput, CoreError> {
        let tenant = self.tenant(domain).await?;
        self.fido_authentication_request(&tenant, &format!("{user_id}@{domain}"), fido2()).await
    }

    /// Passkey sign-in, step two: the browser's assertion, checked as a login answer
    /// (`crate::fido`: signature, counter, user verification); accepted, a self-service
    /// session opens.
    pub async fn finish_passkey_sign_in(
        &self,
        domain: &str,
        user_id: &str,
        request_id: &str,
        response: serde_json::Value,
    ) -> Result<NewWebSession, CoreError> {
        let tenant = self.tenant(domain).await?;
        let answer = AnswerLogin {
            request_id: request_id.to_owned(),
            secret: String::new(),
            credentials: Some(serde_json::json!({ "fidoAuthenticator": { "authenticationResponse": response } })),
            login: StartLogin::default(),
        };
        let out = self.login(&tenant, &format!("{user_id}@{domain}"), LoginCall::Answer(answer)).await?;
        if out.state != SessionState::Accept {
            return Err(CoreError::refused(
                crate::error::Refusal::Unauthenticated,
                crate::refusal::RefusalCode::FidoVerificationFailed,
                "the passkey did not sign in",
            ));
        }
        let user = self.user_in(&tenant, user_id).await?;
        crate::login::ensure_active(&user)?;
        let session = self.new_web_session(WebSessionKind::SelfService, &tenant, &user.id).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::LoginSucceeded)
                .tenant_id(&tenant.id)
                .tenant(tenant.domain.as_str())
                .user(user.user_id.as_str())
                .by(Actor::SelfService(user.user_id.as_str().to_owned()))
                .details(serde_json::json!({ "page": "self-service", "via": "passkey" })),
        )
        .await;
        Ok(session)
    }
}
