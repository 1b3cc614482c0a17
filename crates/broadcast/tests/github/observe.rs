//! Observability against the fake GitHub: trace-level logs in both formats never show the token
//! (even when it is written into the git URL), REST calls are logged and counted by endpoint
//! template, and `diagnose` reports the token's source and the rate limit without the token.

use std::process::Command;

use httpmock::Method::POST;
use httpmock::MockServer;
use serde_json::json;

use crate::Result;
use crate::fixtures::TOKEN;
use crate::world::{World, add_labels, list_pulls, pull, rate_limit, repository, unexpected};

const TARGET: &str = "      - repo: acme/alpha\n        pr_labels: [sync]\n        files:\n          - {src: README.md, dest: README.md}\n";

/// Mocks for one new target: a pull request is created and labelled.
fn new_target_mocks(api: &MockServer) {
    rate_limit(api);
    repository(api, "acme/alpha");
    list_pulls(api, "acme/alpha", json!([]));
    api.mock(|when, then| {
        when.method(POST).path("/repos/acme/alpha/pulls");
        then.status(201)
            .header("x-ratelimit-remaining", "4321")
            .header("x-ratelimit-reset", "4102444800")
            .json_body(pull("acme/alpha", 1, "t", "b", &[]));
    });
    add_labels(api, "acme/alpha", 1, &["sync"]);
    unexpected(api);
}

#[test]
fn trace_logs_in_both_formats_never_show_the_token() -> Result {
    let w = World::new(&[("README.md", "# v1\n")])?;
    w.target("acme", "alpha", &[("README.md", "# old\n")])?;
    let config = w.config(TARGET)?;
    // The token also sits in the git URL's userinfo: every logged git command line carries it
    // unless it is scrubbed.
    let with_creds =
        w.git
            .base_url
            .replacen("http://", &format!("http://x-access-token:{TOKEN}@"), 1);
    for format in ["text", "json"] {
        let api = MockServer::start();
        new_target_mocks(&api);
        let out = sync_with_web_url(&w, &config, &api, &with_creds, format)?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stderr.contains(TOKEN),
            "{format}: token on stderr: {stderr}"
        );
        assert!(!stdout.contains(TOKEN), "{format}: token on stdout");
        assert!(
            !stderr.contains("TESTtoken"),
            "{format}: part of the token: {stderr}"
        );
        assert!(stderr.contains("git process"), "{format}: {stderr}");
        assert!(stderr.contains("ls-remote"), "{format}: {stderr}");
        // The URL with credentials was logged, scrubbed: the check above is not vacuous.
        assert!(stderr.contains("://***@127.0.0.1"), "{format}: {stderr}");
        assert!(stderr.contains("github request"), "{format}: {stderr}");
        if format == "json" {
            for line in stderr.lines() {
                let v: serde_json::Value = serde_json::from_str(line)
                    .map_err(|e| format!("{e}: not one JSON object per line: {line}"))?;
                if v["message"] == "github request"
                    && v["path"] == "/repos/acme/alpha/pulls"
                    && v["method"] == "POST"
                {
                    assert_eq!(v["endpoint"], "/repos/:owner/:repo/pulls", "{v}");
                    assert_eq!(v["status"], 201, "{v}");
                    assert_eq!(v["remaining"], "4321", "{v}");
                }
            }
        }
    }
    Ok(())
}

#[test]
fn rest_calls_are_counted_by_endpoint_template_and_status() -> Result {
    let w = World::new(&[("README.md", "# v1\n")])?;
    w.target("acme", "alpha", &[("README.md", "# old\n")])?;
    let config = w.config(TARGET)?;
    let api = MockServer::start();
    new_target_mocks(&api);
    let file = w.tmp.path().join("run.prom");
    let (code, report) = w.sync(
        &config,
        &api,
        &["--metrics-file", file.to_str().ok_or("utf-8")?],
    )?;
    assert_eq!(code, 0, "{report:#}");
    let text = std::fs::read_to_string(&file)?;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned())))?;
    let find = |name: &str, labels: &[(&str, &str)]| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| format!("{:?}", s.value))
    };
    assert_eq!(
        find(
            "broadcast_rest_requests_total",
            &[
                ("method", "POST"),
                ("endpoint", "/repos/:owner/:repo/pulls"),
                ("status", "201")
            ]
        )
        .as_deref(),
        Some("Counter(1.0)"),
        "{text}"
    );
    assert_eq!(
        find("broadcast_writes_total", &[("kind", "rest")]).as_deref(),
        Some("Counter(2.0)"),
        "{text}"
    );
    assert_eq!(
        find("broadcast_rate_limit_remaining", &[]).as_deref(),
        Some("Gauge(4321.0)"),
        "{text}"
    );
    assert!(
        !text.contains("acme/alpha"),
        "no repository in REST labels: {text}"
    );
    Ok(())
}

/// `broadcast --log-level trace --log-format FORMAT sync` with `web_url` as the git host
/// (World::run passes its own).
fn sync_with_web_url(
    w: &World,
    config: &std::path::Path,
    api: &MockServer,
    web_url: &str,
    format: &str,
) -> Result<std::process::Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_broadcast"))
        .args([
            "--log-level",
            "trace",
            "--log-format",
            format,
            "sync",
            "--json",
        ])
        .arg("--config")
        .arg(config)
        .args(["--github-api-url", &api.base_url(), "--github-url", web_url])
        .current_dir(w.tmp.path())
        .env("HOME", &w.home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Sync Bot")
        .env("GIT_AUTHOR_EMAIL", "sync-bot@example.com")
        .env("GIT_COMMITTER_NAME", "Sync Bot")
        .env("GIT_COMMITTER_EMAIL", "sync-bot@example.com")
        .env("GH_ENTERPRISE_TOKEN", TOKEN)
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_API_URL")
        .env_remove("GITHUB_SERVER_URL")
        .env_remove("GIT_CONFIG_GLOBAL")
        .env_remove("RUST_LOG")
        .output()?)
}

fn diagnose(api: &MockServer, home: &std::path::Path) -> Result<std::process::Output> {
    Ok(Command::new(env!("CARGO_BIN_EXE_broadcast"))
        .args(["diagnose", "--github-api-url", &api.base_url()])
        .args(["--github-url", &api.base_url()])
        .env("HOME", home)
        .env("GH_ENTERPRISE_TOKEN", TOKEN)
        .env_remove("GH_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_ENTERPRISE_TOKEN")
        .env_remove("RUST_LOG")
        .output()?)
}

#[test]
fn diagnose_names_the_token_source_and_the_rate_limit_never_the_token() -> Result {
    let home = tempfile::tempdir()?;
    let api = MockServer::start();
    let limit = rate_limit(&api);
    let out = diagnose(&api, home.path())?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(!text.contains(TOKEN) && !String::from_utf8_lossy(&out.stderr).contains(TOKEN));
    assert!(text.contains("token: from GH_ENTERPRISE_TOKEN"), "{text}");
    assert!(text.contains("api: ok ("), "{text}");
    assert!(
        text.contains("rate limit: 4999/5000 remaining, 1 used"),
        "{text}"
    );
    limit.assert_calls(1);

    // An API that fails: reported, one attempt, still exit 0 (a diagnosis is not a run).
    let down = MockServer::start();
    let failing = down.mock(|when, then| {
        when.any_request();
        then.status(503).body("down");
    });
    let out = diagnose(&down, home.path())?;
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0));
    assert!(text.contains("api: unreachable or refused"), "{text}");
    failing.assert_calls(1);
    Ok(())
}
