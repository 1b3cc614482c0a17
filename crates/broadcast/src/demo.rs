//! `broadcast demo`: a template repository, three targets and a config, built in a directory,
//! then a real sync.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use crate::Outcome;

/// A 1×1 PNG (binary content that must arrive byte for byte).
const LOGO_PNG: &[u8] = &[
    0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1F, 0x15, 0xC4,
    0x89, 0x00, 0x00, 0x00, 0x0D, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9C, 0x63, 0xF8, 0xCF, 0xC0, 0xF0,
    0x1F, 0x00, 0x05, 0x00, 0x01, 0xFF, 0x89, 0x99, 0x3D, 0x1D, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82,
];

const TEMPLATE_FILES: &[(&str, &str)] = &[
    (
        ".github/workflows/ci.yml",
        "name: ci\non: [push, pull_request]\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: make test\n      - run: echo \"testing acme/template\"\n",
    ),
    (
        "Makefile",
        ".PHONY: test lint\n\ntest:\n\t./scripts/check.sh\n\nlint:\n\t@echo \"lint {{SERVICE_NAME}}\"\n",
    ),
    (
        "README.md",
        "# template\n\n[![ci](https://github.com/acme/template/actions/workflows/ci.yml/badge.svg)](https://github.com/acme/template/actions)\n[![codecov](https://codecov.io/gh/acme/template/branch/main/graph/badge.svg)](https://codecov.io/gh/acme/template)\n\n`{{SERVICE_NAME}}` is maintained by the platform team.\nClone it with `git clone https://github.com/acme/template`.\n\nReport security issues to security@acme.example.\n",
    ),
    (
        ".editorconfig",
        "root = true\n\n[*]\nend_of_line = lf\ninsert_final_newline = true\n",
    ),
    (
        "docs/CONTRIBUTING.md",
        "# Contributing to acme/template\r\n\r\nThis file uses CRLF line endings, and keeps them.\r\n",
    ),
];

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "Demo Author")
        .env("GIT_AUTHOR_EMAIL", "demo@acme.example")
        .env("GIT_COMMITTER_NAME", "Demo Author")
        .env("GIT_COMMITTER_EMAIL", "demo@acme.example")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed in {}: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn write(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).with_context(|| format!("cannot create {}", p.display()))?;
    }
    std::fs::write(path, data).with_context(|| format!("cannot write {}", path.display()))
}

/// Builds the demo in `dir` and returns the config path.
pub fn build(dir: &Path) -> anyhow::Result<PathBuf> {
    let acme = dir.join("acme");
    if acme.exists() {
        bail!(
            "{} already exists: choose an empty directory with --dir",
            acme.display()
        );
    }
    let template = acme.join("template");
    std::fs::create_dir_all(&template)
        .with_context(|| format!("cannot create {}", template.display()))?;
    git(&template, &["init", "-q", "-b", "main"])?;
    for (path, text) in TEMPLATE_FILES {
        write(&template.join(path), text.as_bytes())?;
    }
    write(&template.join("assets/logo.png"), LOGO_PNG)?;
    write(
        &template.join("scripts/check.sh"),
        b"#!/bin/sh\nset -eu\necho \"checks pass for acme/template\"\n",
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            template.join("scripts/check.sh"),
            std::fs::Permissions::from_mode(0o755),
        )
        .context("cannot make scripts/check.sh executable")?;
    }
    git(&template, &["add", "-A"])?;
    git(
        &template,
        &["commit", "-q", "-m", "template: initial files"],
    )?;

    for (name, readme) in [
        ("service-a", "# service-a\n\nAn existing service.\n"),
        ("service-b", "# service-b\n"),
        ("service-c", "# service-c\n"),
    ] {
        let work = dir.join(".work").join(name);
        std::fs::create_dir_all(&work)
            .with_context(|| format!("cannot create {}", work.display()))?;
        git(&work, &["init", "-q", "-b", "main"])?;
        write(&work.join("README.md"), readme.as_bytes())?;
        write(
            &work.join("src/main.go"),
            b"package main\n\nfunc main() {}\n",
        )?;
        if name == "service-c" {
            // An outdated copy of the workflow: it will be updated, not duplicated.
            write(
                &work.join(".github/workflows/ci.yml"),
                b"name: ci\non: [push]\n",
            )?;
        }
        git(&work, &["add", "-A"])?;
        git(&work, &["commit", "-q", "-m", "initial commit"])?;
        let bare = acme.join(format!("{name}.git"));
        git(
            dir,
            &[
                "clone",
                "-q",
                "--bare",
                &work.display().to_string(),
                &bare.display().to_string(),
            ],
        )?;
    }
    std::fs::remove_dir_all(dir.join(".work")).context("cannot remove the demo's work trees")?;

    let config = r#"version: 1
groups:
  - name: "Platform files"
    id: "platform"
    source:
      repo: "./acme/template"
      branch: "main"
      security_email: "security@acme.example"
    targets:
      - repo: "./acme/service-a.git"
        files:
          - src: "README.md"
            dest: "README.md"
          - src: "Makefile"
            dest: "Makefile"
        directories:
          # Each mapping has its own transform: the target-level one below covers `files`.
          - src: ".github"
            dest: ".github"
            transform:
              repo_name: true
          - src: "scripts"
            dest: "scripts"
            transform: {}   # copied as is
          - src: "assets"
            dest: "assets"
            transform: {}
        transform:
          repo_name: true
          variables:
            SERVICE_NAME: "service-a"
      - repo: "./acme/service-b.git"
        security_email: "psirt@service-b.example"
        files:
          - src: "Makefile"
            dest: "Makefile"
          - src: "docs/CONTRIBUTING.md"
            dest: "CONTRIBUTING.md"
          - src: "README.md"
            dest: "docs/TEMPLATE.md"
        directories:
          - src: "scripts"
            dest: "scripts"
            transform: {}
        transform:
          repo_name: true
          variables:
            SERVICE_NAME: "service-b"
      - repo: "./acme/service-c.git"
        directories:
          - src: ".github/workflows"
            dest: ".github/workflows"
            transform:
              repo_name: true
        files:
          - src: ".editorconfig"
            dest: ".editorconfig"
"#;
    let config_path = dir.join("sync.yaml");
    broadcast_stream_io::atomic_write_bytes(&config_path, config.as_bytes())
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    Ok(config_path)
}

/// `broadcast demo`: build, dry-run, sync, sync again, and say where to look.
pub fn run(dir: Option<&Path>) -> anyhow::Result<Outcome> {
    let dir = match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            std::path::absolute(d).unwrap_or_else(|_| d.to_path_buf())
        }
        None => tempfile::Builder::new()
            .prefix("broadcast-demo-")
            .tempdir()
            .context("cannot create a temporary directory")?
            .keep(),
    };
    let config = build(&dir)?;
    // Printed once at the end, through the redactor, like every other output.
    let mut out = String::new();
    let _ = writeln!(out, "Demo built in {}", dir.display());
    let _ = writeln!(
        out,
        "  template: acme/template (work tree), targets: acme/service-{{a,b,c}}.git (bare)"
    );
    let _ = writeln!(out, "  config:   {}\n", config.display());

    let loaded = crate::config::load(&config)?;
    let plan = crate::plan::build(&loaded.config, &loaded.base_dir, &Default::default())?;

    let _ = writeln!(
        out,
        "$ broadcast sync --config {} --dry-run",
        config.display()
    );
    let dry = crate::sync::run(
        &plan,
        &crate::sync::SyncOptions {
            dry_run: true,
            ..Default::default()
        },
    )?;
    out.push_str(&crate::output::render_changes(&dry, false));
    out.push_str(&crate::output::render_table(&dry));

    let _ = writeln!(out, "\n$ broadcast sync --config {}", config.display());
    let real = crate::sync::run(&plan, &Default::default())?;
    out.push_str(&crate::output::render_table(&real));

    let _ = writeln!(
        out,
        "\n$ broadcast sync --config {}   # again: nothing to do",
        config.display()
    );
    let again = crate::sync::run(&plan, &Default::default())?;
    out.push_str(&crate::output::render_table(&again));

    let a = dir.join("acme/service-a.git");
    let _ = writeln!(out, "\nWhere to look:");
    let _ = writeln!(
        out,
        "  git --git-dir {} log --stat chore/sync-files-platform -1",
        a.display()
    );
    let _ = writeln!(
        out,
        "  git --git-dir {} show chore/sync-files-platform:README.md",
        a.display()
    );
    let _ = writeln!(
        out,
        "  git --git-dir {} ls-tree -r chore/sync-files-platform   # modes: 100755 scripts/check.sh",
        a.display()
    );
    let _ = writeln!(
        out,
        "  then edit {}/acme/template, commit, and run: broadcast sync --config {}",
        dir.display(),
        config.display()
    );
    crate::output::print(&out)?;
    Ok(if real.has_failures() || again.has_failures() {
        Outcome::TargetsFailed
    } else {
        Outcome::Success
    })
}
