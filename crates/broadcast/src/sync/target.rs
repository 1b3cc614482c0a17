//! One target: the read phase (refs, base tree, desired state, comparison; writes nothing) and
//! the report built from its results and the write phase's.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use broadcast_git_batch::{FetchOptions, Git, ObjectId, Repo, TreeChange, TreeEntry};
use broadcast_transform::RepoSlug;

use super::compare::{compare, result_tree};
use super::desired::{DesiredState, desired_state};
use super::source::SourceSnapshot;
use super::write::{Pending, WriteOutcome};
use super::{Engine, local_git_dir};
use crate::forge::Forge;
use crate::ownership;
use crate::plan::{GroupPlan, TargetPlan};
use crate::repo::RepoRef;
use crate::report::{
    ChangeKind, FileChange, ForeignCommit, PullRequestAction, PullRequestReport, TargetReport,
    TargetStatus,
};

/// Everything one target's phases need.
pub(crate) struct TargetCtx<'a> {
    pub engine: &'a Engine,
    pub group: &'a GroupPlan,
    pub target: &'a TargetPlan,
    pub source: &'a SourceSnapshot,
    /// Scratch directory of this target (removed when it is done).
    pub dir: PathBuf,
    /// The `target` span (a child of the group's).
    pub span: tracing::Span,
}

/// What the read phase found, for the report.
#[derive(Debug)]
pub(crate) struct Findings {
    pub status: TargetStatus,
    pub base: Option<String>,
    pub branch: Option<String>,
    pub commit: Option<String>,
    pub pull_request: Option<PullRequestReport>,
    pub warnings: Vec<String>,
    pub changes: Vec<FileChange>,
    pub error: Option<String>,
    pub foreign_commits: Vec<ForeignCommit>,
}

impl Findings {
    fn new() -> Self {
        Findings {
            status: TargetStatus::Failed,
            base: None,
            branch: None,
            commit: None,
            pull_request: None,
            warnings: Vec::new(),
            changes: Vec::new(),
            error: None,
            foreign_commits: Vec::new(),
        }
    }
}

/// A target between the read and the write phase.
pub(crate) struct ReadOutcome {
    pub findings: Findings,
    pub started: Instant,
    pub git: Option<Git>,
    /// What the write phase has to do, if anything.
    pub pending: Option<Pending>,
}

/// Read phase of one target. Never fails: an error is a finding.
pub(crate) fn read(ctx: &TargetCtx<'_>) -> ReadOutcome {
    let _span = ctx.span.enter();
    let _timed = crate::observe::timed(&ctx.group.id, "target_read");
    let started = Instant::now();
    let mut findings = Findings::new();
    let mut git = None;
    let result = (|| {
        let forge = ctx.engine.opts.forges.for_repo(&ctx.target.repo)?;
        let remote = forge.git_remote(&ctx.target.repo)?;
        let g = git.insert(ctx.engine.git(&remote.config));
        read_target(ctx, &mut findings, forge, &remote.url, g)
    })();
    let pending = result.unwrap_or_else(|e| {
        findings.status = TargetStatus::Failed;
        findings.error = Some(format!("{e:#}"));
        None
    });
    ReadOutcome {
        findings,
        started,
        git,
        pending,
    }
}

/// Write phase (when the read phase left work) and the target's report.
pub(crate) fn finish(
    ctx: &TargetCtx<'_>,
    read: ReadOutcome,
    refused: Option<&str>,
) -> TargetReport {
    let _span = ctx.span.enter();
    let r = finish_target(ctx, read, refused);
    crate::observe::decision(&r);
    r
}

fn finish_target(ctx: &TargetCtx<'_>, read: ReadOutcome, refused: Option<&str>) -> TargetReport {
    let ReadOutcome {
        findings: f,
        started,
        git,
        pending,
    } = read;
    let mut r = TargetReport::new(
        &ctx.group.id,
        &ctx.target.display,
        ctx.target.repo.to_string(),
        f.status,
    );
    r.base = f.base;
    r.branch = f.branch;
    r.commit = f.commit;
    r.pull_request = f.pull_request;
    r.warnings = f.warnings;
    r.error = f.error;
    r.foreign_commits = f.foreign_commits;
    r.set_changes(f.changes);
    if let (Some(p), Some(git)) = (pending, &git) {
        match refused {
            Some(why) => {
                r.status = TargetStatus::Skipped;
                r.error = Some(why.to_owned());
            }
            None => match write_timed(ctx, git, p, &r.changes) {
                Ok(WriteOutcome {
                    status,
                    commit,
                    pull_request,
                    error,
                }) => {
                    if status == TargetStatus::Synced && !r.foreign_commits.is_empty() {
                        r.warnings
                            .push(ownership::dropped_message(&r.foreign_commits, false));
                    }
                    r.status = status;
                    r.commit = commit.or(r.commit);
                    r.pull_request = pull_request.or(r.pull_request);
                    r.error = error;
                }
                Err(e) => {
                    r.status = TargetStatus::Failed;
                    r.error = Some(format!("{e:#}"));
                }
            },
        }
    }
    r.git_spawns = git.map_or(0, |g| g.spawn_count());
    r.elapsed_ms = started.elapsed().as_millis() as u64;
    if let Some(e) = &mut r.error
        && let Some(why) = ctx
            .engine
            .opts
            .forges
            .for_repo(&ctx.target.repo)
            .ok()
            .and_then(|f| f.explain_failure(&ctx.target.repo, e))
    {
        *e = why;
    }
    if let Some(e) = &mut r.error {
        *e = broadcast_redact::redact(e).into_owned();
    }
    // Scratch repositories are not needed once the target is done.
    let _ = std::fs::remove_dir_all(&ctx.dir);
    r
}

/// The write phase of one target, timed as `target_write`.
fn write_timed(
    ctx: &TargetCtx<'_>,
    git: &Git,
    pending: Pending,
    changes: &[FileChange],
) -> anyhow::Result<WriteOutcome> {
    let _timed = crate::observe::timed(&ctx.group.id, "target_write");
    super::write::write(ctx, git, pending, changes)
}

/// The target's refs: its base branch (configured or default) and the sync branch.
struct Refs {
    base_branch: Option<String>,
    base_oid: Option<ObjectId>,
    sync_oid: Option<ObjectId>,
}

/// HEAD (the default branch), the sync branch, and the configured base branch: from a local
/// target's files when they say it plainly ([`super::local_refs`]), else one `ls-remote`
/// round trip.
fn read_refs(ctx: &TargetCtx<'_>, git: &Git, url: &str) -> anyhow::Result<Refs> {
    let target = ctx.target;
    let sync_ref = format!("refs/heads/{}", ctx.group.sync_branch);
    let mut patterns = vec![sync_ref.as_str()];
    let configured_base = target
        .base_branch
        .as_ref()
        .map(|b| format!("refs/heads/{b}"));
    if let Some(b) = &configured_base {
        patterns.push(b);
    }
    let local = match &target.repo {
        RepoRef::Local { path } => super::local_refs::read(&local_git_dir(path), &patterns),
        RepoRef::GitHub { .. } => None,
    };
    let (head, refs): (Option<String>, Vec<(String, ObjectId)>) = match local {
        Some(l) => {
            let mut refs = l.refs;
            refs.push(("HEAD".to_owned(), l.head_oid));
            (Some(l.head_branch), refs)
        }
        None => {
            let (head, refs) = git
                .ls_remote_with_head(url, &patterns)
                .with_context(|| format!("cannot read {}", target.display))?;
            (head, refs.into_iter().map(|r| (r.name, r.oid)).collect())
        }
    };
    let find = |name: &str| refs.iter().find(|r| r.0 == name).map(|r| r.1);
    let (base_branch, base_oid) = match (&target.base_branch, &configured_base) {
        (Some(b), Some(r)) => {
            let oid = find(r);
            if oid.is_none() {
                bail!(
                    "{}.branch: branch '{b}' not found in {}",
                    target.field,
                    target.display
                );
            }
            (Some(b.clone()), oid)
        }
        // The default branch; no id when the repository is empty (unborn HEAD).
        _ => (head, find("HEAD")),
    };
    if base_branch.as_deref() == Some(ctx.group.sync_branch.as_str()) {
        // `validate` rejects a configured base equal to the sync branch; this is the default
        // branch of the repository.
        bail!(
            "{}: the default branch '{}' is the group's sync branch; sync commits would stack on the base itself (set {}.branch or change the group's branch_prefix or id)",
            target.display,
            ctx.group.sync_branch,
            target.field
        );
    }
    Ok(Refs {
        base_branch,
        base_oid,
        sync_oid: find(&sync_ref),
    })
}

/// The repository the target's objects are read from: the target itself when local, else a
/// scratch repository with the base and sync branches fetched without blobs.
fn open_reader(
    ctx: &TargetCtx<'_>,
    git: &Git,
    url: &str,
    refs: &Refs,
) -> anyhow::Result<(Repo, Option<Repo>)> {
    match &ctx.target.repo {
        RepoRef::Local { path } => Ok((git.open(&local_git_dir(path)), None)),
        RepoRef::GitHub { .. } => {
            let scratch = git.create_bare(&ctx.dir.join("target.git"))?;
            let mut refspecs = Vec::new();
            if let Some(b) = &refs.base_branch
                && refs.base_oid.is_some()
            {
                refspecs.push(format!("+refs/heads/{b}:refs/remotes/base"));
            }
            if refs.sync_oid.is_some() {
                refspecs.push(format!(
                    "+refs/heads/{}:refs/remotes/sync",
                    ctx.group.sync_branch
                ));
            }
            if !refspecs.is_empty() {
                scratch.fetch(
                    url,
                    &refspecs,
                    &FetchOptions {
                        depth: Some(1),
                        filter: Some("blob:none".to_owned()),
                        no_tags: true,
                        shallow_exclude: None,
                    },
                )?;
            }
            Ok((scratch.clone(), Some(scratch)))
        }
    }
}

/// Status mode: the archived flag and the open pull request of the sync branch. `false` when
/// the target is archived (nothing more to look at).
fn read_status(
    ctx: &TargetCtx<'_>,
    f: &mut Findings,
    forge: &dyn Forge,
    refs: &Refs,
) -> anyhow::Result<bool> {
    if forge.repository(&ctx.target.repo)?.archived {
        f.status = TargetStatus::Skipped;
        f.error = Some(format!("{} is archived", ctx.target.display));
        return Ok(false);
    }
    if refs.sync_oid.is_some()
        && let Some(pr) = forge.find_pull_request(&ctx.target.repo, &ctx.group.sync_branch)?
    {
        f.pull_request = Some(PullRequestReport {
            number: pr.number,
            url: pr.url,
            action: PullRequestAction::Open,
            created_at: pr.created_at,
        });
    }
    Ok(true)
}

/// Read phase of one target: refs, base tree, desired state, comparison. Writes nothing.
fn read_target(
    ctx: &TargetCtx<'_>,
    f: &mut Findings,
    forge: Arc<dyn Forge>,
    url: &str,
    git: &Git,
) -> anyhow::Result<Option<Pending>> {
    let (target, opts) = (ctx.target, &ctx.engine.opts);
    if let RepoRef::Local { path } = &target.repo
        && !path.exists()
    {
        bail!(
            "{}.repo: no repository at {} (relative paths resolve against the config file's directory)",
            target.field,
            path.display()
        );
    }
    let refs = read_refs(ctx, git, url)?;
    f.base = refs.base_branch.clone();
    if opts.status && forge.has_pull_requests() && !read_status(ctx, f, &*forge, &refs)? {
        return Ok(None);
    }
    let (reader, scratch) = open_reader(ctx, git, url, &refs)?;
    // The source's reader lists the base tree and, below, reads the sync branch's commit when
    // it sees this target's objects; else one cat-file process of the target's own does.
    let shared = &ctx.source.targets_reader;
    let mut cat = None;
    let base: BTreeMap<String, TreeEntry> = match refs.base_oid {
        Some(oid) => match shared.read(
            &target.repo,
            |c| c.ls_tree_recursive_objects(oid),
            |(_, read)| read.clone(),
        ) {
            Some((entries, _)) => entries,
            None => cat
                .insert(reader.cat_file()?)
                .ls_tree_recursive(oid)
                .with_context(|| format!("cannot list the tree of {oid}"))?,
        }
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect(),
        None => BTreeMap::new(),
    };
    let (owner, name) = target.repo.slug();
    let mut desired = desired_state(
        &target.mappings,
        &ctx.source.tree,
        &base,
        &RepoSlug { owner, name },
    )?;
    f.warnings = std::mem::take(&mut desired.warnings);
    f.warnings.extend(target.warnings.iter().cloned());
    let comparison = compare(&desired, &base, &ctx.source.tree.sizes);
    if comparison.is_empty() {
        f.status = TargetStatus::InSync;
        return Ok(None);
    }
    f.changes = comparison.file_changes;
    f.branch = Some(ctx.group.sync_branch.clone());
    if opts.dry_run {
        fill_old_sizes_and_diffs(ctx, &mut f.changes, &reader, &base, &desired);
    }
    let pending = |changes: Vec<TreeChange>,
                   up_to_date: Option<ObjectId>,
                   present: HashSet<ObjectId>| Pending {
        forge: Arc::clone(&forge),
        url: url.to_owned(),
        reader: reader.clone(),
        scratch: scratch.clone(),
        base_branch: refs.base_branch.clone(),
        base_oid: refs.base_oid,
        sync_oid: refs.sync_oid,
        changes,
        up_to_date,
        present,
    };
    // Is the sync branch already exactly this (same base, same tree)?
    let tip = match refs.sync_oid {
        Some(sync) => match shared.read(&target.repo, |c| c.read_commit(sync), |_| vec![sync]) {
            Some(commit) => Some(commit),
            None => {
                let cat = match cat.as_mut() {
                    Some(c) => c,
                    None => cat.insert(reader.cat_file()?),
                };
                cat.read_commit(sync).ok()
            }
        },
        None => None,
    };
    if let (Some(sync), Some(commit)) = (refs.sync_oid, &tip)
        && commit.parents.first().copied() == refs.base_oid
        && commit.tree == result_tree(&desired, &base)?
    {
        f.status = TargetStatus::UpToDate;
        f.commit = Some(sync.to_string());
        if !opts.dry_run && forge.has_pull_requests() {
            // The pull request may still need opening or updating.
            return Ok(Some(pending(Vec::new(), Some(sync), HashSet::new())));
        }
        return Ok(None);
    }
    // The push replaces the sync branch: is anything on it someone else's work?
    if let Some(sync) = refs.sync_oid
        && !check_ownership(
            ctx,
            f,
            &reader,
            url,
            &refs,
            sync,
            tip.as_ref(),
            scratch.is_some(),
        )?
    {
        return Ok(None);
    }
    f.status = TargetStatus::WouldSync;
    if opts.dry_run {
        return Ok(None);
    }
    // What an in-place write need not carry: blobs the target's refs already reach.
    let present = match (&ctx.target.repo, &tip) {
        (RepoRef::Local { .. }, tip) => known_blobs(ctx, &mut cat, &reader, &base, tip.as_ref()),
        _ => HashSet::new(),
    };
    Ok(Some(pending(comparison.tree_changes, None, present)))
}

/// Blob ids a local target holds for sure: the blob entries of its base tree (`base`) and of
/// its sync branch's tree (`tip`, listed through the source's shared reader when it sees the
/// target's objects, else the read phase's own `cat-file`). A tree that cannot be listed adds
/// nothing: carrying a blob the target holds costs bytes, never correctness.
fn known_blobs(
    ctx: &TargetCtx<'_>,
    cat: &mut Option<broadcast_git_batch::CatFile>,
    reader: &Repo,
    base: &BTreeMap<String, TreeEntry>,
    tip: Option<&broadcast_git_batch::Commit>,
) -> HashSet<ObjectId> {
    let is_blob = |e: &TreeEntry| e.entry_mode().is_some_and(|m| m.is_blob());
    let mut known: HashSet<ObjectId> = base
        .values()
        .filter(|e| is_blob(e))
        .map(|e| e.oid)
        .collect();
    if let Some(commit) = tip {
        if let Some((entries, _)) = ctx.source.targets_reader.read(
            &ctx.target.repo,
            |c| c.ls_tree_recursive_objects(commit.tree),
            |(_, read)| read.clone(),
        ) {
            known.extend(entries.iter().filter(|e| is_blob(e)).map(|e| e.oid));
            return known;
        }
        let cat = match cat {
            Some(c) => Some(c),
            None => reader.cat_file().ok().map(|c| cat.insert(c)),
        };
        if let Some(entries) = cat.and_then(|c| c.ls_tree_recursive(commit.tree).ok()) {
            known.extend(entries.iter().filter(|e| is_blob(e)).map(|e| e.oid));
        }
    }
    known
}

/// Reads who wrote the commits on the sync branch (tip `sync`) into `f.foreign_commits`.
/// `false` when the target is blocked by them (no `--force`); with `--force` a dry run warns
/// that they would be dropped.
#[allow(clippy::too_many_arguments)]
fn check_ownership(
    ctx: &TargetCtx<'_>,
    f: &mut Findings,
    reader: &Repo,
    url: &str,
    refs: &Refs,
    sync: ObjectId,
    tip: Option<&broadcast_git_batch::Commit>,
    remote: bool,
) -> anyhow::Result<bool> {
    let opts = &ctx.engine.opts;
    let remote = remote.then(|| ownership::RemoteHistory {
        url,
        base_branch: refs
            .base_branch
            .as_deref()
            .filter(|_| refs.base_oid.is_some()),
        sync_refspec: format!("+refs/heads/{}:refs/remotes/sync", ctx.group.sync_branch),
    });
    f.foreign_commits =
        ownership::inspect_sync_branch(reader, &ctx.group.id, refs.base_oid, sync, tip, remote)
            .with_context(|| format!("cannot inspect sync branch {}", ctx.group.sync_branch))?;
    if f.foreign_commits.is_empty() {
        return Ok(true);
    }
    if !opts.force {
        f.status = TargetStatus::Blocked;
        f.error = Some(ownership::blocked_message(
            &ctx.group.sync_branch,
            &f.foreign_commits,
        ));
        return Ok(false);
    }
    if opts.dry_run {
        f.warnings
            .push(ownership::dropped_message(&f.foreign_commits, true));
    }
    Ok(true)
}

/// Dry runs: the old size of every modified or deleted file and, with `--diff`, a unified diff
/// of each text file. Old contents are read with one `cat-file` (a blob-less fetch has none:
/// sizes stay unknown).
fn fill_old_sizes_and_diffs(
    ctx: &TargetCtx<'_>,
    changes: &mut [FileChange],
    reader: &Repo,
    base: &BTreeMap<String, TreeEntry>,
    desired: &DesiredState,
) {
    let olds: Vec<ObjectId> = changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Added)
        .filter_map(|c| base.get(&c.path).map(|e| e.oid))
        .collect();
    // Sizes from `info`; contents only when a diff within its budget needs them.
    let budget = &ctx.engine.opts.diff_budget;
    let (old_sizes, old_data) = super::blob_stream::read_within(
        reader,
        &olds,
        ctx.engine.opts.diff.then_some(budget.max_bytes),
    );
    for c in changes {
        let old_oid = base.get(&c.path).map(|e| e.oid);
        c.old_bytes = old_oid.and_then(|o| old_sizes.get(&o).copied());
        if !ctx.engine.opts.diff {
            continue;
        }
        let old = old_oid.and_then(|o| old_data.get(&o));
        let new = desired.entries.get(&c.path).and_then(|d| {
            super::blob_stream::new_bytes_within(&ctx.source.tree, d, budget.max_bytes)
        });
        let largest = c.old_bytes.unwrap_or(0).max(c.new_bytes.unwrap_or(0));
        if largest > budget.max_bytes {
            c.diff_note = Some(format!(
                "diff not shown: {largest} B is over the {} B budget (--diff-max-bytes)",
                budget.max_bytes
            ));
            continue;
        }
        match crate::diff::file_diff(&c.path, old.map(|v| &v[..]), new.as_deref(), budget) {
            crate::diff::FileDiff::Text(t) => c.diff = Some(t),
            crate::diff::FileDiff::Note(n) => c.diff_note = Some(n),
        }
    }
}
