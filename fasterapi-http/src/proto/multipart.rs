//! `multipart/form-data` (RFC 7578 over RFC 2046's multipart syntax), parsed as the bytes
//! arrive: [`Parser::feed`] takes the body in pieces of any size, each byte examined once
//! (the delimiter is searched with `memchr::memmem`), and hands out the parts' heads and
//! data as they complete. Nothing here buffers a part's data: what to keep, and where, is
//! the caller's (`app::form`).
//!
//! The delimiter of a body with boundary `b` is `CRLF--b`; the first one may come without
//! its CRLF (at the body's start), so the parser starts as if a CRLF had been read. The
//! preamble before the first delimiter and the epilogue after the closing `--b--` are
//! ignored, as RFC 2046 says.

use memchr::memmem::Finder;

/// Longest boundary RFC 2046 allows.
const MAX_BOUNDARY: usize = 70;

/// Why a body is not valid multipart (each answered 400 by the form reader).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The line after a delimiter is not `--` (the end) nor a line end.
    BadDelimiterLine,
    /// A part's header section is larger than the limit.
    HeadTooLarge,
    /// A header line of a part has no `:`, or the section is not valid.
    BadHeader,
    /// The body ended before the closing delimiter.
    Truncated,
}

impl Malformed {
    /// A sentence for the client.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Malformed::BadDelimiterLine => {
                "a multipart boundary line is followed by neither a line end nor \"--\""
            }
            Malformed::HeadTooLarge => "a multipart part's header section is too large",
            Malformed::BadHeader => "a multipart part has a malformed header line",
            Malformed::Truncated => "the multipart body ended before its closing boundary",
        }
    }
}

/// A part's header lines, each `(name, value)` as sent.
pub(crate) type HeadLines<'a> = Vec<(&'a [u8], &'a [u8])>;

/// A header value's parameters, `(name, value)`.
pub(crate) type Options = Vec<(Vec<u8>, Vec<u8>)>;

/// What the parser found, in order: a part's head, its data in pieces, its end.
#[derive(Debug)]
pub(crate) enum Event<'a> {
    /// A part begins; its header lines, each `(name, value)` as sent (not yet decoded).
    Head(HeadLines<'a>),
    /// Some of the current part's data.
    Data(&'a [u8]),
    /// The current part ended.
    End,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before the first delimiter: bytes are skipped.
    Preamble,
    /// After a delimiter: `--` ends the body, optional white space and CRLF start a part.
    AfterDelimiter,
    /// After the first `-` of the closing `--`.
    Closing,
    /// After the CR of the delimiter line's end.
    DelimiterCr,
    /// In a part's header section.
    Head,
    /// In a part's data.
    Data,
    /// After the closing delimiter: bytes are skipped.
    Epilogue,
}

/// An incremental `multipart/form-data` parser for one body.
pub(crate) struct Parser {
    /// `\r\n--` and the boundary.
    delimiter: Vec<u8>,
    finder: Finder<'static>,
    state: State,
    /// The bytes at the end of the last piece that may start a delimiter (in the preamble
    /// or in a part's data); fewer than the delimiter's length.
    carry: Vec<u8>,
    /// The header section of the current part, as it arrives.
    head: Vec<u8>,
    /// Largest header section of a part.
    max_head: usize,
}

impl std::fmt::Debug for Parser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parser")
            .field("state", &self.state)
            .finish()
    }
}

impl Parser {
    /// A parser for a body with `boundary` (the parameter of the `Content-Type`), each
    /// part's header section at most `max_head` bytes. `None` if the boundary is empty or
    /// longer than RFC 2046's 70 bytes.
    pub(crate) fn new(boundary: &[u8], max_head: usize) -> Option<Parser> {
        if boundary.is_empty() || boundary.len() > MAX_BOUNDARY {
            return None;
        }
        let delimiter = [b"\r\n--", boundary].concat();
        let finder = Finder::new(&delimiter).into_owned();
        Some(Parser {
            // The body's start counts as a line end, so that a first delimiter without
            // its CRLF is found like the others.
            carry: b"\r\n".to_vec(),
            delimiter,
            finder,
            state: State::Preamble,
            head: Vec::new(),
            max_head,
        })
    }

    /// Whether the closing delimiter was read.
    pub(crate) fn is_done(&self) -> bool {
        self.state == State::Epilogue
    }

    /// The bytes held back at the end of a part's data because they may begin a
    /// delimiter (fewer than the delimiter's length), when the parser is in a part's data;
    /// `None` elsewhere. A caller that puts them back in front of the next input (in the
    /// same order, contiguous with it) calls [`Parser::forget_carry`] and feeds them with it.
    pub(crate) fn data_carry(&self) -> Option<&[u8]> {
        (self.state == State::Data).then_some(&self.carry[..])
    }

    /// Forgets the carried bytes (see [`Parser::data_carry`]): the caller feeds them again.
    pub(crate) fn forget_carry(&mut self) {
        self.carry.clear();
    }

    /// The end of the body: an error unless the closing delimiter came.
    pub(crate) fn finish(&self) -> Result<(), Malformed> {
        if self.is_done() {
            Ok(())
        } else {
            Err(Malformed::Truncated)
        }
    }

    /// Parses the next piece of the body, calling `on` for each event. `on` may stop the
    /// parse with an error of its own (a limit), which is returned as is.
    pub(crate) fn feed<E>(
        &mut self,
        mut input: &[u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<Malformed>,
    {
        while !input.is_empty() {
            input = match self.state {
                State::Preamble | State::Data => self.scan(input, on)?,
                State::AfterDelimiter | State::Closing | State::DelimiterCr => {
                    self.delimiter_line(input)?
                }
                State::Head => self.head_bytes(input, on)?,
                State::Epilogue => &[],
            };
        }
        Ok(())
    }

    /// Looks for the delimiter in data (or preamble) bytes; what precedes it is data.
    /// Returns what is left of `input` after the delimiter (or nothing).
    fn scan<'i, E: From<Malformed>>(
        &mut self,
        input: &'i [u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<&'i [u8], E> {
        let data = self.state == State::Data;
        let len = self.delimiter.len();
        if !self.carry.is_empty() {
            // A delimiter may begin in the carried bytes: look in them and as much of the
            // input as a delimiter starting there could reach (a short copy).
            let take = input.len().min(len);
            let mut joined = std::mem::take(&mut self.carry);
            let carried = joined.len();
            joined.extend_from_slice(&input[..take]);
            if let Some(at) = self.finder.find(&joined) {
                if data && at > 0 {
                    on(Event::Data(&joined[..at]))?;
                }
                self.delimiter_found(on)?;
                return Ok(&input[at + len - carried..]);
            }
            if take == input.len() && take < len {
                // The whole input is in `joined`: keep what may still begin a delimiter.
                let keep = partial_match(&joined, &self.delimiter);
                if data && joined.len() > keep {
                    on(Event::Data(&joined[..joined.len() - keep]))?;
                }
                self.carry = joined;
                self.carry.drain(..self.carry.len() - keep);
                return Ok(&[]);
            }
            // No delimiter begins in the carried bytes: they are data.
            if data {
                on(Event::Data(&joined[..carried]))?;
            }
            joined.clear();
            self.carry = joined;
        }
        match self.finder.find(input) {
            Some(at) => {
                if data && at > 0 {
                    on(Event::Data(&input[..at]))?;
                }
                self.delimiter_found(on)?;
                Ok(&input[at + len..])
            }
            None => {
                let keep = partial_match(input, &self.delimiter);
                if data && input.len() > keep {
                    on(Event::Data(&input[..input.len() - keep]))?;
                }
                self.carry.extend_from_slice(&input[input.len() - keep..]);
                Ok(&[])
            }
        }
    }

    fn delimiter_found<E>(
        &mut self,
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.state == State::Data {
            on(Event::End)?;
        }
        self.state = State::AfterDelimiter;
        Ok(())
    }

    /// The rest of a delimiter's line: `--` (the end), or transport padding and CRLF.
    fn delimiter_line<'i>(&mut self, input: &'i [u8]) -> Result<&'i [u8], Malformed> {
        let mut rest = input;
        while let Some((&b, tail)) = rest.split_first() {
            rest = tail;
            self.state = match (self.state, b) {
                (State::AfterDelimiter, b'-') => State::Closing,
                (State::AfterDelimiter, b' ' | b'\t') => State::AfterDelimiter,
                (State::AfterDelimiter, b'\r') => State::DelimiterCr,
                (State::Closing, b'-') => {
                    self.state = State::Epilogue;
                    return Ok(&[]);
                }
                (State::DelimiterCr, b'\n') => {
                    self.state = State::Head;
                    self.head.clear();
                    return Ok(rest);
                }
                _ => return Err(Malformed::BadDelimiterLine),
            };
        }
        Ok(rest)
    }

    /// Bytes of a part's header section, up to the empty line that ends it.
    fn head_bytes<'i, E: From<Malformed>>(
        &mut self,
        input: &'i [u8],
        on: &mut impl FnMut(Event<'_>) -> Result<(), E>,
    ) -> Result<&'i [u8], E> {
        // The section so far ends in at most 3 bytes of the terminator: look from there.
        let before = self.head.len();
        let from = before.saturating_sub(3);
        let room = self.max_head.saturating_sub(before);
        let take = input.len().min(room.saturating_add(4));
        self.head.extend_from_slice(&input[..take]);
        // An empty section is the line end alone; otherwise it ends at an empty line.
        let end = if self.head.starts_with(b"\r\n") {
            Some(2)
        } else {
            memchr::memmem::find(&self.head[from..], b"\r\n\r\n").map(|i| from + i + 4)
        };
        let Some(end) = end else {
            if self.head.len() > self.max_head {
                return Err(Malformed::HeadTooLarge.into());
            }
            return Ok(&input[take..]);
        };
        if end > self.max_head + 4 {
            return Err(Malformed::HeadTooLarge.into());
        }
        let consumed = end - before;
        let head = std::mem::take(&mut self.head);
        let lines = parse_head(&head[..end]).map_err(E::from)?;
        on(Event::Head(lines))?;
        self.head = head;
        self.state = State::Data;
        Ok(&input[consumed..])
    }
}

/// The header lines of a part's section (which ends in its empty line). Names and values
/// are trimmed of white space; folded lines (obsolete) are refused.
fn parse_head(section: &[u8]) -> Result<HeadLines<'_>, Malformed> {
    let mut lines = Vec::new();
    for line in section.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            continue;
        }
        if line[0] == b' ' || line[0] == b'\t' {
            return Err(Malformed::BadHeader);
        }
        let colon = memchr::memchr(b':', line).ok_or(Malformed::BadHeader)?;
        let name = line[..colon].trim_ascii();
        if name.is_empty() {
            return Err(Malformed::BadHeader);
        }
        lines.push((name, line[colon + 1..].trim_ascii()));
    }
    Ok(lines)
}

/// The length of the longest end of `hay` that is a beginning of `needle` (shorter than
/// the needle): the bytes that may begin a delimiter the next piece completes.
fn partial_match(hay: &[u8], needle: &[u8]) -> usize {
    let most = hay.len().min(needle.len() - 1);
    // Candidates start at a CR, the delimiter's first byte: checked from the earliest.
    let tail = &hay[hay.len() - most..];
    for (i, _) in tail.iter().enumerate().filter(|(_, &b)| b == needle[0]) {
        if needle.starts_with(&tail[i..]) {
            return most - i;
        }
    }
    0
}

/// The parameters of a `Content-Type` or `Content-Disposition` value, as python-multipart
/// reads them: `;`-separated (not inside quotes), names lower-cased, a quoted value
/// unquoted (`\\` and `\"` unescaped); the extended `name*=` forms are ignored (RFC 7578
/// forbids them). Returns the value before the first `;`, lower-cased, and the pairs.
pub(crate) fn parse_options(value: &[u8]) -> (Vec<u8>, Options) {
    let mut segments = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, &b) in value.iter().enumerate() {
        match b {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b';' if !quoted => {
                segments.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    segments.push(&value[start..]);
    let kind = segments[0].trim_ascii().to_ascii_lowercase();
    let mut options = Vec::new();
    for segment in &segments[1..] {
        let (key, val) = match memchr::memchr(b'=', segment) {
            Some(i) => (&segment[..i], &segment[i + 1..]),
            None => (&segment[..], &b""[..]),
        };
        let key = key.trim_ascii().to_ascii_lowercase();
        if key.is_empty() || key.contains(&b'*') {
            continue;
        }
        let val = val.trim_ascii();
        let val = if val.len() >= 2 && val[0] == b'"' && val[val.len() - 1] == b'"' {
            unescape(&val[1..val.len() - 1])
        } else {
            val.to_vec()
        };
        options.push((key, val));
    }
    (kind, options)
}

/// A quoted string's content with `\\` and `\"` unescaped (python-multipart's rule).
fn unescape(quoted: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(quoted.len());
    let mut i = 0;
    while i < quoted.len() {
        if quoted[i] == b'\\' && matches!(quoted.get(i + 1), Some(b'\\' | b'"')) {
            out.push(quoted[i + 1]);
            i += 2;
        } else {
            out.push(quoted[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a body parses to: each part's head lines and data, as owned strings.
    type Parts = Vec<(Vec<(String, String)>, Vec<u8>)>;

    fn parse_in_pieces(body: &[u8], boundary: &str, piece: usize) -> Result<Parts, Malformed> {
        let mut parser = Parser::new(boundary.as_bytes(), 1024).expect("boundary");
        let mut parts: Parts = Vec::new();
        let mut open = false;
        for chunk in body.chunks(piece.max(1)) {
            parser.feed(chunk, &mut |e: Event<'_>| {
                match e {
                    Event::Head(lines) => {
                        assert!(!open, "a part began inside another");
                        open = true;
                        let lines = lines
                            .iter()
                            .map(|(n, v)| {
                                (
                                    String::from_utf8_lossy(n).into_owned(),
                                    String::from_utf8_lossy(v).into_owned(),
                                )
                            })
                            .collect();
                        parts.push((lines, Vec::new()));
                    }
                    Event::Data(d) => {
                        assert!(open && !d.is_empty());
                        parts.last_mut().expect("a part").1.extend_from_slice(d);
                    }
                    Event::End => {
                        assert!(open);
                        open = false;
                    }
                }
                Ok::<(), Malformed>(())
            })?;
        }
        parser.finish()?;
        Ok(parts)
    }

    const BODY: &[u8] = b"preamble\r\n--XyZ\r\n\
        Content-Disposition: form-data; name=\"a\"\r\n\r\n\
        one\r\n--XyZ \t\r\n\
        Content-Disposition: form-data; name=\"f\"; filename=\"x.bin\"\r\n\
        Content-Type: application/octet-stream\r\n\r\n\
        \r\n--Xy\r\n-XyZ\r\r\n\r\n--XyZ--\r\nepilogue";

    #[test]
    fn parts_come_out_the_same_whatever_the_pieces() {
        let whole = parse_in_pieces(BODY, "XyZ", BODY.len()).unwrap();
        assert_eq!(whole.len(), 2);
        assert_eq!(
            whole[0].0,
            [("Content-Disposition".into(), "form-data; name=\"a\"".into())]
        );
        assert_eq!(whole[0].1, b"one");
        assert_eq!(whole[1].0.len(), 2);
        // Near-delimiters inside the data are data.
        assert_eq!(whole[1].1, b"\r\n--Xy\r\n-XyZ\r\r\n");
        for piece in 1..BODY.len() {
            assert_eq!(
                parse_in_pieces(BODY, "XyZ", piece).unwrap(),
                whole,
                "pieces of {piece}"
            );
        }
    }

    #[test]
    fn a_first_delimiter_at_the_start_and_an_empty_head() {
        let body = b"--b\r\n\r\nraw\r\n--b--";
        let parts = parse_in_pieces(body, "b", 3).unwrap();
        assert_eq!(parts, vec![(vec![], b"raw".to_vec())]);
    }

    #[test]
    fn malformed_bodies_are_named() {
        let cases: [(&[u8], Malformed); 5] = [
            (b"--b\r\nname: x\r\n\r\ndata", Malformed::Truncated),
            (b"no delimiter at all", Malformed::Truncated),
            (b"--bX\r\n\r\n\r\n--b--", Malformed::BadDelimiterLine),
            (b"--b\r\nno colon\r\n\r\nx\r\n--b--", Malformed::BadHeader),
            (
                b"--b\r\na: b\r\n folded\r\n\r\nx\r\n--b--",
                Malformed::BadHeader,
            ),
        ];
        for (body, why) in cases {
            for piece in [1, 2, 5, body.len()] {
                assert_eq!(
                    parse_in_pieces(body, "b", piece),
                    Err(why),
                    "{:?}",
                    String::from_utf8_lossy(body)
                );
            }
        }
        let big = [&b"--b\r\nx: "[..], &[b'y'; 2000], b"\r\n\r\nz\r\n--b--"].concat();
        for piece in [1, 7, 100, big.len()] {
            assert_eq!(
                parse_in_pieces(&big, "b", piece),
                Err(Malformed::HeadTooLarge)
            );
        }
        assert!(Parser::new(b"", 10).is_none());
        assert!(Parser::new(&[b'x'; 71], 10).is_none());
    }

    #[test]
    fn options_as_python_multipart_reads_them() {
        let (kind, opts) = parse_options(
            br#"Form-Data; NAME="a;b"; filename="x \"y\" \\z"; filename*=UTF-8''q; bare"#,
        );
        assert_eq!(kind, b"form-data");
        assert_eq!(
            opts,
            vec![
                (b"name".to_vec(), b"a;b".to_vec()),
                (b"filename".to_vec(), br#"x "y" \z"#.to_vec()),
                (b"bare".to_vec(), b"".to_vec()),
            ]
        );
        let (kind, opts) = parse_options(b"multipart/form-data; boundary=----abc");
        assert_eq!(kind, b"multipart/form-data");
        assert_eq!(opts, vec![(b"boundary".to_vec(), b"----abc".to_vec())]);
    }

    #[test]
    fn partial_matches_keep_only_what_may_begin_a_delimiter() {
        assert_eq!(partial_match(b"abc\r\n-", b"\r\n--b"), 3);
        assert_eq!(partial_match(b"abc\r", b"\r\n--b"), 1);
        assert_eq!(partial_match(b"abc\r\nx", b"\r\n--b"), 0);
        assert_eq!(partial_match(b"\r\n--", b"\r\n--b"), 4);
    }
}
