//! The pull request of a synced target: opened, or updated in place, on forges that have them.

use anyhow::anyhow;
use broadcast_git_batch::ObjectId;

use super::target::TargetCtx;
use crate::forge::{Forge, PullRequestSpec};
use crate::report::{FileChange, PullRequestReport};

/// Opens or updates the pull request of the sync branch against `base` (the repository's
/// default branch when `None`), for sync commit `commit` carrying `changes`.
///
/// Errors: the forge's (token, rate limit, validation), or an empty repository whose default
/// branch the forge cannot tell.
pub(crate) fn ensure_pull_request(
    ctx: &TargetCtx<'_>,
    forge: &dyn Forge,
    base: Option<&str>,
    commit: ObjectId,
    changes: &[FileChange],
) -> anyhow::Result<PullRequestReport> {
    let (group, target, source) = (ctx.group, ctx.target, &ctx.source.tree);
    let base = match base {
        Some(b) => b.to_owned(),
        None => forge
            .repository(&target.repo)?
            .default_branch
            .ok_or_else(|| {
                anyhow!(
                    "{}: cannot tell the base branch (empty repository?)",
                    target.display
                )
            })?,
    };
    let spec = PullRequestSpec {
        title: format!(
            "[Sync] Update project files from {} ({})",
            group.source_display,
            &source.commit.to_string()[..7]
        ),
        body: crate::state::pull_request_body(group, target, &source.commit, &commit, changes),
        head: group.sync_branch.clone(),
        base,
        draft: false,
        labels: target.pr.labels.clone(),
        assignees: target.pr.assignees.clone(),
        reviewers: target.pr.reviewers.clone(),
        team_reviewers: target.pr.team_reviewers.clone(),
    };
    let (pr, action) = forge.upsert_pull_request(&target.repo, &spec)?;
    Ok(PullRequestReport {
        number: pr.number,
        url: pr.url,
        action,
        created_at: pr.created_at,
    })
}
