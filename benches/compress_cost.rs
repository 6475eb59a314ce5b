//! Compresses one sample body many times with one coding and level, for counting the
//! instructions per response under callgrind (`benches/compress_cost.sh`), which, unlike
//! time, does not move with the load of a shared machine.
//!
//! `compress_cost CODING LEVEL BODY N`: CODING `gzip`, `br`, `zstd`, or `miniz` (raw
//! deflate with miniz_oxide, fresh state per call, to compare gzip backends); BODY
//! `json_10k` or `html_100k`. Prints `size BYTES -> BYTES`.
use std::hint::black_box;

use fasterapi::Encoding;
use fasterapi_http::bench_support::{compress, sample_html, sample_json};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let [coding, level, body, n] = &args[..] else {
        // `cargo test --all-targets` runs bench targets without arguments: one pass of
        // each coding, as a smoke test.
        for body in [sample_json(10 * 1024), sample_html(100 * 1024)] {
            for encoding in [Encoding::Gzip, Encoding::Brotli, Encoding::Zstd] {
                let mut out = Vec::new();
                compress(encoding, 1, &body, &mut out);
                assert!(
                    !out.is_empty() && out.len() < body.len() / 2,
                    "{encoding:?}"
                );
            }
        }
        eprintln!("compress_cost: usage CODING LEVEL BODY N (smoke pass done)");
        return;
    };
    let level: i32 = level.parse().expect("LEVEL is a number");
    let n: usize = n.parse().expect("N is a number");
    let body = match body.as_str() {
        "json_10k" => sample_json(10 * 1024),
        "html_100k" => sample_html(100 * 1024),
        other => panic!("unknown body {other}"),
    };
    let mut out = Vec::with_capacity(body.len());
    for _ in 0..n {
        out.clear();
        match coding.as_str() {
            "gzip" => compress(Encoding::Gzip, level, black_box(&body), &mut out),
            "br" => compress(Encoding::Brotli, level, black_box(&body), &mut out),
            "zstd" => compress(Encoding::Zstd, level, black_box(&body), &mut out),
            "miniz" => out = miniz_oxide::deflate::compress_to_vec(black_box(&body), level as u8),
            other => panic!("unknown coding {other}"),
        }
        black_box(&out);
    }
    println!("size {} -> {}", body.len(), out.len());
}
