//! `broadcast sync` on local repositories, feature by feature.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::{Sandbox, snapshot, target};

const BRANCH: &str = "chore/sync-files-g";

/// A template with text, CRLF, binary, an executable, a symlink and awkward names.
fn template(sb: &Sandbox) -> PathBuf {
    let dir = sb.work_repo(
        "acme/template",
        &[
            ("README.md", b"# template\nSee https://github.com/acme/template and {{SERVICE}}.\nMail security@acme.example\n"),
            ("crlf.txt", b"line one\r\nline two acme/template\r\n"),
            ("logo.png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR acme/template \xff\xfe"),
            ("ci/build.sh", b"#!/bin/sh\necho acme/template\n"),
            ("ci/notes.md", b"notes for acme/template\n"),
            ("ci/tmp/scratch.out", b"scratch\n"),
            ("ci/sub/deep.yml", b"name: deep\n"),
            ("ci/.hidden.yml", b"hidden: true\n"),
            ("docs/a file with spaces.md", b"spaces\n"),
            ("docs/ünicöde.md", b"unicode\n"),
        ],
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            dir.join("ci/build.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .expect("chmod");
        std::os::unix::fs::symlink("build.sh", dir.join("ci/link.sh")).expect("symlink");
    }
    sb.git(&dir, &["add", "-A"]);
    sb.git(&dir, &["commit", "-q", "-m", "modes and links"]);
    dir
}

fn config(sb: &Sandbox, source: &Path, targets: &str) -> PathBuf {
    let yaml = format!(
        "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: \"{}\", branch: main, security_email: security@acme.example}}\n    targets:\n{targets}",
        source.display()
    );
    sb.write("sync.yaml", &yaml)
}

fn t(repo: &Path, body: &str) -> String {
    format!("      - repo: \"{}\"\n{body}", repo.display())
}

#[test]
fn first_sync_copies_files_directories_and_transforms() -> Result {
    let sb = Sandbox::new();
    let src = template(&sb);
    let a = sb.bare_repo(
        "acme/service-a",
        &[("README.md", b"old\n"), ("keep.txt", b"keep\n")],
    );
    let cfg = config(
        &sb,
        &src,
        &t(
            &a,
            "        security_email: psirt@service-a.example\n        transform: {repo_name: true, variables: {SERVICE: service-a}}\n        files:\n          - {src: README.md, dest: README.md}\n          - {src: crlf.txt, dest: crlf.txt}\n          - {src: logo.png, dest: img/logo.png}\n        directories:\n          - {src: ci, dest: ci}\n          - {src: docs, dest: docs}\n",
        ),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let r = target(&report, "service-a.git");
    assert_eq!(r["status"], "synced", "{r:#}");
    assert_eq!(r["branch"], BRANCH);
    assert_eq!(r["files_modified"], 1);

    let readme = String::from_utf8(sb.show(&a, &format!("{BRANCH}:README.md")))?;
    // go-broadcast's .md rule also rewrites the bare repository name.
    assert_eq!(
        readme,
        "# service-a\nSee https://github.com/acme/service-a and service-a.\nMail psirt@service-a.example\n"
    );
    // CRLF kept, transform applied line by line.
    assert_eq!(
        sb.show(&a, &format!("{BRANCH}:crlf.txt")),
        b"line one\r\nline two acme/service-a\r\n"
    );
    // Binary untouched even under a repo_name transform.
    assert_eq!(
        sb.show(&a, &format!("{BRANCH}:img/logo.png")),
        b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR acme/template \xff\xfe"
    );
    let tree = sb.tree(&a, BRANCH);
    // Exec bit and symlink kept; default excludes drop **/tmp/*; hidden files included by default.
    assert_eq!(tree["ci/build.sh"].0, "100755");
    assert_eq!(tree["ci/link.sh"].0, "120000");
    assert_eq!(sb.show(&a, &format!("{BRANCH}:ci/link.sh")), b"build.sh");
    assert!(!tree.contains_key("ci/tmp/scratch.out"), "{tree:?}");
    assert!(tree.contains_key("ci/.hidden.yml"));
    assert!(tree.contains_key("docs/a file with spaces.md"));
    assert!(tree.contains_key("docs/ünicöde.md"));
    assert!(tree.contains_key("keep.txt"), "unmapped files stay");
    // The directory transform is the directory's own: none here, so ci/notes.md is copied as is.
    assert_eq!(
        sb.show(&a, &format!("{BRANCH}:ci/notes.md")),
        b"notes for acme/template\n"
    );
    // Trailers carry the source, its commit and the group.
    let src_head = sb.rev(&src.join(".git"), "main").ok_or("source head")?;
    let log = sb.git(sb.path(), &["--git-dir", a.to_str().ok_or("utf8")?, "log", "-1", "--format=%(trailers:key=Broadcast-Source-Commit,valueonly)%(trailers:key=Broadcast-Group,valueonly)", BRANCH]);
    assert!(log.contains(&src_head), "{log}");
    assert!(log.contains('g'));
    // main is untouched.
    assert_eq!(sb.show(&a, "main:README.md"), b"old\n");
    Ok(())
}

#[test]
fn second_run_does_nothing_and_source_change_updates_the_same_branch() -> Result {
    let sb = Sandbox::new();
    let src = template(&sb);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &t(&a, "        files: [{src: README.md, dest: README.md}]\n"),
    );
    let (code, _) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    let first = sb.rev(&a, BRANCH).ok_or("branch")?;

    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    assert_eq!(
        target(&report, "a.git")["status"],
        "up_to_date",
        "{report:#}"
    );
    assert_eq!(
        sb.rev(&a, BRANCH).as_deref(),
        Some(first.as_str()),
        "no new commit"
    );

    sb.commit_files(&src, &[("README.md", b"# template v2\n")], "v2");
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    assert_eq!(target(&report, "a.git")["status"], "synced");
    let second = sb.rev(&a, BRANCH).ok_or("branch")?;
    assert_ne!(first, second);
    assert_eq!(
        sb.show(&a, &format!("{BRANCH}:README.md")),
        b"# template v2\n"
    );
    // One sync branch, built on main (not stacked on the old sync commit).
    let branches = sb.git(
        sb.path(),
        &["--git-dir", a.to_str().ok_or("utf8")?, "branch", "--list"],
    );
    assert_eq!(branches.lines().count(), 2, "{branches}");
    assert_eq!(sb.rev(&a, &format!("{BRANCH}^")), sb.rev(&a, "main"));
    Ok(())
}

#[test]
fn target_that_already_matches_is_in_sync_and_gets_no_branch() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"same\n")]);
    let a = sb.bare_repo("acme/a", &[("a.txt", b"same\n")]);
    let cfg = config(
        &sb,
        &src,
        &t(&a, "        files: [{src: a.txt, dest: a.txt}]\n"),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    assert_eq!(target(&report, "a.git")["status"], "in_sync");
    assert_eq!(sb.rev(&a, BRANCH), None);
    Ok(())
}

#[test]
fn delete_entries_remove_files_and_directories() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo(
        "acme/a",
        &[
            ("old.txt", b"o\n"),
            ("legacy/x.txt", b"x\n"),
            ("legacy/y/z.txt", b"z\n"),
            ("stay.txt", b"s\n"),
        ],
    );
    let cfg = config(
        &sb,
        &src,
        &t(
            &a,
            "        files:\n          - {src: a.txt, dest: a.txt}\n          - {src: dummy, dest: old.txt, delete: true}\n          - {dest: absent.txt, delete: true}\n        directories:\n          - {src: dummy, dest: legacy, delete: true}\n",
        ),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let r = target(&report, "a.git");
    assert_eq!(r["files_deleted"], 3, "{r:#}");
    assert_eq!(r["files_added"], 1);
    let tree = sb.tree(&a, BRANCH);
    assert_eq!(
        tree.keys().cloned().collect::<Vec<_>>(),
        vec!["a.txt", "stay.txt"]
    );
    Ok(())
}

#[test]
fn dry_run_writes_nothing_and_lists_changes_with_sizes_and_diff() -> Result {
    let sb = Sandbox::new();
    let src = template(&sb);
    let a = sb.bare_repo("acme/a", &[("README.md", b"old readme\n")]);
    let cfg = config(
        &sb,
        &src,
        &t(
            &a,
            "        files: [{src: README.md, dest: README.md}, {src: logo.png, dest: logo.png}]\n",
        ),
    );
    let before = snapshot(&a);
    let before_src = snapshot(&src);
    let out = sb.broadcast(&[
        "sync",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--dry-run",
        "--diff",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    assert!(text.contains("modified  README.md (11 B -> "), "{text}");
    assert!(text.contains("added     logo.png ("), "{text}");
    assert!(text.contains("-old readme"), "{text}");
    assert!(text.contains("+# template"), "{text}");
    assert!(text.contains("would sync"), "{text}");
    assert_eq!(
        before,
        snapshot(&a),
        "target repository changed during a dry run"
    );
    assert_eq!(
        before_src,
        snapshot(&src),
        "source repository changed during a dry run"
    );
    Ok(())
}

#[test]
fn missing_target_fails_alone_and_exit_code_is_one() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("x", b"x\n")]);
    let missing = sb.path().join("acme/does-not-exist.git");
    let body = "        files: [{src: a.txt, dest: a.txt}]\n";
    let cfg = config(
        &sb,
        &src,
        &format!("{}{}{}", t(&a, body), t(&missing, body), t(&b, body)),
    );
    let (code, report) = sb.sync_json(&cfg, &["--jobs", "2"])?;
    assert_eq!(code, 1, "{report:#}");
    assert_eq!(target(&report, "a.git")["status"], "synced");
    assert_eq!(target(&report, "b.git")["status"], "synced");
    let m = target(&report, "does-not-exist.git");
    assert_eq!(m["status"], "failed");
    assert!(
        m["error"]
            .as_str()
            .is_some_and(|e| e.contains("does-not-exist")),
        "{m:#}"
    );
    Ok(())
}

#[test]
fn missing_source_file_fails_the_target_with_the_field_path() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &t(&a, "        files: [{src: nope.txt, dest: a.txt}]\n"),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1);
    let e = target(&report, "a.git")["error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        e.contains("groups[0].targets[0].files[0].src") && e.contains("nope.txt"),
        "{e}"
    );
    Ok(())
}

#[test]
fn transforms_never_leak_between_targets() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("f.md", b"acme/template {{NAME}}\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &format!(
            "{}{}",
            t(
                &a,
                "        transform: {repo_name: true}\n        files: [{src: f.md, dest: f.md}]\n"
            ),
            t(
                &b,
                "        transform: {variables: {NAME: bee}}\n        files: [{src: f.md, dest: f.md}]\n"
            )
        ),
    );
    let (code, _) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    assert_eq!(sb.show(&a, &format!("{BRANCH}:f.md")), b"acme/a {{NAME}}\n");
    assert_eq!(
        sb.show(&b, &format!("{BRANCH}:f.md")),
        b"acme/template bee\n"
    );
    Ok(())
}

#[test]
fn exclude_and_include_only_select_directory_files() -> Result {
    let sb = Sandbox::new();
    let src = template(&sb);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &format!(
            "{}{}",
            t(
                &a,
                "        directories: [{src: ci, dest: ci, include_only: [\"*.yml\"], include_hidden: false}]\n"
            ),
            t(
                &b,
                "        directories: [{src: ci, dest: flat, exclude: [\"*.md\", \"sub/\"], preserve_structure: false}]\n"
            )
        ),
    );
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let ta: Vec<String> = sb.tree(&a, BRANCH).into_keys().collect();
    assert_eq!(
        ta,
        vec!["ci/sub/deep.yml", "x"],
        "include_only does not prune subdirectories"
    );
    let tb: Vec<String> = sb.tree(&b, BRANCH).into_keys().collect();
    assert_eq!(
        tb,
        vec![
            "flat/.hidden.yml",
            "flat/build.sh",
            "flat/link.sh",
            "flat/scratch.out",
            "x"
        ],
        "explicit exclude replaces the defaults"
    );
    Ok(())
}

#[test]
fn group_whose_dependency_failed_is_skipped() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let yaml = format!(
        "version: 1\ngroups:\n  - {{name: second, id: second, priority: 0, depends_on: [first], source: {{repo: \"{src}\"}}, targets: [{{repo: \"{a}\", files: [{{src: a.txt, dest: b.txt}}]}}]}}\n  - {{name: first, id: first, priority: 5, source: {{repo: \"{src}\", branch: nope}}, targets: [{{repo: \"{a}\", files: [{{src: a.txt, dest: a.txt}}]}}]}}\n",
        src = src.display(),
        a = a.display()
    );
    let cfg = sb.write("sync.yaml", &yaml);
    let (code, report) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 1);
    let targets = report["targets"].as_array().ok_or("targets")?;
    assert_eq!(targets[0]["group"], "first", "dependencies run first");
    assert_eq!(targets[0]["status"], "failed");
    assert!(
        targets[0]["error"]
            .as_str()
            .unwrap_or_default()
            .contains("branch 'nope' not found"),
        "{report:#}"
    );
    assert_eq!(targets[1]["group"], "second");
    assert_eq!(targets[1]["status"], "skipped");
    Ok(())
}

#[test]
fn demo_builds_and_syncs() -> Result {
    let sb = Sandbox::new();
    let dir = sb.path().join("demo");
    let out = sb.broadcast(&["demo", "--dir", dir.to_str().ok_or("utf8")?]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("3 target(s): 3 synced"), "{text}");
    assert!(
        text.contains("3 target(s): 0 synced, 3 up to date"),
        "{text}"
    );
    let a = dir.join("acme/service-a.git");
    let tree = sb.tree(&a, "chore/sync-files-platform");
    assert_eq!(tree["scripts/check.sh"].0, "100755");
    Ok(())
}

#[test]
fn tokens_never_reach_the_report_or_stderr() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let token = "ghp_0123456789abcdefghijklmnopqrstuvwxyzAB";
    let missing = sb.path().join(format!("acme/{token}.git"));
    let cfg = config(
        &sb,
        &src,
        &t(&missing, "        files: [{src: a.txt, dest: a.txt}]\n"),
    );
    let report_path = sb.path().join("out/report.json");
    std::fs::create_dir_all(sb.path().join("out"))?;
    let out = sb.broadcast(&[
        "sync",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--report",
        report_path.to_str().ok_or("utf8")?,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report = std::fs::read_to_string(&report_path)?;
    for text in [&*stdout, &*stderr, &report] {
        assert!(!text.contains(token), "token leaked:\n{text}");
    }
    assert!(
        report.contains("ghp_"),
        "the error still says what failed: {report}"
    );
    Ok(())
}

#[test]
fn profile_flag_writes_a_cpu_profile_and_report() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let cfg = config(
        &sb,
        &src,
        &t(&a, "        files: [{src: a.txt, dest: a.txt}]\n"),
    );
    let dir = sb.path().join("profile");
    let out = sb.broadcast(&[
        "sync",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--profile",
        dir.to_str().ok_or("utf8")?,
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = std::fs::read_to_string(dir.join("report.txt"))?;
    assert!(report.to_lowercase().contains("alloc"), "{report}");
    assert!(dir.join("allocations.json").exists());
    Ok(())
}

#[test]
fn status_reports_behind_pending_merge_and_in_sync() -> Result {
    let sb = Sandbox::new();
    let src = sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    let a = sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let b = sb.bare_repo("acme/b", &[("a.txt", b"a\n")]);
    let body = "        files: [{src: a.txt, dest: a.txt}]\n";
    let cfg = config(&sb, &src, &format!("{}{}", t(&a, body), t(&b, body)));
    let status = |sb: &Sandbox| -> Result<String> {
        let out = sb.broadcast(&["status", "--config", cfg.to_str().ok_or("utf8")?]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(String::from_utf8(out.stdout)?)
    };
    let snap = snapshot(&a);
    let before = status(&sb)?;
    assert_eq!(snap, snapshot(&a), "status writes nothing");
    let line = |text: &str, repo: &str| {
        text.lines()
            .find(|l| l.contains(repo))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line(&before, "a.git").contains("behind: 1 file(s) differ"),
        "{before}"
    );
    assert!(line(&before, "b.git").contains("in sync"), "{before}");
    let (code, _) = sb.sync_json(&cfg, &[])?;
    assert_eq!(code, 0);
    let after = status(&sb)?;
    assert!(line(&after, "a.git").contains("pending merge"), "{after}");
    Ok(())
}

#[test]
fn relative_paths_resolve_against_the_config_and_the_hint_is_absolute() -> Result {
    let sb = Sandbox::new();
    sb.work_repo("acme/template", &[("a.txt", b"a\n")]);
    sb.bare_repo("acme/a", &[("x", b"x\n")]);
    let cfg = sb.write(
        "sync.yaml",
        "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {repo: ./acme/template}\n    targets:\n      - repo: ./acme/a.git\n        files: [{src: a.txt, dest: a.txt}]\n",
    );
    // Run from another directory: paths still resolve against the config file.
    let elsewhere = sb.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere)?;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_broadcast"))
        .args(["sync", "--config", cfg.to_str().ok_or("utf8")?])
        .current_dir(&elsewhere)
        .env("HOME", sb.path().join("home"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .output()?;
    let text = String::from_utf8(out.stdout)?;
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hint = text
        .lines()
        .find_map(|l| l.strip_prefix("Inspect a synced branch: git -C "))
        .ok_or("no hint")?;
    let repo = hint.split(" log ").next().ok_or("no path")?;
    assert!(
        Path::new(repo).is_absolute() && !repo.contains("/./"),
        "{repo}"
    );
    assert!(sb.rev(Path::new(repo), BRANCH).is_some());
    Ok(())
}
