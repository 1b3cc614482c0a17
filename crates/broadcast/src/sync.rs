//! Per-group and per-target sync orchestration over `git-batch` and `transform`.
//!
//! One group: the source is read once (its tree with `ls-tree`, the mapped blobs through one
//! `cat-file --batch`); then every target runs on its own, in parallel, isolated from the others:
//! read the target's refs (`ls-remote`) and base tree, compute the desired entries (blob ids and
//! modes), compare, and only when something differs write one commit with `fast-import` (in a
//! scratch repository whose alternates are the source's and the target's object stores) and push
//! the sync branch with a lease.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use broadcast_git_batch::{
    BlobContent, CommitRequest, Git, ObjectId, PushOptions, PushRefspec, PushStatus, Repo,
    Signature, TreeChange, TreeEntry, blob_oid, tree_oid,
};
use broadcast_transform::{PathFilter, RepoSlug, Transformer};
use broadcast_worker::WorkerPool;
use bytes::Bytes;
use serde::Serialize;

use crate::forge::{Forge, PullRequestAction, PullRequestSpec};
use crate::plan::{GroupPlan, MappingPlan, Plan, TargetPlan};
use crate::repo::RepoRef;

const MODE_TREE: u32 = 0o040000;
const MODE_GITLINK: u32 = 0o160000;
const MODE_SYMLINK: u32 = 0o120000;

/// Knobs of one run.
#[derive(Clone)]
pub struct SyncOptions {
    /// Compute and report, write nothing anywhere.
    pub dry_run: bool,
    /// With `dry_run`: include a unified diff per changed text file.
    pub diff: bool,
    /// Replace the sync branch even when it holds commits broadcast did not write (they are
    /// dropped and listed in [`TargetReport::foreign_commits`]); without it such a target is
    /// [`TargetStatus::Blocked`].
    pub force: bool,
    /// Targets processed at once.
    pub jobs: usize,
    /// Timeout of each git process.
    pub git_timeout: Duration,
    /// Forge for `owner/name` repositories (`None`: such targets fail with a clear error).
    pub github: Option<Arc<dyn Forge>>,
    /// Commit author and committer; `None` = from the environment / git config.
    pub identity: Option<(String, String)>,
    /// Status mode (with `dry_run`): also look up the open pull request of each existing sync
    /// branch, and whether the repository is archived (one REST read each, forges with pull
    /// requests only).
    pub status: bool,
    /// Called once per group after every target was read and before the first write, with the
    /// number of targets whose forge has pull requests and that need writes. An error refuses
    /// the group's writes (the targets are reported skipped with the message).
    pub before_writes: Option<BeforeWrites>,
}

/// See [`SyncOptions::before_writes`].
pub type BeforeWrites = Arc<dyn Fn(&GroupPlan, usize) -> anyhow::Result<()> + Send + Sync>;

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            dry_run: false,
            diff: false,
            force: false,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get()),
            git_timeout: Duration::from_secs(600),
            github: None,
            identity: None,
            before_writes: None,
            status: false,
        }
    }
}

/// Outcome of one target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The base branch already holds the desired content: nothing written.
    InSync,
    /// The sync branch (and pull request) already carry exactly these changes: nothing written.
    UpToDate,
    /// A commit was pushed to the sync branch (and the pull request opened or updated).
    Synced,
    /// Dry run: these changes would be synced.
    WouldSync,
    /// Something failed; see `error`.
    Failed,
    /// Not attempted (a dependency group failed, or the repository is archived).
    Skipped,
    /// Refused: the sync branch holds commits broadcast did not write (see `foreign_commits`);
    /// nothing was written. `--force` overrides.
    Blocked,
}

impl TargetStatus {
    /// Short human label.
    pub fn label(self) -> &'static str {
        match self {
            TargetStatus::InSync => "in sync",
            TargetStatus::UpToDate => "up to date",
            TargetStatus::Synced => "synced",
            TargetStatus::WouldSync => "would sync",
            TargetStatus::Failed => "failed",
            TargetStatus::Skipped => "skipped",
            TargetStatus::Blocked => "blocked",
        }
    }
}

/// How a path changes in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New file.
    Added,
    /// Content or mode differs.
    Modified,
    /// Removed.
    Deleted,
}

/// One changed path.
#[derive(Debug, Clone, Serialize)]
pub struct FileChange {
    /// Path in the target.
    pub path: String,
    /// What happens to it.
    pub kind: ChangeKind,
    /// Size before, in bytes (when known).
    pub old_bytes: Option<u64>,
    /// Size after, in bytes (`None` for deletions).
    pub new_bytes: Option<u64>,
    /// File mode after (octal, e.g. 100755), for additions and modifications.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Unified diff (dry run with `--diff`, text files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
}

/// A pull request touched by the run.
#[derive(Debug, Clone, Serialize)]
pub struct PullRequestReport {
    /// Number.
    pub number: u64,
    /// Web URL.
    pub url: String,
    /// `created`, `updated`, `unchanged`, or `open` (status).
    pub action: &'static str,
    /// When it was opened (RFC 3339), when the forge says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// Result of one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetReport {
    /// Group id.
    pub group: String,
    /// Target repository as written in the config.
    pub target: String,
    /// Where it is: `owner/name`, or the resolved absolute path of a local repository.
    pub location: String,
    /// Outcome.
    pub status: TargetStatus,
    /// Files added.
    pub files_added: usize,
    /// Files modified.
    pub files_modified: usize,
    /// Files deleted.
    pub files_deleted: usize,
    /// Sync branch (when changes exist).
    pub branch: Option<String>,
    /// Base branch the changes were computed against.
    pub base: Option<String>,
    /// Commit pushed (or already on the sync branch).
    pub commit: Option<String>,
    /// Pull request, for forges that have them.
    pub pull_request: Option<PullRequestReport>,
    /// Wall time, milliseconds.
    pub elapsed_ms: u64,
    /// git processes spawned for this target.
    pub git_spawns: u64,
    /// Error chain, when failed or skipped.
    pub error: Option<String>,
    /// Non-fatal notes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Changed paths.
    pub changes: Vec<FileChange>,
    /// Commits on the sync branch (and not on the base) that broadcast did not write: still
    /// there when the status is `blocked`; dropped (`would_sync`: would be dropped) under
    /// `--force`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign_commits: Vec<crate::ownership::ForeignCommit>,
}

impl TargetReport {
    fn new(group: &str, target: &TargetPlan, status: TargetStatus) -> Self {
        TargetReport {
            group: group.to_owned(),
            target: target.display.clone(),
            location: target.repo.to_string(),
            status,
            files_added: 0,
            files_modified: 0,
            files_deleted: 0,
            branch: None,
            base: None,
            commit: None,
            pull_request: None,
            elapsed_ms: 0,
            git_spawns: 0,
            error: None,
            warnings: Vec::new(),
            changes: Vec::new(),
            foreign_commits: Vec::new(),
        }
    }
}

/// Result of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Every target of every group, in plan order.
    pub targets: Vec<TargetReport>,
    /// Per group: id, source commit (when read), and whether it succeeded.
    pub groups: Vec<GroupReport>,
    /// Wall time of the run, milliseconds.
    pub elapsed_ms: u64,
    /// Whether nothing was written.
    pub dry_run: bool,
}

/// Result of one group.
#[derive(Debug, Clone, Serialize)]
pub struct GroupReport {
    /// Group id.
    pub id: String,
    /// Source repository as written in the config.
    pub source: String,
    /// Source commit synced.
    pub source_commit: Option<String>,
    /// git processes spawned to read the source.
    pub git_spawns: u64,
    /// `ok`, `failed` or `skipped`.
    pub status: &'static str,
    /// Why it failed or was skipped.
    pub error: Option<String>,
}

impl RunReport {
    /// True when any target failed or was blocked, or any group could not run.
    pub fn has_failures(&self) -> bool {
        self.targets
            .iter()
            .any(|t| matches!(t.status, TargetStatus::Failed | TargetStatus::Blocked))
            || self.groups.iter().any(|g| g.status != "ok")
    }
}

/// Runs a plan. Groups run one after another; a group whose dependency failed is skipped.
pub fn run(plan: &Plan, opts: &SyncOptions) -> anyhow::Result<RunReport> {
    let started = Instant::now();
    let scratch = tempfile::Builder::new()
        .prefix("broadcast-run-")
        .tempdir()
        .context("cannot create a temporary directory for the run")?;
    let identity = resolve_identity(opts);
    let pool = WorkerPool::new(opts.jobs.max(1), opts.jobs.max(1) * 2)
        .context("cannot start the worker threads")?;
    let mut targets = Vec::new();
    let mut groups = Vec::new();
    let mut failed: BTreeSet<String> = BTreeSet::new();
    for (gi, group) in plan.groups.iter().enumerate() {
        if let Some(dep) = group.depends_on.iter().find(|d| failed.contains(*d)) {
            let why = format!("dependency group '{dep}' did not succeed");
            for t in &group.targets {
                let mut r = TargetReport::new(&group.id, t, TargetStatus::Skipped);
                r.error = Some(why.clone());
                targets.push(r);
            }
            groups.push(GroupReport {
                id: group.id.clone(),
                source: group.source_display.clone(),
                source_commit: None,
                git_spawns: 0,
                status: "skipped",
                error: Some(why),
            });
            failed.insert(group.id.clone());
            continue;
        }
        let dir = scratch.path().join(format!("g{gi}"));
        let (report, target_reports) = run_group(group, opts, &identity, &dir, &pool);
        if report.status != "ok"
            || target_reports
                .iter()
                .any(|t| matches!(t.status, TargetStatus::Failed | TargetStatus::Blocked))
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
    })
}

fn new_git(opts: &SyncOptions, config: &[(String, String)]) -> Git {
    let mut git = Git::new().with_timeout(opts.git_timeout);
    for (k, v) in config {
        git = git.with_config(k, v);
    }
    git
}

fn forge_for(repo: &RepoRef, opts: &SyncOptions) -> anyhow::Result<Arc<dyn Forge>> {
    match repo {
        RepoRef::Local { .. } => Ok(Arc::new(crate::forge::local::LocalForge)),
        RepoRef::GitHub { .. } => opts.github.clone().ok_or_else(|| {
            anyhow!("{repo} is a GitHub repository, but no GitHub forge is configured (set GH_TOKEN or GITHUB_TOKEN)")
        }),
    }
}

/// The git directory of a local repository: `<path>/.git` for a work tree, else the path itself.
fn local_git_dir(path: &Path) -> PathBuf {
    let dot_git = path.join(".git");
    if dot_git.is_dir() {
        dot_git
    } else {
        path.to_path_buf()
    }
}

/// The source tree of a group, with the contents of every blob any mapping needs.
struct SourceSnapshot {
    commit: ObjectId,
    /// path -> entry
    entries: BTreeMap<String, TreeEntry>,
    /// The object store (for alternates of scratch repositories).
    objects_dir: PathBuf,
    blobs: HashMap<ObjectId, Bytes>,
    slug: RepoSlug,
}

fn read_source(
    group: &GroupPlan,
    opts: &SyncOptions,
    dir: &Path,
) -> anyhow::Result<(SourceSnapshot, u64)> {
    let forge = forge_for(&group.source, opts)?;
    let remote = forge.git_remote(&group.source)?;
    let git = new_git(opts, &remote.config);
    let branch_ref = format!("refs/heads/{}", group.source_branch);
    let repo: Repo = match &group.source {
        RepoRef::Local { path } => {
            if !path.exists() {
                bail!(
                    "{}.source.repo: no repository at {} (relative paths resolve against the config file's directory)",
                    group.field,
                    path.display()
                );
            }
            git.open(&local_git_dir(path))
        }
        RepoRef::GitHub { .. } => {
            let repo = git.create_bare(&dir.join("source.git"))?;
            repo.fetch(
                &remote.url,
                &[format!("+{branch_ref}:{branch_ref}")],
                &broadcast_git_batch::FetchOptions {
                    depth: Some(1),
                    filter: None,
                    no_tags: true,
                },
            )
            .with_context(|| {
                format!(
                    "cannot fetch branch '{}' of source {}",
                    group.source_branch, group.source_display
                )
            })?;
            repo
        }
    };
    let commit = repo
        .rev_parse(&format!("{branch_ref}^{{commit}}"))?
        .ok_or_else(|| {
            anyhow!(
                "branch '{}' not found in source {}",
                group.source_branch,
                group.source_display
            )
        })?;
    let entries: BTreeMap<String, TreeEntry> = repo
        .ls_tree(&commit.to_string())?
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect();

    // Every blob a mapping of any target selects, read once through one cat-file process.
    let mut wanted: BTreeSet<ObjectId> = BTreeSet::new();
    for t in &group.targets {
        for m in &t.mappings {
            match m {
                MappingPlan::File { src, .. } => {
                    // A gitlink names a commit of another repository, not a blob here: the
                    // target reports it (see `read_target`).
                    if let Some(e) = entries.get(src).filter(|e| e.mode != MODE_GITLINK) {
                        wanted.insert(e.oid);
                    }
                }
                MappingPlan::Directory { src, .. } => {
                    for e in entries_under(&entries, src) {
                        if e.mode != MODE_GITLINK {
                            wanted.insert(e.oid);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    let mut blobs = HashMap::new();
    if !wanted.is_empty() {
        let oids: Vec<ObjectId> = wanted.into_iter().collect();
        let mut cat = repo.cat_file()?;
        for obj in cat.read_many(&oids)? {
            blobs.insert(obj.oid, Bytes::from(obj.data));
        }
    }
    let (owner, name) = group.source.slug();
    let objects_dir = std::path::absolute(repo.git_dir().join("objects"))
        .unwrap_or_else(|_| repo.git_dir().join("objects"));
    Ok((
        SourceSnapshot {
            commit,
            entries,
            objects_dir,
            blobs,
            slug: RepoSlug { owner, name },
        },
        git.spawn_count(),
    ))
}

fn entries_under<'a>(
    entries: &'a BTreeMap<String, TreeEntry>,
    dir: &str,
) -> impl Iterator<Item = &'a TreeEntry> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    entries
        .range(prefix.clone()..)
        .take_while(move |(p, _)| p.starts_with(&prefix))
        .map(|(_, e)| e)
}

/// The submodule (gitlink) at `path` or at a directory above it, if any: its contents are not
/// part of the source tree, so a mapping that reaches into it cannot be served.
fn submodule_at_or_above<'a>(
    entries: &'a BTreeMap<String, TreeEntry>,
    path: &str,
) -> Option<&'a str> {
    let mut at = path;
    loop {
        if let Some(e) = entries.get(at).filter(|e| e.mode == MODE_GITLINK) {
            return Some(e.path.as_str());
        }
        at = &at[..at.rfind('/')?];
    }
}

/// The error of a mapping whose `src` is a submodule or lies inside one.
fn submodule_error(field: &str, src: &str, submodule: &str, source: &str) -> anyhow::Error {
    if submodule == src {
        anyhow!(
            "{field}.src: '{src}' is a submodule (gitlink, mode 160000) in source {source}; broadcast copies files, not submodules"
        )
    } else {
        anyhow!(
            "{field}.src: '{src}' is inside submodule '{submodule}' (gitlink, mode 160000) of source {source}; a submodule's files are not part of the source tree"
        )
    }
}

/// Everything the tasks of one group share.
struct GroupRun {
    group: GroupPlan,
    source: SourceSnapshot,
    opts: SyncOptions,
    identity: (String, String),
    dir: PathBuf,
}

impl GroupRun {
    fn target_dir(&self, i: usize) -> PathBuf {
        self.dir.join(format!("t{i}"))
    }
}

fn run_group(
    group: &GroupPlan,
    opts: &SyncOptions,
    identity: &(String, String),
    dir: &Path,
    pool: &WorkerPool,
) -> (GroupReport, Vec<TargetReport>) {
    let mut report = GroupReport {
        id: group.id.clone(),
        source: group.source_display.clone(),
        source_commit: None,
        git_spawns: 0,
        status: "ok",
        error: None,
    };
    let failed_all = |report: &mut GroupReport, msg: String| {
        report.status = "failed";
        report.error = Some(msg.clone());
        group
            .targets
            .iter()
            .map(|t| {
                let mut r = TargetReport::new(&group.id, t, TargetStatus::Failed);
                r.error = Some(format!("source: {msg}"));
                r
            })
            .collect::<Vec<_>>()
    };
    if let Err(e) = std::fs::create_dir_all(dir) {
        let targets = failed_all(&mut report, format!("cannot create {}: {e}", dir.display()));
        return (report, targets);
    }
    let source = match read_source(group, opts, dir) {
        Ok((s, spawns)) => {
            report.source_commit = Some(s.commit.to_string());
            report.git_spawns = spawns;
            s
        }
        Err(e) => {
            let targets = failed_all(&mut report, format!("{e:#}"));
            return (report, targets);
        }
    };
    let run = Arc::new(GroupRun {
        group: group.clone(),
        source,
        opts: opts.clone(),
        identity: identity.clone(),
        dir: dir.to_path_buf(),
    });
    let n = group.targets.len();
    // Read phase: every target, in parallel.
    let task_run = Arc::clone(&run);
    let prepared = pool.map(0..n, move |i| prepare_target(&task_run, i));
    let mut prepared: Vec<Option<Prepared>> = match prepared {
        Ok(results) => results.into_iter().map(Result::ok).collect(),
        Err(e) => {
            let targets = failed_all(&mut report, format!("worker pool: {e}"));
            return (report, targets);
        }
    };
    let writes = prepared
        .iter()
        .flatten()
        .filter(|p| {
            p.pending
                .as_ref()
                .is_some_and(|p| p.forge.has_pull_requests())
        })
        .count();
    let refused = match (&opts.before_writes, writes) {
        (Some(hook), n) if n > 0 => hook(group, n).err().map(|e| format!("{e:#}")),
        _ => None,
    };
    if let Some(why) = &refused {
        report.status = "failed";
        report.error = Some(why.clone());
    }
    // Write phase.
    let items: Vec<(usize, Option<Prepared>)> =
        prepared.iter_mut().map(Option::take).enumerate().collect();
    let task_run = Arc::clone(&run);
    let finished = pool.map(items, move |(i, p)| {
        p.map(|p| finish_target(&task_run, i, p, refused.as_deref()))
    });
    let finished: Vec<Option<TargetReport>> = match finished {
        Ok(results) => results.into_iter().map(|r| r.ok().flatten()).collect(),
        Err(_) => vec![None; n],
    };
    let targets = finished
        .into_iter()
        .zip(&group.targets)
        .enumerate()
        .map(|(i, (r, t))| {
            r.unwrap_or_else(|| {
                let _ = std::fs::remove_dir_all(run.target_dir(i));
                let mut r = TargetReport::new(&group.id, t, TargetStatus::Failed);
                r.error =
                    Some("internal error: the target's task panicked (see stderr)".to_owned());
                r
            })
        })
        .collect();
    (report, targets)
}

/// The entry a target should have at a path.
#[derive(Clone)]
struct Desired {
    mode: u32,
    oid: ObjectId,
    /// Content when the transform produced new bytes (else the source blob is used as is).
    data: Option<Bytes>,
    /// The source blob, for sizes and diffs.
    src_oid: ObjectId,
}

/// A target between the read and the write phase.
struct Prepared {
    report: TargetReport,
    started: Instant,
    git: Option<Git>,
    pending: Option<Pending>,
}

fn prepare_target(run: &GroupRun, i: usize) -> Prepared {
    let (group, target) = (&run.group, &run.group.targets[i]);
    let started = Instant::now();
    let mut report = TargetReport::new(&group.id, target, TargetStatus::Failed);
    let mut git = None;
    let result = (|| {
        let forge = forge_for(&target.repo, &run.opts)?;
        let remote = forge.git_remote(&target.repo)?;
        let g = git.insert(new_git(&run.opts, &remote.config));
        read_target(run, i, &mut report, forge, &remote.url, g)
    })();
    let pending = match result {
        Ok(p) => p,
        Err(e) => {
            report.status = TargetStatus::Failed;
            report.error = Some(format!("{e:#}"));
            None
        }
    };
    Prepared {
        report,
        started,
        git,
        pending,
    }
}

fn finish_target(
    run: &GroupRun,
    i: usize,
    prepared: Prepared,
    refused: Option<&str>,
) -> TargetReport {
    let Prepared {
        mut report,
        started,
        git,
        pending,
    } = prepared;
    if let (Some(p), Some(git)) = (pending, &git) {
        if let Some(why) = refused {
            report.status = TargetStatus::Skipped;
            report.error = Some(why.to_owned());
        } else if let Err(e) = write_target(run, i, git, &mut report, p) {
            report.status = TargetStatus::Failed;
            report.error = Some(format!("{e:#}"));
        }
    }
    report.git_spawns = git.map_or(0, |g| g.spawn_count());
    report.elapsed_ms = started.elapsed().as_millis() as u64;
    if let Some(e) = &mut report.error {
        *e = broadcast_redact::redact(e).into_owned();
    }
    // Scratch repositories are not needed once the target is done.
    let _ = std::fs::remove_dir_all(run.target_dir(i));
    report
}

/// Read phase of one target: refs, base tree, desired entries, comparison. Writes nothing.
fn read_target(
    run: &GroupRun,
    i: usize,
    report: &mut TargetReport,
    forge: Arc<dyn Forge>,
    url: &str,
    git: &Git,
) -> anyhow::Result<Option<Pending>> {
    let (group, target, source, opts) = (&run.group, &run.group.targets[i], &run.source, &run.opts);
    let dir = run.target_dir(i);
    let sync_ref = format!("refs/heads/{}", group.sync_branch);
    if let RepoRef::Local { path } = &target.repo
        && !path.exists()
    {
        bail!(
            "{}.repo: no repository at {} (relative paths resolve against the config file's directory)",
            target.field,
            path.display()
        );
    }
    // 1. Refs, in one round trip: HEAD (the default branch), the sync branch, and the
    //    configured base branch.
    let mut patterns = vec![sync_ref.as_str()];
    let configured_base = target
        .base_branch
        .as_ref()
        .map(|b| format!("refs/heads/{b}"));
    if let Some(b) = &configured_base {
        patterns.push(b);
    }
    let (head, refs) = git
        .ls_remote_with_head(url, &patterns)
        .with_context(|| format!("cannot read {}", target.display))?;
    let find = |name: &str| refs.iter().find(|r| r.name == name).map(|r| r.oid);
    let sync_oid = find(&sync_ref);
    let (base_branch, base_oid) = match (&target.base_branch, &configured_base) {
        (Some(b), Some(r)) => {
            let oid = find(r);
            if oid.is_none() {
                bail!("branch '{b}' not found in {}", target.display);
            }
            (Some(b.clone()), oid)
        }
        // The default branch; no id when the repository is empty (unborn HEAD).
        _ => (head, find("HEAD")),
    };
    report.base = base_branch.clone();
    if base_branch.as_deref() == Some(group.sync_branch.as_str()) {
        // `validate` rejects a configured base equal to the sync branch; this is the default
        // branch of the repository.
        bail!(
            "{}: the default branch '{}' is the group's sync branch; sync commits would stack on the base itself (set {}.branch or change the group's branch_prefix or id)",
            target.display,
            group.sync_branch,
            target.field
        );
    }

    if opts.status && forge.has_pull_requests() {
        if forge.repository(&target.repo)?.archived {
            report.status = TargetStatus::Skipped;
            report.error = Some(format!("{} is archived", target.display));
            return Ok(None);
        }
        if sync_oid.is_some()
            && let Some(pr) = forge.find_pull_request(&target.repo, &group.sync_branch)?
        {
            report.pull_request = Some(PullRequestReport {
                number: pr.number,
                url: pr.url,
                action: "open",
                created_at: pr.created_at,
            });
        }
    }

    // 2. The target's base tree: read in place for local repositories, fetched without blobs
    //    for remote ones.
    let (reader, scratch): (Repo, Option<Repo>) = match &target.repo {
        RepoRef::Local { path } => (git.open(&local_git_dir(path)), None),
        RepoRef::GitHub { .. } => {
            let scratch = git.create_bare(&dir.join("target.git"))?;
            let mut refspecs = Vec::new();
            if let Some(b) = &base_branch
                && base_oid.is_some()
            {
                refspecs.push(format!("+refs/heads/{b}:refs/remotes/base"));
            }
            if sync_oid.is_some() {
                refspecs.push(format!("+{sync_ref}:refs/remotes/sync"));
            }
            if !refspecs.is_empty() {
                scratch.fetch(
                    url,
                    &refspecs,
                    &broadcast_git_batch::FetchOptions {
                        depth: Some(1),
                        filter: Some("blob:none".to_owned()),
                        no_tags: true,
                    },
                )?;
            }
            (scratch.clone(), Some(scratch))
        }
    };
    let base_entries: BTreeMap<String, TreeEntry> = match base_oid {
        Some(oid) => reader
            .ls_tree(&oid.to_string())?
            .into_iter()
            .map(|e| (e.path.clone(), e))
            .collect(),
        None => BTreeMap::new(),
    };

    // 3. Desired entries.
    let (owner, name) = target.repo.slug();
    let target_slug = RepoSlug { owner, name };
    let mut desired: BTreeMap<String, Desired> = BTreeMap::new();
    let mut deletes: BTreeSet<String> = BTreeSet::new();
    let mut transformers: Vec<(broadcast_transform::TransformSpec, Transformer)> = Vec::new();
    let mut transformer_for = |spec: &broadcast_transform::TransformSpec| -> anyhow::Result<usize> {
        if let Some(i) = transformers.iter().position(|(s, _)| s == spec) {
            return Ok(i);
        }
        transformers.push((
            spec.clone(),
            Transformer::new(spec, &source.slug, &target_slug)?,
        ));
        Ok(transformers.len() - 1)
    };
    let mut items: Vec<(String, &TreeEntry, usize)> = Vec::new();
    // Which mapping produced each destination path: a later mapping wins, with a warning.
    let mut owners: HashMap<String, &str> = HashMap::new();
    for m in &target.mappings {
        match m {
            MappingPlan::File {
                field,
                src,
                dest,
                transform,
            } => {
                if let Some(sub) = submodule_at_or_above(&source.entries, src) {
                    return Err(submodule_error(field, src, sub, &group.source_display));
                }
                let e = source.entries.get(src).ok_or_else(|| {
                    anyhow!(
                        "{field}.src: '{src}' not found in source {} at {}",
                        group.source_display,
                        short(&source.commit)
                    )
                })?;
                if e.mode == MODE_TREE {
                    bail!("{field}.src: '{src}' is a directory, not a file (use directories:)");
                }
                let ti = transformer_for(transform)?;
                deletes.remove(dest);
                if let Some(prev) = owners.insert(dest.clone(), field) {
                    report.warnings.push(format!(
                        "{dest}: mapped by {prev} and {field}; {field} wins"
                    ));
                }
                items.push((dest.clone(), e, ti));
            }
            MappingPlan::Directory {
                field,
                src,
                dest,
                exclude,
                include_only,
                preserve_structure,
                include_hidden,
                transform,
            } => {
                if !src.is_empty()
                    && let Some(sub) = submodule_at_or_above(&source.entries, src)
                {
                    return Err(submodule_error(field, src, sub, &group.source_display));
                }
                let filter = PathFilter::new(exclude.as_deref(), include_only, *include_hidden)
                    .with_context(|| format!("{field}: invalid glob"))?;
                let ti = transformer_for(transform)?;
                let prefix_len = if src.is_empty() { 0 } else { src.len() + 1 };
                let mut any = false;
                let mut flat_seen: HashMap<String, String> = HashMap::new();
                for e in entries_under(&source.entries, src) {
                    any = true;
                    let rel = &e.path[prefix_len..];
                    if e.mode == MODE_GITLINK {
                        report
                            .warnings
                            .push(format!(
                                "{field}: submodule '{}' (gitlink, mode 160000) is skipped; broadcast copies files, not submodules",
                                e.path
                            ));
                        continue;
                    }
                    if !filter.is_included(rel) {
                        continue;
                    }
                    let out_rel = if *preserve_structure {
                        rel.to_owned()
                    } else {
                        let base = rel.rsplit('/').next().unwrap_or(rel).to_owned();
                        if let Some(prev) = flat_seen.insert(base.clone(), rel.to_owned()) {
                            bail!(
                                "{field}: preserve_structure: false maps both '{prev}' and '{rel}' to '{base}'"
                            );
                        }
                        base
                    };
                    let dest_path = if dest.is_empty() {
                        out_rel
                    } else {
                        format!("{dest}/{out_rel}")
                    };
                    deletes.remove(&dest_path);
                    if let Some(prev) = owners.insert(dest_path.clone(), field)
                        && prev != field
                    {
                        report.warnings.push(format!(
                            "{dest_path}: mapped by {prev} and {field}; {field} wins"
                        ));
                    }
                    items.push((dest_path, e, ti));
                }
                if !any {
                    bail!(
                        "{field}.src: directory '{src}' not found (or empty) in source {} at {}",
                        group.source_display,
                        short(&source.commit)
                    );
                }
            }
            MappingPlan::DeleteFile { dest, .. } => {
                items.retain(|(p, _, _)| p != dest);
                owners.remove(dest);
                if base_entries.contains_key(dest) {
                    deletes.insert(dest.clone());
                }
            }
            MappingPlan::DeleteDirectory { dest, .. } => {
                let prefix = format!("{dest}/");
                items.retain(|(p, _, _)| !p.starts_with(&prefix));
                owners.retain(|p, _| !p.starts_with(&prefix));
                for p in base_entries.keys().filter(|p| p.starts_with(&prefix)) {
                    deletes.insert(p.clone());
                }
            }
        }
    }
    for (dest, e, ti) in items {
        let d = if e.mode == MODE_SYMLINK {
            Desired {
                mode: e.mode,
                oid: e.oid,
                data: None,
                src_oid: e.oid,
            }
        } else {
            let content = source.blobs.get(&e.oid).ok_or_else(|| {
                anyhow!(
                    "internal error: blob {} of '{}' was not read",
                    e.oid,
                    e.path
                )
            })?;
            let t = &transformers[ti].1;
            let out = if t.is_identity() {
                std::borrow::Cow::Borrowed(&content[..])
            } else {
                t.apply(&dest, content)
                    .with_context(|| format!("transform of '{}' -> '{dest}'", e.path))?
            };
            let leftovers = if transformers[ti].0.variables.is_empty() {
                Vec::new()
            } else {
                t.unreplaced_variables(&out)
            };
            for v in leftovers {
                report
                    .warnings
                    .push(format!("{dest}: placeholder '{v}' has no value"));
            }
            match out {
                std::borrow::Cow::Borrowed(_) => Desired {
                    mode: e.mode,
                    oid: e.oid,
                    data: None,
                    src_oid: e.oid,
                },
                std::borrow::Cow::Owned(v) => {
                    let oid = blob_oid(&v);
                    Desired {
                        mode: e.mode,
                        oid,
                        data: Some(Bytes::from(v)),
                        src_oid: e.oid,
                    }
                }
            }
        };
        desired.insert(dest, d);
    }
    report.warnings.sort();
    report.warnings.dedup();

    // 4. Compare blob ids and modes.
    let mut changes: Vec<TreeChange> = Vec::new();
    for (path, d) in &desired {
        let kind = match base_entries.get(path) {
            None => ChangeKind::Added,
            Some(b) if b.oid != d.oid || b.mode != d.mode => ChangeKind::Modified,
            Some(_) => continue,
        };
        let content = match &d.data {
            Some(bytes) => BlobContent::Data(bytes.clone()),
            None => BlobContent::Existing(d.oid),
        };
        changes.push(TreeChange::Upsert {
            path: path.clone(),
            mode: d.mode,
            content,
        });
        let new_len = d
            .data
            .as_ref()
            .map(|b| b.len())
            .or_else(|| source.blobs.get(&d.src_oid).map(|b| b.len()));
        report.changes.push(FileChange {
            path: path.clone(),
            kind,
            old_bytes: None,
            new_bytes: new_len.map(|n| n as u64),
            mode: Some(format!("{:o}", d.mode)),
            diff: None,
        });
    }
    for path in &deletes {
        if desired.contains_key(path) {
            continue;
        }
        changes.push(TreeChange::Delete { path: path.clone() });
        report.changes.push(FileChange {
            path: path.clone(),
            kind: ChangeKind::Deleted,
            old_bytes: None,
            new_bytes: None,
            mode: None,
            diff: None,
        });
    }
    report.changes.sort_by(|a, b| a.path.cmp(&b.path));
    report.files_added = report
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Added)
        .count();
    report.files_modified = report
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Modified)
        .count();
    report.files_deleted = report
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Deleted)
        .count();
    if changes.is_empty() {
        report.status = TargetStatus::InSync;
        return Ok(None);
    }
    report.branch = Some(group.sync_branch.clone());
    fill_old_sizes_and_diffs(report, &reader, &base_entries, &desired, source, opts);

    // 5. Is the sync branch already exactly this (same base, same tree)?
    let pending = |changes: Vec<TreeChange>, up_to_date: Option<ObjectId>| Pending {
        forge: Arc::clone(&forge),
        url: url.to_owned(),
        reader: reader.clone(),
        scratch: scratch.clone(),
        base_branch: base_branch.clone(),
        base_oid,
        sync_oid,
        changes,
        up_to_date,
    };
    let tip = sync_oid.and_then(|sync| reader.read_commit(&sync.to_string()).ok());
    if let Some(sync) = sync_oid {
        let commit = tip.clone();
        if let Some(commit) = commit.filter(|c| c.parents.first().copied() == base_oid) {
            let mut expected: BTreeMap<&str, (u32, ObjectId)> = base_entries
                .iter()
                .map(|(p, e)| (p.as_str(), (e.mode, e.oid)))
                .collect();
            for p in &deletes {
                expected.remove(p.as_str());
            }
            for (p, d) in &desired {
                expected.insert(p.as_str(), (d.mode, d.oid));
            }
            // The tree id is computed in-process: no listing of the sync branch is needed.
            let expected_tree = tree_oid(expected.iter().map(|(p, (m, o))| (*p, *m, *o)))?;
            if commit.tree == expected_tree {
                report.status = TargetStatus::UpToDate;
                report.commit = Some(sync.to_string());
                if !opts.dry_run && forge.has_pull_requests() {
                    // The pull request may still need opening or updating.
                    return Ok(Some(pending(Vec::new(), Some(sync))));
                }
                return Ok(None);
            }
        }
    }
    // 6. The push replaces the sync branch: is anything on it someone else's work?
    if let Some(sync) = sync_oid {
        let remote = scratch.is_some().then(|| crate::ownership::RemoteHistory {
            url,
            base_branch: base_branch.as_deref().filter(|_| base_oid.is_some()),
            sync_refspec: format!("+{sync_ref}:refs/remotes/sync"),
        });
        report.foreign_commits = crate::ownership::inspect_sync_branch(
            &reader,
            &group.id,
            base_oid,
            sync,
            tip.as_ref(),
            remote,
        )
        .with_context(|| format!("cannot inspect sync branch {}", group.sync_branch))?;
    }
    if !report.foreign_commits.is_empty() {
        if !opts.force {
            report.status = TargetStatus::Blocked;
            report.error = Some(crate::ownership::blocked_message(
                &group.sync_branch,
                &report.foreign_commits,
            ));
            return Ok(None);
        }
        if opts.dry_run {
            report.warnings.push(crate::ownership::dropped_message(
                &report.foreign_commits,
                true,
            ));
        }
    }
    report.status = TargetStatus::WouldSync;
    if opts.dry_run {
        return Ok(None);
    }
    Ok(Some(pending(changes, None)))
}

/// What the write phase of one target needs from its read phase.
struct Pending {
    forge: Arc<dyn Forge>,
    url: String,
    /// Where the target's objects can be read.
    reader: Repo,
    /// Scratch repository made by the read phase (remote targets), if any.
    scratch: Option<Repo>,
    base_branch: Option<String>,
    base_oid: Option<ObjectId>,
    sync_oid: Option<ObjectId>,
    changes: Vec<TreeChange>,
    /// The sync branch already holds the changes (only the pull request is checked).
    up_to_date: Option<ObjectId>,
}

/// Write phase: one commit with fast-import in a scratch repository, a push with a lease, and
/// the pull request.
fn write_target(
    run: &GroupRun,
    i: usize,
    git: &Git,
    report: &mut TargetReport,
    p: Pending,
) -> anyhow::Result<()> {
    let (group, target, source, identity) = (
        &run.group,
        &run.group.targets[i],
        &run.source,
        &run.identity,
    );
    let dir = run.target_dir(i);
    let forge = &*p.forge;
    if let Some(sync) = p.up_to_date {
        return ensure_pull_request(run, i, forge, report, p.base_branch.as_deref(), sync);
    }
    if forge.has_pull_requests() {
        let info = forge.repository(&target.repo)?;
        if info.archived {
            report.status = TargetStatus::Skipped;
            report.error = Some(format!("{} is archived", target.display));
            return Ok(());
        }
    }
    let sync_ref = format!("refs/heads/{}", group.sync_branch);
    let scratch = match p.scratch {
        Some(s) => s,
        None => {
            let s = git.create_bare(&dir.join("target.git"))?;
            let target_objects = p.reader.git_dir().join("objects");
            s.add_alternate(&std::path::absolute(&target_objects).unwrap_or(target_objects))?;
            s
        }
    };
    scratch.add_alternate(&source.objects_dir)?;
    // Keep fast-import's output as one pack even for a few objects (`fastimport.unpackLimit`,
    // git-config(1); the default 100 spawns `unpack-objects` below it), and push without delta
    // search (see below).
    let scratch = git
        .clone()
        .with_config("fastimport.unpackLimit", "0")
        .with_config("pack.window", "0")
        .open(scratch.git_dir());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let sig = Signature {
        name: identity.0.clone(),
        email: identity.1.clone(),
        time_secs: now,
        offset_minutes: 0,
    };
    let message = commit_message(group, source, report);
    let commit = scratch
        .fast_import(&CommitRequest {
            ref_name: sync_ref.clone(),
            parent: p.base_oid,
            author: sig.clone(),
            committer: sig,
            message,
            changes: p.changes,
        })
        .context("cannot write the sync commit")?;
    // No delta search when packing the push (`pack.window=0`, git-config(1)):
    // - over smart HTTP git sends a thin pack whatever `--no-thin` says (git-remote-http starts
    //   `send-pack --thin`), and a thin pack reads the base versions of the changed paths as
    //   delta bases: blobs a blob-less fetch never downloaded, so pack-objects would die;
    // - for every target the delta search costs CPU on both ends (pack-objects here, index-pack
    //   on the receiving side) for a pack that holds only the new objects of one commit.
    //   Measured with `cargo xtask profile` (10 local targets, 1000 new files each, two runs):
    //   push 1,879-1,928 ms in total (pack-objects 1,573-1,598 ms) with the default window 10,
    //   823-846 ms (pack-objects 611-612 ms) with 0; index-pack on the receiving side grows
    //   from 318-335 ms to 406-430 ms (more bytes to hash).
    let pushed = scratch
        .push(
            &p.url,
            &[PushRefspec {
                src: commit.to_string(),
                dst: sync_ref.clone(),
                force_with_lease: Some(p.sync_oid),
            }],
            &PushOptions {
                atomic: true,
                no_thin: true,
            },
        )
        .with_context(|| format!("cannot push {} to {}", group.sync_branch, target.display))?;
    for r in &pushed {
        if !matches!(r.status, PushStatus::Ok | PushStatus::UpToDate) {
            bail!(
                "push of {} to {} was rejected: {} (another run may have updated the branch; re-run to retry)",
                group.sync_branch,
                target.display,
                r.summary
            );
        }
    }
    report.commit = Some(commit.to_string());
    report.status = TargetStatus::Synced;
    if !report.foreign_commits.is_empty() {
        report.warnings.push(crate::ownership::dropped_message(
            &report.foreign_commits,
            false,
        ));
    }
    if forge.has_pull_requests() {
        ensure_pull_request(run, i, forge, report, p.base_branch.as_deref(), commit)?;
    }
    Ok(())
}

fn short(oid: &ObjectId) -> String {
    oid.to_string()[..7].to_owned()
}

fn fill_old_sizes_and_diffs(
    report: &mut TargetReport,
    reader: &Repo,
    base: &BTreeMap<String, TreeEntry>,
    desired: &BTreeMap<String, Desired>,
    source: &SourceSnapshot,
    opts: &SyncOptions,
) {
    // Old contents are read only for a dry run (sizes and diffs); a blobless fetch has none.
    if !opts.dry_run {
        return;
    }
    let olds: Vec<ObjectId> = report
        .changes
        .iter()
        .filter(|c| c.kind != ChangeKind::Added)
        .filter_map(|c| base.get(&c.path).map(|e| e.oid))
        .collect();
    let mut old_data: HashMap<ObjectId, Vec<u8>> = HashMap::new();
    if !olds.is_empty()
        && let Ok(mut cat) = reader.cat_file()
        && let Ok(objs) = cat.read_many(&olds)
    {
        old_data = objs.into_iter().map(|o| (o.oid, o.data)).collect();
    }
    for c in &mut report.changes {
        let old = base.get(&c.path).and_then(|e| old_data.get(&e.oid));
        c.old_bytes = old.map(|d| d.len() as u64);
        if !opts.diff {
            continue;
        }
        let new: Option<&[u8]> = desired.get(&c.path).and_then(|d| {
            d.data
                .as_deref()
                .or_else(|| source.blobs.get(&d.src_oid).map(|b| &b[..]))
        });
        c.diff = crate::output::unified_diff(&c.path, old.map(|v| &v[..]), new);
    }
}

fn commit_message(group: &GroupPlan, source: &SourceSnapshot, report: &TargetReport) -> String {
    let n = report.changes.len();
    let subject = if n == 1 {
        format!(
            "sync: update {} from {}",
            report.changes[0].path, group.source_display
        )
    } else {
        format!("sync: update {n} files from {}", group.source_display)
    };
    let mut body = String::new();
    for c in report.changes.iter().take(50) {
        let verb = match c.kind {
            ChangeKind::Added => "add",
            ChangeKind::Modified => "update",
            ChangeKind::Deleted => "delete",
        };
        body.push_str(&format!("- {verb} {}\n", c.path));
    }
    if n > 50 {
        body.push_str(&format!("- ... and {} more\n", n - 50));
    }
    format!(
        "{subject}\n\n{body}\n{}: {}\n{}: {}\n{}: {}\n",
        crate::state::TRAILER_SOURCE,
        group.source_display.replace('\n', " "),
        crate::state::TRAILER_SOURCE_COMMIT,
        source.commit,
        crate::state::TRAILER_GROUP,
        group.id,
    )
}

fn ensure_pull_request(
    run: &GroupRun,
    i: usize,
    forge: &dyn Forge,
    report: &mut TargetReport,
    base: Option<&str>,
    commit: ObjectId,
) -> anyhow::Result<()> {
    let (group, target, source) = (&run.group, &run.group.targets[i], &run.source);
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
            short(&source.commit)
        ),
        body: crate::state::pull_request_body(
            group,
            target,
            &source.commit,
            &commit,
            &report.changes,
        ),
        head: group.sync_branch.clone(),
        base,
        draft: false,
        labels: target.pr.labels.clone(),
        assignees: target.pr.assignees.clone(),
        reviewers: target.pr.reviewers.clone(),
        team_reviewers: target.pr.team_reviewers.clone(),
    };
    let (pr, action) = forge.upsert_pull_request(&target.repo, &spec)?;
    report.pull_request = Some(PullRequestReport {
        number: pr.number,
        url: pr.url,
        action: match action {
            PullRequestAction::Created => "created",
            PullRequestAction::Updated => "updated",
            PullRequestAction::Unchanged => "unchanged",
        },
        created_at: pr.created_at,
    });
    Ok(())
}

/// Commit identity: `opts.identity`, else `GIT_AUTHOR_NAME`/`GIT_AUTHOR_EMAIL`, else git's
/// configured `user.name`/`user.email`, else `broadcast <broadcast@localhost>`.
fn resolve_identity(opts: &SyncOptions) -> (String, String) {
    if let Some(id) = &opts.identity {
        return id.clone();
    }
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
    let name = name.unwrap_or_else(|| "broadcast".to_owned());
    let email = email.unwrap_or_else(|| "broadcast@localhost".to_owned());
    (name, email)
}
