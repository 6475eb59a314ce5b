//! Request forms: `multipart/form-data` bodies read part by part as they arrive, fields
//! kept as text and files spooled (in memory up to a threshold, then in an anonymous
//! temporary file), with Starlette's limits and answers.
//!
//! ```
//! use fasterapi_http::form::{FormLimits, FormValue, MultipartReader};
//!
//! let body = b"--b\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n\
//!              --b\r\nContent-Disposition: form-data; name=\"doc\"; filename=\"a.txt\"\r\n\
//!              Content-Type: text/plain\r\n\r\nfile body\r\n--b--\r\n";
//! let mut reader = MultipartReader::new(b"multipart/form-data; boundary=b", FormLimits::default())?;
//! reader.feed(&body[..10])?; // pieces of any size, as the body arrives
//! reader.feed(&body[10..])?;
//! let form = reader.finish()?;
//! assert!(matches!(&form[0], (name, FormValue::Text(v)) if name == "note" && v == "hi"));
//! let (_, FormValue::File(doc)) = &form[1] else { panic!("a file") };
//! assert_eq!((doc.filename.as_str(), doc.size), ("a.txt", 9));
//! # Ok::<(), fasterapi_http::form::FormError>(())
//! ```
//!
//! A file part's `filename` is the client's text, kept as data: nothing here makes a path
//! of it. Spool files are created unnamed (`O_TMPFILE`) in the temporary directory
//! (`TMPDIR`), so they vanish when closed, whatever the client sent.
//!
//! Where a file's bytes are kept: up to [`FormLimits::spool_max_size`] (1 MiB, Starlette's
//! threshold) in its own buffer; past it in the process's upload memory
//! ([`MemoryFile`]: pieces of 1 MiB, reused from file to file, at most
//! [`set_upload_memory`] bytes of them for all files of the process together); when that
//! memory is taken by other files, in a temporary file. A spool file costs the kernel a
//! copy into the page cache, the file system's bookkeeping for each new page and a copy
//! back out; reused memory costs one copy in and one out.

use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use crate::http::response::StatusCode;
use crate::proto::multipart::{self, Event, Malformed, Parser};

/// The limits of one form. The defaults are Starlette's (`request.form()` and FastAPI's
/// form parameters); files have no size limit but the server's body limit
/// ([`Config::max_body_bytes`](crate::Config::max_body_bytes)) unless `max_file_size`
/// is set.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct FormLimits {
    /// Most file parts (those with a `filename`); more is 400.
    pub max_files: usize,
    /// Most other parts (fields); more is 400.
    pub max_fields: usize,
    /// Largest field (a part without `filename`) in bytes; more is 400.
    pub max_part_size: usize,
    /// Largest file part in bytes; more is 413.
    pub max_file_size: u64,
    /// Bytes of a file kept in memory; past it the file moves to a temporary file.
    pub spool_max_size: usize,
    /// Largest header section of one part; more is 400.
    pub max_part_head: usize,
}

impl Default for FormLimits {
    fn default() -> FormLimits {
        FormLimits {
            max_files: 1000,
            max_fields: 1000,
            max_part_size: 1024 * 1024,
            max_file_size: u64::MAX,
            spool_max_size: 1024 * 1024,
            max_part_head: 16 * 1024,
        }
    }
}

/// Why a form was refused: the status and the `detail` to answer with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormError {
    /// 400 for malformed bodies and the count and field limits (as Starlette answers),
    /// 413 for a file over `max_file_size`, 500 when a spool file could not be written.
    pub status: StatusCode,
    /// The message, Starlette's where it has one.
    pub detail: String,
}

impl FormError {
    fn bad(detail: impl Into<String>) -> FormError {
        FormError {
            status: StatusCode::BAD_REQUEST,
            detail: detail.into(),
        }
    }
}

impl From<Malformed> for FormError {
    fn from(m: Malformed) -> FormError {
        // Starlette answers every parse error with this one sentence; the reason is kept
        // after it.
        FormError::bad(format!("Invalid multipart data: {}.", m.reason()))
    }
}

impl From<io::Error> for FormError {
    fn from(e: io::Error) -> FormError {
        FormError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            detail: format!("could not spool an uploaded file: {e}"),
        }
    }
}

impl std::fmt::Display for FormError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.detail)
    }
}

impl std::error::Error for FormError {}

/// A file's content: in memory, or in an unnamed temporary file (positioned at its start).
#[derive(Debug)]
pub enum Spooled {
    /// Up to [`FormLimits::spool_max_size`] bytes.
    Memory(Vec<u8>),
    /// Larger files while the process's upload memory ([`set_upload_memory`]) has room.
    Pooled(MemoryFile),
    /// Larger files past that; the file is deleted when closed.
    File(File),
}

/// Bytes of one piece of the upload memory: Starlette's spool threshold (1 MiB), also a
/// common size for an app's reads of an upload (`await file.read(1024 * 1024)`), which a
/// [`PieceSource`] may then hand out without a copy ([`MemoryFile::lend`]). A file whose
/// source asks for it ([`PieceSource::whole`]) is kept in one piece of its body's size
/// instead, which a whole read (`await file.read()`) may get without a copy.
pub const PIECE: usize = 1024 * 1024;

/// Where the pieces of the upload memory come from: the process's allocator by default
/// ([`set_piece_source`] changes it). The functions may be called on any thread, never
/// while a lock of the upload memory that another thread may wait for is held (the
/// pool's, the list of growing files, another upload's file), so they may take other
/// locks (an embedded interpreter's).
#[derive(Debug)]
pub struct PieceSource {
    /// A new piece of `n` bytes ([`PIECE`], or a whole file's): the start of its `n`
    /// writable bytes and a token naming it for the functions below; `None` when no
    /// memory can be had.
    pub make: fn(usize) -> Option<(NonNull<u8>, usize)>,
    /// Whether the next large files should be kept in one piece each, of their body's
    /// size, while the upload memory has room (the app read the last one whole).
    pub whole: fn() -> bool,
    /// The piece of `token`, one file's whole, holds `len` bytes from now on: called once,
    /// before it is first lent whole ([`MemoryFile::lend`]).
    pub shrink: fn(usize, usize),
    /// Whether the piece of `token`, which was lent ([`MemoryFile::lend`]), may be
    /// written again: nobody else holds its bytes any more (the source forgets what it
    /// knew of them). False: others still read them, and the upload memory lets the
    /// piece go ([`PieceSource::release`]); its bytes stay theirs.
    pub reclaim: fn(usize) -> bool,
    /// Gives up the upload memory's hold on the piece of `n` bytes at `start` named
    /// `token`.
    pub release: fn(NonNull<u8>, usize, usize),
}

/// Pieces from the process's allocator (the default [`PieceSource`]); never lent.
static HEAP: PieceSource = PieceSource {
    make: heap_make,
    whole: || false,
    shrink: |_, _| {},
    reclaim: |_| true,
    release: heap_release,
};

fn heap_make(n: usize) -> Option<(NonNull<u8>, usize)> {
    let piece: Box<[u8]> = vec![0; n].into_boxed_slice();
    Some((NonNull::new(Box::into_raw(piece).cast::<u8>())?, 0))
}

fn heap_release(start: NonNull<u8>, _token: usize, n: usize) {
    // SAFETY: `start` is the start of a `Box<[u8]>` of `n` bytes leaked by `heap_make`,
    // released once (only `Piece::drop` calls this, and each piece drops once).
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(start.as_ptr(), n)) });
}

/// One piece of upload memory: `cap` bytes ([`PIECE`], or a whole file's) from `source`,
/// owned here alone until lent (then others read them, and nothing writes them until the
/// source reclaims them).
struct Piece {
    start: NonNull<u8>,
    token: usize,
    cap: usize,
    source: &'static PieceSource,
}

// SAFETY: a piece's bytes belong to whoever holds the `Piece` (the pool or one file), and
// a `PieceSource`'s functions may be called on any thread (its contract).
unsafe impl Send for Piece {}
// SAFETY: a shared `&Piece` only reads its bytes (`bytes`), which nothing writes meanwhile.
unsafe impl Sync for Piece {}

impl Piece {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `start` begins `cap` bytes that live until `release` (in `drop`) and
        // that nothing writes while `self` is borrowed (only `bytes_mut` does, and
        // never for a lent piece that was not reclaimed).
        unsafe { std::slice::from_raw_parts(self.start.as_ptr(), self.cap) }
    }

    fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`; a piece being written is not lent (files in the making
        // lend nothing, and lent pieces come back to the pool only through `reclaim`).
        unsafe { std::slice::from_raw_parts_mut(self.start.as_ptr(), self.cap) }
    }
}

impl Drop for Piece {
    fn drop(&mut self) {
        (self.source.release)(self.start, self.token, self.cap);
    }
}

/// The upload memory of the process: pieces of [`PIECE`] bytes, kept for reuse once
/// allocated (a reused piece costs no page faults), at most `limit` bytes of them.
struct Pool {
    free: Vec<Piece>,
    /// Bytes of pieces allocated: those in files and the free ones.
    allocated: usize,
    limit: usize,
    source: &'static PieceSource,
}

/// The default of [`set_upload_memory`] (and of `Config::upload_memory_bytes`).
pub const DEFAULT_UPLOAD_MEMORY: usize = 12 * 1024 * 1024;

static POOL: Mutex<Pool> = Mutex::new(Pool {
    free: Vec::new(),
    allocated: 0,
    limit: DEFAULT_UPLOAD_MEMORY,
    source: &HEAP,
});

fn pool() -> MutexGuard<'static, Pool> {
    // The pool is consistent after every statement, so a panic elsewhere while it was
    // locked leaves nothing half done.
    POOL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Sets the bytes of memory that the files of all forms of this process may be kept in
/// past [`FormLimits::spool_max_size`] together (default
/// [`DEFAULT_UPLOAD_MEMORY`], 12 MiB); a file that finds no room goes to a temporary
/// file. The memory, once used, stays with the process for the next files, so it is
/// also what uploads add to its resident memory at most. 0 sends every such file to a
/// temporary file. Lowering it frees the unused pieces past the new limit at once, the
/// others as their files are dropped.
pub fn set_upload_memory(bytes: usize) {
    let mut p = pool();
    p.limit = bytes;
    let mut gone = Vec::new();
    while p.allocated > p.limit {
        let Some(piece) = p.free.pop() else { break };
        p.allocated -= PIECE;
        gone.push(piece);
    }
    drop(p);
    // Released with the lock given back: a source may take other locks.
    drop(gone);
}

/// Sets where new pieces of upload memory come from (pieces made before stay as they
/// are, and go back to their own source). The unused pieces are let go, so that the next
/// ones are the new source's.
pub fn set_piece_source(source: &'static PieceSource) {
    let mut p = pool();
    p.source = source;
    p.allocated -= p.free.len() * PIECE;
    let gone = std::mem::take(&mut p.free);
    drop(p);
    drop(gone);
}

/// The upload memory now: `(in files, allocated, limit)` in bytes.
pub fn upload_memory() -> (usize, usize, usize) {
    let p = pool();
    (p.allocated - p.free.len() * PIECE, p.allocated, p.limit)
}

/// A piece of upload memory, if the limit leaves room for one.
fn take_piece() -> Option<Piece> {
    let mut p = pool();
    if let Some(piece) = p.free.pop() {
        return Some(piece);
    }
    if p.allocated + PIECE > p.limit {
        return None;
    }
    p.allocated += PIECE;
    let source = p.source;
    drop(p);
    make_piece(source, PIECE)
}

/// A new piece of `n` bytes from `source`, its bytes counted in the pool's `allocated`
/// already (given back if none can be made).
fn make_piece(source: &'static PieceSource, n: usize) -> Option<Piece> {
    match (source.make)(n) {
        Some((start, token)) => Some(Piece {
            start,
            token,
            cap: n,
            source,
        }),
        None => {
            pool().allocated -= n;
            None
        }
    }
}

/// A piece for a whole file of at most `n` bytes, when the source asks for such pieces,
/// the last [`ALONE_BEFORE_WHOLE`] large uploads came alone, no other file is in the upload
/// memory, and the limit leaves room for it (free pieces are let go to make room). Only
/// for uploads that come alone: uploads arriving together go through the memory one
/// after the other in pieces (see [`should_wait`]), whereas a whole file's piece takes
/// most of it at once, and switching between the two makes the memory's pieces anew
/// (four 10 MiB uploads at once, each read whole, with only "no other file in the memory"
/// asked: 3.9-5.5 against 2.9-3.6 ms of server CPU per upload, up to 780 page faults per
/// upload; with "no other large upload in progress" too, 3.8-4.3 and 108-147 faults).
fn take_whole(n: usize) -> Option<Piece> {
    let source = pool().source;
    if ALONE_IN_A_ROW.load(Ordering::Relaxed) < ALONE_BEFORE_WHOLE
        || LARGE_INTAKES.load(Ordering::Relaxed) > 1
        || !(source.whole)()
    {
        return None;
    }
    let mut p = pool();
    if p.allocated > p.free.len() * PIECE {
        return None;
    }
    let mut gone = Vec::new();
    while p.allocated + n > p.limit {
        let Some(piece) = p.free.pop() else { break };
        p.allocated -= piece.cap;
        gone.push(piece);
    }
    let fits = p.allocated + n <= p.limit && std::ptr::eq(p.source, source);
    if fits {
        p.allocated += n;
    }
    drop(p);
    drop(gone);
    fits.then(|| make_piece(source, n)).flatten()
}

/// A file's content in the process's upload memory ([`set_upload_memory`]); its memory
/// goes back to the process's pool when it is dropped.
#[derive(Default)]
pub struct MemoryFile {
    pieces: Vec<Piece>,
    len: usize,
    /// Whether its one piece is the whole file's ([`take_whole`]) rather than pieces of
    /// [`PIECE`] bytes.
    whole: bool,
    /// Whether a piece was lent ([`MemoryFile::lend`]).
    lent: bool,
    /// Whether the whole file's piece was shrunk to the content ([`PieceSource::shrink`]).
    shrunk: bool,
}

impl std::fmt::Debug for MemoryFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryFile")
            .field("len", &self.len)
            .finish()
    }
}

impl MemoryFile {
    /// Bytes of content.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it has no content.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The content, in order, as slices.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> {
        let mut left = self.len;
        self.pieces.iter().map(move |p| {
            let n = left.min(p.cap);
            left -= n;
            &p.bytes()[..n]
        })
    }

    /// The piece and the offset in it of the content's byte `pos`.
    fn locate(&self, pos: usize) -> (usize, usize) {
        if self.whole {
            (0, pos)
        } else {
            (pos / PIECE, pos % PIECE)
        }
    }

    /// Bytes of memory its pieces hold.
    fn held(&self) -> usize {
        self.pieces.iter().map(|p| p.cap).sum()
    }

    /// Copies the content from byte `pos` into `out`, as much as fits; the bytes copied.
    pub fn read_at(&self, pos: usize, out: &mut [u8]) -> usize {
        let mut done = 0;
        let mut at = pos;
        while done < out.len() && at < self.len {
            let (i, off) = self.locate(at);
            let piece = self.pieces[i].bytes();
            let n = (piece.len() - off).min(self.len - at).min(out.len() - done);
            out[done..done + n].copy_from_slice(&piece[off..off + n]);
            done += n;
            at += n;
        }
        done
    }

    /// The token of the piece of `source` whose bytes are exactly the content's bytes
    /// `pos..pos + n`, if they are one whole piece from `source` (a piece of [`PIECE`]
    /// bytes, or the whole file's, shrunk to the content first): the source may then hand
    /// those bytes out as they are, no copy (fasterapi-py: the piece is a Python `bytes`,
    /// which `read(1024 * 1024)`, or `read()` of a whole file's piece, returns). The piece
    /// is not written again while others hold it: when the file is dropped,
    /// [`PieceSource::reclaim`] says whether it may go back to the pool.
    pub fn lend(&mut self, pos: usize, n: usize, source: &'static PieceSource) -> Option<usize> {
        let whole = self.whole && pos == 0 && n == self.len;
        if !whole && (self.whole || n != PIECE || pos % PIECE != 0 || pos + n > self.len) {
            return None;
        }
        let piece = self.pieces.get(pos / PIECE)?;
        if !std::ptr::eq(piece.source, source) {
            return None;
        }
        if whole && !self.shrunk {
            (source.shrink)(piece.token, n);
            self.shrunk = true;
        }
        self.lent = true;
        Some(piece.token)
    }

    /// Once the file ended: a whole file's piece, made for the rest of the body (see
    /// [`take_whole`]), also holds the room of the parts after the file; when that is a
    /// piece or more, the content moves to a new piece of its size and the larger one
    /// goes back, so that the files after it find the memory (one copy of this file,
    /// against theirs going to temporary files). The last file of a body keeps its piece:
    /// less than a piece of it is not the file's.
    fn fit(&mut self) {
        let Some(piece) = self
            .pieces
            .first()
            .filter(|p| self.whole && p.cap - self.len >= PIECE)
        else {
            return;
        };
        let source = piece.source;
        let Some((start, token)) = (source.make)(self.len) else {
            return;
        };
        let mut fitted = Piece {
            start,
            token,
            cap: self.len,
            source,
        };
        fitted
            .bytes_mut()
            .copy_from_slice(&piece.bytes()[..self.len]);
        let old = std::mem::replace(&mut self.pieces[0], fitted);
        {
            let mut p = pool();
            p.allocated = p.allocated + self.len - old.cap;
        }
        FREED.fetch_add(1, Ordering::Relaxed);
        // Released with no lock of the upload memory held but this file's.
        drop(old);
    }

    /// Appends `data`; false (nothing appended) if the upload memory has no room for it.
    fn append(&mut self, data: &[u8]) -> bool {
        if self.whole {
            let piece = self.pieces[0].bytes_mut();
            let Some(room) = piece.get_mut(self.len..self.len + data.len()) else {
                return false;
            };
            room.copy_from_slice(data);
            self.len += data.len();
            return true;
        }
        let needed = (self.len + data.len()).div_ceil(PIECE);
        while self.pieces.len() < needed {
            match take_piece() {
                Some(p) => self.pieces.push(p),
                None => return false,
            }
        }
        let mut rest = data;
        while !rest.is_empty() {
            let off = self.len % PIECE;
            let n = (PIECE - off).min(rest.len());
            self.pieces[self.len / PIECE].bytes_mut()[off..off + n].copy_from_slice(&rest[..n]);
            self.len += n;
            rest = &rest[n..];
        }
        true
    }
}

/// Counts the times upload memory was given back (see [`upload_memory_freed`]).
static FREED: AtomicU64 = AtomicU64::new(0);

/// A number that changes whenever files give upload memory back: a connection waiting
/// for that memory ([`InPlace::WaitForMemory`]) is worth trying again once it changed.
pub(crate) fn upload_memory_freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}

impl Drop for MemoryFile {
    fn drop(&mut self) {
        if self.pieces.is_empty() {
            return;
        }
        FREED.fetch_add(1, Ordering::Relaxed);
        let mut pieces = std::mem::take(&mut self.pieces);
        // Lent pieces that others still hold leave the upload memory (their bytes are
        // theirs now); asked before the pool is locked (a source may take other locks).
        let mut gone = Vec::new();
        if self.lent {
            let (kept, held): (Vec<Piece>, Vec<Piece>) = pieces
                .into_iter()
                .partition(|p| (p.source.reclaim)(p.token));
            pieces = kept;
            gone = held;
        }
        let mut p = pool();
        p.allocated -= gone.iter().map(|piece| piece.cap).sum::<usize>();
        for piece in pieces {
            // A whole file's piece is never reused: the next file's size differs.
            if self.whole || p.allocated > p.limit {
                p.allocated -= piece.cap;
                gone.push(piece);
            } else {
                p.free.push(piece);
            }
        }
        drop(p);
        drop(gone);
    }
}

/// An uploaded file: a part with a `filename`.
#[derive(Debug)]
pub struct UploadedFile {
    /// The `filename` parameter, as sent (decoded as UTF-8, else Latin-1). Never a path.
    pub filename: String,
    /// The part's `Content-Type`, if it had one.
    pub content_type: Option<String>,
    /// The part's header lines, names lower-cased, values decoded as Latin-1.
    pub headers: Vec<(String, String)>,
    /// Bytes of content.
    pub size: u64,
    /// The content.
    pub content: Spooled,
}

/// A form value: a field's text or a file.
#[derive(Debug)]
pub enum FormValue {
    /// A part without `filename`, decoded as UTF-8 (else Latin-1), as Starlette does.
    Text(String),
    /// A part with a `filename`.
    File(UploadedFile),
}

/// A form's items, in the body's order: `(name, value)`.
pub type FormItems = Vec<(String, FormValue)>;

/// Where a streamed form waits for its handler ([`Request::take_form`](crate::Request::take_form)).
pub(crate) type FormSlot = std::cell::Cell<Option<Result<FormItems, FormError>>>;

/// A multipart body being read into a form as it arrives: the connection hands each piece
/// of the body over and forgets it.
#[derive(Debug)]
pub(crate) struct Intake {
    /// The reader, until it refused the body (then `refused` says why).
    reader: Option<MultipartReader>,
    refused: Option<FormError>,
    /// Body bytes not seen yet.
    left: usize,
    /// Since when the intake waits for upload memory (see [`Intake::read_in_place`]).
    waiting_since: Option<Instant>,
    /// Whether its body is larger than the spool threshold (counted in [`LARGE_INTAKES`]).
    large: bool,
}

/// Intakes of bodies larger than the spool threshold in progress in the process: a whole
/// file's piece ([`take_whole`]) is only for an upload that is alone.
static LARGE_INTAKES: AtomicUsize = AtomicUsize::new(0);

/// Large intakes begun alone (no other in progress) since one began beside another.
static ALONE_IN_A_ROW: AtomicUsize = AtomicUsize::new(0);

/// Large intakes that must have begun alone in a row before whole files' pieces are used.
const ALONE_BEFORE_WHOLE: usize = 4;

impl Drop for Intake {
    fn drop(&mut self) {
        if self.large {
            LARGE_INTAKES.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The longest an upload waits for upload memory before its file goes to a temporary
/// file as when it may not wait.
const MEMORY_WAIT: Duration = Duration::from_millis(20);

impl Intake {
    /// An intake for a body of `len` bytes with `content_type`.
    pub(crate) fn new(content_type: &[u8], limits: FormLimits, len: usize) -> Intake {
        let (reader, refused) = match MultipartReader::new(content_type, limits) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(e)),
        };
        let large = len > limits.spool_max_size;
        if large {
            if LARGE_INTAKES.fetch_add(1, Ordering::Relaxed) > 0 {
                ALONE_IN_A_ROW.store(0, Ordering::Relaxed);
            } else {
                ALONE_IN_A_ROW.fetch_add(1, Ordering::Relaxed);
            }
        }
        Intake {
            reader,
            refused,
            left: len,
            waiting_since: None,
            large,
        }
    }

    /// Reads what of `available` (the bytes after the head in the buffer) belongs to the
    /// body; `Some(n)` once the body ended, after `n` of them.
    pub(crate) fn take(&mut self, available: &[u8]) -> Option<usize> {
        let n = available.len().min(self.left);
        if let Some(reader) = &mut self.reader {
            reader.parts.unread = Some(self.left);
            if let Err(e) = reader.feed(&available[..n]) {
                // The rest of the body is read and discarded: the answer is the error.
                self.reader = None;
                self.refused = Some(e);
            }
        }
        self.left -= n;
        (self.left == 0).then_some(n)
    }

    /// Reads the body's next bytes with `read` straight into the upload memory when a
    /// file kept there is being read (see [`MultipartReader::read_in_place`]): `None` when
    /// not, and the caller reads into its buffer and calls [`Intake::take`] as usual. Never
    /// reads past the body's end. When the memory is full but other files will give some
    /// back (files ahead of this one, or ones their handlers hold), the answer is to wait
    /// ([`InPlace::WaitForMemory`]) rather than to move this file to a temporary file: the
    /// client's bytes wait in the socket meanwhile. Not longer than [`MEMORY_WAIT`] in a
    /// row, after which the file is spilled as before.
    pub(crate) fn read_in_place(
        &mut self,
        read: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
    ) -> Option<io::Result<InPlace>> {
        let reader = self.reader.as_mut()?;
        if self.left == 0 {
            return None;
        }
        let may_wait = self
            .waiting_since
            .is_none_or(|since| since.elapsed() < MEMORY_WAIT);
        let (done, refused) = match reader.read_in_place(self.left, may_wait, read)? {
            Ok((InPlace::WaitForMemory, _)) => {
                self.waiting_since.get_or_insert_with(Instant::now);
                return Some(Ok(InPlace::WaitForMemory));
            }
            Ok(done) => done,
            Err(e) => return Some(Err(e)),
        };
        self.waiting_since = None;
        if let InPlace::Read { read, .. } = done {
            self.left -= read;
        }
        if let Some(e) = refused {
            self.reader = None;
            self.refused = Some(e);
        }
        Some(Ok(done))
    }

    /// The form, once the body ended.
    pub(crate) fn finish(&mut self) -> Result<FormItems, FormError> {
        match (self.reader.take(), self.refused.take()) {
            (Some(reader), _) => reader.finish(),
            (None, Some(e)) => Err(e),
            (None, None) => Err(FormError::bad("the form was already read")),
        }
    }
}

/// The part being read.
enum Current {
    None,
    Field {
        name: String,
        data: Vec<u8>,
    },
    /// A file: its content in `file` while it is small, in `growing` past
    /// `spool_max_size` until its end.
    File {
        name: String,
        file: UploadedFile,
        growing: Option<GrowingFile>,
    },
}

/// A file past `spool_max_size` whose part has not ended: in the upload memory, or moved
/// to a temporary file, by its own reader or by another one that needed the memory.
#[derive(Default)]
struct Growing {
    memory: MemoryFile,
    spool: Option<File>,
    /// Bytes of its body still to come (0 when unknown).
    unread: usize,
}

type GrowingFile = Arc<Mutex<Growing>>;

/// The files growing in the upload memory now: when it runs out, the one with the most
/// body still to come goes to a temporary file, so that the memory serves the uploads
/// nearest to their end rather than whichever asked last (with four 10 MiB uploads
/// arriving at once into 12 MiB, one each would otherwise spill after filling its part).
static GROWING: Mutex<Vec<Weak<Mutex<Growing>>>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every state behind these locks is whole between statements.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Growing {
    /// Moves the content to a temporary file; its memory goes to `freed`, to be dropped
    /// (back to the pool, or released) once no other file is locked ([`grow`]).
    fn spill(&mut self, freed: &mut Vec<MemoryFile>) -> io::Result<()> {
        freed.push(std::mem::take(&mut self.memory));
        let memory = &freed[freed.len() - 1];
        let mut file = temporary_file()?;
        for s in memory.slices() {
            file.write_all(s)?;
        }
        self.spool = Some(file);
        Ok(())
    }
}

/// Starts a growing file with `kept`, registered with the others.
fn start_growing(kept: &[u8], unread: usize) -> io::Result<GrowingFile> {
    let me = GrowingFile::default();
    // The file is at most what it kept and the rest of the body.
    let most = kept.len() + unread;
    if unread > 0 && most > PIECE {
        if let Some(piece) = take_whole(most) {
            let mut g = lock(&me);
            g.memory.pieces.push(piece);
            g.memory.whole = true;
        }
    }
    {
        let mut all = lock(&GROWING);
        all.retain(|w| w.strong_count() > 0);
        all.push(Arc::downgrade(&me));
    }
    grow(&me, kept, unread)?;
    Ok(me)
}

/// Appends `data` to growing file `me`, with `unread` bytes of its body still to come;
/// when the memory is taken, the growing file with the most body still to come (`me`
/// unless another has more) moves to a temporary file, until `data` fits or `me` moved.
fn grow(me: &GrowingFile, data: &[u8], unread: usize) -> io::Result<()> {
    // The memory of files moved to temporary files, and the other files looked at, are
    // dropped with no file locked: a source's `release` may wait for a lock (the GIL)
    // that a thread holds while it waits for its own file, which this one may have
    // locked as the other file. Then `me` is locked again, and `data` tried again.
    loop {
        let mut freed = Vec::new();
        let mut others = Vec::new();
        let grown = grow_locked(me, data, unread, &mut freed, &mut others)?;
        drop(others);
        drop(freed);
        if grown {
            return Ok(());
        }
    }
}

/// [`grow`]'s work, with `me` (and the file moved, if another) locked: false when
/// another file was moved to a temporary file, its memory in `freed`, before `data` was
/// kept.
fn grow_locked(
    me: &GrowingFile,
    data: &[u8],
    unread: usize,
    freed: &mut Vec<MemoryFile>,
    others: &mut Vec<GrowingFile>,
) -> io::Result<bool> {
    let mut g = lock(me);
    g.unread = unread;
    loop {
        if let Some(spool) = &mut g.spool {
            spool.write_all(data)?;
            return Ok(true);
        }
        if g.memory.append(data) {
            return Ok(true);
        }
        match victim(me, unread) {
            Some(other) => {
                let moved = match other.try_lock() {
                    Ok(mut o) if o.spool.is_none() => {
                        o.spill(freed)?;
                        true
                    }
                    // A busy one (its reader on another thread) is passed over.
                    _ => {
                        g.spill(freed)?;
                        false
                    }
                };
                others.push(other);
                if moved {
                    return Ok(false);
                }
            }
            None => g.spill(freed)?,
        }
    }
}

/// The files growing in the upload memory now, taken out of [`GROWING`] before they
/// are looked at: one may be let go by its reader meanwhile, and then the reference
/// taken here, the last, drops its memory when it is dropped, which must not be while
/// `GROWING` is locked (see [`grow`]).
fn growing_now() -> Vec<GrowingFile> {
    lock(&GROWING).iter().filter_map(Weak::upgrade).collect()
}

/// The growing file in memory, other than `me`, with more than `unread` bytes of body
/// still to come and the most of them.
fn victim(me: &GrowingFile, unread: usize) -> Option<GrowingFile> {
    let mut best: Option<(usize, GrowingFile)> = None;
    for other in growing_now() {
        if Arc::ptr_eq(&other, me) {
            continue;
        }
        let Ok(o) = other.try_lock() else { continue };
        let more = o.unread;
        let in_memory = o.spool.is_none() && !o.memory.is_empty();
        drop(o);
        if in_memory && more > unread && best.as_ref().is_none_or(|(n, _)| more > *n) {
            best = Some((more, other));
        }
    }
    best.map(|(_, f)| f)
}

/// Whether a file that needs another piece of upload memory, with `unread` bytes of its
/// body still to come, should wait for one rather than take it (or, when there is none,
/// be spilled or have another file spilled): the memory left does not cover the rest of
/// the files ahead of it (growing in memory with less of their body to come) and a piece
/// for it, and memory will come back without it (files ahead end and their handlers
/// give theirs back; files that ended hold some). So uploads arriving together go
/// through the memory one after the other rather than all into a temporary file. `me`:
/// the file, if it is growing already (locked as the guard).
fn should_wait(me: Option<(&GrowingFile, &Growing)>, unread: usize) -> bool {
    let mut growing = me.map_or(0, |(_, g)| g.memory.held());
    let mut ahead = 0;
    // A file's last reference dropped here drops its memory with only `me` locked, which
    // only this thread waits for.
    for other in growing_now() {
        if me.is_some_and(|(me, _)| Arc::ptr_eq(&other, me)) {
            continue;
        }
        let Ok(o) = other.try_lock() else {
            // Busy on another thread: not counted.
            continue;
        };
        if o.spool.is_none() {
            growing += o.memory.held();
            if !o.memory.is_empty() && o.unread < unread {
                ahead += o.unread;
            }
        }
    }
    let (in_files, _, limit) = upload_memory();
    if limit.saturating_sub(in_files) >= ahead + PIECE {
        return false;
    }
    ahead > 0 || in_files > growing
}

/// The most one read into the upload memory asks for: a piece is 1 MiB, but reads of up
/// to 1 MiB cost the sending client more CPU per upload than reads of 256 KiB (wrk's
/// CPU per 10 MiB upload at one connection 2.21-2.41 against 2.12-2.28 ms in alternated
/// 3 s runs, the server's 1.9-2.44 against 1.84-2.31 ms).
const READ_IN_PLACE: usize = 256 * 1024;

/// Reads one `multipart/form-data` body, fed in pieces as it arrives.
pub struct MultipartReader {
    parser: Parser,
    parts: Parts,
}

/// What a [`MultipartReader`] made of the parser's events so far.
struct Parts {
    limits: FormLimits,
    /// Bytes of the body not fed yet, the piece being fed included, when known (the
    /// intake of a streamed form knows them).
    unread: Option<usize>,
    items: Vec<(String, FormValue)>,
    current: Current,
    files: usize,
    fields: usize,
}

impl std::fmt::Debug for MultipartReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MultipartReader")
            .field("items", &self.parts.items.len())
            .finish()
    }
}

/// Whether a `Content-Type` value is `multipart/form-data` (any parameters).
pub fn is_multipart(content_type: &[u8]) -> bool {
    let media = content_type.split(|&b| b == b';').next().unwrap_or(b"");
    media
        .trim_ascii()
        .eq_ignore_ascii_case(b"multipart/form-data")
}

/// What a read into the upload memory ([`Intake::read_in_place`]) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InPlace {
    /// Bytes read (0 at the end of input) and asked for.
    Read { read: usize, asked: usize },
    /// Nothing read: the memory is full for now, and other files give some back soon.
    WaitForMemory,
}

impl MultipartReader {
    /// A reader for a body of `content_type` (which must carry a `boundary`; without one
    /// the answer is Starlette's 400 "Missing boundary in multipart.").
    pub fn new(content_type: &[u8], limits: FormLimits) -> Result<MultipartReader, FormError> {
        let (_, options) = multipart::parse_options(content_type);
        let boundary = options
            .iter()
            .find(|(k, _)| k == b"boundary")
            .map(|(_, v)| v.as_slice())
            .ok_or_else(|| FormError::bad("Missing boundary in multipart."))?;
        let parser = Parser::new(boundary, limits.max_part_head).ok_or_else(|| {
            FormError::bad("Invalid multipart data: the boundary is empty or longer than 70 bytes.")
        })?;
        Ok(MultipartReader {
            parser,
            parts: Parts {
                limits,
                unread: None,
                items: Vec::new(),
                current: Current::None,
                files: 0,
                fields: 0,
            },
        })
    }

    /// Reads the next piece of the body.
    pub fn feed(&mut self, piece: &[u8]) -> Result<(), FormError> {
        let MultipartReader { parser, parts } = self;
        parser.feed(piece, &mut |event| parts.on(event))
    }

    /// Reads the next bytes of the body (at most `most`) with `read` straight into the
    /// upload memory of the file whose data is being read, where they stay: no copy
    /// from a read buffer. `None` when the reader is not in the data of a file kept in
    /// the upload memory, or that memory has no room for the next piece: the caller reads
    /// into its own buffer and [`feeds`](MultipartReader::feed) that, as before. With
    /// `may_wait`, [`InPlace::WaitForMemory`] (nothing read) when the memory should go to
    /// other files first ([`should_wait`]), also for a file not yet past the threshold.
    /// The refusal of the form, if the bytes read refused it, comes with what was read. A
    /// read error is returned as is, with nothing changed.
    pub(crate) fn read_in_place(
        &mut self,
        most: usize,
        may_wait: bool,
        read: &mut dyn FnMut(&mut [u8]) -> io::Result<usize>,
    ) -> Option<io::Result<(InPlace, Option<FormError>)>> {
        let MultipartReader { parser, parts } = self;
        let carry = parser.data_carry()?;
        let growing = match &parts.current {
            Current::File {
                growing: Some(growing),
                ..
            } => growing,
            // A file still in its own buffer, with more body to come than fits under the
            // threshold: it waits too while the memory is wanted by uploads ahead (with
            // the little of it read so far, rather than up to the threshold's worth).
            Current::File {
                growing: None,
                file:
                    UploadedFile {
                        content: Spooled::Memory(kept),
                        ..
                    },
                ..
            } if may_wait
                && most > parts.limits.spool_max_size.saturating_sub(kept.len())
                && should_wait(None, most) =>
            {
                return Some(Ok((InPlace::WaitForMemory, None)));
            }
            _ => return None,
        };
        // Held until the bytes are parsed: another reader that needs memory passes over a
        // file it cannot lock, so these pieces stay this file's.
        let growing = Arc::clone(growing);
        let mut g = lock(&growing);
        if g.spool.is_some() {
            return None;
        }
        // The carried bytes (which may begin a delimiter) go back in front of the new
        // ones, where they are in the stream: the parser then sees one contiguous input.
        let at = g.memory.len;
        let (index, offset) = g.memory.locate(at);
        let cap = g.memory.pieces.get(index).map_or(PIECE, |p| p.cap);
        let room = cap
            .checked_sub(offset + carry.len())?
            .min(most)
            .min(READ_IN_PLACE);
        if room == 0 {
            return None;
        }
        if g.memory.pieces.len() == index {
            if g.memory.whole {
                return None;
            }
            if may_wait && should_wait(Some((&growing, &g)), most) {
                return Some(Ok((InPlace::WaitForMemory, None)));
            }
            g.memory.pieces.push(take_piece()?);
        }
        let window = &mut g.memory.pieces[index].bytes_mut()[offset..offset + carry.len() + room];
        let carried = carry.len();
        window[..carried].copy_from_slice(carry);
        let n = match read(&mut window[carried..]) {
            Ok(n) => n,
            Err(e) => return Some(Err(e)),
        };
        let done = InPlace::Read {
            read: n,
            asked: room,
        };
        if n == 0 {
            return Some(Ok((done, None)));
        }
        parser.forget_carry();
        parts.unread = Some(most);
        let input = &window[..carried + n];
        let start = input.as_ptr();
        // The file's data in `input` is where it belongs already: the events only say how
        // much of it there is (the parser's data always begins at the input's start, since
        // nothing is carried) and where the part ends.
        let mut kept = 0;
        let mut ended = None;
        let parsed = parser.feed(input, &mut |event| match event {
            Event::Data(data) if ended.is_none() => {
                if !std::ptr::eq(data.as_ptr(), start.wrapping_add(kept)) {
                    return Err(FormError {
                        status: StatusCode::INTERNAL_SERVER_ERROR,
                        detail: "multipart data out of place".into(),
                    });
                }
                let Current::File { file, .. } = &mut parts.current else {
                    unreachable!("a file's data is read in place")
                };
                check_file_size(file, data.len(), &parts.limits)?;
                kept += data.len();
                Ok(())
            }
            Event::End if ended.is_none() => {
                let Current::File { name, file, .. } =
                    std::mem::replace(&mut parts.current, Current::None)
                else {
                    unreachable!("a file's data is read in place")
                };
                ended = Some(parts.items.len());
                // Its content once `input` is no longer borrowed, below.
                parts.items.push((name, FormValue::File(file)));
                Ok(())
            }
            event => parts.on(event),
        });
        g.memory.len += kept;
        g.unread = most - n;
        if let Some(i) = ended {
            if let (_, FormValue::File(file)) = &mut parts.items[i] {
                g.memory.fit();
                file.content = Spooled::Pooled(std::mem::take(&mut g.memory));
            }
        }
        Some(Ok((done, parsed.err())))
    }

    /// The form's items in order, once the body is complete (an error if its closing
    /// boundary never came).
    pub fn finish(self) -> Result<FormItems, FormError> {
        self.parser.finish()?;
        Ok(self.parts.items)
    }
}

impl Parts {
    /// Takes the parser's next event.
    fn on(&mut self, event: Event<'_>) -> Result<(), FormError> {
        let Parts {
            limits,
            unread,
            items,
            current,
            files,
            fields,
        } = self;
        match event {
            Event::Head(lines) => {
                *current = begin(&lines, limits, files, fields)?;
                Ok(())
            }
            Event::Data(data) => match current {
                Current::Field { data: kept, .. } => {
                    if kept.len() + data.len() > limits.max_part_size {
                        return Err(FormError::bad(format!(
                            "Part exceeded maximum size of {}KB.",
                            limits.max_part_size / 1024
                        )));
                    }
                    kept.extend_from_slice(data);
                    Ok(())
                }
                Current::File { file, growing, .. } => {
                    write_file(file, growing, data, limits, unread.unwrap_or(0))
                }
                Current::None => Ok(()),
            },
            Event::End => {
                match std::mem::replace(current, Current::None) {
                    Current::Field { name, data } => {
                        items.push((name, FormValue::Text(decode(data))))
                    }
                    Current::File {
                        name,
                        mut file,
                        growing,
                    } => {
                        if let Some(growing) = growing {
                            let mut g = lock(&growing);
                            file.content = match g.spool.take() {
                                Some(spool) => Spooled::File(spool),
                                None => {
                                    g.memory.fit();
                                    Spooled::Pooled(std::mem::take(&mut g.memory))
                                }
                            };
                        }
                        if let Spooled::File(f) = &mut file.content {
                            f.rewind()?;
                        }
                        items.push((name, FormValue::File(file)));
                    }
                    Current::None => {}
                }
                Ok(())
            }
        }
    }
}

/// The part that begins with head `lines`, counted against the limits.
fn begin(
    lines: &[(&[u8], &[u8])],
    limits: &FormLimits,
    files: &mut usize,
    fields: &mut usize,
) -> Result<Current, FormError> {
    let disposition = lines
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(b"content-disposition"))
        .map_or(&b""[..], |(_, v)| v);
    let (_, options) = multipart::parse_options(disposition);
    let option = |key: &[u8]| {
        options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    let name = option(b"name").ok_or_else(|| {
        FormError::bad("The Content-Disposition header field \"name\" must be provided.")
    })?;
    let name = decode(name);
    let Some(filename) = option(b"filename") else {
        *fields += 1;
        if *fields > limits.max_fields {
            return Err(FormError::bad(format!(
                "Too many fields. Maximum number of fields is {}.",
                limits.max_fields
            )));
        }
        return Ok(Current::Field {
            name,
            data: Vec::new(),
        });
    };
    *files += 1;
    if *files > limits.max_files {
        return Err(FormError::bad(format!(
            "Too many files. Maximum number of files is {}.",
            limits.max_files
        )));
    }
    let headers: Vec<(String, String)> = lines
        .iter()
        .map(|(n, v)| (latin1(n).to_ascii_lowercase(), latin1(v)))
        .collect();
    let content_type = headers
        .iter()
        .find(|(n, _)| n == "content-type")
        .map(|(_, v)| v.clone());
    Ok(Current::File {
        name,
        growing: None,
        file: UploadedFile {
            filename: decode(filename),
            content_type,
            headers,
            size: 0,
            content: Spooled::Memory(Vec::new()),
        },
    })
}

/// Appends `data` to a file part, moving it to the upload memory past the threshold (or
/// to a temporary file when that memory is taken); `unread`: bytes of the body still to
/// come, this piece's included (0 when unknown).
fn write_file(
    file: &mut UploadedFile,
    growing: &mut Option<GrowingFile>,
    data: &[u8],
    limits: &FormLimits,
    unread: usize,
) -> Result<(), FormError> {
    check_file_size(file, data.len(), limits)?;
    if let Some(g) = growing {
        return Ok(grow(g, data, unread)?);
    }
    match &mut file.content {
        Spooled::Memory(kept) if kept.len() + data.len() <= limits.spool_max_size => {
            kept.extend_from_slice(data);
        }
        Spooled::Memory(kept) => {
            let g = start_growing(kept, unread)?;
            kept.clear();
            kept.shrink_to_fit();
            grow(&g, data, unread)?;
            *growing = Some(g);
        }
        // Only `begin` makes the content (Memory), and the part's end the others.
        Spooled::Pooled(_) | Spooled::File(_) => unreachable!("a part's content before its end"),
    }
    Ok(())
}

/// Counts `more` bytes of `file`'s content: 413 past `max_file_size`.
fn check_file_size(
    file: &mut UploadedFile,
    more: usize,
    limits: &FormLimits,
) -> Result<(), FormError> {
    let size = file.size + more as u64;
    if size > limits.max_file_size {
        return Err(FormError {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            detail: format!(
                "File exceeded maximum size of {} bytes.",
                limits.max_file_size
            ),
        });
    }
    file.size = size;
    Ok(())
}

/// An unnamed file in the temporary directory: `O_TMPFILE`, or, where the file system
/// lacks it, a fresh name unlinked at once.
pub fn temporary_file() -> io::Result<File> {
    let dir = std::env::temp_dir();
    let unnamed = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .mode(0o600)
        .custom_flags(libc::O_TMPFILE)
        .open(&dir);
    match unnamed {
        Ok(f) => Ok(f),
        Err(_) => {
            use std::sync::atomic::{AtomicU64, Ordering};
            static NEXT: AtomicU64 = AtomicU64::new(0);
            loop {
                let n = NEXT.fetch_add(1, Ordering::Relaxed);
                let path = dir.join(format!(".fasterapi-upload-{}-{n}", std::process::id()));
                match std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)
                {
                    Ok(f) => {
                        std::fs::remove_file(&path)?;
                        return Ok(f);
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                    Err(e) => return Err(e),
                }
            }
        }
    }
}

/// Text as Starlette decodes a part's name and value: UTF-8, else Latin-1.
fn decode(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => latin1(e.as_bytes()),
    }
}

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::io::Read;

    use super::*;

    fn part(name: &str, filename: Option<&str>, data: &[u8]) -> Vec<u8> {
        let mut p = format!("--B\r\nContent-Disposition: form-data; name=\"{name}\"");
        if let Some(f) = filename {
            p += &format!("; filename=\"{f}\"\r\nContent-Type: application/x-thing");
        }
        p += "\r\n\r\n";
        [p.as_bytes(), data, b"\r\n"].concat()
    }

    fn read(
        body: &[u8],
        limits: FormLimits,
        piece: usize,
    ) -> Result<Vec<(String, FormValue)>, FormError> {
        let mut r = MultipartReader::new(b"multipart/form-data; boundary=\"B\"", limits)?;
        for chunk in body.chunks(piece) {
            r.feed(chunk)?;
        }
        r.finish()
    }

    #[test]
    fn small_files_stay_in_memory_large_ones_spool_to_an_unnamed_file() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let body = [
            part("a", None, "caf\u{e9}".as_bytes()),
            part("small", Some("../../etc/passwd"), b"tiny"),
            part("big", Some("big.bin"), &big),
            b"--B--".to_vec(),
        ]
        .concat();
        let limits = FormLimits {
            spool_max_size: 100_000,
            ..FormLimits::default()
        };
        let items = read(&body, limits, 8192).unwrap();
        assert!(matches!(&items[0], (n, FormValue::Text(t)) if n == "a" && t == "caf\u{e9}"));
        let (_, FormValue::File(small)) = &items[1] else {
            panic!()
        };
        // The name is the client's text, nothing more.
        assert_eq!(small.filename, "../../etc/passwd");
        assert_eq!(small.content_type.as_deref(), Some("application/x-thing"));
        assert_eq!(
            small.headers[1],
            ("content-type".into(), "application/x-thing".into())
        );
        assert!(matches!(&small.content, Spooled::Memory(m) if m == b"tiny"));
        let (_, FormValue::File(large)) = &items[2] else {
            panic!()
        };
        assert_eq!(large.size, big.len() as u64);
        assert!(content(&large.content) == big);
    }

    fn content(c: &Spooled) -> Vec<u8> {
        match c {
            Spooled::Memory(m) => m.clone(),
            Spooled::Pooled(m) => m.slices().collect::<Vec<_>>().concat(),
            Spooled::File(f) => {
                let mut back = Vec::new();
                (&*f).read_to_end(&mut back).unwrap();
                back
            }
        }
    }

    /// Held by the tests of this binary that put megabytes into the upload memory, which
    /// is the process's: each sees the memory as only its own files take it.
    pub(crate) static UPLOAD_MEMORY_TESTS: Mutex<()> = Mutex::new(());

    /// Pieces from the heap, counted, named by their address, held elsewhere while
    /// `HELD_ELSEWHERE` has their name.
    static COUNTED: PieceSource = PieceSource {
        make: |n| {
            MADE.fetch_add(1, Ordering::Relaxed);
            heap_make(n).map(|(start, _)| (start, start.as_ptr() as usize))
        },
        whole: || WHOLE.load(Ordering::Relaxed),
        shrink: |token, len| lock(&SHRUNK).push((token, len)),
        reclaim: |token| !lock(&HELD_ELSEWHERE).contains(&token),
        release: |start, token, n| {
            RELEASED.fetch_add(1, Ordering::Relaxed);
            heap_release(start, token, n)
        },
    };
    static WHOLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    static SHRUNK: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
    static MADE: AtomicU64 = AtomicU64::new(0);
    static RELEASED: AtomicU64 = AtomicU64::new(0);
    static HELD_ELSEWHERE: Mutex<Vec<usize>> = Mutex::new(Vec::new());

    /// A file lends exactly its whole pieces of the current source; lent pieces come back
    /// to the pool when the source reclaims them, and leave the upload memory (its count
    /// and the pool) when others still hold them, new pieces then made in their place.
    #[test]
    fn whole_pieces_are_lent_and_held_ones_leave_the_upload_memory() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        set_piece_source(&COUNTED);
        let data: Vec<u8> = (0..2 * PIECE + 10).map(|i| (i % 251) as u8).collect();
        let body = [part("f", Some("f"), &data), b"--B--".to_vec()].concat();
        let file = || {
            let Some((_, FormValue::File(f))) =
                read(&body, FormLimits::default(), 100_000).unwrap().pop()
            else {
                panic!("a file")
            };
            let Spooled::Pooled(m) = f.content else {
                panic!("in the upload memory")
            };
            assert!(m.slices().collect::<Vec<_>>().concat() == data);
            m
        };
        let made = MADE.load(Ordering::Relaxed);
        let mut m = file();
        assert_eq!(MADE.load(Ordering::Relaxed) - made, 3);
        // Only whole pieces, at their start, of this source.
        for (pos, n) in [
            (1, PIECE),
            (0, PIECE - 1),
            (0, PIECE + 1),
            (2 * PIECE, 10),
            (PIECE / 2, PIECE),
        ] {
            assert_eq!(m.lend(pos, n, &COUNTED), None, "{pos} {n}");
        }
        assert_eq!(m.lend(0, PIECE, &HEAP), None);
        assert!(!m.lent);
        let (t0, t1) = (m.lend(0, PIECE, &COUNTED), m.lend(PIECE, PIECE, &COUNTED));
        assert!(t0.is_some() && t1.is_some());
        // Reclaimed: back in the pool, reused by the next file.
        let released = RELEASED.load(Ordering::Relaxed);
        drop(m);
        assert_eq!(upload_memory().0, 0);
        let (_, allocated, _) = upload_memory();
        let mut m = file();
        assert_eq!(
            (
                MADE.load(Ordering::Relaxed) - made,
                RELEASED.load(Ordering::Relaxed)
            ),
            (3, released)
        );
        // Held elsewhere: the lent pieces leave the memory, the other one stays.
        let held = [
            m.lend(0, PIECE, &COUNTED).unwrap(),
            m.lend(PIECE, PIECE, &COUNTED).unwrap(),
        ];
        lock(&HELD_ELSEWHERE).extend(held);
        drop(m);
        assert_eq!(RELEASED.load(Ordering::Relaxed) - released, 2);
        assert_eq!(upload_memory().0, 0);
        assert_eq!(upload_memory().1, allocated - 2 * PIECE);
        // New pieces in their place (a file that lent nothing is not asked about them).
        drop(file());
        lock(&HELD_ELSEWHERE).clear();
        assert_eq!(MADE.load(Ordering::Relaxed) - made, 5);
        assert_eq!(upload_memory().1, allocated);
        // The pool's pieces are let go when the source changes.
        set_piece_source(&HEAP);
        assert_eq!(
            RELEASED.load(Ordering::Relaxed) - released,
            2 + (allocated / PIECE) as u64
        );
        assert_eq!(upload_memory().1, 0);
    }

    /// While the source asks for whole files, a large file's body is read into one piece
    /// of the body's size (the pool's free pieces let go to make room), which is lent only
    /// whole, shrunk to the content once, and never pooled; without room for it, pieces.
    #[test]
    fn a_whole_file_s_piece_is_lent_only_whole() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        set_piece_source(&COUNTED);
        WHOLE.store(true, Ordering::Relaxed);
        // Other tests' overlapping intakes (all of them hold UPLOAD_MEMORY_TESTS) are over.
        ALONE_IN_A_ROW.store(ALONE_BEFORE_WHOLE, Ordering::Relaxed);
        let data: Vec<u8> = (0..3 * PIECE + 77).map(|i| (i % 253) as u8).collect();
        let body = [part("f", Some("f"), &data), b"--B--\r\n".to_vec()].concat();
        // The form of `body` read as a connection reads it, `cut` bytes at most at a time.
        let intake = |body: &[u8], cut: usize| {
            let ct = b"multipart/form-data; boundary=B";
            let mut intake = Intake::new(ct, FormLimits::default(), body.len());
            let mut at = 0;
            loop {
                let mut next = |into: &mut [u8]| {
                    let n = into.len().min(cut).min(body.len() - at);
                    into[..n].copy_from_slice(&body[at..at + n]);
                    at += n;
                    Ok(n)
                };
                let done = match intake.read_in_place(&mut next) {
                    Some(r) => {
                        r.unwrap();
                        intake.take(&[]).is_some()
                    }
                    None => {
                        let mut buf = vec![0; cut];
                        let n = next(&mut buf).unwrap();
                        intake.take(&buf[..n]).is_some()
                    }
                };
                if done {
                    break;
                }
            }
            intake.finish().unwrap()
        };
        let upload = |cut: usize| {
            let Some((_, FormValue::File(f))) = intake(&body, cut).pop() else {
                panic!("a file")
            };
            let Spooled::Pooled(m) = f.content else {
                panic!("in the upload memory")
            };
            assert!(m.slices().collect::<Vec<_>>().concat() == data);
            let mut back = vec![0; data.len() + 5];
            assert_eq!(m.read_at(0, &mut back), data.len());
            assert!(back[..data.len()] == data[..]);
            assert_eq!(m.read_at(PIECE + 3, &mut back[..10]), 10);
            assert!(back[..10] == data[PIECE + 3..PIECE + 13]);
            m
        };
        for cut in [100_000, 262_144, 1_000_003] {
            let mut m = upload(cut);
            assert!(m.whole && m.pieces.len() == 1 && m.pieces[0].cap >= data.len());
            let held = m.held();
            assert_eq!(upload_memory().0, held);
            // Not lent but whole.
            for (pos, n) in [(0, PIECE), (0, data.len() - 1), (1, data.len() - 1)] {
                assert_eq!(m.lend(pos, n, &COUNTED), None, "{pos} {n}");
            }
            let token = m.lend(0, data.len(), &COUNTED).unwrap();
            assert_eq!(m.lend(0, data.len(), &COUNTED), Some(token));
            // Shrunk once, to the content.
            assert_eq!(std::mem::take(&mut *lock(&SHRUNK)), [(token, data.len())]);
            let released = RELEASED.load(Ordering::Relaxed);
            drop(m);
            // Released, not pooled, though nobody holds it.
            assert_eq!(RELEASED.load(Ordering::Relaxed) - released, 1);
            assert_eq!(upload_memory().0, 0);
        }
        // An upload begun beside another one: pieces, for it and the next uploads until
        // ALONE_BEFORE_WHOLE of them came alone.
        let other = Intake::new(
            b"multipart/form-data; boundary=B",
            FormLimits::default(),
            body.len(),
        );
        assert!(!upload(262_144).whole);
        drop(other);
        for _ in 1..ALONE_BEFORE_WHOLE {
            assert!(!upload(262_144).whole);
        }
        assert!(upload(262_144).whole);
        // With less memory than the rest of the body (another file follows): pieces, as
        // without the source's wish.
        set_upload_memory(4 * PIECE + PIECE / 2);
        let more = vec![5; 3 * PIECE / 2];
        let two = [
            part("f", Some("f"), &data),
            part("g", Some("g"), &more),
            b"--B--".to_vec(),
        ]
        .concat();
        let mut items = intake(&two, 262_144);
        WHOLE.store(false, Ordering::Relaxed);
        set_upload_memory(DEFAULT_UPLOAD_MEMORY);
        let (_, FormValue::File(first)) = &items[0] else {
            panic!("a file")
        };
        assert!(matches!(&first.content, Spooled::Pooled(m) if !m.whole && m.pieces.len() == 4));
        assert!(content(&first.content) == data);
        let (_, FormValue::File(second)) = &items[1] else {
            panic!("a file")
        };
        assert!(content(&second.content) == more);
        items.clear();
        set_piece_source(&HEAP);
        assert_eq!(upload_memory(), (0, 0, DEFAULT_UPLOAD_MEMORY));
    }

    /// Two uploads arriving at once fill the memory: the one with more of its body still
    /// to come moves to a temporary file, though the other asked for more memory.
    #[test]
    fn the_upload_with_the_most_body_to_come_spills() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mib = 1 << 20;
        let limit = DEFAULT_UPLOAD_MEMORY;
        let (x, y): (Vec<u8>, Vec<u8>) = (vec![7; limit / 16 * 10], vec![9; limit / 16 * 10]);
        let body = |data: &[u8]| [part("f", Some("f"), data), b"--B--".to_vec()].concat();
        let (bx, by) = (body(&x), body(&y));
        let ct = b"multipart/form-data; boundary=B";
        let mut ix = Intake::new(ct, FormLimits::default(), bx.len());
        let mut iy = Intake::new(ct, FormLimits::default(), by.len());
        let feed = |i: &mut Intake, b: &[u8]| {
            for p in b.chunks(256 * 1024) {
                i.take(p);
            }
        };
        // x 9/16 of the memory, y nearly all the rest, then x the rest.
        let (x_first, y_first) = (limit / 16 * 9, limit / 16 * 7 - mib / 2);
        feed(&mut ix, &bx[..x_first]);
        feed(&mut iy, &by[..y_first]);
        assert!(upload_memory().0 > limit - mib);
        feed(&mut ix, &bx[x_first..]);
        feed(&mut iy, &by[y_first..]);
        let (mut fx, mut fy) = (ix.finish().unwrap(), iy.finish().unwrap());
        let (Some((_, FormValue::File(fx))), Some((_, FormValue::File(fy)))) = (fx.pop(), fy.pop())
        else {
            panic!("files")
        };
        assert!(
            matches!(fx.content, Spooled::Pooled(_)),
            "x stayed in memory"
        );
        assert!(matches!(fy.content, Spooled::File(_)), "y spilled");
        assert!(content(&fx.content) == x && content(&fy.content) == y);
    }

    /// A whole file's piece is of the rest of the body's size, which holds the files after
    /// it too: once the file ended, what it does not use goes back to the upload memory,
    /// and a second file that fits beside the first stays in memory without waiting.
    #[test]
    fn a_whole_file_s_piece_gives_back_what_the_file_does_not_use() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        set_piece_source(&COUNTED);
        WHOLE.store(true, Ordering::Relaxed);
        ALONE_IN_A_ROW.store(ALONE_BEFORE_WHOLE, Ordering::Relaxed);
        let (x, y) = (vec![3; 5 * PIECE], vec![4; 5 * PIECE + 9]);
        let body = [
            part("x", Some("x"), &x),
            part("y", Some("y"), &y),
            b"--B--".to_vec(),
        ]
        .concat();
        let mut intake = Intake::new(
            b"multipart/form-data; boundary=B",
            FormLimits::default(),
            body.len(),
        );
        let mut at = 0;
        let mut next = |into: &mut [u8]| {
            let n = into.len().min(262_144).min(body.len() - at);
            into[..n].copy_from_slice(&body[at..at + n]);
            at += n;
            Ok(n)
        };
        let mut waits = 0;
        loop {
            let done = match intake.read_in_place(&mut next) {
                Some(Ok(InPlace::WaitForMemory)) => {
                    waits += 1;
                    intake.waiting_since = Some(Instant::now() - MEMORY_WAIT);
                    false
                }
                Some(r) => {
                    r.unwrap();
                    intake.take(&[]).is_some()
                }
                None => {
                    let mut buf = vec![0; 262_144];
                    let n = next(&mut buf).unwrap();
                    intake.take(&buf[..n]).is_some()
                }
            };
            if done {
                break;
            }
        }
        WHOLE.store(false, Ordering::Relaxed);
        let items = intake.finish().unwrap();
        let [(_, FormValue::File(fx)), (_, FormValue::File(fy))] = &items[..] else {
            panic!("two files")
        };
        assert!(matches!(&fx.content, Spooled::Pooled(m) if m.whole && m.held() < 6 * PIECE));
        assert!(
            matches!(fy.content, Spooled::Pooled(_)),
            "y stayed in memory"
        );
        assert_eq!(waits, 0);
        assert!(content(&fx.content) == x && content(&fy.content) == y);
        drop(items);
        set_piece_source(&HEAP);
        assert_eq!(upload_memory().0, 0);
    }

    /// Pieces from the heap, released only while no file growing in the upload memory is
    /// locked (counted in `RELEASED_LOCKED` otherwise).
    static LOCK_FREE: PieceSource = PieceSource {
        make: heap_make,
        whole: || true,
        shrink: |_, _| {},
        reclaim: |_| true,
        release: |start, token, n| {
            let locked = match GROWING.try_lock() {
                Ok(all) => all
                    .iter()
                    .filter_map(Weak::upgrade)
                    .any(|g| g.try_lock().is_err()),
                Err(_) => true,
            };
            if locked {
                RELEASED_LOCKED.fetch_add(1, Ordering::Relaxed);
            }
            heap_release(start, token, n)
        },
    };
    static RELEASED_LOCKED: AtomicU64 = AtomicU64::new(0);

    /// A source may take other locks in its functions (fasterapi-py: the GIL, which a
    /// thread may hold while it waits for a growing file's lock): a whole file's piece
    /// moved to a temporary file by another upload that needs the memory is released
    /// once neither file is locked.
    #[test]
    fn a_spilled_file_s_pieces_are_released_with_no_file_locked() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        set_piece_source(&LOCK_FREE);
        ALONE_IN_A_ROW.store(ALONE_BEFORE_WHOLE, Ordering::Relaxed);
        let (x, y) = (vec![7; 8 * PIECE], vec![9; 5 * PIECE]);
        let body = |data: &[u8]| [part("f", Some("f"), data), b"--B--".to_vec()].concat();
        let (bx, by) = (body(&x), body(&y));
        let ct = b"multipart/form-data; boundary=B";
        let feed = |i: &mut Intake, b: &[u8]| {
            for p in b.chunks(256 * 1024) {
                i.take(p);
            }
        };
        // x alone, into one piece of its body's size; y beside it, in pieces, until the
        // memory is out and x (more of its body to come) moves to a temporary file.
        let mut ix = Intake::new(ct, FormLimits::default(), bx.len());
        feed(&mut ix, &bx[..2 * PIECE]);
        assert!(upload_memory().0 >= bx.len() - PIECE);
        let mut iy = Intake::new(ct, FormLimits::default(), by.len());
        let locked = RELEASED_LOCKED.load(Ordering::Relaxed);
        feed(&mut iy, &by);
        feed(&mut ix, &bx[2 * PIECE..]);
        let (mut fx, mut fy) = (ix.finish().unwrap(), iy.finish().unwrap());
        let (Some((_, FormValue::File(fx))), Some((_, FormValue::File(fy)))) = (fx.pop(), fy.pop())
        else {
            panic!("files")
        };
        assert!(matches!(fx.content, Spooled::File(_)), "x spilled");
        assert!(
            matches!(fy.content, Spooled::Pooled(_)),
            "y stayed in memory"
        );
        assert!(content(&fx.content) == x && content(&fy.content) == y);
        assert_eq!(RELEASED_LOCKED.load(Ordering::Relaxed) - locked, 0);
        drop((fx, fy));
        set_piece_source(&HEAP);
        assert_eq!(upload_memory().0, 0);
    }

    /// A body read as a connection reads it: straight into the upload memory while a
    /// large file's data is read, into a buffer otherwise. The file's bytes past the
    /// threshold are read in place (counted), the form is the same as when fed, and the
    /// delimiter is found wherever the reads cut it, also in bytes carried from a read
    /// into the memory to the next.
    #[test]
    fn a_large_file_is_read_straight_into_the_upload_memory() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Data full of delimiter beginnings ("\r\n--B" is the delimiter; no byte is a B).
        let big: Vec<u8> = (0..3 * 1024 * 1024 + 123)
            .map(|i: usize| match i % 1031 {
                0 => b'\r',
                1 => b'\n',
                2 | 3 => b'-',
                _ => (i % 61) as u8,
            })
            .collect();
        let body = [
            part("note", None, b"before"),
            part("big", Some("big.bin"), &big),
            part("small", Some("s.txt"), b"after"),
            part("tail", None, b"end"),
            b"--B--\r\n".to_vec(),
        ]
        .concat();
        let limits = FormLimits::default();
        for cut in [1031 * 7, 65_536, 262_144, 300_001] {
            let mut intake = Intake::new(b"multipart/form-data; boundary=B", limits, body.len());
            let (mut at, mut in_place, mut turns) = (0, 0, 0);
            let mut done = false;
            while !done {
                turns += 1;
                // Reads of at most `cut` bytes, ending at each delimiter's second byte
                // once in a while (a carry of one byte).
                let mut next = |into: &mut [u8]| {
                    let mut n = into.len().min(cut).min(body.len() - at);
                    if turns % 3 == 0 {
                        if let Some(cr) = body[at..at + n].iter().rposition(|&b| b == b'\r') {
                            n = n.min(cr + 2);
                        }
                    }
                    into[..n].copy_from_slice(&body[at..at + n]);
                    at += n;
                    Ok(n)
                };
                match intake.read_in_place(&mut next) {
                    Some(r) => {
                        let InPlace::Read { read: n, asked } = r.unwrap() else {
                            panic!("nothing else takes the memory")
                        };
                        assert!(n > 0 && n <= asked);
                        in_place += n;
                        done = intake.take(&[]).is_some();
                    }
                    None => {
                        let mut buf = vec![0; 100_000];
                        let n = next(&mut buf).unwrap();
                        done = intake.take(&buf[..n]).is_some();
                    }
                }
            }
            assert_eq!(at, body.len());
            // All of the file past the threshold but what a few piece ends cut.
            assert!(
                in_place > big.len() - limits.spool_max_size - 20 * 100_000,
                "{in_place} in place, cut {cut}"
            );
            let items = intake.finish().unwrap();
            let names: Vec<&str> = items.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(names, ["note", "big", "small", "tail"]);
            let (_, FormValue::File(f)) = &items[1] else {
                panic!("a file")
            };
            assert!(matches!(f.content, Spooled::Pooled(_)));
            assert_eq!(f.size, big.len() as u64);
            assert!(content(&f.content) == big, "cut {cut}");
            let (_, FormValue::File(s)) = &items[2] else {
                panic!("a file")
            };
            assert!(matches!(&s.content, Spooled::Memory(m) if m == b"after"));
            assert!(matches!(&items[3].1, FormValue::Text(t) if t == "end"));
        }
        assert_eq!(upload_memory().0, 0);
    }

    /// An upload that finds the memory held by a file whose handler has it waits (reads
    /// nothing), but not past [`MEMORY_WAIT`]: then its file goes to a temporary file.
    #[test]
    fn an_upload_waits_for_held_memory_for_a_bounded_time() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let held_data = vec![1u8; DEFAULT_UPLOAD_MEMORY - PIECE / 2];
        let held = read(
            &[part("f", Some("f"), &held_data), b"--B--".to_vec()].concat(),
            FormLimits::default(),
            PIECE,
        )
        .unwrap();
        let data = vec![2u8; 3 << 20];
        let body = [part("f", Some("f"), &data), b"--B--".to_vec()].concat();
        let mut intake = Intake::new(
            b"multipart/form-data; boundary=B",
            FormLimits::default(),
            body.len(),
        );
        let mut at = 0;
        let mut next = |into: &mut [u8]| {
            let n = into.len().min(PIECE).min(body.len() - at);
            into[..n].copy_from_slice(&body[at..at + n]);
            at += n;
            Ok(n)
        };
        let mut waits = 0;
        loop {
            match intake.read_in_place(&mut next) {
                Some(Ok(InPlace::WaitForMemory)) => {
                    waits += 1;
                    // As if the wait had lasted its limit.
                    intake.waiting_since = Some(Instant::now() - MEMORY_WAIT);
                }
                Some(r) => {
                    r.unwrap();
                    if intake.take(&[]).is_some() {
                        break;
                    }
                }
                None => {
                    let mut buf = vec![0; PIECE];
                    let n = next(&mut buf).unwrap();
                    if intake.take(&buf[..n]).is_some() {
                        break;
                    }
                }
            }
        }
        assert!(waits > 0);
        let items = intake.finish().unwrap();
        let (_, FormValue::File(f)) = &items[0] else {
            panic!("a file")
        };
        assert!(matches!(f.content, Spooled::File(_)));
        assert!(content(&f.content) == data);
        drop(held);
        drop(items);
        assert_eq!(upload_memory().0, 0);
    }

    /// A file over `max_file_size` is refused also when its bytes are read in place.
    #[test]
    fn the_file_size_limit_holds_in_place() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let big = vec![b'x'; 3 * 1024 * 1024];
        let body = [part("big", Some("big.bin"), &big), b"--B--".to_vec()].concat();
        let limits = FormLimits {
            max_file_size: 2 * 1024 * 1024,
            ..FormLimits::default()
        };
        let mut intake = Intake::new(b"multipart/form-data; boundary=B", limits, body.len());
        let (mut at, mut in_place) = (0, 0);
        loop {
            let mut next = |into: &mut [u8]| {
                let n = into.len().min(200_000).min(body.len() - at);
                into[..n].copy_from_slice(&body[at..at + n]);
                at += n;
                Ok(n)
            };
            let done = match intake.read_in_place(&mut next) {
                Some(r) => {
                    let InPlace::Read { read, .. } = r.unwrap() else {
                        panic!("nothing else takes the memory")
                    };
                    in_place += read;
                    intake.take(&[])
                }
                None => {
                    let mut buf = vec![0; 200_000];
                    let n = next(&mut buf).unwrap();
                    intake.take(&buf[..n])
                }
            };
            if done.is_some() {
                break;
            }
        }
        assert!(in_place > 0);
        let e = intake.finish().unwrap_err();
        assert_eq!(e.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(upload_memory().0, 0);
    }

    #[test]
    fn the_default_upload_memory_is_config_s() {
        assert_eq!(
            crate::Config::default().upload_memory_bytes,
            DEFAULT_UPLOAD_MEMORY
        );
    }

    /// Files past `spool_max_size` share the process's upload memory: a file that finds
    /// it full goes to a temporary file (also one that fills it midway), and memory given
    /// back is used again.
    #[test]
    fn files_share_the_upload_memory_and_spill_past_it() {
        let _alone = UPLOAD_MEMORY_TESTS
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let limits = FormLimits {
            spool_max_size: 1000,
            ..FormLimits::default()
        };
        let file = |name: &str, n: usize| {
            let data: Vec<u8> = (0..n).map(|i| (i % 241) as u8).collect();
            let body = [part("f", Some(name), &data), b"--B--".to_vec()].concat();
            let mut items = read(&body, limits, 100_000).unwrap();
            let Some((_, FormValue::File(f))) = items.pop() else {
                panic!("a file")
            };
            assert!(content(&f.content) == data, "{name} round-trips");
            f
        };
        let limit = DEFAULT_UPLOAD_MEMORY;
        // Three quarters of the memory: kept there.
        let a = file("a", limit / 4 * 3);
        assert!(matches!(a.content, Spooled::Pooled(_)));
        assert!(upload_memory().0 >= limit / 4 * 3);
        // Half of it does not fit beside `a` any more: it fills the rest, then spills.
        let b = file("b", limit / 2);
        assert!(matches!(b.content, Spooled::File(_)));
        assert!(upload_memory().0 <= upload_memory().2);
        // With `a` gone, half of the memory is there again.
        drop(a);
        let c = file("c", limit / 2);
        assert!(matches!(c.content, Spooled::Pooled(_)));
        let (in_files, allocated, _) = upload_memory();
        assert!(in_files >= limit / 2 && allocated <= limit);
        drop(c);
        // More than all of it: a temporary file.
        let d = file("d", limit + 1);
        assert!(matches!(d.content, Spooled::File(_)));
        assert_eq!(upload_memory().0, 0);
    }

    #[test]
    fn limits_answer_as_starlette() {
        let two_fields = [
            part("a", None, b"1"),
            part("b", None, b"2"),
            b"--B--".to_vec(),
        ]
        .concat();
        let limits = FormLimits {
            max_fields: 1,
            ..FormLimits::default()
        };
        let e = read(&two_fields, limits, 3).unwrap_err();
        assert_eq!(e.detail, "Too many fields. Maximum number of fields is 1.");
        assert_eq!(e.status, StatusCode::BAD_REQUEST);

        let two_files = [
            part("a", Some("x"), b"1"),
            part("b", Some("y"), b"2"),
            b"--B--".to_vec(),
        ]
        .concat();
        let limits = FormLimits {
            max_files: 1,
            ..FormLimits::default()
        };
        let e = read(&two_files, limits, 5).unwrap_err();
        assert_eq!(e.detail, "Too many files. Maximum number of files is 1.");

        let long = [part("a", None, &[b'x'; 2049]), b"--B--".to_vec()].concat();
        let limits = FormLimits {
            max_part_size: 2048,
            ..FormLimits::default()
        };
        let e = read(&long, limits, 100).unwrap_err();
        assert_eq!(e.detail, "Part exceeded maximum size of 2KB.");

        let file = [part("a", Some("f"), &[b'x'; 101]), b"--B--".to_vec()].concat();
        let limits = FormLimits {
            max_file_size: 100,
            ..FormLimits::default()
        };
        assert_eq!(
            read(&file, limits, 7).unwrap_err().status,
            StatusCode::PAYLOAD_TOO_LARGE
        );

        let nameless = b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--";
        let e = read(nameless, FormLimits::default(), 4).unwrap_err();
        assert_eq!(
            e.detail,
            "The Content-Disposition header field \"name\" must be provided."
        );

        let truncated = part("a", None, b"x");
        let e = read(&truncated, FormLimits::default(), 4).unwrap_err();
        assert!(
            e.detail.starts_with("Invalid multipart data"),
            "{}",
            e.detail
        );

        let e = MultipartReader::new(b"multipart/form-data", FormLimits::default()).unwrap_err();
        assert_eq!(e.detail, "Missing boundary in multipart.");
        assert!(is_multipart(b" Multipart/Form-Data ; boundary=x"));
        assert!(!is_multipart(b"application/x-www-form-urlencoded"));
    }
}
