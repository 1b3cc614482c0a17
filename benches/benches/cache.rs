//! Criterion suite for broadcast-cache: `cache/<operation>[_<anchor>]/<threads>`.
//!
//! `get_hit` reads keys that are present, `get_miss` keys that are not, `insert` writes keys
//! from a range ten times the capacity, so nearly every insert evicts. Each is run on
//! `broadcast_cache::Cache` (TTL 5 min), `moka::sync::Cache` (time to live 5 min) and
//! `quick_cache::sync::Cache` (no TTL support) in the same run, with `u64` keys and values
//! and a capacity of 10,000 entries. The `2threads` variants run the loop on two threads at
//! once and report the time per operation on each thread. Allocations per operation of the
//! single-thread `get_hit` and `insert` variants (all caches but moka) are recorded beside the
//! times (`allocs.json`, through `broadcast_benches::alloc`) with a counting global allocator.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_cache::{Cache, CacheBuilder};
use broadcast_profiling::CountingAllocator;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// Operations averaged for allocation counts.
const ALLOC_ITERATIONS: u64 = 10_000;

const CAPACITY: usize = 10_000;
const TTL: Duration = Duration::from_secs(300);

/// A multiplicative hash so consecutive iterations touch scattered keys.
fn key(i: u64, range: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % range
}

trait Subject: Sync {
    fn get(&self, k: u64) -> Option<u64>;
    fn insert(&self, k: u64, v: u64);
}

impl Subject for Cache<u64, u64> {
    fn get(&self, k: u64) -> Option<u64> {
        Cache::get(self, &k)
    }
    fn insert(&self, k: u64, v: u64) {
        Cache::insert(self, k, v);
    }
}

impl Subject for moka::sync::Cache<u64, u64> {
    fn get(&self, k: u64) -> Option<u64> {
        moka::sync::Cache::get(self, &k)
    }
    fn insert(&self, k: u64, v: u64) {
        moka::sync::Cache::insert(self, k, v);
    }
}

impl Subject for quick_cache::sync::Cache<u64, u64> {
    fn get(&self, k: u64) -> Option<u64> {
        quick_cache::sync::Cache::get(self, &k)
    }
    fn insert(&self, k: u64, v: u64) {
        quick_cache::sync::Cache::insert(self, k, v);
    }
}

fn subjects() -> Vec<(&'static str, Box<dyn Subject>)> {
    let ours: Cache<u64, u64> = CacheBuilder::new(CAPACITY)
        .ttl(TTL)
        .build()
        .expect("valid cache settings");
    let moka = moka::sync::Cache::builder()
        .max_capacity(CAPACITY as u64)
        .time_to_live(TTL)
        .build();
    let quick = quick_cache::sync::Cache::new(CAPACITY);
    let no_ttl: Cache<u64, u64> = CacheBuilder::new(CAPACITY)
        .build()
        .expect("valid cache settings");
    vec![
        ("", Box::new(ours)),
        ("_no_ttl", Box::new(no_ttl)),
        ("_moka", Box::new(moka)),
        ("_quick_cache", Box::new(quick)),
    ]
}

#[derive(Clone, Copy)]
enum Op {
    GetHit,
    GetMiss,
    Insert,
}

/// Operation number `i` of kind `op`.
fn one(subject: &dyn Subject, op: Op, i: u64) {
    match op {
        Op::GetHit => {
            black_box(subject.get(key(i, CAPACITY as u64 / 2)));
        }
        Op::GetMiss => {
            black_box(subject.get(1 << 40 | key(i, 1 << 30)));
        }
        Op::Insert => subject.insert(key(i, 10 * CAPACITY as u64), i),
    }
}

/// Runs `iters` operations on each of `threads` threads; returns the slowest thread's time.
fn run(subject: &dyn Subject, op: Op, threads: u64, iters: u64, counter: &AtomicU64) -> Duration {
    let body = |offset: u64| {
        let start = Instant::now();
        for i in offset..offset + iters {
            one(subject, op, i);
        }
        start.elapsed()
    };
    if threads == 1 {
        return body(counter.fetch_add(iters, Ordering::Relaxed));
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let offset = counter.fetch_add(iters, Ordering::Relaxed);
                s.spawn(move || body(offset))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread does not panic"))
            .max()
            .unwrap_or_default()
    })
}

/// Records allocations per operation for `id` on a fresh cache of kind `suffix`, prepared as
/// the timed runs are and driven by a fixed key sequence, so the figures repeat run to run.
fn record_allocs(id: &str, suffix: &str, op: Op) {
    let (_, subject) = subjects()
        .into_iter()
        .find(|(s, _)| *s == suffix)
        .expect("the suffix names one of the subjects");
    for k in 0..CAPACITY as u64 / 2 {
        subject.insert(k, k);
    }
    let mut i = 0;
    alloc::record(id, ALLOC_ITERATIONS, counting_allocator, || {
        one(subject.as_ref(), op, i);
        i += 1;
    });
}

fn bench_cache(c: &mut Criterion) {
    let mut group = c.benchmark_group("cache");
    group.throughput(Throughput::Elements(1));
    for (op, name) in [
        (Op::GetHit, "get_hit"),
        (Op::GetMiss, "get_miss"),
        (Op::Insert, "insert"),
    ] {
        for threads in [1u64, 2] {
            for (suffix, subject) in subjects() {
                // Half the capacity is present, so hits never race an eviction.
                for k in 0..CAPACITY as u64 / 2 {
                    subject.insert(k, k);
                }
                let counter = AtomicU64::new(0);
                let id = format!(
                    "{name}{suffix}/{threads}thread{}",
                    if threads > 1 { "s" } else { "" }
                );
                group.bench_function(&id, |b| {
                    b.iter_custom(|iters| run(subject.as_ref(), op, threads, iters, &counter))
                });
                // moka seeds its hashing per process, so its counts vary run to run (about
                // 7.05 allocations per insert, 0.01 per hit): not recorded, as a baseline
                // figure that moves would fail `compare` for no change.
                if threads == 1 && matches!(op, Op::GetHit | Op::Insert) && suffix != "_moka" {
                    record_allocs(&format!("cache/{id}"), suffix, op);
                }
            }
        }
    }
    group.finish();
}

criterion_group!(benches, bench_cache);
criterion_main!(benches);
