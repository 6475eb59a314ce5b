//! An in-place JSON writer: values go straight into a byte sink, no intermediate tree.
//!
//! Serializing with this module is a sequence of appends to a [`JsonSink`] (a `Vec<u8>` or
//! a [`bytes::BytesMut`], typically a pooled response buffer). Nothing is allocated besides
//! the sink's own growth, so writing into a reused buffer allocates nothing at all.
//!
//! # Objects and arrays: the closure API
//!
//! [`object()`] writes `{`, hands your closure an [`Object`] to add fields with, and writes
//! `}` when the closure returns; [`array()`] does the same with `[`, [`Array`] and `]`.
//! Commas are placed by the `Object`/`Array` (they remember whether a first member was
//! written) and the brackets close when the closure ends, so the output is well formed by
//! construction: you cannot forget a comma or leave a bracket open.
//!
//! ```
//! use fasterapi_core::json;
//!
//! let mut buf = Vec::new();
//! json::object(&mut buf, |o| {
//!     o.field("message", "Hello, World!");
//! });
//! assert_eq!(buf, br#"{"message":"Hello, World!"}"#);
//!
//! buf.clear(); // reuse the buffer: no allocation this time
//! let name = String::from("alice");
//! json::object(&mut buf, |o| {
//!     o.field("id", 42u64)
//!         .field("name", &name)        // by reference...
//!         .field("score", 9.5)
//!         .field("admin", false)
//!         .field("email", None::<&str>) // null
//!         .array("tags", |a| {
//!             a.item("a").item("b\"quoted\"");
//!         })
//!         .object("meta", |m| {
//!             m.field("v", 1);
//!         })
//!         .raw("cached", r#"[1,2,3]"#);
//!     o.field("owner", name);          // ...or by value
//! });
//! assert_eq!(
//!     std::str::from_utf8(&buf).unwrap(),
//!     r#"{"id":42,"name":"alice","score":9.5,"admin":false,"email":null,"tags":["a","b\"quoted\""],"meta":{"v":1},"cached":[1,2,3],"owner":"alice"}"#
//! );
//! ```
//!
//! Values are passed **by value** to [`Object::field`] and [`Array::item`]: anything that
//! implements [`ToJson`] is accepted, and since `&T` implements `ToJson` whenever `T` does,
//! `o.field("id", id)`, `o.field("name", "alice")` (a `&str`), `o.field("x", &string)` and
//! `o.field("x", string)` all compile without ceremony.
//!
//! # Values: [`ToJson`]
//!
//! | Rust value                                  | JSON                                      |
//! |---------------------------------------------|-------------------------------------------|
//! | all integers (`i8`..`i128`, `u8`..`u128`, `isize`, `usize`) | decimal, via `itoa` (exact, even beyond 2^53) |
//! | `f32`, `f64` finite                         | shortest round-trip form, via `zmij`      |
//! | `f32`, `f64` NaN or ±infinity               | `null` (JSON has no such numbers)         |
//! | `bool`                                      | `true` / `false`                          |
//! | `str`, `String`                             | a quoted, escaped string                  |
//! | `Option<T>`                                 | `null` for `None`, else the value         |
//! | `[T]`, `[T; N]`, `Vec<T>`                   | an array                                  |
//! | [`Raw`]                                     | the given text verbatim                   |
//! | [`Null`]                                    | `null`                                    |
//!
//! Floats print in the shortest round-trip form (computed by `zmij`): the fewest digits that a correctly
//! rounded parser reads back as the very same `f64` (or `f32`). An integral float keeps a
//! fractional part (`1.0`, not `1`) so a reader sees a float again; negative zero prints as
//! `-0.0`, so its sign survives; large or tiny magnitudes use an exponent (`1e+300`,
//! `-1e-300`, `2.2250738585072014e-308`). `f32` prints the shortest form that reads back as
//! the same `f32` (`0.1f32` prints `0.1`, not `0.10000000149011612`). The text is the one
//! serde_json writes, which uses the same formatter.
//!
//! Implement [`ToJson`] for your own types to pass them to `field`/`item` directly:
//!
//! ```
//! use fasterapi_core::json::{self, JsonSink, ToJson};
//!
//! struct User<'a> { id: u64, name: &'a str }
//!
//! impl ToJson for User<'_> {
//!     fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
//!         json::object(out, |o| {
//!             o.field("id", self.id).field("name", self.name);
//!         });
//!     }
//! }
//!
//! let mut buf = bytes::BytesMut::new();
//! json::array(&mut buf, |a| {
//!     a.item(User { id: 1, name: "ann" }).item(User { id: 2, name: "bob" });
//! });
//! assert_eq!(&buf[..], br#"[{"id":1,"name":"ann"},{"id":2,"name":"bob"}]"#);
//! ```
//!
//! # Strings and escaping
//!
//! Strings (values and keys alike) are escaped per RFC 8259: `"` and `\` get a backslash,
//! control characters U+0000..U+001F use the short forms `\b \f \n \r \t` where JSON has
//! one and `\u00XX` otherwise. Everything else passes through untouched: all of multi-byte
//! UTF-8 (including U+2028/U+2029, which JSON allows raw) and DEL (U+007F). A `&str` is
//! valid UTF-8, so the output is too.
//!
//! The escaper first checks eight bytes at a time (SWAR bit tricks on a `u64`) whether the
//! string needs escaping at all; a string without special characters (the common case) is
//! then one [`JsonSink::put_slice`] between its two quotes. Otherwise clean 8-byte chunks
//! are still skipped whole, the bytes of the others are looked up in a 256-entry table,
//! and every run of bytes that need no escaping is copied with a single `put_slice`.
//!
//! ```
//! use fasterapi_core::json;
//!
//! let mut buf = Vec::new();
//! json::write_str(&mut buf, "tab\there \"q\" \\ \u{1} é 😀");
//! assert_eq!(buf, "\"tab\\there \\\"q\\\" \\\\ \\u0001 é 😀\"".as_bytes());
//! ```
//!
//! # What is not checked
//!
//! [`Raw`] text and [`Object::raw`]/[`Array::raw`] are written verbatim: they must already
//! be valid JSON. Duplicate keys are not detected (JSON permits them; most readers keep the
//! last one).

use bytes::BytesMut;

/// Where JSON bytes go. Implemented for `Vec<u8>` and [`bytes::BytesMut`].
///
/// Both methods append; neither can fail (the sinks grow as needed). Implement it for your
/// own buffer type to write JSON there.
pub trait JsonSink {
    /// Appends `bytes`.
    fn put_slice(&mut self, bytes: &[u8]);
    /// Appends one byte.
    fn put_byte(&mut self, b: u8);
}

impl JsonSink for Vec<u8> {
    #[inline(always)]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn put_byte(&mut self, b: u8) {
        self.push(b);
    }
}

impl JsonSink for BytesMut {
    #[inline(always)]
    fn put_slice(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }

    #[inline(always)]
    fn put_byte(&mut self, b: u8) {
        self.extend_from_slice(&[b]);
    }
}

/// A value that writes itself as JSON.
///
/// See the [module docs](self) for the built-in implementations and how each prints.
pub trait ToJson {
    /// Appends `self` as one JSON value to `out`.
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S);
}

/// Pre-encoded JSON, written verbatim (no quoting, no escaping, no validation).
///
/// Useful for cached fragments. The text must be a valid JSON value, or the output is not
/// valid JSON.
///
/// ```
/// use fasterapi_core::json::{self, Raw};
///
/// let mut buf = Vec::new();
/// json::array(&mut buf, |a| {
///     a.item(Raw(r#"{"cached":true}"#)).item(1);
/// });
/// assert_eq!(buf, br#"[{"cached":true},1]"#);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Raw<'a>(pub &'a str);

/// The JSON `null` value.
///
/// ```
/// use fasterapi_core::json::{self, Null};
///
/// let mut buf = Vec::new();
/// json::object(&mut buf, |o| {
///     o.field("nothing", Null);
/// });
/// assert_eq!(buf, br#"{"nothing":null}"#);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Null;

/// Escape action per byte: 0 = copy as is, `u` = `\u00XX`, anything else = backslash + it.
static ESCAPE: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        table[i] = b'u';
        i += 1;
    }
    table[0x08] = b'b';
    table[0x09] = b't';
    table[0x0A] = b'n';
    table[0x0C] = b'f';
    table[0x0D] = b'r';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `s` as a quoted JSON string, escaping as described in the
/// [module docs](self#strings-and-escaping).
///
/// ```
/// use fasterapi_core::json;
///
/// let mut buf = Vec::new();
/// json::write_str(&mut buf, "line\nbreak");
/// assert_eq!(buf, br#""line\nbreak""#);
/// ```
#[inline(always)]
pub fn write_str<S: JsonSink + ?Sized>(out: &mut S, s: &str) {
    out.put_byte(b'"');
    write_escaped(out, s.as_bytes());
    out.put_byte(b'"');
}

/// Writes the escaped contents of a string (no quotes).
#[inline(always)]
fn write_escaped<S: JsonSink + ?Sized>(out: &mut S, bytes: &[u8]) {
    if needs_escape(bytes) {
        write_escaped_slow(out, bytes);
    } else {
        out.put_slice(bytes);
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether any of the 8 bytes in `x` needs escaping: `< 0x20`, `"` or `\`.
///
/// Classic SWAR tests (exact as a yes/no answer): `(x - n*ONES) & !x & HIGH` is non-zero
/// iff some byte is below `n` (for `n <= 0x80`), and a byte equals `c` iff `x ^ c*ONES`
/// has a zero byte, i.e. a byte below 1.
#[inline(always)]
fn chunk_needs_escape(x: u64) -> bool {
    let quote = x ^ (ONES * b'"' as u64);
    let backslash = x ^ (ONES * b'\\' as u64);
    let control = x.wrapping_sub(ONES * 0x20) & !x;
    let quote = quote.wrapping_sub(ONES) & !quote;
    let backslash = backslash.wrapping_sub(ONES) & !backslash;
    (control | quote | backslash) & HIGH != 0
}

/// Whether any byte of `bytes` needs escaping; eight bytes per step.
#[inline(always)]
fn needs_escape(bytes: &[u8]) -> bool {
    let n = bytes.len();
    if n >= 8 {
        // Whole 8-byte chunks, then the last 8 bytes (overlapping the final chunk) so
        // there is no byte-by-byte tail.
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            if chunk_needs_escape(u64::from_le_bytes(to_array8(c))) {
                return true;
            }
        }
        chunk_needs_escape(u64::from_le_bytes(to_array8(&bytes[n - 8..])))
    } else if n >= 4 {
        // Two overlapping 4-byte halves, widened into one u64.
        let lo = u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as u64;
        let hi = u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]);
        chunk_needs_escape(lo | ((hi as u64) << 32))
    } else {
        bytes.iter().any(|&b| ESCAPE[b as usize] != 0)
    }
}

/// `c` as an array; `c` has exactly 8 bytes at every call site.
#[inline(always)]
fn to_array8(c: &[u8]) -> [u8; 8] {
    [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]
}

/// Escapes a string known to contain at least one byte that needs it. Clean 8-byte chunks
/// are skipped whole; bytes of a dirty chunk go through the [`ESCAPE`] table; each run of
/// clean bytes is copied with one `put_slice`.
#[cold]
#[inline(never)]
fn write_escaped_slow<S: JsonSink + ?Sized>(out: &mut S, bytes: &[u8]) {
    let mut start = 0; // first byte not yet written
    let mut i = 0;
    while i < bytes.len() {
        if let Some(chunk) = bytes.get(i..i + 8) {
            if !chunk_needs_escape(u64::from_le_bytes(to_array8(chunk))) {
                i += 8;
                continue;
            }
        }
        let end = bytes.len().min(i + 8);
        for (j, &b) in bytes.iter().enumerate().take(end).skip(i) {
            let esc = ESCAPE[b as usize];
            if esc != 0 {
                if start < j {
                    out.put_slice(&bytes[start..j]);
                }
                write_escape(out, b, esc);
                start = j + 1;
            }
        }
        i = end;
    }
    if start < bytes.len() {
        out.put_slice(&bytes[start..]);
    }
}

/// Writes one escape sequence.
#[inline]
fn write_escape<S: JsonSink + ?Sized>(out: &mut S, b: u8, esc: u8) {
    if esc == b'u' {
        out.put_slice(&[
            b'\\',
            b'u',
            b'0',
            b'0',
            HEX[(b >> 4) as usize],
            HEX[(b & 0xF) as usize],
        ]);
    } else {
        out.put_slice(&[b'\\', esc]);
    }
}

// Performance notes.
//
// The writers below take the sink as a `&mut` *argument*, not through `self.out`: the
// compiler then knows the sink's own fields (a `Vec`'s length) cannot alias the bytes being
// written, and can keep the length in a register across a member's appends.
//
// The per-member chain (`field` -> key -> escaping -> value) is `#[inline(always)]`: with
// many call sites LLVM otherwise outlines it, and every member then pays calls and a store
// and reload of the sink's length per append. Measured with cachegrind on the two bench
// objects: 236 -> 148 instructions for `{"message":"Hello, World!"}`, 2406 -> 1733 for the
// 10-field object (serde_json: 335 and 2512).

/// `"key":` or `,"key":`.
#[inline(always)]
fn write_key<S: JsonSink + ?Sized>(out: &mut S, first: bool, key: &str) {
    if first {
        out.put_byte(b'"');
    } else {
        out.put_slice(b",\"");
    }
    write_escaped(out, key.as_bytes());
    out.put_slice(b"\":");
}

/// A whole object member.
#[inline(always)]
fn write_field<S: JsonSink + ?Sized, V: ToJson + ?Sized>(
    out: &mut S,
    first: bool,
    key: &str,
    value: &V,
) {
    write_key(out, first, key);
    value.write_json(out);
}

/// Writes a JSON object: `{`, then whatever fields `f` adds, then `}`.
///
/// ```
/// use fasterapi_core::json;
///
/// let mut buf = Vec::new();
/// json::object(&mut buf, |o| {
///     o.field("id", 7).field("ok", true);
/// });
/// assert_eq!(buf, br#"{"id":7,"ok":true}"#);
///
/// buf.clear();
/// json::object(&mut buf, |_| {});
/// assert_eq!(buf, b"{}");
/// ```
#[inline]
pub fn object<S: JsonSink + ?Sized>(out: &mut S, f: impl FnOnce(&mut Object<'_, S>)) {
    out.put_byte(b'{');
    let mut o = Object { out, first: true };
    f(&mut o);
    o.out.put_byte(b'}');
}

/// Writes a JSON array: `[`, then whatever items `f` adds, then `]`.
///
/// ```
/// use fasterapi_core::json;
///
/// let mut buf = Vec::new();
/// json::array(&mut buf, |a| {
///     for i in 1..=3 {
///         a.item(i);
///     }
/// });
/// assert_eq!(buf, b"[1,2,3]");
/// ```
#[inline]
pub fn array<S: JsonSink + ?Sized>(out: &mut S, f: impl FnOnce(&mut Array<'_, S>)) {
    out.put_byte(b'[');
    let mut a = Array { out, first: true };
    f(&mut a);
    a.out.put_byte(b']');
}

/// An open JSON object; add members with [`field`](Object::field) and friends.
///
/// Obtained from [`object()`], [`Object::object`] or [`Array::object`]. Each method writes
/// one `"key":value` member, preceded by a comma unless it is the first, and returns
/// `&mut Self` so calls chain.
pub struct Object<'a, S: ?Sized> {
    out: &'a mut S,
    first: bool,
}

impl<S: ?Sized> std::fmt::Debug for Object<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl<S: JsonSink + ?Sized> Object<'_, S> {
    /// Writes the separator (if needed) and `"key":`.
    #[inline(always)]
    fn key(&mut self, key: &str) {
        let first = std::mem::replace(&mut self.first, false);
        write_key(self.out, first, key);
    }

    /// Writes the member `"key":value`. The key is escaped like any string.
    ///
    /// `value` is taken by value; pass a reference (`&string`) to keep ownership. Every
    /// [`ToJson`] type works: numbers, `bool`, `&str`, `String`, `Option<T>`, [`Raw`],
    /// [`Null`], slices, your own types.
    #[inline(always)]
    pub fn field<V: ToJson>(&mut self, key: &str, value: V) -> &mut Self {
        let first = std::mem::replace(&mut self.first, false);
        write_field(self.out, first, key, &value);
        self
    }

    /// Writes the member `"key":{...}`, the nested object filled by `f`.
    #[inline]
    pub fn object(&mut self, key: &str, f: impl FnOnce(&mut Object<'_, S>)) -> &mut Self {
        self.key(key);
        object(self.out, f);
        self
    }

    /// Writes the member `"key":[...]`, the nested array filled by `f`.
    #[inline]
    pub fn array(&mut self, key: &str, f: impl FnOnce(&mut Array<'_, S>)) -> &mut Self {
        self.key(key);
        array(self.out, f);
        self
    }

    /// Writes the member `"key":json` with `json` copied verbatim (see [`Raw`]).
    #[inline]
    pub fn raw(&mut self, key: &str, json: &str) -> &mut Self {
        self.key(key);
        self.out.put_slice(json.as_bytes());
        self
    }
}

/// An open JSON array; add elements with [`item`](Array::item) and friends.
///
/// Obtained from [`array()`], [`Object::array`] or [`Array::array`]. Each method writes one
/// element, preceded by a comma unless it is the first, and returns `&mut Self` so calls
/// chain.
pub struct Array<'a, S: ?Sized> {
    out: &'a mut S,
    first: bool,
}

impl<S: ?Sized> std::fmt::Debug for Array<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Array")
            .field("first", &self.first)
            .finish_non_exhaustive()
    }
}

impl<S: JsonSink + ?Sized> Array<'_, S> {
    /// Writes the separator if this is not the first element.
    #[inline]
    fn sep(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.out.put_byte(b',');
        }
    }

    /// Writes one element. `value` is taken by value, like [`Object::field`].
    #[inline(always)]
    pub fn item<V: ToJson>(&mut self, value: V) -> &mut Self {
        self.sep();
        value.write_json(self.out);
        self
    }

    /// Writes a nested object element filled by `f`.
    #[inline]
    pub fn object(&mut self, f: impl FnOnce(&mut Object<'_, S>)) -> &mut Self {
        self.sep();
        object(self.out, f);
        self
    }

    /// Writes a nested array element filled by `f`.
    #[inline]
    pub fn array(&mut self, f: impl FnOnce(&mut Array<'_, S>)) -> &mut Self {
        self.sep();
        array(self.out, f);
        self
    }

    /// Writes one element copied verbatim (see [`Raw`]).
    #[inline]
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.sep();
        self.out.put_slice(json.as_bytes());
        self
    }
}

macro_rules! impl_int {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            #[inline]
            fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
                let mut buf = itoa::Buffer::new();
                out.put_slice(buf.format(*self).as_bytes());
            }
        }
    )*};
}

impl_int!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! impl_float {
    ($($t:ty),*) => {$(
        impl ToJson for $t {
            #[inline]
            fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
                if self.is_finite() {
                    let mut buf = zmij::Buffer::new();
                    out.put_slice(buf.format_finite(*self).as_bytes());
                } else {
                    out.put_slice(b"null");
                }
            }
        }
    )*};
}

impl_float!(f32, f64);

impl ToJson for bool {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        out.put_slice(if *self { b"true" } else { b"false" });
    }
}

impl ToJson for str {
    #[inline(always)]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        write_str(out, self);
    }
}

impl ToJson for String {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        write_str(out, self);
    }
}

impl<T: ToJson + ?Sized> ToJson for &T {
    #[inline(always)]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        (**self).write_json(out);
    }
}

impl<T: ToJson + ?Sized> ToJson for &mut T {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        (**self).write_json(out);
    }
}

impl<T: ToJson + ?Sized> ToJson for Box<T> {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        (**self).write_json(out);
    }
}

impl<T: ToJson> ToJson for Option<T> {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        match self {
            Some(v) => v.write_json(out),
            None => out.put_slice(b"null"),
        }
    }
}

impl<T: ToJson> ToJson for [T] {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        array(out, |a| {
            for v in self {
                a.item(v);
            }
        });
    }
}

impl<T: ToJson, const N: usize> ToJson for [T; N] {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        self[..].write_json(out);
    }
}

impl<T: ToJson> ToJson for Vec<T> {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        self[..].write_json(out);
    }
}

impl ToJson for Raw<'_> {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        out.put_slice(self.0.as_bytes());
    }
}

impl ToJson for Null {
    #[inline]
    fn write_json<S: JsonSink + ?Sized>(&self, out: &mut S) {
        out.put_slice(b"null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn to_string<T: ToJson + ?Sized>(v: &T) -> String {
        let mut buf = Vec::new();
        v.write_json(&mut buf);
        String::from_utf8(buf).expect("writer output is UTF-8")
    }

    #[test]
    fn escape_table_covers_rfc8259() {
        for b in 0u8..=255 {
            let expect_escape = b < 0x20 || b == b'"' || b == b'\\';
            assert_eq!(ESCAPE[b as usize] != 0, expect_escape, "byte {b:#x}");
        }
        assert_eq!(to_string("\u{0}\u{1f}\u{7f}"), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(to_string("\u{8}\u{c}\n\r\t"), r#""\b\f\n\r\t""#);
    }

    #[test]
    fn swar_check_agrees_with_table() {
        // Every byte value at every position of every length around the chunk sizes, on a
        // clean background of both ASCII and high (UTF-8 continuation-like) bytes.
        for background in [b'a', 0x7F, 0x80, 0xFF, b'!', b'#', b']'] {
            for len in 1..=24 {
                for pos in 0..len {
                    for b in 0u8..=255 {
                        let mut v = vec![background; len];
                        v[pos] = b;
                        let expected = v.iter().any(|&c| ESCAPE[c as usize] != 0);
                        assert_eq!(needs_escape(&v), expected, "{v:?}");
                    }
                }
            }
        }
        assert!(!needs_escape(b""));
    }

    #[test]
    fn keys_are_escaped() {
        let mut buf = Vec::new();
        object(&mut buf, |o| {
            o.field("a\"b", 1).field("\n", 2);
        });
        assert_eq!(buf, br#"{"a\"b":1,"\n":2}"#);
    }
}
