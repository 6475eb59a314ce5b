//! A static file server: the files of a directory under `/static`, with HTML mode.
//!
//! ```text
//! cargo run --release --example static_files -- public 8080 1
//! curl -I http://127.0.0.1:8080/static/index.html
//! curl -r 0-99 http://127.0.0.1:8080/static/big.bin | wc -c   # 100
//! ```
//!
//! Arguments: the directory (default `.`), the port (default 8080) and the number of I/O
//! threads (default: one per core). benches/RESULTS.md's static-file rows use it.
use fasterapi::prelude::*;
use fasterapi::StaticDir;

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = args.get(1).map_or(".", String::as_str);
    let port: u16 = args.get(2).and_then(|p| p.parse().ok()).unwrap_or(8080);
    let mut app = App::new();
    if let Some(threads) = args.get(3).and_then(|t| t.parse().ok()) {
        app.config_mut().threads = threads;
    }
    app.static_dir("/static", StaticDir::new(dir)?.html(true));
    app.serve(("127.0.0.1", port))
}
