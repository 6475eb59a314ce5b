// Peer for benches/load/files.sh: a static directory under /static with actix-web 4 and
// actix-files 0.6 (`Files::new`, as its documentation writes one; actix-files reads the file
// in chunks on actix's blocking thread pool, it has no sendfile). Serves
// http://127.0.0.1:PORT/static/<file> from DIR. Config: PORT (env) or --port N; WORKERS (env)
// or --workers N (default 1); DIR (env) or --dir PATH (default .).
use actix_web::{App, HttpServer};

fn arg_or_env(flag: &str, env: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == flag) {
        if let Some(v) = args.get(i + 1) {
            return v.clone();
        }
    }
    std::env::var(env).unwrap_or_else(|_| default.to_string())
}

fn main() -> std::io::Result<()> {
    let port: u16 = arg_or_env("--port", "PORT", "8080")
        .parse()
        .expect("bad --port");
    let workers: usize = arg_or_env("--workers", "WORKERS", "1")
        .parse()
        .expect("bad --workers");
    let dir = arg_or_env("--dir", "DIR", ".");
    eprintln!("actix-web (actix-files) listening on 127.0.0.1:{port} workers={workers} dir={dir}");
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || App::new().service(actix_files::Files::new("/static", &dir)))
            .workers(workers)
            .bind(("127.0.0.1", port))?
            .run()
            .await
    })
}
