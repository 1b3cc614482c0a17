//! The large-file scenario of `cargo xtask e2e --large MIB`: three binary files of MIB MiB and
//! one text file of MIB*40/150 MiB holding a template variable, synced to two local targets
//! (first sync, then a re-run with nothing to do). Reported per run: wall time, broadcast's own
//! peak RSS (`VmHWM` of /proc/<pid>/status, polled while it runs), and the peak RSS of every
//! git process it started (a `git` wrapper first on PATH runs each under `/usr/bin/time -f %M`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use xshell::{Shell, cmd};

use super::{fixture_shell, locate_broadcast};
use crate::flags::E2eOptions;
use crate::table::{self, Table};

const BRANCH: &str = "chore/sync-files-large";
/// Environment of the fixture shell, repeated for the directly spawned broadcast.
const FIXTURE_ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Bench Author"),
    ("GIT_AUTHOR_EMAIL", "author@example.com"),
    ("GIT_COMMITTER_NAME", "Bench Committer"),
    ("GIT_COMMITTER_EMAIL", "committer@example.com"),
];

/// Runs the scenario; entries keyed `e2e-large/<run>/<MIB>mib-2targets`.
pub(crate) fn run_large(
    sh: &Shell,
    opts: &E2eOptions,
    mib: usize,
) -> anyhow::Result<Map<String, Value>> {
    let bin = locate_broadcast(sh, opts)?;
    let tmp = std::env::temp_dir().join(format!("broadcast-e2e-large-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    let fx = fixture_shell(&tmp)?;
    let fixture = Fixture::create(&fx, &tmp, mib)?;
    let mut results = Map::new();
    for run in ["first-sync", "rerun"] {
        let m = fixture.sync(&bin, run)?;
        results.insert(format!("e2e-large/{run}/{mib}mib-2targets"), m);
    }
    fixture.verify(&fx)?;
    if opts.keep {
        eprintln!("e2e: repositories kept in {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    println!("{}", render(&results));
    Ok(results)
}

struct Fixture {
    dir: PathBuf,
    home: PathBuf,
    config: PathBuf,
    targets: Vec<PathBuf>,
    source: PathBuf,
    wrapper_dir: Option<PathBuf>,
}

/// `len` bytes of xorshift noise (incompressible, like a real binary asset).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// About `len` bytes of text lines, each holding the `{{SERVICE_NAME}}` variable.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 100);
    let mut i = 0u64;
    while out.len() < len {
        let _ = writeln!(out, "line {i:09}: service {{{{SERVICE_NAME}}}} runs here");
        i += 1;
    }
    out
}

impl Fixture {
    fn create(fx: &Shell, dir: &Path, mib: usize) -> anyhow::Result<Fixture> {
        let source = dir.join("source");
        std::fs::create_dir_all(source.join("bin"))?;
        cmd!(fx, "git init -q -b main {source}").quiet().run()?;
        for i in 0..3u64 {
            let path = source.join(format!("bin/asset{i}.bin"));
            std::fs::write(&path, noise(mib << 20, 0x9e37_79b9 + i))
                .with_context(|| format!("writing {}", path.display()))?;
        }
        std::fs::write(source.join("config.txt"), text((mib << 20) * 40 / 150))?;
        cmd!(fx, "git -C {source} -c core.compression=0 add -A")
            .quiet()
            .run()?;
        cmd!(fx, "git -C {source} commit -q -m 'large files'")
            .quiet()
            .run()?;
        let seed = super::cell::seed_repo(fx, dir)?;
        let mut targets = Vec::new();
        let mut yaml = format!(
            "version: 1\ngroups:\n  - name: large\n    id: large\n    source: {{ repo: {}, branch: main }}\n    targets:\n",
            source.display()
        );
        for i in 0..2 {
            let t = dir.join(format!("t{i}.git"));
            cmd!(fx, "git clone -q --bare {seed} {t}").quiet().run()?;
            yaml.push_str(&format!(
                "      - repo: {}\n        files:\n          - {{ src: bin/asset0.bin, dest: bin/asset0.bin }}\n          - {{ src: bin/asset1.bin, dest: bin/asset1.bin }}\n          - {{ src: bin/asset2.bin, dest: bin/asset2.bin }}\n          - {{ src: config.txt, dest: config.txt }}\n        transform: {{ variables: {{ SERVICE_NAME: service-{i} }} }}\n",
                t.display()
            ));
            targets.push(t);
        }
        let config = dir.join("sync.yaml");
        std::fs::write(&config, yaml)?;
        let wrapper_dir = Path::new("/usr/bin/time")
            .exists()
            .then(|| git_wrapper(dir))
            .transpose()?;
        Ok(Fixture {
            dir: dir.to_path_buf(),
            home: dir.join("home"),
            config,
            targets,
            source,
            wrapper_dir,
        })
    }

    /// One `broadcast sync --json` run, measured.
    fn sync(&self, bin: &Path, run: &str) -> anyhow::Result<Value> {
        let log = self.dir.join(format!("git-rss-{run}.txt"));
        let mut cmd = Command::new(bin);
        cmd.args(["sync", "--config"])
            .arg(&self.config)
            .arg("--json")
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("GIT_RSS_LOG", &log)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in FIXTURE_ENV {
            cmd.env(k, v);
        }
        if let Some(w) = &self.wrapper_dir {
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", w.display()));
        }
        let start = Instant::now();
        let child = cmd.spawn().context("starting broadcast")?;
        let status_file = PathBuf::from(format!("/proc/{}/status", child.id()));
        let mut peak_kib = 0u64;
        let waiter = std::thread::spawn(move || child.wait_with_output());
        while !waiter.is_finished() {
            if let Some(kib) = vm_hwm_kib(&status_file) {
                peak_kib = peak_kib.max(kib);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let out = waiter
            .join()
            .map_err(|_| anyhow::anyhow!("waiter panicked"))??;
        let wall = start.elapsed();
        let report: Value = serde_json::from_slice(&out.stdout).with_context(|| {
            format!(
                "broadcast printed no report: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
        let want = if run == "rerun" {
            "up_to_date"
        } else {
            "synced"
        };
        for t in report["targets"].as_array().context("targets")? {
            if t["status"] != want {
                bail!(
                    "{run}: target {} is {} ({})",
                    t["target"],
                    t["status"],
                    t["error"]
                );
            }
        }
        let children = std::fs::read_to_string(&log).unwrap_or_default();
        let (git_peak, git_cmd, git_count) = largest_child(&children);
        Ok(json!({
            "kind": "e2e",
            "median_ns": wall.as_nanos() as f64,
            "ci_lower_ns": wall.as_nanos() as f64,
            "ci_upper_ns": wall.as_nanos() as f64,
            "runs": 1,
            "targets": self.targets.len(),
            "peak_rss_bytes": peak_kib * 1024,
            "git_peak_rss_bytes": git_peak * 1024,
            "git_peak_rss_command": git_cmd,
            "git_processes": git_count,
        }))
    }

    /// The targets hold the source's binary blobs unchanged and the text with its variable
    /// replaced.
    fn verify(&self, fx: &Shell) -> anyhow::Result<()> {
        let source = &self.source;
        for (i, t) in self.targets.iter().enumerate() {
            for f in ["bin/asset0.bin", "bin/asset1.bin", "bin/asset2.bin"] {
                let want = cmd!(fx, "git -C {source} rev-parse HEAD:{f}")
                    .quiet()
                    .read()?;
                let got = cmd!(fx, "git --git-dir={t} rev-parse {BRANCH}:{f}")
                    .quiet()
                    .read()?;
                if want != got {
                    bail!("{}: {f} is {got}, source has {want}", t.display());
                }
            }
            let head = cmd!(fx, "git --git-dir={t} cat-file -p {BRANCH}:config.txt")
                .quiet()
                .read()?;
            let first = head.lines().next().unwrap_or_default();
            if first != format!("line 000000000: service service-{i} runs here") {
                bail!("{}: config.txt starts {first:?}", t.display());
            }
        }
        Ok(())
    }
}

/// `VmHWM` (peak resident set) of a process, in KiB.
fn vm_hwm_kib(status: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A `git` wrapper that runs the real git under `/usr/bin/time -f "%M %C"`, appending to
/// `$GIT_RSS_LOG`. Returns its directory.
fn git_wrapper(dir: &Path) -> anyhow::Result<PathBuf> {
    let real = Command::new("sh")
        .args(["-c", "command -v git"])
        .output()?
        .stdout;
    let real = String::from_utf8(real)?.trim().to_owned();
    let bin = dir.join("wrapper");
    std::fs::create_dir_all(&bin)?;
    let path = bin.join("git");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec /usr/bin/time -a -o \"$GIT_RSS_LOG\" -f '%M %C' \"{real}\" \"$@\"\n"
        ),
    )?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))?;
    }
    Ok(bin)
}

/// (peak KiB, git subcommand, process count) of the largest git process in a time log.
fn largest_child(log: &str) -> (u64, String, usize) {
    let mut best = (0, String::new(), 0);
    for line in log.lines() {
        let Some((kib, command)) = line.split_once(' ') else {
            continue;
        };
        let Ok(kib) = kib.parse::<u64>() else {
            continue;
        };
        best.2 += 1;
        if kib > best.0 {
            // `/usr/bin/git --git-dir=... fast-import --quiet`: name the subcommand.
            let sub = command
                .split_whitespace()
                .skip(1)
                .find(|w| !w.starts_with('-'))
                .unwrap_or("git");
            best.0 = kib;
            best.1 = sub.to_owned();
        }
    }
    best
}

fn render(results: &Map<String, Value>) -> String {
    let mut t = Table::new(&[
        "scenario",
        "wall",
        "broadcast peak RSS",
        "largest git peak RSS",
        "git process",
        "git processes",
    ]);
    for (id, v) in results {
        t.row(vec![
            id.clone(),
            v["median_ns"].as_f64().map(table::ns).unwrap_or_default(),
            v["peak_rss_bytes"]
                .as_f64()
                .map(table::bytes)
                .unwrap_or_default(),
            v["git_peak_rss_bytes"]
                .as_f64()
                .map(table::bytes)
                .unwrap_or_default(),
            v["git_peak_rss_command"].as_str().unwrap_or("").to_owned(),
            v["git_processes"].to_string(),
        ]);
    }
    let mut out = t.text();
    out.push_str("goal: every peak RSS <= 128 MiB at --large 150");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_child_names_the_subcommand() {
        let log = "1200 /usr/bin/git --git-dir=/x cat-file --batch-command\nCommand exited with non-zero status 1\n90000 /usr/bin/git --git-dir=/t fast-import --quiet\n300 /usr/bin/git update-ref a b\n";
        assert_eq!(largest_child(log), (90000, "fast-import".to_owned(), 3));
    }
}
