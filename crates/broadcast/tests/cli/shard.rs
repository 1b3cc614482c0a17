//! `--shard K/N` through the binary: the shards of one config are disjoint and cover every
//! target, a real sync of each shard writes only its own targets, and bad specs are usage
//! errors.

use std::collections::BTreeSet;
use std::path::PathBuf;

use super::Result;
use super::fixtures::{Sandbox, target_entry as t};

const BRANCH: &str = "chore/sync-files-g";

/// A template and `n` bare local targets `r0.git` .. named in one group's config.
fn fleet(sb: &Sandbox, n: usize) -> (PathBuf, Vec<PathBuf>) {
    let src = sb.work_repo("template", &[("a.txt", b"a\n")]);
    let targets: Vec<PathBuf> = (0..n)
        .map(|i| sb.bare_repo(&format!("r{i}"), &[("x", b"x\n")]))
        .collect();
    let body: String = targets
        .iter()
        .map(|p| t(p, "        files: [{src: a.txt, dest: a.txt}]\n"))
        .collect();
    (sb.one_group_config(&src, &body), targets)
}

fn names(report: &serde_json::Value) -> Vec<String> {
    report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t["target"].as_str().expect("target").to_owned())
        .collect()
}

#[test]
fn shards_partition_the_targets_and_each_writes_only_its_own() -> Result {
    let sb = Sandbox::new();
    let (cfg, targets) = fleet(&sb, 9);
    let mut seen = BTreeSet::new();
    for k in 1..=3 {
        let spec = format!("{k}/3");
        // Identical on every run.
        let (code, a) = sb.sync_json(&cfg, &["--dry-run", "--shard", &spec])?;
        let (_, b) = sb.sync_json(&cfg, &["--dry-run", "--shard", &spec])?;
        assert_eq!(code, 0, "{a:#}");
        assert_eq!(names(&a), names(&b));
        for n in names(&a) {
            assert!(seen.insert(n.clone()), "{n} in two shards");
        }
    }
    assert_eq!(seen.len(), 9, "every target in one shard: {seen:?}");

    // A real sync of shard 2/3 pushes to its targets and no other.
    let (code, report) = sb.sync_json(&cfg, &["--shard", "2/3"])?;
    assert_eq!(code, 0, "{report:#}");
    let mine: BTreeSet<String> = names(&report).into_iter().collect();
    for p in &targets {
        let written = sb.rev(p, BRANCH).is_some();
        let listed = mine.contains(&p.display().to_string());
        assert_eq!(written, listed, "{}: written={written}", p.display());
    }
    // Status takes the same flag and sees the same targets.
    let out = sb.broadcast(&[
        "status",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--json",
        "--shard",
        "2/3",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let status: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(
        names(&status).into_iter().collect::<BTreeSet<_>>(),
        mine,
        "status and sync agree"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("shard 2/3:"), "{stderr}");
    Ok(())
}

#[test]
fn bad_shard_specs_are_usage_errors() {
    let sb = Sandbox::new();
    for (spec, want) in [
        ("0/3", "K must be at least 1"),
        ("4/3", "greater than N"),
        ("1/0", "N must be at least 1"),
        ("a/b", "not a whole number"),
        ("1-2", "expected K/N"),
    ] {
        for cmd in ["sync", "status"] {
            let out = sb.broadcast(&[cmd, "--config", "none.yaml", "--shard", spec]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{cmd} {spec}: {stderr}");
            assert!(
                stderr.contains("--shard") && stderr.contains(want),
                "{cmd} {spec}: {stderr}"
            );
        }
    }
}
