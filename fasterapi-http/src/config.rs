//! Server settings, checked when the server binds.

use std::io;
use std::time::Duration;

use crate::proto::compress::Compression;
use crate::proto::h1::parse::Limits;

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
    /// Largest request head (request line and header fields) in bytes; more is 431. A
    /// chunked body's trailer section is held to it too.
    pub max_head_bytes: usize,
    /// Most header fields in one request (and in a chunked body's trailer section); more
    /// is 431.
    pub max_headers: usize,
    /// Longest request target in bytes; longer is 414.
    pub max_target_bytes: usize,
    /// Largest request body in bytes; more is 413 (told from `Content-Length` before
    /// the body is read).
    pub max_body_bytes: usize,
    /// Largest request body in bytes for a route that reads multipart forms as they
    /// arrive ([`RouteMut::stream_forms`](crate::RouteMut::stream_forms)): its files go to
    /// temporary files rather than memory, so it may take more than `max_body_bytes`
    /// (or less: it is this route's limit either way); more is 413 (told from
    /// `Content-Length`). Chunked bodies keep `max_body_bytes`.
    pub max_upload_bytes: usize,
    /// Bytes of memory that uploaded files past 1 MiB (a form's
    /// [`spool_max_size`](crate::form::FormLimits::spool_max_size)) may be kept in, all
    /// forms of the process together; a file that finds no room waits for it while
    /// uploads ahead of it (or their handlers) hold it, up to 20 ms, then goes to a
    /// temporary file (see [`form::set_upload_memory`](crate::form::set_upload_memory), which binding
    /// the app calls with it: the memory is the process's, so of several apps bound in
    /// one process the last one's setting holds for all). Default 12 MiB.
    pub upload_memory_bytes: usize,
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
    /// Response compression for every route but those that say otherwise
    /// ([`RouteMut::compress`](crate::RouteMut::compress),
    /// [`RouteMut::no_compress`](crate::RouteMut::no_compress)), and for the answers to
    /// requests no route takes. `None` (the default): off, as in FastAPI until
    /// `GZipMiddleware` is added, and since compressing costs CPU that small and
    /// already-compressed bodies do not pay back.
    pub compression: Option<Compression>,
    /// Let other processes listen on the same address and port beside this server
    /// (`SO_REUSEPORT` across processes; the kernel spreads connections over all of
    /// them), as the worker processes of one app do. Off (the default): binding an
    /// address another socket listens on fails with `AddrInUse`, as with most servers,
    /// instead of silently taking a share of that server's connections.
    pub shared_port: bool,
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
            max_upload_bytes: 1024 * 1024 * 1024,
            upload_memory_bytes: 12 * 1024 * 1024,
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
            compression: None,
            shared_port: false,
        }
    }
}

/// Timeouts at or above this are "no timeout": a deadline a century away never comes,
/// and adding `Duration::MAX` to an `Instant` would overflow.
pub(crate) const NO_TIMEOUT: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Most I/O threads or workers; more is surely a mistake (and each takes a stack).
const MAX_THREADS: usize = 4096;

impl Config {
    /// Checks every field; [`App::bind`](crate::App::bind) calls it and refuses to start
    /// with the first bad value, naming the field.
    ///
    /// A timeout may be as long as you like: [`Duration::MAX`] (or anything from about a
    /// century up) means "no timeout". Zero is refused for the request and connection
    /// timeouts (every request would time out at once) and allowed for `queue_timeout`
    /// (shed every job that had to wait) and `shutdown_timeout` (close at once).
    ///
    /// ```
    /// use fasterapi_http::App;
    ///
    /// let mut app = App::new();
    /// app.config_mut().buffer_size = 0;
    /// let err = app.bind("127.0.0.1:0").expect_err("refused");
    /// assert!(err.to_string().contains("buffer_size"), "{err}");
    /// ```
    pub fn validate(&self) -> io::Result<()> {
        let bad = |field: &str, why: String| {
            Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("Config::{field}: {why}"),
            ))
        };
        let max_headers = crate::proto::h1::parse::MAX_HEADERS;
        if self.threads > MAX_THREADS {
            return bad(
                "threads",
                format!("{} is more than {MAX_THREADS}", self.threads),
            );
        }
        if self.workers > MAX_THREADS {
            return bad(
                "workers",
                format!("{} is more than {MAX_THREADS}", self.workers),
            );
        }
        if self.max_head_bytes < 64 {
            return bad(
                "max_head_bytes",
                format!("{} is below 64 bytes", self.max_head_bytes),
            );
        }
        if self.max_headers == 0 || self.max_headers > max_headers {
            return bad(
                "max_headers",
                format!("{} is not within 1..={max_headers}", self.max_headers),
            );
        }
        if self.max_target_bytes == 0 {
            return bad("max_target_bytes", "must be at least 1".into());
        }
        if self.buffer_size < 1024 {
            return bad(
                "buffer_size",
                format!("{} is below 1024 bytes", self.buffer_size),
            );
        }
        if self.listen_backlog < 1 {
            return bad(
                "listen_backlog",
                format!("{} is below 1", self.listen_backlog),
            );
        }
        if self.max_connections == 0 {
            return bad("max_connections", "must be at least 1".into());
        }
        if self.queue_capacity == 0 || self.queue_capacity > 1 << 24 {
            return bad(
                "queue_capacity",
                format!("{} is not within 1..=16777216", self.queue_capacity),
            );
        }
        if let Some(c) = &self.compression {
            c.validate().or_else(|why| bad("compression", why))?;
        }
        for (field, t) in [
            ("header_timeout", self.header_timeout),
            ("body_timeout", self.body_timeout),
            ("idle_timeout", self.idle_timeout),
            ("write_timeout", self.write_timeout),
        ] {
            if t.is_zero() {
                return bad(
                    field,
                    "zero would time out every request at once (Duration::MAX means no timeout)"
                        .into(),
                );
            }
        }
        Ok(())
    }
}

/// `timeout`, with "no timeout" cut down to [`NO_TIMEOUT`] so that adding it to an
/// `Instant` cannot overflow.
pub(crate) fn bounded(timeout: Duration) -> Duration {
    timeout.min(NO_TIMEOUT)
}

impl Limits {
    pub(crate) fn from_config(c: &Config) -> Limits {
        Limits {
            max_head: c.max_head_bytes,
            max_headers: c.max_headers,
            max_target: c.max_target_bytes,
            max_body: c.max_body_bytes,
            max_upload: c.max_upload_bytes,
            max_length: c.max_body_bytes.max(c.max_upload_bytes),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(change: impl FnOnce(&mut Config)) -> String {
        let mut c = Config::default();
        change(&mut c);
        c.validate().expect_err("refused").to_string()
    }

    #[test]
    fn the_default_is_valid_and_no_timeout_is_allowed() {
        Config::default().validate().unwrap();
        let c = Config {
            header_timeout: Duration::MAX,
            body_timeout: Duration::MAX,
            idle_timeout: Duration::MAX,
            write_timeout: Duration::MAX,
            queue_timeout: Duration::MAX,
            shutdown_timeout: Duration::MAX,
            ..Config::default()
        };
        c.validate().unwrap();
        // The deadlines computed from them do not overflow.
        let now = std::time::Instant::now();
        assert!(now + bounded(Duration::MAX) > now + Duration::from_secs(1 << 30));
    }

    #[test]
    fn each_bad_value_names_its_field() {
        assert!(refused(|c| c.buffer_size = 0).contains("Config::buffer_size"));
        assert!(refused(|c| c.max_headers = 101).contains("Config::max_headers"));
        assert!(refused(|c| c.max_headers = 0).contains("Config::max_headers"));
        assert!(refused(|c| c.max_head_bytes = 10).contains("Config::max_head_bytes"));
        assert!(refused(|c| c.max_target_bytes = 0).contains("Config::max_target_bytes"));
        assert!(refused(|c| c.listen_backlog = 0).contains("Config::listen_backlog"));
        assert!(refused(|c| c.max_connections = 0).contains("Config::max_connections"));
        assert!(refused(|c| c.queue_capacity = 0).contains("Config::queue_capacity"));
        assert!(refused(|c| c.threads = 1 << 20).contains("Config::threads"));
        assert!(refused(|c| c.workers = 1 << 20).contains("Config::workers"));
        assert!(refused(|c| c.idle_timeout = Duration::ZERO).contains("Config::idle_timeout"));
        assert!(refused(|c| c.header_timeout = Duration::ZERO).contains("Config::header_timeout"));
    }
}
