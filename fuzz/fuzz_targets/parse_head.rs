//! The request-head scanner against httparse: whenever the fast path accepts a head,
//! httparse must parse it to the same method, target, version, fields and length. Run:
//! `cargo fuzz run parse_head` from the repository root (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    fasterapi_http::fuzzing::parse_head(data);
});
