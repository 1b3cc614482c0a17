//! Engine rules observed through the binary: file/directory conflicts, `delete_orphaned`,
//! `delete` with `exclude`.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, target, target_entry};

const BRANCH: &str = "chore/sync-files-g";

fn config(sb: &Sandbox, source: &Path, target: &Path, body: &str) -> PathBuf {
    sb.one_group_config(source, &target_entry(target, body))
}

fn paths(sb: &Sandbox, repo: &Path, rev: &str) -> Vec<String> {
    sb.tree(repo, rev).into_keys().collect()
}

#[test]
fn a_target_file_where_the_source_has_a_directory_is_replaced_then_up_to_date() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("docs/a.md", b"a\n"), ("conf", b"c\n")]);
    let tgt = sb.bare_repo(
        "target",
        &[
            ("docs", b"a file\n"),
            ("conf/old.yml", b"o\n"),
            ("x", b"x\n"),
        ],
    );
    let cfg = config(
        &sb,
        &src,
        &tgt,
        "        files: [{src: conf, dest: conf}]\n        directories: [{src: docs, dest: docs}]\n",
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let r = target(&report, "target.git");
    assert_eq!(r["status"], "synced", "{r:#}");
    assert_eq!(r["files_deleted"], 2, "{r:#}");
    assert_eq!(paths(&sb, &tgt, BRANCH), ["conf", "docs/a.md", "x"]);

    // The next run finds the sync branch already holding exactly this.
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        target(&report, "target.git")["status"],
        "up_to_date",
        "{report:#}"
    );
    Ok(())
}

#[test]
fn delete_orphaned_removes_owned_files_the_source_dropped_and_keeps_excluded_ones() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("ci/a.yml", b"a\n"), ("ci/b.yml", b"b\n")]);
    let tgt = sb.bare_repo("target", &[("README.md", b"r\n")]);
    let body =
        "        directories: [{src: ci, dest: ci, exclude: [local.yml], delete_orphaned: true}]\n";
    let cfg = config(&sb, &src, &tgt, body);
    assert_eq!(sb.sync_json(&cfg, &[])?.0, 0);
    // Merge the sync branch, add a file of the target's own, then rename b.yml in the source.
    let main = sb.rev(&tgt, BRANCH).ok_or("no sync branch")?;
    sb.git(&tgt, &["update-ref", "refs/heads/main", &main]);
    let work = sb.path().join("work");
    sb.git(
        sb.path(),
        &["clone", "-q", tgt.to_str().ok_or("utf8")?, "work"],
    );
    sb.commit_files(&work, &[("ci/local.yml", b"mine\n")], "own file");
    sb.git(&work, &["push", "-q", "origin", "main"]);
    sb.git(&src, &["mv", "ci/b.yml", "ci/c.yml"]);
    sb.git(&src, &["commit", "-q", "-m", "rename"]);

    let (code, report) = sb.sync_json(&cfg, &["--dry-run"])?;
    assert_eq!(code, 0, "{report:#}");
    let changes: Vec<(String, String)> = target(&report, "target.git")["changes"]
        .as_array()
        .ok_or("changes")?
        .iter()
        .map(|c| (c["path"].to_string(), c["kind"].to_string()))
        .collect();
    assert_eq!(
        changes,
        [
            ("\"ci/b.yml\"".to_owned(), "\"deleted\"".to_owned()),
            ("\"ci/c.yml\"".to_owned(), "\"added\"".to_owned()),
        ]
    );
    assert_eq!(sb.sync_json(&cfg, &[])?.0, 0);
    assert_eq!(
        paths(&sb, &tgt, BRANCH),
        ["README.md", "ci/a.yml", "ci/c.yml", "ci/local.yml"]
    );
    Ok(())
}

#[test]
fn delete_with_exclude_keeps_the_excluded_paths() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("README.md", b"r\n")]);
    let tgt = sb.bare_repo(
        "target",
        &[("old/a.txt", b"a\n"), ("old/keep.local", b"k\n")],
    );
    let body = "        directories: [{dest: old, delete: true, exclude: ['*.local']}]\n";
    let cfg = config(&sb, &src, &tgt, body);
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(paths(&sb, &tgt, BRANCH), ["old/keep.local"]);
    Ok(())
}
