//! Per-group and per-target sync orchestration over `git-batch` and `transform`.
//!
//! One group: the source is read once ([`source`]); then every target runs on its own, in
//! parallel, isolated from the others, in two phases:
//! - read ([`target`]): the target's refs (`ls-remote`) and base tree, the desired state
//!   ([`desired`], pure), the comparison ([`compare`], pure);
//! - write ([`write`]), only when something differs: one commit with `fast-import` in a scratch
//!   repository whose alternates are the source's and the target's object stores, a push of the
//!   sync branch with a lease, and the pull request ([`pull_request`]).
//!
//! Between the phases every forge's [`preflight`](crate::forge::Forge::preflight) may refuse the
//! group's writes. Each target's [`TargetReport`] is built once, from both phases' results.

mod blob_stream;
mod compare;
pub(crate) mod desired;
mod in_place;
mod local_refs;
mod pull_request;
mod source;
mod target;
mod write;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use broadcast_git_batch::Git;
use broadcast_worker::{CancelToken, TaskError, WorkerPool};

pub use crate::forge::Forges;
use crate::plan::{GroupPlan, Plan, TargetPlan};
pub use crate::report::{
    ChangeKind, FileChange, GroupReport, GroupStatus, INTERRUPTED, PullRequestReport, RunReport,
    TargetReport, TargetStatus,
};
use source::SourceSnapshot;
use target::{ReadOutcome, TargetCtx};

/// Knobs of one run.
#[derive(Clone, Debug)]
pub struct SyncOptions {
    /// Compute and report, write nothing anywhere.
    pub dry_run: bool,
    /// With `dry_run`: include a unified diff per changed text file.
    pub diff: bool,
    /// Replace the sync branch even when it holds commits broadcast did not write (they are
    /// dropped and listed in [`TargetReport::foreign_commits`]); without it such a target is
    /// [`TargetStatus::Blocked`].
    pub force: bool,
    /// Targets processed at once; clamped to 1 ..= the largest group's target count.
    pub jobs: usize,
    /// Timeout of each git process.
    pub git_timeout: Duration,
    /// The forges repositories are served by (the local forge is always there).
    pub forges: Forges,
    /// Commit author and committer; `None` = from the environment / git config.
    pub identity: Option<Identity>,
    /// Status mode (with `dry_run`): also look up the open pull request of each existing sync
    /// branch, and whether the repository is archived (one REST read each, forges with pull
    /// requests only).
    pub status: bool,
    /// Cancelled when the run is interrupted (Ctrl-C): no new target or group starts, targets
    /// in progress finish (a push is never cut short), and the ones not started are reported
    /// [`TargetStatus::Skipped`] with [`INTERRUPTED`].
    pub cancel: CancelToken,
    /// With `diff`: how much one file's diff may cost before a note replaces it.
    pub diff_budget: crate::diff::DiffBudget,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            diff: false,
            force: false,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            git_timeout: Duration::from_secs(600),
            forges: Forges::default(),
            identity: None,
            status: false,
            cancel: CancelToken::new(),
            diff_budget: crate::diff::DiffBudget::default(),
        }
    }
}

/// A commit author or committer: name and email (git's `user.name` / `user.email`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// Name.
    pub name: String,
    /// Email address.
    pub email: String,
}

/// What every group and target of a run shares.
pub(crate) struct Engine {
    pub opts: SyncOptions,
    /// The commit identity: the configured one, else resolved at the first write
    /// ([`Engine::identity`]), so a run that writes nothing spawns no `git config`.
    identity: std::sync::OnceLock<Identity>,
    /// Receive-side git configuration set outside the local targets, read once.
    pub outside_receive_config: in_place::OutsideReceiveConfig,
}

impl Engine {
    /// The run's commit identity; the first call without a configured one resolves it from
    /// the environment and git's config (one `git config` spawn, once per run).
    pub(crate) fn identity(&self) -> &Identity {
        self.identity.get_or_init(resolve_identity)
    }

    /// A git runner with the run's timeout and `config` (a forge's auth header, say).
    pub(crate) fn git(&self, config: &[(String, String)]) -> Git {
        let mut git = Git::new().with_timeout(self.opts.git_timeout);
        for (k, v) in config {
            git = git.with_config(k, v);
        }
        git
    }
}

/// Runs a plan. Groups run one after another; a group whose dependency failed is skipped.
///
/// Errors only when the run cannot start (no scratch directory, no worker threads); everything
/// that goes wrong with a group or a target is in the report.
pub fn run(plan: &Plan, opts: &SyncOptions) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    // Owned by this run (a lock file); what killed runs left behind is removed first.
    let scratch = crate::scratch::ScratchDir::create()?;
    let engine = Arc::new(Engine {
        identity: opts.identity.clone().map(Into::into).unwrap_or_default(),
        opts: opts.clone(),
        outside_receive_config: Default::default(),
    });
    // No more threads than the largest group has targets: every thread is an OS thread with
    // its own stack, and `--jobs 100000` must not try to start 100000 of them.
    let most_targets = plan.groups.iter().map(|g| g.targets.len()).max();
    let jobs = opts.jobs.min(most_targets.unwrap_or(1)).max(1);
    let pool = WorkerPool::with_cancel_token(jobs, jobs * 2, opts.cancel.clone())
        .context("cannot start the worker threads")?;
    let mut targets = Vec::new();
    let mut groups = Vec::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    crate::observe::plan(plan);
    for (gi, group) in plan.groups.iter().enumerate() {
        let interrupted = opts.cancel.is_cancelled().then(|| INTERRUPTED.to_owned());
        let dependency = group
            .depends_on
            .iter()
            .find(|d| failed.contains(*d))
            .map(|dep| format!("dependency group '{dep}' did not succeed"));
        let (report, target_reports) = if let Some(why) = interrupted.or(dependency) {
            skipped_group(group, why)
        } else {
            let dir = scratch.path().join(format!("g{gi}"));
            run_group(group, &engine, &dir, &pool)
        };
        if report.status != GroupStatus::Ok || target_reports.iter().any(|t| t.status.is_failure())
        {
            failed.insert(group.id.clone());
        }
        groups.push(report);
        targets.extend(target_reports);
    }
    Ok(RunReport {
        targets,
        groups,
        elapsed_ms: started.elapsed().as_millis() as u64,
        dry_run: opts.dry_run,
        interrupted: opts.cancel.is_cancelled(),
    })
}

/// A report row for target `t` of `group`, with `status` and nothing else filled in yet.
pub(crate) fn target_report(
    group: &GroupPlan,
    t: &TargetPlan,
    status: TargetStatus,
) -> TargetReport {
    TargetReport::new(&group.id, &t.display, t.repo.to_string(), status)
}

fn group_report(group: &GroupPlan, status: GroupStatus, error: Option<String>) -> GroupReport {
    GroupReport {
        id: group.id.clone(),
        source: group.source_display.clone(),
        source_commit: None,
        git_spawns: 0,
        status,
        error,
    }
}

/// Every target of `group` skipped (or failed) with `why`.
fn every_target(group: &GroupPlan, status: TargetStatus, why: &str) -> Vec<TargetReport> {
    group
        .targets
        .iter()
        .map(|t| {
            let mut r = target_report(group, t, status);
            r.error = Some(why.to_owned());
            r
        })
        .collect()
}

fn skipped_group(group: &GroupPlan, why: String) -> (GroupReport, Vec<TargetReport>) {
    let targets = every_target(group, TargetStatus::Skipped, &why);
    crate::observe::group_started(&group.id, targets.len());
    targets.iter().for_each(crate::observe::decision);
    (
        group_report(group, GroupStatus::Skipped, Some(why)),
        targets,
    )
}

fn failed_group(group: &GroupPlan, why: String) -> (GroupReport, Vec<TargetReport>) {
    let targets = every_target(group, TargetStatus::Failed, &format!("source: {why}"));
    targets.iter().for_each(crate::observe::decision);
    (group_report(group, GroupStatus::Failed, Some(why)), targets)
}

/// Everything the tasks of one group share.
pub(crate) struct GroupRun {
    pub engine: Arc<Engine>,
    pub group: GroupPlan,
    pub source: SourceSnapshot,
    pub dir: PathBuf,
    /// The `group` span; each target's span is its child.
    pub span: tracing::Span,
}

impl GroupRun {
    /// The context of target `i`.
    fn target(&self, i: usize) -> TargetCtx<'_> {
        TargetCtx {
            engine: &self.engine,
            group: &self.group,
            target: &self.group.targets[i],
            source: &self.source,
            dir: self.dir.join(format!("t{i}")),
            span: tracing::info_span!(parent: &self.span, "target", repo = %self.group.targets[i].display),
        }
    }
}

fn run_group(
    group: &GroupPlan,
    engine: &Arc<Engine>,
    dir: &Path,
    pool: &WorkerPool,
) -> (GroupReport, Vec<TargetReport>) {
    let span = tracing::info_span!("group", id = %group.id);
    let _entered = span.enter();
    crate::observe::group_started(&group.id, group.targets.len());
    if let Err(e) = std::fs::create_dir_all(dir) {
        return failed_group(group, format!("cannot create {}: {e}", dir.display()));
    }
    let source_phase = crate::observe::phase(&group.id, "source");
    let source = source::read_source(group, engine, dir);
    drop(source_phase);
    let source = match source {
        Ok(s) => s,
        Err(e) => {
            let msg = format!("{e:#}");
            let msg = engine
                .opts
                .forges
                .for_repo(&group.source)
                .ok()
                .and_then(|f| f.explain_failure(&group.source, &msg))
                .unwrap_or(msg);
            return failed_group(group, msg);
        }
    };
    let mut report = group_report(group, GroupStatus::Ok, None);
    report.source_commit = Some(source.tree.commit.to_string());
    report.git_spawns = source.git_spawns;
    let run = Arc::new(GroupRun {
        engine: Arc::clone(engine),
        group: group.clone(),
        source,
        dir: dir.to_path_buf(),
        span: span.clone(),
    });
    let n = group.targets.len();

    // Read phase: every target, in parallel.
    let task_run = Arc::clone(&run);
    let read_phase = crate::observe::phase(&group.id, "read");
    let read = pool.map(0..n, move |i| target::read(&task_run.target(i)));
    drop(read_phase);
    // Targets whose task never ran: the run was interrupted first.
    let mut not_started = vec![false; n];
    let read: Vec<Option<ReadOutcome>> = match read {
        Ok(results) => results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                not_started[i] = matches!(r, Err(TaskError::Cancelled));
                r.ok()
            })
            .collect(),
        Err(e) => return failed_group(group, format!("worker pool: {e}")),
    };
    let cancel = &engine.opts.cancel;

    // Between the phases: each forge may refuse the group's writes.
    let refused = if cancel.is_cancelled() {
        None
    } else {
        let _phase = crate::observe::phase(&group.id, "preflight");
        preflight(&run, &read)
    };
    if let Some(why) = &refused {
        report.status = GroupStatus::Failed;
        report.error = Some(why.clone());
    }

    // Write phase.
    let write_phase_guard = crate::observe::phase(&group.id, "write");
    let finished = write_phase(&run, pool, read, refused, &mut not_started);
    drop(write_phase_guard);
    let targets = finished
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                let ctx = run.target(i);
                let _ = std::fs::remove_dir_all(&ctx.dir);
                let r = if not_started[i] {
                    let mut r = target_report(group, ctx.target, TargetStatus::Skipped);
                    r.error = Some(INTERRUPTED.to_owned());
                    r
                } else {
                    let mut r = target_report(group, ctx.target, TargetStatus::Failed);
                    r.error =
                        Some("internal error: the target's task panicked (see stderr)".to_owned());
                    r
                };
                crate::observe::decision(&r);
                r
            })
        })
        .collect();
    (report, targets)
}

/// The write phase of a group's targets (each target's report); none writes when the run was
/// interrupted. Targets whose task was cancelled before it started are marked in `not_started`.
fn write_phase(
    run: &Arc<GroupRun>,
    pool: &WorkerPool,
    read: Vec<Option<ReadOutcome>>,
    refused: Option<String>,
    not_started: &mut [bool],
) -> Vec<Option<TargetReport>> {
    let n = read.len();
    let items: Vec<(usize, Option<ReadOutcome>)> = read.into_iter().enumerate().collect();
    if run.engine.opts.cancel.is_cancelled() {
        // Interrupted after reading: nothing is written. Finishing here (no git runs) keeps
        // what the read phase found (in sync, the changes) in the report.
        items
            .into_iter()
            .map(|(i, r)| r.map(|r| target::finish(&run.target(i), r, Some(INTERRUPTED))))
            .collect()
    } else {
        let task_run = Arc::clone(run);
        let finished = pool.map(items, move |(i, read)| {
            read.map(|r| target::finish(&task_run.target(i), r, refused.as_deref()))
        });
        match finished {
            Ok(results) => results
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    not_started[i] |= matches!(r, Err(TaskError::Cancelled));
                    r.ok().flatten()
                })
                .collect(),
            Err(_) => vec![None; n],
        }
    }
}

/// Asks every forge with pending writes whether the group may write; the first refusal wins.
fn preflight(run: &GroupRun, read: &[Option<ReadOutcome>]) -> Option<String> {
    for forge in run.engine.opts.forges.iter() {
        let writes: Vec<&crate::plan::PrMetadata> = read
            .iter()
            .enumerate()
            .filter_map(|(i, r)| Some((i, r.as_ref()?.pending.as_ref()?)))
            .filter(|(_, p)| p.forge.kind() == forge.kind() && p.forge.has_pull_requests())
            .map(|(i, _)| &run.group.targets[i].pr)
            .collect();
        if !writes.is_empty()
            && let Err(e) = forge.preflight_targets(&run.group.id, &writes)
        {
            return Some(format!("{e:#}"));
        }
    }
    None
}

/// The git directory of a local repository: `<path>/.git` for a work tree; the directory a
/// `.git` file names (`gitdir: <path>`, relative to the work tree when not absolute;
/// gitrepository-layout(5), as `git init --separate-git-dir` and `git worktree add` write it);
/// else the path itself (a bare repository).
pub(crate) fn local_git_dir(path: &Path) -> PathBuf {
    let dot_git = path.join(".git");
    if dot_git.is_dir() {
        return dot_git;
    }
    if let Ok(text) = std::fs::read_to_string(&dot_git)
        && let Some(dir) = text.strip_prefix("gitdir:")
    {
        let dir = Path::new(dir.trim());
        return if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            path.join(dir)
        };
    }
    path.to_path_buf()
}

/// Commit identity: `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else git's configured
/// `user.name`/`user.email`, else `broadcast <broadcast@localhost>`.
fn resolve_identity() -> Identity {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let (mut name, mut email) = (env("GIT_AUTHOR_NAME"), env("GIT_AUTHOR_EMAIL"));
    if name.is_none() || email.is_none() {
        // One process for both keys: `user.name <value>` and `user.email <value>` lines.
        let out = std::process::Command::new("git")
            .args(["config", "--get-regexp", r"^user\.(name|email)$"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for line in out.lines() {
            match line.split_once(' ') {
                Some(("user.name", v)) if name.is_none() && !v.trim().is_empty() => {
                    name = Some(v.trim().to_owned());
                }
                Some(("user.email", v)) if email.is_none() && !v.trim().is_empty() => {
                    email = Some(v.trim().to_owned());
                }
                _ => {}
            }
        }
    }
    Identity {
        name: name.unwrap_or_else(|| "broadcast".to_owned()),
        email: email.unwrap_or_else(|| "broadcast@localhost".to_owned()),
    }
}

#[cfg(test)]
mod test_git;
