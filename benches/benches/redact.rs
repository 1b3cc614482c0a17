//! Benchmarks for `broadcast-redact`: the clean case against a bare memchr scan, text with one
//! secret per KiB, and the naive "run every rule's regex" anchor. Allocations per operation
//! are recorded beside the times (`allocs.json`, through `broadcast_benches::alloc`) with a
//! counting global allocator.

use std::hint::black_box;

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_benches::fixtures;
use broadcast_profiling::CountingAllocator;
use broadcast_profiling::criterion::PprofProfiler;
use broadcast_redact::Redactor;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

const SIZE: usize = 64 * 1024;
/// Iterations averaged for allocation counts.
const ALLOC_ITERATIONS: u64 = 100;

/// Clean text with one secret (rotating through the formats) every KiB.
fn secret_text(size: usize) -> String {
    let secrets = [
        "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
        "Authorization: Bearer abcdef.ghijkl-mnop",
        "https://x-access-token:s3cr3tv4lu3@github.com/o/r",
        "password=hunter2hunter2",
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpM",
    ];
    let clean = fixtures::log_text(size);
    let mut out = String::with_capacity(size + 4096);
    for (i, chunk) in clean.as_bytes().chunks(1024).enumerate() {
        let chunk = String::from_utf8_lossy(chunk);
        out.push_str(&chunk[..chunk.len().saturating_sub(64)]);
        out.push(' ');
        out.push_str(secrets[i % secrets.len()]);
        out.push('\n');
    }
    out
}

fn bench(c: &mut Criterion) {
    let r = Redactor::default();
    let clean = fixtures::log_text(SIZE);
    let secrets = secret_text(SIZE);
    assert!(
        matches!(r.redact(&clean), std::borrow::Cow::Borrowed(_)),
        "bench input must be clean"
    );
    assert!(!r.redact(&secrets).contains("hunter2"));

    let mut g = c.benchmark_group("redact");
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("memchr_scan/64KiB", |b| {
        b.iter(|| memchr::memchr(0, black_box(clean.as_bytes())))
    });
    g.bench_function("clean/64KiB", |b| {
        b.iter(|| r.redact(black_box(&clean)).len())
    });
    alloc::record(
        "redact/clean/64KiB",
        ALLOC_ITERATIONS,
        counting_allocator,
        || {
            black_box(r.redact(&clean).len());
        },
    );
    g.throughput(Throughput::Bytes(secrets.len() as u64));
    g.bench_function("secret_per_KiB/64KiB", |b| {
        b.iter(|| r.redact(black_box(&secrets)).len())
    });
    alloc::record(
        "redact/secret_per_KiB/64KiB",
        ALLOC_ITERATIONS,
        counting_allocator,
        || {
            black_box(r.redact(&secrets).len());
        },
    );
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("regex_all/64KiB", |b| {
        b.iter(|| r.redact_unfiltered(black_box(&clean)).len())
    });
    alloc::record(
        "redact/regex_all/64KiB",
        ALLOC_ITERATIONS,
        counting_allocator,
        || {
            black_box(r.redact_unfiltered(&clean).len());
        },
    );
    g.finish();
}

criterion_group! {
    name = benches;
    // `-- --profile-time 5 <filter>` writes flamegraph.svg and cpu.pb per benchmark.
    config = Criterion::default().with_profiler(PprofProfiler::new(997));
    targets = bench
}
criterion_main!(benches);
