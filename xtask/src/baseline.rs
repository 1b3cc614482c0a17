//! The portable baseline file: machine facts plus one entry per benchmark.
//!
//! Shape (schema version 1), written with sorted keys:
//! ```text
//! { "schema_version": 1, "timestamp": "2026-01-31T12:00:00Z", "git_commit": "<40 hex>",
//!   "git_dirty": false, "rustc": "rustc 1.95.0 (..)", "os": "linux", "arch": "x86_64",
//!   "cpu_model": "..", "cores": 2, "command": "cargo xtask bench --quick",
//!   "benchmarks": { "<crate>/<operation>/<input>": Entry, .. } }
//! ```
//! An entry has `kind` ("criterion", "e2e" or "instructions") and, where they
//! apply: `median_ns`, `ci_lower_ns`, `ci_upper_ns`, `confidence_level`,
//! `allocs_per_op`, `bytes_per_op`, `throughput_unit` ("bytes"/"elements"),
//! `throughput_per_op`, `throughput_per_sec`, `instructions`, and e2e extras.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use xshell::{Shell, cmd};

/// Current schema version; bump on an incompatible change of the entry fields.
pub(crate) const SCHEMA_VERSION: u64 = 1;

/// Where every `bench` run writes its result, so `compare OLD` has a default NEW.
pub(crate) fn last_path(sh: &Shell) -> PathBuf {
    sh.current_dir().join("target/xtask/last.json")
}

/// Directory of committed baselines.
pub(crate) fn baselines_dir(sh: &Shell) -> PathBuf {
    sh.current_dir().join("baselines")
}

/// Resolves a baseline name (`main` -> `baselines/main.json`) or a path.
pub(crate) fn resolve(sh: &Shell, name: &str) -> PathBuf {
    if name.ends_with(".json") || name.contains('/') {
        let path = PathBuf::from(name);
        if path.is_absolute() {
            path
        } else {
            sh.current_dir().join(path)
        }
    } else {
        baselines_dir(sh).join(format!("{name}.json"))
    }
}

/// Reads a baseline, naming the existing ones when it is missing.
pub(crate) fn load(sh: &Shell, name: &str) -> anyhow::Result<Value> {
    let path = resolve(sh, name);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            let existing = list(sh);
            let hint = if existing.is_empty() {
                "no baselines exist yet; create one with `cargo xtask bench --save NAME`".to_owned()
            } else {
                format!("existing baselines: {}", existing.join(", "))
            };
            bail!("baseline {} not found; {hint}", path.display());
        }
        Err(err) => return Err(err).with_context(|| format!("reading {}", path.display())),
    };
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let version = value.get("schema_version").and_then(Value::as_u64);
    if version != Some(SCHEMA_VERSION) {
        bail!(
            "{} has schema_version {version:?}, this xtask reads {SCHEMA_VERSION}",
            path.display()
        );
    }
    Ok(value)
}

/// Names of the baselines under `baselines/`, sorted.
pub(crate) fn list(sh: &Shell) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(baselines_dir(sh))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".json").map(str::to_owned)
        })
        .collect();
    names.sort();
    names
}

/// Builds the file header: schema, time, commit, toolchain and machine.
pub(crate) fn header(sh: &Shell, command: &str) -> Map<String, Value> {
    let git_commit = cmd!(sh, "git rev-parse HEAD")
        .quiet()
        .read()
        .unwrap_or_default();
    let git_dirty = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .read()
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    let rustc = cmd!(sh, "rustc --version")
        .quiet()
        .read()
        .unwrap_or_default();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut map = Map::new();
    map.insert("schema_version".into(), json!(SCHEMA_VERSION));
    map.insert("timestamp".into(), json!(utc_now()));
    map.insert("git_commit".into(), json!(git_commit));
    map.insert("git_dirty".into(), json!(git_dirty));
    map.insert("rustc".into(), json!(rustc));
    map.insert("os".into(), json!(std::env::consts::OS));
    map.insert("arch".into(), json!(std::env::consts::ARCH));
    map.insert("cpu_model".into(), json!(cpu_model()));
    map.insert("cores".into(), json!(cores));
    map.insert("command".into(), json!(command));
    map
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

/// The current UTC time as RFC 3339 (`2026-01-31T12:00:00Z`), without a date crate.
pub(crate) fn utc_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format_utc(secs)
}

fn format_utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Writes `value` to `path` atomically: a temp file in the same directory,
/// fsync, then rename over the destination.
pub(crate) fn write_atomic(path: &Path, value: &Value) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .context("baseline path has no parent directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut text = serde_json::to_string_pretty(value).context("serializing the baseline")?;
    text.push('\n');
    let file_name = path.file_name().context("baseline path has no file name")?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        file_name.to_string_lossy(),
        std::process::id()
    ));
    {
        use std::io::Write;
        let mut file =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        file.write_all(text.as_bytes())
            .with_context(|| format!("writing {}", tmp.display()))?;
        file.sync_all()
            .with_context(|| format!("syncing {}", tmp.display()))?;
    }
    std::fs::rename(&tmp, path)
        .with_context(|| format!("renaming {} to {}", tmp.display(), path.display()))?;
    if let Ok(dir) = std::fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formatting_matches_known_instants() {
        for (secs, expected) in [
            (0, "1970-01-01T00:00:00Z"),
            (951_782_400, "2000-02-29T00:00:00Z"),
            (1_700_000_000, "2023-11-14T22:13:20Z"),
        ] {
            assert_eq!(format_utc(secs), expected);
        }
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("xtask-atomic-{}", std::process::id()));
        let path = dir.join("b.json");
        write_atomic(&path, &json!({"a": 1}))?;
        write_atomic(&path, &json!({"a": 2}))?;
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
        assert_eq!(back["a"], 2);
        let entries = std::fs::read_dir(&dir)?.count();
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(entries, 1);
        Ok(())
    }
}
