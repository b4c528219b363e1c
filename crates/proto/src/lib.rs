//! The mobile authenticator protocol (docs/mobile-protocol.md): message types and the
//! exact bytes each signature covers. The server verifies with this crate and the
//! reference authenticator signs with it, so both sides cannot drift apart.

pub mod crypto;
pub mod messages;
pub mod signed;
pub mod uaf;

pub use crypto::{KeyPair, ProtoError, b64u_decode, b64u_encode, derive_pin_key, verify};
