//! The seed plan's phases (1-5) and success metrics, each with its figure from the baseline.
//!
//! A phase item counts as measured when the baseline holds an entry under one of its id
//! prefixes; the figure is computed from those entries. Items the baseline cannot show
//! (a dashboard, say) say so instead of claiming anything.

use super::Data;
use crate::table;

/// One item of the seed plan.
pub(crate) struct Item {
    /// Plan number and title (`1.3 Git benchmarks`).
    pub(crate) name: &'static str,
    /// Baseline id prefixes that show the item was done and measured.
    pub(crate) evidence: &'static [&'static str],
    /// The figure shown when measured.
    pub(crate) figure: fn(&Data) -> Option<String>,
    /// What is left, written by hand; kept short.
    pub(crate) left: &'static str,
}

fn median(data: &Data, id: &str) -> Option<String> {
    data.median(id).map(|v| format!("`{id}` {}", table::ns(v)))
}

fn throughput(data: &Data, id: &str) -> Option<String> {
    let e = data.get(id)?;
    let per_sec = e["throughput_per_sec"].as_f64()?;
    let text = match e["throughput_unit"].as_str() {
        Some("bytes") => format!("{}/s", table::bytes(per_sec)),
        _ => format!("{} /s", table::count(per_sec)),
    };
    Some(format!("`{id}` {text}"))
}

fn ratio(data: &Data, ours: &str, other: &str, what: &str) -> Option<String> {
    let (a, b) = (data.median(ours)?, data.median(other)?);
    Some(format!(
        "`{ours}` {} vs {what} {} ({:.2}x)",
        table::ns(a),
        table::ns(b),
        a / b
    ))
}

fn count(data: &Data, prefix: &str, what: &str) -> Option<String> {
    let n = data.with_prefix(prefix).count();
    (n > 0).then(|| format!("{n} {what}"))
}

/// The largest peak RSS of the broadcast e2e runs: (bytes, id).
pub(crate) fn max_rss(data: &Data) -> Option<(f64, String)> {
    data.with_prefix("e2e/")
        .filter_map(|(id, e)| Some((e["peak_rss_bytes"].as_f64()?, id.clone())))
        .max_by(|a, b| a.0.total_cmp(&b.0))
}

/// The plan's items, phase by phase (plans/plan-08.md).
pub(crate) const ITEMS: &[Item] = &[
    Item {
        name: "1.1-1.2 Benchmark helpers",
        evidence: &["config/", "transform/"],
        figure: |d| count(d, "", "benchmark entries in the baseline"),
        left: "-",
    },
    Item {
        name: "1.3 Git benchmarks",
        evidence: &["git-batch/"],
        figure: |d| median(d, "git-batch/spawn/version"),
        left: "-",
    },
    Item {
        name: "1.4 GitHub benchmarks",
        evidence: &["github/"],
        figure: |d| median(d, "github/decode_pulls/1000"),
        left: "-",
    },
    Item {
        name: "1.5 Logging benchmarks",
        evidence: &["logging/"],
        figure: |d| median(d, "logging/format/json_23_fields"),
        left: "-",
    },
    Item {
        name: "2.1 Baseline documentation",
        evidence: &[""],
        figure: |d| Some(format!("baselines/main.json, {} entries", d.benches.len())),
        left: "-",
    },
    Item {
        name: "2.2 Regex compilation caching",
        evidence: &["redact/"],
        figure: |d| throughput(d, "redact/clean/64KiB"),
        left: "-",
    },
    Item {
        name: "2.3 Buffer pool",
        evidence: &["pool/"],
        figure: |d| ratio(d, "pool/get/64KiB", "pool/alloc/64KiB", "allocation"),
        left: "-",
    },
    Item {
        name: "2.4 String building",
        evidence: &["transform/"],
        figure: |d| median(d, "transform/chain/1KiB"),
        left: "-",
    },
    Item {
        name: "2.5 Benchmark quick wins",
        evidence: &["transform/is_binary/"],
        figure: |d| median(d, "transform/is_binary/1MiB"),
        left: "-",
    },
    Item {
        name: "3.1 Streaming file processor",
        evidence: &["stream-io/replace/"],
        figure: |d| throughput(d, "stream-io/replace/64MiB"),
        left: "-",
    },
    Item {
        name: "3.2 Memory-efficient operations",
        evidence: &["e2e/"],
        figure: |d| {
            max_rss(d).map(|(b, id)| format!("largest peak RSS {} (`{id}`)", table::bytes(b)))
        },
        left: "-",
    },
    Item {
        name: "3.3 File operation benchmarks",
        evidence: &["stream-io/"],
        figure: |d| {
            ratio(
                d,
                "stream-io/atomic_write/1MiB",
                "stream-io/plain_write/1MiB",
                "plain write",
            )
        },
        left: "-",
    },
    Item {
        name: "3.4 Memory profiling integration",
        evidence: &[""],
        figure: |d| {
            let n = d
                .benches
                .values()
                .filter(|e| e.get("allocs_per_op").is_some())
                .count();
            (n > 0).then(|| format!("{n} entries record allocations per op"))
        },
        left: "heap profiles (`sync --profile` with the dhat feature) are not in the baseline",
    },
    Item {
        name: "4.1 Worker pool",
        evidence: &["worker/"],
        figure: |d| ratio(d, "worker/task_overhead/1000", "worker/rayon/1000", "rayon"),
        left: "-",
    },
    Item {
        name: "4.2 API response caching",
        evidence: &["cache/"],
        figure: |d| median(d, "cache/get_hit/1thread"),
        left: "-",
    },
    Item {
        name: "4.3 Batch operations",
        evidence: &["git-batch/cat_file_batch/"],
        figure: |d| median(d, "git-batch/cat_file_batch/100"),
        left: "-",
    },
    Item {
        name: "4.4 Concurrency benchmarks",
        evidence: &["worker/io_bound/"],
        figure: |d| {
            ratio(
                d,
                "worker/io_bound/20x10ms",
                "worker/io_bound/1x10ms",
                "one task",
            )
        },
        left: "-",
    },
    Item {
        name: "5.1 Profiling suite",
        evidence: &["instructions/"],
        figure: |d| count(d, "instructions/", "instruction-count benchmarks"),
        left: "CPU profiles (`cargo xtask profile`) are not in the baseline",
    },
    Item {
        name: "5.2 End-to-end performance testing",
        evidence: &["e2e/"],
        figure: |d| {
            d.num(
                "e2e/first-sync/10targets-100files/jobs-default",
                "ratio_vs_reference",
            )
            .map(|r| {
                format!("first sync 10 targets x 100 files: {r:.2}x the reference workflow's time")
            })
        },
        left: "-",
    },
    Item {
        name: "5.3 Performance monitoring dashboard",
        evidence: &[],
        figure: |_| None,
        left: "a dashboard is not a benchmark: nothing in the baseline shows it",
    },
    Item {
        name: "5.4 Final algorithm optimizations",
        evidence: &["transform/path_filter/"],
        figure: |d| median(d, "transform/path_filter/1000paths"),
        left: "-",
    },
    Item {
        name: "5.5 Performance report generator",
        evidence: &[""],
        figure: |_| Some("this report (`cargo xtask report`)".to_owned()),
        left: "-",
    },
];

/// Status of one item: ("measured" | "no entry yet" | "not in the baseline", figure).
pub(crate) fn item_status(data: &Data, item: &Item) -> (&'static str, String) {
    if item.evidence.is_empty() {
        return ("not in the baseline", "-".to_owned());
    }
    let present = item
        .evidence
        .iter()
        .any(|p| data.with_prefix(p).next().is_some());
    if !present {
        return ("no entry yet", "not measured".to_owned());
    }
    match (item.figure)(data) {
        Some(f) => ("measured", f),
        None => ("measured", "-".to_owned()),
    }
}

/// One success metric: (target, measured value, verdict).
pub(crate) fn success_metrics(data: &Data) -> Vec<(String, String, String)> {
    let verdict = |ok: bool| if ok { "holds" } else { "does not hold" }.to_owned();
    let not_measured = || ("not measured".to_owned(), "not measured".to_owned());
    let mut rows = Vec::new();

    let typical = "e2e/first-sync/10targets-100files/jobs-default";
    let (v, ok) = match data.median(typical) {
        Some(ns) => (
            format!("{} (`{typical}`)", table::ns(ns)),
            verdict(ns < 2e9),
        ),
        None => not_measured(),
    };
    rows.push(("typical sync < 2 s".to_owned(), v, ok));

    let slowest = data
        .with_prefix("e2e/")
        .filter(|(id, _)| !id.ends_with("/reference") && !id.starts_with("e2e/rerun/"))
        .filter_map(|(id, e)| Some((e["files_per_sec"].as_f64()?, id.clone())))
        .min_by(|a, b| a.0.total_cmp(&b.0));
    let (v, ok) = match slowest {
        Some((fps, id)) => (
            format!("slowest writing run {fps:.0} files/s (`{id}`)"),
            verdict(fps > 100.0),
        ),
        None => not_measured(),
    };
    rows.push(("> 100 files/s".to_owned(), v, ok));

    let (v, ok) = match max_rss(data) {
        Some((b, id)) => (
            format!("largest peak RSS {} (`{id}`)", table::bytes(b)),
            verdict(b < 100e6),
        ),
        None => not_measured(),
    };
    rows.push(("< 100 MB memory".to_owned(), v, ok));

    // Both benches run N operations at once per iteration: linear scaling means N take the
    // time of one; "holds" allows 25 % on top.
    for (what, one, twenty) in [
        (
            "I/O-bound tasks",
            "worker/io_bound/1x10ms",
            "worker/io_bound/20x10ms",
        ),
        (
            "REST calls, loopback",
            "github/concurrent_calls/1",
            "github/concurrent_calls/20",
        ),
    ] {
        let (v, ok) = match (data.median(one), data.median(twenty)) {
            (Some(a), Some(b)) => (
                format!(
                    "20 at once take {:.2}x the time of 1 (`{twenty}` {} vs {})",
                    b / a,
                    table::ns(b),
                    table::ns(a)
                ),
                verdict(b / a <= 1.25),
            ),
            _ => not_measured(),
        };
        rows.push((
            format!("linear scaling to 20 parallel operations ({what})"),
            v,
            ok,
        ));
    }

    let changes = alloc_changes(data);
    let (v, ok) = if changes.is_empty() {
        not_measured()
    } else {
        let worst = changes
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("not empty");
        let best = changes
            .iter()
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .expect("not empty");
        (
            format!(
                "{} anchors: from {:+.0} % ({}) to {:+.0} % ({})",
                changes.len(),
                best.1 * 100.0,
                best.0,
                worst.1 * 100.0,
                worst.0
            ),
            verdict(worst.1 <= -0.5),
        )
    };
    rows.push(("-50 % allocations (vs go-broadcast)".to_owned(), v, ok));
    rows
}

/// Allocation change ours/theirs - 1 for every go-broadcast anchor both sides count.
pub(crate) fn alloc_changes(data: &Data) -> Vec<(String, f64)> {
    let Some(go) = &data.go else {
        return Vec::new();
    };
    go.benchmarks
        .iter()
        .filter_map(|b| {
            let theirs = b.allocs_per_op.filter(|t| *t > 0.0)?;
            let ours = data.num(&b.id, "allocs_per_op")?;
            Some((b.name.clone(), ours / theirs - 1.0))
        })
        .collect()
}
