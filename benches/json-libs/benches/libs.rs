//! Parse and serialize the todo example's objects with serde_json, sonic-rs and simd-json.
//!
//! - `parse_new_todo`: the body of `POST /todos` (`{"title": ..., "completed": ...}`) into a
//!   struct that borrows nothing (owned `String`), from a `&[u8]` as a handler gets it.
//!   simd-json parses in place, so its figure includes copying the body into a reused buffer.
//! - `serialize_todo` / `serialize_todos_100`: one item and a list of 100 into a reused,
//!   cleared `Vec<u8>`, as a response body is written.
use criterion::{criterion_group, criterion_main, Criterion};
use serde::{Deserialize, Serialize};
use std::hint::black_box;

#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct NewTodo {
    title: String,
    #[serde(default)]
    completed: bool,
}

#[derive(Serialize, Clone)]
struct Todo {
    id: u64,
    title: String,
    completed: bool,
}

const BODY: &[u8] = br#"{"title":"Buy milk and eggs for the week","completed":false}"#;

fn todos(n: u64) -> Vec<Todo> {
    (0..n)
        .map(|id| Todo {
            id,
            title: format!("Todo item number {id}, with a title of usual length"),
            completed: id % 3 == 0,
        })
        .collect()
}

fn parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse_new_todo");
    g.bench_function("serde_json", |b| {
        b.iter(|| serde_json::from_slice::<NewTodo>(black_box(BODY)).unwrap())
    });
    g.bench_function("sonic_rs", |b| {
        b.iter(|| sonic_rs::from_slice::<NewTodo>(black_box(BODY)).unwrap())
    });
    let mut scratch = Vec::with_capacity(256);
    g.bench_function("simd_json", |b| {
        b.iter(|| {
            scratch.clear();
            scratch.extend_from_slice(black_box(BODY));
            simd_json::serde::from_slice::<NewTodo>(&mut scratch).unwrap()
        })
    });
    g.finish();
}

/// Serializes `value` with each library into the reused `out`.
fn serialize_group<T: Serialize + ?Sized>(c: &mut Criterion, name: &str, value: &T) {
    let mut g = c.benchmark_group(name);
    let mut out = Vec::with_capacity(16 * 1024);
    g.bench_function("serde_json", |b| {
        b.iter(|| {
            out.clear();
            serde_json::to_writer(&mut out, black_box(value)).unwrap();
            out.len()
        })
    });
    g.bench_function("sonic_rs", |b| {
        b.iter(|| {
            out.clear();
            sonic_rs::to_writer(&mut out, black_box(value)).unwrap();
            out.len()
        })
    });
    g.bench_function("simd_json", |b| {
        b.iter(|| {
            out.clear();
            simd_json::serde::to_writer(&mut out, black_box(value)).unwrap();
            out.len()
        })
    });
    g.finish();
}

fn serialize(c: &mut Criterion) {
    let items = todos(100);
    serialize_group(c, "serialize_todo", &items[0]);
    serialize_group(c, "serialize_todos_100", &items[..]);
}

criterion_group!(benches, parse, serialize);
criterion_main!(benches);
