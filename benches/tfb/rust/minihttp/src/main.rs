//! TechEmpower's test types on may-minihttp, after its entry in TechEmpower's repository
//! (frameworks/Rust/may-minihttp/src/main.rs): may coroutines, one may_postgres connection
//! per worker (statements prepared, a request's SELECTs pipelined, the updates as one
//! prepared `UPDATE ... CASE id ...` per count 1..=500), the pool sorted so that a
//! connection is served by the worker that owns its socket.
//! Changed from the original: the database settings come from DB_HOST/DB_PORT (db.sh's), the
//! port and worker count from `--port`/`--workers`; the count is read from `queries=`/`count=`
//! (the original reads `?q=`); JSON goes through serde_json and the fortunes page through the
//! askama template the other servers here share (the original uses yarte); database errors
//! answer 500 instead of panicking; cached-queries added (every World row read at start).
//!
//! `tfb-minihttp --port 8080 --workers 2`

use std::borrow::Cow;
use std::fmt::Write;
use std::io;
use std::sync::Arc;

use may_minihttp::{HttpService, HttpServiceFactory, Request, Response};
use may_postgres::{types::ToSql, Client, Statement};
use tfb_common::{
    cached_worlds, clamp_count, conninfo, random_id, random_ids, render_fortunes, rng, setting,
    Fortune, Message, World,
};

type SmallRng = rand::rngs::SmallRng;
type DbResult<T> = Result<T, Box<dyn std::error::Error>>;

struct PgStatements {
    world: Statement,
    fortune: Statement,
    /// `updates[n - 1]` updates n rows.
    updates: Vec<Statement>,
}

struct PgConnection {
    client: Client,
    statements: Arc<PgStatements>,
}

impl PgConnection {
    fn new(db_url: &str) -> Result<Self, may_postgres::Error> {
        let client = may_postgres::connect(db_url)?;
        let world = client.prepare("SELECT id, randomnumber FROM world WHERE id=$1")?;
        let fortune = client.prepare("SELECT id, message FROM fortune")?;
        let mut updates = Vec::with_capacity(500);
        for num in 1..=500u16 {
            let mut pl: u16 = 1;
            let mut q = String::new();
            q.push_str("UPDATE world SET randomnumber = CASE id ");
            for _ in 1..=num {
                let _ = write!(&mut q, "when ${} then ${} ", pl, pl + 1);
                pl += 2;
            }
            q.push_str("ELSE randomnumber END WHERE id IN (");
            for _ in 1..=num {
                let _ = write!(&mut q, "${pl},");
                pl += 1;
            }
            q.pop();
            q.push(')');
            updates.push(client.prepare(&q)?);
        }
        let statements = Arc::new(PgStatements {
            world,
            fortune,
            updates,
        });
        Ok(PgConnection { client, statements })
    }

    fn world(&self, id: i32) -> DbResult<World> {
        let row = self.client.query_one(&self.statements.world, &[&id])?;
        Ok(World {
            id: row.get(0),
            random_number: row.get(1),
        })
    }

    /// The rows of `ids`, their queries sent before any answer is read (pipelined).
    fn worlds(&self, ids: &[i32]) -> DbResult<Vec<World>> {
        let mut pending = Vec::with_capacity(ids.len());
        for id in ids {
            pending.push(self.client.query_raw(&self.statements.world, &[id])?);
        }
        let mut worlds = Vec::with_capacity(ids.len());
        for mut rows in pending {
            match rows.next().transpose()? {
                Some(row) => worlds.push(World {
                    id: row.get(0),
                    random_number: row.get(1),
                }),
                None => return Err("a world id with no row".into()),
            }
        }
        Ok(worlds)
    }

    fn update(&self, n: usize, rng: &mut SmallRng) -> DbResult<Vec<World>> {
        let mut worlds = self.worlds(&random_ids(rng, n))?;
        for w in &mut worlds {
            w.random_number = random_id(rng);
        }
        let mut params: Vec<&dyn ToSql> = Vec::with_capacity(n * 3);
        for w in &worlds {
            params.push(&w.id);
            params.push(&w.random_number);
        }
        for w in &worlds {
            params.push(&w.id);
        }
        self.client
            .execute(&self.statements.updates[n - 1], &params)?;
        Ok(worlds)
    }

    fn fortunes_page(&self) -> DbResult<String> {
        let rows = self.client.query(&self.statements.fortune, &[])?;
        let mut fortunes = Vec::with_capacity(rows.len() + 1);
        for r in &rows {
            fortunes.push(Fortune {
                id: r.get(0),
                message: Cow::Owned(r.get::<_, &str>(1).to_owned()),
            });
        }
        Ok(render_fortunes(fortunes)?)
    }
}

struct Techempower {
    db: PgConnection,
    cache: Arc<Vec<i32>>,
    rng: SmallRng,
}

fn json_body<T: serde::Serialize>(rsp: &mut Response, value: &T) {
    rsp.header("Content-Type: application/json");
    // Serializing these plain structs into memory cannot fail.
    let _ = serde_json::to_writer(BodyWriter(rsp.body_mut()), value);
}

/// Writes into a response body.
struct BodyWriter<'a>(&'a mut bytes::BytesMut);

impl io::Write for BodyWriter<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn db_error(rsp: &mut Response, e: impl std::fmt::Display) {
    rsp.status_code(500, "Internal Server Error");
    rsp.header("Content-Type: text/plain");
    rsp.body_mut()
        .extend_from_slice(format!("database: {e}").as_bytes());
}

impl HttpService for Techempower {
    fn call(&mut self, req: Request, rsp: &mut Response) -> io::Result<()> {
        let (path, query) = match req.path().split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (req.path(), None),
        };
        match path {
            "/json" => json_body(
                rsp,
                &Message {
                    message: "Hello, World!",
                },
            ),
            "/plaintext" => {
                rsp.header("Content-Type: text/plain").body("Hello, World!");
            }
            "/db" => match self.db.world(random_id(&mut self.rng)) {
                Ok(w) => json_body(rsp, &w),
                Err(e) => db_error(rsp, e),
            },
            "/queries" => {
                let ids = random_ids(&mut self.rng, clamp_count(query, "queries"));
                match self.db.worlds(&ids) {
                    Ok(w) => json_body(rsp, &w),
                    Err(e) => db_error(rsp, e),
                }
            }
            "/updates" => match self.db.update(clamp_count(query, "queries"), &mut self.rng) {
                Ok(w) => json_body(rsp, &w),
                Err(e) => db_error(rsp, e),
            },
            "/fortunes" => match self.db.fortunes_page() {
                Ok(page) => {
                    rsp.header("Content-Type: text/html; charset=utf-8");
                    rsp.body_mut().extend_from_slice(page.as_bytes());
                }
                Err(e) => db_error(rsp, e),
            },
            "/cached-queries" => {
                let worlds = cached_worlds(&self.cache, clamp_count(query, "count"));
                json_body(rsp, &worlds)
            }
            _ => {
                rsp.status_code(404, "Not Found");
            }
        }
        Ok(())
    }
}

struct HttpServer {
    clients: Vec<PgConnection>,
    cache: Arc<Vec<i32>>,
}

impl HttpServiceFactory for HttpServer {
    type Service = Techempower;

    fn new_service(&self, id: usize) -> Techempower {
        let c = &self.clients[id % self.clients.len()];
        Techempower {
            db: PgConnection {
                client: c.client.clone(),
                statements: Arc::clone(&c.statements),
            },
            cache: Arc::clone(&self.cache),
            rng: rng(),
        }
    }
}

fn fail(e: impl std::fmt::Display) -> ! {
    eprintln!("tfb-minihttp: database: {e}");
    std::process::exit(1)
}

fn main() {
    let port = setting("--port", "PORT", 8080) as u16;
    let workers = setting("--workers", "WORKERS", 2).max(1);
    may::config()
        .set_workers(workers)
        .set_pool_capacity(1000)
        .set_stack_size(0x4000);
    let db_url: &'static str = Box::leak(conninfo().into_boxed_str());
    // One connection per worker, each made on a coroutine (its socket then belongs to that
    // coroutine's worker), sorted so that service `id` gets the connection of its worker.
    let handles: Vec<_> = (0..workers)
        .map(|_| may::go!(move || PgConnection::new(db_url)))
        .collect();
    let mut clients = Vec::with_capacity(workers);
    for h in handles {
        match h.join() {
            Ok(Ok(c)) => clients.push(c),
            Ok(Err(e)) => fail(e),
            Err(_) => fail("connecting panicked"),
        }
    }
    clients.sort_by_key(|c| c.client.id() % workers);
    let cache = match clients[0]
        .client
        .query("SELECT randomnumber FROM world ORDER BY id", &[])
    {
        Ok(rows) => rows.iter().map(|r| r.get(0)).collect(),
        Err(e) => fail(e),
    };
    let server = HttpServer {
        clients,
        cache: Arc::new(cache),
    };
    let handle = server.start(("127.0.0.1", port)).unwrap_or_else(|e| {
        eprintln!("tfb-minihttp: port {port}: {e}");
        std::process::exit(1)
    });
    let _ = handle.join();
}
