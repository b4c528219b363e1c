//! The states of a session and the checked transition out of `Pending`.

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
}

/// How a session ends: the final state, the device that answered, and why the server
/// decided (`no_device`, `wrong_number`, `pin_attempts_exceeded` …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub(super) state: SessionState,
    pub(super) device_id: Option<String>,
    pub(super) reason: Option<String>,
}

impl Ending {
    /// End in `state` (which must be final; a transition to `Pending` is refused).
    pub fn new(state: SessionState) -> Ending {
        Ending { state, device_id: None, reason: None }
    }

    /// `Accept`.
    pub fn accept() -> Ending {
        Ending::new(SessionState::Accept)
    }

    /// `Failed` for `reason`.
    pub fn failed(reason: &str) -> Ending {
        Ending::new(SessionState::Failed).because(reason)
    }

    /// Record why the server decided.
    pub fn because(mut self, reason: &str) -> Ending {
        self.reason = Some(reason.to_owned());
        self
    }

    /// Record the device that answered.
    pub fn by(mut self, device_id: &str) -> Ending {
        self.device_id = Some(device_id.to_owned());
        self
    }

    /// The final state.
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// Why the server decided.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// A checked state change of one session, made only by
/// [`Session::finish`](super::Session::finish). The store applies it with one conditional
/// update: only if the row is still in [`Transition::from`], and only if the session's
/// deadline is as the transition needs — before `expires_at` for an answer
/// ([`Transition::before_deadline`]), at or after it for `Timeout` — so that of racing
/// transitions exactly one wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub(super) id: String,
    pub(super) from: SessionState,
    pub(super) to: SessionState,
    pub(super) at: Timestamp,
    pub(super) decided_at: Timestamp,
    pub(super) device_id: Option<String>,
    pub(super) reason: Option<String>,
}

impl Transition {
    /// The session.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The state the row must be in (always `Pending`).
    pub fn from(&self) -> SessionState {
        self.from
    }

    /// The final state it moves to.
    pub fn to(&self) -> SessionState {
        self.to
    }

    /// When the transition is made: the deadline is checked against this instant.
    pub fn at(&self) -> Timestamp {
        self.at
    }

    /// The `decided_at` to record: `at`, except for `Timeout`, which was decided by the
    /// deadline itself (`expires_at`).
    pub fn decided_at(&self) -> Timestamp {
        self.decided_at
    }

    /// Whether the row's `expires_at` must be after [`Transition::at`] (an answer) rather
    /// than at or before it (`Timeout`).
    pub fn before_deadline(&self) -> bool {
        self.to != SessionState::Timeout
    }

    /// The device that answered, recorded when given.
    pub fn device_id(&self) -> Option<&str> {
        self.device_id.as_deref()
    }

    /// Why the server decided, recorded when given.
    pub fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }
}

/// The refusal of a transition out of a session that has ended (in `state`).
pub fn closed(state: SessionState) -> CoreError {
    CoreError::refused(
        Refusal::Conflict,
        RefusalCode::SessionClosed,
        format!("the request has ended: {}", state.as_str()),
    )
}
