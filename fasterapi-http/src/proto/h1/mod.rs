//! HTTP/1.1: the request head scanner (in front of httparse), the head's analysis by the
//! RFC 9112 rules, the incremental chunked body decoder, the response encoder and the
//! cached `Date`.

pub(crate) mod chunked;
pub(crate) mod date;
pub(crate) mod encode;
pub(crate) mod parse;
pub(crate) mod scan;
#[cfg(test)]
pub(crate) mod testing;
