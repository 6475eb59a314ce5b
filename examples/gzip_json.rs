//! A compressed JSON route for the compression peer bench (benches/load/gzip_peer.sh):
//! `GET /data` answers benches/peers/gzip_body.json (1,419 bytes, the same bytes as the
//! actix-web peer `benches/peers/rust/actix-gzip`) gzip-compressed at level 1, the level
//! actix-web's `middleware::Compress` uses (actix-http's `flate2::Compression::fast()`),
//! or at `--level N` (each setting also from the `PORT`, `THREADS`, `LEVEL` environment variables).
//!
//! ```text
//! cargo run --release --example gzip_json -- --port 8080 --threads 1 [--level 1]
//! curl -s --compressed http://127.0.0.1:8080/data
//! ```
mod support;

use fasterapi::prelude::*;
use fasterapi::Compression;

static BODY: &[u8] = include_bytes!("../benches/peers/gzip_body.json");

fn main() {
    let [port, threads, level] = support::settings(
        "gzip_json",
        [
            ("--port", "PORT", 8080),
            ("--threads", "THREADS", 0),
            ("--level", "LEVEL", 1),
        ],
    );
    let mut app = App::new();
    app.config_mut().threads = threads;
    app.get("/data", |_req: &Request| {
        Response::bytes(BODY, "application/json")
    })
    .compress(Compression::gzip_only(level as u32));
    support::serve("gzip_json", app, port);
}
