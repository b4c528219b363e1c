//! Signing in to the self-service pages with the static password and a second factor
//! (docs/web.md, "Password sign-in"): the password first (an attempt reserved before
//! Argon2 runs, as for every guess), then a push to the user's authenticator or, without
//! one, a code from their authenticator app. Between the two steps the browser holds a
//! pending secret (`csb_…`, a cookie) that the server keeps only as a hash, in a
//! single-use row of `sign_in_links` and in the push session's context; the second step
//! must present it, so an approval or a code opens a session only in the browser that
//! typed the password.

use std::collections::BTreeMap;

use subtle::ConstantTimeEq;

use super::{NewWebSession, SignInLink, WebSessionKind, secret_hash};
use crate::audit::{Actor, AuditEvent, AuditKind};
use crate::device::DeviceState;
use crate::error::{CoreError, Entity, Refusal};
use crate::methods::command::StartLogin;
use crate::random;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::SessionState;
use crate::tenant::{StaticPasswordMode, Tenant};
use crate::tokens::TokenState;
use crate::user::{User, UserId};

/// The prefix of the pending secret between the two steps.
pub const PENDING_PREFIX: &str = "csb_";
/// How long the second step may take.
pub const SECOND_STEP_MS: i64 = 5 * 60 * 1000;
/// The key of the push session's context that holds the pending secret's hash.
const BINDING: &str = "selfServiceSignIn";

/// What the second step is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecondStep {
    /// Approve the push `request_id` (showing `number` when number matching asks it).
    Push {
        /// The push session.
        request_id: String,
        /// The number the user picks on the phone.
        number: Option<u8>,
    },
    /// Type a code from the authenticator app.
    Totp,
}

/// The password was right: the second step, and the secret the browser keeps until then.
#[derive(Debug, Clone)]
pub struct PasswordStep {
    /// The pending secret (a cookie until the second step).
    pub pending: String,
    /// What comes next.
    pub second: SecondStep,
}

/// One answer for an unknown user and a wrong password (no attempts left told either:
/// that would say the user exists).
fn wrong() -> CoreError {
    CoreError::refused(Refusal::Unauthenticated, RefusalCode::InvalidPassword, "the user ID or the password is wrong")
}

fn expired() -> CoreError {
    CoreError::refused(
        Refusal::Gone,
        RefusalCode::SignInLinkInvalid,
        "this sign-in has expired or was finished: sign in again",
    )
}

impl Core {
    /// Step one: `user_id`'s static password on the pages of `domain`. An unknown user
    /// costs the same Argon2 work and gets the same answer as a wrong password.
    pub async fn self_service_password(
        &self,
        domain: &str,
        user_id: &str,
        password: &str,
        login: StartLogin,
    ) -> Result<PasswordStep, CoreError> {
        let tenant = self.tenant(domain).await?;
        if tenant.settings.static_password_mode == StaticPasswordMode::Off {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::StaticPasswordDisabled,
                "password sign-in is off for this organisation: use the sign-in link you were sent",
            ));
        }
        let user = match UserId::parse(user_id, "userID") {
            Ok(id) => self.store.user(&tenant.id, id.as_str()).await?,
            Err(_) => None,
        };
        let Some(user) = user else {
            self.burn_password_check(password).await;
            return Err(wrong());
        };
        match self.check_static_password(&tenant, &user, password, false).await {
            Err(CoreError::Refused { code: RefusalCode::InvalidPassword, .. }) => return Err(wrong()),
            other => other?,
        }
        // Said only to whoever knows the password.
        crate::login::ensure_active(&user)?;
        let pending = random::secret_token(&*self.random, PENDING_PREFIX)?;
        let now = self.clock.now();
        let link = SignInLink {
            id_hash: secret_hash(&pending),
            tenant_id: tenant.id.clone(),
            user_pk: user.id.clone(),
            created_at: now,
            expires_at: now.plus_millis(SECOND_STEP_MS),
            used_at: None,
        };
        let second = self.second_step(&tenant, &user, &link.id_hash, login).await?;
        self.store.insert_sign_in_link(&link).await?;
        Ok(PasswordStep { pending, second })
    }

    /// A push when the user has an active authenticator, else their authenticator app;
    /// neither: refused (a password alone never signs in).
    async fn second_step(
        &self,
        tenant: &Tenant,
        user: &User,
        binding: &str,
        login: StartLogin,
    ) -> Result<SecondStep, CoreError> {
        if self.store.user_devices(&user.id).await?.iter().any(|d| d.state == DeviceState::Active) {
            let login = StartLogin {
                message: Some(format!("Sign in to your account page at {}?", tenant.domain)),
                context: BTreeMap::from([(BINDING.to_owned(), binding.to_owned())]),
                timeout: Some(0),
                ..login
            };
            let started = self.start_type(tenant, user, "push", &login, crate::methods::Why::Named).await?;
            return Ok(SecondStep::Push { request_id: started.request_id, number: started.number_to_show });
        }
        if self.store.user_tokens(&user.id).await?.iter().any(|t| t.state == TokenState::Active) {
            return Ok(SecondStep::Totp);
        }
        Err(CoreError::refused(
            Refusal::Forbidden,
            RefusalCode::NoToken,
            "a password alone does not sign in: ask for a sign-in link to set up an authenticator",
        ))
    }

    /// The live pending sign-in behind `pending` on the pages of `domain`.
    async fn pending_sign_in(&self, domain: &str, pending: &str) -> Result<(Tenant, SignInLink), CoreError> {
        let tenant = self.tenant(domain).await?;
        if !pending.starts_with(PENDING_PREFIX) {
            return Err(expired());
        }
        let link = self.store.live_sign_in_link(&secret_hash(pending), self.clock.now()).await?;
        let link = link.filter(|l| l.tenant_id == tenant.id).ok_or_else(expired)?;
        Ok((tenant, link))
    }

    /// The push session `request_id` of the pending sign-in behind `pending`, as it
    /// stands (for the page that follows it).
    pub async fn pending_push(&self, domain: &str, pending: &str, request_id: &str) -> Result<Tenant, CoreError> {
        let (tenant, link) = self.pending_sign_in(domain, pending).await?;
        let s = self.store.session(request_id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
        let bound = s.context.get(BINDING).is_some_and(|b| bool::from(b.as_bytes().ct_eq(link.id_hash.as_bytes())));
        if !bound || s.user_pk != link.user_pk {
            return Err(CoreError::NotFound(Entity::Session));
        }
        Ok(tenant)
    }

    /// Step two by push: the session was approved; the pending sign-in is spent and a
    /// self-service session opens.
    pub async fn finish_push_sign_in(
        &self,
        domain: &str,
        pending: &str,
        request_id: &str,
    ) -> Result<NewWebSession, CoreError> {
        self.pending_push(domain, pending, request_id).await?;
        let s = self.current_session(request_id).await?.ok_or(CoreError::NotFound(Entity::Session))?;
        if s.state() != SessionState::Accept {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::SessionClosed,
                "the sign-in was not approved on your phone",
            ));
        }
        self.open_after_second_factor(domain, pending, "push").await
    }

    /// Step two by code: a code of the user's authenticator app (counted like any code).
    pub async fn finish_totp_sign_in(
        &self,
        domain: &str,
        pending: &str,
        otp: &str,
    ) -> Result<NewWebSession, CoreError> {
        let (tenant, link) = self.pending_sign_in(domain, pending).await?;
        let user = self.store.user_by_pk(&link.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
        self.token_login(&tenant, &user, otp, None).await?;
        self.open_after_second_factor(domain, pending, "totp").await
    }

    async fn open_after_second_factor(
        &self,
        domain: &str,
        pending: &str,
        second: &str,
    ) -> Result<NewWebSession, CoreError> {
        let tenant = self.tenant(domain).await?;
        let link = self.store.use_sign_in_link(&secret_hash(pending), self.clock.now()).await?;
        let link = link.filter(|l| l.tenant_id == tenant.id).ok_or_else(expired)?;
        let user = self.store.user_by_pk(&link.user_pk).await?.ok_or(CoreError::NotFound(Entity::User))?;
        crate::login::ensure_active(&user)?;
        let session = self.new_web_session(WebSessionKind::SelfService, &tenant, &user.id).await?;
        self.audit_or_log(
            AuditEvent::new(AuditKind::LoginSucceeded)
                .tenant_id(&tenant.id)
                .tenant(tenant.domain.as_str())
                .user(user.user_id.as_str())
                .by(Actor::SelfService(user.user_id.as_str().to_owned()))
                .details(serde_json::json!({ "page": "self-service", "via": format!("password_{second}") })),
        )
        .await;
        Ok(session)
    }
}
