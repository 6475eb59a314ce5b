//! Steady-state requests through Rust handlers (with the CORS policy, with metrics on) do
//! not touch the heap.
//!
//! A counting global allocator counts every allocation in the process (server threads
//! included) while a client that itself allocates nothing sends requests over a kept-alive
//! connection. This file holds a single test so no other test allocates concurrently.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

use fasterapi_http::cors::{CorsOptions, CorsPolicy};
use fasterapi_http::{App, Error, Request, Response};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: defers to the system allocator; only counts calls.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours, passed through.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: same contract as ours, passed through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Sends `req` and reads exactly `len` response bytes into a stack buffer: no allocation.
fn exchange(s: &mut TcpStream, req: &[u8], len: usize, buf: &mut [u8; 4096]) {
    s.write_all(req).unwrap();
    s.read_exact(&mut buf[..len]).unwrap();
}

/// The full length of the first response to `req` (headers + Content-Length body).
fn response_len(s: &mut TcpStream, req: &[u8]) -> usize {
    s.write_all(req).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "server closed the connection");
        got.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&got);
        if let Some(end) = text.find("\r\n\r\n") {
            let len: usize = text
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .expect("Content-Length")
                .parse()
                .unwrap();
            if got.len() >= end + 4 + len {
                assert!(text.starts_with("HTTP/1.1 200 OK"), "{text}");
                assert_eq!(got.len(), end + 4 + len, "no extra bytes expected");
                return got.len();
            }
        }
    }
}

/// Serves `app` on one I/O thread and sends `requests` in turn over one kept-alive
/// connection: 200 rounds to warm up (pools and per-thread caches fill), then 2,000
/// counted; then `after` gets the connection, before the server stops. Returns the
/// allocations in the process during the counted rounds, and the last answer read (for
/// the caller to check that the rounds did not just read garbage).
fn steady_state_allocations(
    mut app: App,
    requests: &[&[u8]],
    after: impl FnOnce(&mut TcpStream),
) -> (u64, String) {
    app.config_mut().threads = 1;
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    let mut s = TcpStream::connect(server.local_addr()).unwrap();
    s.set_nodelay(true).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let lens: Vec<usize> = requests.iter().map(|r| response_len(&mut s, r)).collect();
    let mut buf = [0u8; 4096];
    for _ in 0..200 {
        for (req, len) in requests.iter().zip(&lens) {
            exchange(&mut s, req, *len, &mut buf);
        }
    }
    let before = ALLOCATIONS.load(Ordering::SeqCst);
    for _ in 0..2000 {
        for (req, len) in requests.iter().zip(&lens) {
            exchange(&mut s, req, *len, &mut buf);
        }
    }
    let counted = ALLOCATIONS.load(Ordering::SeqCst) - before;
    let last = String::from_utf8_lossy(&buf[..lens[lens.len() - 1]]).into_owned();
    after(&mut s);
    server.shutdown().unwrap();
    (counted, last)
}

#[test]
fn plaintext_json_and_params_allocate_nothing_per_request() {
    let mut app = App::new();
    app.get("/plaintext", |_req: &Request| {
        Response::text("Hello, World!")
    });
    app.get("/json", |_req: &Request| {
        Response::json(|o| {
            o.field("message", "Hello, World!");
        })
    });
    app.get("/users/{id}", |req: &Request| -> Result<Response, Error> {
        let id: u64 = req.param("id")?;
        Ok(Response::json(|o| {
            o.field("id", id);
            o.field("name", "alice");
        }))
    });
    let (allocations, last) = steady_state_allocations(
        app,
        &[
            b"GET /plaintext HTTP/1.1\r\nHost: t\r\nUser-Agent: zero-alloc\r\n\r\n",
            b"GET /json HTTP/1.1\r\nHost: t\r\nAccept: */*\r\n\r\n",
            b"GET /users/12345 HTTP/1.1\r\nHost: t\r\n\r\n",
        ],
        |_| {},
    );
    assert!(last.ends_with(r#"{"id":12345,"name":"alice"}"#), "{last}");
    assert_eq!(
        allocations, 0,
        "allocations during 6000 steady-state requests"
    );

    // CORS (issue 16): a preflight answered by the policy and a GET it marks, from a
    // listed origin. Every header value is the policy's own or borrowed from it.
    let mut app = App::new();
    app.middleware(
        CorsPolicy::new(CorsOptions {
            allow_origins: vec!["https://app.example".into()],
            allow_methods: vec!["GET".into(), "POST".into()],
            allow_headers: vec!["X-Token".into()],
            allow_credentials: true,
            ..CorsOptions::default()
        })
        .unwrap(),
    );
    app.get("/items", |_req: &Request| Response::text("items"));
    let (allocations, last) = steady_state_allocations(
        app,
        &[
            b"OPTIONS /items HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\
              Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: x-token\r\n\r\n",
            b"GET /items HTTP/1.1\r\nHost: t\r\nOrigin: https://app.example\r\n\r\n",
        ],
        |_| {},
    );
    assert!(
        last.contains("Access-Control-Allow-Origin: https://app.example")
            && last.ends_with("items"),
        "{last}"
    );
    assert_eq!(
        allocations, 0,
        "allocations during 4000 steady-state CORS requests"
    );

    // Metrics on (issue 17): counting a request in its event-loop turn and moving the
    // turn's counts into their buckets allocates nothing either.
    let mut app = App::new();
    app.metrics("/metrics");
    app.get("/plaintext", |_req: &Request| {
        Response::text("Hello, World!")
    });
    let mut text = String::new();
    let (allocations, _) =
        steady_state_allocations(app, &[b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n"], |s| {
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .unwrap();
            s.read_to_string(&mut text).unwrap();
        });
    assert_eq!(
        allocations, 0,
        "allocations during 2000 steady-state requests with metrics on"
    );
    // They were counted: the probe, the warm-up and the measured requests.
    assert!(
        text.contains(
            "fasterapi_requests_total{route=\"/plaintext\",method=\"GET\",status=\"2xx\"} 2201\n"
        ),
        "{text}"
    );
}
