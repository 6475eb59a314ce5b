//! Deferred answers (`Request::defer` and `Reply`) over real sockets: a request that waits
//! does not hold up other connections, answers leave in request order, a client that
//! leaves runs the abandon hook, and a dropped reply answers 500.

mod common;

use std::io::{BufReader, Write};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use fasterapi_http::{App, Reply, Request, Response, RunningServer};

/// Replies parked by `/wait`, sent by `/release`.
type Parked = Arc<Mutex<Vec<Reply>>>;

fn app(parked: &Parked, abandoned: mpsc::Sender<()>) -> App {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.get("/fast", |_req: &Request| "fast");
    let p = parked.clone();
    app.get("/wait", move |req: &Request| {
        let abandoned = abandoned.clone();
        let reply = req
            .defer_with_abandon(move || {
                let _ = abandoned.send(());
            })
            .expect("an inline request can wait");
        assert!(req.defer().is_none(), "a request defers once");
        p.lock().unwrap().push(reply);
        Response::text("never sent")
    });
    let p = parked.clone();
    app.get("/release", move |_req: &Request| {
        let replies: Vec<Reply> = p.lock().unwrap().drain(..).collect();
        let n = replies.len();
        // From another thread: the I/O thread is woken for them.
        std::thread::spawn(move || {
            for (i, reply) in replies.into_iter().enumerate() {
                reply.send(Response::text(format!("released {i}")));
            }
        });
        Response::text(format!("{n}"))
    });
    let p = parked.clone();
    app.get("/drop", move |_req: &Request| {
        p.lock().unwrap().clear();
        "dropped"
    });
    app
}

/// How many replies `/wait` holds.
fn parked_count(parked: &Parked) -> usize {
    parked.lock().unwrap().len()
}

/// The app served on one I/O thread, its parked replies, and what its abandon hooks send.
fn serve_parking() -> (RunningServer, Parked, mpsc::Receiver<()>) {
    let parked = Parked::default();
    let (tx, rx) = mpsc::channel();
    let server = app(&parked, tx)
        .bind("127.0.0.1:0")
        .unwrap()
        .spawn()
        .unwrap();
    (server, parked, rx)
}

/// Returns once `/wait` holds a reply: each round trip on another connection is a full
/// turn of the I/O thread, so no time is waited.
fn wait_parked(parked: &Parked, addr: std::net::SocketAddr) {
    while parked_count(parked) == 0 {
        roundtrip(addr, &get("/fast"));
    }
}

#[test]
fn a_deferred_request_does_not_hold_up_other_connections() {
    let (server, parked, _rx) = serve_parking();
    let addr = server.local_addr();
    // A waits until B is served: it can only complete if the I/O thread served B while
    // A was pending.
    let a = connect(addr);
    let mut aw = a.try_clone().unwrap();
    let mut ar = BufReader::new(a);
    aw.write_all(&get("/wait")).unwrap();
    // Served on the same thread as A's connection (one I/O thread).
    let fast = roundtrip(addr, &get("/fast"));
    assert_eq!(fast.body, b"fast");
    let released = roundtrip(addr, &get("/release"));
    assert_eq!(released.status, 200);
    let resp = read_response(&mut ar, false);
    assert_eq!(resp.status, 200);
    assert_eq!(resp.body, b"released 0");
    // The connection goes on serving.
    aw.write_all(&get("/fast")).unwrap();
    assert_eq!(read_response(&mut ar, false).body, b"fast");
    assert_eq!(parked_count(&parked), 0);
    server.shutdown().unwrap();
}

#[test]
fn pipelined_answers_leave_in_request_order_around_a_deferred_one() {
    let (server, parked, _rx) = serve_parking();
    let addr = server.local_addr();
    let a = connect(addr);
    let mut aw = a.try_clone().unwrap();
    let mut ar = BufReader::new(a);
    let mut burst = get("/fast");
    burst.extend(get("/wait"));
    burst.extend(get("/fast"));
    burst.extend(get("/wait"));
    burst.extend(get("/fast"));
    aw.write_all(&burst).unwrap();
    assert_eq!(read_response(&mut ar, false).body, b"fast");
    // The second /wait is parsed only after the first is answered: one release each.
    for round in 0..2 {
        wait_parked(&parked, addr);
        assert_eq!(roundtrip(addr, &get("/release")).body, b"1");
        let resp = read_response(&mut ar, false);
        assert_eq!(resp.body, b"released 0", "round {round}");
        assert_eq!(read_response(&mut ar, false).body, b"fast", "round {round}");
    }
    server.shutdown().unwrap();
}

#[test]
fn a_client_that_leaves_runs_the_abandon_hook() {
    let (server, parked, rx) = serve_parking();
    let addr = server.local_addr();
    let mut a = connect(addr);
    a.write_all(&get("/wait")).unwrap();
    // Wait until the handler holds the reply, then leave.
    wait_parked(&parked, addr);
    drop(a);
    // A hang guard, not a timing assertion: the hook runs when the close is seen.
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the abandon hook ran");
    // Sending after the client left does nothing, and the server goes on.
    assert_eq!(roundtrip(addr, &get("/release")).body, b"1");
    assert_eq!(roundtrip(addr, &get("/fast")).body, b"fast");
    server.shutdown().unwrap();
}

#[test]
fn a_dropped_reply_answers_500() {
    let (server, parked, _rx) = serve_parking();
    let addr = server.local_addr();
    let a = connect(addr);
    let mut aw = a.try_clone().unwrap();
    let mut ar = BufReader::new(a);
    aw.write_all(&get("/wait")).unwrap();
    wait_parked(&parked, addr);
    assert_eq!(roundtrip(addr, &get("/drop")).body, b"dropped");
    assert_eq!(read_response(&mut ar, false).status, 500);
    server.shutdown().unwrap();
}

#[test]
fn shutdown_waits_for_a_deferred_answer() {
    let (server, parked, _rx) = serve_parking();
    let addr = server.local_addr();
    let a = connect(addr);
    let mut aw = a.try_clone().unwrap();
    let mut ar = BufReader::new(a);
    aw.write_all(&get("/wait")).unwrap();
    wait_parked(&parked, addr);
    let handle = server.handle();
    handle.shutdown();
    handle.wait_listeners_closed();
    // The pending request is still answered, with `Connection: close`.
    let reply = parked.lock().unwrap().pop().unwrap();
    reply.send(Response::text("late"));
    let resp = read_response(&mut ar, false);
    assert_eq!(resp.body, b"late");
    assert_eq!(resp.header("connection"), Some("close"));
    server.join().unwrap();
}
