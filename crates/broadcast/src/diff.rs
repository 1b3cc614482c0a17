//! Unified diffs of one file's old and new content, for dry runs with `--diff`.

/// Unified diff of one file (`None` for binary content or when one side is unknown). The
/// path in the `---`/`+++` headers is escaped with [`crate::escape::escape_control`]; the content lines are
/// as in the files (escape them when printing).
pub fn unified_diff(path: &str, old: Option<&[u8]>, new: Option<&[u8]>) -> Option<String> {
    let path = crate::escape::escape_control(path);
    let old = match old {
        Some(o) => std::str::from_utf8(o).ok()?,
        None => "",
    };
    let new = match new {
        Some(n) => std::str::from_utf8(n).ok()?,
        None => "",
    };
    if old.contains('\0') || new.contains('\0') {
        return None;
    }
    let diff = similar::TextDiff::from_lines(old, new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    )
}
