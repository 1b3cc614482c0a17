//! The preflight's decision: do the requests of a paced run fit the primary rate limit, counting
//! the windows the run spans? Pure; the rule is documented in `docs/github.md` ("Rate-limit
//! preflight").
//!
//! GitHub's primary limit is a budget of `limit` requests per window (one hour for a token, GitHub
//! Docs "Rate limits for the REST API"); `x-ratelimit-remaining` is what is left of the current
//! window and `x-ratelimit-reset` is when a full budget comes back. A paced run (writes spaced by
//! the write interval, at most `per_hour` in any hour) can take several hours, so it meets several
//! resets. The rule:
//!
//! 1. `usable(n)` is `n` less the margin (`primary_margin_percent`, default 20 %).
//! 2. All the run's requests fit what is left now: allowed.
//! 3. The paced run ends before the reset: refused (nothing comes back in time).
//! 4. Otherwise the run spans `1 + ceil((duration − reset_in) / window)` windows. Requests follow
//!    the writes (each target's reads come just before its writes), so no window-long stretch of
//!    the run sends more than `per_window = ceil(needed × window / duration)` (at most `needed`):
//!    the run's average rate over a window, which the hourly write cap keeps at or above the rate
//!    of any single hour. Allowed when `per_window` fits `usable(remaining)` (the current window,
//!    charged a whole window's share because the hourly cap lets writes bunch at its start) and
//!    `usable(limit)` (every later window).

use std::fmt;
use std::time::Duration;

/// The inputs of [`check`]: the run's needs and the budget as `GET /rate_limit` reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrimaryBudget {
    /// Requests the run needs at most (reads and writes).
    pub needed: u64,
    /// Requests left in the current window (`x-ratelimit-remaining`).
    pub remaining: u64,
    /// Requests per window (`x-ratelimit-limit`).
    pub limit: u64,
    /// Time from now to the reset of the current window (`x-ratelimit-reset` less now; zero when
    /// past).
    pub reset_in: Duration,
    /// The least time the paced run takes (the write pacing alone, from now).
    pub duration: Duration,
    /// Length of one primary window: one hour on GitHub (shorter only when time is compressed
    /// against a test double, with the pacing's window).
    pub window: Duration,
    /// Share of each budget kept in reserve, percent (0..=100).
    pub margin_percent: u8,
}

/// What [`check`] allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetFit {
    /// Everything fits what is left of the current window.
    Now,
    /// The run spans `windows` windows (the current one included) and no window-long stretch of
    /// it sends more than `per_window` requests.
    AcrossWindows {
        /// Windows the paced run touches, the current one included (at least 2).
        windows: u64,
        /// Requests any one window receives at most.
        per_window: u64,
    },
}

/// Why [`check`] refuses; `Display` names the numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetRefusal {
    /// The run ends before the reset and needs more than may be spent now.
    BeforeReset {
        /// Requests needed.
        needed: u64,
        /// Requests that may be spent now (remaining less the margin).
        usable: u64,
        /// Requests remaining.
        remaining: u64,
        /// Seconds to the reset.
        reset_in_secs: u64,
        /// Seconds the paced run takes.
        duration_secs: u64,
    },
    /// The run's share of the current window does not fit what may be spent now.
    CurrentWindow {
        /// Requests needed in all.
        needed: u64,
        /// Requests the run may send before the reset.
        share: u64,
        /// Requests that may be spent now.
        usable: u64,
        /// Requests remaining.
        remaining: u64,
        /// Seconds to the reset.
        reset_in_secs: u64,
    },
    /// A window-long stretch of the run needs more than a whole window may spend.
    EveryWindow {
        /// Requests needed in all.
        needed: u64,
        /// Requests a window receives at most.
        per_window: u64,
        /// Requests that may be spent per window (limit less the margin).
        usable: u64,
        /// Requests per window.
        limit: u64,
    },
}

impl fmt::Display for BudgetRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BudgetRefusal::BeforeReset {
                needed,
                usable,
                remaining,
                reset_in_secs,
                duration_secs,
            } => write!(
                f,
                "needs up to {needed} requests but only {usable} of the {remaining} remaining may be spent, and the paced run (about {duration_secs} s) ends before the reset in {reset_in_secs} s"
            ),
            BudgetRefusal::CurrentWindow {
                needed,
                share,
                usable,
                remaining,
                reset_in_secs,
            } => write!(
                f,
                "needs up to {needed} requests over several rate-limit windows; up to {share} of them may fall before the reset in {reset_in_secs} s, but only {usable} of the {remaining} remaining may be spent"
            ),
            BudgetRefusal::EveryWindow {
                needed,
                per_window,
                usable,
                limit,
            } => write!(
                f,
                "needs up to {needed} requests at up to {per_window} per rate-limit window, but a window of {limit} requests allows only {usable}"
            ),
        }
    }
}

/// `n` less `margin_percent` percent of it (the margin rounded down).
pub(super) fn usable(n: u64, margin_percent: u8) -> u64 {
    n - n * u64::from(margin_percent.min(100)) / 100
}

/// Decides whether the run fits the primary budget, by the rule in the module docs. Pure, O(1).
///
/// # Errors
/// [`BudgetRefusal`] naming the numbers when it does not fit.
pub(super) fn check(b: &PrimaryBudget) -> Result<BudgetFit, BudgetRefusal> {
    let now = usable(b.remaining, b.margin_percent);
    if b.needed <= now {
        return Ok(BudgetFit::Now);
    }
    if b.duration <= b.reset_in || b.window.is_zero() {
        return Err(BudgetRefusal::BeforeReset {
            needed: b.needed,
            usable: now,
            remaining: b.remaining,
            reset_in_secs: b.reset_in.as_secs(),
            duration_secs: b.duration.as_secs(),
        });
    }
    let (window, duration) = (b.window.as_millis(), b.duration.as_millis());
    let later = (duration - b.reset_in.as_millis()).div_ceil(window);
    let per_window = (u128::from(b.needed) * window)
        .div_ceil(duration)
        .min(u128::from(b.needed)) as u64;
    if per_window > now {
        return Err(BudgetRefusal::CurrentWindow {
            needed: b.needed,
            share: per_window,
            usable: now,
            remaining: b.remaining,
            reset_in_secs: b.reset_in.as_secs(),
        });
    }
    let full = usable(b.limit, b.margin_percent);
    if per_window > full {
        return Err(BudgetRefusal::EveryWindow {
            needed: b.needed,
            per_window,
            usable: full,
            limit: b.limit,
        });
    }
    Ok(BudgetFit::AcrossWindows {
        windows: 1 + later as u64,
        per_window,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn budget(
        needed: u64,
        remaining: u64,
        limit: u64,
        reset_in: u64,
        duration: u64,
    ) -> PrimaryBudget {
        PrimaryBudget {
            needed,
            remaining,
            limit,
            reset_in: Duration::from_secs(reset_in),
            duration: Duration::from_secs(duration),
            window: HOUR,
            margin_percent: 20,
        }
    }

    /// One row: (needed, remaining, limit, reset in s, paced duration s) and the verdict.
    type Case = ((u64, u64, u64, u64, u64), Result<BudgetFit, &'static str>);

    #[test]
    fn table() {
        use BudgetFit::*;
        // (needed, remaining, limit, reset in s, paced duration s) -> verdict
        let cases: [Case; 10] = [
            // Fits now: 80 % of 5,000.
            ((4000, 5000, 5000, 3600, 11_299), Ok(Now)),
            // 1,000 new targets (2,000 writes at 500/h: 11,299 s): four windows, 1,275 each.
            (
                (4001, 5000, 5000, 3600, 11_299),
                Ok(AcrossWindows {
                    windows: 4,
                    per_window: 1275,
                }),
            ),
            // Same run, little left now but the reset is near: the current window is charged a
            // whole window's share, so it is refused until the reset.
            ((4001, 100, 5000, 60, 11_299), Err("current")),
            // Little left, far reset.
            ((4001, 100, 5000, 3500, 11_299), Err("current")),
            // Ends before the reset: nothing comes back in time.
            ((4001, 5000, 5000, 3600, 2000), Err("before")),
            ((4001, 5000, 5000, 3600, 3600), Err("before")),
            // A small limit cannot hold an hour of the run (1,275 > 800).
            ((4001, 1000, 1000, 3600, 11_299), Err("current")),
            ((4001, 1275 * 5 / 4 + 1, 1000, 600, 11_299), Err("every")),
            // Unpaced run longer than the reset is not possible (duration 0): refused as before.
            ((4001, 5000, 5000, 3600, 0), Err("before")),
            // Just over the reset: two windows, the whole run could fall in one of them.
            ((4500, 5000, 5000, 10, 20), Err("current")),
        ];
        for ((needed, remaining, limit, reset_in, duration), want) in cases {
            let got = check(&budget(needed, remaining, limit, reset_in, duration));
            let ok = match (&got, &want) {
                (Ok(g), Ok(w)) => g == w,
                (Err(BudgetRefusal::BeforeReset { .. }), Err("before"))
                | (Err(BudgetRefusal::CurrentWindow { .. }), Err("current"))
                | (Err(BudgetRefusal::EveryWindow { .. }), Err("every")) => true,
                _ => false,
            };
            assert!(
                ok,
                "{needed} {remaining} {limit} {reset_in} {duration}: got {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn refusals_name_the_numbers() {
        let e = check(&budget(4001, 100, 5000, 3500, 11_299)).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "needs up to 4001 requests over several rate-limit windows; up to 1275 of them may fall before the reset in 3500 s, but only 80 of the 100 remaining may be spent"
        );
        let e = check(&budget(4001, 5000, 5000, 3600, 2000)).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "needs up to 4001 requests but only 4000 of the 5000 remaining may be spent, and the paced run (about 2000 s) ends before the reset in 3600 s"
        );
        let e = check(&budget(4001, 5000, 1000, 600, 11_299)).expect_err("refused");
        assert_eq!(
            e.to_string(),
            "needs up to 4001 requests at up to 1275 per rate-limit window, but a window of 1000 requests allows only 800"
        );
    }

    #[test]
    fn margin_and_window() {
        assert_eq!(usable(5000, 20), 4000);
        assert_eq!(usable(7, 0), 7);
        assert_eq!(usable(7, 100), 0);
        // A compressed window (36 s for an hour) counts its resets the same way.
        let b = PrimaryBudget {
            window: Duration::from_secs(36),
            reset_in: Duration::from_secs(36),
            duration: Duration::from_millis(112_990),
            ..budget(4001, 5000, 5000, 0, 0)
        };
        assert_eq!(
            check(&b),
            Ok(BudgetFit::AcrossWindows {
                windows: 4,
                per_window: 1275
            })
        );
    }
}
