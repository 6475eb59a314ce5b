//! The in-process test server: requests through the real router and connection state
//! machine without a socket, deferred answers from threads, the worker pool and a
//! companion driven on the calling thread.

use std::cell::RefCell;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fasterapi_http::{App, Companion, Config, Reply, Request, Response, StatusCode, TestServer};

/// The status codes of the responses in `out`, in order, and the bodies (by
/// Content-Length).
fn responses(out: &[u8]) -> Vec<(u16, String)> {
    let mut found = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head")
            + 4;
        let head = std::str::from_utf8(&rest[..end]).unwrap();
        let status = head[9..12].parse().unwrap();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .map_or(0, |v| v.trim().parse().unwrap());
        let body = String::from_utf8_lossy(&rest[end..end + len]).into_owned();
        found.push((status, body));
        rest = &rest[end + len..];
    }
    found
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n")
}

#[test]
fn pipelined_requests_are_answered_in_order_and_the_connection_closes() {
    let mut app = App::new();
    app.get("/a", |_r: &Request| "a");
    app.get("/n/{n}", |r: &Request| {
        r.param::<u32>("n").map(|n| Response::text(n.to_string()))
    });
    let mut server = TestServer::new(app, Config::default()).unwrap();
    let mut input = String::new();
    // More than a readiness pass takes (32 requests): the rest is served in later passes.
    for n in 0..100 {
        input += &get(&format!("/n/{n}"));
    }
    input += &get("/a");
    input += &get("/missing");
    let out = server.exchange(input.as_bytes()).unwrap();
    let got = responses(&out);
    assert_eq!(got.len(), 102);
    for (n, answer) in got[..100].iter().enumerate() {
        assert_eq!(answer, &(200, n.to_string()));
    }
    assert_eq!(got[100], (200, "a".into()));
    assert_eq!(got[101].0, 404);

    // Refusals are the server's: a malformed request line is 400 and closes.
    let out = server
        .exchange(b"GE T /a HTTP/1.1\r\nHost: t\r\n\r\nGET /a HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let got = responses(&out);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, 400);
    // A partial request when the client half-closes gets no answer.
    assert!(server
        .exchange(b"GET /a HTTP/1.1\r\nHo")
        .unwrap()
        .is_empty());
}

#[test]
fn a_deferred_answer_comes_before_the_requests_pipelined_behind_it() {
    let sent = Arc::new(AtomicBool::new(false));
    let mut app = App::new();
    let s = sent.clone();
    app.get("/later", move |r: &Request| {
        let reply = r.defer().expect("an in-process connection can wait");
        let s = s.clone();
        std::thread::spawn(move || {
            s.store(true, Ordering::SeqCst);
            reply.send(Response::text("later"));
        });
        "not sent"
    });
    let s = sent.clone();
    // Served only once the answer before it is out, so it always sees it sent.
    app.get("/after", move |_r: &Request| {
        if s.load(Ordering::SeqCst) {
            "after the reply"
        } else {
            "too early"
        }
    });
    app.get("/dropped", |r: &Request| {
        drop(r.defer());
        "not sent"
    });
    let mut server = TestServer::new(app, Config::default()).unwrap();
    let input = [get("/later"), get("/after"), get("/dropped"), get("/after")].concat();
    let got = responses(&server.exchange(input.as_bytes()).unwrap());
    assert_eq!(
        got,
        vec![
            (200, "later".into()),
            (200, "after the reply".into()),
            (500, r#"{"detail":"Internal Server Error"}"#.into()),
            (200, "after the reply".into()),
        ]
    );
}

#[test]
fn blocking_routes_run_on_the_worker_pool() {
    let mut app = App::new();
    app.post("/work", |r: &Request| {
        let thread = std::thread::current().name().unwrap_or("").to_owned();
        Response::text(format!("{} bytes on {thread}", r.body().len()))
    })
    .blocking();
    let mut config = Config::default();
    config.workers = 1;
    let mut server = TestServer::new(app, config).unwrap();
    let request = b"POST /work HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
        3\r\nabc\r\n0\r\n\r\nPOST /work HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nxy";
    let got = responses(&server.exchange(request).unwrap());
    assert_eq!(
        got,
        vec![
            (200, "3 bytes on fasterapi-worker-0".into()),
            (200, "2 bytes on fasterapi-worker-0".into()),
        ]
    );
}

#[test]
fn requests_come_from_the_test_peer_address_inline_and_on_the_pool() {
    let mut app = App::new();
    let peer = |r: &Request| Response::text(r.peer_addr().to_string());
    app.get("/peer", peer);
    app.get("/pool/peer", peer).blocking();
    let mut server = TestServer::new(app, Config::default()).unwrap();
    let got = responses(
        &server
            .exchange(format!("{}{}", get("/peer"), get("/pool/peer")).as_bytes())
            .unwrap(),
    );
    let want = TestServer::PEER_ADDR.to_string();
    assert_eq!(want, "0.0.0.0:50000");
    assert_eq!(got, vec![(200, want.clone()), (200, want)]);
}

thread_local! {
    /// Replies the companion of this thread sends on its next run.
    static WAITING: RefCell<Vec<(Reply, String)>> = const { RefCell::new(Vec::new()) };
}

/// A companion that answers the replies handlers left it, when its descriptor is readable
/// (if it has one) or at once.
struct Answerer {
    wake: Option<UnixStream>,
    ran_on: Arc<Mutex<Vec<std::thread::ThreadId>>>,
}

impl Companion for Answerer {
    fn fd(&self) -> Option<RawFd> {
        self.wake.as_ref().map(|w| w.as_raw_fd())
    }

    fn due(&self) -> Option<Instant> {
        let waiting = WAITING.with(|w| !w.borrow().is_empty());
        (self.wake.is_none() && waiting).then(Instant::now)
    }

    fn run(&mut self) {
        if let Some(wake) = self.wake.as_mut() {
            let mut byte = [0u8; 1];
            if wake.read(&mut byte).is_err() {
                return;
            }
        }
        self.ran_on
            .lock()
            .unwrap()
            .push(std::thread::current().id());
        for (reply, text) in WAITING.with(|w| std::mem::take(&mut *w.borrow_mut())) {
            reply.send(Response::text(text));
        }
    }

    fn stop(&mut self) {}
}

fn companion_app(wake: Option<UnixStream>, ran_on: Arc<Mutex<Vec<std::thread::ThreadId>>>) -> App {
    let mut app = App::new();
    app.get("/suspend/{n}", |r: &Request| {
        let reply = r.defer().expect("can wait");
        let n = r.param_str("n").unwrap_or("").to_owned();
        WAITING.with(|w| w.borrow_mut().push((reply, format!("resumed {n}"))));
        "not sent"
    });
    let wake = Mutex::new(wake);
    app.companion(move |thread| {
        assert_eq!(thread, 0);
        let wake = wake.lock().unwrap().take();
        if let Some(w) = &wake {
            w.set_nonblocking(true)?;
        }
        Ok(Box::new(Answerer {
            wake,
            ran_on: ran_on.clone(),
        }) as Box<dyn Companion>)
    });
    app
}

#[test]
fn the_companion_runs_on_the_calling_thread_when_due() {
    let ran_on = Arc::new(Mutex::new(Vec::new()));
    let mut server =
        TestServer::new(companion_app(None, ran_on.clone()), Config::default()).unwrap();
    let input = [get("/suspend/1"), get("/suspend/2")].concat();
    let got = responses(&server.exchange(input.as_bytes()).unwrap());
    assert_eq!(
        got,
        vec![(200, "resumed 1".into()), (200, "resumed 2".into())]
    );
    let ran_on = ran_on.lock().unwrap();
    assert_eq!(ran_on.len(), 2, "one run per suspended request");
    assert!(ran_on.iter().all(|&t| t == std::thread::current().id()));
}

#[test]
fn the_companion_runs_when_its_descriptor_becomes_readable() {
    let (wake, mut waker) = UnixStream::pair().unwrap();
    let ran_on = Arc::new(Mutex::new(Vec::new()));
    let mut server =
        TestServer::new(companion_app(Some(wake), ran_on.clone()), Config::default()).unwrap();
    // The byte that makes the descriptor readable comes from another thread, before or
    // while the exchange waits: epoll keeps the edge for the next poll either way.
    let writer = std::thread::spawn(move || {
        waker.write_all(b"!").unwrap();
        waker
    });
    let got = responses(&server.exchange(get("/suspend/7").as_bytes()).unwrap());
    assert_eq!(got, vec![(200, "resumed 7".into())]);
    let _ = writer.join().unwrap();
    assert_eq!(*ran_on.lock().unwrap(), vec![std::thread::current().id()]);
}

#[test]
fn an_answer_that_never_comes_times_out_and_the_request_is_abandoned() {
    let abandoned = Arc::new(AtomicBool::new(false));
    let kept = Arc::new(Mutex::new(Vec::new()));
    let mut app = App::new();
    let (a, k) = (abandoned.clone(), kept.clone());
    app.get("/never", move |r: &Request| {
        let a = a.clone();
        let reply = r.defer_with_abandon(move || a.store(true, Ordering::SeqCst));
        // Kept, never sent: the connection waits until the test server gives up.
        k.lock().unwrap().push(reply);
        "not sent"
    });
    app.get("/ok", |_r: &Request| "ok");
    let mut config = Config::default();
    config.shutdown_timeout = Duration::from_millis(20);
    let mut server = TestServer::new(app, config).unwrap();
    let err = server.exchange(get("/never").as_bytes()).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    assert!(err.to_string().contains("shutdown_timeout"), "{err}");
    assert!(abandoned.load(Ordering::SeqCst));
    // The late reply, sent now, reaches no one; the next connection is served.
    let late = kept.lock().unwrap().pop().unwrap().unwrap();
    late.send(Response::new(StatusCode::NO_CONTENT));
    let got = responses(&server.exchange(get("/ok").as_bytes()).unwrap());
    assert_eq!(got, vec![(200, "ok".into())]);
}

#[test]
fn what_bind_refuses_new_refuses() {
    let mut config = Config::default();
    config.buffer_size = 0;
    let err = TestServer::new(App::new(), config).unwrap_err();
    assert!(err.to_string().contains("buffer_size"), "{err}");
    let mut app = App::new();
    app.get("/x", |_r: &Request| "x");
    app.get("/x", |_r: &Request| "again");
    assert!(TestServer::new(app, Config::default()).is_err());
}
