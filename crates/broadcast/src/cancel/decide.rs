//! What `cancel` does to one target, from what it found there. Pure.

use crate::report::{BranchAction, TargetStatus};

/// What the read step found in a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Facts {
    /// The sync branch exists.
    pub branch: bool,
    /// Number of the open pull request whose head is the sync branch (forges with pull
    /// requests only).
    pub pull_request: Option<u64>,
    /// Commits on the sync branch (not on the base) that broadcast did not write.
    pub foreign_commits: usize,
    /// `--delete-branch` was given.
    pub delete_branch: bool,
}

/// The steps to take, in order: close the pull request (comment first), then delete the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Close this pull request.
    pub close: Option<u64>,
    /// Delete the sync branch.
    pub delete: bool,
    /// Someone else's commits are on the branch: nothing is done to the target, and the report
    /// names them.
    pub blocked: bool,
}

impl Decision {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.close.is_none() && !self.delete
    }
}

/// Decides a target. A branch holding commits broadcast did not write blocks the whole target:
/// its pull request is where that person's work is being reviewed, so neither is touched.
pub fn decide(f: &Facts) -> Decision {
    if f.branch && f.foreign_commits > 0 {
        return Decision {
            close: None,
            delete: false,
            blocked: true,
        };
    }
    Decision {
        close: f.pull_request,
        delete: f.delete_branch && f.branch,
        blocked: false,
    }
}

/// The target's status and what happens to its branch, before any write: `dry_run` reports
/// what would be done. `None` for the branch when there is none.
pub fn planned(f: &Facts, d: &Decision, dry_run: bool) -> (TargetStatus, Option<BranchAction>) {
    let action = match (d.delete, dry_run) {
        (true, true) => BranchAction::WouldDelete,
        (true, false) => BranchAction::Deleted,
        (false, _) => BranchAction::Kept,
    };
    let branch = f.branch.then_some(action);
    let status = if d.blocked {
        TargetStatus::Blocked
    } else if d.is_empty() {
        TargetStatus::NothingToDo
    } else if dry_run {
        TargetStatus::WouldCancel
    } else {
        TargetStatus::Cancelled
    };
    (status, branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_row_per_rule() {
        use BranchAction::*;
        use TargetStatus::*;
        // (branch, pr, foreign, --delete-branch, dry run) -> (close, delete, status, branch)
        #[allow(clippy::type_complexity)]
        let rows: &[(
            (bool, Option<u64>, usize, bool, bool),
            (Option<u64>, bool, TargetStatus, Option<BranchAction>),
        )] = &[
            // Nothing there: nothing to do, whatever the flags.
            (
                (false, None, 0, false, false),
                (None, false, NothingToDo, None),
            ),
            (
                (false, None, 0, true, false),
                (None, false, NothingToDo, None),
            ),
            // Branch without a pull request (closed earlier, or a local target): only
            // --delete-branch has work.
            (
                (true, None, 0, false, false),
                (None, false, NothingToDo, Some(Kept)),
            ),
            (
                (true, None, 0, true, false),
                (None, true, Cancelled, Some(Deleted)),
            ),
            (
                (true, None, 0, true, true),
                (None, true, WouldCancel, Some(WouldDelete)),
            ),
            // Open pull request: closed; the branch stays unless asked.
            (
                (true, Some(7), 0, false, false),
                (Some(7), false, Cancelled, Some(Kept)),
            ),
            (
                (true, Some(7), 0, true, false),
                (Some(7), true, Cancelled, Some(Deleted)),
            ),
            (
                (true, Some(7), 0, false, true),
                (Some(7), false, WouldCancel, Some(Kept)),
            ),
            // Someone else's commits: nothing is touched, with or without the flag.
            (
                (true, Some(7), 1, true, false),
                (None, false, Blocked, Some(Kept)),
            ),
            (
                (true, None, 2, true, true),
                (None, false, Blocked, Some(Kept)),
            ),
            (
                (true, Some(7), 1, false, false),
                (None, false, Blocked, Some(Kept)),
            ),
        ];
        for ((branch, pr, foreign, delete_branch, dry_run), want) in rows {
            let f = Facts {
                branch: *branch,
                pull_request: *pr,
                foreign_commits: *foreign,
                delete_branch: *delete_branch,
            };
            let d = decide(&f);
            let (status, action) = planned(&f, &d, *dry_run);
            assert_eq!(
                (d.close, d.delete, status, action),
                *want,
                "{f:?} dry_run={dry_run}"
            );
        }
    }
}
