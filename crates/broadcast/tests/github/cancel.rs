//! `cancel` on GitHub: the REST calls against httpmock (documented shapes: "Create an issue
//! comment", "Update a pull request", "Get a reference", "Delete a reference"), and the binary
//! end to end with real git over HTTP.

use broadcast::forge::{BranchDeletion, Forge};
use broadcast::repo::RepoRef;
use broadcast_git_batch::ObjectId;
use httpmock::Method::{DELETE, GET, PATCH, POST};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

use crate::Result;
use crate::fixtures::{FakeClock, TOKEN, flag, forge, is_set, pull_json, set, untouched};
use crate::git_http::git_ok;
use crate::world::{
    BRANCH, World, any_write, list_pulls, pull, rate_limit, target_report, unexpected,
};

const TIP: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn api_repo() -> RepoRef {
    RepoRef::GitHub {
        owner: "acme".into(),
        name: "api".into(),
    }
}

fn oid(hex: &str) -> ObjectId {
    ObjectId::from_hex(hex).expect("hex")
}

/// "Get a reference" for `refs/heads/{BRANCH}` of `repo` pointing at `sha`.
fn get_ref<'a>(api: &'a MockServer, repo: &str, sha: &str) -> Mock<'a> {
    api.mock(|when, then| {
        when.method(GET)
            .path(format!("/repos/{repo}/git/ref/heads/{BRANCH}"));
        then.status(200).json_body(json!({
            "ref": format!("refs/heads/{BRANCH}"),
            "node_id": "MDM6UmVmcmVmcy9oZWFkcy9mZWF0dXJlQQ==",
            "url": format!("https://api.github.com/repos/{repo}/git/refs/heads/{BRANCH}"),
            "object": {"type": "commit", "sha": sha, "url": "https://api.github.com/x"}
        }));
    })
}

fn delete_ref<'a>(api: &'a MockServer, repo: &str, status: u16) -> Mock<'a> {
    api.mock(|when, then| {
        when.method(DELETE)
            .path(format!("/repos/{repo}/git/refs/heads/{BRANCH}"))
            .header("authorization", format!("Bearer {TOKEN}"));
        if status == 204 {
            then.status(204);
        } else {
            then.status(status).json_body(json!({
                "message": "Reference does not exist",
                "documentation_url": "https://docs.github.com/rest/git/refs#delete-a-reference"
            }));
        }
    })
}

fn comment<'a>(api: &'a MockServer, repo: &str, number: u64, includes: &str) -> Mock<'a> {
    let includes = includes.to_owned();
    api.mock(move |when, then| {
        when.method(POST)
            .path(format!("/repos/{repo}/issues/{number}/comments"))
            .body_includes(includes);
        then.status(201).json_body(json!({
            "id": 1, "node_id": "MDEyOklzc3VlQ29tbWVudDE=", "body": "closed", "user": {"login": "sync-bot"},
            "created_at": "2011-04-14T16:00:49Z", "updated_at": "2011-04-14T16:00:49Z"
        }));
    })
}

fn close<'a>(api: &'a MockServer, repo: &str, number: u64) -> Mock<'a> {
    let mut closed = pull(repo, number, "t", "b", &[]);
    closed["state"] = json!("closed");
    api.mock(move |when, then| {
        when.method(PATCH)
            .path(format!("/repos/{repo}/pulls/{number}"))
            .json_body(json!({"state": "closed"}));
        then.status(200).json_body(closed);
    })
}

#[test]
fn close_posts_the_comment_then_closes() -> Result {
    let api = MockServer::start();
    let commented = flag();
    let seen = commented.clone();
    let c = api.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/api/issues/42/comments")
            .json_body(json!({"body": "campaign withdrawn"}))
            .is_true(move |req: &httpmock::HttpMockRequest| {
                // Asked about every request: only the comment's sets the flag.
                if req.method_str() == "POST" && req.uri().path().ends_with("/comments") {
                    set(&seen);
                }
                true
            });
        then.status(201)
            .json_body(json!({"id": 1, "body": "campaign withdrawn"}));
    });
    let mut closed = pull_json(42, BRANCH, "t", "b", &[], &[]);
    closed["state"] = json!("closed");
    // The close matches only once the comment was posted: the comment comes first.
    let patch = api.mock(|when, then| {
        when.method(PATCH)
            .path("/repos/acme/api/pulls/42")
            .json_body(json!({"state": "closed"}))
            .is_true(move |_| is_set(&commented));
        then.status(200).json_body(closed);
    });
    let other = unexpected(&api);
    let f = forge(&api.base_url(), FakeClock::new());
    f.close_pull_request(&api_repo(), 42, "campaign withdrawn")?;
    c.assert_calls(1);
    patch.assert_calls(1);
    other.assert_calls(0);
    assert_eq!(f.stats().writes, 2);
    Ok(())
}

#[test]
fn delete_checks_the_tip_first_and_treats_gone_as_done() -> Result {
    // Still at the checked commit: deleted.
    let api = MockServer::start();
    let get = get_ref(&api, "acme/api", TIP);
    let del = delete_ref(&api, "acme/api", 204);
    let f = forge(&api.base_url(), FakeClock::new());
    assert_eq!(
        f.delete_branch(&api_repo(), BRANCH, oid(TIP))?,
        BranchDeletion::Deleted
    );
    get.assert_calls(1);
    del.assert_calls(1);

    // Moved since it was checked: no DELETE.
    let api = MockServer::start();
    let moved = "1111111111111111111111111111111111111111";
    get_ref(&api, "acme/api", moved);
    let del = delete_ref(&api, "acme/api", 204);
    let f = forge(&api.base_url(), FakeClock::new());
    assert_eq!(
        f.delete_branch(&api_repo(), BRANCH, oid(TIP))?,
        BranchDeletion::Moved {
            tip: moved.to_owned()
        }
    );
    del.assert_calls(0);

    // Gone before the read (404), or between the read and the delete (422).
    let api = MockServer::start();
    let missing = api.mock(|when, then| {
        when.method(GET)
            .path(format!("/repos/acme/api/git/ref/heads/{BRANCH}"));
        then.status(404).json_body(json!({"message": "Not Found"}));
    });
    let f = forge(&api.base_url(), FakeClock::new());
    assert_eq!(
        f.delete_branch(&api_repo(), BRANCH, oid(TIP))?,
        BranchDeletion::AlreadyGone
    );
    missing.assert_calls(1);
    let api = MockServer::start();
    get_ref(&api, "acme/api", TIP);
    let del = delete_ref(&api, "acme/api", 422);
    let f = forge(&api.base_url(), FakeClock::new());
    assert_eq!(
        f.delete_branch(&api_repo(), BRANCH, oid(TIP))?,
        BranchDeletion::AlreadyGone
    );
    del.assert_calls(1);
    Ok(())
}

/// Puts a sync branch on served repository `owner/name`: broadcast's commit (its trailers) on
/// `main`, plus, when `foreign`, a colleague's commit on top. Returns the branch tip.
fn sync_branch(w: &World, name: &str, foreign: bool) -> Result<String> {
    let work = w.tmp.path().join(format!("work-acme-{name}"));
    let bare = w.root.join("acme").join(format!("{name}.git"));
    git_ok(&w.home, &work, None, &["checkout", "-q", "-b", BRANCH])?;
    std::fs::write(work.join("README.md"), "# template\n")?;
    git_ok(&w.home, &work, None, &["add", "-A"])?;
    git_ok(
        &w.home,
        &work,
        None,
        &["commit", "-q", "-m", &World::own_commit_message()],
    )?;
    if foreign {
        w.commit(&work, &[("fix.txt", "fix\n")], "fix the lint config")?;
    }
    let url = bare.to_str().ok_or("utf-8 path")?;
    git_ok(&w.home, &work, None, &["push", "-q", url, BRANCH])?;
    git_ok(&w.home, &work, None, &["checkout", "-q", "main"])?;
    w.git(&bare, &["rev-parse", &format!("refs/heads/{BRANCH}")])
}

/// A world with served repository `acme/gamma` holding broadcast's sync branch, and a config
/// syncing `README.md` to it: (world, gamma's path, the branch tip, the config).
fn gamma_with_sync_branch() -> Result<(World, std::path::PathBuf, String, std::path::PathBuf)> {
    let w = World::new(&[("README.md", "# template\n")])?;
    let gamma = w.target("acme", "gamma", &[("README.md", "# gamma\n")])?;
    let tip = sync_branch(&w, "gamma", false)?;
    let config = w.config(
        "      - repo: acme/gamma\n        files:\n          - {src: README.md, dest: README.md}\n",
    )?;
    Ok((w, gamma, tip, config))
}

fn cancel(
    w: &World,
    config: &std::path::Path,
    api: &MockServer,
    extra: &[&str],
) -> Result<(i32, Value)> {
    crate::world::report_of(&w.run_command("cancel", config, api, extra, &[])?)
}

#[test]
fn cancel_closes_deletes_leaves_foreign_branches_and_finds_nothing_the_second_time() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    let alpha = w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    let beta = w.target("acme", "beta", &[("README.md", "# beta\n")])?;
    let tip = sync_branch(&w, "alpha", false)?;
    let beta_tip = sync_branch(&w, "beta", true)?;
    let entry = |n: &str| {
        format!(
            "      - repo: acme/{n}\n        files:\n          - {{src: README.md, dest: README.md}}\n"
        )
    };
    let config = w.config(&format!("{}{}", entry("alpha"), entry("beta")))?;

    // Dry run: the pull request and branch it would close and delete; no write.
    let api = MockServer::start();
    let writes = any_write(&api);
    let beta_calls = untouched(&api, "acme/beta");
    let list = list_pulls(
        &api,
        "acme/alpha",
        json!([pull("acme/alpha", 3, "t", "b", &[])]),
    );
    let other = unexpected(&api);
    let (code, report) = cancel(&w, &config, &api, &["--dry-run", "--delete-branch"])?;
    assert_eq!(code, 1, "beta is blocked: {report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "would_cancel", "{a:#}");
    assert_eq!(a["pull_request"]["number"], 3);
    assert_eq!(a["branch_action"], "would_delete");
    let b = target_report(&report, "acme/beta")?;
    assert_eq!(b["status"], "blocked", "{b:#}");
    assert_eq!(b["foreign_commits"][0]["commit"], beta_tip.as_str());
    writes.assert_calls(0);
    beta_calls.assert_calls(0);
    list.assert_calls(1);
    other.assert_calls(0);
    drop(api);

    // The real run: comment, close, check the tip, delete. Beta is not asked about.
    let api = MockServer::start();
    let beta_calls = untouched(&api, "acme/beta");
    let list = list_pulls(
        &api,
        "acme/alpha",
        json!([pull("acme/alpha", 3, "t", "b", &[])]),
    );
    let limit = rate_limit(&api);
    let posted = comment(&api, "acme/alpha", 3, "broadcast cancel");
    let closed = close(&api, "acme/alpha", 3);
    let get = get_ref(&api, "acme/alpha", &tip);
    let del = delete_ref(&api, "acme/alpha", 204);
    let other = unexpected(&api);
    let (code, report) = cancel(
        &w,
        &config,
        &api,
        &["--delete-branch", "--write-interval-ms", "0"],
    )?;
    assert_eq!(code, 1, "{report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "cancelled", "{a:#}");
    assert_eq!(a["pull_request"]["action"], "closed");
    assert_eq!(a["branch_action"], "deleted");
    assert_eq!(report["totals"]["pull_requests_closed"], 1);
    assert_eq!(report["totals"]["branches_deleted"], 1);
    list.assert_calls(1);
    posted.assert_calls(1);
    closed.assert_calls(1);
    get.assert_calls(1);
    del.assert_calls(1);
    beta_calls.assert_calls(0);
    limit.assert_calls(1);
    other.assert_calls(0);
    assert!(w.refs(&beta)?.contains_key(&format!("refs/heads/{BRANCH}")));
    drop(api);

    // GitHub deleted the branch (the double only answered): a second run finds nothing to do
    // and sends no request at all.
    w.git(
        &alpha,
        &["update-ref", "-d", &format!("refs/heads/{BRANCH}")],
    )?;
    let api = MockServer::start();
    let other = unexpected(&api);
    let (code, report) = cancel(
        &w,
        &config,
        &api,
        &["--delete-branch", "--groups", "tmpl", "acme/alpha"],
    )?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(
        target_report(&report, "acme/alpha")?["status"],
        "nothing_to_do"
    );
    other.assert_calls(0);
    Ok(())
}

#[test]
fn cancel_writes_are_paced_like_sync_writes() -> Result {
    let api = MockServer::start();
    comment(&api, "acme/api", 42, "withdrawn");
    let mut closed = pull_json(42, BRANCH, "t", "b", &[], &[]);
    closed["state"] = json!("closed");
    api.mock(|when, then| {
        when.method(PATCH).path("/repos/acme/api/pulls/42");
        then.status(200).json_body(closed);
    });
    get_ref(&api, "acme/api", TIP);
    delete_ref(&api, "acme/api", 204);
    let clock = FakeClock::new();
    let mut o = crate::fixtures::options(&api.base_url(), clock.clone());
    o.write_pacing = broadcast::forge::github::Pacing {
        interval: std::time::Duration::from_secs(1),
        per_hour: 0,
        ..Default::default()
    };
    let f = broadcast::forge::github::GitHubForge::new(o)?;
    f.close_pull_request(&api_repo(), 42, "withdrawn")?;
    f.delete_branch(&api_repo(), BRANCH, oid(TIP))?;
    // Three writes (comment, close, delete) one interval apart; the read is not paced.
    assert_eq!(clock.sleeps(), vec![std::time::Duration::from_secs(1); 2]);
    assert_eq!(f.stats().writes, 3);
    Ok(())
}

#[test]
fn cancel_without_delete_branch_closes_and_keeps_the_branch() -> Result {
    let (w, gamma, tip, config) = gamma_with_sync_branch()?;
    let api = MockServer::start();
    let list = list_pulls(
        &api,
        "acme/gamma",
        json!([pull("acme/gamma", 4, "t", "b", &[])]),
    );
    let limit = rate_limit(&api);
    let posted = comment(&api, "acme/gamma", 4, "is kept");
    let closed = close(&api, "acme/gamma", 4);
    let other = unexpected(&api);
    let (code, report) = cancel(&w, &config, &api, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let g = target_report(&report, "acme/gamma")?;
    assert_eq!(g["status"], "cancelled", "{g:#}");
    assert_eq!(g["pull_request"]["action"], "closed");
    assert_eq!(g["branch_action"], "kept");
    list.assert_calls(1);
    posted.assert_calls(1);
    closed.assert_calls(1);
    limit.assert_calls(1);
    other.assert_calls(0);
    assert_eq!(
        w.git(&gamma, &["rev-parse", &format!("refs/heads/{BRANCH}")])?,
        tip
    );
    Ok(())
}

#[test]
fn a_colleague_commit_under_broadcasts_tip_still_blocks_cancel() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    let delta = w.target("acme", "delta", &[("README.md", "# delta\n")])?;
    let theirs = w.colleague_under_own_commit("delta", "# template\n")?;
    let config = w.config(
        "      - repo: acme/delta\n        files:\n          - {src: README.md, dest: README.md}\n",
    )?;
    let before = w.refs(&delta)?;
    let api = MockServer::start();
    let other = unexpected(&api);
    let (code, report) = cancel(&w, &config, &api, &["--delete-branch"])?;
    assert_eq!(code, 1, "{report:#}");
    let d = target_report(&report, "acme/delta")?;
    assert_eq!(d["status"], "blocked", "{d:#}");
    let foreign = d["foreign_commits"].as_array().ok_or("foreign_commits")?;
    assert_eq!(foreign.len(), 1, "{d:#}");
    assert_eq!(foreign[0]["commit"], theirs.as_str());
    other.assert_calls(0);
    assert_eq!(w.refs(&delta)?, before, "nothing deleted");
    Ok(())
}

#[test]
fn cancel_checks_the_rate_limit_budget_before_its_writes() -> Result {
    let (w, gamma, tip, config) = gamma_with_sync_branch()?;
    let api = MockServer::start();
    let limit = one_request_left(&api);
    let writes = any_write(&api);
    let list = list_pulls(
        &api,
        "acme/gamma",
        json!([pull("acme/gamma", 4, "t", "b", &[])]),
    );
    let other = unexpected(&api);
    let (code, report) = cancel(&w, &config, &api, &["--delete-branch"])?;
    assert_eq!(code, 1, "{report:#}");
    let g = target_report(&report, "acme/gamma")?;
    assert_eq!(g["status"], "skipped", "{g:#}");
    let error = g["error"].as_str().ok_or("error")?;
    assert!(error.contains("rate-limit preflight"), "{error}");
    assert!(error.contains("only 1 of the 1 remaining"), "{error}");
    limit.assert_calls(1);
    list.assert_calls(1);
    writes.assert_calls(0);
    other.assert_calls(0);
    assert_eq!(
        w.git(&gamma, &["rev-parse", &format!("refs/heads/{BRANCH}")])?,
        tip
    );
    drop(api);

    // --ignore-rate-limit: the same estimate is printed, and the writes go ahead.
    let api = MockServer::start();
    let limit = one_request_left(&api);
    list_pulls(
        &api,
        "acme/gamma",
        json!([pull("acme/gamma", 4, "t", "b", &[])]),
    );
    let posted = comment(&api, "acme/gamma", 4, "is kept");
    let closed = close(&api, "acme/gamma", 4);
    let other = unexpected(&api);
    let (code, report) = cancel(&w, &config, &api, &["--ignore-rate-limit"])?;
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(target_report(&report, "acme/gamma")?["status"], "cancelled");
    limit.assert_calls(1);
    posted.assert_calls(1);
    closed.assert_calls(1);
    other.assert_calls(0);
    Ok(())
}

/// `GET /rate_limit` with one request left until a reset long after any run.
fn one_request_left(api: &MockServer) -> Mock<'_> {
    api.mock(|when, then| {
        when.method(GET).path("/rate_limit");
        let core = json!({"limit": 5000, "used": 4999, "remaining": 1, "reset": 4_102_444_800_u64});
        then.status(200)
            .json_body(json!({"resources": {"core": core}, "rate": core}));
    })
}
