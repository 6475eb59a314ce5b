//! WebSocket frames (RFC 6455 section 5): a decoder of client frames into messages and
//! control frames, and an encoder of server frames.
//!
//! The decoder enforces what a server must: every client frame masked; reserved bits
//! clear (no extension is negotiated); known opcodes only; control frames unfragmented
//! with at most 125 bytes; continuation frames only inside a fragmented message and data
//! frames only outside one; text valid UTF-8, checked as fragments arrive (a message is
//! refused at the first fragment that cannot be the start of valid UTF-8, not at its
//! end); a message no larger than the limit, refused from its frame header before the
//! payload is read; close frames with a valid status code and a UTF-8 reason. A refusal
//! carries the close code to fail the connection with: 1002 (protocol error), 1007
//! (invalid payload data) or 1009 (message too big).

use std::mem::MaybeUninit;

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Frame opcodes.
pub(crate) const CONTINUATION: u8 = 0x0;
pub(crate) const TEXT: u8 = 0x1;
pub(crate) const BINARY: u8 = 0x2;
pub(crate) const CLOSE: u8 = 0x8;
pub(crate) const PING: u8 = 0x9;
pub(crate) const PONG: u8 = 0xA;

/// What the decoder makes of the client's bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Incoming {
    /// A whole text message (its fragments joined).
    Text(String),
    /// A whole binary message.
    Binary(Vec<u8>),
    /// A whole binary message in one frame, left masked at the front of the buffer (its
    /// `len` bytes; the caller unmasks and removes them): from a decoder made
    /// [`with_masked_binary`](Decoder::with_masked_binary).
    MaskedBinary { len: usize, mask: [u8; 4] },
    /// A ping, with its application data.
    Ping(Bytes),
    /// A pong.
    Pong,
    /// A close frame: its status code and reason, if it has a body.
    Close(Option<(u16, String)>),
}

/// Why the client's frames are refused: the close code and reason to fail with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
}

const fn protocol(reason: &'static str) -> Violation {
    Violation { code: 1002, reason }
}

/// A message being received in fragments.
#[derive(Debug)]
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// The prefix of `data` known to be valid UTF-8 (text only).
    checked: usize,
}

/// Decodes client frames, holding the message being received in fragments.
#[derive(Debug)]
pub(crate) struct Decoder {
    max_message: usize,
    partial: Option<Partial>,
    /// Whole single-frame binary messages are left masked ([`Incoming::MaskedBinary`]).
    masked_binary: bool,
}

impl Decoder {
    /// A decoder refusing messages (joined fragments) over `max_message` bytes.
    pub(crate) fn new(max_message: usize) -> Decoder {
        Decoder {
            max_message,
            partial: None,
            masked_binary: false,
        }
    }

    /// Leaves each whole binary message that comes in one frame masked in the buffer
    /// ([`Incoming::MaskedBinary`]), for the caller to unmask where it wants it.
    pub(crate) fn with_masked_binary(mut self) -> Decoder {
        self.masked_binary = true;
        self
    }

    /// Decodes frames from the front of `buf` until one yields something (a whole
    /// message, a control frame) or the buffer holds no whole frame (`Ok(None)`);
    /// decoded frames are removed from `buf`. A refusal leaves the decoder unusable: the
    /// connection is failed.
    pub(crate) fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Incoming>, Violation> {
        loop {
            let Some(header) = self.header(buf)? else {
                return Ok(None);
            };
            if buf.len() < header.len + header.payload {
                buf.reserve(header.len + header.payload - buf.len());
                return Ok(None);
            }
            buf.advance(header.len - 4);
            let mask = [buf[0], buf[1], buf[2], buf[3]];
            buf.advance(4);
            if header.fin && header.opcode == BINARY && self.masked_binary {
                return Ok(Some(Incoming::MaskedBinary {
                    len: header.payload,
                    mask,
                }));
            }
            if header.fin && matches!(header.opcode, TEXT | BINARY) {
                // A whole message in one frame (the header check made sure no fragmented
                // one is in progress): unmasked straight into its own buffer, one pass.
                let data = unmasked(&buf[..header.payload], mask);
                buf.advance(header.payload);
                return whole(header.opcode, data).map(Some);
            }
            let mut payload = buf.split_to(header.payload);
            unmask(&mut payload, mask);
            if let Some(incoming) = self.frame(header, payload)? {
                return Ok(Some(incoming));
            }
        }
    }

    /// The header of the frame at the front of `buf`, checked, if it is all there.
    fn header(&self, buf: &[u8]) -> Result<Option<Header>, Violation> {
        if buf.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (buf[0], buf[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0f;
        if b0 & 0x70 != 0 {
            return Err(protocol("reserved bits set without a negotiated extension"));
        }
        if b1 & 0x80 == 0 {
            return Err(protocol("client frames must be masked"));
        }
        match opcode {
            CLOSE | PING | PONG => {
                if !fin {
                    return Err(protocol("fragmented control frame"));
                }
                if b1 & 0x7f > 125 {
                    return Err(protocol("control frame payload over 125 bytes"));
                }
            }
            CONTINUATION if self.partial.is_none() => {
                return Err(protocol("continuation frame without a message to continue"));
            }
            TEXT | BINARY if self.partial.is_some() => {
                return Err(protocol("new data frame inside a fragmented message"));
            }
            CONTINUATION | TEXT | BINARY => {}
            _ => return Err(protocol("unknown opcode")),
        }
        let (len, payload) = match b1 & 0x7f {
            126 if buf.len() >= 4 => (8, usize::from(u16::from_be_bytes([buf[2], buf[3]]))),
            127 if buf.len() >= 10 => {
                let mut n = [0u8; 8];
                n.copy_from_slice(&buf[2..10]);
                let n = u64::from_be_bytes(n);
                if n >> 63 != 0 {
                    return Err(protocol("payload length with its top bit set"));
                }
                (14, usize::try_from(n).unwrap_or(usize::MAX))
            }
            126 | 127 => return Ok(None),
            n => (6, usize::from(n)),
        };
        if opcode < CLOSE {
            let so_far = self.partial.as_ref().map_or(0, |p| p.data.len());
            if payload > self.max_message.saturating_sub(so_far) {
                return Err(Violation {
                    code: 1009,
                    reason: "message too big",
                });
            }
        }
        Ok(Some(Header {
            fin,
            opcode,
            len,
            payload,
        }))
    }

    /// What one whole, unmasked frame yields: a message once its last fragment is in.
    fn frame(&mut self, h: Header, payload: BytesMut) -> Result<Option<Incoming>, Violation> {
        match h.opcode {
            PING => Ok(Some(Incoming::Ping(payload.freeze()))),
            PONG => Ok(Some(Incoming::Pong)),
            CLOSE => close_frame(&payload).map(|c| Some(Incoming::Close(c))),
            TEXT | BINARY if h.fin => whole(h.opcode, payload.to_vec()).map(Some),
            TEXT | BINARY => {
                let mut partial = Partial {
                    text: h.opcode == TEXT,
                    data: payload.to_vec(),
                    checked: 0,
                };
                partial.check(false)?;
                self.partial = Some(partial);
                Ok(None)
            }
            _ => {
                // A continuation: the header check made sure a message is in progress.
                let Some(partial) = self.partial.as_mut() else {
                    return Err(protocol("continuation frame without a message to continue"));
                };
                partial.data.extend_from_slice(&payload);
                partial.check(h.fin)?;
                if !h.fin {
                    return Ok(None);
                }
                let Some(done) = self.partial.take() else {
                    return Ok(None);
                };
                if done.text {
                    // Checked whole by `check(true)`.
                    let text = String::from_utf8(done.data).map_err(|_| invalid_utf8())?;
                    Ok(Some(Incoming::Text(text)))
                } else {
                    Ok(Some(Incoming::Binary(done.data)))
                }
            }
        }
    }
}

impl Partial {
    /// Checks the text received so far: everything up to a possibly incomplete last
    /// character must be valid UTF-8 (and that character complete, once `last`).
    fn check(&mut self, last: bool) -> Result<(), Violation> {
        if !self.text {
            return Ok(());
        }
        match std::str::from_utf8(&self.data[self.checked..]) {
            Ok(_) => {
                self.checked = self.data.len();
                Ok(())
            }
            Err(e) if e.error_len().is_none() && !last => {
                self.checked += e.valid_up_to();
                Ok(())
            }
            Err(_) => Err(invalid_utf8()),
        }
    }
}

fn invalid_utf8() -> Violation {
    Violation {
        code: 1007,
        reason: "text message is not valid UTF-8",
    }
}

/// A frame header, checked.
#[derive(Clone, Copy, Debug)]
struct Header {
    fin: bool,
    opcode: u8,
    /// Its length, with the masking key.
    len: usize,
    payload: usize,
}

/// The status code and reason of a close frame's body, checked.
fn close_frame(body: &[u8]) -> Result<Option<(u16, String)>, Violation> {
    match body.len() {
        0 => Ok(None),
        1 => Err(protocol("close frame body of one byte")),
        _ => {
            let code = u16::from_be_bytes([body[0], body[1]]);
            if !close_code_is_valid(code) {
                return Err(protocol("invalid close code"));
            }
            match std::str::from_utf8(&body[2..]) {
                Ok(reason) => Ok(Some((code, reason.to_owned()))),
                Err(_) => Err(invalid_utf8()),
            }
        }
    }
}

/// Whether an endpoint may send `code` in a close frame (RFC 6455 section 7.4 and the
/// IANA registry): 1000-1003, 1007-1014, and 3000-4999 (registered and private use).
/// 1004 is reserved, 1005, 1006 and 1015 are never sent.
pub(crate) fn close_code_is_valid(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// A whole message of `opcode` (text or binary) from its unmasked `data`.
fn whole(opcode: u8, data: Vec<u8>) -> Result<Incoming, Violation> {
    if opcode == BINARY {
        return Ok(Incoming::Binary(data));
    }
    String::from_utf8(data)
        .map(Incoming::Text)
        .map_err(|_| invalid_utf8())
}

/// `masked` XORed with the masking key (RFC 6455 section 5.3), written out in the same
/// pass (one pass over the bytes instead of a copy and an XOR in place), eight bytes at a
/// time.
fn unmasked(masked: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(masked.len());
    unmask_into(masked, mask, &mut out.spare_capacity_mut()[..masked.len()]);
    // SAFETY: the capacity is at least `masked.len()`, and `unmask_into` wrote each of
    // the first `masked.len()` bytes. Measured: zeroing the buffer first (`vec![0; n]`)
    // costs 155 more instructions per 64 B message of the echo bench and a memset of each
    // large one.
    unsafe { out.set_len(masked.len()) };
    out
}

/// Writes `masked` XORed with the masking key into `out` (as long as `masked`), eight
/// bytes at a time, and returns it, every byte written.
pub(crate) fn unmask_into<'o>(
    masked: &[u8],
    mask: [u8; 4],
    out: &'o mut [MaybeUninit<u8>],
) -> &'o mut [u8] {
    assert_eq!(
        out.len(),
        masked.len(),
        "unmasking into a buffer of another length"
    );
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut dst = out.chunks_exact_mut(8);
    let mut src = masked.chunks_exact(8);
    for (d, s) in (&mut dst).zip(&mut src) {
        let mut v = [0u8; 8];
        v.copy_from_slice(s);
        let v = (u64::from_ne_bytes(v) ^ word).to_ne_bytes();
        for (d, b) in d.iter_mut().zip(v) {
            d.write(b);
        }
    }
    let tail = dst.into_remainder().iter_mut().zip(src.remainder());
    for (i, (d, s)) in tail.enumerate() {
        d.write(s ^ mask[i & 3]);
    }
    // SAFETY: the loops above wrote every byte of `out` (the 8-byte chunks, then the
    // remainder), and `MaybeUninit<u8>` has the layout of `u8`.
    unsafe { &mut *(out as *mut [MaybeUninit<u8>] as *mut [u8]) }
}

/// XORs `data` with the masking key (RFC 6455 section 5.3), eight bytes at a time.
fn unmask(data: &mut [u8], mask: [u8; 4]) {
    let word = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = data.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let mut v = [0u8; 8];
        v.copy_from_slice(chunk);
        chunk.copy_from_slice(&(u64::from_ne_bytes(v) ^ word).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= mask[i & 3];
    }
}

/// Appends a server frame (unmasked, unfragmented) of `opcode` and `payload` to `out`.
pub(crate) fn encode(out: &mut BytesMut, opcode: u8, payload: &[u8]) {
    out.reserve(payload.len() + 10);
    encode_head(out, opcode, payload.len());
    out.put_slice(payload);
}

/// The length of a server frame's header for a payload of `len` bytes.
pub(crate) fn head_len(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=0xffff => 4,
        _ => 10,
    }
}

/// Appends the header of a server frame of `opcode` with a payload of `len` bytes.
pub(crate) fn encode_head(out: &mut BytesMut, opcode: u8, len: usize) {
    out.reserve(10);
    out.put_u8(0x80 | opcode);
    match len {
        n @ 0..=125 => out.put_u8(n as u8),
        n @ 126..=0xffff => {
            out.put_u8(126);
            out.put_u16(n as u16);
        }
        n => {
            out.put_u8(127);
            out.put_u64(n as u64);
        }
    }
}

/// A close frame with `code` and `reason` (cut to fit the 125 bytes of a control frame,
/// at a character boundary).
pub(crate) fn encode_close(out: &mut BytesMut, code: u16, reason: &str) {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut body = Vec::with_capacity(2 + end);
    body.extend_from_slice(&code.to_be_bytes());
    body.extend_from_slice(&reason.as_bytes()[..end]);
    encode(out, CLOSE, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A client frame: masked with a fixed key unless `masked` is false.
    pub(crate) fn client_frame(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
        let mut out = vec![b0];
        let m = if masked { 0x80 } else { 0 };
        match payload.len() {
            n @ 0..=125 => out.push(m | n as u8),
            n @ 126..=0xffff => {
                out.push(m | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(m | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        let key = [0x37, 0xfa, 0x21, 0x3d];
        if masked {
            out.extend_from_slice(&key);
        }
        out.extend(
            payload
                .iter()
                .enumerate()
                .map(|(i, b)| if masked { b ^ key[i % 4] } else { *b }),
        );
        out
    }

    fn decode_all(input: &[u8], max: usize) -> (Vec<Incoming>, Option<Violation>) {
        let mut d = Decoder::new(max);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match d.decode(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => return (out, None),
                Err(v) => return (out, Some(v)),
            }
        }
    }

    #[test]
    fn unmasking_into_a_new_buffer_matches_unmasking_in_place_at_every_length() {
        let mask = [0x3c, 0xa5, 0x01, 0xfe];
        for len in 0..70 {
            let data: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
            let mut in_place = data.clone();
            unmask(&mut in_place, mask);
            let expected: Vec<u8> = (0..len).map(|i| data[i] ^ mask[i % 4]).collect();
            assert_eq!(in_place, expected, "{len}");
            assert_eq!(unmasked(&data, mask), expected, "{len}");
        }
    }

    #[test]
    fn a_decoder_with_masked_binary_leaves_whole_binary_frames_masked() {
        let mut d = Decoder::new(1 << 20).with_masked_binary();
        let data: Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&client_frame(0x82, &data, true));
        buf.extend_from_slice(&client_frame(0x81, b"text", true));
        let Ok(Some(Incoming::MaskedBinary { len, mask })) = d.decode(&mut buf) else {
            panic!("a masked binary message");
        };
        assert_eq!(len, 300);
        let mut out = vec![MaybeUninit::uninit(); len];
        assert_eq!(unmask_into(&buf[..len], mask, &mut out), &data[..]);
        buf.advance(len);
        // Text, and fragmented binary messages, are joined and unmasked as before.
        assert_eq!(d.decode(&mut buf), Ok(Some(Incoming::Text("text".into()))));
        buf.extend_from_slice(&client_frame(0x02, b"ab", true));
        buf.extend_from_slice(&client_frame(0x80, b"cd", true));
        assert_eq!(
            d.decode(&mut buf),
            Ok(Some(Incoming::Binary(b"abcd".to_vec())))
        );
    }

    #[test]
    fn masked_text_and_binary_frames_of_each_length_form() {
        for len in [0, 1, 125, 126, 65_535, 65_536, 200_000] {
            let text = "é".repeat(len / 2) + &"a".repeat(len % 2);
            let (out, err) = decode_all(&client_frame(0x81, text.as_bytes(), true), 1 << 20);
            assert_eq!(
                (out, err),
                (vec![Incoming::Text(text.clone())], None),
                "{len}"
            );
            let data: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let (out, err) = decode_all(&client_frame(0x82, &data, true), 1 << 20);
            assert_eq!((out, err), (vec![Incoming::Binary(data)], None), "{len}");
        }
    }

    #[test]
    fn a_frame_arriving_byte_by_byte_is_decoded_once_whole() {
        let frame = client_frame(0x81, b"Hello", true);
        let mut d = Decoder::new(100);
        let mut buf = BytesMut::new();
        for (i, b) in frame.iter().enumerate() {
            buf.put_u8(*b);
            let got = d.decode(&mut buf).unwrap();
            if i + 1 < frame.len() {
                assert_eq!(got, None);
            } else {
                assert_eq!(got, Some(Incoming::Text("Hello".into())));
            }
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn refusals_and_their_close_codes() {
        let cases: &[(Vec<u8>, u16)] = &[
            (client_frame(0x81, b"x", false), 1002),     // unmasked
            (client_frame(0xC1, b"x", true), 1002),      // RSV1
            (client_frame(0xA1, b"x", true), 1002),      // RSV2
            (client_frame(0x91, b"x", true), 1002),      // RSV3
            (client_frame(0x83, b"x", true), 1002),      // reserved data opcode
            (client_frame(0x8B, b"x", true), 1002),      // reserved control opcode
            (client_frame(0x09, b"x", true), 1002),      // fragmented ping
            (client_frame(0x89, &[0; 126], true), 1002), // long ping
            (client_frame(0x80, b"x", true), 1002),      // lone continuation
            (client_frame(0x81, &[0xff], true), 1007),   // bad UTF-8
            (client_frame(0x88, &[3], true), 1002),      // 1-byte close body
            (client_frame(0x88, &[0x03, 0xe8, 0xff], true), 1007), // bad reason
            (client_frame(0x82, &[0; 101], true), 1009), // too big
        ];
        for (frame, code) in cases {
            let (_, err) = decode_all(frame, 100);
            assert_eq!(err.map(|v| v.code), Some(*code), "{frame:x?}");
        }
        // Fragments: a new message inside one, and a too-big total.
        let input = [
            client_frame(0x01, b"a", true),
            client_frame(0x81, b"b", true),
        ]
        .concat();
        assert_eq!(decode_all(&input, 100).1.map(|v| v.code), Some(1002));
        let input = [
            client_frame(0x02, &[0; 60], true),
            client_frame(0x80, &[0; 41], true),
        ]
        .concat();
        assert_eq!(decode_all(&input, 100).1.map(|v| v.code), Some(1009));
    }

    #[test]
    fn a_too_big_message_is_refused_from_its_header_alone() {
        let mut header = vec![0x82, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 40).to_be_bytes());
        let (_, err) = decode_all(&header, 1 << 20);
        assert_eq!(err.map(|v| v.code), Some(1009));
        let mut top_bit = vec![0x82, 0x80 | 127];
        top_bit.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(decode_all(&top_bit, 1 << 20).1.map(|v| v.code), Some(1002));
    }

    #[test]
    fn fragments_are_joined_with_control_frames_between_them() {
        let input = [
            client_frame(0x01, "Hé".as_bytes(), true),
            client_frame(0x89, b"p", true),
            client_frame(0x00, b"ll", true),
            client_frame(0x80, b"o", true),
        ]
        .concat();
        let (out, err) = decode_all(&input, 100);
        assert_eq!(err, None);
        assert_eq!(
            out,
            vec![
                Incoming::Ping(Bytes::from_static(b"p")),
                Incoming::Text("Héllo".into())
            ]
        );
    }

    #[test]
    fn utf8_is_checked_across_fragments_and_fails_fast() {
        // "κόσμε" split inside a character: valid.
        let s = "κόσμε".as_bytes();
        let input = [
            client_frame(0x01, &s[..3], true),
            client_frame(0x00, &s[3..7], true),
            client_frame(0x80, &s[7..], true),
        ]
        .concat();
        assert_eq!(
            decode_all(&input, 100).0,
            vec![Incoming::Text("κόσμε".into())]
        );
        // An invalid byte in the first fragment fails before the message ends.
        let (out, err) = decode_all(&client_frame(0x01, &[b'a', 0xc0, 0xaf], true), 100);
        assert!(out.is_empty());
        assert_eq!(err.map(|v| v.code), Some(1007));
        // A character cut at the end of the last fragment.
        let input = [
            client_frame(0x01, b"a", true),
            client_frame(0x80, &s[..1], true),
        ]
        .concat();
        assert_eq!(decode_all(&input, 100).1.map(|v| v.code), Some(1007));
    }

    #[test]
    fn close_codes() {
        for code in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(close_code_is_valid(code), "{code}");
            let body = [&code.to_be_bytes()[..], b"bye"].concat();
            let (out, err) = decode_all(&client_frame(0x88, &body, true), 100);
            assert_eq!(
                (out, err),
                (vec![Incoming::Close(Some((code, "bye".into())))], None)
            );
        }
        for code in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!close_code_is_valid(code), "{code}");
            let (_, err) = decode_all(&client_frame(0x88, &code.to_be_bytes(), true), 100);
            assert_eq!(err.map(|v| v.code), Some(1002), "{code}");
        }
        assert_eq!(
            decode_all(&client_frame(0x88, b"", true), 100).0,
            vec![Incoming::Close(None)]
        );
    }

    #[test]
    fn server_frames() {
        let mut out = BytesMut::new();
        encode(&mut out, TEXT, b"hi");
        assert_eq!(&out[..], b"\x81\x02hi");
        out.clear();
        encode(&mut out, BINARY, &[0; 300]);
        assert_eq!(&out[..4], &[0x82, 126, 1, 44]);
        out.clear();
        encode(&mut out, BINARY, &vec![0; 70_000]);
        assert_eq!(&out[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
        out.clear();
        encode_close(&mut out, 1000, &"é".repeat(100));
        assert_eq!(out.len(), 2 + 2 + 122);
    }
}
