//! The application: routes, handlers and server settings.

pub mod cors;
pub(crate) mod error;
pub mod files;
pub mod form;
pub(crate) mod group;
pub(crate) mod later;
pub mod middleware;
pub mod observe;
pub(crate) mod request;
pub mod router;
#[cfg(feature = "serde")]
pub mod serde_io;
pub(crate) mod state;
#[cfg(feature = "serde")]
pub(crate) mod text_de;
pub mod websocket;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::app::later::{Companion, CompanionFactory};
pub use crate::config::Config;

use crate::app::group::Group;
use crate::app::middleware::{After, Around, Before, Middleware, Next};
use crate::app::request::Request;
use crate::app::router::{Method, RouteError, RouteErrorKind, Router};
use crate::app::state::State;
use crate::http::response::{IntoResponse, Response};
use crate::proto::compress::{compress_response, negotiate, Compression};

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
    /// The group the route was added in (an index into `App::groups`), whose middleware
    /// wrap it when the app binds.
    pub(crate) group: Option<usize>,
    /// Multipart bodies are read into a form as they arrive, with these limits
    /// ([`RouteMut::stream_forms`]); `None`: bodies are held whole.
    pub(crate) forms: Option<form::FormLimits>,
    pub(crate) compression: RouteCompression,
    /// The pattern and method (`None`: any) the route was added with, for metrics.
    pub(crate) label: (Box<str>, Option<Method>),
}

/// Whether a route compresses its responses.
pub(crate) enum RouteCompression {
    /// As [`Config::compression`] says.
    Inherit,
    /// Never ([`RouteMut::no_compress`]).
    Off,
    /// With these settings ([`RouteMut::compress`]).
    On(Compression),
    /// Decided when the app was frozen: the handler compresses if it had to.
    Frozen,
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
            Err(_) => crate::http::response::detail(
                crate::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            ),
        }
    }
}

/// Why no route takes a request: what [`App::no_route`]'s handler is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoRoute<'a> {
    /// No route has the request's path.
    NotFound,
    /// Routes have the path, under other methods: the `Allow` header's value.
    MethodNotAllowed(&'a str),
}

/// The handler of requests no route takes.
pub(crate) type NoRouteHandler =
    Box<dyn Fn(&Request<'_>, NoRoute<'_>) -> Response + Send + Sync + 'static>;

/// The routes [`App::bind`] refused: every malformed or duplicate pattern, in the order
/// they were added. [`App::bind`] and [`App::serve`] return it inside their
/// [`io::Error`] (kind `InvalidInput`); [`App::check_routes`] returns it as is.
///
/// ```
/// use fasterapi_http::{App, Request, RouteTableError};
/// use fasterapi_http::router::RouteErrorKind;
///
/// let mut app = App::new();
/// app.get("/a", |_req: &Request| "a");
/// app.get("/a", |_req: &Request| "again");
/// app.get("b", |_req: &Request| "no slash");
/// let err = app.bind("127.0.0.1:0").expect_err("refused");
/// let table = err
///     .get_ref()
///     .and_then(|e| e.downcast_ref::<RouteTableError>())
///     .expect("a route table error");
/// let kinds: Vec<_> = table.errors().iter().map(|e| (e.pattern(), e.kind())).collect();
/// assert_eq!(
///     kinds,
///     [("/a", RouteErrorKind::Duplicate), ("b", RouteErrorKind::NoLeadingSlash)]
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTableError {
    errors: Vec<RouteError>,
}

impl RouteTableError {
    /// Each refused route, in the order it was added.
    pub fn errors(&self) -> &[RouteError] {
        &self.errors
    }
}

impl std::fmt::Display for RouteTableError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RouteTableError {}

/// The middleware of one route group and the group it sits in.
pub(crate) struct GroupLayers {
    pub(crate) parent: Option<usize>,
    pub(crate) layers: Vec<Arc<dyn Middleware>>,
}

/// A route just added, to adjust: see [`RouteMut::blocking`].
pub struct RouteMut<'a> {
    route: Option<&'a mut Route>,
}

impl std::fmt::Debug for RouteMut<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RouteMut")
            .field("added", &self.route.is_some())
            .finish()
    }
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

    /// Reads this route's `multipart/form-data` bodies part by part as they arrive, files
    /// past `limits.spool_max_size` going to unnamed temporary files, so an upload is
    /// never held in memory whole (and may be as large as
    /// [`Config::max_upload_bytes`](crate::Config::max_upload_bytes)). The handler takes
    /// the form with [`Request::take_form`]; [`Request::body`] is then empty. A body the
    /// reader refuses (malformed, past a limit) is read to its end and discarded, and
    /// `take_form` gives the error. Other bodies (other content types, chunked ones) are
    /// held whole as usual.
    ///
    /// ```
    /// use fasterapi_http::form::{FormLimits, FormValue};
    /// use fasterapi_http::{App, Request, Response};
    ///
    /// let mut app = App::new();
    /// app.post("/upload", |req: &Request| match req.take_form() {
    ///     Some(Ok(items)) => {
    ///         let sizes: Vec<String> = items.iter().map(|(name, v)| match v {
    ///             FormValue::File(f) => format!("{name}: {} bytes", f.size),
    ///             FormValue::Text(t) => format!("{name}: {t}"),
    ///         }).collect();
    ///         Response::text(sizes.join("\n"))
    ///     }
    ///     Some(Err(e)) => Response::text(e.detail).with_status(e.status),
    ///     None => Response::text("send multipart/form-data"),
    /// })
    /// .stream_forms(FormLimits::default());
    /// ```
    pub fn stream_forms(self, limits: form::FormLimits) -> Self {
        if let Some(route) = self.route {
            route.forms = Some(limits);
            return RouteMut { route: Some(route) };
        }
        self
    }

    /// Compresses this route's responses with `settings` (whatever
    /// [`Config::compression`] says): see [`Compression`] for what is compressed.
    pub fn compress(self, settings: Compression) -> Self {
        self.compression(RouteCompression::On(settings))
    }

    /// Never compresses this route's responses, even with [`Config::compression`] set.
    pub fn no_compress(self) -> Self {
        self.compression(RouteCompression::Off)
    }

    fn compression(self, compression: RouteCompression) -> Self {
        if let Some(route) = self.route {
            route.compression = compression;
            return RouteMut { route: Some(route) };
        }
        self
    }

    fn placed(self, placement: Placement) -> Self {
        if let Some(route) = self.route {
            route.placement = placement;
            return RouteMut { route: Some(route) };
        }
        self
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
    route_errors: Vec<RouteError>,
    /// See [`App::no_route`].
    pub(crate) no_route: Option<NoRouteHandler>,
    /// See [`App::redirect_slashes`].
    pub(crate) redirect_slashes: bool,
    /// The app's middleware, outermost first (see [`App::middleware`]).
    pub(crate) layers: Vec<Arc<dyn Middleware>>,
    /// Each route group's middleware, by the index its routes hold.
    pub(crate) groups: Vec<GroupLayers>,
    /// See [`App::with_state`].
    pub(crate) state: State,
    /// [`Config::compression`] as the app was frozen with, for the answers of requests no
    /// route takes.
    pub(crate) miss_compression: Option<Arc<Compression>>,
    /// See [`App::metrics`].
    pub(crate) metrics: Option<Arc<observe::Registry>>,
    /// See [`App::access_log`].
    pub(crate) access_log: Option<Arc<observe::AccessLog>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("routes", &self.router.values().count())
            .field("config", &self.config)
            .field("companion", &self.companion.is_some())
            .field("no_route", &self.no_route.is_some())
            .field("redirect_slashes", &self.redirect_slashes)
            .field("middleware", &self.layers.len())
            .field("groups", &self.groups.len())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
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
            no_route: None,
            redirect_slashes: false,
            layers: Vec::new(),
            groups: Vec::new(),
            state: State::default(),
            miss_compression: None,
            metrics: None,
            access_log: None,
        }
    }

    /// This app with `state` added to its shared state: any handler (and middleware) gets
    /// it by type with [`Request::state`]. See [`App::set_state`].
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// use fasterapi_http::{App, Error, Request, Response};
    ///
    /// struct Hits(AtomicU64);
    ///
    /// let mut app = App::new().with_state(Hits(AtomicU64::new(0)));
    /// app.get("/hit", |req: &Request| -> Result<Response, Error> {
    ///     let hits = req.state::<Hits>()?;
    ///     let n = hits.0.fetch_add(1, Ordering::Relaxed) + 1;
    ///     Ok(Response::text(n.to_string()))
    /// });
    /// ```
    pub fn with_state<T: Send + Sync + 'static>(mut self, state: T) -> App {
        self.set_state(state);
        self
    }

    /// Adds `state` to the app's shared state, replacing a value of the same type.
    ///
    /// Values are kept by type, one per type, for the server's life, and shared by every
    /// I/O thread and worker: [`Request::state`] finds one by comparing type ids along a
    /// short list, with no allocation and no lock. Mutable state needs its own
    /// synchronisation (atomics, a `Mutex`, an `RwLock`): handlers run on several threads
    /// at once.
    pub fn set_state<T: Send + Sync + 'static>(&mut self, state: T) {
        self.state.insert(state);
    }

    /// Runs `middleware` around every route's handler and around the answers to requests
    /// no route takes: see [`middleware`](crate::middleware) for the order and the cost.
    pub fn middleware(&mut self, middleware: impl Middleware) {
        self.layers.push(Arc::new(middleware));
    }

    /// Runs `hook` before every handler: when it returns a response, that is the answer
    /// and the handler (and any later middleware) does not run.
    ///
    /// ```
    /// use fasterapi_http::{App, Error, IntoResponse, Request, StatusCode};
    ///
    /// let mut app = App::new();
    /// app.before(|req: &Request| {
    ///     (req.header("authorization") != Some("Bearer secret")).then(|| {
    ///         Error::new(StatusCode::UNAUTHORIZED, "Not authenticated")
    ///             .with_header("WWW-Authenticate", "Bearer")
    ///             .into_response()
    ///     })
    /// });
    /// ```
    pub fn before<F>(&mut self, hook: F)
    where
        F: Fn(&Request<'_>) -> Option<Response> + Send + Sync + 'static,
    {
        self.middleware(Before(hook));
    }

    /// Runs `hook` on every response (the handler's, or an earlier middleware's
    /// short-circuit) before it is sent, to change its status or headers.
    ///
    /// ```
    /// use fasterapi_http::{App, Request};
    ///
    /// let mut app = App::new();
    /// app.after(|req: &Request, resp| {
    ///     if req.path().starts_with("/private") {
    ///         resp.set_header("Cache-Control", "no-store");
    ///     }
    /// });
    /// ```
    pub fn after<F>(&mut self, hook: F)
    where
        F: Fn(&Request<'_>, &mut Response) + Send + Sync + 'static,
    {
        self.middleware(After(hook));
    }

    /// Runs `hook` around every handler: it calls [`Next::run`] to get the handler's
    /// response (or does not, to answer itself).
    ///
    /// ```
    /// use fasterapi_http::{App, Next, Request, Response};
    ///
    /// let mut app = App::new();
    /// app.around(|req: &Request, next: Next| {
    ///     let started = std::time::Instant::now();
    ///     let resp = next.run(req);
    ///     let micros = started.elapsed().as_micros().to_string();
    ///     resp.with_header("Server-Timing", format!("app;dur={micros}"))
    /// });
    /// ```
    pub fn around<F>(&mut self, hook: F)
    where
        F: Fn(&Request<'_>, Next<'_>) -> Response + Send + Sync + 'static,
    {
        self.middleware(Around(hook));
    }

    /// A route group: routes added through `build`'s [`Group`] have `prefix` in front of
    /// their patterns and run inside the group's middleware (after the app's). Groups
    /// nest. `prefix` is empty (a group for its middleware alone) or starts with `/` and
    /// does not end with one; a bad prefix refuses the group's routes at bind
    /// ([`RouteErrorKind::BadPrefix`]).
    ///
    /// ```
    /// use fasterapi_http::{App, Request, Response};
    ///
    /// let mut app = App::new();
    /// app.scope("/api/v1", |api| {
    ///     api.after(|_req, resp| resp.set_header("x-api-version", "1"));
    ///     api.get("/users/{id}", |req: &Request| req.param_str("id").unwrap_or("").to_owned());
    ///     api.scope("/admin", |admin| {
    ///         admin.before(|req: &Request| {
    ///             req.header("x-admin").is_none().then(|| Response::text("no").with_status(
    ///                 fasterapi_http::StatusCode::FORBIDDEN,
    ///             ))
    ///         });
    ///         admin.delete("/users/{id}", |_req: &Request| "deleted");
    ///     });
    /// });
    /// ```
    pub fn scope<F>(&mut self, prefix: &str, build: F)
    where
        F: FnOnce(&mut Group<'_>),
    {
        Group::open(self, None, String::new(), prefix, build);
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

    /// Routes `method` requests for `pattern` (see [`crate::app::router`] for the syntax) to
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
        self.add(None, Some(method), pattern, into_handler(handler))
    }

    /// Routes requests of every method for `pattern` to `handler`, but those of methods
    /// routed on the same pattern by [`App::route`] (`HEAD` goes to `GET`'s handler when
    /// there is one). Such a path never answers 405: the handler looks at
    /// [`Request::method`] itself.
    pub fn any<H, R>(&mut self, pattern: &str, handler: H) -> RouteMut<'_>
    where
        H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.add(None, None, pattern, into_handler(handler))
    }

    /// Adds a route for `method` (`None`: any method) in `group`, or records why not.
    pub(crate) fn add(
        &mut self,
        group: Option<usize>,
        method: Option<Method>,
        pattern: &str,
        handler: Handler,
    ) -> RouteMut<'_> {
        let route = Route {
            handler,
            placement: Placement::Inline,
            group,
            forms: None,
            compression: RouteCompression::Inherit,
            label: (pattern.into(), method),
        };
        let added = match method {
            Some(method) => self.router.insert(method, pattern, route),
            None => self.router.insert_any(pattern, route),
        };
        match added {
            Ok(route) => RouteMut { route: Some(route) },
            Err(e) => {
                self.route_errors.push(e);
                RouteMut { route: None }
            }
        }
    }

    /// Records a route refused before reaching the router (a group's bad prefix).
    pub(crate) fn refuse(&mut self, pattern: String, kind: RouteErrorKind) -> RouteMut<'_> {
        self.route_errors.push(RouteError::new(pattern, kind));
        RouteMut { route: None }
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

    /// Answers the requests no route takes with `handler`, told why
    /// ([`NoRoute`]), instead of `404 {"detail":"Not Found"}` or
    /// `405 {"detail":"Method Not Allowed"}` with `Allow`.
    ///
    /// It runs on the I/O thread. A request with a body is answered when its head is
    /// in, as the defaults are: its body is not read (the handler sees it empty, and it
    /// cannot [defer](Request::defer)), and the connection closes after the answer.
    /// Matched routes do not pay for it.
    pub fn no_route<H, R>(&mut self, handler: H)
    where
        H: Fn(&Request<'_>, NoRoute<'_>) -> R + Send + Sync + 'static,
        R: IntoResponse,
    {
        self.no_route = Some(Box::new(move |req, why| handler(req, why).into_response()));
    }

    /// With `true`, a request no route takes whose path, with its trailing slash
    /// removed or one added, is routed (under any method) is answered
    /// `307 Temporary Redirect` to that path, its query string kept, as Starlette's
    /// `redirect_slashes` does: `/items/` to `/items` when only `/items` is routed, and
    /// the reverse. The `Location` is absolute (`http://` and the `Host` header) when the
    /// request names its host. Off by default.
    pub fn redirect_slashes(&mut self, on: bool) {
        self.redirect_slashes = on;
    }

    /// The routes [`App::bind`] would refuse, if any.
    pub fn check_routes(&self) -> Result<(), RouteTableError> {
        if self.route_errors.is_empty() {
            return Ok(());
        }
        Err(RouteTableError {
            errors: self.route_errors.clone(),
        })
    }

    /// What [`App::bind`] refuses to serve: malformed or duplicate routes, a bad
    /// [`Config`] value.
    pub(crate) fn check(&self) -> io::Result<()> {
        self.check_routes()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        for route in self.router.values() {
            if let RouteCompression::On(c) = &route.compression {
                c.validate().map_err(|why| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("RouteMut::compress: {why}"),
                    )
                })?;
            }
        }
        self.config.validate()
    }

    /// Makes the app ready to serve, once, when it binds: wraps the handlers of routes
    /// inside middleware in their chains (the app's, then their groups', outermost
    /// first), then the handlers of routes that compress in the compressor (outside
    /// every middleware: it works on the final response). Routes with neither keep their
    /// handlers untouched, so they pay nothing for either. Fails only if the metrics'
    /// memory cannot be mapped or a shared region holds another app's routes.
    pub(crate) fn freeze(&mut self) -> io::Result<()> {
        let app_wide = self.config.compression.clone().map(Arc::new);
        let App {
            router,
            layers,
            groups,
            ..
        } = self;
        for route in router.values_mut() {
            let mut chain: Vec<Arc<dyn Middleware>> = Vec::new();
            let mut group = route.group;
            while let Some(g) = group {
                // Inner groups first here; reversed below with the app's in front.
                chain.extend(groups[g].layers.iter().rev().cloned());
                group = groups[g].parent;
            }
            chain.extend(layers.iter().rev().cloned());
            if !chain.is_empty() {
                chain.reverse();
                let chain: Box<[Arc<dyn Middleware>]> = chain.into();
                let inner = std::mem::replace(&mut route.handler, Box::new(|_| unreachable!()));
                route.handler = Box::new(move |req| middleware::run_chain(&chain, &*inner, req));
            }
            let settings = match std::mem::replace(&mut route.compression, RouteCompression::Frozen)
            {
                RouteCompression::Inherit => app_wide.clone(),
                RouteCompression::On(c) => Some(Arc::new(c)),
                RouteCompression::Off | RouteCompression::Frozen => None,
            };
            if let Some(settings) = settings {
                let handler = std::mem::replace(&mut route.handler, Box::new(|_| unreachable!()));
                route.handler = compressing(handler, settings);
            }
        }
        self.miss_compression = app_wide;
        self.observe()
    }

    /// Wraps every route's handler, outermost, in the counting and timing of
    /// [`App::metrics`] and the lines of [`App::access_log`], when either is on.
    fn observe(&mut self) -> io::Result<()> {
        if self.metrics.is_none() && self.access_log.is_none() {
            return Ok(());
        }
        let mut labels = Vec::new();
        for (i, route) in self.router.values_mut().enumerate() {
            let (pattern, method) = &route.label;
            labels.push((
                method.map_or("*", |m| m.as_str()).to_owned(),
                pattern.to_string(),
            ));
            let handler = std::mem::replace(&mut route.handler, Box::new(|_| unreachable!()));
            route.handler =
                observe::observed(handler, i, self.metrics.clone(), self.access_log.clone());
        }
        if let Some(m) = &self.metrics {
            m.set_routes(labels)?;
            if let Some(log) = &self.access_log {
                let _ = m.log_dropped.set(log.dropped.clone());
            }
        }
        Ok(())
    }

    /// Serves Prometheus metrics (text format 0.0.4) at `GET path`: requests by route
    /// pattern, method and status class (`route=""` for requests no route took), a
    /// latency histogram per route (the event-loop turn that served the request, see
    /// [`observe`](crate::observe#what-the-latency-histogram-measures)), open connections, worker-queue depth,
    /// shed (503) and timed-out (408) requests, dropped access-log lines. Off until
    /// called; routes pay for it only when it is on (each handler is wrapped when the
    /// app binds; its counters are per thread, without a lock or shared write). See
    /// [`observe`] for what is measured.
    ///
    /// ```
    /// use fasterapi_http::{App, Request, Response};
    ///
    /// let mut app = App::new();
    /// app.get("/", |_req: &Request| Response::text("hi"));
    /// app.metrics("/metrics");
    /// ```
    pub fn metrics(&mut self, path: &str) -> RouteMut<'_> {
        self.metrics_in(path, observe::Registry::new())
    }

    /// [`App::metrics`] counted in `shared`, a region made before the server processes
    /// were forked: `GET path`, answered by any of them, reports the requests of all (the
    /// gauges too, as each process last published them). Every process must serve the
    /// same routes; `bind` refuses an app whose routes differ from those of a process that
    /// bound before. See [`observe`](crate::observe#where-the-counts-live).
    ///
    /// ```no_run
    /// use fasterapi_http::observe::SharedMetrics;
    /// use fasterapi_http::{App, Request, Response};
    ///
    /// let shared = SharedMetrics::new()?; // before fork(2)
    /// // ... in each forked process:
    /// let mut app = App::new();
    /// app.get("/", |_req: &Request| Response::text("hi"));
    /// app.metrics_shared("/metrics", &shared);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn metrics_shared(&mut self, path: &str, shared: &observe::SharedMetrics) -> RouteMut<'_> {
        self.metrics_in(path, observe::Registry::shared(shared))
    }

    fn metrics_in(&mut self, path: &str, registry: observe::Registry) -> RouteMut<'_> {
        let registry = Arc::new(registry);
        self.metrics = Some(registry.clone());
        self.get(path, move |_req: &Request| {
            Response::bytes(
                registry.render().into_bytes(),
                "text/plain; version=0.0.4; charset=utf-8",
            )
        })
    }

    /// Writes a line for every routed request to `sink` in `format`, from a thread of its
    /// own: an I/O thread formats the line and hands it over through a bounded queue
    /// ([`observe::ACCESS_LOG_QUEUE`] lines) without waiting; when the queue is full the
    /// line is dropped and counted (`fasterapi_access_log_dropped_total` under
    /// [`App::metrics`]). Off by default. Requests no route takes, and requests refused
    /// before routing (malformed, too large, timed out), are not logged.
    ///
    /// ```
    /// use fasterapi_http::observe::AccessLogFormat;
    /// use fasterapi_http::App;
    ///
    /// let mut app = App::new();
    /// app.access_log(AccessLogFormat::Common, std::io::stderr()).unwrap();
    /// ```
    pub fn access_log(
        &mut self,
        format: observe::AccessLogFormat,
        sink: impl std::io::Write + Send + 'static,
    ) -> io::Result<()> {
        self.access_log = Some(Arc::new(observe::AccessLog::start(format, Box::new(sink))?));
        Ok(())
    }
}

/// A handler returning anything [`IntoResponse`], type-erased.
pub(crate) fn into_handler<H, R>(handler: H) -> Handler
where
    H: Fn(&Request<'_>) -> R + Send + Sync + 'static,
    R: IntoResponse,
{
    Box::new(move |req| handler(req).into_response())
}

/// `handler`, its responses compressed with `settings` for what each request accepts. A
/// handler that answers later through a [`Reply`](crate::Reply) gets one that compresses.
fn compressing(handler: Handler, settings: Arc<Compression>) -> Handler {
    Box::new(move |req| {
        let choice = negotiate(req.header_bytes("accept-encoding"), &settings);
        let Some(later) = req.later else {
            return compress_response(handler(req), &settings, choice);
        };
        // Cleared however the handler returns (a panic becomes a 500 further up).
        struct Clear<'a>(&'a later::Later);
        impl Drop for Clear<'_> {
            fn drop(&mut self) {
                self.0.set_compression(None);
            }
        }
        later.set_compression(Some((settings.clone(), choice)));
        let clear = Clear(later);
        let response = handler(req);
        drop(clear);
        if later.is_deferred() {
            // The reply is the answer, compressed when sent.
            return response;
        }
        compress_response(response, &settings, choice)
    })
}
