//! One connection: read buffer -> parse -> dispatch -> output, as a small state machine.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BufMut, Bytes, BytesMut};
use fasterapi_core::buf::BufPool;
use fasterapi_core::mpmc::Queue;
use mio::net::TcpStream;

use crate::app::App;
use crate::executor::{self, Completion, Job, Mailbox};
use crate::later::{Abandon, Later};
use crate::parse::{self, Framing, Head, Limits, Meta, Reject};
use crate::request::Request;
use crate::response::{Output, Persistence, Response, StatusCode};
use crate::router::{Method, Miss, Params};
use crate::sys;

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
    header: Instant,
    body: Instant,
    idle: Instant,
    write: Instant,
}

impl Deadlines {
    pub(crate) fn from(now: Instant, t: &Timeouts) -> Deadlines {
        use crate::config::bounded;
        Deadlines {
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
    /// Decoded chunked request bodies.
    pub(crate) chunked_body: Vec<u8>,
    /// The read buffer shared by this thread's connections (see `Conn::serve`); empty
    /// with no capacity while a connection holds it.
    pub(crate) rbuf: BytesMut,
    /// The worker queue, when the app has blocking routes.
    pub(crate) queue: Option<Arc<Queue<Job>>>,
    /// This event loop's index, for jobs to find their way back.
    pub(crate) home: usize,
    /// Every I/O thread's mailbox, for replies to deferred requests (`None` where nothing
    /// can wait, as in the fuzz harness).
    pub(crate) mailboxes: Option<Arc<[Mailbox]>>,
    /// The time as of this loop turn.
    pub(crate) now: Instant,
    /// The server is shutting down: every response closes its connection.
    pub(crate) stopping: bool,
}

pub(crate) struct Conn {
    stream: TcpStream,
    state: State,
    /// The connection's slot in its event loop.
    token: usize,
    /// Unique within the event loop, so stale timers and completions for a reused slot
    /// are recognised.
    pub(crate) id: u64,
    /// Unparsed input. Held only while a request is partly received; idle connections
    /// give their buffer back to the pool.
    rbuf: Option<BytesMut>,
    /// Output the socket did not take yet. While non-empty, reading pauses.
    backlog: VecDeque<Bytes>,
    /// `100 Continue` was sent for the request being received.
    continue_sent: bool,
    /// The head of the request being received is complete (its body is not).
    head_done: bool,
    /// A request is on the worker pool or waits for a `Reply`: later pipelined requests
    /// wait, so that answers leave in request order.
    deferred: bool,
    /// What the handler of a deferred request asked to run if the connection closes first.
    abandon: Option<Abandon>,
    /// The phase `deadline` was set for, and when it expires.
    phase: Phase,
    pub(crate) deadline: Option<Instant>,
    /// The deadline of this connection's entry in the timer heap, if it has one.
    pub(crate) armed: Option<Instant>,
}

pub(crate) enum Step {
    /// The request at the head of the buffer is not complete yet.
    Incomplete { head_done: bool },
    /// A request of `consumed` bytes was answered.
    Served { consumed: usize, keep_alive: bool },
    /// A request for a blocking route: to be frozen and queued.
    Defer {
        consumed: usize,
        head_len: usize,
        chunked: bool,
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

impl Conn {
    pub(crate) fn new(stream: TcpStream, token: usize, id: u64) -> Conn {
        Conn {
            stream,
            state: State::Open,
            token,
            id,
            rbuf: None,
            backlog: VecDeque::new(),
            continue_sent: false,
            head_done: false,
            deferred: false,
            abandon: None,
            phase: Phase::Idle,
            deadline: None,
            armed: None,
        }
    }

    pub(crate) fn stream_mut(&mut self) -> &mut TcpStream {
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
            _ if !self.backlog.is_empty() => Phase::Writing,
            State::Closing => Phase::Writing,
            State::Open if self.deferred => Phase::Deferred,
            State::Open => match &self.rbuf {
                Some(b) if !b.is_empty() => {
                    if self.head_done {
                        Phase::Body
                    } else {
                        Phase::Head
                    }
                }
                _ => Phase::Idle,
            },
        }
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
        let restart = phase != self.phase || matches!(phase, Phase::Idle | Phase::Writing);
        self.phase = phase;
        if restart {
            self.deadline = match phase {
                Phase::Idle => Some(d.idle),
                Phase::Head => Some(d.header),
                Phase::Body => Some(d.body),
                Phase::Writing | Phase::Lingering => Some(d.write),
                Phase::Deferred => None,
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
                write_reject(reject, &mut ctx.out);
                self.finish(ctx, false)
            }
            _ => Verdict::Drop,
        }
    }

    /// Handles a readiness event.
    pub(crate) fn ready(&mut self, readable: bool, writable: bool, ctx: &mut Ctx) -> Verdict {
        if self.state == State::Draining {
            return self.drain();
        }
        if writable && !self.backlog.is_empty() {
            match self.flush_backlog() {
                Err(_) => return Verdict::Drop,
                Ok(false) => return Verdict::Keep,
                Ok(true) if self.state == State::Closing => return self.half_close(),
                // Reading paused while the backlog was full: input may be waiting, and with
                // edge-triggered readiness no new event will say so.
                Ok(true) => return self.serve(ctx),
            }
        }
        if readable && self.backlog.is_empty() && self.state == State::Open {
            if self.deferred {
                return self.check_gone();
            }
            return self.serve(ctx);
        }
        Verdict::Keep
    }

    /// While an answer is pending: a client that closed its side has left (as uvicorn
    /// takes it), so the connection is dropped and its abandon hook runs. Input pipelined
    /// behind the pending request stays unread until the answer is out.
    fn check_gone(&mut self) -> Verdict {
        match sys::peek_eof(&self.stream) {
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
                eprintln!("fasterapi: a deferred request's abandon hook panicked");
            }
        }
    }

    /// Writes a blocking handler's answer, then serves what was pipelined behind it.
    pub(crate) fn complete(&mut self, c: Completion, ctx: &mut Ctx) -> Verdict {
        self.deferred = false;
        self.abandon = None;
        let persistence = if ctx.stopping {
            Persistence::Close
        } else {
            c.persistence
        };
        c.response.write_to(&mut ctx.out, c.head_only, persistence);
        if persistence == Persistence::Close {
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
        // Requests left behind a deferred one are still buffered.
        if !buf.is_empty() && !self.serve_buffered(&mut buf, ctx) {
            self.stash(buf, ctx);
            return self.finish(ctx, false);
        }
        while !self.deferred {
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(ctx.pool.buf_size());
            }
            let spare = buf.capacity() - buf.len();
            match sys::read_into(&self.stream, &mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    if !self.serve_buffered(&mut buf, ctx) {
                        close = true;
                        break;
                    }
                    // A short read means the socket is drained: with edge-triggered epoll,
                    // new data brings a new event, so no read is spent on EAGAIN.
                    if n < spare {
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
        } else if thread_lacks_buffer && buf.capacity() >= ctx.pool.buf_size() {
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
        if !self.backlog.is_empty() {
            return Verdict::Keep;
        }
        if eof {
            Verdict::Drop
        } else {
            self.half_close()
        }
    }

    /// Answers the complete requests in `buf`, up to a deferred one, and removes them from
    /// it. Returns false when the connection must close after the answers are written.
    fn serve_buffered(&mut self, buf: &mut BytesMut, ctx: &mut Ctx) -> bool {
        // Consumed requests are skipped with an offset and the buffer cleared at the end:
        // a fully consumed buffer keeps its whole capacity, with no compaction.
        let mut pos = 0;
        let mut keep = true;
        while pos < buf.len() && !self.deferred {
            match serve_one(
                &buf[pos..],
                ctx,
                &mut self.continue_sent,
                (self.token, self.id),
            ) {
                Step::Incomplete { head_done } => {
                    self.head_done = head_done;
                    break;
                }
                Step::Served {
                    consumed,
                    keep_alive,
                } => {
                    pos += consumed;
                    self.continue_sent = false;
                    self.head_done = false;
                    if !keep_alive {
                        keep = false;
                        break;
                    }
                }
                Step::Defer {
                    consumed,
                    head_len,
                    chunked,
                    head_only,
                    persistence,
                } => {
                    self.continue_sent = false;
                    self.head_done = false;
                    buf.advance(pos);
                    pos = 0;
                    // The request leaves the buffer as refcounted bytes: no copy.
                    let request = buf.split_to(consumed).freeze();
                    let body = if chunked {
                        Bytes::copy_from_slice(&ctx.chunked_body)
                    } else {
                        request.slice(head_len..)
                    };
                    let job = Job {
                        home: ctx.home,
                        token: self.token,
                        conn_id: self.id,
                        head: request.slice(..head_len),
                        body,
                        head_only,
                        persistence,
                        enqueued: ctx.now,
                    };
                    match ctx.queue.as_ref().map(|q| q.try_push(job)) {
                        Some(Ok(())) => self.deferred = true,
                        // Full: shed at once rather than queue without bound.
                        _ => executor::overloaded().write_to(&mut ctx.out, head_only, persistence),
                    }
                    if persistence == Persistence::Close && !self.deferred {
                        keep = false;
                        break;
                    }
                }
                Step::Later { consumed, abandon } => {
                    pos += consumed;
                    self.continue_sent = false;
                    self.head_done = false;
                    self.deferred = true;
                    self.abandon = abandon;
                }
                Step::Rejected => {
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

    /// Writes `ctx.out` with one `write`/`writev`; what the socket does not take goes to
    /// the backlog, to be sent on writable readiness.
    fn write_output(&mut self, ctx: &mut Ctx) -> io::Result<()> {
        let out = &mut ctx.out;
        let result = if out.chunks.is_empty() {
            loop {
                match sys::send(&self.stream, &out.buf) {
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
            sys::send_vectored(&self.stream, &slices[..n])
        };
        let written = match result {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => 0,
            Err(e) => {
                self.clear_output(ctx);
                return Err(e);
            }
        };
        if written < ctx.out.len() {
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
        }
        self.clear_output(ctx);
        Ok(())
    }

    fn clear_output(&mut self, ctx: &mut Ctx) {
        ctx.out.chunks.clear();
        ctx.out.buf.clear();
        let want = ctx.pool.buf_size();
        if ctx.out.buf.capacity() < want {
            ctx.out.buf.reserve(want);
        }
    }

    /// Sends the backlog; `Ok(true)` once it is all out.
    fn flush_backlog(&mut self) -> io::Result<bool> {
        while !self.backlog.is_empty() {
            let mut slices = [IoSlice::new(&[]); 64];
            let n = self.backlog.len().min(slices.len());
            for (slot, c) in slices.iter_mut().zip(self.backlog.iter()) {
                *slot = IoSlice::new(c);
            }
            let mut written = match sys::send_vectored(&self.stream, &slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            while written > 0 {
                // The kernel never reports more than it was given, so the front exists.
                let front = self
                    .backlog
                    .front_mut()
                    .expect("written bytes come from the backlog");
                if written >= front.len() {
                    written -= front.len();
                    self.backlog.pop_front();
                } else {
                    front.advance(written);
                    written = 0;
                }
            }
        }
        Ok(true)
    }

    fn half_close(&mut self) -> Verdict {
        if self.stream.shutdown(Shutdown::Write).is_err() {
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

/// Parses the request at the start of `buf` and, if it is complete, answers it into
/// `ctx.out` (or says it is for the worker pool, or that its handler will answer later).
/// `conn` is the connection's token and id, for a reply to find it.
#[inline]
pub(crate) fn serve_one(
    buf: &[u8],
    ctx: &mut Ctx,
    continue_sent: &mut bool,
    conn: (usize, u64),
) -> Step {
    let mut slots = parse::header_slots();
    let (head_len, headers, meta) = match parse::parse_head(buf, &mut slots, &ctx.limits) {
        Ok(Head::Complete { len, headers, meta }) => (len, headers, meta),
        Ok(Head::Partial) => return Step::Incomplete { head_done: false },
        Err(reject) => {
            write_reject(reject, &mut ctx.out);
            return Step::Rejected;
        }
    };
    let (body, consumed): (&[u8], usize) = match meta.framing {
        Framing::Length(n) => {
            if buf.len() - head_len < n {
                return body_pending(&meta, continue_sent, &mut ctx.out);
            }
            (&buf[head_len..head_len + n], head_len + n)
        }
        Framing::Chunked => {
            match parse::decode_chunked(
                &buf[head_len..],
                &mut ctx.chunked_body,
                ctx.limits.max_body,
            ) {
                Ok(Some(n)) => (&ctx.chunked_body[..], head_len + n),
                Ok(None) => {
                    return body_pending(&meta, continue_sent, &mut ctx.out);
                }
                Err(reject) => {
                    write_reject(reject, &mut ctx.out);
                    return Step::Rejected;
                }
            }
        }
    };
    let keep_alive = meta.keep_alive && !ctx.stopping;
    let persistence = match (keep_alive, meta.minor_version) {
        (false, _) => Persistence::Close,
        (true, 0) => Persistence::KeepAlive10,
        (true, _) => Persistence::KeepAlive,
    };
    let head_only = meta.method == Method::Head;
    let mut params = Params::new();
    let response = match ctx.app.router.find(meta.method, meta.path, &mut params) {
        Ok(route) if route.on_pool() => {
            let chunked = meta.framing == Framing::Chunked;
            return Step::Defer {
                consumed,
                head_len,
                chunked,
                head_only,
                persistence,
            };
        }
        Ok(route) => {
            let later = ctx.mailboxes.as_ref().map(|mailboxes| Later {
                mailboxes,
                home: ctx.home,
                token: conn.0,
                conn_id: conn.1,
                head_only,
                persistence,
                deferred: Cell::new(false),
                abandon: RefCell::new(None),
            });
            let response = route.call(&Request::from_parts(
                &meta,
                headers,
                &params,
                body,
                later.as_ref(),
            ));
            if let Some(later) = later.filter(|l| l.deferred.get()) {
                return Step::Later {
                    consumed,
                    abandon: later.abandon.into_inner(),
                };
            }
            response
        }
        Err(Miss::MethodNotAllowed(allow)) => {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed")
                .with_header("Allow", allow.to_owned())
        }
        Err(Miss::NotFound) => detail(StatusCode::NOT_FOUND, "Not Found"),
    };
    response.write_to(&mut ctx.out, head_only, persistence);
    Step::Served {
        consumed,
        keep_alive,
    }
}

/// A JSON `{"detail": text}` response with `status`.
pub(crate) fn detail(status: StatusCode, text: &str) -> Response {
    Response::json(|o| {
        o.field("detail", text);
    })
    .with_status(status)
}

/// The head is in but the body is not: answers `100 Continue` once if the client asked for
/// it (HTTP/1.1 only), and waits for more input.
fn body_pending(meta: &Meta<'_>, continue_sent: &mut bool, out: &mut Output) -> Step {
    if meta.expect_continue && meta.minor_version == 1 && !*continue_sent {
        out.buf.put_slice(CONTINUE);
        *continue_sent = true;
    }
    Step::Incomplete { head_done: true }
}

fn write_reject(reject: Reject, out: &mut Output) {
    detail(reject.status, reject.reason).write_to(out, false, Persistence::Close);
}
