//! Never drop a person's work: commits on the sync branch that broadcast did not write, sync
//! branch names that collide, and submodules in the source.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, target, target_entry as t};

const BRANCH: &str = "chore/sync-files-g";

fn config(sb: &Sandbox, source: &Path, targets: &str) -> PathBuf {
    sb.one_group_config(source, targets)
}

/// Runs `broadcast validate` on `yaml`: (exit code, stderr).
fn validate(sb: &Sandbox, yaml: &str) -> (i32, String) {
    let p = sb.write("check.yaml", yaml);
    let out = sb.broadcast(&["validate", "--config", p.to_str().expect("utf8")]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Adds a gitlink (submodule entry, mode 160000) at `path` to a work repository and commits.
fn add_gitlink(sb: &Sandbox, repo: &Path, path: &str) {
    let oid = "1234567890123456789012345678901234567890";
    sb.git(
        repo,
        &[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{oid},{path}"),
        ],
    );
    sb.git(repo, &["commit", "-q", "-m", "add a submodule"]);
}

#[test]
fn file_mapping_naming_a_submodule_fails_only_its_target() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    add_gitlink(&sb, &src, "vendor/lib");
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("x", b"x\n")]);
    let c = sb.bare_repo("acme/c", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &format!(
            "{}{}{}",
            t(&a, "        files: [{src: vendor/lib, dest: lib}]\n"),
            t(&b, "        files: [{src: a.txt, dest: a.txt}]\n"),
            t(
                &c,
                "        files: [{src: vendor/lib/README.md, dest: r.md}]\n"
            ),
        ),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(target(&report, "b.git")["status"], "synced", "{report:#}");
    let ra = target(&report, "a.git");
    assert_eq!(ra["status"], "failed");
    let e = ra["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("groups[0].targets[0].files[0].src")
            && e.contains("vendor/lib")
            && e.contains("submodule"),
        "{e}"
    );
    let rc = target(&report, "c.git");
    let e = rc["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("groups[0].targets[2].files[0].src") && e.contains("inside submodule"),
        "{e}"
    );
    Ok(())
}

#[test]
fn directory_mapping_skips_a_submodule_with_a_warning() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("ci/a.yml", b"a\n")]);
    add_gitlink(&sb, &src, "ci/vendor");
    add_gitlink(&sb, &src, "whole");
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &format!(
            "{}{}",
            t(&a, "        directories: [{src: ci, dest: ci}]\n"),
            t(&b, "        directories: [{src: whole, dest: whole}]\n"),
        ),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let ra = target(&report, "a.git");
    assert_eq!(ra["status"], "synced", "{report:#}");
    let warnings = ra["warnings"].to_string();
    assert!(
        warnings.contains("groups[0].targets[0].directories[0]")
            && warnings.contains("ci/vendor")
            && warnings.contains("submodule"),
        "{warnings}"
    );
    let tree = sb.tree(&a, BRANCH);
    assert_eq!(tree.keys().collect::<Vec<_>>(), ["ci/a.yml", "x"]);
    // A directory mapping whose src is itself a submodule fails its target and says so.
    let rb = target(&report, "b.git");
    assert_eq!(rb["status"], "failed");
    let e = rb["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("groups[0].targets[1].directories[0].src") && e.contains("is a submodule"),
        "{e}"
    );
    Ok(())
}

#[test]
fn base_branch_equal_to_the_sync_branch_is_rejected() {
    let sb = Sandbox::new();
    let (code, err) = validate(
        &sb,
        "version: 1\ngroups:\n  - name: g\n    id: g4\n    source: {repo: acme/template}\n    defaults: {branch_prefix: sync}\n    targets:\n      - repo: acme/a\n        branch: sync-g4\n        files: [{src: a, dest: a}]\n",
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("groups[0].targets[0].branch") && err.contains("sync-g4"),
        "{err}"
    );
}

#[test]
fn sync_branches_that_clash_in_one_target_are_rejected() {
    let sb = Sandbox::new();
    let group = |id: &str, prefix: &str, repo: &str| {
        format!(
            "  - {{name: {id}, id: {id}, source: {{repo: acme/template}}, defaults: {{branch_prefix: {prefix}}}, targets: [{{repo: {repo}, files: [{{src: a, dest: a}}]}}]}}\n"
        )
    };
    // Equal names.
    let yaml = format!(
        "version: 1\ngroups:\n{}{}",
        group("files-a", "chore/sync", "acme/x"),
        group("a", "chore/sync-files", "acme/x")
    );
    let (code, err) = validate(&sb, &yaml);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("chore/sync-files-a")
            && err.contains("groups[0]")
            && err.contains("groups[1]")
            && err.contains("acme/x"),
        "{err}"
    );
    // One is a directory of the other in the ref namespace.
    let yaml = format!(
        "version: 1\ngroups:\n{}{}",
        group("platform", "chore/sync-files", "acme/x"),
        group("y", "chore/sync-files-platform/legal", "acme/x")
    );
    let (code, err) = validate(&sb, &yaml);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("chore/sync-files-platform/legal-y")
            && err.contains("groups[0]")
            && err.contains("groups[1]"),
        "{err}"
    );
    // The same names in different targets do not meet.
    let yaml = format!(
        "version: 1\ngroups:\n{}{}",
        group("files-a", "chore/sync", "acme/x"),
        group("a", "chore/sync-files", "acme/y")
    );
    let (code, err) = validate(&sb, &yaml);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn default_branch_equal_to_the_sync_branch_fails_the_target() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let git_dir = a.to_str().ok_or("utf8")?;
    sb.git(sb.path(), &["--git-dir", git_dir, "branch", BRANCH, "main"]);
    sb.git(
        sb.path(),
        &[
            "--git-dir",
            git_dir,
            "symbolic-ref",
            "HEAD",
            &format!("refs/heads/{BRANCH}"),
        ],
    );
    let before = sb.rev(&a, BRANCH);
    let cfg = config(
        &sb,
        &src,
        &t(&a, "        files: [{src: a.txt, dest: a.txt}]\n"),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let e = target(&report, "a.git")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        e.contains("groups[0].targets[0].branch") && e.contains(BRANCH),
        "{e}"
    );
    assert_eq!(sb.rev(&a, BRANCH), before, "nothing stacked on the base");
    Ok(())
}

/// A target synced once, then a colleague's commit pushed onto its sync branch and a new source
/// commit: the next sync would replace the branch. Returns (source, target, colleague's commit).
fn colleague_setup(sb: &Sandbox) -> Result<(PathBuf, PathBuf, PathBuf, String)> {
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("x", b"x\n")]);
    let body = "        files: [{src: a.txt, dest: a.txt}]\n";
    config(sb, &src, &format!("{}{}", t(&a, body), t(&b, body)));
    let (code, report) = sb.sync_json(&sb.path().join("sync.yaml"), &[])?;
    assert_eq!(code, 0, "{report:#}");
    let work = sb.path().join("colleague");
    sb.git(
        sb.path(),
        &[
            "clone",
            "-q",
            "-b",
            BRANCH,
            a.to_str().ok_or("utf8")?,
            work.to_str().ok_or("utf8")?,
        ],
    );
    std::fs::write(work.join("fix.txt"), "fix\n")?;
    sb.git(&work, &["add", "fix.txt"]);
    sb.git(
        &work,
        &[
            "-c",
            "user.name=Jane Doe",
            "-c",
            "user.email=jane@example.com",
            "commit",
            "-q",
            "--author=Jane Doe <jane@example.com>",
            "-m",
            "fix the lint config",
        ],
    );
    sb.git(&work, &["push", "-q", "origin", BRANCH]);
    let theirs = sb.rev(&a, BRANCH).ok_or("branch")?;
    sb.commit_files(&src, &[("a.txt", b"a v2\n")], "v2");
    Ok((src, a, work, theirs))
}

#[test]
fn colleague_commit_on_the_sync_branch_blocks_the_target() -> Result {
    let sb = Sandbox::new();
    let (_, a, _, theirs) = colleague_setup(&sb)?;
    let cfg = sb.path().join("sync.yaml");
    let cfg_s = cfg.to_str().ok_or("utf8")?;
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let r = target(&report, "a.git");
    assert_eq!(r["status"], "blocked", "{r:#}");
    let e = r["error"].as_str().unwrap_or_default();
    for want in [
        &theirs[..7],
        "Jane Doe <jane@example.com>",
        "fix the lint config",
        "--force",
    ] {
        assert!(e.contains(want), "{want} not in {e}");
    }
    assert_eq!(r["foreign_commits"][0]["commit"], theirs.as_str());
    assert_eq!(report["totals"]["blocked"], 1);
    assert_eq!(
        sb.rev(&a, BRANCH).as_deref(),
        Some(theirs.as_str()),
        "branch kept"
    );
    // The other target of the group is not affected.
    assert_eq!(target(&report, "b.git")["status"], "synced");

    // A dry run and status say the same.
    let out = sb.broadcast(&["sync", "--config", cfg_s, "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout)?;
    assert!(
        text.contains("blocked") && text.contains(&theirs[..7]),
        "{text}"
    );
    let out = sb.broadcast(&["status", "--config", cfg_s]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout)?;
    let line = text
        .lines()
        .find(|l| l.contains("a.git") && l.contains("blocked"));
    assert!(line.is_some(), "{text}");
    assert!(
        text.contains("Jane Doe") && text.contains("--force"),
        "{text}"
    );
    assert_eq!(sb.rev(&a, BRANCH).as_deref(), Some(theirs.as_str()));
    Ok(())
}

#[test]
fn force_replaces_the_branch_and_reports_the_dropped_commits() -> Result {
    let sb = Sandbox::new();
    let (_, a, _, theirs) = colleague_setup(&sb)?;
    let cfg = sb.path().join("sync.yaml");
    let out = sb.broadcast(&[
        "sync",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--dry-run",
        "--force",
    ]);
    let text = String::from_utf8(out.stdout)?;
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("would drop 1 commit(s)") && text.contains(&theirs[..7]),
        "{text}"
    );
    assert_eq!(sb.rev(&a, BRANCH).as_deref(), Some(theirs.as_str()));

    let (code, report) = sb.sync_json(&cfg, &["--force"])?;
    assert_eq!(code, 0, "{report:#}");
    let r = target(&report, "a.git");
    assert_eq!(r["status"], "synced", "{r:#}");
    assert_eq!(r["foreign_commits"][0]["commit"], theirs.as_str());
    assert_eq!(
        r["foreign_commits"][0]["author"],
        "Jane Doe <jane@example.com>"
    );
    assert_eq!(r["foreign_commits"][0]["subject"], "fix the lint config");
    assert!(
        r["warnings"].to_string().contains("dropped 1 commit(s)"),
        "{r:#}"
    );
    assert_eq!(sb.rev(&a, &format!("{BRANCH}^")), sb.rev(&a, "main"));
    assert_eq!(sb.show(&a, &format!("{BRANCH}:a.txt")), b"a v2\n");
    // broadcast's own commit is not foreign: the next run is up to date.
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "up_to_date");
    Ok(())
}

#[test]
fn merge_commit_by_someone_else_is_foreign() -> Result {
    let sb = Sandbox::new();
    let (_, a, work, _) = colleague_setup(&sb)?;
    // Reset the colleague's commit away and merge a main that moved on instead.
    sb.git(&work, &["reset", "-q", "--hard", "HEAD^"]);
    sb.git(&work, &["checkout", "-q", "-b", "main", "origin/main"]);
    sb.commit_files(&work, &[("y", b"y\n")], "main moves");
    sb.git(&work, &["push", "-q", "origin", "main"]);
    sb.git(&work, &["checkout", "-q", BRANCH]);
    sb.git(
        &work,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge main into the sync branch",
            "main",
        ],
    );
    sb.git(&work, &["push", "-q", "-f", "origin", BRANCH]);
    let merge = sb.rev(&a, BRANCH).ok_or("branch")?;
    let (code, report) = sb.sync_json(&sb.path().join("sync.yaml"), &[])?;
    assert_eq!(code, 1, "{report:#}");
    let r = target(&report, "a.git");
    assert_eq!(r["status"], "blocked", "{r:#}");
    let foreign = r["foreign_commits"].as_array().ok_or("list")?;
    assert_eq!(
        foreign.len(),
        1,
        "only the merge; broadcast's commit below it is its own: {r:#}"
    );
    assert_eq!(foreign[0]["commit"], merge.as_str());
    assert_eq!(foreign[0]["reason"], "merge commit");
    Ok(())
}

#[test]
fn own_commit_on_an_older_base_is_replaced_without_a_word() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &t(&a, "        files: [{src: a.txt, dest: a.txt}]\n"),
    );
    let (code, _) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    // main moves on (someone else's commit on the base is not on base..sync).
    let work = sb.path().join("w");
    sb.git(
        sb.path(),
        &[
            "clone",
            "-q",
            a.to_str().ok_or("utf8")?,
            work.to_str().ok_or("utf8")?,
        ],
    );
    sb.commit_files(&work, &[("y", b"y\n")], "main moves");
    sb.git(&work, &["push", "-q", "origin", "main"]);
    sb.commit_files(&src, &[("a.txt", b"a v2\n")], "v2");
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let r = target(&report, "a.git");
    assert_eq!(r["status"], "synced", "{r:#}");
    assert!(r.get("foreign_commits").is_none(), "{r:#}");
    assert_eq!(sb.rev(&a, &format!("{BRANCH}^")), sb.rev(&a, "main"));
    Ok(())
}
