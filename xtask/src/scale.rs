//! `cargo xtask scale`: N local-source -> GitHub-double targets with time compressed by a factor.
//!
//! The REST side is `broadcast-github-double` (GitHub's primary limit, the 80-per-minute and
//! 500-per-hour secondary limits on content-creating requests, ETags and 304s), its windows
//! divided by `--factor`. The git side of each target is a bare repository on disk: the
//! scenario's HOME has `url.file://<srv>/.insteadOf = <double>/`, so broadcast's pushes to
//! `<double>/owner/name.git` land in `<srv>/owner/name.git`. broadcast paces writes at
//! `7.2 s x 1.02 / factor` (7.2 s is the spacing at which 500 writes take an hour; the 2 %
//! keeps the 501st write of any window clear of the edge despite arrival jitter) with a
//! `--write-budget 500/<3600 / factor>`, so the floor of a run is `writes x interval`.
//!
//! Phases: (1) a first run over N new targets: wall time, time to the first write, the span of
//! the writes against the floor, writes per target, 403 answers, the preflight's estimate
//! against the writes made; (2) a re-run with nothing changed: counted requests (goal 0);
//! (3) on a fresh set of targets, a run killed with SIGKILL at a random point of its writes,
//! then a resumed run: every target ends with one sync branch and one open pull request.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use broadcast_github_double::{DoubleOptions, GitHubDouble, Stats};
use serde_json::{Value, json};
use xshell::{Shell, cmd};

use crate::flags::ScaleOptions;

const TOKEN: &str = "ghp_scaleSCENARIOtoken0123456789abcdef";
const GROUP: &str = "scale";
const BRANCH: &str = "chore/sync-files-scale";

/// One set of targets with its double.
struct World {
    dir: PathBuf,
    home: PathBuf,
    srv: PathBuf,
    config: PathBuf,
    double: GitHubDouble,
    targets: usize,
}

pub(crate) fn run(sh: &Shell, opts: &ScaleOptions) -> anyhow::Result<()> {
    let bin = crate::e2e::locate_broadcast(
        sh,
        &crate::flags::E2eOptions {
            broadcast: opts.broadcast.clone(),
            ..Default::default()
        },
    )?;
    let bin = std::fs::canonicalize(&bin).with_context(|| format!("{}", bin.display()))?;
    let tmp = tempfile_dir()?;
    let fx = crate::e2e::fixture_shell(&tmp)?;
    let source = tmp.join("source");
    make_source(&fx, &source)?;
    let template = tmp.join("template.git");
    make_template(&fx, &tmp, &template)?;
    let (interval, flags) = broadcast_flags(opts);

    // (1) + (2): first run and in-sync re-run.
    let w = World::create(&fx, &tmp.join("a"), &source, &template, opts)?;
    let first = w.sync(&bin, &flags, None)?;
    let s1 = w.double.stats();
    let reports = first
        .report
        .as_ref()
        .context("first run printed no report")?;
    let synced = count_status(reports, "synced");
    let floor = interval * (s1.writes_admitted.saturating_sub(1)) as u32;
    let span = match (s1.first_write, s1.last_write) {
        (Some(a), Some(b)) => b - a,
        _ => Duration::ZERO,
    };
    let estimate = first.estimate.unwrap_or(0);
    // The first re-run finds every pull-request list changed by the run's own writes (new
    // ETags, counted); the one after it is the steady state.
    w.double.reset_stats();
    let prime = w.sync(&bin, &flags, None)?;
    let s_prime = w.double.stats();
    w.double.reset_stats();
    let rerun = w.sync(&bin, &flags, None)?;
    let s2 = w.double.stats();
    let rerun_reports = rerun.report.as_ref().context("re-run printed no report")?;
    let in_sync =
        count_status(rerun_reports, "up_to_date") + count_status(rerun_reports, "in_sync");
    let dup_a = w.duplicates(&fx)?;

    // (3): a fresh set, killed at a random point of its writes, then resumed.
    let kr = kill_and_resume(&fx, &tmp, &source, &template, opts, &bin, &flags, interval)?;

    report(&Figures {
        opts,
        targets: w.targets,
        synced,
        first: &first,
        s1: &s1,
        interval,
        floor,
        span,
        estimate,
        prime: &prime,
        s_prime: &s_prime,
        rerun: &rerun,
        s2: &s2,
        in_sync,
        dup_a,
        kr: &kr,
    })?;
    if opts.keep {
        eprintln!("scale: kept {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    if s1.secondary_limited + s1.primary_limited > 0 || kr.dup_k != (0, 0) || s2.counted > 0 {
        bail!("scale: a goal was missed (see above)");
    }
    Ok(())
}

/// broadcast's pacing flags for `opts.factor`: the write interval and the flags.
fn broadcast_flags(opts: &ScaleOptions) -> (Duration, Vec<String>) {
    // Whole milliseconds (what broadcast takes), rounded up so the margin survives.
    let interval = Duration::from_millis((7200.0 * 1.02 / opts.factor).ceil() as u64);
    let window_secs = 3600.0 / opts.factor;
    eprintln!(
        "scale: {} targets, time compressed {}x: write interval {:.1} ms, budget 500 per {:.2} s, double windows 60/{f} s and 3600/{f} s",
        opts.targets,
        opts.factor,
        interval.as_secs_f64() * 1e3,
        window_secs,
        f = opts.factor
    );
    let flags = vec![
        "--write-interval-ms".to_owned(),
        format!("{}", interval.as_millis()),
        "--write-budget".to_owned(),
        format!("500/{window_secs}"),
        "--jobs".to_owned(),
        opts.jobs.to_string(),
        // No --ignore-rate-limit: 1,000 new targets need 2,000 writes and 2,001 reads, more than
        // 80 % of one 5,000-request window, and the preflight allows them because the paced run
        // spans several of the double's primary windows (the --write-budget window is the same
        // compressed hour).
    ];
    (interval, flags)
}

/// Everything [`report`] prints.
struct Figures<'a> {
    opts: &'a ScaleOptions,
    targets: usize,
    synced: usize,
    first: &'a Run,
    s1: &'a Stats,
    interval: Duration,
    floor: Duration,
    span: Duration,
    estimate: u64,
    prime: &'a Run,
    s_prime: &'a Stats,
    rerun: &'a Run,
    s2: &'a Stats,
    in_sync: usize,
    dup_a: (u64, u64),
    kr: &'a KillResume,
}

/// Prints the figures and writes them to `target/xtask/scale.json`.
fn report(f: &Figures<'_>) -> anyhow::Result<()> {
    let Figures {
        opts,
        synced,
        first,
        s1,
        interval,
        floor,
        span,
        estimate,
        prime,
        s_prime,
        rerun,
        s2,
        in_sync,
        dup_a,
        ..
    } = *f;
    let KillResume {
        killed,
        at_kill,
        resumed,
        s3,
        dup_k,
        resumed_ok,
        k_targets,
    } = f.kr;
    let (dup_k, resumed_ok, k_targets) = (*dup_k, *resumed_ok, *k_targets);
    let w = f;
    let wall = first.wall.as_secs_f64();
    let lines = [
        format!(
            "time compression factor      {}x (GitHub's windows and broadcast's interval/budget divided by it)",
            opts.factor
        ),
        format!(
            "targets                      {} ({} synced, exit {})",
            w.targets, synced, first.code
        ),
        format!(
            "first run wall time          {wall:.2} s (first write after {:.2} s)",
            s1.first_write.unwrap_or_default().as_secs_f64()
        ),
        format!(
            "writes made / per target     {} / {:.2}  ({:?})",
            s1.writes_admitted,
            s1.writes_admitted as f64 / w.targets as f64,
            writes_by_route(s1)
        ),
        format!(
            "write floor (writes-1) x {:.1} ms = {:.2} s; write span {:.2} s ({:+.1} %)",
            interval.as_secs_f64() * 1e3,
            floor.as_secs_f64(),
            span.as_secs_f64(),
            pct(span, floor)
        ),
        format!(
            "wall time vs floor           {:+.1} % (the read phase precedes the first write)",
            pct(first.wall, floor)
        ),
        format!(
            "403 answers                  {} secondary, {} primary (peak {} writes per compressed minute, {} per compressed hour)",
            s1.secondary_limited
                + s2.secondary_limited
                + at_kill.secondary_limited
                + s3.secondary_limited,
            s1.primary_limited + s2.primary_limited + at_kill.primary_limited + s3.primary_limited,
            s1.peak_per_minute,
            s1.peak_per_hour
        ),
        format!(
            "preflight estimate           {estimate} writes vs {} made ({:+.1} %)",
            s1.writes_admitted,
            (estimate as f64 / s1.writes_admitted.max(1) as f64 - 1.0) * 100.0
        ),
        format!(
            "counted requests, first run  {} of {} sent",
            s1.counted, s1.requests
        ),
        format!(
            "re-run 1 (after the writes)  {:.2} s, {} requests, {} counted, {} answered 304, {} writes",
            prime.wall.as_secs_f64(),
            s_prime.requests,
            s_prime.counted,
            s_prime.not_modified,
            s_prime.writes
        ),
        format!(
            "re-run 2 (nothing changed)   {:.2} s, {} requests, {} counted, {} answered 304, {} writes; {} targets in sync",
            rerun.wall.as_secs_f64(),
            s2.requests,
            s2.counted,
            s2.not_modified,
            s2.writes,
            in_sync
        ),
        format!(
            "killed run                   SIGKILL after {:.2} s, {} writes made, {} pull requests",
            killed.wall.as_secs_f64(),
            at_kill.writes_admitted,
            at_kill.pulls_created
        ),
        format!(
            "resumed run                  {:.2} s, {} writes, {} pull requests created, {} duplicate creates refused; {} of {} targets done, exit {}",
            resumed.wall.as_secs_f64(),
            s3.writes_admitted,
            s3.pulls_created,
            s3.duplicate_creates + at_kill.duplicate_creates,
            resumed_ok,
            k_targets,
            resumed.code
        ),
        format!(
            "duplicates                   {} sync branches beyond one, {} open pull requests beyond one per head (first set: {}, {})",
            dup_k.0, dup_k.1, dup_a.0, dup_a.1
        ),
    ];
    println!("{}", lines.join("\n"));
    let out = json!({
        "factor": opts.factor,
        "targets": w.targets,
        "interval_ms": interval.as_millis() as u64,
        "wall_s": wall,
        "first_write_s": s1.first_write.unwrap_or_default().as_secs_f64(),
        "writes": s1.writes_admitted,
        "floor_s": floor.as_secs_f64(),
        "write_span_s": span.as_secs_f64(),
        "forbidden_403": s1.secondary_limited + s2.secondary_limited + at_kill.secondary_limited + s3.secondary_limited + s1.primary_limited + s2.primary_limited + at_kill.primary_limited + s3.primary_limited,
        "estimate_writes": estimate,
        "rerun1_counted": s_prime.counted,
        "rerun_counted": s2.counted,
        "rerun_requests": s2.requests,
        "rerun_not_modified": s2.not_modified,
        "killed_after_s": killed.wall.as_secs_f64(),
        "kill_targets": k_targets,
        "resumed_duplicate_branches": dup_k.0,
        "resumed_duplicate_pulls": dup_k.1,
    });
    let path = Path::new("target/xtask/scale.json");
    std::fs::create_dir_all("target/xtask")?;
    std::fs::write(path, serde_json::to_vec_pretty(&out)?)?;
    eprintln!("scale: figures in {}", path.display());
    Ok(())
}

/// Phase 3's outcome.
struct KillResume {
    killed: Run,
    at_kill: Stats,
    resumed: Run,
    s3: Stats,
    dup_k: (u64, u64),
    resumed_ok: usize,
    k_targets: usize,
}

/// A fresh set of targets, a run SIGKILLed at a random point of its writes, then a resumed run.
#[allow(clippy::too_many_arguments)]
fn kill_and_resume(
    fx: &Shell,
    tmp: &Path,
    source: &Path,
    template: &Path,
    opts: &ScaleOptions,
    bin: &Path,
    flags: &[String],
    interval: Duration,
) -> anyhow::Result<KillResume> {
    let kill_opts = ScaleOptions {
        targets: opts.kill_targets.unwrap_or(opts.targets),
        ..opts.clone()
    };
    let k = World::create(fx, &tmp.join("k"), source, template, &kill_opts)?;
    let kill_after = interval.mul_f64(2.0 * k.targets as f64 * random_fraction(0.1, 0.9));
    let killed = k.sync(bin, flags, Some(kill_after))?;
    let at_kill = k.double.stats();
    k.double.reset_stats();
    let resumed = k.sync(bin, flags, None)?;
    let s3 = k.double.stats();
    let resumed_reports = resumed
        .report
        .as_ref()
        .context("resumed run printed no report")?;
    let dup_k = k.duplicates(fx)?;
    let resumed_ok = count_status(resumed_reports, "synced")
        + count_status(resumed_reports, "up_to_date")
        + count_status(resumed_reports, "in_sync");

    Ok(KillResume {
        killed,
        at_kill,
        resumed,
        s3,
        dup_k,
        resumed_ok,
        k_targets: k.targets,
    })
}

/// The outcome of one `broadcast sync`.
struct Run {
    wall: Duration,
    code: i32,
    report: Option<Value>,
    /// "up to N write" from the preflight note.
    estimate: Option<u64>,
}

impl World {
    fn create(
        fx: &Shell,
        dir: &Path,
        source: &Path,
        template: &Path,
        opts: &ScaleOptions,
    ) -> anyhow::Result<World> {
        let srv = dir.join("srv");
        let home = dir.join("home");
        std::fs::create_dir_all(srv.join("acme"))?;
        std::fs::create_dir_all(&home)?;
        let _ = fx;
        for i in 0..opts.targets {
            crate::e2e::copy_dir(template, &srv.join(format!("acme/t{i:04}.git")))?;
        }
        let mut options = DoubleOptions::new(TOKEN, opts.factor);
        options.root = Some(srv.clone());
        let double = GitHubDouble::start(options)?;
        let srv_url = format!("file://{}/", srv.display());
        std::fs::write(
            home.join(".gitconfig"),
            format!(
                "[url \"{srv_url}\"]\n\tinsteadOf = {}/\n[uploadpack]\n\tallowFilter = true\n\tallowAnySHA1InWant = true\n[protocol \"file\"]\n\tallow = always\n",
                double.base_url()
            ),
        )?;
        let mut yaml = format!(
            "version: 1\ngroups:\n  - name: Scale\n    id: {GROUP}\n    source: {{ repo: {}, branch: main }}\n    targets:\n",
            source.display()
        );
        for i in 0..opts.targets {
            yaml.push_str(&format!(
                "      - repo: acme/t{i:04}\n        pr_labels: [sync]\n        files:\n          - {{ src: ci.yml, dest: .github/workflows/ci.yml }}\n          - {{ src: Makefile, dest: Makefile }}\n"
            ));
        }
        let config = dir.join("sync.yaml");
        std::fs::write(&config, yaml)?;
        Ok(World {
            dir: dir.to_path_buf(),
            home,
            srv,
            config,
            double,
            targets: opts.targets,
        })
    }

    /// `broadcast sync --json` against the double; SIGKILLed after `kill_after` when given.
    fn sync(
        &self,
        bin: &Path,
        flags: &[String],
        kill_after: Option<Duration>,
    ) -> anyhow::Result<Run> {
        let base = self.double.base_url();
        let mut cmd = Command::new(bin);
        cmd.args(["sync", "--config"])
            .arg(&self.config)
            .args(["--json", "--github-api-url", &base, "--github-url", &base])
            .args(flags)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GH_ENTERPRISE_TOKEN", TOKEN)
            .env("GIT_AUTHOR_NAME", "Scale Bot")
            .env("GIT_AUTHOR_EMAIL", "scale-bot@example.com")
            .env("GIT_COMMITTER_NAME", "Scale Bot")
            .env("GIT_COMMITTER_EMAIL", "scale-bot@example.com")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        if let Some(after) = kill_after {
            // Wait for the first write, then the chosen share of the write phase.
            while self.double.stats().writes_admitted == 0 {
                if child.try_wait()?.is_some() {
                    bail!("broadcast exited before its first write");
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            std::thread::sleep(after);
            child.kill().context("SIGKILL")?;
        }
        let out = child.wait_with_output()?;
        let wall = start.elapsed();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let estimate = stderr.lines().find_map(|l| {
            let rest = l.split("up to ").nth(1)?;
            rest.split(' ').next()?.parse::<u64>().ok()
        });
        let report = serde_json::from_slice::<Value>(&out.stdout).ok();
        if kill_after.is_none() && report.is_none() {
            bail!("broadcast printed no report; stderr: {}", tail(&stderr));
        }
        if stderr.contains(TOKEN) {
            bail!("the token appeared on stderr");
        }
        Ok(Run {
            wall,
            code: out.status.code().unwrap_or(-9),
            report,
            estimate,
        })
    }

    /// Sync branches beyond one per target (any branch but `main` and the sync branch counts)
    /// and open pull requests beyond one per head, over all targets.
    fn duplicates(&self, fx: &Shell) -> anyhow::Result<(u64, u64)> {
        let mut branches = 0u64;
        for i in 0..self.targets {
            let git_dir = self.srv.join(format!("acme/t{i:04}.git"));
            let refs = cmd!(
                fx,
                "git --git-dir={git_dir} for-each-ref --format=%(refname) refs/heads/"
            )
            .quiet()
            .read()?;
            let extra = refs.lines().filter(|r| *r != "refs/heads/main").count() as u64;
            let has_sync = refs.lines().any(|r| r == format!("refs/heads/{BRANCH}"));
            branches += extra.saturating_sub(u64::from(has_sync));
        }
        let pulls = self
            .double
            .pulls_by_head()
            .values()
            .map(|(open, _)| open.saturating_sub(1))
            .sum();
        Ok((branches, pulls))
    }
}

fn make_source(fx: &Shell, source: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(source)?;
    cmd!(fx, "git init -q -b main {source}").quiet().run()?;
    std::fs::write(
        source.join("ci.yml"),
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n",
    )?;
    std::fs::write(source.join("Makefile"), "all:\n\tcargo test\n")?;
    cmd!(fx, "git -C {source} add -A").quiet().run()?;
    cmd!(fx, "git -C {source} commit -q -m template")
        .quiet()
        .run()?;
    Ok(())
}

fn make_template(fx: &Shell, tmp: &Path, template: &Path) -> anyhow::Result<()> {
    let seed = tmp.join("seed");
    cmd!(fx, "git init -q -b main {seed}").quiet().run()?;
    std::fs::write(seed.join("README.md"), "# target\n")?;
    cmd!(fx, "git -C {seed} add -A").quiet().run()?;
    cmd!(fx, "git -C {seed} commit -q -m initial")
        .quiet()
        .run()?;
    cmd!(fx, "git clone -q --bare {seed} {template}")
        .quiet()
        .run()?;
    cmd!(fx, "git --git-dir={template} remote remove origin")
        .ignore_status()
        .quiet()
        .run()?;
    Ok(())
}

fn tempfile_dir() -> anyhow::Result<PathBuf> {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("broadcast-scale-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A value in `lo..hi` from the clock's nanoseconds (no seed to manage; printed with the result).
fn random_fraction(lo: f64, hi: f64) -> f64 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .subsec_nanos();
    lo + (hi - lo) * f64::from(nanos % 1_000_000) / 1_000_000.0
}

fn count_status(report: &Value, status: &str) -> usize {
    report["targets"]
        .as_array()
        .map_or(0, |t| t.iter().filter(|t| t["status"] == status).count())
}

fn writes_by_route(s: &Stats) -> Vec<(String, u64)> {
    s.by_route
        .iter()
        .filter(|(k, _)| !k.starts_with("GET "))
        .map(|(k, v)| (k.clone(), *v))
        .collect()
}

fn pct(a: Duration, b: Duration) -> f64 {
    if b.is_zero() {
        return 0.0;
    }
    (a.as_secs_f64() / b.as_secs_f64() - 1.0) * 100.0
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(8)..].join(" | ")
}
