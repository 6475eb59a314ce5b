//! The fasterapi HTTP/1.1 server.
#![deny(missing_docs, clippy::undocumented_unsafe_blocks)]
