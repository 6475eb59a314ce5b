//! Histogram percentiles against exact percentiles of the same samples; merge; counters.

use fasterapi_core::metrics::{Counter, Histogram};
use std::sync::Arc;
use std::time::Duration;

/// SplitMix64: a tiny deterministic PRNG, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The nearest-rank percentile of sorted samples: rank max(1, ceil(q * n / 100)).
fn exact_percentile(sorted: &[u64], q: f64) -> u64 {
    let n = sorted.len() as u64;
    let rank = ((q * n as f64) / 100.0).ceil() as u64;
    sorted[rank.clamp(1, n) as usize - 1]
}

const QS: &[f64] = &[
    0.0, 0.1, 1.0, 5.0, 10.0, 25.0, 33.3, 50.0, 66.6, 75.0, 90.0, 95.0, 99.0, 99.9, 99.99, 100.0,
];

/// Records `samples`, then checks count, min, max, mean and every percentile in `QS`.
fn check(name: &str, samples: &mut [u64]) {
    let mut h = Histogram::new();
    for &s in samples.iter() {
        h.record(s);
    }
    samples.sort_unstable();
    assert_eq!(h.count(), samples.len() as u64, "{name}");
    assert_eq!(h.min(), samples[0], "{name}: min is exact");
    assert_eq!(h.max(), *samples.last().unwrap(), "{name}: max is exact");
    let mean = samples.iter().map(|&s| s as f64).sum::<f64>() / samples.len() as f64;
    assert!((h.mean() - mean).abs() <= mean * 1e-9, "{name}: mean");
    for &q in QS {
        let exact = exact_percentile(samples, q);
        let got = h.percentile(q);
        let err = (got as f64 - exact as f64).abs() / (exact as f64).max(1.0);
        assert!(
            err <= 0.03,
            "{name}: p{q}: got {got}, exact {exact}, error {:.2}%",
            err * 100.0
        );
        // The documented bound is tighter: within 1/64.
        assert!(err < 1.0 / 64.0, "{name}: p{q}: got {got}, exact {exact}");
    }
    assert_eq!(h.p50(), h.percentile(50.0));
    assert_eq!(h.p95(), h.percentile(95.0));
    assert_eq!(h.p99(), h.percentile(99.0));
}

#[test]
fn uniform_over_a_wide_range() {
    // 1 ns .. 10 s, uniform on a log scale (each decade equally likely) and on a linear one.
    let mut rng = Rng(1);
    let mut log_uniform: Vec<u64> = (0..200_000)
        .map(|_| (10f64.powf(rng.unit() * 10.0)) as u64)
        .collect();
    check("log-uniform 1ns..10s", &mut log_uniform);
    let mut linear: Vec<u64> = (0..200_000)
        .map(|_| 1 + rng.next() % 10_000_000_000)
        .collect();
    check("uniform 1ns..10s", &mut linear);
}

#[test]
fn exponential_ish() {
    let mut rng = Rng(2);
    for mean in [50.0, 20_000.0, 3e6] {
        let mut s: Vec<u64> = (0..100_000)
            .map(|_| (-(1.0 - rng.unit()).ln() * mean) as u64)
            .collect();
        check(&format!("exponential mean {mean}"), &mut s);
    }
    // A long tail: mostly fast, some very slow (a Pareto-like mix).
    let mut s: Vec<u64> = (0..100_000)
        .map(|_| {
            let base = 100_000.0 / (1.0 - rng.unit()).powf(1.0 / 1.5);
            base as u64
        })
        .collect();
    check("pareto", &mut s);
}

#[test]
fn constant_and_two_point() {
    for v in [0, 1, 63, 64, 65, 1_000, 123_456_789, u64::MAX] {
        check(&format!("constant {v}"), &mut vec![v; 1_000]);
    }
    let mut rng = Rng(3);
    for (a, b, pa) in [
        (1_000u64, 1_000_000u64, 0.5),
        (20, 5_000_000_000, 0.99),
        (7, 8, 0.3),
    ] {
        let mut s: Vec<u64> = (0..10_000)
            .map(|_| if rng.unit() < pa { a } else { b })
            .collect();
        check(&format!("two-point {a}/{b}"), &mut s);
    }
}

#[test]
fn small_counts() {
    check("one sample", &mut [42_000]);
    check("two samples", &mut [5, 9_000_000]);
    let mut s: Vec<u64> = (1..=7).map(|i| i * 1_111).collect();
    check("seven samples", &mut s);
    let mut h = Histogram::new();
    h.record(10);
    h.record(1_000);
    assert_eq!(h.percentile(0.0), 10);
    assert_eq!(h.percentile(50.0), 10); // lower median: rank ceil(1.0) = 1
    assert_eq!(h.percentile(50.1), 1_000);
    assert_eq!(h.percentile(100.0), 1_000);
}

#[test]
fn merge_equals_histogram_of_the_union() {
    let mut rng = Rng(4);
    let a: Vec<u64> = (0..50_000).map(|_| rng.next() % 1_000_000).collect();
    let b: Vec<u64> = (0..30_000)
        .map(|_| (10f64.powf(rng.unit() * 9.0)) as u64)
        .collect();
    let (mut ha, mut hb, mut hu) = (Histogram::new(), Histogram::new(), Histogram::new());
    a.iter().for_each(|&v| ha.record(v));
    b.iter().for_each(|&v| hb.record(v));
    a.iter().chain(&b).for_each(|&v| hu.record(v));
    let mut merged = ha.clone();
    merged.merge(&hb);
    assert_eq!(merged.count(), hu.count());
    assert_eq!(merged.min(), hu.min());
    assert_eq!(merged.max(), hu.max());
    assert_eq!(merged.mean(), hu.mean());
    assert!(merged.buckets().eq(hu.buckets()), "same bucket counts");
    for &q in QS {
        assert_eq!(merged.percentile(q), hu.percentile(q), "p{q}");
    }
    // Merging an empty histogram, or into one, changes nothing / copies.
    let before: Vec<_> = merged.buckets().collect();
    merged.merge(&Histogram::new());
    assert!(merged.buckets().eq(before.iter().copied()));
    assert_eq!(merged.min(), hu.min());
    let mut empty = Histogram::new();
    empty.merge(&ha);
    assert!(empty.buckets().eq(ha.buckets()));
    assert_eq!(
        (empty.min(), empty.max(), empty.count()),
        (ha.min(), ha.max(), ha.count())
    );
}

#[test]
fn merge_across_threads() {
    let hs: Vec<Histogram> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                s.spawn(move || {
                    let mut h = Histogram::new();
                    for i in 0..10_000 {
                        h.record(t * 1_000_000 + i);
                    }
                    h
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut total = Histogram::new();
    hs.iter().for_each(|h| total.merge(h));
    assert_eq!(total.count(), 40_000);
    assert_eq!((total.min(), total.max()), (0, 3_009_999));
}

#[test]
fn max_is_exact() {
    let mut h = Histogram::new();
    for v in [1_000_003u64, 999, 1_000_001] {
        h.record(v);
    }
    assert_eq!(h.max(), 1_000_003); // not the bucket's bound
    assert_eq!(h.percentile(100.0), 1_000_003);
    assert_eq!(h.min(), 999);
    assert_eq!(h.percentile(0.0), 999);
    h.record(u64::MAX);
    assert_eq!(h.max(), u64::MAX);
}

#[test]
fn empty_histogram() {
    let h = Histogram::default();
    assert!(h.is_empty());
    assert_eq!(h.count(), 0);
    assert_eq!((h.min(), h.max()), (0, 0));
    assert_eq!(h.mean(), 0.0);
    for q in [0.0, 50.0, 99.0, 100.0] {
        assert_eq!(h.percentile(q), 0);
    }
    assert_eq!((h.p50(), h.p95(), h.p99()), (0, 0, 0));
    assert_eq!(h.buckets().count(), 0);
    assert!(format!("{h:?}").contains("count: 0"));
}

#[test]
fn reset_and_reuse() {
    let mut h = Histogram::new();
    h.record(5);
    h.record(500);
    h.reset();
    assert!(h.is_empty());
    assert_eq!((h.min(), h.max(), h.p50()), (0, 0, 0));
    h.record(700);
    assert_eq!((h.count(), h.min(), h.max(), h.p50()), (1, 700, 700, 700));
}

#[test]
fn out_of_range_quantiles_are_clamped() {
    let mut h = Histogram::new();
    (1..=100).for_each(|v| h.record(v));
    assert_eq!(h.percentile(-5.0), 1);
    assert_eq!(h.percentile(f64::NAN), 1);
    assert_eq!(h.percentile(250.0), 100);
    assert_eq!(h.percentile(f64::INFINITY), 100);
}

#[test]
fn durations() {
    let mut h = Histogram::new();
    h.record_duration(Duration::from_micros(250));
    h.record_duration(Duration::MAX); // saturates
    assert_eq!(h.min(), 250_000);
    assert_eq!(h.max(), u64::MAX);
}

#[test]
fn counter() {
    let c = Counter::new();
    assert_eq!(c.get(), 0);
    c.inc();
    c.add(41);
    assert_eq!(c.get(), 42);
    assert_eq!(c.take(), 42);
    assert_eq!(c.get(), 0);

    static GLOBAL: Counter = Counter::new();
    let shared = Arc::new(Counter::default());
    std::thread::scope(|s| {
        for _ in 0..4 {
            let shared = &shared;
            s.spawn(move || {
                for _ in 0..10_000 {
                    shared.inc();
                    GLOBAL.add(2);
                }
            });
        }
    });
    assert_eq!(shared.get(), 40_000);
    assert_eq!(GLOBAL.get(), 80_000);
}
