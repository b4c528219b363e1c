//! RADIUS datagrams from the network (docs/radius.md): parsing, checking the
//! Message-Authenticator and revealing User-Password never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = countersign_radius::packet::Packet::parse(data) {
        let _ = p.message_authenticator_ok(data, b"fuzzing-secret-0123");
        let _ = p.password(b"fuzzing-secret-0123");
        let _ = countersign_radius::packet::response(&p, countersign_radius::packet::ACCESS_REJECT, &[(18, vec![b'x'; 300])], b"s");
    }
    let _ = countersign_radius::packet::response_ok(data, &[0u8; 16], b"fuzzing-secret-0123");
});
