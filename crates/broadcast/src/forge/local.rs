//! The local forge: repositories on this filesystem, no pull requests.

use anyhow::bail;

use broadcast_git_batch::{Git, ObjectId};

use super::{
    BranchDeletion, Forge, GitRemote, PullRequest, PullRequestAction, PullRequestSpec, RepoInfo,
};
use crate::repo::RepoRef;

/// Local repositories (paths and `file://` URLs). No network, no token. The pushed sync branch is
/// the deliverable; there is no pull request.
#[derive(Debug, Default, Clone)]
pub struct LocalForge;

impl Forge for LocalForge {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn git_remote(&self, repo: &RepoRef) -> anyhow::Result<GitRemote> {
        match repo {
            RepoRef::Local { path } => Ok(GitRemote {
                url: path.display().to_string(),
                config: Vec::new(),
            }),
            RepoRef::GitHub { .. } => bail!("{repo} is a GitHub repository, not a local one"),
        }
    }

    fn repository(&self, _repo: &RepoRef) -> anyhow::Result<RepoInfo> {
        Ok(RepoInfo::default())
    }

    fn find_pull_request(
        &self,
        _repo: &RepoRef,
        _head: &str,
    ) -> anyhow::Result<Option<PullRequest>> {
        Ok(None)
    }

    fn upsert_pull_request(
        &self,
        repo: &RepoRef,
        _spec: &PullRequestSpec,
    ) -> anyhow::Result<(PullRequest, PullRequestAction)> {
        bail!("{repo}: local repositories have no pull requests")
    }

    fn has_pull_requests(&self) -> bool {
        false
    }

    /// `git update-ref --no-deref -- refs/heads/<branch> <null> <expected>` in the repository:
    /// git deletes the ref only while it still points at `expected` (git-update-ref(1)), under
    /// the ref's lock, so a concurrent push is never lost. One spawn, plus a `rev-parse` when
    /// git refuses.
    fn delete_branch(
        &self,
        repo: &RepoRef,
        branch: &str,
        expected: ObjectId,
    ) -> anyhow::Result<BranchDeletion> {
        let RepoRef::Local { path } = repo else {
            bail!("{repo} is a GitHub repository, not a local one");
        };
        let git = Git::new().open(&crate::repo::local_git_dir(path));
        let name = format!("refs/heads/{branch}");
        match git.update_ref(&name, ObjectId::null(), Some(expected)) {
            Ok(()) => Ok(BranchDeletion::Deleted),
            Err(e) => match git.rev_parse(&name)? {
                None => Ok(BranchDeletion::AlreadyGone),
                Some(tip) if tip != expected => Ok(BranchDeletion::Moved {
                    tip: tip.to_string(),
                }),
                Some(_) => Err(anyhow::Error::new(e)
                    .context(format!("cannot delete branch {branch} of {repo}"))),
            },
        }
    }
}
