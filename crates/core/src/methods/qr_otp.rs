//! QR login as a type (riskResponseCode 102; docs/otp.md, "QR login as a type"): the
//! login answers `Pending` at once with the QR code of a QR login bound to its user; only
//! an active device of that user can claim it (`qr.rs`). What it stores: the QR login
//! (its code's hash, expiry and user); the claim records the accepted session.

use async_trait::async_trait;

use super::{Begin, LoginMethod, Method, fido2};
use crate::error::CoreError;
use crate::login::LoginResult;
use crate::service::Core;
use crate::session::SessionState;
use crate::user::User;

/// `qr_otp`.
pub(crate) struct QrOtp;

#[async_trait]
impl LoginMethod for QrOtp {
    fn method(&self) -> Method {
        Method::QrOtp
    }

    fn risk_code(&self) -> u32 {
        102
    }

    async fn check(&self, _: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        fido2::check_enabled(begin)
    }

    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError> {
        let q = core.new_qr_login(begin.tenant, begin.ty, Some(user)).await?;
        let mut out = LoginResult::bare(&q.request_id, SessionState::Pending, q.expires_at);
        out.qr_payload = Some(q.qr_payload);
        out.app_link = Some(q.app_link);
        out.session_id = begin.login.session_id.clone();
        Ok(out)
    }
}
