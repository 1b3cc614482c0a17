//! Table tests of the config checks.

use super::*;
use crate::config::normalize_path;

#[test]
fn normalize_path_rules() {
    let check = |p: &str, want: Result<&str, ()>| {
        assert_eq!(
            normalize_path(p, false).as_deref().map_err(|_| ()),
            want,
            "{p}"
        );
    };
    check("a/b.txt", Ok("a/b.txt"));
    check("./a//b/", Ok("a/b"));
    check("a b/ü.md", Ok("a b/ü.md"));
    check("a..b", Ok("a..b"));
    check("../x", Err(()));
    check("a/../../x", Err(()));
    check("/etc/passwd", Err(()));
    check(".git/config", Err(()));
    check("sub/.GIT/hooks", Err(()));
    check("", Err(()));
    check("a\nb", Err(()));
    assert_eq!(normalize_path(".", true).as_deref(), Ok(""));
}

/// Issues of a config made of one group with the given target body (YAML, indented for
/// `targets[0]`), as `path: message` lines.
fn target_issues(target: &str) -> Vec<String> {
    let text = format!(
        "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{ repo: acme/template }}\n    targets:\n      - repo: acme/a\n{target}"
    );
    match super::super::parse_str(&text, Path::new(".")) {
        Ok(_) => Vec::new(),
        Err(super::super::ParseError::Invalid(issues)) => {
            issues.iter().map(|i| i.to_string()).collect()
        }
        Err(super::super::ParseError::Syntax(e)) => vec![format!("syntax: {e}")],
    }
}

#[test]
fn directory_mappings_need_src_and_dest() {
    let at = "groups[0].targets[0].directories[0]";
    let root = "required; use \".\" for the repository root";
    let table: &[(&str, &[String])] = &[
        (
            "        directories: [{ dest: out }]\n",
            &[format!("{at}.src: {root}")],
        ),
        (
            "        directories: [{ src: null, dest: out }]\n",
            &[format!("{at}.src: {root}")],
        ),
        (
            "        directories: [{ src: \"\", dest: out }]\n",
            &[format!("{at}.src: {root}")],
        ),
        (
            "        directories: [{ src: docs }]\n",
            &[format!("{at}.dest: {root}")],
        ),
        (
            "        directories: [{ src: docs, dest: ~ }]\n",
            &[format!("{at}.dest: {root}")],
        ),
        (
            "        directories: [{ src: \" \", dest: \"\" }]\n",
            &[format!("{at}.src: {root}"), format!("{at}.dest: {root}")],
        ),
        ("        directories: [{ src: ., dest: out }]\n", &[]),
        ("        directories: [{ src: docs, dest: . }]\n", &[]),
        ("        directories: [{ src: ./, dest: ./ }]\n", &[]),
        ("        directories: [{ dest: old, delete: true }]\n", &[]),
        (
            "        directories: [{ delete: true }]\n",
            &[format!("{at}.dest: required")],
        ),
        (
            "        directories: [{ dest: old, delete: true, exclude: [keep.md], include_only: [\"*.md\"] }]\n",
            &[],
        ),
        (
            "        directories: [{ dest: old, delete: true, delete_orphaned: true }]\n",
            &[format!(
                "{at}.delete_orphaned: has no effect with delete: true (which removes the files under dest); remove one of them"
            )],
        ),
        (
            "        directories: [{ dest: old, delete: true, exclude: [] }]\n",
            &[],
        ),
    ];
    for (target, expected) in table {
        assert_eq!(target_issues(target), *expected, "{target}");
    }
    let list = "version: 1\ndirectory_lists:\n  - { id: d, name: D, directories: [{ dest: out }] }\ngroups:\n  - name: g\n    id: g\n    source: { repo: acme/template }\n    targets:\n      - { repo: acme/a, directory_list_refs: [d] }\n";
    let Err(super::super::ParseError::Invalid(issues)) =
        super::super::parse_str(list, Path::new("."))
    else {
        panic!("a list entry without src is rejected");
    };
    let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
    assert!(
        paths.contains(&"directory_lists[0].directories[0].src"),
        "{paths:?}"
    );
}

#[test]
fn a_destination_cannot_be_both_a_file_and_a_directory() {
    let t = "groups[0].targets[0]";
    let table: &[(&str, &[String])] = &[
        (
            "        files: [{ src: a, dest: conf }]\n        directories: [{ src: b, dest: conf/sub }]\n",
            &[format!(
                "{t}.directories[0].dest: destination \"conf/sub\" needs \"conf\" to be a directory, but {t}.files[0] writes \"conf\" as a file"
            )],
        ),
        (
            "        files: [{ src: a, dest: conf/x/y }, { src: b, dest: ./conf }]\n",
            &[format!(
                "{t}.files[0].dest: destination \"conf/x/y\" needs \"conf\" to be a directory, but {t}.files[1] writes \"conf\" as a file"
            )],
        ),
        // A file inside a directory mapping's destination is fine (it overrides one file).
        (
            "        files: [{ src: a, dest: conf/a }]\n        directories: [{ src: b, dest: conf }]\n",
            &[],
        ),
        (
            "        files: [{ src: a, dest: conf }]\n        directories: [{ src: b, dest: config }]\n",
            &[],
        ),
        // Deleting the file `conf` to make room for a directory is a valid change.
        (
            "        files: [{ dest: conf, delete: true }]\n        directories: [{ src: b, dest: conf/sub }]\n",
            &[],
        ),
    ];
    for (target, expected) in table {
        assert_eq!(target_issues(target), *expected, "{target}");
    }
}

#[test]
fn branch_rules() {
    for ok in ["main", "chore/sync-files", "release-1.2", "a_b"] {
        assert!(validate_branch(ok).is_ok(), "{ok}");
    }
    for bad in [
        "", "-x", "a..b", "a//b", "a/", "x.lock", "a b", "a~1", "a@{x",
    ] {
        assert!(validate_branch(bad).is_err(), "{bad}");
    }
}

#[test]
fn email_rules() {
    assert!(validate_email("security@example.com").is_ok());
    assert!(validate_email("a.b+c@sub.example.co").is_ok());
    for bad in ["x", "a@b", "a..b@x.com", "@x.com", "a@-x.com", "a@x.c"] {
        assert!(validate_email(bad).is_err(), "{bad}");
    }
}
