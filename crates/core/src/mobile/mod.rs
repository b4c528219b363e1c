//! Activating mobile authenticators and authenticating their requests
//! (docs/mobile-protocol.md, "Activation" and "Device-signed requests").

mod activation;
mod devices;
pub mod qr;

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
