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

use super::{Forge, GitRemote, PullRequest, PullRequestAction, PullRequestSpec, RepoInfo};
use crate::repo::RepoRef;
use crate::report::FileChange;

mod model;
mod preflight;
mod transport;

pub use preflight::PreflightPolicy;

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

/// Result of the GitHub forge's typed operations.
pub type Result<T, E = GitHubError> = std::result::Result<T, E>;

/// Errors of the GitHub forge. Messages never contain the token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GitHubError {
    /// No token for the web host: for github.com in `GH_TOKEN`, `GITHUB_TOKEN` or
    /// `gh auth token --hostname github.com`; for another host (GitHub Enterprise Server) in
    /// `GH_ENTERPRISE_TOKEN`, `GITHUB_ENTERPRISE_TOKEN` or `gh auth token --hostname HOST`.
    #[error(
        "no github token for {host}: set {vars}, or log in with `gh auth login --hostname {host}`"
    )]
    MissingToken {
        /// Web host the token was looked up for.
        host: String,
        /// The variables read for that host, e.g. `GH_TOKEN or GITHUB_TOKEN`.
        vars: &'static str,
    },
    /// The API URL is on another host than the web URL: one token cannot be meant for both.
    #[error(
        "github api url host {api_host} differs from the web url host {web_host}: a token is bound to the host that issued it, so it is not sent to both"
    )]
    HostMismatch {
        /// Host of the API URL.
        api_host: String,
        /// Host of the web URL (the token's host).
        web_host: String,
    },
    /// `GET /repos/{owner}/{repo}` has no default branch: the repository has no commit yet.
    #[error(
        "github repository {repo} is empty (no default branch): push a first commit to it, then re-run; broadcast does not push a sync branch there because GitHub would make it the default branch"
    )]
    EmptyRepository {
        /// `owner/name`.
        repo: String,
    },
    /// A file over [`MAX_FILE_BYTES`] bound for a GitHub repository (GitHub refuses the push).
    #[error(
        "{path} is {bytes} bytes ({mib:.1} MiB): over GitHub's 100 MiB file size limit, so {repo} would refuse the push; leave it out of this target's mappings (or store it with Git LFS)",
        mib = *bytes as f64 / (1024.0 * 1024.0)
    )]
    FileTooLarge {
        /// `owner/name`.
        repo: String,
        /// Path in the target.
        path: String,
        /// Size in bytes.
        bytes: u64,
    },
    /// An API or web base URL that is not `http://` or `https://`.
    #[error("github {what} url '{url}' must start with https:// (or http:// for a local server)")]
    InvalidUrl {
        /// `api` or `web`.
        what: &'static str,
        /// The URL given.
        url: String,
    },
    /// A repository reference that is not `owner/name`.
    #[error("{repo} is not a github repository (expected owner/name)")]
    NotGitHub {
        /// The reference as written.
        repo: String,
    },
    /// 401: the token is wrong, expired or revoked.
    #[error(
        "github token rejected (401) on {method} {path}: check that it is valid and not expired"
    )]
    TokenRejected {
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
    },
    /// 404: the repository (or pull request) does not exist or the token cannot see it.
    #[error(
        "github repository {repo} not found (404 on {method} {path}): it does not exist or the token cannot see it; classic tokens need the `repo` scope, fine-grained tokens need access to {repo} with contents:write and pull_requests:write"
    )]
    NotFound {
        /// `owner/name` (empty for calls outside a repository).
        repo: String,
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
    },
    /// 403 that is not a rate limit: usually a missing permission.
    #[error(
        "github denied {method} {path} for {repo} (403): {message}; the token needs contents:write and pull_requests:write (classic: `repo`)"
    )]
    Forbidden {
        /// `owner/name`.
        repo: String,
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
        /// GitHub's `message`.
        message: String,
    },
    /// A rate limit whose wait exceeds the cap, or too many rate-limit waits for one call.
    #[error(
        "github rate limit on {method} {path}: would wait {wait_secs} s (cap {cap_secs} s) after {waits} waits"
    )]
    RateLimited {
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
        /// Wait GitHub asked for, seconds.
        wait_secs: u64,
        /// [`RetryPolicy::max_rate_limit_wait`], seconds.
        cap_secs: u64,
        /// Waits already done for this call.
        waits: u32,
    },
    /// 5xx on every attempt.
    #[error("github server error {status} on {method} {path} after {attempts} attempts")]
    Server {
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
        /// Last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// Network failure (connect, TLS, timeout) on every attempt.
    #[error("github request {method} {path} failed after {attempts} attempts")]
    Network {
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
        /// Attempts made.
        attempts: u32,
        /// The last transport error, token scrubbed.
        #[source]
        source: TransportError,
    },
    /// Any other non-2xx status (e.g. 422 validation failures).
    #[error("github returned {status} on {method} {path}: {message}")]
    Status {
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
        /// HTTP status.
        status: u16,
        /// GitHub's `message` and `errors[].message`, joined with `; `.
        message: String,
    },
    /// A 2xx body that is not the documented JSON shape.
    #[error("github response to {method} {path} is not the expected json")]
    Decode {
        /// HTTP method.
        method: &'static str,
        /// Path and query below the API base URL.
        path: String,
        /// The decoding error.
        #[source]
        source: serde_json::Error,
    },
    /// A `Link: rel="next"` URL outside the API base URL (the token is not sent there).
    #[error("github pagination link from {path} leaves the api base url: {link}")]
    ForeignLink {
        /// Path of the page that carried the link.
        path: String,
        /// The link.
        link: String,
    },
    /// A failed lookup that another thread started and this one waited for.
    #[error("github lookup of {repo} failed in a concurrent request")]
    Shared {
        /// `owner/name`.
        repo: String,
        /// The error the other request got.
        #[source]
        source: Arc<GitHubError>,
    },
    /// 422 "already exists" on create, yet no open pull request for the head was found.
    #[error("github says a pull request for {repo} head {head} exists, but none is open")]
    ExistingPullRequestNotFound {
        /// `owner/name`.
        repo: String,
        /// Head branch.
        head: String,
    },
}

/// A GitHub token. `Debug` and `Display` print `***`; only [`Token::expose`] gives the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    /// Wraps a token (surrounding whitespace removed). No allocation beyond the string.
    pub fn new(token: impl Into<String>) -> Token {
        let t: String = token.into();
        Token(t.trim().to_owned())
    }

    /// The secret value, for building an `Authorization` header. Never log or store it elsewhere.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Limits on content-creating requests (POST/PATCH/PUT/DELETE), shared by every worker thread
/// of one forge. Defaults follow GitHub's "Best practices for using the REST API": at least one
/// second between content-creating requests ([`DEFAULT_WRITE_INTERVAL`]) and at most 500 per
/// hour. Writes start at least `interval` apart and at most `per_hour` start in any sliding
/// hour. A zero `interval` or `per_hour` disables that limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    /// Minimum time between the starts of two content-creating requests.
    pub interval: Duration,
    /// Content-creating requests per sliding hour.
    pub per_hour: u32,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            interval: DEFAULT_WRITE_INTERVAL,
            per_hour: 500,
        }
    }
}

impl Pacing {
    /// No pacing at all (tests, servers without secondary limits).
    pub fn unlimited() -> Pacing {
        Pacing {
            interval: Duration::ZERO,
            per_hour: 0,
        }
    }

    /// The default pacing with the interval from the `--write-interval-ms` flag if given, else
    /// from the config key `rate_limit_preflight.write_interval_ms`, else
    /// [`DEFAULT_WRITE_INTERVAL`]. Values are milliseconds; `0` turns the spacing off.
    pub fn from_settings(flag_ms: Option<u64>, config_ms: Option<u64>) -> Pacing {
        let interval = flag_ms
            .or(config_ms)
            .map_or(DEFAULT_WRITE_INTERVAL, Duration::from_millis);
        Pacing {
            interval,
            ..Pacing::default()
        }
    }

    /// Spacing between two writes, `None` when unlimited.
    pub fn min_interval(&self) -> Option<Duration> {
        (!self.interval.is_zero()).then_some(self.interval)
    }
}

/// Retries and rate-limit waits for one REST call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts for 5xx and network errors (including the first). Default 4.
    pub max_attempts: u32,
    /// First backoff; doubles per attempt. Default 1 s.
    pub base_delay: Duration,
    /// Backoff ceiling. Default 30 s.
    pub max_delay: Duration,
    /// Rate-limit waits for one call before it fails. Default 3.
    pub max_rate_limit_waits: u32,
    /// Longest single rate-limit wait; a longer one fails the call at once. Default 15 min.
    pub max_rate_limit_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            max_rate_limit_waits: 3,
            max_rate_limit_wait: Duration::from_secs(15 * 60),
        }
    }
}

/// Time source and sleeper, injectable so tests do not wait. Must be monotonic enough for pacing.
pub trait Clock: Send + Sync {
    /// Current wall-clock time (compared with `x-ratelimit-reset`, epoch seconds).
    fn now(&self) -> SystemTime;
    /// Blocks the calling thread for `duration`.
    fn sleep(&self, duration: Duration);
}

/// The real clock: `SystemTime::now` and `std::thread::sleep`.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// The primary REST budget, from `x-ratelimit-*` headers or `GET /rate_limit` (`resources.core`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests allowed per window (`x-ratelimit-limit`).
    pub limit: u64,
    /// Requests left (`x-ratelimit-remaining`).
    pub remaining: u64,
    /// Requests used (`x-ratelimit-used`).
    pub used: u64,
    /// When the window resets, seconds since the Unix epoch (`x-ratelimit-reset`).
    pub reset_epoch_secs: u64,
}

impl RateLimit {
    /// The reset time as a `SystemTime`.
    pub fn reset_at(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.reset_epoch_secs)
    }
}

/// What the writes of one run will cost, from [`GitHubForge::plan_writes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriteEstimate {
    /// Targets with changes.
    pub targets: usize,
    /// Write calls (upper bound: [`MAX_WRITES_PER_TARGET`] per target).
    pub write_calls: u64,
    /// Read calls (upper bound: [`READS_PER_TARGET`] per target plus `GET /user` once).
    pub read_calls: u64,
    /// Time the write pacing alone will take, from now.
    pub pacing: Duration,
    /// Remaining primary budget last seen, `None` when unknown (or rate limiting is disabled).
    pub remaining: Option<u64>,
    /// `read_calls + write_calls <= remaining`; `true` when the budget is unknown.
    pub fits: bool,
}

/// Counters of one forge's REST traffic (attempts, not logical calls).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GitHubStats {
    /// HTTP requests sent.
    pub requests: u64,
    /// Of those, content-creating (POST/PATCH).
    pub writes: u64,
    /// Retries after 5xx or network errors.
    pub retries: u64,
    /// Waits for rate limits.
    pub rate_limit_waits: u64,
}

/// Knobs for [`GitHubForge::new`].
#[derive(Clone)]
pub struct GitHubOptions {
    /// REST base URL, e.g. `https://api.github.com` or `https://ghe.example.com/api/v3`.
    pub api_url: String,
    /// Web base URL, also the git host, e.g. `https://github.com`.
    pub web_url: String,
    /// The token for REST and git.
    pub token: Token,
    /// Pacing of content-creating requests.
    pub write_pacing: Pacing,
    /// Retries and rate-limit waits.
    pub retry: RetryPolicy,
    /// Whole-request timeout (connect to last body byte). Default 30 s.
    pub timeout: Duration,
    /// `User-Agent` (GitHub rejects requests without one). Default `broadcast/<version>`.
    pub user_agent: String,
    /// Time source and sleeper.
    pub clock: Arc<dyn Clock>,
}

impl fmt::Debug for GitHubOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitHubOptions")
            .field("api_url", &self.api_url)
            .field("web_url", &self.web_url)
            .field("token", &self.token)
            .field("write_pacing", &self.write_pacing)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .finish_non_exhaustive()
    }
}

impl GitHubOptions {
    /// Options for github.com with default pacing, retries and timeout.
    pub fn new(token: Token) -> GitHubOptions {
        GitHubOptions {
            api_url: DEFAULT_API_URL.to_owned(),
            web_url: DEFAULT_WEB_URL.to_owned(),
            token,
            write_pacing: Pacing::default(),
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(30),
            user_agent: concat!("broadcast/", env!("CARGO_PKG_VERSION")).to_owned(),
            clock: Arc::new(SystemClock),
        }
    }

    /// Resolves options from the process environment: `GITHUB_API_URL` (default
    /// [`DEFAULT_API_URL`]), `GITHUB_SERVER_URL` (default [`DEFAULT_WEB_URL`]), and the token
    /// for the web URL's host, as [`GitHubOptions::from_vars_with_urls`] describes.
    ///
    /// Errors with [`GitHubError::MissingToken`] when none gives a token.
    pub fn from_env() -> Result<GitHubOptions> {
        GitHubOptions::from_vars(|k| std::env::var(k).ok())
    }

    /// [`GitHubOptions::from_env`] with the URLs given on the command line, which win over the
    /// environment. The token is looked up for the host of the resulting web URL.
    pub fn from_env_with_urls(
        api_url: Option<&str>,
        web_url: Option<&str>,
    ) -> Result<GitHubOptions> {
        GitHubOptions::from_vars_with_urls(|k| std::env::var(k).ok(), api_url, web_url)
    }

    /// [`GitHubOptions::from_env`] with an explicit variable lookup (`PATH` included), for tests
    /// and embedding. Empty values count as unset.
    pub fn from_vars(vars: impl Fn(&str) -> Option<String>) -> Result<GitHubOptions> {
        GitHubOptions::from_vars_with_urls(vars, None, None)
    }

    /// Resolves the URLs (`api_url`/`web_url` when given, else `GITHUB_API_URL` /
    /// `GITHUB_SERVER_URL`, else the github.com defaults), then the token for the web URL's host,
    /// the way the `gh` CLI binds tokens to hosts: for github.com (and `*.ghe.com`) `GH_TOKEN`,
    /// then `GITHUB_TOKEN`; for any other host (GitHub Enterprise Server) `GH_ENTERPRISE_TOKEN`,
    /// then `GITHUB_ENTERPRISE_TOKEN`; then `gh auth token --hostname HOST` when `gh` is on
    /// `PATH` (one process spawned, only in that last case). Inside GitHub Actions
    /// (`GITHUB_ACTIONS=true`) `GITHUB_TOKEN` counts only for the host of `GITHUB_SERVER_URL`,
    /// the instance that issued it (github.com or an Enterprise Server). A token is never looked
    /// up for one host and sent to another.
    ///
    /// Errors: [`GitHubError::HostMismatch`] when the API URL is on another host than the web URL
    /// (other than `api.` plus the web host), [`GitHubError::MissingToken`] when no source gives a
    /// token.
    pub fn from_vars_with_urls(
        vars: impl Fn(&str) -> Option<String>,
        api_url: Option<&str>,
        web_url: Option<&str>,
    ) -> Result<GitHubOptions> {
        let var = |k: &str| vars(k).filter(|v| !v.trim().is_empty());
        let given = |u: Option<&str>| u.filter(|u| !u.trim().is_empty()).map(str::to_owned);
        let api_url = given(api_url)
            .or_else(|| var("GITHUB_API_URL"))
            .unwrap_or_else(|| DEFAULT_API_URL.to_owned());
        let web_url = given(web_url)
            .or_else(|| var("GITHUB_SERVER_URL"))
            .unwrap_or_else(|| DEFAULT_WEB_URL.to_owned());
        let host = host_name(&web_url).to_ascii_lowercase();
        let api_host = host_name(&api_url).to_ascii_lowercase();
        if api_host != host && api_host != format!("api.{host}") {
            return Err(GitHubError::HostMismatch {
                api_host,
                web_host: host,
            });
        }
        // In GitHub Actions, GITHUB_TOKEN was issued by the instance in GITHUB_SERVER_URL (which
        // may be an Enterprise Server), so it belongs to that host and to no other.
        let actions_host = (var("GITHUB_ACTIONS").as_deref() == Some("true"))
            .then(|| var("GITHUB_SERVER_URL"))
            .flatten()
            .map(|u| host_name(&u).to_ascii_lowercase());
        let cloud = is_github_cloud(&host);
        let github_token_fits = actions_host.map_or(cloud, |h| h == host);
        let (first, second, vars_text) = if cloud {
            ("GH_TOKEN", None, "GH_TOKEN or GITHUB_TOKEN")
        } else {
            (
                "GH_ENTERPRISE_TOKEN",
                Some("GITHUB_ENTERPRISE_TOKEN"),
                "GH_ENTERPRISE_TOKEN or GITHUB_ENTERPRISE_TOKEN",
            )
        };
        let token = var(first)
            .or_else(|| second.and_then(var))
            .or_else(|| github_token_fits.then(|| var("GITHUB_TOKEN")).flatten())
            .or_else(|| gh_auth_token(var("PATH").as_deref(), &host))
            .ok_or(GitHubError::MissingToken {
                host,
                vars: vars_text,
            })?;
        let mut o = GitHubOptions::new(Token::new(token));
        o.api_url = api_url;
        o.web_url = web_url;
        Ok(o)
    }
}

/// True for hosts whose tokens `gh` reads from `GH_TOKEN`/`GITHUB_TOKEN`: github.com, GitHub
/// Enterprise Cloud with data residency (`*.ghe.com`) and `github.localhost`.
fn is_github_cloud(host: &str) -> bool {
    matches!(host, "github.com" | "api.github.com" | "github.localhost")
        || host.ends_with(".ghe.com")
}

/// `host[:port]` of an `http(s)://` URL.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// The host name of an `http(s)://` URL, without port: what a token is bound to.
fn host_name(url: &str) -> &str {
    let h = url_host(url);
    if h.starts_with('[') {
        return h.split_once(']').map_or(h, |(v6, _)| &h[..v6.len() + 1]);
    }
    h.rsplit_once(':').map_or(h, |(name, _)| name)
}

/// Checks the sizes of the files bound for a GitHub repository against GitHub's limits (GitHub
/// Docs, "About large files on GitHub"): a file over [`MAX_FILE_BYTES`] (100 MiB) makes GitHub
/// refuse the whole push, one over [`WARN_FILE_BYTES`] (50 MiB) draws a warning. `files` are
/// `(path, size in bytes)`. Pure; O(files).
///
/// Returns the files over the warning size, or [`GitHubError::FileTooLarge`] for the first file
/// over the limit (`repo` names the target in the message).
pub fn check_file_sizes<'a>(
    repo: &str,
    files: impl IntoIterator<Item = (&'a str, u64)>,
) -> Result<Vec<(String, u64)>> {
    let mut warnings = Vec::new();
    for (path, bytes) in files {
        if bytes > MAX_FILE_BYTES {
            return Err(GitHubError::FileTooLarge {
                repo: repo.to_owned(),
                path: path.to_owned(),
                bytes,
            });
        }
        if bytes > WARN_FILE_BYTES {
            warnings.push((path.to_owned(), bytes));
        }
    }
    Ok(warnings)
}

/// Fits a pull request body into [`MAX_PULL_REQUEST_BODY_CHARS`] characters. The metadata block
/// (from [`crate::state::METADATA_START`] to the end) is always kept whole; list lines (`- …`)
/// before it are dropped from the end and replaced by one `- … and N more files` line (an
/// existing `- ... and K more` line is counted in `N`). A body that fits is returned unchanged.
/// O(body length).
pub fn fit_pull_request_body(body: &str) -> std::borrow::Cow<'_, str> {
    fit_body(body, MAX_PULL_REQUEST_BODY_CHARS)
}

fn fit_body(body: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    if body.chars().count() <= max_chars {
        return body.into();
    }
    let meta_at = body
        .rfind(crate::state::METADATA_START)
        .unwrap_or(body.len());
    let (text, meta) = body.split_at(meta_at);
    let meta_chars = meta.chars().count();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Separator lines between the list and the block, kept as they are.
    let mut tail: Vec<&str> = Vec::new();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        tail.insert(0, lines.pop().expect("checked"));
    }
    let mut more: usize = 0;
    if let Some(l) = lines.last()
        && let Some(n) = l
            .trim()
            .strip_prefix("- ... and ")
            .and_then(|r| r.strip_suffix(" more"))
            .and_then(|n| n.parse::<usize>().ok())
    {
        more = n;
        lines.pop();
    }
    let chars = |v: &[&str]| v.iter().map(|l| l.chars().count()).sum::<usize>();
    let tail_chars = chars(&tail);
    let mut used = chars(&lines);
    loop {
        let note = format!("- … and {more} more files\n");
        if used + note.chars().count() + tail_chars + meta_chars <= max_chars {
            break;
        }
        match lines.last() {
            Some(l) if l.starts_with("- ") => {
                used -= l.chars().count();
                lines.pop();
                more += 1;
            }
            // Nothing left to drop: keep the block, cut the text before it.
            _ => {
                let room = max_chars.saturating_sub(meta_chars);
                let cut: String = body.chars().take(room).collect();
                return format!("{cut}{meta}").into();
            }
        }
    }
    let mut out = String::with_capacity(max_chars);
    for l in &lines {
        out.push_str(l);
    }
    out.push_str(&format!("- … and {more} more files\n"));
    for l in &tail {
        out.push_str(l);
    }
    out.push_str(meta);
    out.into()
}

/// Runs `gh auth token --hostname HOST` if `gh` is found on `path_var`. The token comes back on
/// stdout (never argv). `None` when gh is absent, fails or prints nothing.
fn gh_auth_token(path_var: Option<&str>, host: &str) -> Option<String> {
    let gh = std::env::split_paths(path_var?)
        .map(|dir| dir.join("gh"))
        .find(|p| p.is_file())?;
    let out = Command::new(gh)
        .args(["auth", "token", "--hostname", host])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let token = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (out.status.success() && !token.is_empty()).then_some(token)
}

/// Standard base64 with padding (RFC 4648 §4), for the git `Authorization: Basic` header.
fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn normalize_body(s: &str) -> String {
    s.replace("\r\n", "\n").trim_end().to_owned()
}

/// A pull request with the lists needed to add only what is missing.
struct PullState {
    pr: PullRequest,
    author: Option<String>,
    labels: Vec<String>,
    assignees: Vec<String>,
    reviewers: Vec<String>,
    teams: Vec<String>,
}

impl From<model::Pull> for PullState {
    fn from(p: model::Pull) -> PullState {
        PullState {
            pr: PullRequest {
                number: p.number,
                url: p.html_url,
                title: p.title,
                body: p.body.unwrap_or_default(),
                head: p.head.ref_name,
                base: p.base.ref_name,
                created_at: p.created_at,
            },
            author: p.user.map(|u| u.login),
            labels: p.labels.into_iter().map(|l| l.name).collect(),
            assignees: p.assignees.into_iter().map(|u| u.login).collect(),
            reviewers: p.requested_reviewers.into_iter().map(|u| u.login).collect(),
            teams: p.requested_teams.into_iter().map(|t| t.slug).collect(),
        }
    }
}

/// Items of `want` not in `have` (case-insensitive, as GitHub logins and labels compare), deduped.
fn missing(want: &[String], have: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in want {
        let w = w.trim();
        if w.is_empty()
            || have.iter().any(|h| h.eq_ignore_ascii_case(w))
            || out.iter().any(|o| o.eq_ignore_ascii_case(w))
        {
            continue;
        }
        out.push(w.to_owned());
    }
    out
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
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(GitHubError::InvalidUrl {
                    what,
                    url: url.clone(),
                });
            }
        }
        let http = Transport::new(
            api_url.clone(),
            options.token.clone(),
            options.retry,
            options.write_pacing,
            options.timeout,
            &options.user_agent,
            options.clock,
        );
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
        let write_calls = n_targets_with_changes as u64 * u64::from(MAX_WRITES_PER_TARGET);
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

    fn find_state(&self, owner: &str, name: &str, head: &str) -> Result<Option<PullState>> {
        let path = format!(
            "/repos/{owner}/{name}/pulls?head={}&state=open",
            encode_query(&format!("{owner}:{head}"))
        );
        let pulls: Vec<model::Pull> = self.http.get_paginated(&path, &format!("{owner}/{name}"))?;
        Ok(pulls
            .into_iter()
            .find(|p| p.head.ref_name == head)
            .map(PullState::from))
    }

    /// `GET /repos/{owner}/{repo}/pulls?head={owner}:{head}&state=open` (all pages). One request
    /// per 100 open pull requests of that head (normally one).
    pub fn find_pull(&self, owner: &str, name: &str, head: &str) -> Result<Option<PullRequest>> {
        Ok(self.find_state(owner, name, head)?.map(|s| s.pr))
    }

    /// Opens or updates the pull request for `spec.head`, then adds missing labels, assignees and
    /// reviewers (the token's user and the pull request's author are never requested as
    /// reviewers). Requests: 1 lookup, then 1 create (or 1 update when title/body differ, or
    /// none), plus at most 3 writes and `GET /user` once per forge. A 422 "already exists" on
    /// create adopts and updates the existing pull request.
    pub fn upsert_pull(
        &self,
        owner: &str,
        name: &str,
        spec: &PullRequestSpec,
    ) -> Result<(PullRequest, PullRequestAction)> {
        let repo = format!("{owner}/{name}");
        let fitted = fit_pull_request_body(&spec.body);
        let capped;
        let spec = if fitted.len() == spec.body.len() {
            spec
        } else {
            capped = PullRequestSpec {
                body: fitted.into_owned(),
                ..spec.clone()
            };
            &capped
        };
        let (mut state, mut action) = match self.find_state(owner, name, &spec.head)? {
            Some(s) => (s, PullRequestAction::Unchanged),
            None => match self.create(owner, name, spec) {
                Ok(s) => (s, PullRequestAction::Created),
                Err(GitHubError::Status {
                    status: 422,
                    message,
                    ..
                }) if message.to_ascii_lowercase().contains("already exists") => {
                    tracing::info!(%repo, head = %spec.head, "pull request already exists: adopting it");
                    let s = self.find_state(owner, name, &spec.head)?.ok_or_else(|| {
                        GitHubError::ExistingPullRequestNotFound {
                            repo: repo.clone(),
                            head: spec.head.clone(),
                        }
                    })?;
                    (s, PullRequestAction::Unchanged)
                }
                Err(e) => return Err(e),
            },
        };
        if action != PullRequestAction::Created
            && (state.pr.title != spec.title
                || normalize_body(&state.pr.body) != normalize_body(&spec.body))
        {
            let body = model::UpdatePull {
                title: &spec.title,
                body: &spec.body,
            };
            let resp = self.http.write_json(
                Method::Patch,
                &format!("/repos/{owner}/{name}/pulls/{}", state.pr.number),
                &body,
                &repo,
            )?;
            let url = format!(
                "{}/repos/{owner}/{name}/pulls/{}",
                self.api_url, state.pr.number
            );
            let p: model::Pull = self.http.decode(Method::Patch, &url, &resp.body)?;
            let old = std::mem::replace(&mut state, PullState::from(p));
            // Keep the lists read before the update if the response omitted them.
            if state.labels.is_empty() {
                state.labels = old.labels;
            }
            action = PullRequestAction::Updated;
        }
        let number = state.pr.number;
        let labels = missing(&spec.labels, &state.labels);
        if !labels.is_empty() {
            self.http.write_json(
                Method::Post,
                &format!("/repos/{owner}/{name}/issues/{number}/labels"),
                &model::AddLabels { labels: &labels },
                &repo,
            )?;
        }
        let assignees = missing(&spec.assignees, &state.assignees);
        if !assignees.is_empty() {
            self.http.write_json(
                Method::Post,
                &format!("/repos/{owner}/{name}/issues/{number}/assignees"),
                &model::AddAssignees {
                    assignees: &assignees,
                },
                &repo,
            )?;
        }
        let mut reviewers = missing(&spec.reviewers, &state.reviewers);
        if !reviewers.is_empty() {
            let me = self.authenticated_login()?;
            reviewers.retain(|r| {
                !r.eq_ignore_ascii_case(&me)
                    && !state
                        .author
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(r))
            });
        }
        let teams = missing(&spec.team_reviewers, &state.teams);
        if !reviewers.is_empty() || !teams.is_empty() {
            self.http.write_json(
                Method::Post,
                &format!("/repos/{owner}/{name}/pulls/{number}/requested_reviewers"),
                &model::RequestReviewers {
                    reviewers: &reviewers,
                    team_reviewers: &teams,
                },
                &repo,
            )?;
        }
        Ok((state.pr, action))
    }

    fn create(&self, owner: &str, name: &str, spec: &PullRequestSpec) -> Result<PullState> {
        let repo = format!("{owner}/{name}");
        let path = format!("/repos/{owner}/{name}/pulls");
        let resp = self.http.write_json(
            Method::Post,
            &path,
            &model::CreatePull {
                title: &spec.title,
                body: &spec.body,
                head: &spec.head,
                base: &spec.base,
                draft: spec.draft,
            },
            &repo,
        )?;
        let url = format!("{}{path}", self.api_url);
        let p: model::Pull = self.http.decode(Method::Post, &url, &resp.body)?;
        Ok(PullState::from(p))
    }
}

impl Forge for GitHubForge {
    fn kind(&self) -> &'static str {
        "github"
    }

    fn preflight(&self, group_id: &str, targets_needing_writes: usize) -> anyhow::Result<()> {
        self.check_budget(group_id, targets_needing_writes)
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
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let check = |input: &str, want: &str| assert_eq!(base64(input.as_bytes()), want, "{input}");
        check("", "");
        check("f", "Zg==");
        check("fo", "Zm8=");
        check("foo", "Zm9v");
        check("foob", "Zm9vYg==");
        check("fooba", "Zm9vYmE=");
        check("foobar", "Zm9vYmFy");
        check("x-access-token:abc", "eC1hY2Nlc3MtdG9rZW46YWJj");
    }

    #[test]
    fn token_never_prints() {
        let t = Token::new("ghp_secret123");
        assert_eq!(format!("{t}"), "***");
        assert_eq!(format!("{t:?}"), "***");
        assert_eq!(t.expose(), "ghp_secret123");
    }

    #[test]
    fn query_encoding_and_hosts() {
        assert_eq!(encode_query("acme:chore/sync-1"), "acme%3Achore%2Fsync-1");
        assert_eq!(url_host("https://github.com"), "github.com");
        assert_eq!(url_host("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
    }

    #[test]
    fn missing_is_case_insensitive_and_deduped() {
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        let check = |want: &[&str], have: &[&str], out: &[&str]| {
            assert_eq!(missing(&s(want), &s(have)), s(out), "{want:?} - {have:?}");
        };
        check(&["a", "B"], &["b"], &["a"]);
        check(&["a", "A", " "], &[], &["a"]);
        check(&[], &["x"], &[]);
    }

    #[test]
    fn from_vars_resolves_in_order() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let o = GitHubOptions::from_vars(vars(&[("GH_TOKEN", "a"), ("GITHUB_TOKEN", "b")]))
            .expect("token set");
        assert_eq!(o.token.expose(), "a");
        assert_eq!(o.api_url, DEFAULT_API_URL);
        let o = GitHubOptions::from_vars(vars(&[
            ("GH_TOKEN", "a"),
            ("GH_ENTERPRISE_TOKEN", ""),
            ("GITHUB_ENTERPRISE_TOKEN", "b"),
            ("GITHUB_API_URL", "https://ghe.example/api/v3"),
            ("GITHUB_SERVER_URL", "https://ghe.example"),
        ]))
        .expect("token set");
        assert_eq!(o.token.expose(), "b");
        assert_eq!(o.web_url, "https://ghe.example");
        let e = GitHubOptions::from_vars(vars(&[("PATH", "")])).expect_err("no token");
        assert!(matches!(e, GitHubError::MissingToken { .. }), "{e}");
    }

    #[test]
    fn token_is_bound_to_the_web_host() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let env: &'static [(&str, &str)] = &[
            ("GH_TOKEN", "dotcom"),
            ("GH_ENTERPRISE_TOKEN", "ghes"),
            ("GITHUB_SERVER_URL", "https://github.com"),
        ];
        // github.com: GH_TOKEN.
        let o = GitHubOptions::from_vars_with_urls(vars(env), None, None).expect("token");
        assert_eq!(o.token.expose(), "dotcom");
        // The flags win over the environment, and the token follows the host they name.
        let o = GitHubOptions::from_vars_with_urls(
            vars(env),
            Some("https://ghe.example/api/v3"),
            Some("https://ghe.example"),
        )
        .expect("token");
        assert_eq!(o.token.expose(), "ghes");
        assert_eq!(o.web_url, "https://ghe.example");
        // github.com's token is never used for another host.
        let e = GitHubOptions::from_vars_with_urls(
            vars(&[("GH_TOKEN", "dotcom"), ("GITHUB_TOKEN", "x")]),
            Some("https://ghe.example/api/v3"),
            Some("https://ghe.example"),
        )
        .expect_err("no enterprise token");
        assert!(e.to_string().contains("GH_ENTERPRISE_TOKEN"), "{e}");
        // An API URL on a third host is refused.
        let e = GitHubOptions::from_vars_with_urls(
            vars(env),
            Some("https://evil.example/api/v3"),
            Some("https://ghe.example"),
        )
        .expect_err("host mismatch");
        assert!(matches!(e, GitHubError::HostMismatch { .. }), "{e}");
        // In Actions, GITHUB_TOKEN belongs to the runner's instance, whichever it is.
        let actions: &'static [(&str, &str)] = &[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_SERVER_URL", "https://ghe.example"),
            ("GITHUB_API_URL", "https://ghe.example/api/v3"),
            ("GITHUB_TOKEN", "runner"),
        ];
        let o = GitHubOptions::from_vars_with_urls(vars(actions), None, None).expect("token");
        assert_eq!(
            (o.token.expose(), o.web_url.as_str()),
            ("runner", "https://ghe.example")
        );
        let e = GitHubOptions::from_vars_with_urls(
            vars(actions),
            Some(DEFAULT_API_URL),
            Some(DEFAULT_WEB_URL),
        )
        .expect_err("the runner's token is not github.com's");
        assert!(matches!(e, GitHubError::MissingToken { .. }), "{e}");
        assert_eq!(host_name("http://127.0.0.1:8080/x"), "127.0.0.1");
        assert_eq!(host_name("https://u@ghe.example:443"), "ghe.example");
        assert!(is_github_cloud("acme.ghe.com") && !is_github_cloud("ghe.example"));
    }

    #[test]
    fn write_interval_flag_beats_config_beats_default() {
        let check = |flag: Option<u64>, config: Option<u64>, want_ms: u64| {
            assert_eq!(
                Pacing::from_settings(flag, config).interval,
                Duration::from_millis(want_ms),
                "{flag:?} {config:?}"
            );
        };
        check(None, None, 1000);
        check(None, Some(2500), 2500);
        check(Some(3000), Some(2500), 3000);
        check(Some(0), Some(2500), 0);
        assert_eq!(Pacing::from_settings(Some(0), None).min_interval(), None);
    }

    #[test]
    fn file_sizes_warn_over_50_mib_and_refuse_over_100_mib() {
        const MIB: u64 = 1024 * 1024;
        let ok = check_file_sizes("acme/api", [("a", 10), ("b", 50 * MIB), ("c", 100 * MIB)])
            .expect("100 MiB exactly is allowed");
        assert_eq!(ok, vec![("c".to_owned(), 100 * MIB)]);
        let e = check_file_sizes("acme/api", [("a", 1), ("big.bin", 100 * MIB + 1)])
            .expect_err("over the limit");
        let msg = e.to_string();
        assert!(
            msg.contains("big.bin") && msg.contains("100 MiB") && msg.contains("acme/api"),
            "{msg}"
        );
    }

    #[test]
    fn long_bodies_keep_the_metadata_block_and_count_what_was_left_out() {
        let meta = "<!-- go-broadcast-metadata\nsync_metadata:\n  group_id: \"g\"\n-->\n";
        let list: String = (0..100)
            .map(|i| format!("- `file-{i:03}` (added)\n"))
            .collect();
        let body = format!("Intro.\n\n## Changed files\n\n{list}\n{meta}");
        // Fits: unchanged.
        assert_eq!(fit_body(&body, 10_000), body);
        let fitted = fit_body(&body, 1000);
        assert!(fitted.chars().count() <= 1000, "{fitted}");
        assert!(fitted.ends_with(meta), "{fitted}");
        let listed = fitted.lines().filter(|l| l.starts_with("- `")).count();
        assert!(
            fitted.contains(&format!("- … and {} more files\n", 100 - listed)),
            "{fitted}"
        );
        // An earlier "... and K more" line is counted in.
        let body = format!("Intro.\n\n{list}- ... and 50 more\n\n{meta}");
        let fitted = fit_body(&body, 1000);
        let listed = fitted.lines().filter(|l| l.starts_with("- `")).count();
        assert!(
            fitted.contains(&format!("- … and {} more files\n", 150 - listed)),
            "{fitted}"
        );
    }
}
