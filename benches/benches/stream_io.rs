//! Benchmarks for `broadcast-stream-io`: streaming replace against read-whole-file replace on a
//! 64 MiB file (1 GiB with `BROADCAST_BENCH_1GIB=1`), atomic against plain 1 MiB writes, and a
//! one-shot peak-RSS comparison of the two replace modes printed after the criterion runs.

use std::fs::File;
use std::hint::black_box;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use broadcast_profiling::criterion::PprofProfiler;
use broadcast_profiling::{current_rss_bytes, peak_rss_bytes, reset_peak_rss};
use broadcast_stream_io::{LiteralReplace, StreamProcessor, atomic_write_bytes};
use criterion::{Criterion, Throughput};

const CHUNK: usize = 64 * 1024;
const MIB: f64 = 1024.0 * 1024.0;

struct Fixture {
    _dir: tempfile::TempDir,
    input: PathBuf,
    size: u64,
    label: &'static str,
    transform: LiteralReplace,
}

impl Fixture {
    fn new() -> io::Result<Fixture> {
        let big = std::env::var("BROADCAST_BENCH_1GIB").is_ok_and(|v| v == "1");
        let (size, label) = if big {
            (1u64 << 30, "1GiB")
        } else {
            (64u64 << 20, "64MiB")
        };
        let dir = tempfile::tempdir()?;
        let input = dir.path().join("input.txt");
        let mut w = BufWriter::new(File::create(&input)?);
        let line = b"uses: owner/template-repo/.github/workflows/ci.yml@main # keep in sync\n";
        let mut written = 0u64;
        while written < size {
            let n = line.len().min((size - written) as usize);
            w.write_all(&line[..n])?;
            written += n as u64;
        }
        w.flush()?;
        Ok(Fixture {
            _dir: dir,
            input,
            size,
            label,
            transform: LiteralReplace::new("template-repo", "service-repo"),
        })
    }
}

fn replace_streaming(path: &Path, t: &LiteralReplace) -> io::Result<u64> {
    let f = File::open(path)?;
    let stats = StreamProcessor::new(CHUNK)
        .process(f, io::sink(), t)
        .map_err(io::Error::other)?;
    Ok(stats.bytes_out)
}

fn replace_whole(path: &Path, t: &LiteralReplace) -> io::Result<u64> {
    let data = std::fs::read(path)?;
    let out = t.replace_all(&data);
    io::sink().write_all(&out)?;
    Ok(out.len() as u64)
}

fn bench(c: &mut Criterion, fx: &Fixture) {
    let mut g = c.benchmark_group("stream-io");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(fx.size));
    g.bench_function(format!("replace/{}", fx.label), |b| {
        b.iter(|| replace_streaming(&fx.input, &fx.transform).expect("reading the fixture"))
    });
    g.bench_function(format!("replace_whole/{}", fx.label), |b| {
        b.iter(|| replace_whole(&fx.input, &fx.transform).expect("reading the fixture"))
    });
    g.finish();

    let data = vec![b'x'; 1 << 20];
    let out = fx._dir.path().join("out.bin");
    let mut g = c.benchmark_group("stream-io");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.bench_function("atomic_write/1MiB", |b| {
        b.iter(|| atomic_write_bytes(&out, black_box(&data)).expect("writing in the temp dir"))
    });
    g.bench_function("plain_write/1MiB", |b| {
        b.iter(|| std::fs::write(&out, black_box(&data)).expect("writing in the temp dir"))
    });
    g.finish();
}

/// Runs each replace mode once and prints throughput and the growth of peak RSS over the RSS
/// before the run (`VmHWM` reset through `/proc/self/clear_refs`).
fn memory_report(fx: &Fixture) {
    type Mode = fn(&Path, &LiteralReplace) -> io::Result<u64>;
    let modes: [(&str, Mode); 2] = [
        ("replace", replace_streaming),
        ("replace_whole", replace_whole),
    ];
    for (name, run) in modes {
        if reset_peak_rss().is_err() {
            eprintln!("peak RSS: cannot reset VmHWM on this system, skipping the memory report");
            return;
        }
        let before = current_rss_bytes().unwrap_or(0);
        let start = Instant::now();
        let out = run(&fx.input, &fx.transform).expect("reading the fixture");
        let secs = start.elapsed().as_secs_f64();
        let peak = peak_rss_bytes().unwrap_or(0);
        println!(
            "stream-io/{name}/{}: {:.0} MiB/s, peak RSS {:.1} MiB (+{:.1} MiB over {:.1} MiB before), output {} bytes",
            fx.label,
            fx.size as f64 / MIB / secs,
            peak as f64 / MIB,
            peak.saturating_sub(before) as f64 / MIB,
            before as f64 / MIB,
            out
        );
    }
}

fn main() {
    let fx = Fixture::new().expect("creating the benchmark input file");
    // `-- --profile-time 5 <filter>` writes flamegraph.svg and cpu.pb per benchmark.
    let mut c = Criterion::default()
        .with_profiler(PprofProfiler::new(997))
        .configure_from_args();
    bench(&mut c, &fx);
    memory_report(&fx);
    c.final_summary();
}
