//! `broadcast validate`: the go-broadcast examples load; bad configs get precise errors.

use std::path::PathBuf;

use super::Result;
use super::fixtures::Sandbox;

/// go-broadcast's published example configs (comments removed), kept in the repository so any
/// clone can check that they load.
fn examples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/go-broadcast-examples")
}

#[test]
fn every_go_broadcast_example_loads_and_validates() -> Result {
    let dir = examples_dir();
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let loaded = broadcast::config::load(&path).map_err(|e| format!("{e}"))?;
        let plan = broadcast::plan::build(&loaded.config, &loaded.base_dir, &Default::default())?;
        assert!(
            !plan.groups.is_empty()
                || loaded
                    .config
                    .groups
                    .iter()
                    .all(|g| g.enabled == Some(false)),
            "{}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 11, "expected the 11 published examples, found {n}");
    Ok(())
}

#[test]
fn validate_command_prints_a_summary() -> Result {
    let sb = Sandbox::new();
    let path = examples_dir().join("sync.yaml");
    let out = sb.broadcast(&["validate", "--config", path.to_str().ok_or("utf8")?]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout)?;
    assert!(text.contains("configuration is valid"), "{text}");
    assert!(text.contains("group template-sync"), "{text}");
    assert!(text.contains("chore/sync-files-template-sync"), "{text}");
    Ok(())
}

/// Runs validate on `yaml` and returns (exit code, stderr).
fn invalid(yaml: &str) -> (i32, String) {
    let sb = Sandbox::new();
    let p = sb.write("bad.yaml", yaml);
    let out = sb.broadcast(&["validate", "--config", p.to_str().expect("utf8")]);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

const HEAD: &str = "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {repo: acme/template}\n    targets:\n";

#[test]
fn path_traversal_is_rejected_with_the_field_path() {
    for (dest, what) in [
        ("../etc/passwd", "'..'"),
        ("/etc/passwd", "absolute"),
        (".git/config", ".git"),
    ] {
        let yaml = format!(
            "{HEAD}      - repo: acme/a\n        files:\n          - src: a\n            dest: ok\n          - src: a\n            dest: \"{dest}\"\n"
        );
        let (code, err) = invalid(&yaml);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("bad.yaml"), "names the file: {err}");
        assert!(err.contains("groups[0].targets[0].files[1].dest"), "{err}");
        assert!(err.contains(what), "{err}");
    }
    let yaml = format!(
        "{HEAD}      - repo: acme/a\n        directories:\n          - src: ../outside\n            dest: x\n"
    );
    let (_, err) = invalid(&yaml);
    assert!(
        err.contains("groups[0].targets[0].directories[0].src"),
        "{err}"
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_line_and_column() {
    let (code, err) = invalid(&format!("{HEAD}      - repo: acme/a\n        filez: []\n"));
    assert_eq!(code, 2);
    assert!(err.contains("filez"), "{err}");
    assert!(err.contains("line 8 column 9"), "{err}");
    let (_, err) = invalid(
        "version: 1\ngroups:\n  - name: g\n    id: g\n    priority: high\n    source: {repo: a/b}\n    targets: []\n",
    );
    assert!(err.contains("line 5"), "{err}");
}

#[test]
fn semantic_errors_are_all_reported() {
    let cases: &[(&str, &str)] = &[
        ("version: 2\ngroups: []\n", "unsupported config version 2"),
        (
            &format!(
                "{HEAD}      - repo: acme/a\n        files: [{{src: a, dest: a}}]\n      - repo: ACME/A\n        files: [{{src: a, dest: a}}]\n"
            ),
            "groups[0].targets[1].repo: duplicate target",
        ),
        (
            &format!("{HEAD}      - repo: acme/a\n        file_list_refs: [nope]\n"),
            "groups[0].targets[0].file_list_refs[0]: unknown file list 'nope'",
        ),
        (
            "version: 1\ngroups:\n  - {name: a, id: a, depends_on: [b], source: {repo: x/t}, targets: [{repo: x/a, files: [{src: f, dest: f}]}]}\n  - {name: b, id: b, depends_on: [a], source: {repo: x/t}, targets: [{repo: x/a, files: [{src: f, dest: f}]}]}\n",
            "dependency cycle: a -> b -> a",
        ),
        (
            &format!(
                "{HEAD}      - repo: acme/a\n        files: [{{src: a, dest: x}}, {{src: b, dest: ./x}}]\n"
            ),
            "groups[0].targets[0].files[1].dest: destination \"x\" is already used",
        ),
        (
            &format!("{HEAD}      - repo: not-a-repo\n        files: [{{src: a, dest: a}}]\n"),
            "groups[0].targets[0].repo",
        ),
        (
            &format!(
                "{HEAD}      - repo: acme/a\n        branch: \"bad..branch\"\n        files: [{{src: a, dest: a}}]\n"
            ),
            "groups[0].targets[0].branch",
        ),
        (
            &format!(
                "{HEAD}      - repo: acme/a\n        directories: [{{src: d, dest: d, exclude: [\"a[\"]}}]\n"
            ),
            "groups[0].targets[0].directories[0].exclude[0]",
        ),
    ];
    for (yaml, want) in cases {
        let (code, err) = invalid(yaml);
        assert_eq!(code, 2, "{yaml}\n{err}");
        assert!(err.contains(want), "want {want:?} in:\n{err}");
    }
}

#[test]
fn list_refs_merge_by_dest_with_inline_winning() -> Result {
    let yaml = "version: 1\nfile_lists:\n  - {id: l1, name: L1, files: [{src: a1, dest: a}, {src: b1, dest: b}]}\n  - {id: l2, name: L2, files: [{src: b2, dest: b}]}\ngroups:\n  - name: g\n    id: g\n    source: {repo: acme/t}\n    targets:\n      - repo: acme/x\n        file_list_refs: [l1, l2]\n        files: [{src: inline, dest: a}]\n";
    let cfg = broadcast::config::parse_str(yaml, std::path::Path::new("/"))
        .map_err(|e| format!("{e:?}"))?;
    let files = &cfg.groups[0].targets[0].files;
    let got: Vec<(&str, &str)> = files
        .iter()
        .map(|f| (f.src.as_str(), f.dest.as_str()))
        .collect();
    assert_eq!(got, vec![("inline", "a"), ("b2", "b")]);
    Ok(())
}

/// Two local targets that are one repository under two names (a symbolic link) would write
/// the same sync branch twice; the second write would lose its lease and read as a race.
#[cfg(unix)]
#[test]
fn a_local_target_listed_again_through_a_symlink_is_a_duplicate() {
    let sb = Sandbox::new();
    let a = sb.bare_repo("a", &[("keep.txt", b"k\n")]);
    let alias = sb.path().join("alias.git");
    std::os::unix::fs::symlink(&a, &alias).expect("symlink");
    let yaml = format!(
        "version: 1\ngroups:\n  - name: g\n    id: g\n    source: {{repo: acme/t}}\n    targets:\n      - repo: {}\n        files: [{{src: a, dest: a}}]\n      - repo: {}\n        files: [{{src: a, dest: a}}]\n",
        a.display(),
        alias.display()
    );
    let p = sb.write("sync.yaml", &yaml);
    let out = sb.broadcast(&["validate", "--config", p.to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("groups[0].targets[1].repo: duplicate target"),
        "{err}"
    );
}
