//! Criterion suite for broadcast-pool: `pool/<operation>/<size>`.
//!
//! Each iteration takes a buffer of the given capacity, writes 64 bytes into it and drops it.
//! `pool/alloc/*` (the anchor) uses `BytesMut::with_capacity`, `pool/get/*` goes through a
//! `BufferPool` with the default classes. The `_2threads` variants run the same loop on two
//! threads at once and report the time per operation on each thread. Allocations per
//! operation of the single-thread variants are recorded beside the times (`allocs.json`,
//! through `broadcast_benches::alloc`) with a counting global allocator.
//!
//! `pool/stream_copy/<buffer>` is the shape of a streamed blob copy (`cat-file` output read
//! into a buffer, written on to `fast-import`): a 4 MiB stream read in 64 KiB chunks and
//! written to a pre-sized output, with a buffer per chunk from a `BufferPool` (`pooled`), a
//! fresh zeroed `Vec` (`fresh_vec`) or `BytesMut` (`fresh_bytesmut`) per chunk, or one buffer
//! reused for the whole stream (`reused`). Every variant reads into initialised memory, as a
//! safe `Read::read` call needs.

use std::hint::black_box;
use std::io::{Read, Write};
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

/// Size of the copied stream and of one chunk (`stream_copy`).
const STREAM_BYTES: usize = 4 << 20;
const CHUNK: usize = 64 * 1024;

/// Copies `src` into `out` chunk by chunk; `buffer` hands out the chunk buffer of each read and
/// gets it back afterwards (a fresh one, a pooled one, or the same one every time).
fn copy_stream<B: AsMut<[u8]>>(
    mut src: &[u8],
    out: &mut Vec<u8>,
    mut buffer: impl FnMut() -> B,
) -> usize {
    out.clear();
    loop {
        let mut b = buffer();
        let n = src.read(b.as_mut()).expect("reading a slice does not fail");
        if n == 0 {
            return out.len();
        }
        out.write_all(&b.as_mut()[..n])
            .expect("writing a Vec does not fail");
    }
}

fn stream_pooled(pool: &BufferPool, src: &[u8], out: &mut Vec<u8>) -> usize {
    copy_stream(src, out, || {
        let mut b = pool.get(CHUNK);
        b.resize(CHUNK, 0);
        b
    })
}

fn stream_fresh_vec(src: &[u8], out: &mut Vec<u8>) -> usize {
    copy_stream(src, out, || vec![0u8; CHUNK])
}

fn stream_fresh_bytesmut(src: &[u8], out: &mut Vec<u8>) -> usize {
    copy_stream(src, out, || BytesMut::zeroed(CHUNK))
}

fn stream_reused(buf: &mut [u8], src: &[u8], out: &mut Vec<u8>) -> usize {
    let mut src = src;
    out.clear();
    loop {
        let n = src.read(buf).expect("reading a slice does not fail");
        if n == 0 {
            return out.len();
        }
        out.write_all(&buf[..n])
            .expect("writing a Vec does not fail");
    }
}

fn bench_stream_copy(c: &mut Criterion) {
    let src: Vec<u8> = (0..STREAM_BYTES).map(|i| (i % 251) as u8).collect();
    let mut out = Vec::with_capacity(STREAM_BYTES);
    let pool = BufferPool::new();
    let mut reused = vec![0u8; CHUNK];
    let mut group = c.benchmark_group("pool");
    group.throughput(Throughput::Bytes(STREAM_BYTES as u64));
    let mut run = |name: &str, op: &mut dyn FnMut(&mut Vec<u8>) -> usize| {
        let id = format!("stream_copy/{name}");
        group.bench_function(&id, |b| b.iter(|| black_box(op(&mut out))));
        alloc::record(&format!("pool/{id}"), 20, counting_allocator, || {
            black_box(op(&mut out));
        });
    };
    run("pooled", &mut |o| stream_pooled(&pool, &src, o));
    run("fresh_vec", &mut |o| stream_fresh_vec(&src, o));
    run("fresh_bytesmut", &mut |o| stream_fresh_bytesmut(&src, o));
    run("reused", &mut |o| stream_reused(&mut reused, &src, o));
    group.finish();
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

criterion_group!(benches, bench_pool, bench_stream_copy);
criterion_main!(benches);
