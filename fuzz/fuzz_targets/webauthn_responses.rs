//! WebAuthn responses (CBOR attestation objects, COSE keys, authenticator data,
//! signatures) through webauthn-rs-core as countersign configures it: never a panic, never
//! a verification of bytes nobody signed.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Two length bytes split the input: attestation object | authenticator data | signature.
    let [x, y, rest @ ..] = data else { return };
    let (ao, tail) = rest.split_at((*x as usize * 4).min(rest.len()));
    let (ad, sig) = tail.split_at((*y as usize).min(tail.len()));
    let _ = countersign_core::fido::verify_hostile_webauthn(ao, ad, sig);
});
