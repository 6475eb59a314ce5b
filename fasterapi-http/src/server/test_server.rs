//! Serving requests in process, without a socket: [`TestServer`].

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fasterapi_core::mpmc::Queue;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::app::later::Companion;
use crate::app::later::{Completion, Mailbox};
use crate::app::{App, Config};
use crate::proto::h1::date;
use crate::server::conn::{Conn, Ctx, Phase, Verdict};
use crate::server::executor::Executor;
use crate::server::transport::MemoryTransport;

const WAKER: Token = Token(0);
const COMPANION: Token = Token(1);

/// An app served in process: raw HTTP/1.1 bytes in, the server's bytes out, through the
/// router and the connection state machine the server runs, over an in-memory connection
/// instead of a socket.
///
/// Each [`exchange`](TestServer::exchange) is one connection: the request bytes arrive
/// at once and the client half-closes, as `printf 'GET / ...' | nc -N host port` would
/// do. Everything the server does with them is what it does on a socket: pipelining,
/// refusals and their status codes, `100 Continue`, chunked bodies, the per-pass caps,
/// handlers inline, on the worker pool ([`RouteMut::blocking`](crate::RouteMut::blocking))
/// or answering later ([`Request::defer`](crate::Request::defer)). A WebSocket route
/// ([`App::websocket`](crate::App::websocket)) answers a handshake here as on a socket
/// (its refusals, or the `101`), but the conversation after an accepted one needs a
/// socket: the exchange's input has ended, so the connection closes after the `101`.
///
/// The test server has no I/O thread of its own: [`exchange`](TestServer::exchange) runs
/// the connection on the calling thread, and runs the app's
/// [`Companion`](crate::Companion) there while it waits for deferred answers. The companion
/// is made by [`new`](TestServer::new) on the calling thread (as an I/O thread makes its
/// own), so a `TestServer` is not `Send`: make it on the thread that will call `exchange`.
/// A worker pool is started when the app has blocking routes; its workers answer through
/// the test server's mailbox, as they answer an I/O thread. A caller holding a lock that
/// handlers take (a Python caller and the GIL) must release it around `exchange`, or the
/// worker pool's handlers wait for it until the exchange times out.
///
/// ```
/// use fasterapi_http::{App, Config, Request, Response, TestServer};
///
/// let mut app = App::new();
/// app.get("/users/{id}", |req: &Request| -> Result<Response, fasterapi_http::Error> {
///     let id: u64 = req.param("id")?;
///     Ok(Response::json(|o| {
///         o.field("id", id);
///     }))
/// });
/// app.get("/later", |req: &Request| {
///     if let Some(reply) = req.defer() {
///         std::thread::spawn(move || reply.send(Response::text("answered later")));
///     }
///     "not sent once deferred"
/// });
/// let mut server = TestServer::new(app, Config::default())?;
///
/// // Two pipelined requests on one connection: the answers come in request order.
/// let answer = server.exchange(
///     b"GET /later HTTP/1.1\r\nHost: t\r\n\r\nGET /users/x HTTP/1.1\r\nHost: t\r\n\r\n",
/// )?;
/// let answer = String::from_utf8(answer).unwrap();
/// let later = answer.find("answered later").unwrap();
/// let bad_id = answer.find("HTTP/1.1 400 Bad Request").unwrap();
/// assert!(answer.starts_with("HTTP/1.1 200 OK\r\n") && later < bad_id);
///
/// let answer = server.exchange(b"GET /users/7 HTTP/1.1\r\nHost: t\r\n\r\n")?;
/// assert!(answer.ends_with(br#"{"id":7}"#));
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct TestServer {
    ctx: Ctx,
    /// Waits for the mailbox's waker and the companion's descriptor.
    poll: Poll,
    events: Events,
    /// The worker pool, if the app has blocking routes.
    executor: Option<Executor>,
    companion: Option<Box<dyn Companion>>,
    /// The companion's descriptor became readable since it last ran.
    companion_ready: bool,
    /// Answers taken from the mailbox and not yet written.
    completions: VecDeque<Completion>,
    /// Swapped with the mailbox's list when taking answers.
    spare: Vec<Completion>,
    /// Swapped with the mailbox's list of streamed bodies' wake-ups.
    stream_wakes: Vec<(usize, u64)>,
    /// The id of the last connection.
    last_id: u64,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer")
            .field("app", &self.ctx.app)
            .field("worker_pool", &self.executor.is_some())
            .field("connections", &self.last_id)
            .finish_non_exhaustive()
    }
}

impl TestServer {
    /// The address every connection of a test server comes from
    /// ([`Request::peer_addr`](crate::Request::peer_addr)): port 50000 of the unspecified
    /// address `0.0.0.0`, which no TCP client has, so that it cannot be mistaken for a
    /// real one. (Starlette's TestClient reports `("testclient", 50000)`, which fasterapi's
    /// Python `Request.client` shows for this address.)
    pub const PEER_ADDR: SocketAddr =
        SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 50_000));

    /// Freezes `app` as [`App::bind`] would, with `config` as its settings: malformed or
    /// duplicate routes and bad `config` values are refused with the same errors. Makes
    /// the app's [`Companion`](crate::Companion) (with thread index 0) on the calling
    /// thread, and starts the worker pool if the app has blocking routes.
    pub fn new(mut app: App, config: Config) -> io::Result<TestServer> {
        app.config = config;
        app.check()?;
        app.freeze()?;
        let app = Arc::new(app);
        let poll = Poll::new()?;
        let mailboxes: Arc<[Mailbox]> =
            Arc::new([Mailbox::new(Waker::new(poll.registry(), WAKER)?)]);
        let queue = app
            .has_blocking_routes()
            .then(|| Arc::new(Queue::new(app.config.queue_capacity)));
        let companion = match &app.companion {
            Some(make) => {
                let companion = make(0)?;
                if let Some(fd) = companion.fd() {
                    poll.registry().register(
                        &mut mio::unix::SourceFd(&fd),
                        COMPANION,
                        Interest::READABLE,
                    )?;
                }
                Some(companion)
            }
            None => None,
        };
        let executor = match &queue {
            Some(queue) => Some(Executor::start(
                app.clone(),
                mailboxes.clone(),
                queue.clone(),
            )?),
            None => None,
        };
        Ok(TestServer {
            ctx: Ctx::new(app, 0, queue, Some(mailboxes)),
            poll,
            events: Events::with_capacity(8),
            executor,
            companion,
            companion_ready: false,
            completions: VecDeque::new(),
            spare: Vec::new(),
            stream_wakes: Vec::new(),
            last_id: 0,
        })
    }

    /// Sends `request` (raw HTTP/1.1 bytes: one or more pipelined requests) on a new
    /// in-memory connection, then half-closes it, and returns every byte the server wrote
    /// until it closed the connection or went idle with nothing pending.
    ///
    /// Deferred answers ([`Request::defer`](crate::Request::defer), blocking routes on the
    /// worker pool) are waited for, running the app's companion and taking the answers
    /// delivered to the test server's mailbox meanwhile, for at most
    /// [`Config::shutdown_timeout`] from the call (the time a shutdown gives requests in
    /// flight): past it the connection is closed as a shutdown closes it (a deferred
    /// request's abandon hook runs) and the error is [`io::ErrorKind::TimedOut`].
    pub fn exchange(&mut self, request: &[u8]) -> io::Result<Vec<u8>> {
        let give_up = Instant::now() + crate::config::bounded(self.ctx.app.config.shutdown_timeout);
        let mut transport = MemoryTransport::new();
        transport.push_input(request);
        transport.close_input();
        self.last_id += 1;
        let mut conn = Conn::new(transport, 0, self.last_id, Self::PEER_ADDR);
        self.turn();
        // The request and the half-close arrive together: epoll would report read-closed.
        conn.note_read_closed(true);
        let mut verdict = conn.ready(true, true, &mut self.ctx);
        let result = loop {
            if verdict == Verdict::Drop {
                break Ok(());
            }
            if conn.wants_another_pass() {
                self.turn();
                verdict = conn.serve_again(&mut self.ctx);
                continue;
            }
            if conn.is_streaming() {
                // The producer of a streamed body has nothing yet: wait for its wake-up.
                match self.wait_for(conn.id(), give_up, Self::take_stream_wake) {
                    Ok(()) => {
                        self.turn();
                        verdict = conn.pump(&mut self.ctx);
                    }
                    Err(e) => break Err(e),
                }
                continue;
            }
            if conn.phase() != Phase::Deferred {
                // Closed on our side or idle: nothing more will be written.
                break Ok(());
            }
            match self.wait_for(conn.id(), give_up, Self::take_answer) {
                Ok(answer) => {
                    self.turn();
                    verdict = conn.complete(answer, &mut self.ctx);
                }
                Err(e) => break Err(e),
            }
        };
        conn.abandon();
        conn.recycle(&mut self.ctx.pool);
        result.map(|()| conn.stream_mut().take_written())
    }

    /// What an event loop does at the start of each turn.
    fn turn(&mut self) {
        self.ctx.now = Instant::now();
        date::refresh();
    }

    /// Waits for what `take` finds for connection `id` (the answer to its deferred request,
    /// its streamed body's wake-up), running the companion meanwhile, until `give_up`.
    fn wait_for<T>(
        &mut self,
        id: u64,
        give_up: Instant,
        take: fn(&mut Self, u64) -> Option<T>,
    ) -> io::Result<T> {
        loop {
            if let Some(answer) = take(self, id) {
                return Ok(answer);
            }
            if let Some(companion) = self.companion.as_mut() {
                let due = companion.due().is_some_and(|when| when <= Instant::now());
                if self.companion_ready || due {
                    self.companion_ready = false;
                    companion.run();
                    // A handler it resumed may have answered from this thread.
                    if let Some(answer) = take(self, id) {
                        return Ok(answer);
                    }
                }
            }
            let now = Instant::now();
            if now >= give_up {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!(
                        "no answer within Config::shutdown_timeout ({:?})",
                        self.ctx.app.config.shutdown_timeout
                    ),
                ));
            }
            let mut wait = give_up - now;
            if let Some(when) = self.companion.as_ref().and_then(|c| c.due()) {
                wait = wait.min(when.saturating_duration_since(now));
            }
            self.poll_events(wait)?;
        }
    }

    /// Moves delivered answers here and returns the one for connection `id`; answers for
    /// earlier connections (which gave up on them) are dropped.
    fn take_answer(&mut self, id: u64) -> Option<Completion> {
        if let Some(later) = &self.ctx.later {
            later.mailboxes()[0].take(&mut self.spare);
            self.completions.extend(self.spare.drain(..));
        }
        while let Some(answer) = self.completions.pop_front() {
            if answer.conn_id == id {
                return Some(answer);
            }
        }
        None
    }

    /// Whether connection `id`'s streamed body woke it (wake-ups of earlier connections are
    /// dropped). Answers delivered meanwhile stay for [`TestServer::take_answer`].
    fn take_stream_wake(&mut self, id: u64) -> Option<()> {
        let later = self.ctx.later.as_ref()?;
        later.mailboxes()[0].take(&mut self.spare);
        self.completions.extend(self.spare.drain(..));
        let mut woken = std::mem::take(&mut self.stream_wakes);
        later.mailboxes()[0].take_streams(&mut woken);
        let found = woken.iter().any(|&(_, conn)| conn == id);
        woken.clear();
        self.stream_wakes = woken;
        found.then_some(())
    }

    /// Waits up to `wait` for the mailbox's wake-up or the companion's descriptor.
    fn poll_events(&mut self, wait: Duration) -> io::Result<()> {
        match self.poll.poll(&mut self.events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e),
        }
        if self.events.iter().any(|e| e.token() == COMPANION) {
            self.companion_ready = true;
        }
        Ok(())
    }
}

impl Drop for TestServer {
    /// Stops the companion, then lets the worker pool finish what it was given (for at
    /// most [`Config::shutdown_timeout`]).
    fn drop(&mut self) {
        if let Some(companion) = self.companion.as_mut() {
            companion.stop();
        }
        if let Some(executor) = self.executor.take() {
            let timeout = crate::config::bounded(self.ctx.app.config.shutdown_timeout);
            executor.stop(Instant::now() + timeout);
        }
    }
}
