//! `cargo xtask bench --instructions`: instruction counts of the CPU-bound
//! benchmarks (benches/benches/instructions.rs, gungraun over valgrind callgrind).
//!
//! Counts are repeatable run to run, so a 2% gate is meaningful on a shared CI
//! machine. Needs `valgrind` and `gungraun-runner` of the same version as the
//! gungraun library (0.20.0); the error says how to install a missing one.
//! gungraun prints one JSON summary per benchmark (`--output-format=json`); we
//! take the callgrind `Ir` (instructions executed) of each.

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use xshell::{Shell, cmd};

use crate::flags::BenchOptions;

const RUNNER_VERSION: &str = "0.20.0";

pub(crate) fn run(sh: &Shell, opts: &BenchOptions) -> anyhow::Result<Map<String, Value>> {
    if cmd!(sh, "valgrind --version")
        .quiet()
        .ignore_stdout()
        .run()
        .is_err()
    {
        bail!(
            "valgrind is not installed (apt-get install valgrind); it runs the instruction counts"
        );
    }
    let runner = cmd!(sh, "gungraun-runner --version")
        .quiet()
        .read()
        .unwrap_or_default();
    if !runner.contains(RUNNER_VERSION) {
        bail!(
            "gungraun-runner {RUNNER_VERSION} is needed (found `{}`): cargo install gungraun-runner@{RUNNER_VERSION} --locked",
            runner.trim()
        );
    }
    let cargo = crate::cargo();
    eprintln!("bench: instruction counts (callgrind), benches/benches/instructions.rs");
    let filter: Vec<String> = opts.filter.iter().cloned().collect();
    let stdout = cmd!(
        sh,
        "{cargo} bench -q -p broadcast-benches --bench instructions -- --output-format=json {filter...}"
    )
    .read()
    .context("running the instruction-count suite")?;
    let entries = parse(&stdout)?;
    if entries.is_empty() {
        bail!(
            "the instruction-count suite printed no summary (filter {:?})",
            opts.filter
        );
    }
    Ok(entries)
}

/// Turns gungraun's JSON lines into `instructions/<function>/<case>` entries.
fn parse(stdout: &str) -> anyhow::Result<Map<String, Value>> {
    let mut entries = Map::new();
    for line in stdout.lines().filter(|l| l.trim_start().starts_with('{')) {
        let summary: Value =
            serde_json::from_str(line).context("parsing a gungraun summary line")?;
        let function = summary["function_name"].as_str().unwrap_or("unknown");
        let case = summary["id"].as_str().unwrap_or("default");
        let ir = find_key(&summary, "Ir")
            .and_then(new_metric)
            .with_context(|| format!("no Ir metric in the summary of {function} {case}"))?;
        entries.insert(
            format!("instructions/{function}/{case}"),
            json!({"kind": "instructions", "instructions": ir}),
        );
    }
    Ok(entries)
}

/// The first value stored under `key`, searching depth first.
fn find_key<'a>(value: &'a Value, key: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map
            .get(key)
            .or_else(|| map.values().find_map(|v| find_key(v, key))),
        Value::Array(items) => items.iter().find_map(|v| find_key(v, key)),
        _ => None,
    }
}

/// The new side of a gungraun metric: `{"values": {"new": n}}` (summary schema v7,
/// gungraun 0.20), or the v6 shapes `{"metrics": {"Left": {"Int": n}}}` and
/// `{"metrics": {"Both": [{"Int": new}, {"Int": old}]}}`.
fn new_metric(metric: &Value) -> Option<f64> {
    if let Some(new) = metric.get("values").and_then(|v| v.get("new")) {
        return new.as_f64();
    }
    let m = metric.get("metrics").unwrap_or(metric);
    let side = m
        .get("Left")
        .or_else(|| m.get("Both").and_then(|b| b.get(0)))?;
    side.get("Int")
        .or_else(|| side.get("Float"))
        .and_then(Value::as_f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ir_is_read_from_left_or_both() -> anyhow::Result<()> {
        let out = concat!(
            "some text\n",
            r#"{"function_name":"pool_get","id":"get_8kib_x100","profiles":[{"summaries":{"total":{"summary":{"Callgrind":{"Ir":{"metrics":{"Left":{"Int":1234}}}}}}}}]}"#,
            "\n",
            r#"{"function_name":"is_binary","id":"v7","profiles":[{"data":{"parts":[{"metrics":{"Ir":{"values":{"new":777}}}}]}}]}"#,
            "\n",
            r#"{"function_name":"transform_apply","id":"text_4kib","profiles":[{"summaries":{"total":{"summary":{"Callgrind":{"Ir":{"metrics":{"Both":[{"Int":99},{"Int":98}]}}}}}}}]}"#,
            "\n"
        );
        let entries = parse(out)?;
        assert_eq!(
            entries["instructions/pool_get/get_8kib_x100"]["instructions"],
            1234.0
        );
        assert_eq!(
            entries["instructions/transform_apply/text_4kib"]["instructions"],
            99.0
        );
        Ok(())
    }
}
