//! I/O-free building blocks of fasterapi, each usable on its own.
//!
//! This crate knows nothing of HTTP or sockets. It holds the pieces the server's hot path
//! is made of:
//!
//! - [`mpmc`]: Dmitry Vyukov's bounded multi-producer multi-consumer queue, with parking
//!   for idle consumers. The server's worker pool is fed through it.
//! - [`buf`]: a per-thread pool of [`bytes::BytesMut`] buffers, so steady-state request
//!   handling does not touch the allocator.
//! - [`json`]: an in-place JSON writer whose closure API makes output well formed by
//!   construction.
//! - [`metrics`]: counters and a mergeable log-linear latency histogram.
#![deny(
    missing_docs,
    missing_debug_implementations,
    clippy::undocumented_unsafe_blocks
)]

pub mod buf;
pub mod json;
pub mod metrics;
pub mod mpmc;
