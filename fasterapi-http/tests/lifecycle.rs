//! How a server ends: an I/O thread that fails or panics brings the whole server down
//! (instead of leaving it half-served and `wait_listeners_closed` waiting forever), and a
//! running server that is dropped shuts down instead of serving on unseen.

mod common;

use std::net::TcpStream;
use std::os::fd::RawFd;
use std::time::Instant;

use common::*;
use fasterapi_http::{App, Companion, Request};

/// A companion with nothing to do.
struct Idle;

impl Companion for Idle {
    fn fd(&self) -> Option<RawFd> {
        None
    }
    fn due(&self) -> Option<Instant> {
        None
    }
    fn run(&mut self) {}
    fn stop(&mut self) {}
}

fn two_threads_failing_on_thread_1(fail: fn() -> std::io::Result<Box<dyn Companion>>) -> App {
    let mut app = App::new();
    app.config_mut().threads = 2;
    app.config_mut().pin_threads = false;
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    app.companion(move |i| {
        if i == 1 {
            fail()
        } else {
            Ok(Box::new(Idle) as Box<dyn Companion>)
        }
    });
    app
}

#[test]
fn an_io_thread_that_fails_to_start_brings_the_server_down_with_its_error() {
    let app = two_threads_failing_on_thread_1(|| Err(std::io::Error::other("no companion today")));
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let handle = server.handle();
    // Returns: the failed thread's listener counts as closed, the other closes on shutdown.
    handle.wait_listeners_closed();
    assert!(handle.is_shutting_down());
    let err = server.join().expect_err("the thread's error");
    assert!(err.to_string().contains("no companion today"), "{err}");
}

#[test]
fn an_io_thread_that_panics_brings_the_server_down() {
    let app = two_threads_failing_on_thread_1(|| panic!("companion panic (expected by the test)"));
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    server.handle().wait_listeners_closed();
    let err = server.join().expect_err("the panic, reported");
    assert!(err.to_string().contains("panicked"), "{err}");
}

#[test]
fn a_dropped_running_server_stops_serving() {
    let server = start(1);
    let addr = server.local_addr();
    assert_eq!(roundtrip(addr, &get("/plaintext")).status, 200);
    drop(server);
    assert!(
        TcpStream::connect(addr).is_err(),
        "still accepting after drop"
    );
}
