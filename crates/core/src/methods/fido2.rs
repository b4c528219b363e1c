//! FIDO2/WebAuthn passkeys (riskResponseCode 14; docs/fido.md): the login answers
//! `Pending` with the ceremony (`fidoChallenge`), and the login call carrying
//! `credentials.fidoAuthenticator` finishes it. The ceremonies themselves — FIDO2 here,
//! UAF in [`super::uaf`] — are `fido.rs` and `uaf.rs`. What it stores: the ceremony (5
//! minutes), then the credential's counter and an accepted session.

use async_trait::async_trait;

use super::{Begin, LoginMethod, Method, Reply, Why};
use crate::error::{CoreError, Refusal};
use crate::login::LoginResult;
use crate::refusal::RefusalCode;
use crate::service::Core;
use crate::user::User;

/// `fido2`.
pub(crate) struct Fido2;

/// What a FIDO type checks before the user is read: it is on.
pub(crate) fn check_enabled(begin: &Begin<'_>) -> Result<(), CoreError> {
    if begin.ty.enabled {
        Ok(())
    } else {
        Err(CoreError::refused(Refusal::Forbidden, RefusalCode::AuthTypeDisabled, "this type is switched off"))
    }
}

/// Start a ceremony of `protocol` (`None`: the one the user has an authenticator for).
pub(crate) async fn start(
    core: &Core,
    begin: &Begin<'_>,
    user: &User,
    protocol: Option<&'static str>,
) -> Result<LoginResult, CoreError> {
    let mut out = core.fido_challenge(begin.tenant, user, protocol, begin.login.message.as_deref()).await?;
    out.session_id = begin.login.session_id.clone();
    Ok(out)
}

#[async_trait]
impl LoginMethod for Fido2 {
    fn method(&self) -> Method {
        Method::Fido2
    }

    fn risk_code(&self) -> u32 {
        14
    }

    async fn check(&self, _: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        check_enabled(begin)
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        // The risk engine's challenge takes whichever protocol the user has.
        let protocol = if begin.why == Why::Challenge { None } else { Some("FIDO2") };
        start(core, begin, user, protocol).await
    }
}

/// The login call carrying `credentials`: finish the FIDO2 or UAF ceremony `requestID`
/// names. A response that does not verify counts for the risk engine's velocity.
pub(crate) async fn finish(core: &Core, reply: &Reply<'_>) -> Result<LoginResult, CoreError> {
    let a = reply.answer;
    let creds = a.credentials.as_ref().ok_or_else(|| CoreError::invalid("credentials", "a FIDO response"))?;
    let out = core.fido_login(reply.tenant, reply.user, &a.request_id, creds, a.login.session_id.clone()).await;
    if let Err(CoreError::Refused { kind: Refusal::Unprocessable, code, .. }) = &out
        && code.is_fido_response_failure()
    {
        let ip = a.login.ip_address.as_deref().and_then(|a| a.parse().ok());
        core.record_risk_failure(reply.tenant, &reply.user.id, ip).await;
    }
    out
}
