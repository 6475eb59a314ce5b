//! Arbitrary bytes through the request parser, body framing, router and response writer,
//! delivered in arbitrary pieces. Run: `cargo fuzz run serve_bytes` from the repository
//! root (see fuzz/README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte says how many following bytes are piece sizes for the split.
    let (splits, input) = match data.split_first() {
        Some((&n, rest)) => rest.split_at(usize::from(n % 16).min(rest.len())),
        None => (&[][..], data),
    };
    fasterapi_http::fuzzing::serve_bytes(input, splits);
});
