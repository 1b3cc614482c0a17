//! The REST adapter against httpmock: pull requests, labels, reviewers, pagination, 422 adopt,
//! retries, rate limits, error messages and token hygiene.

use std::net::TcpListener;
use std::time::Duration;

use broadcast::forge::github::{GitHubError, GitHubForge, GitHubOptions, Pacing, RateLimit};
use broadcast::forge::{Forge, PullRequestAction, PullRequestSpec};
use broadcast::repo::RepoRef;
use httpmock::Method::{GET, PATCH, POST};
use httpmock::MockServer;
use serde_json::json;

use crate::Result;
use crate::fixtures::{
    FakeClock, T0_EPOCH_SECS, TOKEN, flag, forge, is_set, options, pull_json, set,
};

const HEAD: &str = "chore/sync-files-default";

fn repo() -> RepoRef {
    RepoRef::GitHub {
        owner: "acme".into(),
        name: "api".into(),
    }
}

fn spec() -> PullRequestSpec {
    PullRequestSpec {
        title: "[Sync] Update project files".into(),
        body: "Synced from acme/template.\n\n<!-- broadcast:meta -->".into(),
        head: HEAD.into(),
        base: "main".into(),
        draft: false,
        labels: vec!["sync".into(), "automated".into()],
        assignees: vec![],
        reviewers: vec!["alice".into(), "sync-bot".into(), "me-bot".into()],
        team_reviewers: vec!["platform".into()],
    }
}

#[test]
fn new_pull_request_is_created_with_labels_and_reviewers_without_the_author() -> Result {
    let server = MockServer::start();
    let clock = FakeClock::new();
    let list = server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api/pulls")
            .query_param("head", format!("acme:{HEAD}"))
            .query_param("state", "open")
            .header("authorization", format!("Bearer {TOKEN}"))
            .header("accept", "application/vnd.github+json")
            .header("x-github-api-version", "2022-11-28")
            .header_exists("user-agent");
        then.status(200).json_body(json!([]));
    });
    let create = server.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/api/pulls")
            .json_body(json!({
                "title": "[Sync] Update project files",
                "body": "Synced from acme/template.\n\n<!-- broadcast:meta -->",
                "head": HEAD,
                "base": "main",
                "draft": false
            }));
        then.status(201).json_body(pull_json(
            42,
            HEAD,
            "[Sync] Update project files",
            "Synced from acme/template.\n\n<!-- broadcast:meta -->",
            &[],
            &[],
        ));
    });
    let labels = server.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/api/issues/42/labels")
            .json_body(json!({"labels": ["sync", "automated"]}));
        then.status(200)
            .json_body(json!([{"name": "sync"}, {"name": "automated"}]));
    });
    let user = server.mock(|when, then| {
        when.method(GET).path("/user");
        then.status(200)
            .json_body(json!({"login": "me-bot", "id": 1}));
    });
    let reviewers = server.mock(|when, then| {
        // `sync-bot` is the pull request's author and `me-bot` the token's user: both dropped.
        when.method(POST)
            .path("/repos/acme/api/pulls/42/requested_reviewers")
            .json_body(json!({"reviewers": ["alice"], "team_reviewers": ["platform"]}));
        then.status(201)
            .json_body(pull_json(42, HEAD, "t", "b", &[], &["alice"]));
    });
    let f = forge(&server.base_url(), clock);
    let (pr, action) = f.upsert_pull_request(&repo(), &spec())?;
    assert_eq!(action, PullRequestAction::Created);
    assert_eq!(pr.number, 42);
    assert_eq!(pr.url, "https://github.com/acme/api/pull/42");
    assert_eq!(pr.head, HEAD);
    list.assert_calls(1);
    create.assert_calls(1);
    labels.assert_calls(1);
    user.assert_calls(1);
    reviewers.assert_calls(1);
    Ok(())
}

#[test]
fn open_pull_request_is_patched_only_when_title_or_body_differ() -> Result {
    let s = spec();
    for (title, body, want_patch, want_action) in [
        ("old title", s.body.as_str(), 1, PullRequestAction::Updated),
        (s.title.as_str(), "old body", 1, PullRequestAction::Updated),
        // CRLF from a web edit counts as the same body.
        (
            s.title.as_str(),
            &*s.body.replace('\n', "\r\n"),
            0,
            PullRequestAction::Unchanged,
        ),
    ] {
        let server = MockServer::start();
        let existing = pull_json(7, HEAD, title, body, &["sync", "automated"], &["alice"]);
        server.mock(|when, then| {
            when.method(GET).path("/repos/acme/api/pulls");
            then.status(200).json_body(json!([existing]));
        });
        let patch = server.mock(|when, then| {
            when.method(PATCH)
                .path("/repos/acme/api/pulls/7")
                .json_body(json!({"title": s.title, "body": s.body}));
            then.status(200).json_body(pull_json(
                7,
                HEAD,
                &s.title,
                &s.body,
                &["sync", "automated"],
                &["alice"],
            ));
        });
        let create = server.mock(|when, then| {
            when.method(POST).path("/repos/acme/api/pulls");
            then.status(201);
        });
        let labels = server.mock(|when, then| {
            when.method(POST).path("/repos/acme/api/issues/7/labels");
            then.status(200).json_body(json!([]));
        });
        server.mock(|when, then| {
            when.method(GET).path("/user");
            then.status(200).json_body(json!({"login": "me-bot"}));
        });
        let reviewers = server.mock(|when, then| {
            when.method(POST)
                .path("/repos/acme/api/pulls/7/requested_reviewers")
                .json_body(json!({"reviewers": [], "team_reviewers": ["platform"]}));
            then.status(201)
                .json_body(pull_json(7, HEAD, "t", "b", &[], &[]));
        });
        let f = forge(&server.base_url(), FakeClock::new());
        let (pr, action) = f.upsert_pull_request(&repo(), &s)?;
        assert_eq!(action, want_action, "title {title:?} body {body:?}");
        assert_eq!(pr.number, 7);
        patch.assert_calls(want_patch);
        create.assert_calls(0);
        // Labels and alice are already on the pull request: only the team is requested.
        labels.assert_calls(0);
        reviewers.assert_calls(1);
    }
    Ok(())
}

#[test]
fn list_follows_link_next_across_pages() -> Result {
    let server = MockServer::start();
    let next = server.url(format!(
        "/repos/acme/api/pulls?head=acme%3A{}&state=open&per_page=100&page=2",
        "chore%2Fsync-files-default"
    ));
    let page1 = server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api/pulls")
            .query_param("per_page", "100")
            .query_param_missing("page");
        then.status(200)
            .header(
                "link",
                format!(r#"<{next}>; rel="next", <{next}>; rel="last""#),
            )
            .json_body(json!([pull_json(1, "other-branch", "x", "y", &[], &[])]));
    });
    let page2 = server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api/pulls")
            .query_param("page", "2");
        then.status(200)
            .json_body(json!([pull_json(2, HEAD, "t", "b", &[], &[])]));
    });
    let f = forge(&server.base_url(), FakeClock::new());
    let pr = f
        .find_pull_request(&repo(), HEAD)?
        .ok_or("pull request on page 2")?;
    assert_eq!(pr.number, 2);
    page1.assert_calls(1);
    page2.assert_calls(1);
    Ok(())
}

#[test]
fn link_to_another_host_is_not_followed() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api/pulls");
        then.status(200)
            .header("link", r#"<https://evil.example/steal?page=2>; rel="next""#)
            .json_body(json!([]));
    });
    let f = forge(&server.base_url(), FakeClock::new());
    let e = f.find_pull("acme", "api", HEAD).expect_err("foreign link");
    assert!(matches!(e, GitHubError::ForeignLink { .. }), "{e}");
    Ok(())
}

#[test]
fn already_exists_422_adopts_and_updates_the_open_pull_request() -> Result {
    let server = MockServer::start();
    let created_failed = flag();
    let (f1, f2, f3) = (
        created_failed.clone(),
        created_failed.clone(),
        created_failed.clone(),
    );
    // The first lookup misses the pull request (a concurrent run opened it a moment ago).
    let list_empty = server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api/pulls")
            .is_true(move |_| !is_set(&f1));
        then.status(200).json_body(json!([]));
    });
    let create = server.mock(|when, then| {
        when.method(POST).path("/repos/acme/api/pulls").is_true(move |req| {
            if req.method_str() == "POST" {
                set(&f2);
            }
            true
        });
        then.status(422).json_body(json!({
            "message": "Validation Failed",
            "errors": [{"resource": "PullRequest", "code": "custom",
                        "message": "A pull request already exists for acme:chore/sync-files-default."}],
            "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request",
            "status": "422"
        }));
    });
    let list_found = server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api/pulls")
            .is_true(move |_| is_set(&f3));
        then.status(200).json_body(json!([pull_json(
            9,
            HEAD,
            "stale",
            "stale",
            &["sync", "automated"],
            &["alice"]
        )]));
    });
    let patch = server.mock(|when, then| {
        when.method(PATCH).path("/repos/acme/api/pulls/9");
        then.status(200).json_body(pull_json(
            9,
            HEAD,
            "t",
            "b",
            &["sync", "automated"],
            &["alice"],
        ));
    });
    server.mock(|when, then| {
        when.method(GET).path("/user");
        then.status(200).json_body(json!({"login": "me-bot"}));
    });
    server.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/api/pulls/9/requested_reviewers");
        then.status(201)
            .json_body(pull_json(9, HEAD, "t", "b", &[], &[]));
    });
    let f = forge(&server.base_url(), FakeClock::new());
    let (pr, action) = f.upsert_pull_request(&repo(), &spec())?;
    assert_eq!((pr.number, action), (9, PullRequestAction::Updated));
    list_empty.assert_calls(1);
    create.assert_calls(1);
    list_found.assert_calls(1);
    patch.assert_calls(1);
    Ok(())
}

#[test]
fn secondary_rate_limit_403_waits_retry_after_then_succeeds() -> Result {
    let server = MockServer::start();
    let clock = FakeClock::new();
    let waited = flag();
    let w1 = waited.clone();
    let limited = server.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/api/pulls")
            .is_true(move |_| !is_set(&w1));
        then.status(403)
            .header("retry-after", "7")
            .header("x-ratelimit-remaining", "4000")
            .header("x-ratelimit-reset", (T0_EPOCH_SECS + 3000).to_string())
            .json_body(json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"
            }));
    });
    let ok = server.mock(|when, then| {
        when.method(POST).path("/repos/acme/api/pulls");
        then.status(201)
            .json_body(pull_json(3, HEAD, "t", "b", &[], &[]));
    });
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api/pulls");
        then.status(200).json_body(json!([]));
    });
    let w2 = waited.clone();
    clock.on_sleep(move || set(&w2));
    let f = forge(&server.base_url(), clock.clone());
    let mut s = spec();
    (s.labels, s.reviewers, s.team_reviewers) = (vec![], vec![], vec![]);
    let (pr, action) = f.upsert_pull_request(&repo(), &s)?;
    assert_eq!((pr.number, action), (3, PullRequestAction::Created));
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(7)]);
    limited.assert_calls(1);
    ok.assert_calls(1);
    assert_eq!(f.stats().rate_limit_waits, 1);
    Ok(())
}

#[test]
fn secondary_rate_limit_without_retry_after_waits_a_minute() -> Result {
    let server = MockServer::start();
    let clock = FakeClock::new();
    let waited = flag();
    let w1 = waited.clone();
    server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api")
            .is_true(move |_| !is_set(&w1));
        then.status(429)
            .json_body(json!({"message": "You have exceeded a secondary rate limit."}));
    });
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api");
        then.status(200)
            .json_body(json!({"default_branch": "trunk", "archived": false}));
    });
    let w2 = waited.clone();
    clock.on_sleep(move || set(&w2));
    let f = forge(&server.base_url(), clock.clone());
    assert_eq!(
        f.repository(&repo())?.default_branch.as_deref(),
        Some("trunk")
    );
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(60)]);
    Ok(())
}

#[test]
fn primary_limit_far_in_the_future_fails_instead_of_waiting() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api");
        then.status(403)
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-reset", (T0_EPOCH_SECS + 3600).to_string())
            .json_body(json!({"message": "API rate limit exceeded for user ID 1."}));
    });
    let clock = FakeClock::new();
    let f = forge(&server.base_url(), clock.clone());
    let e = f.repo_info("acme", "api").expect_err("limit");
    assert!(
        matches!(
            e,
            GitHubError::RateLimited {
                wait_secs: 3600,
                ..
            }
        ),
        "{e}"
    );
    assert!(clock.sleeps().is_empty());
    assert_eq!(f.last_rate_limit().map(|r| r.remaining), Some(0));
    Ok(())
}

#[test]
fn server_error_is_retried_with_backoff_then_succeeds() -> Result {
    let server = MockServer::start();
    let clock = FakeClock::new();
    let retried = flag();
    let r1 = retried.clone();
    let failing = server.mock(|when, then| {
        when.method(GET)
            .path("/repos/acme/api")
            .is_true(move |_| !is_set(&r1));
        then.status(502).body("Bad Gateway");
    });
    let ok = server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api");
        then.status(200)
            .json_body(json!({"default_branch": "main", "archived": true}));
    });
    let r2 = retried.clone();
    clock.on_sleep(move || set(&r2));
    let f = forge(&server.base_url(), clock.clone());
    let info = f.repository(&repo())?;
    assert!(info.archived);
    // Cached for the run: a second call sends nothing.
    f.repository(&repo())?;
    failing.assert_calls(1);
    ok.assert_calls(1);
    assert_eq!(clock.sleeps(), vec![Duration::from_secs(1)]);
    Ok(())
}

#[test]
fn persistent_server_error_fails_after_bounded_attempts() -> Result {
    let server = MockServer::start();
    let m = server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api");
        then.status(503);
    });
    let clock = FakeClock::new();
    let f = forge(&server.base_url(), clock.clone());
    let e = f.repo_info("acme", "api").expect_err("503");
    assert!(
        matches!(
            e,
            GitHubError::Server {
                status: 503,
                attempts: 4,
                ..
            }
        ),
        "{e}"
    );
    m.assert_calls(4);
    let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, vec![1, 2, 4]);
    Ok(())
}

#[test]
fn not_found_names_the_repository_and_the_token_scopes() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/missing");
        then.status(404).json_body(json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest/repos/repos#get-a-repository", "status": "404"}));
    });
    let f = forge(&server.base_url(), FakeClock::new());
    let missing = RepoRef::GitHub {
        owner: "acme".into(),
        name: "missing".into(),
    };
    let msg = format!("{:#}", f.repository(&missing).expect_err("404"));
    for want in [
        "acme/missing",
        "not found",
        "`repo` scope",
        "contents:write",
        "pull_requests:write",
    ] {
        assert!(msg.contains(want), "{want:?} not in {msg}");
    }
    Ok(())
}

#[test]
fn unauthorized_says_token_rejected() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/user");
        then.status(401)
            .json_body(json!({"message": "Bad credentials", "status": "401"}));
    });
    let f = forge(&server.base_url(), FakeClock::new());
    let e = f.authenticated_login().expect_err("401");
    assert!(e.to_string().contains("token rejected"), "{e}");
    Ok(())
}

#[test]
fn missing_token_is_a_clear_error() {
    let e = GitHubOptions::from_vars(|_| None).expect_err("no token anywhere");
    let msg = e.to_string();
    assert!(
        msg.contains("GH_TOKEN") && msg.contains("GITHUB_TOKEN") && msg.contains("gh auth login"),
        "{msg}"
    );
    assert!(msg.contains("github.com"), "{msg}");
}

#[test]
fn token_never_appears_in_errors_or_debug_output() -> Result {
    let server = MockServer::start();
    // A server that echoes the Authorization header back in its error messages.
    let echo = format!("bad header Bearer {TOKEN}");
    for (path, status) in [
        ("/repos/acme/s401", 401),
        ("/repos/acme/s403", 403),
        ("/repos/acme/s404", 404),
        ("/repos/acme/s422", 422),
        ("/repos/acme/s500", 500),
    ] {
        let echo = echo.clone();
        server.mock(move |when, then| {
            when.method(GET).path(path);
            then.status(status).json_body(json!({"message": echo}));
        });
    }
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/garbage");
        then.status(200).body(format!("not json {TOKEN}"));
    });
    let clock = FakeClock::new();
    let f = forge(&server.base_url(), clock.clone());
    let mut texts = vec![
        format!("{f:?}"),
        format!("{:?}", options(&server.base_url(), clock.clone())),
    ];
    for name in ["s401", "s403", "s404", "s422", "s500", "garbage"] {
        let e = f.repo_info("acme", name).expect_err(name);
        let any: anyhow::Error = e.into();
        texts.push(format!("{any}"));
        texts.push(format!("{any:#}"));
        texts.push(format!("{any:?}"));
    }
    // Network failure: a port nothing listens on.
    let closed = TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let dead = GitHubForge::new(options(&format!("http://{closed}"), clock))?;
    let e: anyhow::Error = dead.repo_info("acme", "api").expect_err("refused").into();
    texts.push(format!("{e:#}"));
    texts.push(format!("{e:?}"));
    let git = f.git_remote(&repo())?;
    texts.push(format!("{:?}", git.url));
    for t in &texts {
        assert!(!t.contains(TOKEN), "token leaked in: {t}");
    }
    // The git URL carries no credential at all.
    assert!(!git.url.contains('@'), "{}", git.url);
    Ok(())
}

#[test]
fn rate_limit_headers_and_endpoint_feed_the_write_estimate() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/rate_limit");
        then.status(200).json_body(json!({
            "resources": {
                "core": {"limit": 5000, "used": 4990, "remaining": 10, "reset": T0_EPOCH_SECS + 600},
                "search": {"limit": 30, "used": 0, "remaining": 30, "reset": T0_EPOCH_SECS + 60}
            },
            "rate": {"limit": 5000, "used": 4990, "remaining": 10, "reset": T0_EPOCH_SECS + 600}
        }));
    });
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api");
        then.status(200)
            .header("x-ratelimit-limit", "5000")
            .header("x-ratelimit-remaining", "4321")
            .header("x-ratelimit-used", "679")
            .header("x-ratelimit-reset", (T0_EPOCH_SECS + 100).to_string())
            .json_body(json!({"default_branch": "main", "archived": false}));
    });
    let mut o = options(&server.base_url(), FakeClock::new());
    o.write_pacing = Pacing::default();
    let f = GitHubForge::new(o)?;
    assert_eq!(f.last_rate_limit(), None);
    let est = f.plan_writes(3);
    assert_eq!(
        (est.write_calls, est.read_calls, est.remaining, est.fits),
        (12, 7, None, true)
    );
    // 12 writes one second apart (GitHub's guidance): 11 gaps of 1 s.
    assert_eq!(est.pacing, Duration::from_secs(11));

    let rl = f.rate_limit()?.ok_or("rate limiting enabled")?;
    assert_eq!(
        rl,
        RateLimit {
            limit: 5000,
            remaining: 10,
            used: 4990,
            reset_epoch_secs: T0_EPOCH_SECS + 600
        }
    );
    let est = f.plan_writes(3);
    assert!(!est.fits, "{est:?}");
    assert!(f.plan_writes(1).fits);

    f.repo_info("acme", "api")?;
    assert_eq!(
        f.last_rate_limit(),
        Some(RateLimit {
            limit: 5000,
            remaining: 4321,
            used: 679,
            reset_epoch_secs: T0_EPOCH_SECS + 100
        })
    );
    // 800 writes 1 s apart and 500/h: the 501st waits for the first to leave the hour window
    // (docs/github.md quotes this figure).
    let est = f.plan_writes(200);
    assert_eq!(est.pacing, Duration::from_secs(3_600 + 299), "{est:?}");
    Ok(())
}

#[test]
fn rate_limit_endpoint_404_means_disabled() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/rate_limit");
        then.status(404)
            .json_body(json!({"message": "Rate limiting is not enabled."}));
    });
    let f = forge(&server.base_url(), FakeClock::new());
    assert_eq!(f.rate_limit()?, None);
    Ok(())
}

#[test]
fn writes_are_paced_by_the_injected_clock() -> Result {
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(POST).path("/repos/acme/api/issues/1/labels");
        then.status(200).json_body(json!([]));
    });
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api/pulls");
        then.status(200)
            .json_body(json!([pull_json(1, HEAD, "t", "b", &[], &[])]));
    });
    let clock = FakeClock::new();
    let mut o = options(&server.base_url(), clock.clone());
    o.write_pacing = Pacing {
        interval: Duration::from_secs(2),
        per_hour: 500,
        ..Pacing::default()
    };
    let f = GitHubForge::new(o)?;
    let mut s = spec();
    (s.title, s.body, s.reviewers, s.team_reviewers) = ("t".into(), "b".into(), vec![], vec![]);
    for _ in 0..3 {
        f.upsert_pull_request(&repo(), &s)?;
    }
    // Three label writes, 2 s apart; reads are not paced.
    assert_eq!(
        clock.sleeps(),
        vec![Duration::from_secs(2), Duration::from_secs(2)]
    );
    assert_eq!(f.stats().writes, 3);
    Ok(())
}

#[test]
fn concurrent_writes_share_one_pacer() -> Result {
    // Six threads write at once through one forge on the real clock: the writes are serialised
    // 100 ms apart, so the last one cannot start before 5 intervals have passed.
    let server = MockServer::start();
    let labels = server.mock(|when, then| {
        when.method(POST).path("/repos/acme/api/issues/1/labels");
        then.status(200).json_body(json!([]));
    });
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api/pulls");
        then.status(200)
            .json_body(json!([pull_json(1, HEAD, "t", "b", &[], &[])]));
    });
    let mut o = options(&server.base_url(), FakeClock::new());
    o.clock = std::sync::Arc::new(broadcast::forge::github::SystemClock);
    o.write_pacing = Pacing {
        interval: Duration::from_millis(100),
        per_hour: 0,
        ..Pacing::default()
    };
    let f = std::sync::Arc::new(GitHubForge::new(o)?);
    let mut s = spec();
    (s.title, s.body, s.reviewers, s.team_reviewers) = ("t".into(), "b".into(), vec![], vec![]);
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let (f, s) = (f.clone(), s.clone());
            std::thread::spawn(move || f.upsert_pull_request(&repo(), &s).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "thread panicked")??;
    }
    assert!(
        started.elapsed() >= Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    labels.assert_calls(6);
    Ok(())
}

#[test]
fn redirect_to_another_host_does_not_carry_the_token() -> Result {
    // "Get a repository" answered by a redirect to another host (`localhost` instead of
    // `127.0.0.1`): the follow-up request must not carry the Authorization header.
    let other = MockServer::start();
    let with_auth = other.mock(|when, then| {
        when.header_exists("authorization");
        then.status(500)
            .json_body(json!({"message": "token leaked"}));
    });
    let target = other.mock(|when, then| {
        when.method(GET).path("/moved/acme/api");
        then.status(200)
            .json_body(json!({"default_branch": "main", "archived": false}));
    });
    let server = MockServer::start();
    server.mock(|when, then| {
        when.method(GET).path("/repos/acme/api");
        then.status(307).header(
            "location",
            format!("http://localhost:{}/moved/acme/api", other.port()),
        );
    });
    let f = forge(&server.base_url(), FakeClock::new());
    let _ = f.repo_info("acme", "api");
    with_auth.assert_calls(0);
    assert!(target.calls() <= 1);
    Ok(())
}
