//! Benchmarks for `broadcast-redact`: the clean case against a bare memchr scan, text with one
//! secret per KiB, and the naive "run every rule's regex" anchor.

use std::hint::black_box;

use broadcast_profiling::criterion::PprofProfiler;
use broadcast_redact::Redactor;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const SIZE: usize = 64 * 1024;

/// Log lines like broadcast prints, with no trigger literal in them.
fn clean_text(size: usize) -> String {
    let mut s = String::with_capacity(size + 256);
    let mut i = 0u64;
    while s.len() < size {
        s.push_str(&format!(
            "2026-01-02T03:04:05.{:06}Z INFO sync: target owner/repo-{i} synced files=12 \
             duration_ms=340 commit=0123456789abcdef0123456789abcdef{:08x} branch=chore/sync-files\n",
            i % 1_000_000,
            i
        ));
        i += 1;
    }
    s.truncate(size);
    s
}

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
    let clean = clean_text(size);
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
    let clean = clean_text(SIZE);
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
    g.throughput(Throughput::Bytes(secrets.len() as u64));
    g.bench_function("secret_per_KiB/64KiB", |b| {
        b.iter(|| r.redact(black_box(&secrets)).len())
    });
    g.throughput(Throughput::Bytes(SIZE as u64));
    g.bench_function("regex_all/64KiB", |b| {
        b.iter(|| r.redact_unfiltered(black_box(&clean)).len())
    });
    g.finish();
}

criterion_group! {
    name = benches;
    // `-- --profile-time 5 <filter>` writes flamegraph.svg and cpu.pb per benchmark.
    config = Criterion::default().with_profiler(PprofProfiler::new(997));
    targets = bench
}
criterion_main!(benches);
