//! One I/O thread: a `mio::Poll`, its own listener, its connections.

use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::BytesMut;
use fasterapi_core::buf::BufPool;
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::app::App;
use crate::conn::{Conn, Ctx, Verdict};
use crate::date;
use crate::parse::Limits;
use crate::response::Output;
use crate::server::Shared;

const LISTENER: Token = Token(usize::MAX - 1);
pub(crate) const WAKER: Token = Token(usize::MAX);

pub(crate) struct EventLoop {
    poll: Poll,
    listener: TcpListener,
    /// Connections by token; freed slots are reused through `free`.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    ctx: Ctx,
    shared: Arc<Shared>,
}

impl EventLoop {
    pub(crate) fn new(
        poll: Poll,
        listener: std::net::TcpListener,
        app: Arc<App>,
        shared: Arc<Shared>,
    ) -> io::Result<EventLoop> {
        let mut listener = TcpListener::from_std(listener);
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let c = &app.config;
        let limits = Limits {
            max_head: c.max_head_bytes,
            max_headers: c.max_headers,
            max_target: c.max_target_bytes,
            max_body: c.max_body_bytes,
        };
        let pool = BufPool::new(c.buffer_size, c.pooled_buffers);
        let out = Output::new(BytesMut::with_capacity(c.buffer_size));
        let ctx = Ctx { app, limits, pool, out, chunked_body: Vec::new() };
        Ok(EventLoop { poll, listener, conns: Vec::new(), free: Vec::new(), ctx, shared })
    }

    pub(crate) fn run(mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            if let Err(e) = self.poll.poll(&mut events, None) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            date::refresh();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    WAKER => {
                        if self.shared.stopping.load(Ordering::SeqCst) {
                            return Ok(());
                        }
                    }
                    Token(i) => {
                        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
                        let writable = event.is_writable() || event.is_write_closed();
                        let Some(conn) = self.conns.get_mut(i).and_then(Option::as_mut) else {
                            continue;
                        };
                        if conn.ready(readable, writable, &mut self.ctx) == Verdict::Drop {
                            self.close(i);
                        }
                    }
                }
            }
            // A wake may have been consumed by an earlier event batch.
            if self.shared.stopping.load(Ordering::Relaxed) {
                return Ok(());
            }
        }
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    // Responses are written whole, so Nagle would only add latency.
                    let _ = stream.set_nodelay(true);
                    let i = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    let mut conn = Conn::new(stream);
                    // Both interests once, edge-triggered: no re-registration per write.
                    let registered = self.poll.registry().register(
                        conn.stream_mut(),
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    match registered {
                        Ok(()) => self.conns[i] = Some(conn),
                        Err(e) => {
                            eprintln!("fasterapi: cannot register a connection: {e}");
                            self.free.push(i);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // Out of descriptors or memory: the pending connections stay queued in
                    // the kernel and are retried on the next listener event.
                    eprintln!("fasterapi: accept failed: {e}");
                    return;
                }
            }
        }
    }

    fn close(&mut self, i: usize) {
        if let Some(mut conn) = self.conns[i].take() {
            let _ = self.poll.registry().deregister(conn.stream_mut());
            self.free.push(i);
        }
    }
}
