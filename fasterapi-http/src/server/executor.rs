//! The worker pool for blocking routes, fed by fasterapi-core's bounded MPMC queue.
//!
//! An I/O thread freezes the request bytes (a refcount, no copy), pushes a [`Job`] and
//! goes on serving its other connections. A worker pops the job, runs the handler, and
//! pushes the response into the owning I/O thread's completion list, waking that thread
//! through its `mio::Waker` only if no wake is already pending for it.

use std::io;
use std::net::SocketAddr;
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Instant;

use bytes::Bytes;
use fasterapi_core::mpmc::Queue;

use crate::app::later::{Completion, Mailbox};
use crate::app::request::Request;
use crate::app::router::Params;
use crate::app::App;
use crate::http::response::{detail, Response, StatusCode};
use crate::proto::h1::encode::Persistence;
use crate::proto::h1::parse::{self, Head, Limits};

/// A request handed to the worker pool.
pub(crate) struct Job {
    /// The I/O thread that owns the connection.
    pub(crate) home: usize,
    /// The connection: slot and the id that tells a reused slot apart.
    pub(crate) token: usize,
    pub(crate) conn_id: u64,
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// The request head, and the body (de-chunked when it came chunked).
    pub(crate) head: Bytes,
    pub(crate) body: Bytes,
    /// The form of a route that streams forms (its body is then empty).
    pub(crate) form: Option<Box<Result<crate::app::form::FormItems, crate::app::form::FormError>>>,
    pub(crate) head_only: bool,
    pub(crate) persistence: Persistence,
    pub(crate) enqueued: Instant,
}

/// The running worker pool.
pub(crate) struct Executor {
    pub(crate) queue: Arc<Queue<Job>>,
    threads: Vec<JoinHandle<()>>,
    /// Disconnects when the last worker has returned (each holds a sender).
    all_done: mpsc::Receiver<()>,
}

impl Executor {
    pub(crate) fn start(
        app: Arc<App>,
        mailboxes: Arc<[Mailbox]>,
        queue: Arc<Queue<Job>>,
    ) -> io::Result<Executor> {
        let limits = Limits::from_config(&app.config);
        let workers = match app.config.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        };
        let mut threads = Vec::with_capacity(workers);
        let (done, all_done) = mpsc::channel();
        for i in 0..workers {
            let (app, mailboxes, jobs, done) =
                (app.clone(), mailboxes.clone(), queue.clone(), done.clone());
            let t = std::thread::Builder::new()
                .name(format!("fasterapi-worker-{i}"))
                .spawn(move || {
                    work(&app, &mailboxes, &jobs, &limits);
                    drop(done);
                });
            match t {
                Ok(t) => threads.push(t),
                Err(e) => {
                    queue.close();
                    return Err(e);
                }
            }
        }
        drop(done);
        Ok(Executor {
            queue,
            threads,
            all_done,
        })
    }

    /// Lets the workers finish what is queued, then waits for them (up to `deadline`:
    /// a worker stuck in a handler past it is left behind, detached).
    pub(crate) fn stop(self, deadline: Instant) {
        // Closing wakes every parked worker; they drain what is queued, then return.
        self.queue.close();
        let wait = deadline.saturating_duration_since(Instant::now());
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.all_done.recv_timeout(wait) {
            diag!(
                warn,
                "fasterapi: shutdown deadline passed with a blocking handler still running"
            );
        }
        for t in self.threads {
            if t.is_finished() {
                let _ = t.join();
            }
        }
    }
}

fn work(app: &App, mailboxes: &[Mailbox], queue: &Queue<Job>, limits: &Limits) {
    while let Some(mut job) = queue.pop_wait() {
        let response = if job.enqueued.elapsed() > app.config.queue_timeout {
            overloaded(app)
        } else {
            run(app, &mut job, limits)
        };
        mailboxes[job.home].deliver(Completion {
            token: job.token,
            conn_id: job.conn_id,
            response,
            head_only: job.head_only,
            persistence: job.persistence,
            upgrade: None,
        });
    }
}

/// The answer when the worker pool cannot take or run a job in time.
pub(crate) fn overloaded(app: &App) -> Response {
    if let Some(m) = &app.metrics {
        m.count_shed();
    }
    detail(
        StatusCode::SERVICE_UNAVAILABLE,
        "Service Unavailable: server overloaded, retry later",
    )
    .with_header("Retry-After", "1")
}

/// Re-reads the (already validated) head from the frozen bytes and runs the handler.
fn run(app: &App, job: &mut Job, limits: &Limits) -> Response {
    let form = job.form.take().map(|f| std::cell::Cell::new(Some(*f)));
    let mut slots = parse::header_slots();
    let (headers, meta) = match parse::parse_head(&job.head, &mut slots, limits) {
        Ok(Head::Complete { headers, meta, .. }) => (headers, meta),
        // The I/O thread parsed these very bytes with the same limits before queueing them.
        _ => return detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    };
    let mut params = Params::new();
    match app.router.find(meta.method, meta.path, &mut params) {
        Ok(route) => route.call(
            &Request::from_parts(
                &meta, headers, &params, &job.body, None, &job.peer, &app.state,
            )
            .with_form(form.as_ref()),
        ),
        Err(_) => detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error"),
    }
}
