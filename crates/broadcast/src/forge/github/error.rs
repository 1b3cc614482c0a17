//! Errors of the GitHub forge. Messages never contain the token.

use super::*;

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
    /// An API or web base URL that is not `https://` (or `http://` to a loopback host).
    #[error(
        "github {what} url '{url}' must start with https:// (http:// only for a server on this machine: localhost, 127.0.0.1, [::1]), so the token never travels in clear text"
    )]
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
