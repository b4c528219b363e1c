//! What relying parties send the risk engine: client device data (CDDC JSON), rule
//! conditions, address ranges and User-Agent strings. Reading them never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = countersign_core::risk::parse_cidr(text);
        let _ = countersign_core::context::user_agent(text);
    }
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = countersign_core::risk::fingerprint(&v);
        let _ = countersign_core::risk::Cond::parse(&v, "condition");
    }
});
