//! TechEmpower's seven test types on fasterapi's Rust API.
//!
//! JSON, plaintext and cached queries are answered inline on the I/O threads. For the
//! database tests each I/O thread owns one PostgreSQL connection (`pgloop`, in this
//! workspace) and drives it from its own event loop as a [`Companion`]: the connection's
//! socket is polled with the HTTP connections. A handler defers its reply
//! (`Request::defer`), queues its statements on its thread's connection and returns; at
//! the end of the loop's turn the statements of every request read in that turn go out in
//! one `write`, and when the answers arrive the same thread builds the responses and sends
//! them. Each statement is Bind + Execute + Sync, its own transaction (TechEmpower: a
//! transaction holds at most one read and one write; pipelining is allowed, merging
//! queries is not). The database work of a request never leaves the thread that read it:
//! no runtime, no hand-off, no wake-up between threads.
//!
//! Why this client rather than the others measured (benches/RESULTS.md, "TechEmpower test
//! types"): tokio-postgres on a runtime thread of its own cost 16.2 µs of server CPU per
//! single query against actix's 7.8 (each request crossed to the runtime thread and its
//! answer back through the I/O thread's waker); a blocking client on the worker pool would
//! hold a pool thread per query in flight (64 connections' worth of threads on 2 cores).
//! Driven by the I/O loop, a request costs its share of one `write` and one `read` per
//! turn, however many requests the turn carries.
//!
//! PostgreSQL sends each statement's answer on its own; the connection's receive mark
//! (`Conn::set_receive_mark`) makes the loop wake once for a good part of the answers in
//! flight instead of once for each (queries(20): 0.5 context switches per request instead
//! of 9-11), and the loop reads anyway when the mark has not come within `MARK_PATIENCE`.
//!
//! Statements are prepared once per connection. `/queries` sends its N selects in one
//! write, each its own statement (TechEmpower: one query per row); `/updates` reads each
//! row with its own select and writes them all back with one `UPDATE ... FROM UNNEST`,
//! pipelined behind the selects as xitca-web's entry does (the new numbers do not depend on
//! what the selects return; ids sorted, so concurrent updates lock rows in one order).
//!
//! ```text
//! tfb-fasterapi-rs --port 8080 --workers 2     # I/O threads; DB_* from benches/tfb/db.sh
//! ```

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use askama::Template;
use fasterapi::core::json;
use fasterapi::prelude::*;
use fasterapi::{Companion, Reply};
use pgloop::{oid, Config, Conn, Event, Param, Row, Statement};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

const WORLD_ROWS: i32 = 10_000;
const SELECT_WORLD: &str = "SELECT id, randomnumber FROM world WHERE id = $1";
const SELECT_FORTUNES: &str = "SELECT id, message FROM fortune";
const SELECT_ALL_WORLDS: &str = "SELECT id, randomnumber FROM world ORDER BY id";
/// One bulk UPDATE per request, the Rust peers' statement: ids and numbers as two arrays.
const UPDATE_WORLDS: &str = "UPDATE world SET randomnumber = v.rn FROM \
    (SELECT * FROM UNNEST($1::int[], $2::int[]) AS v(id, rn) ORDER BY 1) AS v \
    WHERE world.id = v.id";
const ADDED_FORTUNE: &str = "Additional fortune added at request time.";

static CACHE: OnceLock<Vec<i32>> = OnceLock::new();

/// A request waiting for its batch: its reply and what it gathers from the rows.
enum Job {
    World {
        reply: Reply,
        world: Option<(i32, i32)>,
    },
    Worlds {
        reply: Reply,
        worlds: Vec<(i32, i32)>,
        wanted: usize,
    },
    Update {
        reply: Reply,
        /// The rows as written back.
        worlds: Vec<(i32, i32)>,
        /// Rows the selects returned.
        read: usize,
    },
    Fortunes {
        reply: Reply,
        rows: Vec<(i32, String)>,
    },
}

fn world_of(row: &Row<'_>) -> Option<(i32, i32)> {
    Some((row.int4(0).ok()?, row.int4(1).ok()?))
}

impl Job {
    fn row(&mut self, row: Row<'_>) {
        match self {
            Job::World { world, .. } => *world = world_of(&row),
            Job::Worlds { worlds, .. } => worlds.extend(world_of(&row)),
            Job::Update { read, .. } => *read += usize::from(world_of(&row).is_some()),
            Job::Fortunes { rows, .. } => {
                if let (Ok(id), Ok(message)) = (row.int4(0), row.text(1)) {
                    rows.push((id, message.to_owned()));
                }
            }
        }
    }

    fn done(self, result: Result<(), pgloop::Error>) {
        match self {
            Job::World { reply, world } => reply.send(match (result, world) {
                (Err(e), _) => db_error(e),
                (Ok(()), None) => missing_rows(1, 0),
                (Ok(()), Some((id, n))) => Response::json(|o| {
                    o.field("id", id).field("randomNumber", n);
                }),
            }),
            Job::Worlds {
                reply,
                worlds,
                wanted,
            } => reply.send(match result {
                Err(e) => db_error(e),
                Ok(()) if worlds.len() != wanted => missing_rows(wanted, worlds.len()),
                Ok(()) => world_list(&worlds),
            }),
            Job::Update {
                reply,
                worlds,
                read,
            } => reply.send(match result {
                Err(e) => db_error(e),
                Ok(()) if read != worlds.len() => missing_rows(worlds.len(), read),
                Ok(()) => world_list(&worlds),
            }),
            Job::Fortunes { reply, mut rows } => reply.send(match result {
                Err(e) => db_error(e),
                Ok(()) => fortunes_page(&mut rows),
            }),
        }
    }
}

/// An I/O thread's connection, its statements and its random numbers.
struct Db {
    conn: Conn<Job>,
    world: Statement,
    fortunes: Statement,
    update: Statement,
    rng: SmallRng,
}

impl Db {
    fn connect(config: &Config) -> Result<Db, pgloop::Error> {
        let mut conn = Conn::connect(config)?;
        Ok(Db {
            world: conn.prepare(SELECT_WORLD, &[oid::INT4])?,
            fortunes: conn.prepare(SELECT_FORTUNES, &[])?,
            update: conn.prepare(UPDATE_WORLDS, &[oid::INT4_ARRAY, oid::INT4_ARRAY])?,
            conn,
            rng: SmallRng::from_rng(&mut rand::rng()),
        })
    }

    fn random_id(&mut self) -> i32 {
        self.rng.random_range(1..=WORLD_ROWS)
    }

    /// `n` distinct random ids.
    fn random_ids(&mut self, n: usize) -> Vec<i32> {
        let mut ids: Vec<i32> = Vec::with_capacity(n);
        while ids.len() < n {
            let id = self.random_id();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        ids
    }
}

thread_local! {
    /// This I/O thread's connection, made by its companion's factory.
    static DB: RefCell<Option<Db>> = const { RefCell::new(None) };
}

/// Drives this thread's connection from the I/O thread's loop.
struct DbLoop {
    fd: RawFd,
    /// A time already past: `due` answers "now" with it without reading the clock.
    past: Instant,
    /// The socket would not take all queued bytes: try again then (the server's answers
    /// to what it did take also wake us).
    retry_at: Option<Instant>,
    /// Answers are owed and the socket's readiness waits for a part of them (its receive
    /// low-water mark): read then anyway (`Conn::waits_for_mark`).
    read_by: Option<Instant>,
}

/// How soon a write the socket refused is tried again.
const WRITE_RETRY: Duration = Duration::from_millis(1);
/// How long the loop waits for the mark before reading what has come.
const MARK_PATIENCE: Duration = Duration::from_millis(1);

impl Companion for DbLoop {
    fn fd(&self) -> Option<RawFd> {
        Some(self.fd)
    }

    fn due(&self) -> Option<Instant> {
        let wants = DB.with_borrow(|db| db.as_ref().is_some_and(|db| db.conn.wants_run()));
        if wants {
            Some(self.past)
        } else {
            match (self.retry_at, self.read_by) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
    }

    fn run(&mut self) {
        DB.with_borrow_mut(|db| {
            let Some(db) = db.as_mut() else { return };
            db.conn.flush();
            db.conn.process(|event| match event {
                Event::Row(job, row) => job.row(row),
                Event::Done(job, result) => job.done(result),
            });
            let blocked = db.conn.write_blocked();
            let waits = db.conn.waits_for_mark();
            let now = (blocked || waits || self.read_by.is_some()).then(Instant::now);
            self.retry_at = now.filter(|_| blocked).map(|t| t + WRITE_RETRY);
            // A deadline is kept until it passes (moving it at each run would cost a
            // system call each): it comes at most once per MARK_PATIENCE, and a read then
            // finds what has come, if anything.
            self.read_by = match (self.read_by, now) {
                (Some(by), Some(now)) if by > now => Some(by),
                (_, Some(now)) if waits => Some(now + MARK_PATIENCE),
                _ => None,
            };
        });
    }

    fn stop(&mut self) {
        if let Some(db) = DB.take() {
            db.conn.close();
        }
    }
}

/// Defers the request and queues its statements on this thread's connection with
/// `queue`, which closes the batch with the job holding the reply.
fn on_db(req: &Request, queue: impl FnOnce(&mut Db, Reply)) -> Response {
    DB.with_borrow_mut(|db| {
        let Some(db) = db.as_mut() else {
            return Response::text("no database connection on this thread")
                .with_status(StatusCode::INTERNAL_SERVER_ERROR);
        };
        let Some(reply) = req.defer() else {
            return Response::text("cannot defer").with_status(StatusCode::INTERNAL_SERVER_ERROR);
        };
        queue(db, reply);
        Response::new(StatusCode::NO_CONTENT) // not sent: the reply answers
    })
}

/// The `queries`/`count` parameter clamped to 1..=500; missing or not a number is 1.
fn clamp(req: &Request, name: &str) -> usize {
    match req.query_str(name).and_then(|v| v.parse::<i64>().ok()) {
        Some(n) => n.clamp(1, 500) as usize,
        None => 1,
    }
}

fn world_list(worlds: &[(i32, i32)]) -> Response {
    let mut buf = Vec::with_capacity(32 * worlds.len() + 2);
    json::array(&mut buf, |a| {
        for &(id, n) in worlds {
            a.object(|o| {
                o.field("id", id).field("randomNumber", n);
            });
        }
    });
    Response::json_bytes(buf)
}

fn db_error(e: pgloop::Error) -> Response {
    Response::text(format!("database error: {e}")).with_status(StatusCode::INTERNAL_SERVER_ERROR)
}

fn missing_rows(wanted: usize, got: usize) -> Response {
    Response::text(format!("database error: {wanted} rows wanted, {got} read"))
        .with_status(StatusCode::INTERNAL_SERVER_ERROR)
}

/// The fortunes page: an askama template (compiled to Rust; HTML-escapes each message).
#[derive(Template)]
#[template(
    ext = "html",
    source = "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>\
<tr><th>id</th><th>message</th></tr>{% for (id, message) in rows %}\
<tr><td>{{ id }}</td><td>{{ message }}</td></tr>{% endfor %}</table></body></html>"
)]
struct FortunesPage<'a> {
    rows: &'a [(i32, String)],
}

fn fortunes_page(rows: &mut Vec<(i32, String)>) -> Response {
    rows.push((0, ADDED_FORTUNE.to_owned()));
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    match (FortunesPage { rows }).render() {
        Ok(page) => Response::html(page),
        Err(e) => {
            Response::text(format!("template: {e}")).with_status(StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

fn routes(app: &mut App) {
    app.get("/plaintext", |_req: &Request| {
        Response::text("Hello, World!")
    });
    app.get("/json", |_req: &Request| {
        Response::json(|o| {
            o.field("message", "Hello, World!");
        })
    });
    app.get("/db", |req: &Request| {
        on_db(req, |db, reply| {
            let id = db.random_id();
            db.conn.execute(&db.world, &[Param::Int4(id)]);
            db.conn.finish(Job::World { reply, world: None });
        })
    });
    app.get("/queries", |req: &Request| {
        let n = clamp(req, "queries");
        on_db(req, |db, reply| {
            for id in db.random_ids(n) {
                db.conn.execute(&db.world, &[Param::Int4(id)]);
            }
            db.conn.finish(Job::Worlds {
                reply,
                worlds: Vec::with_capacity(n),
                wanted: n,
            });
        })
    });
    app.get("/updates", |req: &Request| {
        let n = clamp(req, "queries");
        on_db(req, |db, reply| {
            let mut ids = db.random_ids(n);
            ids.sort_unstable(); // rows locked in id order: concurrent updates cannot deadlock
            let numbers: Vec<i32> = ids.iter().map(|_| db.random_id()).collect();
            for &id in &ids {
                db.conn.execute(&db.world, &[Param::Int4(id)]);
            }
            db.conn.execute(
                &db.update,
                &[Param::Int4Array(&ids), Param::Int4Array(&numbers)],
            );
            db.conn.finish(Job::Update {
                reply,
                worlds: ids.into_iter().zip(numbers).collect(),
                read: 0,
            });
        })
    });
    app.get("/fortunes", |req: &Request| {
        on_db(req, |db, reply| {
            db.conn.execute(&db.fortunes, &[]);
            db.conn.finish(Job::Fortunes {
                reply,
                rows: Vec::with_capacity(16),
            });
        })
    });
    app.get("/cached-queries", |req: &Request| {
        let cache = CACHE.get().expect("loaded before serving");
        let mut rng = SmallRng::from_rng(&mut rand::rng());
        let worlds: Vec<(i32, i32)> = (0..clamp(req, "count"))
            .map(|_| {
                let id = rng.random_range(1..=WORLD_ROWS);
                (id, cache[(id - 1) as usize])
            })
            .collect();
        world_list(&worlds)
    });
}

fn setting(flag: &str, env: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == flag) {
        Some(i) => args.get(i + 1).cloned().unwrap_or_default(),
        None => std::env::var(env).unwrap_or_else(|_| default.to_owned()),
    }
}

fn number(flag: &str, env: &str, default: &str) -> usize {
    let raw = setting(flag, env, default);
    raw.parse().unwrap_or_else(|_| {
        eprintln!("tfb-fasterapi-rs: {flag}/{env}: `{raw}` is not a number");
        std::process::exit(2)
    })
}

/// The cached-queries test's cache: every World row's number, read once at start.
fn load_cache(config: &Config) -> Result<Vec<i32>, pgloop::Error> {
    let mut conn: Conn<Vec<i32>> = Conn::connect(config)?;
    let all = conn.prepare(SELECT_ALL_WORLDS, &[])?;
    conn.execute(&all, &[]);
    conn.finish(vec![0; WORLD_ROWS as usize]);
    let mut outcome = Err(pgloop::Error::from(std::io::Error::other("no answer")));
    conn.wait(|event| match event {
        Event::Row(cache, row) => {
            if let Some((id, n)) = world_of(&row) {
                if let Some(slot) = usize::try_from(id - 1).ok().and_then(|i| cache.get_mut(i)) {
                    *slot = n;
                }
            }
        }
        Event::Done(cache, result) => outcome = result.map(|()| cache),
    });
    conn.close();
    outcome
}

fn main() {
    let port = number("--port", "PORT", "8080");
    let workers = number("--workers", "WORKERS", "0");
    let config = Config::from_env().unwrap_or_else(|e| {
        eprintln!("tfb-fasterapi-rs: {e}");
        std::process::exit(2)
    });
    match load_cache(&config) {
        Ok(cache) => {
            let _ = CACHE.set(cache);
        }
        Err(e) => {
            eprintln!(
                "tfb-fasterapi-rs: database ({}:{}): {e}",
                config.host, config.port
            );
            std::process::exit(1)
        }
    }
    let mut app = App::new();
    app.config_mut().threads = workers;
    app.companion(move |_thread| {
        let mut db = Db::connect(&config).map_err(std::io::Error::other)?;
        // One wake-up for many answers; the loop reads after MARK_PATIENCE regardless.
        db.conn.set_receive_mark(true);
        let fd = db.conn.fd();
        DB.set(Some(db));
        Ok(Box::new(DbLoop {
            fd,
            past: Instant::now(),
            retry_at: None,
            read_by: None,
        }) as Box<dyn Companion>)
    });
    routes(&mut app);
    let addr = format!("127.0.0.1:{port}");
    if let Err(e) = app.serve(&addr) {
        eprintln!("tfb-fasterapi-rs: {addr}: {e}");
        std::process::exit(1);
    }
}
