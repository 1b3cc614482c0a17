//! What a run found and did, per target and per group: the data every output format renders.
//!
//! A leaf module: the engine ([`crate::sync`]) builds these values once per target from its
//! phases' results, and [`crate::output`] renders them; neither imports the other for them.

use serde::Serialize;

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
    /// Not attempted (a dependency group failed, the repository is archived, or the run was
    /// interrupted before the target started).
    Skipped,
    /// Refused: the sync branch holds commits broadcast did not write (see `foreign_commits`);
    /// nothing was written. `--force` overrides.
    Blocked,
    /// `cancel`: the sync pull request was closed and/or the sync branch deleted.
    Cancelled,
    /// `cancel --dry-run`: the pull request would be closed and/or the branch deleted.
    WouldCancel,
    /// `cancel`: no open sync pull request and no sync branch to delete.
    NothingToDo,
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
            TargetStatus::Cancelled => "cancelled",
            TargetStatus::WouldCancel => "would cancel",
            TargetStatus::NothingToDo => "nothing to do",
        }
    }

    /// True for the outcomes that make the run exit with 1.
    pub fn is_failure(self) -> bool {
        matches!(self, TargetStatus::Failed | TargetStatus::Blocked)
    }
}

/// How a path changes in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New file.
    Added,
    /// Content or mode differs.
    Modified,
    /// Removed.
    Deleted,
}

impl ChangeKind {
    /// Past-tense word used in listings and pull request bodies: `added`, `modified`, `deleted`.
    pub fn past(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Modified => "modified",
            ChangeKind::Deleted => "deleted",
        }
    }

    /// Imperative verb used in commit messages: `add`, `update`, `delete`.
    pub fn verb(self) -> &'static str {
        match self {
            ChangeKind::Added => "add",
            ChangeKind::Modified => "update",
            ChangeKind::Deleted => "delete",
        }
    }
}

/// One changed path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    /// Dry run with `--diff`: why no diff is shown (`binary ...`, or the budget it exceeded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff_note: Option<String>,
}

/// What happened to a target's pull request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PullRequestAction {
    /// A new pull request was opened.
    Created,
    /// The open pull request got a new title, body, labels or reviewers.
    Updated,
    /// The open pull request already matched.
    Unchanged,
    /// `status`: the open pull request of the sync branch, as found.
    Open,
    /// `cancel`: closed with a comment.
    Closed,
}

impl PullRequestAction {
    /// Lower-case word for tables: `created`, `updated`, `unchanged`, `open`, `closed`.
    pub fn label(self) -> &'static str {
        match self {
            PullRequestAction::Created => "created",
            PullRequestAction::Updated => "updated",
            PullRequestAction::Unchanged => "unchanged",
            PullRequestAction::Open => "open",
            PullRequestAction::Closed => "closed",
        }
    }
}

/// What `cancel` did to a target's sync branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BranchAction {
    /// Deleted (`--delete-branch`).
    Deleted,
    /// Dry run: would be deleted.
    WouldDelete,
    /// Left in place: no `--delete-branch`, it holds commits broadcast did not write, or it
    /// moved while the run looked at it (see `error`).
    Kept,
}

impl BranchAction {
    /// Lower-case words for tables: `deleted`, `would delete`, `kept`.
    pub fn label(self) -> &'static str {
        match self {
            BranchAction::Deleted => "deleted",
            BranchAction::WouldDelete => "would delete",
            BranchAction::Kept => "kept",
        }
    }
}

/// A pull request touched (or found) by the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequestReport {
    /// Number.
    pub number: u64,
    /// Web URL.
    pub url: String,
    /// What the run did to it.
    pub action: PullRequestAction,
    /// When it was opened (RFC 3339), when the forge says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

/// A commit on the sync branch that broadcast did not write for this group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForeignCommit {
    /// Full commit id.
    pub commit: String,
    /// `Name <email>` of the author.
    pub author: String,
    /// First line of the message.
    pub subject: String,
    /// Why it is not broadcast's: `merge commit`, `no Broadcast-Group trailer`, ...
    pub reason: String,
}

impl ForeignCommit {
    /// `abc1234 Jane Doe <jane@example.com> "subject"`: control characters in the subject are
    /// escaped by the quoting.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {:?}",
            &self.commit[..self.commit.len().min(7)],
            self.author,
            self.subject
        )
    }
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
    /// Changed paths, sorted by path.
    pub changes: Vec<FileChange>,
    /// Commits on the sync branch (and not on the base) that broadcast did not write: still
    /// there when the status is `blocked`; dropped (`would_sync`: would be dropped) under
    /// `--force`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub foreign_commits: Vec<ForeignCommit>,
    /// `cancel`: what happened to the sync branch (`branch` names it, `commit` is its tip).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_action: Option<BranchAction>,
}

impl TargetReport {
    /// An empty report for `target` of `group` with `status`; counts and lists are empty.
    pub fn new(group: &str, target: &str, location: String, status: TargetStatus) -> Self {
        TargetReport {
            group: group.to_owned(),
            target: target.to_owned(),
            location,
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
            branch_action: None,
        }
    }

    /// Sets `changes` (sorted by path) and the three counts derived from them.
    pub fn set_changes(&mut self, mut changes: Vec<FileChange>) {
        changes.sort_by(|a, b| a.path.cmp(&b.path));
        let count = |k| changes.iter().filter(|c| c.kind == k).count();
        self.files_added = count(ChangeKind::Added);
        self.files_modified = count(ChangeKind::Modified);
        self.files_deleted = count(ChangeKind::Deleted);
        self.changes = changes;
    }
}

/// Outcome of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupStatus {
    /// The source was read and every target ran (each target has its own status).
    Ok,
    /// The source could not be read, or the writes were refused (see `error`).
    Failed,
    /// Not attempted: a dependency group did not succeed.
    Skipped,
}

impl GroupStatus {
    /// Lower-case word: `ok`, `failed`, `skipped`.
    pub fn label(self) -> &'static str {
        match self {
            GroupStatus::Ok => "ok",
            GroupStatus::Failed => "failed",
            GroupStatus::Skipped => "skipped",
        }
    }
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
    /// Outcome.
    pub status: GroupStatus,
    /// Why it failed or was skipped.
    pub error: Option<String>,
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
    /// The run was interrupted (Ctrl-C, SIGTERM): targets not started are skipped.
    pub interrupted: bool,
}

/// Why a target or group was not started: the run was interrupted.
pub const INTERRUPTED: &str = "not started: the run was interrupted";

impl RunReport {
    /// True when any target failed or was blocked, or any group could not run.
    pub fn has_failures(&self) -> bool {
        self.targets.iter().any(|t| t.status.is_failure())
            || self.groups.iter().any(|g| g.status != GroupStatus::Ok)
    }
}
