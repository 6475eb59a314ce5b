//! Observability: Prometheus metrics ([`App::metrics`](crate::App::metrics)) and the
//! access log ([`App::access_log`](crate::App::access_log)), both off by default.
//!
//! Both work by wrapping each route's handler when the app binds, outside its middleware
//! and compression, so a route pays for them only when they are on, and then nothing is
//! checked per request to know it.
//!
//! # Where the counts live
//!
//! Every count is a `u64` cell in one memory region of the registry: a header, then
//! *slots* handed out by a bump counter in the header. The process takes one slot when
//! the app binds (requests no route took, shed and timed-out requests, its published
//! gauges: counted with atomic adds, from cold paths) and each thread that runs handlers
//! (I/O threads, pool workers) takes one the first time it counts a routed request: its
//! requests by route, method and status class and its latency histograms, which only it
//! writes (a load and a store, relaxed: no read-modify-write, no lock, no cache line
//! shared with another writer). A scrape adds the slots up. The region is this process's
//! own memory for [`App::metrics`](crate::App::metrics), or a [`SharedMetrics`] region
//! mapped before the server processes were forked, whose slots every process takes from
//! the same header: then a scrape answered by any of them adds up the counts of all
//! (`App::metrics_shared`, what `FasterAPI.run(workers=N, metrics=...)` uses).
//!
//! # What the latency histogram measures
//!
//! An I/O thread reads the clock once when it wakes up with events and once when it has
//! served them (the turn's end, before it waits again), not per request: each request
//! whose handler ran on an I/O thread during a turn counts the time from the turn's
//! wake-up to its end. That is the time from the wake-up in which the server read the
//! request to the end of the turn in which its answer was written to the socket (or
//! queued, if the socket was full), and it includes the other connections served in the
//! same turn: the latency the event loop adds, not the handler's own time. With one
//! connection ready per wake-up it is the request's time in the server from its last
//! bytes read to its answer written; under load, when a turn serves many connections,
//! every request of the turn counts the whole turn. Handlers run on pool threads
//! (`blocking` routes) are timed on their thread, from the call until they return, and so
//! is every request when the access log is on too (its lines carry each request's own
//! time). An answer deferred through a `Reply` counts until the handler returned. Until
//! its turn ends, a request is in the `+Inf` bucket and `_count` only (both exact as soon
//! as its answer is written). `CLOCK_MONOTONIC_COARSE` would be cheaper per read but ticks
//! every 4 ms here, coarser than the first buckets (100 µs to 2.5 ms).

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, OnceLock};
use std::time::{Instant, SystemTime};

use fasterapi_core::metrics::Counter;

use crate::app::request::Request;
use crate::app::Handler;
use crate::http::method::Method;
use crate::http::response::{Body, Response, StatusCode};

/// The methods, in the order of their counters (that of [`Method`]'s variants).
const METHODS: [Method; 9] = [
    Method::Get,
    Method::Head,
    Method::Post,
    Method::Put,
    Method::Delete,
    Method::Patch,
    Method::Options,
    Method::Trace,
    Method::Connect,
];

#[inline]
fn method_index(m: Method) -> usize {
    // `Method` is a field-less enum whose variants are declared in `METHODS`' order
    // (checked by a test).
    m as usize
}

/// Status classes 1xx..5xx, as indices 0..5 (anything out of range counts as 5xx).
#[inline]
fn class_index(s: StatusCode) -> usize {
    match s.as_u16() / 100 {
        c @ 1..=5 => c as usize - 1,
        _ => 4,
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

/// Upper bounds of the latency buckets, in nanoseconds (Prometheus' `le`, cumulated at
/// scrape; the last bucket, `+Inf`, is implicit).
const BOUNDS_NS: [u64; 16] = [
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

fn bucket_index(ns: u64) -> usize {
    BOUNDS_NS
        .iter()
        .position(|&b| ns <= b)
        .unwrap_or(BOUNDS_NS.len())
}

/// Cells of a slot, by offset. The process's slot uses the first ones, each thread's
/// slot the routes' part.
mod cell {
    /// The pid of the process that took the slot.
    pub(super) const PID: usize = 0;
    /// Published gauges (a process's slot in a shared region): open connections and
    /// worker-queue depth as of its last event-loop turn.
    pub(super) const OPEN: usize = 1;
    pub(super) const QUEUED: usize = 2;
    pub(super) const SHED: usize = 3;
    pub(super) const TIMED_OUT: usize = 4;
    /// A thread's slot: odd while its thread moves the requests of a turn into their
    /// buckets (a seqlock: a scrape copies the slot again if this changed meanwhile).
    pub(super) const SEQ: usize = 5;
    /// Requests no route took, `[method][class]`.
    pub(super) const MISSES: usize = 6;
    /// The routes' cells start here, `ROUTE` each.
    pub(super) const ROUTES: usize = MISSES + 9 * 5;
    /// A route's cells: requests `[method][class]`, then its histogram's buckets, the sum
    /// of its latencies in nanoseconds, and its requests of the current turn (not in a
    /// bucket yet).
    pub(super) const ROUTE: usize = HIST + BUCKETS + 2;
    /// Offsets in a route's cells.
    pub(super) const HIST: usize = 9 * 5;
    pub(super) const SUM: usize = HIST + BUCKETS;
    pub(super) const PENDING: usize = SUM + 1;
    pub(super) const BUCKETS: usize = super::BOUNDS_NS.len() + 1;
}

/// The region's header, in cells.
mod header {
    /// [`MAGIC`](super::MAGIC), written when the region is made.
    pub(super) const MAGIC: usize = 0;
    /// The next free cell (slots are bumped from here).
    pub(super) const NEXT: usize = 1;
    /// Cells per slot, fixed by the first process that binds (1 + its value).
    pub(super) const SLOT_LEN: usize = 2;
    /// A fingerprint of the route labels (1 + its value), fixed by the first process.
    pub(super) const ROUTES: usize = 3;
    pub(super) const LEN: usize = 8;
}

const MAGIC: u64 = 0x6661_7374_6d65_7431; // "fastmet1"

/// Bytes of address space a region reserves; pages are only backed once written (a slot
/// for 10 routes is 5 KiB), so this is a limit, not a cost.
const REGION_BYTES: usize = 64 << 20;

/// Zeroed `u64` cells in memory mapped by this process: private to it, or shared with
/// the processes it forks afterwards.
struct Region {
    base: NonNull<AtomicU64>,
    cells: usize,
    shared: bool,
}

// SAFETY: the region is plain memory accessed only through `AtomicU64`s; the pointer
// stays valid until `Drop` unmaps it, which needs the last owner.
unsafe impl Send for Region {}
// SAFETY: as above; every access is atomic.
unsafe impl Sync for Region {}

impl Region {
    fn map(shared: bool) -> io::Result<Region> {
        let visibility = if shared {
            libc::MAP_SHARED
        } else {
            libc::MAP_PRIVATE
        };
        // SAFETY: a fresh anonymous mapping with no address hint; nothing else refers to
        // the memory it returns.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                REGION_BYTES,
                libc::PROT_READ | libc::PROT_WRITE,
                visibility | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<AtomicU64>()).ok_or_else(io::Error::last_os_error)?;
        let region = Region {
            base,
            cells: REGION_BYTES / 8,
            shared,
        };
        let h = region.cells();
        h[header::MAGIC].store(MAGIC, Ordering::Relaxed);
        h[header::NEXT].store(header::LEN as u64, Ordering::Release);
        Ok(region)
    }

    /// Every cell.
    #[inline]
    fn cells(&self) -> &[AtomicU64] {
        // SAFETY: `base` points to `cells` zero-initialized (anonymous mapping) `u64`s,
        // page-aligned, mapped for as long as `self` lives; `AtomicU64` has `u64`'s layout
        // and every access goes through it, also from other processes sharing the pages.
        unsafe { std::slice::from_raw_parts(self.base.as_ptr(), self.cells) }
    }

    /// Takes a slot of `len` cells for this process: in a shared region, first one whose
    /// process exited (its counts stay, and this process adds to them: a worker restarted
    /// again and again does not fill the region), else a fresh one; `None` when full.
    fn take(&self, len: usize) -> Option<usize> {
        let me = u64::from(std::process::id());
        let cells = self.cells();
        if self.shared {
            let mut dead: Vec<u64> = Vec::new();
            for at in self.slots(len) {
                let pid = cells[at + cell::PID].load(Ordering::Relaxed);
                // pid 0: taken, not written yet.
                if pid == 0 || pid == me {
                    continue;
                }
                if !dead.contains(&pid) {
                    if process_alive(pid) {
                        continue;
                    }
                    dead.push(pid);
                }
                if cells[at + cell::PID]
                    .compare_exchange(pid, me, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    // Its gauges were the dead process's.
                    cells[at + cell::OPEN].store(0, Ordering::Relaxed);
                    cells[at + cell::QUEUED].store(0, Ordering::Relaxed);
                    // A thread killed while ending a turn left its sequence odd.
                    let seq = &cells[at + cell::SEQ];
                    let s = seq.load(Ordering::Relaxed);
                    seq.store(s + s % 2, Ordering::Release);
                    return Some(at);
                }
            }
        }
        let next = &cells[header::NEXT];
        let at = next.fetch_add(len as u64, Ordering::AcqRel) as usize;
        if at + len > self.cells {
            return None;
        }
        cells[at + cell::PID].store(me, Ordering::Relaxed);
        Some(at)
    }

    /// The first cell of each slot taken so far.
    fn slots(&self, len: usize) -> impl Iterator<Item = usize> {
        let end = (self.cells()[header::NEXT].load(Ordering::Acquire) as usize).min(self.cells);
        (header::LEN..end)
            .step_by(len.max(1))
            .take_while(move |&at| at + len <= end)
    }
}

impl Region {
    /// A region of no cells (no mapping), for a registry not bound yet.
    fn empty() -> Region {
        Region {
            base: NonNull::dangling(),
            cells: 0,
            shared: false,
        }
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        if self.cells == 0 {
            return;
        }
        // SAFETY: the mapping made in `map`, unmapped once; no reference into it outlives
        // `self`.
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), REGION_BYTES);
        }
    }
}

/// Metrics memory shared by processes: made before the server processes are forked
/// (each then binds an app with [`App::metrics_shared`](crate::App::metrics_shared)),
/// so that `/metrics`, answered by any of them, counts the requests of all.
///
/// It is an anonymous `MAP_SHARED` mapping: processes forked after it share its pages,
/// and it is gone when the last of them exits. Every process must serve the same routes
/// (the same app), which the region checks when each binds. The counts of a process that
/// exited stay counted (counters never go down) and its gauges are left out; a process
/// started later (a restarted worker) takes its slots over and adds to them.
#[derive(Clone)]
pub struct SharedMetrics {
    region: Arc<Region>,
}

impl SharedMetrics {
    /// Maps a fresh region (64 MiB of address space, backed only as slots are written).
    pub fn new() -> io::Result<SharedMetrics> {
        Ok(SharedMetrics {
            region: Arc::new(Region::map(true)?),
        })
    }
}

impl std::fmt::Debug for SharedMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedMetrics")
            .field(
                "cells_taken",
                &self.region.cells()[header::NEXT].load(Ordering::Relaxed),
            )
            .finish()
    }
}

/// Adds `n` to a cell only the calling thread writes: a plain load and store (readers
/// on other threads or processes see each value whole, relaxed).
#[inline]
fn bump(c: &AtomicU64, n: u64) {
    c.store(c.load(Ordering::Relaxed).wrapping_add(n), Ordering::Relaxed);
}

/// Open connections and worker-queue depth, read from the server at scrape time.
pub(crate) type Gauges = Box<dyn Fn() -> (usize, usize) + Send + Sync>;

/// Each registry's number, so a thread's slots are found per registry (a process may run
/// several servers, and a thread may serve more than one).
static NEXT_ID: AtomicUsize = AtomicUsize::new(1);

/// A thread's slot in a registry's region.
struct Slot {
    registry: usize,
    region: Arc<Region>,
    at: usize,
    /// The slot is the process's (the region was full): counted with atomic adds.
    rmw: bool,
}

impl Slot {
    #[inline]
    fn add(&self, i: usize, n: u64) {
        if let Some(c) = self.region.cells().get(self.at + i) {
            if self.rmw {
                c.fetch_add(n, Ordering::Relaxed);
            } else {
                bump(c, n);
            }
        }
    }
}

/// Routes a turn remembers having counted; a turn that counts more distinct routes looks
/// at every route when it ends.
const TOUCHED: usize = 32;

/// The event-loop turn of an I/O thread: its requests get their latency when it ends.
/// Plain cells (no destructor, no borrow flag), so that counting a request in a turn is a
/// few loads and stores.
struct Turn {
    /// The registry whose turn this thread is in (0: none); see [`Registry::turn_begin`].
    of: Cell<usize>,
    /// The registry whose slot `slot` points to (0: none yet).
    registry: Cell<usize>,
    /// The first cell of this thread's slot in that registry. The slot's region is kept
    /// mapped by this thread's entry in `SLOTS`, which is never removed.
    slot: Cell<*const AtomicU64>,
    /// The registry's number of routes.
    routes: Cell<usize>,
    start: Cell<Option<Instant>>,
    /// Routes counted this turn (the first `touched_len`; more than [`TOUCHED`]: all).
    touched: [Cell<u32>; TOUCHED],
    touched_len: Cell<usize>,
}

thread_local! {
    static TURN: Turn = const {
        Turn {
            of: Cell::new(0),
            registry: Cell::new(0),
            slot: Cell::new(std::ptr::null()),
            routes: Cell::new(0),
            start: Cell::new(None),
            touched: [const { Cell::new(0) }; TOUCHED],
            touched_len: Cell::new(0),
        }
    };
    /// This thread's slots, by registry (usually one).
    static SLOTS: RefCell<Vec<Slot>> = const { RefCell::new(Vec::new()) };
}

/// The metrics of an app (see [`App::metrics`](crate::App::metrics)).
pub(crate) struct Registry {
    id: usize,
    /// Mapped when the app binds, unless shared (given at construction).
    region: OnceLock<Arc<Region>>,
    /// `(method label, pattern)` of each route, by the index its wrapper counts under; set
    /// when the app binds.
    routes: OnceLock<Box<[(String, String)]>>,
    /// Cells per slot and this process's slot, set when the app binds.
    layout: OnceLock<(usize, usize)>,
    pub(crate) gauges: OnceLock<Gauges>,
    /// The access log's count of dropped lines, when there is one (this process's).
    pub(crate) log_dropped: OnceLock<Arc<Counter>>,
}

impl Registry {
    /// A registry counting in this process's own memory (mapped when the app binds).
    pub(crate) fn new() -> Registry {
        Registry::in_region(OnceLock::new())
    }

    /// A registry counting in `shared`, with the other processes that use it.
    pub(crate) fn shared(shared: &SharedMetrics) -> Registry {
        Registry::in_region(OnceLock::from(shared.region.clone()))
    }

    fn in_region(region: OnceLock<Arc<Region>>) -> Registry {
        Registry {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            region,
            routes: OnceLock::new(),
            layout: OnceLock::new(),
            gauges: OnceLock::new(),
            log_dropped: OnceLock::new(),
        }
    }

    /// Fixes the route labels and takes this process's slot (once, when the app binds).
    /// In a shared region, refuses routes that differ from those of the processes that
    /// bound before.
    pub(crate) fn set_routes(&self, routes: Vec<(String, String)>) -> io::Result<()> {
        let len = cell::ROUTES + routes.len() * cell::ROUTE;
        if self.region.get().is_none() {
            let _ = self.region.set(Arc::new(Region::map(false)?));
        }
        let region = self.region();
        let h = region.cells();
        let mut print = 0xcbf2_9ce4_8422_2325u64; // FNV-1a
        for (method, pattern) in &routes {
            for b in method.bytes().chain([0]).chain(pattern.bytes()).chain([0]) {
                print = (print ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
            }
        }
        for (at, want, what) in [
            (header::SLOT_LEN, len as u64, "number of routes"),
            (header::ROUTES, print, "routes"),
        ] {
            // Stored plus one, so that 0 means not set yet.
            if let Err(had) =
                h[at].compare_exchange(0, want + 1, Ordering::AcqRel, Ordering::Acquire)
            {
                if had != want + 1 {
                    return Err(io::Error::other(format!(
                        "shared metrics: this app's {what} differ from those of the processes \
                         that share the metrics region (every process must serve the same app)"
                    )));
                }
            }
        }
        let at = region.take(len).ok_or_else(|| {
            io::Error::other("shared metrics: the region is full (too many processes or threads)")
        })?;
        let _ = self.routes.set(routes.into());
        let _ = self.layout.set((len, at));
        Ok(())
    }

    /// The region, once the app is bound.
    fn region(&self) -> &Arc<Region> {
        // Set by `new`/`shared` or `set_routes` before anything counts; before the app
        // binds (a scrape cannot come earlier) every `layout` is (0, 0).
        self.region.get().unwrap_or_else(|| {
            static EMPTY: OnceLock<Arc<Region>> = OnceLock::new();
            EMPTY.get_or_init(|| Arc::new(Region::empty()))
        })
    }

    /// This process's slot: `(cells per slot, first cell)`.
    fn layout(&self) -> (usize, usize) {
        // Before bind nothing is counted; (0, 0) makes every access miss.
        self.layout.get().copied().unwrap_or((0, 0))
    }

    /// Adds one to a cell of this process's slot (from any thread).
    fn count_process(&self, i: usize) {
        let (len, at) = self.layout();
        if len > 0 {
            self.region().cells()[at + i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a request no route took.
    pub(crate) fn count_miss(&self, method: Method, status: StatusCode) {
        self.count_process(cell::MISSES + method_index(method) * 5 + class_index(status));
    }

    /// Counts a request shed (503) because the worker pool was full or too slow.
    pub(crate) fn count_shed(&self) {
        self.count_process(cell::SHED);
    }

    /// Counts a request answered 408.
    pub(crate) fn count_timed_out(&self) {
        self.count_process(cell::TIMED_OUT);
    }

    /// The calling I/O thread starts an event-loop turn at `now` (the time it read after
    /// waking up): requests it counts until [`turn_end`](Self::turn_end) get the turn's
    /// latency instead of reading the clock themselves.
    #[inline]
    pub(crate) fn turn_begin(&self, now: Instant) {
        TURN.with(|t| {
            if t.registry.get() != self.id {
                self.enter(t);
            }
            if !t.slot.get().is_null() {
                t.start.set(Some(now));
                t.of.set(self.id);
            }
        });
    }

    /// Points the calling thread's turn at its slot of this registry (taken if needed).
    #[cold]
    fn enter(&self, t: &Turn) {
        let (len, _) = self.layout();
        // A thread counting in its process's slot (the region was full) counts with
        // atomic adds, out of turns.
        let slot = self.with_slot(|s| match s.rmw || len == 0 {
            true => std::ptr::null(),
            false => s.region.cells()[s.at..].as_ptr(),
        });
        t.registry.set(self.id);
        t.slot.set(slot);
        t.routes.set(self.routes.get().map_or(0, |r| r.len()));
        t.touched_len.set(0);
    }

    /// Ends the calling I/O thread's turn: the requests counted in it get the time from
    /// its start to now in their histograms. Reads the clock only if some were counted,
    /// and returns the time read. In a shared region, publishes this process's gauges
    /// (`gauges()`: open connections, queued jobs) for the other processes' scrapes.
    pub(crate) fn turn_end(&self, gauges: impl FnOnce() -> (usize, usize)) -> Option<Instant> {
        let region = self.region();
        if region.shared {
            let (len, at) = self.layout();
            if len > 0 {
                let (open, queued) = gauges();
                let h = region.cells();
                h[at + cell::OPEN].store(open as u64, Ordering::Relaxed);
                h[at + cell::QUEUED].store(queued as u64, Ordering::Relaxed);
            }
        }
        TURN.with(|t| {
            if t.of.replace(0) != self.id {
                return None;
            }
            let touched = t.touched_len.replace(0);
            let start = t.start.get()?;
            if touched == 0 {
                return None;
            }
            let now = Instant::now();
            let ns = u64::try_from(now.duration_since(start).as_nanos()).unwrap_or(u64::MAX);
            let b = bucket_index(ns);
            let (len, _) = self.layout();
            // SAFETY: `slot` is the first of this thread's `len` cells in the region, kept
            // mapped by its `SLOTS` entry (see `Turn::slot`); set by `enter` for this
            // registry (`of` is its id).
            let cells = unsafe { std::slice::from_raw_parts(t.slot.get(), len) };
            let seq = &cells[cell::SEQ];
            let s = seq.load(Ordering::Relaxed);
            seq.store(s.wrapping_add(1), Ordering::Relaxed);
            fence(Ordering::Release);
            let flush = |r: usize| {
                let route = &cells[cell::ROUTES + r * cell::ROUTE..][..cell::ROUTE];
                let n = route[cell::PENDING].load(Ordering::Relaxed);
                if n > 0 {
                    bump(&route[cell::HIST + b], n);
                    bump(&route[cell::SUM], n.wrapping_mul(ns));
                    route[cell::PENDING].store(0, Ordering::Relaxed);
                }
            };
            if touched <= TOUCHED {
                for r in &t.touched[..touched] {
                    flush(r.get() as usize);
                }
            } else {
                (0..t.routes.get()).for_each(flush);
            }
            seq.store(s.wrapping_add(2), Ordering::Release);
            Some(now)
        })
    }

    /// Counts a request of route `route` in the calling I/O thread's turn: timed when the
    /// turn ends, counted in `_count` and the `+Inf` bucket at once.
    #[inline]
    fn record_in_turn(t: &Turn, route: usize, method: Method, status: StatusCode) {
        debug_assert!(route < t.routes.get());
        // SAFETY: in a turn of this registry (the caller checked `t.of`), `slot` is the
        // first cell of this thread's slot, mapped as long as the thread lives (see
        // `Turn::slot`), which holds `cell::ROUTE` cells for each of the registry's routes
        // after `cell::ROUTES`; `route` is one of them (the wrappers are numbered as the
        // routes were labelled in `set_routes`).
        let cells = unsafe {
            std::slice::from_raw_parts(
                t.slot.get().add(cell::ROUTES + route * cell::ROUTE),
                cell::ROUTE,
            )
        };
        bump(&cells[method_index(method) * 5 + class_index(status)], 1);
        let pending = &cells[cell::PENDING];
        let n = pending.load(Ordering::Relaxed);
        pending.store(n + 1, Ordering::Relaxed);
        if n == 0 {
            let len = t.touched_len.get();
            if let Some(c) = t.touched.get(len) {
                c.set(route as u32);
            }
            t.touched_len.set(len + 1);
        }
    }

    /// Runs `f` on the calling thread's slot, taking one first if it has none.
    #[inline]
    fn with_slot<R>(&self, f: impl FnOnce(&Slot) -> R) -> R {
        SLOTS.with(|slots| {
            let slots = &mut *slots.borrow_mut();
            let i = match slots.iter().position(|s| s.registry == self.id) {
                Some(i) => i,
                None => {
                    slots.push(self.take_slot());
                    slots.len() - 1
                }
            };
            f(&slots[i])
        })
    }

    #[cold]
    fn take_slot(&self) -> Slot {
        let (len, process) = self.layout();
        let region = self.region();
        let (at, rmw) = match region.take(len) {
            Some(at) => (at, false),
            None => {
                diag!(
                    warn,
                    "fasterapi: the metrics region is full; this thread counts in its process's slot"
                );
                (process, true)
            }
        };
        Slot {
            registry: self.id,
            region: region.clone(),
            at,
            rmw,
        }
    }

    /// Counts one request of route `route` that took `ns` nanoseconds.
    fn record(&self, route: usize, method: Method, status: StatusCode, ns: u64) {
        let base = cell::ROUTES + route * cell::ROUTE;
        self.with_slot(|slot| {
            slot.add(base + method_index(method) * 5 + class_index(status), 1);
            slot.add(base + cell::HIST + bucket_index(ns), 1);
            slot.add(base + cell::SUM, ns);
        });
    }

    /// The Prometheus text exposition (format 0.0.4) of every counter, added up over the
    /// slots (threads, and processes when shared).
    pub(crate) fn render(&self) -> String {
        let routes: &[(String, String)] = self.routes.get().map_or(&[], |r| r);
        let (len, _) = self.layout();
        let region = self.region();
        let cells = region.cells();
        let slots: Vec<usize> = if len == 0 {
            Vec::new()
        } else {
            region.slots(len).collect()
        };
        // Every slot's cells added up, each slot copied whole between two of its
        // thread's turn ends.
        let mut total = vec![0u64; len];
        let mut copy = vec![0u64; len];
        for &at in &slots {
            snapshot(&cells[at..at + len], &mut copy);
            for (t, c) in total.iter_mut().zip(&copy) {
                *t = t.wrapping_add(*c);
            }
        }
        let sum = |i: usize| -> u64 { total.get(i).copied().unwrap_or(0) };
        let mut out = String::with_capacity(4096);
        out.push_str(
            "# HELP fasterapi_requests_total Requests answered, by route pattern, method and status class.\n\
             # TYPE fasterapi_requests_total counter\n",
        );
        for (r, (_, pattern)) in routes.iter().enumerate() {
            for (m, method) in METHODS.iter().enumerate() {
                for (c, class) in CLASSES.iter().enumerate() {
                    let n = sum(cell::ROUTES + r * cell::ROUTE + m * 5 + c);
                    if n > 0 {
                        let _ = writeln!(
                            out,
                            "fasterapi_requests_total{{route=\"{}\",method=\"{}\",status=\"{class}\"}} {n}",
                            escape(pattern),
                            method.as_str()
                        );
                    }
                }
            }
        }
        for (m, method) in METHODS.iter().enumerate() {
            for (c, class) in CLASSES.iter().enumerate() {
                let n = sum(cell::MISSES + m * 5 + c);
                if n > 0 {
                    let _ = writeln!(
                        out,
                        "fasterapi_requests_total{{route=\"\",method=\"{}\",status=\"{class}\"}} {n}",
                        method.as_str()
                    );
                }
            }
        }
        out.push_str(
            "# HELP fasterapi_request_duration_seconds Time of routed requests in the server: \
             the event-loop turn that read and answered them, or the handler's on a pool thread.\n\
             # TYPE fasterapi_request_duration_seconds histogram\n",
        );
        for (r, (method, pattern)) in routes.iter().enumerate() {
            let route = cell::ROUTES + r * cell::ROUTE;
            let mut cumulative = 0u64;
            let labels = format!("route=\"{}\",method=\"{method}\"", escape(pattern));
            for b in 0..cell::BUCKETS {
                cumulative += sum(route + cell::HIST + b);
                if b == cell::BUCKETS - 1 {
                    // Requests of turns not ended yet: in no finite bucket yet.
                    cumulative += sum(route + cell::PENDING);
                }
                match BOUNDS_NS.get(b) {
                    Some(&ns) => {
                        let le = ns as f64 / 1e9;
                        let _ = writeln!(
                            out,
                            "fasterapi_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}"
                        );
                    }
                    None => {
                        let _ = writeln!(
                            out,
                            "fasterapi_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {cumulative}"
                        );
                    }
                }
            }
            let sum_ns = sum(route + cell::SUM);
            let _ = writeln!(
                out,
                "fasterapi_request_duration_seconds_sum{{{labels}}} {}",
                sum_ns as f64 / 1e9
            );
            let _ = writeln!(
                out,
                "fasterapi_request_duration_seconds_count{{{labels}}} {cumulative}"
            );
        }
        // Gauges: this process's read now; the other processes' as they published them,
        // if they are still running.
        let (mut open, mut queued) = self.gauges.get().map_or((0, 0), |g| g());
        if region.shared {
            let me = u64::from(std::process::id());
            // pid -> running, asked once per process.
            let mut alive: Vec<(u64, bool)> = vec![(me, false)];
            for &at in &slots {
                let pid = cells[at + cell::PID].load(Ordering::Relaxed);
                let running = match alive.iter().find(|(p, _)| *p == pid) {
                    Some(&(_, running)) => running,
                    None => {
                        let running = process_alive(pid);
                        alive.push((pid, running));
                        running
                    }
                };
                // Only a process's bind slot has gauges; its threads' hold 0 there.
                if running {
                    open += cells[at + cell::OPEN].load(Ordering::Relaxed) as usize;
                    queued += cells[at + cell::QUEUED].load(Ordering::Relaxed) as usize;
                }
            }
        }
        let dropped = self.log_dropped.get().map_or(0, |c| c.get());
        for (name, kind, help, value) in [
            (
                "fasterapi_open_connections",
                "gauge",
                "Connections open now.",
                open as u64,
            ),
            (
                "fasterapi_worker_queue_depth",
                "gauge",
                "Jobs waiting for a worker thread.",
                queued as u64,
            ),
            (
                "fasterapi_shed_requests_total",
                "counter",
                "Requests answered 503 because the worker pool was full or too slow.",
                sum(cell::SHED),
            ),
            (
                "fasterapi_timed_out_requests_total",
                "counter",
                "Requests answered 408 because they were not received in time.",
                sum(cell::TIMED_OUT),
            ),
            (
                "fasterapi_access_log_dropped_total",
                "counter",
                "Access log lines dropped because the writer was behind.",
                dropped,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
        out
    }
}

/// Copies `slot` into `to`, consistent with its seqlock: taken while no turn end was
/// under way, retried otherwise (a turn end moves a few cells). A thread stopped in the
/// middle (its process killed) would leave the sequence odd: after many tries the copy is
/// taken as it is.
fn snapshot(slot: &[AtomicU64], to: &mut [u64]) {
    for attempt in 0..10_000 {
        let before = slot[cell::SEQ].load(Ordering::Acquire);
        for (t, c) in to.iter_mut().zip(slot) {
            *t = c.load(Ordering::Relaxed);
        }
        fence(Ordering::Acquire);
        let after = slot[cell::SEQ].load(Ordering::Relaxed);
        if before == after && before % 2 == 0 {
            return;
        }
        if attempt > 100 {
            std::thread::yield_now();
        }
    }
}

/// Whether process `pid` is running (0: no process took the slot yet).
fn process_alive(pid: u64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists and may be signalled.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// A label value escaped as the text format wants (`\`, `"`, newline).
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The access log's line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AccessLogFormat {
    /// NCSA Common Log Format:
    /// `127.0.0.1 - - [07/Dec/2026:01:02:03 +0000] "GET /todos HTTP/1.1" 200 42`.
    Common,
    /// One JSON object a line: `{"time":"2026-12-07T01:02:03Z","peer":"127.0.0.1:5000",
    /// "method":"GET","path":"/todos","status":200,"bytes":42,"duration_us":17}`.
    Json,
}

/// Lines waiting for the access log's writer thread; past it, lines are dropped (and
/// counted) rather than make an I/O thread wait.
pub const ACCESS_LOG_QUEUE: usize = 8192;

/// The access log (see [`App::access_log`](crate::App::access_log)).
pub(crate) struct AccessLog {
    format: AccessLogFormat,
    lines: SyncSender<String>,
    pub(crate) dropped: Arc<Counter>,
}

impl AccessLog {
    /// Starts the writer thread, which writes each line to `sink` and flushes when it has
    /// no more waiting; it ends when the app is dropped.
    pub(crate) fn start(
        format: AccessLogFormat,
        mut sink: Box<dyn Write + Send>,
    ) -> std::io::Result<AccessLog> {
        let (lines, rx) = sync_channel::<String>(ACCESS_LOG_QUEUE);
        std::thread::Builder::new()
            .name("fasterapi-access-log".into())
            .spawn(move || {
                while let Ok(line) = rx.recv() {
                    let mut ok = sink.write_all(line.as_bytes()).is_ok();
                    while let Ok(line) = rx.try_recv() {
                        ok &= sink.write_all(line.as_bytes()).is_ok();
                    }
                    ok &= sink.flush().is_ok();
                    if !ok {
                        log::warn!("fasterapi: the access log could not be written");
                    }
                }
            })?;
        Ok(AccessLog {
            format,
            lines,
            dropped: Arc::new(Counter::new()),
        })
    }

    fn line(&self, req: &Request<'_>, res: &Response, elapsed_ns: u64) {
        let bytes = match body_len(res.body()) {
            Some(n) => n.to_string(),
            None => "-".to_owned(),
        };
        let now = SystemTime::now();
        let line = match self.format {
            AccessLogFormat::Common => format!(
                "{} - - [{}] \"{} {} HTTP/1.{}\" {} {}\n",
                req.peer_addr().ip(),
                clf_time(now),
                req.method().as_str(),
                req.path(),
                req.http_minor_version(),
                res.status().as_u16(),
                bytes
            ),
            AccessLogFormat::Json => {
                let mut path = String::new();
                json_string(&mut path, req.path());
                format!(
                    "{{\"time\":\"{}\",\"peer\":\"{}\",\"method\":\"{}\",\"path\":{path},\"status\":{},\"bytes\":{},\"duration_us\":{}}}\n",
                    httpdate_iso(now),
                    req.peer_addr(),
                    req.method().as_str(),
                    res.status().as_u16(),
                    if bytes == "-" { "null" } else { &bytes },
                    elapsed_ns / 1000
                )
            }
        };
        match self.lines.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => self.dropped.inc(),
        }
    }
}

/// The length of a body known before it is sent (not a stream's).
fn body_len(body: &Body) -> Option<u64> {
    match body {
        Body::Empty => Some(0),
        Body::Static(b) => Some(b.len() as u64),
        Body::Bytes(b) => Some(b.len() as u64),
        Body::Owned(b) => Some(b.len() as u64),
        Body::File(f) => Some(f.len),
        Body::Stream(_) => None,
    }
}

/// `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Civil date and time (UTC) of `t`: (year, month, day, hour, minute, second).
fn civil(t: SystemTime) -> (i64, u32, u32, u64, u64, u64) {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem / 3600, rem % 3600 / 60, rem % 60)
}

fn clf_time(t: SystemTime) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, mo, d, h, mi, s) = civil(t);
    format!(
        "{d:02}/{}/{y}:{h:02}:{mi:02}:{s:02} +0000",
        MONTHS[(mo - 1) as usize]
    )
}

fn httpdate_iso(t: SystemTime) -> String {
    let (y, mo, d, h, mi, s) = civil(t);
    format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Wraps `handler` (route number `index`, of `registry` and/or `log`) to count and time
/// its requests and/or log them.
pub(crate) fn observed(
    handler: Handler,
    index: usize,
    registry: Option<Arc<Registry>>,
    log: Option<Arc<AccessLog>>,
) -> Handler {
    match (registry, log) {
        (Some(r), None) => Box::new(move |req| {
            // In an I/O thread's turn the turn times the request (see the module docs);
            // elsewhere (a pool thread) the handler is timed here.
            let in_turn = TURN.with(|t| t.of.get() == r.id);
            if in_turn {
                let res = handler(req);
                TURN.with(|t| Registry::record_in_turn(t, index, req.method(), res.status()));
                res
            } else {
                let start = Instant::now();
                let res = handler(req);
                let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
                r.record(index, req.method(), res.status(), ns);
                res
            }
        }),
        (registry, log) => Box::new(move |req| {
            let start = Instant::now();
            let res = handler(req);
            let ns = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            if let Some(r) = &registry {
                r.record(index, req.method(), res.status(), ns);
            }
            if let Some(log) = &log {
                log.line(req, &res, ns);
            }
            res
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_796_605_323);
        // 2026-12-07T01:02:03Z
        assert_eq!(httpdate_iso(t), "2026-12-07T01:02:03Z");
        assert_eq!(clf_time(t), "07/Dec/2026:01:02:03 +0000");
        assert_eq!(httpdate_iso(SystemTime::UNIX_EPOCH), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn method_indices_follow_the_enum() {
        for (i, m) in METHODS.iter().enumerate() {
            assert_eq!(method_index(*m), i);
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
