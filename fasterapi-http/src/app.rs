//! The application: routes, handlers and server settings.

use std::io;
use std::net::ToSocketAddrs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::later::{Companion, CompanionFactory};

use crate::request::Request;
use crate::response::{IntoResponse, Response};
use crate::router::{Method, Router};
use crate::server::Server;

/// A route's handler, type-erased.
pub(crate) type Handler = Box<dyn Fn(&Request<'_>) -> Response + Send + Sync + 'static>;

/// Where a route's handler runs.
pub(crate) enum Placement {
    /// On the I/O thread that read the request.
    Inline,
    /// On the worker pool.
    Pool,
    /// On the worker pool while the flag is set, else inline; whoever holds the flag
    /// decides (see [`RouteMut::blocking_while`]).
    Switch(Arc<AtomicBool>),
}

/// What the router finds for a request.
pub(crate) struct Route {
    pub(crate) handler: Handler,
    pub(crate) placement: Placement,
}

impl Route {
    /// Whether this request goes to the worker pool.
    #[inline]
    pub(crate) fn on_pool(&self) -> bool {
        match &self.placement {
            Placement::Inline => false,
            Placement::Pool => true,
            Placement::Switch(flag) => flag.load(Ordering::Relaxed),
        }
    }

    /// Runs the handler; a panic in it becomes a 500 for this request only (the panic
    /// hook has already printed the message and location).
    #[inline]
    pub(crate) fn call(&self, req: &Request<'_>) -> Response {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.handler)(req))) {
            Ok(response) => response,
            Err(_) => crate::conn::detail(
                crate::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ),
        }
    }
}

/// A route just added, to adjust: see [`RouteMut::blocking`].
pub struct RouteMut<'a> {
    route: Option<&'a mut Route>,
}

impl RouteMut<'_> {
    /// Runs this route's handler on the worker pool rather than on the I/O thread, for
    /// handlers that block (files, databases, sleeps). The I/O thread hands the request
    /// over without copying it and goes on serving other connections; when the queue is
    /// full, or a job has waited longer than [`Config::queue_timeout`], the request is
    /// answered `503 Service Unavailable` with `Retry-After`.
    pub fn blocking(self) -> Self {
        self.placed(Placement::Pool)
    }

    /// Runs this route's handler on the worker pool while `flag` is set and on the I/O
    /// thread while it is clear, for handlers whose owner learns whether they block (by
    /// timing their calls, say) and moves them. Each request reads the flag once, when its
    /// head is complete.
    pub fn blocking_while(self, flag: Arc<AtomicBool>) -> Self {
        self.placed(Placement::Switch(flag))
    }

    fn placed(self, placement: Placement) -> Self {
        if let Some(route) = self.route {
            route.placement = placement;
            return RouteMut { route: Some(route) };
        }
        self
    }
}

/// Server settings. `Config::default()` suits most uses; each limit is answered with its
/// own status when exceeded.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// I/O threads, each with its own listener and event loop. `0` means one per core.
    pub threads: usize,
    /// When there is one I/O thread for each CPU the process may run on, and more than
    /// one, pin thread `i` to the `i`-th of those CPUs, as thread-per-core servers do. A
    /// connection stays on its thread for life, so two I/O threads stacked on one core
    /// stall each other's connections while the other core idles. With fewer threads than
    /// CPUs (a CPU quota rather than a CPU set, say, or neighbours on the same machine) or
    /// with a single thread (each worker process of a Python app), nothing is pinned and
    /// the scheduler places the threads.
    pub pin_threads: bool,
    /// Largest request head (request line and header fields) in bytes; more is 431.
    pub max_head_bytes: usize,
    /// Most header fields in one request; more is 431.
    pub max_headers: usize,
    /// Longest request target in bytes; longer is 414.
    pub max_target_bytes: usize,
    /// Largest request body in bytes; more is 413 (told from `Content-Length` before
    /// the body is read).
    pub max_body_bytes: usize,
    /// Size of the pooled read and write buffers.
    pub buffer_size: usize,
    /// Buffers each I/O thread keeps for reuse.
    pub pooled_buffers: usize,
    /// Length of each listener's accept queue.
    pub listen_backlog: i32,
    /// Open connections the server holds at most (all I/O threads together); at the mark
    /// it stops accepting, and resumes once below it. Further clients wait in the kernel's
    /// accept queue.
    pub max_connections: usize,
    /// Time for a request head to arrive whole, from its first byte; then 408 and close.
    pub header_timeout: Duration,
    /// Time for a request body to arrive whole, from the end of the head; then 408.
    pub body_timeout: Duration,
    /// Time a keep-alive connection may sit idle between requests; then it is closed.
    pub idle_timeout: Duration,
    /// Time a client may take to accept any of a response's bytes; then the connection
    /// is dropped.
    pub write_timeout: Duration,
    /// Worker threads for blocking routes. `0` means one per core.
    pub workers: usize,
    /// Jobs the worker queue holds at most (rounded up to a power of two); a request for a
    /// blocking route beyond that is answered 503 at once.
    pub queue_capacity: usize,
    /// A job that waited this long in the queue is answered 503 instead of run, so a
    /// backlog cannot turn into minutes of latency.
    pub queue_timeout: Duration,
    /// On shutdown, how long in-flight requests and queued jobs get to finish.
    pub shutdown_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            threads: 0,
            pin_threads: true,
            max_head_bytes: 16 * 1024,
            max_headers: 64,
            max_target_bytes: 8 * 1024,
            max_body_bytes: 8 * 1024 * 1024,
            buffer_size: 8 * 1024,
            pooled_buffers: 1024,
            listen_backlog: 1024,
            max_connections: 100_000,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            workers: 0,
            queue_capacity: 1024,
            queue_timeout: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(10),
        }
    }
}

/// An application: a set of routes and the settings to serve them with.
///
/// ```no_run
/// use fasterapi_http::{App, Request, Response};
///
/// fn main() -> std::io::Result<()> {
///     let mut app = App::new();
///     app.get("/plaintext", |_req: &Request| Response::text("Hello, World!"));
///     app.get("/users/{id}", |req: &Request| {
///         let id: u64 = req.param("id")?;
///         Ok::<_, fasterapi_http::Error>(Response::json(|o| {
///             o.field("id", id);
///         }))
///     });
///     app.serve("127.0.0.1:8080")
/// }
/// ```
pub struct App {
    pub(crate) router: Router<Route>,
    pub(crate) config: Config,
    pub(crate) companion: Option<CompanionFactory>,
    route_errors: Vec<String>,
}

impl Default for App {
    fn default() -> App {
        App::new()
    }
}

impl App {
    /// An app with no routes and the default [`Config`].
    pub fn new() -> App {
        App::with_config(Config::default())
    }

    /// An app with no routes and `config`.
    pub fn with_config(config: Config) -> App {
        App {
            router: Router::new(),
            config,
            companion: None,
            route_errors: Vec::new(),
        }
    }

    /// The settings, to change before serving.
    pub fn config_mut(&mut self) -> &mut Config {
        &mut self.config
    }

    /// Whether any route runs on the worker pool.
    pub(crate) fn has_blocking_routes(&self) -> bool {
        self.router
            .values()
            .any(|r| !matches!(r.placement, Placement::Inline))
    }

    /// Gives each I/O thread a [`Companion`] made by `factory` (called on that thread
    /// with its index, before it serves): a runtime's loop that the thread drives beside
    /// its connections, whose handlers answer through [`Request::defer`]. A factory error
    /// ends that thread, and so the server, with the error.
    pub fn companion<F>(&mut self, factory: F)
    where
        F: Fn(usize) -> io::Result<Box<dyn Companion>> + Send + Sync + 'static,
    {
        self.companion = Some(Box::new(factory));
    }

    /// Routes `method` requests for `pattern` (see [`crate::router`] for the syntax) to
    /// `handler`.
    ///
    /// The handler runs on the I/O thread that read the request, so it must not block. A
    /// panic in it answers 500 for that request only. A malformed or duplicate pattern is
    /// reported by [`App::bind`] / [`App::serve`], which then refuse to start.
    pub fn route<H, R>(&mut self, method: Method, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        let handler: Handler = Box::new(move |req| handler(req).into_response());
        match self.router.insert(
            method,
            pattern,
            Route {
                handler,
                placement: Placement::Inline,
            },
        ) {
            Ok(route) => RouteMut { route: Some(route) },
            Err(e) => {
                self.route_errors.push(e.to_string());
                RouteMut { route: None }
            }
        }
    }

    /// Routes `GET` (and so `HEAD`) requests for `pattern`.
    pub fn get<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Get, pattern, handler)
    }

    /// Routes `POST` requests for `pattern`.
    pub fn post<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Post, pattern, handler)
    }

    /// Routes `PUT` requests for `pattern`.
    pub fn put<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Put, pattern, handler)
    }

    /// Routes `PATCH` requests for `pattern`.
    pub fn patch<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Patch, pattern, handler)
    }

    /// Routes `DELETE` requests for `pattern`.
    pub fn delete<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.route(Method::Delete, pattern, handler)
    }

    /// Binds the listeners (one per I/O thread, `SO_REUSEPORT`) without serving yet.
    /// Port 0 picks a free port, shared by all threads: see [`Server::local_addr`].
    pub fn bind(self, addr: impl ToSocketAddrs) -> io::Result<Server> {
        if !self.route_errors.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                self.route_errors.join("; "),
            ));
        }
        Server::bind(self, addr)
    }

    /// Binds and serves until the server is shut down.
    pub fn serve(self, addr: impl ToSocketAddrs) -> io::Result<()> {
        self.bind(addr)?.run()
    }
}
