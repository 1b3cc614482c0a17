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
    let n = changes.len();
    let source_line = crate::escape::escape_control(source_display);
    let subject = if n == 1 {
        format!(
            "sync: update {} from {source_line}",
            crate::escape::escape_control(&changes[0].path)
        )
    } else {
        format!("sync: update {n} files from {source_line}")
    };
    let mut body = String::new();
    for c in changes.iter().take(MAX_LISTED) {
        body.push_str(&format!(
            "- {} {}\n",
            c.kind.verb(),
            crate::escape::escape_control(&c.path)
        ));
    }
    if n > MAX_LISTED {
        body.push_str(&format!("- ... and {} more\n", n - MAX_LISTED));
    }
    format!(
        "{subject}\n\n{body}\n{TRAILER_SOURCE}: {source_line}\n{TRAILER_SOURCE_COMMIT}: {source_commit}\n{TRAILER_GROUP}: {group_id}\n"
    )
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
