//! Listeners, I/O threads and shutdown.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::{Poll, Waker};
use socket2::{Domain, Protocol, Socket, Type};

use crate::app::App;
use crate::event_loop::{EventLoop, WAKER};

/// State the I/O threads share with shutdown handles.
pub(crate) struct Shared {
    pub(crate) stopping: AtomicBool,
    wakers: Vec<Waker>,
}

/// A server bound to its address, not yet serving.
pub struct Server {
    app: Arc<App>,
    loops: Vec<(Poll, std::net::TcpListener)>,
    shared: Arc<Shared>,
    local_addr: SocketAddr,
}

/// Stops a running server from any thread.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl ShutdownHandle {
    /// Asks every I/O thread to stop: they close their listener and connections and return.
    pub fn shutdown(&self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        for waker in &self.shared.wakers {
            // A failed wake means the loop's poll is gone, so that thread has ended already.
            let _ = waker.wake();
        }
    }
}

/// A server serving on background threads; see [`Server::spawn`].
pub struct RunningServer {
    threads: Vec<JoinHandle<io::Result<()>>>,
    handle: ShutdownHandle,
    local_addr: SocketAddr,
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

    /// Stops the server and waits for its threads.
    pub fn shutdown(self) -> io::Result<()> {
        self.handle.shutdown();
        self.join()
    }

    /// Waits until the server stops; returns the first I/O thread error, if any.
    pub fn join(self) -> io::Result<()> {
        let mut result = Ok(());
        for t in self.threads {
            let r = t
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("an I/O thread panicked")));
            if result.is_ok() {
                result = r;
            }
        }
        result
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
        let first = listener(addr, app.config.listen_backlog)?;
        // With port 0 the first bind picks the port; the others must share that one.
        let local_addr = first.local_addr()?;
        let mut loops = Vec::with_capacity(threads);
        let mut wakers = Vec::with_capacity(threads);
        for i in 0..threads {
            let l = if i == 0 { first.try_clone()? } else { listener(local_addr, app.config.listen_backlog)? };
            let poll = Poll::new()?;
            wakers.push(Waker::new(poll.registry(), WAKER)?);
            loops.push((poll, l));
        }
        drop(first);
        let shared = Arc::new(Shared { stopping: AtomicBool::new(false), wakers });
        Ok(Server { app: Arc::new(app), loops, shared, local_addr })
    }

    /// The address the server listens on (with the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle that stops the server once running.
    pub fn handle(&self) -> ShutdownHandle {
        ShutdownHandle { shared: self.shared.clone() }
    }

    /// Starts the I/O threads and returns at once.
    pub fn spawn(self) -> io::Result<RunningServer> {
        let handle = self.handle();
        let local_addr = self.local_addr;
        let mut threads = Vec::with_capacity(self.loops.len());
        for (i, (poll, listener)) in self.loops.into_iter().enumerate() {
            let app = self.app.clone();
            let shared = self.shared.clone();
            let t = std::thread::Builder::new()
                .name(format!("fasterapi-io-{i}"))
                .spawn(move || EventLoop::new(poll, listener, app, shared)?.run());
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    handle.shutdown();
                    return Err(e);
                }
            }
        }
        Ok(RunningServer { threads, handle, local_addr })
    }

    /// Serves on this thread's behalf until shut down (blocks).
    pub fn run(self) -> io::Result<()> {
        self.spawn()?.join()
    }
}
