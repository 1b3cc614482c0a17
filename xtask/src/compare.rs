//! `cargo xtask compare OLD [NEW]`: per-benchmark ratios with noise taken into account.
//!
//! Time: a change counts only when the two intervals (criterion's confidence
//! interval of the median, or min..max of repeated e2e runs) do not overlap;
//! it is a regression when, in addition, NEW/OLD exceeds 1 + threshold.
//! Instructions: repeatable counts, a regression beyond `--instructions-threshold`.
//! Allocations and bytes per op: exact, any growth is a regression.

use std::process::ExitCode;

use serde_json::{Map, Value, json};
use xshell::Shell;

use crate::baseline;
use crate::flags::{CompareOptions, Format};
use crate::table::{self, Table};

/// The verdict for one benchmark.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Row {
    pub(crate) id: String,
    pub(crate) metric: &'static str,
    pub(crate) old: Option<f64>,
    pub(crate) new: Option<f64>,
    pub(crate) ratio: Option<f64>,
    pub(crate) verdict: String,
    pub(crate) allocs: String,
    pub(crate) bytes: String,
    pub(crate) regression: bool,
}

/// Thresholds and policy of one comparison.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    pub(crate) threshold: f64,
    pub(crate) instructions_threshold: f64,
    pub(crate) wall_time_informational: bool,
}

pub(crate) fn run(sh: &Shell, opts: &CompareOptions) -> anyhow::Result<ExitCode> {
    let old = baseline::load(sh, &opts.old)?;
    let new_name = opts
        .new
        .clone()
        .unwrap_or_else(|| baseline::last_path(sh).to_string_lossy().into_owned());
    let new = baseline::load(sh, &new_name).map_err(|e| {
        if opts.new.is_none() {
            e.context("no NEW given and no `cargo xtask bench` run to compare with")
        } else {
            e
        }
    })?;
    let policy = Policy {
        threshold: opts.threshold_pct / 100.0,
        instructions_threshold: opts.instructions_threshold_pct / 100.0,
        wall_time_informational: opts.wall_time_informational,
    };
    let empty = Map::new();
    let rows = compare(
        old["benchmarks"].as_object().unwrap_or(&empty),
        new["benchmarks"].as_object().unwrap_or(&empty),
        policy,
    );
    let regressions = rows.iter().filter(|r| r.regression).count();

    let title = format!(
        "{} ({}, {}) -> {} ({}, {})",
        opts.old,
        short(&old["git_commit"]),
        old["timestamp"].as_str().unwrap_or("?"),
        opts.new.as_deref().unwrap_or("last run"),
        short(&new["git_commit"]),
        new["timestamp"].as_str().unwrap_or("?"),
    );
    let mut machine_note = String::new();
    for key in ["cpu_model", "cores", "rustc"] {
        if old[key] != new[key] {
            machine_note.push_str(&format!(
                "note: {key} differs: {} vs {}\n",
                old[key], new[key]
            ));
        }
    }
    let mut t = Table::new(&[
        "benchmark",
        "metric",
        "old",
        "new",
        "ratio",
        "verdict",
        "allocs/op",
        "B/op",
    ]);
    for r in rows
        .iter()
        .filter(|r| r.ratio.is_some() || !r.verdict.starts_with("only in"))
    {
        let fmt = |v: Option<f64>| match (v, r.metric) {
            (Some(v), "time") => table::ns(v),
            (Some(v), _) => table::count(v),
            (None, _) => "-".to_owned(),
        };
        t.row(vec![
            r.id.clone(),
            r.metric.to_owned(),
            fmt(r.old),
            fmt(r.new),
            r.ratio
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "-".into()),
            r.verdict.clone(),
            r.allocs.clone(),
            r.bytes.clone(),
        ]);
    }
    let only_old = rows.iter().filter(|r| r.verdict == "only in OLD").count();
    let only_new = rows.iter().filter(|r| r.verdict == "only in NEW").count();
    let mut summary = if regressions == 0 {
        "no regression".to_owned()
    } else {
        format!("{regressions} regression(s)")
    };
    if only_old + only_new > 0 {
        summary.push_str(&format!(
            "; not compared: {only_old} only in OLD, {only_new} only in NEW"
        ));
    }
    match opts.format {
        Format::Text => print!("{title}\n{machine_note}\n{}\n{summary}\n", t.text()),
        Format::Markdown => print!(
            "### Benchmarks: {title}\n\n{}{}\n**{summary}** (time threshold {}%{}, instruction threshold {}%, allocations exact)\n",
            machine_note.replace('\n', "  \n"),
            t.markdown(),
            opts.threshold_pct,
            if opts.wall_time_informational {
                ", informational"
            } else {
                ""
            },
            opts.instructions_threshold_pct,
        ),
        Format::Json => {
            let rows: Vec<Value> = rows
                .iter()
                .map(|r| {
                    json!({"id": r.id, "metric": r.metric, "old": r.old, "new": r.new, "ratio": r.ratio,
                           "verdict": r.verdict, "allocs": r.allocs, "bytes": r.bytes, "regression": r.regression})
                })
                .collect();
            println!(
                "{}",
                json!({"old": opts.old, "new": new_name, "rows": rows, "regressions": regressions})
            );
        }
    }
    Ok(if regressions == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn short(commit: &Value) -> String {
    commit
        .as_str()
        .map(|c| c.chars().take(9).collect())
        .unwrap_or_else(|| "?".into())
}

/// Compares every benchmark present on either side.
pub(crate) fn compare(
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    policy: Policy,
) -> Vec<Row> {
    let mut ids: Vec<&String> = old.keys().chain(new.keys()).collect();
    ids.sort();
    ids.dedup();
    ids.into_iter()
        .map(|id| compare_one(id, old.get(id), new.get(id), policy))
        .collect()
}

fn compare_one(id: &str, old: Option<&Value>, new: Option<&Value>, policy: Policy) -> Row {
    let (old, new) = match (old, new) {
        (Some(o), Some(n)) => (o, n),
        (o, n) => {
            let present = o.or(n).expect("id comes from one of the maps");
            let metric = if present["instructions"].is_number() {
                "instructions"
            } else {
                "time"
            };
            let value = |v: Option<&Value>| {
                v.and_then(|v| {
                    v[if metric == "time" {
                        "median_ns"
                    } else {
                        "instructions"
                    }]
                    .as_f64()
                })
            };
            return Row {
                id: id.to_owned(),
                metric,
                old: value(o),
                new: value(n),
                ratio: None,
                verdict: if o.is_none() {
                    "only in NEW".into()
                } else {
                    "only in OLD".into()
                },
                allocs: String::new(),
                bytes: String::new(),
                regression: false,
            };
        }
    };
    let mut regression = false;
    let (metric, old_v, new_v, verdict) =
        if let (Some(o), Some(n)) = (old["instructions"].as_f64(), new["instructions"].as_f64()) {
            let ratio = n / o.max(1.0);
            let verdict = if ratio > 1.0 + policy.instructions_threshold {
                regression = true;
                format!("REGRESSION (+{:.2}%)", (ratio - 1.0) * 100.0)
            } else if n == o {
                "same".to_owned()
            } else {
                format!("{:+.2}%", (ratio - 1.0) * 100.0)
            };
            ("instructions", Some(o), Some(n), verdict)
        } else {
            let o = old["median_ns"].as_f64();
            let n = new["median_ns"].as_f64();
            let verdict = match (o, n) {
                (Some(o), Some(n)) => {
                    let ratio = n / o;
                    let ol = old["ci_lower_ns"].as_f64().unwrap_or(o);
                    let ou = old["ci_upper_ns"].as_f64().unwrap_or(o);
                    let nl = new["ci_lower_ns"].as_f64().unwrap_or(n);
                    let nu = new["ci_upper_ns"].as_f64().unwrap_or(n);
                    let overlap = nl <= ou && ol <= nu;
                    let pct = (ratio - 1.0) * 100.0;
                    if overlap {
                        format!("noise ({pct:+.1}%)")
                    } else if ratio > 1.0 + policy.threshold {
                        if policy.wall_time_informational {
                            format!("slower {pct:+.1}% (informational)")
                        } else {
                            regression = true;
                            format!("REGRESSION {pct:+.1}%")
                        }
                    } else if ratio < 1.0 - policy.threshold {
                        format!("faster {pct:+.1}%")
                    } else {
                        format!("changed {pct:+.1}% (within threshold)")
                    }
                }
                _ => "no time".to_owned(),
            };
            ("time", o, n, verdict)
        };
    let mut exact = |key: &str| -> String {
        match (old[key].as_f64(), new[key].as_f64()) {
            (Some(o), Some(n)) if n > o + 1e-9 => {
                regression = true;
                format!("{o:.1} -> {n:.1} MORE")
            }
            (Some(o), Some(n)) if n < o - 1e-9 => format!("{o:.1} -> {n:.1}"),
            (Some(o), Some(_)) => format!("{o:.1}"),
            (None, Some(n)) => format!("- -> {n:.1}"),
            (Some(o), None) => format!("{o:.1} -> -"),
            (None, None) => String::new(),
        }
    };
    let allocs = exact("allocs_per_op");
    let bytes = exact("bytes_per_op");
    Row {
        id: id.to_owned(),
        metric,
        old: old_v,
        new: new_v,
        ratio: match (old_v, new_v) {
            (Some(o), Some(n)) if o > 0.0 => Some(n / o),
            _ => None,
        },
        verdict,
        allocs,
        bytes,
        regression,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy {
        threshold: 0.10,
        instructions_threshold: 0.02,
        wall_time_informational: false,
    };

    fn time(median: f64, lo: f64, hi: f64) -> Value {
        json!({"kind": "criterion", "median_ns": median, "ci_lower_ns": lo, "ci_upper_ns": hi,
               "allocs_per_op": 2.0, "bytes_per_op": 64.0})
    }

    fn check(old: Value, new: Value, policy: Policy, verdict: &str, regression: bool) {
        let row = compare_one("x/y/z", Some(&old), Some(&new), policy);
        assert!(
            row.verdict.starts_with(verdict),
            "verdict {:?}, expected {verdict:?}",
            row.verdict
        );
        assert_eq!(row.regression, regression, "{row:?}");
    }

    #[test]
    fn verdicts_follow_intervals_thresholds_and_exact_allocations() {
        let informational = Policy {
            wall_time_informational: true,
            ..POLICY
        };
        let cases = [
            // Overlapping intervals are noise even at +30%.
            (
                time(100.0, 80.0, 140.0),
                time(130.0, 110.0, 150.0),
                POLICY,
                "noise",
                false,
            ),
            // Disjoint and +20%: regression; informational in CI mode.
            (
                time(100.0, 99.0, 101.0),
                time(120.0, 119.0, 121.0),
                POLICY,
                "REGRESSION",
                true,
            ),
            (
                time(100.0, 99.0, 101.0),
                time(120.0, 119.0, 121.0),
                informational,
                "slower",
                false,
            ),
            // Disjoint but +5%: within threshold.
            (
                time(100.0, 99.0, 101.0),
                time(105.0, 104.0, 106.0),
                POLICY,
                "changed",
                false,
            ),
            (
                time(100.0, 99.0, 101.0),
                time(50.0, 49.0, 51.0),
                POLICY,
                "faster",
                false,
            ),
            // Instructions: +1% passes, +3% fails.
            (
                json!({"instructions": 1000.0}),
                json!({"instructions": 1010.0}),
                POLICY,
                "+1.00%",
                false,
            ),
            (
                json!({"instructions": 1000.0}),
                json!({"instructions": 1030.0}),
                POLICY,
                "REGRESSION",
                true,
            ),
            (
                json!({"instructions": 1000.0}),
                json!({"instructions": 1000.0}),
                POLICY,
                "same",
                false,
            ),
        ];
        for (old, new, policy, verdict, regression) in cases {
            check(old, new, policy, verdict, regression);
        }
    }

    #[test]
    fn one_more_allocation_per_op_is_a_regression() {
        let old = time(100.0, 99.0, 101.0);
        let mut new = old.clone();
        new["allocs_per_op"] = json!(3.0);
        check(old.clone(), new, POLICY, "noise", true);
        let mut fewer = old.clone();
        fewer["bytes_per_op"] = json!(0.0);
        check(old, fewer, POLICY, "noise", false);
    }

    #[test]
    fn benchmarks_on_one_side_only_are_listed_not_failed() {
        let mut old = Map::new();
        old.insert("a".into(), time(1.0, 1.0, 1.0));
        let mut new = Map::new();
        new.insert("b".into(), time(1.0, 1.0, 1.0));
        let rows = compare(&old, &new, POLICY);
        let got: Vec<(&str, &str, bool)> = rows
            .iter()
            .map(|r| (r.id.as_str(), r.verdict.as_str(), r.regression))
            .collect();
        assert_eq!(
            got,
            vec![("a", "only in OLD", false), ("b", "only in NEW", false)]
        );
    }
}
