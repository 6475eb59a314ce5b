//! A per-thread pool of [`BytesMut`] buffers, so steady-state I/O does not touch the
//! allocator.
//!
//! # Ownership and refcounting
//!
//! A [`BufPool`] belongs to one thread (an I/O thread owns its pool, like its connections):
//! every method takes `&mut self`, there are no locks and no atomics of its own. The buffers
//! it hands out are plain [`BytesMut`], and all sharing comes from the `bytes` crate:
//! [`BytesMut::split_to`] / [`BytesMut::split_off`] cut a buffer in two handles over the
//! same allocation, and [`BytesMut::freeze`] turns one into an immutable, cheaply cloneable
//! [`Bytes`](bytes::Bytes) that shares the memory with no copy (it may go to another
//! thread; `bytes` refcounts the allocation atomically). The allocation is freed when its
//! last handle drops, wherever that is.
//!
//! # What `put` keeps
//!
//! [`BufPool::put`] clears the buffer and keeps it only if it can serve again as a
//! full-size buffer **without allocating** and **without sharing memory with anyone**:
//!
//! - its usable capacity after [`BytesMut::try_reclaim`] is at least
//!   [`buf_size`](BufPool::buf_size). `try_reclaim` gives back the space in front of a
//!   buffer that was [`advance`](bytes::Buf::advance)d, or the whole allocation once every
//!   other handle to it (a frozen `Bytes`, a split-off `BytesMut`) has been dropped; it
//!   never allocates, and never hands out bytes another live handle can see. A buffer
//!   whose head was split off and is still alive elsewhere is therefore dropped, unless
//!   its own part (disjoint from the other handles') still has `buf_size` bytes;
//! - it is not oversized: an allocation larger than `2 * buf_size` (a connection buffer that
//!   grew for a large request, say) is dropped, so one burst does not pin big buffers;
//! - the pool holds fewer than `max_buffers` buffers.
//!
//! Everything else is dropped (and counted in [`PoolStats::drops`]).
//!
//! One case keeps more memory than it shows: a buffer whose head is still shared but whose
//! own remaining part has between `buf_size` and `2 * buf_size` bytes is kept, and keeps
//! the whole shared allocation alive until it is dropped or comes back through `put` again
//! (then no longer shared, and dropped if the allocation is oversized). The free list is
//! LIFO, so under load such a buffer is reused, and rechecked, at once.
//!
//! # Example
//!
//! ```
//! use bytes::{Buf, BufMut};
//! use fasterapi_core::buf::BufPool;
//!
//! let mut pool = BufPool::new(8192, 64);
//!
//! // A connection reads a request into a pooled buffer...
//! let mut buf = pool.get(); // a miss: the pool was empty
//! buf.put_slice(b"GET / HTTP/1.1\r\n\r\nleftover");
//! // ...hands the request to another thread without copying...
//! let request = buf.split_to(18).freeze();
//! // ...and consumes the rest.
//! buf.advance(8);
//!
//! // `request` still shares the allocation: the 8174 bytes after it can be reused,
//! // but that is short of a full buffer, and reclaiming the rest would need `request` gone.
//! pool.put(buf);
//! assert_eq!(pool.len(), 0);
//! assert_eq!(pool.stats().drops, 1);
//! assert_eq!(&request[..], b"GET / HTTP/1.1\r\n\r\n");
//!
//! // A buffer nobody else references goes back whole, however far it was advanced.
//! let mut buf = pool.get();
//! buf.put_slice(b"response");
//! buf.advance(8);
//! pool.put(buf);
//! assert_eq!(pool.len(), 1);
//! let buf = pool.get(); // a hit
//! assert!(buf.is_empty() && buf.capacity() >= 8192);
//! assert_eq!(pool.stats().hits, 1);
//! ```

use bytes::BytesMut;

/// Hit, miss and drop counts of a [`BufPool`] since it was created.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// [`BufPool::get`] calls served from the free list.
    pub hits: u64,
    /// [`BufPool::get`] calls that allocated a new buffer.
    pub misses: u64,
    /// Buffers [`BufPool::put`] did not keep (too small, shared, oversized, or pool full).
    pub drops: u64,
}

/// A single-thread pool of [`BytesMut`] buffers of one size. See the [module docs](self).
#[derive(Debug)]
pub struct BufPool {
    free: Vec<BytesMut>,
    buf_size: usize,
    max_buffers: usize,
    stats: PoolStats,
}

impl BufPool {
    /// A pool of buffers of (at least) `buf_size` bytes that keeps up to `max_buffers` of
    /// them. Nothing is allocated until buffers are returned (the free list grows on
    /// demand, up to `max_buffers` entries).
    pub fn new(buf_size: usize, max_buffers: usize) -> Self {
        BufPool {
            free: Vec::new(),
            buf_size,
            max_buffers,
            stats: PoolStats::default(),
        }
    }

    /// The capacity every buffer from [`get`](Self::get) has at least.
    #[inline]
    pub fn buf_size(&self) -> usize {
        self.buf_size
    }

    /// The most buffers the pool keeps.
    #[inline]
    pub fn max_buffers(&self) -> usize {
        self.max_buffers
    }

    /// How many buffers the pool holds now.
    #[inline]
    pub fn len(&self) -> usize {
        self.free.len()
    }

    /// Whether the pool holds no buffer (the next [`get`](Self::get) allocates).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.free.is_empty()
    }

    /// An empty buffer with capacity at least [`buf_size`](Self::buf_size): the most
    /// recently returned one (a hit), or a new allocation (a miss).
    #[inline]
    pub fn get(&mut self) -> BytesMut {
        match self.free.pop() {
            Some(buf) => {
                self.stats.hits += 1;
                buf
            }
            None => {
                self.stats.misses += 1;
                BytesMut::with_capacity(self.buf_size)
            }
        }
    }

    /// Returns a buffer to the pool. Its contents are discarded; it is kept if it can serve
    /// as a full buffer again without allocating or sharing memory, and the pool is not
    /// full; otherwise it is dropped. See [what `put` keeps](self#what-put-keeps).
    ///
    /// Any `BytesMut` may be returned, not only ones from [`get`](Self::get).
    #[inline]
    pub fn put(&mut self, mut buf: BytesMut) {
        if self.free.len() < self.max_buffers && self.reusable(&mut buf) {
            self.free.push(buf);
        } else {
            self.stats.drops += 1;
        }
    }

    /// Clears `buf` and makes its whole allocation usable again if it can; true if it is
    /// then a buffer `get` may hand out.
    #[inline]
    fn reusable(&self, buf: &mut BytesMut) -> bool {
        buf.clear();
        // `try_reclaim(n)` (on an empty buffer) succeeds without allocating iff `n` bytes
        // are or can be made usable: already there; or regained by moving the start back
        // over advanced-past bytes, or by taking the whole allocation back once this is its
        // only handle. It never moves onto bytes another handle can see. So:
        // - success at `2 * buf_size + 1` means the allocation is oversized: drop it;
        //   (otherwise nothing changed: failures have no effect)
        // - success at `buf_size` means a full buffer, now with its start rewound.
        let oversized = buf.try_reclaim(self.buf_size.saturating_mul(2).saturating_add(1));
        !oversized && buf.try_reclaim(self.buf_size)
    }

    /// Hit, miss and drop counts so far.
    #[inline]
    pub fn stats(&self) -> PoolStats {
        self.stats
    }

    /// Drops every pooled buffer (the counters are kept).
    pub fn clear(&mut self) {
        self.free.clear();
    }
}

impl Default for BufPool {
    /// 8 KiB buffers, at most 1024 kept (8 MiB).
    fn default() -> Self {
        BufPool::new(8 * 1024, 1024)
    }
}
