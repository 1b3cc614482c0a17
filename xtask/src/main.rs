//! Developer tasks for the broadcast workspace, run as `cargo xtask <task>`.
//!
//! `main` only dispatches: it parses the flags (see `flags.rs`), opens an xshell
//! [`Shell`] at the workspace root and hands it to the task's `run`. Every task
//! starts other programs through xshell with `$CARGO`, never through `sh -c`.

mod baseline;
mod bench;
mod compare;
mod dist_docs;
mod e2e;
mod flags;
mod fuzz;
mod instructions;
mod lint;
mod profile;
mod report;
mod scale;
mod table;
#[cfg(test)]
mod tidy;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use xshell::Shell;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<ExitCode> {
    let task = match flags::parse(args)? {
        Some(task) => task,
        None => return Ok(ExitCode::SUCCESS),
    };
    let sh = Shell::new().context("opening a shell")?;
    sh.change_dir(project_root());
    match task {
        flags::Task::Lint => lint::lint(&sh).map(|()| ExitCode::SUCCESS),
        flags::Task::Test => lint::test(&sh).map(|()| ExitCode::SUCCESS),
        flags::Task::Bench(opts) => bench::run(&sh, &opts).map(|()| ExitCode::SUCCESS),
        flags::Task::Compare(opts) => compare::run(&sh, &opts),
        flags::Task::E2e(opts) => e2e::run_task(&sh, &opts).map(|()| ExitCode::SUCCESS),
        flags::Task::Profile(opts) => profile::run(&sh, &opts).map(|()| ExitCode::SUCCESS),
        flags::Task::Report(opts) => report::run(&sh, &opts).map(|()| ExitCode::SUCCESS),
        flags::Task::Fuzz(opts) => fuzz::run(&sh, &opts),
        flags::Task::Scale(opts) => scale::run(&sh, &opts).map(|()| ExitCode::SUCCESS),
        flags::Task::DistDocs { out } => {
            dist_docs::run(&sh, out.as_deref()).map(|()| ExitCode::SUCCESS)
        }
    }
}

/// The workspace root: the parent of this crate's manifest directory.
fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives one level below the workspace root")
        .to_path_buf()
}

/// The cargo that started us (`$CARGO`), else `cargo` from `PATH`.
fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
