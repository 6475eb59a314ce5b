//! What a connection reads from and writes to: a TCP socket when serving, or an in-memory
//! transport for [`TestServer`](crate::TestServer) and the connection's own tests.
//!
//! [`Conn`](crate::server::conn::Conn) is generic over [`Transport`], so the socket path is the
//! same code as before the abstraction (each call is the `sys` function it was, inlined),
//! and the in-memory one exercises the very state machine the server runs. The in-memory
//! transport scripts what sockets do to a server (as hyper's `AsyncIo` and actix-http's
//! `TestBuffer` do): input arriving in pieces, reads that would block, end of input
//! (the client's half-close), short writes, writes that would block, write errors.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, IoSlice};
use std::net::Shutdown;

use bytes::{BufMut, BytesMut};
use mio::net::TcpStream;

use crate::server::sys;

/// The byte stream under a connection: a nonblocking socket or its stand-in.
///
/// Reads and writes follow the socket's contract: `Ok(0)` from a read is the end of input,
/// `WouldBlock` means nothing can move now (readiness will say when it can), a write may
/// take fewer bytes than offered.
pub(crate) trait Transport {
    /// Reads into the spare capacity of `buf`, growing its length by what was read.
    fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize>;
    /// Reads into `buf` (input to discard).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize>;
    /// Writes `buf`; returns how much was taken.
    fn send(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Writes `bufs` in order, as one gathered write; returns how much was taken.
    fn send_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// [`Transport::send_vectored`] for bytes a file's bytes follow at once (see
    /// `sys::send_vectored_more`).
    fn send_vectored_more(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_vectored(bufs)
    }
    /// Writes up to `count` bytes of `file` from `offset`; returns how much was taken
    /// (`Ok(0)` at the end of the file).
    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize>;
    /// Whether the peer has closed its side: looks at input without taking it; `Ok(false)`
    /// when input is waiting, `WouldBlock` when there is none yet.
    fn peek_eof(&mut self) -> io::Result<bool>;
    /// Closes our sending side (the peer reads the end of our output).
    fn shutdown_write(&mut self) -> io::Result<()>;
}

impl Transport for TcpStream {
    #[inline(always)]
    fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        sys::read_into(self, buf)
    }

    #[inline(always)]
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        io::Read::read(self, buf)
    }

    #[inline(always)]
    fn send(&mut self, buf: &[u8]) -> io::Result<usize> {
        sys::send(self, buf)
    }

    #[inline(always)]
    fn send_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        sys::send_vectored(self, bufs)
    }

    fn send_vectored_more(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        sys::send_vectored_more(self, bufs)
    }

    #[inline(always)]
    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        sys::sendfile(self, file, offset, count)
    }

    #[inline(always)]
    fn peek_eof(&mut self) -> io::Result<bool> {
        sys::peek_eof(self)
    }

    #[inline(always)]
    fn shutdown_write(&mut self) -> io::Result<()> {
        TcpStream::shutdown(self, Shutdown::Write)
    }
}

/// One step of what the peer sends.
#[derive(Debug)]
enum Input {
    /// Bytes that arrived together: one read returns at most these (a short read, as a
    /// socket returns what has arrived), so each piece costs the server one read.
    Data(Vec<u8>),
    /// The next read finds nothing yet (`WouldBlock`), though more input follows.
    #[cfg_attr(not(test), allow(dead_code))]
    Block,
}

/// An in-memory transport: scripted input, recorded output.
///
/// Input is a queue of pieces; a read returns at most the front piece (and at most the
/// space offered), so a test decides exactly where the server's reads end. Once the queue
/// is empty a read returns `WouldBlock`, or `Ok(0)` after [`close_input`] (the peer's
/// half-close). Writes append to [`written`](MemoryTransport::written), within an optional
/// cap per write (short writes) and an optional budget after which writes return
/// `WouldBlock` until [`allow_writes`] raises it.
///
/// [`close_input`]: MemoryTransport::close_input
/// [`allow_writes`]: MemoryTransport::allow_writes
#[derive(Debug, Default)]
pub(crate) struct MemoryTransport {
    input: VecDeque<Input>,
    /// The peer half-closed: reads past the queued input return `Ok(0)`.
    input_closed: bool,
    /// Every byte the server wrote, in order.
    pub(crate) written: Vec<u8>,
    /// Most bytes one write takes (`None`: all offered).
    write_cap: Option<usize>,
    /// Bytes writes may still take before they return `WouldBlock` (`None`: unbounded).
    write_budget: Option<usize>,
    /// The error the next write returns, once.
    write_error: Option<io::ErrorKind>,
    /// The server shut down its sending side.
    pub(crate) write_closed: bool,
    /// Calls of each kind, for tests that count the server's work.
    pub(crate) reads: usize,
    pub(crate) writes: usize,
}

impl MemoryTransport {
    /// A transport with no input yet and writes unbounded.
    pub(crate) fn new() -> MemoryTransport {
        MemoryTransport::default()
    }

    /// The peer sends `bytes`, taken by one read (or more if the server offers less space).
    pub(crate) fn push_input(&mut self, bytes: &[u8]) {
        self.input.push_back(Input::Data(bytes.to_vec()));
    }

    /// The next read after the input queued so far returns `WouldBlock`.
    #[cfg(test)]
    pub(crate) fn push_block(&mut self) {
        self.input.push_back(Input::Block);
    }

    /// The peer half-closes: once the queued input is read, reads return `Ok(0)`. With
    /// input still queued this is data and end of input arriving together, which a
    /// socket's readiness event reports as read-closed: a test says so with
    /// `Conn::note_read_closed`, as the event loop does.
    pub(crate) fn close_input(&mut self) {
        self.input_closed = true;
    }

    /// Input queued and not read yet, in bytes.
    #[cfg(test)]
    pub(crate) fn unread(&self) -> usize {
        self.input
            .iter()
            .map(|i| match i {
                Input::Data(d) => d.len(),
                Input::Block => 0,
            })
            .sum()
    }

    /// Each write takes at most `cap` bytes.
    #[cfg(test)]
    pub(crate) fn cap_writes(&mut self, cap: usize) {
        self.write_cap = Some(cap);
    }

    /// Writes take `bytes` more in all, then return `WouldBlock`; `None`: unbounded.
    #[cfg(test)]
    pub(crate) fn allow_writes(&mut self, bytes: Option<usize>) {
        self.write_budget = bytes;
    }

    /// The next write fails with `kind`.
    #[cfg(test)]
    pub(crate) fn fail_next_write(&mut self, kind: io::ErrorKind) {
        self.write_error = Some(kind);
    }

    /// Takes what was written so far.
    pub(crate) fn take_written(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.written)
    }

    /// Reads at most `max` bytes as a socket would (see the type's docs), handing them
    /// to `sink`.
    fn read_with(&mut self, max: usize, sink: impl FnOnce(&[u8])) -> io::Result<usize> {
        self.reads += 1;
        match self.input.front_mut() {
            Some(Input::Block) => {
                self.input.pop_front();
                Err(io::ErrorKind::WouldBlock.into())
            }
            Some(Input::Data(data)) => {
                let n = data.len().min(max);
                sink(&data[..n]);
                if n == data.len() {
                    self.input.pop_front();
                } else {
                    data.drain(..n);
                }
                Ok(n)
            }
            None if self.input_closed => Ok(0),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Takes what a write may of `offered` bytes, as a socket would (see the type's docs).
    fn writable(&mut self, offered: usize) -> io::Result<usize> {
        self.writes += 1;
        if let Some(kind) = self.write_error.take() {
            return Err(kind.into());
        }
        if self.write_closed {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let mut n = offered.min(self.write_cap.unwrap_or(usize::MAX));
        if let Some(budget) = self.write_budget.as_mut() {
            if *budget == 0 && offered > 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            n = n.min(*budget);
            *budget -= n;
        }
        Ok(n)
    }
}

impl Transport for MemoryTransport {
    fn read_into(&mut self, buf: &mut BytesMut) -> io::Result<usize> {
        let spare = buf.capacity() - buf.len();
        self.read_with(spare, |bytes| buf.put_slice(bytes))
    }

    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.read_with(buf.len(), |bytes| buf[..bytes.len()].copy_from_slice(bytes))
    }

    fn send(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.writable(buf.len())?;
        self.written.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn send_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let offered = bufs.iter().map(|b| b.len()).sum();
        let mut n = self.writable(offered)?;
        let taken = n;
        for b in bufs {
            let part = b.len().min(n);
            self.written.extend_from_slice(&b[..part]);
            n -= part;
        }
        Ok(taken)
    }

    fn send_file(&mut self, file: &File, offset: u64, count: usize) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        // As sendfile(2): what the file has from `offset`, at most `count`, within what a
        // write may take; read here with pread.
        let mut chunk = vec![0u8; count.min(256 * 1024)];
        let available = file.read_at(&mut chunk, offset)?;
        let n = self.writable(available)?;
        self.written.extend_from_slice(&chunk[..n]);
        Ok(n)
    }

    fn peek_eof(&mut self) -> io::Result<bool> {
        match self.input.front() {
            Some(Input::Data(_)) => Ok(false),
            Some(Input::Block) => Err(io::ErrorKind::WouldBlock.into()),
            None if self.input_closed => Ok(true),
            None => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    fn shutdown_write(&mut self) -> io::Result<()> {
        self.write_closed = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_transport_reads_and_writes_as_scripted() {
        let mut t = MemoryTransport::new();
        t.push_input(b"abcdef");
        t.push_block();
        t.push_input(b"gh");
        let mut buf = BytesMut::with_capacity(4);
        // A read returns at most the space offered, then the rest of the same piece.
        assert_eq!(t.read_into(&mut buf).unwrap(), 4);
        assert_eq!(t.unread(), 4);
        buf.clear();
        assert_eq!(t.read_into(&mut buf).unwrap(), 2);
        assert_eq!(&buf[..], b"ef");
        assert_eq!(t.peek_eof().unwrap_err().kind(), io::ErrorKind::WouldBlock);
        assert_eq!(
            t.read_into(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        assert!(!t.peek_eof().unwrap());
        let mut sink = [0u8; 8];
        assert_eq!(t.read(&mut sink).unwrap(), 2);
        assert_eq!(
            t.read(&mut sink).unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        t.close_input();
        assert!(t.peek_eof().unwrap());
        assert_eq!(t.read(&mut sink).unwrap(), 0);
        assert_eq!(t.reads, 6);

        t.cap_writes(3);
        t.allow_writes(Some(5));
        assert_eq!(t.send(b"12345").unwrap(), 3);
        let bufs = [IoSlice::new(b"4"), IoSlice::new(b"56")];
        assert_eq!(t.send_vectored(&bufs).unwrap(), 2);
        assert_eq!(t.send(b"7").unwrap_err().kind(), io::ErrorKind::WouldBlock);
        t.allow_writes(None);
        t.fail_next_write(io::ErrorKind::ConnectionReset);
        assert_eq!(
            t.send(b"7").unwrap_err().kind(),
            io::ErrorKind::ConnectionReset
        );
        assert_eq!(t.send(b"7").unwrap(), 1);
        assert_eq!(t.take_written(), b"123457");
        t.shutdown_write().unwrap();
        assert_eq!(t.send(b"8").unwrap_err().kind(), io::ErrorKind::BrokenPipe);
        assert_eq!(t.writes, 6);
    }
}
