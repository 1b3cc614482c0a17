//! Undoing a campaign on GitHub: closing a sync pull request with a comment and deleting a sync
//! branch (REST: "Create an issue comment", "Update a pull request", "Get a reference",
//! "Delete a reference"). Every write goes through the transport's pacing.

use broadcast_git_batch::ObjectId;

use super::transport::Method;
use super::{GitHubError, GitHubForge, Result, encode_query, model};
use crate::forge::BranchDeletion;

/// `heads/<branch>` for a REST path: each `/`-separated part percent-encoded, the `/` kept
/// (GitHub's refs endpoints take the ref name's slashes as they are).
fn heads_path(branch: &str) -> String {
    let parts: Vec<String> = branch.split('/').map(encode_query).collect();
    format!("heads/{}", parts.join("/"))
}

impl GitHubForge {
    /// Posts `comment` on pull request `number`, then closes it:
    /// `POST /repos/{owner}/{repo}/issues/{number}/comments` `{"body": comment}` (201), then
    /// `PATCH /repos/{owner}/{repo}/pulls/{number}` `{"state": "closed"}` (200). Two paced writes.
    /// A pull request already closed is closed again without harm (GitHub answers 200).
    pub fn close_pull(&self, owner: &str, name: &str, number: u64, comment: &str) -> Result<()> {
        let repo = format!("{owner}/{name}");
        self.http.write_json(
            Method::Post,
            &format!("/repos/{owner}/{name}/issues/{number}/comments"),
            &model::CreateComment { body: comment },
            &repo,
        )?;
        self.http.write_json(
            Method::Patch,
            &format!("/repos/{owner}/{name}/pulls/{number}"),
            &model::SetPullState { state: "closed" },
            &repo,
        )?;
        Ok(())
    }

    /// Deletes branch `branch` when it still points at `expected`:
    /// `GET /repos/{owner}/{repo}/git/ref/heads/{branch}` (404: already gone; another commit:
    /// moved, left alone), then `DELETE /repos/{owner}/{repo}/git/refs/heads/{branch}` (204; a
    /// 422 "Reference does not exist" counts as already gone). One read and one paced write.
    ///
    /// REST has no compare-and-delete: a push landing between the read and the delete (a window
    /// of one request) would be deleted with the branch. The commits stay reachable from the
    /// pull request's history on GitHub.
    pub fn delete_branch_ref(
        &self,
        owner: &str,
        name: &str,
        branch: &str,
        expected: ObjectId,
    ) -> Result<BranchDeletion> {
        let repo = format!("{owner}/{name}");
        let path = heads_path(branch);
        let current: model::GitRef = match self
            .http
            .get_json(&format!("/repos/{owner}/{name}/git/ref/{path}"), &repo)
        {
            Ok(r) => r,
            Err(GitHubError::NotFound { .. }) => return Ok(BranchDeletion::AlreadyGone),
            Err(e) => return Err(e),
        };
        if !current
            .object
            .sha
            .eq_ignore_ascii_case(&expected.to_string())
        {
            return Ok(BranchDeletion::Moved {
                tip: current.object.sha,
            });
        }
        let url = format!("{}/repos/{owner}/{name}/git/refs/{path}", self.api_url);
        match self.http.request(Method::Delete, &url, None, &repo) {
            Ok(_) => Ok(BranchDeletion::Deleted),
            Err(GitHubError::NotFound { .. }) => Ok(BranchDeletion::AlreadyGone),
            Err(GitHubError::Status {
                status: 422,
                message,
                ..
            }) if message.to_ascii_lowercase().contains("does not exist") => {
                Ok(BranchDeletion::AlreadyGone)
            }
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::heads_path;

    #[test]
    fn branch_paths_keep_slashes_and_encode_the_rest() {
        assert_eq!(heads_path("chore/sync-files-g"), "heads/chore/sync-files-g");
        assert_eq!(heads_path("a b/c#d"), "heads/a%20b/c%23d");
    }
}
