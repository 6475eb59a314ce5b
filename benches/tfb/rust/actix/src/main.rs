//! TechEmpower's test types on actix-web 4, after actix's entries in TechEmpower's repository
//! (frameworks/Rust/actix): one tokio-postgres connection per worker thread with the
//! statements prepared, a request's queries pipelined on it, one bulk UPDATE per request,
//! a compiled template for fortunes.
//!
//! `tfb-actix --port 8080 --workers 2` (DB_HOST/DB_PORT from benches/tfb/db.sh)

use std::sync::Arc;

use actix_web::http::header::ContentType;
use actix_web::{middleware, web, App, HttpRequest, HttpResponse, HttpServer};
use tfb_common::{cached_worlds, clamp_count, random_id, random_ids, rng, setting, Message, Pg};

fn json<T: serde::Serialize>(value: &T) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::json())
        .body(serde_json::to_vec(value).unwrap_or_default())
}

fn db_error(e: impl std::fmt::Display) -> HttpResponse {
    HttpResponse::InternalServerError().body(format!("database: {e}"))
}

async fn plaintext() -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body("Hello, World!")
}

async fn json_route() -> HttpResponse {
    json(&Message {
        message: "Hello, World!",
    })
}

async fn db(pg: web::Data<Pg>) -> HttpResponse {
    let id = random_id(&mut rng());
    match pg.world(id).await {
        Ok(w) => json(&w),
        Err(e) => db_error(e),
    }
}

async fn queries(pg: web::Data<Pg>, req: HttpRequest) -> HttpResponse {
    let ids = random_ids(&mut rng(), clamp_count(Some(req.query_string()), "queries"));
    match pg.worlds(&ids).await {
        Ok(w) => json(&w),
        Err(e) => db_error(e),
    }
}

async fn updates(pg: web::Data<Pg>, req: HttpRequest) -> HttpResponse {
    match pg
        .update(clamp_count(Some(req.query_string()), "queries"))
        .await
    {
        Ok(w) => json(&w),
        Err(e) => db_error(e),
    }
}

async fn fortunes(pg: web::Data<Pg>) -> HttpResponse {
    match pg.fortunes_page().await {
        Ok(page) => HttpResponse::Ok()
            .content_type(ContentType::html())
            .body(page),
        Err(e) => db_error(e),
    }
}

async fn cached(cache: web::Data<Arc<Vec<i32>>>, req: HttpRequest) -> HttpResponse {
    json(&cached_worlds(
        &cache,
        clamp_count(Some(req.query_string()), "count"),
    ))
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = setting("--port", "PORT", 8080) as u16;
    let workers = setting("--workers", "WORKERS", 2);
    // The cached-queries test's cache: every World row, read once at start.
    let cache = match Pg::connect().await {
        Ok(pg) => pg.all_worlds().await,
        Err(e) => Err(e),
    };
    let cache = cache.unwrap_or_else(|e| {
        eprintln!("tfb-actix: database: {e}");
        std::process::exit(1)
    });
    let cache = Arc::new(cache);
    HttpServer::new(move || {
        App::new()
            .wrap(middleware::DefaultHeaders::new().add(("Server", "actix")))
            .data_factory(|| async { Pg::connect().await.map_err(|e| e.to_string()) })
            .app_data(web::Data::new(Arc::clone(&cache)))
            .route("/plaintext", web::get().to(plaintext))
            .route("/json", web::get().to(json_route))
            .route("/db", web::get().to(db))
            .route("/queries", web::get().to(queries))
            .route("/updates", web::get().to(updates))
            .route("/fortunes", web::get().to(fortunes))
            .route("/cached-queries", web::get().to(cached))
    })
    .workers(workers)
    .backlog(4096)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
