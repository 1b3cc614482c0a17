//! Trust: the token never shows in any output at any log level and is only sent to the host it
//! was issued for; a rejected token, an empty repository, a file GitHub refuses and a pull
//! request body GitHub refuses are each reported in words, before anything is written where
//! possible. The `broadcast` binary runs against the same doubles as `e2e.rs`.

use std::path::Path;

use httpmock::Method::{GET, POST};
use httpmock::MockServer;
use serde_json::json;

use crate::Result;
use crate::fixtures::TOKEN;
use crate::git_http::{bare_repo, expected_authorization};
use crate::world::{
    World, add_labels, keep_body, last, list_pulls, pull, rate_limit, repository, target_report,
    unexpected,
};

const TARGET: &str =
    "      - repo: acme/alpha\n        files:\n          - {src: README.md, dest: README.md}\n";

/// Mocks for one new target `acme/alpha`: rate limit, repository, no open pull request, create
/// (answering pull request 1) and the default label.
fn new_target_mocks(api: &MockServer) {
    rate_limit(api);
    repository(api, "acme/alpha");
    list_pulls(api, "acme/alpha", json!([]));
    api.mock(|when, then| {
        when.method(POST).path("/repos/acme/alpha/pulls");
        then.status(201)
            .json_body(pull("acme/alpha", 1, "created", "created", &[]));
    });
    add_labels(api, "acme/alpha", 1, &["automated-sync"]);
    unexpected(api);
}

fn hex(bytes: &[u8], upper: bool, sep: &str) -> String {
    bytes
        .iter()
        .map(|b| {
            if upper {
                format!("{b:02X}")
            } else {
                format!("{b:02x}")
            }
        })
        .collect::<Vec<_>>()
        .join(sep)
}

/// Every 8-character window of the token, plain and in hex (lower and upper case, contiguous and
/// byte-separated as hex dumps print it), and every 12-character window of git's Basic
/// credential: none may appear in `text`.
fn assert_no_token(text: &str, what: &str) -> Result {
    let basic = expected_authorization()?;
    let basic = basic.trim_start_matches("Basic ");
    let token = TOKEN.as_bytes();
    let lower = text.to_ascii_lowercase();
    for w in token.windows(8) {
        let plain = std::str::from_utf8(w)?;
        assert!(
            !text.contains(plain),
            "{what}: token piece {plain:?} in output"
        );
        for sep in ["", " ", ":"] {
            let h = hex(w, false, sep);
            assert!(
                !lower.contains(&h),
                "{what}: token piece {plain:?} as hex {h:?}"
            );
            assert!(
                !text.contains(&hex(w, true, sep)),
                "{what}: token as upper-case hex"
            );
        }
    }
    for w in basic.as_bytes().windows(12) {
        let piece = std::str::from_utf8(w)?;
        assert!(
            !text.contains(piece),
            "{what}: basic credential piece {piece:?}"
        );
    }
    Ok(())
}

#[test]
fn trace_logs_never_show_the_token_in_any_encoding() -> Result {
    for (how, extra, env) in [
        ("--log-level trace", vec!["--log-level", "trace"], None),
        ("RUST_LOG=trace", vec![], Some("trace")),
        (
            "RUST_LOG=ureq=trace,ureq_proto=trace",
            vec![],
            Some("trace,ureq=trace,ureq_proto=trace,rustls=trace"),
        ),
    ] {
        let w = World::new(&[("README.md", "# template\n")])?;
        w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
        let config = w.config(TARGET)?;
        let api = MockServer::start();
        new_target_mocks(&api);
        let out = w.run(&config, &api, &extra, &[("RUST_LOG", env)])?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{how}: {stdout}\n{stderr}");
        // The run did log at trace level (so the check below means something).
        assert!(
            stderr.contains("TRACE") || stderr.contains("DEBUG"),
            "{how}: {stderr}"
        );
        assert_no_token(&format!("{stdout}\n{stderr}"), how)?;
    }
    Ok(())
}

/// A fake `gh` that appends its arguments to `gh-args` next to it and prints `token` for
/// `auth token --hostname <host>`, another token for any other host.
fn fake_gh(dir: &Path, host: &str, token: &str) -> Result<String> {
    std::fs::create_dir_all(dir)?;
    let script = format!(
        "#!/bin/sh\necho \"$@\" >> '{}'\nif [ \"$1 $2 $3 $4\" = \"auth token --hostname {host}\" ]; then echo '{token}'; else echo 'ghp_OTHERhostTOKEN000000000000000000000'; fi\n",
        dir.join("gh-args").display()
    );
    let gh = dir.join("gh");
    std::fs::write(&gh, script)?;
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&gh)
        .status()?;
    let path = std::env::var("PATH").unwrap_or_default();
    Ok(format!("{}:{path}", dir.display()))
}

#[test]
fn token_is_looked_up_for_the_host_that_receives_it() -> Result {
    // github.com's token sits in GH_TOKEN; the servers are another host (GitHub Enterprise
    // style): only the token `gh` holds for that host may be used and sent.
    const GITHUB_COM_TOKEN: &str = "ghp_GITHUBcomTOKEN11111111111111111111";
    let w = World::new(&[("README.md", "# template\n")])?;
    w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    let config = w.config(TARGET)?;
    let bin = w.tmp.path().join("bin");
    let path = fake_gh(&bin, "127.0.0.1", TOKEN)?;
    let api = MockServer::start();
    let wrong = api.mock(|when, then| {
        when.header("authorization", format!("Bearer {GITHUB_COM_TOKEN}"));
        then.status(500)
            .json_body(json!({"message": "github.com's token sent here"}));
    });
    new_target_mocks(&api);
    let out = w.run(
        &config,
        &api,
        &[],
        &[
            ("GH_ENTERPRISE_TOKEN", None),
            ("GH_TOKEN", Some(GITHUB_COM_TOKEN)),
            ("GITHUB_TOKEN", Some(GITHUB_COM_TOKEN)),
            ("PATH", Some(&path)),
        ],
    )?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let args = std::fs::read_to_string(bin.join("gh-args")).unwrap_or_default();
    assert_eq!(
        args.trim(),
        "auth token --hostname 127.0.0.1",
        "gh asked: {args:?}"
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
    wrong.assert_calls(0);
    assert_eq!(
        w.git.rejected.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "git sent a token the server does not accept"
    );
    Ok(())
}

#[test]
fn wrong_token_is_reported_as_rejected_for_git() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    let config = w.config(TARGET)?;
    let api = MockServer::start();
    new_target_mocks(&api);
    let out = w.run(
        &config,
        &api,
        &[],
        &[(
            "GH_ENTERPRISE_TOKEN",
            Some("ghp_WRONGtoken9999999999999999999999999"),
        )],
    )?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "failed", "{a:#}");
    let error = a["error"].as_str().ok_or("error")?;
    assert!(
        error.contains("github token rejected") && error.contains("127.0.0.1"),
        "{error}"
    );
    assert!(!error.contains("WRONGtoken"), "{error}");

    // The same for reading a source repository on GitHub.
    let local = w.tmp.path().join("local.git");
    std::fs::create_dir_all(&local)?;
    crate::git_http::git_ok(
        &w.home,
        &local,
        None,
        &["init", "-q", "--bare", "-b", "main"],
    )?;
    let config = w.tmp.path().join("from-github.yaml");
    std::fs::write(
        &config,
        format!(
            "version: 1\ngroups:\n  - name: G\n    id: g\n    source: {{repo: acme/alpha, branch: main}}\n    targets:\n      - repo: \"{}\"\n        files:\n          - {{src: README.md, dest: README.md}}\n",
            local.display()
        ),
    )?;
    let out = w.run(
        &config,
        &api,
        &[],
        &[(
            "GH_ENTERPRISE_TOKEN",
            Some("ghp_WRONGtoken9999999999999999999999999"),
        )],
    )?;
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let error = report["targets"][0]["error"].as_str().ok_or("error")?;
    assert!(
        error.contains("github token rejected") && error.contains("acme/alpha"),
        "{error}"
    );
    Ok(())
}

#[test]
fn pull_request_body_is_capped_at_65536_characters_with_the_metadata_whole() -> Result {
    // 400 files with long paths: listed in full they would make a body GitHub refuses.
    let long = "a-rather-long-directory-name-for-testing/".repeat(6);
    let files: Vec<(String, String)> = (0..400)
        .map(|i| (format!("{long}file-{i:04}.txt"), format!("{i}\n")))
        .collect();
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let w = World::new(&refs)?;
    w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    let config = w.config(&format!(
        "      - repo: acme/alpha\n        directories:\n          - {{src: {}, dest: {}}}\n",
        long.trim_end_matches('/'),
        long.trim_end_matches('/')
    ))?;
    let api = MockServer::start();
    rate_limit(&api);
    repository(&api, "acme/alpha");
    list_pulls(&api, "acme/alpha", json!([]));
    let (bodies, keep) = keep_body("POST", "/repos/acme/alpha/pulls".to_owned());
    api.mock(|when, then| {
        when.method(POST)
            .path("/repos/acme/alpha/pulls")
            .is_true(keep);
        then.status(201)
            .json_body(pull("acme/alpha", 1, "created", "created", &[]));
    });
    add_labels(&api, "acme/alpha", 1, &["automated-sync"]);
    unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 0, "{report:#}");
    let posted = last(&bodies)?;
    let body = posted["body"].as_str().ok_or("body")?;
    assert!(
        body.chars().count() <= 65_536,
        "{} characters",
        body.chars().count()
    );
    let listed = body.lines().filter(|l| l.starts_with("- `")).count();
    assert!(listed > 0 && listed < 400, "{listed} files listed");
    assert!(
        body.contains(&format!("… and {} more files", 400 - listed)),
        "{}",
        &body[body.len().saturating_sub(800)..]
    );
    let meta_at = body
        .find("<!-- go-broadcast-metadata")
        .ok_or("no metadata block")?;
    let meta = &body[meta_at..];
    for key in [
        "group_id",
        "source_repo",
        "source_commit",
        "target_repo",
        "sync_commit",
    ] {
        assert!(meta.contains(key), "{meta}");
    }
    assert!(meta.trim_end().ends_with("-->"), "{meta}");
    Ok(())
}

#[test]
fn empty_repository_is_named_in_a_clear_message() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    let empty = bare_repo(&w.home, &w.root, "acme", "empty")?;
    let config = w.config(
        "      - repo: acme/empty\n        files:\n          - {src: README.md, dest: README.md}\n",
    )?;
    let api = MockServer::start();
    rate_limit(&api);
    // "Get a repository" for a repository without any branch: no default branch yet.
    api.mock(|when, then| {
        when.method(GET).path("/repos/acme/empty");
        then.status(200).json_body(json!({
            "id": 1, "name": "empty", "full_name": "acme/empty", "private": false,
            "default_branch": null, "archived": false, "disabled": false, "size": 0
        }));
    });
    list_pulls(&api, "acme/empty", json!([]));
    unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let t = target_report(&report, "acme/empty")?;
    let error = t["error"].as_str().ok_or("error")?;
    assert!(
        error.contains("acme/empty") && error.contains("empty") && error.contains("default branch"),
        "{error}"
    );
    // Nothing was pushed: the first branch pushed would become the default branch.
    assert!(w.refs(&empty)?.is_empty(), "{:?}", w.refs(&empty)?);
    Ok(())
}

#[test]
fn file_over_100_mib_is_refused_for_github_targets_and_others_go_on() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    // 101 MiB from a repeating pattern (compresses to almost nothing in git).
    let big: Vec<u8> = b"0123456789abcdef"
        .iter()
        .copied()
        .cycle()
        .take(101 * 1024 * 1024)
        .collect();
    std::fs::write(w.source.join("big.bin"), &big)?;
    drop(big);
    w.commit(&w.source, &[], "big file")?;
    let alpha = w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    let before = w.refs(&alpha)?;
    let local = w.tmp.path().join("local.git");
    std::fs::create_dir_all(&local)?;
    crate::git_http::git_ok(
        &w.home,
        &local,
        None,
        &["init", "-q", "--bare", "-b", "main"],
    )?;
    let seed = w.tmp.path().join("seed");
    std::fs::create_dir_all(&seed)?;
    crate::git_http::git_ok(&w.home, &seed, None, &["init", "-q", "-b", "main"])?;
    w.commit(&seed, &[("x", "x\n")], "seed")?;
    crate::git_http::git_ok(
        &w.home,
        &seed,
        None,
        &["push", "-q", local.to_str().ok_or("utf-8")?, "main"],
    )?;
    let files = "        files:\n          - {src: big.bin, dest: big.bin}\n";
    let config = w.config(&format!(
        "      - repo: acme/alpha\n{files}      - repo: \"{}\"\n{files}",
        local.display()
    ))?;
    let api = MockServer::start();
    rate_limit(&api);
    repository(&api, "acme/alpha");
    list_pulls(&api, "acme/alpha", json!([]));
    unexpected(&api);
    let (code, report) = w.sync(&config, &api, &[])?;
    assert_eq!(code, 1, "{report:#}");
    let a = target_report(&report, "acme/alpha")?;
    assert_eq!(a["status"], "failed", "{a:#}");
    let error = a["error"].as_str().ok_or("error")?;
    assert!(
        error.contains("big.bin") && error.contains("100 MiB"),
        "{error}"
    );
    assert_eq!(
        w.refs(&alpha)?,
        before,
        "nothing pushed to the GitHub target"
    );
    let l = target_report(&report, &local.display().to_string())?;
    assert_eq!(l["status"], "synced", "{l:#}");
    Ok(())
}

/// The preflight line's pacing estimate, in seconds, for one new target (2 writes: the create
/// and its labels), with the
/// budget at 0 so the group is refused before any write (nothing is actually paced).
fn preflight_secs(w: &World, top: &str, extra: &[&str]) -> Result<String> {
    let config = w.config_with(top, TARGET)?;
    let api = MockServer::start();
    api.mock(|when, then| {
        when.method(GET).path("/rate_limit");
        then.status(200).json_body(json!({
            "resources": {"core": {"limit": 5000, "used": 5000, "remaining": 0, "reset": 4_102_444_800_u64}},
            "rate": {"limit": 5000, "used": 5000, "remaining": 0, "reset": 4_102_444_800_u64}
        }));
    });
    unexpected(&api);
    let out = w.run(&config, &api, extra, &[])?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let at = stderr
        .find("write pacing takes about ")
        .ok_or_else(|| format!("no estimate: {stderr}"))?;
    Ok(stderr[at..]
        .split_whitespace()
        .nth(4)
        .unwrap_or_default()
        .to_owned())
}

#[test]
fn preflight_uses_the_write_interval_and_the_flag_beats_the_config() -> Result {
    let w = World::new(&[("README.md", "# template\n")])?;
    w.target("acme", "alpha", &[("README.md", "# alpha\n")])?;
    // 2 writes, one second apart by default: the second starts 1 s after the first.
    assert_eq!(preflight_secs(&w, "", &[])?, "1");
    let top = "rate_limit_preflight:\n  write_interval_ms: 2000\n";
    assert_eq!(preflight_secs(&w, top, &[])?, "2");
    assert_eq!(
        preflight_secs(&w, top, &["--write-interval-ms", "3000"])?,
        "3"
    );
    Ok(())
}
