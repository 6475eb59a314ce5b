//! A request is routed as soon as its head is in: one that no route takes is answered
//! without waiting for its body (and without `100 Continue`), then the connection closes.

mod common;

use std::io::{BufReader, Write};

use common::*;

const EIGHT_MIB: usize = 8 * 1024 * 1024;

#[test]
fn an_8_mib_body_to_an_unknown_path_is_answered_before_any_body_byte_is_sent() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    // Not one body byte follows: the answer can only come from the head.
    write!(
        w,
        "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: {EIGHT_MIB}\r\n\r\n"
    )
    .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 404);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(
        closed(&mut r),
        "the unread body would follow: the connection closes"
    );
    server.shutdown().unwrap();
}

#[test]
fn a_method_the_path_does_not_have_is_answered_405_from_the_head() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    write!(
        w,
        "PUT /plaintext HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD"));
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}

#[test]
fn expect_100_continue_is_answered_only_for_a_request_that_will_be_read() {
    let server = start(1);
    let addr = server.local_addr();
    // An unknown path: the final answer, no 100 Continue before it.
    let s = connect(addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    write!(
        w,
        "POST /nope HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    assert_eq!(read_response(&mut r, false).status, 404);
    // A route that reads it: 100 Continue, then the body is read and echoed.
    let s = connect(addr);
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    write!(
        w,
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"
    )
    .unwrap();
    assert_eq!(read_response(&mut r, false).status, 100);
    w.write_all(b"hello").unwrap();
    let resp = read_response(&mut r, false);
    assert_eq!((resp.status, resp.body.as_slice()), (200, &b"hello"[..]));
    server.shutdown().unwrap();
}

#[test]
fn a_request_without_a_body_to_an_unknown_path_keeps_the_connection() {
    let server = start(1);
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(&get("/nope")).unwrap();
    assert_eq!(read_response(&mut r, false).status, 404);
    w.write_all(&get("/plaintext")).unwrap();
    assert_eq!(read_response(&mut r, false).status, 200);
    server.shutdown().unwrap();
}
