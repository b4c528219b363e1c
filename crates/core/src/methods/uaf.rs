//! FIDO UAF 1.1 (riskResponseCode 14; docs/fido.md): like [`super::fido2`], with a UAF
//! ceremony (`uaf.rs`), finished by the same login call.

use async_trait::async_trait;

use super::{Begin, LoginMethod, Method, fido2};
use crate::error::CoreError;
use crate::login::LoginResult;
use crate::service::Core;
use crate::user::User;

/// `uaf`.
pub(crate) struct Uaf;

#[async_trait]
impl LoginMethod for Uaf {
    fn method(&self) -> Method {
        Method::Uaf
    }

    fn risk_code(&self) -> u32 {
        14
    }

    async fn check(&self, _: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        fido2::check_enabled(begin)
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        fido2::start(core, begin, user, Some("UAF11")).await
    }
}
