//! `count LIB OP K`: runs OP (parse, one, list) with LIB (serde_json, sonic_rs, simd_json) K
//! times, for instruction counts under callgrind (`count.sh`): the per-operation figure is
//! the difference between K and 0 runs divided by K, which machine load cannot move.
use serde::{Deserialize, Serialize};
use std::hint::black_box;

#[derive(Deserialize)]
#[allow(dead_code)]
struct NewTodo {
    title: String,
    #[serde(default)]
    completed: bool,
}

#[derive(Serialize)]
struct Todo {
    id: u64,
    title: String,
    completed: bool,
}

const BODY: &[u8] = br#"{"title":"Buy milk and eggs for the week","completed":false}"#;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (lib, op, k): (&str, &str, usize) = (&args[1], &args[2], args[3].parse().unwrap());
    let items: Vec<Todo> = (0..100)
        .map(|id| Todo {
            id,
            title: format!("Todo item number {id}, with a title of usual length"),
            completed: id % 3 == 0,
        })
        .collect();
    let mut out = Vec::with_capacity(16 * 1024);
    let mut scratch = Vec::with_capacity(256);
    for _ in 0..k {
        out.clear();
        match (lib, op) {
            ("serde_json", "parse") => drop(black_box(serde_json::from_slice::<NewTodo>(black_box(BODY)).unwrap())),
            ("sonic_rs", "parse") => drop(black_box(sonic_rs::from_slice::<NewTodo>(black_box(BODY)).unwrap())),
            ("simd_json", "parse") => {
                scratch.clear();
                scratch.extend_from_slice(black_box(BODY));
                drop(black_box(simd_json::serde::from_slice::<NewTodo>(&mut scratch).unwrap()))
            }
            ("serde_json", "one") => serde_json::to_writer(&mut out, black_box(&items[0])).unwrap(),
            ("sonic_rs", "one") => sonic_rs::to_writer(&mut out, black_box(&items[0])).unwrap(),
            ("simd_json", "one") => simd_json::serde::to_writer(&mut out, black_box(&items[0])).unwrap(),
            ("serde_json", "list") => serde_json::to_writer(&mut out, black_box(&items)).unwrap(),
            ("sonic_rs", "list") => sonic_rs::to_writer(&mut out, black_box(&items)).unwrap(),
            ("simd_json", "list") => simd_json::serde::to_writer(&mut out, black_box(&items)).unwrap(),
            _ => panic!("usage: count serde_json|sonic_rs|simd_json parse|one|list K"),
        }
        black_box(&out);
    }
}
