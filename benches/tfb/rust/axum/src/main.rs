//! TechEmpower's test types on axum 0.8, after axum's entry in TechEmpower's repository
//! (frameworks/Rust/axum, main_pg.rs and server.rs): a current-thread tokio runtime per
//! worker thread, each with its own SO_REUSEPORT listener and its own tokio-postgres
//! connection (statements prepared, a request's queries pipelined, one bulk UPDATE per
//! request), a compiled template for fortunes, `Server` set on every response.
//!
//! `tfb-axum --port 8080 --workers 2` (DB_HOST/DB_PORT from benches/tfb/db.sh)

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tfb_common::{cached_worlds, clamp_count, random_id, random_ids, rng, setting, Message, Pg};

#[derive(Clone)]
struct AppState {
    pg: Arc<Pg>,
    cache: Arc<Vec<i32>>,
}

fn db_error(e: impl std::fmt::Display) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, format!("database: {e}")).into_response()
}

async fn plaintext() -> &'static str {
    "Hello, World!"
}

async fn json() -> Json<Message> {
    Json(Message {
        message: "Hello, World!",
    })
}

async fn db(State(s): State<AppState>) -> Response {
    match s.pg.world(random_id(&mut rng())).await {
        Ok(w) => Json(w).into_response(),
        Err(e) => db_error(e),
    }
}

async fn queries(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    let ids = random_ids(&mut rng(), clamp_count(q.as_deref(), "queries"));
    match s.pg.worlds(&ids).await {
        Ok(w) => Json(w).into_response(),
        Err(e) => db_error(e),
    }
}

async fn updates(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    match s.pg.update(clamp_count(q.as_deref(), "queries")).await {
        Ok(w) => Json(w).into_response(),
        Err(e) => db_error(e),
    }
}

async fn fortunes(State(s): State<AppState>) -> Response {
    match s.pg.fortunes_page().await {
        Ok(page) => Html(page).into_response(),
        Err(e) => db_error(e),
    }
}

async fn cached(State(s): State<AppState>, RawQuery(q): RawQuery) -> Response {
    Json(cached_worlds(&s.cache, clamp_count(q.as_deref(), "count"))).into_response()
}

async fn add_server(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::SERVER, HeaderValue::from_static("axum"));
    res
}

fn listener(port: u16) -> std::io::Result<tokio::net::TcpListener> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_reuse_port(true)?;
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.set_tcp_nodelay(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    tokio::net::TcpListener::from_std(socket.into())
}

async fn serve(port: u16, cache: Arc<Vec<i32>>) {
    let pg = match Pg::connect().await {
        Ok(pg) => Arc::new(pg),
        Err(e) => {
            eprintln!("tfb-axum: database: {e}");
            std::process::exit(1)
        }
    };
    let app = Router::new()
        .route("/plaintext", get(plaintext))
        .route("/json", get(json))
        .route("/db", get(db))
        .route("/queries", get(queries))
        .route("/updates", get(updates))
        .route("/fortunes", get(fortunes))
        .route("/cached-queries", get(cached))
        .layer(axum::middleware::map_response(add_server))
        .with_state(AppState { pg, cache });
    let listener = listener(port).unwrap_or_else(|e| {
        eprintln!("tfb-axum: port {port}: {e}");
        std::process::exit(1)
    });
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("tfb-axum: {e}");
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

fn main() {
    let port = setting("--port", "PORT", 8080) as u16;
    let workers = setting("--workers", "WORKERS", 2).max(1);
    // The cached-queries test's cache: every World row, read once at start.
    let cache = runtime().block_on(async {
        match Pg::connect().await {
            Ok(pg) => pg.all_worlds().await,
            Err(e) => Err(e),
        }
    });
    let cache = Arc::new(cache.unwrap_or_else(|e| {
        eprintln!("tfb-axum: database: {e}");
        std::process::exit(1)
    }));
    let threads: Vec<_> = (1..workers)
        .map(|_| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || runtime().block_on(serve(port, cache)))
        })
        .collect();
    runtime().block_on(serve(port, cache));
    for t in threads {
        let _ = t.join();
    }
}
