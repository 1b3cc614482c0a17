//! `cargo xtask lint` and `cargo xtask test`: the checks CI runs.

use anyhow::Context;
use xshell::{Shell, cmd};

/// `cargo fmt --all --check`, clippy on every target with `-D warnings`, then
/// `report --check` (the committed performance report matches the baselines).
pub(crate) fn lint(sh: &Shell) -> anyhow::Result<()> {
    let cargo = crate::cargo();
    eprintln!("lint: cargo fmt --check");
    cmd!(sh, "{cargo} fmt --all --check")
        .run()
        .context("cargo fmt --check found unformatted code")?;
    eprintln!("lint: cargo clippy --workspace --all-targets -- -D warnings");
    cmd!(
        sh,
        "{cargo} clippy --workspace --all-targets -- -D warnings"
    )
    .run()
    .context("clippy reported warnings")?;
    eprintln!("lint: cargo xtask report --check");
    crate::report::run(sh, &crate::report::ReportOptions { check: true })?;
    Ok(())
}

/// The workspace tests (debug build), including xtask's tidy rules and doctests.
pub(crate) fn test(sh: &Shell) -> anyhow::Result<()> {
    let cargo = crate::cargo();
    eprintln!("test: cargo test --workspace --no-fail-fast");
    cmd!(sh, "{cargo} test --workspace --no-fail-fast")
        .run()
        .context("workspace tests failed")?;
    Ok(())
}
