//! Refused writes say why, terminal-safe output, `--jobs` bounds, scratch directories left by
//! killed runs, and interrupted runs.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, target};

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
    let mut yaml = format!(
        "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: \"{}\", branch: main}}\n    targets:\n",
        source.display()
    );
    for t in targets {
        yaml.push_str(&format!("      - repo: \"{}\"\n{mapping}", t.display()));
    }
    sb.write("sync.yaml", &yaml)
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
/// the lease taken at read time is stale when the push runs.
#[cfg(unix)]
#[test]
fn stale_lease_rejection_says_another_run_updated_the_branch() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("template", &[("README.md", b"# template v1\n")]);
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let cfg = config(&sb, &src, &[&a], README);
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let first = sb.rev(&a, BRANCH).ok_or("sync branch")?;
    sb.commit_files(&src, &[("README.md", b"# template v2\n")], "v2");

    let real_git = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "command -v git"])
            .output()?
            .stdout,
    )?;
    let bin = sb.path().join("bin");
    std::fs::create_dir_all(&bin)?;
    let wrapper = bin.join("git");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do\n  if [ \"$a\" = push ]; then\n    \"{git}\" --git-dir=\"{target}\" update-ref refs/heads/{BRANCH} refs/heads/main\n  fi\ndone\nexec \"{git}\" \"$@\"\n",
            git = real_git.trim(),
            target = a.display()
        ),
    )?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = sb
        .broadcast_command(&["sync", "--config", cfg.to_str().ok_or("utf8")?, "--json"])
        .env("PATH", path)
        .output()?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let r = target(&report, "a.git");
    let err = r["error"].as_str().ok_or("error")?;
    assert!(err.contains("stale info"), "{err}");
    assert!(
        err.contains("another run may have updated the branch"),
        "{err}"
    );
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
