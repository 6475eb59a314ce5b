//! A connection after `101 Switching Protocols`: WebSocket frames in, the event handler
//! called on this I/O thread, frames out (see [`crate::websocket`]).
//!
//! The connection keeps the HTTP path's buffers and writing: its own read buffer only
//! while a frame is partly received, the backlog for output the socket did not take
//! (reading pauses while it is non-empty), and the HTTP closing states once the close
//! handshake is done or the connection is failed (`Closing`, then the half-close and
//! `Draining`). Senders' frames wait in their outbox (bounded) and move to the backlog
//! only when it is empty, so a slow client holds at most about twice
//! [`WsOptions::max_queued`](crate::websocket::WsOptions::max_queued) of output.

use std::io;
use std::time::Instant;

use bytes::{Buf, BytesMut};

use super::{Backlog, Conn, Ctx, State, Verdict};
use crate::app::websocket::{
    in_message_call, Accepted, BinaryHandler, EventHandler, MaskedBinary, Message, WsEvent,
    WsOptions, WsSender,
};
use crate::proto::ws::frame::{self, Decoder, Incoming};
use crate::server::transport::Transport;

/// Messages one connection gets handled in one readiness pass before the thread's other
/// connections get theirs.
const PASS_MESSAGES: u32 = 64;

/// The WebSocket side of a connection.
pub(crate) struct WsConn {
    decoder: Decoder,
    handler: EventHandler,
    /// Where whole single-frame binary messages go, still masked, if the handler gave one.
    binary: Option<BinaryHandler>,
    sender: WsSender,
    pub(super) options: WsOptions,
    /// Our close frame is queued or sent.
    close_sent: bool,
    /// The close handshake is over (the client's close arrived after or before ours, or
    /// the connection was failed): the connection closes once the output is out.
    done: bool,
    /// [`WsEvent::Closed`] was delivered.
    ended: bool,
    /// The idle timeout passed and a ping went out; nothing arrived since.
    pinged: bool,
    /// The handler sent to this connection from inside a message's call, which is not
    /// announced through the mailbox (see [`in_message_call`]): its output is to be taken.
    unannounced: bool,
}

impl WsConn {
    fn new(mut accepted: Accepted) -> WsConn {
        // Invariant: only this takes the handler, once.
        let handler = accepted
            .handler
            .take()
            .expect("an accepted upgrade has its handler");
        let binary = accepted.binary.take();
        let decoder = Decoder::new(accepted.options.max_message);
        WsConn {
            decoder: match binary {
                Some(_) => decoder.with_masked_binary(),
                None => decoder,
            },
            handler,
            binary,
            sender: accepted.sender.clone(),
            options: accepted.options,
            close_sent: false,
            done: false,
            ended: false,
            pinged: false,
            unannounced: false,
        }
    }

    /// Calls the handler; a panic in it fails the connection with 1011 (its message
    /// was printed by the panic hook).
    fn call(&mut self, event: WsEvent, backlog: &mut Backlog) {
        let WsConn {
            handler, sender, ..
        } = self;
        let call = std::panic::AssertUnwindSafe(|| handler(event, sender));
        if std::panic::catch_unwind(call).is_err() && !self.ended {
            self.fail(1011, "internal error", backlog);
        }
    }

    /// Calls the handler with a message; what it sends to this connection meanwhile is
    /// taken by the pass that called it ([`Conn::ws_serve`]), not announced.
    fn deliver(&mut self, message: Message, backlog: &mut Backlog) {
        let WsConn {
            handler, sender, ..
        } = self;
        let mut panicked = false;
        let sent = in_message_call(sender, || {
            let call = std::panic::AssertUnwindSafe(|| handler(WsEvent::Message(message), sender));
            panicked = std::panic::catch_unwind(call).is_err();
        });
        self.unannounced |= sent;
        if panicked && !self.ended {
            self.fail(1011, "internal error", backlog);
        }
    }

    /// Hands a whole binary message, still masked, to the binary handler (as
    /// [`WsConn::deliver`] does a message to the event handler).
    fn deliver_masked(&mut self, masked: &[u8], mask: [u8; 4], backlog: &mut Backlog) {
        self.pinged = false;
        if self.close_sent {
            // After our close frame, data is discarded (RFC 6455 section 1.4).
            return;
        }
        let WsConn { binary, sender, .. } = self;
        let Some(binary) = binary.as_mut() else {
            // Invariant: only a decoder made for a binary handler leaves messages masked.
            unreachable!("a masked binary message without a binary handler");
        };
        let mut panicked = false;
        let sent = in_message_call(sender, || {
            let message = MaskedBinary::new(masked, mask);
            let call = std::panic::AssertUnwindSafe(|| binary(message, sender));
            panicked = std::panic::catch_unwind(call).is_err();
        });
        self.unannounced |= sent;
        if panicked && !self.ended {
            self.fail(1011, "internal error", backlog);
        }
    }

    /// Says [`WsEvent::Closed`] once, and stops the senders.
    fn end(&mut self, code: u16, reason: &str, backlog: &mut Backlog) {
        if std::mem::replace(&mut self.ended, true) {
            return;
        }
        self.sender.mark_closed();
        let closed = WsEvent::Closed {
            code,
            reason: reason.to_owned(),
        };
        self.call(closed, backlog);
    }

    /// Sends a close frame of our own (once) and stops the senders.
    fn send_close(&mut self, code: u16, reason: &str, backlog: &mut Backlog) {
        if std::mem::replace(&mut self.close_sent, true) {
            return;
        }
        self.sender.mark_closed();
        let mut out = BytesMut::new();
        frame::encode_close(&mut out, code, reason);
        backlog.push_back(out.freeze());
    }

    /// Fails the connection (RFC 6455 section 7.1.7): our close frame with `code`, then
    /// the connection closes without waiting for the client's.
    fn fail(&mut self, code: u16, reason: &str, backlog: &mut Backlog) {
        self.send_close(code, reason, backlog);
        self.done = true;
        self.end(code, reason, backlog);
    }

    /// Moves the senders' frames to `backlog`; says `Writable` if one waited for room.
    fn take_output(&mut self, backlog: &mut Backlog) {
        self.unannounced = false;
        let taken = self.sender.take(backlog);
        if self.sender.is_closed() && !self.ended {
            // A sender's close frame went out with the rest.
            self.close_sent = true;
        }
        if taken.writable && !self.ended {
            self.call(WsEvent::Writable, backlog);
        }
    }

    /// Handles one thing decoded from the client.
    fn incoming(&mut self, incoming: Incoming, backlog: &mut Backlog) {
        self.pinged = false;
        match incoming {
            // After our close frame, data is discarded (RFC 6455 section 1.4).
            Incoming::Text(_) | Incoming::Binary(_) if self.close_sent => {}
            Incoming::Text(t) => self.deliver(Message::Text(t), backlog),
            Incoming::Binary(b) => self.deliver(Message::Binary(b), backlog),
            // Handled by `ws_decode`, which has the buffer it sits in.
            Incoming::MaskedBinary { .. } => {}
            Incoming::Ping(data) if !self.close_sent => {
                let mut out = BytesMut::new();
                frame::encode(&mut out, frame::PONG, &data);
                backlog.push_back(out.freeze());
            }
            Incoming::Ping(_) | Incoming::Pong => {}
            Incoming::Close(close) => {
                // What the senders queued before the client's close still goes out, then
                // our close frame echoes the client's code.
                self.take_output(backlog);
                let (code, reason) = close.unwrap_or((1005, String::new()));
                if !self.close_sent {
                    if code == 1005 {
                        let mut out = BytesMut::new();
                        frame::encode(&mut out, frame::CLOSE, b"");
                        backlog.push_back(out.freeze());
                        self.close_sent = true;
                        self.sender.mark_closed();
                    } else {
                        self.send_close(code, "", backlog);
                    }
                }
                self.done = true;
                self.end(code, &reason, backlog);
            }
        }
    }
}

impl Drop for WsConn {
    /// The connection is gone (dropped by the event loop, or at shutdown's deadline):
    /// the handler hears of it if it has not yet.
    fn drop(&mut self) {
        let mut ignored = Backlog::default();
        self.end(1006, "", &mut ignored);
    }
}

impl<S: Transport> Conn<S> {
    /// Switches the connection to WebSocket after its handshake was accepted: the `101`
    /// head goes out, and frames the client sent right behind the handshake are handled.
    pub(super) fn switch_to_websocket(&mut self, accepted: Accepted, ctx: &mut Ctx) -> Verdict {
        self.backlog.push_back(accepted.head.clone());
        self.state = State::WebSocket;
        self.ws = Some(Box::new(WsConn::new(accepted)));
        self.ws_serve(ctx)
    }

    /// Handles a readiness event of a WebSocket connection.
    pub(super) fn ws_ready(&mut self, writable: bool, ctx: &mut Ctx) -> Verdict {
        if writable && !self.backlog.is_empty() {
            match self.flush_backlog() {
                Err(_) => return self.ws_gone(),
                Ok(false) => return Verdict::Keep,
                Ok(true) => {}
            }
        }
        self.ws_serve(ctx)
    }

    /// Senders queued output: sends it if the socket is not behind already.
    pub(crate) fn ws_notified(&mut self, ctx: &mut Ctx) -> Verdict {
        if self.state != State::WebSocket || !self.backlog.is_empty() {
            return Verdict::Keep;
        }
        if let Some(ws) = self.ws.as_mut() {
            ws.take_output(&mut self.backlog);
        }
        self.ws_flush(ctx)
    }

    /// The idle timeout passed: a ping asks the client for a sign of life (a quiet but
    /// live client answers with a pong, which restarts the timeout); after a ping
    /// unanswered for another timeout, the connection is closed with 1001; a client that
    /// did not answer our close is given up.
    pub(super) fn ws_time_out(&mut self, ctx: &mut Ctx) -> Verdict {
        let Some(ws) = self.ws.as_mut() else {
            return Verdict::Drop;
        };
        if ws.close_sent {
            return self.ws_gone();
        }
        if !ws.pinged {
            ws.pinged = true;
            if self.backlog.is_empty() {
                let mut out = BytesMut::new();
                frame::encode(&mut out, frame::PING, b"");
                self.backlog.push_back(out.freeze());
            }
            return self.ws_flush(ctx);
        }
        ws.fail(1001, "idle timeout", &mut self.backlog);
        self.ws_flush(ctx)
    }

    /// Shutdown: close with 1001 and wait (until shutdown's deadline) for the client's
    /// close frame.
    pub(crate) fn ws_going_away(&mut self, ctx: &mut Ctx) -> Verdict {
        match self.ws.as_mut() {
            Some(ws) if self.state == State::WebSocket && !ws.close_sent => {
                ws.send_close(1001, "server shutting down", &mut self.backlog);
                self.ws_flush(ctx)
            }
            _ => Verdict::Keep,
        }
    }

    /// When the idle timeout of this connection ends if nothing happens before.
    pub(super) fn ws_deadline(&self, now: Instant) -> Option<Instant> {
        let idle = self.ws.as_ref()?.options.idle_timeout;
        Some(now + crate::config::bounded(idle))
    }

    /// The connection ended without a close handshake.
    fn ws_gone(&mut self) -> Verdict {
        if let Some(ws) = self.ws.as_mut() {
            ws.end(1006, "", &mut self.backlog);
        }
        Verdict::Drop
    }

    /// Writes the backlog; once the close handshake is over, moves to the HTTP path's
    /// closing states (the half-close once the output is out).
    fn ws_flush(&mut self, ctx: &mut Ctx) -> Verdict {
        if self.flush_backlog().is_err() {
            return self.ws_gone();
        }
        if self.ws.as_ref().is_some_and(|ws| ws.done) {
            self.state = State::Closing;
            self.recycle(&mut ctx.pool);
            if self.backlog.is_empty() {
                return self.half_close();
            }
        }
        Verdict::Keep
    }

    /// Sends what is queued, then reads and handles the client's frames until the socket
    /// is drained, the pass's cap, or output the socket does not take.
    pub(super) fn ws_serve(&mut self, ctx: &mut Ctx) -> Verdict {
        self.more = false;
        if let Some(ws) = self.ws.as_mut() {
            if self.backlog.is_empty() {
                ws.take_output(&mut self.backlog);
            }
        }
        if self.ws_flush(ctx) == Verdict::Drop {
            return Verdict::Drop;
        }
        if self.state != State::WebSocket || !self.backlog.is_empty() {
            // Closing, or the client is behind: its input waits.
            return Verdict::Keep;
        }
        let mut buf = match self.rbuf.take() {
            Some(own) => own,
            None => std::mem::take(&mut ctx.rbuf),
        };
        let mut handled = 0;
        let mut eof = false;
        let mut failed = false;
        // Frames that came behind the handshake are handled before reading.
        let mut fresh = !buf.is_empty();
        loop {
            if fresh {
                fresh = false;
                if !self.ws_decode(&mut buf, &mut handled) {
                    break;
                }
                if handled >= PASS_MESSAGES {
                    self.more = true;
                    break;
                }
            }
            if buf.capacity() - buf.len() < 1024 {
                buf.reserve(ctx.pool.buf_size());
            }
            let spare = buf.capacity() - buf.len();
            match self.stream.read_into(&mut buf) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    fresh = true;
                    if n < spare && !self.read_closed {
                        // Drained (edge-triggered): decode what came, then stop.
                        self.ws_decode(&mut buf, &mut handled);
                        if handled >= PASS_MESSAGES {
                            self.more = true;
                        }
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        self.stash(buf, ctx);
        let done = self.ws.as_ref().is_none_or(|ws| ws.done);
        if (eof || failed) && !done {
            return self.ws_gone();
        }
        if let Some(ws) = self.ws.as_mut() {
            if self.backlog.is_empty() && !ws.done {
                ws.take_output(&mut self.backlog);
            }
        }
        if done && self.more {
            self.more = false;
        }
        if self.ws_flush(ctx) == Verdict::Drop {
            return Verdict::Drop;
        }
        // Output the handler sent unannounced while a frame written first (a pong) kept
        // it in the outbox above: the backlog is out now, so it follows. (A backlog the
        // socket did not take leaves it to the writable event's pass.)
        match self.ws.as_mut() {
            Some(ws)
                if ws.unannounced
                    && !ws.done
                    && self.state == State::WebSocket
                    && self.backlog.is_empty() =>
            {
                ws.take_output(&mut self.backlog);
                self.ws_flush(ctx)
            }
            _ => Verdict::Keep,
        }
    }

    /// Decodes and handles the frames in `buf`; false once the connection stops reading
    /// (closed, failed, or output waiting for the socket).
    fn ws_decode(&mut self, buf: &mut BytesMut, handled: &mut u32) -> bool {
        let Some(ws) = self.ws.as_mut() else {
            return false;
        };
        while !ws.done && *handled < PASS_MESSAGES {
            match ws.decoder.decode(buf) {
                Ok(Some(Incoming::MaskedBinary { len, mask })) => {
                    *handled += 1;
                    ws.deliver_masked(&buf[..len], mask, &mut self.backlog);
                    buf.advance(len);
                }
                Ok(Some(incoming)) => {
                    *handled += 1;
                    ws.incoming(incoming, &mut self.backlog);
                }
                Ok(None) => break,
                Err(violation) => {
                    buf.clear();
                    ws.fail(violation.code, violation.reason, &mut self.backlog);
                }
            }
        }
        if ws.done {
            buf.clear();
        }
        !ws.done
    }
}
