//! Options of the GitHub forge: the token and the host it is bound to, write pacing, retries, the clock, rate-limit and traffic figures.

use super::*;

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
    /// Content-creating requests per sliding [`Pacing::window`].
    pub per_hour: u32,
    /// The sliding window `per_hour` applies to: one hour (GitHub's secondary limit), shorter
    /// only to compress time against a test double (`--write-budget COUNT/SECONDS`).
    pub window: Duration,
}

impl Default for Pacing {
    fn default() -> Pacing {
        Pacing {
            interval: DEFAULT_WRITE_INTERVAL,
            per_hour: 500,
            window: Duration::from_secs(3600),
        }
    }
}

impl Pacing {
    /// No pacing at all (tests, servers without secondary limits).
    pub fn unlimited() -> Pacing {
        Pacing {
            interval: Duration::ZERO,
            per_hour: 0,
            window: Duration::from_secs(3600),
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

    /// This pacing with at most `count` writes starting in any sliding `window` (the
    /// `--write-budget COUNT/SECONDS` flag; default 500 per 3600 s). A zero `count` or `window`
    /// disables the budget.
    pub fn with_budget(self, count: u32, window: Duration) -> Pacing {
        let off = count == 0 || window.is_zero();
        Pacing {
            per_hour: if off { 0 } else { count },
            window: if off { self.window } else { window },
            ..self
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
    /// GETs answered `304 Not Modified` to `If-None-Match` (GitHub does not count them against
    /// the primary rate limit).
    pub not_modified: u64,
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
    /// Conditional GETs (`If-None-Match`) and where their validators are kept. Default
    /// [`ConditionalRequests::Off`]; the CLI keeps them on disk unless `--no-cache`.
    pub conditional: ConditionalRequests,
    /// Where the token came from, for `diagnose`: the variable's name, `gh auth token`, or
    /// `given` (passed to [`GitHubOptions::new`]). Never the token.
    pub token_source: &'static str,
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
            .field("conditional", &self.conditional)
            .field("token_source", &self.token_source)
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
            conditional: ConditionalRequests::Off,
            token_source: "given",
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
        check_url("api", &api_url)?;
        check_url("web", &web_url)?;
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
        let named = |name: &'static str| var(name).map(|t| (t, name));
        let (token, source) = named(first)
            .or_else(|| second.and_then(named))
            .or_else(|| github_token_fits.then(|| named("GITHUB_TOKEN")).flatten())
            .or_else(|| gh_auth_token(var("PATH").as_deref(), &host).map(|t| (t, "gh auth token")))
            .ok_or(GitHubError::MissingToken {
                host,
                vars: vars_text,
            })?;
        let mut o = GitHubOptions::new(Token::new(token));
        o.api_url = api_url;
        o.web_url = web_url;
        o.token_source = source;
        Ok(o)
    }
}

/// True for hosts whose tokens `gh` reads from `GH_TOKEN`/`GITHUB_TOKEN`: github.com, GitHub
/// Enterprise Cloud with data residency (`*.ghe.com`) and `github.localhost`.
pub(super) fn is_github_cloud(host: &str) -> bool {
    matches!(host, "github.com" | "api.github.com" | "github.localhost")
        || host.ends_with(".ghe.com")
}

/// `host[:port]` of an `http(s)://` URL.
pub(super) fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    authority.rsplit_once('@').map_or(authority, |(_, h)| h)
}

/// The host name of an `http(s)://` URL, without port: what a token is bound to.
/// A base URL a token may be sent to: `https://`, or `http://` to a loopback host only
/// (`localhost`, `127.0.0.0/8`, `[::1]`: a local test server), so a token never crosses a
/// network in clear text.
pub(super) fn check_url(what: &'static str, url: &str) -> Result<()> {
    if url.starts_with("https://") {
        return Ok(());
    }
    let loopback = |h: &str| {
        h == "localhost"
            || h == "[::1]"
            || h.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    };
    if url.starts_with("http://") && loopback(&host_name(url).to_ascii_lowercase()) {
        return Ok(());
    }
    Err(GitHubError::InvalidUrl {
        what,
        url: url.to_owned(),
    })
}

pub(super) fn host_name(url: &str) -> &str {
    let h = url_host(url);
    if h.starts_with('[') {
        return h.split_once(']').map_or(h, |(v6, _)| &h[..v6.len() + 1]);
    }
    h.rsplit_once(':').map_or(h, |(name, _)| name)
}

/// Runs `gh auth token --hostname HOST` if `gh` is found on `path_var`. The token comes back on
/// stdout (never argv). `None` when gh is absent, fails or prints nothing.
pub(super) fn gh_auth_token(path_var: Option<&str>, host: &str) -> Option<String> {
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
