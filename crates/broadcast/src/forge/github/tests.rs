//! Unit tests of the GitHub forge's pure parts.

use super::pulls::missing;
use super::*;

#[test]
fn base64_matches_rfc4648_vectors() {
    let check = |input: &str, want: &str| assert_eq!(base64(input.as_bytes()), want, "{input}");
    check("", "");
    check("f", "Zg==");
    check("fo", "Zm8=");
    check("foo", "Zm9v");
    check("foob", "Zm9vYg==");
    check("fooba", "Zm9vYmE=");
    check("foobar", "Zm9vYmFy");
    check("x-access-token:abc", "eC1hY2Nlc3MtdG9rZW46YWJj");
}

#[test]
fn token_never_prints() {
    let t = Token::new("ghp_secret123");
    assert_eq!(format!("{t}"), "***");
    assert_eq!(format!("{t:?}"), "***");
    assert_eq!(t.expose(), "ghp_secret123");
}

#[test]
fn query_encoding_and_hosts() {
    assert_eq!(encode_query("acme:chore/sync-1"), "acme%3Achore%2Fsync-1");
    assert_eq!(url_host("https://github.com"), "github.com");
    assert_eq!(url_host("http://127.0.0.1:8080/x"), "127.0.0.1:8080");
}

#[test]
fn missing_is_case_insensitive_and_deduped() {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
    let check = |want: &[&str], have: &[&str], out: &[&str]| {
        assert_eq!(missing(&s(want), &s(have)), s(out), "{want:?} - {have:?}");
    };
    check(&["a", "B"], &["b"], &["a"]);
    check(&["a", "A", " "], &[], &["a"]);
    check(&[], &["x"], &[]);
}

#[test]
fn from_vars_resolves_in_order() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let o = GitHubOptions::from_vars(vars(&[("GH_TOKEN", "a"), ("GITHUB_TOKEN", "b")]))
        .expect("token set");
    assert_eq!(o.token.expose(), "a");
    assert_eq!(o.api_url, DEFAULT_API_URL);
    let o = GitHubOptions::from_vars(vars(&[
        ("GH_TOKEN", "a"),
        ("GH_ENTERPRISE_TOKEN", ""),
        ("GITHUB_ENTERPRISE_TOKEN", "b"),
        ("GITHUB_API_URL", "https://ghe.example/api/v3"),
        ("GITHUB_SERVER_URL", "https://ghe.example"),
    ]))
    .expect("token set");
    assert_eq!(o.token.expose(), "b");
    assert_eq!(o.web_url, "https://ghe.example");
    let e = GitHubOptions::from_vars(vars(&[("PATH", "")])).expect_err("no token");
    assert!(matches!(e, GitHubError::MissingToken { .. }), "{e}");
}

#[test]
fn token_is_bound_to_the_web_host() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    let env: &'static [(&str, &str)] = &[
        ("GH_TOKEN", "dotcom"),
        ("GH_ENTERPRISE_TOKEN", "ghes"),
        ("GITHUB_SERVER_URL", "https://github.com"),
    ];
    // github.com: GH_TOKEN.
    let o = GitHubOptions::from_vars_with_urls(vars(env), None, None).expect("token");
    assert_eq!(o.token.expose(), "dotcom");
    // The flags win over the environment, and the token follows the host they name.
    let o = GitHubOptions::from_vars_with_urls(
        vars(env),
        Some("https://ghe.example/api/v3"),
        Some("https://ghe.example"),
    )
    .expect("token");
    assert_eq!(o.token.expose(), "ghes");
    assert_eq!(o.web_url, "https://ghe.example");
    // github.com's token is never used for another host.
    let e = GitHubOptions::from_vars_with_urls(
        vars(&[("GH_TOKEN", "dotcom"), ("GITHUB_TOKEN", "x")]),
        Some("https://ghe.example/api/v3"),
        Some("https://ghe.example"),
    )
    .expect_err("no enterprise token");
    assert!(e.to_string().contains("GH_ENTERPRISE_TOKEN"), "{e}");
    // An API URL on a third host is refused.
    let e = GitHubOptions::from_vars_with_urls(
        vars(env),
        Some("https://evil.example/api/v3"),
        Some("https://ghe.example"),
    )
    .expect_err("host mismatch");
    assert!(matches!(e, GitHubError::HostMismatch { .. }), "{e}");
    // In Actions, GITHUB_TOKEN belongs to the runner's instance, whichever it is.
    let actions: &'static [(&str, &str)] = &[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_SERVER_URL", "https://ghe.example"),
        ("GITHUB_API_URL", "https://ghe.example/api/v3"),
        ("GITHUB_TOKEN", "runner"),
    ];
    let o = GitHubOptions::from_vars_with_urls(vars(actions), None, None).expect("token");
    assert_eq!(
        (o.token.expose(), o.web_url.as_str()),
        ("runner", "https://ghe.example")
    );
    let e = GitHubOptions::from_vars_with_urls(
        vars(actions),
        Some(DEFAULT_API_URL),
        Some(DEFAULT_WEB_URL),
    )
    .expect_err("the runner's token is not github.com's");
    assert!(matches!(e, GitHubError::MissingToken { .. }), "{e}");
    assert_eq!(host_name("http://127.0.0.1:8080/x"), "127.0.0.1");
    assert_eq!(host_name("https://u@ghe.example:443"), "ghe.example");
    assert!(is_github_cloud("acme.ghe.com") && !is_github_cloud("ghe.example"));
}

#[test]
fn write_interval_flag_beats_config_beats_default() {
    let check = |flag: Option<u64>, config: Option<u64>, want_ms: u64| {
        assert_eq!(
            Pacing::from_settings(flag, config).interval,
            Duration::from_millis(want_ms),
            "{flag:?} {config:?}"
        );
    };
    check(None, None, 1000);
    check(None, Some(2500), 2500);
    check(Some(3000), Some(2500), 3000);
    check(Some(0), Some(2500), 0);
    assert_eq!(Pacing::from_settings(Some(0), None).min_interval(), None);
}

#[test]
fn file_sizes_warn_over_50_mib_and_refuse_over_100_mib() {
    const MIB: u64 = 1024 * 1024;
    let ok = check_file_sizes("acme/api", [("a", 10), ("b", 50 * MIB), ("c", 100 * MIB)])
        .expect("100 MiB exactly is allowed");
    assert_eq!(ok, vec![("c".to_owned(), 100 * MIB)]);
    let e = check_file_sizes("acme/api", [("a", 1), ("big.bin", 100 * MIB + 1)])
        .expect_err("over the limit");
    let msg = e.to_string();
    assert!(
        msg.contains("big.bin") && msg.contains("100 MiB") && msg.contains("acme/api"),
        "{msg}"
    );
}

#[test]
fn long_bodies_keep_the_metadata_block_and_count_what_was_left_out() {
    let meta = "<!-- go-broadcast-metadata\nsync_metadata:\n  group_id: \"g\"\n-->\n";
    let list: String = (0..100)
        .map(|i| format!("- `file-{i:03}` (added)\n"))
        .collect();
    let body = format!("Intro.\n\n## Changed files\n\n{list}\n{meta}");
    // Fits: unchanged.
    assert_eq!(fit_body(&body, 10_000), body);
    let fitted = fit_body(&body, 1000);
    assert!(fitted.chars().count() <= 1000, "{fitted}");
    assert!(fitted.ends_with(meta), "{fitted}");
    let listed = fitted.lines().filter(|l| l.starts_with("- `")).count();
    assert!(
        fitted.contains(&format!("- … and {} more files\n", 100 - listed)),
        "{fitted}"
    );
    // An earlier "... and K more" line is counted in.
    let body = format!("Intro.\n\n{list}- ... and 50 more\n\n{meta}");
    let fitted = fit_body(&body, 1000);
    let listed = fitted.lines().filter(|l| l.starts_with("- `")).count();
    assert!(
        fitted.contains(&format!("- … and {} more files\n", 150 - listed)),
        "{fitted}"
    );
}

#[test]
fn a_token_is_sent_in_clear_text_only_to_this_machine() {
    for ok in [
        "https://github.com",
        "https://ghe.example/api/v3",
        "http://127.0.0.1:8080",
        "http://localhost:9",
        "http://[::1]:9/api",
    ] {
        assert!(options::check_url("web", ok).is_ok(), "{ok}");
    }
    for bad in [
        "http://ghe.example",
        "http://10.0.0.1",
        "ftp://x",
        "github.com",
    ] {
        let e = options::check_url("web", bad).unwrap_err();
        assert!(matches!(e, GitHubError::InvalidUrl { .. }), "{bad}: {e}");
    }
    // The scheme is reported before any host comparison.
    let e = GitHubOptions::from_vars_with_urls(|_| None, None, Some("ftp://x")).unwrap_err();
    assert!(
        matches!(
            e,
            GitHubError::InvalidUrl { what: "api", .. }
                | GitHubError::InvalidUrl { what: "web", .. }
        ),
        "{e}"
    );
}

#[test]
fn pull_lists_decode_into_pull_requests_ignoring_unread_fields() {
    let body = r#"[
        {"number": 7, "html_url": "https://github.com/acme/api/pull/7", "title": "[Sync] files",
         "body": null, "state": "open", "draft": false, "id": 1007,
         "head": {"ref": "chore/sync-files-default", "sha": "6dcb09b5"},
         "base": {"ref": "main", "label": "acme:main"},
         "created_at": "2026-01-31T12:00:00Z", "user": {"login": "sync-bot", "id": 9},
         "labels": [{"name": "sync", "color": "ededed"}]},
        {"number": 8, "html_url": "u", "title": "t", "head": {"ref": "h"}, "base": {"ref": "b"}}
    ]"#;
    let pulls = decode_pull_list(body).expect("documented shape");
    assert_eq!(pulls.len(), 2);
    assert_eq!(pulls[0].number, 7);
    assert_eq!(pulls[0].head, "chore/sync-files-default");
    assert_eq!(pulls[0].body, "");
    assert_eq!(pulls[0].created_at.as_deref(), Some("2026-01-31T12:00:00Z"));
    assert_eq!(pulls[1].base, "b");
    assert!(decode_pull_list(r#"[{"number": 1}]"#).is_err());
    assert!(decode_pull_list("{}").is_err());
}

#[test]
fn writes_for_a_new_pull_request_follow_its_metadata() {
    use crate::plan::PrMetadata;
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let rows: [(PrMetadata, u64); 5] = [
        (PrMetadata::default(), 1),
        (
            PrMetadata {
                labels: v(&["sync"]),
                ..PrMetadata::default()
            },
            2,
        ),
        (
            PrMetadata {
                labels: v(&["a", "b"]),
                assignees: v(&["u"]),
                ..PrMetadata::default()
            },
            3,
        ),
        (
            PrMetadata {
                team_reviewers: v(&["t"]),
                ..PrMetadata::default()
            },
            2,
        ),
        (
            PrMetadata {
                labels: v(&["l"]),
                assignees: v(&["u"]),
                reviewers: v(&["r"]),
                team_reviewers: v(&["t"]),
            },
            4,
        ),
    ];
    for (pr, want) in rows {
        assert_eq!(writes_for_new_pull(&pr), want, "{pr:?}");
        assert!(want <= u64::from(MAX_WRITES_PER_TARGET));
    }
}

#[test]
fn a_write_budget_window_compresses_the_hour() {
    let pacing = Pacing {
        interval: Duration::from_secs(1),
        ..Pacing::default()
    }
    .with_budget(2, Duration::from_secs(10));
    let mut p = transport::Pacer::new(pacing);
    let t0 = UNIX_EPOCH + Duration::from_secs(1_000);
    let slots: Vec<u64> = (0..5)
        .map(|_| p.reserve(t0).duration_since(t0).unwrap().as_secs())
        .collect();
    // Two writes per 10 s, 1 s apart: the third waits for the first to leave the window.
    assert_eq!(slots, [0, 1, 10, 11, 20]);
    let off = Pacing::default().with_budget(0, Duration::from_secs(10));
    assert_eq!(off.per_hour, 0);
}
