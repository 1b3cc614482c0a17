//! The rate-limit preflight: before a group's first write, read `GET /rate_limit`, print the
//! estimate of the requests the group needs and how long pacing takes, and refuse when the
//! primary budget cannot hold them.

use super::GitHubForge;

/// What the preflight does: the config's `rate_limit_preflight` section (go-broadcast's keys and
/// defaults) and the `--ignore-rate-limit` flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreflightPolicy {
    /// Check at all (`enabled`, default true). `false`: no request, no estimate.
    pub enabled: bool,
    /// Share of the remaining primary budget kept in reserve, percent
    /// (`primary_margin_percent`, 0..=100, default 20).
    pub margin_percent: u8,
    /// Refuse the writes when the budget cannot be read (`fail_closed`, default false: warn and
    /// go on). A rejected token always refuses.
    pub fail_closed: bool,
    /// Print the estimate but write even when the budget looks short.
    pub ignore_budget: bool,
}

impl Default for PreflightPolicy {
    fn default() -> Self {
        PreflightPolicy {
            enabled: true,
            margin_percent: 20,
            fail_closed: false,
            ignore_budget: false,
        }
    }
}

impl PreflightPolicy {
    /// The policy of a config's `rate_limit_preflight` section (`None`: the defaults); a `0` is
    /// go-broadcast's "use the default".
    pub fn from_config(section: Option<&crate::config::RateLimitPreflight>) -> PreflightPolicy {
        let mut p = PreflightPolicy::default();
        if let Some(s) = section {
            p.enabled = s.enabled.unwrap_or(true);
            if (1..=100).contains(&s.primary_margin_percent) {
                p.margin_percent = s.primary_margin_percent as u8;
            }
            p.fail_closed = s.fail_closed;
        }
        p
    }

    /// The part of `remaining` requests a run may spend: `remaining` less the margin.
    pub fn usable(&self, remaining: u64) -> u64 {
        super::budget::usable(remaining, self.margin_percent)
    }
}

impl GitHubForge {
    /// The preflight of [`crate::forge::Forge::preflight`] for `targets` changed targets of
    /// group `group_id` needing up to `write_calls` writes.
    ///
    /// Errors when `GET /rate_limit` fails (a rejected token, say) or when the estimate does not
    /// fit the remaining budget and the policy does not ignore it.
    pub(crate) fn check_budget(
        &self,
        group_id: &str,
        targets: usize,
        write_calls: u64,
    ) -> anyhow::Result<()> {
        if !self.preflight.enabled {
            return Ok(());
        }
        let limit = match self.rate_limit() {
            Ok(l) => l,
            Err(e @ super::GitHubError::TokenRejected { .. }) => return Err(e.into()),
            Err(e) if self.preflight.fail_closed => {
                return Err(anyhow::Error::new(e).context(
                    "cannot read the GitHub rate limit (rate_limit_preflight.fail_closed is set)",
                ));
            }
            Err(e) => {
                crate::output::note(&format!(
                    "group {group_id}: cannot read the GitHub rate limit ({e}); writing without the preflight (set rate_limit_preflight.fail_closed to refuse instead)"
                ));
                return Ok(());
            }
        };
        let est = self.plan_write_calls(targets, write_calls);
        let needed = est.write_calls + est.read_calls;
        let now = self.http.clock.now();
        let reset_in = |l: &super::RateLimit| {
            l.reset_at()
                .duration_since(now)
                .unwrap_or(std::time::Duration::ZERO)
        };
        let remaining = match (est.remaining, limit) {
            (Some(r), Some(l)) => format!(
                "{r} requests remaining, reset in {} s",
                reset_in(&l).as_secs()
            ),
            _ => "no rate limit reported".to_owned(),
        };
        crate::output::note(&format!(
            "group {group_id}: {} target(s) need GitHub writes: up to {} write and {} read requests ({remaining}); write pacing takes about {} s",
            est.targets,
            est.write_calls,
            est.read_calls,
            est.pacing.as_secs()
        ));
        let (Some(remaining), Some(l)) = (est.remaining, limit) else {
            return Ok(());
        };
        let verdict = super::budget::check(&super::budget::PrimaryBudget {
            needed,
            remaining,
            limit: l.limit,
            reset_in: reset_in(&l),
            duration: est.pacing,
            window: self.pacing_window,
            margin_percent: self.preflight.margin_percent,
        });
        match verdict {
            Ok(super::budget::BudgetFit::Now) => {}
            Ok(super::budget::BudgetFit::AcrossWindows {
                windows,
                per_window,
            }) => crate::output::note(&format!(
                "group {group_id}: the paced writes span {windows} rate-limit windows; at most {per_window} of the {needed} requests fall in any one of them"
            )),
            Err(why) if !self.preflight.ignore_budget => anyhow::bail!(
                "rate-limit preflight: group {group_id} {why} (primary_margin_percent {} keeps the rest); wait for the reset or re-run with --ignore-rate-limit",
                self.preflight.margin_percent
            ),
            Err(_) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RateLimitPreflight;

    #[test]
    fn policy_follows_go_broadcast_defaults_and_zero_means_default() {
        assert_eq!(
            PreflightPolicy::from_config(None),
            PreflightPolicy::default()
        );
        let section = RateLimitPreflight {
            enabled: Some(false),
            primary_margin_percent: 0,
            secondary_reserve: 0,
            fail_closed: true,
            write_interval_ms: None,
        };
        let p = PreflightPolicy::from_config(Some(&section));
        assert!(!p.enabled && p.fail_closed);
        assert_eq!(p.margin_percent, 20);
        let section = RateLimitPreflight {
            primary_margin_percent: 50,
            ..section
        };
        assert_eq!(
            PreflightPolicy::from_config(Some(&section)).margin_percent,
            50
        );
    }

    #[test]
    fn usable_keeps_the_margin() {
        let p = PreflightPolicy::default();
        assert_eq!(p.usable(5000), 4000);
        assert_eq!(p.usable(0), 0);
        let none = PreflightPolicy {
            margin_percent: 0,
            ..p
        };
        assert_eq!(none.usable(7), 7);
    }
}
