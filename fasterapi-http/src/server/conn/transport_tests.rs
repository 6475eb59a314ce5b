//! The connection state machine over the in-memory transport: exactly where reads end,
//! what the client takes of each write, when it half-closes, and when deferred answers
//! arrive, with no socket and no event loop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use mio::{Poll, Token, Waker};

use super::*;
use crate::app::later::Reply;
use crate::server::transport::MemoryTransport;

/// An app with a few routes, on a thread context that can wait for replies (a mailbox
/// whose waker nobody polls: the tests take the answers themselves).
fn setup(app: App) -> (Ctx, Poll) {
    let poll = Poll::new().unwrap();
    let mailbox = Mailbox::new(Waker::new(poll.registry(), Token(0)).unwrap());
    let ctx = Ctx::new(Arc::new(app), 0, None, Some(Arc::new([mailbox])));
    (ctx, poll)
}

fn hello_app() -> App {
    let mut app = App::new();
    app.get("/plaintext", |_r: &Request| "Hello, World!");
    app.post("/echo", |r: &Request| {
        Response::bytes(r.body().to_vec(), "application/octet-stream")
    });
    app.get("/big/{n}", |r: &Request| {
        let n: usize = r.param("n")?;
        Ok::<_, crate::Error>(Response::bytes(vec![b'x'; n], "application/octet-stream"))
    });
    app
}

fn conn() -> Conn<MemoryTransport> {
    Conn::new(MemoryTransport::new(), 0, 1, crate::TestServer::PEER_ADDR)
}

/// The responses in `out`: status and body (by Content-Length).
fn responses(out: &[u8]) -> Vec<(u16, Vec<u8>)> {
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
        found.push((status, rest[end..end + len].to_vec()));
        rest = &rest[end + len..];
    }
    found
}

const HELLO: &[u8] = b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n";

fn ok(body: &[u8]) -> (u16, Vec<u8>) {
    (200, body.to_vec())
}

#[test]
fn a_request_split_at_every_byte_is_answered_once_when_complete() {
    let (mut ctx, _poll) = setup(hello_app());
    let request = b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    for split in 1..request.len() {
        let mut conn = conn();
        conn.stream_mut().push_input(&request[..split]);
        assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
        assert!(conn.stream_mut().written.is_empty(), "answered at {split}");
        let phase = if split < request.len() - 5 {
            Phase::Head
        } else {
            Phase::Body
        };
        assert_eq!(conn.phase(), phase, "split at {split}");
        conn.stream_mut().push_input(&request[split..]);
        assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
        let out = conn.stream_mut().take_written();
        assert_eq!(responses(&out), vec![ok(b"hello")], "split at {split}");
        assert_eq!(conn.phase(), Phase::Idle);
        conn.recycle(&mut ctx.pool);
    }
    // One byte per read: one read per readiness event, no answer until the last byte.
    let mut conn = conn();
    for (i, byte) in HELLO.iter().enumerate() {
        conn.stream_mut().push_input(&[*byte]);
        assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
        let answered = !conn.stream_mut().written.is_empty();
        assert_eq!(answered, i == HELLO.len() - 1, "after byte {i}");
    }
    assert_eq!(conn.stream_mut().reads, HELLO.len());
    assert_eq!(
        responses(&conn.stream_mut().take_written()),
        vec![ok(b"Hello, World!")]
    );
}

#[test]
fn pipelined_requests_of_one_read_are_answered_with_one_write() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    let mut input = HELLO.repeat(10);
    input.extend_from_slice(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    // The last request's head completes in the next read.
    input.extend_from_slice(&HELLO[..10]);
    conn.stream_mut().push_input(&input);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().writes, 1);
    let got = responses(&conn.stream_mut().take_written());
    assert_eq!(got.len(), 11);
    assert!(got[..10].iter().all(|r| *r == ok(b"Hello, World!")));
    assert_eq!(got[10], ok(b"abc"));
    assert_eq!(conn.phase(), Phase::Head);
    conn.stream_mut().push_input(&HELLO[10..]);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(
        responses(&conn.stream_mut().take_written()),
        vec![ok(b"Hello, World!")]
    );
}

#[test]
fn output_the_client_does_not_take_waits_in_the_backlog_and_reading_pauses() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    // The client takes 100 bytes, then nothing until it is writable again.
    conn.stream_mut().allow_writes(Some(100));
    conn.stream_mut()
        .push_input(b"GET /big/5000 HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().written.len(), 100);
    assert_eq!(conn.phase(), Phase::Writing);
    // Input meanwhile is not read: the answer to it would only add to the backlog.
    conn.stream_mut().push_input(HELLO);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().unread(), HELLO.len());
    // Writable, and still only 7 bytes at a time: the backlog goes out in short writes.
    conn.stream_mut().allow_writes(None);
    conn.stream_mut().cap_writes(7);
    let writes = conn.stream_mut().writes;
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Keep);
    assert!(conn.stream_mut().writes - writes > 5000 / 7);
    // Then the input that waited is read and answered (edge-triggered readiness would
    // not announce it again), and what the client did not take of that waits in turn.
    assert_eq!(conn.stream_mut().unread(), 0);
    assert_eq!(conn.phase(), Phase::Writing);
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Keep);
    let got = responses(&conn.stream_mut().take_written());
    assert_eq!(got, vec![ok(&[b'x'; 5000]), ok(b"Hello, World!")]);
    assert_eq!(conn.phase(), Phase::Idle);
}

#[test]
fn a_failed_write_drops_the_connection() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    conn.stream_mut()
        .fail_next_write(io::ErrorKind::ConnectionReset);
    conn.stream_mut().push_input(HELLO);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    // The thread's output buffer is clear for its other connections.
    assert!(ctx.out.is_empty());
    // A backlog whose flush fails drops it too.
    let mut conn = self::conn();
    conn.stream_mut().allow_writes(Some(10));
    conn.stream_mut().push_input(HELLO);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    conn.stream_mut().allow_writes(None);
    conn.stream_mut().fail_next_write(io::ErrorKind::BrokenPipe);
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Drop);
}

#[test]
fn a_half_close_ends_the_connection_once_the_answers_are_out() {
    let (mut ctx, _poll) = setup(hello_app());
    // Requests, then the client's half-close: all answered, then dropped.
    let mut conn = conn();
    conn.stream_mut().push_input(&HELLO.repeat(2));
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    conn.stream_mut().close_input();
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert_eq!(responses(&conn.stream_mut().written).len(), 2);
    assert!(!conn.stream_mut().write_closed, "closed, not shut down");
    // A partial request at the half-close is not answered.
    let mut conn = self::conn();
    conn.stream_mut().push_input(&HELLO[..20]);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    conn.stream_mut().close_input();
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert!(conn.stream_mut().written.is_empty());
    // Half-closed while the answer is still in the backlog: kept until it is out.
    let mut conn = self::conn();
    conn.stream_mut().allow_writes(Some(10));
    conn.stream_mut().push_input(HELLO);
    conn.stream_mut().close_input();
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.phase(), Phase::Writing);
    conn.stream_mut().allow_writes(None);
    // Once the answer is out, the end of input is read, and the connection dropped.
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Drop);
    assert_eq!(
        responses(&conn.stream_mut().written),
        vec![ok(b"Hello, World!")]
    );
}

/// Requests and the half-close behind them in one readiness event (epoll reports it
/// read-closed): the pass reads on past the short read of the requests to the end of
/// input, so the connection is answered and closed at once, where it used to wait for an
/// event that never comes, until the idle timeout.
#[test]
fn requests_and_the_half_close_in_one_event_are_answered_and_closed_in_one_pass() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    conn.stream_mut().push_input(&HELLO.repeat(2));
    conn.stream_mut().close_input();
    conn.note_read_closed(true);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert_eq!(
        responses(&conn.stream_mut().written),
        vec![ok(b"Hello, World!"); 2]
    );
    // The requests, then the end of input: no read spent beyond it.
    assert_eq!(conn.stream_mut().reads, 2);
    assert!(!conn.stream_mut().write_closed, "closed, not shut down");
    // A partial request before the end: not answered, and closed all the same.
    let mut conn = self::conn();
    conn.stream_mut().push_input(&HELLO[..20]);
    conn.stream_mut().close_input();
    conn.note_read_closed(true);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert!(conn.stream_mut().written.is_empty());
    // A pass stopped at its cap reads on to the end when served again.
    let mut conn = self::conn();
    let first = PASS_REQUESTS as usize + 1;
    conn.stream_mut().push_input(&HELLO.repeat(first));
    conn.stream_mut().push_input(&HELLO.repeat(3));
    conn.stream_mut().close_input();
    conn.note_read_closed(true);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert!(conn.wants_another_pass());
    assert_eq!(conn.serve_again(&mut ctx), Verdict::Drop);
    assert_eq!(responses(&conn.stream_mut().written).len(), first + 3);
    // Without the read-closed flag the short read still ends the pass (a later event
    // brings the rest): no read is spent on what would be `WouldBlock`.
    let mut conn = self::conn();
    conn.stream_mut().push_input(HELLO);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().reads, 1);
}

#[test]
fn connection_close_shuts_our_side_and_discards_input_until_the_peer_closes() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    let mut input = b"GET /plaintext HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n".to_vec();
    input.extend_from_slice(HELLO);
    conn.stream_mut().push_input(&input);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert!(conn.stream_mut().write_closed);
    assert_eq!(conn.phase(), Phase::Lingering);
    // The request behind the closing one is never answered; more input is discarded.
    conn.stream_mut().push_input(HELLO);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().unread(), 0);
    conn.stream_mut().close_input();
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert_eq!(
        responses(&conn.stream_mut().written),
        vec![ok(b"Hello, World!")]
    );
}

/// Answers taken from the context's mailbox, as the event loop takes them.
fn answers(ctx: &Ctx) -> Vec<Completion> {
    let mut taken = Vec::new();
    ctx.later.as_ref().unwrap().mailboxes()[0].take(&mut taken);
    taken
}

thread_local! {
    static REPLIES: std::cell::RefCell<Vec<Reply>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// An app whose `/later` defers and leaves its reply in `REPLIES`, whose `/drop` defers
/// and drops it, and whose `/count` counts its calls.
fn deferring_app(calls: Arc<AtomicUsize>, abandoned: Arc<AtomicBool>) -> App {
    let mut app = hello_app();
    app.get("/later", move |r: &Request| {
        let a = abandoned.clone();
        let reply = r.defer_with_abandon(move || a.store(true, Ordering::SeqCst));
        REPLIES.with(|q| {
            q.borrow_mut()
                .push(reply.expect("this connection can wait"))
        });
        "not sent"
    });
    app.get("/drop", |r: &Request| {
        drop(r.defer());
        "not sent"
    });
    app.get("/count", move |_r: &Request| {
        calls.fetch_add(1, Ordering::SeqCst);
        "counted"
    });
    app
}

#[test]
fn a_deferred_answer_holds_back_the_requests_pipelined_behind_it() {
    let calls = Arc::new(AtomicUsize::new(0));
    let abandoned = Arc::new(AtomicBool::new(false));
    let (mut ctx, _poll) = setup(deferring_app(calls.clone(), abandoned.clone()));
    let mut conn = conn();
    let input = [
        HELLO,
        b"GET /later HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /count HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /drop HTTP/1.1\r\nHost: t\r\n\r\n",
        b"GET /count HTTP/1.1\r\nHost: t\r\n\r\n",
    ]
    .concat();
    conn.stream_mut().push_input(&input);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.phase(), Phase::Deferred);
    // The answer before the deferred request is out; the one behind it is not served.
    assert_eq!(
        responses(&conn.stream_mut().take_written()),
        vec![ok(b"Hello, World!")]
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // More input while waiting is left unread (only the peer's close is looked for).
    conn.stream_mut()
        .push_input(b"GET /count HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().reads, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    // The reply, from another thread.
    let reply = REPLIES.with(|q| q.borrow_mut().pop()).unwrap();
    std::thread::spawn(move || reply.send(Response::text("later")))
        .join()
        .unwrap();
    let mut taken = answers(&ctx);
    assert_eq!(taken.len(), 1);
    // Written in order: then the next request runs, and the dropped reply answers 500.
    assert_eq!(conn.complete(taken.remove(0), &mut ctx), Verdict::Keep);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(conn.phase(), Phase::Deferred);
    let taken = answers(&ctx);
    assert_eq!(taken.len(), 1);
    for answer in taken {
        assert_eq!(conn.complete(answer, &mut ctx), Verdict::Keep);
    }
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let got = responses(&conn.stream_mut().take_written());
    assert_eq!(
        got,
        vec![
            ok(b"later"),
            ok(b"counted"),
            (500, br#"{"detail":"Internal Server Error"}"#.to_vec()),
            ok(b"counted"),
            ok(b"counted"),
        ]
    );
    assert_eq!(conn.phase(), Phase::Idle);
    assert!(!abandoned.load(Ordering::SeqCst));
}

#[test]
fn a_client_that_leaves_while_its_answer_is_deferred_abandons_it() {
    let abandoned = Arc::new(AtomicBool::new(false));
    let calls = Arc::new(AtomicUsize::new(0));
    let (mut ctx, _poll) = setup(deferring_app(calls, abandoned.clone()));
    let mut conn = conn();
    conn.stream_mut()
        .push_input(b"GET /later HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.phase(), Phase::Deferred);
    // The peer's half-close: the connection is dropped, and the event loop's close runs
    // the handler's abandon hook.
    conn.stream_mut().close_input();
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert!(!abandoned.load(Ordering::SeqCst));
    conn.abandon();
    assert!(abandoned.load(Ordering::SeqCst));
    REPLIES.with(|q| q.borrow_mut().clear());
}

#[test]
fn a_pass_answers_at_most_pass_requests_then_the_connection_is_served_again() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    let n = PASS_REQUESTS as usize * 2 + 5;
    conn.stream_mut().push_input(&HELLO.repeat(n));
    // Socket input beyond the first read waits too.
    conn.stream_mut().push_input(HELLO);
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    let first = responses(&conn.stream_mut().take_written()).len();
    assert_eq!(first, PASS_REQUESTS as usize);
    assert!(conn.wants_another_pass());
    assert_eq!(conn.stream_mut().unread(), HELLO.len());
    assert_eq!(conn.serve_again(&mut ctx), Verdict::Keep);
    assert_eq!(
        responses(&conn.stream_mut().take_written()).len(),
        PASS_REQUESTS as usize
    );
    assert!(conn.wants_another_pass());
    // The last pass answers what was buffered and reads on.
    assert_eq!(conn.serve_again(&mut ctx), Verdict::Keep);
    assert_eq!(responses(&conn.stream_mut().take_written()).len(), 6);
    assert!(!conn.wants_another_pass());
    assert_eq!(conn.stream_mut().unread(), 0);
    assert_eq!(conn.phase(), Phase::Idle);
}

#[test]
fn a_pass_stops_after_pass_output_bytes_of_answers() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    let size = 100 * 1024;
    let request = format!("GET /big/{size} HTTP/1.1\r\nHost: t\r\n\r\n");
    conn.stream_mut().push_input(request.repeat(5).as_bytes());
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    // Three answers reach PASS_OUTPUT (256 KiB), which ends the pass.
    let per_pass = PASS_OUTPUT.div_ceil(size);
    assert_eq!(responses(&conn.stream_mut().take_written()).len(), per_pass);
    assert!(conn.wants_another_pass());
    assert_eq!(conn.serve_again(&mut ctx), Verdict::Keep);
    assert_eq!(
        responses(&conn.stream_mut().take_written()).len(),
        5 - per_pass
    );
    assert!(!conn.wants_another_pass());
    // The thread's output buffer grew for the pass and is back to its pooled size.
    assert!(ctx.out.buf.capacity() <= 2 * ctx.pool.buf_size());
}

#[test]
fn a_capped_pass_waiting_for_the_client_to_read_is_not_served_again() {
    let (mut ctx, _poll) = setup(hello_app());
    let mut conn = conn();
    conn.stream_mut().allow_writes(Some(0));
    conn.stream_mut()
        .push_input(&HELLO.repeat(PASS_REQUESTS as usize + 1));
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    // Capped, but its answers are in the backlog: it waits for writable readiness.
    assert!(!conn.wants_another_pass());
    assert_eq!(conn.phase(), Phase::Writing);
    conn.stream_mut().allow_writes(None);
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Keep);
    assert_eq!(
        responses(&conn.stream_mut().take_written()).len(),
        PASS_REQUESTS as usize + 1
    );
}

/// A temporary file of `len` patterned bytes, removed when the test process's temp dir
/// is; returns its path and contents.
fn temp_file(name: &str, len: usize) -> (std::path::PathBuf, Vec<u8>) {
    let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
    let path = std::env::temp_dir().join(format!("fasterapi-conn-{name}-{}", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    (path, data)
}

fn file_app(path: std::path::PathBuf) -> App {
    let mut app = hello_app();
    app.get("/file", move |r: &Request| {
        crate::FileResponse::open(&path).unwrap().respond(r)
    });
    app
}

/// A file body meets a full socket, short writes, and the pass cap, and the request
/// pipelined behind it is answered after its last byte.
#[test]
fn a_file_body_goes_out_through_full_sockets_and_pass_caps_before_what_follows() {
    let len = 3 * PASS_FILE_BYTES + 12_345;
    let (path, data) = temp_file("caps", len);
    let (mut ctx, _poll) = setup(file_app(path.clone()));
    let mut conn = conn();
    // The client takes 100 bytes (part of the head), then nothing until writable.
    conn.stream_mut().allow_writes(Some(100));
    conn.stream_mut()
        .push_input(&[&b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n"[..], HELLO].concat());
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    assert_eq!(conn.stream_mut().written.len(), 100);
    assert_eq!(conn.phase(), Phase::Writing);
    assert!(!conn.wants_another_pass(), "waits for writable readiness");
    // Writable, 64 KiB per write: each pass sends at most PASS_FILE_BYTES of the file.
    conn.stream_mut().allow_writes(None);
    conn.stream_mut().cap_writes(64 * 1024);
    let mut before = conn.stream_mut().written.len();
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Keep);
    let mut passes = 1;
    while conn.wants_another_pass() {
        let sent = conn.stream_mut().written.len() - before;
        assert!(sent <= PASS_FILE_BYTES + 200, "{sent} bytes in one pass");
        before = conn.stream_mut().written.len();
        assert_eq!(conn.serve_again(&mut ctx), Verdict::Keep);
        passes += 1;
    }
    assert!(passes >= 4, "{passes} passes");
    let got = responses(&conn.stream_mut().take_written());
    assert_eq!(got.len(), 2);
    assert!(
        got[0].0 == 200 && got[0].1 == data,
        "the file's bytes differ"
    );
    assert_eq!(got[1], ok(b"Hello, World!"));
    assert_eq!(conn.phase(), Phase::Idle);
    std::fs::remove_file(path).unwrap();
}

/// A file that shrank below the length its head promised ends the connection.
#[test]
fn a_file_shorter_than_promised_drops_the_connection() {
    let (path, _) = temp_file("shrink", 10_000);
    let mut app = hello_app();
    let p = path.clone();
    app.get("/file", move |r: &Request| {
        let resp = crate::FileResponse::open(&p).unwrap().respond(r);
        std::fs::write(&p, b"short").unwrap();
        resp
    });
    let (mut ctx, _poll) = setup(app);
    let mut conn = conn();
    conn.stream_mut()
        .push_input(b"GET /file HTTP/1.1\r\nHost: t\r\n\r\n");
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Drop);
    assert!(ctx.out.is_empty());
    std::fs::remove_file(path).unwrap();
}

/// A deferred answer that completes while earlier output still waits in the backlog goes
/// out after it, in request order.
#[test]
fn a_deferred_answer_joins_the_backlog_behind_earlier_output() {
    let calls = Arc::new(AtomicUsize::new(0));
    let abandoned = Arc::new(AtomicBool::new(false));
    let (mut ctx, _poll) = setup(deferring_app(calls, abandoned));
    let mut conn = conn();
    conn.stream_mut().allow_writes(Some(10));
    conn.stream_mut().push_input(
        &[
            &b"GET /big/5000 HTTP/1.1\r\nHost: t\r\n\r\n"[..],
            b"GET /later HTTP/1.1\r\nHost: t\r\n\r\n",
        ]
        .concat(),
    );
    assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
    let reply = REPLIES.with(|q| q.borrow_mut().pop()).unwrap();
    reply.send(Response::text("later"));
    // The socket could take more by now, before its writable event is handled.
    conn.stream_mut().allow_writes(None);
    let mut taken = answers(&ctx);
    assert_eq!(conn.complete(taken.remove(0), &mut ctx), Verdict::Keep);
    assert_eq!(conn.ready(false, true, &mut ctx), Verdict::Keep);
    let got = responses(&conn.stream_mut().take_written());
    assert_eq!(got, vec![ok(&[b'x'; 5000]), ok(b"later")]);
}
