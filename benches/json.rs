//! fasterapi's in-place JSON writer against `serde_json` with `#[derive(Serialize)]`.
//!
//! Both serializers write into the same kind of reused, cleared `Vec<u8>`, so neither pays
//! for allocation: what is measured is the serialization itself.
//!
//! Run: `cargo bench --bench json -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion};
use fasterapi::core::json;
use serde::Serialize;
use std::hint::black_box;

#[derive(Serialize)]
struct Message<'a> {
    message: &'a str,
}

/// A 10-field object of mixed types: ints, floats, strings, bools.
#[derive(Serialize)]
struct Mixed<'a> {
    id: u64,
    age: i32,
    balance: f64,
    ratio: f32,
    name: &'a str,
    email: &'a str,
    city: &'a str,
    active: bool,
    verified: bool,
    score: i64,
}

fn mixed_value() -> Mixed<'static> {
    Mixed {
        id: 1_234_567,
        age: 42,
        balance: 1_234.56,
        ratio: 0.75,
        name: "Alice Liddell",
        email: "alice@example.com",
        city: "Oxford",
        active: true,
        verified: false,
        score: -98_765,
    }
}

fn write_mixed(buf: &mut Vec<u8>, m: &Mixed<'_>) {
    json::object(buf, |o| {
        o.field("id", m.id)
            .field("age", m.age)
            .field("balance", m.balance)
            .field("ratio", m.ratio)
            .field("name", m.name)
            .field("email", m.email)
            .field("city", m.city)
            .field("active", m.active)
            .field("verified", m.verified)
            .field("score", m.score);
    });
}

fn bench_json(c: &mut Criterion) {
    // Both must produce the very same bytes, or the comparison means nothing.
    let m = mixed_value();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    write_mixed(&mut ours, &m);
    serde_json::to_writer(&mut theirs, &m).expect("Vec writes cannot fail");
    assert_eq!(ours, theirs);
    ours.clear();
    theirs.clear();
    json::object(&mut ours, |o| {
        o.field("message", "Hello, World!");
    });
    serde_json::to_writer(
        &mut theirs,
        &Message {
            message: "Hello, World!",
        },
    )
    .expect("Vec writes cannot fail");
    assert_eq!(ours, theirs);

    let mut g = c.benchmark_group("json_hello");
    let mut buf = Vec::with_capacity(1024);
    g.bench_function("fasterapi", |b| {
        b.iter(|| {
            buf.clear();
            let msg = black_box("Hello, World!");
            json::object(&mut buf, |o| {
                o.field("message", msg);
            });
            black_box(&buf);
        })
    });
    g.bench_function("serde_json", |b| {
        b.iter(|| {
            buf.clear();
            let msg = Message {
                message: black_box("Hello, World!"),
            };
            serde_json::to_writer(&mut buf, &msg).expect("Vec writes cannot fail");
            black_box(&buf);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("json_mixed10");
    g.bench_function("fasterapi", |b| {
        b.iter(|| {
            buf.clear();
            write_mixed(&mut buf, black_box(&m));
            black_box(&buf);
        })
    });
    g.bench_function("serde_json", |b| {
        b.iter(|| {
            buf.clear();
            serde_json::to_writer(&mut buf, black_box(&m)).expect("Vec writes cannot fail");
            black_box(&buf);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_json);
criterion_main!(benches);
