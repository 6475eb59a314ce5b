//! Response compression: CPU per response against size, to pick the default levels and
//! the gzip backend. Bodies: a ~10 KiB JSON API answer and a ~100 KiB HTML page
//! (`bench_support::sample_json` / `sample_html`, deterministic).
//!
//! `cargo bench --bench compress` (all), `-- levels` (the encodings at their levels, the
//! way a route compresses: the thread's encoder reused), `-- setup` (gzip on zlib-rs vs
//! miniz_oxide, and a fresh encoder per response vs the reused one). Each case prints
//! its compressed size once (`size ...` lines on stderr) before it is timed.
use std::hint::black_box;
use std::io::Write;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use fasterapi::Encoding;
use fasterapi_http::bench_support::{compress, sample_html, sample_json};

fn bodies() -> [(&'static str, Vec<u8>); 2] {
    [
        ("json_10k", sample_json(10 * 1024)),
        ("html_100k", sample_html(100 * 1024)),
    ]
}

fn bench_levels(c: &mut Criterion) {
    let cases: &[(Encoding, &[i32])] = &[
        (Encoding::Gzip, &[1, 4, 6, 9]),
        (Encoding::Brotli, &[1, 3, 4, 5, 6, 9]),
        (Encoding::Zstd, &[1, 3, 6, 9]),
    ];
    for (name, body) in bodies() {
        let mut g = c.benchmark_group(format!("levels/{name}"));
        g.throughput(Throughput::Bytes(body.len() as u64));
        for &(encoding, levels) in cases {
            for &level in levels {
                let mut out = Vec::with_capacity(body.len());
                compress(encoding, level, &body, &mut out);
                eprintln!(
                    "size {name} {}-{level}: {} -> {} bytes ({:.1}%)",
                    encoding.as_str(),
                    body.len(),
                    out.len(),
                    100.0 * out.len() as f64 / body.len() as f64
                );
                let id = BenchmarkId::new(encoding.as_str(), level);
                g.bench_with_input(id, &body, |b, body| {
                    b.iter(|| {
                        out.clear();
                        compress(encoding, level, black_box(body), &mut out);
                        black_box(out.len())
                    })
                });
            }
        }
        g.finish();
    }
}

fn bench_setup(c: &mut Criterion) {
    for (name, body) in bodies() {
        let mut g = c.benchmark_group(format!("setup/{name}"));
        g.throughput(Throughput::Bytes(body.len() as u64));
        for level in [1u8, 6] {
            let size = miniz_oxide::deflate::compress_to_vec(&body, level).len();
            eprintln!("size {name} miniz_oxide-{level}: {size} bytes (raw deflate)");
            g.bench_function(format!("gzip_miniz_oxide_fresh/{level}"), |b| {
                b.iter(|| {
                    black_box(miniz_oxide::deflate::compress_to_vec(
                        black_box(&body),
                        level,
                    ))
                })
            });
            g.bench_function(format!("gzip_zlib_rs_fresh/{level}"), |b| {
                b.iter(|| {
                    let mut w = flate2::write::GzEncoder::new(
                        Vec::with_capacity(body.len()),
                        flate2::Compression::new(level.into()),
                    );
                    w.write_all(black_box(&body)).unwrap();
                    black_box(w.finish().unwrap())
                })
            });
            let mut out = Vec::with_capacity(body.len());
            g.bench_function(format!("gzip_zlib_rs_reused/{level}"), |b| {
                b.iter(|| {
                    out.clear();
                    compress(Encoding::Gzip, level.into(), black_box(&body), &mut out);
                    black_box(out.len())
                })
            });
        }
        g.bench_function("zstd_fresh/3", |b| {
            b.iter(|| black_box(zstd::bulk::compress(black_box(&body), 3).unwrap()))
        });
        let mut out = Vec::with_capacity(body.len());
        g.bench_function("zstd_reused/3", |b| {
            b.iter(|| {
                out.clear();
                compress(Encoding::Zstd, 3, black_box(&body), &mut out);
                black_box(out.len())
            })
        });
        g.finish();
    }
}

criterion_group! {
    name = levels;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2));
    targets = bench_levels, bench_setup
}
criterion_main!(levels);
