//! Web Push errors: why a subscription, key, message or `Authorization` header is
//! refused, or a primitive failed. Texts never quote a key or secret.

use super::{MAX_PLAINTEXT, MIN_RECORD_SIZE, POINT_LEN, RECORD_SIZE};
use crate::jwt;

/// Why a subscription, key, message or header is refused, or a primitive failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebPushError {
    /// The subscription JSON is not usable.
    #[error("subscription {0}")]
    Subscription(String),
    /// The message does not fit in one record.
    #[error("push message is {0} bytes; at most {MAX_PLAINTEXT} fit in one {RECORD_SIZE}-byte record")]
    TooLong(usize),
    /// The operating system gave no randomness (`what` for).
    #[error("no randomness for {what}: {reason}")]
    NoRandomness {
        /// What it was for.
        what: &'static str,
        /// The operating system's reason.
        reason: String,
    },
    /// No valid P-256 key came out of several random tries.
    #[error("could not generate a P-256 key")]
    KeyGeneration,
    /// A stored VAPID private key has the wrong length.
    #[error("VAPID private key must be 32 bytes, got {0}")]
    VapidKeyLength(usize),
    /// A stored VAPID private key is not a scalar.
    #[error("VAPID private key is not a valid P-256 scalar")]
    VapidKeyScalar,
    /// The push endpoint is not an `http(s)` URL with a host.
    #[error("push endpoint {0}")]
    Endpoint(UrlError),
    /// The time is out of range.
    #[error("now_unix is out of range")]
    TimeRange,
    /// The VAPID subject is not a `mailto:` or `https:` URI.
    #[error("VAPID subject {0}")]
    Subject(&'static str),
    /// The VAPID token cannot be signed.
    #[error(transparent)]
    Jwt(#[from] jwt::JwtError),
    /// A VAPID `Authorization` header is refused (push-service side).
    #[error("{0}")]
    Vapid(String),
    /// An `aes128gcm` body does not parse or decrypt (user-agent side).
    #[error("{0}")]
    Body(String),
    /// Records this small cannot hold anything.
    #[error("record size must be at least {MIN_RECORD_SIZE}")]
    RecordSize,
    /// A cryptographic primitive failed.
    #[error("{0}")]
    Crypto(&'static str),
}

/// What is wrong with a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// Whitespace or control characters.
    #[error("must not contain whitespace or control characters")]
    Whitespace,
    /// Neither `https://` nor `http://`.
    #[error("must be an https:// or http:// URL")]
    Scheme,
    /// `user@` before the host.
    #[error("must not contain user info")]
    UserInfo,
    /// `[` without `]`.
    #[error("has an unclosed IPv6 literal")]
    UnclosedIpv6,
    /// Not hex digits, colons and dots in brackets.
    #[error("has an invalid IPv6 literal")]
    BadIpv6,
    /// Something other than `:port` after `]`.
    #[error("has junk after its IPv6 literal")]
    Ipv6Junk,
    /// An empty host or one with other characters.
    #[error("has no valid host")]
    Host,
    /// A port that is not a 16-bit number.
    #[error("has an invalid port")]
    Port,
}

/// What is wrong with a public key's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PointError {
    /// Not 65 bytes.
    #[error("must be a {POINT_LEN}-byte uncompressed P-256 point, got {0} bytes")]
    Length(usize),
    /// Not starting 0x04.
    #[error("must be an uncompressed P-256 point (starting 0x04)")]
    Compressed,
    /// Not on the curve.
    #[error("is not a point on P-256")]
    OffCurve,
}
