//! Readiness passes are bounded: a connection is served at most 32 requests (or 256 KiB
//! of answers) per pass, then waits for the thread's other ready connections, and is
//! served again without a new readiness event (edge-triggered epoll gives none).

mod common;

use std::io::{BufReader, Write};

use common::*;

/// One write of `n` pipelined requests for `/users/{i}`.
fn pipeline(n: usize) -> Vec<u8> {
    (0..n).flat_map(|i| get(&format!("/users/{i}"))).collect()
}

#[test]
fn a_pipeline_far_past_the_cap_is_answered_whole_and_in_order() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let n = 1000;
    let writer = std::thread::spawn(move || w.write_all(&pipeline(n)).unwrap());
    // Every answer arrives although the client sends nothing after the burst: the
    // connection is served again after each capped pass.
    for i in 0..n {
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, 200, "request {i}");
        assert_eq!(
            resp.body,
            format!(r#"{{"id":{i}}}"#).into_bytes(),
            "request {i}"
        );
    }
    writer.join().unwrap();
    server.shutdown().unwrap();
}

#[test]
fn a_client_pipelining_without_pause_and_another_client_are_both_served() {
    let server = start(1);
    let addr = server.local_addr();
    let s = connect(addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    let n = 20_000;
    let writer = std::thread::spawn(move || {
        for chunk in pipeline(n).chunks(64 * 1024) {
            w.write_all(chunk).unwrap();
        }
    });
    let reader = std::thread::spawn(move || {
        for i in 0..n {
            assert_eq!(read_response(&mut r, false).status, 200, "request {i}");
        }
    });
    // Served on the same I/O thread while the pipeline is under way.
    for _ in 0..50 {
        assert_eq!(roundtrip(addr, &get("/plaintext")).body, b"Hello, World!");
    }
    writer.join().unwrap();
    reader.join().unwrap();
    server.shutdown().unwrap();
}
