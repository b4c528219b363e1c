//! The one vocabulary: [`Method`] (how a user proves it is them) and [`Delivery`] (how
//! a challenge reached them). Pure data, below everything that uses it (sessions, metrics,
//! the store).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

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
