//! A WebSocket echo server (each message sent back as it came) for the WebSocket bench
//! (benches/load/ws.sh): `cargo run --release --example ws_echo -- [PORT]` serves
//! `ws://127.0.0.1:PORT/echo` on one I/O thread.

use fasterapi::websocket::WsEvent;
use fasterapi::App;

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/echo", |_req, upgrade| {
        upgrade.accept(|event, out| {
            if let WsEvent::Message(m) = event {
                let _ = out.send(m);
            }
        });
    });
    app.serve(("127.0.0.1", port))
}
