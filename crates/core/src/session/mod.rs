//! Login sessions: the typed state machine (docs/mobile-protocol.md, "The session state
//! machine").
//!
//! A session starts `Pending` ([`Session::pending`]) or already ended
//! ([`Session::ended`]), and leaves `Pending` once, for one of `Accept`, `Decline`,
//! `Timeout`, `Failed`. Its state is private: [`Session::finish`] checks a transition and
//! the store applies it with a conditional update, so racing transitions cannot both win.
//!
//! - [`model`]: the session and what a login fixes when it starts;
//! - [`state`]: the states, endings and transitions;
//! - `end`: the one place where an ending has its effects (callback and learning queued in
//!   the ending's transaction; waiters, metrics and the delivery worker after it);
//! - `wait`: reading a session (never writing it) and waiting for its end;
//! - [`sweeper`]: ends expired pending sessions as `Timeout` on every node.

mod end;
pub mod model;
pub mod state;
pub mod sweeper;
mod wait;
mod waiters;

pub use model::{NewSession, Session, SessionCode};
pub use state::{Ending, SessionState, Transition, closed};
pub use wait::SAFETY_RECHECK;
pub use waiters::{ACTIVATION_PREFIX, Waiters, activation_key};

pub(crate) use end::Teaches;
pub use end::cause;
