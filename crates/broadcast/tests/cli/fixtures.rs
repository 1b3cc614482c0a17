//! Test fixtures: isolated git environment, template and target repositories, running the binary.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::Result;

/// One test's sandbox: a temp dir with its own HOME and no host git config.
pub(crate) struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// A `git` first on PATH that appends its arguments to `log` and, when one of them is
    /// `trigger`, first runs `then` (a shell command line) with the real git as `$GIT`.
    /// Returns the PATH to use.
    #[cfg(unix)]
    pub(crate) fn git_wrapper(&self, log: &Path, trigger: &str, then: &str) -> Result<String> {
        use std::os::unix::fs::PermissionsExt;
        let real_git = String::from_utf8(
            std::process::Command::new("sh")
                .args(["-c", "command -v git"])
                .output()?
                .stdout,
        )?;
        let bin = self.path().join("bin");
        std::fs::create_dir_all(&bin)?;
        let wrapper = bin.join("git");
        std::fs::write(
            &wrapper,
            format!(
                "#!/bin/sh\nGIT=\"{git}\"\necho \"$*\" >> \"{log}\"\nfor a in \"$@\"; do\n  if [ \"$a\" = \"{trigger}\" ]; then\n    {then}\n  fi\ndone\nexec \"$GIT\" \"$@\"\n",
                git = real_git.trim(),
                log = log.display(),
            ),
        )?;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755))?;
        Ok(format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        ))
    }

    /// `broadcast sync --json` with `path` as PATH: (exit code, report).
    pub(crate) fn sync_with_path(
        &self,
        cfg: &Path,
        path: &str,
    ) -> Result<(i32, serde_json::Value)> {
        let out = self
            .broadcast_command(&["sync", "--config", cfg.to_str().ok_or("utf8")?, "--json"])
            .env("PATH", path)
            .output()?;
        let report = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("{e}: stderr={}", String::from_utf8_lossy(&out.stderr)))?;
        Ok((out.status.code().unwrap_or(-1), report))
    }

    pub(crate) fn new() -> Sandbox {
        let dir = tempfile::Builder::new()
            .prefix("broadcast-test-")
            .tempdir()
            .expect("temp dir");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        Sandbox { dir }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("HOME", self.path().join("home"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env_remove("GIT_CONFIG_GLOBAL")
            .env("GIT_AUTHOR_NAME", "Test Author")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "Test Author")
            .env("GIT_COMMITTER_EMAIL", "author@example.com")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env_remove("GH_TOKEN")
            .env_remove("GITHUB_TOKEN");
    }

    /// Runs git in `dir`; panics with stderr on failure.
    pub(crate) fn git(&self, dir: &Path, args: &[&str]) -> String {
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(dir);
        self.env(&mut cmd);
        let out = cmd.output().expect("run git");
        assert!(
            out.status.success(),
            "git {args:?} in {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Bytes of `git show REV:PATH` in a repository.
    pub(crate) fn show(&self, repo: &Path, rev_path: &str) -> Vec<u8> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(repo).args(["show", rev_path]);
        self.env(&mut cmd);
        let out = cmd.output().expect("run git");
        assert!(
            out.status.success(),
            "git show {rev_path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// `git rev-parse` of a ref, `None` when it does not exist.
    pub(crate) fn rev(&self, repo: &Path, rev: &str) -> Option<String> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir")
            .arg(repo)
            .args(["rev-parse", "--verify", "--quiet", rev]);
        self.env(&mut cmd);
        let out = cmd.output().expect("run git");
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
    }

    /// `ls-tree -r` of a ref: path -> (mode, oid).
    pub(crate) fn tree(&self, repo: &Path, rev: &str) -> BTreeMap<String, (String, String)> {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir")
            .arg(repo)
            .args(["ls-tree", "-r", "-z", rev]);
        self.env(&mut cmd);
        let out = cmd.output().expect("run git");
        assert!(out.status.success(), "ls-tree {rev}");
        out.stdout
            .split(|b| *b == 0)
            .filter(|r| !r.is_empty())
            .map(|r| {
                let s = String::from_utf8_lossy(r);
                let (meta, path) = s.split_once('\t').expect("tab");
                let f: Vec<&str> = meta.split(' ').collect();
                (path.to_owned(), (f[0].to_owned(), f[2].to_owned()))
            })
            .collect()
    }

    /// Creates a work-tree repository at `name` with `files` (path -> bytes) committed on `main`.
    pub(crate) fn work_repo(&self, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let dir = self.path().join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        self.git(&dir, &["init", "-q", "-b", "main"]);
        self.commit_files(&dir, files, "initial");
        dir
    }

    /// Writes files into a work tree and commits them.
    pub(crate) fn commit_files(&self, dir: &Path, files: &[(&str, &[u8])], msg: &str) {
        for (p, data) in files {
            let path = dir.join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, data).expect("write");
        }
        self.git(dir, &["add", "-A"]);
        self.git(dir, &["commit", "-q", "--allow-empty", "-m", msg]);
    }

    /// A bare target repository `name`.git with `files` on `main`.
    pub(crate) fn bare_repo(&self, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let work = self.work_repo(&format!("work-{name}"), files);
        let bare = self.path().join(format!("{name}.git"));
        self.git(
            self.path(),
            &[
                "clone",
                "-q",
                "--bare",
                &work.display().to_string(),
                &bare.display().to_string(),
            ],
        );
        std::fs::remove_dir_all(&work).expect("rm work");
        bare
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.path().join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    /// Writes `sync.yaml`: one group `g` (id `g`) from `source`'s `main` branch to `targets`, a
    /// YAML list body made of [`target_entry`] items.
    pub(crate) fn one_group_config(&self, source: &Path, targets: &str) -> PathBuf {
        let yaml = format!(
            "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: \"{}\", branch: main}}\n    targets:\n{targets}",
            source.display()
        );
        self.write("sync.yaml", &yaml)
    }

    /// Runs the broadcast binary with `args` in the sandbox.
    pub(crate) fn broadcast(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_broadcast"));
        cmd.args(args).current_dir(self.path());
        self.env(&mut cmd);
        cmd.output().expect("run broadcast")
    }

    /// The broadcast command with the sandbox's environment, not started (for tests that set
    /// more environment, or signal the running process).
    pub(crate) fn broadcast_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_broadcast"));
        cmd.args(args).current_dir(self.path());
        self.env(&mut cmd);
        cmd
    }

    /// Runs `broadcast sync --config CONFIG --json [extra]` and returns (exit code, JSON).
    pub(crate) fn sync_json(
        &self,
        config: &Path,
        extra: &[&str],
    ) -> Result<(i32, serde_json::Value)> {
        let mut args = vec!["sync", "--config", config.to_str().ok_or("utf8")?, "--json"];
        args.extend_from_slice(extra);
        let out = self.broadcast(&args);
        let code = out.status.code().unwrap_or(-1);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| {
            format!(
                "{e}: stdout={} stderr={}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        Ok((code, v))
    }
}

/// One `targets:` item of [`Sandbox::one_group_config`]: `repo` with `body` (its mapping lines,
/// indented 8 spaces).
pub(crate) fn target_entry(repo: &Path, body: &str) -> String {
    format!("      - repo: \"{}\"\n{body}", repo.display())
}

/// Every file under `dir` with its bytes: proves a directory was not touched.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let e = e.expect("entry");
            let ft = e.file_type().expect("file type");
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                out.insert(e.path(), std::fs::read(e.path()).expect("read"));
            }
        }
    }
    out
}

/// The report of `target` (matched by suffix of the configured repo string).
pub(crate) fn target<'a>(report: &'a serde_json::Value, suffix: &str) -> &'a serde_json::Value {
    report["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .find(|t| t["target"].as_str().is_some_and(|s| s.ends_with(suffix)))
        .unwrap_or_else(|| panic!("no target {suffix} in {report:#}"))
}
