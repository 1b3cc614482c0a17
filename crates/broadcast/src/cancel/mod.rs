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
//! 5. once every target of the group is read, each forge with writes to make checks its budget
//!    ([`Forge::preflight_writes`]; GitHub: the rate-limit preflight); a refusal skips the
//!    group's writes.
//! 6. writes, paced by the forge like sync's: comment and close, then delete the branch only if
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
        let task_group = Arc::clone(&g);
        let results = pool.map(0..group.targets.len(), move |i| {
            read_target(&task_opts, &task_group, i, &dir.join(format!("t{i}")))
        });
        let read: Vec<(TargetReport, Option<Pending>)> = match results {
            Ok(rs) => rs
                .into_iter()
                .enumerate()
                .map(|(i, r)| r.unwrap_or_else(|e| (task_failed(group, i, e), None)))
                .collect(),
            Err(e) => {
                report.status = GroupStatus::Failed;
                report.error = Some(format!("worker pool: {e}"));
                targets.extend(group.targets.iter().map(|t| {
                    let mut r = target_report(group, t, TargetStatus::Skipped);
                    r.error = Some(format!("worker pool: {e}"));
                    r
                }));
                groups.push(report);
                continue;
            }
        };
        let refused = if opts.cancel.is_cancelled() {
            None
        } else {
            preflight(opts, group, &read)
        };
        if let Some(why) = &refused {
            report.status = GroupStatus::Failed;
            report.error = Some(why.clone());
        }
        targets.extend(write_phase(&pool, &shared, &g, read, refused));
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

/// The report of a target whose task did not return: skipped when the run was interrupted
/// first, failed otherwise.
fn task_failed(group: &GroupPlan, i: usize, e: TaskError) -> TargetReport {
    let (status, why) = match e {
        TaskError::Cancelled => (TargetStatus::Skipped, INTERRUPTED.to_owned()),
        other => (TargetStatus::Failed, format!("internal error: {other}")),
    };
    let mut r = target_report(group, &group.targets[i], status);
    r.error = Some(why);
    r
}

/// A target's writes, decided when it was read and made once the group's preflight passed.
#[derive(Debug, Clone, Copy)]
struct Pending {
    decision: Decision,
    /// The sync branch's tip checked for foreign commits; deleted only while it is still there.
    tip: ObjectId,
}

impl Pending {
    /// Write calls on a forge with pull requests: the comment and the close, then the delete.
    fn write_calls(&self) -> u64 {
        2 * u64::from(self.decision.close.is_some()) + u64::from(self.decision.delete)
    }
}

/// Asks every forge with pending writes in the group whether they fit its budget; the first
/// refusal wins (it refuses the group's writes, as sync's preflight does).
fn preflight(
    opts: &CancelOptions,
    group: &GroupPlan,
    read: &[(TargetReport, Option<Pending>)],
) -> Option<String> {
    for forge in opts.forges.iter() {
        let (mut targets, mut calls) = (0usize, 0u64);
        for (i, (_, pending)) in read.iter().enumerate() {
            let Some(p) = pending else { continue };
            if opts
                .forges
                .for_repo(&group.targets[i].repo)
                .is_ok_and(|f| f.kind() == forge.kind())
            {
                targets += 1;
                calls += p.write_calls();
            }
        }
        if targets > 0
            && let Err(e) = forge.preflight_writes(&group.id, targets, calls)
        {
            return Some(format!("{e:#}"));
        }
    }
    None
}

/// The write phase of one group: every pending target's writes in parallel, none when `refused`
/// or the run was interrupted (those targets are reported skipped, with the reason).
fn write_phase(
    pool: &WorkerPool,
    opts: &Arc<CancelOptions>,
    group: &Arc<GroupPlan>,
    read: Vec<(TargetReport, Option<Pending>)>,
    refused: Option<String>,
) -> Vec<TargetReport> {
    let skip = |mut r: TargetReport, why: &str| {
        r.status = TargetStatus::Skipped;
        r.error = Some(why.to_owned());
        r
    };
    let why = refused.or_else(|| opts.cancel.is_cancelled().then(|| INTERRUPTED.to_owned()));
    if let Some(why) = why {
        return read
            .into_iter()
            .map(|(r, p)| if p.is_some() { skip(r, &why) } else { r })
            .collect();
    }
    let kept: Vec<TargetReport> = read.iter().map(|(r, _)| r.clone()).collect();
    let (task_opts, task_group) = (Arc::clone(opts), Arc::clone(group));
    let items: Vec<(usize, TargetReport, Option<Pending>)> = read
        .into_iter()
        .enumerate()
        .map(|(i, (r, p))| (i, r, p))
        .collect();
    let results = pool.map(items, move |(i, r, p)| match p {
        Some(p) => write_target(&task_opts, &task_group, i, r, p),
        None => r,
    });
    match results {
        Ok(rs) => rs
            .into_iter()
            .zip(kept)
            .enumerate()
            .map(|(i, (r, before))| {
                r.unwrap_or_else(|e| match e {
                    TaskError::Cancelled => skip(before, INTERRUPTED),
                    other => task_failed(group, i, other),
                })
            })
            .collect(),
        Err(e) => kept
            .into_iter()
            .map(|r| skip(r, &format!("worker pool: {e}")))
            .collect(),
    }
}

/// The read half of one target: everything up to the decision. Never fails: an error is the
/// report's. Returns the writes to make, if any.
fn read_target(
    opts: &CancelOptions,
    group: &GroupPlan,
    i: usize,
    dir: &Path,
) -> (TargetReport, Option<Pending>) {
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
            git: g,
            forge: &*forge,
            url: &remote.url,
            dir,
        };
        cx.run(&mut r)
    })();
    let pending = result.unwrap_or_else(|e| {
        fail(opts, target, &mut r, &e);
        None
    });
    r.git_spawns = git.map_or(0, |g| g.spawn_count());
    r.elapsed_ms = started.elapsed().as_millis() as u64;
    let _ = std::fs::remove_dir_all(dir);
    (r, pending)
}

/// The write half of one target. Never fails: an error is the report's.
fn write_target(
    opts: &CancelOptions,
    group: &GroupPlan,
    i: usize,
    mut r: TargetReport,
    pending: Pending,
) -> TargetReport {
    let started = Instant::now();
    let target = &group.targets[i];
    let result = opts
        .forges
        .for_repo(&target.repo)
        .and_then(|forge| write(opts, group, target, &*forge, &mut r, &pending));
    if let Err(e) = result {
        fail(opts, target, &mut r, &e);
    }
    r.elapsed_ms += started.elapsed().as_millis() as u64;
    r
}

/// Marks `r` failed with `e`, explained by the forge when it can, redacted.
fn fail(opts: &CancelOptions, target: &TargetPlan, r: &mut TargetReport, e: &anyhow::Error) {
    r.status = TargetStatus::Failed;
    let msg = format!("{e:#}");
    let msg = opts
        .forges
        .for_repo(&target.repo)
        .ok()
        .and_then(|f| f.explain_failure(&target.repo, &msg))
        .unwrap_or(msg);
    r.error = Some(broadcast_redact::redact(&msg).into_owned());
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
    fn run(&self, r: &mut TargetReport) -> anyhow::Result<Option<Pending>> {
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
            return Ok(None);
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
            return Ok(None);
        }
        Ok((!self.opts.dry_run && !decision.is_empty()).then_some(Pending { decision, tip }))
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

/// The writes of `pending`: comment and close, then delete the branch if it is still at
/// the tip checked when the target was read.
fn write(
    opts: &CancelOptions,
    group: &GroupPlan,
    target: &TargetPlan,
    forge: &dyn Forge,
    r: &mut TargetReport,
    pending: &Pending,
) -> anyhow::Result<()> {
    let (decision, tip) = (&pending.decision, pending.tip);
    if let Some(number) = decision.close {
        let comment = opts
            .comment
            .clone()
            .unwrap_or_else(|| default_comment(group, decision.delete));
        forge
            .close_pull_request(&target.repo, number, &comment)
            .with_context(|| format!("cannot close pull request #{number}"))?;
        if let Some(pr) = &mut r.pull_request {
            pr.action = PullRequestAction::Closed;
        }
    }
    if decision.delete {
        match forge
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
