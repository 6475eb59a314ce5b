//! The response encoder: a [`Response`] written into a connection's output as HTTP/1.1.

use bytes::{BufMut, Bytes, BytesMut};

use crate::http::response::{
    header_is_safe, recycle_json_buffer, Body, FileRegion, Response, StatusCode,
};
use crate::proto::h1::date;

/// Bodies from this size go out by `writev` without being copied.
const ZERO_COPY_MIN: usize = 16 * 1024;

/// What the `Connection` header of a response says.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Persistence {
    /// HTTP/1.1 default: keep the connection, say nothing.
    KeepAlive,
    /// HTTP/1.0 client that asked for keep-alive: say `Connection: keep-alive`.
    KeepAlive10,
    /// The connection closes after this response: say `Connection: close`.
    Close,
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
}

impl Output {
    pub(crate) fn new(buf: BytesMut) -> Output {
        Output {
            chunks: Vec::new(),
            buf,
            file: None,
        }
    }

    /// Whether nothing is queued.
    pub(crate) fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.buf.is_empty() && self.file.is_none()
    }

    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.buf.len()
    }

    fn push_shared(&mut self, bytes: Bytes) {
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

impl Response {
    /// Writes status line, headers and (unless `head_only` or the status forbids one) the
    /// body into `out`.
    #[inline]
    pub(crate) fn write_to(self, out: &mut Output, head_only: bool, persistence: Persistence) {
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
            let reserved = [
                "content-length",
                "date",
                "connection",
                "transfer-encoding",
                "content-type",
            ]
            .iter()
            .any(|r| name.eq_ignore_ascii_case(r));
            if reserved || name.is_empty() || !header_is_safe(name) || !header_is_safe(value) {
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
        let connection: &[u8] = match persistence {
            Persistence::KeepAlive => b"",
            Persistence::KeepAlive10 => b"Connection: keep-alive",
            Persistence::Close => b"Connection: close",
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
