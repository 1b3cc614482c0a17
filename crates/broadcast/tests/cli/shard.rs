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

#[test]
fn a_dependency_is_checked_within_the_shard_only() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n")]);
    let mut repos: Vec<PathBuf> = (0..6)
        .map(|i| sb.bare_repo(&format!("r{i}"), &[("x", b"x\n")]))
        .collect();
    // Fails group `a` wherever it lands: no repository there.
    let missing = sb.path().join("missing.git");
    repos.push(missing.clone());
    let shard_of = |p: &PathBuf| broadcast::shard::shard_of(&format!("local:{}", p.display()), 2);
    let bad = shard_of(&missing);
    let good = 3 - bad;
    assert!(
        repos.iter().any(|p| shard_of(p) == good),
        "both shards hold targets"
    );
    let targets: String = repos
        .iter()
        .map(|p| t(p, "        files: [{src: a.txt, dest: a.txt}]\n"))
        .collect();
    let group = |id: &str, deps: &str| {
        format!(
            "  - name: {id}\n    id: {id}\n    depends_on: [{deps}]\n    source: {{repo: \"{}\", branch: main}}\n    targets:\n{targets}",
            src.display()
        )
    };
    let cfg = sb.write(
        "sync.yaml",
        &format!("version: 1\ngroups:\n{}{}", group("a", ""), group("b", "a")),
    );
    let status_of = |report: &serde_json::Value, group: &str| -> Vec<String> {
        report["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .filter(|t| t["group"] == group)
            .map(|t| t["status"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // The shard holding the failing target: `b` waits for `a` and is skipped there.
    let (code, report) = sb.sync_json(&cfg, &["--dry-run", "--shard", &format!("{bad}/2")])?;
    assert_eq!(code, 1, "{report:#}");
    assert!(status_of(&report, "a").contains(&"failed".to_owned()));
    let b = status_of(&report, "b");
    assert!(
        !b.is_empty() && b.iter().all(|s| s == "skipped"),
        "{report:#}"
    );
    // The other shard knows nothing of that failure: `a` succeeded for its targets, so `b` runs.
    let (code, report) = sb.sync_json(&cfg, &["--dry-run", "--shard", &format!("{good}/2")])?;
    assert_eq!(code, 0, "{report:#}");
    let b = status_of(&report, "b");
    assert!(
        !b.is_empty() && b.iter().all(|s| s == "would_sync"),
        "{report:#}"
    );
    Ok(())
}
