//! The registry (docs/architecture.md, "Methods"): which module carries out each method,
//! and which method each risk challenge starts. Each table is written once, here; the
//! `match`es are exhaustive, so a new [`Method`] or [`Outcome`] does not compile until it
//! is registered.

use super::{LoginMethod, Method, code, fido2, push, push_custom, qr_otp, static_password, totp, uaf, voice};
use crate::risk::Outcome;

/// The module that carries out `m`.
pub(crate) fn of(m: Method) -> &'static dyn LoginMethod {
    match m {
        Method::Push => &push::NO_PIN,
        Method::PushPin => &push::PIN,
        Method::PushFingerprint => &push::FINGERPRINT,
        Method::PushCustom => &push_custom::PushCustom,
        Method::QrOtp => &qr_otp::QrOtp,
        Method::Sms => &code::SMS,
        Method::Email => &code::EMAIL,
        Method::Voice => &voice::Voice,
        Method::Totp => &totp::Totp,
        Method::Fido2 => &fido2::Fido2,
        Method::Uaf => &uaf::Uaf,
        Method::StaticPassword => &static_password::StaticPassword,
    }
}

/// A challenge of the risk engine: the method, and the authentication type it starts
/// (the tenant's version of it, as a `passKey` naming it would); `None`: no type, the
/// method's own defaults (a static password lives the tenant's `loginTimeoutSeconds`; a
/// FIDO challenge takes the protocol of the user's authenticator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Challenge {
    /// The method challenged with.
    pub method: Method,
    /// The authentication type started.
    pub type_name: Option<&'static str>,
}

/// The challenge `o` asks for; `None` for the outcomes that decide at once (accept,
/// decline, lock).
pub(crate) fn challenge(o: Outcome) -> Option<Challenge> {
    let (method, type_name) = match o {
        Outcome::Accept | Outcome::Decline | Outcome::Lock => return None,
        Outcome::StaticPassword => (Method::StaticPassword, None),
        Outcome::Sms => (Method::Sms, Some("sms")),
        Outcome::Email => (Method::Email, Some("email")),
        Outcome::Voice => (Method::Voice, Some("voice")),
        Outcome::Push => (Method::Push, Some("push")),
        Outcome::PushPin => (Method::PushPin, Some("PIN")),
        Outcome::PushFingerprint => (Method::PushFingerprint, Some("Fingerprint")),
        Outcome::Fido => (Method::Fido2, None),
    };
    Some(Challenge { method, type_name })
}

impl Method {
    /// The module that carries out this method ([`of`]): how a method reaches another's
    /// behaviour without importing the registry that lists it.
    pub(crate) fn module(self) -> &'static dyn LoginMethod {
        of(self)
    }

    /// The `riskResponseCode` of a challenge with this method (docs/risk.md).
    pub fn risk_code(self) -> u32 {
        of(self).risk_code()
    }
}

impl Outcome {
    /// The `riskResponseCode`: `0` accept, `1` decline (and lock), else the code of the
    /// method the challenge starts.
    pub fn code(self) -> u32 {
        match challenge(self) {
            Some(c) => c.method.risk_code(),
            None if self == Outcome::Accept => 0,
            None => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn every_method_is_its_own_module() {
        for m in Method::ALL {
            assert_eq!(of(m).method(), m);
        }
    }

    /// The riskResponseCode table of docs/risk.md, once.
    #[test]
    fn risk_response_codes() {
        let want = [
            (Method::StaticPassword, 2),
            (Method::Sms, 3),
            (Method::Push, 6),
            (Method::Email, 8),
            (Method::Voice, 13),
            (Method::Fido2, 14),
            (Method::Uaf, 14),
            (Method::PushPin, 22),
            (Method::PushFingerprint, 23),
            (Method::Totp, 101),
            (Method::QrOtp, 102),
            (Method::PushCustom, 103),
        ];
        assert_eq!(want.len(), Method::ALL.len());
        for (m, code) in want {
            assert_eq!(m.risk_code(), code, "{m}");
        }
        let outcomes: [(&str, u32); 11] = [
            ("accept", 0),
            ("decline", 1),
            ("lock", 1),
            ("static_password", 2),
            ("sms", 3),
            ("push", 6),
            ("email", 8),
            ("voice", 13),
            ("fido", 14),
            ("push_pin", 22),
            ("push_fingerprint", 23),
        ];
        for (name, code) in outcomes {
            let o: Outcome = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(o.code(), code, "{name}");
        }
    }

    #[test]
    fn challenges_start_their_method() {
        let c = challenge(Outcome::Voice).unwrap();
        assert_eq!((c.method, c.type_name), (Method::Voice, Some("voice")));
        assert_eq!(challenge(Outcome::Lock), None);
        // A challenge's built-in type has the challenge's method.
        for o in
            [Outcome::Sms, Outcome::Email, Outcome::Voice, Outcome::Push, Outcome::PushPin, Outcome::PushFingerprint]
        {
            let c = challenge(o).unwrap();
            let ty = crate::otp::AuthType::builtin(c.type_name.unwrap()).unwrap();
            assert_eq!(ty.method, c.method, "{o:?}");
        }
    }
}
