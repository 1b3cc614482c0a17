//! Benchmarks of logging (the seed plan's item 1.5), through the stack broadcast installs: a
//! `tracing_subscriber` fmt layer writing through `broadcast_redact::tracing::RedactingMakeWriter`
//! (here into `io::sink`, so no terminal or file cost is measured).
//!
//! - `logging/format/{text,json}_{3,23}_fields`: one event, text formatter against JSON
//!   formatter, with 3 fields and with 23 (the seed's "20+ fields");
//! - `logging/concurrent/{1,10,100}threads`: one event per thread, all threads logging at
//!   once into the one subscriber;
//! - `logging/redact/*`: the seed's redaction scenarios on `Redactor::redact`: no secret, one
//!   bearer token, `token: abc123 ` repeated 100 times, and 100 KiB of log lines ending in a
//!   token.
//!
//! Allocations per op are recorded for the single-threaded benchmarks.

use std::hint::black_box;
use std::time::Instant;

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_benches::fixtures;
use broadcast_profiling::CountingAllocator;
use broadcast_profiling::criterion::PprofProfiler;
use broadcast_redact::Redactor;
use broadcast_redact::tracing::RedactingMakeWriter;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use tracing::Dispatch;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

const ALLOC_ITERATIONS: u64 = 200;

/// The subscriber broadcast builds (`init_logging`), writing into a sink; `json` picks the
/// JSON formatter (one object per line) instead of the text one.
fn dispatch(json: bool) -> Dispatch {
    let writer = RedactingMakeWriter::new(std::io::sink);
    let builder = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(writer);
    if json {
        Dispatch::new(builder.json().finish())
    } else {
        Dispatch::new(builder.finish())
    }
}

fn three_fields() {
    tracing::info!(
        target: "broadcast::sync",
        repo = "acme/service-a",
        files = 12u64,
        duration_ms = 340.5f64,
        "target synced"
    );
}

fn twenty_three_fields() {
    tracing::info!(
        target: "broadcast::sync",
        repo = "acme/service-a",
        group = "platform",
        branch = "chore/sync-files-platform",
        base = "main",
        commit = "6dcb09b5b57875f334f61aebed695e2e4193db5e",
        source_commit = "0123456789abcdef0123456789abcdef01234567",
        files = 12u64,
        added = 3u64,
        modified = 8u64,
        deleted = 1u64,
        bytes = 48_213u64,
        duration_ms = 340.5f64,
        git_spawns = 4u64,
        pr = 128u64,
        pr_action = "updated",
        rate_remaining = 4_873u64,
        attempt = 1u64,
        dry_run = false,
        forge = "github",
        phase = "write",
        jobs = 2u64,
        status = "synced",
        correlation_id = "a1b2c3d4",
        "target synced"
    );
}

fn format(c: &mut Criterion) {
    let mut g = c.benchmark_group("logging");
    g.throughput(Throughput::Elements(1));
    for (json, kind) in [(false, "text"), (true, "json")] {
        let d = dispatch(json);
        for (fields, event) in [(3, three_fields as fn()), (23, twenty_three_fields)] {
            let id = format!("{kind}_{fields}_fields");
            tracing::dispatcher::with_default(&d, || {
                g.bench_function(BenchmarkId::new("format", &id), |b| b.iter(event));
                alloc::record(
                    &format!("logging/format/{id}"),
                    ALLOC_ITERATIONS,
                    counting_allocator,
                    event,
                );
            });
        }
    }
    g.finish();
}

fn concurrent(c: &mut Criterion) {
    let d = dispatch(false);
    let mut g = c.benchmark_group("logging");
    for n in [1usize, 10, 100] {
        // One iteration: one event on each of n threads at once; the threads start once per
        // sample, so thread start-up is not in the figure.
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(BenchmarkId::new("concurrent", format!("{n}threads")), |b| {
            b.iter_custom(|iters| {
                let barrier = std::sync::Barrier::new(n + 1);
                std::thread::scope(|s| {
                    for _ in 0..n {
                        s.spawn(|| {
                            tracing::dispatcher::with_default(&d, || {
                                barrier.wait();
                                for _ in 0..iters {
                                    three_fields();
                                }
                            })
                        });
                    }
                    barrier.wait();
                    let start = Instant::now();
                    // The scope joins every thread before returning.
                    start
                })
                .elapsed()
            })
        });
    }
    g.finish();
}

fn redaction(c: &mut Criterion) {
    let r = Redactor::default();
    let mut large = fixtures::log_text(100 * 1024);
    large.push_str("auth: Authorization: Bearer ghp_abcdefghijklmnopqrstuvwxyz0123456789\n");
    let scenarios: [(&str, String); 4] = [
        (
            "no_sensitive",
            "This is a normal log message without any sensitive data".to_owned(),
        ),
        (
            "with_token",
            "Authorization: Bearer ghp_xxxxxxxxxxxxxxxxxxxx".to_owned(),
        ),
        ("multiple_tokens", "token: abc123 ".repeat(100)),
        ("large_text", large),
    ];
    assert!(!r.redact(&scenarios[1].1).contains("ghp_xxxx"));
    assert!(!r.redact(&scenarios[3].1).contains("ghp_abcdef"));
    let mut g = c.benchmark_group("logging");
    for (name, text) in &scenarios {
        g.throughput(Throughput::Bytes(text.len() as u64));
        g.bench_with_input(BenchmarkId::new("redact", name), text, |b, text| {
            b.iter(|| r.redact(black_box(text)).len())
        });
        alloc::record(
            &format!("logging/redact/{name}"),
            ALLOC_ITERATIONS,
            counting_allocator,
            || {
                black_box(r.redact(text).len());
            },
        );
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // `-- --profile-time 5 <filter>` writes flamegraph.svg and cpu.pb per benchmark.
    config = Criterion::default().with_profiler(PprofProfiler::new(997));
    targets = format, concurrent, redaction
}
criterion_main!(benches);
