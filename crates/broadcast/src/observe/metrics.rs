//! Run metrics in the Prometheus text exposition format (version 0.0.4, "Exposition formats" in
//! the Prometheus docs), counted from the run's `tracing` events by [`MetricsLayer`].
//!
//! The same text is served at `/metrics` by [`super::server`] and written at the end of a run by
//! `--metrics-file` (node_exporter's textfile collector reads this format: no timestamps, one
//! `# HELP` and `# TYPE` per family).
//!
//! Families (all prefixed `broadcast_`):
//! - `targets_planned{group}` gauge, `targets_total{group,status}` counter (status as in the
//!   report: `synced`, `in_sync`, `up_to_date`, `would_sync`, `failed`, `skipped`, `blocked`);
//! - `git_processes_total{subcommand}`, `git_process_failures_total{subcommand}` counters,
//!   `git_process_duration_seconds{subcommand}` histogram (one-shot processes; long-lived
//!   `cat-file` processes are counted, not timed);
//! - `rest_requests_total{method,endpoint,status}` counter (`endpoint` is the path template,
//!   e.g. `/repos/:owner/:repo/pulls`; no braces, which simple parsers cut label values at; `status` is `error` for a network failure),
//!   `rest_request_duration_seconds` histogram, `rate_limit_remaining` gauge (last
//!   `x-ratelimit-remaining` seen);
//! - `writes_total{kind}` counter (`rest`: POST/PATCH; `push`: `git push`; `update-ref`: an
//!   in-place ref move of a local target),
//!   `bytes_written_total` counter (bytes of the files committed to synced targets),
//!   `pacing_wait_seconds_total` counter;
//! - `phase_duration_seconds{phase}` histogram (`source`, `read`, `preflight`, `write` per
//!   group; `target_read`, `target_write` per target);
//! - `peak_rss_bytes` gauge (the process's high-water mark, `VmHWM`), `run_elapsed_seconds` gauge
//!   (stops at the run's end), `run_finished` gauge (0, then 1 once the run is over).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;

use super::{DECISION_TARGET, REST_TARGET, RUN_TARGET};

/// Histogram bucket upper bounds, in seconds: 1 ms to 2 min, roughly ×2.5 apart (git processes
/// take milliseconds locally and minutes for a large fetch).
pub const BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
];

/// One histogram: counts per bucket (not cumulative), sum and count.
#[derive(Debug, Clone, Default)]
struct Histogram {
    buckets: Vec<u64>,
    sum: f64,
    count: u64,
}

impl Histogram {
    fn observe(&mut self, seconds: f64) {
        if self.buckets.is_empty() {
            self.buckets = vec![0; BUCKETS_SECONDS.len()];
        }
        if let Some(i) = BUCKETS_SECONDS.iter().position(|&b| seconds <= b) {
            self.buckets[i] += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default)]
struct State {
    planned: BTreeMap<Labels, u64>,
    targets: BTreeMap<Labels, u64>,
    git: BTreeMap<Labels, u64>,
    git_failures: BTreeMap<Labels, u64>,
    git_durations: BTreeMap<Labels, Histogram>,
    rest: BTreeMap<Labels, u64>,
    rest_durations: Histogram,
    rate_remaining: Option<u64>,
    writes: BTreeMap<Labels, u64>,
    bytes_written: u64,
    pacing_wait_ms: u64,
    phases: BTreeMap<Labels, Histogram>,
}

/// The metrics of one run. Shared (`Arc`) by the layer that fills it, the server and the file
/// writer; every update takes one short mutex (events come at most per git process or request).
#[derive(Debug)]
pub struct Metrics {
    state: Mutex<State>,
    started: Instant,
    /// The run's length once [`Metrics::finish`] was called: the elapsed time stops there.
    ended: Mutex<Option<f64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            state: Mutex::new(State::default()),
            started: Instant::now(),
            ended: Mutex::new(None),
        }
    }
}

fn bump(map: &mut BTreeMap<Labels, u64>, labels: Labels, by: u64) {
    *map.entry(labels).or_default() += by;
}

impl Metrics {
    /// Empty metrics; the run's elapsed time counts from now.
    pub fn new() -> Arc<Metrics> {
        Arc::new(Metrics::default())
    }

    /// Marks the run finished: from now on `broadcast_run_elapsed_seconds` stays at the run's
    /// length (the server may linger after the run, `--metrics-linger-secs`) and
    /// `broadcast_run_finished` is 1. A second call changes nothing.
    pub fn finish(&self) {
        let mut ended = self
            .ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        ended.get_or_insert_with(|| self.started.elapsed().as_secs_f64());
    }

    /// Seconds from the start to now, or to the end once the run finished; and whether it did.
    fn elapsed(&self) -> (f64, bool) {
        let ended = *self
            .ended
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match ended {
            Some(secs) => (secs, true),
            None => (self.started.elapsed().as_secs_f64(), false),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut state)
    }

    /// Counts one event (see the module docs of [`super`] for the events and fields).
    pub fn record(&self, target: &str, f: &EventFields) {
        let message = f.str("message").unwrap_or_default();
        match (target, message) {
            (broadcast_git_batch::PROCESS_LOG_TARGET, m) => {
                let sub = f.str("subcommand").unwrap_or("-").to_owned();
                self.with(|s| {
                    bump(&mut s.git, vec![("subcommand", sub.clone())], 1);
                    // A push, or an in-place ref move (`update-ref`, with its expected old id).
                    if sub == "push" || sub == "update-ref" {
                        bump(&mut s.writes, vec![("kind", sub.clone())], 1);
                    }
                    if m == "git process" {
                        if f.int("exit").unwrap_or(0) != 0 {
                            bump(&mut s.git_failures, vec![("subcommand", sub.clone())], 1);
                        }
                        let us = f.int("duration_us").unwrap_or(0) as f64;
                        s.git_durations
                            .entry(vec![("subcommand", sub)])
                            .or_default()
                            .observe(us / 1e6);
                    }
                });
            }
            (REST_TARGET, _) => {
                let method = f.str("method").unwrap_or("-").to_owned();
                let labels = vec![
                    ("method", method.clone()),
                    ("endpoint", f.str("endpoint").unwrap_or("-").to_owned()),
                    (
                        "status",
                        f.int("status")
                            .map_or_else(|| "error".to_owned(), |n| n.to_string()),
                    ),
                ];
                let remaining = f.str("remaining").and_then(|r| r.parse().ok());
                let ms = f.int("duration_ms").unwrap_or(0) as f64;
                self.with(|s| {
                    bump(&mut s.rest, labels, 1);
                    if method != "GET" {
                        bump(&mut s.writes, vec![("kind", "rest".to_owned())], 1);
                    }
                    s.rest_durations.observe(ms / 1e3);
                    if remaining.is_some() {
                        s.rate_remaining = remaining;
                    }
                });
            }
            (RUN_TARGET, "group planned" | "group started") => {
                let group = f.str("group").unwrap_or("-").to_owned();
                let n = f.int("targets").unwrap_or(0) as u64;
                self.with(|s| s.planned.insert(vec![("group", group)], n));
            }
            (RUN_TARGET, "phase done") => {
                let phase = f.str("phase").unwrap_or("-").to_owned();
                let us = f.int("duration_us").unwrap_or(0) as f64;
                self.with(|s| {
                    s.phases
                        .entry(vec![("phase", phase)])
                        .or_default()
                        .observe(us / 1e6)
                });
            }
            (RUN_TARGET, "pacing") => {
                let ms = f.int("wait_ms").unwrap_or(0) as u64;
                self.with(|s| s.pacing_wait_ms += ms);
            }
            (DECISION_TARGET, "target done") => {
                let labels = vec![
                    ("group", f.str("group").unwrap_or("-").to_owned()),
                    ("status", f.str("status").unwrap_or("-").replace(' ', "_")),
                ];
                let bytes = f.int("bytes_written").unwrap_or(0) as u64;
                self.with(|s| {
                    bump(&mut s.targets, labels, 1);
                    s.bytes_written += bytes;
                });
            }
            _ => {}
        }
    }

    /// The text exposition of every family (families with no sample yet are still listed with
    /// their `# HELP` and `# TYPE`, so a scraper sees the full set from the first scrape).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let (elapsed, finished) = self.elapsed();
        let rss = broadcast_profiling::peak_rss_bytes();
        self.with(|s| {
            let c = |out: &mut String, name, help, map: &BTreeMap<Labels, u64>| {
                family(out, name, "counter", help);
                for (labels, v) in map {
                    sample(out, name, labels, *v as f64);
                }
            };
            family(&mut out, "broadcast_targets_planned", "gauge", "Targets of each group in the plan.");
            for (l, v) in &s.planned {
                sample(&mut out, "broadcast_targets_planned", l, *v as f64);
            }
            c(&mut out, "broadcast_targets_total", "Targets finished, by group and status.", &s.targets);
            c(&mut out, "broadcast_git_processes_total", "git processes started, by subcommand.", &s.git);
            c(&mut out, "broadcast_git_process_failures_total", "git processes that exited non-zero, timed out or were killed.", &s.git_failures);
            histograms(&mut out, "broadcast_git_process_duration_seconds", "Wall time of one-shot git processes.", &s.git_durations);
            c(&mut out, "broadcast_rest_requests_total", "GitHub REST responses (status) and network failures (error), by method and endpoint template.", &s.rest);
            let mut rest = BTreeMap::new();
            if s.rest_durations.count > 0 {
                rest.insert(Vec::new(), s.rest_durations.clone());
            }
            histograms(&mut out, "broadcast_rest_request_duration_seconds", "Wall time of GitHub REST requests.", &rest);
            family(&mut out, "broadcast_rate_limit_remaining", "gauge", "Last x-ratelimit-remaining GitHub sent (absent before the first response).");
            if let Some(r) = s.rate_remaining {
                sample(&mut out, "broadcast_rate_limit_remaining", &[], r as f64);
            }
            c(&mut out, "broadcast_writes_total", "Writes: rest (POST/PATCH), push (git push) and update-ref (in-place ref moves).", &s.writes);
            family(&mut out, "broadcast_bytes_written_total", "counter", "Bytes of the files committed to synced targets.");
            sample(&mut out, "broadcast_bytes_written_total", &[], s.bytes_written as f64);
            family(&mut out, "broadcast_pacing_wait_seconds_total", "counter", "Time spent waiting for GitHub write pacing slots.");
            sample(&mut out, "broadcast_pacing_wait_seconds_total", &[], s.pacing_wait_ms as f64 / 1e3);
            histograms(&mut out, "broadcast_phase_duration_seconds", "Duration of run phases (source, read, preflight, write per group; target_read, target_write per target).", &s.phases);
        });
        family(
            &mut out,
            "broadcast_peak_rss_bytes",
            "gauge",
            "Peak resident set size of the process (VmHWM).",
        );
        if let Some(rss) = rss {
            sample(&mut out, "broadcast_peak_rss_bytes", &[], rss as f64);
        }
        family(
            &mut out,
            "broadcast_run_elapsed_seconds",
            "gauge",
            "Seconds since the run started; once it finished, the run's length.",
        );
        sample(&mut out, "broadcast_run_elapsed_seconds", &[], elapsed);
        family(
            &mut out,
            "broadcast_run_finished",
            "gauge",
            "1 once the run finished (the server may linger after it), else 0.",
        );
        sample(
            &mut out,
            "broadcast_run_finished",
            &[],
            f64::from(u8::from(finished)),
        );
        out
    }
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// A label value escaped as the exposition format asks: `\` `"` and line feed.
fn escape_label(v: &str) -> String {
    v.replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

fn sample(out: &mut String, name: &str, labels: &[(&'static str, String)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "{k}=\"{}\"", escape_label(v));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {value}");
}

fn histograms(out: &mut String, name: &str, help: &str, map: &BTreeMap<Labels, Histogram>) {
    family(out, name, "histogram", help);
    for (labels, h) in map {
        let mut cumulative = 0;
        let bucket = format!("{name}_bucket");
        for (i, le) in BUCKETS_SECONDS.iter().enumerate() {
            cumulative += h.buckets.get(i).copied().unwrap_or(0);
            let mut l = labels.clone();
            l.push(("le", le.to_string()));
            sample(out, &bucket, &l, cumulative as f64);
        }
        let mut l = labels.clone();
        l.push(("le", "+Inf".to_owned()));
        sample(out, &bucket, &l, h.count as f64);
        sample(out, &format!("{name}_sum"), labels, h.sum);
        sample(out, &format!("{name}_count"), labels, h.count as f64);
    }
}

/// The fields of one event, as strings and integers.
#[derive(Debug, Default)]
pub struct EventFields {
    fields: Vec<(&'static str, FieldValue)>,
}

#[derive(Debug)]
enum FieldValue {
    Str(String),
    Int(i128),
}

impl EventFields {
    /// The fields of `event`.
    pub fn of(event: &tracing::Event<'_>) -> EventFields {
        let mut f = EventFields::default();
        event.record(&mut f);
        f
    }

    /// A field as text (`message` included); `None` when absent or numeric.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.fields.iter().find_map(|(k, v)| match v {
            FieldValue::Str(s) if *k == name => Some(s.as_str()),
            _ => None,
        })
    }

    /// Adds a text field (tests and callers that build fields by hand).
    pub fn push_str(&mut self, name: &'static str, value: &str) {
        self.fields.push((name, FieldValue::Str(value.to_owned())));
    }

    /// Adds an integer field.
    pub fn push_int(&mut self, name: &'static str, value: i128) {
        self.fields.push((name, FieldValue::Int(value)));
    }

    /// A field as an integer (booleans are 0/1); `None` when absent or text.
    pub fn int(&self, name: &str) -> Option<i128> {
        self.fields.iter().find_map(|(k, v)| match v {
            FieldValue::Int(n) if *k == name => Some(*n),
            _ => None,
        })
    }
}

impl Visit for EventFields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields
            .push((field.name(), FieldValue::Int(value.into())));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.fields
            .push((field.name(), FieldValue::Int(value.into())));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.fields
            .push((field.name(), FieldValue::Int(value.into())));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields
            .push((field.name(), FieldValue::Str(value.to_owned())));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields
            .push((field.name(), FieldValue::Str(format!("{value:?}"))));
    }
}

/// Is `target` one of the targets the observers read?
pub(crate) fn is_observed(target: &str) -> bool {
    matches!(target, REST_TARGET | RUN_TARGET | DECISION_TARGET)
        || target == broadcast_git_batch::PROCESS_LOG_TARGET
}

/// The `tracing` layer that feeds [`Metrics`]; it sees its events whatever the log level.
pub struct MetricsLayer(Arc<Metrics>);

impl MetricsLayer {
    /// A layer counting into `metrics`, filtered to the observed targets.
    pub fn layer<S>(metrics: Arc<Metrics>) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        MetricsLayer(metrics).with_filter(tracing_subscriber::filter::filter_fn(|m| {
            is_observed(m.target())
        }))
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for MetricsLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        self.0
            .record(event.metadata().target(), &EventFields::of(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_in_the_text() {
        let mut map = BTreeMap::new();
        let mut h = Histogram::default();
        h.observe(0.0005);
        h.observe(0.3);
        h.observe(1000.0);
        map.insert(vec![("phase", "x".to_owned())], h);
        let mut out = String::new();
        histograms(&mut out, "t_seconds", "help", &map);
        assert!(
            out.contains("t_seconds_bucket{phase=\"x\",le=\"0.001\"} 1\n"),
            "{out}"
        );
        assert!(
            out.contains("t_seconds_bucket{phase=\"x\",le=\"0.5\"} 2\n"),
            "{out}"
        );
        assert!(
            out.contains("t_seconds_bucket{phase=\"x\",le=\"+Inf\"} 3\n"),
            "{out}"
        );
        assert!(out.contains("t_seconds_count{phase=\"x\"} 3\n"), "{out}");
    }

    #[test]
    fn elapsed_stops_when_the_run_finishes() {
        let find = |text: &str, name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<f64>().ok())
        };
        let m = Metrics::new();
        let live = m.render();
        assert_eq!(find(&live, "broadcast_run_finished"), Some(0.0), "{live}");
        m.finish();
        let first = m.render();
        assert_eq!(find(&first, "broadcast_run_finished"), Some(1.0), "{first}");
        let at_end = find(&first, "broadcast_run_elapsed_seconds");
        assert!(
            at_end.is_some_and(
                |s| s >= find(&live, "broadcast_run_elapsed_seconds").unwrap_or(f64::MAX)
            )
        );
        // Nanosecond clock: a running value would differ between two renders.
        m.finish();
        assert_eq!(find(&m.render(), "broadcast_run_elapsed_seconds"), at_end);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
