//! A WebSocket load client for the echo bench (benches/load/ws.sh):
//! `ws_load ADDR PATH CONNS MESSAGES SIZE` opens CONNS connections to `ws://ADDR/PATH`,
//! each on a thread of its own sending MESSAGES binary messages of SIZE bytes one at a
//! time and waiting for each echo (round trips), and prints
//! `messages=N seconds=S msgs_per_s=R`. Frames are masked as a browser's are.

use std::io::{BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 6 {
        eprintln!("usage: ws_load ADDR PATH CONNS MESSAGES SIZE");
        std::process::exit(2);
    }
    let (addr, path) = (args[1].clone(), args[2].clone());
    let conns: usize = args[3].parse().expect("CONNS");
    let messages: usize = args[4].parse().expect("MESSAGES");
    let size: usize = args[5].parse().expect("SIZE");
    let start = Instant::now();
    let threads: Vec<_> = (0..conns)
        .map(|_| {
            let (addr, path) = (addr.clone(), path.clone());
            std::thread::spawn(move || run(&addr, &path, messages, size))
        })
        .collect();
    for t in threads {
        t.join().expect("a connection failed");
    }
    let secs = start.elapsed().as_secs_f64();
    let total = conns * messages;
    println!(
        "messages={total} seconds={secs:.3} msgs_per_s={:.0}",
        total as f64 / secs
    );
}

fn run(addr: &str, path: &str, messages: usize, size: usize) {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    .unwrap();
    let mut r = BufReader::with_capacity(1 << 16, s.try_clone().unwrap());
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        r.read_exact(&mut b).expect("handshake");
        head.push(b[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    let payload: Vec<u8> = (0..size).map(|i| i as u8).collect();
    let mask = [0x12u8, 0x34, 0x56, 0x78];
    let mut frame = vec![0x82];
    match size {
        0..=125 => frame.push(0x80 | size as u8),
        126..=65535 => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(size as u16).to_be_bytes());
        }
        _ => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(size as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    let mut echo = vec![0u8; size];
    for _ in 0..messages {
        s.write_all(&frame).unwrap();
        let mut h = [0u8; 2];
        r.read_exact(&mut h).unwrap();
        assert_eq!(h[0], 0x82, "a binary echo");
        match h[1] & 0x7f {
            126 => r.read_exact(&mut [0u8; 2]).unwrap(),
            127 => r.read_exact(&mut [0u8; 8]).unwrap(),
            _ => {}
        }
        r.read_exact(&mut echo).unwrap();
    }
    // Close: 1000, masked.
    let close = [0x88u8, 0x82, 0, 0, 0, 0, 0x03, 0xe8];
    let _ = s.write_all(&close);
}
