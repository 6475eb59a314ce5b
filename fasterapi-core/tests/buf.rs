//! BufPool: counters, what `put` keeps, and that reuse never touches memory a live `Bytes`
//! still sees.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use fasterapi_core::buf::{BufPool, PoolStats};

const SIZE: usize = 1024;

fn stats(hits: u64, misses: u64, drops: u64) -> PoolStats {
    PoolStats {
        hits,
        misses,
        drops,
    }
}

/// Takes a buffer from the pool and fills its whole capacity with `byte`.
fn get_and_fill(pool: &mut BufPool, byte: u8) -> BytesMut {
    let mut buf = pool.get();
    assert!(buf.is_empty());
    assert!(buf.capacity() >= pool.buf_size());
    let cap = buf.capacity();
    buf.put_bytes(byte, cap);
    assert_eq!(
        buf.capacity(),
        cap,
        "writing up to the capacity must not reallocate"
    );
    buf
}

#[test]
fn defaults() {
    let pool = BufPool::default();
    assert_eq!(pool.buf_size(), 8192);
    assert_eq!(pool.max_buffers(), 1024);
    assert!(pool.is_empty());
    assert_eq!(pool.stats(), PoolStats::default());
}

#[test]
fn hits_misses_and_reuse_of_the_same_memory() {
    let mut pool = BufPool::new(SIZE, 4);
    let a = pool.get();
    let b = pool.get();
    assert_eq!(pool.stats(), stats(0, 2, 0));
    let (pa, pb) = (a.as_ptr(), b.as_ptr());
    pool.put(a);
    pool.put(b);
    assert_eq!(pool.len(), 2);
    // LIFO: the most recently returned (warmest) buffer comes back first.
    assert_eq!(pool.get().as_ptr(), pb);
    assert_eq!(pool.get().as_ptr(), pa);
    assert_eq!(pool.stats(), stats(2, 2, 0));
    assert!(pool.is_empty());
    pool.get();
    assert_eq!(pool.stats(), stats(2, 3, 0));
}

#[test]
fn put_clears_contents() {
    let mut pool = BufPool::new(SIZE, 4);
    let mut buf = pool.get();
    buf.put_slice(b"old data");
    pool.put(buf);
    let buf = pool.get();
    assert!(buf.is_empty());
    assert_eq!(buf.capacity(), SIZE);
}

#[test]
fn max_buffers_is_respected() {
    let mut pool = BufPool::new(SIZE, 3);
    let bufs: Vec<_> = (0..5).map(|_| pool.get()).collect();
    for b in bufs {
        pool.put(b);
    }
    assert_eq!(pool.len(), 3);
    assert_eq!(pool.stats(), stats(0, 5, 2));

    let mut none = BufPool::new(SIZE, 0);
    let b = none.get();
    none.put(b);
    assert!(none.is_empty());
    assert_eq!(none.stats(), stats(0, 1, 1));
}

#[test]
fn advanced_to_the_end_is_reusable_at_full_capacity() {
    let mut pool = BufPool::new(SIZE, 4);
    let mut buf = get_and_fill(&mut pool, b'x');
    let base = buf.as_ptr();
    buf.advance(SIZE); // everything consumed: start moved to the end, capacity 0
    assert_eq!(buf.capacity(), 0);
    pool.put(buf);
    assert_eq!(pool.len(), 1);
    let buf = pool.get();
    assert_eq!(buf.capacity(), SIZE);
    assert_eq!(
        buf.as_ptr(),
        base,
        "the start was rewound, no new allocation"
    );

    // Partly advanced, with unread bytes left: they are discarded, the space regained.
    let mut buf = buf;
    buf.put_slice(b"0123456789");
    buf.advance(4);
    pool.put(buf);
    let buf = pool.get();
    assert_eq!((buf.len(), buf.capacity(), buf.as_ptr()), (0, SIZE, base));
    assert_eq!(pool.stats().drops, 0);
}

#[test]
fn split_and_frozen_head_is_never_overwritten() {
    let mut pool = BufPool::new(SIZE, 4);
    let mut buf = get_and_fill(&mut pool, b'r');
    // The request is frozen and handed elsewhere; the rest of the buffer comes back.
    let request: Bytes = buf.split_to(100).freeze();
    pool.put(buf);
    // Only 924 bytes of it are not shared with `request`: not a full buffer, dropped.
    assert_eq!(pool.len(), 0);
    assert_eq!(pool.stats().drops, 1);

    // Whatever the pool hands out next, writing all of it leaves `request` intact.
    let _other = get_and_fill(&mut pool, b'w');
    assert_eq!(&request[..], &[b'r'; 100][..]);
}

#[test]
fn split_head_with_a_full_buffer_left_is_kept_and_disjoint() {
    let mut pool = BufPool::new(SIZE, 4);
    // A buffer twice the pool size: after splitting 100 bytes off, 1948 remain (a full
    // buffer, not oversized), disjoint from the frozen head.
    let mut buf = BytesMut::with_capacity(2 * SIZE);
    buf.put_bytes(b'r', 2 * SIZE);
    let head = buf.split_to(100).freeze();
    buf.clear();
    pool.put(buf);
    assert_eq!(pool.len(), 1);
    let reused = get_and_fill(&mut pool, b'w');
    assert!(reused.capacity() >= SIZE);
    assert_eq!(&head[..], &[b'r'; 100][..]);
    // And the reused buffer is not inside `head`.
    let (h, r) = (head.as_ptr_range(), reused.as_ptr_range());
    assert!(r.start >= h.end || r.end <= h.start);
}

#[test]
fn reclaimed_once_the_frozen_head_is_gone() {
    let mut pool = BufPool::new(SIZE, 4);
    let mut buf = get_and_fill(&mut pool, b'r');
    let base = buf.as_ptr();
    let request = buf.split_to(100).freeze();
    let clone = request.clone(); // more than one handle: still shared
    drop(request);
    let mut buf2 = buf; // keep the tail while the clone lives: shared, not reclaimable
    buf2.clear();
    assert!(!buf2.try_reclaim(SIZE));
    drop(clone);
    // Now the tail is the allocation's only handle: `put` takes the whole of it back.
    pool.put(buf2);
    assert_eq!(pool.len(), 1);
    let buf = pool.get();
    assert_eq!((buf.capacity(), buf.as_ptr()), (SIZE, base));
}

#[test]
fn frozen_tail_alive_head_comes_back() {
    let mut pool = BufPool::new(SIZE, 4);
    let mut buf = get_and_fill(&mut pool, b'a');
    // split_off: `buf` keeps the head [0, 512), the tail lives on as Bytes.
    let tail = buf.split_off(SIZE / 2).freeze();
    pool.put(buf);
    assert_eq!(pool.len(), 0, "512 bytes usable, the rest shared: dropped");
    let _ = get_and_fill(&mut pool, b'b');
    assert_eq!(&tail[..], &[b'a'; SIZE / 2][..]);
}

#[test]
fn live_bytes_survive_heavy_reuse() {
    // Interleave: freeze parts of pooled buffers, return the rest, reuse and overwrite
    // everything the pool hands out; every frozen part must keep its contents.
    let mut pool = BufPool::new(SIZE, 8);
    let mut live: Vec<(Bytes, u8)> = Vec::new();
    let mut seed = 7u64;
    for round in 0..2_000u32 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let byte = (round % 251) as u8;
        let mut buf = get_and_fill(&mut pool, byte);
        let cut = 1 + (seed % (buf.len() as u64 - 1)) as usize;
        let part = if seed & 1 == 0 {
            buf.split_to(cut).freeze()
        } else {
            buf.split_off(cut).freeze()
        };
        if seed & 2 == 0 {
            buf.advance(buf.len() / 2);
        }
        pool.put(buf);
        live.push((part, byte));
        if live.len() > 16 {
            live.remove((seed % 16) as usize);
        }
        for (b, v) in &live {
            assert!(b.iter().all(|x| x == v), "a live Bytes was overwritten");
        }
    }
    let s = pool.stats();
    assert_eq!(s.hits + s.misses, 2_000);
}

#[test]
fn oversized_is_not_kept() {
    let mut pool = BufPool::new(SIZE, 4);
    pool.put(BytesMut::with_capacity(2 * SIZE + 1));
    assert_eq!(pool.len(), 0);
    pool.put(BytesMut::with_capacity(2 * SIZE)); // the limit itself is fine
    assert_eq!(pool.len(), 1);

    // A pooled buffer that grew (a large request) is dropped on return.
    let mut buf = pool.get();
    buf.put_bytes(0, 10 * SIZE);
    pool.put(buf);
    assert_eq!(pool.len(), 0);

    // Also when the growth is hidden behind an advanced start.
    let mut buf = BytesMut::with_capacity(10 * SIZE);
    buf.put_bytes(0, 10 * SIZE - SIZE);
    buf.advance(10 * SIZE - SIZE); // capacity() now SIZE, allocation 10 * SIZE
    assert_eq!(buf.capacity(), SIZE);
    pool.put(buf);
    assert_eq!(pool.len(), 0);

    // And behind a split-off head that has since been dropped.
    let mut buf = BytesMut::with_capacity(10 * SIZE);
    buf.put_bytes(0, 10 * SIZE - SIZE);
    drop(buf.split_to(10 * SIZE - SIZE).freeze());
    assert_eq!(buf.capacity(), SIZE);
    pool.put(buf);
    assert_eq!(pool.len(), 0);
    assert_eq!(pool.stats().drops, 4);
}

#[test]
fn undersized_is_not_kept() {
    let mut pool = BufPool::new(SIZE, 4);
    pool.put(BytesMut::new());
    pool.put(BytesMut::with_capacity(SIZE - 1));
    assert_eq!(pool.len(), 0);
    assert_eq!(pool.stats().drops, 2);
    // Whatever is kept can take buf_size bytes without reallocating.
    pool.put(BytesMut::with_capacity(SIZE + 10));
    let buf = get_and_fill(&mut pool, 1);
    assert!(buf.capacity() >= SIZE);
}

#[test]
fn clear_drops_the_free_list() {
    let mut pool = BufPool::new(SIZE, 4);
    let b = pool.get();
    pool.put(b);
    pool.clear();
    assert!(pool.is_empty());
    assert_eq!(pool.stats(), stats(0, 1, 0));
}
