//! fasterapi: a minimal, very fast HTTP/1.1 web framework.
#![deny(missing_docs)]
pub use fasterapi_core as core;
pub use fasterapi_http::*;
