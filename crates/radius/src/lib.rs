//! The RADIUS front door (docs/radius.md): RFC 2865 Access-Request over UDP, answered
//! with countersign's methods.

pub mod packet;
pub mod server;

pub use server::serve;
