//! What a careless or hostile user runs into: bad flags, unwritable report paths, control
//! characters in configs and flags.

use std::path::{Path, PathBuf};

use super::Result;
use super::fixtures::Sandbox;

const BRANCH: &str = "chore/sync-files-g";

fn config(sb: &Sandbox, source: &Path, target: &Path, name: &str) -> PathBuf {
    let yaml = format!(
        "version: 1\ngroups:\n  - name: \"{name}\"\n    id: g\n    source: {{repo: \"{}\", branch: main}}\n    targets:\n      - repo: \"{}\"\n        files: [{{src: a.txt, dest: a.txt}}]\n",
        source.display(),
        target.display()
    );
    sb.write("sync.yaml", &yaml)
}

fn setup(sb: &Sandbox, name: &str) -> (PathBuf, PathBuf) {
    let src = sb.work_repo("template", &[("a.txt", b"a\n")]);
    let tgt = sb.bare_repo("target", &[("x", b"x\n")]);
    (config(sb, &src, &tgt, name), tgt)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_unwritable_report_path_is_refused_before_anything_is_pushed() -> Result {
    let sb = Sandbox::new();
    let (cfg, tgt) = setup(&sb, "g");
    let cfg = cfg.to_str().ok_or("utf8")?;
    for report in [
        sb.path().to_str().ok_or("utf8")?.to_owned(),
        sb.path().join("missing/r.json").display().to_string(),
    ] {
        let out = sb.broadcast(&["sync", "--config", cfg, "--report", &report]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("--report"),
            "{}",
            text(&out.stderr)
        );
        assert_eq!(sb.rev(&tgt, BRANCH), None, "nothing pushed");
    }
    Ok(())
}

#[test]
fn a_bad_log_level_is_a_usage_error() -> Result {
    let sb = Sandbox::new();
    let (cfg, _) = setup(&sb, "g");
    let out = sb.broadcast(&[
        "--log-level",
        "bogus[",
        "validate",
        "--config",
        cfg.to_str().ok_or("utf8")?,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--log-level 'bogus['"),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}

#[test]
fn control_characters_from_configs_and_flags_never_reach_the_terminal() -> Result {
    let sb = Sandbox::new();
    let (cfg, _) = setup(&sb, "G\\e[31mred");
    let cfg = cfg.to_str().ok_or("utf8")?;
    let validate = sb.broadcast(&["validate", "--config", cfg]);
    assert_eq!(
        validate.status.code(),
        Some(0),
        "{}",
        text(&validate.stderr)
    );
    let flag = sb.broadcast(&["sync", "--config", cfg, "--groups", "x\u{1b}[31m"]);
    assert_eq!(flag.status.code(), Some(2));
    for out in [
        &validate.stdout,
        &validate.stderr,
        &flag.stdout,
        &flag.stderr,
    ] {
        let s = text(out);
        assert!(!s.contains('\u{1b}'), "raw ESC in {s:?}");
    }
    assert!(
        text(&validate.stdout).contains("G\\x1b[31mred"),
        "{}",
        text(&validate.stdout)
    );
    assert!(
        text(&flag.stderr).contains("x\\x1b[31m"),
        "{}",
        text(&flag.stderr)
    );
    Ok(())
}

#[test]
fn logs_carry_no_colour_codes_when_stderr_is_not_a_terminal() -> Result {
    let sb = Sandbox::new();
    let (cfg, _) = setup(&sb, "g");
    let out = sb.broadcast(&[
        "--log-level",
        "trace",
        "sync",
        "--config",
        cfg.to_str().ok_or("utf8")?,
        "--dry-run",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains('\u{1b}'),
        "{}",
        text(&out.stderr)
    );
    Ok(())
}
