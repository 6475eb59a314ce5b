//! One connection: read buffer -> parse -> dispatch -> output, as a small state machine.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use fasterapi_core::buf::BufPool;
use fasterapi_core::mpmc::Queue;
use mio::net::TcpStream;

use crate::app::form::{is_multipart, FormItems, FormSlot, InPlace, Intake};
use crate::app::later::StreamWake;
use crate::app::later::{Abandon, Later};
use crate::app::later::{Completion, Mailbox};
use crate::app::middleware::run_chain;
use crate::app::request::Request;
use crate::app::router::{Method, Miss, Params};
use crate::app::{App, NoRoute};
use crate::http::response::{detail, FileRegion, Response, StatusCode};
use crate::proto::compress::{compress_response, negotiate};
use crate::proto::h1::encode::{Output, Persistence, StreamFraming, Streaming};
use crate::proto::h1::parse::{self, ChunkedDecoder, Framing, Head, Limits, Meta, Reject};
use crate::server::executor::{self, Job};
use crate::server::transport::Transport;

/// Where a connection is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Reading and answering requests.
    Open,
    /// The last response is queued; half-close once it is written.
    Closing,
    /// Our side is shut down; discard input until the peer closes, so that unread input
    /// does not make the kernel reset the connection before the client read our answer.
    Draining,
    /// Switched to WebSocket after a `101` (see `ws.rs`).
    WebSocket,
}

/// What a connection is waiting for, which decides its timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Between requests (keep-alive).
    Idle,
    /// Part of a request head has arrived.
    Head,
    /// The head is in, part of the body has arrived.
    Body,
    /// A blocking handler is running; no timeout (the queue sheds by age instead).
    Deferred,
    /// The client has not taken all of our output yet.
    Writing,
    /// Half-closed, waiting for the client to close.
    Lingering,
    /// A WebSocket connection (its idle timeout restarts with each event).
    WebSocket,
}

/// What the event loop should do with the connection next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    Drop,
}

/// Timeouts by phase.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) header: Duration,
    pub(crate) body: Duration,
    pub(crate) idle: Duration,
    pub(crate) write: Duration,
}

/// The deadline each phase would get if it started now; computed once per loop turn.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Deadlines {
    now: Instant,
    header: Instant,
    body: Instant,
    idle: Instant,
    write: Instant,
}

impl Deadlines {
    pub(crate) fn from(now: Instant, t: &Timeouts) -> Deadlines {
        use crate::config::bounded;
        Deadlines {
            now,
            header: now + bounded(t.header),
            body: now + bounded(t.body),
            idle: now + bounded(t.idle),
            write: now + bounded(t.write),
        }
    }
}

/// Per-thread context the connections of one event loop share.
pub(crate) struct Ctx {
    pub(crate) app: Arc<App>,
    pub(crate) limits: Limits,
    pub(crate) pool: BufPool,
    /// Responses of the connection being served, written with one syscall at the end of
    /// its readiness pass.
    pub(crate) out: Output,
    /// The decoded body of a chunked request that arrived in one pass (one that spans
    /// passes is decoded into its connection's [`Pending::body`]). Kept for the next one
    /// while it stays within [`RETAINED_CHUNKED_BODY`].
    pub(crate) chunked_body: Vec<u8>,
    /// The read buffer shared by this thread's connections (see `Conn::serve`); empty
    /// with no capacity while a connection holds it.
    pub(crate) rbuf: BytesMut,
    /// The worker queue, when the app has blocking routes.
    pub(crate) queue: Option<Arc<Queue<Job>>>,
    /// This event loop's index, for jobs to find their way back.
    pub(crate) home: usize,
    /// Where a request can be answered later from: replies go to the I/O threads'
    /// mailboxes (`None` where nothing can wait, as in the fuzz harness).
    pub(crate) later: Option<Later>,
    /// The time as of this loop turn.
    pub(crate) now: Instant,
    /// The server is shutting down: every response closes its connection.
    pub(crate) stopping: bool,
}

impl Ctx {
    /// The context of I/O thread `home` serving `app`, with the worker queue and the I/O
    /// threads' mailboxes if there are any.
    pub(crate) fn new(
        app: Arc<App>,
        home: usize,
        queue: Option<Arc<Queue<Job>>>,
        mailboxes: Option<Arc<[Mailbox]>>,
    ) -> Ctx {
        let c = &app.config;
        Ctx {
            limits: Limits::from_config(c),
            pool: BufPool::new(c.buffer_size, c.pooled_buffers),
            out: Output::new(BytesMut::with_capacity(c.buffer_size)),
            chunked_body: Vec::new(),
            rbuf: BytesMut::new(),
            queue,
            home,
            later: mailboxes.map(|m| Later::new(m, home)),
            now: Instant::now(),
            stopping: false,
            app,
        }
    }
}

/// Where the requests of a connection come from: its slot and id in its event loop (for
/// a reply to find it) and the client's address. [`serve_one`] takes it by reference:
/// one pointer per request, whatever it holds.
pub(crate) struct Origin {
    /// The connection's slot in its event loop.
    pub(crate) token: usize,
    /// Unique within the event loop, so stale timers and completions for a reused slot
    /// are recognised.
    pub(crate) id: u64,
    /// The client's address, from `accept`.
    pub(crate) peer: SocketAddr,
}

/// A connection over `S`: a TCP socket when serving, an in-memory transport in tests and
/// [`TestServer`](crate::TestServer).
pub(crate) struct Conn<S = TcpStream> {
    stream: S,
    state: State,
    origin: Origin,
    /// Unparsed input. Held only while a request is partly received; idle connections
    /// give their buffer back to the pool.
    rbuf: Option<BytesMut>,
    /// Output the socket did not take yet, in order. While non-empty, reading pauses.
    backlog: Backlog,
    /// What is known of the request being received.
    pending: Pending,
    /// A request is on the worker pool or waits for a `Reply`: later pipelined requests
    /// wait, so that answers leave in request order.
    deferred: bool,
    /// This readiness pass reached its cap (see [`PASS_REQUESTS`]) with input possibly
    /// left: the event loop serves the connection again after the thread's other ready
    /// connections, since edge-triggered readiness will not say so again.
    more: bool,
    /// The last pass stopped reading a streamed upload until upload memory comes back
    /// (see [`Intake::read_in_place`]): the event loop serves the connection again then.
    waits_for_memory: bool,
    /// A readiness event said the peer half-closed: passes read on to the end of input
    /// rather than stopping at a short read, since no further event would come for it.
    read_closed: bool,
    /// What the handler of a deferred request asked to run if the connection closes first.
    abandon: Option<Abandon>,
    /// The streamed body being sent. `deferred` is set meanwhile: requests pipelined
    /// behind it wait, and the connection has no timeout while the producer has nothing
    /// (the write timeout while the client is behind).
    streaming: Option<Box<Streamer>>,
    /// The phase `deadline` was set for, and when it expires.
    phase: Phase,
    pub(crate) deadline: Option<Instant>,
    /// The deadline of this connection's entry in the timer heap, if it has one.
    pub(crate) armed: Option<Instant>,
    /// The WebSocket side, once switched (see `ws.rs`).
    ws: Option<Box<ws::WsConn>>,
}

/// Output a connection's socket did not take yet, in order: bytes and file regions.
#[derive(Debug, Default)]
pub(crate) struct Backlog(VecDeque<Outgoing>);

impl Backlog {
    /// Queues `bytes`.
    pub(crate) fn push_back(&mut self, bytes: Bytes) {
        self.0.push_back(Outgoing::Bytes(bytes));
    }

    /// Whether nothing waits.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Extend<Bytes> for Backlog {
    fn extend<I: IntoIterator<Item = Bytes>>(&mut self, iter: I) {
        self.0.extend(iter.into_iter().map(Outgoing::Bytes));
    }
}

/// A piece of output waiting in a connection's backlog.
#[derive(Debug)]
enum Outgoing {
    /// Bytes, sent by `writev`.
    Bytes(Bytes),
    /// A file region, sent by `sendfile(2)`.
    File(FileRegion),
}

/// Bytes of a file body one connection sends in one readiness pass: past it, the thread's
/// other connections get their turn first (a client that drains as fast as a loopback
/// socket would otherwise hold the thread for a whole large file).
pub(crate) const PASS_FILE_BYTES: usize = 1024 * 1024;

/// A streamed body being sent, and how its producer wakes the connection.
pub(crate) struct Streamer {
    out: Streaming,
    /// Made from `wake` (or a no-op waker where nothing can wake the thread).
    waker: Waker,
    wake: Option<Arc<StreamWake>>,
}

/// The waker of a body where nothing can wake the thread.
struct NoWake;
impl std::task::Wake for NoWake {
    fn wake(self: Arc<Self>) {}
}

/// Where [`Conn::pump`] stopped.
enum Flow {
    /// The producer has nothing yet, or the client is behind, or the pass's share is sent.
    Wait,
    /// The body's end is written.
    Ended,
    /// The producer failed.
    Failed,
}

/// A chunked body that grew a thread's `ctx.chunked_body` (or a connection's body buffer)
/// beyond this does not keep the allocation for the next request.
pub(crate) const RETAINED_CHUNKED_BODY: usize = 64 * 1024;

/// What a connection keeps between reads of the request it is receiving, so that no byte
/// of it is parsed twice.
///
/// When a head is complete and its body is not (or is chunked), the head's length and the
/// body's framing are kept, and later reads look only at body bytes: the head is parsed
/// again once, when the whole request is in (the parsed head borrows the read buffer, so
/// it cannot be kept). A chunked body's decoder state is kept too, and the raw bytes it
/// consumed are dropped from the read buffer (`Step::Incomplete::keep`), so each read
/// offers the decoder only new bytes. A request that arrives whole records nothing here.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    /// `100 Continue` was sent for this request.
    continue_sent: bool,
    /// The head is complete and the body awaited or chunked: the head's length and the
    /// body's framing.
    head: Option<(usize, Framing)>,
    /// The chunked body's decoding, for a chunked request.
    decoder: ChunkedDecoder,
    /// The chunked body decoded so far, once it spans more than one pass. It starts in the
    /// thread's `ctx.chunked_body`, which moves here (no copy) when the pass ends with
    /// the body incomplete, since the thread serves other connections meanwhile.
    body: Vec<u8>,
    /// `body` holds the body (else `ctx.chunked_body` does).
    owns_body: bool,
    /// The multipart body of a route that streams forms, read into a form as it arrives
    /// (its bytes are not kept in the buffer).
    intake: Option<Box<Intake>>,
}

impl Pending {
    /// Decodes the bytes of the chunked body that arrived since the last call: `raw` is
    /// all that follows the head in the buffer. `Ok(Some(n))` once the body ends after `n`
    /// of them. (Kept out of line: the common request has no chunked body.)
    #[inline(never)]
    fn decode_chunked(&mut self, raw: &[u8], ctx: &mut Ctx) -> Result<Option<usize>, Reject> {
        let limits = ctx.limits.chunked();
        let out = if self.owns_body {
            &mut self.body
        } else {
            if self.decoder.raw() == 0 {
                ctx.chunked_body.clear();
            }
            &mut ctx.chunked_body
        };
        let done = self.decoder.decode(raw, out, &limits)?;
        if done.is_none() && !self.owns_body && self.decoder.raw() > 0 {
            self.body = std::mem::take(&mut ctx.chunked_body);
            self.owns_body = true;
        }
        Ok(done)
    }

    /// The decoded chunked body, once complete.
    fn chunked_body<'a>(&'a self, ctx: &'a Ctx) -> &'a [u8] {
        if self.owns_body {
            &self.body
        } else {
            &ctx.chunked_body
        }
    }

    /// The chunked body as `Bytes` for a worker: moved when this connection holds it, a
    /// copy of the thread's buffer (which stays for the next request) otherwise.
    #[inline(never)]
    fn take_chunked_body(&mut self, ctx: &Ctx) -> Bytes {
        if self.owns_body {
            self.owns_body = false;
            Bytes::from(std::mem::take(&mut self.body))
        } else {
            Bytes::copy_from_slice(&ctx.chunked_body)
        }
    }

    /// Forgets the request, which was answered (or refused), for the next one. A body
    /// buffer goes back to the thread if the thread has none and it is not too large.
    #[inline]
    fn reset(&mut self, ctx: &mut Ctx) {
        // Nothing to forget for a request that came whole: the head is recorded only when
        // a body is awaited or chunked.
        if self.head.is_some() {
            if matches!(self.head, Some((_, Framing::Chunked))) {
                self.reset_chunked(ctx);
            }
            self.head = None;
            self.continue_sent = false;
            self.intake = None;
        }
    }

    #[cold]
    fn reset_chunked(&mut self, ctx: &mut Ctx) {
        if self.owns_body {
            self.owns_body = false;
            let mut body = std::mem::take(&mut self.body);
            if ctx.chunked_body.capacity() == 0 && body.capacity() <= RETAINED_CHUNKED_BODY {
                body.clear();
                ctx.chunked_body = body;
            }
        } else if ctx.chunked_body.capacity() > RETAINED_CHUNKED_BODY {
            ctx.chunked_body = Vec::new();
        }
        self.decoder = ChunkedDecoder::new();
    }
}

pub(crate) enum Step {
    /// The request at the head of the buffer is not complete yet; only its first `keep`
    /// bytes need to stay in the buffer (the rest were consumed: a chunked body's bytes
    /// are decoded as they come).
    Incomplete { keep: usize },
    /// A request of `consumed` bytes was answered.
    Served { consumed: usize, keep_alive: bool },
    /// A request for a blocking route: to be frozen and queued.
    Defer {
        consumed: usize,
        head_len: usize,
        /// The decoded body of a chunked request (empty for a streamed form); otherwise
        /// the body follows the head.
        chunked_body: Option<Bytes>,
        /// The form of a route that streams forms.
        form: Option<Box<Result<FormItems, crate::app::form::FormError>>>,
        head_only: bool,
        persistence: Persistence,
    },
    /// A request of `consumed` bytes whose handler will answer through a `Reply`.
    Later {
        consumed: usize,
        abandon: Option<Abandon>,
    },
    /// The input was refused and answered; the connection closes.
    Rejected,
}

impl<S: Transport> Conn<S> {
    pub(crate) fn new(stream: S, token: usize, id: u64, peer: SocketAddr) -> Conn<S> {
        Conn {
            stream,
            state: State::Open,
            origin: Origin { token, id, peer },
            rbuf: None,
            backlog: Backlog::default(),
            pending: Pending::default(),
            deferred: false,
            more: false,
            waits_for_memory: false,
            read_closed: false,
            abandon: None,
            streaming: None,
            phase: Phase::Idle,
            deadline: None,
            armed: None,
            ws: None,
        }
    }

    /// Unique within the event loop, so stale timers and completions for a reused slot
    /// are recognised.
    pub(crate) fn id(&self) -> u64 {
        self.origin.id
    }

    pub(crate) fn stream_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    /// Returns the connection's buffer to the pool before it is dropped.
    pub(crate) fn recycle(&mut self, pool: &mut BufPool) {
        if let Some(buf) = self.rbuf.take() {
            pool.put(buf);
        }
    }

    /// What the connection waits for now.
    pub(crate) fn phase(&self) -> Phase {
        match self.state {
            State::Draining => Phase::Lingering,
            State::WebSocket => Phase::WebSocket,
            _ if !self.backlog.is_empty() => Phase::Writing,
            State::Closing => Phase::Writing,
            State::Open if self.deferred => Phase::Deferred,
            State::Open => match &self.rbuf {
                Some(b) if !b.is_empty() => {
                    if self.pending.head.is_some() {
                        Phase::Body
                    } else {
                        Phase::Head
                    }
                }
                _ => Phase::Idle,
            },
        }
    }

    /// Whether the last pass stopped at its cap and the connection could read on now
    /// (not waiting for the client to take output, nor for a deferred answer).
    pub(crate) fn wants_another_pass(&self) -> bool {
        self.more
            && self.backlog.is_empty()
            && ((self.state == State::Open && !self.deferred) || self.state == State::WebSocket)
            || self.more && self.sending_file()
    }

    /// Whether the last pass stopped reading an upload until upload memory comes back.
    pub(crate) fn waits_for_memory(&self) -> bool {
        self.waits_for_memory && self.state == State::Open
    }

    /// Serves a connection that waited for upload memory.
    pub(crate) fn serve_waiting(&mut self, ctx: &mut Ctx) -> Verdict {
        self.serve(ctx)
    }

    /// Whether the backlog is a file being sent (the bytes before it are out), which a
    /// pass stopped at [`PASS_FILE_BYTES`].
    fn sending_file(&self) -> bool {
        matches!(self.backlog.0.front(), Some(Outgoing::File(_)))
    }

    /// Serves a connection that [wants another pass](Conn::wants_another_pass): what
    /// `ready(true, false, ctx)` does for it (it is open, with no backlog and no answer
    /// pending), without making the event loop a second caller of `ready`, which would
    /// keep `ready` out of line on the path of every readiness event.
    #[inline(never)]
    pub(crate) fn serve_again(&mut self, ctx: &mut Ctx) -> Verdict {
        debug_assert!(self.wants_another_pass());
        if self.state == State::WebSocket {
            return self.ws_serve(ctx);
        }
        if self.sending_file() {
            return self.write_backlog(ctx);
        }
        self.serve(ctx)
    }

    /// What the readiness event being handled says of the peer's side: closed (mio's
    /// `is_read_closed`, `EPOLLRDHUP`) means the input not read yet ends in an end of
    /// input, which passes must reach, since no later event will say so. (Set as a plain
    /// `|=` of the event's bit: a branch here measured more instructions per request.)
    #[inline]
    pub(crate) fn note_read_closed(&mut self, closed: bool) {
        self.read_closed |= closed;
    }

    /// Whether the connection can be closed at once on shutdown: nothing in flight, or
    /// our side already done.
    pub(crate) fn is_idle(&self) -> bool {
        matches!(self.phase(), Phase::Idle | Phase::Lingering)
    }

    /// Sets the deadline for the current phase. A head or body must arrive whole within
    /// its timeout from the phase's start; idle and write timeouts restart with activity.
    #[inline]
    pub(crate) fn update_deadline(&mut self, d: &Deadlines) {
        let phase = self.phase();
        let restart =
            phase != self.phase || matches!(phase, Phase::Idle | Phase::Writing | Phase::WebSocket);
        self.phase = phase;
        if restart {
            self.deadline = match phase {
                Phase::Idle => Some(d.idle),
                Phase::Head => Some(d.header),
                Phase::Body => Some(d.body),
                Phase::Writing | Phase::Lingering => Some(d.write),
                Phase::Deferred => None,
                Phase::WebSocket => self.ws_deadline(d.now),
            };
        }
    }

    /// The deadline passed: answer 408 to a half-received request, drop anything else.
    pub(crate) fn time_out(&mut self, ctx: &mut Ctx) -> Verdict {
        match self.phase() {
            Phase::Head | Phase::Body => {
                let reject = Reject {
                    status: StatusCode::REQUEST_TIMEOUT,
                    reason: "request not received in time",
                };
                if let Some(m) = &ctx.app.metrics {
                    m.count_timed_out();
                }
                write_reject(reject, &mut ctx.out);
                self.finish(ctx, false)
            }
            Phase::WebSocket => self.ws_time_out(ctx),
            _ => Verdict::Drop,
        }
    }

    /// Handles a readiness event.
    pub(crate) fn ready(&mut self, readable: bool, writable: bool, ctx: &mut Ctx) -> Verdict {
        match self.state {
            State::Draining => return self.drain(),
            State::WebSocket => return self.ws_ready(writable, ctx),
            State::Open | State::Closing => {}
        }
        if writable && !self.backlog.is_empty() {
            return self.write_backlog(ctx);
        }
        if readable && self.backlog.is_empty() && self.state == State::Open {
            if self.deferred {
                return self.check_gone();
            }
            return self.serve(ctx);
        }
        Verdict::Keep
    }

    /// Sends the backlog; once it is out, closes or serves on.
    fn write_backlog(&mut self, ctx: &mut Ctx) -> Verdict {
        match self.flush_backlog() {
            Err(_) => Verdict::Drop,
            Ok(false) => Verdict::Keep,
            // The client took what it was behind on: the streamed body goes on.
            Ok(true) if self.streaming.is_some() => self.pump(ctx),
            Ok(true) if self.state == State::Closing => self.half_close(),
            // Reading paused while the backlog was full: input may be waiting, and with
            // edge-triggered readiness no new event will say so.
            Ok(true) => self.serve(ctx),
        }
    }

    /// While an answer is pending: a client that closed its side has left (as uvicorn
    /// takes it), so the connection is dropped and its abandon hook runs. Input pipelined
    /// behind the pending request stays unread until the answer is out.
    fn check_gone(&mut self) -> Verdict {
        match self.stream.peek_eof() {
            Ok(true) => Verdict::Drop,
            Ok(false) => Verdict::Keep,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Verdict::Keep,
            Err(_) => Verdict::Drop,
        }
    }

    /// The connection is closing with a deferred answer still pending: tell its handler.
    pub(crate) fn abandon(&mut self) {
        if let Some(hook) = self.abandon.take() {
            if std::panic::catch_unwind(std::panic::AssertUnwindSafe(hook)).is_err() {
                diag!(
                    error,
                    "fasterapi: a deferred request's abandon hook panicked"
                );
            }
        }
    }

    /// Writes a blocking handler's answer, then serves what was pipelined behind it.
    pub(crate) fn complete(&mut self, c: Completion, ctx: &mut Ctx) -> Verdict {
        self.deferred = false;
        self.abandon = None;
        if let Some(accepted) = c.upgrade {
            if !ctx.stopping {
                return self.switch_to_websocket(*accepted, ctx);
            }
        }
        let persistence = if ctx.stopping {
            Persistence::Close
        } else {
            c.persistence
        };
        c.response.write_to(&mut ctx.out, c.head_only, persistence);
        if ctx.out.stream.is_some() {
            self.begin_stream(ctx);
        }
        if persistence.closes() {
            return self.finish(ctx, false);
        }
        self.serve(ctx)
    }

    /// Reads what the socket has, answers every complete request, writes the answers.
    fn serve(&mut self, ctx: &mut Ctx) -> Verdict {
        // Read into the connection's own buffer when it holds a partial request, else into
        // the thread's shared one: a request that arrives whole is parsed where it was read
        // and no buffer changes hands, and idle connections own no buffer.
        let mut buf = match self.rbuf.take() {
            Some(own) => own,
            None => std::mem::take(&mut ctx.rbuf),
        };
        let mut eof = false;
        let mut close = false;
        self.more = false;
        self.waits_for_memory = false;
        // Requests answered in this pass, against the cap.
        let mut answered = 0;
        // Requests left behind a deferred one (or a pass's cap) are still buffered.
        if !buf.is_empty() && !self.serve_buffered(&mut buf, ctx, &mut answered) {
            self.stash(buf, ctx);
            return self.finish(ctx, false);
        }
        while !self.deferred && !self.more {
            let read = match self.read_upload_in_place() {
                Some(Ok(InPlace::WaitForMemory)) => {
                    // The event loop serves the connection again when memory comes
                    // back (or after a while); the client's bytes wait in the socket.
                    self.waits_for_memory = true;
                    break;
                }
                // The body's bytes went to the upload; the buffer holds the head, which
                // is served once the body is complete.
                Some(Ok(InPlace::Read { read, asked })) => Ok((read, asked)),
                Some(Err(e)) => Err(e),
                None => {
                    if buf.capacity() - buf.len() < 1024 {
                        buf.reserve(ctx.pool.buf_size());
                    }
                    let spare = buf.capacity() - buf.len();
                    self.stream.read_into(&mut buf).map(|n| (n, spare))
                }
            };
            match read {
                Ok((0, _)) => {
                    eof = true;
                    break;
                }
                Ok((n, asked)) => {
                    if !self.serve_buffered(&mut buf, ctx, &mut answered) {
                        close = true;
                        break;
                    }
                    // A short read means the socket is drained: with edge-triggered epoll,
                    // new data brings a new event, so no read is spent on EAGAIN. Not so
                    // the end of input that came with the data: nothing more will say so.
                    if n < asked && !self.read_closed {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    self.stash(buf, ctx);
                    self.clear_output(ctx);
                    return Verdict::Drop;
                }
            }
        }
        self.stash(buf, ctx);
        if eof || close {
            return self.finish(ctx, eof);
        }
        if !ctx.out.is_empty() && self.write_output(ctx).is_err() {
            return Verdict::Drop;
        }
        Verdict::Keep
    }

    /// While a streamed form's file is read into the upload memory, reads the socket
    /// straight into that memory (no copy out of a read buffer): `None` otherwise.
    /// As [`Intake::read_in_place`].
    #[inline]
    fn read_upload_in_place(&mut self) -> Option<io::Result<InPlace>> {
        let intake = self.pending.intake.as_mut()?;
        read_in_place(intake, &mut self.stream)
    }

    /// Puts a read buffer away after a pass: a partial request stays with the connection
    /// (and the thread gets a fresh shared buffer if this was it); an empty buffer goes
    /// back to the thread or the pool.
    fn stash(&mut self, buf: BytesMut, ctx: &mut Ctx) {
        let thread_lacks_buffer = ctx.rbuf.capacity() == 0;
        if !buf.is_empty() {
            self.rbuf = Some(buf);
            if thread_lacks_buffer {
                ctx.rbuf = ctx.pool.get();
            }
        } else if thread_lacks_buffer
            // buf_size <= capacity <= 2 * buf_size, in one comparison
            && buf.capacity().wrapping_sub(ctx.pool.buf_size()) <= ctx.pool.buf_size()
        {
            // Not one that grew for a large request: the pool drops those, so buffers
            // return to their pooled size.
            ctx.rbuf = buf;
        } else {
            ctx.pool.put(buf);
            if thread_lacks_buffer {
                ctx.rbuf = ctx.pool.get();
            }
        }
    }

    /// Writes what is pending and closes: at once when the peer is gone (`eof`) and
    /// nothing is left to send, else after the output drains.
    fn finish(&mut self, ctx: &mut Ctx, eof: bool) -> Verdict {
        self.state = State::Closing;
        self.recycle(&mut ctx.pool);
        if !ctx.out.is_empty() && self.write_output(ctx).is_err() {
            return Verdict::Drop;
        }
        if self.streaming.is_some() {
            // The streamed body goes on; the connection closes after it (a client that
            // half-closed after its request still reads the answer).
            return self.pump(ctx);
        }
        if !self.backlog.is_empty() {
            return Verdict::Keep;
        }
        if eof {
            Verdict::Drop
        } else {
            self.half_close()
        }
    }

    /// Answers the complete requests in `buf`, up to a deferred one or the pass's cap
    /// (`answered` counts this pass's answers), and removes them from it. Returns false
    /// when the connection must close after the answers are written.
    fn serve_buffered(&mut self, buf: &mut BytesMut, ctx: &mut Ctx, answered: &mut u32) -> bool {
        // Consumed requests are skipped with an offset and the buffer cleared at the end:
        // a fully consumed buffer keeps its whole capacity, with no compaction.
        let mut pos = 0;
        let mut keep = true;
        if ctx.out.file.is_some() {
            // A file answer (a deferred one, just completed) ends the pass: what follows it
            // is answered once it is sent.
            self.more = true;
        }
        while pos < buf.len() && !self.deferred && !self.more {
            match serve_one(&buf[pos..], ctx, &mut self.pending, &self.origin) {
                Step::Incomplete { keep } => {
                    // What was consumed of a partial request goes: the next read appends
                    // right after what is kept.
                    buf.truncate(pos + keep);
                    if self.pending.intake.is_some() {
                        stream_reads(buf);
                    }
                    break;
                }
                Step::Served {
                    consumed,
                    keep_alive,
                } => {
                    pos += consumed;
                    if ctx.out.stream.is_some() {
                        self.begin_stream(ctx);
                    }
                    if !keep_alive {
                        keep = false;
                        break;
                    }
                    *answered += 1;
                    if *answered >= PASS_REQUESTS
                        || ctx.out.len() >= PASS_OUTPUT
                        || ctx.out.file.is_some()
                    {
                        self.more = true;
                    }
                }
                Step::Defer {
                    consumed,
                    head_len,
                    chunked_body,
                    form,
                    head_only,
                    persistence,
                } => {
                    buf.advance(pos);
                    pos = 0;
                    // The request leaves the buffer as refcounted bytes: no copy.
                    let request = buf.split_to(consumed).freeze();
                    let body = chunked_body.unwrap_or_else(|| request.slice(head_len..));
                    let job = Job {
                        home: ctx.home,
                        token: self.origin.token,
                        conn_id: self.origin.id,
                        peer: self.origin.peer,
                        head: request.slice(..head_len),
                        body,
                        form,
                        head_only,
                        persistence,
                        enqueued: ctx.now,
                    };
                    match ctx.queue.as_ref().map(|q| q.try_push(job).is_ok()) {
                        Some(true) => self.deferred = true,
                        // Full: shed at once rather than queue without bound.
                        _ => executor::overloaded(&ctx.app).write_to(
                            &mut ctx.out,
                            head_only,
                            persistence,
                        ),
                    }
                    if persistence.closes() && !self.deferred {
                        keep = false;
                        break;
                    }
                }
                Step::Later { consumed, abandon } => {
                    pos += consumed;
                    self.deferred = true;
                    self.abandon = abandon;
                }
                Step::Rejected => {
                    if ctx.out.stream.is_some() {
                        self.begin_stream(ctx);
                    }
                    keep = false;
                    break;
                }
            }
        }
        if pos == buf.len() {
            buf.clear();
        } else {
            buf.advance(pos);
        }
        keep
    }

    /// Writes `ctx.out` with one `write`/`writev` (then its file region, if any, with
    /// `sendfile`); what the socket does not take goes to the backlog, to be sent on
    /// writable readiness. Behind a backlog, the output joins it, in order.
    fn write_output(&mut self, ctx: &mut Ctx) -> io::Result<()> {
        if !self.backlog.is_empty() {
            self.queue_output(ctx, 0);
            return self.flush_backlog().map(|_| ());
        }
        let out = &mut ctx.out;
        let result = if out.chunks.is_empty() && out.file.is_none() {
            loop {
                match self.stream.send(&out.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            }
        } else {
            let mut slices = [IoSlice::new(&[]); 64];
            let mut n = 0;
            for c in out
                .chunks
                .iter()
                .map(|c| &c[..])
                .chain([&out.buf[..]])
                .take(slices.len())
            {
                slices[n] = IoSlice::new(c);
                n += 1;
            }
            if out.file.is_some() {
                self.stream.send_vectored_more(&slices[..n])
            } else {
                self.stream.send_vectored(&slices[..n])
            }
        };
        let written = match result {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => {
                self.clear_output(ctx);
                return Err(e);
            }
        };
        if written < ctx.out.len() || ctx.out.file.is_some() {
            self.queue_output(ctx, written);
            if !self.sending_file() {
                // The socket took less than offered: it is full.
                return Ok(());
            }
            return self.flush_backlog().map(|_| ());
        }
        self.clear_output(ctx);
        Ok(())
    }

    /// Moves what of `ctx.out` is left after its first `written` bytes to the backlog.
    #[cold]
    #[inline(never)]
    fn queue_output(&mut self, ctx: &mut Ctx, written: usize) {
        let mut skip = written;
        for mut c in ctx.out.chunks.drain(..) {
            if skip >= c.len() {
                skip -= c.len();
                continue;
            }
            c.advance(skip);
            skip = 0;
            self.backlog.push_back(c);
        }
        if skip < ctx.out.buf.len() {
            self.backlog
                .push_back(Bytes::copy_from_slice(&ctx.out.buf[skip..]));
        }
        if let Some(region) = ctx.out.file.take() {
            self.backlog.0.push_back(Outgoing::File(region));
        }
        self.clear_output(ctx);
    }

    #[inline]
    fn clear_output(&mut self, ctx: &mut Ctx) {
        ctx.out.chunks.clear();
        ctx.out.buf.clear();
        ctx.out.file = None;
        let want = ctx.pool.buf_size();
        let capacity = ctx.out.buf.capacity();
        if capacity > 2 * want || capacity < want {
            resize_output(ctx, want);
        }
    }

    /// Sends the backlog; `Ok(true)` once it is all out. A file region in it is sent with
    /// `sendfile`, at most [`PASS_FILE_BYTES`] per call: past that the pass stops with
    /// `more` set, for the event loop to come back.
    fn flush_backlog(&mut self) -> io::Result<bool> {
        let mut file_budget = PASS_FILE_BYTES;
        while let Some(front) = self.backlog.0.front_mut() {
            if let Outgoing::File(region) = front {
                if region.len == 0 {
                    self.backlog.0.pop_front();
                    continue;
                }
                if file_budget == 0 {
                    self.more = true;
                    return Ok(false);
                }
                let want = region.len.min(file_budget as u64) as usize;
                match self.stream.send_file(&region.file, region.offset, want) {
                    // The file ended before the length its head promised: the response
                    // cannot be completed.
                    Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
                    Ok(n) => {
                        region.offset += n as u64;
                        region.len -= n as u64;
                        file_budget -= n;
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                        self.more = false;
                        return Ok(false);
                    }
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
                continue;
            }
            let mut slices = [IoSlice::new(&[]); 64];
            let mut n = 0;
            let mut file_follows = false;
            for c in self.backlog.0.iter().take(slices.len()) {
                match c {
                    Outgoing::Bytes(b) => slices[n] = IoSlice::new(b),
                    Outgoing::File(_) => {
                        file_follows = true;
                        break;
                    }
                }
                n += 1;
            }
            let sent = if file_follows {
                self.stream.send_vectored_more(&slices[..n])
            } else if n == 1 {
                // One buffer (a WebSocket frame, most often): `send` spares the kernel
                // the message header and the iovec array `sendmsg` copies in.
                self.stream.send(&slices[0])
            } else {
                self.stream.send_vectored(&slices[..n])
            };
            let mut written = match sent {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            while written > 0 {
                // The kernel never reports more than it was given, so the front exists
                // and is bytes.
                let Some(Outgoing::Bytes(front)) = self.backlog.0.front_mut() else {
                    unreachable!("written bytes come from the backlog's bytes");
                };
                if written >= front.len() {
                    written -= front.len();
                    self.backlog.0.pop_front();
                } else {
                    front.advance(written);
                    written = 0;
                }
            }
        }
        Ok(true)
    }

    /// Takes the streamed body of the response just written (`ctx.out.stream`): the
    /// connection sends it before anything else, and holds later requests back meanwhile.
    #[cold]
    #[inline(never)]
    fn begin_stream(&mut self, ctx: &mut Ctx) {
        let Some(out) = ctx.out.stream.take() else {
            return;
        };
        let wake = ctx.later.as_ref().map(|l| {
            Arc::new(StreamWake::new(
                l.mailboxes().clone(),
                l.home(),
                self.origin.token,
                self.origin.id,
            ))
        });
        let waker = match &wake {
            Some(w) => Waker::from(w.clone()),
            // Nothing can wake this thread (the fuzz harness): a producer that is not
            // ready is not polled again.
            None => Waker::from(Arc::new(NoWake)),
        };
        // The body's first pieces are sent once this pass has written the head: the wake
        // brings the connection back at the end of the loop's turn (so the pass itself
        // costs requests that stream nothing no check).
        if let Some(wake) = &wake {
            wake.deliver(true);
        }
        self.streaming = Some(Box::new(Streamer { out, waker, wake }));
        self.deferred = true;
    }

    /// Whether a streamed body is being sent.
    pub(crate) fn is_streaming(&self) -> bool {
        self.streaming.is_some()
    }

    /// Sends what the streamed body has ready, while the client keeps up: the producer is
    /// asked for the next piece only while the socket has taken everything (no backlog);
    /// pieces are gathered into writes of up to a buffer's size. Stops when the producer
    /// has nothing yet (its waker brings the connection back here through the mailbox),
    /// when the client is behind (writable readiness brings it back), or after
    /// [`PASS_OUTPUT`] bytes (the connection wakes itself, so the thread's other
    /// connections get their turn). At the body's end, the requests pipelined behind it
    /// are served.
    #[inline(never)]
    pub(crate) fn pump(&mut self, ctx: &mut Ctx) -> Verdict {
        let Some(mut streamer) = self.streaming.take() else {
            return Verdict::Keep;
        };
        if let Some(wake) = &streamer.wake {
            wake.rearm();
        }
        let batch = ctx.pool.buf_size();
        let mut sent = 0;
        let flow = loop {
            if !self.backlog.is_empty() {
                break Flow::Wait;
            }
            if ctx.out.len() >= batch {
                if self.write_output(ctx).is_err() {
                    // The client is gone: dropping the body stops its producer.
                    return Verdict::Drop;
                }
                continue;
            }
            if sent >= PASS_OUTPUT {
                if let Some(wake) = &streamer.wake {
                    wake.deliver(true);
                }
                break Flow::Wait;
            }
            let mut cx = Context::from_waker(&streamer.waker);
            match streamer.out.body.poll_next(&mut cx) {
                Poll::Ready(Some(Ok(piece))) => {
                    if !piece.is_empty() {
                        sent += piece.len();
                        streamer.out.put_piece(&mut ctx.out, piece);
                    }
                }
                Poll::Ready(None) => {
                    streamer.out.put_end(&mut ctx.out);
                    break Flow::Ended;
                }
                Poll::Ready(Some(Err(e))) => {
                    diag!(warn, "fasterapi: a streamed response body failed: {e}");
                    break Flow::Failed;
                }
                Poll::Pending => break Flow::Wait,
            }
        };
        match flow {
            Flow::Wait => {
                self.streaming = Some(streamer);
                if !ctx.out.is_empty() && self.write_output(ctx).is_err() {
                    return Verdict::Drop;
                }
                Verdict::Keep
            }
            Flow::Ended => {
                let close_delimited = streamer.out.framing == StreamFraming::CloseDelimited;
                drop(streamer);
                self.deferred = false;
                if close_delimited || self.state == State::Closing {
                    return self.finish(ctx, false);
                }
                // On to the requests pipelined behind the stream.
                self.serve(ctx)
            }
            Flow::Failed => {
                // What was produced goes out, then the connection closes without the
                // body's end: the client sees the body incomplete.
                drop(streamer);
                self.deferred = false;
                self.finish(ctx, false)
            }
        }
    }

    fn half_close(&mut self) -> Verdict {
        if self.stream.shutdown_write().is_err() {
            return Verdict::Drop;
        }
        self.state = State::Draining;
        self.drain()
    }

    fn drain(&mut self) -> Verdict {
        let mut sink = [0u8; 4096];
        loop {
            match self.stream.read(&mut sink) {
                Ok(0) => return Verdict::Drop,
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Verdict::Keep,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return Verdict::Drop,
            }
        }
    }
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Requests one connection gets answered in one readiness pass (actix-web stops at 16
/// pipelined messages); past it, or past [`PASS_OUTPUT`] bytes of answers, the connection
/// waits for the thread's other ready connections, so a client that pipelines without
/// pause cannot hold its I/O thread, and the shared output buffer stays bounded.
pub(crate) const PASS_REQUESTS: u32 = 32;
/// Bytes of answers one connection gets in one readiness pass.
pub(crate) const PASS_OUTPUT: usize = 256 * 1024;

/// Parses the request at the start of `buf` and, if it is complete, answers it into
/// `ctx.out` (or says it is for the worker pool, or that its handler will answer later).
/// `pending` is what earlier passes learnt of this request; it is reset once the request
/// is answered or refused. `conn` is where the request comes from.
#[inline]
pub(crate) fn serve_one(buf: &[u8], ctx: &mut Ctx, pending: &mut Pending, conn: &Origin) -> Step {
    if pending.head.is_some() {
        return serve_resumed(buf, ctx, pending, conn);
    }
    let mut slots = parse::header_slots();
    let head = parse::parse_head(buf, &mut slots, &ctx.limits);
    // Matched by reference: the head stays where parse_head wrote it (moving its `Meta`
    // out measured a dozen instructions of copies per request).
    let (head_len, headers, meta) = match &head {
        Ok(Head::Complete { len, headers, meta }) => (*len, *headers, meta),
        Ok(Head::Partial) => return Step::Incomplete { keep: buf.len() },
        Err(reject) => return refuse(*reject, pending, ctx),
    };
    // Routed as soon as the head is in: a request no route takes is answered now, without
    // waiting for its body or reading it (no `100 Continue` either), and the connection
    // closes, since the unread body would follow on it.
    if meta.framing != Framing::Length(0) {
        let mut probe = Params::new();
        let miss = match ctx.app.router.find(meta.method, meta.path, &mut probe) {
            Err(miss) => {
                let no_params = Params::new();
                let req = Request::from_parts(
                    meta,
                    headers,
                    &no_params,
                    &[],
                    None,
                    &conn.peer,
                    &ctx.app.state,
                );
                Some(answer_miss(&ctx.app, &req, miss))
            }
            Ok(route) => {
                if let Framing::Length(n) = meta.framing {
                    if n > ctx.limits.max_body || route.forms.is_some() {
                        let forms = route.forms;
                        if let Some(step) =
                            admit(forms, n, (head_len, headers, meta), buf, pending, ctx, conn)
                        {
                            return step;
                        }
                    }
                }
                None
            }
        };
        if let Some(answer) = miss {
            pending.reset(ctx);
            let head_only = meta.method == Method::Head;
            let close = Persistence::of(false, meta.minor_version);
            answer.write_to(&mut ctx.out, head_only, close);
            return Step::Rejected;
        }
    }
    let consumed = match meta.framing {
        Framing::Length(n) if buf.len() - head_len >= n => head_len + n,
        _ => match first_body(buf, head_len, meta, pending, ctx) {
            Ok(consumed) => consumed,
            Err(step) => return step,
        },
    };
    serve_complete(
        buf,
        ctx,
        pending,
        conn,
        (head_len, consumed),
        headers,
        meta,
        None,
    )
}

/// A routed request whose `Content-Length` (`n`) is over `max_body`, or whose route
/// streams forms: refused (413), or its multipart body read into a form as it arrives
/// (`Some` step: what that gave so far), or `None`: held whole as usual. Out of line:
/// plain requests never come here.
#[inline(never)]
fn admit(
    forms: Option<crate::app::form::FormLimits>,
    n: usize,
    (head_len, headers, meta): (usize, &[httparse::Header<'_>], &Meta<'_>),
    buf: &[u8],
    pending: &mut Pending,
    ctx: &mut Ctx,
    conn: &Origin,
) -> Option<Step> {
    let content_type = headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
        .map(|h| h.value);
    let limits = forms.filter(|_| content_type.is_some_and(is_multipart));
    // A body read into a form as it arrives has the upload limit; one held whole, the body's.
    let (limit, reason) = match limits {
        Some(_) => (ctx.limits.max_upload, "upload too large"),
        None => (ctx.limits.max_body, "request body too large"),
    };
    if n > limit {
        let status = StatusCode::PAYLOAD_TOO_LARGE;
        return Some(refuse(Reject { status, reason }, pending, ctx));
    }
    let limits = limits?;
    let content_type = content_type.unwrap_or_default();
    let mut intake = Box::new(Intake::new(content_type, limits, n));
    pending.head = Some((head_len, meta.framing));
    let done = intake.take(&buf[head_len..]);
    pending.intake = Some(intake);
    Some(match done {
        Some(k) => serve_form(
            buf,
            ctx,
            pending,
            conn,
            (head_len, head_len + k),
            headers,
            meta,
        ),
        None => {
            body_pending(meta, &mut pending.continue_sent, &mut ctx.out);
            Step::Incomplete { keep: head_len }
        }
    })
}

/// Serves a request whose body was read into a form as it arrived (see [`admit`]): the
/// handler takes the form from the request, whose body is empty.
#[inline(never)]
#[allow(clippy::too_many_arguments)]
fn serve_form(
    buf: &[u8],
    ctx: &mut Ctx,
    pending: &mut Pending,
    conn: &Origin,
    lengths: (usize, usize),
    headers: &[httparse::Header<'_>],
    meta: &Meta<'_>,
) -> Step {
    let form: FormSlot = std::cell::Cell::new(pending.intake.as_mut().map(|i| i.finish()));
    serve_complete(buf, ctx, pending, conn, lengths, headers, meta, Some(&form))
}

/// [`Conn::read_upload_in_place`]'s work, out of line: plain connections never get here.
#[inline(never)]
fn read_in_place(intake: &mut Intake, stream: &mut impl Transport) -> Option<io::Result<InPlace>> {
    intake.read_in_place(&mut |into| stream.read(into))
}

/// A connection streaming a form reads in larger pieces than the pooled buffer's: fewer
/// reads, and fewer writes to its spool files.
#[cold]
fn stream_reads(buf: &mut BytesMut) {
    const STREAM_READ: usize = 256 * 1024;
    if buf.capacity() < STREAM_READ {
        buf.reserve(STREAM_READ - buf.len());
    }
}

/// [`serve_one`] for a request whose head came in an earlier pass: only the body's new
/// bytes are looked at until it is complete, then the head is parsed again (the parsed
/// head borrows the buffer, so it is not kept) and the request served.
#[inline(never)]
fn serve_resumed(buf: &[u8], ctx: &mut Ctx, pending: &mut Pending, conn: &Origin) -> Step {
    let consumed = match resume(buf, pending, ctx) {
        Ok(consumed) => consumed,
        Err(step) => return step,
    };
    let mut slots = parse::header_slots();
    match parse::parse_head(buf, &mut slots, &ctx.limits) {
        Ok(Head::Complete { len, headers, meta }) if pending.intake.is_some() => {
            serve_form(buf, ctx, pending, conn, (len, consumed), headers, &meta)
        }
        Ok(Head::Complete { len, headers, meta }) => serve_complete(
            buf,
            ctx,
            pending,
            conn,
            (len, consumed),
            headers,
            &meta,
            None,
        ),
        // It parsed complete before, from the same bytes: this cannot be.
        Ok(Head::Partial) => refuse(parse::MALFORMED, pending, ctx),
        Err(reject) => refuse(reject, pending, ctx),
    }
}

/// Answers the complete request of `consumed` bytes at the start of `buf` whose head is
/// `head_len` bytes (see [`serve_one`]); `form` is the form its body was read into, for a
/// route that streams forms.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn serve_complete(
    buf: &[u8],
    ctx: &mut Ctx,
    pending: &mut Pending,
    conn: &Origin,
    (head_len, consumed): (usize, usize),
    headers: &[httparse::Header<'_>],
    meta: &Meta<'_>,
    form: Option<&FormSlot>,
) -> Step {
    let chunked = meta.framing == Framing::Chunked;
    let keep_alive = meta.keep_alive && !ctx.stopping;
    let persistence = Persistence::of(keep_alive, meta.minor_version);
    let head_only = meta.method == Method::Head;
    // Where an inline handler could answer later from. Whether it deferred is asked after
    // the match, so that the responses of its arms land in one place, with no copy.
    if let Some(later) = &ctx.later {
        later.aim((conn.token, conn.id), head_only, persistence);
    }
    let mut params = Params::new();
    let response = match ctx.app.router.find(meta.method, meta.path, &mut params) {
        Ok(route) if route.on_pool() => {
            let (chunked_body, form) = match form {
                None => (chunked.then(|| pending.take_chunked_body(ctx)), None),
                Some(form) => (Some(Bytes::new()), form.take().map(Box::new)),
            };
            pending.reset(ctx);
            return Step::Defer {
                consumed,
                head_len,
                chunked_body,
                form,
                head_only,
                persistence,
            };
        }
        Ok(route) => {
            let body = if form.is_some() {
                &[]
            } else if chunked {
                pending.chunked_body(ctx)
            } else {
                &buf[head_len..consumed]
            };
            route.call(
                &Request::from_parts(
                    meta,
                    headers,
                    &params,
                    body,
                    ctx.later.as_ref(),
                    &conn.peer,
                    &ctx.app.state,
                )
                .with_form(form),
            )
        }
        Err(miss) => {
            let no_params = Params::new();
            let body = &buf[head_len..consumed];
            let req = Request::from_parts(
                meta,
                headers,
                &no_params,
                body,
                ctx.later.as_ref(),
                &conn.peer,
                &ctx.app.state,
            );
            answer_miss(&ctx.app, &req, miss)
        }
    };
    if let Some(abandon) = ctx.later.as_ref().and_then(Later::take_deferral) {
        // Deferred: the reply is the answer, not the response returned.
        drop(response);
        pending.reset(ctx);
        return Step::Later { consumed, abandon };
    }
    pending.reset(ctx);
    response.write_to(&mut ctx.out, head_only, persistence);
    Step::Served {
        consumed,
        keep_alive,
    }
}

/// The body of a request whose head just completed, when it is not all in the buffer or
/// is chunked: `Ok(consumed)` with the whole request's length once it is complete, else
/// the step to return (incomplete, with `100 Continue` sent if asked for, or refused).
/// From here on `pending` knows the head. Out of line, as the other cases of the body
/// after a head: the common request has its body with its head.
#[inline(never)]
fn first_body(
    buf: &[u8],
    head_len: usize,
    meta: &Meta<'_>,
    pending: &mut Pending,
    ctx: &mut Ctx,
) -> Result<usize, Step> {
    pending.head = Some((head_len, meta.framing));
    match body_end(buf, head_len, meta.framing, pending, ctx) {
        Ok(Some(consumed)) => Ok(consumed),
        Ok(None) => {
            body_pending(meta, &mut pending.continue_sent, &mut ctx.out);
            Err(Step::Incomplete {
                keep: kept(buf, head_len, meta.framing),
            })
        }
        Err(reject) => Err(refuse(reject, pending, ctx)),
    }
}

/// The body of a request whose head came in an earlier pass, as [`first_body`].
#[inline(never)]
fn resume(buf: &[u8], pending: &mut Pending, ctx: &mut Ctx) -> Result<usize, Step> {
    let Some((head_len, framing)) = pending.head else {
        unreachable!("resumed without a head");
    };
    match body_end(buf, head_len, framing, pending, ctx) {
        Ok(Some(consumed)) => Ok(consumed),
        Ok(None) if pending.intake.is_some() => Err(Step::Incomplete { keep: head_len }),
        Ok(None) => Err(Step::Incomplete {
            keep: kept(buf, head_len, framing),
        }),
        Err(reject) => Err(refuse(reject, pending, ctx)),
    }
}

/// Where the body of the request whose head is `head_len` bytes of `buf` ends: `Ok(None)`
/// while it is incomplete. A chunked body's new bytes go through the decoder.
fn body_end(
    buf: &[u8],
    head_len: usize,
    framing: Framing,
    pending: &mut Pending,
    ctx: &mut Ctx,
) -> Result<Option<usize>, Reject> {
    match framing {
        Framing::Length(_) if pending.intake.is_some() => Ok(pending
            .intake
            .as_mut()
            .and_then(|i| i.take(&buf[head_len..]))
            .map(|k| head_len + k)),
        Framing::Length(n) => Ok((buf.len() - head_len >= n).then_some(head_len + n)),
        Framing::Chunked => Ok(pending
            .decode_chunked(&buf[head_len..], ctx)?
            .map(|n| head_len + n)),
    }
}

/// The bytes of an incomplete request that must stay in the buffer: all of it, but for a
/// chunked body, whose bytes the decoder consumed.
fn kept(buf: &[u8], head_len: usize, framing: Framing) -> usize {
    match framing {
        Framing::Length(_) => buf.len(),
        Framing::Chunked => head_len,
    }
}

/// The answer to a request no route takes: a redirect to the other form of its path
/// when the app redirects slashes and that form is routed, else the answer of the app's
/// `no_route` handler, else [`miss_response`]. Out of line: routed requests never come
/// here.
#[cold]
#[inline(never)]
fn answer_miss(app: &App, req: &Request<'_>, miss: Miss<'_>) -> Response {
    let answer = layered_miss(app, req, miss);
    if let Some(m) = &app.metrics {
        m.count_miss(req.method(), answer.status());
    }
    match &app.miss_compression {
        // (An answer deferred through a `Reply` goes uncompressed.)
        Some(c) => compress_response(answer, c, negotiate(req.header_bytes("accept-encoding"), c)),
        None => answer,
    }
}

/// [`answer_miss`] before compression: inside the app's middleware, if any.
fn layered_miss(app: &App, req: &Request<'_>, miss: Miss<'_>) -> Response {
    if app.layers.is_empty() {
        return miss_answer(app, req, miss);
    }
    // The app's middleware wrap these answers too (a CORS preflight is a 405 here).
    let inner = |req: &Request<'_>| miss_answer(app, req, miss);
    // A panic in a middleware answers 500 for this request only, as in a route's.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run_chain(&app.layers, &inner, req)
    }))
    .unwrap_or_else(|_| detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// The answer itself, before the app's middleware and compression.
fn miss_answer(app: &App, req: &Request<'_>, miss: Miss<'_>) -> Response {
    if app.redirect_slashes && matches!(miss, Miss::NotFound) {
        if let Some(redirect) = slash_redirect(app, req) {
            return redirect;
        }
    }
    let Some(handler) = &app.no_route else {
        return miss_response(miss);
    };
    let why = match miss {
        Miss::NotFound => NoRoute::NotFound,
        Miss::MethodNotAllowed(allow) => NoRoute::MethodNotAllowed(allow),
    };
    // A panic answers 500 for this request only, as in a route's handler.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handler(req, why)))
        .unwrap_or_else(|_| detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"))
}

/// `307` to the request's path with its trailing slashes removed, or one added, if that
/// path is routed under any method (Starlette's `redirect_slashes`), its query kept.
fn slash_redirect(app: &App, req: &Request<'_>) -> Option<Response> {
    let path = req.path();
    if path == "/" {
        return None;
    }
    let other = match path.strip_suffix('/') {
        Some(_) => Cow::Borrowed(path.trim_end_matches('/')),
        None => Cow::Owned(format!("{path}/")),
    };
    let mut params = Params::new();
    if other.is_empty()
        || matches!(
            app.router.find(req.method(), &other, &mut params),
            Err(Miss::NotFound)
        )
    {
        return None;
    }
    let mut location = String::with_capacity(other.len() + 64);
    let host = req
        .header_bytes("host")
        .filter(|h| !h.is_empty() && h.iter().all(u8::is_ascii_graphic))
        .and_then(|h| std::str::from_utf8(h).ok());
    if let Some(host) = host {
        location.push_str(if forwarded_https(req) {
            "https://"
        } else {
            "http://"
        });
        location.push_str(host);
    }
    location.push_str(&other);
    if let Some(query) = req.query_string().filter(|q| !q.is_empty()) {
        location.push('?');
        location.push_str(query);
    }
    Some(Response::new(StatusCode::TEMPORARY_REDIRECT).with_header("Location", location))
}

/// Whether a proxy on this machine says the request came over HTTPS: `X-Forwarded-Proto`
/// (its last value) from a loopback peer, uvicorn's default trust (`forwarded_allow_ips`
/// 127.0.0.1); the in-process test server's peer, unspecified, is trusted too.
fn forwarded_https(req: &Request<'_>) -> bool {
    let peer = req.peer_addr().ip();
    (peer.is_loopback() || peer.is_unspecified())
        && req.header("x-forwarded-proto").is_some_and(|v| {
            let last = v.rsplit(',').next().unwrap_or_default().trim();
            last.eq_ignore_ascii_case("https")
        })
}

/// The default answer to a request no route takes: 404, or 405 with `Allow`.
fn miss_response(miss: Miss<'_>) -> Response {
    match miss {
        Miss::MethodNotAllowed(allow) => {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
                .with_header("Allow", allow.to_owned())
        }
        Miss::NotFound => detail(StatusCode::NOT_FOUND, "Not Found"),
    }
}

/// Answers a refused request; the connection closes after it.
#[cold]
#[inline(never)]
fn refuse(reject: Reject, pending: &mut Pending, ctx: &mut Ctx) -> Step {
    pending.reset(ctx);
    write_reject(reject, &mut ctx.out);
    Step::Rejected
}

/// The output buffer back to the pooled size `want`: it grew for one large answer, or
/// was taken.
#[cold]
#[inline(never)]
fn resize_output(ctx: &mut Ctx, want: usize) {
    if ctx.out.buf.capacity() > 2 * want {
        ctx.out.buf = BytesMut::with_capacity(want);
    } else {
        ctx.out.buf.reserve(want);
    }
}

/// The head is in but the body is not: answers `100 Continue` once if the client asked for
/// it (HTTP/1.1 only).
fn body_pending(meta: &Meta<'_>, continue_sent: &mut bool, out: &mut Output) {
    if meta.expect_continue && meta.minor_version == 1 && !*continue_sent {
        out.buf.put_slice(CONTINUE);
        *continue_sent = true;
    }
}

fn write_reject(reject: Reject, out: &mut Output) {
    detail(reject.status, reject.reason).write_to(out, false, Persistence::Close);
}

#[cfg(test)]
mod transport_tests;
mod ws;

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::bench_support::chunked;
    use crate::proto::h1::parse::{chunked_work, HEAD_PARSES};
    use crate::server::transport::MemoryTransport;
    use crate::TestServer;

    /// The origin of the requests served without a connection.
    const ORIGIN: Origin = Origin {
        token: 0,
        id: 0,
        peer: TestServer::PEER_ADDR,
    };

    /// A thread context as an event loop makes it, with bodies up to `max_body`.
    fn ctx(app: App, max_body: usize, queue: Option<Arc<Queue<Job>>>) -> Ctx {
        let mut limits = Limits::from_config(&app.config);
        limits.max_body = max_body;
        Ctx {
            app: Arc::new(app),
            limits,
            pool: BufPool::new(8 * 1024, 4),
            out: Output::new(BytesMut::new()),
            chunked_body: Vec::new(),
            rbuf: BytesMut::new(),
            queue,
            home: 0,
            later: None,
            now: Instant::now(),
            stopping: false,
        }
    }

    /// A connection over the in-memory transport.
    fn memory_conn() -> Conn<MemoryTransport> {
        Conn::new(MemoryTransport::new(), 0, 0, TestServer::PEER_ADDR)
    }

    fn checksum(body: &[u8]) -> u64 {
        body.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        })
    }

    /// The quadratic case of the old decoder: each read decoded the body from its first
    /// byte again. Now each raw byte is offered to the decoder once, each body byte copied
    /// once, the head parsed twice (when it completes and when the body does), and the
    /// read buffer holds the head and one read, not the body.
    #[test]
    fn an_8_mib_chunked_body_in_1_kib_pieces_is_examined_once() {
        let seen = Arc::new(Mutex::new(None));
        let mut app = App::new();
        let s = seen.clone();
        app.post("/sum", move |r: &Request| {
            *s.lock().unwrap() = Some((r.body().len(), checksum(r.body())));
            "ok"
        });
        let mut ctx = ctx(app, 16 << 20, None);
        let mut conn = memory_conn();
        let body: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
        // 1000-byte chunks, so the 1 KiB pieces cut the framing at every offset.
        let raw = chunked(&body, 1000);
        let head = b"POST /sum HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        let request = [&head[..], &raw].concat();
        chunked_work::take();
        HEAD_PARSES.take();
        let pieces = request.chunks(1024).count();
        for piece in request.chunks(1024) {
            conn.stream_mut().push_input(piece);
            assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
            if let Some(buf) = &conn.rbuf {
                assert!(
                    buf.len() <= head.len() && buf.capacity() <= 64 * 1024,
                    "the read buffer holds {} bytes in {}",
                    buf.len(),
                    buf.capacity()
                );
            }
        }
        assert_eq!(*seen.lock().unwrap(), Some((body.len(), checksum(&body))));
        let (calls, offered, copied) = chunked_work::take();
        assert_eq!(
            offered,
            raw.len() as u64,
            "raw bytes offered to the decoder"
        );
        assert_eq!(copied, body.len() as u64, "body bytes copied");
        // At most one call for each read and one at the start of each readiness pass.
        assert!(calls <= 2 * pieces as u64 + 2, "{calls} decode calls");
        assert_eq!(HEAD_PARSES.take(), 2, "head parses");
        // The body's buffer was not kept: larger than RETAINED_CHUNKED_BODY.
        assert_eq!(ctx.chunked_body.capacity(), 0);
        assert!(conn.pending.body.capacity() == 0 && !conn.pending.owns_body);
    }

    /// A multipart upload to a route that streams forms is not held: the read buffer
    /// keeps the head and at most one read (256 KiB for such a connection) however large
    /// the upload, and the file reaches the handler whole, spooled.
    #[test]
    fn a_streamed_8_mib_upload_is_never_held_in_the_read_buffer() {
        use crate::app::form::{FormLimits, FormValue, Spooled};
        use std::io::Read;
        let _alone = crate::app::form::tests::UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let seen = Arc::new(Mutex::new(None));
        let mut app = App::new();
        let s = seen.clone();
        app.post("/up", move |r: &Request| {
            let mut items = r.take_form().expect("a form").expect("read");
            let (name, FormValue::File(f)) = items.remove(0) else {
                panic!("a file")
            };
            let mut data = Vec::new();
            match f.content {
                Spooled::File(mut file) => drop(file.read_to_end(&mut data).unwrap()),
                Spooled::Pooled(m) => m.slices().for_each(|s| data.extend_from_slice(s)),
                Spooled::Memory(_) => panic!("8 MiB kept in its own buffer"),
            }
            *s.lock().unwrap() = Some((name, r.body().len(), data.len(), checksum(&data)));
            "ok"
        })
        .stream_forms(FormLimits::default());
        // A body limit far below the upload: only the upload limit applies to it.
        let mut ctx = ctx(app, 64 * 1024, None);
        let mut conn = memory_conn();
        let file: Vec<u8> = (0..8u32 << 20).map(|i| (i % 251) as u8).collect();
        let body = [
            &b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"[..],
            &file,
            b"\r\n--b--\r\n",
        ]
        .concat();
        let head = format!(
            "POST /up HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let request = [head.as_bytes(), &body].concat();
        let mut largest = 0;
        for piece in request.chunks(64 * 1024) {
            conn.stream_mut().push_input(piece);
            assert_eq!(conn.ready(true, false, &mut ctx), Verdict::Keep);
            if let Some(buf) = &conn.rbuf {
                assert!(
                    buf.len() <= head.len(),
                    "the read buffer holds {} bytes",
                    buf.len()
                );
                largest = largest.max(buf.capacity());
            }
        }
        assert!(
            largest <= 512 * 1024,
            "the read buffer grew to {largest} bytes"
        );
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen, Some(("f".into(), 0, file.len(), checksum(&file))));
        assert!(conn.pending.intake.is_none());
    }

    /// Two 8 MiB uploads arriving together into 12 MiB of upload memory: the one behind
    /// stops reading (its bytes wait in the socket) while the one ahead needs the memory,
    /// and goes on once the first handler gave its file back; neither file is spilled to
    /// a temporary file, and both arrive whole.
    #[test]
    fn an_upload_behind_another_waits_for_the_memory_rather_than_spilling() {
        use crate::app::form::{FormLimits, FormValue, Spooled};
        let _alone = crate::app::form::tests::UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut app = App::new();
        let s = seen.clone();
        app.post("/up", move |r: &Request| {
            let mut items = r.take_form().expect("a form").expect("read");
            let (_, FormValue::File(f)) = items.remove(0) else {
                panic!("a file")
            };
            let Spooled::Pooled(m) = f.content else {
                panic!("spilled or in its own buffer: {:?}", f.content)
            };
            let data: Vec<u8> = m.slices().flatten().copied().collect();
            s.lock().unwrap().push(checksum(&data));
            // The file (and its memory) goes when the handler returns.
            "ok"
        })
        .stream_forms(FormLimits::default());
        let mut ctx = ctx(app, 64 * 1024, None);
        let upload = |seed: u32| {
            let file: Vec<u8> = (0..8u32 << 20).map(|i| ((i + seed) % 251) as u8).collect();
            let body = [
                &b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x\"\r\n\r\n"[..],
                &file,
                b"\r\n--b--\r\n",
            ]
            .concat();
            let head = format!(
                "POST /up HTTP/1.1\r\nHost: t\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {}\r\n\r\n",
                body.len()
            );
            (checksum(&file), [head.as_bytes(), &body].concat())
        };
        let (sum_a, a) = upload(0);
        let (sum_b, b) = upload(7);
        let (mut conn_a, mut conn_b) = (memory_conn(), memory_conn());
        // `a` is 2 MiB ahead when `b` starts; then both send in turn.
        let piece = 64 * 1024;
        let mut a_pieces = a.chunks(piece);
        for p in a_pieces.by_ref().take(32) {
            conn_a.stream_mut().push_input(p);
            assert_eq!(conn_a.ready(true, false, &mut ctx), Verdict::Keep);
        }
        let mut b_pieces = b.chunks(piece);
        let mut b_waited = 0;
        loop {
            let pa = a_pieces.next();
            if let Some(p) = pa {
                conn_a.stream_mut().push_input(p);
                assert_eq!(conn_a.ready(true, false, &mut ctx), Verdict::Keep);
            }
            let pb = b_pieces.next();
            if let Some(p) = pb {
                conn_b.stream_mut().push_input(p);
            }
            let verdict = if conn_b.waits_for_memory() {
                conn_b.serve_waiting(&mut ctx)
            } else {
                conn_b.ready(true, false, &mut ctx)
            };
            assert_eq!(verdict, Verdict::Keep);
            if conn_b.waits_for_memory() {
                b_waited += 1;
            }
            if pa.is_none() && pb.is_none() && !conn_b.waits_for_memory() {
                break;
            }
        }
        // The memory transport reads its pieces one by one (a short read), where a socket
        // would give all it holds: the rest of what `b` sent while it waited.
        for _ in 0..b.len() / piece {
            if seen.lock().unwrap().len() == 2 {
                break;
            }
            assert_eq!(conn_b.ready(true, false, &mut ctx), Verdict::Keep);
        }
        assert!(b_waited > 0, "the upload behind never waited");
        assert!(!conn_b.waits_for_memory());
        assert_eq!(*seen.lock().unwrap(), [sum_a, sum_b]);
        assert_eq!(crate::app::form::upload_memory().0, 0);
    }

    /// A body that spans passes reaches the worker pool whole, moved rather than copied;
    /// the request pipelined behind it stays buffered until the answer.
    #[test]
    fn a_chunked_body_over_many_reads_reaches_the_worker_pool_whole() {
        let mut app = App::new();
        app.post("/work", |_r: &Request| "unused").blocking();
        let queue = Arc::new(Queue::new(4));
        let mut ctx = ctx(app, 1 << 20, Some(queue.clone()));
        let mut conn = memory_conn();
        let body: Vec<u8> = (0..100_000u32).map(|i| (i % 241) as u8).collect();
        let head = b"POST /work HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        let next = b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n";
        let request = [&head[..], &chunked(&body, 7), next].concat();
        chunked_work::take();
        for piece in request.chunks(4096) {
            conn.stream_mut().push_input(piece);
            conn.ready(true, false, &mut ctx);
        }
        let job = queue.try_pop().expect("the request was queued");
        assert_eq!(&job.head[..], &head[..]);
        assert_eq!(job.body.len(), body.len());
        assert!(job.body == body, "the worker's body differs");
        let (_, _, copied) = chunked_work::take();
        assert_eq!(copied, body.len() as u64);
        assert!(conn.deferred);
        // The pipelined request waits in the buffer, whole.
        assert_eq!(conn.rbuf.as_deref(), Some(&next[..]));
    }

    /// A chunked request and the one behind it in a single read: both answered, the body
    /// decoded straight into the thread's buffer, which stays for the next one.
    #[test]
    fn a_chunked_request_in_one_read_and_its_pipelined_successor() {
        let mut app = App::new();
        app.post("/echo", |r: &Request| {
            Response::bytes(r.body().to_vec(), "application/octet-stream")
        });
        app.get("/after", |_r: &Request| "after");
        let mut ctx = ctx(app, 1 << 20, None);
        let mut pending = Pending::default();
        let request = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
            3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: 1\r\n\r\nGET /after HTTP/1.1\r\nHost: t\r\n\r\n";
        let first = request.len() - 32;
        let Step::Served { consumed, .. } = serve_one(request, &mut ctx, &mut pending, &ORIGIN)
        else {
            panic!("not served");
        };
        assert_eq!(consumed, first);
        assert!(
            ctx.chunked_body.capacity() > 0,
            "the thread keeps its buffer"
        );
        let Step::Served { consumed, .. } =
            serve_one(&request[first..], &mut ctx, &mut pending, &ORIGIN)
        else {
            panic!("not served");
        };
        assert_eq!(consumed, 32);
        let out = String::from_utf8_lossy(&ctx.out.buf).into_owned();
        assert!(
            out.contains("\r\n\r\nabcde") && out.ends_with("\r\n\r\nafter"),
            "{out}"
        );
    }

    /// Every refusal of the decoder answers and ends the request: nothing of it is kept.
    #[test]
    fn a_refused_chunked_body_answers_and_forgets_the_request() {
        let mut app = App::new();
        app.post("/echo", |_r: &Request| "unused");
        let mut ctx = ctx(app, 1000, None);
        let head = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n";
        for (body, status) in [
            (&b"3e9\r\n"[..], &b"413"[..]),
            (b"zz\r\n", b"400"),
            (b"0\r\nX: 1\n", b"400"),
        ] {
            let mut pending = Pending::default();
            let partial = [&head[..], b"1\r\na\r\n"].concat();
            assert!(matches!(
                serve_one(&partial, &mut ctx, &mut pending, &ORIGIN),
                Step::Incomplete { keep } if keep == head.len()
            ));
            assert!(pending.head.is_some());
            let rest = [&head[..], body].concat();
            assert!(matches!(
                serve_one(&rest, &mut ctx, &mut pending, &ORIGIN),
                Step::Rejected
            ));
            assert!(pending.head.is_none() && pending.decoder.raw() == 0);
            assert!(ctx.out.buf.starts_with(&[b"HTTP/1.1 ", status].concat()));
            ctx.out.buf.clear();
        }
    }
}
