//! `broadcast cancel`: take a campaign back. For every selected target: close the open sync
//! pull request with a comment and, with `--delete-branch`, delete the sync branch.
//!
//! Per target (in parallel on the worker pool, groups one after another):
//! 1. read: `git ls-remote` of the sync branch and the base branch (one spawn). No sync branch:
//!    nothing to do, and no REST request is sent.
//! 2. ownership: the commits of `base..sync` are checked with [`crate::ownership`] (for a
//!    GitHub target after a shallow blob-less fetch into a scratch repository); a branch holding
//!    commits broadcast did not write blocks the target, which is then left alone and named.
//! 3. the open pull request of the sync branch (forges with pull requests; one REST read).
//! 4. [`decide`] (pure) says what to do; a dry run stops here and reports it.
//! 5. writes, paced by the forge like sync's: comment and close, then delete the branch only if
//!    it still points at the commit checked in step 2.
//!
//! A second run finds closed pull requests and deleted branches, so it has nothing to do.

pub mod decide;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use broadcast_git_batch::{FetchOptions, Git, ObjectId, Repo};
use broadcast_worker::{CancelToken, TaskError, WorkerPool};

use crate::forge::{BranchDeletion, Forge, Forges};
use crate::ownership;
use crate::plan::{GroupPlan, Plan, TargetPlan};
use crate::repo::RepoRef;
use crate::report::{
    BranchAction, GroupReport, GroupStatus, INTERRUPTED, PullRequestAction, PullRequestReport,
    RunReport, TargetReport, TargetStatus,
};
use crate::sync::target_report;
use decide::{Decision, Facts};

/// Knobs of one `cancel` run.
#[derive(Clone, Debug)]
pub struct CancelOptions {
    /// Report what would be done; write nothing anywhere.
    pub dry_run: bool,
    /// Also delete the sync branches (only those holding nothing but broadcast's commits).
    pub delete_branch: bool,
    /// The comment posted before closing a pull request; `None`: [`default_comment`].
    pub comment: Option<String>,
    /// Targets processed at once (at least 1).
    pub jobs: usize,
    /// Timeout of each git process.
    pub git_timeout: Duration,
    /// The forges repositories are served by.
    pub forges: Forges,
    /// Cancelled when the run is interrupted: targets not started are reported skipped.
    pub cancel: CancelToken,
}

impl Default for CancelOptions {
    fn default() -> Self {
        CancelOptions {
            dry_run: false,
            delete_branch: false,
            comment: None,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            git_timeout: Duration::from_secs(600),
            forges: Forges::default(),
            cancel: CancelToken::new(),
        }
    }
}

/// The comment posted on a pull request before `cancel` closes it.
pub fn default_comment(group: &GroupPlan, delete_branch: bool) -> String {
    let branch = if delete_branch {
        format!(
            "The sync branch `{}` is deleted with it.",
            group.sync_branch
        )
    } else {
        format!(
            "The sync branch `{}` is kept; reopening this pull request brings the change back.",
            group.sync_branch
        )
    };
    format!(
        "Closed by `broadcast cancel`: the sync of group `{}` from `{}` was withdrawn. {branch}",
        group.id, group.source_display
    )
}

/// Runs `cancel` over a plan. Errors only when the run cannot start (no scratch directory, no
/// worker threads); everything that goes wrong with a target is in its report.
pub fn run(plan: &Plan, opts: &CancelOptions) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let scratch = crate::scratch::ScratchDir::create()?;
    let most = plan.groups.iter().map(|g| g.targets.len()).max();
    let jobs = opts.jobs.min(most.unwrap_or(1)).max(1);
    let pool = WorkerPool::with_cancel_token(jobs, jobs * 2, opts.cancel.clone())
        .context("cannot start the worker threads")?;
    let shared = Arc::new(opts.clone());
    let mut targets = Vec::new();
    let mut groups = Vec::new();
    for (gi, group) in plan.groups.iter().enumerate() {
        let mut report = GroupReport {
            id: group.id.clone(),
            source: group.source_display.clone(),
            source_commit: None,
            git_spawns: 0,
            status: GroupStatus::Ok,
            error: None,
        };
        if opts.cancel.is_cancelled() {
            report.status = GroupStatus::Skipped;
            report.error = Some(INTERRUPTED.to_owned());
            targets.extend(group.targets.iter().map(|t| {
                let mut r = target_report(group, t, TargetStatus::Skipped);
                r.error = Some(INTERRUPTED.to_owned());
                r
            }));
            groups.push(report);
            continue;
        }
        let g = Arc::new(group.clone());
        let dir = scratch.path().join(format!("g{gi}"));
        let task_opts = Arc::clone(&shared);
        let results = pool.map(0..group.targets.len(), move |i| {
            cancel_target(&task_opts, &g, i, &dir.join(format!("t{i}")))
        });
        match results {
            Ok(rs) => targets.extend(rs.into_iter().enumerate().map(|(i, r)| {
                r.unwrap_or_else(|e| {
                    let (status, why) = match e {
                        TaskError::Cancelled => (TargetStatus::Skipped, INTERRUPTED.to_owned()),
                        other => (TargetStatus::Failed, format!("internal error: {other}")),
                    };
                    let mut r = target_report(group, &group.targets[i], status);
                    r.error = Some(why);
                    r
                })
            })),
            Err(e) => {
                report.status = GroupStatus::Failed;
                report.error = Some(format!("worker pool: {e}"));
                targets.extend(group.targets.iter().map(|t| {
                    let mut r = target_report(group, t, TargetStatus::Skipped);
                    r.error = Some(format!("worker pool: {e}"));
                    r
                }));
            }
        }
        groups.push(report);
    }
    Ok(RunReport {
        targets,
        groups,
        elapsed_ms: started.elapsed().as_millis() as u64,
        dry_run: opts.dry_run,
        interrupted: opts.cancel.is_cancelled(),
    })
}

/// One target, start to end. Never fails: an error is the report's.
fn cancel_target(opts: &CancelOptions, group: &GroupPlan, i: usize, dir: &Path) -> TargetReport {
    let started = Instant::now();
    let target = &group.targets[i];
    let mut r = target_report(group, target, TargetStatus::Failed);
    let mut git = None;
    let result = (|| {
        let forge = opts.forges.for_repo(&target.repo)?;
        let remote = forge.git_remote(&target.repo)?;
        let g = git.insert(
            remote
                .config
                .iter()
                .fold(Git::new().with_timeout(opts.git_timeout), |g, (k, v)| {
                    g.with_config(k, v)
                }),
        );
        let cx = Target {
            opts,
            group,
            target,
            forge: &*forge,
            git: g,
            url: &remote.url,
            dir,
        };
        cx.run(&mut r)
    })();
    if let Err(e) = result {
        r.status = TargetStatus::Failed;
        let msg = format!("{e:#}");
        r.error = Some(
            opts.forges
                .for_repo(&target.repo)
                .ok()
                .and_then(|f| f.explain_failure(&target.repo, &msg))
                .unwrap_or(msg),
        );
    }
    if let Some(e) = &mut r.error {
        *e = broadcast_redact::redact(e).into_owned();
    }
    r.git_spawns = git.map_or(0, |g| g.spawn_count());
    r.elapsed_ms = started.elapsed().as_millis() as u64;
    let _ = std::fs::remove_dir_all(dir);
    r
}

/// What one target's steps share.
struct Target<'a> {
    opts: &'a CancelOptions,
    group: &'a GroupPlan,
    target: &'a TargetPlan,
    forge: &'a dyn Forge,
    git: &'a Git,
    url: &'a str,
    dir: &'a Path,
}

impl Target<'_> {
    fn run(&self, r: &mut TargetReport) -> anyhow::Result<()> {
        let (target, group) = (self.target, self.group);
        if let RepoRef::Local { path } = &target.repo
            && !path.exists()
        {
            anyhow::bail!("{}.repo: no repository at {}", target.field, path.display());
        }
        let sync_ref = format!("refs/heads/{}", group.sync_branch);
        let base_ref = target
            .base_branch
            .as_ref()
            .map(|b| format!("refs/heads/{b}"));
        let mut patterns = vec![sync_ref.as_str()];
        patterns.extend(base_ref.as_deref());
        let (head, refs) = self
            .git
            .ls_remote_with_head(self.url, &patterns)
            .with_context(|| format!("cannot read {}", target.display))?;
        let find = |name: &str| refs.iter().find(|x| x.name == name).map(|x| x.oid);
        let (base_branch, base_oid) = match &base_ref {
            Some(b) => (target.base_branch.clone(), find(b)),
            None => (head, find("HEAD")),
        };
        r.base = base_branch.clone();
        let Some(tip) = find(&sync_ref) else {
            r.status = TargetStatus::NothingToDo;
            return Ok(());
        };
        r.branch = Some(group.sync_branch.clone());
        r.commit = Some(tip.to_string());
        r.foreign_commits = self
            .foreign_commits(base_branch.as_deref(), base_oid, tip)
            .with_context(|| format!("cannot inspect sync branch {}", group.sync_branch))?;
        let pr = if self.forge.has_pull_requests() && r.foreign_commits.is_empty() {
            self.forge
                .find_pull_request(&target.repo, &group.sync_branch)?
        } else {
            None
        };
        let facts = Facts {
            branch: true,
            pull_request: pr.as_ref().map(|p| p.number),
            foreign_commits: r.foreign_commits.len(),
            delete_branch: self.opts.delete_branch,
        };
        let decision = decide::decide(&facts);
        let (status, branch_action) = decide::planned(&facts, &decision, self.opts.dry_run);
        r.status = status;
        r.branch_action = branch_action;
        r.pull_request = pr.map(|p| PullRequestReport {
            number: p.number,
            url: p.url,
            action: PullRequestAction::Open,
            created_at: p.created_at,
        });
        if decision.blocked {
            r.error = Some(blocked_message(&group.sync_branch, &r.foreign_commits));
            return Ok(());
        }
        if self.opts.dry_run {
            return Ok(());
        }
        self.write(r, &decision, tip)
    }

    /// The writes of `decision`: comment and close, then delete the branch if it is still at
    /// `tip`.
    fn write(
        &self,
        r: &mut TargetReport,
        decision: &Decision,
        tip: ObjectId,
    ) -> anyhow::Result<()> {
        let (target, group) = (self.target, self.group);
        if let Some(number) = decision.close {
            let comment = self
                .opts
                .comment
                .clone()
                .unwrap_or_else(|| default_comment(group, decision.delete));
            self.forge
                .close_pull_request(&target.repo, number, &comment)
                .with_context(|| format!("cannot close pull request #{number}"))?;
            if let Some(pr) = &mut r.pull_request {
                pr.action = PullRequestAction::Closed;
            }
        }
        if decision.delete {
            match self
                .forge
                .delete_branch(&target.repo, &group.sync_branch, tip)
                .with_context(|| format!("cannot delete branch {}", group.sync_branch))?
            {
                BranchDeletion::Deleted | BranchDeletion::AlreadyGone => {
                    r.branch_action = Some(BranchAction::Deleted);
                }
                BranchDeletion::Moved { tip: now } => {
                    r.status = TargetStatus::Blocked;
                    r.branch_action = Some(BranchAction::Kept);
                    r.error = Some(format!(
                        "sync branch {} moved from {} to {} while this run looked at it (someone pushed); it was left alone: re-run to check the new commits",
                        group.sync_branch,
                        &tip.to_string()[..7],
                        &now[..now.len().min(7)]
                    ));
                }
            }
        }
        Ok(())
    }

    /// The commits of `base..tip` broadcast did not write: read in place for a local target,
    /// after a blob-less fetch of the two branches into a scratch repository for a remote one.
    fn foreign_commits(
        &self,
        base_branch: Option<&str>,
        base_oid: Option<ObjectId>,
        tip: ObjectId,
    ) -> anyhow::Result<Vec<crate::report::ForeignCommit>> {
        let group = self.group;
        let sync_refspec = format!("+refs/heads/{}:refs/remotes/sync", group.sync_branch);
        let (reader, remote): (Repo, _) = match &self.target.repo {
            RepoRef::Local { path } => (self.git.open(&crate::repo::local_git_dir(path)), None),
            RepoRef::GitHub { .. } => {
                std::fs::create_dir_all(self.dir)
                    .with_context(|| format!("cannot create {}", self.dir.display()))?;
                let scratch = self
                    .git
                    .create_bare(&PathBuf::from(self.dir).join("target.git"))?;
                let mut refspecs = vec![sync_refspec.clone()];
                if let (Some(b), Some(_)) = (base_branch, base_oid) {
                    refspecs.push(format!("+refs/heads/{b}:refs/remotes/base"));
                }
                scratch.fetch(
                    self.url,
                    &refspecs,
                    &FetchOptions {
                        depth: Some(1),
                        filter: Some("blob:none".to_owned()),
                        no_tags: true,
                        shallow_exclude: None,
                    },
                )?;
                let history = ownership::RemoteHistory {
                    url: self.url,
                    base_branch: base_branch.filter(|_| base_oid.is_some()),
                    sync_refspec,
                };
                (scratch, Some(history))
            }
        };
        let tip_commit = reader.read_commit(&tip.to_string()).ok();
        ownership::inspect_sync_branch(
            &reader,
            &group.id,
            base_oid,
            tip,
            tip_commit.as_ref(),
            remote,
        )
    }
}

/// Why a target was left alone: the foreign commits, and what a person can do.
fn blocked_message(branch: &str, foreign: &[crate::report::ForeignCommit]) -> String {
    let list: Vec<String> = foreign
        .iter()
        .map(|c| format!("{} ({})", c.describe(), c.reason))
        .collect();
    format!(
        "sync branch {branch} has {} commit(s) broadcast did not write: {}. The branch and its pull request were left alone; close or delete them by hand once that work is safe",
        foreign.len(),
        list.join("; ")
    )
}
