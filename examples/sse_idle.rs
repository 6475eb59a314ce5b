//! Server-sent event streams for the SSE benches (benches/load/sse_idle.sh):
//! `cargo run --release --example sse_idle -- [PORT] [TICK_MS]` serves `GET /events` (and
//! `GET /ticks`, the same) on one I/O thread: one event, then the stream stays open and
//! silent. Each stream's sender is
//! kept so the stream neither ends nor fails while its client stays.
//!
//! With `TICK_MS` (the fan-out bench, `MODE=fanout`), a thread of its own sends every stream
//! the same event every `TICK_MS` milliseconds: `id: N` and `data: tick N MS` (the tick's
//! number and when it was sent, milliseconds since the Unix epoch, so the client can check
//! that none is lost and how late each arrives). It never waits for a slow client: a stream
//! whose buffer is full misses that tick (the client counts it as lost).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fasterapi::{App, BodySender, BodyStream, Request, Response, TrySendError};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let port: u16 = args.get(1).and_then(|p| p.parse().ok()).unwrap_or(8080);
    let tick_ms: Option<u64> = args.get(2).and_then(|t| t.parse().ok()).filter(|&t| t > 0);
    let senders: Arc<Mutex<Vec<BodySender>>> = Arc::default();
    if let Some(ms) = tick_ms {
        let senders = Arc::clone(&senders);
        std::thread::spawn(move || tick(&senders, Duration::from_millis(ms)));
    }
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/events", open_stream(Arc::clone(&senders)));
    app.get("/ticks", open_stream(senders));
    app.serve(("127.0.0.1", port))
}

/// The handler of `/events` and `/ticks` (the same: the path names the bench): a stream
/// with its first event, its sender kept in `senders`.
fn open_stream(
    senders: Arc<Mutex<Vec<BodySender>>>,
) -> impl Fn(&Request<'_>) -> Response + Send + Sync + 'static {
    move |_req: &Request| {
        let (sender, body) = BodyStream::channel(4096);
        // The channel is empty and holds 4 KiB: this send does not wait.
        let _ = sender.send("data: hello\n\n");
        // A poisoned lock only means another handler panicked; the Vec is still sound.
        senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(sender);
        Response::stream(body).with_content_type("text/event-stream")
    }
}

/// Sends tick N to every open stream each `every`, forgetting the streams whose client left.
fn tick(senders: &Mutex<Vec<BodySender>>, every: Duration) {
    let start = std::time::Instant::now();
    for n in 1u64.. {
        // Ticks on a fixed schedule: a slow round does not push the later ones back.
        let due = start + every * n as u32;
        std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        let event = bytes::Bytes::from(format!("id: {n}\ndata: tick {n} {ms}\n\n"));
        senders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|s| {
                !matches!(
                    s.try_send(event.clone()),
                    Err(TrySendError::Disconnected(_))
                )
            });
    }
}
