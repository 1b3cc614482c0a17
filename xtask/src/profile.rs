//! `cargo xtask profile`: one sync scenario under `broadcast sync --profile`, plus the wall
//! time of every git process the run started (git's trace2 event stream, see
//! git-config(1) `trace2.eventTarget` / the `GIT_TRACE2_EVENT` variable).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::e2e::{Cell, fixture_shell, locate_broadcast};
use crate::flags::{E2eOptions, ProfileOptions};

pub(crate) fn run(sh: &Shell, opts: &ProfileOptions) -> anyhow::Result<()> {
    let bin = locate_broadcast(
        sh,
        &E2eOptions {
            broadcast: opts.broadcast.clone(),
            ..E2eOptions::default()
        },
    )?;
    let out = match &opts.out {
        Some(dir) => PathBuf::from(dir),
        None => sh.current_dir().join("target/xtask/profile"),
    };
    if out.exists() {
        std::fs::remove_dir_all(&out).with_context(|| format!("clearing {}", out.display()))?;
    }
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let out = std::path::absolute(&out).unwrap_or(out);

    let tmp = tempfile_dir()?;
    let fx = fixture_shell(&tmp)?;
    eprintln!(
        "profile: {} targets x {} files ({})",
        opts.targets,
        opts.files,
        if opts.update { "update" } else { "first sync" }
    );
    let cell = Cell::create(&fx, &tmp.join("cell"), opts.targets, opts.files)?;
    cell.reset(&fx)?;
    let config = &cell.config;
    if opts.update {
        cmd!(fx, "{bin} sync --config {config} --json")
            .quiet()
            .ignore_stdout()
            .run()
            .context("the first sync before the profiled update failed")?;
        cell.advance_source(&fx)?;
    }
    let process = out.join("process");
    let trace = out.join("git-trace2.json");
    let _trace_env = fx.push_env("GIT_TRACE2_EVENT", &trace);
    cmd!(fx, "{bin} sync --config {config} --profile {process}")
        .quiet()
        .ignore_stdout()
        .run()
        .context("the profiled sync failed")?;
    drop(_trace_env);

    let report = std::fs::read_to_string(process.join("report.txt"))
        .with_context(|| format!("reading {}", process.join("report.txt").display()))?;
    println!("== broadcast process ({})\n", process.display());
    for line in report.lines().take(24) {
        println!("{line}");
    }
    println!("\n== git processes (from {})\n", trace.display());
    print!("{}", git_time_table(&trace)?);
    std::fs::remove_dir_all(&tmp).ok();
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("broadcast-profile-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// Sums trace2 `exit` events per git command (the first non-option argument).
fn git_time_table(trace: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(trace).with_context(|| format!("reading {}", trace.display()))?;
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut totals: BTreeMap<String, (usize, f64)> = BTreeMap::new();
    for line in text.lines() {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let sid = event["sid"].as_str().unwrap_or_default().to_owned();
        match event["event"].as_str() {
            Some("start") => {
                let argv: Vec<&str> = event["argv"]
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let name = argv
                    .iter()
                    .skip(1)
                    .find(|a| !a.starts_with('-'))
                    .map(|a| {
                        // upload-pack / receive-pack get the repository path as argv.
                        if a.contains('/') { argv[0] } else { a }
                    })
                    .unwrap_or(argv.first().copied().unwrap_or("git"));
                let name = name.rsplit('/').next().unwrap_or(name).to_owned();
                names.insert(sid, name);
            }
            Some("exit") => {
                let name = names.get(&sid).cloned().unwrap_or_else(|| "?".to_owned());
                let entry = totals.entry(name).or_default();
                entry.0 += 1;
                entry.1 += event["t_abs"].as_f64().unwrap_or(0.0);
            }
            _ => {}
        }
    }
    let mut rows: Vec<(String, usize, f64)> =
        totals.into_iter().map(|(n, (c, t))| (n, c, t)).collect();
    rows.sort_by(|a, b| b.2.total_cmp(&a.2));
    let mut table = format!(
        "{:<22} {:>9} {:>12}\n",
        "git command", "processes", "total ms"
    );
    for (name, count, secs) in rows {
        table.push_str(&format!("{name:<22} {count:>9} {:>12.1}\n", secs * 1000.0));
    }
    table.push_str(
        "(nested processes overlap their parents: push includes pack-objects, and the \
         receiving side's receive-pack, index-pack and rev-list)\n",
    );
    Ok(table)
}
