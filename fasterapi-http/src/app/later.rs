//! Answering a request later, and work an I/O thread drives beside its connections.
//!
//! A handler that must wait for something (an event loop of another runtime, a thread of
//! its own) takes a [`Reply`] with [`Request::defer`](crate::Request::defer) and returns at
//! once; the I/O thread goes on serving its other connections, and the connection holds
//! back the requests pipelined behind this one until [`Reply::send`] delivers the answer
//! (responses leave in request order). A [`Companion`] is such a runtime's loop, driven
//! by the I/O thread itself inside its `mio` loop: its file descriptor is polled with the
//! connections and its next timer bounds the poll, so the handlers it resumes run on the
//! I/O thread with no hand-off between threads.

use std::cell::{Cell, RefCell};
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use mio::Waker;

use crate::app::websocket::Accepted;
use crate::http::response::{Response, StatusCode};
use crate::proto::compress::{compress_response, Choice, Compression};
use crate::proto::h1::encode::Persistence;

/// The compression a deferred answer gets, and what its request accepts.
pub(crate) type Compress = Option<(Arc<Compression>, Choice)>;

/// A finished job on its way back to its I/O thread.
pub(crate) struct Completion {
    pub(crate) token: usize,
    pub(crate) conn_id: u64,
    pub(crate) response: Response,
    pub(crate) head_only: bool,
    pub(crate) persistence: Persistence,
    /// A WebSocket handshake accepted: the connection switches protocols (the response
    /// is not sent).
    pub(crate) upgrade: Option<Box<Accepted>>,
}

/// The part of an I/O thread other threads reach: its waker and its completions.
pub(crate) struct Mailbox {
    pub(crate) waker: Waker,
    completions: Mutex<Vec<Completion>>,
    /// WebSocket connections with output queued by their senders, as `(token, conn id)`.
    websockets: Mutex<Vec<(usize, u64)>>,
    /// Connections (slot, id) whose streamed body has more to send.
    streams: Mutex<Vec<(usize, u64)>>,
    /// Set by the first completion after the thread last looked: later ones skip the
    /// wake-up syscall.
    wake_pending: AtomicBool,
}

impl Mailbox {
    pub(crate) fn new(waker: Waker) -> Mailbox {
        Mailbox {
            waker,
            completions: Mutex::new(Vec::new()),
            websockets: Mutex::new(Vec::new()),
            streams: Mutex::new(Vec::new()),
            wake_pending: AtomicBool::new(false),
        }
    }

    /// Delivers a completion and wakes the thread unless a wake is already on its way.
    pub(crate) fn deliver(&self, c: Completion) {
        self.deliver_local(c);
        self.wake();
    }

    /// Delivers a completion from the owning I/O thread itself, which takes it after the
    /// current step of its loop: no wake-up needed.
    pub(crate) fn deliver_local(&self, c: Completion) {
        self.completions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(c);
    }

    /// Wakes the thread unless a wake is already on its way.
    pub(crate) fn wake(&self) {
        if !self.wake_pending.swap(true, Ordering::AcqRel) {
            // A failed wake means the thread's poll is gone: it has ended already.
            let _ = self.waker.wake();
        }
    }

    /// Takes every delivered completion (swapping in `spare` so neither side allocates).
    pub(crate) fn take(&self, spare: &mut Vec<Completion>) {
        // Clear the flag first: a completion delivered after this point wakes us again.
        self.wake_pending.store(false, Ordering::Release);
        let mut list = self.completions.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *list, spare);
    }

    /// Takes the WebSocket connections announced since the last call (after
    /// [`Mailbox::take`], which clears the wake flag for both lists).
    pub(crate) fn take_websockets(&self, spare: &mut Vec<(usize, u64)>) {
        let mut list = self.websockets.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *list, spare);
    }

    /// Takes the connections whose streamed body has more to send (after [`take`], which
    /// cleared the wake flag).
    ///
    /// [`take`]: Mailbox::take
    pub(crate) fn take_streams(&self, spare: &mut Vec<(usize, u64)>) {
        let mut list = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        std::mem::swap(&mut *list, spare);
    }
}

/// Tells I/O thread `home` that WebSocket connection `(token, conn_id)` has output
/// queued: woken through its waker, unless called on that thread (whose loop looks after
/// the current step) or a wake is on its way already.
pub(crate) fn notify_ws(mailboxes: &[Mailbox], home: usize, token: usize, conn_id: u64) {
    let mailbox = &mailboxes[home];
    mailbox
        .websockets
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((token, conn_id));
    if std::ptr::eq(ON_IO_THREAD.with(Cell::get), mailbox) {
        LOCAL_DELIVERY.with(|d| d.set(true));
    } else {
        mailbox.wake();
    }
}

/// The waker of one connection's streamed body: tells its I/O thread that the body's
/// producer has more (a piece, its end), so the thread sends it.
pub(crate) struct StreamWake {
    mailboxes: Arc<[Mailbox]>,
    home: usize,
    token: usize,
    conn_id: u64,
    /// A wake is on its way and the connection has not polled the body since: later wakes
    /// add nothing.
    pending: AtomicBool,
}

impl StreamWake {
    pub(crate) fn new(mailboxes: Arc<[Mailbox]>, home: usize, token: usize, conn_id: u64) -> Self {
        StreamWake {
            mailboxes,
            home,
            token,
            conn_id,
            pending: AtomicBool::new(false),
        }
    }

    /// The connection is about to poll its body: a wake from now on is delivered again.
    pub(crate) fn rearm(&self) {
        self.pending.store(false, Ordering::Release);
    }

    /// Delivers the wake-up: queued without a syscall when called on the connection's own
    /// I/O thread (which takes it at the end of its turn), unless `force_wake`: then the
    /// thread's waker is used, so that its next poll does not sleep.
    pub(crate) fn deliver(&self, force_wake: bool) {
        if self.pending.swap(true, Ordering::AcqRel) {
            return;
        }
        let mailbox = &self.mailboxes[self.home];
        mailbox
            .streams
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((self.token, self.conn_id));
        if !force_wake && std::ptr::eq(ON_IO_THREAD.with(Cell::get), mailbox) {
            LOCAL_DELIVERY.with(|d| d.set(true));
        } else {
            mailbox.wake();
        }
    }
}

impl std::task::Wake for StreamWake {
    fn wake(self: Arc<Self>) {
        self.deliver(false);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.deliver(false);
    }
}

/// What a connection is told when the client left before its deferred answer was sent.
pub(crate) type Abandon = Box<dyn FnOnce()>;

/// The handle a deferred request is answered with, from any thread.
///
/// Dropping it unsent answers `500 Internal Server Error`, so a request can never be left
/// without an answer. Sending after the client left does nothing.
#[must_use = "a Reply answers its request when sent; dropped unsent it answers 500"]
pub struct Reply {
    mailboxes: Arc<[Mailbox]>,
    home: usize,
    token: usize,
    conn_id: u64,
    head_only: bool,
    persistence: Persistence,
    /// Set for a route that compresses.
    compression: Compress,
    sent: bool,
    /// Changes the response before it is delivered (see [`Reply::amend`]).
    amend: Option<Amend>,
}

/// A change to a deferred response, made by a layer around the handler that deferred.
type Amend = Box<dyn FnOnce(&mut Response) + Send>;

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("thread", &self.home)
            .field("connection", &self.conn_id)
            .finish_non_exhaustive()
    }
}

impl Reply {
    /// Sends the answer to the request's connection.
    ///
    /// From the connection's own I/O thread (a [`Companion`] resuming a handler) the
    /// answer is queued without a wake-up; from any other thread the I/O thread is woken
    /// unless a wake-up is already on its way.
    pub fn send(mut self, response: Response) {
        self.sent = true;
        self.deliver(response);
    }

    /// This reply, with `f` applied to the response it sends (after any change added
    /// before): for a layer around a handler (CORS headers, say) whose handler answered
    /// later, so that the deferred answer gets what an inline one would.
    pub fn amend(mut self, f: impl FnOnce(&mut Response) + Send + 'static) -> Reply {
        self.amend = Some(match self.amend.take() {
            None => Box::new(f),
            Some(first) => Box::new(move |r: &mut Response| {
                first(r);
                f(r);
            }),
        });
        self
    }

    /// Where the answer goes: the I/O threads' mailboxes, the thread's index, the
    /// connection's slot and id.
    pub(crate) fn target(&self) -> (Arc<[Mailbox]>, usize, usize, u64) {
        (self.mailboxes.clone(), self.home, self.token, self.conn_id)
    }

    /// Answers with an accepted WebSocket handshake: the connection switches protocols.
    pub(crate) fn upgrade(mut self, accepted: Accepted) {
        self.sent = true;
        self.deliver_with(
            Response::new(StatusCode::SWITCHING_PROTOCOLS),
            Some(accepted),
        );
    }

    fn deliver(&mut self, mut response: Response) {
        if let Some(amend) = self.amend.take() {
            amend(&mut response);
        }
        // Compression last, on the final response, as the route's wrapper does inline.
        if let Some((settings, choice)) = &self.compression {
            response = compress_response(response, settings, *choice);
        }
        self.deliver_with(response, None);
    }

    fn deliver_with(&self, response: Response, upgrade: Option<Accepted>) {
        let mailbox = &self.mailboxes[self.home];
        let completion = Completion {
            token: self.token,
            conn_id: self.conn_id,
            response,
            head_only: self.head_only,
            persistence: self.persistence,
            upgrade: upgrade.map(Box::new),
        };
        if std::ptr::eq(ON_IO_THREAD.with(Cell::get), mailbox) {
            mailbox.deliver_local(completion);
            LOCAL_DELIVERY.with(|d| d.set(true));
        } else {
            mailbox.deliver(completion);
        }
    }
}

impl Drop for Reply {
    fn drop(&mut self) {
        if !self.sent {
            self.deliver(crate::http::response::detail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ));
        }
    }
}

thread_local! {
    /// The mailbox of the I/O thread running on this thread, if any.
    static ON_IO_THREAD: Cell<*const Mailbox> = const { Cell::new(std::ptr::null()) };
    /// A reply was delivered on this I/O thread since it last took its completions.
    static LOCAL_DELIVERY: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as the I/O thread of `mailbox` (for [`Reply::send`]).
pub(crate) fn enter_io_thread(mailbox: &Mailbox) {
    ON_IO_THREAD.with(|t| t.set(mailbox as *const Mailbox));
}

/// Whether a reply was delivered on this thread since the last call (and clears it).
pub(crate) fn take_local_delivery() -> bool {
    LOCAL_DELIVERY.with(|d| d.replace(false))
}

/// Where a request being served inline could be answered later from, consulted by
/// [`Request::defer`](crate::Request::defer). One per I/O thread, kept in the context its
/// connections share and aimed at each request before its handler runs: a few stores per
/// request rather than a new value, and one flag to look at after the handler.
pub(crate) struct Later {
    mailboxes: Arc<[Mailbox]>,
    home: usize,
    /// The request being served: its connection's slot and id, whether it is a `HEAD`,
    /// and what its answer says of the connection.
    token: Cell<usize>,
    conn_id: Cell<u64>,
    head_only: Cell<bool>,
    persistence: Cell<Persistence>,
    /// Set by `defer`: the connection waits for the reply.
    deferred: Cell<bool>,
    /// What to run if the connection closes before the reply arrives.
    abandon: RefCell<Option<Abandon>>,
    /// Set only while a handler of a route that compresses runs: its replies compress.
    compression: RefCell<Compress>,
}

impl Later {
    /// The slot of I/O thread `home`, whose replies go to `mailboxes[home]`.
    pub(crate) fn new(mailboxes: Arc<[Mailbox]>, home: usize) -> Later {
        Later {
            mailboxes,
            home,
            token: Cell::new(0),
            conn_id: Cell::new(0),
            head_only: Cell::new(false),
            persistence: Cell::new(Persistence::Close),
            deferred: Cell::new(false),
            abandon: RefCell::new(None),
            compression: RefCell::new(None),
        }
    }

    /// The mailboxes of every I/O thread.
    pub(crate) fn mailboxes(&self) -> &Arc<[Mailbox]> {
        &self.mailboxes
    }

    /// The index of this I/O thread.
    pub(crate) fn home(&self) -> usize {
        self.home
    }

    /// Points the slot at the request about to be handled.
    #[inline]
    pub(crate) fn aim(&self, (token, conn_id): (usize, u64), head_only: bool, p: Persistence) {
        self.token.set(token);
        self.conn_id.set(conn_id);
        self.head_only.set(head_only);
        self.persistence.set(p);
    }

    /// After a handler: `Some` (with its abandon hook) if it deferred, and the slot is
    /// ready for the next request.
    #[inline]
    pub(crate) fn take_deferral(&self) -> Option<Option<Abandon>> {
        if !self.deferred.get() {
            return None;
        }
        self.deferred.set(false);
        Some(self.abandon.take())
    }

    /// The compression of the route whose handler is about to run, `None` once it ran.
    pub(crate) fn set_compression(&self, c: Compress) {
        *self.compression.borrow_mut() = c;
    }

    /// Whether the request it is aimed at has deferred already.
    pub(crate) fn is_deferred(&self) -> bool {
        self.deferred.get()
    }

    pub(crate) fn defer(&self, abandon: Option<Abandon>) -> Option<Reply> {
        if self.deferred.replace(true) {
            return None;
        }
        *self.abandon.borrow_mut() = abandon;
        Some(Reply {
            mailboxes: self.mailboxes.clone(),
            home: self.home,
            token: self.token.get(),
            conn_id: self.conn_id.get(),
            head_only: self.head_only.get(),
            persistence: self.persistence.get(),
            compression: self.compression.borrow().clone(),
            sent: false,
            amend: None,
        })
    }
}

/// A runtime's loop that an I/O thread drives beside its connections (for example
/// Python's asyncio loop, whose handlers answer through [`Reply`]).
///
/// Each I/O thread makes its own with the factory given to
/// [`App::companion`](crate::App::companion), on that thread. Per turn of the I/O
/// thread's loop: its [`fd`](Companion::fd) is polled (edge-triggered) with the
/// connections, the poll waits no longer than its [`due`](Companion::due) time, and
/// [`run`](Companion::run) is called when the fd became readable or that time came.
pub trait Companion {
    /// A descriptor that becomes readable when the companion has I/O to handle (an
    /// epoll or kqueue descriptor of its own, a pipe it is woken through), if any.
    fn fd(&self) -> Option<RawFd>;
    /// When the companion next wants to run without its fd becoming readable (a timer,
    /// or work handlers gave it on this thread since it last ran); `None`: only on fd
    /// readiness. Asked once per turn of the I/O loop, so it must be cheap.
    fn due(&self) -> Option<Instant>;
    /// Runs what is ready, without blocking.
    fn run(&mut self);
    /// The I/O thread is done with a turn (its readiness pass, the companion's run) and
    /// is about to wait in its poll: release what the turn's handlers held for it (the
    /// Python companion: the GIL, attached once for all of a pass's WebSocket events).
    fn turn_done(&mut self) {}
    /// The I/O thread is about to end (after every connection closed): finish up.
    fn stop(&mut self);
}

/// Makes an I/O thread's [`Companion`], given the thread's index.
pub(crate) type CompanionFactory =
    Box<dyn Fn(usize) -> std::io::Result<Box<dyn Companion>> + Send + Sync>;
