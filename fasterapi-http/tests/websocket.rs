//! WebSocket over real sockets: the handshake and its refusals, framing, fragmentation,
//! control frames, close codes, limits, sends from other threads, backpressure, the idle
//! timeout and shutdown. Frames are written and read by hand (raw `TcpStream`), so that
//! malformed ones can be sent.

mod common;

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{connect, read_response, roundtrip};
use fasterapi_http::websocket::{MaskedBinary, Message, WsError, WsEvent, WsOptions, WsSender};
use fasterapi_http::{App, RunningServer};

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn handshake(path: &str, extra: &str) -> Vec<u8> {
    format!(
        "GET {path} HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
    .into_bytes()
}

/// A masked client frame.
fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    match payload.len() {
        n @ 0..=125 => out.push(0x80 | n as u8),
        n @ 126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0xa1, 0x02, 0x7f, 0x30];
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// Reads one server frame: (first byte, payload). Server frames are never masked.
fn read_frame(r: &mut impl Read) -> (u8, Vec<u8>) {
    let mut h = [0u8; 2];
    r.read_exact(&mut h).expect("a frame header");
    assert_eq!(h[1] & 0x80, 0, "server frames are unmasked");
    let len = match h[1] & 0x7f {
        126 => {
            let mut n = [0u8; 2];
            r.read_exact(&mut n).unwrap();
            u16::from_be_bytes(n) as usize
        }
        127 => {
            let mut n = [0u8; 8];
            r.read_exact(&mut n).unwrap();
            u64::from_be_bytes(n) as usize
        }
        n => n as usize,
    };
    let mut payload = vec![0; len];
    r.read_exact(&mut payload).unwrap();
    (h[0], payload)
}

/// The code of a close frame's payload.
fn close_code(payload: &[u8]) -> u16 {
    u16::from_be_bytes([payload[0], payload[1]])
}

/// An app with an echo route that also records what its handler was told.
fn echo_app(options: WsOptions, events: Arc<Mutex<Vec<WsEvent>>>) -> App {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket_with("/echo", options, move |_req, upgrade| {
        let events = events.clone();
        upgrade.accept(move |event, out| {
            if let WsEvent::Message(m) = &event {
                let _ = out.send(m.clone());
            }
            events.lock().unwrap().push(event);
        });
    });
    app.get("/plain", |_req: &fasterapi_http::Request| "plain");
    app
}

fn serve(app: App) -> RunningServer {
    app.bind("127.0.0.1:0").unwrap().spawn().unwrap()
}

/// Opens a WebSocket to `path`, returning the reader after the `101`.
fn open(server: &RunningServer, path: &str) -> BufReader<TcpStream> {
    let mut s = connect(server.local_addr());
    s.write_all(&handshake(path, "")).unwrap();
    let mut r = BufReader::new(s);
    let resp = read_response(&mut r, true);
    assert_eq!(resp.status, 101, "{}", resp.head);
    r
}

fn send(r: &mut BufReader<TcpStream>, bytes: &[u8]) {
    r.get_mut().write_all(bytes).unwrap();
}

/// Reads to the end of the connection: true if it ended (EOF or reset).
fn ends(r: &mut BufReader<TcpStream>) -> bool {
    let mut rest = Vec::new();
    match r.read_to_end(&mut rest) {
        Ok(_) => true,
        Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
    }
}

#[test]
fn the_handshake_answers_101_with_the_accept_key_and_a_chosen_subprotocol() {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/chat", |req, upgrade| {
        assert_eq!(req.header("origin"), Some("http://example.com"));
        assert_eq!(upgrade.protocols(), ["soap", "chat.v2"]);
        let headers = [("Set-Cookie".to_string(), "a=b".to_string())];
        upgrade
            .accept_with(Some("chat.v2"), &headers, |_e, _o| {})
            .unwrap();
    });
    let server = serve(app);
    let mut s = connect(server.local_addr());
    let extra = "Origin: http://example.com\r\nSec-WebSocket-Protocol: soap, chat.v2\r\n\
                 Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n";
    s.write_all(&handshake("/chat", extra)).unwrap();
    let resp = read_response(&mut BufReader::new(s), true);
    assert_eq!(resp.status, 101);
    assert!(resp
        .head
        .starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
    assert_eq!(resp.header("upgrade"), Some("websocket"));
    assert_eq!(resp.header("connection"), Some("Upgrade"));
    assert_eq!(
        resp.header("sec-websocket-accept"),
        Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    );
    assert_eq!(resp.header("sec-websocket-protocol"), Some("chat.v2"));
    assert_eq!(resp.header("set-cookie"), Some("a=b"));
    // No extension is negotiated, and a 101 has no length.
    assert_eq!(resp.header("sec-websocket-extensions"), None);
    assert_eq!(resp.header("content-length"), None);
    server.shutdown().unwrap();
}

#[test]
fn bad_handshakes_get_426_or_400_with_a_reason() {
    let server = serve(echo_app(WsOptions::default(), Default::default()));
    let addr = server.local_addr();
    let base = "Host: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
    let cases: Vec<(String, u16, &str)> = vec![
        ("GET /echo HTTP/1.1\r\nHost: t\r\n\r\n".into(), 426, "Upgrade: websocket"),
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 8\r\n\r\n"), 426, "version 13"),
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: {KEY}\r\n\r\n"), 426, "version 13"),
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Version: 13\r\n\r\n"), 400, "Sec-WebSocket-Key"),
        (format!("GET /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n"), 400, "Sec-WebSocket-Key"),
        (format!("GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"), 400, "Connection: Upgrade"),
        (format!("GET /echo HTTP/1.0\r\n{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"), 400, "HTTP/1.1"),
        (format!("HEAD /echo HTTP/1.1\r\n{base}Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"), 400, ""),
    ];
    for (raw, status, says) in cases {
        let resp = roundtrip(addr, raw.as_bytes());
        assert_eq!(resp.status, status, "{raw}");
        if !raw.starts_with("HEAD") {
            assert!(resp.text().contains(says), "{raw}: {}", resp.text());
        }
        if status == 426 {
            assert_eq!(resp.header("sec-websocket-version"), Some("13"));
        }
    }
    // A refused handshake leaves the connection HTTP: the next request is served.
    let mut s = connect(addr);
    s.write_all(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\nGET /plain HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r, false).status, 426);
    assert_eq!(read_response(&mut r, false).text(), "plain");
    server.shutdown().unwrap();
}

#[test]
fn rejected_and_undecided_upgrades_answer_http() {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/no", |_req, upgrade| {
        upgrade.reject(
            fasterapi_http::Response::text("go away")
                .with_status(fasterapi_http::StatusCode::UNAUTHORIZED),
        );
    });
    app.websocket("/drop", |_req, upgrade| drop(upgrade));
    app.websocket("/later", |_req, upgrade| {
        std::thread::spawn(move || {
            upgrade.accept(|event, out| {
                if let WsEvent::Message(m) = event {
                    let _ = out.send(m);
                }
            });
        });
    });
    let server = serve(app);
    let resp = roundtrip(server.local_addr(), &handshake("/no", ""));
    assert_eq!((resp.status, resp.text()), (401, "go away"));
    let resp = roundtrip(server.local_addr(), &handshake("/drop", ""));
    assert_eq!(resp.status, 403);
    // Accepted from another thread, with a frame sent right behind the handshake.
    let mut s = connect(server.local_addr());
    s.write_all(&[handshake("/later", ""), frame(0x81, b"early")].concat())
        .unwrap();
    let mut r = BufReader::new(s);
    assert_eq!(read_response(&mut r, true).status, 101);
    assert_eq!(read_frame(&mut r), (0x81, b"early".to_vec()));
    drop(r);
    server.shutdown().unwrap();
}

#[test]
fn echo_of_every_length_form_and_fragmented_messages_with_pings_between() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let server = serve(echo_app(WsOptions::default(), events.clone()));
    let mut r = open(&server, "/echo");
    for len in [0usize, 5, 125, 126, 65_535, 65_536, 300_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        send(&mut r, &frame(0x82, &data));
        assert_eq!(read_frame(&mut r), (0x82, data), "{len}");
    }
    // Text, short and long (a long one is queued behind its header, not copied).
    for len in [3usize, 5_000, 70_000] {
        let text: String = "κόσμε-".chars().cycle().take(len).collect();
        send(&mut r, &frame(0x81, text.as_bytes()));
        assert_eq!(read_frame(&mut r), (0x81, text.into_bytes()), "{len}");
    }
    // Fragments, a ping in the middle: the pong comes first, then the joined message.
    let text = "fragmented κόσμε".as_bytes();
    send(
        &mut r,
        &[
            frame(0x01, &text[..11]),
            frame(0x89, b"ping!"),
            frame(0x00, &text[11..13]),
            frame(0x80, &text[13..]),
        ]
        .concat(),
    );
    assert_eq!(read_frame(&mut r), (0x8A, b"ping!".to_vec()));
    assert_eq!(read_frame(&mut r), (0x81, text.to_vec()));
    // An unsolicited pong is ignored; the close handshake echoes the code.
    send(&mut r, &frame(0x8A, b"x"));
    send(
        &mut r,
        &frame(0x88, &[&3001u16.to_be_bytes()[..], b"bye"].concat()),
    );
    let (b0, payload) = read_frame(&mut r);
    assert_eq!((b0, close_code(&payload)), (0x88, 3001));
    assert!(ends(&mut r));
    server.shutdown().unwrap();
    let events = events.lock().unwrap();
    assert_eq!(
        events.last(),
        Some(&WsEvent::Closed {
            code: 3001,
            reason: "bye".into()
        })
    );
    assert_eq!(events.len(), 12, "7 binary, 4 text, 1 closed: {events:?}");
}

#[test]
fn a_binary_handler_gets_whole_binary_messages_masked_and_the_event_handler_the_rest() {
    // Whole single-frame binary messages go to the binary handler, which unmasks them
    // into a buffer of its own; text and fragmented binary messages go to the event
    // handler as messages. Each echoes, tagging what it got.
    let masked_lens = Arc::new(Mutex::new(Vec::new()));
    let lens = masked_lens.clone();
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/split", move |_req, upgrade| {
        let lens = lens.clone();
        let events = move |event: WsEvent, out: &WsSender| {
            if let WsEvent::Message(m) = event {
                let _ = out.send(m);
            }
        };
        let binary = move |message: MaskedBinary<'_>, out: &WsSender| {
            lens.lock().unwrap().push(message.len());
            let mut buf = vec![std::mem::MaybeUninit::uninit(); message.len() + 1];
            buf[0].write(b'M');
            let unmasked = message.unmask_into(&mut buf[1..]).to_vec();
            let _ = out.send(Message::Binary([b"M".to_vec(), unmasked].concat()));
        };
        upgrade
            .accept_with_binary(None, &[], events, binary)
            .expect("no subprotocol to refuse");
    });
    let server = serve(app);
    let mut r = open(&server, "/split");
    for len in [0usize, 5, 126, 70_000] {
        let data: Vec<u8> = (0..len).map(|i| (i % 253) as u8).collect();
        send(&mut r, &frame(0x82, &data));
        assert_eq!(
            read_frame(&mut r),
            (0x82, [b"M".to_vec(), data].concat()),
            "{len}"
        );
    }
    send(&mut r, &frame(0x81, b"text"));
    assert_eq!(read_frame(&mut r), (0x81, b"text".to_vec()));
    send(
        &mut r,
        &[frame(0x02, b"frag"), frame(0x80, b"ments")].concat(),
    );
    assert_eq!(read_frame(&mut r), (0x82, b"fragments".to_vec()));
    send(&mut r, &frame(0x88, &1000u16.to_be_bytes()));
    let (b0, payload) = read_frame(&mut r);
    assert_eq!((b0, close_code(&payload)), (0x88, 1000));
    assert!(ends(&mut r));
    server.shutdown().unwrap();
    assert_eq!(*masked_lens.lock().unwrap(), vec![0, 5, 126, 70_000]);
}

#[test]
fn protocol_violations_fail_the_connection_with_their_close_code() {
    let events = Arc::new(Mutex::new(Vec::new()));
    let options = WsOptions {
        max_message: 1000,
        ..WsOptions::default()
    };
    let server = serve(echo_app(options, events.clone()));
    let mut too_long = vec![0x82, 0x80 | 127];
    too_long.extend_from_slice(&(1u64 << 40).to_be_bytes());
    let unmasked = vec![0x81, 0x01, b'x'];
    let cases: Vec<(Vec<u8>, u16)> = vec![
        (unmasked, 1002),
        (frame(0xC1, b"rsv1"), 1002),
        (frame(0x83, b"opcode 3"), 1002),
        (frame(0x8F, b""), 1002),
        (frame(0x09, b"fragmented ping"), 1002),
        (frame(0x89, &[0; 126]), 1002),
        (frame(0x80, b"lone continuation"), 1002),
        ([frame(0x01, b"a"), frame(0x82, b"b")].concat(), 1002),
        (frame(0x81, &[0xce, 0xba, 0xff]), 1007),
        (
            [frame(0x01, b"ok"), frame(0x80, &[0xed, 0xa0, 0x80])].concat(),
            1007,
        ),
        (frame(0x82, &[0; 1001]), 1009),
        (
            [frame(0x02, &[0; 600]), frame(0x80, &[0; 401])].concat(),
            1009,
        ),
        (too_long, 1009),
        (frame(0x88, &[0x03]), 1002),
        (frame(0x88, &1005u16.to_be_bytes()), 1002),
        (frame(0x88, &2999u16.to_be_bytes()), 1002),
        (frame(0x88, &[0x03, 0xe8, 0xff, 0xfe]), 1007),
    ];
    for (bytes, code) in cases {
        let mut r = open(&server, "/echo");
        send(&mut r, &bytes);
        let (b0, payload) = read_frame(&mut r);
        assert_eq!((b0, close_code(&payload)), (0x88, code), "{bytes:x?}");
        assert!(ends(&mut r), "closed after {bytes:x?}");
    }
    server.shutdown().unwrap();
}

#[test]
fn a_client_that_leaves_without_a_close_frame_is_closed_1006() {
    let (tx, rx) = mpsc::channel();
    let tx = Mutex::new(tx);
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/ws", move |_req, upgrade| {
        let tx = tx.lock().unwrap().clone();
        upgrade.accept(move |event, _out| tx.send(event).unwrap());
    });
    let server = serve(app);
    let mut r = open(&server, "/ws");
    send(&mut r, &frame(0x81, b"one"));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        WsEvent::Message(Message::Text("one".into()))
    );
    drop(r);
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)).unwrap(),
        WsEvent::Closed {
            code: 1006,
            reason: String::new()
        }
    );
    server.shutdown().unwrap();
}

#[test]
fn other_threads_send_through_the_sender_and_close() {
    let (tx, rx) = mpsc::channel::<WsSender>();
    let tx = Mutex::new(tx);
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/push", move |_req, upgrade| {
        let out = upgrade.accept(|_e, _o| {});
        tx.lock().unwrap().send(out).unwrap();
    });
    let server = serve(app);
    let mut r = open(&server, "/push");
    let out = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let pusher = std::thread::spawn(move || {
        for i in 0..1000 {
            let mut m = Message::Text(format!("n{i}"));
            loop {
                match out.send(m) {
                    Ok(()) => break,
                    // The client reads as it goes: wait for room.
                    Err(WsError::Full(back)) => {
                        m = back;
                        std::thread::yield_now();
                    }
                    Err(e) => panic!("{e}"),
                }
            }
        }
        assert_eq!(out.close(999, ""), Err(WsError::InvalidCloseCode(999)));
        out.close(4000, "pushed").unwrap();
        assert!(matches!(
            out.send(Message::Text("late".into())),
            Err(WsError::Closed(Some(_)))
        ));
    });
    for i in 0..1000 {
        assert_eq!(read_frame(&mut r), (0x81, format!("n{i}").into_bytes()));
    }
    let (b0, payload) = read_frame(&mut r);
    assert_eq!(
        (b0, close_code(&payload), &payload[2..]),
        (0x88, 4000, &b"pushed"[..])
    );
    // The client answers the close: the server closes the connection.
    send(&mut r, &frame(0x88, &4000u16.to_be_bytes()));
    assert!(ends(&mut r));
    pusher.join().unwrap();
    server.shutdown().unwrap();
}

/// A handler's sends to its own connection skip the mailbox (the pass that called it
/// takes them); its sends to another connection of the same I/O thread must still wake
/// that one: a broadcast reaches both, each message in its order.
#[test]
fn a_handler_sends_to_its_own_and_to_another_connection_of_its_thread() {
    let room: Arc<Mutex<Vec<WsSender>>> = Arc::default();
    let mut app = App::new();
    app.config_mut().threads = 1;
    let members = room.clone();
    app.websocket("/room", move |_req, upgrade| {
        let everyone = members.clone();
        let out = upgrade.accept(move |event, _own| {
            if let WsEvent::Message(m) = event {
                for member in everyone.lock().unwrap().iter() {
                    member.send(m.clone()).unwrap();
                }
            }
        });
        members.lock().unwrap().push(out);
    });
    let server = serve(app);
    let mut a = open(&server, "/room");
    let mut b = open(&server, "/room");
    for i in 0..50 {
        let (from, text) = if i % 2 == 0 {
            ("a", "from a")
        } else {
            ("b", "from b")
        };
        let msg = format!("{text} {i}");
        let sender = if from == "a" { &mut a } else { &mut b };
        send(sender, &frame(0x81, msg.as_bytes()));
        assert_eq!(
            read_frame(&mut a),
            (0x81, msg.clone().into_bytes()),
            "a, {i}"
        );
        assert_eq!(read_frame(&mut b), (0x81, msg.into_bytes()), "b, {i}");
    }
    assert_eq!(room.lock().unwrap().len(), 2);
    drop((a, b));
    server.shutdown().unwrap();
}

/// Backpressure: a client that does not read is not read from, and senders see a full
/// queue; once it reads, the queue drains and the handler hears `Writable`.
#[test]
fn output_is_bounded_per_connection_and_writable_follows_a_full_queue() {
    let (tx, rx) = mpsc::channel::<(WsSender, mpsc::Receiver<WsEvent>)>();
    let tx = Mutex::new(tx);
    let mut app = App::new();
    app.config_mut().threads = 1;
    let options = WsOptions {
        max_queued: 64 * 1024,
        ..WsOptions::default()
    };
    app.websocket_with("/firehose", options, move |_req, upgrade| {
        let (etx, erx) = mpsc::channel();
        let out = upgrade.accept(move |event, _out| {
            let _ = etx.send(event);
        });
        tx.lock().unwrap().send((out, erx)).unwrap();
    });
    let server = serve(app);
    let mut r = open(&server, "/firehose");
    let (out, events) = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let chunk = vec![7u8; 16 * 1024];
    let mut sent = 0usize;
    loop {
        match out.send(Message::Binary(chunk.clone())) {
            Ok(()) => sent += 1,
            Err(WsError::Full(back)) => {
                // Large payloads are queued without a copy: a refused one comes back whole.
                assert_eq!(back, Message::Binary(chunk.clone()));
                break;
            }
            Err(e) => panic!("{e}"),
        }
        assert!(sent < 100_000, "never full: the queue is not bounded");
    }
    // Bounded: at most the queue plus what the socket buffers took.
    assert!(out.queued() <= 64 * 1024 + chunk.len() + 14);
    // The client reads everything; the handler is told it may send again.
    for _ in 0..sent {
        let (b0, payload) = read_frame(&mut r);
        assert_eq!((b0, payload.len()), (0x82, chunk.len()));
    }
    assert_eq!(
        events.recv_timeout(Duration::from_secs(10)).unwrap(),
        WsEvent::Writable
    );
    assert_eq!(out.send(Message::Binary(chunk.clone())), Ok(()));
    assert_eq!(read_frame(&mut r).1.len(), chunk.len());
    drop(r);
    server.shutdown().unwrap();
}

#[test]
fn an_idle_connection_is_pinged_then_closed_with_1001_if_silent() {
    let options = WsOptions {
        idle_timeout: Duration::from_millis(50),
        ..WsOptions::default()
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let server = serve(echo_app(options, events.clone()));
    let mut r = open(&server, "/echo");
    // A live client answers the pings: the connection stays (three rounds, then a message).
    for _ in 0..3 {
        assert_eq!(read_frame(&mut r), (0x89, Vec::new()));
        send(&mut r, &frame(0x8A, b""));
    }
    send(&mut r, &frame(0x81, b"alive"));
    let mut got = read_frame(&mut r);
    while got.0 == 0x89 {
        send(&mut r, &frame(0x8A, b""));
        got = read_frame(&mut r);
    }
    assert_eq!(got, (0x81, b"alive".to_vec()));
    // A silent client: a ping, then the close.
    let (b0, payload) = read_frame(&mut r);
    let (b0, payload) = if b0 == 0x89 {
        read_frame(&mut r)
    } else {
        (b0, payload)
    };
    assert_eq!((b0, close_code(&payload)), (0x88, 1001));
    assert!(ends(&mut r));
    server.shutdown().unwrap();
    assert_eq!(
        events.lock().unwrap().last(),
        Some(&WsEvent::Closed {
            code: 1001,
            reason: "idle timeout".into()
        })
    );
}

#[test]
fn shutdown_sends_going_away_and_waits_for_the_answer() {
    let server = serve(echo_app(WsOptions::default(), Default::default()));
    let mut r = open(&server, "/echo");
    send(&mut r, &frame(0x81, b"hi"));
    assert_eq!(read_frame(&mut r), (0x81, b"hi".to_vec()));
    let stopper = std::thread::spawn(move || server.shutdown());
    let (b0, payload) = read_frame(&mut r);
    assert_eq!((b0, close_code(&payload)), (0x88, 1001));
    send(&mut r, &frame(0x88, &1001u16.to_be_bytes()));
    assert!(ends(&mut r));
    stopper.join().unwrap().unwrap();
}

#[test]
fn a_panicking_handler_fails_its_connection_with_1011_only() {
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/boom", |_req, upgrade| {
        upgrade.accept(|event, out| match event {
            WsEvent::Message(Message::Text(t)) if t == "boom" => panic!("boom"),
            WsEvent::Message(m) => {
                let _ = out.send(m);
            }
            _ => {}
        });
    });
    let server = serve(app);
    let mut a = open(&server, "/boom");
    let mut b = open(&server, "/boom");
    send(&mut a, &frame(0x81, b"boom"));
    let (b0, payload) = read_frame(&mut a);
    assert_eq!((b0, close_code(&payload)), (0x88, 1011));
    send(&mut b, &frame(0x81, b"still here"));
    assert_eq!(read_frame(&mut b), (0x81, b"still here".to_vec()));
    drop((a, b));
    server.shutdown().unwrap();
}

#[test]
fn a_handler_accepting_after_its_client_left_is_told_closed_1006() {
    let (tx, rx) = mpsc::channel::<fasterapi_http::websocket::Upgrade>();
    let tx = Mutex::new(tx);
    let mut app = App::new();
    app.config_mut().threads = 1;
    app.websocket("/slow", move |_req, upgrade| {
        tx.lock().unwrap().send(upgrade).unwrap();
    });
    let server = serve(app);
    let mut s = connect(server.local_addr());
    s.write_all(&handshake("/slow", "")).unwrap();
    let upgrade = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    drop(s);
    let (etx, erx) = mpsc::channel();
    upgrade.accept(move |event, _out| etx.send(event).unwrap());
    assert_eq!(
        erx.recv_timeout(Duration::from_secs(10)).unwrap(),
        WsEvent::Closed {
            code: 1006,
            reason: String::new()
        }
    );
    server.shutdown().unwrap();
}

#[test]
fn the_test_server_answers_handshakes_and_closes_after_a_101() {
    let mut server = fasterapi_http::TestServer::new(
        echo_app(WsOptions::default(), Default::default()),
        fasterapi_http::Config::default(),
    )
    .unwrap();
    let answer = server
        .exchange(b"GET /echo HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 426 Upgrade Required\r\n"));
    let answer = server.exchange(&handshake("/echo", "")).unwrap();
    let answer = String::from_utf8(answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{answer}"
    );
    assert!(
        answer.ends_with("\r\n\r\n"),
        "nothing after the 101: {answer}"
    );
}
