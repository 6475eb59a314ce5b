//! A serde deserializer for `name=value` pairs: query strings, url-encoded forms and path
//! parameters, into structs (or maps) whose fields are numbers, booleans, strings,
//! options, unit enums, or sequences of those (a repeated name).
//!
//! Values are text; each is parsed into the type its field asks for, and a failure names
//! the field. A field of a scalar type given several times takes the last value (as
//! Starlette does for query strings); a sequence takes them all, in order.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;

/// A deserialization failure: the message, and the field it is about when known.
#[derive(Debug)]
pub(crate) struct TextError {
    pub(crate) field: Option<String>,
    pub(crate) msg: String,
    /// FastAPI's error type: `missing` for a missing field, else a parse failure.
    pub(crate) missing: bool,
}

impl fmt::Display for TextError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for TextError {}

impl de::Error for TextError {
    fn custom<T: fmt::Display>(msg: T) -> TextError {
        TextError {
            field: None,
            msg: msg.to_string(),
            missing: false,
        }
    }

    fn missing_field(field: &'static str) -> TextError {
        TextError {
            field: Some(field.to_owned()),
            msg: "Field required".to_owned(),
            missing: true,
        }
    }
}

/// The pairs, grouped by name in order of first appearance.
pub(crate) struct Pairs<'de> {
    groups: Vec<(Cow<'de, str>, Vec<Cow<'de, str>>)>,
}

impl<'de> Pairs<'de> {
    pub(crate) fn new(pairs: impl Iterator<Item = (Cow<'de, str>, Cow<'de, str>)>) -> Pairs<'de> {
        let mut groups: Vec<(Cow<'de, str>, Vec<Cow<'de, str>>)> = Vec::new();
        for (name, value) in pairs {
            match groups.iter_mut().find(|(n, _)| *n == name) {
                Some((_, values)) => values.push(value),
                None => groups.push((name, vec![value])),
            }
        }
        Pairs { groups }
    }
}

impl<'de> de::Deserializer<'de> for Pairs<'de> {
    type Error = TextError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TextError> {
        visitor.visit_map(PairsAccess {
            groups: self.groups.into_iter(),
            value: None,
        })
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

struct PairsAccess<'de> {
    groups: std::vec::IntoIter<(Cow<'de, str>, Vec<Cow<'de, str>>)>,
    value: Option<(String, Vec<Cow<'de, str>>)>,
}

impl<'de> MapAccess<'de> for PairsAccess<'de> {
    type Error = TextError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, TextError> {
        let Some((name, values)) = self.groups.next() else {
            return Ok(None);
        };
        self.value = Some((name.to_string(), values));
        seed.deserialize(Text(name)).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, TextError> {
        let Some((name, values)) = self.value.take() else {
            return Err(de::Error::custom("a value asked for before its name"));
        };
        seed.deserialize(Values(values)).map_err(|mut e| {
            e.field.get_or_insert(name);
            e
        })
    }
}

/// Every value given for one name.
struct Values<'de>(Vec<Cow<'de, str>>);

impl<'de> Values<'de> {
    fn last(mut self) -> Text<'de> {
        // A group is made with its first value, so it is never empty.
        Text(self.0.pop().unwrap_or(Cow::Borrowed("")))
    }
}

/// Deserializer methods that parse the last value alone (`name(extra args)`, before the
/// visitor).
macro_rules! to_last {
    ($($method:ident($($arg:ident: $ty:ty),*))*) => {
        $(
            fn $method<V: Visitor<'de>>(
                self,
                $($arg: $ty,)*
                visitor: V,
            ) -> Result<V::Value, TextError> {
                self.last().$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Values<'de> {
    type Error = TextError;

    to_last! {
        deserialize_any() deserialize_bool() deserialize_i8() deserialize_i16()
        deserialize_i32() deserialize_i64() deserialize_i128() deserialize_u8()
        deserialize_u16() deserialize_u32() deserialize_u64() deserialize_u128()
        deserialize_f32() deserialize_f64() deserialize_char() deserialize_str()
        deserialize_string() deserialize_bytes() deserialize_byte_buf() deserialize_option()
        deserialize_unit() deserialize_identifier() deserialize_ignored_any() deserialize_map()
        deserialize_unit_struct(name: &'static str)
        deserialize_struct(name: &'static str, fields: &'static [&'static str])
        deserialize_enum(name: &'static str, variants: &'static [&'static str])
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, TextError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TextError> {
        visitor.visit_seq(ValuesSeq(self.0.into_iter()))
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, TextError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, TextError> {
        self.deserialize_seq(visitor)
    }
}

struct ValuesSeq<'de>(std::vec::IntoIter<Cow<'de, str>>);

impl<'de> SeqAccess<'de> for ValuesSeq<'de> {
    type Error = TextError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, TextError> {
        match self.0.next() {
            Some(value) => seed.deserialize(Text(value)).map(Some),
            None => Ok(None),
        }
    }
}

/// One value, parsed into whatever its field asks for.
struct Text<'de>(Cow<'de, str>);

impl Text<'_> {
    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, TextError> {
        self.0.parse().map_err(|_| self.invalid(what))
    }

    /// Pydantic's words for a value that is not a `what`.
    fn invalid(&self, what: &str) -> TextError {
        TextError {
            field: None,
            msg: format!("Input should be a valid {what}, got {:?}", self.0),
            missing: false,
        }
    }
}

macro_rules! parsed {
    ($($method:ident => $visit:ident, $ty:ty, $what:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TextError> {
                visitor.$visit(self.parse::<$ty>($what)?)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for Text<'de> {
    type Error = TextError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TextError> {
        match self.0 {
            Cow::Borrowed(s) => visitor.visit_borrowed_str(s),
            Cow::Owned(s) => visitor.visit_string(s),
        }
    }

    parsed! {
        deserialize_i8 => visit_i8, i8, "integer";
        deserialize_i16 => visit_i16, i16, "integer";
        deserialize_i32 => visit_i32, i32, "integer";
        deserialize_i64 => visit_i64, i64, "integer";
        deserialize_i128 => visit_i128, i128, "integer";
        deserialize_u8 => visit_u8, u8, "unsigned integer";
        deserialize_u16 => visit_u16, u16, "unsigned integer";
        deserialize_u32 => visit_u32, u32, "unsigned integer";
        deserialize_u64 => visit_u64, u64, "unsigned integer";
        deserialize_u128 => visit_u128, u128, "unsigned integer";
        deserialize_f32 => visit_f32, f32, "number";
        deserialize_f64 => visit_f64, f64, "number";
        deserialize_char => visit_char, char, "character";
    }

    /// `true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off` in any case, as FastAPI's boolean
    /// query parameters.
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TextError> {
        let value = match self.0.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => true,
            "false" | "0" | "no" | "off" => false,
            _ => return Err(self.invalid("boolean")),
        };
        visitor.visit_bool(value)
    }

    /// Given at all means `Some`, even when empty.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, TextError> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, TextError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, TextError> {
        let variant: de::value::CowStrDeserializer<'de, TextError> = self.0.into_deserializer();
        visitor.visit_enum(variant)
    }

    forward_to_deserialize_any! {
        str string bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn pairs(s: &'static str) -> Pairs<'static> {
        Pairs::new(s.split('&').map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (Cow::Borrowed(k), Cow::Borrowed(v))
        }))
    }

    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Order {
        Asc,
        Desc,
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Search<'a> {
        q: &'a str,
        page: u32,
        exact: bool,
        limit: Option<u8>,
        tags: Vec<String>,
        order: Order,
        #[serde(default)]
        ratio: f64,
    }

    #[test]
    fn fields_parse_repeat_and_borrow() {
        let s = Search::deserialize(pairs(
            "q=rust&page=1&page=3&exact=On&tags=a&order=desc&tags=b&ignored=x",
        ))
        .unwrap();
        assert_eq!(
            s,
            Search {
                q: "rust",
                page: 3,
                exact: true,
                limit: None,
                tags: vec!["a".into(), "b".into()],
                order: Order::Desc,
                ratio: 0.0,
            }
        );
    }

    #[test]
    fn failures_name_their_field() {
        let e = Search::deserialize(pairs("q=x&page=two&exact=1&tags=a&order=asc")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("page"));
        assert!(e.msg.contains("valid unsigned integer"), "{}", e.msg);
        let e = Search::deserialize(pairs("q=x&page=1&exact=1&order=asc")).unwrap_err();
        assert_eq!((e.field.as_deref(), e.missing), (Some("tags"), true));
        let e = Search::deserialize(pairs("q=x&page=1&exact=maybe&tags=a&order=asc")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("exact"));
        assert_eq!(e.msg, r#"Input should be a valid boolean, got "maybe""#);
        let e = Search::deserialize(pairs("q=x&page=1&exact=1&tags=a&order=up")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("order"));
        assert!(e.msg.contains("unknown variant"), "{}", e.msg);
    }

    #[test]
    fn maps_take_every_pair() {
        let m =
            std::collections::BTreeMap::<String, String>::deserialize(pairs("b=2&a=1")).unwrap();
        assert_eq!(
            m.into_iter().collect::<Vec<_>>(),
            [("a".into(), "1".into()), ("b".into(), "2".into())]
        );
    }
}
