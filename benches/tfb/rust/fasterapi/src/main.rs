//! TechEmpower's seven test types on fasterapi's Rust API.
//!
//! JSON, plaintext and cached queries are answered inline on the I/O threads. The database
//! tests defer their reply (`Request::defer`) to a tokio runtime that holds a few
//! tokio-postgres connections with the statements prepared; the queries of one request go
//! out pipelined on one connection (tokio-postgres sends a request's statements without
//! waiting for the previous answers), and the answer comes back to the connection's I/O
//! thread through its waker. No thread blocks on the database, and the I/O threads keep
//! serving other connections meanwhile.
//!
//! ```text
//! tfb-fasterapi-rs --port 8080 --workers 2     # I/O threads; DB_* from benches/tfb/db.sh
//! ```
//! Settings: `DB_HOST`, `DB_PORT`, `TFB_DB_CONNS` (connections, 4 by default),
//! `TFB_DB_THREADS` (the runtime's threads, 1 by default).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use askama::Template;
use fasterapi::core::json;
use fasterapi::prelude::*;
use fasterapi::Reply;
use futures_util::future::try_join_all;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use tokio_postgres::{Client, NoTls, Statement};

const WORLD_ROWS: i32 = 10_000;

/// One database connection and its prepared statements.
struct Db {
    client: Client,
    world: Statement,
    fortunes: Statement,
    /// `UPDATE ... FROM (VALUES ...)` for `n` rows, prepared on first use.
    updates: Mutex<HashMap<usize, Statement>>,
}

struct State {
    dbs: Vec<Arc<Db>>,
    next: AtomicUsize,
    runtime: tokio::runtime::Handle,
}

impl State {
    /// The next connection, round robin.
    fn db(&self) -> Arc<Db> {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.dbs.len();
        Arc::clone(&self.dbs[i])
    }
}

static STATE: OnceLock<State> = OnceLock::new();
static CACHE: OnceLock<Vec<i32>> = OnceLock::new();

fn state() -> &'static State {
    STATE.get().expect("set before serving")
}

/// The `queries`/`count` parameter clamped to 1..=500; missing or not a number is 1.
fn clamp(req: &Request, name: &str) -> usize {
    match req.query_str(name).and_then(|v| v.parse::<i64>().ok()) {
        Some(n) => n.clamp(1, 500) as usize,
        None => 1,
    }
}

fn random_id(rng: &mut SmallRng) -> i32 {
    rng.random_range(1..=WORLD_ROWS)
}

/// `n` distinct random ids.
fn random_ids(n: usize) -> Vec<i32> {
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    let mut ids: Vec<i32> = Vec::with_capacity(n);
    while ids.len() < n {
        let id = random_id(&mut rng);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    ids
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

fn db_error(e: tokio_postgres::Error) -> Response {
    Response::text(format!("database error: {e}")).with_status(StatusCode::INTERNAL_SERVER_ERROR)
}

/// Runs `work` on the database runtime and sends what it makes through the deferred reply.
fn on_db<F>(req: &Request, work: impl FnOnce(Arc<Db>) -> F + Send + 'static) -> Response
where
    F: std::future::Future<Output = Result<Response, tokio_postgres::Error>> + Send + 'static,
{
    let Some(reply) = req.defer() else {
        return Response::text("cannot defer").with_status(StatusCode::INTERNAL_SERVER_ERROR);
    };
    let st = state();
    let db = st.db();
    st.runtime.spawn(answer(reply, work(db)));
    Response::new(StatusCode::NO_CONTENT) // not sent: the reply answers
}

async fn answer(
    reply: Reply,
    work: impl std::future::Future<Output = Result<Response, tokio_postgres::Error>>,
) {
    reply.send(work.await.unwrap_or_else(db_error));
}

async fn read_rows(db: &Db, ids: &[i32]) -> Result<Vec<(i32, i32)>, tokio_postgres::Error> {
    let rows = try_join_all(
        ids.iter()
            .map(|id| async move { db.client.query_one(&db.world, &[id]).await }),
    )
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

async fn update_statement(db: &Db, n: usize) -> Result<Statement, tokio_postgres::Error> {
    if let Some(s) = db.updates.lock().unwrap_or_else(|e| e.into_inner()).get(&n) {
        return Ok(s.clone());
    }
    let mut sql = String::from("UPDATE world SET randomnumber = v.rn FROM (VALUES ");
    for i in 0..n {
        let sep = if i == 0 { "" } else { ", " };
        // `write!` to a String cannot fail.
        let _ = write!(sql, "{sep}(${}::int, ${}::int)", 2 * i + 1, 2 * i + 2);
    }
    sql.push_str(") AS v(id, rn) WHERE world.id = v.id");
    let statement = db.client.prepare(&sql).await?;
    db.updates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(n, statement.clone());
    Ok(statement)
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
        on_db(req, |db| async move {
            let id = random_id(&mut SmallRng::from_rng(&mut rand::rng()));
            let row = db.client.query_one(&db.world, &[&id]).await?;
            let n: i32 = row.get(1);
            Ok(Response::json(|o| {
                o.field("id", id).field("randomNumber", n);
            }))
        })
    });
    app.get("/queries", |req: &Request| {
        let ids = random_ids(clamp(req, "queries"));
        on_db(req, move |db| async move {
            Ok(world_list(&read_rows(&db, &ids).await?))
        })
    });
    app.get("/updates", |req: &Request| {
        let mut ids = random_ids(clamp(req, "queries"));
        ids.sort_unstable(); // in id order: concurrent updates cannot deadlock
        on_db(req, move |db| async move {
            let mut worlds = read_rows(&db, &ids).await?;
            let mut rng = SmallRng::from_rng(&mut rand::rng());
            for w in &mut worlds {
                w.1 = random_id(&mut rng);
            }
            let statement = update_statement(&db, worlds.len()).await?;
            let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = worlds
                .iter()
                .flat_map(|(id, n)| [id as _, n as _])
                .collect();
            db.client.execute(&statement, &params).await?;
            Ok(world_list(&worlds))
        })
    });
    app.get("/fortunes", |req: &Request| {
        on_db(req, |db| async move {
            let mut rows: Vec<(i32, String)> = db
                .client
                .query(&db.fortunes, &[])
                .await?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            rows.push((0, "Additional fortune added at request time.".to_owned()));
            rows.sort_by(|a, b| a.1.cmp(&b.1));
            match (FortunesPage { rows: &rows }).render() {
                Ok(page) => Ok(Response::html(page)),
                Err(e) => Ok(Response::text(format!("template: {e}"))
                    .with_status(StatusCode::INTERNAL_SERVER_ERROR)),
            }
        })
    });
    app.get("/cached-queries", |req: &Request| {
        let cache = CACHE.get().expect("loaded before serving");
        let mut rng = SmallRng::from_rng(&mut rand::rng());
        let worlds: Vec<(i32, i32)> = (0..clamp(req, "count"))
            .map(|_| {
                let id = random_id(&mut rng);
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

async fn connect(conninfo: &str) -> Result<Db, tokio_postgres::Error> {
    let (client, connection) = tokio_postgres::connect(conninfo, NoTls).await?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            eprintln!("tfb-fasterapi-rs: database connection: {e}");
        }
    });
    let world = client
        .prepare("SELECT id, randomnumber FROM world WHERE id = $1")
        .await?;
    let fortunes = client.prepare("SELECT id, message FROM fortune").await?;
    Ok(Db {
        client,
        world,
        fortunes,
        updates: Mutex::new(HashMap::new()),
    })
}

fn main() {
    let port = number("--port", "PORT", "8080");
    let workers = number("--workers", "WORKERS", "0");
    let conns = number("--db-conns", "TFB_DB_CONNS", "4").max(1);
    let db_threads = number("--db-threads", "TFB_DB_THREADS", "1").max(1);
    let conninfo = format!(
        "host={} port={} user=benchmarkdbuser password=benchmarkdbpass dbname=hello_world",
        setting("--db-host", "DB_HOST", "127.0.0.1"),
        setting("--db-port", "DB_PORT", "5433"),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(db_threads)
        .enable_all()
        .build()
        .unwrap_or_else(|e| {
            eprintln!("tfb-fasterapi-rs: tokio runtime: {e}");
            std::process::exit(1)
        });
    let dbs = runtime.block_on(async {
        let mut dbs = Vec::with_capacity(conns);
        for _ in 0..conns {
            dbs.push(Arc::new(connect(&conninfo).await?));
        }
        // The cached-queries test's cache: every World row, read once at start.
        let rows = dbs[0]
            .client
            .query("SELECT id, randomnumber FROM world ORDER BY id", &[])
            .await?;
        let mut cache = vec![0; WORLD_ROWS as usize];
        for r in rows {
            let id: i32 = r.get(0);
            cache[(id - 1) as usize] = r.get(1);
        }
        let _ = CACHE.set(cache);
        Ok::<_, tokio_postgres::Error>(dbs)
    });
    let dbs = dbs.unwrap_or_else(|e| {
        eprintln!("tfb-fasterapi-rs: database ({conninfo}): {e}");
        std::process::exit(1)
    });
    let _ = STATE.set(State {
        dbs,
        next: AtomicUsize::new(0),
        runtime: runtime.handle().clone(),
    });
    let mut app = App::new();
    app.config_mut().threads = workers;
    routes(&mut app);
    let addr = format!("127.0.0.1:{port}");
    if let Err(e) = app.serve(&addr) {
        eprintln!("tfb-fasterapi-rs: {addr}: {e}");
        std::process::exit(1);
    }
}
