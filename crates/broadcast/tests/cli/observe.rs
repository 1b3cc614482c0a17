//! Observability flags: log levels and formats, colour, progress, metrics (served and written),
//! the `--diff` budget, and `diagnose`.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use super::Result;
use super::fixtures::{Sandbox, target_entry};

/// A template and three targets: two behind (`a.txt` differs), one already in sync.
fn setup(sb: &Sandbox) -> PathBuf {
    let src = sb.work_repo(
        "template",
        &[("a.txt", b"new\n"), ("bin.dat", b"\x00\x01\x02")],
    );
    let body = "        files:\n          - {src: a.txt, dest: a.txt}\n";
    let mut targets = String::new();
    for name in ["t1", "t2"] {
        let t = sb.bare_repo(name, &[("a.txt", b"old\n")]);
        targets += &target_entry(&t, body);
    }
    let t3 = sb.bare_repo("t3", &[("a.txt", b"new\n")]);
    targets += &target_entry(&t3, body);
    sb.one_group_config(&src, &targets)
}

fn run(sb: &Sandbox, args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = sb.broadcast_command(args);
    cmd.env_remove("RUST_LOG").env_remove("NO_COLOR");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.output().expect("run broadcast")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Each line of `text` as a JSON value (`--log-format json` writes one object per line).
fn json_lines(text: &str) -> Result<Vec<serde_json::Value>> {
    Ok(text
        .lines()
        .map(serde_json::from_str)
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("{e}: {text}"))?)
}

fn cfg(p: &Path) -> &str {
    p.to_str().expect("utf-8 temp path")
}

#[test]
fn verbosity_flags_log_level_and_rust_log() -> Result {
    let sb = Sandbox::new();
    let config = setup(&sb);
    let c = cfg(&config);
    let dry = ["sync", "--config", c, "--dry-run"];
    let with = |pre: &[&'static str]| -> Vec<&str> { pre.iter().copied().chain(dry).collect() };

    // Default (warn): no per-target line.
    let quiet_default = run(&sb, &dry, &[]);
    assert!(
        !stderr(&quiet_default).contains("target done"),
        "{}",
        stderr(&quiet_default)
    );
    // -v: one decision line per target, no git process lines.
    let v = stderr(&run(&sb, &with(&["-v"]), &[]));
    assert_eq!(v.matches("target done").count(), 3, "{v}");
    assert!(v.contains("status=\"in sync\""), "{v}");
    assert!(!v.contains("git process"), "{v}");
    // -vv: every git process with its command (a dry run of local repositories starts
    // long-lived cat-file processes only; the one-shot ones of a write are checked below).
    let vv = stderr(&run(&sb, &with(&["-vv"]), &[]));
    assert!(
        vv.contains("git process started command=") && vv.contains("cat-file"),
        "{vv}"
    );
    assert!(vv.contains("group{id=g}:target{repo="), "spans: {vv}");
    // -q: nothing, even with RUST_LOG asking for more.
    let q = run(&sb, &with(&["-q"]), &[("RUST_LOG", Some("debug"))]);
    assert_eq!(stderr(&q), "");
    // RUST_LOG applies without flags; --log-level wins over it.
    let env_debug = stderr(&run(&sb, &dry, &[("RUST_LOG", Some("debug"))]));
    assert!(env_debug.contains("git process"), "{env_debug}");
    let flag_wins = run(
        &sb,
        &with(&["--log-level", "error"]),
        &[("RUST_LOG", Some("debug"))],
    );
    assert_eq!(stderr(&flag_wins), "");
    let flag_wins = stderr(&run(
        &sb,
        &with(&["--log-level", "debug"]),
        &[("RUST_LOG", Some("error"))],
    ));
    assert!(flag_wins.contains("git process"), "{flag_wins}");
    // -v and -q together are a usage error.
    assert_eq!(run(&sb, &with(&["-v", "-q"]), &[]).status.code(), Some(2));
    // -vv on a run that writes: a one-shot process with its duration and exit code.
    let vv = stderr(&run(&sb, &["-vv", "sync", "--config", c], &[]));
    assert!(
        vv.contains("git process command=") && vv.contains("update-ref"),
        "{vv}"
    );
    assert!(vv.contains("duration_ms=") && vv.contains("exit=0"), "{vv}");
    Ok(())
}

#[test]
fn json_log_format_is_one_object_per_line() -> Result {
    let sb = Sandbox::new();
    let config = setup(&sb);
    let out = run(
        &sb,
        &[
            "--log-format",
            "json",
            "-vv",
            "sync",
            "--config",
            cfg(&config),
            "--dry-run",
        ],
        &[],
    );
    let text = stderr(&out);
    let lines = json_lines(&text)?;
    // The source's long-lived reader, in the group span.
    let source = lines
        .iter()
        .find(|l| l["message"] == "git process started" && l["subcommand"] == "cat-file")
        .ok_or_else(|| format!("no git process event: {text}"))?;
    assert!(
        source["command"]
            .as_str()
            .is_some_and(|c| c.contains("template"))
    );
    assert_eq!(source["spans"][0]["name"], "group");
    // A target's own process (local targets are read through one long-lived cat-file) carries
    // the target span.
    let per_target = lines
        .iter()
        .find(|l| {
            l["message"] == "git process started"
                && l["subcommand"] == "cat-file"
                && l["spans"][1]["name"] == "target"
        })
        .ok_or_else(|| format!("no git process event in a target span: {text}"))?;
    assert_eq!(per_target["spans"][0]["name"], "group", "{per_target}");
    let done: Vec<_> = lines
        .iter()
        .filter(|l| l["message"] == "target done")
        .collect();
    assert_eq!(done.len(), 3, "{text}");
    assert!(done.iter().any(|l| l["status"] == "would sync"));

    // A run that writes: a one-shot process with its duration and exit code.
    let out = run(
        &sb,
        &[
            "--log-format",
            "json",
            "-vv",
            "sync",
            "--config",
            cfg(&config),
        ],
        &[],
    );
    let text = stderr(&out);
    let lines = json_lines(&text)?;
    let git = lines
        .iter()
        .find(|l| l["message"] == "git process" && l["subcommand"] == "update-ref")
        .ok_or_else(|| format!("no git process event: {text}"))?;
    assert!(
        git["command"]
            .as_str()
            .is_some_and(|c| c.contains("update-ref"))
    );
    assert!(git["duration_ms"].is_u64() && git["exit"] == 0, "{git}");
    assert_eq!(git["spans"][0]["name"], "group");
    Ok(())
}

#[test]
fn colour_only_when_asked_or_on_a_terminal() -> Result {
    let sb = Sandbox::new();
    let config = setup(&sb);
    let args = |color: &'static str| {
        vec![
            "--color",
            color,
            "-v",
            "sync",
            "--config",
            cfg(&config),
            "--dry-run",
        ]
    };
    let esc = |o: &Output| o.stderr.contains(&0x1b);
    // stderr is a pipe here: auto means none.
    assert!(!esc(&run(&sb, &args("auto"), &[])));
    assert!(!esc(&run(&sb, &args("never"), &[])));
    // always wins over NO_COLOR (a flag beats the variable).
    assert!(esc(&run(&sb, &args("always"), &[("NO_COLOR", Some("1"))])));
    // No progress bar drawing into a pipe: no carriage returns.
    assert!(!run(&sb, &args("auto"), &[]).stderr.contains(&b'\r'));
    Ok(())
}

/// Every sample of a text exposition, parsed by a Prometheus parser.
fn scrape(text: &str) -> Result<prometheus_parse::Scrape> {
    Ok(prometheus_parse::Scrape::parse(
        text.lines().map(|l| Ok(l.to_owned())),
    )?)
}

fn value(s: &prometheus_parse::Scrape, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    s.samples
        .iter()
        .filter(|x| x.metric == name)
        .filter(|x| labels.iter().all(|(k, v)| x.labels.get(k) == Some(*v)))
        .map(|x| match &x.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => *v,
            prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
            prometheus_parse::Value::Summary(_) => 0.0,
        })
        .reduce(|a, b| a + b)
}

#[test]
fn metrics_file_is_written_at_the_end_in_the_exposition_format() -> Result {
    let sb = Sandbox::new();
    let config = setup(&sb);
    let file = sb.path().join("broadcast.prom");
    let out = run(
        &sb,
        &[
            "sync",
            "--config",
            cfg(&config),
            "--metrics-file",
            cfg(&file),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&file)?;
    let s = scrape(&text)?;
    assert_eq!(
        value(&s, "broadcast_targets_planned", &[("group", "g")]),
        Some(3.0)
    );
    assert_eq!(
        value(&s, "broadcast_targets_total", &[("status", "synced")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&s, "broadcast_targets_total", &[("status", "in_sync")]),
        Some(1.0)
    );
    assert_eq!(
        // Local targets without receive-side hooks are written in place: one update-ref each.
        value(&s, "broadcast_writes_total", &[("kind", "update-ref")]),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(&s, "broadcast_bytes_written_total", &[]),
        Some(8.0),
        "{text}"
    );
    assert!(
        value(
            &s,
            "broadcast_git_processes_total",
            &[("subcommand", "cat-file")]
        ) >= Some(1.0),
        "the source's cat-file (it reads the local targets' trees too): {text}"
    );
    assert!(
        value(
            &s,
            "broadcast_git_process_duration_seconds",
            &[("subcommand", "fast-import")]
        )
        .is_some(),
        "{text}"
    );
    assert!(
        value(
            &s,
            "broadcast_phase_duration_seconds",
            &[("phase", "target_read")]
        ) == Some(3.0),
        "{text}"
    );
    assert!(value(&s, "broadcast_peak_rss_bytes", &[]).is_some_and(|v| v > 0.0));
    // Nothing left behind by the atomic replace.
    let leftovers: Vec<_> = std::fs::read_dir(sb.path())?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".prom."))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // A directory is refused before anything runs.
    let bad = run(
        &sb,
        &[
            "sync",
            "--config",
            cfg(&config),
            "--metrics-file",
            cfg(sb.path()),
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("--metrics-file"), "{}", stderr(&bad));
    Ok(())
}

#[test]
fn metrics_are_served_with_a_dashboard_while_the_run_lingers() -> Result {
    let sb = Sandbox::new();
    let config = setup(&sb);
    let mut child = sb
        .broadcast_command(&[
            "sync",
            "--config",
            cfg(&config),
            "--dry-run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--metrics-linger-secs",
            "5",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut lines = BufReader::new(child.stderr.take().ok_or("stderr")?).lines();
    let mut base = None;
    let mut seen = Vec::new();
    while let Some(line) = lines.next().transpose()? {
        if let Some(rest) = line.strip_prefix("metrics: http://") {
            base = rest.split("/metrics").next().map(|a| format!("http://{a}"));
        }
        let lingering = line.contains("still serving");
        seen.push(line);
        if lingering {
            break;
        }
    }
    let base = base.ok_or_else(|| format!("no address: {seen:?}"))?;
    let mut resp = ureq::get(&format!("{base}/metrics")).call()?;
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let text = resp.body_mut().read_to_string()?;
    let s = scrape(&text)?;
    assert_eq!(
        value(&s, "broadcast_targets_total", &[("status", "would_sync")]),
        Some(2.0),
        "{text}"
    );
    // The run is over: the elapsed time the page shows stands still while the server lingers
    // (two scrapes apart would differ by at least the time between them), and the page is told
    // the run finished.
    let elapsed = value(&s, "broadcast_run_elapsed_seconds", &[]).ok_or("elapsed")?;
    assert_eq!(
        value(&s, "broadcast_run_finished", &[]),
        Some(1.0),
        "{text}"
    );
    let again = ureq::get(&format!("{base}/metrics"))
        .call()?
        .body_mut()
        .read_to_string()?;
    assert_eq!(
        value(&scrape(&again)?, "broadcast_run_elapsed_seconds", &[]),
        Some(elapsed),
        "{again}"
    );
    let page = ureq::get(&format!("{base}/"))
        .call()?
        .body_mut()
        .read_to_string()?;
    assert!(
        page.contains("<svg") && page.contains("fetch(\"/metrics\""),
        "dashboard"
    );
    // Works offline: nothing is loaded from another host.
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "external resource"
    );
    let missing = ureq::get(&format!("{base}/nope"))
        .config()
        .http_status_as_error(false)
        .build()
        .call()?;
    assert_eq!(missing.status().as_u16(), 404);
    let status = child.wait()?;
    assert_eq!(status.code(), Some(0));
    Ok(())
}

#[test]
fn diff_budget_gives_summary_lines_and_binary_says_binary() -> Result {
    let sb = Sandbox::new();
    let old: String = (0..200).map(|i| format!("line {i}\n")).collect();
    let new: String = (0..200).map(|i| format!("line {}\n", i * 3)).collect();
    let src = sb.work_repo(
        "template",
        &[
            ("big.txt", new.as_bytes()),
            ("bin.dat", b"\x00new"),
            ("small.txt", b"b\n"),
        ],
    );
    let t = sb.bare_repo(
        "t1",
        &[
            ("big.txt", old.as_bytes()),
            ("bin.dat", b"\x00old!"),
            ("small.txt", b"a\n"),
        ],
    );
    let body = "        files:\n          - {src: big.txt, dest: big.txt}\n          - {src: bin.dat, dest: bin.dat}\n          - {src: small.txt, dest: small.txt}\n";
    let config = sb.one_group_config(&src, &target_entry(&t, body));
    let c = cfg(&config);
    let out = run(
        &sb,
        &[
            "sync",
            "--config",
            c,
            "--dry-run",
            "--diff",
            "--diff-max-bytes",
            "1000",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(diff not shown: 1762 B is over the 1000 B budget (--diff-max-bytes))"),
        "{stdout}"
    );
    assert!(
        stdout.contains("(binary (5 B -> 4 B), not diffed)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-a\n") || stdout.contains("    -a"),
        "small file still diffed: {stdout}"
    );
    // A spent time budget: a summary line, never a partial diff.
    let out = run(
        &sb,
        &[
            "sync",
            "--config",
            c,
            "--dry-run",
            "--diff",
            "--diff-deadline-ms",
            "0",
        ],
        &[],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--diff-deadline-ms"), "{stdout}");
    // In the JSON report the note is its own field.
    let (_, report) = sb.sync_json(
        &config,
        &["--dry-run", "--diff", "--diff-max-bytes", "1000"],
    )?;
    let notes: Vec<_> = report["targets"][0]["changes"]
        .as_array()
        .ok_or("changes")?
        .iter()
        .filter_map(|c| c["diff_note"].as_str())
        .collect();
    assert_eq!(notes.len(), 2, "{report:#}");
    Ok(())
}

#[test]
fn diagnose_without_a_token_says_where_it_looked() -> Result {
    let sb = Sandbox::new();
    let config = setup(&sb);
    let out = run(
        &sb,
        &["diagnose", "--config", cfg(&config)],
        &[("PATH", Some("/usr/bin:/bin:/usr/local/bin"))],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for want in [
        "broadcast: ",
        "git: git version",
        "token: none",
        "GH_TOKEN or GITHUB_TOKEN",
        "groups: 1",
        "targets: 3 (0 on GitHub)",
        "cores: ",
        "os: linux",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    Ok(())
}
