//! Pull requests on GitHub: the lookup by head, the create-or-update with labels, assignees and
//! reviewers, and the helpers they share.

use super::*;

/// Percent-encodes a query component (RFC 3986 unreserved characters stay).
pub(super) fn encode_query(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn normalize_body(s: &str) -> String {
    s.replace("\r\n", "\n").trim_end().to_owned()
}

/// A pull request with the lists needed to add only what is missing.
pub(super) struct PullState {
    pub(super) pr: PullRequest,
    author: Option<String>,
    labels: Vec<String>,
    assignees: Vec<String>,
    reviewers: Vec<String>,
    teams: Vec<String>,
}

impl From<model::Pull> for PullState {
    fn from(p: model::Pull) -> PullState {
        PullState {
            pr: PullRequest {
                number: p.number,
                url: p.html_url,
                title: p.title,
                body: p.body.unwrap_or_default(),
                head: p.head.ref_name,
                base: p.base.ref_name,
                created_at: p.created_at,
            },
            author: p.user.map(|u| u.login),
            labels: p.labels.into_iter().map(|l| l.name).collect(),
            assignees: p.assignees.into_iter().map(|u| u.login).collect(),
            reviewers: p.requested_reviewers.into_iter().map(|u| u.login).collect(),
            teams: p.requested_teams.into_iter().map(|t| t.slug).collect(),
        }
    }
}

/// Items of `want` not in `have` (case-insensitive, as GitHub logins and labels compare), deduped.
pub(super) fn missing(want: &[String], have: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in want {
        let w = w.trim();
        if w.is_empty()
            || have.iter().any(|h| h.eq_ignore_ascii_case(w))
            || out.iter().any(|o| o.eq_ignore_ascii_case(w))
        {
            continue;
        }
        out.push(w.to_owned());
    }
    out
}

impl GitHubForge {
    fn find_state(&self, owner: &str, name: &str, head: &str) -> Result<Option<PullState>> {
        let path = format!(
            "/repos/{owner}/{name}/pulls?head={}&state=open",
            encode_query(&format!("{owner}:{head}"))
        );
        let pulls: Vec<model::Pull> = self.http.get_paginated(&path, &format!("{owner}/{name}"))?;
        Ok(pulls
            .into_iter()
            .find(|p| p.head.ref_name == head)
            .map(PullState::from))
    }

    /// `GET /repos/{owner}/{repo}/pulls?head={owner}:{head}&state=open` (all pages). One request
    /// per 100 open pull requests of that head (normally one).
    pub fn find_pull(&self, owner: &str, name: &str, head: &str) -> Result<Option<PullRequest>> {
        Ok(self.find_state(owner, name, head)?.map(|s| s.pr))
    }

    /// Opens or updates the pull request for `spec.head`, then adds missing labels, assignees and
    /// reviewers (the token's user and the pull request's author are never requested as
    /// reviewers). Requests: 1 lookup, then 1 create (or 1 update when title/body differ, or
    /// none), plus at most 3 writes and `GET /user` once per forge. A 422 "already exists" on
    /// create adopts and updates the existing pull request.
    pub fn upsert_pull(
        &self,
        owner: &str,
        name: &str,
        spec: &PullRequestSpec,
    ) -> Result<(PullRequest, PullRequestAction)> {
        let repo = format!("{owner}/{name}");
        let fitted = fit_pull_request_body(&spec.body);
        let capped;
        let spec = if fitted.len() == spec.body.len() {
            spec
        } else {
            capped = PullRequestSpec {
                body: fitted.into_owned(),
                ..spec.clone()
            };
            &capped
        };
        let (mut state, mut action) = match self.find_state(owner, name, &spec.head)? {
            Some(s) => (s, PullRequestAction::Unchanged),
            None => match self.create(owner, name, spec) {
                Ok(s) => (s, PullRequestAction::Created),
                Err(GitHubError::Status {
                    status: 422,
                    message,
                    ..
                }) if message.to_ascii_lowercase().contains("already exists") => {
                    tracing::info!(%repo, head = %spec.head, "pull request already exists: adopting it");
                    let s = self.find_state(owner, name, &spec.head)?.ok_or_else(|| {
                        GitHubError::ExistingPullRequestNotFound {
                            repo: repo.clone(),
                            head: spec.head.clone(),
                        }
                    })?;
                    (s, PullRequestAction::Unchanged)
                }
                Err(e) => return Err(e),
            },
        };
        if action != PullRequestAction::Created
            && (state.pr.title != spec.title
                || normalize_body(&state.pr.body) != normalize_body(&spec.body))
        {
            let body = model::UpdatePull {
                title: &spec.title,
                body: &spec.body,
            };
            let resp = self.http.write_json(
                Method::Patch,
                &format!("/repos/{owner}/{name}/pulls/{}", state.pr.number),
                &body,
                &repo,
            )?;
            let url = format!(
                "{}/repos/{owner}/{name}/pulls/{}",
                self.api_url, state.pr.number
            );
            let p: model::Pull = self.http.decode(Method::Patch, &url, &resp.body)?;
            let old = std::mem::replace(&mut state, PullState::from(p));
            // Keep the lists read before the update if the response omitted them.
            if state.labels.is_empty() {
                state.labels = old.labels;
            }
            action = PullRequestAction::Updated;
        }
        let number = state.pr.number;
        let labels = missing(&spec.labels, &state.labels);
        if !labels.is_empty() {
            self.http.write_json(
                Method::Post,
                &format!("/repos/{owner}/{name}/issues/{number}/labels"),
                &model::AddLabels { labels: &labels },
                &repo,
            )?;
        }
        let assignees = missing(&spec.assignees, &state.assignees);
        if !assignees.is_empty() {
            self.http.write_json(
                Method::Post,
                &format!("/repos/{owner}/{name}/issues/{number}/assignees"),
                &model::AddAssignees {
                    assignees: &assignees,
                },
                &repo,
            )?;
        }
        let mut reviewers = missing(&spec.reviewers, &state.reviewers);
        if !reviewers.is_empty() {
            let me = self.authenticated_login()?;
            reviewers.retain(|r| {
                !r.eq_ignore_ascii_case(&me)
                    && !state
                        .author
                        .as_deref()
                        .is_some_and(|a| a.eq_ignore_ascii_case(r))
            });
        }
        let teams = missing(&spec.team_reviewers, &state.teams);
        if !reviewers.is_empty() || !teams.is_empty() {
            self.http.write_json(
                Method::Post,
                &format!("/repos/{owner}/{name}/pulls/{number}/requested_reviewers"),
                &model::RequestReviewers {
                    reviewers: &reviewers,
                    team_reviewers: &teams,
                },
                &repo,
            )?;
        }
        Ok((state.pr, action))
    }

    fn create(&self, owner: &str, name: &str, spec: &PullRequestSpec) -> Result<PullState> {
        let repo = format!("{owner}/{name}");
        let path = format!("/repos/{owner}/{name}/pulls");
        let resp = self.http.write_json(
            Method::Post,
            &path,
            &model::CreatePull {
                title: &spec.title,
                body: &spec.body,
                head: &spec.head,
                base: &spec.base,
                draft: spec.draft,
            },
            &repo,
        )?;
        let url = format!("{}{path}", self.api_url);
        let p: model::Pull = self.http.decode(Method::Post, &url, &resp.body)?;
        Ok(PullState::from(p))
    }
}
