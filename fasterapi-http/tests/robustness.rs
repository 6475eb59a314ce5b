//! Limits, framing rules, timeouts, the worker pool, load shedding and shutdown, all
//! observed from outside over real sockets.

mod common;

use std::io::{BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::*;
use fasterapi_http::{App, Config, Request, Response, RunningServer};

/// A gate blocking handlers until the test opens it: synchronization without sleeps.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, cv) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = cv.wait(open).unwrap();
        }
    }
    fn open(&self) {
        let (open, cv) = &*self.0;
        *open.lock().unwrap() = true;
        cv.notify_all();
    }
}

/// Waits until `cond` holds, failing the test after 30 s rather than hanging.
fn wait_until(what: &str, cond: impl Fn() -> bool) {
    let give_up = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < give_up, "gave up waiting for {what}");
        std::thread::yield_now();
    }
}

/// An app with a blocking route held by `gate`, reporting each start on `started`.
fn gated_app(config: Config, gate: &Gate, started: mpsc::Sender<()>) -> App {
    let mut app = App::with_config(config);
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    let gate = gate.clone();
    let started = Mutex::new(started);
    app.get("/slow/{n}", move |req: &Request| {
        let _ = started.lock().unwrap().send(());
        gate.wait();
        Response::text(format!("slow {}", req.param_str("n").unwrap_or("")))
    })
    .blocking();
    app.post("/slow-echo", |req: &Request| {
        Response::bytes(req.body().to_vec(), "application/octet-stream")
    })
    .blocking();
    app
}

fn config(threads: usize) -> Config {
    let mut c = Config::default();
    c.threads = threads;
    c
}

fn serve(app: App) -> RunningServer {
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

#[test]
fn slowloris_gets_408_while_other_clients_are_served() {
    let mut c = config(1);
    c.header_timeout = Duration::from_millis(200);
    let (tx, _rx) = mpsc::channel();
    let server = serve(gated_app(c, &Gate::default(), tx));
    let addr = server.local_addr();
    let slow = connect(addr);
    let mut w = slow.try_clone().unwrap();
    w.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-Slow: ")
        .unwrap();
    // Others are served while the slow head is pending.
    for _ in 0..10 {
        assert_eq!(roundtrip(addr, &get("/plaintext")).status, 200);
    }
    let mut r = BufReader::new(slow);
    let resp = read_response(&mut r, false);
    assert_eq!(resp.status, 408);
    assert_eq!(resp.header("connection"), Some("close"));
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}

#[test]
fn a_body_that_stops_arriving_gets_408() {
    let mut c = config(1);
    c.body_timeout = Duration::from_millis(200);
    let (tx, _rx) = mpsc::channel();
    let server = serve(gated_app(c, &Gate::default(), tx));
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    w.write_all(b"POST /slow-echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc")
        .unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r, false).status, 408);
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}

#[test]
fn idle_keep_alive_connections_are_closed_quietly() {
    let mut c = config(1);
    c.idle_timeout = Duration::from_millis(100);
    let (tx, _rx) = mpsc::channel();
    let server = serve(gated_app(c, &Gate::default(), tx));
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut r = BufReader::new(s);
    w.write_all(&get("/plaintext")).unwrap();
    assert_eq!(read_response(&mut r, false).status, 200);
    // No 408 for a connection that is merely idle: just the close.
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}

/// A client whose last requests and half-close arrive in one segment: the server answers
/// and closes at once. (It used to take the short read of the requests for "nothing more
/// for now" and hold the connection until the idle timeout.) The idle timeout is far
/// longer than the client waits, so the end of the answer can only come from the server
/// seeing the end of input.
#[test]
fn requests_and_the_half_close_in_one_segment_are_answered_then_closed() {
    let mut app = test_app(1);
    app.config_mut().idle_timeout = Duration::from_secs(3600);
    let server = serve(app);
    let send_and_half_close = |raw: &[u8]| {
        let s = TcpStream::connect(server.local_addr()).unwrap();
        // Past this the test fails, where the bug would have held it for an hour.
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        // Corked: the bytes wait in the send queue, and the half-close sends them with the
        // FIN in one segment, so they reach the server together whatever the scheduling.
        socket2::SockRef::from(&s).set_tcp_cork(true).unwrap();
        let mut w = s.try_clone().unwrap();
        w.write_all(raw).unwrap();
        w.shutdown(std::net::Shutdown::Write).unwrap();
        BufReader::new(s)
    };
    let until_eof = |r: &mut BufReader<TcpStream>| {
        let mut rest = Vec::new();
        match r.read_to_end(&mut rest) {
            Ok(_) => rest,
            Err(e) => panic!("no end of the answers: {e}; read {rest:?}"),
        }
    };
    // Two pipelined keep-alive requests: both answered, then the end.
    let mut r = send_and_half_close(&[get("/plaintext"), get("/json")].concat());
    assert_eq!(read_response(&mut r, false).text(), "Hello, World!");
    assert_eq!(read_response(&mut r, false).status, 200);
    assert_eq!(until_eof(&mut r), b"");
    // A request cut short by the half-close: no answer, just the end.
    let mut r = send_and_half_close(&get("/plaintext")[..20]);
    assert_eq!(until_eof(&mut r), b"");
    server.shutdown().unwrap();
}

#[test]
fn slow_reader_is_dropped_after_the_write_timeout() {
    let mut c = config(1);
    c.write_timeout = Duration::from_millis(100);
    let mut app = App::with_config(c);
    let huge = bytes::Bytes::from(vec![b'x'; 64 << 20]);
    app.get("/huge", move |_req: &Request| {
        Response::bytes(huge.clone(), "application/octet-stream")
    });
    let server = serve(app);
    let mut s = connect(server.local_addr());
    s.write_all(&get("/huge")).unwrap();
    // Never read: the server must give up on us rather than hold the connection forever.
    // (64 MiB is more than loopback socket buffers hold, so the server cannot be done.)
    wait_until("the server to accept", || server.open_connections() == 1);
    wait_until("the server to drop the slow reader", || {
        server.open_connections() == 0
    });
    let mut got = 0usize;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("after {got} bytes: {e}"),
        }
    }
    assert!(
        got < 64 << 20,
        "the whole 64 MiB arrived; the connection was not cut"
    );
    server.shutdown().unwrap();
}

#[test]
fn fifty_blocking_requests_against_a_queue_of_four_are_all_answered() {
    let mut c = config(1);
    c.workers = 1;
    c.queue_capacity = 4;
    let gate = Gate::default();
    let (started_tx, _started) = mpsc::channel();
    let server = serve(gated_app(c, &gate, started_tx));
    let addr = server.local_addr();
    let (done_tx, done) = mpsc::channel();
    let clients: Vec<_> = (0..50)
        .map(|i| {
            let done_tx = done_tx.clone();
            std::thread::spawn(move || {
                let resp = roundtrip(addr, &get(&format!("/slow/{i}")));
                if resp.status == 503 {
                    assert_eq!(resp.header("retry-after"), Some("1"));
                }
                done_tx.send(resp.status).unwrap();
            })
        })
        .collect();
    // One job runs (held by the gate) and four wait: at least 45 answers are 503 before
    // any 200 can exist.
    let mut statuses: Vec<u16> = (0..45).map(|_| done.recv().unwrap()).collect();
    assert!(statuses.iter().all(|&s| s == 503), "{statuses:?}");
    gate.open();
    statuses.extend((0..5).map(|_| done.recv().unwrap()));
    for c in clients {
        c.join().unwrap();
    }
    assert!(
        statuses.iter().all(|&s| s == 200 || s == 503),
        "{statuses:?}"
    );
    assert!(statuses.contains(&200));
    server.shutdown().unwrap();
}

#[test]
fn jobs_that_waited_past_the_queue_timeout_are_shed() {
    let mut c = config(1);
    c.queue_timeout = Duration::ZERO;
    let (tx, _rx) = mpsc::channel();
    let gate = Gate::default();
    gate.open();
    let server = serve(gated_app(c, &gate, tx));
    let resp = roundtrip(server.local_addr(), &get("/slow/1"));
    assert_eq!(resp.status, 503);
    assert_eq!(resp.header("retry-after"), Some("1"));
    server.shutdown().unwrap();
}

#[test]
fn inline_routes_are_served_while_every_worker_is_busy() {
    let mut c = config(1);
    c.workers = 2;
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let server = serve(gated_app(c, &gate, started_tx));
    let addr = server.local_addr();
    let slow: Vec<_> = (0..2)
        .map(|i| std::thread::spawn(move || roundtrip(addr, &get(&format!("/slow/{i}")))))
        .collect();
    started.recv().unwrap();
    started.recv().unwrap();
    // Both workers are held; the I/O thread still answers inline routes.
    for _ in 0..20 {
        assert_eq!(roundtrip(addr, &get("/plaintext")).text(), "Hello, World!");
    }
    gate.open();
    for s in slow {
        assert_eq!(s.join().unwrap().status, 200);
    }
    server.shutdown().unwrap();
}

#[test]
fn pipelined_blocking_and_inline_answers_keep_request_order() {
    let gate = Gate::default();
    gate.open();
    let (tx, _rx) = mpsc::channel();
    let server = serve(gated_app(config(1), &gate, tx));
    let s = connect(server.local_addr());
    let mut w = s.try_clone().unwrap();
    let mut batch = Vec::new();
    for i in 0..6 {
        batch.extend_from_slice(&get(&format!("/slow/{i}")));
        batch.extend_from_slice(&get("/plaintext"));
    }
    batch.extend_from_slice(b"POST /slow-echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n");
    w.write_all(&batch).unwrap();
    let mut r = BufReader::new(s);
    for i in 0..6 {
        assert_eq!(read_response(&mut r, false).text(), format!("slow {i}"));
        assert_eq!(read_response(&mut r, false).text(), "Hello, World!");
    }
    assert_eq!(read_response(&mut r, false).text(), "ok");
    server.shutdown().unwrap();
}

#[test]
fn shutdown_finishes_in_flight_requests_and_refuses_new_connections() {
    let gate = Gate::default();
    let (started_tx, started) = mpsc::channel();
    let server = serve(gated_app(config(2), &gate, started_tx));
    let addr = server.local_addr();
    let idle = connect(addr);
    let in_flight = std::thread::spawn(move || roundtrip(addr, &get("/slow/7")));
    started.recv().unwrap();
    let handle = server.handle();
    handle.shutdown();
    handle.wait_listeners_closed();
    let refused = TcpStream::connect(addr);
    assert!(
        refused.is_err(),
        "a new connection was accepted during shutdown"
    );
    // The idle keep-alive connection is closed without waiting for the deadline.
    assert!(closed(&mut BufReader::new(idle)));
    gate.open();
    let resp = in_flight.join().unwrap();
    assert_eq!((resp.status, resp.text()), (200, "slow 7"));
    assert_eq!(resp.header("connection"), Some("close"));
    server.join().unwrap();
}

#[test]
fn connection_limit_pauses_accepting_and_resumes_below_it() {
    let mut c = config(1);
    c.max_connections = 2;
    let (tx, _rx) = mpsc::channel();
    let server = serve(gated_app(c, &Gate::default(), tx));
    let addr = server.local_addr();
    let mut held = Vec::new();
    for _ in 0..2 {
        let s = connect(addr);
        let mut w = s.try_clone().unwrap();
        let mut r = BufReader::new(s);
        w.write_all(&get("/plaintext")).unwrap();
        assert_eq!(read_response(&mut r, false).status, 200);
        held.push(r);
    }
    assert_eq!(server.open_connections(), 2);
    // The third connects (the kernel queues it) but is not served at the mark.
    let third = connect(addr);
    let mut w = third.try_clone().unwrap();
    w.write_all(&get("/plaintext")).unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let mut probe = [0u8; 1];
    let early = (&third).read(&mut probe);
    assert!(
        matches!(&early, Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::TimedOut),
        "served above the connection limit: {early:?}"
    );
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    drop(held.pop());
    let resp = read_response(&mut BufReader::new(third), false);
    assert_eq!(resp.status, 200);
    server.shutdown().unwrap();
}

#[test]
fn limits_answer_with_their_status() {
    let mut c = config(1);
    c.max_head_bytes = 1024;
    c.max_headers = 8;
    c.max_target_bytes = 256;
    c.max_body_bytes = 1000;
    let (tx, _rx) = mpsc::channel();
    let server = serve(gated_app(c, &Gate::default(), tx));
    let addr = server.local_addr();
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (
            format!(
                "GET /plaintext HTTP/1.1\r\nHost: t\r\nX: {}\r\n\r\n",
                "a".repeat(2000)
            )
            .into_bytes(),
            431,
        ),
        (
            format!(
                "GET /plaintext HTTP/1.1\r\nHost: t\r\n{}\r\n",
                "X: 1\r\n".repeat(10)
            )
            .into_bytes(),
            431,
        ),
        (
            format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "a".repeat(300)).into_bytes(),
            414,
        ),
        // Refused from the announced length, before any body byte is sent.
        (
            b"POST /slow-echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1001\r\n\r\n".to_vec(),
            413,
        ),
        (
            b"POST /slow-echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n"
                .to_vec(),
            413,
        ),
    ];
    for (raw, status) in cases {
        let s = connect(addr);
        let mut w = s.try_clone().unwrap();
        w.write_all(&raw).unwrap();
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r, false);
        assert_eq!(
            resp.status,
            status,
            "{}",
            String::from_utf8_lossy(&raw[..60.min(raw.len())])
        );
        assert!(closed(&mut r));
    }
    // Expect: 100-continue with a body that will be refused gets the final 413, no 100.
    let s = connect(addr);
    let mut w = s.try_clone().unwrap();
    w.write_all(b"POST /slow-echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n").unwrap();
    assert_eq!(read_response(&mut BufReader::new(s), false).status, 413);
    server.shutdown().unwrap();
}

#[test]
fn smuggling_and_framing_rules() {
    let server = start(1);
    let addr = server.local_addr();
    let cases: &[(&str, &[u8], u16)] = &[
        ("CL with TE", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("TE with CL", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
        ("differing CL", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
        ("CL list differing", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4, 5\r\n\r\nabcde", 400),
        ("malformed CL", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4x\r\n\r\nabcd", 400),
        ("negative CL", b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400),
        ("unknown TE", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: compress\r\n\r\n", 501),
        ("chunked not last", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, identity\r\n\r\n", 400),
        ("bad chunk size", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 400),
        ("chunk size overflow", b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000000\r\n", 400),
        ("space before colon", b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-A : 1\r\n\r\n", 400),
        ("obs-fold", b"GET /plaintext HTTP/1.1\r\nHost: t\r\nX-A: 1\r\n 2\r\n\r\n", 400),
        ("missing Host", b"GET /plaintext HTTP/1.1\r\n\r\n", 400),
        ("two Hosts", b"GET /plaintext HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        ("HTTP/2.0", b"GET /plaintext HTTP/2.0\r\nHost: t\r\n\r\n", 505),
        ("unknown method", b"FROB /plaintext HTTP/1.1\r\nHost: t\r\n\r\n", 501),
    ];
    for (what, raw, status) in cases {
        let s = connect(addr);
        let mut w = s.try_clone().unwrap();
        w.write_all(raw).unwrap();
        let mut r = BufReader::new(s);
        let resp = read_response(&mut r, false);
        assert_eq!(resp.status, *status, "{what}");
        assert_eq!(resp.header("connection"), Some("close"), "{what}");
        assert!(closed(&mut r), "{what}: connection must close");
    }
    // Identical repeated lengths are one length (RFC 9112 §6.3).
    let resp = roundtrip(
        addr,
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd",
    );
    assert_eq!((resp.status, resp.text()), (200, "abcd"));
    server.shutdown().unwrap();
}
