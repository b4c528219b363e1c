//! Activating mobile authenticators and authenticating their requests
//! (docs/mobile-protocol.md, "Activation" and "Device-signed requests").

mod activation;
mod devices;
mod progress;
pub mod qr;

pub use progress::ActivationProgress;

use countersign_proto::{b64u_encode, crypto};
use subtle::ConstantTimeEq;

use crate::clock::Timestamp;
use crate::error::{CoreError, Refusal};
use crate::random;
use crate::refusal::RefusalCode;

/// How far a device's request timestamp may be from the server's clock.
pub const REQUEST_WINDOW_MS: i64 = 5 * 60_000;
/// How long request nonces are remembered (longer than the window).
pub const NONCE_MEMORY_MS: i64 = 10 * 60_000;

/// `X-CS-Timestamp` read: milliseconds since the epoch as a decimal integer, an optional
/// `-` and 1–19 digits, nothing else (no `+`, spaces or exponent); `None` otherwise,
/// including for numbers beyond `i64`.
pub fn parse_request_timestamp(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Whether a request signed at `timestamp` is within [`REQUEST_WINDOW_MS`] of `now`
/// (both in milliseconds). The distance is taken without overflow: a timestamp 2^63 ms
/// away does not wrap around into the window.
pub fn request_is_fresh(now: i64, timestamp: i64) -> bool {
    now.abs_diff(timestamp) <= REQUEST_WINDOW_MS.unsigned_abs()
}

/// A started activation: what the caller shows the user.
#[derive(Debug, Clone)]
pub struct ActivationData {
    /// The activation ID.
    pub activation_id: String,
    /// When it stops being usable.
    pub expires_at: Timestamp,
    /// The text of the QR code.
    pub qr_payload: String,
    /// The same as a link a phone can open (`<server>/app/activate?…`).
    pub app_link: String,
}

/// The signature headers of a device-signed request, and what they cover.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    /// `X-CS-Device`.
    pub device_id: &'a str,
    /// `X-CS-Timestamp`.
    pub timestamp: &'a str,
    /// `X-CS-Nonce`.
    pub nonce: &'a str,
    /// `X-CS-Signature`.
    pub signature: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Request path.
    pub path: &'a str,
    /// Request body.
    pub body: &'a [u8],
}

fn gone(code: RefusalCode, message: &str) -> CoreError {
    CoreError::refused(Refusal::Gone, code, message)
}

/// 12 characters of A–Z2–7: 60 bits.
fn activation_code(random: &dyn random::Random) -> Result<String, CoreError> {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bytes = [0u8; 12];
    random.fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| ALPHABET[(b % 32) as usize] as char).collect())
}

fn nonce(random: &dyn random::Random) -> Result<String, CoreError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Ok(b64u_encode(&bytes))
}

fn check_key(field: &str, key: &str) -> Result<(), CoreError> {
    crypto::parse_public_key(key)
        .map_err(|_| CoreError::invalid(field, "must be a P-256 public key, SEC1 uncompressed, base64url"))
}

fn bad_proof(field: &str) -> CoreError {
    CoreError::invalid(field, "the signature does not verify: the app must sign the activation proof with this key")
}

/// Whether `token` looks like a browser's PushSubscription JSON (the keys are checked
/// again, fully, when a push is encrypted for them).
fn web_push_subscription_ok(token: &str) -> bool {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(token) else { return false };
    let endpoint = v.get("endpoint").and_then(|e| e.as_str()).unwrap_or("");
    let key = |k: &str| v.pointer(&format!("/keys/{k}")).and_then(|x| x.as_str()).is_some_and(|x| !x.is_empty());
    crate::delivery::callbacks::check_url("token", endpoint).is_ok() && key("p256dh") && key("auth")
}

/// The refusal of a second active device in the single enrollment mode.
fn device_exists() -> CoreError {
    CoreError::refused(
        Refusal::Conflict,
        RefusalCode::DeviceExists,
        "this user has an active device for this app; remove it first (enrollment mode: single)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: i64 = 1_800_000_000_000;

    #[test]
    fn timestamps_far_away_are_stale_even_where_the_distance_overflows() {
        for ts in [NOW.wrapping_add(i64::MIN), i64::MIN, i64::MIN + 1, i64::MAX, -NOW, 0] {
            assert!(!request_is_fresh(NOW, ts), "{ts}");
        }
        assert!(request_is_fresh(NOW, NOW - REQUEST_WINDOW_MS));
        assert!(request_is_fresh(NOW, NOW + REQUEST_WINDOW_MS));
        assert!(!request_is_fresh(NOW, NOW - REQUEST_WINDOW_MS - 1));
        assert!(!request_is_fresh(NOW, NOW + REQUEST_WINDOW_MS + 1));
        for text in ["", "-", "+1", " 1", "1 ", "1e3", "0x10", "18446744073709551615", "9223372036854775808"] {
            assert_eq!(parse_request_timestamp(text), None, "{text:?}");
        }
        assert_eq!(parse_request_timestamp("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_request_timestamp("1800000000000"), Some(NOW));
    }

    proptest! {
        /// Any i64 timestamp: fresh exactly when it is within the window, measured exactly.
        #[test]
        fn an_i64_passes_only_within_the_window(now in any::<i64>(), ts in any::<i64>()) {
            let within = (i128::from(now) - i128::from(ts)).abs() <= i128::from(REQUEST_WINDOW_MS);
            prop_assert_eq!(request_is_fresh(now, ts), within);
            let read = parse_request_timestamp(&ts.to_string());
            prop_assert_eq!(read, Some(ts));
        }

        /// Any u64 written out: one beyond i64 is not a timestamp; one within it is read as
        /// itself and passes only within the window.
        #[test]
        fn a_u64_never_passes_unless_within_the_window(v in any::<u64>(), near in any::<bool>()) {
            let v = if near { (NOW as u64).wrapping_add(v % 1_000_000).wrapping_sub(500_000) } else { v };
            let read = parse_request_timestamp(&v.to_string());
            match i64::try_from(v) {
                Ok(ts) => {
                    prop_assert_eq!(read, Some(ts));
                    prop_assert_eq!(request_is_fresh(NOW, ts), NOW.abs_diff(ts) <= REQUEST_WINDOW_MS as u64);
                }
                Err(_) => prop_assert_eq!(read, None),
            }
        }

        /// Any text: never a panic; read only when it is the canonical decimal form of an
        /// i64 (leading zeros aside), so no other spelling can slip a far value through.
        #[test]
        fn any_text_is_read_only_as_a_plain_integer(text in "[-+ 0-9a-fe.]{0,24}") {
            if let Some(ts) = parse_request_timestamp(&text) {
                let digits = text.strip_prefix('-').unwrap_or(&text);
                prop_assert!(digits.bytes().all(|b| b.is_ascii_digit()));
                prop_assert_eq!(text.parse::<i64>().ok(), Some(ts));
            }
        }
    }
}
