//! One connection: read buffer -> parse -> dispatch -> output, as a small state machine.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::panic::{catch_unwind, AssertUnwindSafe};

use bytes::{Buf, BufMut, Bytes};
use fasterapi_core::buf::BufPool;
use mio::net::TcpStream;

use crate::app::App;
use crate::parse::{self, Framing, Head, Limits, Reject};
use crate::request::Request;
use crate::response::{Output, Persistence, Response, StatusCode};
use crate::router::{Lookup, Method};
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

/// What the event loop should do with the connection next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Keep,
    Drop,
}

/// Per-thread context the connections of one event loop share.
pub(crate) struct Ctx {
    pub(crate) app: std::sync::Arc<App>,
    pub(crate) limits: Limits,
    pub(crate) pool: BufPool,
    /// Responses of the connection being served, written with one syscall at the end of
    /// its readiness pass.
    pub(crate) out: Output,
    /// Decoded chunked request bodies.
    pub(crate) chunked_body: Vec<u8>,
}

pub(crate) struct Conn {
    stream: TcpStream,
    state: State,
    /// Unparsed input. Held only while a request is partly received; idle connections
    /// give their buffer back to the pool.
    rbuf: Option<bytes::BytesMut>,
    /// Output the socket did not take yet. While non-empty, reading pauses.
    backlog: VecDeque<Bytes>,
    /// `100 Continue` was sent for the request being received.
    continue_sent: bool,
}

pub(crate) enum Step {
    /// The request at the head of the buffer is not complete yet.
    Incomplete,
    /// A request of `consumed` bytes was answered.
    Served { consumed: usize, keep_alive: bool },
    /// The input was refused and answered; the connection closes.
    Rejected,
}

impl Conn {
    pub(crate) fn new(stream: TcpStream) -> Conn {
        Conn { stream, state: State::Open, rbuf: None, backlog: VecDeque::new(), continue_sent: false }
    }

    pub(crate) fn stream_mut(&mut self) -> &mut TcpStream {
        &mut self.stream
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
            return self.serve(ctx);
        }
        Verdict::Keep
    }

    /// Reads what the socket has, answers every complete request, writes the answers.
    fn serve(&mut self, ctx: &mut Ctx) -> Verdict {
        let mut eof = false;
        let mut close = false;
        loop {
            let buf = self.rbuf.get_or_insert_with(|| ctx.pool.get());
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(ctx.pool.buf_size());
            }
            let spare = buf.capacity() - buf.len();
            match sys::read_into(&self.stream, buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    if !self.serve_buffered(ctx) {
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
                    self.clear_output(ctx);
                    return Verdict::Drop;
                }
            }
        }
        if let Some(buf) = self.rbuf.take_if(|b| b.is_empty()) {
            ctx.pool.put(buf);
        }
        if !ctx.out.is_empty() && self.write_output(ctx).is_err() {
            return Verdict::Drop;
        }
        if eof || close {
            self.state = State::Closing;
            if let Some(buf) = self.rbuf.take() {
                ctx.pool.put(buf);
            }
            if self.backlog.is_empty() {
                return if eof { Verdict::Drop } else { self.half_close() };
            }
        }
        Verdict::Keep
    }

    /// Answers the complete requests in the read buffer. Returns false when the connection
    /// must close after the answers are written.
    fn serve_buffered(&mut self, ctx: &mut Ctx) -> bool {
        let Some(buf) = self.rbuf.as_mut() else { return true };
        while !buf.is_empty() {
            match serve_one(buf, ctx, &mut self.continue_sent) {
                Step::Incomplete => break,
                Step::Served { consumed, keep_alive } => {
                    buf.advance(consumed);
                    self.continue_sent = false;
                    if !keep_alive {
                        return false;
                    }
                }
                Step::Rejected => return false,
            }
        }
        true
    }

    /// Writes `ctx.out` with one `write`/`writev`; what the socket does not take goes to
    /// the backlog, to be sent on writable readiness.
    fn write_output(&mut self, ctx: &mut Ctx) -> io::Result<()> {
        let out = &mut ctx.out;
        let result = if out.chunks.is_empty() {
            loop {
                match self.stream.write(&out.buf) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => break r,
                }
            }
        } else {
            let mut slices = [IoSlice::new(&[]); 64];
            let mut n = 0;
            for c in out.chunks.iter().map(|c| &c[..]).chain([&out.buf[..]]).take(slices.len()) {
                slices[n] = IoSlice::new(c);
                n += 1;
            }
            self.stream.write_vectored(&slices[..n])
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
                self.backlog.push_back(Bytes::copy_from_slice(&ctx.out.buf[skip..]));
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
            let mut written = match self.stream.write_vectored(&slices[..n]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(w) => w,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            while written > 0 {
                // The kernel never reports more than it was given, so the front exists.
                let front = self.backlog.front_mut().expect("written bytes come from the backlog");
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
/// `ctx.out`.
#[inline]
pub(crate) fn serve_one(buf: &[u8], ctx: &mut Ctx, continue_sent: &mut bool) -> Step {
    let mut slots = parse::header_slots();
    let (head_len, headers, meta) = match parse::parse_head(buf, &mut slots, &ctx.limits) {
        Ok(Head::Complete { len, headers, meta }) => (len, headers, meta),
        Ok(Head::Partial) => return Step::Incomplete,
        Err(reject) => {
            write_reject(reject, &mut ctx.out);
            return Step::Rejected;
        }
    };
    let (body, consumed): (&[u8], usize) = match meta.framing {
        Framing::Length(n) => {
            if buf.len() - head_len < n {
                send_continue(meta.expect_continue, meta.minor_version, continue_sent, &mut ctx.out);
                return Step::Incomplete;
            }
            (&buf[head_len..head_len + n], head_len + n)
        }
        Framing::Chunked => {
            match parse::decode_chunked(&buf[head_len..], &mut ctx.chunked_body, ctx.limits.max_body) {
                Ok(Some(n)) => (&ctx.chunked_body[..], head_len + n),
                Ok(None) => {
                    send_continue(meta.expect_continue, meta.minor_version, continue_sent, &mut ctx.out);
                    return Step::Incomplete;
                }
                Err(reject) => {
                    write_reject(reject, &mut ctx.out);
                    return Step::Rejected;
                }
            }
        }
    };
    let persistence = match (meta.keep_alive, meta.minor_version) {
        (false, _) => Persistence::Close,
        (true, 0) => Persistence::KeepAlive10,
        (true, _) => Persistence::KeepAlive,
    };
    let response = match ctx.app.router.lookup(meta.method, meta.path) {
        Lookup::Found(route, params) => {
            let req = Request {
                method: meta.method,
                path: meta.path,
                query: meta.query,
                minor_version: meta.minor_version,
                headers,
                params,
                body,
            };
            match catch_unwind(AssertUnwindSafe(|| (route.handler)(&req))) {
                Ok(response) => response,
                // The panic hook has already printed the message and location.
                Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
            }
        }
        Lookup::MethodNotAllowed(allow) => {
            detail(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").with_header("Allow", allow.to_owned())
        }
        Lookup::NotFound => detail(StatusCode::NOT_FOUND, "Not Found"),
    };
    response.write_to(&mut ctx.out, meta.method == Method::Head, persistence);
    Step::Served { consumed, keep_alive: meta.keep_alive }
}

fn detail(status: StatusCode, text: &'static str) -> Response {
    Response::json(|o| {
        o.field("detail", text);
    })
    .with_status(status)
}

fn send_continue(expect: bool, minor_version: u8, sent: &mut bool, out: &mut Output) {
    if expect && minor_version == 1 && !*sent {
        out.buf.put_slice(CONTINUE);
        *sent = true;
    }
}

fn write_reject(reject: Reject, out: &mut Output) {
    detail(reject.status, reject.reason).write_to(out, false, Persistence::Close);
}
