//! Login methods (docs/architecture.md, "Methods"): the one vocabulary ([`Method`]), the
//! seam every method implements, the registry that maps authentication types and risk
//! outcomes to methods, and one module per method.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::device::Device;
use crate::error::{CoreError, Entity};
use crate::login::LoginOutput;
use crate::ops::Core;
use crate::otp::AuthType;
use crate::session::{Session, closed};
use crate::tenant::Tenant;
use crate::user::User;
use command::{AnswerLogin, StartLogin};

mod code;
pub mod command;
mod dispatch;
mod fido2;
mod push;
mod push_custom;
mod qr_otp;
pub(crate) mod registry;
mod static_password;
pub mod stored;
mod totp;
mod uaf;
mod voice;

/// How a user proves it is them: what an authentication type's `method` says, and what a
/// session records. The wire names are snake case (`push_pin`, `qr_otp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Push, possession only.
    Push,
    /// Push unlocked with the PIN.
    PushPin,
    /// Push unlocked with the fingerprint (PIN as fallback).
    PushFingerprint,
    /// Push unlocked with a named custom authenticator (PIN as fallback).
    PushCustom,
    /// QR-code login.
    QrOtp,
    /// A one-time code by SMS.
    Sms,
    /// A one-time code by e-mail.
    Email,
    /// A one-time code read out by a phone call.
    Voice,
    /// A TOTP/HOTP token's code.
    Totp,
    /// A FIDO2/WebAuthn passkey.
    Fido2,
    /// FIDO UAF 1.1.
    Uaf,
    /// A static password.
    StaticPassword,
}

impl Method {
    /// Every method.
    pub const ALL: [Method; 12] = [
        Method::Push,
        Method::PushPin,
        Method::PushFingerprint,
        Method::PushCustom,
        Method::QrOtp,
        Method::Sms,
        Method::Email,
        Method::Voice,
        Method::Totp,
        Method::Fido2,
        Method::Uaf,
        Method::StaticPassword,
    ];

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Push => "push",
            Method::PushPin => "push_pin",
            Method::PushFingerprint => "push_fingerprint",
            Method::PushCustom => "push_custom",
            Method::QrOtp => "qr_otp",
            Method::Sms => "sms",
            Method::Email => "email",
            Method::Voice => "voice",
            Method::Totp => "totp",
            Method::Fido2 => "fido2",
            Method::Uaf => "uaf",
            Method::StaticPassword => "static_password",
        }
    }

    /// Read a wire name.
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// What the device is told a push request is (the mobile protocol's words): `NoPIN`,
    /// `PIN`, `Fingerprint`, `Custom`; `None` for methods that are not a push.
    pub fn device_name(self) -> Option<&'static str> {
        match self {
            Method::Push => Some("NoPIN"),
            Method::PushPin => Some("PIN"),
            Method::PushFingerprint => Some("Fingerprint"),
            Method::PushCustom => Some("Custom"),
            _ => None,
        }
    }

    /// Whether it is a push: the device sees and answers it.
    pub fn is_push(self) -> bool {
        self.device_name().is_some()
    }

    /// Whether it sends a one-time code the user types back (SMS, e-mail, voice).
    pub fn is_code(self) -> bool {
        matches!(self, Method::Sms | Method::Email | Method::Voice)
    }
}

/// How a session's challenge reached the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// A push notification to the user's devices (`orchestrationDelivery`
    /// `pushNotification`).
    PushNotification,
    /// Handed to the relying party to pass to the app itself (`requestMessage`).
    RequestMessage,
    /// A message on the method's own channel: an SMS, an e-mail, a call.
    Message,
    /// A one-time code handed to the relying party to deliver (custom delivery).
    Custom,
    /// Nothing was delivered: the login carried its proof (a token code, a FIDO response),
    /// a device claimed it, or the risk engine decided.
    None,
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    async fn start(&self, core: &Core, begin: &Begin<'_>, user: &User) -> Result<LoginOutput, CoreError>;

    /// Check the answer the login call carries for session `s` (read, of this user). By
    /// default the method is not answered through the login call: `409 session_closed`
    /// once the session has ended, `404` before.
    async fn answer(&self, core: &Core, reply: &Reply<'_>, s: Session) -> Result<LoginOutput, CoreError> {
        let _ = (core, reply);
        Err(if s.state().is_final() { closed(s.state()) } else { CoreError::NotFound(Entity::Session) })
    }

    /// Pushes: the public key of `device` that approves session `s` when the answer names
    /// `key` (`possession`, `pin`, `biometric`, `custom`). By default, none does.
    fn approver<'d>(&self, device: &'d Device, s: &Session, key: &str) -> Result<&'d str, CoreError> {
        let _ = (device, key);
        Err(push::wrong_key(s, "accept"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn wire_names_are_the_serde_names_and_read_back() {
        for m in Method::ALL {
            assert_eq!(serde_json::to_value(m).unwrap(), serde_json::Value::String(m.as_str().to_owned()));
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
        let mut names: Vec<_> = Method::ALL.iter().map(|m| m.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Method::ALL.len());
    }

    #[test]
    fn pushes_have_device_names() {
        let pushes: Vec<_> = Method::ALL.into_iter().filter(|m| m.is_push()).collect();
        assert_eq!(pushes, [Method::Push, Method::PushPin, Method::PushFingerprint, Method::PushCustom]);
        assert_eq!(Method::PushCustom.device_name(), Some("Custom"));
        assert_eq!(Method::Sms.device_name(), None);
    }
}
