//! One I/O thread: a `mio::Poll`, its own listener, its connections, their timers.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::app::form;
use crate::app::later::Completion;
use crate::app::later::{self, Companion};
use crate::app::App;
use crate::proto::h1::date;
use crate::server::conn::{Conn, Ctx, Deadlines, Timeouts, Verdict};
use crate::server::Shared;

const COMPANION_TIMER: Token = Token(usize::MAX - 3);
const COMPANION: Token = Token(usize::MAX - 2);
const LISTENER: Token = Token(usize::MAX - 1);
pub(crate) const WAKER: Token = Token(usize::MAX);

/// While accepting is paused at the connection limit, look again this often (a
/// connection closing on another thread does not wake this one).
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// Connections waiting for upload memory are served again at least this often (memory
/// that handlers on other threads give back does not wake the loop).
const MEMORY_RETRY: Duration = Duration::from_millis(1);

pub(crate) struct EventLoop {
    poll: Poll,
    /// `None` once shutdown began.
    listener: Option<TcpListener>,
    /// Accepting stopped at the connection limit, or after an accept error.
    accept_paused: bool,
    /// An accept error was reported and no accept has succeeded since.
    accept_failing: bool,
    /// Connections by token; freed slots are reused through `free`.
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    open: usize,
    next_id: u64,
    /// Deadlines as `(when, token, conn id)`, earliest first. A connection has at most
    /// one live entry (`Conn::armed`); entries of closed or re-armed connections are
    /// skipped when they surface, so timers cost O(log n) per arming, never a scan.
    timers: BinaryHeap<Reverse<(Instant, usize, u64)>>,
    timeouts: Timeouts,
    /// Phase deadlines as of this loop turn.
    deadlines: Deadlines,
    completions: Vec<Completion>,
    /// WebSocket connections whose senders queued output, as `(token, conn id)`.
    websockets: Vec<(usize, u64)>,
    /// Connections whose streamed body has more, taken from the mailbox.
    streams: Vec<(usize, u64)>,
    /// Connections whose pass stopped at its cap, as `(token, conn id)`: served again
    /// after the other ready connections of this turn.
    again: Vec<(usize, u64)>,
    /// Connections that stopped reading an upload until upload memory comes back, and
    /// the count of memory given back ([`form::upload_memory_freed`]) when they were last
    /// served: served again once it changed, or after [`MEMORY_RETRY`].
    waiting_memory: Vec<(usize, u64)>,
    memory_freed_seen: u64,
    memory_retry_at: Option<Instant>,
    /// The runtime loop this thread drives beside its connections, if the app has one.
    companion: Option<Box<dyn Companion>>,
    /// Its fd became readable since it last ran.
    companion_ready: bool,
    /// Fires at the companion's due time to the nanosecond (poll timeouts are whole
    /// milliseconds).
    companion_timer: Option<crate::server::sys::PreciseTimer>,
    ctx: Ctx,
    shared: Arc<Shared>,
    /// When shutdown began, the time by which in-flight requests must be done.
    drain_deadline: Option<Instant>,
}

impl EventLoop {
    pub(crate) fn new(
        home: usize,
        poll: Poll,
        listener: std::net::TcpListener,
        app: Arc<App>,
        shared: Arc<Shared>,
    ) -> io::Result<EventLoop> {
        let mut listener = TcpListener::from_std(listener);
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let c = &app.config;
        let timeouts = Timeouts {
            header: c.header_timeout,
            body: c.body_timeout,
            idle: c.idle_timeout,
            write: c.write_timeout,
        };
        later::enter_io_thread(&shared.mailboxes[home]);
        let companion = match &app.companion {
            Some(make) => {
                let companion = make(home)?;
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
        let companion_timer = match companion {
            Some(_) => {
                let timer = crate::server::sys::PreciseTimer::new()?;
                poll.registry().register(
                    &mut mio::unix::SourceFd(&timer.fd()),
                    COMPANION_TIMER,
                    Interest::READABLE,
                )?;
                Some(timer)
            }
            None => None,
        };
        let ctx = Ctx::new(
            app,
            home,
            shared.queue.clone(),
            Some(shared.mailboxes.clone()),
        );
        Ok(EventLoop {
            poll,
            listener: Some(listener),
            accept_paused: false,
            accept_failing: false,
            conns: Vec::new(),
            free: Vec::new(),
            open: 0,
            next_id: 0,
            timers: BinaryHeap::new(),
            timeouts,
            deadlines: Deadlines::from(Instant::now(), &timeouts),
            completions: Vec::new(),
            websockets: Vec::new(),
            streams: Vec::new(),
            again: Vec::new(),
            waiting_memory: Vec::new(),
            memory_freed_seen: 0,
            memory_retry_at: None,
            companion,
            companion_ready: false,
            companion_timer,
            ctx,
            shared,
            drain_deadline: None,
        })
    }

    pub(crate) fn run(mut self) -> io::Result<()> {
        let result = self.serve();
        if let Some(companion) = self.companion.as_mut() {
            companion.turn_done();
            companion.stop();
        }
        result
    }

    fn serve(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            if let Some(companion) = self.companion.as_mut() {
                companion.turn_done();
            }
            let now = self.end_metrics_turn();
            let timeout = self.poll_timeout(now);
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.ctx.now = Instant::now();
            if let Some(m) = &self.ctx.app.metrics {
                m.turn_begin(self.ctx.now);
            }
            self.deadlines = Deadlines::from(self.ctx.now, &self.timeouts);
            date::refresh();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(),
                    COMPANION => self.companion_ready = true,
                    COMPANION_TIMER => {
                        if let Some(timer) = self.companion_timer.as_mut() {
                            timer.clear();
                        }
                    }
                    WAKER => self.take_completions(),
                    Token(i) => {
                        let readable =
                            event.is_readable() || event.is_read_closed() || event.is_error();
                        let writable = event.is_writable() || event.is_write_closed();
                        let Some(conn) = self.conns.get_mut(i).and_then(Option::as_mut) else {
                            continue;
                        };
                        conn.note_read_closed(event.is_read_closed());
                        let verdict = conn.ready(readable, writable, &mut self.ctx);
                        self.settle(i, verdict);
                    }
                }
            }
            self.serve_again();
            self.run_companion();
            if later::take_local_delivery() {
                self.take_completions();
            }
            self.serve_waiting_memory();
            self.expire_timers();
            if self.accept_paused
                && self.shared.connections.load(Ordering::Relaxed) < self.shared.max_connections
            {
                self.accept_paused = false;
                self.accept();
            }
            if self.shared.stopping.load(Ordering::Acquire) && self.stop_step() {
                self.end_metrics_turn();
                return Ok(());
            }
        }
    }

    /// Serves once more each connection whose last pass stopped at its cap (connections
    /// that reach the cap again wait for the next turn).
    fn serve_again(&mut self) {
        if self.again.is_empty() {
            return;
        }
        self.serve_listed(
            |l| &mut l.again,
            Conn::wants_another_pass,
            Conn::serve_again,
        );
    }

    /// Serves again the connections waiting for upload memory, once some came back or
    /// [`MEMORY_RETRY`] after they were last served (their waits are bounded by the
    /// intake's own limit, checked when served).
    fn serve_waiting_memory(&mut self) {
        if self.waiting_memory.is_empty() {
            return;
        }
        let freed = form::upload_memory_freed();
        let due = self.memory_retry_at.is_some_and(|at| at <= Instant::now());
        if freed == self.memory_freed_seen && !due {
            return;
        }
        self.memory_freed_seen = freed;
        self.memory_retry_at = None;
        self.serve_listed(
            |l| &mut l.waiting_memory,
            Conn::waits_for_memory,
            Conn::serve_waiting,
        );
    }

    /// Serves with `serve` each connection of the `(token, conn id)` list `list` that is
    /// still open and still `wants` it; those that want it again meanwhile are listed
    /// anew. The list's allocation is kept for the next turn. Inlined, so that each
    /// caller's functions are direct calls.
    #[inline(always)]
    fn serve_listed(
        &mut self,
        list: fn(&mut Self) -> &mut Vec<(usize, u64)>,
        wants: fn(&Conn) -> bool,
        serve: fn(&mut Conn, &mut Ctx) -> Verdict,
    ) {
        let mut listed = std::mem::take(list(self));
        for &(i, id) in &listed {
            let Some(conn) = self.conns[i].as_mut().filter(|c| c.id() == id && wants(c)) else {
                continue;
            };
            let verdict = serve(conn, &mut self.ctx);
            self.settle(i, verdict);
        }
        listed.clear();
        let now = list(self);
        if now.is_empty() {
            *now = listed;
        }
    }

    /// Runs the companion if its fd became readable or its time came.
    fn run_companion(&mut self) {
        let Some(companion) = self.companion.as_mut() else {
            return;
        };
        let due = companion.due().is_some_and(|when| when <= Instant::now());
        if self.companion_ready || due {
            self.companion_ready = false;
            companion.run();
        }
        if let Some(timer) = self.companion_timer.as_mut() {
            if let Err(e) = timer.set(companion.due()) {
                diag!(error, "fasterapi: cannot set the event loop's timer: {e}");
            }
        }
    }

    /// With metrics on, ends this turn's timing (see
    /// [`observe`](crate::observe#what-the-latency-histogram-measures)); returns the time
    /// read then, if it read one.
    fn end_metrics_turn(&self) -> Option<Instant> {
        let m = self.ctx.app.metrics.as_ref()?;
        m.turn_end(|| {
            let queued = self.shared.queue.as_ref().map_or(0, |q| q.len());
            (self.shared.connections.load(Ordering::Relaxed), queued)
        })
    }

    /// Until the next timer (the connections' or the companion's), or the accept retry
    /// while paused; no wait while connections wait for another pass. `now`: the time if
    /// just read.
    fn poll_timeout(&self, now: Option<Instant>) -> Option<Duration> {
        if !self.again.is_empty() {
            // Connections wait for another pass: look for new events without sleeping.
            return Some(Duration::ZERO);
        }
        let now = now.unwrap_or_else(Instant::now);
        let timer = self.timers.peek().map(|Reverse((when, _, _))| {
            when.saturating_duration_since(now) + Duration::from_millis(1)
        });
        // The companion's time is not rounded up: its timers are often short (a 10 ms
        // sleep of a handler), and running it early only finds nothing due.
        let companion = self
            .companion
            .as_ref()
            .and_then(|c| c.due())
            .map(|when| when.saturating_duration_since(now));
        let timer = match (timer, companion) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timer = match (timer, self.memory_retry_at) {
            (Some(a), Some(b)) => Some(a.min(b.saturating_duration_since(now))),
            (a, b) => a.or(b.map(|at| at.saturating_duration_since(now))),
        };
        let retry = (self.accept_paused || self.drain_deadline.is_some()).then_some(ACCEPT_RETRY);
        match (timer, retry) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// After a connection was handled: close it, or re-arm its timer.
    fn settle(&mut self, i: usize, verdict: Verdict) {
        let Some(conn) = self.conns[i].as_mut() else {
            return;
        };
        if verdict == Verdict::Drop || (self.drain_deadline.is_some() && conn.is_idle()) {
            self.close(i);
            return;
        }
        if conn.wants_another_pass() {
            self.again.push((i, conn.id()));
        }
        if conn.waits_for_memory() && !self.waiting_memory.contains(&(i, conn.id())) {
            if self.waiting_memory.is_empty() {
                // Memory given back since the others began waiting still counts for them.
                self.memory_freed_seen = form::upload_memory_freed();
            }
            self.waiting_memory.push((i, conn.id()));
            self.memory_retry_at
                .get_or_insert_with(|| Instant::now() + MEMORY_RETRY);
        }
        conn.update_deadline(&self.deadlines);
        if let Some(deadline) = conn.deadline {
            if conn.armed.is_none_or(|armed| deadline < armed) {
                conn.armed = Some(deadline);
                self.timers.push(Reverse((deadline, i, conn.id())));
            }
        }
    }

    fn expire_timers(&mut self) {
        let now = self.ctx.now;
        while let Some(&Reverse((when, i, id))) = self.timers.peek() {
            if when > now {
                break;
            }
            self.timers.pop();
            let Some(conn) = self.conns[i]
                .as_mut()
                .filter(|c| c.id() == id && c.armed == Some(when))
            else {
                continue; // closed, or re-armed earlier: a stale entry
            };
            conn.armed = None;
            match conn.deadline {
                Some(deadline) if deadline <= now => {
                    let verdict = conn.time_out(&mut self.ctx);
                    self.settle(i, verdict);
                }
                // Activity pushed the deadline back since this entry was made.
                Some(deadline) => {
                    conn.armed = Some(deadline);
                    self.timers.push(Reverse((deadline, i, id)));
                }
                None => {}
            }
        }
    }

    fn take_completions(&mut self) {
        self.shared.mailboxes[self.ctx.home].take(&mut self.completions);
        let mut completions = std::mem::take(&mut self.completions);
        for c in completions.drain(..) {
            let i = c.token;
            let Some(conn) = self
                .conns
                .get_mut(i)
                .and_then(Option::as_mut)
                .filter(|conn| conn.id() == c.conn_id)
            else {
                continue; // the client left while its request was on the pool
            };
            let verdict = conn.complete(c, &mut self.ctx);
            self.settle(i, verdict);
        }
        self.completions = completions;
        self.shared.mailboxes[self.ctx.home].take_websockets(&mut self.websockets);
        let mut websockets = std::mem::take(&mut self.websockets);
        for (i, id) in websockets.drain(..) {
            let Some(conn) = self
                .conns
                .get_mut(i)
                .and_then(Option::as_mut)
                .filter(|conn| conn.id() == id)
            else {
                continue;
            };
            let verdict = conn.ws_notified(&mut self.ctx);
            self.settle(i, verdict);
        }
        self.websockets = websockets;
        self.shared.mailboxes[self.ctx.home].take_streams(&mut self.streams);
        if !self.streams.is_empty() {
            self.pump_streams();
        }
    }

    /// Sends more of the streamed bodies whose producers woke their connection.
    #[cold]
    fn pump_streams(&mut self) {
        let mut streams = std::mem::take(&mut self.streams);
        for (i, id) in streams.drain(..) {
            let Some(conn) = self
                .conns
                .get_mut(i)
                .and_then(Option::as_mut)
                .filter(|conn| conn.id() == id)
            else {
                continue; // closed since
            };
            let verdict = conn.pump(&mut self.ctx);
            self.settle(i, verdict);
        }
        self.streams = streams;
    }

    /// One step of shutdown; true once this loop is done.
    fn stop_step(&mut self) -> bool {
        let now = self.ctx.now;
        let deadline = *self.drain_deadline.get_or_insert_with(|| {
            // Stop accepting: with every listener closed, new connections are refused.
            if let Some(mut l) = self.listener.take() {
                let _ = self.poll.registry().deregister(&mut l);
            }
            self.shared.listener_closed(self.ctx.home);
            self.ctx.stopping = true;
            now + crate::config::bounded(self.ctx.app.config.shutdown_timeout)
        });
        let idle: Vec<usize> = (0..self.conns.len())
            .filter(|&i| {
                self.conns[i]
                    .as_ref()
                    .is_some_and(|c| now >= deadline || c.is_idle())
            })
            .collect();
        for i in idle {
            self.close(i);
        }
        // WebSocket connections are told with a close frame (once), and closed when the
        // client answers or at the deadline.
        for i in 0..self.conns.len() {
            if let Some(conn) = self.conns[i].as_mut() {
                let verdict = conn.ws_going_away(&mut self.ctx);
                self.settle(i, verdict);
            }
        }
        self.open == 0
    }

    fn accept(&mut self) {
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            if self.shared.connections.load(Ordering::Relaxed) >= self.shared.max_connections {
                // At the mark: leave further clients in the kernel's queue until below it.
                self.accept_paused = true;
                return;
            }
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.accept_failing = false;
                    // Responses are written whole, so Nagle would only add latency.
                    let _ = stream.set_nodelay(true);
                    let i = self.free.pop().unwrap_or_else(|| {
                        self.conns.push(None);
                        self.conns.len() - 1
                    });
                    self.next_id += 1;
                    let mut conn = Conn::new(stream, i, self.next_id, peer);
                    // Both interests once, edge-triggered: no re-registration per write.
                    let registered = self.poll.registry().register(
                        conn.stream_mut(),
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    );
                    match registered {
                        Ok(()) => {
                            self.conns[i] = Some(conn);
                            self.open += 1;
                            self.shared.connections.fetch_add(1, Ordering::Relaxed);
                            self.settle(i, Verdict::Keep);
                        }
                        Err(e) => {
                            diag!(warn, "fasterapi: cannot register a connection: {e}");
                            self.free.push(i);
                        }
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => continue,
                Err(e) => {
                    // Out of descriptors or memory: pause and retry shortly, leaving the
                    // pending connections queued in the kernel.
                    // Said once per episode, not on every retry.
                    if !self.accept_failing {
                        diag!(warn, "fasterapi: accept failed, retrying: {e}");
                        self.accept_failing = true;
                    }
                    self.accept_paused = true;
                    return;
                }
            }
        }
    }

    fn close(&mut self, i: usize) {
        if let Some(mut conn) = self.conns[i].take() {
            conn.abandon();
            conn.recycle(&mut self.ctx.pool);
            let _ = self.poll.registry().deregister(conn.stream_mut());
            self.free.push(i);
            self.open -= 1;
            self.shared.connections.fetch_sub(1, Ordering::Relaxed);
        }
    }
}
