//! FIDO UAF TLV assertions from hostile authenticators: parsing never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = countersign_proto::uaf::parse_reg_assertion(data);
    let _ = countersign_proto::uaf::parse_auth_assertion(data);
    let _ = countersign_proto::uaf::elements(data);
});
