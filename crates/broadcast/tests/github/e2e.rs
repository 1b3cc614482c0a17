//! End to end: the real `broadcast` binary and real git against git's `git http-backend` (the
//! [`GitServer`] from `git_http.rs`, which refuses requests without the token's header) and a
//! fake GitHub REST API (httpmock, documented request and response shapes). Each run gets a
//! fresh mock server, so every count below is the number of requests one run sent.
//!
//! Cases: new target (pull request created, labels added), changed source (same branch
//! force-pushed with a lease, pull request patched in place), sync branch already up to date
//! (only the pull-request lookup), target already in sync (no request mentions it at all),
//! a secondary rate limit on the create (waited out), `--dry-run` (no write anywhere), and a
//! sync branch holding a colleague's commit (blocked, no request; its history is fetched).

use std::path::Path;
use std::sync::atomic::Ordering;

use httpmock::Method::{PATCH, POST};
use httpmock::MockServer;
use serde_json::json;

use crate::Result;
use crate::fixtures::untouched;

use crate::world::*;

const ALPHA_TARGET: &str = "      - repo: acme/alpha\n        pr_labels: [sync]\n        files:\n          - {src: README.md, dest: README.md}\n          - {src: ci/check.sh, dest: ci/check.sh}\n";
const SETTLED_TARGET: &str = "      - repo: acme/settled\n        files:\n          - {src: ci/check.sh, dest: ci/check.sh}\n";

#[test]
fn new_changed_up_to_date_in_sync_and_dry_run_against_fake_github() -> Result {
    let w = World::new(&[
        ("README.md", "# template v1\n"),
        ("ci/check.sh", "#!/bin/sh\nexit 0\n"),
    ])?;
    let alpha = w.target(
        "acme",
        "alpha",
        &[("README.md", "# alpha\n"), ("src/lib.rs", "\n")],
    )?;
    // Already carries the one file it receives: in sync from the first run on.
    let settled = w.target(
        "acme",
        "settled",
        &[
            ("ci/check.sh", "#!/bin/sh\nexit 0\n"),
            ("Makefile", "all:\n"),
        ],
    )?;
    let config = w.config(&format!("{ALPHA_TARGET}{SETTLED_TARGET}"))?;
    let alpha_main = w.git(&alpha, &["rev-parse", "refs/heads/main"])?;
    let settled_refs = w.refs(&settled)?;
    let pulls_path = "/repos/acme/alpha/pulls".to_owned();

    // Run 1, new target: one pull request created (head/base/title/body), label added.
    let src1 = w.git(&w.source, &["rev-parse", "HEAD"])?;
    let api = MockServer::start();
    let settled_calls = untouched(&api, "acme/settled");
    let limit = rate_limit(&api);
    let repo = repository(&api, "acme/alpha");
    let list = list_pulls(&api, "acme/alpha", json!([]));
    let (created_bodies, keep) = keep_body("POST", pulls_path.clone());
    let create = api.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/alpha/pulls")
            .json_body_includes(json!({"head": BRANCH, "base": "main", "draft": false}).to_string())
            .is_true(keep);
        then.status(201)
            .json_body(pull("acme/alpha", 1, "created", "created", &[]));
    });
    let labels = add_labels(&api, "acme/alpha", 1, &["sync"]);
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "synced", "{a:#}");
    assert_eq!(a["pull_request"]["number"], 1);
    assert_eq!(a["pull_request"]["action"], "created");
    assert_eq!(target_report(&report, "acme/settled")?["status"], "in_sync");
    limit.assert_calls(1);
    repo.assert_calls(1);
    list.assert_calls(1);
    create.assert_calls(1);
    labels.assert_calls(1);
    settled_calls.assert_calls(0);
    other.assert_calls(0);
    let posted = last(&created_bodies)?;
    let (title1, body1) = (
        posted["title"].as_str().ok_or("title")?.to_owned(),
        posted["body"].as_str().ok_or("body")?.to_owned(),
    );
    assert!(
        title1.starts_with("[Sync] Update project files from ") && title1.contains(&src1[..7]),
        "{title1}"
    );
    assert!(body1.contains(&src1), "{body1}");
    assert!(body1.contains("`README.md` (modified)"), "{body1}");
    assert!(body1.contains("`ci/check.sh` (added)"), "{body1}");
    // The branch was pushed over HTTP: one commit on top of main, main itself untouched.
    let sync1 = w.git(&alpha, &["rev-parse", BRANCH])?;
    assert_eq!(a["commit"], sync1.as_str());
    assert_eq!(
        w.git(&alpha, &["rev-parse", &format!("{BRANCH}^")])?,
        alpha_main
    );
    assert_eq!(
        w.git(&alpha, &["rev-parse", "refs/heads/main"])?,
        alpha_main
    );
    assert_eq!(
        w.git(&alpha, &["show", &format!("{BRANCH}:README.md")])?,
        "# template v1"
    );
    assert_eq!(
        w.git(&alpha, &["show", &format!("{BRANCH}:src/lib.rs")])?,
        ""
    );
    assert_eq!(w.refs(&settled)?, settled_refs);
    assert_eq!(w.git.rejected.load(Ordering::SeqCst), 0);
    drop(api);

    // Run 2, the source changed: the same branch is rewritten (new commit on main, not on the
    // old sync commit: a forced push with a lease) and the open pull request is patched.
    let src2 = w.commit(&w.source, &[("README.md", "# template v2\n")], "v2")?;
    let api = MockServer::start();
    let settled_calls = untouched(&api, "acme/settled");
    let limit = rate_limit(&api);
    let repo = repository(&api, "acme/alpha");
    let list = list_pulls(
        &api,
        "acme/alpha",
        json!([pull("acme/alpha", 1, &title1, &body1, &["sync"])]),
    );
    let create = api.mock(|when, then| {
        when.method(POST).path("/repos/acme/alpha/pulls");
        then.status(201)
            .json_body(pull("acme/alpha", 2, "second", "second", &[]));
    });
    let (patched_bodies, keep) = keep_body("PATCH", format!("{pulls_path}/1"));
    let patch = api.mock(|when, then| {
        when.method(PATCH)
            .path("/repos/acme/alpha/pulls/1")
            .is_true(keep);
        then.status(200)
            .json_body(pull("acme/alpha", 1, "patched", "patched", &["sync"]));
    });
    let labels = add_labels(&api, "acme/alpha", 1, &["sync"]);
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "synced", "{a:#}");
    assert_eq!(a["pull_request"]["number"], 1);
    assert_eq!(a["pull_request"]["action"], "updated");
    assert_eq!(target_report(&report, "acme/settled")?["status"], "in_sync");
    limit.assert_calls(1);
    repo.assert_calls(1);
    list.assert_calls(1);
    patch.assert_calls(1);
    create.assert_calls(0);
    labels.assert_calls(0);
    settled_calls.assert_calls(0);
    other.assert_calls(0);
    let patched = last(&patched_bodies)?;
    let (title2, body2) = (
        patched["title"].as_str().ok_or("title")?.to_owned(),
        patched["body"].as_str().ok_or("body")?.to_owned(),
    );
    assert!(title2.contains(&src2[..7]), "{title2}");
    assert!(body2.contains(&src2) && !body2.contains(&src1), "{body2}");
    let sync2 = w.git(&alpha, &["rev-parse", BRANCH])?;
    assert_ne!(sync2, sync1);
    assert_eq!(a["commit"], sync2.as_str());
    assert_eq!(
        w.git(&alpha, &["rev-parse", &format!("{BRANCH}^")])?,
        alpha_main
    );
    let ff = git_ok_status(&w, &alpha, &["merge-base", "--is-ancestor", &sync1, &sync2])?;
    assert!(
        !ff,
        "the update replaces the old sync commit instead of stacking on it"
    );
    assert_eq!(
        w.git(&alpha, &["show", &format!("{BRANCH}:README.md")])?,
        "# template v2"
    );
    assert_eq!(w.refs(&settled)?, settled_refs);
    drop(api);

    // Run 3, nothing changed: the sync branch already holds the tree; only the pull request is
    // looked up (it matches, so nothing is patched).
    let before = w.refs(&alpha)?;
    let api = MockServer::start();
    let settled_calls = untouched(&api, "acme/settled");
    let writes = any_write(&api);
    let limit = rate_limit(&api);
    let repo = repository(&api, "acme/alpha");
    let list = list_pulls(
        &api,
        "acme/alpha",
        json!([pull("acme/alpha", 1, &title2, &body2, &["sync"])]),
    );
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "up_to_date", "{a:#}");
    assert_eq!(a["pull_request"]["action"], "unchanged");
    limit.assert_calls(1);
    repo.assert_calls(0);
    list.assert_calls(1);
    writes.assert_calls(0);
    settled_calls.assert_calls(0);
    other.assert_calls(0);
    assert_eq!(w.refs(&alpha)?, before);
    drop(api);

    // Run 4, --dry-run after another source change: reported, nothing sent, nothing written.
    w.commit(&w.source, &[("README.md", "# template v3\n")], "v3")?;
    let served = snapshot(&w.root)?;
    let api = MockServer::start();
    let writes = any_write(&api);
    let limit = rate_limit(&api);
    let repo = repository(&api, "acme/alpha");
    let list = list_pulls(&api, "acme/alpha", json!([]));
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &["--dry-run"])?;
    assert_eq!(code, 0, "{report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "would_sync", "{a:#}");
    assert_eq!(a["files_modified"], 1);
    assert_eq!(target_report(&report, "acme/settled")?["status"], "in_sync");
    writes.assert_calls(0);
    // A dry run decides from git alone: no read either.
    limit.assert_calls(0);
    repo.assert_calls(0);
    list.assert_calls(0);
    other.assert_calls(0);
    assert!(
        snapshot(&w.root)? == served,
        "a dry run changed a served repository"
    );
    assert_eq!(w.git.rejected.load(Ordering::SeqCst), 0);
    Ok(())
}

/// Runs git and tells whether it succeeded (for predicates such as `merge-base --is-ancestor`).
fn git_ok_status(w: &World, dir: &Path, args: &[&str]) -> Result<bool> {
    Ok(crate::git_http::git(&w.home, dir, None, args)?
        .status
        .success())
}

#[test]
fn secondary_rate_limit_on_create_is_waited_out() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    let gamma = w.target("acme", "gamma", &[("README.md", "# gamma\n")])?;
    let config = w.config(
        "      - repo: acme/gamma\n        branch: main\n        files:\n          - {src: README.md, dest: README.md}\n",
    )?;
    let api = MockServer::start();
    let limit = rate_limit(&api);
    let repo = repository(&api, "acme/gamma");
    let list = list_pulls(&api, "acme/gamma", json!([]));
    // Registered before the success mock and exhausted after one answer.
    let limited = api.mock(|when, then| {
        when.method(POST).path("/repos/acme/gamma/pulls");
        then.status(403)
            .header("retry-after", "1")
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-remaining", "4990")
            .json_body(json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
            }))
            .up_to_n_times(1);
    });
    let create = api.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/gamma/pulls")
            .json_body_includes(json!({"head": BRANCH, "base": "main"}).to_string());
        then.status(201)
            .json_body(pull("acme/gamma", 5, "created", "created", &[]));
    });
    // No labels configured: the default label applies.
    let labels = add_labels(&api, "acme/gamma", 5, &["automated-sync"]);
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let g = target_report(&report, "acme/gamma")?;
    assert_eq!(g["status"], "synced", "{g:#}");
    assert_eq!(g["pull_request"]["number"], 5);
    assert_eq!(g["pull_request"]["action"], "created");
    limited.assert_calls(1);
    create.assert_calls(1);
    limit.assert_calls(1);
    repo.assert_calls(1);
    list.assert_calls(1);
    labels.assert_calls(1);
    other.assert_calls(0);
    assert!(
        w.refs(&gamma)?
            .contains_key(&format!("refs/heads/{BRANCH}"))
    );
    Ok(())
}

#[test]
fn colleague_commit_on_a_remote_sync_branch_blocks_without_a_request() -> Result {
    let w = World::new(&[("README.md", "# template v2\n")])?;
    let delta = w.target("acme", "delta", &[("README.md", "# delta\n")])?;
    let theirs = w.colleague_under_own_commit("delta", "# template v1\n")?;
    let config = w.config(
        "      - repo: acme/delta\n        branch: main\n        files:\n          - {src: README.md, dest: README.md}\n",
    )?;
    let before = w.refs(&delta)?;

    let api = MockServer::start();
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let d = target_report(&report, "acme/delta")?;
    assert_eq!(d["status"], "blocked", "{d:#}");
    let foreign = d["foreign_commits"].as_array().ok_or("foreign_commits")?;
    assert_eq!(
        foreign.len(),
        1,
        "broadcast's own commit is not listed: {d:#}"
    );
    assert_eq!(foreign[0]["commit"], theirs.as_str());
    assert_eq!(foreign[0]["author"], "Test Author <author@example.com>");
    let e = d["error"].as_str().unwrap_or_default();
    assert!(e.contains(&theirs[..7]) && e.contains("--force"), "{e}");
    other.assert_calls(0);
    assert_eq!(w.refs(&delta)?, before, "nothing pushed");

    // A forced dry run says what it would drop, and still writes nothing.
    let api = MockServer::start();
    let other = unexpected(&api);
    let (code, report) = w.sync(&config, &api, &["--dry-run", "--force"])?;
    assert_eq!(code, 0, "{report:#}");
    let d = target_report(&report, "acme/delta")?;
    assert_eq!(d["status"], "would_sync", "{d:#}");
    assert!(
        d["warnings"].to_string().contains("would drop 1 commit(s)"),
        "{d:#}"
    );
    other.assert_calls(0);
    assert_eq!(w.refs(&delta)?, before);
    Ok(())
}
