//! Command-line flags of every task, declared in one place with their help text.
//!
//! The parser is hand-written to keep `cargo xtask` fast to compile: each task
//! takes a few `--flag [VALUE]` pairs and at most two positional arguments.

use anyhow::{Context, bail};

/// The task list printed by a bare `cargo xtask`.
const USAGE: &str = "\
usage: cargo xtask <task> [flags]   (each task takes --help)

tasks:
  lint      cargo fmt --check and clippy on all targets with -D warnings
  test      the workspace tests, exactly what CI runs
  bench     criterion suites and end-to-end scenarios -> target/xtask/last.json [+ baselines/NAME.json]
  compare   compare two baselines; exit 1 on a regression beyond noise
  e2e       the end-to-end scenarios alone, against the reference git workflow
  profile   one sync scenario under --profile, with the time of every git process
  fuzz      the property-test targets for a fixed time (config, metadata, git, transform, ...)
  report    the performance report in docs/report/ from baselines/*.json (--check: fail if stale)
  scale     N targets against a rate-limited GitHub double, time compressed: writes, floor, 403s, kill and resume
  dist-docs the man page and shell completions -> target/dist-docs/
";

const DIST_DOCS_HELP: &str = "\
usage: cargo xtask dist-docs [--out DIR]

Builds broadcast and writes what `broadcast generate` prints, one file each: the man
page broadcast.1 (roff, every subcommand in its own section) and the completion
scripts for bash (broadcast.bash), zsh (_broadcast), fish (broadcast.fish),
PowerShell (_broadcast.ps1) and elvish (broadcast.elv).

  --out DIR   where to write them (default target/dist-docs)
";

const REPORT_HELP: &str = "\
usage: cargo xtask report [--check]

Generates docs/report/README.md and its SVG charts from the committed baselines:
baselines/main.json, baselines/go-broadcast.json (go-broadcast's published figures,
optional) and any other baseline file. The output depends on those files only, so it
is reproducible and committed.

  --check   regenerate in memory and fail when a committed file differs, is missing or
            is no longer generated (cargo xtask lint runs this)
";

const FUZZ_HELP: &str = "\
usage: cargo xtask fuzz [--minutes N] [--target NAME[,NAME..]] [--cases N]

Runs the property-test targets (tests named fuzz_<target>_*) for N minutes each (default 10;
fractions allowed), all selected targets at once, one thread each. Every round runs the
target's tests with BROADCAST_FUZZ_CASES cases and a fresh PROPTEST_RNG_SEED; `cargo xtask
test` runs the same tests with their small default counts. A failure stops its target and
prints the minimal input and the command that replays it; proptest also saves the case under
the crate's proptest-regressions/ (commit it: it is then replayed first by every run).

targets: config (loader, validate, plan), metadata (pull request metadata block),
         git (ls-tree -z, cat-file --batch, ls-remote, push --porcelain), transform,
         redact (redactor and logging writer), stream-io (chunked transforms)

  --minutes N   time per target (default 10)
  --target LIST only these targets (comma-separated; repeatable)
  --cases N     cases per test per round (default: per target, a few seconds a round)
";

const PROFILE_HELP: &str = "\
usage: cargo xtask profile [--targets N] [--files N] [--update] [--out DIR] [--broadcast PATH]

Builds target/release/broadcast, generates the e2e scenario (N bare targets, F files of
about 1 KiB under files/; defaults 10 and 1000) in a temp dir, and runs one
`broadcast sync --profile OUT/process` with GIT_TRACE2_EVENT=OUT/git-trace2.json.
Prints the process report (CPU samples, allocations, peak RSS) and the wall time of
every git command the run started, summed per command: broadcast itself mostly waits
for git, so the second table is where the time goes.

  --update    profile an update (10% of the files changed) instead of the first sync
  --out DIR   where to write the profile (default target/xtask/profile)
";

const LINT_HELP: &str = "\
usage: cargo xtask lint

Runs `cargo fmt --all --check`, `cargo clippy --workspace --all-targets -- -D warnings`
and `cargo xtask report --check` (docs/report/ is not stale relative to baselines/).
The repository rules (tidy) are #[test]s in xtask and run with `cargo xtask test`.
";

const TEST_HELP: &str = "\
usage: cargo xtask test

Runs `cargo test --workspace --no-fail-fast` (debug build; doc tests included), so
every test binary runs even when one fails. This is exactly what CI runs.
";

const BENCH_HELP: &str = "\
usage: cargo xtask bench [--quick] [--filter REGEX] [--save NAME [--merge]] [--no-e2e]
                         [--instructions | --with-instructions]

Runs every criterion suite in benches/benches/ (except e2e and instructions),
collects time per op with its confidence interval, allocations and bytes per op
(target/criterion/<id>/allocs.json written by broadcast_benches::alloc) and the
throughput, runs the end-to-end scenarios, and writes one portable JSON file:
target/xtask/last.json always, baselines/NAME.json with --save (atomically).

  --quick              short criterion runs (1 s measurement, 10 samples) and a small e2e grid
  --filter REGEX       only benchmarks whose id matches (criterion filter; e2e ids too)
  --save NAME          also write baselines/NAME.json (NAME may be a path ending in .json)
  --merge              with --save: update only the ids this run measured in the existing
                       file (each tagged with its own timestamp and commit), keep the rest
  --no-e2e             skip the end-to-end scenarios
  --instructions       only the instruction-count suite (gungraun + valgrind callgrind)
  --with-instructions  criterion, e2e and the instruction-count suite
";

const COMPARE_HELP: &str = "\
usage: cargo xtask compare OLD [NEW] [--threshold PCT] [--instructions-threshold PCT]
                                     [--wall-time-informational] [--format text|markdown|json]

OLD and NEW are baseline names under baselines/ (main -> baselines/main.json) or
paths to JSON files. NEW defaults to target/xtask/last.json, the last `bench` run.

A time change is beyond noise when the confidence intervals (criterion's, or the
min..max of repeated e2e runs) do not overlap. Exit status 1 when a benchmark got
slower by more than --threshold (default 10) percent beyond noise, when an
instruction count grew by more than --instructions-threshold (default 2) percent,
or when allocations or bytes per op grew at all (they are exact).

  --wall-time-informational  report time regressions but do not fail on them
  --format markdown          a table for CI summaries
";

const E2E_HELP: &str = "\
usage: cargo xtask e2e [--quick] [--filter REGEX] [--runs N] [--targets LIST] [--files LIST]
                       [--broadcast PATH] [--keep] [--large MIB] [--json FILE]

Builds target/release/broadcast, generates local git repositories in a temp dir
(source work tree + bare targets), and runs for every targets x files cell the
first sync, a re-run with nothing changed, and an update (10% of files changed),
with --jobs 1 and the default, plus the reference shell workflow per target
(git clone --depth 1, copy, git add -A, git commit, git push). Prints wall time
(median of N runs), files/s, targets/s, git processes per target, peak RSS and
the ratio broadcast/reference. Two floors run beside them, one target after
another: one git fast-import straight into each target (in-place floor) and
clone --filter=blob:none + fast-import + push (blob-less floor); the ratio
broadcast/in-place floor is printed too.

  --quick          targets 1,10 x files 10,100 and 3 runs (default: 1,10,50 x 10,100,1000, 5 runs)
  --runs N         repetitions per cell (median reported)
  --targets LIST   comma-separated target counts
  --files LIST     comma-separated file counts
  --broadcast PATH use this binary instead of building target/release/broadcast
  --keep           keep the temp dir with the generated repositories
  --json FILE      also write the entries (baseline shape, keyed by id) to FILE
  --large MIB      the large-file scenario instead of the grid: 3 binary files of MIB MiB
                   and a text file of MIB*40/150 MiB with a variable, synced to 2 targets
                   (first sync, re-run); prints wall time and the peak RSS of broadcast and
                   of every git process it started (goal at 150: each <= 128 MiB)
";

const SCALE_HELP: &str = "\
usage: cargo xtask scale [--targets N] [--factor F] [--jobs J] [--kill-targets K]
                         [--broadcast PATH] [--keep]

Builds target/release/broadcast (or uses --broadcast), starts the GitHub double
(crates/github-double: primary limit, 80/min and 500/h secondary limits on writes with
403 + retry-after, ETags and 304) with its windows divided by F, and syncs N local-source
targets (default 1000; bare repositories behind url.insteadOf) with broadcast paced at
7.2 s x 1.02 / F and --write-budget 500/(3600/F). Then re-runs with nothing changed
(counted requests), and on a fresh set kills a run with SIGKILL at a random point of its
writes and resumes it (duplicate branches and pull requests). Prints the figures and
writes target/xtask/scale.json. Takes minutes: keep it out of the tests.

  --factor F  time compression (default 360: GitHub's hour lasts 10 s)
  --jobs J    broadcast --jobs (default 8)
  --kill-targets K  targets of the kill-and-resume set (default N)
  --keep      keep the temp dir
";

/// Flags of `cargo xtask scale`.
#[derive(Debug, Clone)]
pub(crate) struct ScaleOptions {
    pub(crate) targets: usize,
    pub(crate) factor: f64,
    pub(crate) jobs: usize,
    pub(crate) broadcast: Option<String>,
    pub(crate) keep: bool,
    pub(crate) kill_targets: Option<usize>,
}

/// One parsed task.
#[derive(Debug)]
pub(crate) enum Task {
    Lint,
    Test,
    Bench(BenchOptions),
    Compare(CompareOptions),
    E2e(E2eOptions),
    Profile(ProfileOptions),
    Report(crate::report::ReportOptions),
    Fuzz(FuzzOptions),
    Scale(ScaleOptions),
    DistDocs { out: Option<String> },
}

/// Flags of `cargo xtask fuzz`.
#[derive(Debug, Clone)]
pub(crate) struct FuzzOptions {
    pub(crate) minutes: f64,
    pub(crate) targets: Vec<String>,
    pub(crate) cases: Option<u32>,
}

/// Flags of `cargo xtask profile`.
#[derive(Debug, Clone)]
pub(crate) struct ProfileOptions {
    pub(crate) targets: usize,
    pub(crate) files: usize,
    pub(crate) update: bool,
    pub(crate) out: Option<String>,
    pub(crate) broadcast: Option<String>,
}

/// Flags of `cargo xtask bench`.
#[derive(Debug, Default, Clone)]
pub(crate) struct BenchOptions {
    pub(crate) quick: bool,
    pub(crate) filter: Option<String>,
    pub(crate) save: Option<String>,
    pub(crate) merge: bool,
    pub(crate) no_e2e: bool,
    pub(crate) instructions_only: bool,
    pub(crate) with_instructions: bool,
}

/// Output format of `compare`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Format {
    #[default]
    Text,
    Markdown,
    Json,
}

/// Flags of `cargo xtask compare`.
#[derive(Debug, Clone)]
pub(crate) struct CompareOptions {
    pub(crate) old: String,
    pub(crate) new: Option<String>,
    pub(crate) threshold_pct: f64,
    pub(crate) instructions_threshold_pct: f64,
    pub(crate) wall_time_informational: bool,
    pub(crate) format: Format,
}

/// Flags of `cargo xtask e2e` (also used by `bench`).
#[derive(Debug, Clone, Default)]
pub(crate) struct E2eOptions {
    pub(crate) quick: bool,
    pub(crate) filter: Option<String>,
    pub(crate) runs: Option<usize>,
    pub(crate) targets: Option<Vec<usize>>,
    pub(crate) files: Option<Vec<usize>>,
    pub(crate) broadcast: Option<String>,
    pub(crate) keep: bool,
    /// `--large MIB`: the large-file scenario instead of the grid (3 binary files of MIB MiB and
    /// a text file of 40/150 of that with a variable, 2 targets).
    pub(crate) large_mib: Option<usize>,
    /// `--json FILE`: also write the entries (baseline shape) to FILE.
    pub(crate) json: Option<String>,
}

/// Parses the arguments after `cargo xtask`. `Ok(None)` means help was printed.
pub(crate) fn parse(args: &[String]) -> anyhow::Result<Option<Task>> {
    let Some((task, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(None);
    };
    let help = match task.as_str() {
        "lint" => LINT_HELP,
        "test" => TEST_HELP,
        "bench" => BENCH_HELP,
        "compare" => COMPARE_HELP,
        "e2e" => E2E_HELP,
        "profile" => PROFILE_HELP,
        "report" => REPORT_HELP,
        "fuzz" => FUZZ_HELP,
        "scale" => SCALE_HELP,
        "dist-docs" => DIST_DOCS_HELP,
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            return Ok(None);
        }
        other => bail!("unknown task `{other}`\n\n{USAGE}"),
    };
    if rest.iter().any(|a| a == "--help" || a == "-h") {
        print!("{help}");
        return Ok(None);
    }
    let mut p = Parser {
        args: rest,
        pos: 0,
        help,
    };
    let task = match task.as_str() {
        "lint" => {
            p.finish()?;
            Task::Lint
        }
        "test" => {
            p.finish()?;
            Task::Test
        }
        "bench" => {
            let mut o = BenchOptions::default();
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--quick" => o.quick = true,
                    "--filter" => o.filter = Some(p.value(flag)?),
                    "--save" => o.save = Some(p.value(flag)?),
                    "--merge" => o.merge = true,
                    "--no-e2e" => o.no_e2e = true,
                    "--instructions" => o.instructions_only = true,
                    "--with-instructions" => o.with_instructions = true,
                    _ => return Err(p.unknown(flag)),
                }
            }
            if o.merge && o.save.is_none() {
                bail!("--merge needs --save NAME\n\n{help}");
            }
            if o.instructions_only && o.with_instructions {
                bail!("--instructions and --with-instructions exclude each other\n\n{help}");
            }
            p.finish()?;
            Task::Bench(o)
        }
        "compare" => {
            let mut o = CompareOptions {
                old: String::new(),
                new: None,
                threshold_pct: 10.0,
                instructions_threshold_pct: 2.0,
                wall_time_informational: false,
                format: Format::Text,
            };
            let mut positional = Vec::new();
            while let Some(flag) = p.next_flag_or_positional(&mut positional)? {
                match flag {
                    "--threshold" => o.threshold_pct = p.number(flag)?,
                    "--instructions-threshold" => o.instructions_threshold_pct = p.number(flag)?,
                    "--wall-time-informational" => o.wall_time_informational = true,
                    "--format" => {
                        o.format = match p.value(flag)?.as_str() {
                            "text" => Format::Text,
                            "markdown" | "md" => Format::Markdown,
                            "json" => Format::Json,
                            other => bail!("--format takes text, markdown or json, not `{other}`"),
                        }
                    }
                    _ => return Err(p.unknown(flag)),
                }
            }
            let mut positional = positional.into_iter();
            o.old = positional
                .next()
                .with_context(|| format!("compare needs OLD\n\n{help}"))?;
            o.new = positional.next();
            if let Some(extra) = positional.next() {
                bail!("unexpected argument `{extra}`\n\n{help}");
            }
            Task::Compare(o)
        }
        "profile" => {
            let mut o = ProfileOptions {
                targets: 10,
                files: 1000,
                update: false,
                out: None,
                broadcast: None,
            };
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--targets" => o.targets = p.number::<usize>(flag)?.max(1),
                    "--files" => o.files = p.number::<usize>(flag)?.max(1),
                    "--update" => o.update = true,
                    "--out" => o.out = Some(p.value(flag)?),
                    "--broadcast" => o.broadcast = Some(p.value(flag)?),
                    _ => return Err(p.unknown(flag)),
                }
            }
            Task::Profile(o)
        }
        "report" => {
            let mut o = crate::report::ReportOptions::default();
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--check" => o.check = true,
                    _ => return Err(p.unknown(flag)),
                }
            }
            Task::Report(o)
        }
        "dist-docs" => {
            let mut out = None;
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--out" => out = Some(p.value(flag)?),
                    _ => return Err(p.unknown(flag)),
                }
            }
            p.finish()?;
            Task::DistDocs { out }
        }
        "e2e" => {
            let mut o = E2eOptions::default();
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--quick" => o.quick = true,
                    "--filter" => o.filter = Some(p.value(flag)?),
                    "--runs" => o.runs = Some(p.number::<usize>(flag)?.max(1)),
                    "--targets" => o.targets = Some(p.list(flag)?),
                    "--files" => o.files = Some(p.list(flag)?),
                    "--broadcast" => o.broadcast = Some(p.value(flag)?),
                    "--keep" => o.keep = true,
                    "--large" => o.large_mib = Some(p.number::<usize>(flag)?.max(1)),
                    "--json" => o.json = Some(p.value(flag)?),
                    _ => return Err(p.unknown(flag)),
                }
            }
            p.finish()?;
            Task::E2e(o)
        }
        "fuzz" => {
            let mut o = FuzzOptions {
                minutes: 10.0,
                targets: Vec::new(),
                cases: None,
            };
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--minutes" => o.minutes = p.number::<f64>(flag)?.max(0.0),
                    "--target" => o
                        .targets
                        .extend(p.value(flag)?.split(',').map(|t| t.trim().to_owned())),
                    "--cases" => o.cases = Some(p.number::<u32>(flag)?.max(1)),
                    _ => return Err(p.unknown(flag)),
                }
            }
            Task::Fuzz(o)
        }
        "scale" => {
            let mut o = ScaleOptions {
                targets: 1000,
                factor: 360.0,
                jobs: 8,
                broadcast: None,
                keep: false,
                kill_targets: None,
            };
            while let Some(flag) = p.next_flag()? {
                match flag {
                    "--targets" => o.targets = p.number::<usize>(flag)?.max(1),
                    "--factor" => o.factor = p.number::<f64>(flag)?.max(1.0),
                    "--jobs" => o.jobs = p.number::<usize>(flag)?.max(1),
                    "--broadcast" => o.broadcast = Some(p.value(flag)?),
                    "--keep" => o.keep = true,
                    "--kill-targets" => o.kill_targets = Some(p.number::<usize>(flag)?.max(1)),
                    _ => return Err(p.unknown(flag)),
                }
            }
            p.finish()?;
            Task::Scale(o)
        }
        _ => unreachable!("matched above"),
    };
    Ok(Some(task))
}

struct Parser<'a> {
    args: &'a [String],
    pos: usize,
    help: &'static str,
}

impl<'a> Parser<'a> {
    fn next_flag(&mut self) -> anyhow::Result<Option<&'a str>> {
        let Some(arg) = self.args.get(self.pos) else {
            return Ok(None);
        };
        self.pos += 1;
        if !arg.starts_with("--") {
            bail!("unexpected argument `{arg}`\n\n{}", self.help);
        }
        Ok(Some(arg.as_str()))
    }

    fn next_flag_or_positional(
        &mut self,
        positional: &mut Vec<String>,
    ) -> anyhow::Result<Option<&'a str>> {
        while let Some(arg) = self.args.get(self.pos) {
            self.pos += 1;
            if arg.starts_with("--") {
                return Ok(Some(arg.as_str()));
            }
            positional.push(arg.clone());
        }
        Ok(None)
    }

    fn value(&mut self, flag: &str) -> anyhow::Result<String> {
        let value = self
            .args
            .get(self.pos)
            .with_context(|| format!("{flag} needs a value\n\n{}", self.help))?;
        self.pos += 1;
        Ok(value.clone())
    }

    fn number<T: std::str::FromStr>(&mut self, flag: &str) -> anyhow::Result<T> {
        let value = self.value(flag)?;
        value
            .parse()
            .map_err(|_| anyhow::anyhow!("{flag} takes a number, not `{value}`"))
    }

    fn list(&mut self, flag: &str) -> anyhow::Result<Vec<usize>> {
        let value = self.value(flag)?;
        value
            .split(',')
            .map(|n| {
                n.trim().parse().map_err(|_| {
                    anyhow::anyhow!("{flag} takes numbers like 1,10,50, not `{value}`")
                })
            })
            .collect()
    }

    fn unknown(&self, flag: &str) -> anyhow::Error {
        anyhow::anyhow!("unknown flag `{flag}`\n\n{}", self.help)
    }

    fn finish(&self) -> anyhow::Result<()> {
        match self.args.get(self.pos) {
            Some(extra) => bail!("unexpected argument `{extra}`\n\n{}", self.help),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
#[path = "flags_tests.rs"]
mod tests;
