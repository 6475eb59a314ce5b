//! A fast path for the common request head, in front of httparse.
//!
//! Nearly every request a server sees is a plain one: `METHOD SP target SP HTTP/1.x CRLF`,
//! a few `name: value CRLF` fields and a final CRLF, all in the buffer at once. [`scan`]
//! accepts exactly such a head, in a strict subset of the grammar httparse accepts, and
//! gives the same result httparse would. Anything else (a partial head, bare LF line
//! endings, leading empty lines, obsolete line folding, non-ASCII in the request target,
//! a byte httparse would refuse, more fields than slots) makes it return `None`, and the
//! caller runs httparse, which then decides: the scanner never rejects a request itself.
//!
//! It pays in instructions: httparse was ~940 of the ~2,570 instructions the server spent
//! per /plaintext request (callgrind, a three-field head); with the scanner in front the
//! whole request took ~2,200. Its loops are a table lookup per byte for the method and
//! field names, and eight bytes per step for the target and field values. The
//! differential test below and the fuzz target `parse_head` check the "same result" claim
//! against httparse itself.

use std::mem::MaybeUninit;

use httparse::Header;

/// A head the scanner accepted, as httparse would have returned it.
pub(crate) struct Scanned<'b> {
    /// Bytes of the head, final CRLF included.
    pub(crate) len: usize,
    pub(crate) method: &'b str,
    pub(crate) target: &'b str,
    /// Where the first `?` of the target is, if any.
    pub(crate) query_at: Option<usize>,
    pub(crate) minor_version: u8,
    /// How many of the slots hold the header fields, in order.
    pub(crate) headers: usize,
}

/// httparse's `tchar` set (header names and methods).
static TOKEN: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        t[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    t
};

/// Whether `b` is a `tchar` (RFC 9110 §5.6.2), as httparse takes them.
#[inline]
pub(crate) fn is_token(b: u8) -> bool {
    TOKEN[usize::from(b)]
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The high bit set in each byte `b` of `x` with `m < b < n` (`m`, `n` <= 128), and clear
/// in every other byte ("Bit Twiddling Hacks" hasbetween). Each byte is computed alone:
/// no carry or borrow crosses a byte (127 + n - low <= 255, low + 127 - m <= 254), so
/// every flag is exact, not only the lowest.
#[inline]
fn between(x: u64, m: u8, n: u8) -> u64 {
    let low = x & (ONES * 0x7F);
    (ONES * (127 + u64::from(n))).wrapping_sub(low)
        & !x
        & low.wrapping_add(ONES * (127 - u64::from(m)))
        & HIGH
}

/// Where the request target starting at `i` ends (the first byte outside `!`..=`~`), and
/// where its first `?` is. Eight bytes a step.
#[inline]
fn target_end(buf: &[u8], mut i: usize) -> (usize, Option<usize>) {
    let mut question = None;
    while let Some(w) = word_at(buf, i) {
        let visible = between(w, b' ', 0x7F);
        let stop = match question {
            None => !(visible & !between(w, b'>', b'@')) & HIGH, // `?` stops too
            Some(_) => !visible & HIGH,
        };
        if stop == 0 {
            i += 8;
            continue;
        }
        i += (stop.trailing_zeros() / 8) as usize;
        if buf[i] == b'?' {
            question = Some(i);
            i += 1;
            continue;
        }
        return (i, question);
    }
    while i < buf.len() && is_target_byte(buf[i]) {
        if buf[i] == b'?' && question.is_none() {
            question = Some(i);
        }
        i += 1;
    }
    (i, question)
}

/// Visible ASCII: the request-target bytes the scanner takes (httparse also takes
/// non-ASCII there, which it then checks as UTF-8; the scanner leaves those to it).
const fn is_target_byte(b: u8) -> bool {
    matches!(b, b'!'..=b'~')
}

/// The eight bytes at `buf[i..]` as one little-endian word, if there are eight.
#[inline]
fn word_at(buf: &[u8], i: usize) -> Option<u64> {
    let mut bytes = [0; 8];
    bytes.copy_from_slice(buf.get(i..i + 8)?);
    Some(u64::from_le_bytes(bytes))
}

/// The index of the first of the eight bytes of `w` (little-endian) that is not a plain
/// field-value byte (SP..=`~`, 0x80..=0xFF): a control byte (CR ends every value; HTAB is
/// also reported, and the caller steps over it) or DEL. 8 when there is none.
#[inline]
fn first_special(w: u64) -> usize {
    // "Bit Twiddling Hacks" hasless(w, 0x20) and haszero(w ^ 0x7F..): a borrow can flag
    // bytes above a flagged one, never below it, so the lowest flag is exact. `!w` keeps
    // bytes with the high bit set (obs-text, accepted) from being flagged.
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let x = w ^ (ONES * 0x7F);
    let del = x.wrapping_sub(ONES) & !x & HIGH;
    ((below_space | del).trailing_zeros() / 8) as usize
}

/// Scans the head at the start of `buf`, writing its fields into `slots`. `None` means
/// "not the common case": ask httparse.
#[inline]
pub(crate) fn scan<'b>(
    buf: &'b [u8],
    slots: &mut [MaybeUninit<Header<'b>>],
) -> Option<Scanned<'b>> {
    let mut i = 0;
    // Method: one or more uppercase letters (a subset of tchar), then SP.
    while i < buf.len() && buf[i].is_ascii_uppercase() {
        i += 1;
    }
    if i == 0 || buf.get(i) != Some(&b' ') {
        return None;
    }
    let method = ascii(&buf[..i]);
    i += 1;
    let target_start = i;
    let (end, question) = target_end(buf, i);
    i = end;
    if i == target_start || buf.get(i) != Some(&b' ') {
        return None;
    }
    let target = ascii(&buf[target_start..i]);
    let query_at = question.map(|q| q - target_start);
    i += 1;
    // "HTTP/1.x" as one word, then CRLF.
    let minor_version = match word_at(buf, i)? {
        w if w == u64::from_le_bytes(*b"HTTP/1.1") => 1,
        w if w == u64::from_le_bytes(*b"HTTP/1.0") => 0,
        _ => return None,
    };
    if buf.get(i + 8..i + 10)? != b"\r\n" {
        return None;
    }
    i += 10;

    let mut count = 0;
    loop {
        if buf.get(i) == Some(&b'\r') {
            if buf.get(i + 1) != Some(&b'\n') {
                return None;
            }
            return Some(Scanned {
                len: i + 2,
                method,
                target,
                query_at,
                minor_version,
                headers: count,
            });
        }
        let name_start = i;
        while i < buf.len() && TOKEN[usize::from(buf[i])] {
            i += 1;
        }
        if i == name_start || buf.get(i) != Some(&b':') {
            // Also a line starting with whitespace (obsolete folding) or a bare `\n`.
            return None;
        }
        let name = ascii(&buf[name_start..i]);
        i += 1;
        while matches!(buf.get(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        let value_start = i;
        // Eight bytes a step up to the first control byte (or DEL); HTAB is stepped over.
        loop {
            let at = match word_at(buf, i) {
                Some(w) => first_special(w),
                // Fewer than eight bytes left: the buffer's last word, shifted so that it
                // starts at `i`. The zero bytes shifted in count as special, so a value
                // running to the end of the buffer stops there.
                None if buf.len() >= 8 && i < buf.len() => {
                    let base = buf.len() - 8;
                    word_at(buf, base).map_or(0, |w| first_special(w >> (8 * (i - base))))
                }
                None => {
                    while matches!(buf.get(i), Some(&b) if b == b'\t' || (b >= b' ' && b != 0x7F)) {
                        i += 1;
                    }
                    break;
                }
            };
            i += at;
            if at < 8 {
                if buf.get(i) != Some(&b'\t') {
                    break;
                }
                i += 1;
            }
        }
        if buf.get(i) != Some(&b'\r') || buf.get(i + 1) != Some(&b'\n') {
            return None;
        }
        let mut value = &buf[value_start..i];
        if matches!(value.last(), Some(b' ' | b'\t')) {
            // httparse drops trailing whitespace from values.
            let end = value.iter().rposition(|&b| b != b' ' && b != b'\t');
            value = &value[..end.map_or(0, |e| e + 1)];
        }
        i += 2;
        slots.get_mut(count)?.write(Header { name, value });
        count += 1;
    }
}

/// `bytes` as `&str`. Every caller passes bytes it checked to be ASCII.
#[inline]
fn ascii(bytes: &[u8]) -> &str {
    debug_assert!(bytes.is_ascii());
    // SAFETY: the callers pass only bytes their loops checked against ASCII classes
    // (uppercase letters, `!`..=`~`, tchar), and ASCII is valid UTF-8. Checking again with
    // `str::from_utf8` measured 540 more instructions per request (callgrind, /plaintext
    // with three fields, 1 connection: 2,297 -> 2,837): it runs once per name and target.
    unsafe { std::str::from_utf8_unchecked(bytes) }
}

/// A head as owned values, to compare the two parsers' answers.
#[cfg(any(test, feature = "harness"))]
type Parsed = (usize, String, String, u8, Vec<(String, Vec<u8>)>);

#[cfg(any(test, feature = "harness"))]
fn scan_owned(buf: &[u8]) -> Option<Parsed> {
    let mut slots = [const { MaybeUninit::<Header<'_>>::uninit() }; 16];
    let s = scan(buf, &mut slots)?;
    assert_eq!(
        s.query_at,
        s.target.find('?'),
        "query position in {:?}",
        s.target
    );
    let headers = slots[..s.headers]
        .iter()
        // SAFETY: `scan` wrote the first `s.headers` slots.
        .map(|h| unsafe { h.assume_init_ref() })
        .map(|h| (h.name.to_owned(), h.value.to_owned()))
        .collect();
    Some((
        s.len,
        s.method.into(),
        s.target.into(),
        s.minor_version,
        headers,
    ))
}

#[cfg(any(test, feature = "harness"))]
fn httparse_owned(buf: &[u8]) -> Option<Parsed> {
    let mut headers = [httparse::EMPTY_HEADER; 16];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => Some((
            len,
            req.method?.into(),
            req.path?.into(),
            req.version?,
            req.headers
                .iter()
                .map(|h| (h.name.to_owned(), h.value.to_owned()))
                .collect(),
        )),
        _ => None,
    }
}

/// Whether `buf` took the fast path; panics if the scanner's answer differs from
/// httparse's (for the differential tests and the `parse_head` fuzz target).
#[cfg(any(test, feature = "harness"))]
pub(crate) fn check_against_httparse(buf: &[u8]) -> bool {
    let Some(ours) = scan_owned(buf) else {
        return false;
    };
    assert_eq!(
        httparse_owned(buf).as_ref(),
        Some(&ours),
        "scanner and httparse disagree on {:?}",
        String::from_utf8_lossy(buf)
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_requests_take_the_fast_path() {
        let wrk = b"GET /plaintext HTTP/1.1\r\nHost: localhost:8080\r\n\r\n";
        let (len, method, target, v, headers) = scan_owned(wrk).expect("fast path");
        assert_eq!(
            (len, &*method, &*target, v),
            (wrk.len(), "GET", "/plaintext", 1)
        );
        assert_eq!(headers, vec![("Host".into(), b"localhost:8080".to_vec())]);
        assert!(check_against_httparse(wrk));

        let post =
            b"POST /echo?x=1 HTTP/1.0\r\nContent-Length: 3\r\nX-A:\t v a \t\r\nEmpty:\r\n\r\nabc";
        let (len, _, target, v, headers) = scan_owned(post).expect("fast path");
        assert_eq!((len, &*target, v), (post.len() - 3, "/echo?x=1", 0));
        assert_eq!(headers[1].1, b"v a");
        assert_eq!(headers[2].1, b"");
        assert!(check_against_httparse(post));

        // Short values at the very end of the buffer (read as its last word, shifted).
        for head in [
            &b"GET / HTTP/1.1\r\nA: x\t\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nA: \t\tx\r\n\r\n",
            b"GET / HTTP/1.1\r\nA:\r\n\r\n",
            b"GET / HTTP/1.1\r\nA: \xff\r\n\r\n",
        ] {
            assert!(
                check_against_httparse(head),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn unusual_heads_are_left_to_httparse() {
        for head in [
            &b"GET / HTTP/1.1\r\nHost: a\r\n"[..],                // partial
            b"GET / HTTP/1.1\r\nHost: a\tb",                      // partial, in a value
            b"GET / HTTP/1.1\r\nHost: abcdefghijk",               // partial, long value
            b"GET / HTTP/1.1\nHost: a\n\n",                       // bare LF
            b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",             // leading empty line
            b"GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",              // obsolete folding
            b"GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",         // non-ASCII target
            b"get / HTTP/1.1\r\nHost: a\r\n\r\n",                 // lowercase method
            b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",                 // other version
            b"GET / HTTP/1.1\r\nA b: c\r\n\r\n",                  // bad name
            b"GET / HTTP/1.1\r\nA: b\x7fc\r\n\r\n",               // DEL in value
            b"GET / HTTP/1.1\r\nA: 0123456789\x01abcdef\r\n\r\n", // CTL in value
        ] {
            assert!(
                scan_owned(head).is_none(),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
        // More fields than slots.
        let mut many = b"GET / HTTP/1.1\r\n".to_vec();
        for i in 0..17 {
            many.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
        }
        many.extend_from_slice(b"\r\n");
        assert!(scan_owned(&many).is_none());
    }

    use crate::proto::h1::testing::Rng;

    #[test]
    fn agrees_with_httparse_on_generated_heads() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let pieces: &[&[u8]] = &[
            b"GET",
            b"POST",
            b"X",
            b" ",
            b"  ",
            b"/",
            b"/a?b=c",
            b"*",
            b"HTTP/1.1",
            b"HTTP/1.0",
            b"HTTP/1.2",
            b"\r\n",
            b"\n",
            b"\r",
            b"Host",
            b":",
            b": ",
            b"\t",
            b"value",
            b"0123456789abcdef",
            b"\x7f",
            b"\x00",
            b"\x80\xff",
            b"\xc3\xa9",
            b"a b",
            b"(",
            b"\"",
        ];
        let mut fast = 0;
        for _ in 0..200_000 {
            // A well-formed head with a few random edits, or pieces glued at random.
            let mut buf = Vec::new();
            if rng.below(2) == 0 {
                buf.extend_from_slice(b"GET /p HTTP/1.1\r\n");
                for _ in 0..rng.below(4) {
                    buf.extend_from_slice(b"Name-1: some value  \r\n");
                }
                buf.extend_from_slice(b"\r\n");
                for _ in 0..rng.below(4) {
                    let at = rng.below(buf.len() + 1);
                    let byte = match rng.below(4) {
                        0 => rng.next() as u8,
                        1 => b' ',
                        2 => b'\t',
                        _ => b"\r\n:/"[rng.below(4)],
                    };
                    match rng.below(3) {
                        0 if at < buf.len() => buf[at] = byte,
                        1 if at < buf.len() => {
                            buf.remove(at);
                        }
                        _ => buf.insert(at, byte),
                    }
                }
            } else {
                for _ in 0..rng.below(24) {
                    buf.extend_from_slice(pieces[rng.below(pieces.len())]);
                }
            }
            fast += usize::from(check_against_httparse(&buf));
        }
        // The generator must exercise the fast path, not only the fallback.
        assert!(fast > 10_000, "only {fast} heads took the fast path");
    }
}
