// Peer for benches/load/ws.sh: a WebSocket echo with axum 0.8 (`WebSocketUpgrade`, as axum's
// websockets example writes one: each message received is sent back on the same socket).
// Serves ws://127.0.0.1:PORT/echo. Config: PORT (env) or --port N; WORKERS (env) or
// --workers N (= tokio worker threads, default 1).
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::{response::Response, routing::get, Router};

fn arg_or_env(flag: &str, env: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == flag) {
        if let Some(v) = args.get(i + 1) {
            return v.parse().expect("bad numeric arg");
        }
    }
    std::env::var(env)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(echo_socket)
}

async fn echo_socket(mut socket: WebSocket) {
    while let Some(Ok(msg)) = socket.recv().await {
        match msg {
            Message::Binary(_) | Message::Text(_) => {
                if socket.send(msg).await.is_err() {
                    return;
                }
            }
            // tungstenite answers pings and close frames itself
            Message::Close(_) => return,
            _ => {}
        }
    }
}

fn main() {
    let port = arg_or_env("--port", "PORT", 8080);
    let workers = arg_or_env("--workers", "WORKERS", 1);
    eprintln!("axum (ws) listening on 127.0.0.1:{port} tokio worker_threads={workers}");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let app = Router::new().route("/echo", get(echo));
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port as u16))
            .await
            .unwrap();
        axum::serve(listener, app).await.unwrap();
    });
}
