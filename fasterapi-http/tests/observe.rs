//! Observability over real sockets: the Prometheus endpoint counts exactly the requests
//! sent, by route pattern, method and status class; the access log writes one line per
//! routed request.

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc;
use std::time::Duration;

use common::{get, roundtrip};
use fasterapi_http::observe::{AccessLogFormat, SharedMetrics};
use fasterapi_http::{App, Error, Request, Response, RunningServer, StatusCode};

fn serve(mut app: App, threads: usize) -> RunningServer {
    app.config_mut().threads = threads;
    app.bind("127.0.0.1:0")
        .expect("bind")
        .spawn()
        .expect("spawn")
}

fn routes(app: &mut App) {
    app.get("/hello", |_req: &Request| Response::text("hi"));
    app.get("/items/{id}", |req: &Request| {
        let id: u64 = req.param("id")?;
        if id == 0 {
            return Err(Error::new(StatusCode::NOT_FOUND, "no item 0"));
        }
        Ok(Response::text(id.to_string()))
    });
    app.post("/items", |_req: &Request| {
        Response::text("made").with_status(StatusCode::CREATED)
    });
}

/// The samples of a Prometheus text exposition, by `name{labels}` as written; comments
/// and types checked for form.
fn parse(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(comment) = line.strip_prefix('#') {
            assert!(
                comment.starts_with(" HELP ") || comment.starts_with(" TYPE "),
                "bad comment line {line:?}"
            );
            continue;
        }
        let (key, value) = line.rsplit_once(' ').expect("sample line has a value");
        let value: f64 = value.parse().expect("sample value is a number");
        assert!(
            samples.insert(key.to_owned(), value).is_none(),
            "duplicate sample {key}"
        );
    }
    samples
}

fn scrape(server: &RunningServer) -> HashMap<String, f64> {
    let resp = roundtrip(server.local_addr(), &get("/metrics"));
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    parse(resp.text())
}

fn requests(route: &str, method: &str, class: &str) -> String {
    format!("fasterapi_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{class}\"}}")
}

#[test]
fn metrics_count_exactly_the_requests_sent() {
    let mut app = App::new();
    routes(&mut app);
    app.metrics("/metrics");
    let server = serve(app, 2);
    let addr = server.local_addr();
    // Each on its own connection, so both I/O threads serve some: the scrape merges them.
    for _ in 0..7 {
        assert_eq!(roundtrip(addr, &get("/hello")).status, 200);
    }
    for i in 1..=5 {
        assert_eq!(roundtrip(addr, &get(&format!("/items/{i}"))).status, 200);
    }
    for _ in 0..3 {
        assert_eq!(roundtrip(addr, &get("/items/0")).status, 404);
    }
    for _ in 0..4 {
        let post = b"POST /items HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}";
        assert_eq!(roundtrip(addr, post).status, 201);
    }
    for _ in 0..2 {
        assert_eq!(roundtrip(addr, &get("/nowhere")).status, 404);
    }
    let m = scrape(&server);
    assert_eq!(m[&requests("/hello", "GET", "2xx")], 7.0);
    assert_eq!(m[&requests("/items/{id}", "GET", "2xx")], 5.0);
    assert_eq!(m[&requests("/items/{id}", "GET", "4xx")], 3.0);
    assert_eq!(m[&requests("/items", "POST", "2xx")], 4.0);
    assert_eq!(m[&requests("", "GET", "4xx")], 2.0);
    // Nothing else was counted (the scrape itself is counted once it is answered).
    let total: f64 = m
        .iter()
        .filter(|(k, _)| k.starts_with("fasterapi_requests_total{"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(total, 21.0);
    // The latency histogram: one count per routed request, cumulative buckets.
    let hello = "route=\"/hello\",method=\"GET\"";
    assert_eq!(
        m[&format!("fasterapi_request_duration_seconds_count{{{hello}}}")],
        7.0
    );
    assert_eq!(
        m[&format!("fasterapi_request_duration_seconds_bucket{{{hello},le=\"+Inf\"}}")],
        7.0
    );
    assert_eq!(
        m["fasterapi_request_duration_seconds_count{route=\"/items/{id}\",method=\"GET\"}"],
        8.0
    );
    let mut last = 0.0;
    for (k, v) in &m {
        if k.starts_with(&format!(
            "fasterapi_request_duration_seconds_bucket{{{hello}"
        )) {
            assert!(*v <= 7.0, "{k} = {v}");
            last = f64::max(last, *v);
        }
    }
    assert_eq!(last, 7.0);
    // The scrape's connection is open (the other thread may not have seen the close of
    // the last connection it served yet; one thread is exact, in the test below).
    assert!(m["fasterapi_open_connections"] >= 1.0);
    assert_eq!(m["fasterapi_shed_requests_total"], 0.0);
    assert_eq!(m["fasterapi_timed_out_requests_total"], 0.0);
    // A second scrape sees the first one counted.
    let m = scrape(&server);
    assert_eq!(m[&requests("/metrics", "GET", "2xx")], 1.0);
    assert_eq!(m[&requests("/hello", "GET", "2xx")], 7.0);
    server.shutdown().unwrap();
}

#[test]
fn a_request_not_received_in_time_is_counted_as_timed_out() {
    let mut app = App::new();
    routes(&mut app);
    app.metrics("/stats");
    app.config_mut().header_timeout = Duration::from_millis(200);
    let server = serve(app, 1);
    let mut slow = common::connect(server.local_addr());
    slow.write_all(b"GET /hello HTTP/1.1\r\nHost").unwrap();
    let mut r = std::io::BufReader::new(slow);
    // The server answers 408 when the head does not complete in time.
    assert_eq!(common::read_response(&mut r, false).status, 408);
    let resp = roundtrip(server.local_addr(), &get("/stats"));
    let m = parse(resp.text());
    assert_eq!(m["fasterapi_timed_out_requests_total"], 1.0);
    server.shutdown().unwrap();
}

#[test]
fn one_thread_puts_every_request_in_a_finite_bucket_before_the_next_is_served() {
    let mut app = App::new();
    routes(&mut app);
    app.metrics("/metrics");
    let server = serve(app, 1);
    let addr = server.local_addr();
    for _ in 0..6 {
        assert_eq!(roundtrip(addr, &get("/hello")).status, 200);
    }
    let m = scrape(&server);
    let hello = "route=\"/hello\",method=\"GET\"";
    // The turns that served the requests ended before the scrape's turn began: each
    // request is in a bucket of at most 10 s, and the sum is of 6 latencies.
    assert_eq!(
        m[&format!("fasterapi_request_duration_seconds_bucket{{{hello},le=\"10\"}}")],
        6.0
    );
    assert_eq!(
        m[&format!("fasterapi_request_duration_seconds_count{{{hello}}}")],
        6.0
    );
    assert!(m[&format!("fasterapi_request_duration_seconds_sum{{{hello}}}")] > 0.0);
    // One thread saw each client's close before the scrape's connection (sent after it).
    assert_eq!(m["fasterapi_open_connections"], 1.0);
    server.shutdown().unwrap();
}

#[test]
fn servers_sharing_a_metrics_region_each_report_the_requests_of_both() {
    let shared = SharedMetrics::new().unwrap();
    let start = || {
        let mut app = App::new();
        routes(&mut app);
        app.metrics_shared("/metrics", &shared);
        serve(app, 1)
    };
    // Two servers in one process stand for two worker processes: the same region, the
    // same routes, slots taken from the same header.
    let (a, b) = (start(), start());
    for _ in 0..3 {
        assert_eq!(roundtrip(a.local_addr(), &get("/hello")).status, 200);
    }
    for _ in 0..4 {
        assert_eq!(roundtrip(b.local_addr(), &get("/hello")).status, 200);
    }
    assert_eq!(roundtrip(b.local_addr(), &get("/items/0")).status, 404);
    for (k, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let m = scrape(server);
        assert_eq!(m[&requests("/hello", "GET", "2xx")], 7.0);
        assert_eq!(m[&requests("/items/{id}", "GET", "4xx")], 1.0);
        assert_eq!(
            m.get(&requests("/metrics", "GET", "2xx")).copied(),
            (k > 0).then_some(k as f64)
        );
        assert_eq!(
            m["fasterapi_request_duration_seconds_count{route=\"/hello\",method=\"GET\"}"],
            7.0
        );
    }
    a.shutdown().unwrap();
    b.shutdown().unwrap();
}

#[test]
fn a_shared_metrics_region_refuses_an_app_with_other_routes() {
    let shared = SharedMetrics::new().unwrap();
    let mut first = App::new();
    routes(&mut first);
    first.metrics_shared("/metrics", &shared);
    let first = serve(first, 1);
    let mut other = App::new();
    other.get("/other", |_req: &Request| Response::text("other"));
    other.metrics_shared("/metrics", &shared);
    let Err(err) = other.bind("127.0.0.1:0") else {
        panic!("an app with other routes bound to the shared region");
    };
    assert!(
        err.to_string()
            .contains("differ from those of the processes"),
        "{err}"
    );
    first.shutdown().unwrap();
}

/// A sink handing each write to the test.
struct Lines(mpsc::Sender<String>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(String::from_utf8_lossy(buf).into_owned());
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn logged(format: AccessLogFormat) -> Vec<String> {
    let (tx, rx) = mpsc::channel();
    let mut app = App::new();
    routes(&mut app);
    app.access_log(format, Lines(tx)).unwrap();
    let server = serve(app, 1);
    let addr = server.local_addr();
    assert_eq!(roundtrip(addr, &get("/hello")).status, 200);
    assert_eq!(roundtrip(addr, &get("/items/0")).status, 404);
    let lines: Vec<String> = (0..2)
        .map(|_| {
            rx.recv_timeout(Duration::from_secs(10))
                .expect("a log line")
        })
        .collect();
    server.shutdown().unwrap();
    lines
}

#[test]
fn the_access_log_writes_common_log_format() {
    let lines = logged(AccessLogFormat::Common);
    for (line, (request, status, bytes)) in lines.iter().zip([
        ("\"GET /hello HTTP/1.1\"", "200", "2"),
        ("\"GET /items/0 HTTP/1.1\"", "404", ""),
    ]) {
        assert!(line.starts_with("127.0.0.1 - - ["), "{line:?}");
        assert!(line.ends_with('\n'), "{line:?}");
        let fields: Vec<&str> = line.trim_end().rsplitn(3, ' ').collect();
        assert_eq!(fields[1], status, "{line:?}");
        if !bytes.is_empty() {
            assert_eq!(fields[0], bytes, "{line:?}");
        }
        assert!(line.contains(request), "{line:?}");
        assert!(line.contains(" +0000] "), "{line:?}");
    }
}

#[test]
fn the_access_log_writes_json_lines() {
    let lines = logged(AccessLogFormat::Json);
    assert!(
        lines[0].contains("\"method\":\"GET\",\"path\":\"/hello\",\"status\":200,\"bytes\":2,"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("\"path\":\"/items/0\",\"status\":404,"),
        "{}",
        lines[1]
    );
    for line in &lines {
        assert!(line.starts_with("{\"time\":\"20"), "{line:?}");
        assert!(line.ends_with("}\n"), "{line:?}");
        assert!(line.contains("\"peer\":\"127.0.0.1:"), "{line:?}");
    }
}
