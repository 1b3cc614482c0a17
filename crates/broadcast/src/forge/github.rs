//! The GitHub forge: pull requests through the GitHub REST API (github.com or GitHub Enterprise
//! Server), git over HTTPS with the token in an `http.extraHeader` passed through the environment.
//!
//! [`GitHubForge`] is built from [`GitHubOptions`] (API and web base URLs, a [`Token`], write
//! [`Pacing`], a [`RetryPolicy`] and a [`Clock`]). Every REST call goes through one blocking
//! `ureq` agent that reads the rate-limit headers of every response ([`RateLimit`]), retries 5xx
//! and network errors with exponential backoff, waits out secondary rate limits and paces
//! content-creating requests. [`GitHubForge::plan_writes`] turns a number of changed targets into a
//! [`WriteEstimate`] before the first write. The adapter holds no sync logic.
//!
//! The token never appears in argv, a URL, a log line or an error: REST sends it in an
//! `Authorization` header, git gets it through `GIT_CONFIG_*` environment config
//! ([`GitRemote::config`]), and [`Token`]'s `Debug`/`Display` print `***`.

use std::fmt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use broadcast_cache::{Cache, CacheBuilder};

use super::{
    BranchDeletion, Forge, GitRemote, PullRequest, PullRequestAction, PullRequestSpec, RepoInfo,
};
use crate::repo::RepoRef;
use crate::report::FileChange;

mod budget;
mod cancel;
mod conditional;
mod endpoint;
mod error;
mod limits;
mod model;
mod options;
mod pacer;
mod preflight;
mod pulls;
mod transport;

pub use conditional::{ConditionalRequests, default_cache_root, partition_dir};
pub use error::*;
pub use limits::*;
use options::host_name;
pub use options::*;

pub use budget::{BudgetFit, BudgetRefusal, PrimaryBudget};
pub use preflight::PreflightPolicy;
use pulls::{PullState, encode_query};

pub use transport::TransportError;
use transport::{Method, Transport};

/// Default REST base URL (`GITHUB_API_URL` in GitHub Actions).
pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// Default web base URL, also the git host (`GITHUB_SERVER_URL` in GitHub Actions).
pub const DEFAULT_WEB_URL: &str = "https://github.com";
/// Write calls one changed target can need at most: create or update, labels, assignees, reviewers.
pub const MAX_WRITES_PER_TARGET: u32 = 4;
/// Read calls per changed target: repository (cached per run) and the pull request lookup by head.
pub const READS_PER_TARGET: u32 = 2;
/// Default spacing of content-creating requests: GitHub's "Best practices for using the REST
/// API" asks to "wait at least one second between each request" that creates content.
pub const DEFAULT_WRITE_INTERVAL: Duration = Duration::from_secs(1);
/// Longest pull request body GitHub accepts, in characters (a longer one is refused with 422
/// "body is too long (maximum is 65536 characters)").
pub const MAX_PULL_REQUEST_BODY_CHARS: usize = 65_536;
/// Largest file GitHub accepts in a push, in bytes: 100 MiB (GitHub Docs, "About large files on
/// GitHub": "GitHub blocks files larger than 100 MiB").
pub const MAX_FILE_BYTES: u64 = 100 * 1024 * 1024;
/// File size above which GitHub warns on push, in bytes: 50 MiB (same page).
pub const WARN_FILE_BYTES: u64 = 50 * 1024 * 1024;

/// Bound of the per-run repository cache (entries; a run has at most this many targets).
const REPO_CACHE_ENTRIES: usize = 100_000;

/// Write calls a target needs when its pull request is new: the create, then one call each for
/// labels, assignees and reviewers (users and teams share one call) when `pr` lists any. An
/// existing pull request needs at most as many (an update replaces the create, and only missing
/// labels, assignees and reviewers are added). Pure.
pub fn writes_for_new_pull(pr: &crate::plan::PrMetadata) -> u64 {
    1 + u64::from(!pr.labels.is_empty())
        + u64::from(!pr.assignees.is_empty())
        + u64::from(!pr.reviewers.is_empty() || !pr.team_reviewers.is_empty())
}

/// Standard base64 with padding (RFC 4648 §4), for the git `Authorization: Basic` header.
fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Decodes a body of `GET /repos/{owner}/{repo}/pulls` (a JSON array of pull-request objects,
/// <https://docs.github.com/en/rest/pulls/pulls#list-pull-requests>) into [`PullRequest`]s, the
/// way the forge reads each page of that list: the documented fields it uses, the rest ignored.
/// Public so the benchmarks (`github/decode_pulls/*`) measure the forge's own decoding.
///
/// # Errors
/// The body is not a JSON array of objects carrying `number`, `html_url`, `title`, `head.ref`
/// and `base.ref`.
pub fn decode_pull_list(body: &str) -> serde_json::Result<Vec<PullRequest>> {
    let pulls: Vec<model::Pull> = serde_json::from_str(body)?;
    Ok(pulls.into_iter().map(|p| PullState::from(p).pr).collect())
}

/// The GitHub forge. `Send + Sync`: share one per run across worker threads; pacing and the
/// rate-limit state are global to it.
pub struct GitHubForge {
    api_url: String,
    web_url: String,
    token: Token,
    http: Transport,
    /// `owner/name` -> repository facts for the run (single-flight across worker threads).
    repos: Cache<String, RepoInfo>,
    login: Mutex<Option<String>>,
    preflight: PreflightPolicy,
    /// The pacing's window: the length of a primary rate-limit window for the preflight (one
    /// hour, shorter only when time is compressed against a test double).
    pacing_window: Duration,
}

impl fmt::Debug for GitHubForge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubForge")
            .field("api_url", &self.api_url)
            .field("web_url", &self.web_url)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl GitHubForge {
    /// Builds the forge (one `ureq` agent; no request is sent). Trailing `/` on the URLs is ignored.
    ///
    /// Errors with [`GitHubError::InvalidUrl`] for a URL that is not `http(s)://`.
    pub fn new(options: GitHubOptions) -> Result<GitHubForge> {
        let api_url = options.api_url.trim_end_matches('/').to_owned();
        let web_url = options.web_url.trim_end_matches('/').to_owned();
        for (what, url) in [("api", &api_url), ("web", &web_url)] {
            options::check_url(what, url)?;
        }
        let http = Transport::new(
            api_url.clone(),
            options.token.clone(),
            options.retry,
            options.write_pacing,
            options.timeout,
            &options.user_agent,
            options.clock,
        )
        .with_conditional(match options.conditional {
            ConditionalRequests::Off => None,
            ConditionalRequests::Memory => Some(broadcast_cache::ConditionalCache::new(
                conditional::MEMORY_ENTRIES,
                None,
            )),
            ConditionalRequests::Disk(dir) => Some(broadcast_cache::ConditionalCache::new(
                conditional::MEMORY_ENTRIES,
                Some(dir),
            )),
        });
        Ok(GitHubForge {
            api_url,
            web_url,
            token: options.token,
            http,
            repos: CacheBuilder::new(REPO_CACHE_ENTRIES)
                .build()
                .expect("a non-zero bound and no durations cannot fail"),
            login: Mutex::new(None),
            preflight: PreflightPolicy::default(),
            pacing_window: options.write_pacing.window,
        })
    }

    /// Sets what [`Forge::preflight`] does before a group's writes (default: check, refuse
    /// when the budget is short).
    pub fn with_preflight(mut self, policy: PreflightPolicy) -> GitHubForge {
        self.preflight = policy;
        self
    }

    /// The latest rate limit seen in any response's headers. No I/O.
    pub fn last_rate_limit(&self) -> Option<RateLimit> {
        self.http.last_rate_limit()
    }

    /// `GET /rate_limit` (does not count against the budget). `None` when the server has rate
    /// limiting disabled (GitHub Enterprise Server answers 404). One request.
    pub fn rate_limit(&self) -> Result<Option<RateLimit>> {
        match self
            .http
            .get_json::<model::RateLimitOverview>("/rate_limit", "")
        {
            Ok(o) => {
                let c = o.resources.core;
                let rl = RateLimit {
                    limit: c.limit,
                    remaining: c.remaining,
                    used: c.used,
                    reset_epoch_secs: c.reset,
                };
                self.http.set_rate_limit(rl);
                Ok(Some(rl))
            }
            Err(GitHubError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Estimates the writes for `n_targets_with_changes` targets against the current pacing state
    /// and the last rate limit seen (call [`GitHubForge::rate_limit`] first). Upper bounds: every
    /// target counted as [`MAX_WRITES_PER_TARGET`] writes. No I/O; O(writes) time, memory bounded
    /// by `Pacing::per_hour`.
    pub fn plan_writes(&self, n_targets_with_changes: usize) -> WriteEstimate {
        self.plan_write_calls(
            n_targets_with_changes,
            n_targets_with_changes as u64 * u64::from(MAX_WRITES_PER_TARGET),
        )
    }

    /// [`GitHubForge::plan_writes`] with the write calls given (e.g. the sum of
    /// [`writes_for_new_pull`] over the targets). No I/O.
    pub fn plan_write_calls(
        &self,
        n_targets_with_changes: usize,
        write_calls: u64,
    ) -> WriteEstimate {
        let read_calls = n_targets_with_changes as u64 * u64::from(READS_PER_TARGET)
            + u64::from(n_targets_with_changes > 0);
        let now = self.http.clock.now();
        let mut pacer = self
            .http
            .pacer
            .lock()
            .expect("pacer mutex is never poisoned by a panic while held")
            .clone();
        let mut last = now;
        for _ in 0..write_calls {
            last = pacer.reserve(now);
        }
        let pacing = last.duration_since(now).unwrap_or(Duration::ZERO);
        let remaining = self.last_rate_limit().map(|r| r.remaining);
        WriteEstimate {
            targets: n_targets_with_changes,
            write_calls,
            read_calls,
            pacing,
            remaining,
            fits: remaining.is_none_or(|r| read_calls + write_calls <= r),
        }
    }

    /// Request counters so far.
    pub fn stats(&self) -> GitHubStats {
        self.http.stats()
    }

    /// The web base URL (no trailing `/`).
    pub fn web_url(&self) -> &str {
        &self.web_url
    }

    /// The API base URL (no trailing `/`).
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    fn slug(repo: &RepoRef) -> Result<(&str, &str)> {
        match repo {
            RepoRef::GitHub { owner, name } => Ok((owner, name)),
            RepoRef::Local { .. } => Err(GitHubError::NotGitHub {
                repo: repo.to_string(),
            }),
        }
    }

    /// URL and git config for `owner/name`: `<web>/owner/name.git` and
    /// `http.<web>/.extraHeader = Authorization: Basic base64("x-access-token:<token>")` (what
    /// actions/checkout configures), preceded by an empty value that clears headers from other
    /// config files (git-config(1) `http.extraHeader`). No I/O.
    pub fn remote_for(&self, owner: &str, name: &str) -> GitRemote {
        let key = format!("http.{}/.extraHeader", self.web_url);
        let basic = base64(format!("x-access-token:{}", self.token.expose()).as_bytes());
        GitRemote {
            url: format!("{}/{owner}/{name}.git", self.web_url),
            config: vec![
                (key.clone(), String::new()),
                (key, format!("Authorization: Basic {basic}")),
            ],
        }
    }

    /// `GET /repos/{owner}/{repo}`, memoised per forge in a `broadcast_cache::Cache` (concurrent
    /// callers for one repository share one request). One request on the first call per repo.
    pub fn repo_info(&self, owner: &str, name: &str) -> Result<RepoInfo> {
        let key = format!("{owner}/{name}");
        self.repos
            .get_or_load(key.clone(), || {
                let r: model::Repository = self
                    .http
                    .get_json(&format!("/repos/{owner}/{name}"), &key)?;
                let Some(default_branch) = r.default_branch.filter(|b| !b.is_empty()) else {
                    return Err(GitHubError::EmptyRepository { repo: key.clone() });
                };
                Ok(RepoInfo {
                    default_branch: Some(default_branch),
                    archived: r.archived,
                })
            })
            .map_err(|e| {
                Arc::try_unwrap(e).unwrap_or_else(|shared| GitHubError::Shared {
                    repo: key.clone(),
                    source: shared,
                })
            })
    }

    /// `GET /user` login of the token's owner, memoised. One request on the first call.
    pub fn authenticated_login(&self) -> Result<String> {
        let mut guard = self
            .login
            .lock()
            .expect("login mutex is never poisoned by a panic while held");
        if let Some(l) = guard.as_ref() {
            return Ok(l.clone());
        }
        let u: model::User = self.http.get_json("/user", "")?;
        *guard = Some(u.login.clone());
        Ok(u.login)
    }
}

impl Forge for GitHubForge {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn preflight(&self, group_id: &str, targets_needing_writes: usize) -> anyhow::Result<()> {
        self.check_budget(
            group_id,
            targets_needing_writes,
            targets_needing_writes as u64 * u64::from(MAX_WRITES_PER_TARGET),
        )
    }

    fn preflight_targets(
        &self,
        group_id: &str,
        targets: &[&crate::plan::PrMetadata],
    ) -> anyhow::Result<()> {
        let writes = targets.iter().map(|pr| writes_for_new_pull(pr)).sum();
        self.check_budget(group_id, targets.len(), writes)
    }

    fn preflight_writes(
        &self,
        group_id: &str,
        targets: usize,
        write_calls: u64,
    ) -> anyhow::Result<()> {
        self.check_budget(group_id, targets, write_calls)
    }

    fn git_remote(&self, repo: &RepoRef) -> anyhow::Result<GitRemote> {
        let (owner, name) = Self::slug(repo)?;
        Ok(self.remote_for(owner, name))
    }

    fn repository(&self, repo: &RepoRef) -> anyhow::Result<RepoInfo> {
        let (owner, name) = Self::slug(repo)?;
        Ok(self.repo_info(owner, name)?)
    }

    fn find_pull_request(&self, repo: &RepoRef, head: &str) -> anyhow::Result<Option<PullRequest>> {
        let (owner, name) = Self::slug(repo)?;
        Ok(self.find_pull(owner, name, head)?)
    }

    fn upsert_pull_request(
        &self,
        repo: &RepoRef,
        spec: &PullRequestSpec,
    ) -> anyhow::Result<(PullRequest, PullRequestAction)> {
        let (owner, name) = Self::slug(repo)?;
        Ok(self.upsert_pull(owner, name, spec)?)
    }

    fn close_pull_request(&self, repo: &RepoRef, number: u64, comment: &str) -> anyhow::Result<()> {
        let (owner, name) = Self::slug(repo)?;
        Ok(self.close_pull(owner, name, number, comment)?)
    }

    fn delete_branch(
        &self,
        repo: &RepoRef,
        branch: &str,
        expected: broadcast_git_batch::ObjectId,
    ) -> anyhow::Result<BranchDeletion> {
        let (owner, name) = Self::slug(repo)?;
        Ok(self.delete_branch_ref(owner, name, branch, expected)?)
    }

    fn check_files(&self, repo: &RepoRef, changes: &[FileChange]) -> anyhow::Result<()> {
        let warnings = check_file_sizes(
            &repo.to_string(),
            changes
                .iter()
                .filter_map(|c| Some((c.path.as_str(), c.new_bytes?))),
        )?;
        for (path, bytes) in warnings {
            tracing::warn!(
                %repo,
                %path,
                bytes,
                "file over 50 MiB: GitHub accepts it with a warning and recommends Git LFS"
            );
        }
        Ok(())
    }

    fn explain_failure(&self, repo: &RepoRef, message: &str) -> Option<String> {
        const AUTH_FAILURES: [&str; 4] = [
            "could not read Username",
            "could not read Password",
            "Authentication failed",
            "The requested URL returned error: 401",
        ];
        if !repo.is_github() || !AUTH_FAILURES.iter().any(|m| message.contains(m)) {
            return None;
        }
        Some(format!(
            "github token rejected by {} for git on {repo}: check that it is valid, not expired and issued by that host (git said: {message})",
            host_name(&self.web_url)
        ))
    }
}

#[cfg(test)]
mod tests;
