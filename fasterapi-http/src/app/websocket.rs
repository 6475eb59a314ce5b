//! WebSocket routes (RFC 6455), served by the I/O threads that serve HTTP.
//!
//! [`App::websocket`] routes `GET` requests for a path to a handler that is given the
//! request and an [`Upgrade`]: the pending handshake. The route checks the handshake
//! first (`Upgrade: websocket`, `Connection: upgrade`, `Sec-WebSocket-Version: 13`, a
//! valid `Sec-WebSocket-Key`, HTTP/1.1 or later, `GET`): a request that is not one is
//! answered `426 Upgrade Required` (no `Upgrade: websocket`, or another version, with
//! `Sec-WebSocket-Version: 13`) or `400 Bad Request`, with a JSON `detail` saying what is
//! wrong, and the handler is not called.
//!
//! The handler decides, now or later and from any thread:
//! [`Upgrade::accept`] answers `101 Switching Protocols` and gives the connection an
//! event handler; [`Upgrade::reject`] answers with an HTTP response instead; an
//! `Upgrade` dropped undecided answers `403 Forbidden` (as Starlette does for a
//! WebSocket closed before it was accepted).
//!
//! Once accepted, the connection leaves the HTTP path: its I/O thread decodes the
//! client's frames (see the limits in [`WsOptions`]), answers pings with pongs, runs the
//! close handshake, and calls the event handler on that thread with each whole message
//! ([`WsEvent::Message`]), then once with [`WsEvent::Closed`]. The handler must not
//! block: it runs between the thread's other connections. It answers through the
//! [`WsSender`] it is given, a cheap `Clone + Send` handle that other threads use too:
//! what they send is queued for the connection and its I/O thread is woken through its
//! `mio` waker (once per batch: a send that finds the queue already announced does not
//! wake it again).
//!
//! Backpressure: each connection queues at most [`WsOptions::max_queued`] bytes of
//! output that the socket has not taken; a send past it fails with [`WsError::Full`]
//! (the message is handed back) and the handler is told [`WsEvent::Writable`] once the
//! queue has drained. While the client does not read what it is sent, its connection is
//! not read either, so an echo is bounded by the client's own pace.
//!
//! Extensions: none is negotiated (`permessage-deflate` is not implemented: inflating a
//! client's messages safely needs a bound on the inflated size per message and per
//! window, which is not done yet), so a frame with a reserved bit set is refused.
//!
//! ```
//! use fasterapi_http::websocket::{Message, WsEvent};
//! use fasterapi_http::App;
//!
//! let mut app = App::new();
//! // An echo: each message is sent back as it came.
//! app.websocket("/echo", |_req, upgrade| {
//!     upgrade.accept(|event, out| {
//!         if let WsEvent::Message(m) = event {
//!             let _ = out.send(m);
//!         }
//!     });
//! });
//! // A clock: another thread sends to the connection through its sender.
//! app.websocket("/ticks/{n}", |req, upgrade| {
//!     let n: u32 = req.param("n").unwrap_or(3);
//!     let out = upgrade.accept(|_event, _out| {});
//!     std::thread::spawn(move || {
//!         for i in 0..n {
//!             if out.send(Message::Text(format!("tick {i}"))).is_err() {
//!                 return; // the client left, or is too slow
//!             }
//!         }
//!         let _ = out.close(1000, "done");
//!     });
//! });
//! app.config_mut().threads = 1;
//! let server = app.bind("127.0.0.1:0")?.spawn()?;
//!
//! // The handshake, by hand, and one masked text frame.
//! use std::io::{Read, Write};
//! let mut conn = std::net::TcpStream::connect(server.local_addr())?;
//! conn.write_all(
//!     b"GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
//!       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
//! )?;
//! let mut head = [0u8; 129];
//! conn.read_exact(&mut head)?;
//! let head = String::from_utf8_lossy(&head);
//! assert!(head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
//! assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
//! let key = [1u8, 2, 3, 4];
//! let mut frame = vec![0x81, 0x80 | 2];
//! frame.extend_from_slice(&key);
//! frame.extend(b"hi".iter().zip(key.iter().cycle()).map(|(b, k)| b ^ k));
//! conn.write_all(&frame)?;
//! let mut echo = [0u8; 4];
//! conn.read_exact(&mut echo)?;
//! assert_eq!(&echo, b"\x81\x02hi");
//! drop(conn); // else shutdown waits for its answer to our close frame
//! server.shutdown()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::cell::Cell;
use std::collections::VecDeque;
use std::fmt;
use std::mem::MaybeUninit;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::app::later::{Mailbox, Reply};
use crate::app::request::Request;
use crate::app::router::Method;
use crate::app::{App, RouteMut};
use crate::http::response::{detail, Response, StatusCode};
use crate::proto::ws::{self, frame};

/// The limits of a WebSocket route's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WsOptions {
    /// The largest message (its fragments joined) a client may send; a larger one fails
    /// the connection with close code 1009, refused from its frame header, before its
    /// payload is buffered. Default 16 MiB (uvicorn's `ws_max_size`).
    pub max_message: usize,
    /// A connection on which nothing arrives or leaves for this long is sent a ping;
    /// if nothing arrives for as long again (a live client answers the ping with a
    /// pong), it is closed with code 1001. Default 60 s.
    pub idle_timeout: Duration,
    /// Bytes of output queued for a connection and not yet taken by its socket, at most
    /// (see the module docs on backpressure). Default 1 MiB. A message larger than this
    /// is still accepted when the queue is empty.
    pub max_queued: usize,
}

impl Default for WsOptions {
    fn default() -> WsOptions {
        WsOptions {
            max_message: 16 << 20,
            idle_timeout: Duration::from_secs(60),
            max_queued: 1 << 20,
        }
    }
}

/// A whole WebSocket message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// A text message (valid UTF-8).
    Text(String),
    /// A binary message.
    Binary(Vec<u8>),
}

/// Payloads at least this long are queued as they are behind their frame's header
/// instead of copied into the frame (see [`WsSender::send_binary_shared`]); shorter ones
/// are copied, which costs less than a second entry in the queue and its owner.
pub const SHARE_MIN: usize = 4096;

/// What a connection's event handler is told.
#[derive(Debug, PartialEq, Eq)]
pub enum WsEvent {
    /// The client sent a message.
    Message(Message),
    /// A send failed with [`WsError::Full`] and the output queue has drained since.
    Writable,
    /// The connection is closed (sent last, once): the code and reason of the client's
    /// close frame (1005 if it had none), or the code the server failed or closed the
    /// connection with, or 1006 if the connection ended without a close frame.
    Closed {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: String,
    },
}

/// Why a [`WsSender`] could not send.
#[derive(Debug, PartialEq, Eq)]
pub enum WsError {
    /// The connection's output queue is full ([`WsOptions::max_queued`]): the message
    /// back; [`WsEvent::Writable`] follows once it drains.
    Full(Message),
    /// The connection is closing or closed: the message back, if it was one.
    Closed(Option<Message>),
    /// A close code an endpoint may not send (RFC 6455 section 7.4): 1000-1003,
    /// 1007-1014 and 3000-4999 are allowed.
    InvalidCloseCode(u16),
    /// An accepted subprotocol the client did not offer.
    UnofferedProtocol(String),
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Full(_) => f.write_str("the WebSocket's output queue is full"),
            WsError::Closed(_) => f.write_str("the WebSocket is closed"),
            WsError::InvalidCloseCode(c) => write!(f, "{c} is not a close code one may send"),
            WsError::UnofferedProtocol(p) => {
                write!(f, "subprotocol {p:?} was not offered by the client")
            }
        }
    }
}

impl std::error::Error for WsError {}

/// A connection's event handler (see [`Upgrade::accept`]).
pub(crate) type EventHandler = Box<dyn FnMut(WsEvent, &WsSender) + Send + 'static>;

/// A connection's handler of whole binary messages still masked (see
/// [`Upgrade::accept_with_binary`]).
pub(crate) type BinaryHandler = Box<dyn FnMut(MaskedBinary<'_>, &WsSender) + Send + 'static>;

/// A whole binary message, sent in one frame, still masked as it arrived: what the binary
/// handler given to [`Upgrade::accept_with_binary`] gets, to unmask into a buffer of its
/// own (one pass over the bytes, no `Vec` in between).
pub struct MaskedBinary<'a> {
    masked: &'a [u8],
    mask: [u8; 4],
}

impl<'a> MaskedBinary<'a> {
    pub(crate) fn new(masked: &'a [u8], mask: [u8; 4]) -> MaskedBinary<'a> {
        MaskedBinary { masked, mask }
    }

    /// The message's length in bytes.
    pub fn len(&self) -> usize {
        self.masked.len()
    }

    /// Whether the message is empty.
    pub fn is_empty(&self) -> bool {
        self.masked.is_empty()
    }

    /// Writes the message into `out`, which must be [`len`](MaskedBinary::len) bytes
    /// long (it panics otherwise), and returns it, every byte written.
    pub fn unmask_into<'o>(&self, out: &'o mut [MaybeUninit<u8>]) -> &'o mut [u8] {
        frame::unmask_into(self.masked, self.mask, out)
    }
}

impl fmt::Debug for MaskedBinary<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MaskedBinary")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

/// The part of a connection that senders share with its I/O thread.
pub(crate) struct Shared {
    mailboxes: Arc<[Mailbox]>,
    home: usize,
    token: usize,
    conn_id: u64,
    max_queued: usize,
    outbox: Mutex<Outbox>,
}

/// Frames queued for the connection by its senders.
#[derive(Default)]
struct Outbox {
    frames: VecDeque<Bytes>,
    /// Frames of small payloads (under [`SHARE_MIN`]) queued after `frames`, encoded one
    /// after the other into one buffer: no allocation per frame once the frames written
    /// before have left (the buffer is then reused). Moved to `frames` before any other
    /// frame is queued (see [`Outbox::take_tail`]).
    tail: BytesMut,
    bytes: usize,
    /// The I/O thread was told of the frames queued (and has not taken them yet).
    announced: bool,
    /// A close frame is queued or sent, or the connection ended: no more sends.
    closed: bool,
    /// A send failed for a full queue: say `Writable` when it drains.
    want_writable: bool,
}

/// Small frames taken from an outbox's tail at once past which its buffer is let go
/// rather than kept for the next ones: a burst's buffer is freed once written, and an
/// idle connection holds at most a few times this.
const TAIL_KEEP: usize = 2 * SHARE_MIN;

impl Outbox {
    /// The small frames queued in `tail`, as one piece.
    fn take_tail(&mut self) -> Option<Bytes> {
        if self.tail.is_empty() {
            return None;
        }
        let small = self.tail.split();
        if small.len() > TAIL_KEEP {
            self.tail = BytesMut::new();
        }
        Some(small.freeze())
    }
}

thread_local! {
    /// The connection whose event handler this I/O thread is calling with a message (its
    /// [`Shared`], compared by address only), and whether that handler queued output for
    /// its own connection during the call.
    static IN_MESSAGE_CALL: Cell<(*const Shared, bool)> =
        const { Cell::new((std::ptr::null(), false)) };
}

/// Runs `call` (the connection's event handler with a message) on the connection's I/O
/// thread; returns whether the handler sent to its own connection meanwhile: such sends
/// are not announced through the thread's mailbox (a lock, a queue entry and a later
/// pass over it per message), and the caller must take the connection's output once
/// the call returns ([`WsSender::take`]).
pub(crate) fn in_message_call(sender: &WsSender, call: impl FnOnce()) -> bool {
    let own = Arc::as_ptr(&sender.shared);
    let outer = IN_MESSAGE_CALL.with(|c| c.replace((own, false)));
    call();
    let (_, sent) = IN_MESSAGE_CALL.with(|c| c.replace(outer));
    sent
}

/// What the I/O thread took from the outbox.
pub(crate) struct Taken {
    /// Say [`WsEvent::Writable`].
    pub(crate) writable: bool,
}

/// Sends to one WebSocket connection, from its event handler or any other thread
/// (`Clone + Send + Sync`).
#[derive(Clone)]
pub struct WsSender {
    shared: Arc<Shared>,
}

impl fmt::Debug for WsSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WsSender")
            .field("thread", &self.shared.home)
            .field("connection", &self.shared.conn_id)
            .finish_non_exhaustive()
    }
}

impl WsSender {
    fn outbox(&self) -> MutexGuard<'_, Outbox> {
        // A panic while it was held leaves a queue that is still valid.
        self.shared.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `message` for the client. Fails with [`WsError::Full`] while
    /// [`WsOptions::max_queued`] bytes wait for the socket, and [`WsError::Closed`] once
    /// the connection is closing.
    pub fn send(&self, message: Message) -> Result<(), WsError> {
        let (opcode, len) = match &message {
            Message::Text(t) => (frame::TEXT, t.len()),
            Message::Binary(b) => (frame::BINARY, b.len()),
        };
        if len >= SHARE_MIN {
            let data = match message {
                Message::Text(t) => Bytes::from(t.into_bytes()),
                Message::Binary(b) => Bytes::from(b),
            };
            return self.send_shared(opcode, data).map_err(|(full, data)| {
                // `data` is the message's own buffer, handed back whole.
                let data = Vec::from(data);
                let message = match opcode {
                    frame::TEXT => Message::Text(
                        String::from_utf8(data).expect("a text message's bytes are UTF-8"),
                    ),
                    _ => Message::Binary(data),
                };
                Self::refused(full, message)
            });
        }
        let sent = match &message {
            Message::Text(t) => self.send_frame(frame::TEXT, t.as_bytes()),
            Message::Binary(b) => self.send_frame(frame::BINARY, b),
        };
        sent.map_err(|full| Self::refused(full, message))
    }

    /// As [`WsSender::send`] with a binary message, from `data` queued as it is after
    /// its frame's header, not copied: for a large payload whose owner can share it
    /// (`Bytes::from_owner`: a Python `bytes` object, say). Small payloads are copied
    /// into their frame (a copy of them costs less than a second entry in the queue).
    pub fn send_binary_shared(&self, data: Bytes) -> Result<(), WsError> {
        if data.len() < SHARE_MIN {
            return self.send_binary(&data);
        }
        self.send_shared(frame::BINARY, data)
            .map_err(|(full, data)| Self::refused(full, Message::Binary(data.to_vec())))
    }

    /// As [`WsSender::send`] with a text message, from a borrowed `text`: its frame is
    /// made straight from it (a failed send hands back a copy).
    pub fn send_text(&self, text: &str) -> Result<(), WsError> {
        self.send_frame(frame::TEXT, text.as_bytes())
            .map_err(|full| Self::refused(full, Message::Text(text.to_owned())))
    }

    /// As [`WsSender::send`] with a binary message, from borrowed `data`: its frame is
    /// made straight from it (a failed send hands back a copy).
    pub fn send_binary(&self, data: &[u8]) -> Result<(), WsError> {
        self.send_frame(frame::BINARY, data)
            .map_err(|full| Self::refused(full, Message::Binary(data.to_vec())))
    }

    fn refused(full: bool, message: Message) -> WsError {
        match full {
            true => WsError::Full(message),
            false => WsError::Closed(Some(message)),
        }
    }

    /// Queues a data frame; `Err(true)` if the queue is full, `Err(false)` if closed.
    fn send_frame(&self, opcode: u8, payload: &[u8]) -> Result<(), bool> {
        if payload.len() >= SHARE_MIN {
            let mut frame = BytesMut::new();
            frame::encode(&mut frame, opcode, payload);
            let mut outbox = self.outbox();
            if outbox.closed {
                return Err(false);
            }
            if outbox.bytes > 0 && outbox.bytes + frame.len() > self.shared.max_queued {
                outbox.want_writable = true;
                return Err(true);
            }
            self.queue(outbox, frame.freeze(), None, false);
            return Ok(());
        }
        let mut outbox = self.outbox();
        if outbox.closed {
            return Err(false);
        }
        let len = frame::head_len(payload.len()) + payload.len();
        if outbox.bytes > 0 && outbox.bytes + len > self.shared.max_queued {
            outbox.want_writable = true;
            return Err(true);
        }
        frame::encode(&mut outbox.tail, opcode, payload);
        outbox.bytes += len;
        self.announce(outbox);
        Ok(())
    }

    /// Queues a data frame of `payload` as it is, behind a header of its own; refused
    /// as [`WsSender::send_frame`], with the payload handed back.
    fn send_shared(&self, opcode: u8, payload: Bytes) -> Result<(), (bool, Bytes)> {
        let mut head = BytesMut::new();
        frame::encode_head(&mut head, opcode, payload.len());
        let mut outbox = self.outbox();
        if outbox.closed {
            return Err((false, payload));
        }
        let len = head.len() + payload.len();
        if outbox.bytes > 0 && outbox.bytes + len > self.shared.max_queued {
            outbox.want_writable = true;
            return Err((true, payload));
        }
        self.queue(outbox, head.freeze(), Some(payload), false);
        Ok(())
    }

    /// Starts the close handshake with `code` and `reason` (cut to 123 bytes): no
    /// message can be sent after it, and the connection closes once the client answers
    /// (or the idle timeout passes). Closing a closed connection fails with
    /// [`WsError::Closed`].
    pub fn close(&self, code: u16, reason: &str) -> Result<(), WsError> {
        if !frame::close_code_is_valid(code) {
            return Err(WsError::InvalidCloseCode(code));
        }
        let mut frame = BytesMut::new();
        frame::encode_close(&mut frame, code, reason);
        let outbox = self.outbox();
        if outbox.closed {
            return Err(WsError::Closed(None));
        }
        self.queue(outbox, frame.freeze(), None, true);
        Ok(())
    }

    /// Whether the connection is closing or closed.
    pub fn is_closed(&self) -> bool {
        self.outbox().closed
    }

    /// Bytes queued and not yet handed to the socket.
    pub fn queued(&self) -> usize {
        self.outbox().bytes
    }

    /// Queues `frame` (or a frame's header, its `payload` behind it) and announces it.
    fn queue(
        &self,
        mut outbox: MutexGuard<'_, Outbox>,
        frame: Bytes,
        payload: Option<Bytes>,
        closing: bool,
    ) {
        if let Some(small) = outbox.take_tail() {
            outbox.frames.push_back(small);
        }
        outbox.bytes += frame.len();
        outbox.frames.push_back(frame);
        if let Some(payload) = payload {
            outbox.bytes += payload.len();
            outbox.frames.push_back(payload);
        }
        outbox.closed |= closing;
        self.announce(outbox);
    }

    /// Tells the connection's I/O thread that output is queued, unless it knows.
    fn announce(&self, mut outbox: MutexGuard<'_, Outbox>) {
        if outbox.announced {
            return;
        }
        if IN_MESSAGE_CALL.with(|c| {
            let (conn, _) = c.get();
            let own = std::ptr::eq(conn, Arc::as_ptr(&self.shared));
            if own {
                c.set((conn, true));
            }
            own
        }) {
            // Sent from inside the connection's own handler call, on its I/O thread: the
            // connection takes its output when the call returns (see `in_message_call`),
            // without a trip through the mailbox. `announced` stays false, so a send from
            // another thread meanwhile still wakes it.
            return;
        }
        outbox.announced = true;
        drop(outbox);
        let s = &self.shared;
        crate::app::later::notify_ws(&s.mailboxes, s.home, s.token, s.conn_id);
    }

    /// Moves the queued frames to `into` (the I/O thread, when its socket can take them).
    pub(crate) fn take(&self, into: &mut impl Extend<Bytes>) -> Taken {
        let mut outbox = self.outbox();
        into.extend(outbox.frames.drain(..));
        into.extend(outbox.take_tail());
        outbox.bytes = 0;
        outbox.announced = false;
        Taken {
            writable: std::mem::take(&mut outbox.want_writable),
        }
    }

    /// The connection is closing (a close frame of the server's own is on its way) or
    /// gone: sends fail from now on.
    pub(crate) fn mark_closed(&self) {
        let mut outbox = self.outbox();
        outbox.closed = true;
        outbox.frames.clear();
        outbox.tail = BytesMut::new();
        outbox.bytes = 0;
    }
}

/// What an accepted upgrade hands its connection: the `101` head and the event handler.
pub(crate) struct Accepted {
    pub(crate) head: Bytes,
    /// Taken by the connection; still here if the connection was gone when the accept
    /// arrived, and then told [`WsEvent::Closed`] (1006) when this is dropped.
    pub(crate) handler: Option<EventHandler>,
    /// Whole single-frame binary messages go here, still masked, instead of to `handler`.
    pub(crate) binary: Option<BinaryHandler>,
    pub(crate) sender: WsSender,
    pub(crate) options: WsOptions,
}

impl Drop for Accepted {
    fn drop(&mut self) {
        if let Some(mut handler) = self.handler.take() {
            self.sender.mark_closed();
            let closed = WsEvent::Closed {
                code: 1006,
                reason: String::new(),
            };
            let call = std::panic::AssertUnwindSafe(|| handler(closed, &self.sender));
            if std::panic::catch_unwind(call).is_err() {
                diag!(error, "fasterapi: a WebSocket event handler panicked");
            }
        }
    }
}

/// A WebSocket handshake waiting for the handler's decision: [`accept`](Upgrade::accept)
/// it, [`reject`](Upgrade::reject) it, or drop it (`403 Forbidden`). `Send`: it may be
/// decided on any thread.
pub struct Upgrade {
    reply: Option<Reply>,
    key: String,
    protocols: Vec<String>,
    options: WsOptions,
}

impl fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upgrade")
            .field("protocols", &self.protocols)
            .finish_non_exhaustive()
    }
}

impl Upgrade {
    /// The subprotocols the client offered (`Sec-WebSocket-Protocol`), in its order.
    pub fn protocols(&self) -> &[String] {
        &self.protocols
    }

    /// Accepts the connection with no subprotocol and no extra headers: see
    /// [`Upgrade::accept_with`].
    pub fn accept<H>(self, handler: H) -> WsSender
    where
        H: FnMut(WsEvent, &WsSender) + Send + 'static,
    {
        match self.accept_with(None, &[], handler) {
            Ok(sender) => sender,
            // Invariant: only an unoffered subprotocol is refused, and none is given.
            Err(_) => unreachable!("accepting without a subprotocol cannot fail"),
        }
    }

    /// Answers `101 Switching Protocols`, with `protocol` as `Sec-WebSocket-Protocol`
    /// (it must be one the client offered) and `headers` added (`Set-Cookie`, say;
    /// names the handshake sets itself are skipped), and gives the connection `handler`,
    /// called on its I/O thread for each [`WsEvent`]. Returns the connection's sender.
    pub fn accept_with<H>(
        self,
        protocol: Option<&str>,
        headers: &[(String, String)],
        handler: H,
    ) -> Result<WsSender, WsError>
    where
        H: FnMut(WsEvent, &WsSender) + Send + 'static,
    {
        self.accept_inner(protocol, headers, Box::new(handler), None)
    }

    /// As [`Upgrade::accept_with`], with each whole binary message that comes in one frame
    /// handed to `binary` still masked ([`MaskedBinary`]) instead of to `handler` as
    /// [`WsEvent::Message`]: for a handler that keeps messages in buffers of its own (a
    /// Python `bytes`), which it unmasks them into. Fragmented binary messages and text
    /// go to `handler` as before.
    pub fn accept_with_binary<H, B>(
        self,
        protocol: Option<&str>,
        headers: &[(String, String)],
        handler: H,
        binary: B,
    ) -> Result<WsSender, WsError>
    where
        H: FnMut(WsEvent, &WsSender) + Send + 'static,
        B: FnMut(MaskedBinary<'_>, &WsSender) + Send + 'static,
    {
        self.accept_inner(protocol, headers, Box::new(handler), Some(Box::new(binary)))
    }

    fn accept_inner(
        mut self,
        protocol: Option<&str>,
        headers: &[(String, String)],
        handler: EventHandler,
        binary: Option<BinaryHandler>,
    ) -> Result<WsSender, WsError> {
        if let Some(p) = protocol {
            if !self.protocols.iter().any(|o| o == p) {
                return Err(WsError::UnofferedProtocol(p.to_owned()));
            }
        }
        // Invariant: the reply is taken only here, by reject, and by drop.
        let reply = self
            .reply
            .take()
            .expect("an undecided upgrade has its reply");
        let (mailboxes, home, token, conn_id) = reply.target();
        let sender = WsSender {
            shared: Arc::new(Shared {
                mailboxes,
                home,
                token,
                conn_id,
                max_queued: self.options.max_queued,
                outbox: Mutex::new(Outbox::default()),
            }),
        };
        let mut head = String::with_capacity(160);
        head.push_str(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: ",
        );
        head.push_str(&ws::accept_key(self.key.as_bytes()));
        head.push_str("\r\n");
        if let Some(p) = protocol {
            head.push_str("Sec-WebSocket-Protocol: ");
            head.push_str(p);
            head.push_str("\r\n");
        }
        for (name, value) in headers {
            let own = [
                "upgrade",
                "connection",
                "content-length",
                "transfer-encoding",
            ]
            .iter()
            .any(|n| name.eq_ignore_ascii_case(n))
                || name.to_ascii_lowercase().starts_with("sec-websocket-");
            let safe = |s: &str| !s.is_empty() && !s.bytes().any(|b| b == b'\r' || b == b'\n');
            if own || !safe(name) || value.bytes().any(|b| b == b'\r' || b == b'\n') {
                continue;
            }
            head.push_str(name);
            head.push_str(": ");
            head.push_str(value);
            head.push_str("\r\n");
        }
        head.push_str("\r\n");
        reply.upgrade(Accepted {
            head: Bytes::from(head),
            handler: Some(handler),
            binary,
            sender: sender.clone(),
            options: self.options,
        });
        Ok(sender)
    }

    /// Answers the handshake with `response` instead (the connection stays HTTP).
    pub fn reject(mut self, response: Response) {
        if let Some(reply) = self.reply.take() {
            reply.send(response);
        }
    }
}

impl Drop for Upgrade {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            reply.send(detail(
                StatusCode::FORBIDDEN,
                "WebSocket connection refused",
            ));
        }
    }
}

/// Whether the comma-separated header `value` lists `token` (ASCII case-insensitive).
fn lists(value: &[u8], token: &str) -> bool {
    value
        .split(|&b| b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
}

/// The WebSocket handshake of `req`, checked (RFC 6455 section 4.2.1): its key and the
/// subprotocols offered, or the answer refusing it.
pub(crate) fn handshake(req: &Request<'_>) -> Result<(String, Vec<String>), Response> {
    let all = |name: &'static str| {
        req.headers()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let refuse = |status, why: &'static str| Err(detail(status, why));
    if !all("upgrade").any(|v| lists(v, "websocket")) {
        return Err(detail(
            StatusCode::UPGRADE_REQUIRED,
            "this route speaks WebSocket: the request needs Upgrade: websocket",
        )
        .with_header("Upgrade", "websocket")
        .with_header("Sec-WebSocket-Version", "13"));
    }
    if req.method() != Method::Get {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake is a GET request",
        );
    }
    if req.http_minor_version() == 0 {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs HTTP/1.1 or later",
        );
    }
    if !all("connection").any(|v| lists(v, "upgrade")) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a WebSocket handshake needs Connection: Upgrade",
        );
    }
    let versions: Vec<&[u8]> = all("sec-websocket-version").collect();
    if versions.len() != 1 || versions[0].trim_ascii() != b"13" {
        return Err(detail(
            StatusCode::UPGRADE_REQUIRED,
            "unsupported Sec-WebSocket-Version: this server speaks version 13",
        )
        .with_header("Sec-WebSocket-Version", "13"));
    }
    let keys: Vec<&[u8]> = all("sec-websocket-key").collect();
    let key = match keys.as_slice() {
        [key] if ws::key_is_valid(key.trim_ascii()) => key.trim_ascii(),
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "a WebSocket handshake needs one Sec-WebSocket-Key of 16 base64 bytes",
            )
        }
    };
    if !req.body().is_empty() {
        return refuse(StatusCode::BAD_REQUEST, "a WebSocket handshake has no body");
    }
    let protocols = all("sec-websocket-protocol")
        .flat_map(|v| v.split(|&b| b == b','))
        .filter_map(|p| std::str::from_utf8(p.trim_ascii()).ok())
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .collect();
    // The key is base64: ASCII.
    let key = String::from_utf8_lossy(key).into_owned();
    Ok((key, protocols))
}

impl App {
    /// Routes WebSocket handshakes (`GET` with `Upgrade: websocket`) for `pattern` to
    /// `handler`, with the default [`WsOptions`]; see [the module](crate::websocket).
    ///
    /// The handler runs on the I/O thread with the request and its [`Upgrade`]; it must
    /// not block, and decides now or hands the `Upgrade` to whatever decides later.
    pub fn websocket<H>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>, Upgrade) + Send + Sync + 'static,
    {
        self.websocket_with(pattern, WsOptions::default(), handler)
    }

    /// [`App::websocket`] with `options`.
    pub fn websocket_with<H>(
        &mut self,
        pattern: &str,
        options: WsOptions,
        handler: H,
    ) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>, Upgrade) + Send + Sync + 'static,
    {
        self.route(Method::Get, pattern, move |req: &Request<'_>| {
            let (key, protocols) = match handshake(req) {
                Ok(h) => h,
                Err(refusal) => return refusal,
            };
            let Some(reply) = req.defer() else {
                // A server that cannot wait for a decision (the fuzz harness).
                return detail(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "WebSocket is not served here",
                );
            };
            let upgrade = Upgrade {
                reply: Some(reply),
                key,
                protocols,
                options,
            };
            handler(req, upgrade);
            // Not sent: the deferred reply answers.
            Response::new(StatusCode::NO_CONTENT)
        })
    }
}
