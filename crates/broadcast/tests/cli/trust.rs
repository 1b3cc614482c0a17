//! Refused writes say why, terminal-safe output, `--jobs` bounds, scratch directories left by
//! killed runs, and interrupted runs.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, target, target_entry};

const BRANCH: &str = "chore/sync-files-g";

/// A GitHub-shaped token (built at run time so no scanner flags this file).
fn fake_token() -> String {
    format!(
        "ghp_{}",
        "a1B2c3D4e5".repeat(4).get(..36).unwrap_or_default()
    )
}

/// `sync.yaml` with one group `g` from `source` to every target, each getting `files`.
fn config(sb: &Sandbox, source: &Path, targets: &[&Path], mapping: &str) -> PathBuf {
    let entries: String = targets.iter().map(|t| target_entry(t, mapping)).collect();
    sb.one_group_config(source, &entries)
}

const README: &str = "        files: [{src: README.md, dest: README.md}]\n";

/// Installs an executable hook script `name` in a bare repository.
fn hook(repo: &Path, name: &str, script: &str) {
    let path = repo.join("hooks").join(name);
    std::fs::create_dir_all(path.parent().expect("hooks dir")).expect("mkdir hooks");
    std::fs::write(&path, script).expect("write hook");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

#[test]
fn rejected_push_quotes_the_remote_message_redacted_without_the_retry_hint() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("README.md", b"# template\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let token = fake_token();
    hook(
        &a,
        "pre-receive",
        &format!(
            "#!/bin/sh\necho 'GH006: Protected branch update failed for refs/heads/{BRANCH}.'\necho 'hook saw {token}' >&2\nexit 1\n"
        ),
    );
    let cfg = config(&sb, &src, &[&a], README);
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let r = target(&report, "a.git");
    assert_eq!(r["status"], "failed");
    let err = r["error"].as_str().ok_or("error")?;
    assert!(err.contains("pre-receive hook declined"), "{err}");
    assert!(
        err.contains(&format!(
            "GH006: Protected branch update failed for refs/heads/{BRANCH}."
        )),
        "{err}"
    );
    assert!(err.contains("hook saw ghp_"), "{err}");
    assert!(!err.contains(&token), "token not redacted: {err}");
    assert!(!err.contains("another run"), "not a stale lease: {err}");
    assert_eq!(sb.rev(&a, BRANCH), None);

    // The table says the same.
    let out = sb.broadcast(&["sync", "--config", cfg.to_str().ok_or("utf8")?]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout.contains("GH006: Protected branch update failed"),
        "{stdout}"
    );
    assert!(!stdout.contains(&token), "{stdout}");
    Ok(())
}

/// A `git` first on PATH that moves the target's sync branch just before broadcast pushes:
/// the lease taken at read time is stale when the push runs. (The target has a receive hook,
/// so it is pushed, not written in place; the in-place lease is tested in `in_place.rs`.)
#[cfg(unix)]
#[test]
fn stale_lease_rejection_says_another_run_updated_the_branch() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("README.md", b"# template v1\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    hook(&a, "post-receive", "#!/bin/sh\ncat >/dev/null\n");
    let cfg = config(&sb, &src, &[&a], README);
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let first = sb.rev(&a, BRANCH).ok_or("sync branch")?;
    sb.commit_files(&src, &[("README.md", b"# template v2\n")], "v2");

    // Another writer moves the sync branch just before our push.
    let then = format!(
        "\"$GIT\" --git-dir=\"{}\" update-ref refs/heads/{BRANCH} refs/heads/main",
        a.display()
    );
    let path = sb.git_wrapper(&sb.path().join("git.log"), "push", &then)?;
    let (code, report) = sb.sync_with_path(&cfg, &path)?;
    assert_eq!(code, 1, "{report:#}");
    let r = target(&report, "a.git");
    let err = r["error"].as_str().ok_or("error")?;
    assert!(err.contains("stale info"), "{err}");
    assert!(err.contains("the branch moved since it was read"), "{err}");
    // The branch is what the other writer left, not ours and not the first sync.
    assert_ne!(sb.rev(&a, BRANCH).as_deref(), Some(first.as_str()));
    assert_eq!(sb.rev(&a, BRANCH), sb.rev(&a, "main"));
    Ok(())
}

#[test]
fn jobs_is_clamped_to_the_targets_and_zero_is_a_usage_error() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("README.md", b"# template\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let cfg = config(&sb, &src, &[&a], README);
    let (code, report) = sb.sync_json(&cfg, &["--dry-run", "--jobs", "100000"])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "would_sync");

    let out = sb.broadcast(&[
        "sync",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--dry-run",
        "--jobs",
        "0",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--jobs"), "{stderr}");
    Ok(())
}

/// Control characters in `bytes` other than the line layout's `\n` and `\t`: C0, DEL and C1
/// (the latter as UTF-8 `C2 80..=C2 9F`).
fn raw_controls(bytes: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(bytes);
    text.char_indices()
        .filter(|(_, c)| {
            (c.is_control() && *c != '\n' && *c != '\t') || ('\u{80}'..='\u{9f}').contains(c)
        })
        .map(|(i, c)| format!("{c:?} at {i}"))
        .collect()
}

#[test]
fn control_characters_in_file_names_are_escaped_in_changes_diffs_and_commits() -> Result {
    let sb = Sandbox::new();
    let evil = "evil\u{1b}[31mred\nline\r\u{7f}\u{9b}.txt";
    let src = sb.work_repo(
        "template",
        &[
            ("README.md", b"# template\n"),
            (&format!("d/{evil}"), b"x\x1b[2J\tcleared\n"),
        ],
    );
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let cfg = config(
        &sb,
        &src,
        &[&a],
        "        directories: [{src: d, dest: d}]\n",
    );
    let cfg_arg = cfg.to_str().ok_or("utf8")?;
    let out = sb.broadcast(&["sync", "--config", cfg_arg, "--dry-run", "--diff"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert_eq!(
        raw_controls(&out.stdout),
        Vec::<String>::new(),
        "{stdout:?}"
    );
    assert!(
        stdout.contains(r"d/evil\x1b[31mred\nline\r\x7f\u{9b}.txt"),
        "{stdout}"
    );
    assert!(stdout.contains(r"+x\x1b[2J"), "{stdout}");

    let out = sb.broadcast(&["sync", "--config", cfg_arg]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(raw_controls(&out.stdout), Vec::<String>::new());
    // The file itself keeps its real name; only what is shown is escaped.
    assert!(sb.tree(&a, BRANCH).contains_key(&format!("d/{evil}")));
    let message = sb.git(
        sb.path(),
        &[
            "--git-dir",
            a.to_str().ok_or("utf8")?,
            "log",
            "-1",
            "--format=%B",
            BRANCH,
        ],
    );
    assert_eq!(
        raw_controls(message.as_bytes()),
        Vec::<String>::new(),
        "{message:?}"
    );
    assert!(message.contains(r"evil\x1b[31mred\nline"), "{message}");
    Ok(())
}

/// A `pre-receive` hook that says it started (touches `started`) and then waits until the
/// test creates `release`: the push is in flight for as long as the test wants, with no
/// sleeps to tune.
fn gate_hook(sb: &Sandbox, repo: &Path) -> (PathBuf, PathBuf) {
    let (started, release) = (sb.path().join("started"), sb.path().join("release"));
    hook(
        repo,
        "pre-receive",
        &format!(
            "#!/bin/sh\ncat >/dev/null\ntouch \"{}\"\nwhile [ ! -e \"{}\" ]; do sleep 0.05; done\n",
            started.display(),
            release.display()
        ),
    );
    (started, release)
}

/// Blocks until `path` exists (the child is polled so a crash does not hang the test).
fn wait_for(path: &Path, child: &mut std::process::Child) -> Result {
    while !path.exists() {
        if let Some(status) = child.try_wait()? {
            return Err(format!("broadcast exited early with {status}").into());
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    Ok(())
}

fn run_dirs(tmp: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(tmp)
        .expect("read tmp")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("broadcast-run-"))
        .collect();
    names.sort();
    names
}

fn kill(signal: &str, child: &std::process::Child) -> Result {
    let status = std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()?;
    assert!(status.success(), "kill {signal}");
    Ok(())
}

#[cfg(unix)]
#[test]
fn scratch_directory_of_a_killed_run_is_removed_by_the_next_run_but_a_live_one_is_kept() -> Result {
    let sb = Sandbox::new();
    let tmp = sb.path().join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let src = sb.work_repo("template", &[("README.md", b"# template\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let (started, release) = gate_hook(&sb, &a);
    let cfg = config(&sb, &src, &[&a], README);
    let cfg_arg = cfg.to_str().ok_or("utf8")?;

    let mut child = sb
        .broadcast_command(&["sync", "--config", cfg_arg])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()?;
    wait_for(&started, &mut child)?;
    kill("-KILL", &child)?;
    child.wait()?;
    std::fs::write(&release, "")?;
    let left = run_dirs(&tmp);
    assert_eq!(
        left.len(),
        1,
        "the killed run leaves its scratch directory: {left:?}"
    );

    // A concurrent run's directory: its owner lock is held (here by this test).
    let live = tmp.join("broadcast-run-live");
    std::fs::create_dir_all(&live)?;
    let lock = std::fs::File::create(live.join("owner.lock"))?;
    lock.lock()?;

    let out = sb
        .broadcast_command(&["sync", "--config", cfg_arg, "--dry-run"])
        .env("TMPDIR", &tmp)
        .output()?;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(run_dirs(&tmp), ["broadcast-run-live"]);
    drop(lock);
    Ok(())
}

#[cfg(unix)]
#[test]
fn interrupted_run_finishes_the_push_in_flight_skips_the_rest_and_exits_130() -> Result {
    let sb = Sandbox::new();
    let tmp = sb.path().join("tmp");
    std::fs::create_dir_all(&tmp)?;
    let src = sb.work_repo("template", &[("README.md", b"# template\n")]);
    let targets: Vec<PathBuf> = (1..=4)
        .map(|i| sb.bare_repo(&format!("t{i}"), &[("keep.txt", b"k\n")]))
        .collect();
    let mut release = PathBuf::new();
    let mut started = PathBuf::new();
    for t in &targets {
        (started, release) = gate_hook(&sb, t);
    }
    let refs: Vec<&Path> = targets.iter().map(PathBuf::as_path).collect();
    let cfg = config(&sb, &src, &refs, README);
    let report_path = sb.path().join("report.json");
    let mut child = sb
        .broadcast_command(&[
            "sync",
            "--config",
            cfg.to_str().ok_or("utf8")?,
            "--jobs",
            "1",
            "--report",
            report_path.to_str().ok_or("utf8")?,
        ])
        .env("TMPDIR", &tmp)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    wait_for(&started, &mut child)?;
    kill("-INT", &child)?;
    // The push in flight is let through.
    std::fs::write(&release, "")?;
    let out = child.wait_with_output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        stdout.contains(
            "4 target(s): 1 synced, 0 up to date, 0 in sync, 0 would sync, 3 skipped, 0 blocked, 0 failed"
        ),
        "{stdout}"
    );
    // The first target is complete, the others untouched.
    let first = sb.tree(&targets[0], BRANCH);
    assert!(
        first.contains_key("README.md") && first.contains_key("keep.txt"),
        "{first:?}"
    );
    for t in &targets[1..] {
        assert_eq!(sb.rev(t, BRANCH), None, "{} was written", t.display());
    }
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&report_path)?)?;
    assert_eq!(report["interrupted"], true, "{report:#}");
    let statuses: Vec<&str> = report["targets"]
        .as_array()
        .ok_or("targets")?
        .iter()
        .filter_map(|t| t["status"].as_str())
        .collect();
    assert_eq!(statuses, ["synced", "skipped", "skipped", "skipped"]);
    let why = report["targets"][1]["error"].as_str().ok_or("error")?;
    assert!(why.contains("interrupted"), "{why}");
    assert_eq!(run_dirs(&tmp), Vec::<String>::new());
    Ok(())
}
