// Peer for benches/load/gzip_peer.sh: actix-web 4 serving benches/peers/gzip_body.json
// (1.5 KiB of JSON, the same bytes as examples/gzip_json.rs) at GET /data behind
// `middleware::Compress`, which compresses at actix-http's fixed levels (gzip: flate2's
// `Compression::fast()`, level 1; the middleware has no setting for it).
// Config: PORT (env) or --port N; WORKERS (env) or --workers N (default 1).
use actix_web::{middleware, web, App, HttpResponse, HttpServer};

static BODY: &[u8] = include_bytes!("../../../gzip_body.json");

fn arg_or_env(flag: &str, env: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == flag) {
        if let Some(v) = args.get(i + 1) {
            return v.parse().expect("bad numeric arg");
        }
    }
    std::env::var(env).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn data() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(BODY)
}

fn main() -> std::io::Result<()> {
    let port = arg_or_env("--port", "PORT", 8080);
    let workers = arg_or_env("--workers", "WORKERS", 1);
    eprintln!("actix-web (Compress) listening on 127.0.0.1:{port} workers={workers}");
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| {
            App::new()
                .wrap(middleware::Compress::default())
                .route("/data", web::get().to(data))
        })
        .workers(workers)
        .bind(("127.0.0.1", port as u16))?
        .run()
        .await
    })
}
