//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally.
//!
//! A chunked body arrives over many reads. [`ChunkedDecoder`] is a state machine fed only
//! the bytes each read adds: it keeps its place in the framing (size line, extension,
//! data, the CRLF after the data, trailer lines) between calls, copies chunk data to the
//! output as it arrives, and consumes every byte it looks at, so the connection drops
//! them and never offers them again. The work for a body is linear in its raw size
//! however it is split: each raw byte is examined once and each body byte copied once.
//! (Decoding again from the body's first byte on each read was quadratic: an 8 MiB body
//! in 1 KiB reads took 8,249 passes that re-copied 34.6 GB.)
//!
//! Syntax: a chunk size is hex digits, with no sign and no whitespace, and overflows past
//! 16 significant digits; an extension is everything from `;` to the line's end, not
//! parsed (no extension means anything here); every line ends in CRLF, and a CR or LF
//! anywhere else is refused; trailer fields are read and discarded.
//!
//! Caps ([`ChunkLimits`]), each refusing the request (the connection then closes):
//! - a size line (digits and extensions, CRLF excluded) is at most [`MAX_LINE`] (4 KiB):
//!   400;
//! - the extensions of one body total at most [`MAX_EXTENSIONS`] (16 KiB, as hyper):
//!   400;
//! - the decoded body is at most `max_body`, checked as each chunk size is read, before
//!   its data arrives: 413;
//! - the trailer section is at most `max_head` bytes (CRLFs included) and `max_headers`
//!   fields, as a head is: 431;
//! - framing overhead: every raw byte that is not chunk data (size lines, extensions,
//!   CRLFs, trailers) counts, and the count may exceed [`OVERHEAD_PER_BYTE`] (5) bytes per
//!   body byte decoded so far by [`OVERHEAD_BASE`] (64 KiB) at most: 400. Five bytes per
//!   byte is what 1-byte chunks cost (`1\r\n` and `\r\n`), so no way of cutting a body
//!   into chunks is refused, only framing padded beyond that (zeros before a size, long
//!   extensions, many trailers), which stops within 64 KiB when the body is small. The
//!   raw body is at most 6 times the decoded one plus 64 KiB. (A tighter ratio, such as
//!   1/8 of the body, would refuse small chunks of large bodies: 16-byte chunks cost
//!   6 framing bytes each, 3/8 of their data.)

use crate::http::response::StatusCode;
use crate::proto::h1::parse::{reject, Reject};

/// Longest chunk-size line: hex digits and extensions, CRLF excluded (hyper's figure).
pub(crate) const MAX_LINE: usize = 4 * 1024;
/// Most extension bytes (from each `;` to its line's end) in one body (hyper's figure).
pub(crate) const MAX_EXTENSIONS: usize = 16 * 1024;
/// Framing bytes allowed beyond [`OVERHEAD_PER_BYTE`] per decoded byte.
pub(crate) const OVERHEAD_BASE: usize = 64 * 1024;
/// Framing bytes allowed per decoded byte: what 1-byte chunks cost.
pub(crate) const OVERHEAD_PER_BYTE: usize = 5;

const MALFORMED: Reject = reject(StatusCode::BAD_REQUEST, "malformed chunked body");
const BARE_LINE_END: Reject = reject(StatusCode::BAD_REQUEST, "bare CR or LF in chunked body");
const OVERFLOW: Reject = reject(StatusCode::BAD_REQUEST, "chunk size overflows");
const LINE_TOO_LONG: Reject = reject(StatusCode::BAD_REQUEST, "chunk size line too long");
const EXTENSIONS_TOO_LONG: Reject = reject(StatusCode::BAD_REQUEST, "chunk extensions too long");
const TOO_MUCH_FRAMING: Reject = reject(
    StatusCode::BAD_REQUEST,
    "chunked framing too large for its body",
);
const BODY_TOO_LARGE: Reject = reject(StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
const TRAILERS_TOO_LARGE: Reject = reject(
    StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
    "trailer section too large",
);

/// The caps of one chunked body (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkLimits {
    /// Decoded bytes at most.
    pub(crate) max_body: usize,
    /// Bytes of a chunk-size line at most, digits and extensions, CRLF excluded.
    pub(crate) max_line: usize,
    /// Extension bytes in the whole body at most.
    pub(crate) max_extensions: usize,
    /// Bytes of the trailer section at most, CRLFs included.
    pub(crate) max_trailer: usize,
    /// Trailer fields at most.
    pub(crate) max_trailer_fields: usize,
    /// Framing bytes allowed beyond [`OVERHEAD_PER_BYTE`] per decoded byte.
    pub(crate) overhead_base: usize,
}

impl ChunkLimits {
    /// The server's caps for a body of at most `max_body` bytes, with trailers held to the
    /// head's limits.
    pub(crate) const fn new(max_body: usize, max_head: usize, max_headers: usize) -> ChunkLimits {
        ChunkLimits {
            max_body,
            max_line: MAX_LINE,
            max_extensions: MAX_EXTENSIONS,
            max_trailer: max_head,
            max_trailer_fields: max_headers,
            overhead_base: OVERHEAD_BASE,
        }
    }
}

/// Where the decoder is in the framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// At the start of a size line: a hex digit must come.
    SizeStart,
    /// In the size's hex digits.
    Size,
    /// After `;`, up to the line's CR.
    Extension,
    /// The size line's CR was read: LF must come.
    SizeLf,
    /// In a chunk's data, `left` bytes to go.
    Data,
    /// After a chunk's data: CR must come.
    DataCr,
    /// LF must come, then the next size line.
    DataLf,
    /// In a trailer line (or at the start of one, or of the final empty line).
    Trailer,
    /// A trailer line's CR was read: LF must come.
    TrailerLf,
    /// The final empty line was read: the body is complete.
    Done,
}

/// The state of one chunked body's decoding, kept between reads.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    state: State,
    /// The chunk size read so far.
    size: u64,
    /// Data bytes of the current chunk still to come.
    left: usize,
    /// Bytes of the current size line or trailer line so far.
    line: usize,
    /// Extension bytes of this body so far.
    extensions: usize,
    /// Bytes of the trailer section so far.
    trailer: usize,
    /// Trailer fields so far.
    fields: usize,
    /// Raw bytes that were not chunk data.
    framing: usize,
    /// Chunk data bytes (the decoded body's length).
    decoded: usize,
    /// Raw bytes consumed, framing and data.
    raw: usize,
}

impl Default for ChunkedDecoder {
    fn default() -> ChunkedDecoder {
        ChunkedDecoder::new()
    }
}

impl ChunkedDecoder {
    /// A decoder at the start of a body.
    pub(crate) const fn new() -> ChunkedDecoder {
        ChunkedDecoder {
            state: State::SizeStart,
            size: 0,
            left: 0,
            line: 0,
            extensions: 0,
            trailer: 0,
            fields: 0,
            framing: 0,
            decoded: 0,
            raw: 0,
        }
    }

    /// Raw bytes consumed so far: 0 until the body's first byte.
    pub(crate) fn raw(&self) -> usize {
        self.raw
    }

    /// Bytes of body decoded so far.
    #[cfg(any(test, feature = "harness"))]
    pub(crate) fn decoded(&self) -> usize {
        self.decoded
    }

    /// Decodes `input`, the bytes that follow those of earlier calls, appending chunk data
    /// to `out`.
    ///
    /// `Ok(None)`: the body is not complete and all of `input` was consumed (offer only
    /// new bytes next time). `Ok(Some(n))`: the body ended after `n` bytes of `input`
    /// (the last chunk and the trailer section are in); the rest is the next request.
    /// An error is the answer to send before closing.
    pub(crate) fn decode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        limits: &ChunkLimits,
    ) -> Result<Option<usize>, Reject> {
        #[cfg(test)]
        work::offered(input.len());
        if self.state == State::Done {
            return Ok(Some(0));
        }
        let mut i = 0;
        while i < input.len() {
            if self.state == State::Data {
                let n = self.left.min(input.len() - i);
                out.extend_from_slice(&input[i..i + n]);
                #[cfg(test)]
                work::copied(n);
                i += n;
                self.left -= n;
                self.decoded += n;
                if self.left == 0 {
                    self.state = State::DataCr;
                }
                continue;
            }
            let b = input[i];
            i += 1;
            self.framing += 1;
            if self.framing > limits.overhead_base
                && self.framing - limits.overhead_base
                    > self.decoded.saturating_mul(OVERHEAD_PER_BYTE)
            {
                return Err(TOO_MUCH_FRAMING);
            }
            match self.state {
                State::SizeStart => {
                    self.size = u64::from(hex_value(b).ok_or(MALFORMED)?);
                    self.line = 1;
                    self.state = State::Size;
                }
                State::Size => {
                    if b != b'\r' {
                        self.line += 1;
                        if self.line > limits.max_line {
                            return Err(LINE_TOO_LONG);
                        }
                    }
                    if let Some(digit) = hex_value(b) {
                        if self.size >> 60 != 0 {
                            return Err(OVERFLOW);
                        }
                        self.size = self.size << 4 | u64::from(digit);
                        continue;
                    }
                    // The digits are done: refuse a chunk over the limit before its data.
                    let room = limits.max_body - self.decoded;
                    if self.size > room as u64 {
                        return Err(BODY_TOO_LARGE);
                    }
                    self.state = match b {
                        b';' => {
                            self.extensions += 1;
                            if self.extensions > limits.max_extensions {
                                return Err(EXTENSIONS_TOO_LONG);
                            }
                            State::Extension
                        }
                        b'\r' => State::SizeLf,
                        b'\n' => return Err(BARE_LINE_END),
                        _ => return Err(MALFORMED),
                    };
                }
                State::Extension => match b {
                    b'\r' => self.state = State::SizeLf,
                    b'\n' => return Err(BARE_LINE_END),
                    _ => {
                        self.line += 1;
                        self.extensions += 1;
                        if self.line > limits.max_line {
                            return Err(LINE_TOO_LONG);
                        }
                        if self.extensions > limits.max_extensions {
                            return Err(EXTENSIONS_TOO_LONG);
                        }
                    }
                },
                State::SizeLf => {
                    if b != b'\n' {
                        return Err(BARE_LINE_END);
                    }
                    self.line = 0;
                    if self.size == 0 {
                        self.state = State::Trailer;
                    } else {
                        // At most `max_body`, checked above: fits in usize.
                        self.left = self.size as usize;
                        self.state = State::Data;
                    }
                }
                State::Data => unreachable!("data is copied above"),
                State::DataCr => {
                    if b != b'\r' {
                        return Err(MALFORMED);
                    }
                    self.state = State::DataLf;
                }
                State::DataLf => {
                    if b != b'\n' {
                        return Err(BARE_LINE_END);
                    }
                    self.state = State::SizeStart;
                }
                State::Trailer => {
                    self.trailer += 1;
                    if self.trailer > limits.max_trailer {
                        return Err(TRAILERS_TOO_LARGE);
                    }
                    match b {
                        b'\r' => self.state = State::TrailerLf,
                        b'\n' => return Err(BARE_LINE_END),
                        _ => self.line += 1,
                    }
                }
                State::TrailerLf => {
                    self.trailer += 1;
                    if self.trailer > limits.max_trailer {
                        return Err(TRAILERS_TOO_LARGE);
                    }
                    if b != b'\n' {
                        return Err(BARE_LINE_END);
                    }
                    if self.line == 0 {
                        self.state = State::Done;
                        self.raw += i;
                        return Ok(Some(i));
                    }
                    self.fields += 1;
                    if self.fields > limits.max_trailer_fields {
                        return Err(TRAILERS_TOO_LARGE);
                    }
                    self.line = 0;
                    self.state = State::Trailer;
                }
                State::Done => unreachable!("returned above"),
            }
        }
        self.raw += i;
        Ok(None)
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Counters of the decoder's work on this thread, for the tests that prove it linear.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static CALLS: Cell<u64> = const { Cell::new(0) };
        static OFFERED: Cell<u64> = const { Cell::new(0) };
        static COPIED: Cell<u64> = const { Cell::new(0) };
    }

    pub(super) fn offered(n: usize) {
        CALLS.set(CALLS.get() + 1);
        OFFERED.set(OFFERED.get() + n as u64);
    }

    pub(super) fn copied(n: usize) {
        COPIED.set(COPIED.get() + n as u64);
    }

    /// Decode calls, raw bytes offered to them, body bytes copied, since the last reset.
    pub(crate) fn take() -> (u64, u64, u64) {
        (CALLS.take(), OFFERED.take(), COPIED.take())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Caps small enough to reach with short inputs.
    const SMALL: ChunkLimits = ChunkLimits {
        max_body: 100,
        max_line: 16,
        max_extensions: 24,
        max_trailer: 40,
        max_trailer_fields: 2,
        overhead_base: 256,
    };

    fn decode(input: &[u8], limits: &ChunkLimits) -> (Result<Option<usize>, Reject>, Vec<u8>) {
        let mut out = Vec::new();
        let r = ChunkedDecoder::new().decode(input, &mut out, limits);
        (r, out)
    }

    /// The status a body is refused with, or 0.
    fn status(input: &[u8], limits: &ChunkLimits) -> u16 {
        decode(input, limits)
            .0
            .err()
            .map_or(0, |r| r.status.as_u16())
    }

    const SAMPLE: &[u8] =
        b"4\r\nWiki\r\n5;ext=1;q=\"a b\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0;last\r\nX-Trailer: 1\r\nY: 2\r\n\r\nNEXT";

    #[test]
    fn decodes_a_whole_body_and_stops_at_its_end() {
        let (r, out) = decode(SAMPLE, &SMALL);
        assert_eq!(r, Ok(Some(SAMPLE.len() - 4)));
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        let (r, out) = decode(b"0\r\n\r\n", &SMALL);
        assert_eq!((r, out.len()), (Ok(Some(5)), 0));
        // Upper- and lowercase hex, leading zeros.
        let (r, out) = decode(
            b"000A\r\n0123456789\r\n0a\r\n0123456789\r\n0\r\n\r\n",
            &SMALL,
        );
        assert_eq!((r, out.len()), (Ok(Some(39)), 20));
    }

    #[test]
    fn every_split_point_gives_the_same_result() {
        let end = SAMPLE.len() - 4;
        for cut in 0..=SAMPLE.len() {
            let mut d = ChunkedDecoder::new();
            let mut out = Vec::new();
            let first = d.decode(&SAMPLE[..cut], &mut out, &SMALL).unwrap();
            let total = match first {
                Some(n) => {
                    assert!(cut >= end, "done after {n} of {cut}");
                    n
                }
                None => {
                    assert!(cut < end, "not done at {cut}");
                    assert_eq!(d.raw(), cut, "an incomplete body consumes all it gets");
                    cut + d.decode(&SAMPLE[cut..], &mut out, &SMALL).unwrap().unwrap()
                }
            };
            assert_eq!(total, end, "cut at {cut}");
            assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.", "cut at {cut}");
        }
        // One byte at a time.
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        for i in 0..end - 1 {
            assert_eq!(d.decode(&SAMPLE[i..=i], &mut out, &SMALL), Ok(None));
        }
        assert_eq!(d.decode(&SAMPLE[end - 1..], &mut out, &SMALL), Ok(Some(1)));
        assert_eq!(out, b"Wikipedia in\r\n\r\nchunks.");
        assert_eq!((d.raw(), d.decoded()), (end, out.len()));
    }

    #[test]
    fn malformed_framing_is_400() {
        for bad in [
            &b"x\r\n"[..],
            b"\r\n",
            b" 4\r\nWiki\r\n0\r\n\r\n",
            b"+4\r\nWiki\r\n0\r\n\r\n",
            b"-1\r\n",
            b"4 \r\nWiki\r\n0\r\n\r\n",
            b"4 ;a\r\nWiki\r\n0\r\n\r\n",
            b"4\nWiki\r\n0\r\n\r\n",
            b"4\rWiki\r\n0\r\n\r\n",
            b"4;a\nWiki\r\n0\r\n\r\n",
            b"4;a\rb\r\nWiki\r\n0\r\n\r\n",
            b"4\r\nWikiXX0\r\n\r\n",
            b"4\r\nWiki\n0\r\n\r\n",
            b"4\r\nWiki\r0\r\n\r\n",
            b"0\r\nX: 1\n\r\n",
            b"0\r\nX: 1\r\r\n",
            b"0\r\n\n",
            b"0x4\r\nWiki\r\n0\r\n\r\n",
        ] {
            assert_eq!(
                status(bad, &SMALL),
                400,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn sizes_overflow_at_the_seventeenth_significant_digit() {
        let huge = ChunkLimits {
            max_body: usize::MAX,
            max_line: 4096,
            ..SMALL
        };
        let (r, _) = decode(b"fffffffffffffffff\r\n", &huge);
        assert_eq!(r, Err(OVERFLOW));
        let (r, _) = decode(b"10000000000000000\r\n", &huge);
        assert_eq!(r, Err(OVERFLOW));
        // Sixteen digits fit; zeros in front are not significant.
        assert_eq!(decode(b"ffffffffffffffff\r\n", &huge).0, Ok(None));
        assert_eq!(decode(b"00000ffffffffffffffff\r\n", &huge).0, Ok(None));
        // Within the line cap, over the body cap: 413, not an overflow.
        assert_eq!(
            decode(b"ffffffffffffffff\r\n", &SMALL).0,
            Err(BODY_TOO_LARGE)
        );
    }

    #[test]
    fn the_body_cap_is_checked_at_each_size_before_the_data() {
        // Exactly max_body (100) passes, in one chunk or two.
        let mut ok = b"64\r\n".to_vec();
        ok.extend_from_slice(&[b'a'; 100]);
        ok.extend_from_slice(b"\r\n0\r\n\r\n");
        assert_eq!(decode(&ok, &SMALL).0, Ok(Some(ok.len())));
        // One more byte is refused when its size line is read: no data needed.
        assert_eq!(status(b"65\r\n", &SMALL), 413);
        assert_eq!(status(b"65;ext", &SMALL), 413);
        let mut two = b"60\r\n".to_vec();
        two.extend_from_slice(&[b'a'; 96]);
        two.extend_from_slice(b"\r\n5\r\n");
        assert_eq!(status(&two, &SMALL), 413);
    }

    #[test]
    fn a_size_line_is_capped_digits_and_extensions_together() {
        // 16 bytes (max_line) pass, 17 do not.
        assert_eq!(decode(b"0000000000000001\r\n", &SMALL).0, Ok(None));
        assert_eq!(decode(b"1;abcdefghijklmn\r\n", &SMALL).0, Ok(None));
        assert_eq!(
            decode(b"00000000000000001\r\n", &SMALL).0,
            Err(LINE_TOO_LONG)
        );
        assert_eq!(
            decode(b"1;abcdefghijklmno\r\n", &SMALL).0,
            Err(LINE_TOO_LONG)
        );
        // Refused as soon as the line is too long, without waiting for its end.
        assert_eq!(decode(&[b'0'; 17], &SMALL).0, Err(LINE_TOO_LONG));
    }

    #[test]
    fn extensions_are_capped_per_body() {
        // Three lines of ";abcdefg" (8 bytes each, `;` counted) make 24 bytes: the cap.
        let line = b"1;abcdefg\r\nx\r\n";
        let mut body = line.repeat(3);
        body.extend_from_slice(b"0\r\n\r\n");
        assert_eq!(decode(&body, &SMALL).0, Ok(Some(body.len())));
        let mut over = line.repeat(3);
        over.extend_from_slice(b"0;\r\n\r\n");
        assert_eq!(decode(&over, &SMALL).0, Err(EXTENSIONS_TOO_LONG));
        // The server's caps: 16 KiB of extensions in lines of up to 4 KiB.
        let server = ChunkLimits::new(1 << 20, 16 * 1024, 64);
        let flood = format!("1;{}\r\nx\r\n", "e".repeat(1000)).repeat(17);
        let (r, out) = decode(flood.as_bytes(), &server);
        assert_eq!(r, Err(EXTENSIONS_TOO_LONG));
        assert_eq!(out.len(), 16, "refused in the 17th line");
    }

    #[test]
    fn trailers_are_capped_in_bytes_and_fields() {
        // 40 bytes in all, the final CRLF included, pass.
        let ok = b"0\r\nA: 12345678901234\r\nB: 12345678901234\r\n\r\n";
        assert_eq!(decode(ok, &SMALL).0, Ok(Some(ok.len())));
        let long = b"0\r\nA: 12345678901234\r\nB: 123456789012345\r\n\r\n";
        assert_eq!(decode(long, &SMALL).0, Err(TRAILERS_TOO_LARGE));
        assert_eq!(status(b"0\r\nA: 1\r\nB: 1\r\nC: 1\r\n\r\n", &SMALL), 431);
        assert_eq!(status(b"0\r\nA: 1\r\nB: 1\r\n\r\n", &SMALL), 0);
        // Refused without waiting for the section's end.
        assert_eq!(
            status(&[b"0\r\n".as_slice(), &[b'a'; 41]].concat(), &SMALL),
            431
        );
    }

    #[test]
    fn framing_overhead_is_capped_relative_to_the_body() {
        let limits = ChunkLimits {
            max_body: 1 << 20,
            max_line: 4096,
            ..SMALL
        };
        // 1-byte chunks cost 5 framing bytes per body byte: the allowance, however many.
        let mut tiny = b"1\r\nx\r\n".repeat(5000);
        tiny.extend_from_slice(b"0\r\n\r\n");
        let (r, out) = decode(&tiny, &limits);
        assert_eq!((r, out.len()), (Ok(Some(tiny.len())), 5000));
        // One zero more per chunk is one byte over for each: the base (256) is gone in
        // the size line of chunk 254 (6 * 253 + 4 framing bytes for 253 body bytes).
        let padded = b"01\r\nx\r\n".repeat(300);
        let (r, out) = decode(&padded, &limits);
        assert_eq!((r, out.len()), (Err(TOO_MUCH_FRAMING), 253));
        // A size padded beyond the base, with nothing decoded yet.
        let zeros = format!("{}1\r\nx\r\n", "0".repeat(300));
        assert_eq!(decode(zeros.as_bytes(), &limits).0, Err(TOO_MUCH_FRAMING));
        // The same padding after a body that earned the room.
        let mut earned = format!("40\r\n{}\r\n", "x".repeat(64)).into_bytes();
        earned.extend_from_slice(zeros.as_bytes());
        assert_eq!(decode(&earned, &limits).0, Ok(None));
        // Trailers count too.
        let trailers = format!("0\r\n{}", "X: 1\r\n".repeat(60));
        let lots = ChunkLimits {
            max_trailer: 4096,
            max_trailer_fields: 100,
            ..limits
        };
        assert_eq!(decode(trailers.as_bytes(), &lots).0, Err(TOO_MUCH_FRAMING));
        // The server's caps take 64 KiB in 1-byte chunks, and stop padding at 64 KiB.
        let server = ChunkLimits::new(1 << 20, 16 * 1024, 64);
        let mut tiny = b"1\r\nx\r\n".repeat(64 * 1024);
        tiny.extend_from_slice(b"0\r\n\r\n");
        let (r, out) = decode(&tiny, &server);
        assert_eq!((r, out.len()), (Ok(Some(tiny.len())), 64 * 1024));
        let flood = format!("{}1\r\nx\r\n", "0".repeat(4000)).repeat(20);
        let mut d = ChunkedDecoder::new();
        let r = d.decode(flood.as_bytes(), &mut Vec::new(), &server);
        assert_eq!(r, Err(TOO_MUCH_FRAMING));
        assert!(d.framing <= OVERHEAD_BASE + 5 * 16 + 1, "{}", d.framing);
    }

    #[test]
    fn a_finished_decoder_consumes_nothing_more() {
        let mut d = ChunkedDecoder::new();
        let mut out = Vec::new();
        assert_eq!(
            d.decode(b"1\r\na\r\n0\r\n\r\nGET", &mut out, &SMALL),
            Ok(Some(11))
        );
        assert_eq!(d.decode(b"GET", &mut out, &SMALL), Ok(Some(0)));
        assert_eq!(out, b"a");
    }

    use crate::proto::h1::testing::Rng;

    /// The fuzz target's property (`fuzz/fuzz_targets/chunked_splits.rs`) over generated
    /// bodies: well-formed ones with random chunk sizes, extensions and trailers, some cut
    /// short and some with a few bytes changed, each fed whole and in random pieces.
    #[test]
    fn split_decoding_equals_one_shot_on_generated_bodies() {
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        let mut outcomes = [0usize; 3];
        for _ in 0..30_000 {
            let mut body = Vec::new();
            for _ in 0..rng.below(6) {
                let size = rng.below(40);
                let digits = format!("{size:x}");
                body.extend_from_slice(&b"0".repeat(rng.below(3)));
                body.extend_from_slice(if rng.below(2) == 0 {
                    digits.as_bytes()
                } else {
                    digits.to_uppercase().leak().as_bytes()
                });
                for _ in 0..rng.below(3) {
                    body.extend_from_slice(b";name=");
                    body.extend_from_slice(&b"v".repeat(rng.below(20)));
                }
                body.extend_from_slice(b"\r\n");
                body.extend((0..size).map(|_| rng.next() as u8));
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"0\r\n");
            for _ in 0..rng.below(4) {
                body.extend_from_slice(b"X-T: ");
                body.extend_from_slice(&b"t".repeat(rng.below(40)));
                body.extend_from_slice(b"\r\n");
            }
            body.extend_from_slice(b"\r\n");
            body.extend_from_slice(&b"GET / HTTP/1.1\r\n"[..rng.below(17)]);
            match rng.below(4) {
                0 => body.truncate(rng.below(body.len())),
                1 => {
                    for _ in 0..1 + rng.below(3) {
                        let at = rng.below(body.len());
                        body[at] = b"\r\n;0aF \x00"[rng.below(8)];
                    }
                }
                _ => {}
            }
            let splits: Vec<u8> = (0..rng.below(12)).map(|_| rng.below(24) as u8).collect();
            crate::fuzzing::chunked_splits(&body, &splits);
            let (r, _) = decode(&body, &ChunkLimits::new(64 * 1024, 4096, 32));
            outcomes[match r {
                Ok(Some(_)) => 0,
                Ok(None) => 1,
                Err(_) => 2,
            }] += 1;
        }
        // The generator must reach complete, incomplete and refused bodies alike.
        assert!(outcomes.iter().all(|&n| n > 1000), "{outcomes:?}");
    }
}
