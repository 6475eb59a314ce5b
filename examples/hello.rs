//! The hello server: the routes of the peer benchmark rig, plus an echo.
//!
//! ```text
//! cargo run --release --example hello -- --port 8080 --threads 2
//! curl http://127.0.0.1:8080/plaintext      # Hello, World!
//! curl http://127.0.0.1:8080/json           # {"message":"Hello, World!"}
//! curl http://127.0.0.1:8080/users/42       # {"id":42,"name":"user42"}
//! curl -d 'hi' http://127.0.0.1:8080/echo   # hi
//! ```
//!
//! Port and thread count come from `--port`/`--threads`, else the `PORT`/`THREADS`
//! environment variables, else 8080 and one thread per core. `--metrics` (or `METRICS=1`)
//! serves Prometheus metrics at `/metrics`, for measuring what they cost.
mod support;

use fasterapi::prelude::*;

/// `"user" + id` without a heap allocation.
fn user_name(id: u64, buf: &mut [u8; 24]) -> &str {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(id).as_bytes();
    buf[..4].copy_from_slice(b"user");
    buf[4..4 + digits.len()].copy_from_slice(digits);
    // Only ASCII was written.
    std::str::from_utf8(&buf[..4 + digits.len()]).expect("ASCII is UTF-8")
}

fn main() {
    let [port, threads] = support::settings(
        "hello",
        [("--port", "PORT", 8080), ("--threads", "THREADS", 0)],
    );
    let mut app = App::new();
    app.config_mut().threads = threads;
    if std::env::args().any(|a| a == "--metrics")
        || std::env::var("METRICS").is_ok_and(|v| v == "1")
    {
        app.metrics("/metrics");
    }
    app.get("/plaintext", |_req: &Request| {
        Response::text("Hello, World!")
    });
    app.get("/json", |_req: &Request| {
        Response::json(|o| {
            o.field("message", "Hello, World!");
        })
    });
    app.get("/users/{id}", |req: &Request| -> Result<Response, Error> {
        let id: u64 = req.param("id")?;
        let mut name = [0u8; 24];
        let name = user_name(id, &mut name);
        Ok(Response::json(|o| {
            o.field("id", id);
            o.field("name", name);
        }))
    });
    app.post("/echo", |req: &Request| {
        let content_type = req
            .header("content-type")
            .unwrap_or("application/octet-stream");
        Response::bytes(req.body().to_vec(), content_type.to_owned())
    });
    support::serve("hello", app, port);
}
