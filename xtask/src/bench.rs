//! `cargo xtask bench`: run the criterion suites, the e2e scenarios and
//! (optionally) the instruction-count suite, and write one baseline file.
//!
//! Criterion writes into a fresh `target/xtask/criterion` (`CRITERION_HOME`), so
//! only benchmarks of this run are collected. For each benchmark we read
//! `<id>/new/benchmark.json` (id, throughput) and `<id>/new/estimates.json`
//! (median and its confidence interval, ns per iteration); allocation counts
//! come from `allocs.json` files written by `broadcast_benches::alloc`.

use std::path::Path;

use anyhow::Context;
use serde_json::{Map, Value, json};
use xshell::{Shell, cmd};

use crate::baseline;
use crate::flags::{BenchOptions, E2eOptions};
use crate::table::{self, Table};

/// Bench targets in benches/benches/ that are not criterion suites.
const NOT_CRITERION: &[&str] = &["e2e", "instructions"];

pub(crate) fn run(sh: &Shell, opts: &BenchOptions) -> anyhow::Result<()> {
    let mut benchmarks = Map::new();
    if !opts.instructions_only {
        benchmarks.extend(run_criterion(sh, opts)?);
        if !opts.no_e2e {
            let e2e_opts = E2eOptions {
                quick: opts.quick,
                filter: opts.filter.clone(),
                ..E2eOptions::default()
            };
            // A failing scenario must not throw away the criterion figures.
            match crate::e2e::run_scenarios(sh, &e2e_opts) {
                Ok(entries) => benchmarks.extend(entries),
                Err(err) => eprintln!("bench: e2e scenarios failed, left out: {err:#}"),
            }
        }
    }
    if opts.instructions_only || opts.with_instructions {
        benchmarks.extend(crate::instructions::run(sh, opts)?);
    }
    if benchmarks.is_empty() {
        anyhow::bail!("no benchmark ran (filter {:?})", opts.filter);
    }
    print_summary(&benchmarks);

    let command = std::iter::once("cargo xtask bench".to_owned())
        .chain(std::env::args().skip(2))
        .collect::<Vec<_>>()
        .join(" ");
    let mut file = baseline::header(sh, &command);
    file.insert("benchmarks".into(), Value::Object(benchmarks));
    let file = Value::Object(file);
    let last = baseline::last_path(sh);
    baseline::write_atomic(&last, &file)?;
    eprintln!("wrote {}", last.display());
    if let Some(name) = &opts.save {
        let path = baseline::resolve(sh, name);
        let file = if opts.merge {
            let existing = baseline::load(sh, name)?;
            merge(existing, &file)
        } else {
            file
        };
        baseline::write_atomic(&path, &file)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// `--merge`: `existing` with the entries of `run` added or replaced, each tagged with the
/// run's `timestamp`, `git_commit` and `command` (the file's header still describes the
/// entries measured with it). Entries the run did not measure stay as they were.
pub(crate) fn merge(mut existing: Value, run: &Value) -> Value {
    let tag = |entry: &Value| -> Value {
        let mut entry = entry.clone();
        if let Value::Object(map) = &mut entry {
            for key in ["timestamp", "git_commit", "command"] {
                map.insert(key.into(), run[key].clone());
            }
        }
        entry
    };
    if let (Some(Value::Object(into)), Some(Value::Object(from))) =
        (existing.get_mut("benchmarks"), run.get("benchmarks"))
    {
        // An entry with neither a time nor an instruction count holds only the allocation
        // figures a suite records outside criterion's filter: nothing of it ran.
        for (id, entry) in from {
            if entry.get("median_ns").is_some() || entry.get("instructions").is_some() {
                into.insert(id.clone(), tag(entry));
            }
        }
    }
    existing
}

/// The criterion suites declared in benches/Cargo.toml with a file in benches/benches/.
pub(crate) fn criterion_suites(sh: &Shell) -> anyhow::Result<Vec<String>> {
    let root = sh.current_dir();
    let manifest_path = root.join("benches/Cargo.toml");
    let manifest = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let declared = declared_benches(&manifest);
    let mut suites: Vec<String> = std::fs::read_dir(root.join("benches/benches"))
        .with_context(|| "listing benches/benches")?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".rs").map(str::to_owned)
        })
        .filter(|name| declared.contains(name) && !NOT_CRITERION.contains(&name.as_str()))
        .collect();
    suites.sort();
    Ok(suites)
}

/// Names of `[[bench]]` entries in a manifest (a line scan: `name = "x"` after `[[bench]]`).
fn declared_benches(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_bench = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bench = line == "[[bench]]";
            continue;
        }
        if in_bench
            && let Some(rest) = line.strip_prefix("name")
            && let Some(value) = rest.trim_start().strip_prefix('=')
        {
            names.push(value.trim().trim_matches('"').to_owned());
        }
    }
    names
}

fn run_criterion(sh: &Shell, opts: &BenchOptions) -> anyhow::Result<Map<String, Value>> {
    let suites = criterion_suites(sh)?;
    if suites.is_empty() {
        eprintln!("bench: no criterion suites in benches/benches/ yet");
        return Ok(Map::new());
    }
    let home = sh.current_dir().join("target/xtask/criterion");
    if home.exists() {
        std::fs::remove_dir_all(&home).with_context(|| format!("clearing {}", home.display()))?;
    }
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    let _env = sh.push_env("CRITERION_HOME", &home);
    let cargo = crate::cargo();
    let bench_flags: Vec<String> = suites
        .iter()
        .flat_map(|s| ["--bench".to_owned(), s.clone()])
        .collect();
    eprintln!(
        "bench: building {} criterion suites: {}",
        suites.len(),
        suites.join(", ")
    );
    cmd!(
        sh,
        "{cargo} bench -p broadcast-benches --no-run {bench_flags...}"
    )
    .run()
    .context("building the criterion suites")?;

    let mut args: Vec<String> = Vec::new();
    if let Some(filter) = &opts.filter {
        args.push(filter.clone());
    }
    if opts.quick {
        args.extend(
            [
                "--warm-up-time",
                "0.5",
                "--measurement-time",
                "1",
                "--sample-size",
                "10",
                "--nresamples",
                "20000",
            ]
            .map(str::to_owned),
        );
    } else {
        args.extend(["--warm-up-time", "1", "--measurement-time", "3"].map(str::to_owned));
    }
    for (i, suite) in suites.iter().enumerate() {
        eprintln!(
            "bench: [{}/{}] criterion suite `{suite}`",
            i + 1,
            suites.len()
        );
        let args = &args;
        cmd!(
            sh,
            "{cargo} bench -q -p broadcast-benches --bench {suite} -- {args...}"
        )
        .run()
        .with_context(|| format!("running criterion suite `{suite}`"))?;
    }
    collect_criterion(&home)
}

/// Reads every `new/benchmark.json` + `new/estimates.json` pair and the
/// `allocs.json` files under `home` into baseline entries keyed by full id.
pub(crate) fn collect_criterion(home: &Path) -> anyhow::Result<Map<String, Value>> {
    let mut entries = Map::new();
    let mut allocs = Map::new();
    let mut stack = vec![home.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // criterion's output folder is `new/` holding `benchmark.json`; a bench id may
                // itself have a `new` component (`transform/new/chain_spec`).
                if path.file_name().is_some_and(|n| n == "new")
                    && path.join("benchmark.json").is_file()
                {
                    if let Some((id, value)) = read_estimate(&path)? {
                        entries.insert(id, value);
                    }
                } else {
                    stack.push(path);
                }
            } else if path.file_name().is_some_and(|n| n == "allocs.json") {
                let value = read_json(&path)?;
                if let Some(id) = value.get("id").and_then(Value::as_str) {
                    allocs.insert(id.to_owned(), value.clone());
                }
            }
        }
    }
    for (id, alloc) in allocs {
        let entry = entries
            .entry(id)
            .or_insert_with(|| json!({"kind": "criterion"}));
        if let Value::Object(map) = entry {
            for key in ["allocs_per_op", "bytes_per_op"] {
                if let Some(v) = alloc.get(key) {
                    map.insert(key.into(), v.clone());
                }
            }
        }
    }
    Ok(entries)
}

fn read_json(path: &Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

fn read_estimate(new_dir: &Path) -> anyhow::Result<Option<(String, Value)>> {
    let bench_path = new_dir.join("benchmark.json");
    let est_path = new_dir.join("estimates.json");
    if !bench_path.exists() || !est_path.exists() {
        return Ok(None);
    }
    let bench = read_json(&bench_path)?;
    let est = read_json(&est_path)?;
    let id = bench
        .get("full_id")
        .and_then(Value::as_str)
        .with_context(|| format!("{} has no full_id", bench_path.display()))?
        .to_owned();
    let median = &est["median"];
    let median_ns = median["point_estimate"]
        .as_f64()
        .with_context(|| format!("{} has no median", est_path.display()))?;
    let ci = &median["confidence_interval"];
    let mut entry = json!({
        "kind": "criterion",
        "median_ns": median_ns,
        "ci_lower_ns": ci["lower_bound"].as_f64().unwrap_or(median_ns),
        "ci_upper_ns": ci["upper_bound"].as_f64().unwrap_or(median_ns),
        "confidence_level": ci["confidence_level"].as_f64().unwrap_or(0.95),
        "mean_ns": est["mean"]["point_estimate"].as_f64(),
    });
    if let Some(Value::Object(tp)) = bench.get("throughput")
        && let Some((kind, n)) = tp.iter().next()
        && let Some(n) = n.as_f64()
    {
        let (unit, per_op) = match kind.as_str() {
            "Bytes" | "BytesDecimal" => ("bytes", n),
            "Bits" => ("bytes", n / 8.0),
            _ => ("elements", n),
        };
        entry["throughput_unit"] = json!(unit);
        entry["throughput_per_op"] = json!(per_op);
        if median_ns > 0.0 {
            entry["throughput_per_sec"] = json!(per_op / (median_ns * 1e-9));
        }
    }
    Ok(Some((id, entry)))
}

/// Prints every entry of a run, grouped by kind.
fn print_summary(benchmarks: &Map<String, Value>) {
    let mut t = Table::new(&[
        "benchmark",
        "median",
        "95% CI",
        "throughput",
        "allocs/op",
        "B/op",
        "instructions",
    ]);
    for (id, e) in benchmarks {
        if e["kind"] == "e2e" {
            continue; // printed by the e2e table
        }
        t.row(vec![
            id.clone(),
            e["median_ns"].as_f64().map(table::ns).unwrap_or_default(),
            match (e["ci_lower_ns"].as_f64(), e["ci_upper_ns"].as_f64()) {
                (Some(l), Some(u)) => format!("{} .. {}", table::ns(l), table::ns(u)),
                _ => String::new(),
            },
            throughput_cell(e),
            e["allocs_per_op"]
                .as_f64()
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            e["bytes_per_op"]
                .as_f64()
                .map(|v| format!("{v:.0}"))
                .unwrap_or_default(),
            e["instructions"]
                .as_f64()
                .map(table::count)
                .unwrap_or_default(),
        ]);
    }
    if !t.is_empty() {
        println!("{}", t.text());
    }
}

/// `1.23 GiB/s` or `4.5 M elem/s`, empty without throughput.
pub(crate) fn throughput_cell(e: &Value) -> String {
    match (
        e["throughput_unit"].as_str(),
        e["throughput_per_sec"].as_f64(),
    ) {
        (Some("bytes"), Some(v)) => format!("{}/s", table::bytes(v)),
        (Some(_), Some(v)) => format!("{} elem/s", table::count(v)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_replaces_only_the_measured_ids_and_tags_them() {
        let existing = json!({"timestamp": "old", "git_commit": "a", "benchmarks": {
            "pool/get/8KiB": {"kind": "criterion", "median_ns": 50.0},
            "github/decode_pulls/10": {"kind": "criterion", "median_ns": 9.0}}});
        let run = json!({"timestamp": "new", "git_commit": "b", "command": "cargo xtask bench",
            "benchmarks": {"github/decode_pulls/10": {"kind": "criterion", "median_ns": 7.0},
                           "logging/format/text_3_fields": {"kind": "criterion", "median_ns": 1.0},
                           "pool/get/8KiB": {"kind": "criterion", "allocs_per_op": 0.0}}});
        let merged = merge(existing, &run);
        assert_eq!(merged["timestamp"], "old", "the header stays");
        let b = &merged["benchmarks"];
        assert_eq!(
            b["pool/get/8KiB"],
            json!({"kind": "criterion", "median_ns": 50.0})
        );
        assert_eq!(b["github/decode_pulls/10"]["median_ns"], 7.0);
        assert_eq!(b["github/decode_pulls/10"]["git_commit"], "b");
        assert_eq!(b["logging/format/text_3_fields"]["timestamp"], "new");
    }

    #[test]
    fn bench_names_come_from_bench_sections_only() {
        let manifest = "[package]\nname = \"broadcast-benches\"\n\n[[bench]]\nname = \"pool\"\nharness = false\n\n[[bench]]\nharness = false\nname = \"e2e\"\n\n[dependencies]\nname = \"no\"\n";
        assert_eq!(declared_benches(manifest), vec!["pool", "e2e"]);
    }

    #[test]
    fn criterion_output_becomes_entries_with_allocations() -> anyhow::Result<()> {
        let home = std::env::temp_dir().join(format!("xtask-crit-{}", std::process::id()));
        let new = home.join("pool/get/8KiB/new");
        std::fs::create_dir_all(&new)?;
        std::fs::write(
            new.join("benchmark.json"),
            r#"{"group_id":"pool","function_id":"get","value_str":"8KiB","throughput":{"Bytes":8192},"full_id":"pool/get/8KiB","directory_name":"pool/get/8KiB"}"#,
        )?;
        let est = |p: f64| {
            format!(
                r#"{{"point_estimate":{p},"standard_error":1.0,"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}}}}"#,
                p - 1.0,
                p + 1.0
            )
        };
        std::fs::write(
            new.join("estimates.json"),
            format!(
                r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":null,"std_dev":{}}}"#,
                est(101.0),
                est(100.0),
                est(1.0),
                est(2.0)
            ),
        )?;
        std::fs::write(
            home.join("pool/get/8KiB/allocs.json"),
            r#"{"id":"pool/get/8KiB","allocs_per_op":0.0,"bytes_per_op":0.0,"iterations":1000}"#,
        )?;
        let entries = collect_criterion(&home)?;
        std::fs::remove_dir_all(&home)?;
        let e = &entries["pool/get/8KiB"];
        assert_eq!(e["median_ns"], 100.0);
        assert_eq!(e["ci_lower_ns"], 99.0);
        assert_eq!(e["allocs_per_op"], 0.0);
        assert_eq!(e["throughput_unit"], "bytes");
        assert_eq!(e["throughput_per_sec"], 8192.0 / 100e-9);
        Ok(())
    }
}
