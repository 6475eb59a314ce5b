//! `Config` is checked at bind: a bad value is an error naming its field, and "no
//! timeout" (`Duration::MAX`) serves requests instead of overflowing a deadline.

mod common;

use std::time::Duration;

use common::*;
use fasterapi_http::{App, Config, Request};

#[test]
fn no_timeout_serves_and_shuts_down() {
    let mut c = Config::default();
    c.threads = 1;
    c.header_timeout = Duration::MAX;
    c.body_timeout = Duration::MAX;
    c.idle_timeout = Duration::MAX;
    c.write_timeout = Duration::MAX;
    c.queue_timeout = Duration::MAX;
    c.shutdown_timeout = Duration::MAX;
    let mut app = App::with_config(c);
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    app.get("/pool", |_req: &Request| "from the pool")
        .blocking();
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let addr = server.local_addr();
    assert_eq!(roundtrip(addr, &get("/plaintext")).body, b"Hello, World!");
    assert_eq!(roundtrip(addr, &get("/pool")).body, b"from the pool");
    server.shutdown().unwrap();
}

#[test]
fn bad_values_are_refused_at_bind_naming_the_field() {
    for (field, change) in [
        (
            "buffer_size",
            (|c: &mut Config| c.buffer_size = 0) as fn(&mut Config),
        ),
        ("max_headers", |c| c.max_headers = 101),
        ("max_connections", |c| c.max_connections = 0),
        ("idle_timeout", |c| c.idle_timeout = Duration::ZERO),
    ] {
        let mut c = Config::default();
        change(&mut c);
        let err = App::with_config(c)
            .bind("127.0.0.1:0")
            .expect_err("refused");
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn a_port_another_server_listens_on_is_refused_unless_shared_on_purpose() {
    let app = |shared_port: bool, body: &'static str| {
        let mut c = Config::default();
        c.threads = 2;
        c.shared_port = shared_port;
        let mut app = App::with_config(c);
        app.get("/", move |_req: &Request| body);
        app
    };
    let first = app(false, "first")
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn()
        .unwrap();
    let addr = first.local_addr();
    // The listeners set SO_REUSEPORT: without the probe this bind would succeed and
    // take a share of the first server's connections.
    let Err(err) = app(false, "second").bind(addr) else {
        panic!("a second server bound {addr}");
    };
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    assert!(err.to_string().contains("shared_port"), "{err}");
    assert_eq!(roundtrip(addr, &get("/")).body, b"first");
    first.shutdown().unwrap();

    // Two servers that both share on purpose: both bind, and both keep serving.
    let one = app(true, "one")
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn()
        .unwrap();
    let addr = one.local_addr();
    let two = app(true, "two").bind(addr).unwrap().spawn().unwrap();
    assert_eq!(two.local_addr(), addr);
    one.shutdown().unwrap();
    assert_eq!(roundtrip(addr, &get("/")).body, b"two");
    two.shutdown().unwrap();
}
