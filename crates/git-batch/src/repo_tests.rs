//! Unit tests of `Repo`.

use super::*;

#[test]
fn porcelain_lines() {
    let out = "To file:///tmp/r.git\n\
               *\trefs/heads/a:refs/heads/a\t[new branch]\n\
               =\trefs/heads/b:refs/heads/b\t[up to date]\n\
               !\tabc:refs/heads/c\t[rejected] (stale info)\n\
               !\trefs/heads/d:refs/heads/d\t[remote rejected] (hook declined)\n\
               +\tx:refs/heads/e\t1..2 (forced update)\n\
               Done\n";
    let got: Vec<(String, PushStatus)> = parse_push_porcelain(out.as_bytes())
        .into_iter()
        .map(|r| (r.dst, r.status))
        .collect();
    let want = [
        ("refs/heads/a", PushStatus::Ok),
        ("refs/heads/b", PushStatus::UpToDate),
        ("refs/heads/c", PushStatus::Rejected),
        ("refs/heads/d", PushStatus::Error),
        ("refs/heads/e", PushStatus::Ok),
    ];
    assert_eq!(got.len(), want.len());
    for ((d, s), (wd, ws)) in got.iter().zip(want) {
        assert_eq!((d.as_str(), *s), (wd, ws));
    }
}

/// Found by the `git` fuzz target: a non-UTF-8 byte in a destination was read lossily
/// (`\u{fffd}refs/heads/0`), a name that is not the ref git reported.
#[test]
fn a_non_utf8_destination_is_skipped_not_misread() {
    let out = b" \t\x80refs/heads/0\t[new branch]\n \t:refs/heads/b\t[new branch]\n";
    let got: Vec<String> = parse_push_porcelain(out)
        .into_iter()
        .map(|r| r.dst)
        .collect();
    assert_eq!(got, ["refs/heads/b"]);
}

#[test]
fn remote_lines_and_stale_leases() {
    let stderr = "To file:///tmp/r.git\n\
                  remote: GH006: Protected branch update failed for refs/heads/x.\u{1b}[K\n\
                  remote: \n\
                  remote:   indented  \n\
                  error: failed to push some refs\n";
    assert_eq!(
        remote_lines(stderr),
        [
            "GH006: Protected branch update failed for refs/heads/x.",
            "  indented"
        ]
    );
    let out = "!\ta:refs/heads/a\t[rejected] (stale info)\n\
               !\ta:refs/heads/b\t[rejected] (fetch first)\n\
               !\ta:refs/heads/c\t[remote rejected] (pre-receive hook declined)\n\
               *\ta:refs/heads/d\t[new branch]\n";
    let stale: Vec<bool> = parse_push_porcelain(out.as_bytes())
        .iter()
        .map(PushedRef::is_stale_lease)
        .collect();
    assert_eq!(stale, [true, true, false, false]);
    let raced = "!\ta:refs/heads/e\t[remote rejected] (failed to update ref)\n";
    let mut r = parse_push_porcelain(raced.as_bytes());
    assert!(!r[0].is_stale_lease());
    r[0].remote_messages =
        vec!["error: cannot lock ref 'refs/heads/e': is at 1111 but expected 2222".to_owned()];
    assert!(r[0].is_stale_lease());
}

#[test]
fn arg_checks() {
    let cases = [
        ("main", true),
        ("-x", false),
        ("", false),
        ("a\nb", false),
        ("+refs/a:refs/b", true),
    ];
    for (v, ok) in cases {
        assert_eq!(check_arg("x", v).is_ok(), ok, "{v:?}");
    }
}

#[test]
fn remote_line() {
    let r =
        parse_remote_line(b"e69de29bb2d1d6434b8b29ae775ad8c2e48c5391\trefs/heads/main").unwrap();
    assert_eq!(r.name, "refs/heads/main");
    assert!(parse_remote_line(b"nonsense").is_err());
}
