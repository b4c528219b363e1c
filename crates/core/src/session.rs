//! Login sessions: the typed state machine. A session starts `Pending` and ends in
//! exactly one of `Accept`, `Decline`, `Timeout`, `Failed`; [`SessionState::finish`] is
//! the only way to name a transition, and the store applies it with a conditional
//! update so that racing transitions cannot both win.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Timestamp;
use crate::error::{CoreError, Refusal};
use crate::refusal::RefusalCode;

/// The state of a session, with the seed vendors' exact words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SessionState {
    /// Waiting for the user.
    Pending,
    /// The user approved.
    Accept,
    /// The user declined (or picked the wrong number).
    Decline,
    /// Nobody answered in time.
    Timeout,
    /// It could not complete (no device, PIN attempts exhausted …).
    Failed,
}

impl SessionState {
    /// The stored and wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionState::Pending => "Pending",
            SessionState::Accept => "Accept",
            SessionState::Decline => "Decline",
            SessionState::Timeout => "Timeout",
            SessionState::Failed => "Failed",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Pending, Self::Accept, Self::Decline, Self::Timeout, Self::Failed].into_iter().find(|v| v.as_str() == s)
    }

    /// Whether the session has ended.
    pub fn is_final(self) -> bool {
        self != SessionState::Pending
    }

    /// Check that `self → to` is a legal transition (only `Pending` moves, and only to a
    /// final state) and return the transition for the store to apply.
    pub fn finish(self, to: SessionState) -> Result<Transition, CoreError> {
        if self == SessionState::Pending && to.is_final() {
            Ok(Transition { from: self, to })
        } else {
            Err(CoreError::refused(
                Refusal::Conflict,
                RefusalCode::SessionClosed,
                format!("the request has ended: {}", self.as_str()),
            ))
        }
    }
}

/// A checked state change, applied by the store only if the row is still in `from`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The state the row must be in.
    pub from: SessionState,
    /// The state it moves to.
    pub to: SessionState,
}

/// How a push login must be unlocked on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum PushMethod {
    /// Possession of the device is enough.
    #[serde(rename = "NoPIN")]
    NoPin,
    /// The PIN key must sign.
    #[serde(rename = "PIN")]
    Pin,
    /// The biometric key must sign (or the PIN key, as fallback).
    Fingerprint,
    /// Not a push: a one-time code sent by SMS or e-mail (docs/otp.md). Devices never
    /// see such sessions.
    #[serde(rename = "OTP")]
    Otp,
}

impl PushMethod {
    /// The stored and wire text.
    pub fn as_str(self) -> &'static str {
        match self {
            PushMethod::NoPin => "NoPIN",
            PushMethod::Pin => "PIN",
            PushMethod::Fingerprint => "Fingerprint",
            PushMethod::Otp => "OTP",
        }
    }

    /// Read the stored text.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::NoPin, Self::Pin, Self::Fingerprint, Self::Otp].into_iter().find(|v| v.as_str() == s)
    }

    /// The method a `passKey` keyword selects (`push` means `NoPIN`).
    pub fn from_pass_key(key: &str) -> Option<Self> {
        match key {
            "push" | "NoPIN" => Some(PushMethod::NoPin),
            "PIN" => Some(PushMethod::Pin),
            "Fingerprint" => Some(PushMethod::Fingerprint),
            _ => None,
        }
    }
}

/// The code of a code session (docs/otp.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionCode {
    /// The session.
    pub session_id: String,
    /// HMAC of the code under the master key's code-hash key.
    pub code_hash: String,
    /// Wrong codes so far.
    pub attempts: u32,
    /// Wrong codes allowed (0: unlimited).
    pub max_attempts: u32,
    /// Resends so far.
    pub resends: u32,
    /// Resends allowed.
    pub max_resends: u32,
    /// The outbox message that delivered it (none with custom delivery).
    pub message_id: Option<String>,
    /// The code, sealed, for custom delivery only.
    pub custom_code: Option<String>,
}

/// A login session as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The request ID.
    pub id: String,
    /// The tenant.
    pub tenant_id: String,
    /// The user's internal id.
    pub user_pk: String,
    /// How the device must unlock.
    pub method: PushMethod,
    /// Where it stands.
    pub state: SessionState,
    /// What the device shows.
    pub message: String,
    /// Shown with the message.
    pub context: BTreeMap<String, String>,
    /// Server nonce the response signs.
    pub nonce: String,
    /// The number to match, when number matching is on.
    pub number: Option<u8>,
    /// The choices the device offers (the number among them).
    pub number_choices: Vec<u8>,
    /// `pushNotification` or `requestMessage`.
    pub delivery: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// When a pending session times out.
    pub expires_at: Timestamp,
    /// When it ended.
    pub decided_at: Option<Timestamp>,
    /// The device that answered.
    pub device_id: Option<String>,
    /// Why it failed or was declined, when the server decided.
    pub reason: Option<String>,
    /// Where the result is posted when the session ends (allowlisted).
    pub callback_url: Option<String>,
}

impl Session {
    /// A session that is not a push (a code, token or QR login): no nonce, number or
    /// context; `Pending` until the caller sets otherwise.
    pub fn not_push(
        id: String,
        tenant_id: &str,
        user_pk: &str,
        message: String,
        delivery: &str,
        created_at: Timestamp,
        expires_at: Timestamp,
    ) -> Session {
        Session {
            id,
            tenant_id: tenant_id.to_owned(),
            user_pk: user_pk.to_owned(),
            method: PushMethod::Otp,
            state: SessionState::Pending,
            message,
            context: BTreeMap::new(),
            nonce: String::new(),
            number: None,
            number_choices: Vec::new(),
            delivery: delivery.to_owned(),
            created_at,
            expires_at,
            decided_at: None,
            device_id: None,
            reason: None,
            callback_url: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pending_moves_and_only_to_final() {
        use SessionState::*;
        for to in [Accept, Decline, Timeout, Failed] {
            assert_eq!(Pending.finish(to).unwrap(), Transition { from: Pending, to });
            for from in [Accept, Decline, Timeout, Failed] {
                assert!(from.finish(to).is_err(), "{from:?} -> {to:?}");
            }
        }
        assert!(Pending.finish(Pending).is_err());
        for s in [Pending, Accept, Decline, Timeout, Failed] {
            assert_eq!(SessionState::from_stored(s.as_str()), Some(s));
        }
    }

    #[test]
    fn pass_keys() {
        assert_eq!(PushMethod::from_pass_key("push"), Some(PushMethod::NoPin));
        assert_eq!(PushMethod::from_pass_key("PIN"), Some(PushMethod::Pin));
        assert_eq!(PushMethod::from_pass_key("pin"), None);
    }
}
