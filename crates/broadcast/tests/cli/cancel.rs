//! `broadcast cancel` on local targets: real git, real sync branches.

use std::path::Path;

use super::Result;
use super::fixtures::{Sandbox, snapshot, target, target_entry as t};

const BRANCH: &str = "chore/sync-files-g";

/// `broadcast cancel --config CONFIG --json EXTRA`: (exit code, report).
fn cancel(sb: &Sandbox, config: &Path, extra: &[&str]) -> Result<(i32, serde_json::Value)> {
    let mut args = vec![
        "cancel",
        "--config",
        config.to_str().ok_or("utf8")?,
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = sb.broadcast(&args);
    let v = serde_json::from_slice(&out.stdout).map_err(|e| {
        format!(
            "{e}: stdout={} stderr={}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })?;
    Ok((out.status.code().unwrap_or(-1), v))
}

/// Adds a commit without broadcast's trailers on top of `branch` in bare repository `repo`.
fn colleague_commit(sb: &Sandbox, repo: &Path, branch: &str) -> String {
    let dir = repo.to_str().expect("utf8");
    let tip = sb.rev(repo, branch).expect("branch exists");
    let tree = sb.git(
        sb.path(),
        &["--git-dir", dir, "rev-parse", &format!("{tip}^{{tree}}")],
    );
    let commit = sb.git(
        sb.path(),
        &[
            "--git-dir",
            dir,
            "commit-tree",
            tree.trim(),
            "-p",
            &tip,
            "-m",
            "fix the lint config",
        ],
    );
    let commit = commit.trim().to_owned();
    sb.git(
        sb.path(),
        &[
            "--git-dir",
            dir,
            "update-ref",
            &format!("refs/heads/{branch}"),
            &commit,
        ],
    );
    commit
}

#[test]
fn cancel_deletes_own_branches_keeps_foreign_ones_and_a_second_run_does_nothing() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("a", &[("x", b"x\n")]);
    let b = sb.bare_repo("b", &[("x", b"x\n")]);
    let c = sb.bare_repo("c", &[("a.txt", b"a\n")]);
    let files = "        files: [{src: a.txt, dest: a.txt}]\n";
    let cfg = sb.one_group_config(
        &src,
        &format!("{}{}{}", t(&a, files), t(&b, files), t(&c, files)),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "c.git")["status"], "in_sync");
    let a_tip = sb.rev(&a, BRANCH).ok_or("a has a sync branch")?;
    let a_main = sb.rev(&a, "main");
    let theirs = colleague_commit(&sb, &b, BRANCH);

    // Dry run: says what it would do, writes nothing.
    let before = snapshot(sb.path());
    let (code, report) = cancel(&sb, &cfg, &["--dry-run", "--delete-branch"])?;
    assert_eq!(code, 1, "b is blocked: {report:#}");
    let ra = target(&report, "a.git");
    assert_eq!(ra["status"], "would_cancel", "{ra:#}");
    assert_eq!(ra["branch_action"], "would_delete");
    assert_eq!(ra["commit"], a_tip.as_str());
    let rb = target(&report, "b.git");
    assert_eq!(rb["status"], "blocked", "{rb:#}");
    assert_eq!(rb["branch_action"], "kept");
    assert_eq!(rb["foreign_commits"][0]["commit"], theirs.as_str());
    let e = rb["error"].as_str().unwrap_or_default();
    assert!(e.contains(&theirs[..7]) && e.contains("left alone"), "{e}");
    assert_eq!(target(&report, "c.git")["status"], "nothing_to_do");
    assert_eq!(report["totals"]["branches_deleted"], 1);
    assert!(snapshot(sb.path()) == before, "a dry run wrote something");

    // Without --delete-branch a local target (no pull requests) has nothing to cancel.
    let (_, report) = cancel(&sb, &cfg, &[])?;
    let ra = target(&report, "a.git");
    assert_eq!(ra["status"], "nothing_to_do", "{ra:#}");
    assert_eq!(ra["branch_action"], "kept");
    assert!(sb.rev(&a, BRANCH).is_some());

    // The real thing: a's branch goes, b's (someone's work on it) stays.
    let (code, report) = cancel(&sb, &cfg, &["--delete-branch"])?;
    assert_eq!(code, 1, "{report:#}");
    let ra = target(&report, "a.git");
    assert_eq!(ra["status"], "cancelled", "{ra:#}");
    assert_eq!(ra["branch_action"], "deleted");
    assert_eq!(sb.rev(&a, BRANCH), None, "a's sync branch deleted");
    assert_eq!(
        sb.rev(&b, BRANCH).as_deref(),
        Some(theirs.as_str()),
        "b kept"
    );
    assert_eq!(target(&report, "b.git")["status"], "blocked");
    assert_eq!(sb.rev(&a, "main"), a_main, "the base branch is untouched");

    // Again: nothing left to do for a; the table says so.
    let out = sb.broadcast(&[
        "cancel",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--delete-branch",
        "a.git",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(2),
        "positional targets must match the config: {stdout}"
    );
    let a_display = a.display().to_string();
    let out = sb.broadcast(&[
        "cancel",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--delete-branch",
        &a_display,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("nothing to do"), "{stdout}");
    assert!(
        stdout.contains("1 target(s): 0 cancelled, 0 would cancel, 1 nothing to do"),
        "{stdout}"
    );
    Ok(())
}

#[test]
fn cancel_selects_shards_as_sync_does() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n")]);
    let files = "        files: [{src: a.txt, dest: a.txt}]\n";
    let body: String = (0..6)
        .map(|i| t(&sb.bare_repo(&format!("r{i}"), &[("x", b"x\n")]), files))
        .collect();
    let cfg = sb.one_group_config(&src, &body);
    let names = |v: &serde_json::Value| -> Vec<String> {
        v["targets"]
            .as_array()
            .map(|a| a.iter().map(|t| t["target"].to_string()).collect())
            .unwrap_or_default()
    };
    for k in ["1/2", "2/2"] {
        let (_, s) = sb.sync_json(&cfg, &["--dry-run", "--shard", k])?;
        let (code, c) = cancel(&sb, &cfg, &["--dry-run", "--shard", k])?;
        assert_eq!(code, 0, "{c:#}");
        assert_eq!(names(&s), names(&c), "shard {k}");
    }
    Ok(())
}

#[test]
fn cancel_of_local_targets_needs_no_token_even_with_a_github_source() -> Result {
    let sb = Sandbox::new();
    let a = sb.bare_repo("a", &[("x", b"x\n")]);
    let cfg = sb.write(
        "sync.yaml",
        &format!(
            "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: acme/template}}\n    targets:\n{}",
            t(&a, "        files: [{src: a.txt, dest: a.txt}]\n")
        ),
    );
    let (code, report) = cancel(&sb, &cfg, &["--delete-branch"])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "nothing_to_do");
    Ok(())
}
