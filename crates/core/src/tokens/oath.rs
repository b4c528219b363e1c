//! OATH one-time passwords (docs/tokens.md): HOTP (RFC 4226) and TOTP (RFC 6238) with
//! SHA-1, SHA-256 and SHA-512, and the base32 the `otpauth://` URIs carry.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The HMAC hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum Algorithm {
    /// HMAC-SHA-1 (the default of RFC 4226 and of most apps).
    #[default]
    #[serde(rename = "SHA1")]
    Sha1,
    /// HMAC-SHA-256.
    #[serde(rename = "SHA256")]
    Sha256,
    /// HMAC-SHA-512.
    #[serde(rename = "SHA512")]
    Sha512,
}

impl Algorithm {
    /// The name in `otpauth://` URIs.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Read the stored name.
    pub fn from_stored(s: &str) -> Option<Self> {
        [Self::Sha1, Self::Sha256, Self::Sha512].into_iter().find(|a| a.as_str() == s)
    }
}

fn mac(alg: Algorithm, key: &[u8], msg: &[u8]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], msg: &[u8]) -> Vec<u8> {
        match <M as Mac>::new_from_slice(key) {
            Ok(mut m) => {
                m.update(msg);
                m.finalize().into_bytes().to_vec()
            }
            Err(_) => Vec::new(),
        }
    }
    match alg {
        Algorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, msg),
        Algorithm::Sha256 => run::<Hmac<sha2::Sha256>>(key, msg),
        Algorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, msg),
    }
}

/// The HOTP value of `counter` with `digits` digits (RFC 4226 section 5.3).
pub fn hotp(alg: Algorithm, key: &[u8], counter: u64, digits: u32) -> String {
    let h = mac(alg, key, &counter.to_be_bytes());
    let offset = h.last().map(|b| usize::from(b & 0x0f)).unwrap_or(0);
    let bin = h
        .get(offset..offset + 4)
        .map(|b| (u32::from(b[0] & 0x7f) << 24) | (u32::from(b[1]) << 16) | (u32::from(b[2]) << 8) | u32::from(b[3]))
        .unwrap_or(0);
    let modulus = 10u64.pow(digits.clamp(1, 9));
    format!("{:0width$}", u64::from(bin) % modulus, width = digits.clamp(1, 9) as usize)
}

/// The TOTP time step of Unix time `unix_seconds` with `period` (RFC 6238, T0 = 0).
pub fn time_step(unix_seconds: i64, period: u32) -> u64 {
    (unix_seconds.max(0) as u64) / u64::from(period.max(1))
}

/// RFC 4648 base32 without padding.
pub fn base32_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in data {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buf >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buf << (5 - bits)) & 31) as usize]));
    }
    out
}

/// Read base32 (case-insensitive, spaces and padding ignored).
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buf = ((buf << 5) | v) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buf >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn rfc4226_appendix_d() {
        let key = b"12345678901234567890";
        let want = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (c, w) in want.iter().enumerate() {
            assert_eq!(hotp(Algorithm::Sha1, key, c as u64, 6), *w, "counter {c}");
        }
    }

    #[test]
    fn rfc6238_appendix_b() {
        let k1 = b"12345678901234567890".to_vec();
        let k256 = b"12345678901234567890123456789012".to_vec();
        let k512 = b"1234567890123456789012345678901234567890123456789012345678901234".to_vec();
        let rows: [(i64, &str, &str, &str); 6] = [
            (59, "94287082", "46119246", "90693936"),
            (1111111109, "07081804", "68084774", "25091201"),
            (1111111111, "14050471", "67062674", "99943326"),
            (1234567890, "89005924", "91819424", "93441116"),
            (2000000000, "69279037", "90698825", "38618901"),
            (20000000000, "65353130", "77737706", "47863826"),
        ];
        for (t, s1, s256, s512) in rows {
            let step = time_step(t, 30);
            assert_eq!(hotp(Algorithm::Sha1, &k1, step, 8), s1, "SHA1 at {t}");
            assert_eq!(hotp(Algorithm::Sha256, &k256, step, 8), s256, "SHA256 at {t}");
            assert_eq!(hotp(Algorithm::Sha512, &k512, step, 8), s512, "SHA512 at {t}");
        }
    }

    #[test]
    fn base32_rfc4648_vectors() {
        for (plain, enc) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32_encode(plain.as_bytes()), enc);
            assert_eq!(base32_decode(enc).unwrap(), plain.as_bytes());
        }
        assert_eq!(base32_decode("mzxw6ytboi======").unwrap(), b"foobar");
        assert!(base32_decode("MZ1W").is_none());
    }

    proptest! {
        #[test]
        fn base32_round_trips(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            prop_assert_eq!(base32_decode(&base32_encode(&data)).unwrap(), data);
        }

        #[test]
        fn base32_decode_never_panics(text in ".{0,80}") {
            let _ = base32_decode(&text);
        }

        #[test]
        fn codes_have_their_digits(key in proptest::collection::vec(any::<u8>(), 1..64), c in any::<u64>(), d in 6u32..=8) {
            let code = hotp(Algorithm::Sha256, &key, c, d);
            prop_assert_eq!(code.len(), d as usize);
            prop_assert!(code.bytes().all(|b| b.is_ascii_digit()));
        }
    }
}
