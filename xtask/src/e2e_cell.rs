//! The repositories of one e2e grid cell (source work tree, bare target template, targets)
//! and the runs on them: `broadcast sync` and the reference shell workflow.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;
use xshell::{Shell, cmd};

use crate::flags::E2eOptions;

use super::{BRANCH, Sample};

/// A shell whose git sees no host configuration: temp HOME, no system config,
/// fixed author and committer.
pub(crate) fn fixture_shell(tmp: &Path) -> anyhow::Result<Shell> {
    let fx = Shell::new().context("opening the fixture shell")?;
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).with_context(|| format!("creating {}", home.display()))?;
    fx.change_dir(tmp);
    fx.set_var("HOME", &home);
    fx.set_var("XDG_CONFIG_HOME", home.join(".config"));
    fx.set_var("GIT_CONFIG_NOSYSTEM", "1");
    for (k, v) in [
        ("GIT_AUTHOR_NAME", "Bench Author"),
        ("GIT_AUTHOR_EMAIL", "author@example.com"),
        ("GIT_COMMITTER_NAME", "Bench Committer"),
        ("GIT_COMMITTER_EMAIL", "committer@example.com"),
        ("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z"),
        ("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z"),
    ] {
        fx.set_var(k, v);
    }
    Ok(fx)
}

/// The repositories of one grid cell.
pub(crate) struct Cell {
    pub(super) dir: PathBuf,
    pub(super) source: PathBuf,
    pub(super) template: PathBuf,
    pub(super) targets: Vec<PathBuf>,
    pub(super) files: usize,
    pub(crate) config: PathBuf,
    pub(super) base_commit: String,
    pub(super) generation: std::cell::Cell<u64>,
}

impl Cell {
    /// Generates the source work tree (F files under `files/`, 50 per directory,
    /// about 1 KiB of text each) and a bare target template with a `main` branch.
    pub(crate) fn create(
        fx: &Shell,
        dir: &Path,
        targets: usize,
        files: usize,
    ) -> anyhow::Result<Cell> {
        let source = dir.join("source");
        std::fs::create_dir_all(&source)
            .with_context(|| format!("creating {}", source.display()))?;
        cmd!(fx, "git init -q -b main {source}").quiet().run()?;
        for i in 0..files {
            let path = source.join(file_path(i));
            std::fs::create_dir_all(path.parent().expect("file paths have a directory"))?;
            std::fs::write(&path, file_content(i, 0))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        cmd!(fx, "git -C {source} add -A").quiet().run()?;
        cmd!(fx, "git -C {source} commit -q -m 'template files'")
            .quiet()
            .run()?;
        let base_commit = cmd!(fx, "git -C {source} rev-parse HEAD").quiet().read()?;

        let seed = seed_repo(fx, dir)?;
        let template = dir.join("template.git");
        cmd!(fx, "git clone -q --bare {seed} {template}")
            .quiet()
            .run()?;
        cmd!(
            fx,
            "git --git-dir={template} config uploadpack.allowFilter true"
        )
        .run()?;
        cmd!(
            fx,
            "git --git-dir={template} config uploadpack.allowAnySHA1InWant true"
        )
        .run()?;
        cmd!(fx, "git --git-dir={template} remote remove origin")
            .ignore_status()
            .quiet()
            .run()?;

        let targets: Vec<PathBuf> = (0..targets)
            .map(|i| dir.join(format!("targets/t{i:02}.git")))
            .collect();
        let mut yaml = format!(
            "version: 1\ngroups:\n  - name: bench\n    id: bench\n    source: {{ repo: {}, branch: main }}\n    targets:\n",
            source.display()
        );
        for t in &targets {
            yaml.push_str(&format!(
                "      - repo: {}\n        directories:\n          - src: files\n            dest: files\n",
                t.display()
            ));
        }
        let config = dir.join("sync.yaml");
        std::fs::write(&config, yaml).with_context(|| format!("writing {}", config.display()))?;
        Ok(Cell {
            dir: dir.to_path_buf(),
            source,
            template,
            targets,
            files,
            config,
            base_commit,
            generation: std::cell::Cell::new(0),
        })
    }

    /// Fresh targets and the source back at its first commit.
    pub(crate) fn reset(&self, fx: &Shell) -> anyhow::Result<()> {
        let targets_dir = self.dir.join("targets");
        if targets_dir.exists() {
            std::fs::remove_dir_all(&targets_dir)?;
        }
        for t in &self.targets {
            copy_dir(&self.template, t)?;
        }
        let source = &self.source;
        let base = &self.base_commit;
        cmd!(fx, "git -C {source} reset -q --hard {base}")
            .quiet()
            .run()?;
        Ok(())
    }

    /// Changes every tenth file of the source (at least one) and commits.
    pub(crate) fn advance_source(&self, fx: &Shell) -> anyhow::Result<()> {
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        for i in (0..self.files).step_by(10) {
            std::fs::write(self.source.join(file_path(i)), file_content(i, generation))?;
        }
        let source = &self.source;
        cmd!(
            fx,
            "git -C {source} commit -q -a -m 'update template files'"
        )
        .run()?;
        Ok(())
    }

    pub(super) fn broadcast(
        &self,
        fx: &Shell,
        bin: &Path,
        jobs: Option<usize>,
        run: &str,
        time_bin: Option<&Path>,
    ) -> anyhow::Result<Sample> {
        let config = &self.config;
        let jobs: Vec<String> = jobs
            .map(|j| vec!["--jobs".to_owned(), j.to_string()])
            .unwrap_or_default();
        let rss_file = self.dir.join("rss.txt");
        let start = Instant::now();
        let output = match time_bin {
            Some(time) => cmd!(
                fx,
                "{time} -f %M -o {rss_file} {bin} sync --config {config} {jobs...} --json"
            ),
            None => cmd!(fx, "{bin} sync --config {config} {jobs...} --json"),
        }
        .ignore_status()
        .quiet()
        .output()
        .with_context(|| format!("starting {}", bin.display()))?;
        let wall = start.elapsed();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let report: Value = serde_json::from_str(&stdout).with_context(|| {
            format!(
                "broadcast sync ({run}) printed no JSON report; exit {:?}, stderr: {}",
                output.status.code(),
                tail(&String::from_utf8_lossy(&output.stderr))
            )
        })?;
        // A re-run writes nothing: `in_sync` (base branch already has the content) or
        // `up_to_date` (the sync branch already carries it), per broadcast's TargetStatus.
        let expected: &[&str] = if run == "rerun" {
            &["in_sync", "up_to_date"]
        } else {
            &["synced"]
        };
        let targets = report["targets"]
            .as_array()
            .context("report has no targets array")?;
        if targets.len() != self.targets.len() {
            bail!(
                "broadcast sync ({run}) reported {} targets, expected {}",
                targets.len(),
                self.targets.len()
            );
        }
        let mut git_spawns = 0;
        for t in targets {
            if !expected.iter().any(|e| t["status"] == *e) {
                bail!(
                    "broadcast sync ({run}): target {} is {} (expected {expected:?}), error {}",
                    t["target"],
                    t["status"],
                    t["error"]
                );
            }
            git_spawns += t["git_spawns"].as_u64().unwrap_or(0);
        }
        if !output.status.success() {
            bail!(
                "broadcast sync ({run}) exited with {:?}",
                output.status.code()
            );
        }
        let peak_rss_bytes = time_bin
            .and_then(|_| std::fs::read_to_string(&rss_file).ok())
            .and_then(|s| s.lines().last().and_then(|l| l.trim().parse::<u64>().ok()))
            .map(|kib| kib * 1024);
        Ok(Sample {
            wall,
            git_spawns,
            peak_rss_bytes,
        })
    }

    /// The reference shell workflow, one target after another.
    pub(super) fn reference(&self, fx: &Shell, run: &str) -> anyhow::Result<Sample> {
        let work_root = self.dir.join("reference");
        let source_files = self.source.join("files");
        let mut git_spawns = 0;
        let mut wall = Duration::ZERO;
        for (i, target) in self.targets.iter().enumerate() {
            let work = work_root.join(format!("w{i:02}"));
            let url = format!("file://{}", target.display());
            let start = Instant::now();
            if run == "first-sync" {
                cmd!(fx, "git clone -q --depth 1 {url} {work}")
                    .quiet()
                    .run()?;
                cmd!(fx, "git -C {work} checkout -q -b {BRANCH}")
                    .quiet()
                    .run()?;
                git_spawns += 2;
            } else {
                cmd!(fx, "git clone -q --depth 1 --branch {BRANCH} {url} {work}")
                    .quiet()
                    .run()?;
                git_spawns += 1;
            }
            let dest = work.join("files");
            if dest.exists() {
                std::fs::remove_dir_all(&dest)?;
            }
            copy_dir(&source_files, &dest)?;
            cmd!(fx, "git -C {work} add -A").quiet().run()?;
            git_spawns += 1;
            let unchanged = if run == "first-sync" {
                false
            } else {
                git_spawns += 1;
                cmd!(fx, "git -C {work} diff --cached --quiet")
                    .quiet()
                    .run()
                    .is_ok()
            };
            if !unchanged {
                cmd!(fx, "git -C {work} commit -q -m 'chore: sync files'")
                    .quiet()
                    .run()?;
                cmd!(fx, "git -C {work} push -q origin HEAD:refs/heads/{BRANCH}")
                    .quiet()
                    .run()?;
                git_spawns += 2;
            }
            wall += start.elapsed();
            std::fs::remove_dir_all(&work)?;
        }
        if run == "rerun" {
            // The rerun must find nothing to do, like broadcast's `in_sync`.
            let expected = 3 * self.targets.len() as u64;
            if git_spawns != expected {
                bail!(
                    "reference rerun committed something: {git_spawns} git commands, expected {expected}"
                );
            }
        }
        Ok(Sample {
            wall,
            git_spawns,
            peak_rss_bytes: None,
        })
    }
}

pub(super) fn file_path(i: usize) -> PathBuf {
    PathBuf::from(format!("files/d{:02}/f{i:04}.txt", i / 50))
}

/// About 1 KiB of text that differs per file and per source generation.
pub(super) fn file_content(i: usize, generation: u64) -> String {
    let mut s = format!("# file {i}, generation {generation}\n");
    for line in 0..16 {
        s.push_str(&format!(
            "line {line:02} of file {i:04}: the quick brown fox jumps over the lazy dog {}\n",
            (i * 31 + line) % 97
        ));
    }
    s
}

pub(crate) fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let dest = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest).with_context(|| {
                format!("copying {} to {}", entry.path().display(), dest.display())
            })?;
        }
    }
    Ok(())
}

pub(super) fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(5)..].join(" | ")
}

/// `--broadcast PATH`, else `cargo build --release -p broadcast`.
pub(crate) fn locate_broadcast(sh: &Shell, opts: &E2eOptions) -> anyhow::Result<PathBuf> {
    if let Some(path) = &opts.broadcast {
        let path = PathBuf::from(path);
        if !path.exists() {
            bail!("--broadcast {} does not exist", path.display());
        }
        return Ok(path);
    }
    let cargo = crate::cargo();
    eprintln!("e2e: cargo build --release -p broadcast");
    cmd!(
        sh,
        "{cargo} build -q --release -p broadcast --bin broadcast"
    )
    .run()
    .context("building target/release/broadcast failed")?;
    let path = sh.current_dir().join("target/release/broadcast");
    if !path.exists() {
        bail!("{} missing after the build", path.display());
    }
    Ok(path)
}

/// `dir/seed`: a work tree whose `main` holds one commit with a README, the starting point of
/// every target.
pub(crate) fn seed_repo(fx: &Shell, dir: &Path) -> anyhow::Result<PathBuf> {
    let seed = dir.join("seed");
    cmd!(fx, "git init -q -b main {seed}").quiet().run()?;
    std::fs::write(seed.join("README.md"), "# target\n")?;
    cmd!(fx, "git -C {seed} add -A").quiet().run()?;
    cmd!(fx, "git -C {seed} commit -q -m 'initial commit'")
        .quiet()
        .run()?;
    Ok(seed)
}
