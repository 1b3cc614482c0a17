//! Forges: where a target's pull request lives. `local` (no pull requests: the pushed sync branch is
//! the deliverable) and `github` (REST API).
//!
//! The sync engine reads and writes git itself (through `git-batch`); a forge only supplies the git
//! remote (URL plus git config such as an auth header, passed through the environment) and the pull
//! request operations. Reads that the engine can do with git (`ls-remote`) never go through a forge.

use std::sync::Arc;

use crate::repo::RepoRef;

pub mod github;
pub mod local;

/// How to reach a repository with git.
#[derive(Debug, Clone, Default)]
pub struct GitRemote {
    /// URL (or path) given to `git fetch` / `git push`. Never holds a credential.
    pub url: String,
    /// git config entries passed through `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_n`/`GIT_CONFIG_VALUE_n`
    /// (e.g. `http.https://github.com/.extraHeader`). Values may be secret: never log them.
    pub config: Vec<(String, String)>,
}

/// Repository facts a forge knows beyond git.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoInfo {
    /// Default branch, e.g. `main`. `None` when the forge does not know it (then git's `HEAD` is used).
    pub default_branch: Option<String>,
    /// Archived repositories accept no push: the target is skipped and reported.
    pub archived: bool,
}

/// What a pull request should look like (GitHub REST "Create a pull request" fields plus labels,
/// assignees and requested reviewers).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequestSpec {
    /// Title.
    pub title: String,
    /// Body (markdown), ending with the machine-readable metadata block.
    pub body: String,
    /// Head branch name in the target repository (no `owner:` prefix).
    pub head: String,
    /// Base branch name.
    pub base: String,
    /// Open as draft.
    pub draft: bool,
    /// Labels to add.
    pub labels: Vec<String>,
    /// Assignee logins.
    pub assignees: Vec<String>,
    /// Reviewer logins (the authenticated user is dropped by the forge).
    pub reviewers: Vec<String>,
    /// Team reviewer slugs.
    pub team_reviewers: Vec<String>,
}

/// An open pull request as the forge reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PullRequest {
    /// Number within the repository.
    pub number: u64,
    /// Web URL (`html_url`).
    pub url: String,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Head branch name.
    pub head: String,
    /// Base branch name.
    pub base: String,
    /// Creation time, RFC 3339 (`created_at`), when known.
    pub created_at: Option<String>,
}

pub use crate::report::PullRequestAction;

/// What [`Forge::delete_branch`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BranchDeletion {
    /// The branch pointed at the expected commit and was deleted.
    Deleted,
    /// The branch no longer exists: nothing to do.
    AlreadyGone,
    /// The branch moved since it was read (someone pushed): left alone. `tip` is its commit now.
    Moved {
        /// Full id of the commit the branch points at now.
        tip: String,
    },
}

/// A forge adapter. Implementations are thin: typed requests, no sync logic.
pub trait Forge: Send + Sync {
    /// Short name for reports: `local`, `github`.
    fn kind(&self) -> &'static str;

    /// URL and git config to fetch from / push to `repo`.
    fn git_remote(&self, repo: &RepoRef) -> anyhow::Result<GitRemote>;

    /// Repository facts (default branch, archived). Called only for targets that have changes.
    fn repository(&self, repo: &RepoRef) -> anyhow::Result<RepoInfo>;

    /// The open pull request whose head is `head` (a branch of `repo`), if any.
    fn find_pull_request(&self, repo: &RepoRef, head: &str) -> anyhow::Result<Option<PullRequest>>;

    /// Opens the pull request for `spec.head`, or updates the open one (title/body, labels,
    /// assignees, reviewers) in place. Never opens a second one for the same head.
    fn upsert_pull_request(
        &self,
        repo: &RepoRef,
        spec: &PullRequestSpec,
    ) -> anyhow::Result<(PullRequest, PullRequestAction)>;

    /// Closes the open pull request `number` of `repo`, first posting `comment` on it (so the
    /// comment is there when the closing notification goes out). Forges without pull requests
    /// refuse.
    fn close_pull_request(&self, repo: &RepoRef, number: u64, comment: &str) -> anyhow::Result<()> {
        let _ = (number, comment);
        anyhow::bail!("{repo}: {} repositories have no pull requests", self.kind())
    }

    /// Deletes branch `branch` (a name under `refs/heads/`) of `repo` when it still points at
    /// `expected`, the commit whose ownership the caller checked; a branch that moved is left
    /// alone ([`BranchDeletion::Moved`]). The default refuses.
    fn delete_branch(
        &self,
        repo: &RepoRef,
        branch: &str,
        expected: broadcast_git_batch::ObjectId,
    ) -> anyhow::Result<BranchDeletion> {
        let _ = (branch, expected);
        anyhow::bail!("{repo}: the {} forge cannot delete branches", self.kind())
    }

    /// True when this forge has pull requests at all (`local` does not).
    fn has_pull_requests(&self) -> bool {
        true
    }

    /// Called once per group after every target was read and before the first write, with the
    /// number of targets on this forge that need writes. An error refuses the group's writes
    /// (its targets are reported skipped with the message). GitHub checks its rate-limit budget
    /// here; the default accepts.
    fn preflight(&self, _group_id: &str, _targets_needing_writes: usize) -> anyhow::Result<()> {
        Ok(())
    }

    /// [`Forge::preflight`] with the pull-request metadata of each target needing writes (one
    /// entry per target), so a forge can estimate its write calls per target. The default calls
    /// `preflight(group_id, targets.len())`.
    fn preflight_targets(
        &self,
        group_id: &str,
        targets: &[&crate::plan::PrMetadata],
    ) -> anyhow::Result<()> {
        self.preflight(group_id, targets.len())
    }

    /// `cancel`'s check before a group's writes: `targets` targets on this forge need
    /// `write_calls` content-creating requests in all (comment, close, branch delete). Called
    /// once per group after every target was read; an error refuses the group's writes (its
    /// targets are reported skipped with the message). GitHub runs the same rate-limit
    /// preflight as for sync; the default accepts.
    fn preflight_writes(
        &self,
        _group_id: &str,
        _targets: usize,
        _write_calls: u64,
    ) -> anyhow::Result<()> {
        Ok(())
    }

    /// Checks the files about to be written to `repo` against the forge's limits (GitHub: 100 MiB
    /// per file, a warning over 50 MiB). Called once per target before its commit is written; an
    /// error refuses that target only. The default accepts everything.
    fn check_files(
        &self,
        _repo: &RepoRef,
        _changes: &[crate::report::FileChange],
    ) -> anyhow::Result<()> {
        Ok(())
    }

    /// A clearer message for a failure of `repo` (the whole error chain as text), when the forge
    /// recognises it, e.g. git's "could not read Username" after the server refused the token.
    /// The default recognises nothing.
    fn explain_failure(&self, _repo: &RepoRef, _message: &str) -> Option<String> {
        None
    }
}

/// The forges of a run, one per kind ([`Forge::kind`]); a repository reference names its kind
/// ([`RepoRef::forge_kind`]). The local forge is always there.
///
/// Adding a forge: a module implementing [`Forge`], a [`RepoRef`] form that names its kind, and
/// one [`Forges::register`] call where the CLI builds the set.
#[derive(Clone)]
pub struct Forges {
    list: Vec<Arc<dyn Forge>>,
}

impl Default for Forges {
    fn default() -> Self {
        Forges {
            list: vec![Arc::new(local::LocalForge)],
        }
    }
}

impl std::fmt::Debug for Forges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|x| x.kind()))
            .finish()
    }
}

impl Forges {
    /// Adds (or replaces) the forge of `forge.kind()`.
    pub fn register(&mut self, forge: Arc<dyn Forge>) -> &mut Self {
        self.list.retain(|f| f.kind() != forge.kind());
        self.list.push(forge);
        self
    }

    /// The forge that serves `repo`.
    ///
    /// Errors when none of its kind is registered (for GitHub: no token was found), naming the
    /// repository.
    pub fn for_repo(&self, repo: &RepoRef) -> anyhow::Result<Arc<dyn Forge>> {
        let kind = repo.forge_kind();
        self.list
            .iter()
            .find(|f| f.kind() == kind)
            .cloned()
            .ok_or_else(|| {
                let hint = match kind {
                    "github" => " (set GH_TOKEN or GITHUB_TOKEN)",
                    _ => "",
                };
                anyhow::anyhow!(
                    "{repo} is a {kind} repository, but no {kind} forge is configured{hint}"
                )
            })
    }

    /// Every registered forge.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Forge>> {
        self.list.iter()
    }
}
