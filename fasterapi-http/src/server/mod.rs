//! Listeners, I/O threads, the worker pool, and shutdown.

pub(crate) mod conn;
pub(crate) mod event_loop;
pub(crate) mod executor;
pub(crate) mod static_dir;
pub(crate) mod sys;
pub(crate) mod test_server;
pub(crate) mod transport;

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use fasterapi_core::mpmc::Queue;
use mio::{Poll, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use crate::app::later::Mailbox;
use crate::app::App;
use crate::server::event_loop::{EventLoop, WAKER};
use crate::server::executor::{Executor, Job};

/// State the I/O threads, the workers and shutdown handles share.
pub(crate) struct Shared {
    pub(crate) stopping: AtomicBool,
    pub(crate) mailboxes: Arc<[Mailbox]>,
    pub(crate) connections: AtomicUsize,
    pub(crate) max_connections: usize,
    pub(crate) queue: Option<Arc<Queue<Job>>>,
    /// Whether each I/O thread's listener is still open.
    listeners_open: Mutex<Vec<bool>>,
    listeners_closed: Condvar,
}

impl Shared {
    /// I/O thread `i` closed its listener (once shutdown began, or because the thread
    /// ended); a second report for the same thread changes nothing.
    pub(crate) fn listener_closed(&self, i: usize) {
        let mut open = self
            .listeners_open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if let Some(open) = open.get_mut(i) {
            *open = false;
        }
        self.listeners_closed.notify_all();
    }

    /// Begins the graceful shutdown of every I/O thread.
    fn shutdown(&self) {
        self.stopping.store(true, Ordering::Release);
        for mailbox in self.mailboxes.iter() {
            mailbox.wake();
        }
    }
}

/// Held by an I/O thread for its whole life: when the thread ends, however it ends (an
/// error or a panic included), its listener counts as closed, and if it ended before a
/// shutdown was asked for, the whole server shuts down rather than serve on with a thread
/// short (and `wait_listeners_closed` never waits for a dead thread).
struct IoThreadEnd {
    shared: Arc<Shared>,
    index: usize,
}

impl Drop for IoThreadEnd {
    fn drop(&mut self) {
        if !self.shared.stopping.load(Ordering::Acquire) {
            diag!(
                error,
                "fasterapi: I/O thread {} ended unexpectedly; shutting the server down",
                self.index
            );
            self.shared.shutdown();
        }
        self.shared.listener_closed(self.index);
    }
}

impl App {
    /// Binds the listeners (one per I/O thread, `SO_REUSEPORT`) without serving yet.
    /// Port 0 picks a free port, shared by all threads: see [`Server::local_addr`].
    pub fn bind(mut self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        self.check()?;
        self.freeze()?;
        crate::app::form::set_upload_memory(self.config.upload_memory_bytes);
        Server::bind(self, addr)
    }

    /// Binds and serves until the server is shut down.
    pub fn serve(self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.bind(addr)?.run()
    }
}

/// A server bound to its address, not yet serving.
pub struct Server {
    app: Arc<App>,
    loops: Vec<(Poll, std::net::TcpListener)>,
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .field("threads", &self.loops.len())
            .finish_non_exhaustive()
    }
}

/// Stops a running server from any thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl ShutdownHandle {
    /// Begins a graceful shutdown and returns at once: every I/O thread closes its listener
    /// (new connections are refused), closes idle keep-alive connections, answers the
    /// requests in flight with `Connection: close`, and ends when its connections are gone
    /// or [`Config::shutdown_timeout`](crate::Config::shutdown_timeout) has passed; then
    /// the worker pool finishes its queue, within the same deadline.
    pub fn shutdown(&self) {
        self.shared.shutdown();
    }

    /// Blocks until every listener is closed, so that new connections are refused.
    /// Call after [`ShutdownHandle::shutdown`], not from a handler (the I/O thread running
    /// it would wait for itself).
    pub fn wait_listeners_closed(&self) {
        let mut open = self
            .shared
            .listeners_open
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        while open.iter().any(|&o| o) {
            open = self
                .shared
                .listeners_closed
                .wait(open)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Whether a shutdown has begun.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.stopping.load(Ordering::Acquire)
    }
}

/// The thread turning signals into a shutdown.
struct SignalWatcher {
    done: Arc<AtomicBool>,
    thread: JoinHandle<()>,
}

/// A server serving on background threads; see [`Server::spawn`].
pub struct RunningServer {
    threads: Vec<JoinHandle<io::Result<()>>>,
    signals: Mutex<Option<SignalWatcher>>,
    executor: Option<Executor>,
    handle: ShutdownHandle,
    local_addr: SocketAddr,
    shutdown_timeout: Duration,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("local_addr", &self.local_addr)
            .field("threads", &self.threads.len())
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> ShutdownHandle {
        self.handle.clone()
    }

    /// Connections currently open, across all I/O threads.
    pub fn open_connections(&self) -> usize {
        self.handle.shared.connections.load(Ordering::Relaxed)
    }

    /// Shuts down gracefully and waits until done.
    pub fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown();
        self.join()
    }

    /// From now on, SIGINT or SIGTERM starts a graceful shutdown; a second one during the
    /// shutdown exits the process at once. Returns once the handlers are installed.
    ///
    /// The handlers only write a byte to a pipe; a dedicated thread reads it and calls
    /// [`ShutdownHandle::shutdown`]. The handlers that were there before are put back by
    /// [`join`](Self::join).
    pub fn stop_on_signals(&self) -> io::Result<()> {
        let signals = crate::server::sys::ShutdownSignals::install()?;
        let handle = self.handle();
        let done = Arc::new(AtomicBool::new(false));
        let thread = {
            let done = done.clone();
            std::thread::Builder::new()
                .name("fasterapi-signals".into())
                .spawn(move || {
                    let mut received = 0;
                    while !done.load(Ordering::Acquire) {
                        if let Some(sig) = signals.wait(Duration::from_millis(100)) {
                            received += 1;
                            if received > 1 {
                                diag!(warn, "fasterapi: second signal, exiting now");
                                std::process::exit(128 + sig);
                            }
                            diag!(info, "fasterapi: shutting down (signal {sig})");
                            handle.shutdown();
                        }
                    }
                })?
        };
        *self.signals.lock().unwrap_or_else(|e| e.into_inner()) =
            Some(SignalWatcher { done, thread });
        Ok(())
    }

    /// Waits until the server has stopped (after a shutdown from a handle or a signal);
    /// returns the first I/O thread error, if any.
    pub fn join(mut self) -> io::Result<()> {
        self.finish()
    }

    /// Waits for the I/O threads, then stops the worker pool and the signal thread.
    fn finish(&mut self) -> io::Result<()> {
        let mut result = Ok(());
        for t in self.threads.drain(..) {
            let r = t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("an I/O thread panicked")));
            if result.is_ok() {
                result = r;
            }
        }
        if let Some(executor) = self.executor.take() {
            executor.stop(Instant::now() + crate::config::bounded(self.shutdown_timeout));
        }
        let watcher = self
            .signals
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(watcher) = watcher {
            watcher.done.store(true, Ordering::Release);
            let _ = watcher.thread.join();
        }
        result
    }
}

/// A running server that is dropped without [`RunningServer::join`] or
/// [`RunningServer::shutdown`] shuts down gracefully and waits for its threads, so that
/// no thread keeps serving behind the caller's back (an error return between `spawn` and
/// `join`, say).
impl Drop for RunningServer {
    fn drop(&mut self) {
        if !self.threads.is_empty() || self.executor.is_some() {
            self.handle.shutdown();
            if let Err(e) = self.finish() {
                diag!(error, "fasterapi: {e}");
            }
        }
    }
}

fn listener(addr: SocketAddr, backlog: i32) -> io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    // Each I/O thread binds its own listener to the same port and the kernel spreads new
    // connections across them: no accept lock, no hand-off between threads.
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(backlog)?;
    Ok(socket.into())
}

/// Fails with `AddrInUse` when some socket listens on `addr` already. The listeners set
/// `SO_REUSEPORT` (one per I/O thread), so their own bind would succeed next to another
/// process's `SO_REUSEPORT` listener of the same user and quietly share its port; a
/// probe bound without it is refused by any listener there. `SO_REUSEADDR` lets it pass
/// connections of an earlier run still in `TIME_WAIT`.
fn refuse_if_in_use(addr: SocketAddr) -> io::Result<()> {
    let probe = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    probe.set_reuse_address(true)?;
    probe.bind(&addr.into()).map_err(|e| {
        if e.kind() == io::ErrorKind::AddrInUse {
            io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "{addr} is in use: another server listens there \
                     (Config::shared_port lets processes share a port on purpose)"
                ),
            )
        } else {
            e
        }
    })
}

impl Server {
    pub(crate) fn bind(app: App, addr: impl ToSocketAddrs) -> io::Result<Server> {
        let addr = addr
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to bind"))?;
        let threads = match app.config.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        if !app.config.shared_port && addr.port() != 0 {
            refuse_if_in_use(addr)?;
        }
        let first = listener(addr, app.config.listen_backlog)?;
        // With port 0 the first bind picks the port; the others must share that one.
        let local_addr = first.local_addr()?;
        let mut loops = Vec::with_capacity(threads);
        let mut mailboxes = Vec::with_capacity(threads);
        for i in 0..threads {
            let l = if i == 0 {
                first.try_clone()?
            } else {
                listener(local_addr, app.config.listen_backlog)?
            };
            let poll = Poll::new()?;
            mailboxes.push(Mailbox::new(Waker::new(poll.registry(), WAKER)?));
            loops.push((poll, l));
        }
        drop(first);
        let queue = app
            .has_blocking_routes()
            .then(|| Arc::new(Queue::new(app.config.queue_capacity)));
        let shared = Arc::new(Shared {
            stopping: AtomicBool::new(false),
            mailboxes: mailboxes.into(),
            connections: AtomicUsize::new(0),
            max_connections: app.config.max_connections,
            queue,
            listeners_open: Mutex::new(vec![true; threads]),
            listeners_closed: Condvar::new(),
        });
        if let Some(m) = &app.metrics {
            let weak = Arc::downgrade(&shared);
            let _ = m.gauges.set(Box::new(move || {
                weak.upgrade().map_or((0, 0), |s| {
                    let queued = s.queue.as_ref().map_or(0, |q| q.len());
                    (s.connections.load(Ordering::Relaxed), queued)
                })
            }));
        }
        Ok(Server {
            app: Arc::new(app),
            loops,
            shared,
            local_addr,
        })
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server once running.
    pub fn handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: self.shared.clone(),
        }
    }

    /// The CPUs to pin the I/O threads to, in thread order (see
    /// [`Config::pin_threads`](crate::Config::pin_threads));
    /// empty: leave them unpinned.
    fn cpus(&self) -> Vec<usize> {
        if !self.app.config.pin_threads || self.loops.len() < 2 {
            return Vec::new();
        }
        match crate::server::sys::allowed_cpus() {
            Ok(cpus) if cpus.len() == self.loops.len() => cpus,
            Ok(_) => Vec::new(),
            Err(e) => {
                diag!(
                    warn,
                    "fasterapi: I/O threads not pinned, the allowed CPUs are unknown: {e}"
                );
                Vec::new()
            }
        }
    }

    /// Starts the I/O threads (and the worker pool, if any route is blocking) and returns
    /// at once.
    pub fn spawn(self) -> io::Result<RunningServer> {
        let handle = self.handle();
        let executor = match &self.shared.queue {
            Some(queue) => Some(Executor::start(
                self.app.clone(),
                self.shared.mailboxes.clone(),
                queue.clone(),
            )?),
            None => None,
        };
        let mut running = RunningServer {
            threads: Vec::with_capacity(self.loops.len()),
            signals: Mutex::new(None),
            executor,
            handle,
            local_addr: self.local_addr,
            shutdown_timeout: self.app.config.shutdown_timeout,
        };
        let cpus = self.cpus();
        for (i, (poll, listener)) in self.loops.into_iter().enumerate() {
            let app = self.app.clone();
            let shared = self.shared.clone();
            let cpu = cpus.get(i).copied();
            let t = std::thread::Builder::new()
                .name(format!("fasterapi-io-{i}"))
                .spawn(move || {
                    if let Some(cpu) = cpu {
                        if let Err(e) = crate::server::sys::pin_current_thread(cpu) {
                            diag!(
                                warn,
                                "fasterapi: I/O thread {i} not pinned to CPU {cpu}: {e}"
                            );
                        }
                    }
                    let _end = IoThreadEnd {
                        shared: shared.clone(),
                        index: i,
                    };
                    EventLoop::new(i, poll, listener, app, shared)?.run()
                });
            match t {
                Ok(t) => running.threads.push(t),
                Err(e) => {
                    let _ = running.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(running)
    }

    /// Serves until SIGINT or SIGTERM (or a [`ShutdownHandle`]), then shuts down
    /// gracefully and returns: [`Server::spawn`], [`RunningServer::stop_on_signals`],
    /// [`RunningServer::join`].
    pub fn run(self) -> io::Result<()> {
        let running = self.spawn()?;
        // On an error here, dropping `running` shuts the threads down before returning.
        running.stop_on_signals()?;
        running.join()
    }
}
