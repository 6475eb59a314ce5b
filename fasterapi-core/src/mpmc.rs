//! A bounded multi-producer multi-consumer queue, with parking for idle consumers.
//!
//! [`Queue`] is Dmitry Vyukov's bounded MPMC queue
//! (<https://www.1024cores.net/home/lock-free-algorithms/queues/bounded-mpmc-queue>), laid out
//! like crossbeam's `ArrayQueue`, plus two things the server's worker pool needs: consumers
//! that sleep when there is no work without costing producers a system call when there is, and
//! a [`close`](Queue::close) that wakes every sleeper at shutdown.
//!
//! # The algorithm
//!
//! The queue is a ring of `capacity` slots (a power of two). Each slot holds a value cell and
//! a *stamp*, an atomic sequence number saying whose turn the slot is. Two counters, `tail`
//! (next slot to write) and `head` (next slot to read), only ever move forward. A counter is
//! packed as `{ lap, mark, index }`: the low bits are the slot index, the bit above them is the
//! *mark* (used only in `tail`, to say "closed"), and the remaining high bits count laps around
//! the ring. Moving a counter past the last slot carries into the lap bits and skips the mark.
//!
//! - A slot whose stamp equals `tail` is free for the lap `tail` is on. A producer claims it by
//!   moving `tail` forward with a compare-and-swap, writes the value, then publishes it by
//!   storing `tail + 1` into the stamp (Release).
//! - A slot whose stamp equals `head + 1` holds a published value. A consumer claims it by
//!   moving `head` forward with a compare-and-swap, reads the value, then frees the slot for the
//!   next lap by storing `head + one_lap` into the stamp (Release).
//!
//! The Acquire load of the stamp that a thread checks before claiming pairs with those Release
//! stores, so the value written by the producer is visible to the consumer and the read by the
//! consumer is finished before the next producer of that slot writes. Producers never touch
//! `head` and consumers never touch `tail` on the fast path, and the two live on separate cache
//! lines, so a push and a pop cost one compare-and-swap each and no lock.
//!
//! A stamp that matches neither means another thread is between claiming the slot and
//! publishing it: the loser backs off and retries. To tell "full" from "a consumer is still
//! reading the slot" (and "empty" from "a producer is still writing it"), the thread reads the
//! opposite counter: the queue is full only if `head` is exactly one lap behind `tail`, empty
//! only if `head == tail`. So [`try_push`](Queue::try_push) fails only when the queue was
//! really full at some instant and [`try_pop`](Queue::try_pop) returns `None` only when it
//! was really empty at some instant; in the (short) window where another thread is half-way
//! through its operation on the very slot needed, they spin until it finishes.
//!
//! # Parking
//!
//! [`pop_wait`](Queue::pop_wait) first spins briefly with exponential backoff (127
//! `spin_loop` hints over 7 rounds, then 4 `yield_now`s: crossbeam's `Backoff::snooze`),
//! because work usually arrives soon on a busy server, then parks on a `Condvar`. The yields
//! matter when threads outnumber cores: a consumer that only spun would hold a core the
//! producers need, and then park just before they get to push (on a 2-core machine running 2
//! producers and 2 consumers, plain spinning cost about 1000 park/wake cycles per 100,000
//! items; with the yields, fewer than 10).
//!
//! Producers must wake a parked consumer, but a lock and a `notify` on every push would put a
//! system call on the hot path. So the queue counts parked consumers in an atomic `sleepers`,
//! and a producer takes the lock and notifies only when it reads `sleepers > 0`. When
//! consumers are busy, the only extra cost of a push is one load of a cache line that nobody
//! writes.
//!
//! A notified consumer may take a while to be scheduled, and meanwhile more items arrive. So
//! that each of those pushes does not pay a lock and a `futex` wake for a consumer that is
//! already on its way, the notifying producer moves one sleeper from `sleepers` to `tokens`
//! (wake-ups sent but not yet collected, a counter under the lock). A consumer leaving the
//! wait takes a token if there is one, or else removes itself from `sleepers`; either way
//! `sleepers + tokens` is the number of consumers inside the wait, and `sleepers` the number
//! that nobody has notified yet. All changes to both happen under the lock.
//!
//! Skipping the notify must never lose a wake-up: a consumer must not go to sleep on an item
//! that the producer thought nobody was waiting for. This is the classic store-buffer (Dekker)
//! pattern, and it is closed with sequentially consistent operations on both sides:
//!
//! ```text
//! producer                                  consumer (holding the lock)
//! CAS tail forward        (SeqCst)          sleepers += 1             (SeqCst)
//! write value, publish stamp                fence                     (SeqCst)
//! load sleepers           (SeqCst)          load tail, compare to head
//! if > 0: lock, notify                      if empty and not closed: wait (releases the lock)
//! ```
//!
//! All SeqCst operations and fences fall into one total order. If the producer's load of
//! `sleepers` comes before the consumer's increment in that order, then the producer's CAS of
//! `tail` (earlier still) comes before the consumer's fence, so the consumer's load of `tail`
//! sees the new item and it does not sleep. Otherwise the producer sees `sleepers > 0` and
//! takes the lock; since the consumer incremented `sleepers` while holding the lock and only
//! releases it by starting to wait, the producer gets the lock only once the consumer waits,
//! and its `notify_one` wakes it (or another waiter, who will then take the item). If, under
//! the lock, the producer finds `sleepers` back at 0, every waiter has already been notified
//! by other producers since; each of them pops before it parks again, so the item is taken
//! by one of them (a consumer handed an item returns it and comes back for more). Relaxed or
//! Acquire/Release orderings would not do: both sides could read stale values (each thread's
//! write still in its store buffer) and the consumer would sleep with an item in the queue.
//!
//! A woken consumer always retries [`try_pop`](Queue::try_pop) before it decides anything,
//! including after a timeout, so a notification taken by a waiter that was timing out anyway
//! is not lost either.
//!
//! # Closing
//!
//! [`close`](Queue::close) sets the mark bit of `tail` with one atomic `fetch_or`, so a push
//! either moved `tail` before the close (its item is in the queue and will be popped) or fails
//! its compare-and-swap and sees the mark: no push can sneak in after the close. Then it takes
//! the lock and wakes every parked consumer. Consumers return what is left, then `None`.
//!
//! # Example
//!
//! ```
//! use fasterapi_core::mpmc::Queue;
//! use std::sync::Arc;
//! use std::thread;
//!
//! let q = Arc::new(Queue::new(64));
//! let workers: Vec<_> = (0..2)
//!     .map(|_| {
//!         let q = Arc::clone(&q);
//!         thread::spawn(move || {
//!             let mut sum = 0u64;
//!             while let Some(job) = q.pop_wait() {
//!                 sum += job;
//!             }
//!             sum
//!         })
//!     })
//!     .collect();
//!
//! for job in 1..=1000u64 {
//!     let mut job = job;
//!     // The queue is bounded: a full queue hands the item back.
//!     while let Err(back) = q.try_push(job) {
//!         job = back;
//!         std::thread::yield_now();
//!     }
//! }
//! q.close(); // workers drain what is left, then stop
//! let total: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
//! assert_eq!(total, 500_500);
//! ```

use std::cell::UnsafeCell;
use std::fmt;
use std::mem::{self, MaybeUninit};
use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::atomic::{self, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crossbeam_utils::{Backoff, CachePadded};

/// A slot of the ring.
struct Slot<T> {
    /// Whose turn the slot is: equal to `tail` when free for the producer of that lap, equal
    /// to `head + 1` when it holds a value for the consumer of that lap.
    stamp: AtomicUsize,
    /// The value, initialised exactly when the stamp says the slot holds one.
    value: UnsafeCell<MaybeUninit<T>>,
}

/// State for parked consumers. Producers read `sleepers` on every push; it is written only
/// around parking and waking, so it gets its own cache line (see [`Queue`]).
struct Parking {
    /// Number of consumers that are waiting (or about to, holding the lock) and have not been
    /// notified yet. Read without the lock by producers; only ever written under the lock.
    sleepers: AtomicUsize,
    /// The lock makes a parking consumer's check-then-wait atomic with respect to a
    /// producer's notify (module docs). It holds the number of notifications sent to waiters
    /// and not yet collected by one.
    lock: Mutex<usize>,
    /// Where consumers park.
    cond: Condvar,
}

/// A bounded, lock-free multi-producer multi-consumer FIFO queue whose consumers can park.
///
/// See the [module docs](self) for the algorithm and the memory-ordering argument.
///
/// # Examples
///
/// ```
/// use fasterapi_core::mpmc::Queue;
///
/// let q = Queue::new(2);
/// assert_eq!(q.try_push('a'), Ok(()));
/// assert_eq!(q.try_push('b'), Ok(()));
/// assert_eq!(q.try_push('c'), Err('c')); // full: the item comes back
/// assert_eq!(q.try_pop(), Some('a'));
/// ```
pub struct Queue<T> {
    /// Next position to read, `{ lap, 0, index }`. Written only by consumers.
    head: CachePadded<AtomicUsize>,
    /// Next position to write, `{ lap, closed, index }`. Written by producers and `close`.
    tail: CachePadded<AtomicUsize>,
    /// Parked-consumer bookkeeping, on its own line so head/tail traffic does not evict it.
    parking: CachePadded<Parking>,
    /// The ring; its length is `cap`.
    buffer: Box<[Slot<T>]>,
    /// Number of slots, a power of two. Also the value of the mark (closed) bit.
    cap: usize,
    /// `{ lap: 1, mark: 0, index: 0 }`, that is `2 * cap`.
    one_lap: usize,
}

// SAFETY: values of type `T` are moved in by one thread and out by another, which is sound
// exactly when `T: Send`. A `&Queue<T>` only ever gives out owned `T`s (never `&T`), and every
// access to a slot's value is made exclusive by the stamp protocol (see the module docs), so
// sharing the queue between threads needs no more than `T: Send` either.
unsafe impl<T: Send> Send for Queue<T> {}
// SAFETY: see the `Send` impl just above.
unsafe impl<T: Send> Sync for Queue<T> {}

// A panic never leaves a slot half-updated (nothing between a claim and its publish can panic),
// so the queue is as usable after a caught panic as before.
impl<T> UnwindSafe for Queue<T> {}
impl<T> RefUnwindSafe for Queue<T> {}

impl<T> Queue<T> {
    /// Creates an empty queue that holds at least `capacity` items.
    ///
    /// The capacity is rounded up to the next power of two (so the slot index is a mask, not
    /// a division); [`capacity`](Self::capacity) tells the real value.
    ///
    /// # Panics
    ///
    /// Panics if `capacity` is 0 (a queue that can hold nothing is a configuration mistake,
    /// better caught at startup than as a server that answers every request with 503), or if
    /// it is larger than `usize::MAX / 4 + 1`, which leaves too few bits to count laps.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q: Queue<u32> = Queue::new(1000);
    /// assert_eq!(q.capacity(), 1024);
    /// ```
    pub fn new(capacity: usize) -> Self {
        assert!(
            capacity > 0,
            "mpmc::Queue capacity must be at least 1, got 0"
        );
        let cap = capacity
            .checked_next_power_of_two()
            .filter(|&cap| cap <= usize::MAX / 4 + 1)
            .unwrap_or_else(|| panic!("mpmc::Queue capacity {capacity} is too large"));
        // Index bits, then the mark bit (`cap`), then at least one lap bit.
        let one_lap = cap * 2;
        let buffer = (0..cap)
            .map(|i| Slot {
                // Slot `i` is free for the producer of `{ lap: 0, index: i }`.
                stamp: AtomicUsize::new(i),
                value: UnsafeCell::new(MaybeUninit::uninit()),
            })
            .collect();
        Queue {
            head: CachePadded::new(AtomicUsize::new(0)),
            tail: CachePadded::new(AtomicUsize::new(0)),
            parking: CachePadded::new(Parking {
                sleepers: AtomicUsize::new(0),
                lock: Mutex::new(0),
                cond: Condvar::new(),
            }),
            buffer,
            cap,
            one_lap,
        }
    }

    /// Returns how many items the queue can hold: the requested capacity rounded up to a
    /// power of two.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// assert_eq!(Queue::<u8>::new(1).capacity(), 1);
    /// assert_eq!(Queue::<u8>::new(3).capacity(), 4);
    /// assert_eq!(Queue::<u8>::new(1024).capacity(), 1024);
    /// ```
    pub fn capacity(&self) -> usize {
        self.cap
    }

    /// Returns the number of items in the queue.
    ///
    /// Under concurrency this is a snapshot that may be stale by the time it is used, and
    /// items that are half-way through a push or pop count as in the queue. It is exact when
    /// no other thread is using the queue. Use it for metrics and load shedding, not for
    /// synchronisation.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q = Queue::new(4);
    /// assert_eq!(q.len(), 0);
    /// q.try_push(1).unwrap();
    /// q.try_push(2).unwrap();
    /// assert_eq!(q.len(), 2);
    /// q.try_pop();
    /// assert_eq!(q.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        loop {
            // Read tail, then head, then make sure tail did not move in between, so the two
            // values were both current at the moment of the second tail load.
            let tail = self.tail.load(Ordering::SeqCst) & !self.cap;
            let head = self.head.load(Ordering::SeqCst);
            if self.tail.load(Ordering::SeqCst) & !self.cap == tail {
                return self.distance(head, tail);
            }
        }
    }

    /// Returns `true` if the queue holds no items.
    ///
    /// Like [`len`](Self::len), this is a snapshot under concurrency.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q = Queue::new(4);
    /// assert!(q.is_empty());
    /// q.try_push("job").unwrap();
    /// assert!(!q.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        let head = self.head.load(Ordering::SeqCst);
        let tail = self.tail.load(Ordering::SeqCst) & !self.cap;
        // If head moved just before we loaded tail, there was a moment when the queue was
        // not empty, so `false` is a correct answer for that moment.
        head == tail
    }

    /// Pushes `item` at the back of the queue, or gives it back as `Err(item)` if the queue
    /// is full or closed.
    ///
    /// Takes no lock unless a consumer is parked in [`pop_wait`](Self::pop_wait): then it
    /// wakes one (a lock and a `notify_one`); if none is, waking costs one atomic load. Like
    /// any Vyukov queue it is not strictly lock-free: if the slot it needs was claimed by a
    /// consumer that has not finished reading it, it spins (then yields) until that consumer
    /// is done, which is a few instructions unless the consumer is preempted right there.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q = Queue::new(1);
    /// assert_eq!(q.try_push(10), Ok(()));
    /// assert_eq!(q.try_push(20), Err(20)); // full
    /// q.try_pop();
    /// q.close();
    /// assert_eq!(q.try_push(30), Err(30)); // closed
    /// ```
    pub fn try_push(&self, item: T) -> Result<(), T> {
        let backoff = Backoff::new();
        let mut tail = self.tail.load(Ordering::Relaxed);
        loop {
            if tail & self.cap != 0 {
                // The mark bit: closed.
                return Err(item);
            }
            let index = tail & (self.cap - 1);
            let new_tail = self.advance(tail);
            // SAFETY: `cap` is a power of two and `index` is masked with `cap - 1`, so it is
            // within the buffer of `cap` slots.
            let slot = unsafe { self.buffer.get_unchecked(index) };
            let stamp = slot.stamp.load(Ordering::Acquire);

            if stamp == tail {
                // The slot is free for this lap: try to claim it. SeqCst: this is the write
                // half of the producer side of the wake-up protocol (module docs); on x86 any
                // locked instruction is a full barrier, so it costs nothing extra.
                match self.tail.compare_exchange_weak(
                    tail,
                    new_tail,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the successful CAS made this thread the only one that owns
                        // the slot for lap `tail`: no other producer can claim it (tail has
                        // moved on) and no consumer reads it until the stamp below says so.
                        // The slot is uninitialised (its previous value, if any, was moved
                        // out by the consumer that stamped it `tail`; the Acquire load above
                        // synchronises with that consumer's Release store).
                        unsafe { slot.value.get().write(MaybeUninit::new(item)) };
                        slot.stamp.store(tail.wrapping_add(1), Ordering::Release);
                        self.wake_one_if_sleeping();
                        return Ok(());
                    }
                    Err(current) => {
                        tail = current;
                        backoff.spin();
                    }
                }
            } else if stamp.wrapping_add(self.one_lap) == tail.wrapping_add(1) {
                // The slot still holds the item of the previous lap. Full, or a consumer has
                // claimed it and is still reading: look at head to tell which.
                atomic::fence(Ordering::SeqCst);
                let head = self.head.load(Ordering::Relaxed);
                if head.wrapping_add(self.one_lap) == tail {
                    return Err(item);
                }
                backoff.spin();
                tail = self.tail.load(Ordering::Relaxed);
            } else {
                // Another producer claimed this slot and tail has moved on, or our `tail` is
                // stale: reload.
                backoff.snooze();
                tail = self.tail.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops the item at the front of the queue, or returns `None` if the queue is empty.
    ///
    /// Never takes a lock. `None` means the queue was empty at some instant during the call.
    /// Works the same whether or not the queue is closed. If the next item's producer has
    /// claimed its slot but not finished writing it, this spins (then yields) until it has,
    /// rather than report a queue with an item on the way as empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q = Queue::new(4);
    /// assert_eq!(q.try_pop(), None);
    /// q.try_push(1).unwrap();
    /// q.try_push(2).unwrap();
    /// assert_eq!(q.try_pop(), Some(1));
    /// assert_eq!(q.try_pop(), Some(2));
    /// assert_eq!(q.try_pop(), None);
    /// ```
    pub fn try_pop(&self) -> Option<T> {
        let backoff = Backoff::new();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let index = head & (self.cap - 1);
            // SAFETY: `index` is masked with `cap - 1`, so it is within the buffer.
            let slot = unsafe { self.buffer.get_unchecked(index) };
            let stamp = slot.stamp.load(Ordering::Acquire);

            if stamp == head.wrapping_add(1) {
                // The slot holds the item of this lap: try to claim it.
                let new_head = self.advance(head);
                match self.head.compare_exchange_weak(
                    head,
                    new_head,
                    Ordering::SeqCst,
                    Ordering::Relaxed,
                ) {
                    Ok(_) => {
                        // SAFETY: the successful CAS made this thread the only one that owns
                        // the slot for lap `head`. The stamp `head + 1`, loaded with Acquire,
                        // was stored with Release by the producer after it initialised the
                        // value, so the value is initialised and visible. Reading moves it
                        // out; the stamp store below hands the (now logically uninitialised)
                        // slot to the next lap's producer, so it is never read twice.
                        let item = unsafe { slot.value.get().read().assume_init() };
                        slot.stamp
                            .store(head.wrapping_add(self.one_lap), Ordering::Release);
                        return Some(item);
                    }
                    Err(current) => {
                        head = current;
                        backoff.spin();
                    }
                }
            } else if stamp == head {
                // The slot awaits this lap's item. Empty, or a producer has claimed it and is
                // still writing: look at tail to tell which. The SeqCst fence is the read half
                // of the consumer side of the wake-up protocol (module docs).
                atomic::fence(Ordering::SeqCst);
                let tail = self.tail.load(Ordering::Relaxed) & !self.cap;
                if tail == head {
                    return None;
                }
                backoff.spin();
                head = self.head.load(Ordering::Relaxed);
            } else {
                // Another consumer took this slot and head has moved on: reload.
                backoff.snooze();
                head = self.head.load(Ordering::Relaxed);
            }
        }
    }

    /// Pops the item at the front of the queue, waiting for one if the queue is empty.
    ///
    /// Spins briefly (yielding the CPU a few times), then parks the thread until a producer
    /// pushes or the queue is closed.
    /// Returns `None` only once the queue is closed and drained: after [`close`](Self::close),
    /// consumers still get every item that was pushed before it.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    /// use std::sync::Arc;
    ///
    /// let q = Arc::new(Queue::new(8));
    /// let producer = {
    ///     let q = Arc::clone(&q);
    ///     std::thread::spawn(move || {
    ///         q.try_push("hello").unwrap();
    ///         q.close();
    ///     })
    /// };
    /// assert_eq!(q.pop_wait(), Some("hello"));
    /// assert_eq!(q.pop_wait(), None); // closed and drained
    /// producer.join().unwrap();
    /// ```
    pub fn pop_wait(&self) -> Option<T> {
        self.pop_wait_until(None)
    }

    /// Like [`pop_wait`](Self::pop_wait), but gives up after `timeout`.
    ///
    /// Returns `None` if no item arrived in time, or if the queue is closed and drained.
    /// Tell the two apart with [`is_closed`](Self::is_closed). A zero timeout still spins
    /// briefly and makes one last attempt.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    /// use std::time::Duration;
    ///
    /// let q = Queue::new(8);
    /// assert_eq!(q.pop_wait_timeout(Duration::from_millis(1)), None); // timed out
    /// q.try_push(7).unwrap();
    /// assert_eq!(q.pop_wait_timeout(Duration::from_secs(1)), Some(7));
    /// ```
    pub fn pop_wait_timeout(&self, timeout: Duration) -> Option<T> {
        // A timeout too large to represent is as good as no timeout.
        let deadline = Instant::now().checked_add(timeout);
        match deadline {
            Some(deadline) => self.pop_wait_until(Some(deadline)),
            None => self.pop_wait(),
        }
    }

    /// Closes the queue: pushes fail from now on, and every parked consumer is woken.
    ///
    /// Items already in the queue stay there: [`try_pop`](Self::try_pop) and
    /// [`pop_wait`](Self::pop_wait) return them, then `pop_wait` returns `None`. Closing twice
    /// is harmless.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q = Queue::new(4);
    /// q.try_push(1).unwrap();
    /// q.close();
    /// assert_eq!(q.try_push(2), Err(2));
    /// assert_eq!(q.pop_wait(), Some(1));
    /// assert_eq!(q.pop_wait(), None);
    /// ```
    pub fn close(&self) {
        // One atomic RMW: a producer's CAS on tail either happened before it (its item is in
        // the queue) or fails afterwards and sees the mark.
        self.tail.fetch_or(self.cap, Ordering::SeqCst);
        // Wake everyone. A consumer checks `is_closed` under the lock before waiting, so
        // taking the lock here means it either saw the mark or is already waiting.
        let _guard = self.lock_parking();
        self.parking.cond.notify_all();
    }

    /// Returns `true` once [`close`](Self::close) has been called.
    ///
    /// # Examples
    ///
    /// ```
    /// use fasterapi_core::mpmc::Queue;
    ///
    /// let q: Queue<u8> = Queue::new(4);
    /// assert!(!q.is_closed());
    /// q.close();
    /// assert!(q.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.tail.load(Ordering::SeqCst) & self.cap != 0
    }

    /// The position after `pos` (`{ lap, 0, index }`): the next index, or index 0 of the
    /// next lap, skipping the mark bit.
    #[inline]
    fn advance(&self, pos: usize) -> usize {
        if pos & (self.cap - 1) != self.cap - 1 {
            pos.wrapping_add(1)
        } else {
            (pos & !(self.one_lap - 1)).wrapping_add(self.one_lap)
        }
    }

    /// Number of items between positions `head` and `tail` (both without the mark bit),
    /// given `head <= tail <= head + cap` in queue order.
    fn distance(&self, head: usize, tail: usize) -> usize {
        let hix = head & (self.cap - 1);
        let tix = tail & (self.cap - 1);
        if hix < tix {
            tix - hix
        } else if hix > tix {
            self.cap - hix + tix
        } else if head == tail {
            0
        } else {
            self.cap
        }
    }

    /// The producer side of the wake-up protocol: after publishing an item, wake a parked
    /// consumer if there is one.
    #[inline]
    fn wake_one_if_sleeping(&self) {
        // SeqCst: pairs with the consumer's SeqCst increment of `sleepers` and fence before
        // it looks at `tail` (module docs). The CAS on `tail` that published the item is
        // SeqCst too, and precedes this load in the single total order of SeqCst operations.
        if self.parking.sleepers.load(Ordering::SeqCst) != 0 {
            self.wake_one();
        }
    }

    #[cold]
    fn wake_one(&self) {
        // Taking the lock is what makes the notify race-free: a consumer holds it from its
        // `sleepers` increment until it is waiting on the condvar.
        let mut tokens = self.lock_parking();
        // Re-check under the lock: other producers may have notified every waiter already.
        if self.parking.sleepers.load(Ordering::SeqCst) != 0 {
            self.parking.sleepers.fetch_sub(1, Ordering::SeqCst);
            *tokens += 1;
            self.parking.cond.notify_one();
        }
    }

    /// Locks the parking mutex. The count it guards is only changed by code that cannot
    /// panic half-way, so a poisoned lock is still consistent.
    fn lock_parking(&self) -> MutexGuard<'_, usize> {
        self.parking.lock.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the queue looks non-empty, from two plain loads: cheap enough to poll while
    /// spinning, and never a false `false` for long (only a hint; `try_pop` decides).
    #[inline]
    fn looks_non_empty(&self) -> bool {
        self.head.load(Ordering::Relaxed) != self.tail.load(Ordering::Relaxed) & !self.cap
    }

    /// `pop_wait` with an optional deadline.
    fn pop_wait_until(&self, deadline: Option<Instant>) -> Option<T> {
        // Phase 1: spin, then yield a few times (crossbeam's `Backoff::snooze` schedule).
        // Poll with plain loads (no fence, no write to shared lines), and only go through
        // `try_pop` when an item seems to be there, or when closed.
        let backoff = Backoff::new();
        while !backoff.is_completed() {
            if self.looks_non_empty() || self.is_closed() {
                // Check closed *before* popping: a `None` from a pop that started after the
                // close was observed means the queue is drained for good (no push can succeed
                // after the close).
                let closed = self.is_closed();
                if let Some(item) = self.try_pop() {
                    return Some(item);
                }
                if closed {
                    return None;
                }
            }
            backoff.snooze();
        }

        // Phase 2: park until woken, then retry.
        loop {
            let mut tokens = self.lock_parking();
            // Announce that we are about to sleep *before* the last look at the queue.
            // SeqCst RMW + the SeqCst fence inside `try_pop` (before it reads `tail`) pair
            // with the producer's SeqCst CAS of `tail` and SeqCst load of `sleepers`: either
            // the producer sees us, or we see its item (module docs).
            self.parking.sleepers.fetch_add(1, Ordering::SeqCst);
            let closed = self.is_closed();
            let item = self.try_pop();
            let timeout = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if item.is_some() || closed || timeout == Some(Duration::ZERO) {
                // Not waiting after all. Nobody can have notified us: that takes the lock.
                self.parking.sleepers.fetch_sub(1, Ordering::SeqCst);
                return item;
            }
            // Empty and open: wait. `wait` releases the lock atomically, so a producer that
            // saw our increment and takes the lock to notify does so only once we wait.
            tokens = match timeout {
                None => self
                    .parking
                    .cond
                    .wait(tokens)
                    .unwrap_or_else(|e| e.into_inner()),
                Some(timeout) => {
                    self.parking
                        .cond
                        .wait_timeout(tokens, timeout)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
            // Leave the wait (lock held again): collect a notification if one was sent,
            // else we woke on our own (timeout, `close`, spurious) and are still counted.
            if *tokens > 0 {
                *tokens -= 1;
            } else {
                self.parking.sleepers.fetch_sub(1, Ordering::SeqCst);
            }
            drop(tokens);
            // Look again without the lock, so that consumers woken together do not pop one
            // by one under it.
            let closed = self.is_closed();
            if let Some(item) = self.try_pop() {
                return Some(item);
            }
            if closed {
                return None;
            }
            // Then park again. A deadline that has passed is caught above, after one last
            // `try_pop` (a notify meant for us may have raced with the timeout).
        }
    }
}

impl<T> Drop for Queue<T> {
    fn drop(&mut self) {
        if !mem::needs_drop::<T>() {
            return;
        }
        // `&mut self`: no other thread can be mid-operation, so every position between head
        // and tail holds an initialised item that was never popped.
        let head = *self.head.get_mut();
        let tail = *self.tail.get_mut() & !self.cap;
        let len = self.distance(head, tail);
        let hix = head & (self.cap - 1);
        for i in 0..len {
            let index = (hix + i) & (self.cap - 1);
            let slot = &mut self.buffer[index];
            // SAFETY: positions `head..tail` were published by producers and not claimed by
            // any consumer (we have exclusive access, so no push or pop is in flight); each
            // such slot holds an initialised item that nothing else will drop.
            unsafe { slot.value.get_mut().assume_init_drop() };
        }
    }
}

impl<T> fmt::Debug for Queue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("capacity", &self.cap)
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;
    use std::thread;

    /// Polls `done` (yielding, not sleeping) until it holds. The deadline only turns a hang
    /// (a lost wake-up) into a failure; healthy runs finish in milliseconds.
    fn wait_for(what: &str, done: impl Fn() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "stuck waiting for {what}"
            );
            thread::yield_now();
        }
    }

    #[test]
    fn fifo_order_single_thread() {
        let q = Queue::new(8);
        for i in 0..8 {
            q.try_push(i).unwrap();
        }
        assert_eq!(q.len(), 8);
        for i in 0..8 {
            assert_eq!(q.try_pop(), Some(i));
        }
        assert_eq!(q.try_pop(), None);
    }

    #[test]
    fn full_gives_the_same_item_back_and_empty_gives_none() {
        let q = Queue::new(4);
        assert!(q.is_empty());
        assert_eq!(q.try_pop(), None);
        for i in 0..4 {
            assert_eq!(q.try_push(format!("item {i}")), Ok(()));
        }
        assert_eq!(q.len(), 4);
        assert!(!q.is_empty());
        // The rejected item is the very one we passed, not a copy or an older one.
        let rejected = String::from("extra");
        let ptr = rejected.as_ptr();
        let back = q.try_push(rejected).unwrap_err();
        assert_eq!(back, "extra");
        assert_eq!(back.as_ptr(), ptr);
        // Still full, nothing was lost or overwritten.
        assert_eq!(q.len(), 4);
        assert_eq!(q.try_pop().as_deref(), Some("item 0"));
        assert_eq!(q.try_push(back), Ok(()));
        for i in 1..4 {
            assert_eq!(q.try_pop(), Some(format!("item {i}")));
        }
        assert_eq!(q.try_pop().as_deref(), Some("extra"));
        assert_eq!(q.try_pop(), None);
        assert!(q.is_empty());
    }

    #[test]
    fn wraps_around_many_laps() {
        // Interleave pushes and pops so head and tail go round the ring many times at every
        // fill level, checking order and len all the way.
        let q = Queue::new(4);
        let mut next_in = 0u64;
        let mut next_out = 0u64;
        for round in 0..1000 {
            let fill = round % 5; // 0..=4 items in flight
            while (next_in - next_out) < fill as u64 {
                q.try_push(next_in).unwrap();
                next_in += 1;
            }
            assert_eq!(q.len(), fill);
            if fill == 4 {
                assert_eq!(q.try_push(u64::MAX), Err(u64::MAX));
            }
            while let Some(v) = q.try_pop() {
                assert_eq!(v, next_out);
                next_out += 1;
            }
            assert_eq!(next_out, next_in);
            assert!(q.is_empty());
        }
        assert!(next_in > 100 * q.capacity() as u64);
    }

    #[test]
    fn capacity_one_wraps() {
        let q = Queue::new(1);
        for i in 0..100 {
            q.try_push(i).unwrap();
            assert_eq!(q.try_push(-1), Err(-1));
            assert_eq!(q.try_pop(), Some(i));
            assert_eq!(q.try_pop(), None);
        }
    }

    #[test]
    fn capacity_is_rounded_up_to_a_power_of_two() {
        for (asked, got) in [(1, 1), (2, 2), (3, 4), (5, 8), (1000, 1024), (1024, 1024)] {
            let q = Queue::<u8>::new(asked);
            assert_eq!(q.capacity(), got, "asked {asked}");
            // And it really holds that many.
            for i in 0..got {
                q.try_push(i as u8).unwrap();
            }
            assert_eq!(q.try_push(0), Err(0), "asked {asked}");
        }
    }

    #[test]
    #[should_panic(expected = "capacity must be at least 1")]
    fn capacity_zero_panics() {
        let _ = Queue::<u8>::new(0);
    }

    #[test]
    #[should_panic(expected = "too large")]
    fn capacity_too_large_panics() {
        let _ = Queue::<u8>::new(usize::MAX);
    }

    #[test]
    fn close_semantics() {
        let q = Queue::new(4);
        q.try_push(1).unwrap();
        q.try_push(2).unwrap();
        assert!(!q.is_closed());
        q.close();
        assert!(q.is_closed());
        assert_eq!(q.try_push(3), Err(3));
        assert_eq!(q.len(), 2);
        // Remaining items first, then None, and None again.
        assert_eq!(q.pop_wait(), Some(1));
        assert_eq!(q.try_pop(), Some(2));
        assert_eq!(q.pop_wait(), None);
        assert_eq!(q.pop_wait(), None);
        assert_eq!(q.pop_wait_timeout(Duration::from_secs(60)), None);
        q.close(); // twice is fine
        assert!(q.is_closed());
        assert!(q.is_empty());
    }

    #[test]
    fn close_on_a_full_queue_at_the_end_of_a_lap() {
        // The mark bit sits right above the index bits: make sure a closed tail at the last
        // index is not mistaken for the next lap, and that len/drain still work.
        let q = Queue::new(4);
        for i in 0..3 {
            q.try_push(i).unwrap();
            q.try_pop();
        }
        for i in 0..4 {
            q.try_push(i).unwrap();
        }
        q.close();
        assert_eq!(q.len(), 4);
        assert_eq!(q.try_push(9), Err(9));
        for i in 0..4 {
            assert_eq!(q.pop_wait(), Some(i));
        }
        assert_eq!(q.pop_wait(), None);
    }

    #[test]
    fn close_wakes_parked_consumers() {
        let q = Arc::new(Queue::<u32>::new(4));
        let finished = Arc::new(AtomicUsize::new(0));
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let q = Arc::clone(&q);
                let finished = Arc::clone(&finished);
                thread::spawn(move || {
                    let got = q.pop_wait();
                    finished.fetch_add(1, Ordering::SeqCst);
                    got
                })
            })
            .collect();
        // Wait (by polling state, not by sleeping) until all three are parked.
        wait_for("3 parked consumers", || {
            q.parking.sleepers.load(Ordering::SeqCst) == 3
        });
        q.close();
        wait_for("close to wake all 3 consumers", || {
            finished.load(Ordering::SeqCst) == 3
        });
        for c in consumers {
            assert_eq!(c.join().unwrap(), None);
        }
    }

    #[test]
    fn pop_wait_timeout_on_empty_queue_returns_none() {
        let q = Queue::<u32>::new(4);
        assert_eq!(q.pop_wait_timeout(Duration::from_millis(20)), None);
        assert_eq!(q.pop_wait_timeout(Duration::ZERO), None);
        // A timeout too large for `Instant` must not panic; with an item there it returns it.
        q.try_push(5).unwrap();
        assert_eq!(q.pop_wait_timeout(Duration::MAX), Some(5));
        // Nobody is left counted as waiting, and no wake-up is left uncollected.
        assert_eq!(q.parking.sleepers.load(Ordering::SeqCst), 0);
        assert_eq!(*q.lock_parking(), 0);
    }

    #[test]
    fn pop_wait_timeout_gets_an_item_pushed_while_it_is_parked() {
        let q = Arc::new(Queue::<u32>::new(4));
        let consumer = {
            let q = Arc::clone(&q);
            thread::spawn(move || q.pop_wait_timeout(Duration::from_secs(600)))
        };
        wait_for("the consumer to park", || {
            q.parking.sleepers.load(Ordering::SeqCst) == 1
        });
        q.try_push(42).unwrap();
        wait_for("the parked consumer to take the item", || {
            consumer.is_finished()
        });
        assert_eq!(consumer.join().unwrap(), Some(42));
        assert_eq!(q.parking.sleepers.load(Ordering::SeqCst), 0);
        assert_eq!(*q.lock_parking(), 0);
    }

    #[test]
    fn parked_consumers_are_woken_by_push() {
        // A single consumer: nobody else can pick up an item whose wake-up was lost.
        parked_consumers_are_woken(1, 500);
        // Several: pushes of 1..=3 items must wake enough of them, and wake-up tokens must be
        // accounted right when fewer items than sleepers arrive.
        parked_consumers_are_woken(3, 300);
    }

    /// Deterministically drives the park/wake path: waits until every consumer has announced
    /// it sleeps, then pushes. A lost wake-up shows as a stuck round.
    fn parked_consumers_are_woken(consumers_n: usize, rounds: usize) {
        let q = Arc::new(Queue::<usize>::new(8));
        let received = Arc::new(AtomicUsize::new(0));
        let consumers: Vec<_> = (0..consumers_n)
            .map(|_| {
                let q = Arc::clone(&q);
                let received = Arc::clone(&received);
                thread::spawn(move || {
                    let mut sum = 0;
                    while let Some(v) = q.pop_wait() {
                        sum += v;
                        received.fetch_add(1, Ordering::SeqCst);
                    }
                    sum
                })
            })
            .collect();
        let mut expected_sum = 0;
        let mut sent = 0;
        for round in 0..rounds {
            wait_for("every consumer to park", || {
                q.parking.sleepers.load(Ordering::SeqCst) == consumers_n
            });
            for k in 0..=(round % consumers_n) {
                let v = round * 10 + k;
                q.try_push(v).unwrap();
                expected_sum += v;
                sent += 1;
            }
            wait_for("the round to be consumed", || {
                received.load(Ordering::SeqCst) == sent
            });
        }
        q.close();
        wait_for("close to wake the consumers", || {
            consumers.iter().all(|c| c.is_finished())
        });
        let sum: usize = consumers.into_iter().map(|c| c.join().unwrap()).sum();
        assert_eq!(sum, expected_sum);
    }

    /// An item that counts its drops, keyed by id, so double drops are caught.
    #[derive(Debug)]
    struct Tracked {
        id: usize,
        drops: Arc<Vec<AtomicUsize>>,
    }

    impl Drop for Tracked {
        fn drop(&mut self) {
            self.drops[self.id].fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn drop_drops_what_is_left_exactly_once() {
        const N: usize = 10;
        let drops = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
        let item = |id| Tracked {
            id,
            drops: Arc::clone(&drops),
        };
        let q = Queue::new(4);
        // Go round the ring a bit first so the leftovers straddle the wrap point.
        for id in 0..3 {
            q.try_push(item(id)).unwrap();
        }
        let popped: Vec<_> = (0..3).map(|_| q.try_pop().unwrap()).collect();
        for id in 3..7 {
            q.try_push(item(id)).unwrap();
        }
        // Rejected item: given back, dropped by us, once.
        let back = q.try_push(item(7)).unwrap_err();
        assert_eq!(back.id, 7);
        drop(back);
        let one_more = q.try_pop().unwrap(); // id 3
        assert_eq!(one_more.id, 3);
        q.try_push(item(8)).unwrap();
        // Left in the queue: 4, 5, 6, 8. Popped and still alive: 0, 1, 2, 3.
        drop(q);
        let counts: Vec<usize> = drops.iter().map(|d| d.load(Ordering::SeqCst)).collect();
        assert_eq!(counts, [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]);
        drop(popped);
        drop(one_more);
        let counts: Vec<usize> = drops.iter().map(|d| d.load(Ordering::SeqCst)).collect();
        assert_eq!(counts, [1, 1, 1, 1, 1, 1, 1, 1, 1, 0]);
    }

    #[test]
    fn drop_of_a_closed_full_queue() {
        let drops = Arc::new((0..2).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
        let q = Queue::new(2);
        for id in 0..2 {
            q.try_push(Tracked {
                id,
                drops: Arc::clone(&drops),
            })
            .unwrap();
        }
        q.close();
        drop(q);
        assert!(drops.iter().all(|d| d.load(Ordering::SeqCst) == 1));
    }

    #[test]
    fn is_send_and_sync() {
        fn assert_send_sync<X: Send + Sync>() {}
        assert_send_sync::<Queue<String>>();
        assert_send_sync::<Queue<std::sync::mpsc::Sender<u8>>>();
    }
}
