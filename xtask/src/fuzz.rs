//! `cargo xtask fuzz`: the property-test targets run for a fixed time.
//!
//! Each target is a set of `fuzz_<target>_*` proptest tests in one test binary. `cargo xtask
//! test` runs them with their small default case counts; here every target runs in rounds of
//! `BROADCAST_FUZZ_CASES` cases with a fresh `PROPTEST_RNG_SEED` per round until its time is up.
//! Targets run concurrently, one thread each. A failing round stops its target and prints
//! proptest's minimal input and the command that replays the round; proptest also saves the case
//! under the crate's `proptest-regressions/`, where the next run (and CI) replays it first.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::flags::FuzzOptions;

/// One fuzz target: the cargo arguments selecting its test binary and the test-name filter.
struct Target {
    name: &'static str,
    args: &'static [&'static str],
    filter: &'static str,
    /// Cases per test per round: a round takes a few seconds in a debug build.
    cases_per_round: u32,
}

const TARGETS: &[Target] = &[
    Target {
        name: "config",
        args: &["-p", "broadcast", "--lib"],
        filter: "fuzz_config",
        cases_per_round: 100,
    },
    Target {
        name: "metadata",
        args: &["-p", "broadcast", "--lib"],
        filter: "fuzz_metadata",
        cases_per_round: 1000,
    },
    Target {
        name: "git",
        args: &["-p", "broadcast-git-batch", "--lib"],
        filter: "fuzz_git",
        cases_per_round: 2000,
    },
    Target {
        name: "transform",
        args: &["-p", "broadcast-transform", "--test", "transform"],
        filter: "fuzz_transform",
        cases_per_round: 1000,
    },
    Target {
        name: "redact",
        args: &["-p", "broadcast-redact", "--test", "redact"],
        filter: "fuzz_redact",
        cases_per_round: 1000,
    },
    Target {
        name: "stream-io",
        args: &["-p", "broadcast-stream-io", "--test", "stream-io"],
        filter: "fuzz_stream",
        cases_per_round: 1000,
    },
];

/// The target names, for the help text and error messages.
pub(crate) fn target_names() -> Vec<&'static str> {
    TARGETS.iter().map(|t| t.name).collect()
}

/// What one target did.
struct Outcome {
    name: &'static str,
    rounds: u64,
    cases: u64,
    elapsed: Duration,
    failure: Option<String>,
}

/// Builds the selected targets' test binaries, then runs every target for `opts.minutes`.
pub(crate) fn run(sh: &Shell, opts: &FuzzOptions) -> anyhow::Result<ExitCode> {
    let selected: Vec<&'static Target> = if opts.targets.is_empty() {
        TARGETS.iter().collect()
    } else {
        let mut v = Vec::new();
        for name in &opts.targets {
            match TARGETS.iter().find(|t| t.name == name) {
                Some(t) => v.push(t),
                None => bail!(
                    "unknown fuzz target `{name}`; targets: {}",
                    target_names().join(", ")
                ),
            }
        }
        v
    };
    let cargo = crate::cargo();
    // Rounds run the test binary itself: cargo would serialize them on its build lock.
    let mut binaries = Vec::new();
    for t in &selected {
        let args = t.args;
        eprintln!(
            "fuzz: building {} (cargo test --no-run {})",
            t.name,
            args.join(" ")
        );
        let json = cmd!(
            sh,
            "{cargo} test --no-run --quiet --message-format=json {args...}"
        )
        .read()
        .with_context(|| format!("building the {} target", t.name))?;
        let exe = json
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find_map(|v| v.get("executable")?.as_str().map(std::path::PathBuf::from))
            .with_context(|| format!("cargo named no test binary for {}", t.name))?;
        binaries.push(exe);
    }
    let budget = Duration::from_secs_f64(opts.minutes * 60.0);
    let root = sh.current_dir();
    eprintln!(
        "fuzz: {} target(s) for {:.1} min each, concurrently",
        selected.len(),
        opts.minutes
    );
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = selected
            .iter()
            .zip(&binaries)
            .map(|(t, exe)| {
                let root = root.clone();
                let cases = opts.cases.unwrap_or(t.cases_per_round);
                s.spawn(move || fuzz_target(t, exe, &root, budget, cases))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a fuzz thread panicked"))
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    println!(
        "\n{:<10} {:>7} {:>12} {:>9}  result",
        "target", "rounds", "cases", "seconds"
    );
    let mut failed = false;
    for o in &outcomes {
        println!(
            "{:<10} {:>7} {:>12} {:>9.0}  {}",
            o.name,
            o.rounds,
            o.cases,
            o.elapsed.as_secs_f64(),
            if o.failure.is_some() { "FAILED" } else { "ok" }
        );
    }
    for o in &outcomes {
        if let Some(f) = &o.failure {
            failed = true;
            println!("\n== {} failed ==\n{f}", o.name);
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Runs rounds of `t` until `budget` is spent or a round fails.
fn fuzz_target(
    t: &Target,
    exe: &std::path::Path,
    root: &std::path::Path,
    budget: Duration,
    cases: u32,
) -> anyhow::Result<Outcome> {
    let sh = Shell::new().context("opening a shell")?;
    sh.change_dir(root);
    let started = Instant::now();
    let mut outcome = Outcome {
        name: t.name,
        rounds: 0,
        cases: 0,
        elapsed: Duration::ZERO,
        failure: None,
    };
    let mut last_round = Duration::ZERO;
    while started.elapsed() + last_round / 2 < budget {
        let seed = random_seed();
        let (args, filter) = (t.args, t.filter);
        let round = Instant::now();
        let out = cmd!(sh, "{exe} {filter} --test-threads 1")
            .env("BROADCAST_FUZZ_CASES", cases.to_string())
            .env("PROPTEST_RNG_SEED", seed.to_string())
            .ignore_status()
            .output()
            .with_context(|| format!("running the {} target", t.name))?;
        last_round = round.elapsed();
        outcome.rounds += 1;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            outcome.failure = Some(format!(
                "{}\n{}\nreplay: BROADCAST_FUZZ_CASES={cases} PROPTEST_RNG_SEED={seed} cargo test {} {filter}\n\
                 (the minimal case is also saved under the crate's proptest-regressions/ and is \
                 replayed first by every later run)",
                failure_excerpt(&stdout),
                stderr
                    .trim_end()
                    .lines()
                    .rev()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join("\n"),
                args.join(" "),
            ));
            break;
        }
        outcome.cases += passed_tests(&stdout) * u64::from(cases);
    }
    outcome.elapsed = started.elapsed();
    eprintln!(
        "fuzz: {} done: {} rounds, {} cases in {:.0} s{}",
        t.name,
        outcome.rounds,
        outcome.cases,
        outcome.elapsed.as_secs_f64(),
        if outcome.failure.is_some() {
            " (FAILED)"
        } else {
            ""
        }
    );
    Ok(outcome)
}

/// The number of passed tests from libtest's `test result: ok. N passed; …` lines.
fn passed_tests(stdout: &str) -> u64 {
    stdout
        .lines()
        .filter_map(|l| {
            l.split_once("test result: ")?
                .1
                .split_once(" passed")
                .map(|p| p.0)
        })
        .filter_map(|p| p.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// proptest's report of a failing test: from its `---- name stdout ----` header up to the stack
/// backtrace, which is noise here.
fn failure_excerpt(stdout: &str) -> String {
    let mut out = Vec::new();
    let mut inside = false;
    for line in stdout.lines() {
        if line.starts_with("---- ") {
            inside = true;
        }
        if line.starts_with("stack backtrace:") || line.starts_with("failures:") && !out.is_empty()
        {
            inside = false;
        }
        if inside {
            out.push(line);
        }
    }
    if out.is_empty() {
        stdout
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        out.join("\n")
    }
}

/// A seed for one round, from the standard library's per-process random hasher keys.
fn random_seed() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_passed_tests_and_cuts_failures() {
        let out = "running 3 tests\n...\ntest result: ok. 3 passed; 0 failed; 0 ignored\n";
        assert_eq!(passed_tests(out), 3);
        assert_eq!(passed_tests("nothing"), 0);
        let failed = "running 1 test\n\nfailures:\n\n---- a::fuzz_x stdout ----\nTest failed: boom\nminimal failing input: x = 1\nstack backtrace:\n  0: …\n\nfailures:\n    a::fuzz_x\n";
        let excerpt = failure_excerpt(failed);
        assert!(
            excerpt.contains("minimal failing input: x = 1"),
            "{excerpt}"
        );
        assert!(!excerpt.contains("stack backtrace"), "{excerpt}");
        assert_ne!(random_seed(), random_seed());
    }
}
