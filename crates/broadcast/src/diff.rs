//! Unified diffs of one file's old and new content, for dry runs with `--diff`, within a budget.
//!
//! A diff is skipped, with a one-line note instead, when the file is binary, when either side is
//! larger than [`DiffBudget::max_bytes`], or when computing it takes longer than
//! [`DiffBudget::deadline`] (`similar`'s deadline makes the line diff give up on finding the
//! minimal edit; past it the result is not worth printing). A rewritten 1.4 MB file used to take
//! 9–32 s here.

use std::time::{Duration, Instant};

/// Default `--diff-max-bytes`: 256 KiB.
pub const DEFAULT_MAX_BYTES: u64 = 256 * 1024;
/// Default `--diff-deadline-ms`: one second per file.
pub const DEFAULT_DEADLINE_MS: u64 = 1000;

/// How much one file's diff may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiffBudget {
    /// Largest side, in bytes, that is diffed.
    pub max_bytes: u64,
    /// Longest time spent computing one diff.
    pub deadline: Duration,
}

impl Default for DiffBudget {
    fn default() -> Self {
        DiffBudget {
            max_bytes: DEFAULT_MAX_BYTES,
            deadline: Duration::from_millis(DEFAULT_DEADLINE_MS),
        }
    }
}

/// What `--diff` shows for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileDiff {
    /// A unified diff (`---`/`+++` headers and hunks).
    Text(String),
    /// A one-line note instead of a diff: `binary`, or why the budget was exceeded.
    Note(String),
}

/// The diff of one file (`None` when one side is unknown or both are equal). The path in the
/// `---`/`+++` headers is escaped with [`crate::escape::escape_control`]; the content lines are
/// as in the files (escape them when printing).
pub fn file_diff(
    path: &str,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    budget: &DiffBudget,
) -> FileDiff {
    let (o, n) = (old.unwrap_or_default(), new.unwrap_or_default());
    fn text(b: &[u8]) -> Option<&str> {
        std::str::from_utf8(b).ok().filter(|s| !s.contains('\0'))
    }
    let (Some(old_text), Some(new_text)) = (text(o), text(n)) else {
        return FileDiff::Note(format!(
            "binary ({} B -> {} B), not diffed",
            o.len(),
            n.len()
        ));
    };
    let largest = o.len().max(n.len()) as u64;
    if largest > budget.max_bytes {
        return FileDiff::Note(format!(
            "diff not shown: {largest} B is over the {} B budget (--diff-max-bytes)",
            budget.max_bytes
        ));
    }
    let started = Instant::now();
    let diff = similar::TextDiff::configure()
        .deadline(started + budget.deadline)
        .diff_lines(old_text, new_text);
    if started.elapsed() > budget.deadline {
        return FileDiff::Note(format!(
            "diff not shown: computing it took over {} ms (--diff-deadline-ms)",
            budget.deadline.as_millis()
        ));
    }
    let path = crate::escape::escape_control(path);
    FileDiff::Text(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    )
}

/// Unified diff of one file with the default budget (`None` for binary content or a file over
/// the budget; see [`file_diff`]).
pub fn unified_diff(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> Option<String> {
    match file_diff(path, old, new, &DiffBudget::default()) {
        FileDiff::Text(t) => Some(t),
        FileDiff::Note(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_binary_and_over_size() {
        let b = DiffBudget::default();
        match file_diff("a.txt", Some(b"one\n"), Some(b"two\n"), &b) {
            FileDiff::Text(t) => assert!(t.contains("-one\n+two\n"), "{t}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            file_diff("x.bin", Some(b"a\0b"), Some(b"abc"), &b),
            FileDiff::Note("binary (3 B -> 3 B), not diffed".to_owned())
        );
        assert!(matches!(
            file_diff("x.bin", None, Some(&[0xff, 0xfe]), &b),
            FileDiff::Note(n) if n.starts_with("binary")
        ));
        let small = DiffBudget { max_bytes: 4, ..b };
        assert!(matches!(
            file_diff("a.txt", Some(b"one\n"), Some(b"three\n"), &small),
            FileDiff::Note(n) if n.contains("6 B is over the 4 B budget")
        ));
    }

    #[test]
    fn a_spent_deadline_gives_a_note() {
        // A zero deadline is spent before the diff finishes: never a partial diff.
        let b = DiffBudget {
            max_bytes: u64::MAX,
            deadline: Duration::ZERO,
        };
        let old: String = (0..2000).map(|i| format!("line {i}\n")).collect();
        let new: String = (0..2000).map(|i| format!("line {}\n", i * 7)).collect();
        assert!(matches!(
            file_diff("big.txt", Some(old.as_bytes()), Some(new.as_bytes()), &b),
            FileDiff::Note(n) if n.contains("--diff-deadline-ms")
        ));
    }
}
