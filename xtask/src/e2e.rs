//! End-to-end scenarios: `broadcast sync` against local git repositories, side by
//! side with the reference shell workflow on identical inputs.
//!
//! For every cell of the grid (targets x files) and every repetition, three runs
//! happen in order on fresh copies of the targets: `first-sync` (every file new),
//! `rerun` (nothing changed) and `update` (every tenth source file changed). Each
//! run is done by `broadcast sync --jobs 1`, by `broadcast sync` with its default
//! jobs, and by the reference workflow, one target after another:
//! `git clone --depth 1`, copy the files, `git add -A`, `git commit`, `git push`.
//! Reported per run and mode: median wall time (min..max as the interval), files/s
//! (targets x files over wall time), targets/s, git processes per target (from
//! broadcast's `git_spawns`; the reference counts its own commands), and peak RSS
//! (`/usr/bin/time -f %M` when present). The headline is the ratio broadcast/reference.
//! Two floors run beside them (see `e2e_floor.rs`): one `git fast-import` straight into each
//! target (`inplace-floor`) and a blob-less clone + fast-import + push (`blobless-floor`);
//! broadcast's runs also carry `ratio_vs_inplace_floor`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use xshell::{Shell, cmd};

use crate::flags::E2eOptions;
use crate::table::{self, Table};

const BRANCH: &str = "chore/sync-files-bench";
const RUNS: [&str; 3] = ["first-sync", "rerun", "update"];
const MODES: [&str; 5] = [
    "jobs-1",
    "jobs-default",
    "reference",
    "inplace-floor",
    "blobless-floor",
];
/// Index of the reference workflow in [`MODES`].
const REFERENCE: usize = 2;
/// Index of the in-place floor in [`MODES`].
const INPLACE_FLOOR: usize = 3;

#[path = "e2e_floor.rs"]
mod floor;
#[path = "e2e_large.rs"]
mod large;

/// `cargo xtask e2e`: run the scenarios and print their table.
pub(crate) fn run_task(sh: &Shell, opts: &E2eOptions) -> anyhow::Result<()> {
    if let Some(mib) = opts.large_mib {
        return write_json(opts, large::run_large(sh, opts, mib)?);
    }
    let entries = run_scenarios(sh, opts)?;
    if entries.is_empty() {
        bail!("no e2e scenario matched the filter {:?}", opts.filter);
    }
    write_json(opts, entries)
}

/// `--json FILE`: the entries as one JSON object keyed by id.
fn write_json(opts: &E2eOptions, entries: Map<String, Value>) -> anyhow::Result<()> {
    if let Some(path) = &opts.json {
        let text = serde_json::to_string_pretty(&Value::Object(entries))?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {path}"))?;
    }
    Ok(())
}

/// Runs the grid and returns baseline entries keyed `e2e/<run>/<T>targets-<F>files/<mode>`.
pub(crate) fn run_scenarios(sh: &Shell, opts: &E2eOptions) -> anyhow::Result<Map<String, Value>> {
    let targets = opts.targets.clone().unwrap_or_else(|| {
        if opts.quick {
            vec![1, 10]
        } else {
            vec![1, 10, 50]
        }
    });
    let files = opts.files.clone().unwrap_or_else(|| {
        if opts.quick {
            vec![10, 100]
        } else {
            vec![10, 100, 1000]
        }
    });
    let runs = opts.runs.unwrap_or(if opts.quick { 3 } else { 5 });
    let filter = opts.filter.as_deref();
    let cells: Vec<(usize, usize)> = targets
        .iter()
        .flat_map(|&t| files.iter().map(move |&f| (t, f)))
        .filter(|&(t, f)| {
            filter.is_none_or(|re| {
                RUNS.iter()
                    .flat_map(|r| MODES.iter().map(move |m| (r, m)))
                    .any(|(r, m)| simple_match(re, &id(r, t, f, m)))
            })
        })
        .collect();
    if cells.is_empty() {
        return Ok(Map::new());
    }

    let broadcast = match locate_broadcast(sh, opts) {
        Ok(path) => Some(path),
        Err(err) => {
            eprintln!("e2e: warning: {err:#}; measuring the reference workflow only");
            None
        }
    };
    let tmp = std::env::temp_dir().join(format!("broadcast-e2e-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).with_context(|| format!("clearing {}", tmp.display()))?;
    }
    let fx = fixture_shell(&tmp)?;
    let time_bin = Path::new("/usr/bin/time")
        .exists()
        .then(|| PathBuf::from("/usr/bin/time"));

    let mut results: Map<String, Value> = Map::new();
    let total = cells.len();
    for (i, &(t, f)) in cells.iter().enumerate() {
        eprintln!(
            "e2e: [{}/{total}] {t} targets x {f} files, {runs} runs",
            i + 1
        );
        let cell = Cell::create(&fx, &tmp.join(format!("t{t}-f{f}")), t, f)
            .with_context(|| format!("generating repositories for {t} targets x {f} files"))?;
        // samples[run][mode] = Vec<Sample>
        let mut samples: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); MODES.len()]; RUNS.len()];
        for _rep in 0..runs {
            for (m, mode) in MODES.iter().enumerate() {
                cell.reset(&fx)?;
                for (r, run) in RUNS.iter().enumerate() {
                    if *run == "update" {
                        cell.advance_source(&fx)?;
                    }
                    let sample = match (*mode, &broadcast) {
                        ("reference", _) => cell.reference(&fx, run)?,
                        ("inplace-floor" | "blobless-floor", _) => cell.floor(&fx, mode, run)?,
                        (_, Some(bin)) => {
                            let jobs = (*mode == "jobs-1").then_some(1);
                            cell.broadcast(&fx, bin, jobs, run, time_bin.as_deref())?
                        }
                        (_, None) => continue,
                    };
                    samples[r][m].push(sample);
                }
            }
        }
        for (r, run) in RUNS.iter().enumerate() {
            let ref_median = median(&samples[r][REFERENCE]).map(|(m, _, _)| m);
            let floor_median = median(&samples[r][INPLACE_FLOOR]).map(|(m, _, _)| m);
            for (m, mode) in MODES.iter().enumerate() {
                let s = &samples[r][m];
                let Some((med, lo, hi)) = median(s) else {
                    continue;
                };
                let secs = med.as_secs_f64();
                let mut entry = json!({
                    "kind": "e2e",
                    "median_ns": med.as_nanos() as f64,
                    "ci_lower_ns": lo.as_nanos() as f64,
                    "ci_upper_ns": hi.as_nanos() as f64,
                    "runs": s.len(),
                    "targets": t,
                    "files": f,
                    "files_per_sec": (t * f) as f64 / secs,
                    "targets_per_sec": t as f64 / secs,
                    "git_spawns_per_target": s.iter().map(|x| x.git_spawns).max().unwrap_or(0) as f64 / t as f64,
                });
                if let Some(rss) = s.iter().filter_map(|x| x.peak_rss_bytes).max() {
                    entry["peak_rss_bytes"] = json!(rss);
                }
                if *mode != "reference"
                    && let Some(rm) = ref_median
                {
                    entry["ratio_vs_reference"] = json!(secs / rm.as_secs_f64());
                }
                if mode.starts_with("jobs-")
                    && let Some(fm) = floor_median
                {
                    entry["ratio_vs_inplace_floor"] = json!(secs / fm.as_secs_f64());
                }
                results.insert(id(run, t, f, mode), entry);
            }
        }
        if !opts.keep {
            let _ = std::fs::remove_dir_all(&cell.dir);
        }
    }
    if opts.keep {
        eprintln!("e2e: repositories kept in {}", tmp.display());
    } else {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    println!("{}", render(&results, broadcast.is_some()));
    Ok(results)
}

/// Baseline id of one scenario.
fn id(run: &str, targets: usize, files: usize, mode: &str) -> String {
    format!("e2e/{run}/{targets}targets-{files}files/{mode}")
}

/// A filter for e2e ids: substring match, or every `|`-separated part a substring
/// (criterion's regex filter is not available without the regex crate here).
fn simple_match(filter: &str, id: &str) -> bool {
    filter
        .split('|')
        .any(|part| id.contains(part.trim_matches(|c| c == '^' || c == '$')))
}

/// The e2e table: per cell and run, each mode's median and the ratio to the reference.
pub(crate) fn render(results: &Map<String, Value>, with_broadcast: bool) -> String {
    let mut t = Table::new(&[
        "scenario",
        "reference",
        "jobs 1",
        "ratio",
        "default jobs",
        "ratio",
        "files/s",
        "targets/s",
        "git/target",
        "ref git/target",
        "peak RSS",
        "in-place floor",
        "vs floor",
        "blob-less floor",
    ]);
    let mut keys: Vec<(usize, usize, usize, String)> = results
        .iter()
        .filter(|(k, _)| k.ends_with("/reference"))
        .map(|(k, v)| {
            let run = k.split('/').nth(1).unwrap_or("").to_owned();
            let order = RUNS.iter().position(|r| *r == run).unwrap_or(9);
            (
                v["targets"].as_u64().unwrap_or(0) as usize,
                v["files"].as_u64().unwrap_or(0) as usize,
                order,
                run,
            )
        })
        .collect();
    keys.sort();
    for (tg, f, _, run) in keys {
        let get = |mode: &str| results.get(&id(&run, tg, f, mode));
        let med = |v: Option<&Value>| {
            v.and_then(|v| v["median_ns"].as_f64())
                .map(table::ns)
                .unwrap_or_else(|| "-".into())
        };
        let ratio = |v: Option<&Value>| {
            v.and_then(|v| v["ratio_vs_reference"].as_f64())
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into())
        };
        let best = get("jobs-default").or(get("reference"));
        t.row(vec![
            format!("{run} {tg}t x {f}f"),
            med(get("reference")),
            med(get("jobs-1")),
            ratio(get("jobs-1")),
            med(get("jobs-default")),
            ratio(get("jobs-default")),
            best.and_then(|v| v["files_per_sec"].as_f64())
                .map(table::count)
                .unwrap_or_default(),
            best.and_then(|v| v["targets_per_sec"].as_f64())
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            get("jobs-default")
                .and_then(|v| v["git_spawns_per_target"].as_f64())
                .map(|v| format!("{v:.1}"))
                .unwrap_or_else(|| "-".into()),
            get("reference")
                .and_then(|v| v["git_spawns_per_target"].as_f64())
                .map(|v| format!("{v:.1}"))
                .unwrap_or_default(),
            get("jobs-default")
                .and_then(|v| v["peak_rss_bytes"].as_f64())
                .map(table::bytes)
                .unwrap_or_else(|| "-".into()),
            med(get("inplace-floor")),
            get("jobs-default")
                .and_then(|v| v["ratio_vs_inplace_floor"].as_f64())
                .map(|r| format!("{r:.2}x"))
                .unwrap_or_else(|| "-".into()),
            med(get("blobless-floor")),
        ]);
    }
    let mut out = t.text();
    out.push_str("ratio = broadcast median / reference median (below 1 is faster); files/s and targets/s of the default-jobs run\nfloors (one target after another): in-place = one fast-import into each target; blob-less = clone --filter=blob:none, fast-import, push; vs floor = default jobs / in-place floor");
    if !with_broadcast {
        out.push_str("\nbroadcast was not available: reference workflow only");
    }
    out
}

#[derive(Debug, Clone)]
struct Sample {
    wall: Duration,
    git_spawns: u64,
    peak_rss_bytes: Option<u64>,
}

/// Median, min and max of the wall times.
fn median(samples: &[Sample]) -> Option<(Duration, Duration, Duration)> {
    let mut walls: Vec<Duration> = samples.iter().map(|s| s.wall).collect();
    walls.sort();
    let n = walls.len();
    if n == 0 {
        return None;
    }
    let med = if n % 2 == 1 {
        walls[n / 2]
    } else {
        (walls[n / 2 - 1] + walls[n / 2]) / 2
    };
    Some((med, walls[0], walls[n - 1]))
}

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
    dir: PathBuf,
    source: PathBuf,
    template: PathBuf,
    targets: Vec<PathBuf>,
    files: usize,
    pub(crate) config: PathBuf,
    base_commit: String,
    generation: std::cell::Cell<u64>,
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

        let seed = dir.join("seed");
        cmd!(fx, "git init -q -b main {seed}").quiet().run()?;
        std::fs::write(seed.join("README.md"), "# target\n")?;
        cmd!(fx, "git -C {seed} add -A").quiet().run()?;
        cmd!(fx, "git -C {seed} commit -q -m 'initial commit'")
            .quiet()
            .run()?;
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

    fn broadcast(
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
    fn reference(&self, fx: &Shell, run: &str) -> anyhow::Result<Sample> {
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

fn file_path(i: usize) -> PathBuf {
    PathBuf::from(format!("files/d{:02}/f{i:04}.txt", i / 50))
}

/// About 1 KiB of text that differs per file and per source generation.
fn file_content(i: usize, generation: u64) -> String {
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

fn tail(s: &str) -> String {
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

#[cfg(test)]
#[path = "e2e_tests.rs"]
mod tests;
