//! Whose commits are on a sync branch: every commit on it that is not on the base branch must
//! be broadcast's own, recognised by its trailers (never by author name). Anything else is
//! someone's work, and a sync that would push over it is refused unless `--force` says so.

use std::fmt::Write as _;

use anyhow::Context;
use broadcast_git_batch::{Commit, CommitSummary, FetchOptions, ObjectId, Repo};

use crate::commit::{TRAILER_GROUP, TRAILER_SOURCE_COMMIT};
pub use crate::report::ForeignCommit;

/// Why `c` is not a commit broadcast wrote for `group_id`, or `None` when it is. broadcast
/// writes exactly one non-merge commit per sync, carrying `Broadcast-Group: <id>` and
/// `Broadcast-Source-Commit: <id>`.
fn why_foreign(group_id: &str, c: &CommitSummary) -> Option<String> {
    why_foreign_parts(group_id, c.parents.len(), &c.trailers)
}

fn why_foreign_parts(
    group_id: &str,
    parents: usize,
    trailers: &[(String, String)],
) -> Option<String> {
    if parents > 1 {
        return Some("merge commit".to_owned());
    }
    let trailer = |key: &str| {
        trailers
            .iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    };
    match trailer(TRAILER_GROUP) {
        None => return Some(format!("no {TRAILER_GROUP} trailer")),
        Some(g) if g != group_id => return Some(format!("written for group '{g}'")),
        Some(_) => {}
    }
    if trailer(TRAILER_SOURCE_COMMIT).is_none() {
        return Some(format!("no {TRAILER_SOURCE_COMMIT} trailer"));
    }
    None
}

/// The commits of `base..sync` (as listed, newest first) that broadcast did not write for
/// `group_id`. Pure.
pub fn foreign_commits(group_id: &str, commits: &[CommitSummary]) -> Vec<ForeignCommit> {
    commits
        .iter()
        .filter_map(|c| {
            why_foreign(group_id, c).map(|reason| ForeignCommit {
                commit: c.oid.to_string(),
                author: format!("{} <{}>", c.author_name, c.author_email),
                subject: c.subject.clone(),
                reason,
            })
        })
        .collect()
}

/// Where the sync branch's history can be completed from, for a target read through a
/// shallow, blob-less fetch.
pub struct RemoteHistory<'a> {
    /// The target's URL.
    pub url: &'a str,
    /// The base branch on the remote (`None`: the repository has none).
    pub base_branch: Option<&'a str>,
    /// The local ref the sync branch was fetched to.
    pub sync_refspec: String,
}

/// The foreign commits of `base..sync` in `reader`. When the tip (`tip`, already read by the
/// caller) is broadcast's and sits right on `base`, it is the only commit of the range and
/// nothing is run. Otherwise, for a remote target (`remote` set, whose tip was fetched
/// alone) the history down to the base is fetched first (one more fetch); then one
/// `git rev-list` lists the range.
pub fn inspect_sync_branch(
    reader: &Repo,
    group_id: &str,
    base: Option<ObjectId>,
    sync: ObjectId,
    tip: Option<&Commit>,
    remote: Option<RemoteHistory<'_>>,
) -> anyhow::Result<Vec<ForeignCommit>> {
    if Some(sync) == base {
        return Ok(Vec::new());
    }
    if let Some(tip) = tip.filter(|t| t.oid == sync) {
        let parents: Vec<ObjectId> = base.into_iter().collect();
        if tip.parents == parents
            && why_foreign_parts(group_id, tip.parents.len(), &tip.trailers()).is_none()
        {
            return Ok(Vec::new());
        }
    }
    if let Some(remote) = remote
        && let Some(b) = remote.base_branch
    {
        reader
            .fetch(
                remote.url,
                &[remote.sync_refspec],
                &FetchOptions {
                    filter: Some("blob:none".to_owned()),
                    no_tags: true,
                    shallow_exclude: Some(format!("refs/heads/{b}")),
                    ..FetchOptions::default()
                },
            )
            .context("cannot fetch the sync branch's history")?;
    }
    let commits = reader
        .commits_between(base, sync)
        .context("cannot list the sync branch's commits")?;
    Ok(foreign_commits(group_id, &commits))
}

/// Why a target is blocked: each foreign commit, what was left alone, and the override.
pub fn blocked_message(branch: &str, foreign: &[ForeignCommit]) -> String {
    let mut out = format!(
        "sync branch {branch} has {} commit(s) broadcast did not write: ",
        foreign.len()
    );
    for (i, c) in foreign.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        let _ = write!(out, "{} ({})", c.describe(), c.reason);
    }
    out.push_str(
        ". Nothing was pushed and the pull request was left as it is; move that work elsewhere, or re-run `broadcast sync --force` to replace the branch and drop these commits",
    );
    out
}

/// The note of a run that replaced (`dry_run`: would replace) the branch under `--force`.
pub fn dropped_message(foreign: &[ForeignCommit], dry_run: bool) -> String {
    let list: Vec<String> = foreign.iter().map(ForeignCommit::describe).collect();
    format!(
        "--force: {} {} commit(s) broadcast did not write from the sync branch: {}",
        if dry_run { "would drop" } else { "dropped" },
        foreign.len(),
        list.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(parents: usize, trailers: &[(&str, &str)]) -> CommitSummary {
        let oid = |c: char| ObjectId::from_hex(&c.to_string().repeat(40)).expect("hex");
        CommitSummary {
            oid: oid('a'),
            parents: (0..parents).map(|_| oid('b')).collect(),
            author_name: "Jane Doe".to_owned(),
            author_email: "jane@example.com".to_owned(),
            subject: "fix".to_owned(),
            trailers: trailers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn which_commits_are_foreign() {
        let src = "0123456789012345678901234567890123456789";
        let check = |c: CommitSummary, want: Option<&str>| {
            assert_eq!(why_foreign("g", &c).as_deref(), want, "{c:?}");
        };
        let own = [
            ("Broadcast-Source", "acme/t"),
            ("Broadcast-Source-Commit", src),
            ("Broadcast-Group", "g"),
        ];
        check(commit(1, &own), None);
        // A root commit (empty target repository) is broadcast's too.
        check(commit(0, &own), None);
        check(commit(1, &[]), Some("no Broadcast-Group trailer"));
        check(
            commit(1, &[("Signed-off-by", "Jane <jane@example.com>")]),
            Some("no Broadcast-Group trailer"),
        );
        check(commit(2, &own), Some("merge commit"));
        check(commit(2, &[]), Some("merge commit"));
        check(
            commit(
                1,
                &[
                    ("Broadcast-Source-Commit", src),
                    ("Broadcast-Group", "other"),
                ],
            ),
            Some("written for group 'other'"),
        );
        check(
            commit(1, &[("Broadcast-Group", "g")]),
            Some("no Broadcast-Source-Commit trailer"),
        );
        // Trailer keys are case-insensitive, as in git-interpret-trailers(1).
        check(
            commit(
                1,
                &[("broadcast-source-commit", src), ("BROADCAST-GROUP", "g")],
            ),
            None,
        );
    }

    #[test]
    fn foreign_commits_keep_order_and_describe_themselves() {
        let own = commit(
            1,
            &[("Broadcast-Source-Commit", "x"), ("Broadcast-Group", "g")],
        );
        let mut mine = commit(1, &[]);
        mine.subject = "tab\there".to_owned();
        let got = foreign_commits("g", &[mine, own]);
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].describe(),
            "aaaaaaa Jane Doe <jane@example.com> \"tab\\there\""
        );
        let msg = blocked_message("chore/sync-files-g", &got);
        assert!(msg.contains("aaaaaaa") && msg.contains("--force"), "{msg}");
    }
}
