// Peer for benches/load/files.sh: a static directory under /static with axum 0.8 and
// tower-http's ServeDir (as axum's static-file-server example nests one; ServeDir reads the
// file in chunks through tokio::fs, on tokio's blocking pool, it has no sendfile). Serves
// http://127.0.0.1:PORT/static/<file> from DIR. Config: PORT (env) or --port N; WORKERS (env)
// or --workers N (= tokio worker threads, default 1); DIR (env) or --dir PATH (default .).
use axum::Router;
use tower_http::services::ServeDir;

fn arg_or_env(flag: &str, env: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == flag) {
        if let Some(v) = args.get(i + 1) {
            return v.clone();
        }
    }
    std::env::var(env).unwrap_or_else(|_| default.to_string())
}

fn main() {
    let port: u16 = arg_or_env("--port", "PORT", "8080")
        .parse()
        .expect("bad --port");
    let workers: usize = arg_or_env("--workers", "WORKERS", "1")
        .parse()
        .expect("bad --workers");
    let dir = arg_or_env("--dir", "DIR", ".");
    eprintln!("axum (tower-http ServeDir) listening on 127.0.0.1:{port} tokio worker_threads={workers} dir={dir}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let app = Router::new().nest_service("/static", ServeDir::new(dir));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}
