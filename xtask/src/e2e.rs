//! End-to-end scenarios: `broadcast sync` against local git repositories, side by
//! side with the reference shell workflow on identical inputs.
//!
//! For every cell of the grid (targets x files) and every repetition, three runs
//! happen in order on fresh copies of the targets: `first-sync` (every file new),
//! `rerun` (nothing changed) and `update` (every tenth source file changed). Each
//! run is done by `broadcast sync --jobs 1`, by `broadcast sync` with its default
//! jobs, and by the reference workflow, one target after another:
//! `git clone --depth 1`, copy the files, `git add -A`, `git commit`, `git push`.
//! Reported per run and mode: median wall time (min..max as the interval), files/s
//! (targets x files over wall time), targets/s, git processes per target (from
//! broadcast's `git_spawns`; the reference counts its own commands), and peak RSS
//! (`/usr/bin/time -f %M` when present). The headline is the ratio broadcast/reference.
//! Two floors run beside them (see `e2e_floor.rs`): one `git fast-import` straight into each
//! target (`inplace-floor`) and a blob-less clone + fast-import + push (`blobless-floor`);
//! broadcast's runs also carry `ratio_vs_inplace_floor`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use xshell::Shell;

use crate::flags::E2eOptions;
use crate::table::{self, Table};

const BRANCH: &str = "chore/sync-files-bench";
const RUNS: [&str; 3] = ["first-sync", "rerun", "update"];
const MODES: [&str; 5] = [
    "jobs-1",
    "jobs-default",
    "reference",
    "inplace-floor",
    "blobless-floor",
];
/// Index of the reference workflow in [`MODES`].
const REFERENCE: usize = 2;
/// Index of the in-place floor in [`MODES`].
const INPLACE_FLOOR: usize = 3;

#[path = "e2e_cell.rs"]
mod cell;
#[path = "e2e_floor.rs"]
mod floor;
#[path = "e2e_large.rs"]
mod large;

pub(crate) use cell::{Cell, copy_dir, fixture_shell, locate_broadcast};
use cell::{file_content, file_path};

/// `cargo xtask e2e`: run the scenarios and print their table.
pub(crate) fn run_task(sh: &Shell, opts: &E2eOptions) -> anyhow::Result<()> {
    if let Some(mib) = opts.large_mib {
        return write_json(opts, large::run_large(sh, opts, mib)?);
    }
    let entries = run_scenarios(sh, opts)?;
    if entries.is_empty() {
        bail!("no e2e scenario matched the filter {:?}", opts.filter);
    }
    write_json(opts, entries)
}

/// `--json FILE`: the entries as one JSON object keyed by id.
fn write_json(opts: &E2eOptions, entries: Map<String, Value>) -> anyhow::Result<()> {
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(&Value::Object(entries))?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// Runs the grid and returns baseline entries keyed `e2e/<run>/<T>targets-<F>files/<mode>`.
pub(crate) fn run_scenarios(sh: &Shell, opts: &E2eOptions) -> anyhow::Result<Map<String, Value>> {
    let targets = opts.targets.clone().unwrap_or_else(|| {
        if opts.quick {
            vec![1, 10]
        } else {
            vec![1, 10, 50]
        }
    });
    let files = opts.files.clone().unwrap_or_else(|| {
        if opts.quick {
            vec![10, 100]
        } else {
            vec![10, 100, 1000]
        }
    });
    let runs = opts.runs.unwrap_or(if opts.quick { 3 } else { 5 });
    let filter = opts.filter.as_deref();
    let cells: Vec<(usize, usize)> = targets
        .iter()
        .flat_map(|&t| files.iter().map(move |&f| (t, f)))
        .filter(|&(t, f)| {
            filter.is_none_or(|re| {
                RUNS.iter()
                    .flat_map(|r| MODES.iter().map(move |m| (r, m)))
                    .any(|(r, m)| simple_match(re, &id(r, t, f, m)))
            })
        })
        .collect();
    if cells.is_empty() {
        return Ok(Map::new());
    }

    let broadcast = match locate_broadcast(sh, opts) {
        Ok(path) => Some(path),
        Err(err) => {
            eprintln!("e2e: warning: {err:#}; measuring the reference workflow only");
            None
        }
    };
    let tmp = std::env::temp_dir().join(format!("broadcast-e2e-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("clearing {}", tmp.display()))?;
    }
    let fx = fixture_shell(&tmp)?;
    let time_bin = Path::new("/usr/bin/time")
        .exists()
        .then(|| PathBuf::from("/usr/bin/time"));

    let mut results: Map<String, Value> = Map::new();
    let total = cells.len();
    for (i, &(t, f)) in cells.iter().enumerate() {
        eprintln!(
            "e2e: [{}/{total}] {t} targets x {f} files, {runs} runs",
            i + 1
        );
        let cell = Cell::create(&fx, &tmp.join(format!("t{t}-f{f}")), t, f)
            .with_context(|| format!("generating repositories for {t} targets x {f} files"))?;
        // samples[run][mode] = Vec<Sample>
        let mut samples: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); MODES.len()]; RUNS.len()];
        for _rep in 0..runs {
            for (m, mode) in MODES.iter().enumerate() {
                cell.reset(&fx)?;
                for (r, run) in RUNS.iter().enumerate() {
                    if *run == "update" {
                        cell.advance_source(&fx)?;
                    }
                    let sample = match (*mode, &broadcast) {
                        ("reference", _) => cell.reference(&fx, run)?,
                        ("inplace-floor" | "blobless-floor", _) => cell.floor(&fx, mode, run)?,
                        (_, Some(bin)) => {
                            let jobs = (*mode == "jobs-1").then_some(1);
                            cell.broadcast(&fx, bin, jobs, run, time_bin.as_deref())?
                        }
                        (_, None) => continue,
                    };
                    samples[r][m].push(sample);
                }
            }
        }
        for (r, run) in RUNS.iter().enumerate() {
            let ref_median = median(&samples[r][REFERENCE]).map(|(m, _, _)| m);
            let floor_median = median(&samples[r][INPLACE_FLOOR]).map(|(m, _, _)| m);
            for (m, mode) in MODES.iter().enumerate() {
                let s = &samples[r][m];
                let Some((med, lo, hi)) = median(s) else {
                    continue;
                };
                let secs = med.as_secs_f64();
                let mut entry = json!({
                    "kind": "e2e",
                    "median_ns": med.as_nanos() as f64,
                    "ci_lower_ns": lo.as_nanos() as f64,
                    "ci_upper_ns": hi.as_nanos() as f64,
                    "runs": s.len(),
                    "targets": t,
                    "files": f,
                    "files_per_sec": (t * f) as f64 / secs,
                    "targets_per_sec": t as f64 / secs,
                    "git_spawns_per_target": s.iter().map(|x| x.git_spawns).max().unwrap_or(0) as f64 / t as f64,
                });
                if let Some(rss) = s.iter().filter_map(|x| x.peak_rss_bytes).max() {
                    entry["peak_rss_bytes"] = json!(rss);
                }
                if *mode != "reference"
                    && let Some(rm) = ref_median
                {
                    entry["ratio_vs_reference"] = json!(secs / rm.as_secs_f64());
                }
                if mode.starts_with("jobs-")
                    && let Some(fm) = floor_median
                {
                    entry["ratio_vs_inplace_floor"] = json!(secs / fm.as_secs_f64());
                }
                results.insert(id(run, t, f, mode), entry);
            }
        }
        if !opts.keep {
            let _ = std::fs::remove_dir_all(&cell.dir);
        }
    }
    if opts.keep {
        eprintln!("e2e: repositories kept in {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    println!("{}", render(&results, broadcast.is_some()));
    Ok(results)
}

/// Baseline id of one scenario.
fn id(run: &str, targets: usize, files: usize, mode: &str) -> String {
    format!("e2e/{run}/{targets}targets-{files}files/{mode}")
}

/// A filter for e2e ids: substring match, or every `|`-separated part a substring
/// (criterion's regex filter is not available without the regex crate here).
fn simple_match(filter: &str, id: &str) -> bool {
    filter
        .split('|')
        .any(|part| id.contains(part.trim_matches(|c| c == '^' || c == '$')))
}

/// The e2e table: per cell and run, each mode's median and the ratio to the reference.
pub(crate) fn render(results: &Map<String, Value>, with_broadcast: bool) -> String {
    let mut t = Table::new(&[
        "scenario",
        "reference",
        "jobs 1",
        "ratio",
        "default jobs",
        "ratio",
        "files/s",
        "targets/s",
        "git/target",
        "ref git/target",
        "peak RSS",
        "in-place floor",
        "vs floor",
        "blob-less floor",
    ]);
    let mut keys: Vec<(usize, usize, usize, String)> = results
        .iter()
        .filter(|(k, _)| k.ends_with("/reference"))
        .map(|(k, v)| {
            let run = k.split('/').nth(1).unwrap_or("").to_owned();
            let order = RUNS.iter().position(|r| *r == run).unwrap_or(9);
            (
                v["targets"].as_u64().unwrap_or(0) as usize,
                v["files"].as_u64().unwrap_or(0) as usize,
                order,
                run,
            )
        })
        .collect();
    keys.sort();
    for (tg, f, _, run) in keys {
        let get = |mode: &str| results.get(&id(&run, tg, f, mode));
        let med = |v: Option<&Value>| {
            v.and_then(|v| v["median_ns"].as_f64())
                .map(table::ns)
                .unwrap_or_else(|| "-".into())
        };
        let ratio = |v: Option<&Value>| {
            v.and_then(|v| v["ratio_vs_reference"].as_f64())
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into())
        };
        let best = get("jobs-default").or(get("reference"));
        t.row(vec![
            format!("{run} {tg}t x {f}f"),
            med(get("reference")),
            med(get("jobs-1")),
            ratio(get("jobs-1")),
            med(get("jobs-default")),
            ratio(get("jobs-default")),
            best.and_then(|v| v["files_per_sec"].as_f64())
                .map(table::count)
                .unwrap_or_default(),
            best.and_then(|v| v["targets_per_sec"].as_f64())
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            get("jobs-default")
                .and_then(|v| v["git_spawns_per_target"].as_f64())
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "-".into()),
            get("reference")
                .and_then(|v| v["git_spawns_per_target"].as_f64())
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            get("jobs-default")
                .and_then(|v| v["peak_rss_bytes"].as_f64())
                .map(table::bytes)
                .unwrap_or_else(|| "-".into()),
            med(get("inplace-floor")),
            get("jobs-default")
                .and_then(|v| v["ratio_vs_inplace_floor"].as_f64())
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into()),
            med(get("blobless-floor")),
        ]);
    }
    let mut out = t.text();
    out.push_str("ratio = broadcast median / reference median (below 1 is faster); files/s and targets/s of the default-jobs run\nfloors (one target after another): in-place = one fast-import into each target; blob-less = clone --filter=blob:none, fast-import, push; vs floor = default jobs / in-place floor");
    if !with_broadcast {
        out.push_str("\nbroadcast was not available: reference workflow only");
    }
    out
}

#[derive(Debug, Clone)]
struct Sample {
    wall: Duration,
    git_spawns: u64,
    peak_rss_bytes: Option<u64>,
}

/// Median, min and max of the wall times.
fn median(samples: &[Sample]) -> Option<(Duration, Duration, Duration)> {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let n = walls.len();
    if n == 0 {
        return None;
    }
    let med = if n % 2 == 1 {
        walls[n / 2]
    } else {
        (walls[n / 2 - 1] + walls[n / 2]) / 2
    };
    Some((med, walls[0], walls[n - 1]))
}

#[cfg(test)]
#[path = "e2e_tests.rs"]
mod tests;
