//! The JSON writer checked against serde_json: every output must parse, and parse back to
//! the values written (and, where the two libraries agree on a canonical form, be the very
//! same bytes serde_json writes).

use bytes::BytesMut;
use fasterapi_core::json::{self, JsonSink, Null, Raw, ToJson};
use serde_json::{json, Value};

/// SplitMix64: a tiny deterministic PRNG, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// A random char, biased towards the ones that matter to escaping.
    fn char(&mut self) -> char {
        const SPECIAL: &[char] = &[
            '"',
            '\\',
            '/',
            '\n',
            '\r',
            '\t',
            '\u{8}',
            '\u{c}',
            '\u{0}',
            '\u{1}',
            '\u{1f}',
            '\u{7f}',
            '\u{80}',
            'é',
            'ß',
            '\u{7ff}',
            '€',
            '\u{800}',
            '\u{2028}',
            '\u{2029}',
            '\u{e000}',
            '\u{fffd}',
            '\u{ffff}',
            '😀',
            '\u{10000}',
            '\u{10ffff}',
        ];
        let pick = |r: &mut Rng, lo: u32, hi: u32| {
            char::from_u32(lo + r.below((hi - lo + 1) as u64) as u32).unwrap_or('?')
        };
        match self.below(10) {
            0..=3 => pick(self, 0x20, 0x7E), // printable ASCII
            4 => pick(self, 0x00, 0x1F),     // control
            5 => SPECIAL[self.below(SPECIAL.len() as u64) as usize], // edge cases
            6 => pick(self, 0x80, 0x7FF),    // 2-byte UTF-8
            7 => pick(self, 0x800, 0xFFFF),  // 3-byte (surrogates -> '?')
            8 => pick(self, 0x10000, 0x10FFFF), // 4-byte
            _ => ['"', '\\', 'a', ' '][self.below(4) as usize],
        }
    }

    fn string(&mut self, max_chars: u64) -> String {
        let n = self.below(max_chars + 1);
        (0..n).map(|_| self.char()).collect()
    }

    /// A finite or non-finite f64 from random bits, or a "nice" decimal.
    fn f64(&mut self) -> f64 {
        match self.below(3) {
            0 => f64::from_bits(self.next()),
            1 => (self.next() as i64 as f64) / 1000.0,
            _ => self.below(1_000_000) as f64 / 100.0,
        }
    }
}

fn to_vec<T: ToJson + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    v.write_json(&mut out);
    out
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("the writer only writes UTF-8")
}

#[test]
fn hello_world() {
    let mut buf = Vec::new();
    json::object(&mut buf, |o| {
        o.field("message", "Hello, World!");
    });
    assert_eq!(text(&buf), r#"{"message":"Hello, World!"}"#);
}

#[test]
fn strings_match_serde_json_byte_for_byte() {
    let mut rng = Rng(1);
    let mut buf = Vec::new();
    for round in 0..20_000 {
        let s = rng.string(if round % 10 == 0 { 200 } else { 24 });
        buf.clear();
        json::write_str(&mut buf, &s);
        // Same escaping rules, so the same bytes.
        assert_eq!(text(&buf), serde_json::to_string(&s).unwrap(), "{s:?}");
        // And it reads back to the original.
        let back: String = serde_json::from_slice(&buf).unwrap();
        assert_eq!(back, s);
    }
}

#[test]
fn escaping_rules() {
    let cases: &[(&str, &str)] = &[
        ("", r#""""#),
        ("plain", r#""plain""#),
        ("\"", r#""\"""#),
        ("\\", r#""\\""#),
        ("/", r#""/""#), // solidus is not escaped
        ("\u{8}\u{c}\n\r\t", r#""\b\f\n\r\t""#),
        ("\u{0}\u{1}\u{1e}\u{1f}", r#""\u0000\u0001\u001e\u001f""#),
        ("\u{7f}", "\"\u{7f}\""),                     // DEL passes through
        ("\u{2028}\u{2029}", "\"\u{2028}\u{2029}\""), // so do the JS line separators
        ("é€😀", "\"é€😀\""),
        ("aaaaaaa\"aaaaaaaa\\", r#""aaaaaaa\"aaaaaaaa\\""#), // specials at chunk edges
        ("0123456789abcde\n", r#""0123456789abcde\n""#),
    ];
    for (input, expected) in cases {
        let mut buf = Vec::new();
        json::write_str(&mut buf, input);
        assert_eq!(text(&buf), *expected, "{input:?}");
    }
}

#[test]
fn keys_are_escaped_and_round_trip() {
    let mut rng = Rng(2);
    for _ in 0..2_000 {
        let keys: Vec<String> = (0..rng.below(6)).map(|_| rng.string(12)).collect();
        let mut buf = Vec::new();
        json::object(&mut buf, |o| {
            for (i, k) in keys.iter().enumerate() {
                o.field(k, i);
            }
        });
        let v: Value = serde_json::from_slice(&buf).unwrap();
        let map = v.as_object().unwrap();
        for (i, k) in keys.iter().enumerate() {
            // Duplicate keys: the last one wins in serde_json.
            let last = keys.iter().rposition(|x| x == k).unwrap();
            if last == i {
                assert_eq!(map[k.as_str()], json!(i));
            }
        }
    }
}

#[test]
fn integers_at_the_edges() {
    fn check<T: ToJson + ToString>(v: T) {
        assert_eq!(text(&to_vec(&v)), v.to_string());
    }
    for v in [
        0i64,
        1,
        -1,
        9,
        10,
        99,
        100,
        i64::MIN,
        i64::MAX,
        -9_007_199_254_740_993,
    ] {
        check(v);
        let back: i64 = serde_json::from_slice(&to_vec(&v)).unwrap();
        assert_eq!(back, v);
    }
    for v in [0u64, 1, u64::MAX, u32::MAX as u64 + 1] {
        check(v);
        let back: u64 = serde_json::from_slice(&to_vec(&v)).unwrap();
        assert_eq!(back, v);
    }
    check(i8::MIN);
    check(u8::MAX);
    check(i16::MIN);
    check(u16::MAX);
    check(i32::MIN);
    check(u32::MAX);
    check(isize::MIN);
    check(usize::MAX);
    check(i128::MIN);
    check(u128::MAX);

    let mut rng = Rng(3);
    for _ in 0..10_000 {
        let v = rng.next() as i64 >> rng.below(64);
        assert_eq!(text(&to_vec(&v)), serde_json::to_string(&v).unwrap());
    }
}

/// serde_json's text for a float (it formats floats with zmij, as we do).
macro_rules! serde_text {
    ($v:expr) => {
        serde_json::to_string(&$v).unwrap()
    };
}

/// `out`, written for `v`: serde_json's text (see `serde_text!`), exact under a correctly
/// rounded parse (Rust's `str::parse`), and serde_json reads it back exactly as it reads
/// its own serialization of `v`. (serde_json's default float parser is best effort, off by
/// an ulp or two on some inputs, for its own text just as for ours, unless its
/// `float_roundtrip` feature is on.)
fn check_f64(v: f64, out: &str) {
    assert_eq!(out, serde_text!(v), "{v:?}");
    assert_eq!(
        out.parse::<f64>().unwrap().to_bits(),
        v.to_bits(),
        "{v:?} wrote {out}"
    );
    let back: f64 = serde_json::from_str(out).unwrap();
    let own: f64 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(back.to_bits(), own.to_bits(), "{v:?} wrote {out}");
}

#[test]
fn floats_parse_back_to_the_same_value() {
    let edge = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        1e300,
        -1e-300,
        1e-7,
        123456789.125,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE / 4.0, // subnormal
        f64::from_bits(1),       // smallest subnormal
        f64::MAX,
        f64::MIN,
        f64::EPSILON,
        9_007_199_254_740_993.0,
    ];
    // The edge values also read back bit-exact through serde_json's default parser
    // (including the sign of -0.0).
    for v in edge {
        let back: f64 = serde_json::from_slice(&to_vec(&v)).unwrap();
        assert_eq!(back.to_bits(), v.to_bits(), "{v:?}");
    }
    let mut rng = Rng(4);
    let random = (0..20_000).map(|_| rng.f64());
    for v in edge.into_iter().chain(random) {
        let out = to_vec(&v);
        if !v.is_finite() {
            assert_eq!(out, b"null");
            continue;
        }
        check_f64(v, text(&out));
    }
    // The documented forms.
    assert_eq!(text(&to_vec(&1.0f64)), "1.0");
    assert_eq!(text(&to_vec(&-0.0f64)), "-0.0");
    assert_eq!(text(&to_vec(&1e300f64)), "1e+300");
    assert_eq!(text(&to_vec(&-1e-300f64)), "-1e-300");
    assert_eq!(text(&to_vec(&0.1f32)), "0.1");
}

#[test]
fn non_finite_floats_are_null() {
    for v in [f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        assert_eq!(to_vec(&v), b"null");
    }
    for v in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(to_vec(&v), b"null");
    }
    // As serde_json's Value does it.
    assert_eq!(serde_json::to_string(&f64::NAN).unwrap(), "null");
}

#[test]
fn f32_parse_back_to_the_same_value() {
    let edge = [
        0.0f32,
        -0.0,
        0.1,
        1.0 / 3.0,
        f32::MIN_POSITIVE,
        f32::from_bits(1),
        f32::MAX,
        f32::MIN,
        16_777_217.0,
    ];
    let mut rng = Rng(5);
    let random = (0..20_000).map(|_| f32::from_bits(rng.next() as u32));
    for v in edge.into_iter().chain(random) {
        let out = to_vec(&v);
        if !v.is_finite() {
            assert_eq!(out, b"null");
            continue;
        }
        let out = text(&out);
        // Same text as serde_json, exact under a correctly rounded parse.
        assert_eq!(out, serde_text!(v));
        assert_eq!(
            out.parse::<f32>().unwrap().to_bits(),
            v.to_bits(),
            "{v:?} wrote {out}"
        );
        let back: f32 = serde_json::from_str(out).unwrap();
        let own: f32 = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
        assert_eq!(back.to_bits(), own.to_bits(), "{v:?} wrote {out}");
    }
}

#[test]
#[allow(clippy::needless_borrows_for_generic_args)] // references are what is tested
fn scalars_options_raw_null_slices() {
    let mut buf = Vec::new();
    json::array(&mut buf, |a| {
        a.item(true)
            .item(false)
            .item(Null)
            .item(None::<u8>)
            .item(Some(5))
            .item(Some("s"))
            .item(Raw(r#"{"pre":"encoded"}"#))
            .raw("[1, 2]")
            .item(&[1u8, 2, 3][..])
            .item([0.5f64, 2.0])
            .item(vec!["x".to_string()])
            .item(Box::new(7))
            .item(String::from("owned"))
            .item(&String::from("borrowed"));
    });
    let v: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(
        v,
        json!([
            true, false, null, null, 5, "s", {"pre": "encoded"}, [1, 2],
            [1, 2, 3], [0.5, 2.0], ["x"], 7, "owned", "borrowed"
        ])
    );
}

#[test]
fn field_takes_values_and_references() {
    let id = 42u64;
    let name = String::from("alice");
    let mut buf = Vec::new();
    json::object(&mut buf, |o| {
        o.field("id", id);
        o.field("name", "alice");
        o.field("ref", &name);
        o.field("owned", name);
    });
    assert_eq!(
        text(&buf),
        r#"{"id":42,"name":"alice","ref":"alice","owned":"alice"}"#
    );
}

#[test]
fn empty_and_nested() {
    let mut buf = Vec::new();
    json::object(&mut buf, |_| {});
    assert_eq!(buf, b"{}");
    buf.clear();
    json::array(&mut buf, |_| {});
    assert_eq!(buf, b"[]");

    buf.clear();
    json::object(&mut buf, |o| {
        o.object("empty", |_| {})
            .array("none", |_| {})
            .object("a", |a| {
                a.object("b", |b| {
                    b.array("c", |c| {
                        c.object(|d| {
                            d.field("deep", true);
                        })
                        .array(|e| {
                            e.array(|_| {}).item(1);
                        })
                        .object(|_| {});
                    });
                });
            })
            .raw("r", "null")
            .field("after", 1);
    });
    assert_eq!(
        text(&buf),
        r#"{"empty":{},"none":[],"a":{"b":{"c":[{"deep":true},[[],1],{}]}},"r":null,"after":1}"#
    );
    let v: Value = serde_json::from_slice(&buf).unwrap();
    assert_eq!(v["a"]["b"]["c"][1], json!([[], 1]));
}

/// Writes the same random document into `sink` and a `serde_json::Value`.
fn random_document<S: JsonSink + ?Sized>(rng: &mut Rng, sink: &mut S, depth: u32) -> Value {
    let mut map = serde_json::Map::new();
    json::object(sink, |o| {
        for _ in 0..rng.below(6) {
            let key = rng.string(6);
            let value = match rng.below(if depth < 3 { 8 } else { 6 }) {
                0 => {
                    let v = rng.next() as i64;
                    o.field(&key, v);
                    json!(v)
                }
                1 => {
                    let v = rng.f64();
                    o.field(&key, v);
                    if v.is_finite() {
                        json!(v)
                    } else {
                        Value::Null
                    }
                }
                2 => {
                    let v = rng.string(20);
                    o.field(&key, &v);
                    json!(v)
                }
                3 => {
                    let v = rng.below(2) == 0;
                    o.field(&key, v);
                    json!(v)
                }
                4 => {
                    o.field(&key, Null);
                    Value::Null
                }
                5 => {
                    let v = rng.next();
                    o.field(&key, v);
                    json!(v)
                }
                6 => {
                    let mut inner = Value::Null;
                    o.array(&key, |a| {
                        let mut items = Vec::new();
                        for _ in 0..rng.below(4) {
                            let mut doc = Vec::new();
                            items.push(random_document(rng, &mut doc, depth + 1));
                            a.raw(text(&doc));
                        }
                        inner = Value::Array(items);
                    });
                    inner
                }
                _ => {
                    let mut bytes = BytesMut::new();
                    let v = random_document(rng, &mut bytes, depth + 1);
                    o.raw(&key, text(&bytes));
                    v
                }
            };
            map.insert(key, value);
        }
    });
    Value::Object(map)
}

#[test]
fn random_documents_round_trip_in_both_sinks() {
    let mut rng_vec = Rng(6);
    let mut rng_bytes = Rng(6);
    for _ in 0..2_000 {
        let mut v = Vec::new();
        let expected = random_document(&mut rng_vec, &mut v, 0);
        let mut b = BytesMut::new();
        let expected_b = random_document(&mut rng_bytes, &mut b, 0);
        // Same PRNG stream, so the two sinks must hold the very same bytes.
        assert_eq!(expected, expected_b);
        assert_eq!(&v[..], &b[..]);
        // serde_json reads our text as it reads its own serialization of the same values
        // (floats included: it parses them best effort, see `check_f64`).
        let parsed: Value = serde_json::from_slice(&v).unwrap();
        let own: Value = serde_json::from_str(&serde_json::to_string(&expected).unwrap()).unwrap();
        assert_eq!(parsed, own, "{}", text(&v));
    }
}

#[test]
fn bytesmut_sink() {
    let mut buf = BytesMut::with_capacity(64);
    json::object(&mut buf, |o| {
        o.field("message", "Hello, World!").field("n", -3i8);
    });
    assert_eq!(&buf[..], br#"{"message":"Hello, World!","n":-3}"#);
}

#[test]
fn dyn_sink() {
    // The writer works through `?Sized` sinks, including trait objects.
    struct Counting(usize);
    impl JsonSink for Counting {
        fn put_slice(&mut self, bytes: &[u8]) {
            self.0 += bytes.len();
        }
        fn put_byte(&mut self, _: u8) {
            self.0 += 1;
        }
    }
    let mut c = Counting(0);
    let sink: &mut dyn JsonSink = &mut c;
    json::write_str(sink, "abc");
    assert_eq!(c.0, 5);
}
