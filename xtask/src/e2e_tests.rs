//! Tests of the e2e scenario helpers.

use super::*;
use xshell::cmd;

#[test]
fn medians_and_ids() {
    let s = |ms: u64| Sample {
        wall: Duration::from_millis(ms),
        git_spawns: 0,
        peak_rss_bytes: None,
    };
    assert_eq!(median(&[]), None);
    assert_eq!(
        median(&[s(30), s(10), s(20)]),
        Some((
            Duration::from_millis(20),
            Duration::from_millis(10),
            Duration::from_millis(30)
        ))
    );
    assert_eq!(
        median(&[s(10), s(20)]).map(|m| m.0),
        Some(Duration::from_millis(15))
    );
    assert_eq!(
        id("rerun", 10, 100, "jobs-1"),
        "e2e/rerun/10targets-100files/jobs-1"
    );
    assert!(simple_match(
        "rerun|update",
        "e2e/update/1targets-10files/reference"
    ));
    assert!(!simple_match(
        "first",
        "e2e/update/1targets-10files/reference"
    ));
}

#[test]
fn reference_workflow_syncs_then_finds_nothing_then_updates() -> anyhow::Result<()> {
    let tmp = std::env::temp_dir().join(format!("xtask-e2e-test-{}", std::process::id()));
    let fx = fixture_shell(&tmp)?;
    let cell = Cell::create(&fx, &tmp.join("cell"), 2, 12)?;
    cell.reset(&fx)?;
    let first = cell.reference(&fx, "first-sync")?;
    let rerun = cell.reference(&fx, "rerun")?;
    cell.advance_source(&fx)?;
    let update = cell.reference(&fx, "update")?;
    let target = &cell.targets[1];
    let changed = cmd!(
        fx,
        "git --git-dir={target} diff --name-only {BRANCH}~1 {BRANCH}"
    )
    .read()?;
    std::fs::remove_dir_all(&tmp)?;
    assert_eq!(
        (first.git_spawns, rerun.git_spawns, update.git_spawns),
        (10, 6, 10)
    );
    // Every tenth of 12 files: f0000 and f0010.
    assert_eq!(changed, "files/d00/f0000.txt\nfiles/d00/f0010.txt");
    Ok(())
}
