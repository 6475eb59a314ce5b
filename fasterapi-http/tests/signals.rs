//! SIGTERM and SIGINT stop a server started with `run()` gracefully: in-flight requests
//! finish, new connections are refused, and the process exits 0.
//!
//! The server runs in a child process: this test binary re-executed to run only
//! `child_server`, which serves when `FASTERAPI_SIGNAL_CHILD` is set.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use fasterapi_http::{App, Request};

const CHILD_ENV: &str = "FASTERAPI_SIGNAL_CHILD";

/// The server side, run only as the child process of the tests below (`--ignored`), so
/// a plain test run does not count it as a test that passed without checking anything.
#[test]
#[ignore = "the child process of the signal tests"]
fn child_server() {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "run by the signal tests only"
    );
    let mut app = App::new();
    app.config_mut().threads = 2;
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    app.get("/slow", |_req: &Request| {
        println!("STARTED");
        // Held until the parent writes a line to our stdin.
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        "finished"
    })
    .blocking();
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    server.stop_on_signals().unwrap();
    println!("PORT {}", server.local_addr().port());
    server.join().unwrap();
    println!("STOPPED CLEANLY");
}

fn spawn_child() -> (Child, BufReader<ChildStdout>, u16) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_server",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let port = loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "child ended before listening"
        );
        // libtest may print its own text on the same line first.
        if let Some((_, p)) = line.trim().split_once("PORT ") {
            break p.parse().unwrap();
        }
    };
    (child, out, port)
}

fn kill(child: &Child, sig: &str) {
    assert!(Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success());
}

fn rest_of(out: &mut BufReader<ChildStdout>) -> String {
    let mut s = String::new();
    out.read_to_string(&mut s).unwrap();
    s
}

#[test]
fn sigterm_finishes_in_flight_requests_then_exits_zero() {
    let (mut child, mut out, port) = spawn_child();
    let addr = format!("127.0.0.1:{port}");
    let mut idle = TcpStream::connect(&addr).unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    idle.write_all(b"GET /plaintext HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut buf = [0u8; 1024];
    assert!(idle.read(&mut buf).unwrap() > 0);

    let mut busy = TcpStream::connect(&addr).unwrap();
    busy.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    busy.write_all(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(line.contains("STARTED"), "{line}");

    kill(&child, "-TERM");
    // New connections are refused once the listeners close.
    let give_up = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(&addr).is_ok() {
        assert!(Instant::now() < give_up, "still accepting after SIGTERM");
        std::thread::yield_now();
    }
    // The idle keep-alive connection was closed.
    assert_eq!(idle.read(&mut buf).unwrap_or(0), 0);
    // Release the in-flight handler: its answer still arrives, with Connection: close.
    child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
    let mut answer = String::new();
    busy.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        answer.contains("Connection: close\r\n") && answer.ends_with("finished"),
        "{answer}"
    );

    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(rest_of(&mut out).contains("STOPPED CLEANLY"));
}

#[test]
fn sigint_exits_zero() {
    let (mut child, mut out, _port) = spawn_child();
    kill(&child, "-INT");
    assert!(child.wait().unwrap().success());
    assert!(rest_of(&mut out).contains("STOPPED CLEANLY"));
}

static PREVIOUS_RAN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn previous_handler(_sig: libc::c_int) {
    PREVIOUS_RAN.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Installs a SIGTERM handler of its own, serves with `stop_on_signals`, stops through a
/// handle, then raises SIGTERM: the handler it had before must be the one that runs.
#[test]
#[ignore = "the child process of the signal tests"]
fn child_with_its_own_handler() {
    assert!(
        std::env::var_os(CHILD_ENV).is_some(),
        "run by the signal tests only"
    );
    // SAFETY: a plain extern "C" handler that only stores to an atomic.
    let old = unsafe {
        libc::signal(
            libc::SIGTERM,
            previous_handler as extern "C" fn(libc::c_int) as *const () as libc::sighandler_t,
        )
    };
    assert_ne!(old, libc::SIG_ERR);
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/plaintext", |_req: &Request| "Hello, World!");
    let server = app.bind("127.0.0.1:0").unwrap().spawn().unwrap();
    server.stop_on_signals().unwrap();
    server.shutdown().unwrap();
    // SAFETY: raise(3) sends the signal to this thread; the handler only stores.
    assert_eq!(unsafe { libc::raise(libc::SIGTERM) }, 0);
    assert!(PREVIOUS_RAN.load(std::sync::atomic::Ordering::SeqCst));
    println!("PREVIOUS HANDLER RAN");
}

#[test]
fn after_the_server_stops_the_previous_signal_handlers_are_back() {
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_with_its_own_handler",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&child.stdout);
    // Killed by SIGTERM (no exit code) when the default handler was put back instead.
    assert!(child.status.success(), "{:?}: {out}", child.status);
    assert!(out.contains("PREVIOUS HANDLER RAN"), "{out}");
}
