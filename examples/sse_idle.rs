//! Idle server-sent event streams for the SSE memory bench (benches/load/sse_idle.sh):
//! `cargo run --release --example sse_idle -- [PORT]` serves `GET /events` on one I/O
//! thread: one event, then the stream stays open and silent. Each stream's sender is kept
//! so the stream neither ends nor fails while its client stays.

use std::sync::{Arc, Mutex};

use fasterapi::{App, BodySender, BodyStream, Request, Response};

fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(8080);
    let senders: Arc<Mutex<Vec<BodySender>>> = Arc::default();
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/events", move |_req: &Request| {
        let (sender, body) = BodyStream::channel(4096);
        // The channel is empty and holds 4 KiB: this send does not wait.
        let _ = sender.send("data: hello\n\n");
        // A poisoned lock only means another handler panicked; the Vec is still sound.
        senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sender);
        Response::stream(body).with_content_type("text/event-stream")
    });
    app.serve(("127.0.0.1", port))
}
