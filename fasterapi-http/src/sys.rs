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

fn shutdown_signal_set() -> libc::sigset_t {
    // SAFETY: sigset_t is plain data; sigemptyset initialises it before any use, and
    // sigaddset with valid signal numbers cannot fail.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        set
    }
}

/// Blocks SIGINT and SIGTERM in the calling thread (and so in threads it spawns later),
/// so that they stay pending for [`wait_shutdown_signal`] instead of killing the process.
pub(crate) fn block_shutdown_signals() -> io::Result<()> {
    let set = shutdown_signal_set();
    // SAFETY: `set` is an initialised signal set; a null old-set pointer is allowed.
    let rc = unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc));
    }
    Ok(())
}

/// Waits up to `timeout` for a blocked SIGINT or SIGTERM; returns its number.
pub(crate) fn wait_shutdown_signal(timeout: std::time::Duration) -> Option<i32> {
    let set = shutdown_signal_set();
    let ts = libc::timespec {
        tv_sec: timeout.as_secs() as libc::time_t,
        tv_nsec: libc::c_long::from(timeout.subsec_nanos() as i32),
    };
    // SAFETY: `set` and `ts` are initialised and outlive the call; a null siginfo pointer
    // is allowed.
    let sig = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &ts) };
    (sig > 0).then_some(sig)
}
