//! broadcast: keeps many git repositories in sync with a source (template) repository.
//!
//! This crate is thin: configuration ([`config`]), planning ([`plan`]), orchestration
//! ([`sync`]), forges ([`forge`]) and the CLI ([`cli`]), wiring the workspace's libraries together:
//! `git-batch` for git, `transform` for content.

pub mod cli;
pub mod config;
pub mod demo;
pub mod forge;
pub mod output;
pub mod ownership;
pub mod plan;
pub mod repo;
pub mod state;
pub mod sync;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;

use crate::cli::{Cli, Command};
use crate::sync::{RunReport, SyncOptions, TargetStatus};

/// How a successful invocation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Everything succeeded (exit code 0).
    Success,
    /// At least one target or group failed (exit code 1).
    TargetsFailed,
}

/// Runs a parsed command line. Errors are usage, config or fatal errors (exit code 2).
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    init_logging(&cli.log_level);
    match cli.command {
        Command::Validate(args) => {
            let loaded = config::load(&args.config)?;
            let plan = plan::build(&loaded.config, &loaded.base_dir, &plan::Scope::default())?;
            print_out(&validate_summary(&loaded, &plan))?;
            Ok(Outcome::Success)
        }
        Command::Sync(args) => {
            let loaded = config::load(&args.config.config)?;
            let scope = plan::Scope {
                groups: args.groups.clone(),
                skip_groups: args.skip_groups.clone(),
                targets: args.targets.clone(),
            };
            let plan = plan::build(&loaded.config, &loaded.base_dir, &scope)?;
            let mut opts = SyncOptions {
                dry_run: args.dry_run,
                diff: args.diff,
                force: args.force,
                git_timeout: Duration::from_secs(args.git_timeout_secs.max(1)),
                ..SyncOptions::default()
            };
            if let Some(j) = args.jobs {
                opts.jobs = j.max(1);
            }
            if let Some(gh) = github_forge(&plan, &args.github)? {
                let preflight = loaded
                    .config
                    .rate_limit_preflight
                    .as_ref()
                    .and_then(|r| r.enabled)
                    .unwrap_or(true);
                if preflight {
                    opts.before_writes = Some(rate_limit_preflight(
                        gh.clone(),
                        args.github.ignore_rate_limit,
                    ));
                }
                opts.github = Some(gh);
            }
            let profile = match &args.profile {
                Some(dir) => Some(
                    broadcast_profiling::ProfileSuite::start(dir, Default::default())
                        .with_context(|| {
                            format!("cannot start profiling into {}", dir.display())
                        })?,
                ),
                None => None,
            };
            let report = sync::run(&plan, &opts)?;
            if let Some(suite) = profile {
                let p = suite.finish().context("cannot write the profile")?;
                eprintln!(
                    "profile: {} samples over {} ms, written to {}",
                    p.samples,
                    p.wall_time.as_millis(),
                    p.dir.display()
                );
            }
            if let Some(path) = &args.report {
                let json = broadcast_redact::redact(&output::render_json(&report)?).into_owned();
                broadcast_stream_io::atomic_write_bytes(path, json.as_bytes())
                    .with_context(|| format!("cannot write the report to {}", path.display()))?;
            }
            print_report(&report, args.json, args.dry_run, args.diff)?;
            Ok(if report.has_failures() {
                Outcome::TargetsFailed
            } else {
                Outcome::Success
            })
        }
        Command::Status(args) => {
            let loaded = config::load(&args.config.config)?;
            let scope = plan::Scope {
                groups: args.groups.clone(),
                ..plan::Scope::default()
            };
            let plan = plan::build(&loaded.config, &loaded.base_dir, &scope)?;
            let opts = SyncOptions {
                dry_run: true,
                status: true,
                github: github_forge(&plan, &args.github)?.map(|g| g as Arc<dyn forge::Forge>),
                ..SyncOptions::default()
            };
            let report = sync::run(&plan, &opts)?;
            if args.json {
                print_out(&output::render_json(&report)?)?;
            } else {
                print_out(&status_table(&report))?;
            }
            Ok(if report.has_failures() {
                Outcome::TargetsFailed
            } else {
                Outcome::Success
            })
        }
        Command::Demo(args) => demo::run(args.dir.as_deref()),
    }
}

/// The GitHub forge when the plan has `owner/name` repositories: options from the environment
/// (`GITHUB_API_URL`, `GITHUB_SERVER_URL`, `GH_TOKEN` / `GITHUB_TOKEN` / `gh auth token`), URLs
/// overridden by the flags. A missing token is an error here, before anything is read or written.
fn github_forge(
    plan: &plan::Plan,
    args: &cli::GitHubArgs,
) -> anyhow::Result<Option<Arc<forge::github::GitHubForge>>> {
    let needs = plan
        .groups
        .iter()
        .any(|g| g.source.is_github() || g.targets.iter().any(|t| t.repo.is_github()));
    if !needs {
        return Ok(None);
    }
    let mut options = forge::github::GitHubOptions::from_env()
        .context("the config has GitHub repositories (owner/name)")?;
    if let Some(u) = &args.github_api_url {
        options.api_url = u.clone();
    }
    if let Some(u) = &args.github_url {
        options.web_url = u.clone();
    }
    Ok(Some(Arc::new(forge::github::GitHubForge::new(options)?)))
}

/// The pre-write rate-limit check: reads `GET /rate_limit`, prints the estimate of the writes
/// the group needs and how long pacing takes, and refuses when the budget cannot hold them
/// (unless `ignore`).
fn rate_limit_preflight(
    github: Arc<forge::github::GitHubForge>,
    ignore: bool,
) -> sync::BeforeWrites {
    Arc::new(move |group: &plan::GroupPlan, targets: usize| {
        let limit = github
            .rate_limit()
            .context("cannot read the GitHub rate limit (is the token valid?)")?;
        let est = github.plan_writes(targets);
        let remaining = match (est.remaining, limit) {
            (Some(r), Some(l)) => format!(
                "{r} requests remaining, reset in {} s",
                l.reset_at()
                    .duration_since(std::time::SystemTime::now())
                    .map_or(0, |d| d.as_secs())
            ),
            _ => "no rate limit reported".to_owned(),
        };
        eprintln!(
            "group {}: {} target(s) need GitHub writes: up to {} write and {} read requests ({remaining}); write pacing takes about {} s",
            group.id,
            est.targets,
            est.write_calls,
            est.read_calls,
            est.pacing.as_secs()
        );
        if !est.fits && !ignore {
            anyhow::bail!(
                "rate-limit preflight: group {} needs up to {} requests but only {} remain; wait for the reset or re-run with --ignore-rate-limit",
                group.id,
                est.write_calls + est.read_calls,
                est.remaining.unwrap_or(0)
            );
        }
        Ok(())
    })
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
                t.location
            ));
        }
    }
    print_out(&text)
}

fn status_table(report: &RunReport) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let mut out = String::from("GROUP  TARGET  STATE\n");
    for t in &report.targets {
        let pr = t.pull_request.as_ref().map(|pr| {
            let age = pr
                .created_at
                .as_deref()
                .and_then(output::parse_rfc3339_utc)
                .map(|at| format!(", opened {} ago", output::human_age(now - at)))
                .unwrap_or_default();
            format!("; PR #{} {}{age}", pr.number, pr.url)
        });
        let pr = pr.unwrap_or_default();
        let state = match t.status {
            TargetStatus::InSync => "in sync".to_owned(),
            TargetStatus::UpToDate => format!(
                "pending merge: sync branch {} holds {} change(s){pr}",
                t.branch.as_deref().unwrap_or("-"),
                t.changes.len()
            ),
            TargetStatus::WouldSync => {
                format!("behind: {} file(s) differ{pr}", t.changes.len())
            }
            TargetStatus::Skipped | TargetStatus::Failed | TargetStatus::Blocked => {
                format!("{} (see below)", t.status.label())
            }
            TargetStatus::Synced => "synced".to_owned(),
        };
        out.push_str(&format!("{}  {}  {state}\n", t.group, t.target));
    }
    let mut out = output::align_columns(&out);
    for t in &report.targets {
        if let Some(e) = &t.error {
            // One line per error, below the table, so the columns stay aligned.
            out.push_str(&format!(
                "{} [{}] {}: {}\n",
                t.target,
                t.group,
                t.status.label(),
                e.replace('\n', " ")
            ));
        }
    }
    out
}

fn validate_summary(loaded: &config::LoadedConfig, plan: &plan::Plan) -> String {
    let mut out = format!("{}: configuration is valid\n", loaded.path.display());
    for g in &plan.groups {
        out.push_str(&format!(
            "group {} ({}): source {}@{}, {} target(s), branch {}\n",
            g.id,
            g.name,
            g.source_display,
            g.source_branch,
            g.targets.len(),
            g.sync_branch
        ));
        for t in &g.targets {
            out.push_str(&format!(
                "  {} ({} mapping(s), base {})\n",
                t.display,
                t.mappings.len(),
                t.base_branch.as_deref().unwrap_or("default branch")
            ));
        }
    }
    let disabled: Vec<&str> = loaded
        .config
        .groups
        .iter()
        .filter(|g| g.enabled == Some(false))
        .map(|g| g.id.as_str())
        .collect();
    if !disabled.is_empty() {
        out.push_str(&format!("disabled groups: {}\n", disabled.join(", ")));
    }
    out
}

/// Writes to stdout through the redactor: reports quote git's and GitHub's error text.
fn print_out(text: &str) -> anyhow::Result<()> {
    let text = broadcast_redact::redact(text);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .context("cannot write to stdout")
}

fn init_logging(level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(broadcast_redact::tracing::RedactingMakeWriter::new(
            std::io::stderr,
        ))
        .try_init();
}

/// True when the error is a closed stdout (e.g. piped into `head`): not a failure.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error chain as one message, with secrets redacted.
pub fn redact_error(e: &anyhow::Error) -> String {
    broadcast_redact::redact(&format!("{e:#}")).into_owned()
}
