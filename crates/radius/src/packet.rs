//! The RADIUS wire format (RFC 2865 §3–§5, RFC 3579 §3.2; docs/radius.md, "Wire format"):
//! parsing a request, hiding and revealing `User-Password`, and signing a response with
//! its Message-Authenticator and Response Authenticator.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;

/// Access-Request.
pub const ACCESS_REQUEST: u8 = 1;
/// Access-Accept.
pub const ACCESS_ACCEPT: u8 = 2;
/// Access-Reject.
pub const ACCESS_REJECT: u8 = 3;
/// Access-Challenge.
pub const ACCESS_CHALLENGE: u8 = 11;
/// Status-Server (RFC 5997).
pub const STATUS_SERVER: u8 = 12;

/// User-Name.
pub const USER_NAME: u8 = 1;
/// User-Password.
pub const USER_PASSWORD: u8 = 2;
/// CHAP-Password.
pub const CHAP_PASSWORD: u8 = 3;
/// Reply-Message.
pub const REPLY_MESSAGE: u8 = 18;
/// State.
pub const STATE: u8 = 24;
/// Calling-Station-Id.
pub const CALLING_STATION_ID: u8 = 31;
/// EAP-Message.
pub const EAP_MESSAGE: u8 = 79;
/// Message-Authenticator.
pub const MESSAGE_AUTHENTICATOR: u8 = 80;

/// The smallest and largest packet RFC 2865 allows.
pub const MIN_LEN: usize = 20;
/// The largest packet.
pub const MAX_LEN: usize = 4096;
/// The longest User-Password (RFC 2865 §5.2).
pub const MAX_PASSWORD: usize = 128;

/// Why a packet is dropped. Never holds packet bytes or secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    /// Shorter than 20 octets, or its Length field is out of range or past the datagram.
    #[error("the packet's length is wrong")]
    Length,
    /// An attribute's length is below 2 or runs past the packet.
    #[error("an attribute's length is wrong")]
    Attribute,
    /// User-Password is empty, not a multiple of 16 octets, or longer than 128.
    #[error("User-Password is not a hidden password")]
    Password,
    /// Message-Authenticator is not 16 octets, or appears twice.
    #[error("Message-Authenticator is malformed")]
    MessageAuthenticator,
}

/// A parsed packet: its header and its attributes in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The code.
    pub code: u8,
    /// The identifier.
    pub id: u8,
    /// The (Request) Authenticator.
    pub authenticator: [u8; 16],
    /// `(type, value)` in order.
    pub attributes: Vec<(u8, Vec<u8>)>,
}

impl Packet {
    /// Parse a datagram. Octets past the Length field are ignored (RFC 2865 §3).
    pub fn parse(datagram: &[u8]) -> Result<Packet, Malformed> {
        if datagram.len() < MIN_LEN {
            return Err(Malformed::Length);
        }
        let len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
        if !(MIN_LEN..=MAX_LEN).contains(&len) || len > datagram.len() {
            return Err(Malformed::Length);
        }
        let mut authenticator = [0u8; 16];
        authenticator.copy_from_slice(&datagram[4..20]);
        let mut attributes = Vec::new();
        let mut rest = &datagram[20..len];
        let mut seen_ma = false;
        while !rest.is_empty() {
            if rest.len() < 2 {
                return Err(Malformed::Attribute);
            }
            let (ty, alen) = (rest[0], usize::from(rest[1]));
            if alen < 2 || alen > rest.len() {
                return Err(Malformed::Attribute);
            }
            let value = rest[2..alen].to_vec();
            if ty == MESSAGE_AUTHENTICATOR {
                if value.len() != 16 || seen_ma {
                    return Err(Malformed::MessageAuthenticator);
                }
                seen_ma = true;
            }
            attributes.push((ty, value));
            rest = &rest[alen..];
        }
        Ok(Packet { code: datagram[0], id: datagram[1], authenticator, attributes })
    }

    /// The first value of attribute `ty`.
    pub fn get(&self, ty: u8) -> Option<&[u8]> {
        self.attributes.iter().find(|(t, _)| *t == ty).map(|(_, v)| v.as_slice())
    }

    /// Whether the request's Message-Authenticator is present and right for `secret`
    /// (compared in constant time). `datagram` is the packet as received.
    pub fn message_authenticator_ok(&self, datagram: &[u8], secret: &[u8]) -> bool {
        let Some(given) = self.get(MESSAGE_AUTHENTICATOR) else { return false };
        let len = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
        let mut copy = datagram[..len].to_vec();
        // Zero the attribute's value where it sits.
        let mut at = 20;
        while at + 2 <= copy.len() {
            let (ty, alen) = (copy[at], usize::from(copy[at + 1]));
            if ty == MESSAGE_AUTHENTICATOR {
                copy[at + 2..at + alen].fill(0);
                break;
            }
            at += alen;
        }
        let expected = hmac_md5(secret, &copy);
        bool::from(expected.ct_eq(given))
    }

    /// The revealed User-Password, NUL padding removed.
    pub fn password(&self, secret: &[u8]) -> Result<Option<Vec<u8>>, Malformed> {
        match self.get(USER_PASSWORD) {
            None => Ok(None),
            Some(hidden) => reveal_password(hidden, secret, &self.authenticator).map(Some),
        }
    }
}

fn hmac_md5(key: &[u8], data: &[u8]) -> [u8; 16] {
    // HMAC takes a key of any length.
    #[allow(clippy::expect_used)]
    let mut mac = <Hmac<Md5> as KeyInit>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// Hide a password as RFC 2865 §5.2 says (what a client does; used by tests and tools).
pub fn hide_password(password: &[u8], secret: &[u8], request_authenticator: &[u8; 16]) -> Vec<u8> {
    let mut padded = password.to_vec();
    let blocks = padded.len().div_ceil(16).max(1);
    padded.resize(blocks * 16, 0);
    let mut out = Vec::with_capacity(padded.len());
    let mut prev: Vec<u8> = request_authenticator.to_vec();
    for chunk in padded.chunks(16) {
        let b = md5_of(&[secret, &prev]);
        let c: Vec<u8> = chunk.iter().zip(b).map(|(p, k)| p ^ k).collect();
        out.extend_from_slice(&c);
        prev = c;
    }
    out
}

/// Reveal a hidden User-Password (RFC 2865 §5.2); trailing NULs are padding.
pub fn reveal_password(hidden: &[u8], secret: &[u8], request_authenticator: &[u8; 16]) -> Result<Vec<u8>, Malformed> {
    if hidden.is_empty() || !hidden.len().is_multiple_of(16) || hidden.len() > MAX_PASSWORD {
        return Err(Malformed::Password);
    }
    let mut out = Vec::with_capacity(hidden.len());
    let mut prev: &[u8] = request_authenticator;
    for chunk in hidden.chunks(16) {
        let b = md5_of(&[secret, prev]);
        out.extend(chunk.iter().zip(b).map(|(c, k)| c ^ k));
        prev = chunk;
    }
    while out.last() == Some(&0) {
        out.pop();
    }
    Ok(out)
}

/// Build a response to `request` with `code` and `attributes` (Message-Authenticator is
/// added first, RFC 3579 and the BlastRADIUS advice), signed with `secret`.
pub fn response(request: &Packet, code: u8, attributes: &[(u8, Vec<u8>)], secret: &[u8]) -> Vec<u8> {
    let mut attrs = Vec::new();
    attrs.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 18]);
    let ma_at = 20 + 2;
    attrs.extend_from_slice(&[0u8; 16]);
    for (ty, value) in attributes {
        // Values longer than 253 octets are split (Reply-Message may repeat).
        for part in value.chunks(253) {
            attrs.push(*ty);
            attrs.push(u8::try_from(part.len() + 2).unwrap_or(255));
            attrs.extend_from_slice(part);
        }
    }
    let len = u16::try_from((20 + attrs.len()).min(MAX_LEN)).unwrap_or(u16::MAX);
    let mut out = Vec::with_capacity(usize::from(len));
    out.push(code);
    out.push(request.id);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&request.authenticator);
    out.extend_from_slice(&attrs);
    out.truncate(usize::from(len));
    // Message-Authenticator over the response with the Request Authenticator in place.
    let ma = hmac_md5(secret, &out);
    out[ma_at..ma_at + 16].copy_from_slice(&ma);
    // Then the Response Authenticator over it all.
    let ra = md5_of(&[&out[..4], &request.authenticator, &out[20..], secret]);
    out[4..20].copy_from_slice(&ra);
    out
}

/// Build a request (what a client sends; for tests and tools): `attributes` in order,
/// `User-Password` hidden when given, Message-Authenticator added.
pub fn request(code: u8, id: u8, authenticator: [u8; 16], attributes: &[(u8, Vec<u8>)], secret: &[u8]) -> Vec<u8> {
    let mut out = vec![code, id, 0, 0];
    out.extend_from_slice(&authenticator);
    for (ty, value) in attributes {
        let value = if *ty == USER_PASSWORD { hide_password(value, secret, &authenticator) } else { value.clone() };
        out.push(*ty);
        out.push(u8::try_from(value.len() + 2).unwrap_or(255));
        out.extend_from_slice(&value);
    }
    out.extend_from_slice(&[MESSAGE_AUTHENTICATOR, 18]);
    let ma_at = out.len();
    out.extend_from_slice(&[0u8; 16]);
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX);
    out[2..4].copy_from_slice(&len.to_be_bytes());
    let ma = hmac_md5(secret, &out);
    out[ma_at..ma_at + 16].copy_from_slice(&ma);
    out
}

/// Whether `resp` is a correctly signed response to a request with `request_authenticator`
/// (Response Authenticator and, when present, Message-Authenticator). For tests and tools.
pub fn response_ok(resp: &[u8], request_authenticator: &[u8; 16], secret: &[u8]) -> bool {
    let Ok(p) = Packet::parse(resp) else { return false };
    let len = usize::from(u16::from_be_bytes([resp[2], resp[3]]));
    let ra = md5_of(&[&resp[..4], request_authenticator, &resp[20..len], secret]);
    if !bool::from(ra.ct_eq(&p.authenticator)) {
        return false;
    }
    let mut with_req = resp[..len].to_vec();
    with_req[4..20].copy_from_slice(request_authenticator);
    let as_request = Packet { authenticator: *request_authenticator, ..p.clone() };
    p.get(MESSAGE_AUTHENTICATOR).is_none() || as_request.message_authenticator_ok(&with_req, secret)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    /// RFC 2865 §7.1: secret "xyzzy5461", password "arctangent".
    const RA: [u8; 16] =
        [0x0f, 0x40, 0x3f, 0x94, 0x73, 0x97, 0x80, 0x57, 0xbd, 0x83, 0xd5, 0xcb, 0x98, 0xf4, 0x22, 0x7a];
    const HIDDEN: [u8; 16] =
        [0x0d, 0xbe, 0x70, 0x8d, 0x93, 0xd4, 0x13, 0xce, 0x31, 0x96, 0xe4, 0x3f, 0x78, 0x2a, 0x0a, 0xee];

    #[test]
    fn the_rfc_2865_example_password_hides_and_reveals() {
        assert_eq!(hide_password(b"arctangent", b"xyzzy5461", &RA), HIDDEN);
        assert_eq!(reveal_password(&HIDDEN, b"xyzzy5461", &RA).unwrap(), b"arctangent");
    }

    #[test]
    fn the_rfc_2865_example_request_parses_and_its_reply_is_signed_as_the_rfc_shows() {
        // §7.1: Access-Request (User-Name "nemo", User-Password, NAS-IP-Address, NAS-Port).
        let req = hex::decode(
            "010000380f403f9473978057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee0406c0a8011005060000000 3"
                .replace(' ', ""),
        )
        .unwrap();
        let p = Packet::parse(&req).unwrap();
        assert_eq!((p.code, p.id), (ACCESS_REQUEST, 0));
        assert_eq!(p.authenticator, RA);
        assert_eq!(p.get(USER_NAME), Some(&b"nemo"[..]));
        assert_eq!(p.password(b"xyzzy5461").unwrap().unwrap(), b"arctangent");
        // §7.1: the Access-Accept (Service-Type, Login-Service, Login-IP-Host) and its
        // Response Authenticator.
        let accept =
            hex::decode("0200002686fe220e7624ba2a1005f6bf9b55e0b20606000000010f06000000000e06c0a80103").unwrap();
        assert!(response_ok(&accept, &RA, b"xyzzy5461"));
        assert!(!response_ok(&accept, &RA, b"xyzzy5462"));
    }

    #[test]
    fn a_response_is_signed_both_ways_and_a_client_can_check_it() {
        let req = request(ACCESS_REQUEST, 7, RA, &[(USER_NAME, b"alice".to_vec())], b"s3cret");
        let p = Packet::parse(&req).unwrap();
        assert!(p.message_authenticator_ok(&req, b"s3cret"));
        assert!(!p.message_authenticator_ok(&req, b"other"));
        let resp = response(&p, ACCESS_ACCEPT, &[(REPLY_MESSAGE, b"hello".to_vec())], b"s3cret");
        assert_eq!(resp[0], ACCESS_ACCEPT);
        assert_eq!(resp[1], 7);
        assert_eq!(resp[20], MESSAGE_AUTHENTICATOR, "Message-Authenticator comes first");
        assert!(response_ok(&resp, &RA, b"s3cret"));
        assert!(!response_ok(&resp, &RA, b"other"));
        let mut tampered = resp.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(!response_ok(&tampered, &RA, b"s3cret"));
    }

    #[test]
    fn a_changed_request_fails_its_message_authenticator() {
        let req = request(ACCESS_REQUEST, 1, RA, &[(USER_NAME, b"alice".to_vec())], b"s3cret");
        for i in 0..req.len() {
            let mut bad = req.clone();
            bad[i] ^= 0x01;
            if let Ok(p) = Packet::parse(&bad) {
                assert!(!p.message_authenticator_ok(&bad, b"s3cret"), "octet {i} changed unnoticed");
            }
        }
    }

    #[test]
    fn malformed_packets_are_named() {
        assert_eq!(Packet::parse(&[1, 0, 0, 19]), Err(Malformed::Length));
        let mut p = vec![1, 0, 0, 22];
        p.extend_from_slice(&[0; 16]);
        p.extend_from_slice(&[1, 1]);
        assert_eq!(Packet::parse(&p), Err(Malformed::Attribute));
        p[21] = 3;
        assert_eq!(Packet::parse(&p), Err(Malformed::Attribute));
        let mut q = vec![1, 0, 0, 40];
        q.extend_from_slice(&[0; 16]);
        assert_eq!(Packet::parse(&q), Err(Malformed::Length), "Length past the datagram");
        assert_eq!(reveal_password(&[0; 15], b"s", &RA), Err(Malformed::Password));
        assert_eq!(reveal_password(&[0; 144], b"s", &RA), Err(Malformed::Password));
    }

    proptest! {
        #[test]
        fn any_password_round_trips(pw in proptest::collection::vec(1u8..=255, 1..=128),
                                    secret in proptest::collection::vec(any::<u8>(), 1..64),
                                    ra in any::<[u8; 16]>()) {
            let hidden = hide_password(&pw, &secret, &ra);
            prop_assert_eq!(hidden.len() % 16, 0);
            prop_assert_eq!(reveal_password(&hidden, &secret, &ra).unwrap(), pw);
        }

        #[test]
        fn parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            if let Ok(p) = Packet::parse(&bytes) {
                let _ = p.message_authenticator_ok(&bytes, b"secret");
                let _ = p.password(b"secret");
            }
        }
    }
}
