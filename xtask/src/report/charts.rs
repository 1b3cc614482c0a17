//! Which charts the report draws, and the pairs "our benchmark beside its anchor".

use super::Data;
use super::svg::BarChart;
use crate::table;

/// The three e2e runs, in the order the scenarios run them.
pub(crate) const E2E_RUNS: &[&str] = &["first-sync", "rerun", "update"];

/// Modes of an e2e cell: (id suffix, legend name).
pub(crate) const E2E_MODES: &[(&str, &str)] = &[
    ("reference", "reference workflow"),
    ("jobs-1", "broadcast --jobs 1"),
    ("jobs-default", "broadcast (default jobs)"),
];

/// Anchors named by a suffix of the operation: `cache/get_hit_moka/1thread` is the anchor of
/// `cache/get_hit/1thread`.
const SUFFIX_ANCHORS: &[(&str, &str)] = &[("_moka", "moka"), ("_quick_cache", "quick_cache")];

/// Anchors named explicitly: (our id, anchor id, what the anchor is).
const NAMED_ANCHORS: &[(&str, &str, &str)] = &[
    ("pool/get/1KiB", "pool/alloc/1KiB", "Vec allocation"),
    ("pool/get/8KiB", "pool/alloc/8KiB", "Vec allocation"),
    ("pool/get/64KiB", "pool/alloc/64KiB", "Vec allocation"),
    (
        "pool/get_2threads/8KiB",
        "pool/alloc_2threads/8KiB",
        "Vec allocation",
    ),
    (
        "redact/clean/64KiB",
        "redact/regex_all/64KiB",
        "every regex over the text",
    ),
    (
        "worker/task_overhead/1000",
        "worker/crossbeam_loop/1000",
        "bare crossbeam loop",
    ),
    ("worker/task_overhead/1000", "worker/rayon/1000", "rayon"),
    (
        "stream-io/replace/64MiB",
        "stream-io/replace_whole/64MiB",
        "read whole, replace, write",
    ),
    (
        "stream-io/atomic_write/1MiB",
        "stream-io/plain_write/1MiB",
        "plain write (not atomic)",
    ),
];

/// One "ours beside an anchor" pair present in the baseline.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AnchorPair {
    pub(crate) ours: String,
    pub(crate) anchor: String,
    pub(crate) label: String,
    pub(crate) ours_ns: f64,
    pub(crate) anchor_ns: f64,
}

/// The pairs whose both sides have a median in the baseline, sorted by our id then anchor.
pub(crate) fn anchor_pairs(data: &Data) -> Vec<AnchorPair> {
    let mut pairs = Vec::new();
    let mut push = |ours: &str, anchor: &str, label: &str| {
        if let (Some(o), Some(a)) = (data.median(ours), data.median(anchor)) {
            pairs.push(AnchorPair {
                ours: ours.to_owned(),
                anchor: anchor.to_owned(),
                label: label.to_owned(),
                ours_ns: o,
                anchor_ns: a,
            });
        }
    };
    for id in data.benches.keys() {
        let parts: Vec<&str> = id.splitn(3, '/').collect();
        let [suite, op, case] = parts[..] else {
            continue;
        };
        for (suffix, label) in SUFFIX_ANCHORS {
            if let Some(base) = op.strip_suffix(suffix) {
                push(&format!("{suite}/{base}/{case}"), id, label);
            }
        }
    }
    for (ours, anchor, label) in NAMED_ANCHORS {
        push(ours, anchor, label);
    }
    pairs.sort_by(|a, b| (&a.ours, &a.anchor).cmp(&(&b.ours, &b.anchor)));
    pairs
}

/// e2e cells present for `run`, sorted by (targets, files): `("10targets-100files", T, F)`.
pub(crate) fn e2e_cells(data: &Data, run: &str) -> Vec<(String, u64, u64)> {
    let prefix = format!("e2e/{run}/");
    let mut cells: Vec<(String, u64, u64)> = data
        .with_prefix(&prefix)
        .filter_map(|(id, e)| {
            let cell = id.strip_prefix(&prefix)?.split('/').next()?.to_owned();
            Some((cell, e["targets"].as_u64()?, e["files"].as_u64()?))
        })
        .collect();
    cells.sort_by_key(|(c, t, f)| (*t, *f, c.clone()));
    cells.dedup();
    cells
}

fn ms(ns: f64) -> String {
    table::ns(ns * 1e6)
}

/// Every chart: (file name, chart), in a fixed order.
pub(crate) fn all(data: &Data) -> Vec<(String, BarChart)> {
    let mut charts = Vec::new();
    for run in E2E_RUNS {
        let cells = e2e_cells(data, run);
        if cells.is_empty() {
            continue;
        }
        let groups = cells
            .iter()
            .map(|(cell, t, f)| {
                let vals = E2E_MODES
                    .iter()
                    .map(|(mode, _)| {
                        data.median(&format!("e2e/{run}/{cell}/{mode}"))
                            .map(|ns| ns / 1e6)
                    })
                    .collect();
                (format!("{t} targets x {f} files"), vals)
            })
            .collect();
        charts.push((
            format!("e2e-{run}.svg"),
            BarChart {
                title: format!("End-to-end {run}: wall time (median), lower is better"),
                series: E2E_MODES.iter().map(|(_, n)| (*n).to_owned()).collect(),
                groups,
                format: ms,
                log: false,
            },
        ));
    }
    let pairs = anchor_pairs(data);
    if !pairs.is_empty() {
        charts.push((
            "anchors.svg".to_owned(),
            BarChart {
                title: "Criterion suites beside their anchors: time per op (median)".to_owned(),
                series: vec!["broadcast".to_owned(), "anchor".to_owned()],
                groups: pairs
                    .iter()
                    .map(|p| {
                        (
                            format!("{} vs {}", p.ours, p.label),
                            vec![Some(p.ours_ns), Some(p.anchor_ns)],
                        )
                    })
                    .collect(),
                format: table::ns,
                log: true,
            },
        ));
    }
    if let Some(go) = &data.go {
        let groups: Vec<(String, Vec<Option<f64>>)> = go
            .benchmarks
            .iter()
            .filter_map(|b| {
                let ours = data.median(&b.id)?;
                Some((b.name.clone(), vec![Some(b.ns_per_op), Some(ours)]))
            })
            .collect();
        if !groups.is_empty() {
            charts.push((
                "go-broadcast.svg".to_owned(),
                BarChart {
                    title: "go-broadcast's published figures beside ours (unadjusted hardware)"
                        .to_owned(),
                    series: vec![
                        format!("go-broadcast ({})", go.hardware),
                        "broadcast (baseline machine)".to_owned(),
                    ],
                    groups,
                    format: table::ns,
                    log: true,
                },
            ));
        }
    }
    let instructions: Vec<(String, Vec<Option<f64>>)> = data
        .with_prefix("instructions/")
        .filter_map(|(id, e)| {
            Some((
                id.trim_start_matches("instructions/").to_owned(),
                vec![Some(e["instructions"].as_f64()?)],
            ))
        })
        .collect();
    if !instructions.is_empty() {
        charts.push((
            "instructions.svg".to_owned(),
            BarChart {
                title: "Instruction counts (callgrind Ir), exact run to run".to_owned(),
                series: vec!["instructions".to_owned()],
                groups: instructions,
                format: table::count,
                log: true,
            },
        ));
    }
    charts
}
