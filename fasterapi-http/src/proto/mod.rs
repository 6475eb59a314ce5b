//! Bytes to messages and back, without sockets and without the app.

pub(crate) mod compress;
pub(crate) mod h1;
pub(crate) mod multipart;
pub(crate) mod ws;
