//! The sync commit's message: a subject, the change list, and the trailers that mark a commit as
//! broadcast's own (git-interpret-trailers(1) format: `Key: value` lines in the last paragraph).
//!
//! The trailers are the state broadcast keeps in a target: which source and commit a sync
//! branch carries, and for which group. A commit without them was not written by broadcast.

use crate::report::FileChange;

/// Trailer naming the source repository of a sync commit.
pub const TRAILER_SOURCE: &str = "Broadcast-Source";
/// Trailer holding the full source commit id.
pub const TRAILER_SOURCE_COMMIT: &str = "Broadcast-Source-Commit";
/// Trailer holding the group id.
pub const TRAILER_GROUP: &str = "Broadcast-Group";

/// Change lines listed in a commit message before "... and N more".
const MAX_LISTED: usize = 50;

/// The message of a sync commit for `changes` (sorted by path) from `source_display` at
/// `source_commit`, for group `group_id`.
///
/// Paths are listed with control characters escaped, so a file name cannot break the message's
/// lines or forge a trailer.
pub fn commit_message(
    source_display: &str,
    source_commit: &str,
    group_id: &str,
    changes: &[FileChange],
) -> String {
    use crate::escape::escape_control;
    use std::fmt::Write as _;

    let n = changes.len();
    let listed = &changes[..n.min(MAX_LISTED)];
    let source_line = escape_control(source_display);
    // One allocation for clean paths: every fixed piece fits in the 160 spare bytes.
    let paths: usize = listed.iter().map(|c| c.path.len() + 10).sum();
    let mut m = String::with_capacity(
        160 + 2 * source_line.len() + source_commit.len() + group_id.len() + 2 * paths,
    );
    m.push_str("sync: update ");
    if n == 1 {
        m.push_str(&escape_control(&changes[0].path));
    } else {
        let _ = write!(m, "{n} files");
    }
    m.push_str(" from ");
    m.push_str(&source_line);
    m.push_str("\n\n");
    for c in listed {
        m.push_str("- ");
        m.push_str(c.kind.verb());
        m.push(' ');
        m.push_str(&escape_control(&c.path));
        m.push('\n');
    }
    if n > MAX_LISTED {
        let _ = writeln!(m, "- ... and {} more", n - MAX_LISTED);
    }
    m.push('\n');
    for (key, value) in [
        (TRAILER_SOURCE, &*source_line),
        (TRAILER_SOURCE_COMMIT, source_commit),
        (TRAILER_GROUP, group_id),
    ] {
        m.push_str(key);
        m.push_str(": ");
        m.push_str(value);
        m.push('\n');
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::ChangeKind;

    fn change(path: &str, kind: ChangeKind) -> FileChange {
        FileChange {
            path: path.to_owned(),
            kind,
            old_bytes: None,
            new_bytes: None,
            mode: None,
            diff: None,
            diff_note: None,
        }
    }

    #[test]
    fn one_change_names_the_path_in_the_subject() {
        let m = commit_message(
            "acme/t",
            "abc",
            "g",
            &[change("Makefile", ChangeKind::Added)],
        );
        assert_eq!(
            m,
            "sync: update Makefile from acme/t\n\n- add Makefile\n\n\
             Broadcast-Source: acme/t\nBroadcast-Source-Commit: abc\nBroadcast-Group: g\n"
        );
    }

    /// The message as it was first written (one `format!` per piece): the single-buffer
    /// version must produce the same bytes.
    fn reference_message(
        source: &str,
        commit: &str,
        group: &str,
        changes: &[FileChange],
    ) -> String {
        let e = crate::escape::escape_control;
        let n = changes.len();
        let source_line = e(source);
        let subject = if n == 1 {
            format!("sync: update {} from {source_line}", e(&changes[0].path))
        } else {
            format!("sync: update {n} files from {source_line}")
        };
        let mut body = String::new();
        for c in changes.iter().take(MAX_LISTED) {
            body.push_str(&format!("- {} {}\n", c.kind.verb(), e(&c.path)));
        }
        if n > MAX_LISTED {
            body.push_str(&format!("- ... and {} more\n", n - MAX_LISTED));
        }
        format!(
            "{subject}\n\n{body}\n{TRAILER_SOURCE}: {source_line}\n{TRAILER_SOURCE_COMMIT}: {commit}\n{TRAILER_GROUP}: {group}\n"
        )
    }

    #[test]
    fn message_equals_the_reference_at_every_list_length() {
        let kinds = [ChangeKind::Added, ChangeKind::Modified, ChangeKind::Deleted];
        for n in [0, 1, 2, 3, 49, 50, 51, 120] {
            let changes: Vec<FileChange> = (0..n)
                .map(|i| change(&format!("dir/f\u{e9}{i}\t.txt"), kinds[i % 3]))
                .collect();
            for (source, commit, group) in [
                ("acme/t", "abc", "g"),
                ("a\x1b[31m/\u{85}t", "", ""),
                (
                    "",
                    "0123456789012345678901234567890123456789",
                    "grp with space",
                ),
            ] {
                assert_eq!(
                    commit_message(source, commit, group, &changes),
                    reference_message(source, commit, group, &changes),
                    "{n} changes from {source:?}"
                );
            }
        }
    }

    #[test]
    fn long_lists_are_cut_and_control_characters_escaped() {
        let mut changes: Vec<FileChange> = (0..60)
            .map(|i| change(&format!("f{i:02}"), ChangeKind::Modified))
            .collect();
        changes[0].path = "evil\nBroadcast-Group: other\x1b[31m".to_owned();
        let m = commit_message("acme/t", "abc", "g", &changes);
        assert!(m.starts_with("sync: update 60 files from acme/t\n"));
        assert!(m.contains("- ... and 10 more\n"));
        assert!(!m.contains('\x1b'));
        assert_eq!(m.matches("\nBroadcast-Group:").count(), 1, "{m}");
    }
}
