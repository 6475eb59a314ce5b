//! Bodies of unknown length: [`BodyStream`], fed by an iterator or through a [`BodySender`].

use std::collections::VecDeque;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;

/// Why a streamed body ended before its end: the connection is closed without the body's
/// end (no last chunk for HTTP/1.1), so the client sees it incomplete.
pub struct StreamError(Box<dyn std::error::Error + Send + Sync>);

impl StreamError {
    /// An error with `reason`.
    pub fn new(reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StreamError {
        StreamError(reason.into())
    }
}

impl fmt::Debug for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StreamError({:?})", self.0)
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StreamError {}

/// One piece of a streamed body, an error that ends it, or `None` at its end.
type Item = Option<Result<Bytes, StreamError>>;

type Pieces = Box<dyn Iterator<Item = Result<Bytes, StreamError>> + Send>;

/// A response body of unknown length, produced piece by piece. Made with
/// [`BodyStream::iter`], [`BodyStream::try_iter`] or [`BodyStream::channel`]; sent with
/// [`Response::stream`](crate::Response::stream) or as any [`Body`](crate::Body).
/// Dropping it stops the producer.
///
/// The server pulls a streamed body only while the client keeps up: it asks for the next
/// piece when the connection's unsent output is below a bound, so a client that stops
/// reading holds at most that bound (plus the kernel's socket buffer, plus what a channel
/// holds) however much the producer could make. HTTP/1.1 clients get the pieces with the
/// chunked transfer coding; HTTP/1.0 clients get them as they come and the end of the body
/// is the end of the connection. A client that leaves stops the producer: the iterator is
/// dropped, or the sender's next [`send`](BodySender::send) fails.
///
/// ```
/// use fasterapi_http::{BodyStream, Response};
///
/// // From an iterator, pulled on the I/O thread (it must not block).
/// let counting = Response::stream((1..=3).map(|i| format!("line {i}\n")))
///     .with_content_type("text/plain");
///
/// // From any thread, through a channel holding at most 64 KiB at a time.
/// let (sender, body) = BodyStream::channel(64 * 1024);
/// std::thread::spawn(move || {
///     for i in 0..1000 {
///         // Fails once the client has gone: stop producing.
///         if sender.send(format!("event {i}\n")).is_err() {
///             return;
///         }
///     }
///     sender.finish(); // dropped without `finish`, the body ends as failed
/// });
/// let fed = Response::stream(body);
/// # drop((counting, fed));
/// ```
pub struct BodyStream {
    source: Source,
    /// Run at the first poll (see [`BodyStream::on_start`]).
    on_start: Option<Box<dyn FnOnce() + Send>>,
}

enum Source {
    /// Pulled on the I/O thread, one `next` per piece.
    Pieces(Pieces),
    /// The receiving end of a [`BodySender`]'s channel.
    Channel(Arc<Channel>),
    /// Another body, each piece changed on its way out (compressed).
    Filtered(Box<Filtered>),
}

/// A change made to each piece of a streamed body and at its end (response compression,
/// `proto::compress`), pulled with the body.
pub(crate) trait PieceFilter: Send {
    /// What goes out for `piece` (nothing, if empty).
    fn piece(&mut self, piece: &[u8]) -> Result<Bytes, StreamError>;
    /// What goes out after the last piece.
    fn end(&mut self) -> Result<Bytes, StreamError>;
}

/// A body whose pieces go through a [`PieceFilter`].
struct Filtered {
    inner: BodyStream,
    filter: Box<dyn PieceFilter>,
    ended: bool,
}

impl Filtered {
    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Item> {
        while !self.ended {
            let out = match self.inner.poll_next(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Some(Ok(piece))) => self.filter.piece(&piece),
                Poll::Ready(Some(Err(e))) => Err(e),
                Poll::Ready(None) => {
                    self.ended = true;
                    self.filter.end()
                }
            };
            match out {
                Ok(out) if out.is_empty() => continue,
                Ok(out) => return Poll::Ready(Some(Ok(out))),
                Err(e) => {
                    self.ended = true;
                    return Poll::Ready(Some(Err(e)));
                }
            }
        }
        Poll::Ready(None)
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.source {
            Source::Pieces(_) => f.write_str("BodyStream::iter"),
            Source::Channel(c) => f
                .debug_struct("BodyStream::channel")
                .field("bound", &c.bound)
                .finish_non_exhaustive(),
            Source::Filtered(filtered) => f
                .debug_struct("BodyStream::filtered")
                .field("inner", &filtered.inner)
                .finish_non_exhaustive(),
        }
    }
}

impl BodyStream {
    /// A body of the pieces `pieces` yields, in order; empty pieces are skipped.
    ///
    /// The iterator runs on the I/O thread, each `next` when the client can take more: it
    /// must not block (for a producer that waits, use [`BodyStream::channel`] from a thread
    /// of its own). It is dropped when the body ends or the client leaves.
    pub fn iter<I>(pieces: I) -> BodyStream
    where
        I: IntoIterator,
        I::IntoIter: Send + 'static,
        I::Item: Into<Bytes>,
    {
        BodyStream {
            source: Source::Pieces(Box::new(pieces.into_iter().map(|p| Ok(p.into())))),
            on_start: None,
        }
    }

    /// As [`BodyStream::iter`], for pieces that can fail: an `Err` ends the body as failed
    /// (the connection closes without the body's end, so the client sees it incomplete).
    pub fn try_iter<I, T, E>(pieces: I) -> BodyStream
    where
        I: IntoIterator<Item = Result<T, E>>,
        I::IntoIter: Send + 'static,
        T: Into<Bytes>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        BodyStream {
            source: Source::Pieces(Box::new(
                pieces
                    .into_iter()
                    .map(|p| p.map(Into::into).map_err(StreamError::new)),
            )),
            on_start: None,
        }
    }

    /// A body fed through a channel from any thread: the [`BodySender`] and the body to
    /// answer with. The channel holds at most `bound` bytes (at least one piece whatever
    /// its size): past it [`BodySender::send`] waits for the client to take some.
    pub fn channel(bound: usize) -> (BodySender, BodyStream) {
        let channel = Arc::new(Channel {
            state: Mutex::new(ChannelState {
                pieces: VecDeque::new(),
                buffered: 0,
                end: None,
                receiver_gone: false,
                receiver: None,
                senders_waiting: 0,
                on_room: Vec::new(),
                on_disconnect: Vec::new(),
            }),
            room: Condvar::new(),
            bound: bound.max(1),
        });
        let body = BodyStream {
            source: Source::Channel(channel.clone()),
            on_start: None,
        };
        (BodySender { channel }, body)
    }

    /// Runs `start` when the body is first polled: on the connection's I/O thread, once
    /// the response's head is written, so a producer that must run there (a task of the
    /// runtime that thread drives) or that should not start before the head is out can
    /// begin then. A body never sent (a `HEAD` request, a status without a body, a client
    /// gone first) never runs it.
    pub fn on_start(mut self, start: impl FnOnce() + Send + 'static) -> BodyStream {
        self.on_start = Some(Box::new(start));
        self
    }

    /// The next piece: `Ready(Some(Ok(piece)))`, `Ready(Some(Err(_)))` when the body
    /// failed, `Ready(None)` at its end, or `Pending` when the producer has nothing yet:
    /// `cx`'s waker is woken when it has (the server's I/O thread reads a body this way,
    /// as a `futures::Stream` is read).
    pub fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Item> {
        if let Some(start) = self.on_start.take() {
            start();
        }
        match &mut self.source {
            Source::Pieces(pieces) => Poll::Ready(pieces.next()),
            Source::Channel(channel) => channel.poll_next(cx),
            Source::Filtered(filtered) => filtered.poll_next(cx),
        }
    }

    /// This body with each piece, and its end, through `filter` (its `on_start` runs at
    /// its own first poll, inside the filtered body's).
    pub(crate) fn filtered(self, filter: Box<dyn PieceFilter>) -> BodyStream {
        BodyStream {
            source: Source::Filtered(Box::new(Filtered {
                inner: self,
                filter,
                ended: false,
            })),
            on_start: None,
        }
    }
}

/// What a [`BodySender`] and its [`BodyStream`] share.
struct Channel {
    state: Mutex<ChannelState>,
    /// Signalled when the buffered bytes fall below the bound or the receiver goes.
    room: Condvar,
    bound: usize,
}

/// How the sender ended the body.
enum End {
    Finished,
    Failed(StreamError),
}

struct ChannelState {
    pieces: VecDeque<Bytes>,
    /// Bytes in `pieces`.
    buffered: usize,
    end: Option<End>,
    /// The body was dropped: the client left, or the response was never sent.
    receiver_gone: bool,
    /// To wake when a piece or the end arrives.
    receiver: Option<Waker>,
    /// Senders blocked in `send` (the condvar is signalled only if some are).
    senders_waiting: usize,
    /// Run once there is room, or the receiver is gone.
    on_room: Vec<Box<dyn FnOnce() + Send>>,
    /// Run once the receiver is gone.
    on_disconnect: Vec<Box<dyn FnOnce() + Send>>,
}

impl Channel {
    fn lock(&self) -> MutexGuard<'_, ChannelState> {
        // A panic while holding the lock leaves the state consistent (every update is a
        // few plain stores), so a poisoned lock is used as it is.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn has_room(&self, state: &ChannelState) -> bool {
        state.buffered < self.bound
    }

    fn poll_next(&self, cx: &mut Context<'_>) -> Poll<Item> {
        let mut state = self.lock();
        if let Some(piece) = state.pieces.pop_front() {
            state.buffered -= piece.len();
            let hooks = if self.has_room(&state) {
                self.room_made(&mut state)
            } else {
                Vec::new()
            };
            drop(state);
            hooks.into_iter().for_each(|f| f());
            return Poll::Ready(Some(Ok(piece)));
        }
        match state.end.take() {
            Some(End::Finished) => {
                state.end = Some(End::Finished);
                Poll::Ready(None)
            }
            Some(End::Failed(e)) => {
                // Said once; the body reads as ended after it.
                state.end = Some(End::Finished);
                Poll::Ready(Some(Err(e)))
            }
            None => {
                if !state
                    .receiver
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    state.receiver = Some(cx.waker().clone());
                }
                Poll::Pending
            }
        }
    }

    /// There is room (or the receiver went): wakes blocked senders and returns the hooks
    /// to run once the lock is released.
    fn room_made(&self, state: &mut ChannelState) -> Vec<Box<dyn FnOnce() + Send>> {
        if state.senders_waiting > 0 {
            self.room.notify_all();
        }
        std::mem::take(&mut state.on_room)
    }

    /// Ends the body (once); wakes the receiver.
    fn end(&self, end: End) {
        let mut state = self.lock();
        if state.end.is_some() {
            return;
        }
        state.end = Some(end);
        let waker = state.receiver.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
    }
}

impl Drop for BodyStream {
    fn drop(&mut self) {
        if let Source::Channel(channel) = &self.source {
            let mut state = channel.lock();
            state.receiver_gone = true;
            state.pieces.clear();
            state.buffered = 0;
            state.receiver = None;
            let mut hooks = channel.room_made(&mut state);
            hooks.append(&mut state.on_disconnect);
            drop(state);
            hooks.into_iter().for_each(|f| f());
        }
    }
}

/// The sending end of [`BodyStream::channel`]: usable from any thread (`&self` methods,
/// `Send + Sync`). [`finish`](BodySender::finish) ends the body; dropped without it, the
/// body ends as failed (so a producer that panics never passes for a complete body).
pub struct BodySender {
    channel: Arc<Channel>,
}

impl fmt::Debug for BodySender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BodySender")
            .field("bound", &self.channel.bound)
            .finish_non_exhaustive()
    }
}

/// The body's receiver is gone (the client left, or the response was dropped): nothing
/// sent will be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected;

impl fmt::Display for Disconnected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the streamed body's receiver is gone")
    }
}

impl std::error::Error for Disconnected {}

/// Why [`BodySender::try_send`] did not take a piece, with the piece.
#[derive(Debug)]
pub enum TrySendError {
    /// The channel holds its bound: try again once [`BodySender::when_ready`] says so.
    Full(Bytes),
    /// The receiver is gone.
    Disconnected(Bytes),
}

impl BodySender {
    /// Queues `piece`, first waiting while the channel holds its bound (the client is
    /// slower than the producer). `Err` once the receiver is gone: stop producing. Empty
    /// pieces are skipped.
    pub fn send(&self, piece: impl Into<Bytes>) -> Result<(), Disconnected> {
        let piece = piece.into();
        let mut state = self.channel.lock();
        while !self.channel.has_room(&state) && !state.receiver_gone {
            state.senders_waiting += 1;
            state = self
                .channel
                .room
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
            state.senders_waiting -= 1;
        }
        self.push(state, piece).map_err(|_| Disconnected)
    }

    /// Queues `piece` if the channel has room, without waiting (for producers that must
    /// not block, such as a task of an async runtime: see [`BodySender::when_ready`]).
    pub fn try_send(&self, piece: impl Into<Bytes>) -> Result<(), TrySendError> {
        let piece = piece.into();
        let state = self.channel.lock();
        if state.receiver_gone {
            return Err(TrySendError::Disconnected(piece));
        }
        if !self.channel.has_room(&state) {
            return Err(TrySendError::Full(piece));
        }
        self.push(state, piece).map_err(TrySendError::Disconnected)
    }

    fn push(&self, mut state: MutexGuard<'_, ChannelState>, piece: Bytes) -> Result<(), Bytes> {
        if state.receiver_gone {
            return Err(piece);
        }
        if piece.is_empty() {
            return Ok(());
        }
        state.buffered += piece.len();
        state.pieces.push_back(piece);
        let waker = state.receiver.take();
        drop(state);
        if let Some(w) = waker {
            w.wake();
        }
        Ok(())
    }

    /// Runs `ready` once the channel has room for a piece or the receiver is gone: now
    /// (on this thread) if it already has, else on the thread that makes the room (the
    /// server's I/O thread, after it took a piece), which must not be blocked: `ready`
    /// should only wake the producer.
    pub fn when_ready(&self, ready: impl FnOnce() + Send + 'static) {
        let mut state = self.channel.lock();
        if self.channel.has_room(&state) || state.receiver_gone {
            drop(state);
            ready();
        } else {
            state.on_room.push(Box::new(ready));
        }
    }

    /// Runs `gone` once the receiver is gone (the client left, the response was dropped,
    /// or the body was read to its end): now if it already is, else on the thread that
    /// drops it (the server's I/O thread), which must not be blocked: `gone` should only
    /// tell the producer (cancel its task, say).
    pub fn on_disconnect(&self, gone: impl FnOnce() + Send + 'static) {
        let mut state = self.channel.lock();
        if state.receiver_gone {
            drop(state);
            gone();
        } else {
            state.on_disconnect.push(Box::new(gone));
        }
    }

    /// Whether the receiver is gone (the client left): nothing sent will be read.
    pub fn is_disconnected(&self) -> bool {
        self.channel.lock().receiver_gone
    }

    /// Ends the body: the client gets what was sent, then the body's end.
    pub fn finish(self) {
        self.channel.end(End::Finished);
    }

    /// Ends the body as failed: the client gets what was sent, then the connection closes
    /// without the body's end.
    pub fn abort(self, reason: impl Into<Box<dyn std::error::Error + Send + Sync>>) {
        self.channel.end(End::Failed(StreamError::new(reason)));
    }
}

impl Drop for BodySender {
    fn drop(&mut self) {
        self.channel.end(End::Failed(StreamError::new(
            "the body's sender was dropped without finish()",
        )));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<Count>, Waker) {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        (count.clone(), Waker::from(count))
    }

    fn next(body: &mut BodyStream, w: &Waker) -> Poll<Option<Result<Vec<u8>, String>>> {
        body.poll_next(&mut Context::from_waker(w))
            .map(|i| i.map(|r| r.map(|b| b.to_vec()).map_err(|e| e.to_string())))
    }

    #[test]
    fn iterator_pieces_in_order_then_the_end() {
        let (_, w) = waker();
        let mut body = BodyStream::iter(["a", "bc"]);
        assert_eq!(next(&mut body, &w), Poll::Ready(Some(Ok(b"a".to_vec()))));
        assert_eq!(next(&mut body, &w), Poll::Ready(Some(Ok(b"bc".to_vec()))));
        assert_eq!(next(&mut body, &w), Poll::Ready(None));
        let mut failing = BodyStream::try_iter([Ok("x"), Err("broken")]);
        assert_eq!(next(&mut failing, &w), Poll::Ready(Some(Ok(b"x".to_vec()))));
        assert_eq!(
            next(&mut failing, &w),
            Poll::Ready(Some(Err("broken".into())))
        );
    }

    #[test]
    fn channel_wakes_the_receiver_and_respects_its_bound() {
        let (count, w) = waker();
        let (tx, mut body) = BodyStream::channel(4);
        assert_eq!(next(&mut body, &w), Poll::Pending);
        tx.send("abc").unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "woken by the piece");
        // 3 of 4 bytes held: one more piece fits, whatever its size; then it is full.
        tx.try_send("defgh").unwrap();
        assert!(matches!(tx.try_send("i"), Err(TrySendError::Full(_))));
        let ready = Arc::new(AtomicUsize::new(0));
        let r = ready.clone();
        tx.when_ready(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(ready.load(Ordering::SeqCst), 0);
        assert_eq!(next(&mut body, &w), Poll::Ready(Some(Ok(b"abc".to_vec()))));
        assert_eq!(ready.load(Ordering::SeqCst), 0, "5 bytes still held");
        assert_eq!(
            next(&mut body, &w),
            Poll::Ready(Some(Ok(b"defgh".to_vec())))
        );
        assert_eq!(ready.load(Ordering::SeqCst), 1, "room made");
        let gone = Arc::new(AtomicUsize::new(0));
        let g = gone.clone();
        tx.on_disconnect(move || {
            g.fetch_add(1, Ordering::SeqCst);
        });
        tx.finish();
        assert_eq!(next(&mut body, &w), Poll::Ready(None));
        assert_eq!(gone.load(Ordering::SeqCst), 0);
        drop(body);
        assert_eq!(
            gone.load(Ordering::SeqCst),
            1,
            "run when the body is dropped"
        );
    }

    #[test]
    fn a_blocked_sender_goes_on_when_the_receiver_reads_or_leaves() {
        let (_, w) = waker();
        let (tx, mut body) = BodyStream::channel(2);
        let sent = std::thread::scope(|s| {
            let producer = s.spawn(|| {
                let mut sent = 0;
                while tx.send("xx").is_ok() {
                    sent += 1;
                }
                sent
            });
            // Each piece read lets exactly one more in; then the receiver leaves.
            let mut read = 0;
            while read < 10 {
                if let Poll::Ready(Some(Ok(_))) = next(&mut body, &w) {
                    read += 1;
                } else {
                    std::thread::yield_now();
                }
            }
            drop(body);
            producer.join().unwrap()
        });
        // The ten read plus at most one waiting in the channel when the receiver left.
        assert!((10..=11).contains(&sent), "{sent}");
        assert!(tx.is_disconnected());
        assert_eq!(tx.send("more"), Err(Disconnected));
    }

    #[test]
    fn on_start_runs_at_the_first_poll_only() {
        let (_, w) = waker();
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let mut body = BodyStream::iter(["a", "b"]).on_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        });
        assert_eq!(started.load(Ordering::SeqCst), 0);
        assert_eq!(next(&mut body, &w), Poll::Ready(Some(Ok(b"a".to_vec()))));
        assert_eq!(next(&mut body, &w), Poll::Ready(Some(Ok(b"b".to_vec()))));
        assert_eq!(started.load(Ordering::SeqCst), 1);
        let s = started.clone();
        drop(BodyStream::iter(["never"]).on_start(move || {
            s.fetch_add(1, Ordering::SeqCst);
        }));
        assert_eq!(
            started.load(Ordering::SeqCst),
            1,
            "a body never polled never starts"
        );
    }

    #[test]
    fn a_dropped_sender_fails_the_body() {
        let (_, w) = waker();
        let (tx, mut body) = BodyStream::channel(16);
        tx.send("partial").unwrap();
        drop(tx);
        assert_eq!(
            next(&mut body, &w),
            Poll::Ready(Some(Ok(b"partial".to_vec())))
        );
        assert!(matches!(next(&mut body, &w), Poll::Ready(Some(Err(_)))));
        assert_eq!(next(&mut body, &w), Poll::Ready(None));
    }
}
