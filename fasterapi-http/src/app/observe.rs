//! Observability: Prometheus metrics ([`App::metrics`](crate::App::metrics)) and the
//! access log ([`App::access_log`](crate::App::access_log)), both off by default.
//!
//! Both work by wrapping each route's handler when the app binds, outside its middleware
//! and compression, so a route pays for them only when they are on, and then nothing is
//! checked per request to know it. The counters of routed requests live per thread: each
//! thread that runs handlers (I/O threads, pool workers) owns one set of relaxed atomics,
//! which only it writes (a load and a store, no read-modify-write, no lock, no cache line
//! shared with another writer); a scrape adds the threads' sets up. The rare events
//! (requests no route takes, shed and timed-out requests, dropped log lines) go to shared
//! counters from their cold paths.
//!
//! Latency is the handler's time (middleware and compression included): from the call
//! until the response is returned, not the time to parse the request or write the answer.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Instant, SystemTime};

use fasterapi_core::metrics::Counter;

use crate::app::request::Request;
use crate::app::Handler;
use crate::http::method::Method;
use crate::http::response::{Body, Response, StatusCode};

/// The methods, in the order of their counters.
const METHODS: [Method; 9] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Patch,
    Method::Options,
    Method::Trace,
    Method::Connect,
];

fn method_index(m: Method) -> usize {
    METHODS.iter().position(|&x| x == m).unwrap_or(0)
}

/// Status classes 1xx..5xx, as indices 0..5 (anything out of range counts as 5xx).
fn class_index(s: StatusCode) -> usize {
    match s.as_u16() / 100 {
        c @ 1..=5 => c as usize - 1,
        _ => 4,
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the latency buckets, in nanoseconds (Prometheus' `le`, cumulated at
/// scrape; the last bucket, `+Inf`, is implicit).
const BOUNDS_NS: [u64; 16] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// One thread's counters for one route.
struct RouteCells {
    requests: [[AtomicU64; 5]; 9],
    buckets: [AtomicU64; BOUNDS_NS.len() + 1],
    sum_ns: AtomicU64,
}

impl RouteCells {
    fn new() -> RouteCells {
        RouteCells {
            requests: std::array::from_fn(|_| std::array::from_fn(|_| AtomicU64::new(0))),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
        }
    }
}

/// Adds `n` to a counter only the calling thread writes: a plain load and store (readers
/// on other threads see each value whole, relaxed).
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// The counters of every route, owned by one thread.
struct ThreadCells {
    routes: Box<[RouteCells]>,
}

/// Open connections and worker-queue depth, read from the server at scrape time.
pub(crate) type Gauges = Box<dyn Fn() -> (usize, usize) + Send + Sync>;

/// Each registry's number, so a thread's cells are found per registry (a process may run
/// several servers, and a thread may serve more than one).
static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's cells, by registry number (usually one).
    static CELLS: RefCell<Vec<(usize, Arc<ThreadCells>)>> = const { RefCell::new(Vec::new()) };
}

/// The metrics of an app (see [`App::metrics`](crate::App::metrics)).
pub(crate) struct Registry {
    id: usize,
    /// `(method label, pattern)` of each route, by the index its wrapper counts under; set
    /// when the app binds.
    routes: OnceLock<Box<[(String, String)]>>,
    threads: Mutex<Vec<Arc<ThreadCells>>>,
    /// Requests no route took, by method and status class.
    misses: [[Counter; 5]; 9],
    pub(crate) shed: Counter,
    pub(crate) timed_out: Counter,
    pub(crate) gauges: OnceLock<Gauges>,
    /// The access log's count of dropped lines, when there is one.
    pub(crate) log_dropped: OnceLock<Arc<Counter>>,
}

impl Registry {
    pub(crate) fn new() -> Registry {
        Registry {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            routes: OnceLock::new(),
            threads: Mutex::new(Vec::new()),
            misses: std::array::from_fn(|_| std::array::from_fn(|_| Counter::new())),
            shed: Counter::new(),
            timed_out: Counter::new(),
            gauges: OnceLock::new(),
            log_dropped: OnceLock::new(),
        }
    }

    /// Fixes the route labels (once, when the app binds).
    pub(crate) fn set_routes(&self, routes: Vec<(String, String)>) {
        let _ = self.routes.set(routes.into());
    }

    /// Counts a request no route took.
    pub(crate) fn count_miss(&self, method: Method, status: StatusCode) {
        self.misses[method_index(method)][class_index(status)].inc();
    }

    /// Counts one routed request on the calling thread's cells.
    #[inline]
    fn record(self: &Arc<Self>, route: usize, method: Method, status: StatusCode, ns: u64) {
        CELLS.with(|cells| {
            let mut cells = cells.borrow_mut();
            let mine = match cells.iter().find(|(id, _)| *id == self.id) {
                Some((_, c)) => c,
                None => {
                    let fresh = self.register();
                    cells.push((self.id, fresh));
                    // Just pushed.
                    &cells[cells.len() - 1].1
                }
            };
            let Some(c) = mine.routes.get(route) else {
                return;
            };
            bump(&c.requests[method_index(method)][class_index(status)], 1);
            let b = BOUNDS_NS
                .iter()
                .position(|&b| ns <= b)
                .unwrap_or(BOUNDS_NS.len());
            bump(&c.buckets[b], 1);
            bump(&c.sum_ns, ns);
        });
    }

    #[cold]
    fn register(&self) -> Arc<ThreadCells> {
        let n = self.routes.get().map_or(0, |r| r.len());
        let cells = Arc::new(ThreadCells {
            routes: (0..n).map(|_| RouteCells::new()).collect(),
        });
        self.threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cells.clone());
        cells
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter, merged over the
    /// threads.
    pub(crate) fn render(&self) -> String {
        let routes: &[(String, String)] = self.routes.get().map_or(&[], |r| r);
        let threads = self
            .threads
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP fasterapi_requests_total Requests answered, by route pattern, method and status class.\n\
             # TYPE fasterapi_requests_total counter\n",
        );
        for (i, (_, pattern)) in routes.iter().enumerate() {
            for (m, method) in METHODS.iter().enumerate() {
                for (c, class) in CLASSES.iter().enumerate() {
                    let n: u64 = threads
                        .iter()
                        .map(|t| t.routes[i].requests[m][c].load(Ordering::Relaxed))
                        .sum();
                    if n > 0 {
                        let _ = writeln!(
                            out,
                            "fasterapi_requests_total{{route=\"{}\",method=\"{}\",status=\"{class}\"}} {n}",
                            escape(pattern),
                            method.as_str()
                        );
                    }
                }
            }
        }
        for (m, method) in METHODS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = self.misses[m][c].get();
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "fasterapi_requests_total{{route=\"\",method=\"{}\",status=\"{class}\"}} {n}",
                        method.as_str()
                    );
                }
            }
        }
        out.push_str(
            "# HELP fasterapi_request_duration_seconds Handler time of routed requests.\n\
             # TYPE fasterapi_request_duration_seconds histogram\n",
        );
        for (i, (method, pattern)) in routes.iter().enumerate() {
            let mut cumulative = 0u64;
            let labels = format!("route=\"{}\",method=\"{method}\"", escape(pattern));
            for b in 0..=BOUNDS_NS.len() {
                cumulative += threads
                    .iter()
                    .map(|t| t.routes[i].buckets[b].load(Ordering::Relaxed))
                    .sum::<u64>();
                match BOUNDS_NS.get(b) {
                    Some(&ns) => {
                        let le = ns as f64 / 1e9;
                        let _ = writeln!(
                            out,
                            "fasterapi_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "fasterapi_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
                        );
                    }
                }
            }
            let sum_ns: u64 = threads
                .iter()
                .map(|t| t.routes[i].sum_ns.load(Ordering::Relaxed))
                .sum();
            let _ = writeln!(
                out,
                "fasterapi_request_duration_seconds_sum{{{labels}}} {}",
                sum_ns as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "fasterapi_request_duration_seconds_count{{{labels}}} {cumulative}"
            );
        }
        let (open, queued) = self.gauges.get().map_or((0, 0), |g| g());
        let dropped = self.log_dropped.get().map_or(0, |c| c.get());
        for (name, kind, help, value) in [
            (
                "fasterapi_open_connections",
                "gauge",
                "Connections open now.",
                open as u64,
            ),
            (
                "fasterapi_worker_queue_depth",
                "gauge",
                "Jobs waiting for a worker thread.",
                queued as u64,
            ),
            (
                "fasterapi_shed_requests_total",
                "counter",
                "Requests answered 503 because the worker pool was full or too slow.",
                self.shed.get(),
            ),
            (
                "fasterapi_timed_out_requests_total",
                "counter",
                "Requests answered 408 because they were not received in time.",
                self.timed_out.get(),
            ),
            (
                "fasterapi_access_log_dropped_total",
                "counter",
                "Access log lines dropped because the writer was behind.",
                dropped,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

/// A label value escaped as the text format wants (`\`, `"`, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The access log's line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// NCSA Common Log Format:
    /// `127.0.0.1 - - [07/Dec/2026:01:02:03 +0000] "GET /todos HTTP/1.1" 200 42`.
    Common,
    /// One JSON object a line: `{"time":"2026-12-07T01:02:03Z","peer":"127.0.0.1:5000",
    /// "method":"GET","path":"/todos","status":200,"bytes":42,"duration_us":17}`.
    Json,
}

/// Lines waiting for the access log's writer thread; past it, lines are dropped (and
/// counted) rather than make an I/O thread wait.
pub const ACCESS_LOG_QUEUE: usize = 8192;

/// The access log (see [`App::access_log`](crate::App::access_log)).
pub(crate) struct AccessLog {
    format: AccessLogFormat,
    lines: SyncSender<String>,
    pub(crate) dropped: Arc<Counter>,
}

impl AccessLog {
    /// Starts the writer thread, which writes each line to `sink` and flushes when it has
    /// no more waiting; it ends when the app is dropped.
    pub(crate) fn start(
        format: AccessLogFormat,
        mut sink: Box<dyn Write + Send>,
    ) -> std::io::Result<AccessLog> {
        let (lines, rx) = sync_channel::<String>(ACCESS_LOG_QUEUE);
        std::thread::Builder::new()
            .name("fasterapi-access-log".into())
            .spawn(move || {
                while let Ok(line) = rx.recv() {
                    let mut ok = sink.write_all(line.as_bytes()).is_ok();
                    while let Ok(line) = rx.try_recv() {
                        ok &= sink.write_all(line.as_bytes()).is_ok();
                    }
                    ok &= sink.flush().is_ok();
                    if !ok {
                        log::warn!("fasterapi: the access log could not be written");
                    }
                }
            })?;
        Ok(AccessLog {
            format,
            lines,
            dropped: Arc::new(Counter::new()),
        })
    }

    fn line(&self, req: &Request<'_>, res: &Response, elapsed_ns: u64) {
        let bytes = match body_len(res.body()) {
            Some(n) => n.to_string(),
            None => "-".to_owned(),
        };
        let now = SystemTime::now();
        let line = match self.format {
            AccessLogFormat::Common => format!(
                "{} - - [{}] \"{} {} HTTP/1.{}\" {} {}\n",
                req.peer_addr().ip(),
                clf_time(now),
                req.method().as_str(),
                req.path(),
                req.http_minor_version(),
                res.status().as_u16(),
                bytes
            ),
            AccessLogFormat::Json => {
                let mut path = String::new();
                json_string(&mut path, req.path());
                format!(
                    "{{\"time\":\"{}\",\"peer\":\"{}\",\"method\":\"{}\",\"path\":{path},\"status\":{},\"bytes\":{},\"duration_us\":{}}}\n",
                    httpdate_iso(now),
                    req.peer_addr(),
                    req.method().as_str(),
                    res.status().as_u16(),
                    if bytes == "-" { "null" } else { &bytes },
                    elapsed_ns / 1000
                )
            }
        };
        match self.lines.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => self.dropped.inc(),
        }
    }
}

/// The length of a body known before it is sent (not a stream's).
fn body_len(body: &Body) -> Option<u64> {
    match body {
        Body::Empty => Some(0),
        Body::Static(b) => Some(b.len() as u64),
        Body::Bytes(b) => Some(b.len() as u64),
        Body::Owned(b) => Some(b.len() as u64),
        Body::File(f) => Some(f.len),
        Body::Stream(_) => None,
    }
}

/// `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Civil date and time (UTC) of `t`: (year, month, day, hour, minute, second).
fn civil(t: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn clf_time(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s) = civil(t);
    format!(
        "{d:02}/{}/{y}:{h:02}:{mi:02}:{s:02} +0000",
        MONTHS[(mo - 1) as usize]
    )
}

fn httpdate_iso(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Wraps `handler` (route number `index`, of `registry` and/or `log`) to count and time
/// its requests and/or log them.
pub(crate) fn observed(
    handler: Handler,
    index: usize,
    registry: Option<Arc<Registry>>,
    log: Option<Arc<AccessLog>>,
) -> Handler {
    Box::new(move |req| {
        let start = Instant::now();
        let res = handler(req);
        let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        if let Some(r) = &registry {
            r.record(index, req.method(), res.status(), ns);
        }
        if let Some(log) = &log {
            log.line(req, &res, ns);
        }
        res
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_605_323);
        // 2026-12-07T01:02:03Z
        assert_eq!(httpdate_iso(t), "2026-12-07T01:02:03Z");
        assert_eq!(clf_time(t), "07/Dec/2026:01:02:03 +0000");
        assert_eq!(httpdate_iso(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
