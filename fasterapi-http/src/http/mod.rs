//! The protocol's vocabulary: methods, status codes, responses and their bodies. Imports
//! nothing else of the crate; everything else imports it.

pub(crate) mod method;
pub(crate) mod response;
pub(crate) mod stream;
