//! GitHub's hard limits, checked before writing: file sizes and the pull request body length.

use super::*;

/// Checks the sizes of the files bound for a GitHub repository against GitHub's limits (GitHub
/// Docs, "About large files on GitHub"): a file over [`MAX_FILE_BYTES`] (100 MiB) makes GitHub
/// refuse the whole push, one over [`WARN_FILE_BYTES`] (50 MiB) draws a warning. `files` are
/// `(path, size in bytes)`. Pure; O(files).
///
/// Returns the files over the warning size, or [`GitHubError::FileTooLarge`] for the first file
/// over the limit (`repo` names the target in the message).
pub fn check_file_sizes<'a>(
    repo: &str,
    files: impl IntoIterator<Item = (&'a str, u64)>,
) -> Result<Vec<(String, u64)>> {
    let mut warnings = Vec::new();
    for (path, bytes) in files {
        if bytes > MAX_FILE_BYTES {
            return Err(GitHubError::FileTooLarge {
                repo: repo.to_owned(),
                path: path.to_owned(),
                bytes,
            });
        }
        if bytes > WARN_FILE_BYTES {
            warnings.push((path.to_owned(), bytes));
        }
    }
    Ok(warnings)
}

/// Fits a pull request body into [`MAX_PULL_REQUEST_BODY_CHARS`] characters. The metadata block
/// (from [`crate::state::METADATA_START`] to the end) is always kept whole; list lines (`- …`)
/// before it are dropped from the end and replaced by one `- … and N more files` line (an
/// existing `- ... and K more` line is counted in `N`). A body that fits is returned unchanged.
/// O(body length).
pub fn fit_pull_request_body(body: &str) -> std::borrow::Cow<'_, str> {
    fit_body(body, MAX_PULL_REQUEST_BODY_CHARS)
}

pub(super) fn fit_body(body: &str, max_chars: usize) -> std::borrow::Cow<'_, str> {
    if body.chars().count() <= max_chars {
        return body.into();
    }
    let meta_at = body
        .rfind(crate::state::METADATA_START)
        .unwrap_or(body.len());
    let (text, meta) = body.split_at(meta_at);
    let meta_chars = meta.chars().count();
    let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
    // Separator lines between the list and the block, kept as they are.
    let mut tail: Vec<&str> = Vec::new();
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        tail.insert(0, lines.pop().expect("checked"));
    }
    let mut more: usize = 0;
    if let Some(l) = lines.last()
        && let Some(n) = l
            .trim()
            .strip_prefix("- ... and ")
            .and_then(|r| r.strip_suffix(" more"))
            .and_then(|n| n.parse::<usize>().ok())
    {
        more = n;
        lines.pop();
    }
    let chars = |v: &[&str]| v.iter().map(|l| l.chars().count()).sum::<usize>();
    let tail_chars = chars(&tail);
    let mut used = chars(&lines);
    loop {
        let note = format!("- … and {more} more files\n");
        if used + note.chars().count() + tail_chars + meta_chars <= max_chars {
            break;
        }
        match lines.last() {
            Some(l) if l.starts_with("- ") => {
                used -= l.chars().count();
                lines.pop();
                more += 1;
            }
            // Nothing left to drop: keep the block, cut the text before it.
            _ => {
                let room = max_chars.saturating_sub(meta_chars);
                let cut: String = body.chars().take(room).collect();
                return format!("{cut}{meta}").into();
            }
        }
    }
    let mut out = String::with_capacity(max_chars);
    for l in &lines {
        out.push_str(l);
    }
    out.push_str(&format!("- … and {more} more files\n"));
    for l in &tail {
        out.push_str(l);
    }
    out.push_str(meta);
    out.into()
}
