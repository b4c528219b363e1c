//! Randomness as a parameter, and the secret tokens made from it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::CoreError;

/// A source of cryptographically secure random bytes.
pub trait Random: Send + Sync {
    /// Fill `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]) -> Result<(), CoreError>;
}

/// The operating system's generator (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl Random for OsRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), CoreError> {
        getrandom::fill(buf).map_err(|e| CoreError::Internal(format!("random source failed: {e}")))
    }
}

/// A new secret: `prefix` followed by 32 random bytes in base64url (43 characters).
pub fn secret_token(random: &dyn Random, prefix: &str) -> Result<String, CoreError> {
    let mut bytes = [0u8; 32];
    random.fill(&mut bytes)?;
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes)))
}

/// A new random UUID-formatted identifier (version 4).
pub fn new_id(random: &dyn Random) -> Result<String, CoreError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes)?;
    Ok(uuid::Builder::from_random_bytes(bytes).into_uuid().to_string())
}
