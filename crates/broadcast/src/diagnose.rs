//! `broadcast diagnose`: what a bug report needs, redacted.
//!
//! Versions (broadcast, git), the GitHub host with where its token came from (the variable's
//! name or `gh auth token`, never the token), whether the REST API answers and its rate-limit
//! state, a config summary (with `--config`), and the machine (cores, OS). Every line goes
//! through the redactor when printed.

use std::time::{Duration, Instant};

use serde::Serialize;

use crate::cli::DiagnoseArgs;
use crate::forge::github::{GitHubForge, GitHubOptions};

/// What `diagnose` found; printed as `key: value` lines or as JSON.
#[derive(Debug, Serialize)]
pub struct Diagnosis {
    /// This program's version.
    pub broadcast: String,
    /// `git --version`, or why it could not run.
    pub git: String,
    /// The GitHub host checked.
    pub github: GitHubCheck,
    /// The config, when `--config` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<ConfigSummary>,
    /// The machine.
    pub machine: Machine,
}

/// The GitHub host of the run (from `--github-url`/`--github-api-url`, else the environment).
#[derive(Debug, Serialize)]
pub struct GitHubCheck {
    /// REST base URL.
    pub api_url: String,
    /// Web (and git) base URL.
    pub web_url: String,
    /// Where the token came from, or why there is none.
    pub token: String,
    /// `ok (N ms)` or the error.
    pub api: String,
    /// `remaining/limit, resets at UNIX-SECONDS`, `disabled`, or `unknown`.
    pub rate_limit: String,
}

/// Counts from the config.
#[derive(Debug, Serialize)]
pub struct ConfigSummary {
    /// The file.
    pub path: String,
    /// Groups (all, enabled or not).
    pub groups: usize,
    /// Targets of the planned (enabled) groups.
    pub targets: usize,
    /// Of which `owner/name` GitHub repositories.
    pub github_targets: usize,
    /// Settings broadcast reads but ignores (as `validate` warns).
    pub ignored_settings: usize,
    /// Or why the config did not load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The machine.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Logical CPUs available to this process.
    pub cores: usize,
    /// `std::env::consts::OS`/`ARCH`, and the distribution's `PRETTY_NAME` (os-release(5)) and
    /// kernel release when readable.
    pub os: String,
}

/// Runs every check and renders the result (text or JSON).
///
/// # Errors
/// Only when JSON rendering fails; every failed check is a line of the result.
pub fn run(args: &DiagnoseArgs) -> anyhow::Result<String> {
    let d = Diagnosis {
        broadcast: env!("CARGO_PKG_VERSION").to_owned(),
        git: git_version(),
        github: github(args),
        config: args.config.as_deref().map(config_summary),
        machine: machine(),
    };
    if args.json {
        return Ok(serde_json::to_string_pretty(&d)? + "\n");
    }
    Ok(render(&d))
}

/// The text form: one `key: value` per line, sections indented.
pub fn render(d: &Diagnosis) -> String {
    let mut out = format!("broadcast: {}\ngit: {}\n", d.broadcast, d.git);
    let g = &d.github;
    out += &format!(
        "github:\n  api url: {}\n  web url: {}\n  token: {}\n  api: {}\n  rate limit: {}\n",
        g.api_url, g.web_url, g.token, g.api, g.rate_limit
    );
    if let Some(c) = &d.config {
        out += &format!("config: {}\n", c.path);
        match &c.error {
            Some(e) => out += &format!("  error: {e}\n"),
            None => {
                out += &format!(
                    "  groups: {}\n  targets: {} ({} on GitHub)\n  ignored settings: {}\n",
                    c.groups, c.targets, c.github_targets, c.ignored_settings
                )
            }
        }
    }
    out += &format!(
        "machine:\n  cores: {}\n  os: {}\n",
        d.machine.cores, d.machine.os
    );
    crate::escape::escape_control_keeping(&out, &['\n']).into_owned()
}

fn git_version() -> String {
    match std::process::Command::new("git").arg("--version").output() {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        Ok(o) => format!(
            "git --version failed: {}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => format!("cannot run git: {e}"),
    }
}

fn github(args: &DiagnoseArgs) -> GitHubCheck {
    let api = args.github_api_url.as_deref();
    let web = args.github_url.as_deref();
    match GitHubOptions::from_env_with_urls(api, web) {
        Ok(mut options) => {
            options.timeout = Duration::from_secs(10);
            // One attempt: a diagnosis reports what it sees, it does not wait out outages.
            options.retry.max_attempts = 1;
            options.retry.max_rate_limit_waits = 0;
            let mut check = GitHubCheck {
                api_url: options.api_url.clone(),
                web_url: options.web_url.clone(),
                token: format!("from {}", options.token_source),
                api: String::new(),
                rate_limit: "unknown".to_owned(),
            };
            let started = Instant::now();
            match GitHubForge::new(options).map(|f| f.rate_limit()) {
                Ok(Ok(rl)) => {
                    check.api = format!("ok ({} ms)", started.elapsed().as_millis());
                    check.rate_limit = match rl {
                        Some(r) => format!(
                            "{}/{} remaining, {} used, resets at {} (unix seconds)",
                            r.remaining, r.limit, r.used, r.reset_epoch_secs
                        ),
                        None => "disabled on this server".to_owned(),
                    };
                }
                Ok(Err(e)) => check.api = format!("unreachable or refused: {e}"),
                Err(e) => check.api = format!("not checked: {e}"),
            }
            check
        }
        Err(e) => GitHubCheck {
            api_url: api.unwrap_or("(default)").to_owned(),
            web_url: web.unwrap_or("(default)").to_owned(),
            token: format!("none: {e}"),
            api: "not checked (no token)".to_owned(),
            rate_limit: "unknown".to_owned(),
        },
    }
}

fn config_summary(path: &std::path::Path) -> ConfigSummary {
    let mut s = ConfigSummary {
        path: path.display().to_string(),
        groups: 0,
        targets: 0,
        github_targets: 0,
        ignored_settings: 0,
        error: None,
    };
    let loaded = match crate::config::load(path) {
        Ok(l) => l,
        Err(e) => {
            s.error = Some(format!("{e:#}"));
            return s;
        }
    };
    s.groups = loaded.config.groups.len();
    s.ignored_settings = crate::config::ignored_settings(&loaded.config).len();
    match crate::plan::build(
        &loaded.config,
        &loaded.base_dir,
        &crate::plan::Scope::default(),
    ) {
        Ok(plan) => {
            let targets = plan.groups.iter().flat_map(|g| &g.targets);
            s.targets = targets.clone().count();
            s.github_targets = targets.filter(|t| t.repo.is_github()).count();
        }
        Err(e) => s.error = Some(format!("{e:#}")),
    }
    s
}

fn machine() -> Machine {
    let pretty = std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_owned())
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .ok()
        .map(|k| k.trim().to_owned());
    let mut os = format!("{} {}", std::env::consts::OS, std::env::consts::ARCH);
    for extra in [pretty, kernel].into_iter().flatten() {
        os += &format!(", {extra}");
    }
    Machine {
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        os,
    }
}
