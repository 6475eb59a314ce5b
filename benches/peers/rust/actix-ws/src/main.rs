// Peer for benches/load/ws.sh: a WebSocket echo with actix-web 4 and actix-ws, as the
// actix-ws README writes one (each message sent back from a task spawned per connection).
// Serves ws://127.0.0.1:PORT/echo. Config: PORT (env) or --port N; WORKERS (env) or
// --workers N (default 1).
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use actix_ws::Message;

fn arg_or_env(flag: &str, env: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == flag) {
        if let Some(v) = args.get(i + 1) {
            return v.parse().expect("bad numeric arg");
        }
    }
    std::env::var(env).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

async fn echo(req: HttpRequest, body: web::Payload) -> actix_web::Result<HttpResponse> {
    let (response, mut session, mut stream) = actix_ws::handle(&req, body)?;
    actix_web::rt::spawn(async move {
        while let Some(Ok(msg)) = stream.recv().await {
            let sent = match msg {
                Message::Binary(bytes) => session.binary(bytes).await,
                Message::Text(text) => session.text(text).await,
                Message::Ping(bytes) => session.pong(&bytes).await,
                Message::Close(reason) => {
                    let _ = session.close(reason).await;
                    return;
                }
                _ => Ok(()),
            };
            if sent.is_err() {
                return;
            }
        }
    });
    Ok(response)
}

fn main() -> std::io::Result<()> {
    let port = arg_or_env("--port", "PORT", 8080);
    let workers = arg_or_env("--workers", "WORKERS", 1);
    eprintln!("actix-web (actix-ws) listening on 127.0.0.1:{port} workers={workers}");
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(|| App::new().route("/echo", web::get().to(echo)))
            .workers(workers)
            .bind(("127.0.0.1", port as u16))?
            .run()
            .await
    })
}
