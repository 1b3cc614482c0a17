//! The rate-limit preflight: before a group's first write, read `GET /rate_limit`, print the
//! estimate of the requests the group needs and how long pacing takes, and refuse when the
//! primary budget cannot hold them.

use anyhow::Context;

use super::GitHubForge;

/// What the preflight does (config `rate_limit_preflight.enabled`, flag `--ignore-rate-limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreflightPolicy {
    /// Check at all. `false`: no request, no estimate.
    pub enabled: bool,
    /// Print the estimate but write even when the budget looks short.
    pub ignore_budget: bool,
}

impl Default for PreflightPolicy {
    fn default() -> Self {
        PreflightPolicy {
            enabled: true,
            ignore_budget: false,
        }
    }
}

impl GitHubForge {
    /// The preflight of [`crate::forge::Forge::preflight`] for `targets` changed targets of
    /// group `group_id`.
    ///
    /// Errors when `GET /rate_limit` fails (a rejected token, say) or when the estimate does not
    /// fit the remaining budget and the policy does not ignore it.
    pub(crate) fn check_budget(&self, group_id: &str, targets: usize) -> anyhow::Result<()> {
        if !self.preflight.enabled {
            return Ok(());
        }
        let limit = self
            .rate_limit()
            .context("cannot read the GitHub rate limit (is the token valid?)")?;
        let est = self.plan_writes(targets);
        let remaining = match (est.remaining, limit) {
            (Some(r), Some(l)) => format!(
                "{r} requests remaining, reset in {} s",
                l.reset_at()
                    .duration_since(std::time::SystemTime::now())
                    .map_or(0, |d| d.as_secs())
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
        if !est.fits && !self.preflight.ignore_budget {
            anyhow::bail!(
                "rate-limit preflight: group {group_id} needs up to {} requests but only {} remain; wait for the reset or re-run with --ignore-rate-limit",
                est.write_calls + est.read_calls,
                est.remaining.unwrap_or(0)
            );
        }
        Ok(())
    }
}
