//! Criterion suite for broadcast-worker: `worker/<operation>/<input>`.
//!
//! `task_overhead/1000` maps 1000 trivial tasks through a 2-worker `WorkerPool` and collects the
//! results in order; the anchors do the same work through a bare crossbeam-channel loop over 2
//! persistent threads (`crossbeam_loop/1000`) and a 2-thread rayon pool (`rayon/1000`).
//! `io_bound/20x10ms` runs 20 tasks that each sleep 10 ms on 20 workers; `io_bound/1x10ms` is
//! one such task, the time the batch should approach. Allocations per batch of 1000 tasks
//! (every thread's, the workers' included; the fewest over 50 batches, since a race between
//! the two workers adds one now and then) are recorded for `task_overhead` and its two
//! anchors beside the times (`allocs.json`, through `broadcast_benches::alloc::record_min`)
//! with a counting global allocator.

use std::hint::black_box;
use std::time::Duration;

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_profiling::CountingAllocator;
use broadcast_worker::WorkerPool;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// Batches whose fewest allocations are recorded.
const ALLOC_TRIALS: u64 = 50;

const TASKS: u64 = 1000;
const WORKERS: usize = 2;

fn bench_overhead(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker");
    group.throughput(Throughput::Elements(TASKS));

    let pool = WorkerPool::new(WORKERS, 1024).expect("pool starts");
    let ours = || {
        let out = pool
            .map(0..TASKS, |x| black_box(x) + 1)
            .expect("pool is running");
        black_box(out)
    };
    group.bench_function("task_overhead/1000", |b| b.iter(ours));
    alloc::record_min(
        "worker/task_overhead/1000",
        ALLOC_TRIALS,
        counting_allocator,
        || {
            ours();
        },
    );

    // Bare loop: persistent threads, one bounded job channel, one result channel.
    let (job_tx, job_rx) = crossbeam_channel::bounded::<u64>(1024);
    let (out_tx, out_rx) = crossbeam_channel::unbounded::<(u64, u64)>();
    let threads: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (job_rx, out_tx) = (job_rx.clone(), out_tx.clone());
            std::thread::spawn(move || {
                while let Ok(x) = job_rx.recv() {
                    if out_tx.send((x, black_box(x) + 1)).is_err() {
                        break;
                    }
                }
            })
        })
        .collect();
    let bare = || {
        let mut out = vec![0u64; TASKS as usize];
        for x in 0..TASKS {
            job_tx.send(x).expect("workers are running");
        }
        for _ in 0..TASKS {
            let (i, v) = out_rx.recv().expect("workers are running");
            out[i as usize] = v;
        }
        black_box(out)
    };
    group.bench_function("crossbeam_loop/1000", |b| b.iter(bare));
    alloc::record_min(
        "worker/crossbeam_loop/1000",
        ALLOC_TRIALS,
        counting_allocator,
        || {
            bare();
        },
    );
    drop(job_tx);
    for t in threads {
        t.join().expect("bench thread does not panic");
    }

    let rayon_pool = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool starts");
    let with_rayon = || {
        let out: Vec<u64> = rayon_pool.install(|| {
            (0..TASKS)
                .into_par_iter()
                .map(|x| black_box(x) + 1)
                .collect()
        });
        black_box(out)
    };
    group.bench_function("rayon/1000", |b| b.iter(with_rayon));
    alloc::record_min(
        "worker/rayon/1000",
        ALLOC_TRIALS,
        counting_allocator,
        || {
            with_rayon();
        },
    );
    group.finish();
}

fn bench_io_bound(c: &mut Criterion) {
    let mut group = c.benchmark_group("worker");
    group.sample_size(10);
    let pool = WorkerPool::new(20, 20).expect("pool starts");
    for (n, label) in [(1u64, "io_bound/1x10ms"), (20, "io_bound/20x10ms")] {
        group.throughput(Throughput::Elements(n));
        group.bench_function(label, |b| {
            b.iter(|| {
                pool.map(0..n, |_| std::thread::sleep(Duration::from_millis(10)))
                    .expect("pool is running")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_overhead, bench_io_bound);
criterion_main!(benches);
