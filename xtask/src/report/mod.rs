//! `cargo xtask report [--check]`: the performance report generated from the committed
//! baselines into `docs/report/` (README.md and SVG charts).
//!
//! Inputs, all under `baselines/`:
//! - `main.json` (required): the baseline written by `cargo xtask bench --save main`;
//! - `go-broadcast.json` (optional): go-broadcast's published figures, shape
//!   `{"source", "hardware", "benchmarks": [{"name", "id", "ns_per_op", "bytes_per_op",
//!   "allocs_per_op"}]}`, where `id` names the criterion suite `anchors/<name>` in main.json;
//! - any other `*.json` with this xtask's schema: compared against main.json.
//!
//! The output depends on those files only (no clock, no machine facts of its own, sorted
//! keys), so running it twice gives the same bytes. `--check` regenerates in memory and fails
//! when a committed file differs or is missing; `cargo xtask lint` runs it.

mod charts;
mod markdown;
mod status;
mod svg;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;
use xshell::Shell;

/// Where the report is written, relative to the workspace root.
pub(crate) const OUT_DIR: &str = "docs/report";

/// Flags of `cargo xtask report`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ReportOptions {
    /// Compare instead of writing; fail when stale.
    pub(crate) check: bool,
}

/// One entry of `baselines/go-broadcast.json`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GoBench {
    pub(crate) name: String,
    pub(crate) id: String,
    pub(crate) ns_per_op: f64,
    pub(crate) bytes_per_op: Option<f64>,
    pub(crate) allocs_per_op: Option<f64>,
}

/// `baselines/go-broadcast.json`, parsed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GoBaseline {
    pub(crate) source: String,
    pub(crate) hardware: String,
    pub(crate) benchmarks: Vec<GoBench>,
}

/// Everything the report reads.
#[derive(Debug, Clone)]
pub(crate) struct Data {
    /// main.json without its `benchmarks`.
    pub(crate) header: Value,
    /// main.json's benchmarks, sorted by id.
    pub(crate) benches: BTreeMap<String, Value>,
    /// go-broadcast's figures, when the file is committed.
    pub(crate) go: Option<GoBaseline>,
    /// Other committed baselines: (file stem, benchmarks).
    pub(crate) others: Vec<(String, BTreeMap<String, Value>)>,
}

impl Data {
    /// The entry `id`, if present.
    pub(crate) fn get(&self, id: &str) -> Option<&Value> {
        self.benches.get(id)
    }

    /// Field `key` of entry `id` as a number.
    pub(crate) fn num(&self, id: &str, key: &str) -> Option<f64> {
        self.get(id)
            .and_then(|e| e.get(key))
            .and_then(Value::as_f64)
    }

    /// The median time of entry `id` in ns.
    pub(crate) fn median(&self, id: &str) -> Option<f64> {
        self.num(id, "median_ns")
    }

    /// Entries whose id starts with `prefix`, in id order.
    pub(crate) fn with_prefix<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a String, &'a Value)> + 'a {
        self.benches
            .range(prefix.to_owned()..)
            .take_while(move |(k, _)| k.starts_with(prefix))
    }

    /// Header field as text (empty when absent).
    pub(crate) fn head(&self, key: &str) -> String {
        match self.header.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

fn benchmarks_of(value: &Value) -> BTreeMap<String, Value> {
    value
        .get("benchmarks")
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default()
}

/// Parses go-broadcast.json.
pub(crate) fn parse_go(text: &str) -> anyhow::Result<GoBaseline> {
    let v: Value = serde_json::from_str(text).context("parsing go-broadcast.json")?;
    let field = |v: &Value, k: &str| -> anyhow::Result<String> {
        v.get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .with_context(|| format!("go-broadcast.json: `{k}` missing or not text"))
    };
    let mut benchmarks = Vec::new();
    for b in v
        .get("benchmarks")
        .and_then(Value::as_array)
        .context("go-broadcast.json: `benchmarks` is not a list")?
    {
        // A benchmark go-broadcast names but publishes no time for cannot be compared.
        if b.get("ns_per_op").is_some_and(Value::is_null) {
            continue;
        }
        benchmarks.push(GoBench {
            name: field(b, "name")?,
            id: field(b, "id")?,
            ns_per_op: b
                .get("ns_per_op")
                .and_then(Value::as_f64)
                .with_context(|| format!("go-broadcast.json: {} has no ns_per_op", b))?,
            bytes_per_op: b.get("bytes_per_op").and_then(Value::as_f64),
            allocs_per_op: b.get("allocs_per_op").and_then(Value::as_f64),
        });
    }
    benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(GoBaseline {
        source: field(&v, "source")?,
        hardware: field(&v, "hardware")?,
        benchmarks,
    })
}

/// Reads the baselines under `root/baselines`.
pub(crate) fn load(root: &Path) -> anyhow::Result<Data> {
    let dir = root.join("baselines");
    let read = |name: &str| -> anyhow::Result<String> {
        let path = dir.join(name);
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    };
    let main: Value = serde_json::from_str(&read("main.json")?).context("parsing main.json")?;
    let go = match read("go-broadcast.json") {
        Ok(text) => Some(parse_go(&text)?),
        Err(_) if !dir.join("go-broadcast.json").exists() => None,
        Err(err) => return Err(err),
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("listing {}", dir.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json") && n != "main.json" && n != "go-broadcast.json")
        .collect();
    names.sort();
    let mut others = Vec::new();
    for name in names {
        let v: Value =
            serde_json::from_str(&read(&name)?).with_context(|| format!("parsing {name}"))?;
        if v.get("schema_version").and_then(Value::as_u64) == Some(crate::baseline::SCHEMA_VERSION)
        {
            let stem = name.trim_end_matches(".json").to_owned();
            others.push((stem, benchmarks_of(&v)));
        }
    }
    let benches = benchmarks_of(&main);
    let mut header = main;
    if let Value::Object(map) = &mut header {
        map.remove("benchmarks");
    }
    Ok(Data {
        header,
        benches,
        go,
        others,
    })
}

/// The report's files: (path relative to [`OUT_DIR`], content), sorted by path.
pub(crate) fn generate(data: &Data) -> Vec<(PathBuf, String)> {
    let charts = charts::all(data);
    let mut files: Vec<(PathBuf, String)> = charts
        .iter()
        .map(|(name, chart)| (PathBuf::from(name), chart.render()))
        .collect();
    let names: Vec<&str> = charts.iter().map(|(n, _)| n.as_str()).collect();
    files.push((PathBuf::from("README.md"), markdown::render(data, &names)));
    files.sort();
    files
}

/// Paths (relative to the out dir) whose committed content differs from `files`, plus
/// committed files the generator no longer writes.
pub(crate) fn stale(out: &Path, files: &[(PathBuf, String)]) -> Vec<String> {
    let mut problems = Vec::new();
    for (rel, content) in files {
        match std::fs::read_to_string(out.join(rel)) {
            Ok(old) if old == *content => {}
            Ok(_) => problems.push(format!("{} differs", rel.display())),
            Err(_) => problems.push(format!("{} is missing", rel.display())),
        }
    }
    let expected: Vec<&PathBuf> = files.iter().map(|(p, _)| p).collect();
    let mut extra: Vec<String> = std::fs::read_dir(out)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| PathBuf::from(e.file_name()))
        .filter(|p| !expected.contains(&p))
        .map(|p| format!("{} is not generated any more", p.display()))
        .collect();
    extra.sort();
    problems.extend(extra);
    problems
}

/// Writes (or with `check`, verifies) the report under `root/docs/report`.
pub(crate) fn run_at(root: &Path, opts: &ReportOptions) -> anyhow::Result<()> {
    let data = load(root)?;
    let files = generate(&data);
    let out = root.join(OUT_DIR);
    if opts.check {
        let problems = stale(&out, &files);
        if !problems.is_empty() {
            bail!(
                "{OUT_DIR} is stale relative to baselines/: {}; run `cargo xtask report` and commit the result",
                problems.join(", ")
            );
        }
        eprintln!("report: {OUT_DIR} is up to date ({} files)", files.len());
        return Ok(());
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    for problem in stale(&out, &files) {
        if problem.ends_with("is not generated any more") {
            let name = problem.trim_end_matches(" is not generated any more");
            std::fs::remove_file(out.join(name))
                .with_context(|| format!("removing {OUT_DIR}/{name}"))?;
        }
    }
    for (rel, content) in &files {
        let path = out.join(rel);
        std::fs::write(&path, content).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!("report: wrote {} files under {OUT_DIR}", files.len());
    Ok(())
}

/// `cargo xtask report [--check]` from the workspace root.
pub(crate) fn run(sh: &Shell, opts: &ReportOptions) -> anyhow::Result<()> {
    run_at(&sh.current_dir(), opts)
}

#[cfg(test)]
mod tests;
