//! broadcast: keeps many git repositories in sync with a source (template) repository.
//!
//! This crate is thin: configuration ([`config`]), planning ([`plan`]), orchestration
//! ([`sync`]), forges ([`forge`]) and the CLI ([`cli`]), wiring the workspace's libraries together:
//! `git-batch` for git, `transform` for content.

pub mod cancel;
pub mod cli;
pub mod commit;
pub mod config;
pub mod demo;
pub mod diagnose;
pub mod diff;
pub mod escape;
pub mod forge;
pub mod generate;
pub mod observe;
pub mod output;
pub mod ownership;
pub mod plan;
pub mod repo;
pub mod report;
pub mod scratch;
pub mod shard;
pub mod state;
pub mod sync;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::report::{RunReport, TargetStatus};
use crate::sync::SyncOptions;

/// How a successful invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded (exit code 0).
    Success,
    /// At least one target or group failed (exit code 1).
    TargetsFailed,
    /// The run was interrupted (SIGINT, SIGTERM, SIGHUP) and stopped early; the summary and
    /// `--report` cover what was done (exit code 130, as a shell reports death by SIGINT).
    Interrupted,
}

/// Runs a parsed command line. Errors are usage, config or fatal errors (exit code 2).
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let observers = observers(&cli);
    let sync_observers = observe::logging::Observers {
        metrics: observers.metrics.clone(),
        progress: observers.progress.clone(),
    };
    observe::logging::init(&log_settings(&cli), observers)?;
    match cli.command {
        Command::Validate(args) => {
            let loaded = config::load(&args.config)?;
            let plan = plan::build(&loaded.config, &loaded.base_dir, &plan::Scope::default())?;
            print_out(&output::render_validate(&loaded, &plan))?;
            Ok(Outcome::Success)
        }
        Command::Sync(args) => run_sync(&args, sync_observers),
        Command::Generate(args) => {
            print_out(&generate::render(args.what)?)?;
            Ok(Outcome::Success)
        }
        Command::Diagnose(args) => {
            let text = diagnose::run(&args)?;
            print_out(&text)?;
            Ok(Outcome::Success)
        }
        Command::Status(args) => {
            let loaded = config::load(&args.config.config)?;
            let scope = plan::Scope {
                groups: args.groups.clone(),
                ..plan::Scope::default()
            };
            let plan = sharded(
                plan::build(&loaded.config, &loaded.base_dir, &scope)?,
                args.shard,
            );
            for w in config::ignored_settings(&loaded.config) {
                output::note(&format!("warning: {w}"));
            }
            let mut opts = SyncOptions {
                dry_run: true,
                status: true,
                ..SyncOptions::default()
            };
            if let Some(gh) = github_forge(&plan, &args.github, &loaded.config, args.shard)? {
                opts.forges.register(Arc::new(gh));
            }
            let report = sync::run(&plan, &opts)?;
            if args.json {
                print_out(&output::render_json(&report)?)?;
            } else {
                print_out(&output::render_status(&report, output::now_secs()))?;
            }
            Ok(if report.has_failures() {
                Outcome::TargetsFailed
            } else {
                Outcome::Success
            })
        }
        Command::Cancel(args) => run_cancel(&args),
        Command::Demo(args) => demo::run(args.dir.as_deref()),
    }
}

/// The log settings the command line asks for.
fn log_settings(cli: &Cli) -> observe::logging::LogSettings {
    observe::logging::LogSettings {
        level: cli.log_level.clone(),
        verbose: cli.verbose,
        quiet: cli.quiet,
        format: cli.log_format,
        color: cli.color,
    }
}

/// Metrics (with `--metrics-addr` or `--metrics-file`) and progress bars (a terminal, no
/// `--quiet`, no `--json`) for `sync`; nothing for the other commands.
fn observers(cli: &Cli) -> observe::logging::Observers {
    use std::io::IsTerminal as _;
    let Command::Sync(args) = &cli.command else {
        return observe::logging::Observers::default();
    };
    let wants_metrics = args.metrics.metrics_addr.is_some() || args.metrics.metrics_file.is_some();
    let tty = std::io::stderr().is_terminal();
    observe::logging::Observers {
        metrics: wants_metrics.then(observe::metrics::Metrics::new),
        progress: observe::progress::enabled(tty, cli.quiet, args.json)
            .then(observe::progress::Progress::new),
    }
}

/// `broadcast sync`: load, plan, run, report.
fn run_sync(
    args: &cli::SyncArgs,
    observers: observe::logging::Observers,
) -> anyhow::Result<Outcome> {
    if let Some(path) = &args.metrics.metrics_file {
        check_output_path("--metrics-file", path)?;
    }
    if let Some(path) = &args.report {
        check_output_path("--report", path)?;
    }
    let (loaded, plan) = load_plan(
        &args.config.config,
        plan::Scope {
            groups: args.groups.clone(),
            skip_groups: args.skip_groups.clone(),
            targets: args.targets.clone(),
        },
        args.shard,
    )?;
    for w in config::ignored_settings(&loaded.config) {
        output::note(&format!("warning: {w}"));
    }
    let mut opts = SyncOptions {
        dry_run: args.dry_run,
        diff: args.diff,
        force: args.force,
        git_timeout: Duration::from_secs(args.git_timeout_secs.max(1)),
        diff_budget: diff::DiffBudget {
            max_bytes: args.diff_budget.diff_max_bytes,
            deadline: Duration::from_millis(args.diff_budget.diff_deadline_ms),
        },
        ..SyncOptions::default()
    };
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    on_interrupt(opts.cancel.clone());
    if let Some(gh) = github_forge(&plan, &args.github, &loaded.config, args.shard)? {
        let policy = preflight_policy(&args.github, &loaded.config);
        opts.forges.register(Arc::new(gh.with_preflight(policy)));
    }
    let profile = match &args.profile {
        Some(dir) => Some(Profiling::start(dir)?),
        None => None,
    };
    let server = match (&args.metrics.metrics_addr, &observers.metrics) {
        (Some(addr), Some(metrics)) => {
            let server = observe::server::MetricsServer::start(addr, Arc::clone(metrics))?;
            output::note(&format!(
                "metrics: http://{0}/metrics, dashboard: http://{0}/",
                server.local_addr()
            ));
            Some(server)
        }
        _ => None,
    };
    let report = sync::run(&plan, &opts);
    if let Some(metrics) = &observers.metrics {
        metrics.finish();
    }
    if let Some(p) = &observers.progress {
        p.clear();
    }
    if let (Some(path), Some(metrics)) = (&args.metrics.metrics_file, &observers.metrics) {
        broadcast_stream_io::atomic_write_bytes(path, metrics.render().as_bytes())
            .with_context(|| format!("cannot write the metrics to {}", path.display()))?;
    }
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            if let Some(server) = server {
                server.stop();
            }
            return Err(e);
        }
    };
    if let Some(profile) = profile {
        profile.finish()?;
    }
    // The summary first: a report file that cannot be written must not hide what was done.
    print_report(&report, args.json, args.dry_run, args.diff)?;
    if let Some(path) = &args.report {
        let json = broadcast_redact::redact(&output::render_json(&report)?).into_owned();
        broadcast_stream_io::atomic_write_bytes(path, json.as_bytes())
            .with_context(|| format!("cannot write the report to {}", path.display()))?;
    }
    if let Some(server) = server {
        linger(args.metrics.metrics_linger_secs);
        server.stop();
    }
    Ok(if report.interrupted {
        Outcome::Interrupted
    } else if report.has_failures() {
        Outcome::TargetsFailed
    } else {
        Outcome::Success
    })
}

/// Loads the config at `path` and plans `scope` of it, cut down to `shard` (the selection
/// `sync` and `cancel` share).
fn load_plan(
    path: &std::path::Path,
    scope: plan::Scope,
    shard: Option<shard::ShardSpec>,
) -> anyhow::Result<(config::LoadedConfig, plan::Plan)> {
    let loaded = config::load(path)?;
    let plan = sharded(
        plan::build(&loaded.config, &loaded.base_dir, &scope)?,
        shard,
    );
    Ok((loaded, plan))
}

/// `broadcast cancel`: load, plan (with sync's selection flags), close and delete, report.
fn run_cancel(args: &cli::CancelArgs) -> anyhow::Result<Outcome> {
    let (loaded, plan) = load_plan(
        &args.config.config,
        plan::Scope {
            groups: args.groups.clone(),
            skip_groups: args.skip_groups.clone(),
            targets: args.targets.clone(),
        },
        args.shard,
    )?;
    let mut opts = cancel::CancelOptions {
        dry_run: args.dry_run,
        delete_branch: args.delete_branch,
        comment: args.comment.clone(),
        git_timeout: Duration::from_secs(args.git_timeout_secs.max(1)),
        ..cancel::CancelOptions::default()
    };
    if let Some(j) = args.jobs {
        opts.jobs = j.max(1);
    }
    on_interrupt(opts.cancel.clone());
    // Cancel never reads a source: only GitHub targets need the token.
    let github_targets = plan
        .groups
        .iter()
        .any(|g| g.targets.iter().any(|t| t.repo.is_github()));
    if github_targets
        && let Some(gh) = github_forge(&plan, &args.github, &loaded.config, args.shard)?
    {
        let policy = preflight_policy(&args.github, &loaded.config);
        opts.forges.register(Arc::new(gh.with_preflight(policy)));
    }
    let report = cancel::run(&plan, &opts)?;
    if args.json {
        print_out(&output::render_cancel_json(&report)?)?;
    } else {
        print_out(&output::render_cancel_table(&report))?;
    }
    Ok(if report.interrupted {
        Outcome::Interrupted
    } else if report.has_failures() {
        Outcome::TargetsFailed
    } else {
        Outcome::Success
    })
}

/// `--metrics-linger-secs`: keeps the metrics server up after the summary so a scraper gets the
/// final values.
fn linger(secs: u64) {
    if secs > 0 {
        output::note(&format!("metrics: still serving for {secs} s"));
        std::thread::sleep(Duration::from_secs(secs));
    }
}

/// Refuses an output path (`--report`, `--metrics-file`) that cannot be written before
/// anything is synced: a directory, or a file in a directory that does not exist.
fn check_output_path(flag: &str, path: &std::path::Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!(
            "{flag} {}: is a directory; give a file path",
            path.display()
        );
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    if !parent.is_dir() {
        anyhow::bail!(
            "{flag} {}: directory {} does not exist",
            path.display(),
            parent.display()
        );
    }
    Ok(())
}

/// Installs the SIGINT / SIGTERM / SIGHUP handler of a sync (the `ctrlc` crate, `termination`
/// feature). The first signal cancels `cancel`: no new target starts, targets in progress
/// finish (git runs in its own process group, so a Ctrl-C at the terminal does not cut a push
/// short), then the summary and report are written. A second signal exits at once with 130;
/// the scratch directory left behind is removed by the next run.
fn on_interrupt(cancel: broadcast_worker::CancelToken) {
    let mut signals = 0u32;
    let installed = ctrlc::set_handler(move || {
        signals += 1;
        if signals == 1 {
            cancel.cancel();
            eprintln!(
                "interrupted: finishing the targets in progress, starting no new ones (interrupt again to stop at once)"
            );
        } else {
            eprintln!("interrupted again: stopping now");
            std::process::exit(130);
        }
    });
    if let Err(e) = installed {
        tracing::warn!("cannot install the interrupt handler: {e}");
    }
}

/// The GitHub forge when the plan has `owner/name` repositories: URLs from the flags, else the
/// environment (`GITHUB_API_URL`, `GITHUB_SERVER_URL`), then the token for that host
/// (`GitHubOptions::from_vars_with_urls`), write pacing from the flag, else the config. A missing
/// token is an error here, before anything is read or written.
///
/// With `--shard K/N` the pacing is for one of N jobs sharing the token
/// ([`shard::shard_pacing`]).
/// The rate-limit preflight of `sync` and `cancel`: the config's `rate_limit_preflight` section
/// and `--ignore-rate-limit`.
fn preflight_policy(
    github: &cli::GitHubArgs,
    config: &config::Config,
) -> forge::github::PreflightPolicy {
    forge::github::PreflightPolicy {
        ignore_budget: github.ignore_rate_limit,
        ..forge::github::PreflightPolicy::from_config(config.rate_limit_preflight.as_ref())
    }
}

fn github_forge(
    plan: &plan::Plan,
    args: &cli::GitHubArgs,
    config: &config::Config,
    shard: Option<shard::ShardSpec>,
) -> anyhow::Result<Option<forge::github::GitHubForge>> {
    let needs = plan
        .groups
        .iter()
        .any(|g| g.source.is_github() || g.targets.iter().any(|t| t.repo.is_github()));
    if !needs {
        return Ok(None);
    }
    let mut options = forge::github::GitHubOptions::from_env_with_urls(
        args.github_api_url.as_deref(),
        args.github_url.as_deref(),
    )
    .context("the config has GitHub repositories (owner/name)")?;
    options.write_pacing = shard::shard_pacing(
        forge::github::Pacing::from_settings(
            args.write_interval_ms,
            config
                .rate_limit_preflight
                .as_ref()
                .and_then(|r| r.write_interval_ms),
        ),
        args.write_interval_ms.is_some(),
        shard.map_or(1, shard::ShardSpec::count),
    );
    if let Some((count, window)) = args.write_budget {
        options.write_pacing = options.write_pacing.with_budget(count, window);
    }
    options.conditional = conditional_requests(args.no_cache, &options);
    if let Some(spec) = shard.filter(|s| s.count() > 1) {
        let p = options.write_pacing;
        output::note(&format!(
            "shard {spec}: GitHub writes {} ms apart, at most {} an hour ({})",
            p.interval.as_millis(),
            p.per_hour,
            if args.write_interval_ms.is_some() {
                "--write-interval-ms given: this job's own pacing".to_owned()
            } else {
                format!(
                    "{} jobs share the token's limits; --write-interval-ms overrides",
                    spec.count()
                )
            }
        ));
    }
    Ok(Some(forge::github::GitHubForge::new(options)?))
}

/// `plan` cut down to shard `shard` (all of it without one), with a note on stderr saying how
/// many targets the shard holds.
fn sharded(mut plan: plan::Plan, shard: Option<shard::ShardSpec>) -> plan::Plan {
    if let Some(spec) = shard {
        let before = shard::apply(&mut plan, spec);
        let kept: usize = plan.groups.iter().map(|g| g.targets.len()).sum();
        output::note(&format!(
            "shard {spec}: {kept} of {before} target(s) of the selected groups"
        ));
    }
    plan
}

/// Conditional GETs for the CLI: off with `--no-cache`, else validators kept on disk in this
/// host's and token's partition of the user cache directory, else (no cache directory) in memory.
fn conditional_requests(
    no_cache: bool,
    options: &forge::github::GitHubOptions,
) -> forge::github::ConditionalRequests {
    use forge::github::{ConditionalRequests, default_cache_root, partition_dir};
    if no_cache {
        return ConditionalRequests::Off;
    }
    match default_cache_root() {
        Some(root) => {
            ConditionalRequests::Disk(partition_dir(&root, &options.api_url, &options.token))
        }
        None => ConditionalRequests::Memory,
    }
}

fn print_report(report: &RunReport, json: bool, dry_run: bool, diff: bool) -> anyhow::Result<()> {
    if json {
        return print_out(&output::render_json(report)?);
    }
    let mut text = String::new();
    if dry_run {
        text.push_str(&output::render_changes(report, diff));
        text.push('\n');
    }
    text.push_str(&output::render_table(report));
    if !dry_run {
        let local: Vec<_> = report
            .targets
            .iter()
            .filter(|t| t.status == TargetStatus::Synced && t.pull_request.is_none())
            .collect();
        if let Some(t) = local.first()
            && let Some(b) = &t.branch
        {
            text.push_str(&format!(
                "\nInspect a synced branch: git -C {} log --stat -1 {b}\n",
                output::escape_control(&t.location)
            ));
        }
    }
    print_out(&text)
}

fn print_out(text: &str) -> anyhow::Result<()> {
    output::print(text)
}

/// What `sync --profile DIR` records: CPU samples, allocation counts and peak RSS; built with
/// the `dhat-heap` feature, a dhat heap profile (`dhat-heap.json`) instead of CPU samples,
/// since dhat's per-allocation backtraces would dominate a CPU profile.
struct Profiling {
    suite: broadcast_profiling::ProfileSuite,
    #[cfg(feature = "dhat-heap")]
    heap: broadcast_profiling::heap::HeapProfile,
}

impl Profiling {
    fn start(dir: &std::path::Path) -> anyhow::Result<Profiling> {
        let options = broadcast_profiling::ProfileOptions::default();
        #[cfg(feature = "dhat-heap")]
        let options = options.cpu(false);
        let suite = broadcast_profiling::ProfileSuite::start(dir, options)
            .with_context(|| format!("cannot start profiling into {}", dir.display()))?;
        Ok(Profiling {
            #[cfg(feature = "dhat-heap")]
            heap: broadcast_profiling::heap::HeapProfile::start(dir),
            suite,
        })
    }

    fn finish(self) -> anyhow::Result<()> {
        #[cfg(feature = "dhat-heap")]
        {
            let (path, t) = self.heap.finish();
            eprintln!(
                "heap profile: {} bytes in {} blocks at the peak, {} bytes allocated in total, written to {}",
                t.max_bytes,
                t.max_blocks,
                t.total_bytes,
                path.display()
            );
        }
        let p = self.suite.finish().context("cannot write the profile")?;
        eprintln!(
            "profile: {} samples over {} ms, written to {}",
            p.samples,
            p.wall_time.as_millis(),
            p.dir.display()
        );
        Ok(())
    }
}

/// True when the error is a closed stdout (e.g. piped into `head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error chain as one message, with secrets redacted and control characters escaped (a
/// config value or a flag echoed in a message must not drive the terminal; line breaks stay).
pub fn redact_error(e: &anyhow::Error) -> String {
    let text = broadcast_redact::redact(&format!("{e:#}")).into_owned();
    escape::escape_control_keeping(&text, &['\n']).into_owned()
}
