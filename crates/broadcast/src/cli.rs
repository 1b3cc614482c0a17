//! Command-line flags (clap derive types only).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Keep many git repositories in sync with a template repository.
#[derive(Debug, Parser)]
#[command(name = "broadcast", version, about, long_about = None)]
pub struct Cli {
    /// Log filter for stderr (e.g. `info`, `debug`, `broadcast=trace`); wins over -v, -q and
    /// RUST_LOG. Without it: -q, -v, else RUST_LOG, else `warn`.
    #[arg(long, global = true, value_name = "FILTER")]
    pub log_level: Option<String>,
    /// More log output: -v info (one line per target and decision), -vv debug (every git
    /// process and REST call), -vvv trace.
    #[arg(short = 'v', long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Errors only: no warnings in the log and no progress bars.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,
    /// Log line format on stderr: text, or json (one JSON object per line).
    #[arg(long, global = true, value_enum, default_value_t)]
    pub log_format: crate::observe::logging::LogFormat,
    /// Colour in log lines: auto (a terminal, and NO_COLOR unset), always, never.
    #[arg(long, global = true, value_enum, default_value_t, value_name = "WHEN")]
    pub color: crate::observe::logging::ColorChoice,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Copy and transform files from each group's source into its targets, commit to a sync
    /// branch, push, and open or update a pull request.
    Sync(SyncArgs),
    /// Load and check a config file; print a summary.
    Validate(ConfigArgs),
    /// Show, per target, whether it is in sync, has an up-to-date sync branch, or is behind.
    Status(StatusArgs),
    /// Take a campaign back: close the open sync pull requests with a comment and, with
    /// --delete-branch, delete the sync branches. Branches holding commits broadcast did not
    /// write are left alone and named.
    Cancel(CancelArgs),
    /// Build a template repository and three targets in a directory, write a config for them,
    /// and run a real sync: the quickest way to see broadcast work.
    Demo(DemoArgs),
    /// Print what a bug report needs, redacted: versions, where each host's token came from
    /// (never the token), GitHub API reachability and rate limit, the config, the machine.
    Diagnose(DiagnoseArgs),
    /// Print a man page (roff) or a shell completion script on stdout (`cargo xtask dist-docs`
    /// writes them all).
    Generate(GenerateArgs),
}

/// `--config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Config file (go-broadcast v1 format).
    #[arg(long, short = 'c', default_value = "sync.yaml")]
    pub config: PathBuf,
}

/// Flags of `sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Show what would change (files added/modified/deleted with sizes); write nothing anywhere.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: print a unified diff of each changed text file.
    #[arg(long, requires = "dry_run")]
    pub diff: bool,
    /// Replace a sync branch even when it holds commits broadcast did not write (they are
    /// dropped and listed in the report); without it such targets are blocked.
    #[arg(long)]
    pub force: bool,
    /// Only these groups (ids or names, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Leave out these groups (ids or names, comma-separated); wins over --groups.
    #[arg(long, value_delimiter = ',')]
    pub skip_groups: Vec<String>,
    /// Targets processed in parallel (default: number of CPUs); at least 1, and never more
    /// threads than targets.
    #[arg(long, short = 'j', value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Timeout of each git process, in seconds.
    #[arg(long, default_value_t = 600)]
    pub git_timeout_secs: u64,
    /// Write a CPU profile (pprof), flamegraph, allocation totals and a text report into this
    /// directory. The CPU profiler holds a ~170 MB sample table (not counted in the report's
    /// figures); a build with `--features dhat-heap` writes a dhat heap profile instead.
    #[arg(long)]
    pub profile: Option<PathBuf>,
    /// Also write the JSON report to this file (replaced atomically).
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Only the targets of shard K of N (e.g. `--shard 2/8`): a fixed partition by a hash of
    /// each target's repository, the same on every machine; N jobs with 1/N .. N/N cover every
    /// target once. Without --write-interval-ms, GitHub writes are spaced N times the interval.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<crate::shard::ShardSpec>,
    #[command(flatten)]
    pub github: GitHubArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub diff_budget: DiffBudgetArgs,
    /// Only these targets (the repo strings exactly as written in the config).
    pub targets: Vec<String>,
}

/// `--jobs`: a whole number of at least 1.
fn parse_jobs(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("{e} (expected a whole number of at least 1)")),
    }
}

/// `--shard K/N` (see [`crate::shard::ShardSpec`]).
fn parse_shard(s: &str) -> Result<crate::shard::ShardSpec, String> {
    s.parse()
        .map_err(|e: crate::shard::ShardSpecError| e.to_string())
}

/// GitHub connection flags.
#[derive(Debug, Args, Clone, Default)]
pub struct GitHubArgs {
    /// GitHub REST API base URL (GitHub Enterprise: https://HOST/api/v3); default from
    /// GITHUB_API_URL, else https://api.github.com.
    #[arg(long)]
    pub github_api_url: Option<String>,
    /// GitHub web URL used for git (https://HOST); default from GITHUB_SERVER_URL, else https://github.com.
    #[arg(long)]
    pub github_url: Option<String>,
    /// Proceed even when the estimated API writes exceed the remaining rate-limit budget.
    #[arg(long)]
    pub ignore_rate_limit: bool,
    /// Minimum time between two GitHub content-creating requests (POST/PATCH), in milliseconds,
    /// shared by all jobs; default from the config's rate_limit_preflight.write_interval_ms, else
    /// 1000 (GitHub's guidance). 0 turns the spacing off.
    #[arg(long, value_name = "MS")]
    pub write_interval_ms: Option<u64>,
    /// Send plain GETs: no If-None-Match, nothing read from or written to the cache of GitHub
    /// ETags ($XDG_CACHE_HOME/broadcast, else the platform's cache directory). The cache is safe
    /// to delete; a 304 answer to a cached ETag costs no rate-limit budget.
    #[arg(long)]
    pub no_cache: bool,
    /// At most COUNT GitHub content-creating requests in any sliding SECONDS, shared by all jobs
    /// (default 500/3600: GitHub's secondary limit of 500 per hour). Together with
    /// --write-interval-ms it compresses time against a test double. 0/0 turns it off.
    #[arg(long, value_name = "COUNT/SECONDS", value_parser = parse_write_budget)]
    pub write_budget: Option<(u32, std::time::Duration)>,
}

/// `COUNT/SECONDS` (whole count, seconds possibly fractional, e.g. `500/3600` or `500/10`).
pub fn parse_write_budget(s: &str) -> Result<(u32, std::time::Duration), String> {
    let bad = || format!("{s:?}: expected COUNT/SECONDS, e.g. 500/3600");
    let (count, secs) = s.split_once('/').ok_or_else(bad)?;
    let count: u32 = count.trim().parse().map_err(|_| bad())?;
    let secs: f64 = secs.trim().parse().map_err(|_| bad())?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(bad());
    }
    Ok((count, std::time::Duration::from_secs_f64(secs)))
}

/// Flags of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Only these groups (ids or names, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Only the targets of shard K of N (e.g. `--shard 2/8`): a fixed partition by a hash of
    /// each target's repository, the same on every machine; N jobs with 1/N .. N/N cover every
    /// target once. Without --write-interval-ms, GitHub writes are spaced N times the interval.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<crate::shard::ShardSpec>,
    #[command(flatten)]
    pub github: GitHubArgs,
}

/// Flags of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Where to build the demo (default: a new temporary directory that is kept).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// Flags of `cancel` (the selection flags are sync's).
#[derive(Debug, Args)]
pub struct CancelArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// List what would be closed and deleted; write nothing anywhere.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete the sync branches (GitHub and local targets), each only while it still
    /// holds nothing but broadcast's commits.
    #[arg(long)]
    pub delete_branch: bool,
    /// The comment posted on each pull request before it is closed (default: says the sync was
    /// withdrawn by `broadcast cancel` and what happens to the branch).
    #[arg(long, value_name = "TEXT")]
    pub comment: Option<String>,
    /// Only these groups (ids or names, comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub groups: Vec<String>,
    /// Leave out these groups (ids or names, comma-separated); wins over --groups.
    #[arg(long, value_delimiter = ',')]
    pub skip_groups: Vec<String>,
    /// Only the targets of shard K of N, exactly as `sync --shard K/N` selects them.
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<crate::shard::ShardSpec>,
    /// Targets processed in parallel (default: number of CPUs).
    #[arg(long, short = 'j', value_parser = parse_jobs)]
    pub jobs: Option<usize>,
    /// Print the report as JSON on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Timeout of each git process, in seconds.
    #[arg(long, default_value_t = 600)]
    pub git_timeout_secs: u64,
    #[command(flatten)]
    pub github: GitHubArgs,
    /// Only these targets (the repo strings exactly as written in the config).
    pub targets: Vec<String>,
}

/// Metrics flags of `sync`.
#[derive(Debug, Args, Clone, Default)]
pub struct MetricsArgs {
    /// Serve metrics during the run: Prometheus text at http://ADDR/metrics and a dashboard
    /// page at http://ADDR/ (port 0 picks a free port; the address is printed on stderr).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Keep serving --metrics-addr this many seconds after the run ends (for a last scrape).
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        requires = "metrics_addr"
    )]
    pub metrics_linger_secs: u64,
    /// Write the metrics at the end of the run to this file, replaced atomically, in the
    /// format node_exporter's textfile collector reads (name it *.prom).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
}

/// `--diff` budget flags of `sync`.
#[derive(Debug, Args, Clone)]
pub struct DiffBudgetArgs {
    /// With --diff: files larger than this (old or new side, bytes) get a summary line instead
    /// of a diff.
    #[arg(long, value_name = "BYTES", default_value_t = crate::diff::DEFAULT_MAX_BYTES)]
    pub diff_max_bytes: u64,
    /// With --diff: time for computing one file's diff, in milliseconds; past it a summary line
    /// is printed instead.
    #[arg(long, value_name = "MS", default_value_t = crate::diff::DEFAULT_DEADLINE_MS)]
    pub diff_deadline_ms: u64,
}

/// Flags of `diagnose`.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// Also summarise this config file (groups, targets, hosts).
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// GitHub REST API base URL to check (as for `sync`); default from GITHUB_API_URL, else
    /// https://api.github.com.
    #[arg(long)]
    pub github_api_url: Option<String>,
    /// GitHub web URL whose token is looked up (as for `sync`); default from GITHUB_SERVER_URL,
    /// else https://github.com.
    #[arg(long)]
    pub github_url: Option<String>,
}

/// Flags of `generate`.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// What to print.
    #[arg(value_enum)]
    pub what: Generated,
}

/// What `broadcast generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Generated {
    /// The man page `broadcast.1` (roff), with a section per subcommand.
    Man,
    /// Completions for bash (source it, or install it as `broadcast` in bash-completion's directory).
    CompleteBash,
    /// Completions for zsh (install as `_broadcast` on `$fpath`).
    CompleteZsh,
    /// Completions for fish (install as `broadcast.fish`).
    CompleteFish,
    /// Completions for PowerShell.
    CompletePowershell,
    /// Completions for elvish.
    CompleteElvish,
}
