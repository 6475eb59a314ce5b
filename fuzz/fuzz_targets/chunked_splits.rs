//! One chunked body decoded whole and fed in arbitrary pieces: both must give the same
//! body and end, or the same refusal, and an incomplete body must consume every byte it
//! is offered. Run: `cargo fuzz run chunked_splits` from the repository root (see
//! fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // A first byte n, n % 32 piece sizes, then the body.
    fasterapi_http::fuzzing::chunked_splits_input(data);
});
