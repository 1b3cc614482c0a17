//! GitHub's REST rate limits, with windows that can be compressed for scenarios.
//!
//! Figures from GitHub Docs, "Rate limits for the REST API": a primary limit of 5,000 requests
//! per hour for a personal access token (`x-ratelimit-*` headers; a `304 Not Modified` to a
//! conditional request and `GET /rate_limit` do not count), and secondary limits: "No more than
//! 80 content-generating requests per minute and no more than 500 content-generating requests
//! per hour", answered with `403` (or `429`) and a `retry-after` header in seconds.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The limits a [`crate::GitHubDouble`] enforces. [`Limits::github`] gives GitHub's figures with
/// every window divided by a time-compression factor.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// Counted requests per primary window (GitHub: 5,000).
    pub primary: u64,
    /// The primary window (GitHub: one hour, fixed, resetting at `x-ratelimit-reset`).
    pub primary_window: Duration,
    /// Content-creating requests per rolling short window (GitHub: 80 per minute).
    pub per_minute: usize,
    /// The short rolling window (GitHub: one minute).
    pub minute: Duration,
    /// Content-creating requests per rolling long window (GitHub: 500 per hour).
    pub per_hour: usize,
    /// The long rolling window (GitHub: one hour).
    pub hour: Duration,
}

impl Limits {
    /// GitHub's figures with the windows divided by `factor` (1.0: real time; 360.0: an hour
    /// lasts 10 s). Counts are unchanged, so a run at `interval / factor` sees the same limits
    /// as a run at `interval` against GitHub.
    pub fn github(factor: f64) -> Limits {
        let scale = |secs: f64| Duration::from_secs_f64(secs / factor.max(f64::MIN_POSITIVE));
        Limits {
            primary: 5_000,
            primary_window: scale(3600.0),
            per_minute: 80,
            minute: scale(60.0),
            per_hour: 500,
            hour: scale(3600.0),
        }
    }
}

/// Start times in a rolling window: at most `max` in any `window`.
#[derive(Debug)]
pub(crate) struct Rolling {
    window: Duration,
    max: usize,
    times: VecDeque<Instant>,
    /// The most starts seen in any window so far.
    pub(crate) peak: usize,
}

impl Rolling {
    pub(crate) fn new(max: usize, window: Duration) -> Rolling {
        Rolling {
            window,
            max,
            times: VecDeque::new(),
            peak: 0,
        }
    }

    /// How long until a start would be admitted at `now`; zero when it would be now.
    pub(crate) fn wait(&mut self, now: Instant) -> Duration {
        while self
            .times
            .front()
            .is_some_and(|&t| now.duration_since(t) >= self.window)
        {
            self.times.pop_front();
        }
        if self.times.len() < self.max {
            return Duration::ZERO;
        }
        let front = *self.times.front().expect("len >= max > 0");
        (front + self.window).saturating_duration_since(now)
    }

    /// Records a start at `now` (call after `wait` gave zero).
    pub(crate) fn record(&mut self, now: Instant) {
        self.times.push_back(now);
        self.peak = self.peak.max(self.times.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_window_admits_max_then_waits_for_the_oldest() {
        let t0 = Instant::now();
        let mut r = Rolling::new(2, Duration::from_secs(10));
        assert_eq!(r.wait(t0), Duration::ZERO);
        r.record(t0);
        r.record(t0 + Duration::from_secs(1));
        assert_eq!(r.wait(t0 + Duration::from_secs(2)), Duration::from_secs(8));
        assert_eq!(r.wait(t0 + Duration::from_secs(10)), Duration::ZERO);
        assert_eq!(r.peak, 2);
    }

    #[test]
    fn compression_divides_windows_not_counts() {
        let l = Limits::github(360.0);
        assert_eq!(l.hour, Duration::from_secs(10));
        assert_eq!(
            l.minute,
            Duration::from_millis(166) + Duration::from_nanos(666_667)
        );
        assert_eq!((l.primary, l.per_minute, l.per_hour), (5_000, 80, 500));
    }
}
