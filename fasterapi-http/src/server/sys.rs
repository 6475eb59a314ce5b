//! The one place that reaches below std: socket I/O, shutdown signals, CPU affinity.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

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
    let n = unsafe { raw::read(stream.as_raw_fd(), ptr.cast(), len) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    // SAFETY: the kernel initialised the first `n <= len` bytes of the spare capacity.
    unsafe { buf.advance_mut(n) };
    Ok(n)
}

/// Whether the peer has closed its side of `stream`: looks at the next input byte without
/// taking it (`recv` with `MSG_PEEK`). `Ok(false)` when input is waiting; `WouldBlock`
/// when there is none yet.
pub(crate) fn peek_eof(stream: &impl AsRawFd) -> io::Result<bool> {
    let mut byte = [0u8; 1];
    // SAFETY: `byte` is valid for writes of one byte for the duration of the call; with
    // MSG_PEEK recv(2) only copies into it.
    let n = unsafe {
        libc::recv(
            stream.as_raw_fd(),
            byte.as_mut_ptr().cast(),
            1,
            libc::MSG_PEEK | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n == 0)
}

/// A one-shot timer with nanosecond precision that a poll can wait on (a `timerfd`):
/// `epoll_wait` takes its timeout in whole milliseconds, rounded up, which would make a
/// handler's 10 ms sleep last up to 11.
pub(crate) struct PreciseTimer {
    fd: OwnedFd,
    /// When it is set to fire, if it is.
    armed: Option<std::time::Instant>,
}

impl PreciseTimer {
    pub(crate) fn new() -> io::Result<PreciseTimer> {
        // SAFETY: timerfd_create takes no pointers; a non-negative result is a new
        // descriptor that nothing else owns.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just created and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(PreciseTimer { fd, armed: None })
    }

    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the timer fire at `when` (`None`: never); a call with the time it is set to
    /// already costs no system call.
    pub(crate) fn set(&mut self, when: Option<std::time::Instant>) -> io::Result<()> {
        if when == self.armed {
            return Ok(());
        }
        let after = when.map(|w| w.saturating_duration_since(std::time::Instant::now()));
        let value = match after {
            // A zero value would disarm it: fire after 1 ns instead.
            Some(d) => libc::timespec {
                tv_sec: d.as_secs().min(i32::MAX as u64) as libc::time_t,
                tv_nsec: d.subsec_nanos().max(u32::from(d.is_zero())) as libc::c_long,
            },
            None => libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
        };
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: value,
        };
        // SAFETY: `spec` is a valid itimerspec for the duration of the call, and a null
        // old-value pointer is allowed.
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        self.armed = when;
        Ok(())
    }

    /// After it fired: clears its readiness (the expiration count is not needed).
    pub(crate) fn clear(&mut self) {
        let mut count = [0u8; 8];
        // SAFETY: `count` is valid for writes of 8 bytes, the size a timerfd read takes.
        unsafe { libc::read(self.fd.as_raw_fd(), count.as_mut_ptr().cast(), count.len()) };
        self.armed = None;
    }
}

/// Sends `buf` on a connected socket, as `TcpStream::write` does (`send` with
/// `MSG_NOSIGNAL`: a peer that went away gives `EPIPE`, not a SIGPIPE), without libc's
/// cancellation-point wrapper.
pub(crate) fn send(stream: &mio::net::TcpStream, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for reads of `buf.len()` bytes for the duration of the call,
    // and send(2) only reads them.
    let n = unsafe { raw::send(stream.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Sends `bufs` in order on a connected socket with one `sendmsg` (a gathered write, as
/// `writev`), with `MSG_NOSIGNAL`: a peer that went away gives `EPIPE`, not a SIGPIPE
/// that would kill a host process which has not ignored it (std's `write_vectored` is
/// `writev`, which cannot pass the flag).
#[inline]
pub(crate) fn send_vectored(
    stream: &impl AsRawFd,
    bufs: &[std::io::IoSlice<'_>],
) -> io::Result<usize> {
    send_vectored_flags(stream, bufs, libc::MSG_NOSIGNAL)
}

/// [`send_vectored`] for bytes a file's bytes follow at once (a response head before its
/// `sendfile` body): `MSG_MORE` lets the kernel hold a partial segment for what comes
/// next, so the head and the file's first bytes share segments (nginx's `tcp_nopush`).
pub(crate) fn send_vectored_more(
    stream: &impl AsRawFd,
    bufs: &[std::io::IoSlice<'_>],
) -> io::Result<usize> {
    send_vectored_flags(stream, bufs, libc::MSG_NOSIGNAL | libc::MSG_MORE)
}

#[inline(always)]
fn send_vectored_flags(
    stream: &impl AsRawFd,
    bufs: &[std::io::IoSlice<'_>],
    flags: libc::c_int,
) -> io::Result<usize> {
    // SAFETY: a zeroed msghdr is valid (no address, no control data); `msg_iov` points at
    // `bufs`, whose IoSlices are ABI-compatible with iovec and stay borrowed for the call,
    // and sendmsg(2) only reads them.
    let n = unsafe {
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = bufs.as_ptr() as *mut libc::iovec;
        msg.msg_iovlen = bufs.len().min(libc::c_int::MAX as usize) as _;
        libc::sendmsg(stream.as_raw_fd(), &msg, flags)
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Sends up to `count` bytes of `file` from `offset` on a connected socket with
/// `sendfile(2)`: the kernel moves them from the page cache to the socket, with no copy
/// through user space. Returns how many were taken (`Ok(0)` when `offset` is at or past
/// the end of the file); `WouldBlock` when the socket's buffer is full.
///
/// Pages not in the page cache are read from disk inside the call, on the calling thread
/// (as nginx does without its thread pools): a cold file costs the I/O thread the disk's
/// time (measured here: ~0.1 ms per 64 KiB evicted page run; see benches/RESULTS.md).
pub(crate) fn sendfile(
    stream: &impl AsRawFd,
    file: &impl AsRawFd,
    offset: u64,
    count: usize,
) -> io::Result<usize> {
    let mut off = libc::off_t::try_from(offset)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "file offset out of range"))?;
    // SAFETY: `off` is a valid off_t for the duration of the call (sendfile(2) updates it
    // in place); both descriptors are borrowed open descriptors, and no memory of ours is
    // read or written otherwise.
    let n = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut off, count) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n as usize)
}

/// Opens `path` (relative, no `..`: see `static_dir`) for reading under the directory
/// `dir`, refusing any resolution that leaves it: `openat2(2)` with `RESOLVE_BENEATH`
/// (symlinks that point out, absolute symlinks, `..` above `dir`) and
/// `RESOLVE_NO_MAGICLINKS` (`/proc` links). `beneath: false` opens with plain
/// `openat(2)`, following symlinks wherever they lead. Returns `Unsupported` where the
/// kernel lacks `openat2` (Linux before 5.6, or a seccomp filter that refuses it).
pub(crate) fn open_under(
    dir: &impl AsRawFd,
    path: &std::ffi::CStr,
    beneath: bool,
) -> io::Result<std::fs::File> {
    // O_NONBLOCK: opening a FIFO must not wait for a writer (it is then refused as not a
    // regular file); reads of regular files ignore the flag.
    let flags = libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK;
    let fd = if beneath {
        // SAFETY: open_how is plain data; zeroed is a valid value, filled in below.
        let mut how: libc::open_how = unsafe { std::mem::zeroed() };
        how.flags = flags as u64;
        how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS;
        // SAFETY: `path` is a NUL-terminated string and `how` a valid open_how, both
        // borrowed for the call, and its size is passed as openat2(2) requires.
        let fd = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if fd < 0 {
            let e = io::Error::last_os_error();
            return Err(match e.raw_os_error() {
                Some(libc::ENOSYS) | Some(libc::EPERM) => io::ErrorKind::Unsupported.into(),
                _ => e,
            });
        }
        fd as libc::c_int
    } else {
        // SAFETY: `path` is a NUL-terminated string borrowed for the call.
        let fd = unsafe { libc::openat(dir.as_raw_fd(), path.as_ptr(), flags) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        fd
    };
    // SAFETY: `fd` was just opened and is owned by nobody else.
    Ok(unsafe { std::fs::File::from_raw_fd(fd) })
}

/// The system calls of the request path. On Linux they go through `syscall(2)` rather
/// than libc's `read`/`send`, which are pthread cancellation points: their wrappers
/// enable and disable asynchronous cancellation around every call, which callgrind
/// counted as ~55 of ~2,200 instructions per request. Nothing here uses cancellation.
mod raw {
    pub(super) unsafe fn read(fd: libc::c_int, buf: *mut libc::c_void, len: usize) -> isize {
        // SAFETY: the caller's contract (read(2) on `buf..buf+len`); SYS_read takes
        // exactly these three arguments.
        unsafe { libc::syscall(libc::SYS_read, fd, buf, len) as isize }
    }

    pub(super) unsafe fn send(fd: libc::c_int, buf: *const libc::c_void, len: usize) -> isize {
        // SAFETY: the caller's contract (send(2) of `buf..buf+len`); sendto with a null
        // address is send(2).
        unsafe {
            libc::syscall(
                libc::SYS_sendto,
                fd,
                buf,
                len,
                libc::MSG_NOSIGNAL,
                std::ptr::null::<libc::sockaddr>(),
                0 as libc::socklen_t,
            ) as isize
        }
    }
}

/// The write end of the self-pipe the signal handler writes to; -1 when none.
static SIGNAL_PIPE: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_shutdown_signal(sig: libc::c_int) {
    let fd = SIGNAL_PIPE.load(Ordering::Relaxed);
    if fd >= 0 {
        let byte = sig as u8;
        // SAFETY: errno is thread-local and __errno_location always returns a valid
        // pointer to it; write(2) is async-signal-safe and `byte` lives for the call. A
        // full pipe (a flood of signals) drops the byte, which is fine: one is enough.
        // errno is restored so that the interrupted code never sees write's.
        unsafe {
            let errno = libc::__errno_location();
            let saved = *errno;
            libc::write(fd, (&byte as *const u8).cast(), 1);
            *errno = saved;
        }
    }
}

/// SIGINT and SIGTERM turned into bytes on a pipe (the self-pipe trick), so they can be
/// waited for on an ordinary thread whichever thread the kernel delivers them to.
pub(crate) struct ShutdownSignals {
    read: OwnedFd,
    write: OwnedFd,
    /// The handlers of SIGINT and SIGTERM before ours, put back when this is dropped.
    previous: [libc::sigaction; 2],
}

const SHUTDOWN_SIGNALS: [libc::c_int; 2] = [libc::SIGINT, libc::SIGTERM];

impl ShutdownSignals {
    /// Installs the handlers. Only one set may be installed at a time in a process.
    pub(crate) fn install() -> io::Result<ShutdownSignals> {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: `fds` has room for the two descriptors pipe2 writes.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: pipe2 succeeded, so both are fresh descriptors owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        if SIGNAL_PIPE
            .compare_exchange(-1, write.as_raw_fd(), Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "shutdown signal handlers are already installed",
            ));
        }
        let ours =
            on_shutdown_signal as extern "C" fn(libc::c_int) as *const () as libc::sighandler_t;
        // SAFETY: an all-zero sigaction is a valid value (SIG_DFL, no flags, empty mask);
        // both are overwritten by set_handler before they are read.
        let mut previous: [libc::sigaction; 2] = unsafe { std::mem::zeroed() };
        for (i, &sig) in SHUTDOWN_SIGNALS.iter().enumerate() {
            if let Err(e) = set_handler(sig, ours, &mut previous[i]) {
                // Undo what was done: the handlers installed so far, and the pipe's
                // number in the static (the pipe closes when this returns).
                for j in 0..i {
                    restore_handler(SHUTDOWN_SIGNALS[j], &previous[j]);
                }
                SIGNAL_PIPE.store(-1, Ordering::Release);
                return Err(e);
            }
        }
        Ok(ShutdownSignals {
            read,
            write,
            previous,
        })
    }

    /// Waits up to `timeout` for a signal; returns its number.
    pub(crate) fn wait(&self, timeout: std::time::Duration) -> Option<i32> {
        let mut pfd = libc::pollfd {
            fd: self.read.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as libc::c_int;
        // SAFETY: `pfd` is one valid pollfd for the duration of the call.
        if unsafe { libc::poll(&mut pfd, 1, ms) } <= 0 {
            return None;
        }
        let mut byte = 0u8;
        // SAFETY: reads at most one byte into `byte`, which outlives the call.
        let n = unsafe { libc::read(self.read.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) };
        (n == 1).then_some(i32::from(byte))
    }
}

impl Drop for ShutdownSignals {
    fn drop(&mut self) {
        for (sig, previous) in SHUTDOWN_SIGNALS.iter().zip(&self.previous) {
            restore_handler(*sig, previous);
        }
        let _ = SIGNAL_PIPE.compare_exchange(
            self.write.as_raw_fd(),
            -1,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }
}

/// Installs `handler` for `sig`, saving the one it replaces into `previous`.
fn set_handler(
    sig: libc::c_int,
    handler: libc::sighandler_t,
    previous: &mut libc::sigaction,
) -> io::Result<()> {
    // SAFETY: a zeroed sigaction is a valid "no flags, empty mask" value; we then set the
    // handler (an `extern "C" fn(c_int)`) and pass valid pointers; `previous` is written.
    let rc = unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = handler;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        libc::sigaction(sig, &action, previous)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Puts back a handler saved by [`set_handler`].
fn restore_handler(sig: libc::c_int, previous: &libc::sigaction) {
    // SAFETY: `previous` was filled by sigaction(2) for this signal.
    unsafe { libc::sigaction(sig, previous, std::ptr::null_mut()) };
}

/// The CPUs this thread may run on, in ascending order (`sched_getaffinity`): the whole
/// machine, or the set `taskset` or a cgroup gave the process.
pub(crate) fn allowed_cpus() -> io::Result<Vec<usize>> {
    // SAFETY: a zeroed cpu_set_t is the empty set; sched_getaffinity writes at most
    // `size_of::<cpu_set_t>()` bytes into it, and CPU_ISSET reads it within CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok((0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| libc::CPU_ISSET(cpu, &set))
            .collect())
    }
}

/// Restricts the calling thread to `cpu` (`sched_setaffinity`).
pub(crate) fn pin_current_thread(cpu: usize) -> io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "CPU number out of range",
        ));
    }
    // SAFETY: a zeroed cpu_set_t is the empty set, CPU_SET writes inside it (`cpu` was
    // checked against CPU_SETSIZE), and sched_setaffinity only reads it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
