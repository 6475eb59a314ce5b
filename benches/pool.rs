//! BufPool get + small write + put, against a fresh `BytesMut::with_capacity(8192)` each
//! time (allocate, write, free).
//!
//! One buffer at a time is the allocator's best case (the same chunk comes back at once).
//! The `x64` group holds 64 buffers at a time, as an I/O thread with many busy connections
//! does: freeing 512 KiB at once lets glibc's malloc trim its heap, and the next round pays
//! for fresh pages.
//!
//! `free_list_floor` is not a pool: a bare `Vec<BytesMut>` popped and pushed back, with no
//! write and no checks. It is the least any free list that hands buffers out by value pays
//! in this loop (the buffer and the list's length travel through memory every iteration).
//!
//! Run: `cargo bench --bench pool -- --warm-up-time 1 --measurement-time 3`

use bytes::{BufMut, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use fasterapi::core::buf::BufPool;
use std::hint::black_box;

const SIZE: usize = 8192;
const PAYLOAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\nHello, World!";

fn bench_pool(c: &mut Criterion) {
    let mut g = c.benchmark_group("buf_8k");
    let mut pool = BufPool::new(SIZE, 1024);
    g.bench_function("pool_get_put", |b| {
        b.iter(|| {
            let mut buf = pool.get();
            buf.put_slice(black_box(PAYLOAD));
            black_box(&buf);
            pool.put(buf);
        })
    });
    assert!(pool.stats().misses <= 1, "{:?}", pool.stats());
    g.bench_function("fresh_alloc", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(SIZE);
            buf.put_slice(black_box(PAYLOAD));
            black_box(&buf);
        })
    });
    let mut free = vec![BytesMut::with_capacity(SIZE)];
    g.bench_function("free_list_floor", |b| {
        b.iter(|| {
            // The list holds one buffer: popped here, pushed back below.
            let buf = free.pop().expect("one buffer");
            black_box(&buf);
            free.push(buf);
        })
    });
    // A connection's typical use: the request is split off and frozen (handed to a
    // worker), then dropped before the buffer goes back.
    g.bench_function("pool_get_split_freeze_put", |b| {
        b.iter(|| {
            let mut buf = pool.get();
            buf.put_slice(black_box(PAYLOAD));
            let frozen = buf.split_to(PAYLOAD.len()).freeze();
            black_box(&frozen);
            drop(frozen);
            pool.put(buf);
        })
    });
    assert!(pool.stats().misses <= 1, "{:?}", pool.stats());
    g.finish();

    let mut g = c.benchmark_group("buf_8k_x64");
    let mut held: Vec<BytesMut> = Vec::with_capacity(64);
    g.bench_function("pool_get_put", |b| {
        b.iter(|| {
            for _ in 0..64 {
                let mut buf = pool.get();
                buf.put_slice(black_box(PAYLOAD));
                held.push(buf);
            }
            black_box(&held);
            for buf in held.drain(..) {
                pool.put(buf);
            }
        })
    });
    assert!(pool.stats().misses <= 64, "{:?}", pool.stats());
    g.bench_function("fresh_alloc", |b| {
        b.iter(|| {
            for _ in 0..64 {
                let mut buf = BytesMut::with_capacity(SIZE);
                buf.put_slice(black_box(PAYLOAD));
                held.push(buf);
            }
            black_box(&held);
            held.clear();
        })
    });
    g.finish();
}

criterion_group!(benches, bench_pool);
criterion_main!(benches);
