//! The exact bytes each signature covers (docs/mobile-protocol.md). Each starts with a
//! line naming the message and version, so no signature can be reused for another kind.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

fn lines(parts: &[&str]) -> Vec<u8> {
    parts.join("\n").into_bytes()
}

/// What each activation proof signs.
pub fn activation_proof(
    activation_id: &str,
    nonce: &str,
    possession_key: &str,
    pin_key: &str,
    biometric_key: Option<&str>,
) -> Vec<u8> {
    lines(&[
        "countersign-activation-v1",
        &format!("activationID={activation_id}"),
        &format!("nonce={nonce}"),
        &format!("possessionKey={possession_key}"),
        &format!("pinKey={pin_key}"),
        &format!("biometricKey={}", biometric_key.unwrap_or("")),
    ])
}

/// What a device-signed request's possession signature covers.
pub fn request(method: &str, path: &str, timestamp_ms: i64, nonce: &str, body: &[u8]) -> Vec<u8> {
    lines(&[
        "countersign-request-v1",
        &method.to_ascii_uppercase(),
        path,
        &timestamp_ms.to_string(),
        nonce,
        &hex::encode(Sha256::digest(body)),
    ])
}

/// What a response to a login request signs.
pub fn response(request_id: &str, decision: &str, nonce: &str, number: Option<u8>, display_digest: &str) -> Vec<u8> {
    lines(&[
        "countersign-response-v1",
        &format!("requestID={request_id}"),
        &format!("decision={decision}"),
        &format!("nonce={nonce}"),
        &format!("number={}", number.map(|n| n.to_string()).unwrap_or_default()),
        &format!("display={display_digest}"),
    ])
}

/// SHA-256 (hex) of what the device shows: the message and the context entries in key
/// order, each as length-prefixed key and value (the message's key is empty).
pub fn display_digest(message: &str, context: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(b"countersign-display-v1\n");
    let mut field = |k: &str, v: &str| {
        for part in [k, v] {
            h.update((part.len() as u32).to_be_bytes());
            h.update(part.as_bytes());
        }
    };
    field("", message);
    for (k, v) in context {
        field(k, v);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        assert_eq!(
            String::from_utf8(response("r1", "accept", "n", Some(42), "d")).unwrap(),
            "countersign-response-v1\nrequestID=r1\ndecision=accept\nnonce=n\nnumber=42\ndisplay=d"
        );
        let body_digest = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; // SHA-256("")
        assert_eq!(
            String::from_utf8(request("get", "/mobile/v1/requests", 5, "nn", b"")).unwrap(),
            format!("countersign-request-v1\nGET\n/mobile/v1/requests\n5\nnn\n{body_digest}")
        );
    }

    #[test]
    fn display_digest_separates_fields() {
        let ctx = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let a = display_digest("ab", &ctx(&[]));
        let b = display_digest("a", &ctx(&[("b", "")]));
        assert_ne!(a, b, "length prefixes keep fields apart");
        assert_ne!(display_digest("m", &ctx(&[("k", "v1")])), display_digest("m", &ctx(&[("k", "v2")])));
        assert_eq!(a.len(), 64);
    }

    proptest! {
        // Different (message, context) pairs never share a digest input.
        #[test]
        fn display_digest_is_injective_on_small_inputs(
            m1 in "[ab]{0,3}", k1 in "[ab]{0,2}", v1 in "[ab]{0,2}",
            m2 in "[ab]{0,3}", k2 in "[ab]{0,2}", v2 in "[ab]{0,2}") {
            let c1: BTreeMap<_, _> = [(k1.clone(), v1.clone())].into_iter().collect();
            let c2: BTreeMap<_, _> = [(k2.clone(), v2.clone())].into_iter().collect();
            if (m1.clone(), c1.clone()) != (m2.clone(), c2.clone()) {
                prop_assert_ne!(display_digest(&m1, &c1), display_digest(&m2, &c2));
            }
        }
    }
}
