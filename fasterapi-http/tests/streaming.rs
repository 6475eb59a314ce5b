//! Streamed bodies over real sockets: exact chunked bytes, HTTP/1.0 close-delimited bodies,
//! HEAD, pipelining behind a stream, a client that does not read (bounded memory), and
//! clients that leave (the producer stops).

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{closed, connect, read_response};
use fasterapi_http::{App, BodyStream, Request, Response, RunningServer, StatusCode, TestServer};

/// Long enough never to fire when the server works; a broken one fails instead of hanging.
const GUARD: Duration = Duration::from_secs(10);

/// Sends on `tx` when dropped: tells the test a producer was dropped.
struct DropSignal(mpsc::Sender<()>);
impl Drop for DropSignal {
    fn drop(&mut self) {
        let _ = self.0.send(());
    }
}

/// An endless producer of 16 KiB pieces that counts the bytes it made and says when it
/// is dropped.
fn endless(produced: Arc<AtomicU64>, dropped: mpsc::Sender<()>) -> impl Iterator<Item = Bytes> {
    let piece = Bytes::from(vec![b'x'; 16 * 1024]);
    let signal = DropSignal(dropped);
    // A cap so that a server that buffered without bound fails the test, not the machine.
    (0..4096).map(move |_| {
        let _keep = &signal;
        produced.fetch_add(piece.len() as u64, Ordering::SeqCst);
        piece.clone()
    })
}

/// An app whose `GET /endless` streams [`endless`]: the bytes produced so far, and a
/// message on the receiver each time a producer is dropped.
fn endless_app() -> (App, Arc<AtomicU64>, mpsc::Receiver<()>) {
    let (dropped_tx, dropped) = mpsc::channel();
    let dropped_tx = Mutex::new(dropped_tx);
    let produced = Arc::new(AtomicU64::new(0));
    let p = produced.clone();
    let mut app = App::new();
    app.get("/endless", move |_req: &Request| {
        let tx = dropped_tx.lock().unwrap().clone();
        Response::stream(endless(p.clone(), tx))
    });
    (app, produced, dropped)
}

fn serve(app: App) -> RunningServer {
    let mut app = app;
    app.config_mut().threads = 1;
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

/// Reads a head; returns it as text.
fn read_head(r: &mut impl BufRead) -> String {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        assert!(
            r.read_line(&mut line).unwrap() > 0,
            "closed in the head: {head:?}"
        );
        head.push_str(&line);
        if line == "\r\n" {
            return head;
        }
    }
}

/// Reads one chunked body, checking its framing; the pieces as sent.
fn read_chunked(r: &mut impl BufRead) -> Vec<Vec<u8>> {
    let mut pieces = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let size = usize::from_str_radix(line.trim_end_matches("\r\n"), 16)
            .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
        let mut piece = vec![0; size + 2];
        r.read_exact(&mut piece).unwrap();
        assert_eq!(&piece[size..], b"\r\n");
        piece.truncate(size);
        if size == 0 {
            return pieces;
        }
        pieces.push(piece);
    }
}

fn app_with_counter() -> App {
    let mut app = App::new();
    app.get("/count", |_req: &Request| {
        // The empty piece is skipped: it would read as the body's end.
        Response::stream(["a", "", "bcd"].into_iter()).with_content_type("text/plain")
    });
    app.get("/big-piece", |_req: &Request| {
        Response::stream(std::iter::once(Bytes::from(vec![b'z'; 70_000])))
    });
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    app
}

#[test]
fn chunked_bytes_are_exact() {
    let server = serve(app_with_counter());
    let mut s = connect(server.local_addr());
    s.write_all(b"GET /count HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let head = read_head(&mut r);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(head.contains("\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"));
    assert!(
        !head.to_ascii_lowercase().contains("content-length"),
        "{head}"
    );
    let mut body = [0u8; 19];
    r.read_exact(&mut body).unwrap();
    assert_eq!(&body, b"1\r\na\r\n3\r\nbcd\r\n0\r\n\r\n");
    // The connection stays open for the next request.
    r.get_mut()
        .write_all(b"GET /big-piece HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    read_head(&mut r);
    let mut size_line = String::new();
    r.read_line(&mut size_line).unwrap();
    assert_eq!(size_line, "11170\r\n", "70,000 in hex");
    let mut piece = vec![0; 70_000 + 2];
    r.read_exact(&mut piece).unwrap();
    assert!(piece[..70_000].iter().all(|&b| b == b'z') && piece.ends_with(b"\r\n"));
    let mut end = [0u8; 5];
    r.read_exact(&mut end).unwrap();
    assert_eq!(&end, b"0\r\n\r\n");
    server.shutdown().unwrap();
}

#[test]
fn http_1_0_gets_a_close_delimited_body() {
    let server = serve(app_with_counter());
    for request in [
        &b"GET /count HTTP/1.0\r\n\r\n"[..],
        b"GET /count HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    ] {
        let mut s = connect(server.local_addr());
        s.write_all(request).unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8(answer).unwrap();
        let (head, body) = answer.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(head.ends_with("\r\nConnection: close"), "{head}");
        assert!(!head.contains("Transfer-Encoding") && !head.contains("Content-Length"));
        assert_eq!(
            body, "abcd",
            "the end of the body is the end of the connection"
        );
    }
    server.shutdown().unwrap();
}

#[test]
fn head_gets_the_head_alone_and_the_producer_is_dropped() {
    let (mut app, produced, dropped) = endless_app();
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    let server = serve(app);
    let mut s = connect(server.local_addr());
    s.write_all(
        b"HEAD /endless HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s);
    let head = read_head(&mut r);
    assert!(head.contains("Transfer-Encoding: chunked\r\n"), "{head}");
    // The next answer follows the head directly: no body came.
    let next = read_response(&mut r, false);
    assert_eq!(next.text(), "Hello, World!");
    dropped
        .recv_timeout(GUARD)
        .expect("the producer was dropped");
    assert_eq!(produced.load(Ordering::SeqCst), 0, "nothing was produced");
    server.shutdown().unwrap();
}

#[test]
fn a_status_without_body_sends_no_body() {
    let mut app = App::new();
    app.get("/none", |_req: &Request| {
        Response::stream(["never"].into_iter()).with_status(StatusCode::NO_CONTENT)
    });
    let server = serve(app);
    let mut s = connect(server.local_addr());
    s.write_all(b"GET /none HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 204 No Content\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("Connection: close\r\n\r\n"), "{answer}");
    assert!(!answer.contains("Transfer-Encoding"), "{answer}");
    server.shutdown().unwrap();
}

/// A producer on a thread of its own that the test steps: the request pipelined behind
/// the stream is answered only after the stream's end, which comes only after the test
/// read the first piece.
#[test]
fn pipelined_requests_wait_for_the_stream() {
    let (go_tx, go) = mpsc::channel::<()>();
    let go = Arc::new(Mutex::new(go));
    let mut app = App::new();
    app.get("/stepped", move |_req: &Request| {
        let (tx, body) = BodyStream::channel(1024);
        let go = go.clone();
        std::thread::spawn(move || {
            tx.send("first").unwrap();
            go.lock().unwrap().recv().unwrap();
            tx.send("second").unwrap();
            tx.finish();
        });
        Response::stream(body)
    });
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    let server = serve(app);
    let mut s = connect(server.local_addr());
    s.write_all(
        b"GET /stepped HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .unwrap();
    let mut r = BufReader::new(s);
    read_head(&mut r);
    let mut first = [0u8; 10];
    r.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"5\r\nfirst\r\n");
    go_tx.send(()).unwrap();
    assert_eq!(read_chunked(&mut r), vec![b"second".to_vec()]);
    let next = read_response(&mut r, false);
    assert_eq!((next.status, next.text()), (200, "Hello, World!"));
    server.shutdown().unwrap();
}

/// What the server sends may run ahead of what the client read by the socket buffers
/// (the kernel's: the server's send buffer, at most `tcp_wmem`'s maximum, and the
/// client's receive buffer) plus the server's own bounded batch. Counted in bytes at every
/// read: a server that asked the producer for more while the socket was full would run
/// megabytes ahead at once.
fn ahead_bound(client: &TcpStream) -> u64 {
    let wmem = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").unwrap();
    let wmem_max: u64 = wmem.split_whitespace().nth(2).unwrap().parse().unwrap();
    let rcvbuf = socket2::SockRef::from(client).recv_buffer_size().unwrap() as u64;
    // The batch and one piece in the server's hands, a channel's bound, and slack.
    wmem_max + rcvbuf + 1024 * 1024
}

fn small_receive_buffer_client(addr: std::net::SocketAddr) -> TcpStream {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    // Set before connecting, so the window stays small (no autotuning).
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    socket.connect(&addr.into()).unwrap();
    let s: TcpStream = socket.into();
    s.set_read_timeout(Some(GUARD)).unwrap();
    s
}

/// Reads `total` body bytes in small reads, checking at each that the producer is at most
/// `bound` bytes ahead; then leaves.
fn read_slowly(s: TcpStream, produced: &AtomicU64, total: u64, bound: u64) {
    let mut r = BufReader::with_capacity(4096, s);
    read_head(&mut r);
    let mut received = 0u64;
    let mut buf = [0u8; 4096];
    let mut max_ahead = 0;
    while received < total {
        let n = r.read(&mut buf).unwrap();
        assert!(n > 0, "the stream ended early");
        received += n as u64;
        let ahead = produced.load(Ordering::SeqCst).saturating_sub(received);
        max_ahead = max_ahead.max(ahead);
        assert!(
            ahead <= bound,
            "{ahead} bytes produced ahead of the client (bound {bound})"
        );
    }
    eprintln!("produced at most {max_ahead} bytes ahead of a client reading {total}");
}

#[test]
fn a_client_that_does_not_read_holds_bounded_memory_and_leaving_drops_the_iterator() {
    let (app, produced, dropped) = endless_app();
    let server = serve(app);
    let mut s = small_receive_buffer_client(server.local_addr());
    let bound = ahead_bound(&s);
    s.write_all(b"GET /endless HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    read_slowly(s, &produced, 16 << 20, bound);
    // The client left: the iterator is dropped, not drained.
    dropped
        .recv_timeout(GUARD)
        .expect("the iterator was dropped");
    assert!(
        produced.load(Ordering::SeqCst) < 64 << 20,
        "not run to its end"
    );
    server.shutdown().unwrap();
}

#[test]
fn a_blocking_sender_waits_for_a_slow_client_and_fails_once_it_left() {
    let (stopped_tx, stopped) = mpsc::channel::<u64>();
    let stopped_tx = Mutex::new(stopped_tx);
    let produced = Arc::new(AtomicU64::new(0));
    let p = produced.clone();
    let mut app = App::new();
    app.get("/fed", move |_req: &Request| {
        let (tx, body) = BodyStream::channel(64 * 1024);
        let (p, stopped) = (p.clone(), stopped_tx.lock().unwrap().clone());
        std::thread::spawn(move || {
            let piece = Bytes::from(vec![b'y'; 10_000]);
            let mut sent = 0;
            while tx.send(piece.clone()).is_ok() {
                sent += 1;
                p.fetch_add(piece.len() as u64, Ordering::SeqCst);
            }
            stopped.send(sent).unwrap();
        });
        Response::stream(body)
    });
    let server = serve(app);
    let mut s = small_receive_buffer_client(server.local_addr());
    let bound = ahead_bound(&s);
    s.write_all(b"GET /fed HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    read_slowly(s, &produced, 8 << 20, bound);
    let sent = stopped
        .recv_timeout(GUARD)
        .expect("send failed once the client left");
    assert!(sent >= 800, "{sent}");
    server.shutdown().unwrap();
}

/// An async-style producer (never blocks): `try_send` until full, then `when_ready`.
/// A client that stops reading leaves it waiting with the channel full; the client
/// leaving runs its hook, and it sees the disconnection.
#[test]
fn a_waiting_producer_is_released_when_the_client_leaves() {
    let (released_tx, released) = mpsc::channel::<bool>();
    let released_tx = Mutex::new(released_tx);
    let (full_tx, full) = mpsc::channel::<()>();
    let full_tx = Mutex::new(full_tx);
    let mut app = App::new();
    app.get("/fed", move |_req: &Request| {
        let (tx, body) = BodyStream::channel(64 * 1024);
        let (released, full) = (
            released_tx.lock().unwrap().clone(),
            full_tx.lock().unwrap().clone(),
        );
        std::thread::spawn(move || {
            let piece = Bytes::from(vec![b'w'; 10_000]);
            loop {
                match tx.try_send(piece.clone()) {
                    Ok(()) => continue,
                    Err(fasterapi_http::TrySendError::Full(_)) => {
                        let (ready_tx, ready) = mpsc::channel();
                        tx.when_ready(move || ready_tx.send(()).unwrap());
                        full.send(()).unwrap();
                        ready.recv().unwrap();
                    }
                    Err(fasterapi_http::TrySendError::Disconnected(_)) => break,
                }
            }
            released.send(tx.is_disconnected()).unwrap();
        });
        Response::stream(body)
    });
    let server = serve(app);
    let mut s = connect(server.local_addr());
    s.write_all(b"GET /fed HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 64];
    s.read_exact(&mut first).unwrap();
    // The client stops reading: the sockets fill, the server stops taking pieces, the
    // channel fills.
    full.recv_timeout(GUARD).expect("the channel filled");
    drop(s);
    assert_eq!(released.recv_timeout(GUARD), Ok(true));
    server.shutdown().unwrap();
}

#[test]
fn a_failed_body_ends_without_its_last_chunk() {
    let mut app = App::new();
    app.get("/fails", |_req: &Request| {
        Response::stream(BodyStream::try_iter([Ok("partial"), Err("broken")]))
    });
    app.get("/sender-dropped", |_req: &Request| {
        let (tx, body) = BodyStream::channel(16);
        std::thread::spawn(move || {
            tx.send("partial").unwrap();
            // Dropped without finish(): a producer that panicked, say.
        });
        Response::stream(body)
    });
    let server = serve(app);
    for path in ["/fails", "/sender-dropped"] {
        let mut s = connect(server.local_addr());
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: t\r\n\r\n").as_bytes())
            .unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let answer = String::from_utf8(answer).unwrap();
        assert!(
            answer.ends_with("\r\n\r\n7\r\npartial\r\n"),
            "{path}: no last chunk: {answer}"
        );
    }
    server.shutdown().unwrap();
}

#[test]
fn connection_close_closes_after_the_stream() {
    let server = serve(app_with_counter());
    let mut s = connect(server.local_addr());
    s.write_all(b"GET /count HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    let head = read_head(&mut r);
    assert!(
        head.contains("Transfer-Encoding: chunked\r\nConnection: close\r\n"),
        "{head}"
    );
    assert_eq!(read_chunked(&mut r), vec![b"a".to_vec(), b"bcd".to_vec()]);
    assert!(closed(&mut r));
    server.shutdown().unwrap();
}

#[test]
fn the_test_server_sends_streams_whole() {
    let mut app = app_with_counter();
    app.get("/threaded", |_req: &Request| {
        let (tx, body) = BodyStream::channel(4);
        std::thread::spawn(move || {
            for i in 0..50 {
                tx.send(format!("{i},")).unwrap();
            }
            tx.finish();
        });
        Response::stream(body)
    });
    let mut server = TestServer::new(app, Default::default()).unwrap();
    let answer = server
        .exchange(
            b"GET /count HTTP/1.1\r\nHost: t\r\n\r\nGET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n",
        )
        .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.contains("\r\n\r\n1\r\na\r\n3\r\nbcd\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n"),
        "{answer}"
    );
    assert!(answer.ends_with("Hello, World!"));
    let answer = server
        .exchange(b"GET /threaded HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(&answer[..]);
    read_head(&mut r);
    let body: Vec<u8> = read_chunked(&mut r).concat();
    let want: String = (0..50).map(|i| format!("{i},")).collect();
    assert_eq!(String::from_utf8(body).unwrap(), want);
}
