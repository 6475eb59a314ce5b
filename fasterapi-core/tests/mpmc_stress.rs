//! Multi-threaded stress tests of `fasterapi_core::mpmc::Queue`.
//!
//! No sleeps are used for synchronisation and nothing asserts on timing. The only clock is a
//! generous liveness watchdog in the parking tests, which turns a lost wake-up (a hang) into a
//! failure with a diagnostic instead of a CI job that never ends.
//!
//! What these tests can and cannot catch: a producer that forgets to wake a parked consumer,
//! lost or duplicated items, broken FIFO order per producer. A consumer that re-checks the
//! queue and announces itself in the wrong order leaves a window of a few nanoseconds, which
//! a stress test only rarely hits; that part rests on the argument in the module docs of
//! `mpmc` (loom cannot check it either: it models SeqCst loads as Acquire, and the producer
//! side deliberately uses a SeqCst load instead of a fence).

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use fasterapi_core::mpmc::Queue;

/// Set when a consumer panics (a failed assertion), so that producers waiting for room in a
/// queue nobody drains any more give up instead of hanging the test.
static CONSUMER_FAILED: AtomicBool = AtomicBool::new(false);

/// Sets [`CONSUMER_FAILED`] if dropped during a panic.
struct FailFlag;

impl Drop for FailFlag {
    fn drop(&mut self) {
        if thread::panicking() {
            CONSUMER_FAILED.store(true, Ordering::SeqCst);
        }
    }
}

fn assert_consumers_alive() {
    assert!(
        !CONSUMER_FAILED.load(Ordering::SeqCst),
        "a consumer failed (see its panic message above)"
    );
}

/// Pushes `item`, retrying while the queue is full (spin a little, then yield: the tests run
/// on machines with fewer cores than threads).
fn push_retrying(q: &Queue<usize>, mut item: usize) {
    let mut failures = 0u32;
    loop {
        match q.try_push(item) {
            Ok(()) => return,
            Err(back) => {
                item = back;
                failures += 1;
                if failures % 1024 == 0 {
                    assert_consumers_alive();
                }
                if failures < 16 {
                    std::hint::spin_loop();
                } else {
                    thread::yield_now();
                }
            }
        }
    }
}

/// What one consumer saw: how many items, and whether each producer's items came out in the
/// order that producer pushed them (a FIFO queue guarantees this to any single consumer).
struct ConsumerReport {
    count: usize,
}

/// Runs `consumers` threads that `pop_wait` until the queue is closed and drained, marking
/// every item in `seen` and checking per-producer order (item = producer * per_producer + i).
fn spawn_consumers(
    q: &Arc<Queue<usize>>,
    seen: &Arc<Vec<AtomicU8>>,
    consumed: &Arc<AtomicUsize>,
    consumers: usize,
    producers: usize,
    per_producer: usize,
) -> Vec<thread::JoinHandle<ConsumerReport>> {
    (0..consumers)
        .map(|_| {
            let q = Arc::clone(q);
            let seen = Arc::clone(seen);
            let consumed = Arc::clone(consumed);
            thread::spawn(move || {
                let _flag = FailFlag;
                let mut last = vec![None::<usize>; producers];
                let mut count = 0;
                while let Some(item) = q.pop_wait() {
                    let producer = item / per_producer;
                    assert!(producer < producers, "item {item} was never pushed");
                    if let Some(prev) = last[producer] {
                        assert!(
                            item > prev,
                            "producer {producer}'s items out of order: {prev} then {item}"
                        );
                    }
                    last[producer] = Some(item);
                    seen[item].fetch_add(1, Ordering::Relaxed);
                    count += 1;
                    consumed.fetch_add(1, Ordering::Release);
                }
                ConsumerReport { count }
            })
        })
        .collect()
}

/// Asserts that every item `0..seen.len()` was received exactly once.
fn assert_each_seen_once(seen: &[AtomicU8]) {
    let mut missing = Vec::new();
    let mut duplicated = Vec::new();
    for (item, n) in seen.iter().enumerate() {
        match n.load(Ordering::Relaxed) {
            1 => {}
            0 => missing.push(item),
            _ => duplicated.push(item),
        }
    }
    assert!(
        missing.is_empty() && duplicated.is_empty(),
        "{} items missing (first {:?}), {} duplicated (first {:?})",
        missing.len(),
        missing.first(),
        duplicated.len(),
        duplicated.first()
    );
}

/// 4 producers and 4 consumers move 4,000,000 distinct items through a 1024-slot queue
/// (about 4000 laps). Every item must arrive exactly once, each producer's items in order.
#[test]
fn four_producers_four_consumers_every_item_exactly_once() {
    const PRODUCERS: usize = 4;
    const CONSUMERS: usize = 4;
    const PER_PRODUCER: usize = 1_000_000;
    const TOTAL: usize = PRODUCERS * PER_PRODUCER;

    let q = Arc::new(Queue::new(1024));
    let seen = Arc::new((0..TOTAL).map(|_| AtomicU8::new(0)).collect::<Vec<_>>());
    let consumed = Arc::new(AtomicUsize::new(0));
    let consumers = spawn_consumers(&q, &seen, &consumed, CONSUMERS, PRODUCERS, PER_PRODUCER);

    let start = Arc::new(Barrier::new(PRODUCERS));
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let q = Arc::clone(&q);
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                for i in 0..PER_PRODUCER {
                    push_retrying(&q, p * PER_PRODUCER + i);
                }
            })
        })
        .collect();
    // Poll rather than join at once, so that a producer stuck inside `try_push` (a broken
    // queue) fails the test instead of hanging it.
    let started = Instant::now();
    while !producers.iter().all(|p| p.is_finished()) {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "producers stuck; {} items consumed so far, queue len {}",
            consumed.load(Ordering::Acquire),
            q.len()
        );
        assert_consumers_alive();
        thread::yield_now();
    }
    for p in producers {
        p.join().expect("producer panicked");
    }
    q.close();
    let counts: Vec<usize> = consumers
        .into_iter()
        .map(|c| c.join().expect("consumer panicked").count)
        .collect();

    assert_eq!(
        counts.iter().sum::<usize>(),
        TOTAL,
        "per consumer: {counts:?}"
    );
    assert_eq!(consumed.load(Ordering::Acquire), TOTAL);
    assert_each_seen_once(&seen);
    assert!(q.is_empty());
    assert_eq!(q.try_pop(), None);
}

/// Consumers spend most of their time parked: producers push small bursts in lock-step
/// rounds (a `Barrier`), and the next round starts only once the previous one is fully
/// consumed, by which time the consumers have usually given up spinning. Each burst must wake
/// enough consumers to drain it; a lost wake-up leaves an item in the queue with every
/// consumer asleep, which the watchdog reports.
#[test]
fn bursts_wake_parked_consumers_without_losing_items() {
    burst_rounds(2, 4, 10_000);
}

/// Runs `rounds` burst rounds through a small queue; see the tests above.
fn burst_rounds(producers: usize, consumers: usize, rounds: usize) {
    const MAX_BURST: usize = 5;
    // Not a timing assertion: only turns a hang into a failure. Healthy runs take well under
    // a second per thousand rounds even on a loaded debug build.
    const WATCHDOG: Duration = Duration::from_secs(120);
    // Room for every item a producer can push; items are `producer * per_producer + i`.
    let per_producer = rounds * MAX_BURST;

    let q = Arc::new(Queue::new(16));
    let seen = Arc::new(
        (0..producers * per_producer)
            .map(|_| AtomicU8::new(0))
            .collect::<Vec<_>>(),
    );
    let consumed = Arc::new(AtomicUsize::new(0));
    let consumer_threads =
        spawn_consumers(&q, &seen, &consumed, consumers, producers, per_producer);

    // Producers and this thread meet here at the start of every round.
    let round_start = Arc::new(Barrier::new(producers + 1));
    let producer_threads: Vec<_> = (0..producers)
        .map(|p| {
            let q = Arc::clone(&q);
            let round_start = Arc::clone(&round_start);
            thread::spawn(move || {
                let mut next = p * per_producer;
                let mut rng = 0x9E37_79B9_7F4A_7C15_u64 ^ (p as u64 + 1);
                for round in 0..rounds {
                    round_start.wait();
                    // Jitter, not synchronisation: start the burst after a random bit of
                    // busy work, so pushes land at varying points of the consumers' spin ->
                    // announce -> re-check -> wait sequence, where a lost wake-up would hide.
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    for _ in 0..rng % 1024 {
                        std::hint::spin_loop();
                    }
                    for _ in 0..burst_size(p, round) {
                        push_retrying(&q, next);
                        next += 1;
                    }
                }
                next - p * per_producer
            })
        })
        .collect();

    let started = Instant::now();
    let mut expected = 0;
    for round in 0..rounds {
        round_start.wait();
        expected += (0..producers).map(|p| burst_size(p, round)).sum::<usize>();
        // Wait for the round to be consumed (polling the counter, not sleeping).
        while consumed.load(Ordering::Acquire) < expected {
            thread::yield_now();
            assert_consumers_alive();
            if started.elapsed() > WATCHDOG {
                panic!(
                    "stuck in round {round}: {} of {expected} items consumed, queue len {} \
                     (lost wake-up?)",
                    consumed.load(Ordering::Acquire),
                    q.len()
                );
            }
        }
    }
    let pushed: usize = producer_threads
        .into_iter()
        .map(|p| p.join().expect("producer panicked"))
        .sum();
    q.close();
    let total: usize = consumer_threads
        .into_iter()
        .map(|c| c.join().expect("consumer panicked").count)
        .sum();

    assert_eq!(pushed, expected);
    assert_eq!(total, expected);
    for p in 0..producers {
        let mine = &seen[p * per_producer..(p + 1) * per_producer];
        let pushed_by_p: usize = (0..rounds).map(|r| burst_size(p, r)).sum();
        assert_each_seen_once(&mine[..pushed_by_p]);
        assert!(mine[pushed_by_p..]
            .iter()
            .all(|n| n.load(Ordering::Relaxed) == 0));
    }
}

/// Burst size of producer `p` in `round`: 1 to 5, varying so that sometimes fewer items than
/// consumers arrive (some consumers stay asleep) and sometimes more.
fn burst_size(p: usize, round: usize) -> usize {
    1 + (round * 7 + p * 3) % 5
}
