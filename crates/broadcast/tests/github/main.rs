//! Integration tests for the GitHub forge: the REST adapter against a fake GitHub (httpmock on
//! loopback, speaking the documented request and response shapes) and git over HTTP against
//! git's own `git http-backend` behind a tiny local server that checks the `Authorization` header.

mod cancel;
mod conditional;
mod e2e;
mod fixtures;
mod git_http;
mod observe;
mod preflight;
mod rest;
mod shard;
mod trust;
mod world;

/// Boxed-error result so tests can use `?`.
type Result<T = (), E = Box<dyn std::error::Error + Send + Sync>> = std::result::Result<T, E>;
