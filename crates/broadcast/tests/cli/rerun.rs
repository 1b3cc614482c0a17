//! Re-runs with nothing to do spawn as few git processes as the work needs: the source's
//! branch read from its ref files and listed through its one `cat-file`, which also lists the
//! local targets' base trees; the commit identity resolved only when something is written.

use std::path::Path;
use std::process::Command;

use super::Result;
use super::fixtures::{Sandbox, target, target_entry};

const BRANCH: &str = "chore/sync-files-g";
const FILES: &str =
    "        files: [{src: a.txt, dest: a.txt}]\n        directories: [{src: dir, dest: dir}]\n";

/// `broadcast sync --json` with `path` as PATH and the identity left to git's config.
fn sync_config_identity(sb: &Sandbox, cfg: &Path, path: &str) -> Result<serde_json::Value> {
    let out = sb
        .broadcast_command(&["sync", "--config", cfg.to_str().ok_or("utf8")?, "--json"])
        .env("PATH", path)
        .env_remove("GIT_AUTHOR_NAME")
        .env_remove("GIT_AUTHOR_EMAIL")
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| format!("{e}: stderr={}", String::from_utf8_lossy(&out.stderr)))?;
    assert_eq!(out.status.code(), Some(0), "{report:#}");
    Ok(report)
}

#[cfg(unix)]
#[test]
fn noop_rerun_reads_no_identity_and_no_source_ref_through_git() -> Result {
    let sb = Sandbox::new();
    std::fs::write(
        sb.path().join("home/.gitconfig"),
        "[user]\n\tname = Config Name\n\temail = config@example.com\n",
    )?;
    let src = sb.work_repo(
        "template",
        &[
            ("a.txt", b"a\n"),
            ("dir/b.txt", b"b\n"),
            ("dir/sub/c.txt", b"c\n"),
        ],
    );
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let b = sb.bare_repo("b", &[("dir/b.txt", b"old\n")]);
    let entries = target_entry(&a, FILES) + &target_entry(&b, FILES);
    let cfg = sb.one_group_config(&src, &entries);
    let log = sb.path().join("git.log");
    let path = sb.git_wrapper(&log, "never", "true")?;

    // The first run writes: the identity comes from git's config, asked once.
    let report = sync_config_identity(&sb, &cfg, &path)?;
    assert_eq!(target(&report, "a.git")["status"], "synced", "{report:#}");
    assert_eq!(target(&report, "b.git")["status"], "synced", "{report:#}");
    let calls = std::fs::read_to_string(&log)?;
    assert_eq!(
        calls.matches("config --get-regexp ^user").count(),
        1,
        "{calls}"
    );
    let who = sb.git(&a, &["log", "-1", "--format=%an <%ae>|%cn <%ce>", BRANCH]);
    assert_eq!(
        who.trim(),
        "Config Name <config@example.com>|Config Name <config@example.com>"
    );

    // The re-run writes nothing: one cat-file reads the source and both targets, even with
    // the source's refs packed and its HEAD detached.
    sb.git(&src, &["pack-refs", "--all"]);
    sb.git(&src, &["checkout", "-q", "--detach"]);
    std::fs::remove_file(&log)?;
    let report = sync_config_identity(&sb, &cfg, &path)?;
    for t in ["a.git", "b.git"] {
        assert_eq!(target(&report, t)["status"], "up_to_date", "{report:#}");
    }
    let calls = std::fs::read_to_string(&log)?;
    assert_eq!(calls.lines().count(), 1, "{calls}");
    assert!(calls.contains("cat-file --batch-command"), "{calls}");
    let head = sb.rev(&src.join(".git"), "refs/heads/main").ok_or("main")?;
    assert_eq!(report["groups"][0]["source_commit"], head.as_str());
    Ok(())
}

/// The git directory's id of `rev`.
fn rev_parse(repo: &Path, rev: &str) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", rev])
        .output()?;
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

#[test]
fn source_branch_naming_a_tag_is_peeled_to_its_commit() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"v1\n"), ("dir/b.txt", b"b\n")]);
    sb.git(&src, &["tag", "-a", "-m", "v1", "v1"]);
    let tag = rev_parse(&src, "refs/tags/v1")?;
    let commit = rev_parse(&src, "HEAD")?;
    assert_ne!(tag, commit);
    // The branch names the tag object, not the commit (git's update-ref refuses to write
    // that; older gits and other tools did): `<ref>^{commit}` peels it.
    sb.commit_files(&src, &[("a.txt", b"v2\n")], "v2");
    std::fs::write(src.join(".git/refs/heads/main"), format!("{tag}\n"))?;
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let cfg = sb.one_group_config(&src, &target_entry(&a, FILES));
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "synced", "{report:#}");
    assert_eq!(report["groups"][0]["source_commit"], commit.as_str());
    assert_eq!(sb.show(&a, &format!("{BRANCH}:a.txt")), b"v1\n");
    assert_eq!(sb.show(&a, &format!("{BRANCH}:dir/b.txt")), b"b\n");
    Ok(())
}

#[test]
fn missing_source_branch_is_still_named() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let cfg = sb.write(
        "sync.yaml",
        &format!(
            "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: \"{}\", branch: nope}}\n    targets:\n{}",
            src.display(),
            target_entry(&a, FILES)
        ),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_ne!(code, 0, "{report:#}");
    let error = report["groups"][0]["error"].as_str().ok_or("no error")?;
    assert!(error.contains("branch 'nope' not found"), "{error}");
    Ok(())
}

/// More local targets than one reader borrows (32): the re-run reads them through one more
/// `cat-file` of the source, started when the first target of the second chunk is read, and
/// every target is still seen as up to date.
#[cfg(unix)]
#[test]
fn many_local_targets_are_read_in_chunks_of_stores() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n"), ("dir/b.txt", b"b\n")]);
    let first = sb.bare_repo("t00", &[("keep.txt", b"k\n")]);
    let mut entries = target_entry(&first, FILES);
    for i in 1..40 {
        let copy = sb.path().join(format!("t{i:02}.git"));
        let status = Command::new("cp")
            .arg("-R")
            .arg(&first)
            .arg(&copy)
            .status()?;
        assert!(status.success());
        entries += &target_entry(&copy, FILES);
    }
    let cfg = sb.one_group_config(&src, &entries);
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let log = sb.path().join("git.log");
    let path = sb.git_wrapper(&log, "never", "true")?;
    let (code, report) = sb.sync_with_path(&cfg, &path)?;
    assert_eq!(code, 0, "{report:#}");
    let targets = report["targets"].as_array().ok_or("targets")?;
    assert_eq!(targets.len(), 40);
    for t in targets {
        assert_eq!(t["status"], "up_to_date", "{t:#}");
    }
    let calls = std::fs::read_to_string(&log)?;
    assert_eq!(calls.lines().count(), 2, "{calls}");
    assert_eq!(
        calls.matches("cat-file --batch-command").count(),
        2,
        "{calls}"
    );
    Ok(())
}

/// An update of local targets (the source changed) reads the targets' base trees, sync commits
/// and sync trees through the source's one `cat-file`, then writes each target in place: no
/// `cat-file` of a target's own.
#[cfg(unix)]
#[test]
fn update_of_local_targets_reads_through_the_source_reader() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n"), ("dir/b.txt", b"b\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let b = sb.bare_repo("b", &[("dir/b.txt", b"old\n")]);
    let cfg = sb.one_group_config(&src, &(target_entry(&a, FILES) + &target_entry(&b, FILES)));
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    sb.commit_files(&src, &[("a.txt", b"a2\n")], "v2");
    let log = sb.path().join("git.log");
    let path = sb.git_wrapper(&log, "never", "true")?;
    let (code, report) = sb.sync_with_path(&cfg, &path)?;
    assert_eq!(code, 0, "{report:#}");
    for t in ["a.git", "b.git"] {
        assert_eq!(target(&report, t)["status"], "synced", "{report:#}");
        let tip = sb.rev(&sb.path().join(t), BRANCH).ok_or("branch")?;
        assert_eq!(
            sb.show(&sb.path().join(t), &format!("{tip}:a.txt")),
            b"a2\n"
        );
    }
    let calls = std::fs::read_to_string(&log)?;
    assert_eq!(calls.matches("cat-file").count(), 1, "{calls}");
    assert_eq!(calls.matches("fast-import").count(), 2, "{calls}");
    assert_eq!(calls.matches("update-ref").count(), 2, "{calls}");
    Ok(())
}

/// The shared reader sees every local target's objects, so another target's store could answer
/// for one whose own store lost its sync commit. A target is judged by what its own store
/// holds: with the pack of its sync commit gone it fails (naming the missing object), while the
/// target beside it that holds the same commit stays up to date.
#[cfg(unix)]
#[test]
fn a_target_missing_its_own_objects_is_not_up_to_date_through_another_store() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("a.txt", b"a\n"), ("dir/b.txt", b"b\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let c = sb.path().join("c.git");
    let status = Command::new("cp").arg("-R").arg(&a).arg(&c).status()?;
    assert!(status.success());
    let packs = |repo: &Path| -> Result<Vec<std::path::PathBuf>> {
        let mut v = Vec::new();
        for e in std::fs::read_dir(repo.join("objects/pack"))? {
            v.push(e?.path());
        }
        Ok(v)
    };
    let before = packs(&c)?;
    let cfg = sb.one_group_config(&src, &(target_entry(&a, FILES) + &target_entry(&c, FILES)));
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        sb.rev(&a, BRANCH),
        sb.rev(&c, BRANCH),
        "the same commit in both targets"
    );
    for p in packs(&c)? {
        if !before.contains(&p) {
            std::fs::remove_file(p)?;
        }
    }
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(
        target(&report, "a.git")["status"],
        "up_to_date",
        "{report:#}"
    );
    let broken = target(&report, "c.git");
    assert_eq!(broken["status"], "failed", "{report:#}");
    let error = broken["error"].as_str().ok_or("no error")?;
    assert!(
        error.contains("c.git") && error.contains("bad object"),
        "{error}"
    );
    Ok(())
}
