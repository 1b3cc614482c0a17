//! Typed GitHub REST request and response bodies. Field names are the REST field names
//! (<https://docs.github.com/en/rest/pulls/pulls>, `repos/repos`, `users/users`, `issues/labels`,
//! `issues/assignees`, `pulls/review-requests`, `rate-limit/rate-limit`); responses keep only the
//! fields the forge reads (serde ignores the rest).

use serde::{Deserialize, Serialize};

/// `GET /repos/{owner}/{repo}`.
#[derive(Debug, Deserialize)]
pub(super) struct Repository {
    pub(super) default_branch: Option<String>,
    #[serde(default)]
    pub(super) archived: bool,
}

/// `GET /user`, and the `user` / `assignees` / `requested_reviewers` items of a pull request.
#[derive(Debug, Deserialize)]
pub(super) struct User {
    pub(super) login: String,
}

/// An item of a pull request's `labels`.
#[derive(Debug, Deserialize)]
pub(super) struct Label {
    pub(super) name: String,
}

/// An item of a pull request's `requested_teams`.
#[derive(Debug, Deserialize)]
pub(super) struct Team {
    pub(super) slug: String,
}

/// A pull request's `head` / `base`.
#[derive(Debug, Deserialize)]
pub(super) struct BranchRef {
    #[serde(rename = "ref")]
    pub(super) ref_name: String,
}

/// A pull request as returned by list, create, get and update.
#[derive(Debug, Deserialize)]
pub(super) struct Pull {
    pub(super) number: u64,
    pub(super) html_url: String,
    pub(super) title: String,
    pub(super) body: Option<String>,
    pub(super) head: BranchRef,
    pub(super) base: BranchRef,
    pub(super) created_at: Option<String>,
    pub(super) user: Option<User>,
    #[serde(default)]
    pub(super) labels: Vec<Label>,
    #[serde(default)]
    pub(super) assignees: Vec<User>,
    #[serde(default)]
    pub(super) requested_reviewers: Vec<User>,
    #[serde(default)]
    pub(super) requested_teams: Vec<Team>,
}

/// `POST /repos/{owner}/{repo}/pulls`.
#[derive(Debug, Serialize)]
pub(super) struct CreatePull<'a> {
    pub(super) title: &'a str,
    pub(super) body: &'a str,
    pub(super) head: &'a str,
    pub(super) base: &'a str,
    pub(super) draft: bool,
}

/// `PATCH /repos/{owner}/{repo}/pulls/{pull_number}`.
#[derive(Debug, Serialize)]
pub(super) struct UpdatePull<'a> {
    pub(super) title: &'a str,
    pub(super) body: &'a str,
}

/// `POST /repos/{owner}/{repo}/issues/{issue_number}/labels`.
#[derive(Debug, Serialize)]
pub(super) struct AddLabels<'a> {
    pub(super) labels: &'a [String],
}

/// `POST /repos/{owner}/{repo}/issues/{issue_number}/assignees`.
#[derive(Debug, Serialize)]
pub(super) struct AddAssignees<'a> {
    pub(super) assignees: &'a [String],
}

/// `POST /repos/{owner}/{repo}/pulls/{pull_number}/requested_reviewers`.
#[derive(Debug, Serialize)]
pub(super) struct RequestReviewers<'a> {
    pub(super) reviewers: &'a [String],
    pub(super) team_reviewers: &'a [String],
}

/// `GET /rate_limit`.
#[derive(Debug, Deserialize)]
pub(super) struct RateLimitOverview {
    pub(super) resources: RateLimitResources,
}

/// `resources` of `GET /rate_limit` (only the `core` REST budget).
#[derive(Debug, Deserialize)]
pub(super) struct RateLimitResources {
    pub(super) core: RateLimitCore,
}

/// One budget of `GET /rate_limit`.
#[derive(Debug, Deserialize)]
pub(super) struct RateLimitCore {
    pub(super) limit: u64,
    pub(super) remaining: u64,
    pub(super) used: u64,
    pub(super) reset: u64,
}

/// The error body GitHub sends with 4xx responses (`message`, `errors[]`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ErrorBody {
    pub(super) message: Option<String>,
    #[serde(default)]
    pub(super) errors: Vec<ErrorDetail>,
}

/// One item of `errors[]` in a 422 body.
#[derive(Debug, Deserialize)]
pub(super) struct ErrorDetail {
    pub(super) message: Option<String>,
    pub(super) code: Option<String>,
}

impl ErrorBody {
    /// `message` plus every `errors[].message` (or `code`), joined with `; `.
    pub(super) fn summary(&self) -> String {
        let mut parts: Vec<&str> = Vec::new();
        if let Some(m) = &self.message {
            parts.push(m);
        }
        for e in &self.errors {
            if let Some(m) = e.message.as_deref().or(e.code.as_deref()) {
                parts.push(m);
            }
        }
        parts.join("; ")
    }
}

/// `POST /repos/{owner}/{repo}/issues/{issue_number}/comments` ("Create an issue comment"; a
/// pull request is an issue for comments).
#[derive(Debug, Serialize)]
pub(super) struct CreateComment<'a> {
    pub(super) body: &'a str,
}

/// `PATCH /repos/{owner}/{repo}/pulls/{pull_number}` with `state` only ("Update a pull
/// request": `open` or `closed`).
#[derive(Debug, Serialize)]
pub(super) struct SetPullState<'a> {
    pub(super) state: &'a str,
}

/// `GET /repos/{owner}/{repo}/git/ref/{ref}` ("Get a reference").
#[derive(Debug, Deserialize)]
pub(super) struct GitRef {
    pub(super) object: GitRefObject,
}

/// `object` of a reference: the commit it points at.
#[derive(Debug, Deserialize)]
pub(super) struct GitRefObject {
    pub(super) sha: String,
}
