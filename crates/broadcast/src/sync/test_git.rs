//! git for the engine's unit tests.

use std::io::Write;
use std::path::Path;

/// `git --git-dir=<dir> <args>` with stdin `input`; stdout, trimmed. Panics when git fails.
pub(crate) fn git_in(dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut child = std::process::Command::new("git")
        .arg(format!("--git-dir={}", dir.display()))
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let out = child.wait_with_output().expect("git ends");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
