//! The response encoder: a [`Response`] written into a connection's output as HTTP/1.1.

use bytes::{BufMut, Bytes, BytesMut};

use crate::http::response::{
    header_is_safe, recycle_header_list, recycle_json_buffer, Body, FileRegion, Response,
    StatusCode,
};
use crate::http::stream::BodyStream;
use crate::proto::h1::date;

/// Bodies from this size go out by `writev` without being copied.
const ZERO_COPY_MIN: usize = 16 * 1024;

/// What the `Connection` header of a response says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub(crate) enum Persistence {
    /// HTTP/1.1 default: keep the connection, say nothing.
    KeepAlive = 0,
    /// HTTP/1.0 client that asked for keep-alive: say `Connection: keep-alive`.
    KeepAlive10 = 1,
    /// The connection closes after this response: say `Connection: close`.
    Close = 2,
    /// As `Close`, for an HTTP/1.0 client (which cannot take the chunked coding).
    Close10 = 3,
}

impl Persistence {
    /// What a response says of a connection that stays open (or not) to a client of
    /// HTTP/1.`minor`. (The values follow the discriminants, so this compiles to a few
    /// bit operations.)
    #[inline]
    pub(crate) fn of(keep_alive: bool, minor: u8) -> Persistence {
        match (u8::from(!keep_alive) << 1) | u8::from(minor == 0) {
            0 => Persistence::KeepAlive,
            1 => Persistence::KeepAlive10,
            2 => Persistence::Close,
            _ => Persistence::Close10,
        }
    }

    /// Whether the connection closes after the response.
    #[inline]
    pub(crate) fn closes(self) -> bool {
        matches!(self, Persistence::Close | Persistence::Close10)
    }
}

/// How a streamed body is framed on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum StreamFraming {
    /// HTTP/1.1: `Transfer-Encoding: chunked`.
    Chunked,
    /// HTTP/1.0: the body ends when the connection does.
    CloseDelimited,
}

/// A streamed body whose head was written: the connection sends its pieces next.
#[derive(Debug)]
pub(crate) struct Streaming {
    pub(crate) body: BodyStream,
    pub(crate) framing: StreamFraming,
}

impl Streaming {
    /// Appends one piece, framed. (An empty piece would read as the end of a chunked body:
    /// the caller skips those.)
    pub(crate) fn put_piece(&self, out: &mut Output, piece: Bytes) {
        debug_assert!(!piece.is_empty());
        if self.framing == StreamFraming::Chunked {
            let mut hex = [0u8; 18];
            let mut n = piece.len();
            let mut i = hex.len() - 2;
            hex[i..].copy_from_slice(b"\r\n");
            loop {
                i -= 1;
                hex[i] = b"0123456789abcdef"[n & 15];
                n >>= 4;
                if n == 0 {
                    break;
                }
            }
            out.buf.put_slice(&hex[i..]);
        }
        if piece.len() >= ZERO_COPY_MIN {
            out.push_shared(piece);
        } else {
            out.buf.put_slice(&piece);
        }
        if self.framing == StreamFraming::Chunked {
            out.buf.put_slice(b"\r\n");
        }
    }

    /// Appends the body's end: the last chunk (no trailers) when chunked; nothing for a
    /// close-delimited body, whose end is the connection's.
    pub(crate) fn put_end(&self, out: &mut Output) {
        if self.framing == StreamFraming::Chunked {
            out.buf.put_slice(b"0\r\n\r\n");
        }
    }
}

/// The bytes queued for one connection's next write: frozen segments (large bodies sent
/// without a copy) followed by the buffer everything small is copied into, then at most
/// one file region, sent with `sendfile(2)` once the bytes before it are out. A response
/// with a file body is the last of its pass: the connection answers what was pipelined
/// behind it once the file is sent.
pub(crate) struct Output {
    pub(crate) chunks: Vec<Bytes>,
    pub(crate) buf: BytesMut,
    pub(crate) file: Option<FileRegion>,
    /// The streamed body of the response just written, whose head ends `buf`: the
    /// connection takes it before anything else is written.
    pub(crate) stream: Option<Streaming>,
}

impl Output {
    pub(crate) fn new(buf: BytesMut) -> Output {
        Output {
            chunks: Vec::new(),
            buf,
            file: None,
            stream: None,
        }
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.buf.is_empty() && self.file.is_none()
    }

    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.buf.len()
    }

    pub(crate) fn push_shared(&mut self, bytes: Bytes) {
        if !self.buf.is_empty() {
            self.chunks.push(self.buf.split().freeze());
        }
        self.chunks.push(bytes);
    }
}

/// Appends `n` in decimal. Numbers under 10,000 (most bodies) are written as fixed-size
/// copies, which compile to plain stores, rather than as itoa's variable-length output.
#[inline]
fn put_decimal(buf: &mut BytesMut, n: usize) {
    let digit = |v: usize| b'0' + (v % 10) as u8;
    match n {
        0..=9 => buf.put_u8(digit(n)),
        10..=99 => buf.put_slice(&[digit(n / 10), digit(n)]),
        100..=999 => buf.put_slice(&[digit(n / 100), digit(n / 10), digit(n)]),
        1000..=9999 => buf.put_slice(&[digit(n / 1000), digit(n / 100), digit(n / 10), digit(n)]),
        _ => buf.put_slice(itoa::Buffer::new().format(n).as_bytes()),
    }
}

/// Whether a handler's header is one the server writes itself (`Content-Length`, `Date`,
/// `Connection`, `Transfer-Encoding`) or one set apart (`Content-Type`): the names'
/// lengths differ, so one comparison of the length picks the only candidate.
#[inline]
fn is_reserved(name: &str) -> bool {
    match name.len() {
        4 => name.eq_ignore_ascii_case("date"),
        10 => name.eq_ignore_ascii_case("connection"),
        12 => name.eq_ignore_ascii_case("content-type"),
        14 => name.eq_ignore_ascii_case("content-length"),
        17 => name.eq_ignore_ascii_case("transfer-encoding"),
        _ => false,
    }
}

impl Response {
    /// Writes status line, headers and (unless `head_only` or the status forbids one) the
    /// body into `out`.
    #[inline]
    pub(crate) fn write_to(self, out: &mut Output, head_only: bool, persistence: Persistence) {
        if let Body::Stream(_) = self.body {
            return self.write_streamed(out, head_only, persistence);
        }
        let Response {
            status,
            content_type,
            headers,
            body,
        } = self;
        let buf = &mut out.buf;
        date::with_head(|head| match status.status_line() {
            Some(_) if status == StatusCode::OK => buf.put_slice(head),
            Some(line) => {
                buf.put_slice(line.as_bytes());
                buf.put_slice(&head[date::STATUS_LINE_LEN..]);
            }
            None => {
                buf.put_slice(b"HTTP/1.1 ");
                buf.put_slice(itoa::Buffer::new().format(status.0).as_bytes());
                buf.put_slice(b" \r\n");
                buf.put_slice(&head[date::STATUS_LINE_LEN..]);
            }
        });
        let body_allowed = !status.forbids_body();
        // Lines are written as "\r\n" + field, so that the common response (type, length,
        // keep-alive) ends in a single "\r\n\r\n": fewer, larger copies.
        let body_len = body.len();
        let mut mid_line = false;
        if body_allowed {
            match content_type.as_ref().map(|t| (t.head_line(), t)) {
                Some((Some(line), _)) => buf.put_slice(line),
                Some((None, t)) => {
                    buf.put_slice(b"Content-Type: ");
                    buf.put_slice(t.as_str().as_bytes());
                    buf.put_slice(b"\r\nContent-Length: ");
                }
                None => buf.put_slice(b"Content-Length: "),
            }
            match usize::try_from(body_len) {
                Ok(n) => put_decimal(buf, n),
                Err(_) => buf.put_slice(itoa::Buffer::new().format(body_len).as_bytes()),
            }
            mid_line = true;
        }
        for (name, value) in &headers {
            if is_reserved(name)
                || name.is_empty()
                || !header_is_safe(name)
                || !header_is_safe(value)
            {
                continue;
            }
            if mid_line {
                buf.put_slice(b"\r\n");
            }
            buf.put_slice(name.as_bytes());
            buf.put_slice(b": ");
            buf.put_slice(value.as_bytes());
            mid_line = true;
        }
        recycle_header_list(headers);
        let connection: &[u8] = match persistence {
            Persistence::KeepAlive => b"",
            Persistence::KeepAlive10 => b"Connection: keep-alive",
            Persistence::Close | Persistence::Close10 => b"Connection: close",
        };
        if !connection.is_empty() {
            if mid_line {
                buf.put_slice(b"\r\n");
            }
            buf.put_slice(connection);
            mid_line = true;
        }
        buf.put_slice(if mid_line { b"\r\n\r\n" } else { b"\r\n" });
        if body_allowed && !head_only {
            match body {
                Body::Bytes(b) if b.len() >= ZERO_COPY_MIN => out.push_shared(b),
                Body::Static(s) if s.len() >= ZERO_COPY_MIN => {
                    out.push_shared(Bytes::from_static(s))
                }
                Body::Owned(v) => {
                    out.buf.put_slice(&v);
                    recycle_json_buffer(v);
                }
                Body::File(region) if region.is_empty() => {}
                Body::File(region) => out.file = Some(region),
                other => out.buf.put_slice(other.as_bytes()),
            }
        } else if let Body::Owned(v) = body {
            recycle_json_buffer(v);
        }
    }
}

impl Response {
    /// [`Response::write_to`] for a [`Body::Stream`]: the head says `Transfer-Encoding:
    /// chunked` (HTTP/1.1) or nothing of the length and `Connection: close` (HTTP/1.0),
    /// and the body goes to `out.stream` for the connection to send. A `HEAD` request or
    /// a status without a body gets the head alone; the body is dropped, which stops its
    /// producer.
    #[cold]
    #[inline(never)]
    fn write_streamed(self, out: &mut Output, head_only: bool, persistence: Persistence) {
        let Response {
            status,
            content_type,
            headers,
            body,
        } = self;
        let Body::Stream(body) = body else {
            unreachable!("write_streamed is called for streamed bodies only");
        };
        let framing = match persistence {
            Persistence::KeepAlive | Persistence::Close => StreamFraming::Chunked,
            Persistence::KeepAlive10 | Persistence::Close10 => StreamFraming::CloseDelimited,
        };
        let body_allowed = !status.forbids_body();
        // A close-delimited body closes the connection, and says so.
        let persistence = match framing {
            StreamFraming::CloseDelimited if body_allowed && !head_only => Persistence::Close10,
            _ => persistence,
        };
        let buf = &mut out.buf;
        date::with_head(|head| {
            match status.status_line() {
                Some(line) => buf.put_slice(line.as_bytes()),
                None => {
                    buf.put_slice(b"HTTP/1.1 ");
                    buf.put_slice(itoa::Buffer::new().format(status.0).as_bytes());
                    buf.put_slice(b" \r\n");
                }
            }
            buf.put_slice(&head[date::STATUS_LINE_LEN..]);
        });
        let mut lines: Vec<(&str, &str)> = Vec::with_capacity(headers.len() + 3);
        if body_allowed {
            if let Some(t) = &content_type {
                lines.push(("Content-Type", t.as_str()));
            }
            if framing == StreamFraming::Chunked {
                lines.push(("Transfer-Encoding", "chunked"));
            }
        }
        for (name, value) in &headers {
            if !is_reserved(name)
                && !name.is_empty()
                && header_is_safe(name)
                && header_is_safe(value)
            {
                lines.push((name, value));
            }
        }
        match persistence {
            Persistence::KeepAlive => {}
            Persistence::KeepAlive10 => lines.push(("Connection", "keep-alive")),
            Persistence::Close | Persistence::Close10 => lines.push(("Connection", "close")),
        }
        for (name, value) in lines {
            buf.put_slice(name.as_bytes());
            buf.put_slice(b": ");
            buf.put_slice(value.as_bytes());
            buf.put_slice(b"\r\n");
        }
        buf.put_slice(b"\r\n");
        if body_allowed && !head_only {
            out.stream = Some(Streaming { body, framing });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_decimal_matches_itoa() {
        let mut values: Vec<usize> = (0..20_000).collect();
        values.extend([99_999, 100_000, 1 << 40, usize::MAX]);
        for n in values {
            let mut buf = BytesMut::new();
            put_decimal(&mut buf, n);
            assert_eq!(&buf[..], itoa::Buffer::new().format(n).as_bytes(), "{n}");
        }
    }

    #[test]
    fn media_types_keep_their_text() {
        for (resp, want) in [
            (Response::text("a"), Response::TEXT_PLAIN),
            (Response::html("a"), Response::TEXT_HTML),
            (Response::json_bytes("1"), Response::APPLICATION_JSON),
            (
                Response::bytes("a", "text/plain; charset=utf-8"),
                Response::TEXT_PLAIN,
            ),
            (Response::bytes("a", "image/png"), "image/png"),
        ] {
            assert_eq!(resp.content_type(), Some(want));
            let text = written(resp, false, Persistence::KeepAlive);
            assert!(
                text.contains(&format!(
                    "\r\nContent-Type: {want}\r\nContent-Length: 1\r\n\r\n"
                )),
                "{text}"
            );
        }
    }

    fn written(resp: Response, head_only: bool, p: Persistence) -> String {
        let mut out = Output::new(BytesMut::new());
        resp.write_to(&mut out, head_only, p);
        let mut all = Vec::new();
        for c in &out.chunks {
            all.extend_from_slice(c);
        }
        all.extend_from_slice(&out.buf);
        String::from_utf8(all)
            .unwrap()
            .replace(&format!("Date: {}\r\n", date::cached_date()), "Date: D\r\n")
    }

    #[test]
    fn text_response_bytes() {
        assert_eq!(
            written(Response::text("Hello, World!"), false, Persistence::KeepAlive),
            "HTTP/1.1 200 OK\r\nServer: fasterapi\r\nDate: D\r\nContent-Type: text/plain; charset=utf-8\r\n\
             Content-Length: 13\r\n\r\nHello, World!"
        );
    }

    #[test]
    fn head_keeps_length_drops_body_and_connection_headers() {
        let s = written(Response::text("abc"), true, Persistence::Close);
        assert!(
            s.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\n"),
            "{s}"
        );
        let s = written(Response::text("abc"), false, Persistence::KeepAlive10);
        assert!(s.ends_with("Connection: keep-alive\r\n\r\nabc"), "{s}");
    }

    #[test]
    fn no_body_statuses_have_no_length_or_body() {
        let s = written(
            Response::text("x").with_status(StatusCode::NO_CONTENT),
            false,
            Persistence::KeepAlive,
        );
        assert_eq!(
            s,
            "HTTP/1.1 204 No Content\r\nServer: fasterapi\r\nDate: D\r\n\r\n"
        );
        let s = written(
            Response::new(StatusCode::NOT_MODIFIED),
            false,
            Persistence::KeepAlive,
        );
        assert!(!s.contains("Content-Length"), "{s}");
    }

    #[test]
    fn unknown_status_and_unsafe_headers() {
        let r = Response::new(StatusCode::from_u16(599).unwrap())
            .with_header("X-Ok", "1")
            .with_header("X-Bad", "a\r\nInjected: yes")
            .with_header("Content-Length", "99");
        let s = written(r, false, Persistence::KeepAlive);
        assert!(s.starts_with("HTTP/1.1 599 \r\n"), "{s}");
        assert!(s.contains("X-Ok: 1\r\n"));
        assert!(!s.contains("Injected"));
        assert!(
            s.contains("Content-Length: 0\r\n") && !s.contains("Content-Length: 99"),
            "{s}"
        );
    }

    #[test]
    fn large_bytes_body_is_not_copied() {
        let big = Bytes::from(vec![b'x'; ZERO_COPY_MIN]);
        let mut out = Output::new(BytesMut::new());
        Response::bytes(big.clone(), "application/octet-stream").write_to(
            &mut out,
            false,
            Persistence::KeepAlive,
        );
        assert_eq!(out.chunks.len(), 2, "head, then the shared body");
        assert_eq!(out.chunks[1].as_ptr(), big.as_ptr());
        assert!(out.buf.is_empty());
        assert_eq!(out.len(), out.chunks[0].len() + big.len());
    }
}
