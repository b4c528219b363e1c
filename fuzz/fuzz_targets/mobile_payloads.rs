//! QR payloads and UAF messages as scanned or received: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = countersign_proto::messages::QrPayload::parse(text);
        let _ = countersign_proto::messages::QrLoginPayload::parse(text);
        let _ = countersign_proto::messages::RequestMessage::parse(text);
        let _ = serde_json::from_str::<Vec<countersign_proto::uaf::Request>>(text);
    }
});
