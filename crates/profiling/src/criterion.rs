//! [`PprofProfiler`]: CPU profiles of criterion benchmarks run with `--profile-time`.

use std::path::Path;

use pprof::protos::Message;

/// A `criterion::profiler::Profiler` that samples the benchmark with pprof and writes
/// `flamegraph.svg` and `cpu.pb` into criterion's profile directory for that benchmark
/// (`target/criterion/<id>/profile/`).
///
/// ```no_run
/// # use criterion::Criterion;
/// use broadcast_profiling::criterion::PprofProfiler;
/// let c = Criterion::default().with_profiler(PprofProfiler::new(997));
/// # drop(c);
/// ```
///
/// Run `cargo bench --bench <name> -- --profile-time 5 <filter>`. The `Profiler` trait has no
/// error channel, so failures are printed to stderr and that benchmark's profile is skipped.
#[derive(Default)]
pub struct PprofProfiler {
    frequency_hz: i32,
    active: Option<pprof::ProfilerGuard<'static>>,
}

impl std::fmt::Debug for PprofProfiler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PprofProfiler")
            .field("frequency_hz", &self.frequency_hz)
            .field("active", &self.active.is_some())
            .finish()
    }
}

impl PprofProfiler {
    /// Samples at `frequency_hz` (997 is a good choice for short benchmarks).
    pub fn new(frequency_hz: i32) -> Self {
        PprofProfiler {
            frequency_hz,
            active: None,
        }
    }
}

impl ::criterion::profiler::Profiler for PprofProfiler {
    fn start_profiling(&mut self, benchmark_id: &str, _benchmark_dir: &Path) {
        match pprof::ProfilerGuardBuilder::default()
            .frequency(self.frequency_hz)
            .blocklist(&["libc", "libgcc", "pthread", "vdso"])
            .build()
        {
            Ok(guard) => self.active = Some(guard),
            Err(e) => eprintln!("profiling {benchmark_id}: cannot start the CPU profiler: {e}"),
        }
    }

    fn stop_profiling(&mut self, benchmark_id: &str, benchmark_dir: &Path) {
        let Some(guard) = self.active.take() else {
            return;
        };
        if let Err(e) = write_profile(&guard, benchmark_dir) {
            eprintln!("profiling {benchmark_id}: {e}");
        }
    }
}

fn write_profile(
    guard: &pprof::ProfilerGuard<'static>,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let report = guard.report().build()?;
    std::fs::create_dir_all(dir)?;
    let mut svg = Vec::new();
    report.flamegraph(&mut svg)?;
    std::fs::write(dir.join("flamegraph.svg"), svg)?;
    std::fs::write(dir.join("cpu.pb"), report.pprof()?.encode_to_vec())?;
    Ok(())
}
