//! The one place that reaches below std for socket I/O.

use std::io;
use std::os::fd::AsRawFd;

use bytes::{BufMut, BytesMut};

/// Reads from `stream` into the spare capacity of `buf`, growing its length by what was
/// read.
///
/// `Read::read` wants an initialised `&mut [u8]`; zeroing 8 KiB of spare capacity before
/// every read would cost more than the parse of a typical request, so this reads straight
/// into the uninitialised tail with `read(2)`.
pub(crate) fn read_into(stream: &impl AsRawFd, buf: &mut BytesMut) -> io::Result<usize> {
    let spare = buf.chunk_mut();
    let (ptr, len) = (spare.as_mut_ptr(), spare.len());
    // SAFETY: `ptr..ptr+len` is the spare capacity of `buf`, writable memory that `buf`
    // owns exclusively while we hold `&mut`. read(2) writes at most `len` bytes there and
    // reports how many, and only that many are exposed through `advance_mut` below.
    let n = unsafe { libc::read(stream.as_raw_fd(), ptr.cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the kernel initialised the first `n <= len` bytes of the spare capacity.
    unsafe { buf.advance_mut(n) };
    Ok(n)
}
