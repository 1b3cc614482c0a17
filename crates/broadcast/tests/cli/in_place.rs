//! Local targets written in place (objects into the target, the ref moved with a lease) when a
//! push would be a plain ref update, pushed otherwise; a concurrent writer always wins.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, target, target_entry};

const BRANCH: &str = "chore/sync-files-g";
const FILES: &str =
    "        files: [{src: README.md, dest: README.md}, {src: bin/data.bin, dest: bin/data.bin}]\n";

fn fixture(sb: &Sandbox) -> (PathBuf, PathBuf, PathBuf) {
    let src = sb.work_repo(
        "template",
        &[
            ("README.md", b"# template v1\r\n"),
            ("bin/data.bin", b"\x00\x01\xff binary\r\n\x00"),
        ],
    );
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let entries = target_entry(&a, FILES);
    let cfg = sb.one_group_config(&src, &entries);
    (src, a, cfg)
}

/// `git fsck --strict` passes: every ref names a complete history.
fn assert_fsck(sb: &Sandbox, repo: &Path) {
    sb.git(repo, &["fsck", "--strict", "--no-progress"]);
}

fn installs_hook(repo: &Path, name: &str, script: &str) -> Result {
    use std::os::unix::fs::PermissionsExt;
    let path = repo.join("hooks").join(name);
    std::fs::create_dir_all(path.parent().ok_or("hooks dir")?)?;
    std::fs::write(&path, script)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

#[cfg(unix)]
#[test]
fn local_target_without_hooks_is_written_in_place_byte_exact_and_complete() -> Result {
    let sb = Sandbox::new();
    let (src, a, cfg) = fixture(&sb);
    let log = sb.path().join("git.log");
    let path = sb.git_wrapper(&log, "never", "true")?;

    let (code, report) = sb.sync_with_path(&cfg, &path)?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "synced");
    // An update replaces the branch (new base: not a fast-forward of the old sync commit).
    sb.commit_files(&src, &[("README.md", b"# template v2\r\n")], "v2");
    let clone = sb.path().join("a-work");
    sb.git(
        sb.path(),
        &["clone", "-q", a.to_str().ok_or("utf8")?, "a-work"],
    );
    sb.commit_files(&clone, &[("other.txt", b"o\n")], "base moves");
    sb.git(&clone, &["push", "-q", "origin", "main"]);
    let (code, report) = sb.sync_with_path(&cfg, &path)?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "synced");

    let calls = std::fs::read_to_string(&log)?;
    assert!(!calls.contains("push"), "no push expected:\n{calls}");
    assert!(!calls.contains("receive-pack"), "{calls}");
    assert_eq!(calls.matches("update-ref").count(), 2, "{calls}");
    let tip = format!("refs/heads/{BRANCH}");
    assert_eq!(
        sb.show(&a, &format!("{tip}:README.md")),
        b"# template v2\r\n"
    );
    assert_eq!(
        sb.show(&a, &format!("{tip}:bin/data.bin")),
        b"\x00\x01\xff binary\r\n\x00"
    );
    assert_eq!(sb.rev(&a, &format!("{tip}~1")), sb.rev(&a, "main"));
    // The target holds every object itself: no alternates were added.
    assert!(!a.join("objects/info/alternates").exists());
    assert_fsck(&sb, &a);
    Ok(())
}

#[cfg(unix)]
#[test]
fn local_target_with_a_receive_hook_or_rule_is_pushed_so_the_rule_runs() -> Result {
    for (name, setup) in [
        ("post-receive hook", "hook"),
        ("core.hooksPath", "hooks-path"),
        ("receive.denyNonFastForwards", "deny"),
        // Set outside the repository, or through a file it includes: git's resolution, not
        // the repository's own file, decides.
        ("core.hooksPath in the global config", "global-hooks-path"),
        (
            "receive.denyNonFastForwards through an include",
            "include-deny",
        ),
    ] {
        let sb = Sandbox::new();
        let (src, a, cfg) = fixture(&sb);
        let marker = sb.path().join("hook-ran");
        let script = format!(
            "#!/bin/sh\ncat >/dev/null\ntouch \"{}\"\n",
            marker.display()
        );
        match setup {
            "hook" => installs_hook(&a, "post-receive", &script)?,
            "hooks-path" => {
                let dir = sb.path().join("elsewhere");
                installs_hook(&dir, "post-receive", &script)?;
                let hooks = dir.join("hooks");
                sb.git(
                    &a,
                    &["config", "core.hooksPath", hooks.to_str().ok_or("utf8")?],
                );
            }
            "global-hooks-path" => {
                let dir = sb.path().join("elsewhere");
                installs_hook(&dir, "post-receive", &script)?;
                std::fs::write(
                    sb.path().join("home/.gitconfig"),
                    format!("[core]\n\thooksPath = {}\n", dir.join("hooks").display()),
                )?;
            }
            "include-deny" => {
                let inc = sb.path().join("rules.inc");
                std::fs::write(&inc, "[Receive]\n\tdenyNonFastForwards = true\n")?;
                sb.git(&a, &["config", "include.path", inc.to_str().ok_or("utf8")?]);
            }
            _ => {
                sb.git(&a, &["config", "receive.denyNonFastForwards", "true"]);
            }
        }
        let log = sb.path().join("git.log");
        let path = sb.git_wrapper(&log, "never", "true")?;
        let (code, report) = sb.sync_with_path(&cfg, &path)?;
        assert_eq!(code, 0, "{name}: {report:#}");
        let calls = std::fs::read_to_string(&log)?;
        assert!(calls.contains("push"), "{name}: a push expected:\n{calls}");
        if setup.ends_with("deny") {
            // The rule is the remote's to apply: a rewrite of the branch is refused.
            sb.commit_files(&src, &[("README.md", b"# v2\n")], "v2");
            let clone = sb.path().join("a-work");
            sb.git(
                sb.path(),
                &["clone", "-q", a.to_str().ok_or("utf8")?, "a-work"],
            );
            sb.commit_files(&clone, &[("other.txt", b"o\n")], "base moves");
            sb.git(&clone, &["push", "-q", "origin", "main"]);
            let before = sb.rev(&a, BRANCH);
            let (code, report) = sb.sync_with_path(&cfg, &path)?;
            assert_eq!(code, 1, "{name}: {report:#}");
            assert_eq!(sb.rev(&a, BRANCH), before, "{name}");
        } else {
            assert!(marker.exists(), "{name}: the hook did not run");
        }
        assert_fsck(&sb, &a);
    }
    Ok(())
}

/// Another writer moves (or creates) the sync branch between broadcast's read and its ref
/// update: broadcast fails the target, the other writer's commit stays, the target is whole.
#[cfg(unix)]
#[test]
fn concurrent_writer_keeps_the_branch_when_the_in_place_lease_is_lost() -> Result {
    for existing in [false, true] {
        let sb = Sandbox::new();
        let (src, a, cfg) = fixture(&sb);
        if existing {
            let (code, report) = sb.sync_json(&cfg, &[])?;
            assert_eq!(code, 0, "{report:#}");
            sb.commit_files(&src, &[("README.md", b"# template v2\n")], "v2");
        }
        let log = sb.path().join("git.log");
        // Just before the objects are written, someone else points the branch at main.
        let then = format!(
            "\"$GIT\" --git-dir=\"{}\" update-ref refs/heads/{BRANCH} refs/heads/main",
            a.display()
        );
        let path = sb.git_wrapper(&log, "fast-import", &then)?;
        let (code, report) = sb.sync_with_path(&cfg, &path)?;
        assert_eq!(code, 1, "existing={existing}: {report:#}");
        let r = target(&report, "a.git");
        assert_eq!(r["status"], "failed");
        let err = r["error"].as_str().ok_or("error")?;
        assert!(
            err.contains("the branch moved since it was read"),
            "existing={existing}: {err}"
        );
        assert_eq!(
            sb.rev(&a, BRANCH),
            sb.rev(&a, "main"),
            "existing={existing}"
        );
        assert_fsck(&sb, &a);
    }
    Ok(())
}

/// `core.sharedRepository` tells git which permissions the files it writes get
/// (git-config(1)); a push honours it through `receive-pack`, so such a target is pushed.
#[cfg(unix)]
#[test]
fn shared_repository_permissions_send_the_target_through_a_push() -> Result {
    let sb = Sandbox::new();
    let (_src, a, cfg) = fixture(&sb);
    sb.git(&a, &["config", "core.sharedRepository", "group"]);
    let log = sb.path().join("git.log");
    let path = sb.git_wrapper(&log, "never", "true")?;
    let (code, report) = sb.sync_with_path(&cfg, &path)?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "synced");
    let calls = std::fs::read_to_string(&log)?;
    assert!(calls.contains("push"), "a push expected:\n{calls}");
    assert_fsck(&sb, &a);
    Ok(())
}

/// A target whose work tree keeps its git directory elsewhere (`.git` is a file naming it, as
/// `git init --separate-git-dir` and `git worktree add` leave it) is read and written through
/// that directory.
#[cfg(unix)]
#[test]
fn a_target_whose_dot_git_is_a_file_is_read_through_the_directory_it_names() -> Result {
    let sb = Sandbox::new();
    let (src, _a, _) = fixture(&sb);
    let wt = sb.path().join("wt");
    let gitdir = sb.path().join("wt-store.git");
    sb.git(
        sb.path(),
        &[
            "init",
            "-q",
            "-b",
            "main",
            "--separate-git-dir",
            gitdir.to_str().ok_or("utf8")?,
            wt.to_str().ok_or("utf8")?,
        ],
    );
    sb.commit_files(&wt, &[("keep.txt", b"k\n")], "initial");
    assert!(wt.join(".git").is_file());
    let cfg = sb.one_group_config(&src, &target_entry(&wt, FILES));
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "wt")["status"], "synced", "{report:#}");
    assert_eq!(
        sb.show(&gitdir, &format!("{BRANCH}:README.md")),
        b"# template v1\r\n"
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "wt")["status"], "up_to_date", "{report:#}");
    Ok(())
}

/// A repository owned by another user is pushed, so git's own `safe.directory` rule decides
/// (a write in place would leave files owned by this user in it). Needs to run as root to hand
/// the repository to another user; elsewhere there is nothing to check.
#[cfg(unix)]
#[test]
fn a_repository_owned_by_another_user_is_pushed_not_written_in_place() -> Result {
    let sb = Sandbox::new();
    let (_src, a, cfg) = fixture(&sb);
    let chown = std::process::Command::new("chown")
        .args(["-R", "65534"])
        .arg(&a)
        .stderr(std::process::Stdio::null())
        .status()?;
    if !chown.success() {
        return Ok(());
    }
    let log = sb.path().join("git.log");
    let path = sb.git_wrapper(&log, "never", "true")?;
    let (_code, report) = sb.sync_with_path(&cfg, &path)?;
    let calls = std::fs::read_to_string(&log)?;
    assert!(
        calls.contains("push"),
        "a push expected:\n{calls}\n{report:#}"
    );
    assert!(!calls.contains("update-ref"), "{calls}");
    Ok(())
}
