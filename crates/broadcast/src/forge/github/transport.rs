//! The REST transport: one blocking `ureq` agent, GitHub's headers, retries with exponential
//! backoff, rate-limit bookkeeping and waits, write pacing, and `Link` pagination.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use ureq::http::HeaderMap;

use broadcast_cache::{ConditionalCache, Validated};

use super::conditional::cacheable;
use super::model::ErrorBody;
use super::{Clock, GitHubError, GitHubStats, Pacing, RateLimit, Result, RetryPolicy, Token};
use std::sync::Arc;

/// Media type GitHub recommends (REST "Getting started": `Accept: application/vnd.github+json`).
const ACCEPT: &str = "application/vnd.github+json";
/// REST API version header value (`X-GitHub-Api-Version`).
const API_VERSION: &str = "2022-11-28";
/// Wait when a secondary rate limit gives neither `retry-after` nor a reset time (GitHub docs:
/// "wait for at least one minute before retrying").
const SECONDARY_DEFAULT_WAIT: Duration = Duration::from_secs(60);

/// HTTP methods the forge uses. Everything but `Get` is a content-creating write that is paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Method {
    Get,
    Post,
    Patch,
    /// `DELETE` (no request body); a write, paced like the others.
    Delete,
}

impl Method {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    fn is_write(self) -> bool {
        self != Method::Get
    }
}

/// A successful (2xx) response or a 4xx the caller wants to inspect.
#[derive(Debug)]
pub(super) struct Response {
    pub(super) body: String,
    pub(super) next: Option<String>,
}

pub(super) use super::pacer::Pacer;

/// The shared HTTP state of one forge.
pub(super) struct Transport {
    agent: ureq::Agent,
    api_url: String,
    token: Token,
    retry: RetryPolicy,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) pacer: Mutex<Pacer>,
    rate: Mutex<Option<RateLimit>>,
    requests: AtomicU64,
    writes: AtomicU64,
    retries: AtomicU64,
    rate_limit_waits: AtomicU64,
    /// Validators for `If-None-Match`; `None` sends plain GETs.
    conditional: Option<ConditionalCache>,
    not_modified: AtomicU64,
}

impl Transport {
    pub(super) fn new(
        api_url: String,
        token: Token,
        retry: RetryPolicy,
        pacing: Pacing,
        timeout: Duration,
        user_agent: &str,
        clock: Arc<dyn Clock>,
    ) -> Transport {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .user_agent(user_agent)
            // Keep `Authorization` on a redirect only to the same host over https; never send the
            // token to another host.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .build()
            .new_agent();
        Transport {
            agent,
            api_url,
            token,
            retry,
            clock,
            pacer: Mutex::new(Pacer::new(pacing)),
            rate: Mutex::new(None),
            requests: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            rate_limit_waits: AtomicU64::new(0),
            conditional: None,
            not_modified: AtomicU64::new(0),
        }
    }

    /// Sends GETs with `If-None-Match` from `cache` and keeps the `ETag` of every 2xx GET in it.
    pub(super) fn with_conditional(mut self, cache: Option<ConditionalCache>) -> Transport {
        self.conditional = cache;
        self
    }

    /// The kept validator for a GET of `url`, when conditional requests are on.
    fn validator(&self, method: Method, url: &str) -> Option<std::sync::Arc<Validated>> {
        if method != Method::Get || !cacheable(url) {
            return None;
        }
        self.conditional.as_ref()?.get(url)
    }

    /// Keeps the `ETag`, body and `Link` of a 2xx GET of `url` (a failed disk write only loses
    /// the saving on the next run).
    fn keep_validator(&self, method: Method, url: &str, headers: &HeaderMap, body: &str) {
        let (Some(cache), Some(etag)) = (self.conditional.as_ref(), header_str(headers, "etag"))
        else {
            return;
        };
        if method != Method::Get || !cacheable(url) {
            return;
        }
        let entry = Validated {
            etag: etag.to_owned(),
            body: body.to_owned(),
            link: header_str(headers, "link").map(str::to_owned),
        };
        if let Err(e) = cache.put(url, entry) {
            tracing::debug!(error = %e, "cannot keep a github etag on disk");
        }
    }

    pub(super) fn last_rate_limit(&self) -> Option<RateLimit> {
        *self
            .rate
            .lock()
            .expect("rate-limit mutex is never poisoned by a panic while held")
    }

    pub(super) fn set_rate_limit(&self, rl: RateLimit) {
        *self
            .rate
            .lock()
            .expect("rate-limit mutex is never poisoned by a panic while held") = Some(rl);
    }

    pub(super) fn stats(&self) -> GitHubStats {
        GitHubStats {
            requests: self.requests.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            rate_limit_waits: self.rate_limit_waits.load(Ordering::Relaxed),
            not_modified: self.not_modified.load(Ordering::Relaxed),
        }
    }

    /// Replaces any occurrence of the token in `s` (defence in depth for server-echoed text).
    pub(super) fn scrub(&self, s: &str) -> String {
        let t = self.token.expose();
        if t.is_empty() {
            s.to_owned()
        } else {
            s.replace(t, "***")
        }
    }

    /// Path and query of `url` relative to the API base, for messages.
    fn display_path<'a>(&self, url: &'a str) -> &'a str {
        url.strip_prefix(self.api_url.as_str()).unwrap_or(url)
    }

    /// GET `path` and decode the JSON body.
    pub(super) fn get_json<T: DeserializeOwned>(&self, path: &str, repo: &str) -> Result<T> {
        let url = format!("{}{path}", self.api_url);
        let resp = self.request(Method::Get, &url, None, repo)?;
        self.decode(Method::Get, &url, &resp.body)
    }

    /// GET every page of a list endpoint, following `Link: <…>; rel="next"`.
    pub(super) fn get_paginated<T: DeserializeOwned>(
        &self,
        path: &str,
        repo: &str,
    ) -> Result<Vec<T>> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = format!("{}{path}{sep}per_page=100", self.api_url);
        let mut out = Vec::new();
        loop {
            let resp = self.request(Method::Get, &url, None, repo)?;
            let page: Vec<T> = self.decode(Method::Get, &url, &resp.body)?;
            out.extend(page);
            match resp.next {
                None => return Ok(out),
                Some(next) => {
                    // Never send the token to another host: the next page must live under the API base.
                    if !next.starts_with(&format!("{}/", self.api_url)) {
                        return Err(GitHubError::ForeignLink {
                            path: self.display_path(&url).to_owned(),
                            link: self.scrub(&next),
                        });
                    }
                    url = next;
                }
            }
        }
    }

    /// Sends a JSON body with a write method; returns the response (2xx).
    pub(super) fn write_json<B: serde::Serialize>(
        &self,
        method: Method,
        path: &str,
        body: &B,
        repo: &str,
    ) -> Result<Response> {
        let url = format!("{}{path}", self.api_url);
        let bytes = serde_json::to_vec(body).expect("request structs always serialize");
        self.request(method, &url, Some(&bytes), repo)
    }

    pub(super) fn decode<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: &str,
    ) -> Result<T> {
        serde_json::from_str(body).map_err(|source| GitHubError::Decode {
            method: method.as_str(),
            path: self.display_path(url).to_owned(),
            source,
        })
    }

    fn send_once(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        if_none_match: Option<&str>,
    ) -> std::result::Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let auth = format!("Bearer {}", self.token.expose());
        match method {
            Method::Get => {
                let rb = self
                    .agent
                    .get(url)
                    .header("Accept", ACCEPT)
                    .header("X-GitHub-Api-Version", API_VERSION)
                    .header("Authorization", &auth);
                match if_none_match {
                    Some(etag) => rb.header("If-None-Match", etag).call(),
                    None => rb.call(),
                }
            }
            Method::Delete => self
                .agent
                .delete(url)
                .header("Accept", ACCEPT)
                .header("X-GitHub-Api-Version", API_VERSION)
                .header("Authorization", &auth)
                .call(),
            Method::Post | Method::Patch => {
                let rb = if method == Method::Post {
                    self.agent.post(url)
                } else {
                    self.agent.patch(url)
                };
                rb.header("Accept", ACCEPT)
                    .header("X-GitHub-Api-Version", API_VERSION)
                    .header("Authorization", &auth)
                    .content_type("application/json")
                    .send(body.unwrap_or(b"{}"))
            }
        }
    }

    /// Waits for this write's pacing slot.
    fn pace(&self) {
        let now = self.clock.now();
        let slot = self
            .pacer
            .lock()
            .expect("pacer mutex is never poisoned by a panic while held")
            .reserve(now);
        if let Ok(wait) = slot.duration_since(now)
            && !wait.is_zero()
        {
            tracing::debug!(
                target: crate::observe::RUN_TARGET,
                wait_ms = wait.as_millis() as u64,
                "pacing"
            );
            self.clock.sleep(wait);
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32
            .checked_shl(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.retry
            .base_delay
            .saturating_mul(factor)
            .min(self.retry.max_delay)
    }

    fn record_rate_limit(&self, headers: &HeaderMap) {
        let num = |name: &str| -> Option<u64> { header_str(headers, name)?.trim().parse().ok() };
        let (Some(remaining), Some(reset)) =
            (num("x-ratelimit-remaining"), num("x-ratelimit-reset"))
        else {
            return;
        };
        let limit = num("x-ratelimit-limit").unwrap_or(0);
        let used = num("x-ratelimit-used").unwrap_or(limit.saturating_sub(remaining));
        self.set_rate_limit(RateLimit {
            limit,
            remaining,
            used,
            reset_epoch_secs: reset,
        });
    }

    /// How long to wait before retrying a 403/429, or `None` when it is not a rate limit.
    fn rate_limit_wait(&self, headers: &HeaderMap, body: &str) -> Option<Duration> {
        if let Some(secs) = header_str(headers, "retry-after").and_then(|v| v.trim().parse().ok()) {
            return Some(Duration::from_secs(secs));
        }
        let remaining: Option<u64> =
            header_str(headers, "x-ratelimit-remaining").and_then(|v| v.trim().parse().ok());
        let reset: Option<u64> =
            header_str(headers, "x-ratelimit-reset").and_then(|v| v.trim().parse().ok());
        let until_reset = reset.map(|r| {
            (UNIX_EPOCH + Duration::from_secs(r))
                .duration_since(self.clock.now())
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_secs(1))
        });
        let secondary = body.to_ascii_lowercase().contains("secondary rate limit");
        if secondary {
            return Some(if remaining == Some(0) {
                until_reset.unwrap_or(SECONDARY_DEFAULT_WAIT)
            } else {
                SECONDARY_DEFAULT_WAIT
            });
        }
        if remaining == Some(0) {
            return Some(until_reset.unwrap_or(SECONDARY_DEFAULT_WAIT));
        }
        None
    }

    /// One logical call: paced, retried on 5xx / network errors, waits on rate limits.
    pub(super) fn request(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        repo: &str,
    ) -> Result<Response> {
        let path = self.display_path(url).to_owned();
        let mut attempt = 0u32;
        let mut rate_waits = 0u32;
        let kept = self.validator(method, url);
        loop {
            attempt += 1;
            if method.is_write() {
                self.pace();
                self.writes.fetch_add(1, Ordering::Relaxed);
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let sent = std::time::Instant::now();
            let inm = kept.as_ref().map(|v| v.etag.as_str());
            let mut resp = match self.send_once(method, url, body, inm) {
                Ok(r) => r,
                Err(e) => {
                    let message = self.scrub(&e.to_string());
                    tracing::debug!(
                        target: crate::observe::REST_TARGET,
                        method = method.as_str(),
                        endpoint = super::endpoint::endpoint_template(&path),
                        %path,
                        attempt,
                        duration_ms = sent.elapsed().as_millis() as u64,
                        error = %message,
                        "github request failed"
                    );
                    if attempt < self.retry.max_attempts {
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        self.clock.sleep(self.backoff(attempt));
                        continue;
                    }
                    return Err(GitHubError::Network {
                        method: method.as_str(),
                        path,
                        attempts: attempt,
                        source: TransportError(message),
                    });
                }
            };
            let status = resp.status().as_u16();
            self.record_rate_limit(resp.headers());
            let headers = resp.headers().clone();
            let text = resp
                .body_mut()
                .read_to_string()
                .map(|s| self.scrub(&s))
                .unwrap_or_default();
            tracing::debug!(
                target: crate::observe::REST_TARGET,
                method = method.as_str(),
                endpoint = super::endpoint::endpoint_template(&path),
                %path,
                status,
                remaining = header_str(&headers, "x-ratelimit-remaining").unwrap_or("-"),
                duration_ms = sent.elapsed().as_millis() as u64,
                "github request"
            );
            if status == 304
                && let Some(v) = &kept
            {
                self.not_modified.fetch_add(1, Ordering::Relaxed);
                let next = v.link.as_deref().and_then(next_link);
                return Ok(Response {
                    body: v.body.clone(),
                    next,
                });
            }
            if (200..300).contains(&status) {
                let next = header_str(&headers, "link").and_then(next_link);
                self.keep_validator(method, url, &headers, &text);
                return Ok(Response { body: text, next });
            }
            let message = || {
                serde_json::from_str::<ErrorBody>(&text)
                    .map(|b| b.summary())
                    .unwrap_or_else(|_| text.chars().take(200).collect())
            };
            match status {
                500..=599 => {
                    if attempt < self.retry.max_attempts {
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        self.clock.sleep(self.backoff(attempt));
                        continue;
                    }
                    return Err(GitHubError::Server {
                        method: method.as_str(),
                        path,
                        status,
                        attempts: attempt,
                    });
                }
                403 | 429 => {
                    if let Some(wait) = self.rate_limit_wait(&headers, &text) {
                        if wait > self.retry.max_rate_limit_wait
                            || rate_waits >= self.retry.max_rate_limit_waits
                        {
                            return Err(GitHubError::RateLimited {
                                method: method.as_str(),
                                path,
                                wait_secs: wait.as_secs(),
                                cap_secs: self.retry.max_rate_limit_wait.as_secs(),
                                waits: rate_waits,
                            });
                        }
                        rate_waits += 1;
                        attempt -= 1;
                        self.rate_limit_waits.fetch_add(1, Ordering::Relaxed);
                        tracing::info!(
                            method = method.as_str(),
                            %path,
                            wait_secs = wait.as_secs(),
                            "github rate limit: waiting before retrying"
                        );
                        self.clock.sleep(wait);
                        continue;
                    }
                    return Err(GitHubError::Forbidden {
                        repo: repo.to_owned(),
                        method: method.as_str(),
                        path,
                        message: message(),
                    });
                }
                401 => {
                    return Err(GitHubError::TokenRejected {
                        method: method.as_str(),
                        path,
                    });
                }
                404 => {
                    return Err(GitHubError::NotFound {
                        repo: repo.to_owned(),
                        method: method.as_str(),
                        path,
                    });
                }
                _ => {
                    return Err(GitHubError::Status {
                        method: method.as_str(),
                        path,
                        status,
                        message: message(),
                    });
                }
            }
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The `rel="next"` URL of a `Link` header (RFC 8288; GitHub "Using pagination in the REST API").
pub(super) fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let part = part.trim();
        let rest = part.strip_prefix('<')?;
        let (url, params) = rest.split_once('>')?;
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_whitespace().any(|r| r == "next"))
                .unwrap_or(false)
        });
        is_next.then(|| url.to_owned())
    })
}

/// A network-level failure, already scrubbed of the token.
#[derive(Debug)]
pub struct TransportError(String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

#[cfg(test)]
#[path = "transport_tests.rs"]
mod tests;
