//! A test server and a raw HTTP/1.1 client over `TcpStream`, for exact bytes.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use fasterapi_http::{App, Error, Request, Response, RunningServer};

/// The app the end-to-end tests talk to.
pub fn test_app(threads: usize) -> App {
    let mut app = App::new();
    app.config_mut().threads = threads;
    app.get("/plaintext", |_req: &Request| {
        Response::text("Hello, World!")
    });
    app.get("/json", |_req: &Request| {
        Response::json(|o| {
            o.field("message", "Hello, World!");
        })
    });
    app.get("/users/{id}", |req: &Request| -> Result<Response, Error> {
        let id: u64 = req.param("id")?;
        Ok(Response::json(|o| {
            o.field("id", id);
        }))
    });
    app.post("/echo", |req: &Request| {
        Response::bytes(req.body().to_vec(), "application/octet-stream")
    });
    app.get("/panic", |_req: &Request| -> Response {
        panic!("handler panic (expected by the test)")
    });
    app.get("/big", |_req: &Request| {
        Response::bytes(Bytes::from(big_body()), "application/octet-stream")
    });
    app.get("/files/{*path}", |req: &Request| {
        Response::text(req.param_str("path").unwrap_or("").to_owned())
    });
    app.get("/search", |req: &Request| -> Result<Response, Error> {
        let page: u32 = req.query("page")?.unwrap_or(1);
        let q = req.query_str("q").unwrap_or_default().into_owned();
        Ok(Response::text(format!("{q}:{page}")))
    });
    app
}

pub fn big_body() -> Vec<u8> {
    (0..1_000_000u32).map(|i| (i % 251) as u8).collect()
}

pub fn start(threads: usize) -> RunningServer {
    test_app(threads)
        .bind("127.0.0.1:0")
        .expect("bind")
        .spawn()
        .expect("spawn")
}

/// A client connection; reads time out after 10 s so a broken server fails a test
/// instead of hanging it.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_nodelay(true).unwrap();
    s
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub head: String,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().skip(1).find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("utf-8 body")
    }
}

/// Reads one response. `head_only` for answers to HEAD (no body despite Content-Length).
pub fn read_response(r: &mut BufReader<TcpStream>, head_only: bool) -> Resp {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        let n = r.read_line(&mut line).expect("read response line");
        assert!(
            n > 0,
            "connection closed before a complete response head; got {head:?}"
        );
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let status = head[9..12].parse().expect("status code");
    let mut resp = Resp {
        status,
        head,
        body: Vec::new(),
    };
    if let (false, Some(len)) = (head_only, resp.header("content-length")) {
        let len: usize = len.parse().unwrap();
        resp.body.resize(len, 0);
        r.read_exact(&mut resp.body).expect("read body");
    }
    resp
}

/// Sends `raw` on a new connection and reads one response.
pub fn roundtrip(addr: SocketAddr, raw: &[u8]) -> Resp {
    let mut s = connect(addr);
    s.write_all(raw).unwrap();
    read_response(&mut BufReader::new(s), raw.starts_with(b"HEAD"))
}

/// Whether the server closed the connection (EOF, or reset) with nothing more to read.
pub fn closed(r: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    match r.read_to_end(&mut rest) {
        Ok(_) => rest.is_empty(),
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

pub fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n").into_bytes()
}
