//! Login methods (docs/architecture.md, "Methods"): the one vocabulary ([`Method`]), the
//! seam every method implements, the registry that maps authentication types and risk
//! outcomes to methods, and one module per method.

use async_trait::async_trait;

use crate::device::Device;
use crate::error::{CoreError, Entity};
use crate::login::LoginResult;
use crate::otp::AuthType;
use crate::service::Core;
use crate::session::{Session, closed};
use crate::tenant::Tenant;
use crate::user::User;
use command::{AnswerLogin, StartLogin};

mod code;
pub mod command;
mod dispatch;
mod fido2;
mod method;
mod push;
mod push_custom;
mod qr_otp;
pub(crate) mod registry;
mod static_password;
pub mod stored;
mod totp;
mod uaf;
mod voice;

pub use method::{Delivery, Method};

/// Why a login starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Why {
    /// The call named the type (its `passKey`, or `otp` for a token); or the tenant named
    /// it (a `parallel` static password's second factor).
    Named,
    /// A push type's `fallback`: the user has no active device.
    Fallback,
    /// The risk engine's challenge.
    Challenge,
}

/// A login about to start: for whom, with which authentication type, asked how.
pub(crate) struct Begin<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The type's name (what `passKey` said, or the type a risk challenge starts).
    pub name: &'a str,
    /// Its settings.
    pub ty: &'a AuthType,
    /// What the call said about the login.
    pub login: &'a StartLogin,
    /// Why it starts.
    pub why: Why,
    /// A token login: the code the call carries.
    pub otp: Option<&'a str>,
}

/// The second login call, for the session its `requestID` names.
pub(crate) struct Reply<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The user (active; the session is theirs).
    pub user: &'a User,
    /// The answer.
    pub answer: &'a AnswerLogin,
}

/// One login method (docs/architecture.md, "The seam"): its name and riskResponseCode,
/// how a login starts with it, how its answer is checked. Each module under `methods/`
/// implements it; [`registry::of`] finds the one for a [`Method`].
#[async_trait]
pub(crate) trait LoginMethod: Send + Sync {
    /// Which method this is (its wire name is [`Method::as_str`]).
    fn method(&self) -> Method;

    /// The `riskResponseCode` of a challenge with this method (docs/risk.md).
    fn risk_code(&self) -> u32;

    /// Refuse a malformed call before the user is read, so that the answer does not
    /// depend on whether the user exists. Nothing to check by default.
    async fn check(&self, core: &Core, begin: &Begin<'_>) -> Result<(), CoreError> {
        let _ = (core, begin);
        Ok(())
    }

    /// Start a login of the active `user`.
    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginResult, CoreError>;

    /// Check the answer the login call carries for session `s` (read, of this user). By
    /// default the method is not answered through the login call: `409 session_closed`
    /// once the session has ended, `404` before.
    async fn answer(&self, core: &Core, reply: &Reply<'_>, s: Session) -> Result<LoginResult, CoreError> {
        let _ = (core, reply);
        Err(if s.state().is_final() { closed(s.state()) } else { CoreError::NotFound(Entity::Session) })
    }

    /// Pushes: the public key of `device` that approves session `s` when the answer names
    /// `key` (`possession`, `pin`, `biometric`, `custom`). By default, none does.
    fn approver<'d>(&self, device: &'d Device, s: &Session, key: &str) -> Result<&'d str, CoreError> {
        let _ = (device, key);
        Err(wrong_key(s, "accept"))
    }
}

/// `422` on `key`: the answer is signed with a key the method does not take.
pub(crate) fn wrong_key(s: &Session, decision: &str) -> CoreError {
    let name = s.method.and_then(Method::device_name).unwrap_or("request");
    CoreError::invalid("key", format!("a {name} {decision} must be signed with another key (see the protocol)"))
}
