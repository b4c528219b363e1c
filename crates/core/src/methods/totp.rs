//! TOTP/HOTP tokens (riskResponseCode 101; docs/tokens.md): the login carries the code of
//! the user's token in `otp`, checked at once against each of the user's active tokens
//! (drift, look-ahead, replay refusal and lockout are the token's; `tokens/mod.rs`). What it
//! stores: the token's counters, and an accepted session so that the login can be read
//! back.

use async_trait::async_trait;

use super::{Begin, LoginMethod, Method};
use crate::error::{CoreError, Refusal};
use crate::login::LoginResult;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::user::User;

/// `totp`.
pub(crate) struct Totp;

#[async_trait]
impl LoginMethod for Totp {
    fn method(&self) -> Method {
        Method::Totp
    }

    fn risk_code(&self) -> u32 {
        101
    }

    async fn check(&self, _: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        if begin.otp.is_none() {
            return Err(CoreError::invalid("otp", "a token login carries the token's code in otp"));
        }
        if !begin.ty.enabled {
            return Err(CoreError::refused(
                Refusal::Forbidden,
                RefusalCode::AuthTypeDisabled,
                "this type is switched off",
            ));
        }
        Ok(())
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        let otp =
            begin.otp.ok_or_else(|| CoreError::invalid("otp", "a token login carries the token's code in otp"))?;
        core.token_login(begin.tenant, user, otp, begin.login.session_id.clone()).await
    }
}
