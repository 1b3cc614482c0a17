//! Conditional requests end to end: the fake GitHub emits `ETag`s and answers `304 Not Modified`
//! to a matching `If-None-Match`, as GitHub documents ("Best practices for using the REST API":
//! a 304 to a correctly authorised conditional request does not count against the primary rate
//! limit, and neither does `GET /rate_limit`). One mock server serves every run, so the API URL
//! (part of the cache partition) stays the same and a run can reuse the previous run's ETags.

use std::path::Path;

use httpmock::Method::{GET, POST};
use httpmock::{Mock, MockServer};
use serde_json::{Value, json};

use crate::Result;
use crate::fixtures::TOKEN;
use crate::world::{BRANCH, World, add_labels, pull, rate_limit, target_report, unexpected};

const REPO: &str = "acme/alpha";
const TARGET: &str = "      - repo: acme/alpha\n        pr_labels: [sync]\n        files:\n          - {src: README.md, dest: README.md}\n";

/// Mocks of one resource: `304` (no body) when `If-None-Match` is `etag`, else `200` with `body`
/// and `ETag: etag`. Only the second costs primary budget.
struct Conditional<'a> {
    not_modified: Mock<'a>,
    counted: Mock<'a>,
}

fn conditional<'a>(
    api: &'a MockServer,
    path: &str,
    query: &[(&str, &str)],
    etag: &str,
    body: Value,
) -> Conditional<'a> {
    let not_modified = api.mock(|when, then| {
        let mut w = when.method(GET).path(path).header("If-None-Match", etag);
        for (k, v) in query {
            w = w.query_param(*k, *v);
        }
        let _ = w;
        then.status(304)
            .header("ETag", etag)
            .header("x-ratelimit-remaining", "4990");
    });
    let counted = api.mock(|when, then| {
        let mut w = when.method(GET).path(path);
        for (k, v) in query {
            w = w.query_param(*k, *v);
        }
        let _ = w;
        then.status(200)
            .header("ETag", etag)
            .header("x-ratelimit-remaining", "4990")
            .json_body(body);
    });
    Conditional {
        not_modified,
        counted,
    }
}

fn list_pulls<'a>(api: &'a MockServer, etag: &str, pulls: Value) -> Conditional<'a> {
    let head = format!("acme:{BRANCH}");
    conditional(
        api,
        "/repos/acme/alpha/pulls",
        &[("head", head.as_str()), ("state", "open")],
        etag,
        pulls,
    )
}

fn repository<'a>(api: &'a MockServer, etag: &str) -> Conditional<'a> {
    conditional(
        api,
        "/repos/acme/alpha",
        &[],
        etag,
        json!({"id": 1, "name": "alpha", "full_name": REPO, "default_branch": "main", "archived": false}),
    )
}

/// Every file under `dir` (recursively).
fn files(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let e = e?;
            if e.file_type()?.is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    Ok(out)
}

#[test]
fn an_in_sync_rerun_costs_no_counted_request_and_no_cache_sends_no_validator() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    let config = w.config(TARGET)?;
    let cache = w.tmp.path().join("xdg-cache");
    let env = [("XDG_CACHE_HOME", Some(cache.to_str().ok_or("utf-8 path")?))];
    let api = MockServer::start();
    let run = |extra: &[&str]| -> Result<Value> {
        let out = w.run(&config, &api, extra, &env)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains(TOKEN), "token on stderr: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        Ok(serde_json::from_slice(&out.stdout)?)
    };

    // Run 1, new target: the lookup (ETag "e0") finds nothing, the pull request is created.
    let limit = rate_limit(&api);
    let repo = repository(&api, "\"r0\"");
    let list = list_pulls(&api, "\"e0\"", json!([]));
    let create = api.mock(|when, then| {
        when.method(POST).path("/repos/acme/alpha/pulls");
        then.status(201)
            .json_body(pull(REPO, 1, "created", "created", &[]));
    });
    let labels = add_labels(&api, REPO, 1, &["sync"]);
    let other = unexpected(&api);
    let report = run(&[])?;
    assert_eq!(
        target_report(&report, REPO)?["status"],
        "synced",
        "{report:#}"
    );
    limit.assert_calls(1);
    assert_eq!((repo.counted.calls(), list.counted.calls()), (1, 1));
    assert_eq!(
        (repo.not_modified.calls(), list.not_modified.calls()),
        (0, 0)
    );
    create.assert_calls(1);
    labels.assert_calls(1);
    other.assert_calls(0);
    let title = "[Sync] kept";
    let open = json!([pull(REPO, 1, title, "body", &["sync"])]);

    // Run 2, nothing changed: the kept "e0" no longer matches (the list now holds the pull
    // request), so the lookup is a counted 200 with "e1". The pull request's title and body
    // differ from what broadcast wants, so it is patched once: make them match for run 3.
    api.reset();
    let limit = rate_limit(&api);
    let list = list_pulls(&api, "\"e1\"", open.clone());
    let (patched, keep) = crate::world::keep_body("PATCH", "/repos/acme/alpha/pulls/1".to_owned());
    let patch = api.mock(|when, then| {
        when.method(httpmock::Method::PATCH)
            .path("/repos/acme/alpha/pulls/1")
            .is_true(keep);
        then.status(200)
            .json_body(pull(REPO, 1, title, "body", &["sync"]));
    });
    let other = unexpected(&api);
    let report = run(&[])?;
    assert_eq!(
        target_report(&report, REPO)?["status"],
        "up_to_date",
        "{report:#}"
    );
    limit.assert_calls(1);
    assert_eq!((list.counted.calls(), list.not_modified.calls()), (1, 0));
    other.assert_calls(0);
    let wanted = crate::world::last(&patched)?;
    let patch_calls = patch.calls();
    let open = json!([pull(
        REPO,
        1,
        wanted["title"].as_str().ok_or("title")?,
        wanted["body"].as_str().ok_or("body")?,
        &["sync"]
    )]);
    assert!(patch_calls <= 1);

    // Run 3 primes "e2" with the pull request as broadcast wants it.
    api.reset();
    let limit = rate_limit(&api);
    let list = list_pulls(&api, "\"e2\"", open.clone());
    let writes = crate::world::any_write(&api);
    let other = unexpected(&api);
    run(&[])?;
    limit.assert_calls(1);
    assert_eq!(list.counted.calls(), 1);
    writes.assert_calls(0);
    other.assert_calls(0);

    // Run 4, in sync and nothing changed on the server: every GET is answered 304.
    api.reset();
    let limit = rate_limit(&api);
    let list = list_pulls(&api, "\"e2\"", open.clone());
    let writes = crate::world::any_write(&api);
    let other = unexpected(&api);
    let report = run(&[])?;
    let a = target_report(&report, REPO)?;
    assert_eq!(a["status"], "up_to_date", "{a:#}");
    assert_eq!(
        a["pull_request"]["number"], 1,
        "the kept body was used: {a:#}"
    );
    limit.assert_calls(1);
    assert_eq!(list.not_modified.calls(), 1);
    assert_eq!(
        list.counted.calls(),
        0,
        "an in-sync re-run makes no counted request"
    );
    writes.assert_calls(0);
    other.assert_calls(0);

    // The kept files never hold the token.
    let kept = files(&cache)?;
    assert!(!kept.is_empty(), "validators are kept under XDG_CACHE_HOME");
    for f in &kept {
        let text = String::from_utf8_lossy(&std::fs::read(f)?).into_owned();
        assert!(!text.contains(TOKEN), "token in {}", f.display());
        assert!(!f.to_string_lossy().contains(TOKEN));
    }

    // Run 5, --no-cache: no If-None-Match at all, the lookup is counted again.
    api.reset();
    let validator = api.mock(|when, then| {
        when.header_exists("If-None-Match");
        then.status(500)
            .json_body(json!({"message": "no If-None-Match expected"}));
    });
    let limit = rate_limit(&api);
    let list = list_pulls(&api, "\"e2\"", open.clone());
    let other = unexpected(&api);
    run(&["--no-cache"])?;
    validator.assert_calls(0);
    limit.assert_calls(1);
    assert_eq!((list.counted.calls(), list.not_modified.calls()), (1, 0));
    other.assert_calls(0);

    // Run 6, the cache deleted or corrupted: plain counted GETs again, no failure.
    for f in files(&cache)? {
        std::fs::write(f, b"broadcast-conditional-v1\ngarbage")?;
    }
    api.reset();
    let validator = api.mock(|when, then| {
        when.header_exists("If-None-Match");
        then.status(500)
            .json_body(json!({"message": "no If-None-Match expected"}));
    });
    let limit = rate_limit(&api);
    let list = list_pulls(&api, "\"e2\"", open);
    let other = unexpected(&api);
    run(&[])?;
    validator.assert_calls(0);
    limit.assert_calls(1);
    assert_eq!(list.counted.calls(), 1);
    other.assert_calls(0);
    Ok(())
}
