//! How a session's method and delivery are stored: the session table keeps the two text
//! columns it always had — `method` (the device's word for a push: `NoPIN`, `PIN`,
//! `Fingerprint`, `Custom`; `OTP` for anything else) and `delivery` (`pushNotification`,
//! `requestMessage`; the channel of a code: `sms`, `email`, `voice`, or `custom`; else
//! what the login was: `token`, `fido`, `qr`, `static_password`, `risk`) — so rows of
//! earlier releases read back unchanged. This module is the one place those words are
//! written and read; the storage backends call it, and the queries that select by them
//! take their values from here.

use super::{Delivery, Method};

/// The `method` column of every session that is not a push.
pub const NOT_A_PUSH: &str = "OTP";

/// The `delivery` values of sessions that sent the user something (a push, a code by
/// SMS, e-mail or call): what the per-user login-request limit counts.
pub const LOGIN_REQUESTS: [&str; 4] = ["pushNotification", "sms", "email", "voice"];

/// The `method` and `delivery` columns of a session.
pub fn columns(method: Option<Method>, delivery: Delivery) -> (&'static str, &'static str) {
    let Some(m) = method else { return (NOT_A_PUSH, "risk") };
    if let Some(device) = m.device_name() {
        let d = if delivery == Delivery::RequestMessage { "requestMessage" } else { "pushNotification" };
        return (device, d);
    }
    let d = match m {
        Method::Sms | Method::Email | Method::Voice if delivery == Delivery::Custom => "custom",
        Method::Sms => "sms",
        Method::Email => "email",
        Method::Voice => "voice",
        Method::Totp => "token",
        Method::Fido2 | Method::Uaf => "fido",
        Method::QrOtp => "qr",
        Method::StaticPassword => "static_password",
        // Pushes were answered above.
        Method::Push | Method::PushPin | Method::PushFingerprint | Method::PushCustom => "pushNotification",
    };
    (NOT_A_PUSH, d)
}

/// Read the columns back (`message` tells a UAF login from a FIDO2 one, as it always
/// has); `None` for words no release wrote.
pub fn read(method: &str, delivery: &str, message: &str) -> Option<(Option<Method>, Delivery)> {
    let push = match method {
        "NoPIN" => Some(Method::Push),
        "PIN" => Some(Method::PushPin),
        "Fingerprint" => Some(Method::PushFingerprint),
        "Custom" => Some(Method::PushCustom),
        NOT_A_PUSH => None,
        _ => return None,
    };
    if let Some(m) = push {
        let d = match delivery {
            "pushNotification" => Delivery::PushNotification,
            "requestMessage" => Delivery::RequestMessage,
            _ => return None,
        };
        return Some((Some(m), d));
    }
    let (m, d) = match delivery {
        "sms" => (Some(Method::Sms), Delivery::Message),
        "email" => (Some(Method::Email), Delivery::Message),
        "voice" => (Some(Method::Voice), Delivery::Message),
        "custom" => (Some(Method::Sms), Delivery::Custom),
        "token" => (Some(Method::Totp), Delivery::None),
        "fido" if message == "UAF" => (Some(Method::Uaf), Delivery::None),
        "fido" => (Some(Method::Fido2), Delivery::None),
        "qr" => (Some(Method::QrOtp), Delivery::None),
        "static_password" => (Some(Method::StaticPassword), Delivery::None),
        "risk" => (None, Delivery::None),
        _ => return None,
    };
    Some((m, d))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    /// What each method's sessions are stored as reads back as it was.
    #[test]
    fn every_session_kind_reads_back() {
        let mut kinds: Vec<(Option<Method>, Delivery, &str)> = vec![(None, Delivery::None, "adaptive login")];
        for m in Method::ALL {
            let (d, message) = match m {
                _ if m.is_push() => (Delivery::PushNotification, "Log in?"),
                _ if m.is_code() => (Delivery::Message, "sms"),
                Method::Uaf => (Delivery::None, "UAF"),
                _ => (Delivery::None, "x"),
            };
            kinds.push((Some(m), d, message));
        }
        kinds.push((Some(Method::PushPin), Delivery::RequestMessage, "Log in?"));
        kinds.push((Some(Method::Sms), Delivery::Custom, "votpCustomDelivery"));
        for (m, d, message) in kinds {
            let (mc, dc) = columns(m, d);
            assert_eq!(read(mc, dc, message), Some((m, d)), "{m:?} {d:?}");
        }
        assert_eq!(read("Carrier", "pigeon", ""), None);
    }

    /// The rows of earlier releases, as they were written.
    #[test]
    fn earlier_rows_read() {
        assert_eq!(read("NoPIN", "pushNotification", ""), Some((Some(Method::Push), Delivery::PushNotification)));
        assert_eq!(read("OTP", "custom", "votpCustomDelivery"), Some((Some(Method::Sms), Delivery::Custom)));
        assert_eq!(read("OTP", "fido", "FIDO2"), Some((Some(Method::Fido2), Delivery::None)));
        assert_eq!(read("OTP", "risk", "adaptive login"), Some((None, Delivery::None)));
    }

    /// The login-request limit counts pushes sent and codes sent, nothing else.
    #[test]
    fn login_requests_are_what_was_sent() {
        let sent = |d: Delivery| matches!(d, Delivery::PushNotification | Delivery::Message);
        for m in Method::ALL.map(Some).into_iter().chain([None]) {
            for d in [
                Delivery::PushNotification,
                Delivery::RequestMessage,
                Delivery::Message,
                Delivery::Custom,
                Delivery::None,
            ] {
                let (mc, dc) = columns(m, d);
                let Some((m2, d2)) = read(mc, dc, "") else { continue };
                if (m2, d2) == (m, d) {
                    assert_eq!(LOGIN_REQUESTS.contains(&dc), sent(d), "{m:?} {d:?}");
                }
            }
        }
    }
}
