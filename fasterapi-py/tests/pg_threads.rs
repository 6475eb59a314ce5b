//! `fasterapi.pg` on a Rust `App` of several I/O threads (tests/mount_pg_app.py), against
//! the bench's PostgreSQL (`benches/tfb/db.sh start`, settings from `DB_*` as `db.sh env`
//! prints them): ignored without it; scripts/test runs it with `--ignored`.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::error::Error;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use fasterapi_http::App;
use fasterapi_pg::{oid, Config, Conn, Event, Param, Statement};
use fasterapi_py::MountPython;

const APP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/mount_pg_app.py");
const THREADS: usize = 2;
const COUNT_BACKENDS: &str = "SELECT count(*)::int4 FROM pg_stat_activity WHERE pid = ANY($1)";

/// A kept-alive connection to the server: SO_REUSEPORT gave it to one I/O thread, which
/// serves each of its requests.
struct Client(BufReader<TcpStream>);

impl Client {
    fn connect(addr: SocketAddr) -> Result<Client, Box<dyn Error>> {
        let stream = TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client(BufReader::new(stream)))
    }

    /// `GET path`: (status, body).
    fn get(&mut self, path: &str) -> Result<(u16, String), Box<dyn Error>> {
        write!(self.0.get_mut(), "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n")?;
        let mut line = String::new();
        self.0.read_line(&mut line)?;
        let status = line.get(9..12).ok_or("short answer")?.parse()?;
        let mut length = 0;
        loop {
            line.clear();
            self.0.read_line(&mut line)?;
            if line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse()?;
                }
            }
        }
        let mut body = vec![0; length];
        self.0.read_exact(&mut body)?;
        Ok((status, String::from_utf8(body)?))
    }
}

/// The number after `"name":` in a JSON body.
fn number(body: &str, name: &str) -> Result<i64, Box<dyn Error>> {
    let key = format!("\"{name}\":");
    let at = body
        .find(&key)
        .ok_or_else(|| format!("no {name} in {body}"))?
        + key.len();
    let digits: String = body[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Ok(digits.parse()?)
}

/// How many of `pids` are backends of the database now (`count`: [`COUNT_BACKENDS`]).
fn backends_alive(conn: &mut Conn<()>, count: &Statement, pids: &[i32]) -> i32 {
    conn.execute(count, &[Param::Int4Array(pids)]);
    conn.finish(());
    let mut alive = -1;
    conn.wait(|event| match event {
        Event::Row((), row) => alive = row.int4(0).expect("a count"),
        Event::Done((), result) => result.expect("the count"),
    });
    alive
}

#[test]
#[ignore = "needs the bench's PostgreSQL: benches/tfb/db.sh start"]
fn closing_a_pool_closes_the_connection_of_every_io_thread() -> Result<(), Box<dyn Error>> {
    let mut app = App::new();
    app.config_mut().threads = THREADS;
    app.config_mut().workers = 1;
    app.mount_python(APP)?;
    let server = app.bind("127.0.0.1:0")?.spawn()?;
    let addr = server.local_addr();
    assert_eq!(Client::connect(addr)?.get("/open")?.0, 200);
    // A connection to each I/O thread (the kernel spreads them by their ports), each
    // thread with its own connection to the database.
    let mut clients = HashMap::new();
    let mut pids = Vec::new();
    for _ in 0..64 {
        let mut client = Client::connect(addr)?;
        let (status, body) = client.get("/backend")?;
        assert_eq!(status, 200, "{body}");
        let thread = number(&body, "thread")?;
        if let Entry::Vacant(slot) = clients.entry(thread) {
            pids.push(i32::try_from(number(&body, "pid")?)?);
            slot.insert(client);
        }
        if clients.len() == THREADS {
            break;
        }
    }
    assert_eq!(
        clients.len(),
        THREADS,
        "64 connections reached one I/O thread"
    );
    pids.dedup();
    assert_eq!(pids.len(), THREADS, "{pids:?}");
    let mut db: Conn<()> = Conn::connect(&Config::from_env()?)?;
    let count = db.prepare(COUNT_BACKENDS, &[oid::INT4_ARRAY])?;
    assert_eq!(backends_alive(&mut db, &count, &pids), THREADS as i32);
    // One thread closes the pool: the other threads' connections are closed by their
    // threads before the close returns.
    let (closer, client) = clients.iter_mut().next().ok_or("a client")?;
    let (status, body) = client.get("/close")?;
    assert_eq!((status, number(&body, "thread")?), (200, *closer), "{body}");
    for client in clients.values_mut() {
        let (status, body) = client.get("/after")?;
        assert_eq!(status, 200);
        assert!(
            body.contains(r#""error":["InterfaceError","fasterapi.pg: the pool is closed"]"#),
            "{body}"
        );
        assert!(body.contains(r#""connected":false"#), "{body}");
    }
    // Their sockets were closed: the backends end (PostgreSQL notices the end of the
    // stream at once; 10 s only bounds a failure).
    let deadline = Instant::now() + Duration::from_secs(10);
    while backends_alive(&mut db, &count, &pids) != 0 {
        assert!(Instant::now() < deadline, "backends {pids:?} still alive");
    }
    server.shutdown()?;
    Ok(())
}
