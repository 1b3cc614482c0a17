//! Integration tests for `broadcast-profiling`, with `CountingAllocator` installed as this test
//! binary's global allocator. Everything that starts the CPU profiler lives in one test, because
//! only one profiler can run per process.

use std::hint::black_box;

use broadcast_profiling::{CountingAllocator, Error, ProfileOptions, ProfileSuite, files};
use pprof::protos::Message;
use tracing_subscriber::layer::SubscriberExt;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

#[test]
fn counts_allocations_across_threads() {
    let before = CountingAllocator::snapshot();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(|| {
                for i in 0..1000u64 {
                    black_box(Box::new(i));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("allocating thread panicked");
    }
    let delta = CountingAllocator::snapshot().since(&before);
    assert!(CountingAllocator::is_installed());
    assert!(delta.allocations >= 4000, "{delta:?}");
    assert!(delta.deallocations >= 4000, "{delta:?}");
    assert!(delta.bytes_allocated >= 4000 * 8, "{delta:?}");
}

#[test]
fn realloc_is_counted() {
    let before = CountingAllocator::snapshot();
    let mut v: Vec<u8> = Vec::with_capacity(16);
    v.extend_from_slice(&[1; 16]);
    v.reserve(4096);
    black_box(&v);
    let delta = CountingAllocator::snapshot().since(&before);
    assert!(delta.reallocations >= 1, "{delta:?}");
    assert!(delta.bytes_allocated >= 4096 + 16, "{delta:?}");
}

fn busy_work() -> u64 {
    let start = std::time::Instant::now();
    let mut acc = 0u64;
    while start.elapsed() < std::time::Duration::from_millis(400) {
        for i in 0..10_000u64 {
            acc = acc
                .wrapping_mul(6364136223846793005)
                .wrapping_add(black_box(i));
        }
        black_box(vec![acc; 64]);
    }
    acc
}

#[test]
fn suite_writes_every_file() -> Result {
    let dir = tempfile::tempdir()?;
    let out = dir.path().join("run");
    let mut suite = ProfileSuite::start(&out, ProfileOptions::default().chrome_trace(true))?;
    assert!(matches!(
        ProfileSuite::start(dir.path().join("second"), ProfileOptions::default()),
        Err(Error::StartProfiler { .. })
    ));
    let layer = suite.chrome_layer().ok_or("chrome trace was requested")?;
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("busy_span", repo = "a/b");
        let _entered = span.enter();
        black_box(busy_work());
    });
    let report = suite.finish()?;

    for name in [
        files::CPU_PROFILE,
        files::ALLOCATIONS,
        files::REPORT,
        files::CHROME_TRACE,
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let profile =
        pprof::protos::Profile::decode(std::fs::read(out.join(files::CPU_PROFILE))?.as_slice())?;
    assert!(!profile.sample_type.is_empty());
    if report.samples > 0 {
        assert!(out.join(files::FLAMEGRAPH).is_file());
        assert!(!report.top_functions.is_empty());
        assert!(!profile.sample.is_empty());
    }
    let allocations = report.allocations.ok_or("allocator is installed")?;
    assert!(allocations.allocations > 0);
    // The span allocates 512 bytes at a time; the profiler's own sample table (over 100 MB,
    // allocated by `start`) is not charged to it.
    assert!(
        allocations.peak_live_bytes < 8 << 20,
        "peak live {} bytes",
        allocations.peak_live_bytes
    );
    if let (Some(peak), Some(table), Some(run)) = (
        report.peak_rss_bytes,
        report.profiler_rss_bytes,
        report.run_peak_rss_bytes,
    ) {
        assert!(table > 0, "starting the CPU profiler adds its table");
        assert_eq!(run, peak - table);
    }
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join(files::ALLOCATIONS))?)?;
    assert_eq!(json["allocator_installed"], true);
    let text = std::fs::read_to_string(out.join(files::REPORT))?;
    assert!(
        text.contains("wall time:") && text.contains("allocations:"),
        "{text}"
    );
    let trace = std::fs::read_to_string(out.join(files::CHROME_TRACE))?;
    assert!(trace.contains("busy_span"), "{trace}");

    // The profiler is free again.
    let again = ProfileSuite::start(
        dir.path().join("again"),
        ProfileOptions::default().cpu(false),
    )?;
    let report = again.finish()?;
    assert_eq!(report.samples, 0);
    assert!(!dir.path().join("again").join(files::CPU_PROFILE).exists());
    Ok(())
}
