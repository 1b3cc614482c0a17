//! Criterion suite for broadcast-pool: `pool/<operation>/<size>`.
//!
//! Each iteration takes a buffer of the given capacity, writes 64 bytes into it and drops it.
//! `pool/alloc/*` (the anchor) uses `BytesMut::with_capacity`, `pool/get/*` goes through a
//! `BufferPool` with the default classes. The `_2threads` variants run the same loop on two
//! threads at once and report the time per operation on each thread. Allocations per
//! operation of the single-thread variants are recorded beside the times (`allocs.json`,
//! through `broadcast_benches::alloc`) with a counting global allocator.

use std::hint::black_box;
use std::time::{Duration, Instant};

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_pool::BufferPool;
use broadcast_profiling::CountingAllocator;
use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// Iterations averaged for allocation counts.
const ALLOC_ITERATIONS: u64 = 1000;

const SIZES: [(usize, &str); 3] = [(1024, "1KiB"), (8 * 1024, "8KiB"), (64 * 1024, "64KiB")];
const PAYLOAD: [u8; 64] = [0x5a; 64];

fn with_pool(pool: &BufferPool, size: usize) {
    let mut b = pool.get(size);
    b.extend_from_slice(&PAYLOAD);
    black_box(&b);
}

fn with_alloc(size: usize) {
    let mut b = BytesMut::with_capacity(size);
    b.extend_from_slice(&PAYLOAD);
    black_box(&b);
}

/// Runs `op` `iters` times on each of two threads at once; returns the slower thread's time.
fn two_threads(iters: u64, op: &(dyn Fn() + Sync)) -> Duration {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                s.spawn(move || {
                    let start = Instant::now();
                    for _ in 0..iters {
                        op();
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("bench thread does not panic"))
            .max()
            .unwrap_or_default()
    })
}

fn bench_pool(c: &mut Criterion) {
    let mut group = c.benchmark_group("pool");
    group.throughput(Throughput::Elements(1));
    for (size, label) in SIZES {
        let pool = BufferPool::new();
        group.bench_function(format!("get/{label}"), |b| {
            b.iter(|| with_pool(&pool, black_box(size)))
        });
        alloc::record(
            &format!("pool/get/{label}"),
            ALLOC_ITERATIONS,
            counting_allocator,
            || with_pool(&pool, size),
        );
        group.bench_function(format!("alloc/{label}"), |b| {
            b.iter(|| with_alloc(black_box(size)))
        });
        alloc::record(
            &format!("pool/alloc/{label}"),
            ALLOC_ITERATIONS,
            counting_allocator,
            || with_alloc(size),
        );
        group.bench_function(format!("get_2threads/{label}"), |b| {
            b.iter_custom(|iters| two_threads(iters, &|| with_pool(&pool, black_box(size))))
        });
        group.bench_function(format!("alloc_2threads/{label}"), |b| {
            b.iter_custom(|iters| two_threads(iters, &|| with_alloc(black_box(size))))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_pool);
criterion_main!(benches);
