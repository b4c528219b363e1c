//! Token secrets as administrators import them and `otpauth://` URIs carry them (base32),
//! and codes computed from any key: decoding never panics, what decodes re-encodes to the
//! same bytes, and a code has exactly the digits asked for.
#![no_main]

use countersign_core::tokens::oath::{base32_decode, base32_encode, hotp, time_step, Algorithm};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Some(bytes) = base32_decode(text)
    {
        assert_eq!(base32_decode(&base32_encode(&bytes)).as_deref(), Some(bytes.as_slice()));
    }
    let counter = data.iter().fold(0u64, |a, b| a.rotate_left(8) ^ u64::from(*b));
    for (alg, digits) in [(Algorithm::Sha1, 6), (Algorithm::Sha256, 8), (Algorithm::Sha512, 9)] {
        assert_eq!(hotp(alg, data, counter, digits).len(), digits as usize);
    }
    let _ = time_step(counter as i64, 30);
});
