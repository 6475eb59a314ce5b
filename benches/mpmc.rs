//! `fasterapi_core::mpmc::Queue` against `crossbeam_queue::ArrayQueue` and
//! `std::sync::mpsc::sync_channel`, all with room for 1024 items.
//!
//! - `push_pop_uncontended`: one thread, one push then one pop, so the cost of the two
//!   operations with no other thread touching the queue.
//! - `2p2c`: two producers and two consumers move 100,000 items per iteration. Producers retry
//!   a full queue (spin a little, then yield). Consumers stop at a sentinel that the driver
//!   pushes once the producers are done (one per consumer; FIFO puts them after every item),
//!   except `fasterapi_pop_wait`, where they use the parking `pop_wait` and stop when the
//!   queue is closed. `std::sync::mpsc` has a single receiver, so its two consumers share it
//!   behind a `Mutex`, the usual way to spread one channel over workers.
//!
//! Run: `cargo bench --bench mpmc -- --warm-up-time 1 --measurement-time 3`
//!
//! `cargo bench --bench mpmc -- --ab [ROUNDS]` runs only the polling 2P/2C workload, ours and
//! crossbeam's ArrayQueue alternately (ROUNDS pairs, default 201, the order swapped every
//! round), and prints the medians and the median of the per-round ratios. Four threads on
//! two cores make single 2P/2C runs swing several-fold with the scheduler; criterion measures
//! each queue in its own block of time, so drift between the blocks shows up as a
//! difference between the queues. Pairs taken back to back see the same machine.

use std::hint::black_box;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, Throughput};
use crossbeam_queue::ArrayQueue;
use fasterapi_core::mpmc::Queue;

const CAPACITY: usize = 1024;
const ITEMS: u64 = 100_000;
const PRODUCERS: u64 = 2;
const CONSUMERS: usize = 2;
/// Marks the end of the stream for one consumer.
const SENTINEL: u64 = u64::MAX;

/// The three queues, seen through the same two non-blocking operations.
trait BenchQueue: Send + Sync {
    fn push(&self, item: u64) -> Result<(), u64>;
    fn pop(&self) -> Option<u64>;
}

impl BenchQueue for Queue<u64> {
    fn push(&self, item: u64) -> Result<(), u64> {
        self.try_push(item)
    }
    fn pop(&self) -> Option<u64> {
        self.try_pop()
    }
}

impl BenchQueue for ArrayQueue<u64> {
    fn push(&self, item: u64) -> Result<(), u64> {
        ArrayQueue::push(self, item)
    }
    fn pop(&self) -> Option<u64> {
        ArrayQueue::pop(self)
    }
}

/// A bounded std channel with its receiver shared by the consumers.
struct StdChannel {
    tx: SyncSender<u64>,
    rx: Mutex<Receiver<u64>>,
}

impl StdChannel {
    fn new() -> Self {
        let (tx, rx) = sync_channel(CAPACITY);
        StdChannel {
            tx,
            rx: Mutex::new(rx),
        }
    }
}

impl BenchQueue for StdChannel {
    fn push(&self, item: u64) -> Result<(), u64> {
        self.tx.try_send(item).map_err(|e| match e {
            TrySendError::Full(v) | TrySendError::Disconnected(v) => v,
        })
    }
    fn pop(&self) -> Option<u64> {
        // Empty or disconnected: nothing to pop either way.
        self.rx.lock().expect("receiver lock").try_recv().ok()
    }
}

/// Spin a few times, then give the core away (2 producers + 2 consumers may share fewer
/// cores than that).
#[inline]
fn pause(attempt: &mut u32) {
    *attempt += 1;
    if *attempt < 64 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}

fn push_retrying<Q: BenchQueue + ?Sized>(q: &Q, mut item: u64) {
    let mut attempt = 0;
    while let Err(back) = q.push(item) {
        item = back;
        pause(&mut attempt);
    }
}

fn uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("push_pop_uncontended");
    g.throughput(Throughput::Elements(1));

    let q = Queue::new(CAPACITY);
    g.bench_function("fasterapi", |b| {
        b.iter(|| {
            q.try_push(black_box(1u64)).expect("empty queue has room");
            black_box(q.try_pop())
        })
    });

    let q = ArrayQueue::new(CAPACITY);
    g.bench_function("crossbeam_array_queue", |b| {
        b.iter(|| {
            q.push(black_box(1u64)).expect("empty queue has room");
            black_box(q.pop())
        })
    });

    let (tx, rx) = sync_channel(CAPACITY);
    g.bench_function("std_sync_channel", |b| {
        b.iter(|| {
            tx.try_send(black_box(1u64))
                .expect("empty channel has room");
            black_box(rx.try_recv().ok())
        })
    });
    g.finish();
}

/// One run of the 2P/2C workload over `q`: two producers push `ITEMS` distinct items while
/// two threads run `consume` (which returns a checksum); once the producers are done,
/// `stop` tells the consumers to finish. Returns the time from the moment every thread is
/// ready until every consumer has finished.
fn run_2p2c<Q: BenchQueue>(q: &Q, consume: fn(&Q) -> u64, stop: impl FnOnce()) -> Duration {
    let ready = Barrier::new(PRODUCERS as usize + CONSUMERS + 1);
    let per_producer = ITEMS / PRODUCERS;
    thread::scope(|s| {
        let producers: Vec<_> = (0..PRODUCERS)
            .map(|p| {
                let ready = &ready;
                s.spawn(move || {
                    ready.wait();
                    for i in 0..per_producer {
                        push_retrying(q, p * per_producer + i);
                    }
                })
            })
            .collect();
        let consumers: Vec<_> = (0..CONSUMERS)
            .map(|_| {
                let ready = &ready;
                s.spawn(move || {
                    ready.wait();
                    black_box(consume(q));
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        for p in producers {
            p.join().expect("producer");
        }
        stop();
        for c in consumers {
            c.join().expect("consumer");
        }
        start.elapsed()
    })
}

/// The 2P/2C workload with polling consumers (`try_pop` and a pause), stopped by one
/// sentinel per consumer.
fn run_polling<Q: BenchQueue>(q: &Q) -> Duration {
    fn consume<Q: BenchQueue>(q: &Q) -> u64 {
        let mut sum = 0u64;
        let mut attempt = 0;
        loop {
            match q.pop() {
                Some(SENTINEL) => return sum,
                Some(v) => {
                    sum = sum.wrapping_add(v);
                    attempt = 0;
                }
                None => pause(&mut attempt),
            }
        }
    }
    run_2p2c(q, consume::<Q>, || {
        for _ in 0..CONSUMERS {
            push_retrying(q, SENTINEL);
        }
    })
}

/// The 2P/2C workload with consumers parked in `pop_wait` and stopped by `close`.
fn run_pop_wait() -> Duration {
    fn consume(q: &Queue<u64>) -> u64 {
        let mut sum = 0u64;
        while let Some(v) = q.pop_wait() {
            sum = sum.wrapping_add(v);
        }
        sum
    }
    let q = Queue::new(CAPACITY);
    run_2p2c(&q, consume, || q.close())
}

fn two_by_two(c: &mut Criterion) {
    let mut g = c.benchmark_group("2p2c");
    g.throughput(Throughput::Elements(ITEMS));
    g.sample_size(10);

    g.bench_function("fasterapi_try_pop", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_polling(&Queue::new(CAPACITY))).sum())
    });
    g.bench_function("fasterapi_pop_wait", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_pop_wait()).sum())
    });
    g.bench_function("crossbeam_array_queue", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| run_polling(&ArrayQueue::new(CAPACITY)))
                .sum()
        })
    });
    g.bench_function("std_sync_channel", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| run_polling(&StdChannel::new())).sum())
    });
    g.finish();
}

/// `--ab`: the polling 2P/2C workload, ours and ArrayQueue in alternating back-to-back pairs.
fn alternating_pairs(rounds: usize) {
    let rate = |d: Duration| ITEMS as f64 / d.as_secs_f64() / 1e6;
    let (mut ours, mut theirs, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let run_ours = || rate(run_polling(&Queue::new(CAPACITY)));
        let run_theirs = || rate(run_polling(&ArrayQueue::new(CAPACITY)));
        let (a, b) = if round % 2 == 0 {
            let a = run_ours();
            (a, run_theirs())
        } else {
            let b = run_theirs();
            (run_ours(), b)
        };
        ours.push(a);
        theirs.push(b);
        ratios.push(a / b);
    }
    let quartiles = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
        (at(0.25), at(0.5), at(0.75))
    };
    let (o1, o2, o3) = quartiles(&mut ours);
    let (t1, t2, t3) = quartiles(&mut theirs);
    let (r1, r2, r3) = quartiles(&mut ratios);
    println!(
        "2p2c polling, {rounds} alternating pairs of {ITEMS} items (M items/s: p25 / median / p75)"
    );
    println!("  fasterapi              {o1:7.1} / {o2:7.1} / {o3:7.1}");
    println!("  crossbeam ArrayQueue   {t1:7.1} / {t2:7.1} / {t3:7.1}");
    println!("  per-pair ratio ours/crossbeam: {r1:.3} / {r2:.3} / {r3:.3}");
}

criterion_group!(benches, uncontended, two_by_two);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--ab") {
        let rounds = args.get(at + 1).and_then(|n| n.parse().ok()).unwrap_or(201);
        alternating_pairs(rounds);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
