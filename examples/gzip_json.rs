//! A compressed JSON route for the compression peer bench (benches/load/gzip_peer.sh):
//! `GET /data` answers benches/peers/gzip_body.json (1,419 bytes, the same bytes as the
//! actix-web peer `benches/peers/rust/actix-gzip`) gzip-compressed at level 1, the level
//! actix-web's `middleware::Compress` uses (actix-http's `flate2::Compression::fast()`),
//! or at `--level N`.
//!
//! ```text
//! cargo run --release --example gzip_json -- --port 8080 --threads 1 [--level 1]
//! curl -s --compressed http://127.0.0.1:8080/data
//! ```
use fasterapi::prelude::*;
use fasterapi::Compression;

static BODY: &[u8] = include_bytes!("../benches/peers/gzip_body.json");

fn setting(flag: &str, default: usize) -> Result<usize, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == flag) {
        None => Ok(default),
        Some(i) => {
            let raw = args.get(i + 1).ok_or(format!("{flag} needs a value"))?;
            raw.parse()
                .map_err(|_| format!("{flag}: `{raw}` is not a number"))
        }
    }
}

fn main() {
    let (port, threads, level) = match (
        setting("--port", 8080),
        setting("--threads", 0),
        setting("--level", 1),
    ) {
        (Ok(p), Ok(t), Ok(l)) => (p, t, l as u32),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            eprintln!("gzip_json: {e}");
            std::process::exit(2);
        }
    };
    let mut app = App::new();
    app.config_mut().threads = threads;
    app.get("/data", |_req: &Request| {
        Response::bytes(BODY, "application/json")
    })
    .compress(Compression::gzip_only(level));
    let addr = format!("127.0.0.1:{port}");
    let server = match app.bind(&addr) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("gzip_json: cannot listen on {addr}: {e}");
            std::process::exit(1);
        }
    };
    eprintln!("gzip_json: listening on http://{}", server.local_addr());
    if let Err(e) = server.run() {
        eprintln!("gzip_json: {e}");
        std::process::exit(1);
    }
}
