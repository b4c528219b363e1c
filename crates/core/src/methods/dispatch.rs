//! `login` as a dispatcher over the registry (docs/architecture.md, "How login
//! dispatches"): a [`LoginCall`] names a type, a token code, an answer, or nothing (the
//! risk engine decides); the method's module does the rest.

use super::command::{AnswerLogin, LoginCall, StartLogin};
use super::{Begin, LoginMethod, Method, Reply, Why, fido2, registry};
use crate::audit::LoginAttempt;
use crate::error::{CoreError, Entity};
use crate::login::LoginResult;
use crate::otp::AuthType;
use crate::service::Core;
use crate::session::closed;
use crate::tenant::Tenant;
use crate::user::User;

fn no_such_type() -> CoreError {
    CoreError::invalid("passKey", "passKey names no authentication type of this tenant (see docs/otp.md)")
}

/// A token code sent as the `passKey` itself, as OneSpan integrations do.
fn looks_like_a_token_code(pass_key: &str) -> bool {
    (6..=8).contains(&pass_key.len()) && pass_key.bytes().all(|b| b.is_ascii_digit())
}

/// What the audit log may say about a call (never a `passKey` that is a token code).
fn attempt_of(call: &LoginCall) -> LoginAttempt {
    match call {
        LoginCall::Answer(a) => LoginAttempt {
            call: "answer",
            request_id: Some(a.request_id.clone()),
            method: a.credentials.is_some().then_some("fido"),
            ..LoginAttempt::default()
        },
        LoginCall::Adaptive { .. } => LoginAttempt { call: "adaptive", ..LoginAttempt::default() },
        LoginCall::Token { .. } => LoginAttempt { call: "token", method: Some("totp"), ..LoginAttempt::default() },
        LoginCall::Start { pass_key, .. } if looks_like_a_token_code(pass_key) => {
            LoginAttempt { call: "token", method: Some("totp"), ..LoginAttempt::default() }
        }
        LoginCall::Start { pass_key, .. } => {
            LoginAttempt { call: "start", auth_type: Some(pass_key.clone()), ..LoginAttempt::default() }
        }
    }
}

fn starting(method: &dyn LoginMethod, begin: &Begin<'_>) {
    tracing::debug!(method = method.method().as_str(), r#type = begin.name, why = ?begin.why, "login starting");
}

impl Core {
    /// `POST /v1/users/{userID@domain}/login`: start the type a `passKey` names, check a
    /// token code, answer a challenge, or let the risk engine decide (docs/otp.md,
    /// docs/risk.md). A refusal that is a failed attempt or a rate limit is recorded in
    /// the audit log (endings record themselves, with their session).
    pub async fn login(&self, tenant: &Tenant, user: &str, call: LoginCall) -> Result<LoginResult, CoreError> {
        let attempt = attempt_of(&call);
        let out = self.dispatch(tenant, user, call).await;
        if let Err(e) = &out {
            self.audit_refused_login(tenant, user, attempt, e).await;
        }
        out
    }

    async fn dispatch(&self, tenant: &Tenant, user: &str, call: LoginCall) -> Result<LoginResult, CoreError> {
        // The answer and the adaptive login are boxed: a future is as large as its largest
        // branch, and a waiting synchronous push (the common `Start`) should not carry the
        // risk engine's state (docs/benchmarks.md, "Memory per waiter").
        match call {
            LoginCall::Answer(a) => Box::pin(self.answer_login(tenant, user, &a)).await,
            LoginCall::Adaptive { cddc, login } => {
                let u = self.login_user(tenant, user).await?;
                Box::pin(self.adaptive_login(tenant, &u, cddc, login)).await
            }
            LoginCall::Token { pass_key, otp, login } => {
                let (name, ty) = self.token_type(tenant, pass_key.as_deref()).await?;
                self.start_named(tenant, user, &name, &ty, &login, Some(&otp)).await
            }
            LoginCall::Start { pass_key, login } => match self.auth_type(tenant, &pass_key).await? {
                Some(ty) => self.start_named(tenant, user, &pass_key, &ty, &login, None).await,
                None if looks_like_a_token_code(&pass_key) => {
                    let (name, ty) = self.token_type(tenant, None).await?;
                    self.start_named(tenant, user, &name, &ty, &login, Some(&pass_key)).await
                }
                None => Err(no_such_type()),
            },
        }
    }

    /// The type a token login runs as: the one `pass_key` names when its method is
    /// `totp`, else the tenant's `totp` (the `passKey` is then not used, as before types
    /// of method `totp` could be started).
    async fn token_type(&self, tenant: &Tenant, pass_key: Option<&str>) -> Result<(String, AuthType), CoreError> {
        for name in pass_key.filter(|p| !p.is_empty()).into_iter().chain(["totp"]) {
            if let Some(ty) = self.auth_type(tenant, name).await?.filter(|t| t.method == Method::Totp) {
                return Ok((name.to_owned(), ty));
            }
        }
        Ok(("totp".to_owned(), AuthType::of(Method::Totp)))
    }

    /// Start type `name` for user `user_ref` (`userID@domain`): the method checks the call,
    /// then the user is read, then the method starts.
    async fn start_named(
        &self,
        tenant: &Tenant,
        user_ref: &str,
        name: &str,
        ty: &AuthType,
        login: &StartLogin,
        otp: Option<&str>,
    ) -> Result<LoginResult, CoreError> {
        let method = registry::of(ty.method);
        let begin = Begin { tenant, name, ty, login, why: Why::Named, otp };
        method.check(self, &begin).await?;
        let user = self.login_user(tenant, user_ref).await?;
        starting(method, &begin);
        method.start(self, &begin, &user).await
    }

    /// Start the tenant's type `name` for `user`, already read: a risk challenge, a push's
    /// fallback, a `parallel` static password's second factor.
    pub(crate) async fn start_type(
        &self,
        tenant: &Tenant,
        user: &User,
        name: &str,
        login: &StartLogin,
        why: Why,
    ) -> Result<LoginResult, CoreError> {
        let ty = self.auth_type(tenant, name).await?.ok_or_else(no_such_type)?;
        self.start_with(tenant, user, name, &ty, login, why).await
    }

    /// Start `ty` (named `name`) for `user`, already read.
    pub(crate) async fn start_with(
        &self,
        tenant: &Tenant,
        user: &User,
        name: &str,
        ty: &AuthType,
        login: &StartLogin,
        why: Why,
    ) -> Result<LoginResult, CoreError> {
        let method = registry::of(ty.method);
        let begin = Begin { tenant, name, ty, login, why, otp: None };
        method.check(self, &begin).await?;
        starting(method, &begin);
        method.start(self, &begin, user).await
    }

    /// The second call: FIDO `credentials` finish the ceremony `requestID` names; else the
    /// session it names, of this user, goes to its method.
    async fn answer_login(&self, tenant: &Tenant, user_ref: &str, a: &AnswerLogin) -> Result<LoginResult, CoreError> {
        let user = match self.login_user(tenant, user_ref).await {
            Ok(u) => u,
            Err(e) => {
                // Unknown users cost what a password check costs.
                self.burn_password_check(&a.secret).await;
                return Err(e);
            }
        };
        let reply = Reply { tenant, user: &user, answer: a };
        if a.credentials.is_some() {
            return fido2::finish(self, &reply).await;
        }
        let s = self
            .current_session(&a.request_id)
            .await?
            .filter(|s| s.tenant_id == tenant.id && s.user_pk == user.id)
            .ok_or(CoreError::NotFound(Entity::Session))?;
        match s.method {
            Some(m) => registry::of(m).answer(self, &reply, s).await,
            // A risk decision: ended as it was made.
            None => Err(closed(s.state())),
        }
    }
}

impl Core {
    /// The type `name` for the tenant: its own setting, else the built-in one (kept in
    /// the node's cache, `crate::cache`).
    pub async fn auth_type(&self, tenant: &Tenant, name: &str) -> Result<Option<AuthType>, CoreError> {
        if let Some(t) = self.config_cache.auth_type(&tenant.id, name) {
            return Ok(Some(t));
        }
        let t = match self.store.auth_type(&tenant.id, name).await? {
            Some(doc) => serde_json::from_str(&doc)
                .map(Some)
                .map_err(|_| CoreError::Internal("damaged authentication type".into()))?,
            None => AuthType::builtin(name),
        };
        // Names that are no type are not kept: they come from requests.
        if let Some(t) = &t {
            self.config_cache.keep_auth_type(&tenant.id, name, t);
        }
        Ok(t)
    }
}
