//! [`ProfileSuite`]: everything profiled between `start` and `finish`, written to one directory.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pprof::protos::Message;
use tracing_chrome::{ChromeLayer, ChromeLayerBuilder, FlushGuard};
use tracing_subscriber::registry::LookupSpan;

use crate::{
    AllocStats, CountingAllocator, Error, Result, current_rss_bytes, peak_rss_bytes, reset_peak_rss,
};

/// File names written into the profile directory.
pub mod files {
    /// CPU profile, pprof protobuf (gzip not applied), for `go tool pprof` and speedscope.
    pub const CPU_PROFILE: &str = "cpu.pb";
    /// Flamegraph of the CPU samples (inferno SVG).
    pub const FLAMEGRAPH: &str = "flamegraph.svg";
    /// Allocation totals, wall time and peak RSS as JSON.
    pub const ALLOCATIONS: &str = "allocations.json";
    /// Chrome trace event JSON of tracing spans (chrome://tracing, Perfetto).
    pub const CHROME_TRACE: &str = "trace.json";
    /// Human-readable summary.
    pub const REPORT: &str = "report.txt";
    /// dhat heap profile (feature `dhat-heap`), for the DHAT viewer.
    pub const HEAP_PROFILE: &str = "dhat-heap.json";
}

/// Switches for a [`ProfileSuite`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ProfileOptions {
    /// Sample CPU stacks (`SIGPROF` timer via the pprof crate). Default `true`.
    pub cpu: bool,
    /// CPU sampling frequency in Hz. Default 199 (not a multiple of common timer rates, to
    /// avoid lock-step sampling).
    pub frequency_hz: i32,
    /// Offer a Chrome trace layer through [`ProfileSuite::chrome_layer`]. Default `false`.
    pub chrome_trace: bool,
    /// Functions listed in `report.txt`. Default 20.
    pub top_functions: usize,
}

impl Default for ProfileOptions {
    fn default() -> Self {
        ProfileOptions {
            cpu: true,
            frequency_hz: 199,
            chrome_trace: false,
            top_functions: 20,
        }
    }
}

impl ProfileOptions {
    /// Sets [`ProfileOptions::cpu`].
    pub fn cpu(mut self, on: bool) -> Self {
        self.cpu = on;
        self
    }

    /// Sets [`ProfileOptions::frequency_hz`].
    pub fn frequency_hz(mut self, hz: i32) -> Self {
        self.frequency_hz = hz;
        self
    }

    /// Sets [`ProfileOptions::chrome_trace`].
    pub fn chrome_trace(mut self, on: bool) -> Self {
        self.chrome_trace = on;
        self
    }

    /// Sets [`ProfileOptions::top_functions`].
    pub fn top_functions(mut self, n: usize) -> Self {
        self.top_functions = n;
        self
    }
}

/// A running profile: CPU sampling, allocation and wall-clock baselines taken at
/// [`ProfileSuite::start`], written out by [`ProfileSuite::finish`].
///
/// Only one CPU profile can run per process (pprof uses the process-wide `SIGPROF` timer);
/// starting a second fails with [`Error::StartProfiler`]. Not `Send`: finish it on the thread
/// that started it. The sampling costs about 1–3 % CPU at 199 Hz.
///
/// Memory: pprof 0.15 allocates its sample table up front, a fixed 4,096 x 4 stacks of 128
/// frames (about 136 MB of heap, about 170 MB of RSS on x86_64 Linux), whatever the run does;
/// symbolising at [`ProfileSuite::finish`] adds tens to hundreds of MB more (the binary's debug
/// information). Neither is charged to the profiled span: the allocation figures start after
/// the table exists, and [`ProfileReport::run_peak_rss_bytes`] subtracts it.
pub struct ProfileSuite {
    dir: PathBuf,
    options: ProfileOptions,
    guard: Option<pprof::ProfilerGuard<'static>>,
    chrome_guard: Option<FlushGuard>,
    started: Instant,
    alloc_before: AllocStats,
    profiler_rss: Option<u64>,
}

impl fmt::Debug for ProfileSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileSuite")
            .field("dir", &self.dir)
            .field("options", &self.options)
            .field("cpu_running", &self.guard.is_some())
            .field("chrome_trace", &self.chrome_guard.is_some())
            .finish_non_exhaustive()
    }
}

/// Samples attributed to one function.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FunctionSamples {
    /// Demangled function name.
    pub name: String,
    /// Samples where it was the innermost frame.
    pub self_samples: u64,
    /// Samples where it was anywhere on the stack (counted once per sample).
    pub total_samples: u64,
}

/// What [`ProfileSuite::finish`] measured and wrote.
#[derive(Debug, Clone, serde::Serialize)]
#[non_exhaustive]
pub struct ProfileReport {
    /// The profile directory.
    pub dir: PathBuf,
    /// Wall time between start and finish.
    pub wall_time: Duration,
    /// CPU samples taken (0 when CPU profiling was off).
    pub samples: u64,
    /// Functions by self samples, most first (at most `top_functions`).
    pub top_functions: Vec<FunctionSamples>,
    /// Allocation counts between start and finish; `None` when [`CountingAllocator`] is not the
    /// global allocator.
    pub allocations: Option<AllocStats>,
    /// Peak resident set size of the process during the span (`VmHWM`, reset at start where
    /// the kernel allows), including the CPU profiler's sample table; before symbolisation.
    pub peak_rss_bytes: Option<u64>,
    /// RSS the CPU profiler added when it started (its sample table); `None` without CPU
    /// profiling or procfs.
    pub profiler_rss_bytes: Option<u64>,
    /// [`ProfileReport::peak_rss_bytes`] minus [`ProfileReport::profiler_rss_bytes`]: the peak
    /// the run would have had without the profiler (an estimate; pages are not attributed).
    pub run_peak_rss_bytes: Option<u64>,
    /// Files written, in the order written.
    pub files: Vec<PathBuf>,
}

impl ProfileSuite {
    /// Creates `dir` (and parents) and starts profiling.
    ///
    /// # Errors
    /// [`Error::CreateDir`] when `dir` cannot be created, [`Error::StartProfiler`] when the CPU
    /// profiler cannot start (another one is running, or the timer signal cannot be set).
    pub fn start(dir: impl AsRef<Path>, options: ProfileOptions) -> Result<ProfileSuite> {
        let dir = dir.as_ref().to_owned();
        std::fs::create_dir_all(&dir).map_err(|source| Error::CreateDir {
            path: dir.clone(),
            source,
        })?;
        let rss_before = current_rss_bytes();
        let guard = if options.cpu {
            Some(
                pprof::ProfilerGuardBuilder::default()
                    .frequency(options.frequency_hz)
                    .blocklist(&["libc", "libgcc", "pthread", "vdso"])
                    .build()
                    .map_err(|source| Error::StartProfiler {
                        frequency_hz: options.frequency_hz,
                        source: Box::new(source),
                    })?,
            )
        } else {
            None
        };
        let profiler_rss = match (guard.is_some(), rss_before, current_rss_bytes()) {
            (true, Some(before), Some(after)) => Some(after.saturating_sub(before)),
            _ => None,
        };
        // What follows is the profiled span: its peaks start from here, after the profiler's
        // own table exists (a kernel without clear_refs keeps the process-wide peak).
        let _ = reset_peak_rss();
        CountingAllocator::reset_peak();
        Ok(ProfileSuite {
            dir,
            options,
            guard,
            chrome_guard: None,
            started: Instant::now(),
            alloc_before: CountingAllocator::snapshot(),
            profiler_rss,
        })
    }

    /// The profile directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A tracing layer that records spans into `trace.json` in the profile directory, when
    /// [`ProfileOptions::chrome_trace`] is set (otherwise `None`). Add it to the subscriber;
    /// [`ProfileSuite::finish`] flushes the trace. Calling it again replaces the previous
    /// layer's flush guard (flushing it).
    pub fn chrome_layer<S>(&mut self) -> Option<ChromeLayer<S>>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
    {
        if !self.options.chrome_trace {
            return None;
        }
        let (layer, guard) = chrome_trace_layer(self.dir.join(files::CHROME_TRACE));
        self.chrome_guard = Some(guard);
        Some(layer)
    }

    /// Stops profiling and writes `cpu.pb`, `flamegraph.svg` (when samples were taken),
    /// `allocations.json`, `trace.json` (when a Chrome layer was taken) and `report.txt`.
    ///
    /// Cost: symbolises every sampled address (tens of milliseconds to a few seconds for large
    /// binaries) and writes the files; blocking.
    ///
    /// # Errors
    /// [`Error::BuildReport`] when pprof cannot build its report, [`Error::WriteFile`] naming
    /// the file that could not be written.
    pub fn finish(mut self) -> Result<ProfileReport> {
        let wall_time = self.started.elapsed();
        let allocations = CountingAllocator::is_installed().then(|| {
            let now = CountingAllocator::snapshot();
            let mut delta = now.since(&self.alloc_before);
            // The peak was reset at start: what the span added on top of what was live then.
            delta.peak_live_bytes = now
                .peak_live_bytes
                .saturating_sub(self.alloc_before.live_bytes());
            delta
        });
        let peak = peak_rss_bytes();
        let mut report = ProfileReport {
            dir: self.dir.clone(),
            wall_time,
            samples: 0,
            top_functions: Vec::new(),
            allocations,
            peak_rss_bytes: peak,
            profiler_rss_bytes: self.profiler_rss,
            run_peak_rss_bytes: peak.map(|p| p.saturating_sub(self.profiler_rss.unwrap_or(0))),
            files: Vec::new(),
        };
        if let Some(guard) = self.guard.take() {
            let cpu = guard
                .report()
                .build()
                .map_err(|source| Error::BuildReport {
                    source: Box::new(source),
                })?;
            drop(guard); // stops the timer before the files are written
            let profile = cpu.pprof().map_err(|source| Error::BuildReport {
                source: Box::new(source),
            })?;
            let path = self.dir.join(files::CPU_PROFILE);
            write_file(&path, &profile.encode_to_vec())?;
            report.files.push(path);
            report.samples = cpu.data.values().map(|&n| n.max(0) as u64).sum();
            report.top_functions = top_functions(&cpu, self.options.top_functions);
            if !cpu.data.is_empty() {
                let path = self.dir.join(files::FLAMEGRAPH);
                let mut svg = Vec::new();
                cpu.flamegraph(&mut svg)
                    .map_err(|source| Error::BuildReport {
                        source: Box::new(source),
                    })?;
                write_file(&path, &svg)?;
                report.files.push(path);
            }
        }
        if let Some(guard) = self.chrome_guard.take() {
            guard.flush();
            drop(guard);
            report.files.push(self.dir.join(files::CHROME_TRACE));
        }
        let path = self.dir.join(files::ALLOCATIONS);
        let json = serde_json::json!({
            "allocator_installed": allocations.is_some(),
            "allocations": allocations,
            "peak_rss_bytes": report.peak_rss_bytes,
            "profiler_rss_bytes": report.profiler_rss_bytes,
            "run_peak_rss_bytes": report.run_peak_rss_bytes,
            "wall_time_ms": wall_time.as_secs_f64() * 1e3,
        });
        let bytes = serde_json::to_vec_pretty(&json).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        write_file(&path, &bytes)?;
        report.files.push(path);
        let path = self.dir.join(files::REPORT);
        report.files.push(path.clone());
        write_file(&path, report.to_string().as_bytes())?;
        Ok(report)
    }
}

/// A Chrome trace layer writing to `path`, with span arguments included, plus the guard that
/// flushes the file when dropped. For CLIs that build their subscriber before a
/// [`ProfileSuite`] exists. The file is written by a background thread.
pub fn chrome_trace_layer<S>(path: impl AsRef<Path>) -> (ChromeLayer<S>, FlushGuard)
where
    S: tracing::Subscriber + for<'span> LookupSpan<'span> + Send + Sync,
{
    ChromeLayerBuilder::new()
        .file(path.as_ref())
        .include_args(true)
        .build()
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|source| Error::WriteFile {
        path: path.to_owned(),
        source,
    })
}

fn top_functions(cpu: &pprof::Report, n: usize) -> Vec<FunctionSamples> {
    let mut by_name: HashMap<String, (u64, u64)> = HashMap::new();
    let mut seen: Vec<String> = Vec::new();
    for (frames, &count) in &cpu.data {
        let count = count.max(0) as u64;
        seen.clear();
        // frames[0] is the innermost frame, and within a frame the innermost inlined symbol
        // comes first (pprof's flamegraph reverses both).
        for (depth, frame) in frames.frames.iter().enumerate() {
            for (inner, symbol) in frame.iter().enumerate() {
                let name = symbol.name();
                let entry = by_name.entry(name.clone()).or_default();
                if depth == 0 && inner == 0 {
                    entry.0 += count;
                }
                if !seen.contains(&name) {
                    entry.1 += count;
                    seen.push(name);
                }
            }
        }
    }
    let mut list: Vec<FunctionSamples> = by_name
        .into_iter()
        .map(|(name, (self_samples, total_samples))| FunctionSamples {
            name,
            self_samples,
            total_samples,
        })
        .collect();
    list.sort_by(|a, b| {
        (b.self_samples, b.total_samples, &a.name).cmp(&(a.self_samples, a.total_samples, &b.name))
    });
    list.truncate(n);
    list
}

impl fmt::Display for ProfileReport {
    /// The `report.txt` text: wall time, peak RSS, allocations, top functions.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "profile: {}", self.dir.display())?;
        writeln!(f, "wall time: {:.3} s", self.wall_time.as_secs_f64())?;
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        match (self.peak_rss_bytes, self.profiler_rss_bytes) {
            (Some(peak), Some(table)) => writeln!(
                f,
                "peak RSS: {:.1} MiB without the profiler ({:.1} MiB with its {:.1} MiB sample table)",
                mib(peak.saturating_sub(table)),
                mib(peak),
                mib(table)
            )?,
            (Some(peak), None) => writeln!(f, "peak RSS: {:.1} MiB", mib(peak))?,
            (None, _) => writeln!(f, "peak RSS: unknown")?,
        }
        match &self.allocations {
            Some(a) => writeln!(
                f,
                "allocations: {} allocs, {} frees, {} reallocs, {} bytes allocated, peak live {} bytes above the start",
                a.allocations,
                a.deallocations,
                a.reallocations,
                a.bytes_allocated,
                a.peak_live_bytes
            )?,
            None => writeln!(f, "allocations: counting allocator not installed")?,
        }
        writeln!(f, "cpu samples: {}", self.samples)?;
        if !self.top_functions.is_empty() {
            writeln!(
                f,
                "\n{:>8} {:>6} {:>8} {:>6}  function",
                "self", "self%", "total", "total%"
            )?;
            let total = self.samples.max(1) as f64;
            for func in &self.top_functions {
                writeln!(
                    f,
                    "{:>8} {:>5.1}% {:>8} {:>5.1}%  {}",
                    func.self_samples,
                    func.self_samples as f64 * 100.0 / total,
                    func.total_samples,
                    func.total_samples as f64 * 100.0 / total,
                    func.name
                )?;
            }
        }
        writeln!(f, "\nfiles:")?;
        for file in &self.files {
            writeln!(f, "  {}", file.display())?;
        }
        Ok(())
    }
}
