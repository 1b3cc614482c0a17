//! A loopback double of the GitHub REST API for scale scenarios, not for production use.
//!
//! It speaks the documented request and response shapes of the endpoints broadcast's GitHub
//! forge calls (GitHub Docs, REST reference: "Get a repository", "List pull requests", "Create a
//! pull request", "Update a pull request", "Add labels to an issue", "Add assignees to an issue",
//! "Request reviewers for a pull request", "Get the authenticated user", "Get rate limit status
//! for the authenticated user"), keeps the pull requests it is told about in memory, and enforces
//! what GitHub enforces on a token ([`Limits`]): the primary limit with `x-ratelimit-*` headers,
//! the secondary limits on content-creating requests (403 with `retry-after`), and conditional
//! GETs (`ETag`, `If-None-Match` answered `304 Not Modified`, free of primary budget).
//!
//! Repositories exist when `root/owner/name.git` is a directory (a scenario serves their git
//! side itself, e.g. through `url.<base>.insteadOf`), or all exist when no root is given; every
//! default branch is `main`. [`GitHubDouble::stats`] counts what a scenario asserts on.
//!
//! Not modelled: `Last-Modified`, GraphQL, abuse heuristics beyond the two documented counts,
//! anything about git itself.

mod api;
mod http;
mod limits;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub use limits::Limits;

/// What a double was asked, from its start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Every request received.
    pub requests: u64,
    /// Requests that counted against the primary limit (everything but 304s to authorised
    /// conditional requests and `GET /rate_limit`; rejected requests count, as on GitHub).
    pub counted: u64,
    /// GETs answered `304 Not Modified`.
    pub not_modified: u64,
    /// Content-creating requests (POST, PATCH, PUT, DELETE) received, rejected ones included.
    pub writes: u64,
    /// Content-creating requests admitted (not rejected by a limit).
    pub writes_admitted: u64,
    /// `403` answers for a secondary rate limit.
    pub secondary_limited: u64,
    /// `403` answers for an exhausted primary limit.
    pub primary_limited: u64,
    /// `401` answers (missing or wrong token).
    pub unauthorized: u64,
    /// Pull requests created.
    pub pulls_created: u64,
    /// `422` answers to a create for a head that already has an open pull request.
    pub duplicate_creates: u64,
    /// The most content-creating requests admitted in any rolling short window.
    pub peak_per_minute: u64,
    /// The most content-creating requests admitted in any rolling long window.
    pub peak_per_hour: u64,
    /// When the first admitted content-creating request arrived, from the double's start (or
    /// the last [`GitHubDouble::reset_stats`]).
    pub first_write: Option<std::time::Duration>,
    /// When the last admitted content-creating request arrived, same origin.
    pub last_write: Option<std::time::Duration>,
    /// Requests by `METHOD route` (route with owner, name and numbers as placeholders).
    pub by_route: std::collections::BTreeMap<String, u64>,
}

/// How a double is started.
#[derive(Debug, Clone)]
pub struct DoubleOptions {
    /// The only token accepted (`Authorization: Bearer <token>` or `token <token>`).
    pub token: String,
    /// Where `owner/name.git` directories say which repositories exist; `None`: all exist.
    pub root: Option<PathBuf>,
    /// The limits enforced.
    pub limits: Limits,
    /// The login `GET /user` returns and pull requests are authored by.
    pub login: String,
}

impl DoubleOptions {
    /// GitHub's limits compressed by `factor` (see [`Limits::github`]), every repository present.
    pub fn new(token: impl Into<String>, factor: f64) -> DoubleOptions {
        DoubleOptions {
            token: token.into(),
            root: None,
            limits: Limits::github(factor),
            login: "sync-bot".to_owned(),
        }
    }
}

/// A running double; stops (and frees its port) when dropped.
pub struct GitHubDouble {
    addr: SocketAddr,
    state: Arc<Mutex<api::State>>,
    stop: Arc<AtomicBool>,
}

impl GitHubDouble {
    /// Binds `127.0.0.1:0` and serves on a background thread.
    ///
    /// Errors: the bind failing.
    pub fn start(options: DoubleOptions) -> std::io::Result<GitHubDouble> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let state = Arc::new(Mutex::new(api::State::new(options)));
        let stop = Arc::new(AtomicBool::new(false));
        let handler_state = state.clone();
        let handler = Arc::new(move |req| api::handle(&handler_state, req));
        let s = stop.clone();
        std::thread::spawn(move || http::serve(listener, s, handler));
        Ok(GitHubDouble { addr, state, stop })
    }

    /// `http://127.0.0.1:PORT` (no trailing `/`): the API base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.state.lock().expect("double state").stats()
    }

    /// Zeroes the counters (pull requests and limits stay).
    pub fn reset_stats(&self) {
        self.state.lock().expect("double state").reset_stats();
    }

    /// Pull requests per `(owner/name, head)`: `(open, closed)` counts. Any open count above 1
    /// would be a duplicate (the double refuses it with 422, as GitHub does).
    pub fn pulls_by_head(&self) -> std::collections::BTreeMap<(String, String), (u64, u64)> {
        self.state.lock().expect("double state").pulls_by_head()
    }
}

impl Drop for GitHubDouble {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

#[cfg(test)]
mod tests;
