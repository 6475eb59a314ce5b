//! `MountPython`: Python routes from a file served by a Rust `App`, next to Rust routes.

use std::error::Error;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};

use fasterapi_http::{App, Request};
use fasterapi_py::MountPython;

const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mount_app.py");

/// Sends one request with `Connection: close`; returns (status, body).
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String), Box<dyn Error>> {
    answer(&mut send(addr, method, path, body)?)
}

#[test]
fn python_routes_are_served_next_to_rust_routes() -> Result<(), Box<dyn Error>> {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/rust", |_req: &Request| "from rust");
    // Its 11 routes, and its OpenAPI document, docs pages and their 4 assets.
    assert_eq!(app.mount_python(&format!("{APP}:app"))?, 11 + 8);
    let server = app.bind("127.0.0.1:0")?.spawn()?;
    let addr = server.local_addr();
    assert_eq!(
        request(addr, "GET", "/rust", "")?,
        (200, "from rust".into())
    );
    assert_eq!(
        request(addr, "GET", "/py/7?flag=on", "")?,
        (200, r#"{"id":7,"flag":true}"#.into())
    );
    assert_eq!(
        request(addr, "GET", "/py/0", "")?,
        (404, r#"{"detail":"none"}"#.into())
    );
    let (status, body) = request(addr, "GET", "/py/x", "")?;
    assert_eq!(status, 422);
    assert!(body.contains(r#""loc":["path","id"]"#), "{body}");
    assert_eq!(
        request(addr, "POST", "/echo", r#"{"a":[1,null]}"#)?,
        (200, r#"{"payload":{"a":[1,null]},"method":"POST"}"#.into())
    );
    assert_eq!(request(addr, "GET", "/async", "")?, (200, "awaited".into()));
    // `fasterapi.responses`, imported by the app, came from the binary's embedded package.
    assert_eq!(
        request(addr, "GET", "/submodule", "")?,
        (201, r#"{"loader":"EmbeddedPackage"}"#.into())
    );
    assert_eq!(
        request(addr, "GET", "/boom", "")?,
        (500, "Internal Server Error".into())
    );
    // Still serving after the exception.
    assert_eq!(request(addr, "GET", "/py/1", "")?.0, 200);
    // The docs page (the document itself needs pydantic, which this interpreter may lack).
    let (status, body) = request(addr, "GET", "/docs", "")?;
    assert_eq!(status, 200);
    assert!(body.contains("url: '/openapi.json'"), "{body}");
    // A suspended coroutine does not stall the I/O thread: A completes only because B,
    // sent after it, is served while A waits on the loop.
    let mut a = send(addr, "GET", "/wait/k1", "")?;
    assert_eq!(
        request(addr, "GET", "/set/k1", "")?,
        (200, r#"{"set":"k1"}"#.into())
    );
    assert_eq!(answer(&mut a)?, (200, r#"{"waited":"k1"}"#.into()));
    server.shutdown()?;
    Ok(())
}

/// Sends a request with `Connection: close` and returns the connection, unanswered.
fn send(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> Result<TcpStream, Box<dyn Error>> {
    let mut conn = TcpStream::connect(addr)?;
    // The bodies sent are JSON, read as JSON only with their Content-Type (as FastAPI).
    let content_type = if body.is_empty() {
        ""
    } else {
        "Content-Type: application/json\r\n"
    };
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n{content_type}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    Ok(conn)
}

/// Reads the answer of a connection from [`send`]: (status, body).
fn answer(conn: &mut TcpStream) -> Result<(u16, String), Box<dyn Error>> {
    let mut answer = String::new();
    conn.read_to_string(&mut answer)?;
    let status = answer.get(9..12).ok_or("short answer")?.parse()?;
    let body = answer
        .split_once("\r\n\r\n")
        .ok_or("no head end")?
        .1
        .to_owned();
    Ok((status, body))
}

#[test]
fn with_several_io_threads_def_routes_run_on_the_worker_pool_and_async_ones_on_each_loop(
) -> Result<(), Box<dyn Error>> {
    let mut app = App::new();
    app.config_mut().threads = 2;
    app.config_mut().workers = 1;
    app.get("/rust", |_req: &Request| "from rust");
    app.mount_python(APP)?; // `:app` is the default
    let server = app.bind("127.0.0.1:0")?.spawn()?;
    let addr = server.local_addr();
    // One executor thread answers every Python request, whichever I/O thread read it.
    let mut threads = std::collections::HashSet::new();
    for _ in 0..8 {
        let (status, body) = request(addr, "GET", "/thread", "")?;
        assert_eq!(status, 200);
        threads.insert(body);
    }
    assert_eq!(threads.len(), 1, "{threads:?}");
    assert_eq!(
        request(addr, "GET", "/py/3", "")?,
        (200, r#"{"id":3,"flag":false}"#.into())
    );
    assert_eq!(
        request(addr, "GET", "/rust", "")?,
        (200, "from rust".into())
    );
    // An async route suspends on the loop of the I/O thread that read it, whichever that
    // is; the def route that releases it runs on the pool.
    let mut waiters = Vec::new();
    for _ in 0..4 {
        waiters.push(send(addr, "GET", "/wait_thread_event/t1", "")?);
    }
    assert_eq!(
        request(addr, "GET", "/set_thread_event/t1", "")?,
        (200, r#"{"set":"t1"}"#.into())
    );
    for mut a in waiters {
        assert_eq!(answer(&mut a)?, (200, r#"{"waited":true}"#.into()));
    }
    server.shutdown()?;
    Ok(())
}

#[test]
fn a_bad_target_is_an_error_naming_the_problem() {
    let mut app = App::new();
    let err = app
        .mount_python("/nonexistent/app.py")
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("/nonexistent/app.py")),
        "{err:?}"
    );
    let err = app
        .mount_python(&format!("{APP}:missing"))
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref().is_some_and(|e| e.contains("missing")),
        "{err:?}"
    );
    let err = app
        .mount_python("no_such_module_xyz")
        .err()
        .map(|e| e.to_string());
    assert!(
        err.as_deref()
            .is_some_and(|e| e.contains("ModuleNotFoundError")),
        "{err:?}"
    );
}

/// With `VIRTUAL_ENV` set (an activated venv) the embedded interpreter is that venv's:
/// `sys.prefix` is the venv. From a plain shell it is the base installation.
/// (scripts/test runs this test both ways.)
#[test]
fn the_embedded_interpreter_is_the_active_virtualenv_or_the_base_one() -> Result<(), Box<dyn Error>>
{
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.mount_python(APP)?;
    let server = app.bind("127.0.0.1:0")?.spawn()?;
    let (status, body) = request(server.local_addr(), "GET", "/prefix", "")?;
    server.shutdown()?;
    assert_eq!(status, 200);
    match std::env::var("VIRTUAL_ENV") {
        Ok(venv) => {
            let venv = std::fs::canonicalize(venv)?;
            let prefix = format!(r#""prefix":{:?}"#, venv.to_string_lossy());
            assert!(body.contains(&prefix), "{body} lacks {prefix}");
        }
        Err(_) => {
            // Not a venv: prefix and base prefix are the same directory.
            let fields: Vec<&str> = body.split('"').collect();
            assert_eq!(fields.get(3), fields.get(7), "{body}");
        }
    }
    Ok(())
}
