//! Counters and a mergeable latency histogram.
//!
//! # Counters
//!
//! A [`Counter`] is an `AtomicU64` updated with `Relaxed` ordering: any thread may bump it
//! through a shared reference, and a reader sees every increment eventually, but no
//! ordering with other memory is implied (it is a statistic, not a synchronisation
//! primitive). Counters bumped by many threads at once contend on one cache line; for the
//! hottest paths keep one per thread and add them up when reporting.
//!
//! ```
//! use fasterapi_core::metrics::Counter;
//!
//! static REQUESTS: Counter = Counter::new();
//! REQUESTS.inc();
//! REQUESTS.add(2);
//! assert_eq!(REQUESTS.get(), 3);
//! ```
//!
//! # Histogram
//!
//! A [`Histogram`] records latencies in nanoseconds into log-linear buckets, in the manner
//! of HDR histograms: values below 64 get one bucket each (exact); above, every power of two
//! `[2^e, 2^(e+1))` is cut into 32 equal sub-buckets. A bucket is thus never wider than 1/32
//! of its lower bound, and a percentile reported as the bucket's midpoint is within 1/64
//! (1.6%) of the true sample value, from 1 ns up to `u64::MAX` ns (584 years). That takes
//! 1920 `u64` buckets (15 KiB), allocated once by [`Histogram::new`]; recording is a few
//! arithmetic instructions and one increment, with no allocation and no atomics.
//!
//! A histogram belongs to one thread (`record` takes `&mut self`). To aggregate across
//! threads, let each thread record into its own and [`merge`](Histogram::merge) them (or
//! copies of them) when reporting: merging adds bucket counts, so the merged histogram is
//! exactly the histogram of all the samples together.
//!
//! ```
//! use fasterapi_core::metrics::Histogram;
//!
//! let mut per_thread = vec![Histogram::new(), Histogram::new()];
//! for (i, h) in per_thread.iter_mut().enumerate() {
//!     for ns in 1..=1000u64 {
//!         h.record(ns * 1000 + i as u64); // 1 µs .. 1 ms
//!     }
//! }
//! let mut total = Histogram::new();
//! for h in &per_thread {
//!     total.merge(h);
//! }
//! assert_eq!(total.count(), 2000);
//! assert_eq!(total.min(), 1000);
//! assert_eq!(total.max(), 1_000_001); // min and max are exact
//! let p50 = total.p50() as f64;
//! assert!((p50 - 500_000.0).abs() / 500_000.0 < 0.016); // percentiles within 1/64
//! ```
//!
//! ## Percentile definition
//!
//! [`Histogram::percentile`]`(q)` uses the nearest-rank definition: with `n` samples sorted
//! ascending, it is the sample of rank `max(1, ceil(q * n / 100))` (1-based), so `q = 0`
//! gives the minimum, `q = 100` the maximum and `q = 50` the lower median. The histogram
//! finds the bucket holding that rank and reports its midpoint, clamped to `[min, max]`;
//! the two end ranks report the exact `min` and `max`.
//!
//! ## Empty histograms
//!
//! An empty histogram reports `count() == 0` and `0` for `min`, `max`, `mean` and every
//! percentile; nothing panics. Check [`Histogram::is_empty`] (or `count`) before reading
//! its statistics when a zero latency would be misleading.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A monotonically increasing `u64` counter (an `AtomicU64`, `Relaxed` ordering).
///
/// See the [module docs](self#counters).
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// A counter at 0. `const`, so counters can be `static`.
    pub const fn new() -> Self {
        Counter(AtomicU64::new(0))
    }

    /// Adds 1.
    #[inline]
    pub fn inc(&self) {
        self.add(1);
    }

    /// Adds `n` (wrapping on overflow, like `AtomicU64::fetch_add`).
    #[inline]
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// The current value.
    #[inline]
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Returns the current value and resets the counter to 0, atomically (no increment is
    /// lost between the read and the reset).
    #[inline]
    pub fn take(&self) -> u64 {
        self.0.swap(0, Ordering::Relaxed)
    }
}

/// log2 of the number of sub-buckets per power of two.
const SUB_BITS: u32 = 5;
/// Sub-buckets per power of two.
const SUB: usize = 1 << SUB_BITS;
/// Values `< 2 * SUB` have a bucket each; then `64 - SUB_BITS - 1` more powers of two with
/// `SUB` buckets each: `(64 - SUB_BITS + 1) * SUB` in all.
const BUCKETS: usize = (64 - SUB_BITS as usize + 1) * SUB;

/// The bucket of `v`. Below `2 * SUB` the value itself; above, `v = m << s` with a mantissa
/// `m` in `[SUB, 2 * SUB)` gives index `s * SUB + m`: continuous, increasing with `v`.
#[inline]
fn bucket_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS; // floor(log2 v) - SUB_BITS
    (shift as usize) * SUB + (v >> shift) as usize
}

/// The smallest value of bucket `i` and the bucket's width.
#[inline]
fn bucket_bounds(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, 1);
    }
    let shift = (i / SUB - 1) as u32;
    let mantissa = (i % SUB + SUB) as u64;
    (mantissa << shift, 1u64 << shift)
}

/// A log-linear latency histogram over nanoseconds; see the [module docs](self#histogram).
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl Histogram {
    /// An empty histogram (allocates its 15 KiB of buckets, once).
    pub fn new() -> Self {
        Histogram {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Records one sample of `nanos` nanoseconds.
    #[inline]
    pub fn record(&mut self, nanos: u64) {
        self.counts[bucket_of(nanos)] += 1;
        self.count += 1;
        self.sum += nanos as u128;
        self.min = self.min.min(nanos);
        self.max = self.max.max(nanos);
    }

    /// Records a [`Duration`] (saturating at `u64::MAX` nanoseconds, 584 years).
    #[inline]
    pub fn record_duration(&mut self, d: Duration) {
        self.record(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
    }

    /// Adds every sample of `other` to `self`: the result is the histogram of both sample
    /// sets together.
    pub fn merge(&mut self, other: &Histogram) {
        if other.count == 0 {
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The number of samples recorded.
    #[inline]
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no sample was recorded (since creation or the last [`reset`](Self::reset)).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The smallest sample, exact; 0 when empty.
    #[inline]
    pub fn min(&self) -> u64 {
        if self.count == 0 {
            0
        } else {
            self.min
        }
    }

    /// The largest sample, exact; 0 when empty.
    #[inline]
    pub fn max(&self) -> u64 {
        self.max
    }

    /// The arithmetic mean of the samples, exact up to `f64` rounding; 0.0 when empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum as f64 / self.count as f64
        }
    }

    /// The `q`-th percentile, `q` in `0.0..=100.0` (values outside are clamped, NaN counts
    /// as 0), by the [nearest-rank definition](self#percentile-definition), within 1/64 of
    /// the true sample value; 0 when empty.
    pub fn percentile(&self, q: f64) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let q = if q.is_nan() { 0.0 } else { q.clamp(0.0, 100.0) };
        // `as` saturates; the product is at most `count`, exact below 2^53 samples.
        let rank = ((q * self.count as f64) / 100.0).ceil() as u64;
        let rank = rank.clamp(1, self.count);
        if rank == 1 {
            return self.min;
        }
        if rank == self.count {
            return self.max;
        }
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate().skip(bucket_of(self.min)) {
            seen += c;
            if seen >= rank {
                let (low, width) = bucket_bounds(i);
                let mid = low + (width - 1) / 2;
                return mid.clamp(self.min, self.max);
            }
        }
        // Unreachable: the counts sum to `count >= rank`.
        self.max
    }

    /// The median (50th percentile).
    #[inline]
    pub fn p50(&self) -> u64 {
        self.percentile(50.0)
    }

    /// The 95th percentile.
    #[inline]
    pub fn p95(&self) -> u64 {
        self.percentile(95.0)
    }

    /// The 99th percentile.
    #[inline]
    pub fn p99(&self) -> u64 {
        self.percentile(99.0)
    }

    /// The non-empty buckets in increasing order, as `(low, high, count)`: `count` samples
    /// were in `low..=high` nanoseconds. For exporting (a Prometheus histogram, a plot).
    pub fn buckets(&self) -> impl Iterator<Item = (u64, u64, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .filter(|&(_, &c)| c != 0)
            .map(|(i, &c)| {
                let (low, width) = bucket_bounds(i);
                (low, low + (width - 1), c)
            })
    }

    /// Forgets every sample (keeps the allocation).
    pub fn reset(&mut self) {
        self.counts.fill(0);
        self.count = 0;
        self.sum = 0;
        self.min = u64::MAX;
        self.max = 0;
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new()
    }
}

impl fmt::Debug for Histogram {
    /// A summary (count, min, p50, p95, p99, max, mean), not the 1920 buckets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count())
            .field("min", &self.min())
            .field("p50", &self.p50())
            .field("p95", &self.p95())
            .field("p99", &self.p99())
            .field("max", &self.max())
            .field("mean", &self.mean())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_continuous_and_tight() {
        assert_eq!(bucket_of(u64::MAX), BUCKETS - 1);
        let mut prev_end = 0u64; // one past the previous bucket's last value
        for i in 0..BUCKETS {
            let (low, width) = bucket_bounds(i);
            assert_eq!(
                low,
                prev_end,
                "bucket {i} starts where {} ended",
                i.wrapping_sub(1)
            );
            let high = low + (width - 1);
            assert_eq!(bucket_of(low), i);
            assert_eq!(bucket_of(high), i);
            if i >= 2 * SUB {
                assert!(width <= low / SUB as u64, "bucket {i} too wide");
            } else {
                assert_eq!(width, 1);
            }
            prev_end = high.wrapping_add(1);
        }
        assert_eq!(prev_end, 0, "the last bucket ends at u64::MAX");
    }
}
