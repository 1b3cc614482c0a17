//! The local forge: repositories on this filesystem, no pull requests.

use anyhow::bail;

use super::{Forge, GitRemote, PullRequest, PullRequestAction, PullRequestSpec, RepoInfo};
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
}
