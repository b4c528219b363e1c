//! Static password (riskResponseCode 2; docs/risk.md): a challenge session the login call
//! answers with the password as `passKey` and the same `sessionID`. The risk engine
//! starts it (it lives the tenant's `loginTimeoutSeconds`), and so does a type of method
//! `static_password` (it lives the type's `ttlSeconds`). The tenant's
//! `staticPasswordMode` applies: `off` refuses to start; `parallel` continues with the
//! tenant's `secondFactor` once the password is right. What it stores: the session (the
//! relying party's `sessionID` in its context); the password's failure counter.

use std::collections::BTreeMap;

use async_trait::async_trait;

use super::command::StartLogin;
use super::{Begin, LoginMethod, Method, Reply, Why, fido2};
use crate::error::CoreError;
use crate::error::Refusal;
use crate::login::LoginResult;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::session::{Ending, NewSession, Session, SessionState, closed};
use crate::tenant::StaticPasswordMode;
use crate::user::User;

/// `static_password`.
pub(crate) struct StaticPassword;

#[async_trait]
impl LoginMethod for StaticPassword {
    fn method(&self) -> Method {
        Method::StaticPassword
    }

    fn risk_code(&self) -> u32 {
        2
    }

    async fn check(&self, core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        fido2::check_enabled(begin)?;
        if begin.tenant.settings.static_password_mode == StaticPasswordMode::Off {
            let message = if begin.why == Why::Challenge {
                "the risk engine asks for a static password, but static passwords are off for this tenant"
            } else {
                "static passwords are off for this tenant"
            };
            return Err(CoreError::refused(Refusal::Forbidden, RefusalCode::StaticPasswordDisabled, message));
        }
        if let Some(url) = &begin.login.callback_url {
            core.check_callback(begin.tenant, url).await?;
        }
        Ok(())
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        let (tenant, login) = (begin.tenant, begin.login);
        let now = core.clock.now();
        let lifetime =
            if begin.why == Why::Challenge { tenant.settings.login_timeout_seconds } else { begin.ty.ttl_seconds };
        let expires = now.plus_millis(i64::from(lifetime) * 1000);
        let id = crate::random::new_id(&*core.random)?;
        let mut new = NewSession::not_push(
            id,
            &tenant.id,
            &user.id,
            "static password".into(),
            Some(Method::StaticPassword),
            now,
            expires,
        );
        if let Some(sid) = &login.session_id {
            new.context = BTreeMap::from([("sessionID".to_owned(), sid.clone())]);
        }
        new.callback_url = login.callback_url.clone();
        let s = Session::pending(new);
        core.insert_session(&s, Vec::new()).await?;
        Ok(LoginResult::of(&s, login.session_id.clone(), &core.public_url))
    }

    /// The second call: the password, from the relying party the challenge was given to.
    async fn answer(&self, core: &Core, reply: &Reply<'_>, s: Session) -> Result<LoginResult, CoreError> {
        let (tenant, user, a) = (reply.tenant, reply.user, reply.answer);
        if s.state().is_final() {
            core.burn_password_check(&a.secret).await;
            return Err(closed(s.state()));
        }
        if s.context.get("sessionID") != a.login.session_id.as_ref() {
            core.burn_password_check(&a.secret).await;
            return Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::SessionMismatch,
                "the sessionID is not the one the challenge was given to",
            ));
        }
        let mode = tenant.settings.static_password_mode;
        let ip = crate::context::check(a.login.ip_address.as_deref(), None)?;
        if let Err(e) = core.check_static_password(tenant, user, &a.secret, mode == StaticPasswordMode::Exclusive).await
        {
            core.record_risk_failure(tenant, &user.id, ip).await;
            // A locked password fails the challenge; one merely at its limit (the guess
            // holding its last attempt is being checked) leaves it to that guess.
            let locked = matches!(&e, CoreError::Refused { code: RefusalCode::StaticPasswordLocked, .. });
            if locked && core.static_password_locked(user).await? {
                match core.end_session(&s, Ending::failed("static_password_locked")).await {
                    Ok(_) | Err(CoreError::Refused { code: RefusalCode::SessionClosed, .. }) => {}
                    Err(e) => tracing::warn!(request = %s.id, error = %crate::session::cause(&e),
                        "could not fail the challenge of a locked static password"),
                }
            }
            return Err(e);
        }
        let s = core.end_session(&s, Ending::accept()).await?;
        if mode == StaticPasswordMode::Parallel {
            // The password was the first factor: the second follows, as the tenant names it.
            let second = &tenant.settings.second_factor;
            let login = StartLogin { timeout: Some(0), ..a.login.clone() };
            let mut o = core.start_type(tenant, user, second, &login, Why::Named).await?;
            o.risk_response_code = Some(if o.state == SessionState::Failed {
                1
            } else {
                match core.auth_type(tenant, second).await? {
                    Some(ty) => ty.method.risk_code(),
                    None => 1,
                }
            });
            return Ok(o);
        }
        let mut o = LoginResult::of(&s, a.login.session_id.clone(), &core.public_url);
        o.risk_response_code = Some(0);
        Ok(o)
    }
}
