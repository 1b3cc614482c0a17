//! Rules for single field values: repository-relative paths, branch names, email addresses.
//! Pure functions; the message of an error says what is wrong and what is expected.

use std::borrow::Cow;

/// Normalizes a repository-relative path: `\` is not a separator, `./` segments and repeated or
/// trailing `/` are dropped. Errors (as the message) on empty, absolute, `..`, `.git` segments and
/// control characters.
pub fn normalize_path(p: &str, allow_root: bool) -> Result<String, String> {
    normalized(p, allow_root).map(Cow::into_owned)
}

/// [`normalize_path`] that borrows `p` when it is already normal (no `.` or empty segment),
/// which is the case for nearly every path written in a config: the check then allocates
/// nothing. Same errors and messages.
pub(super) fn normalized(p: &str, allow_root: bool) -> Result<Cow<'_, str>, String> {
    if p.len() > 4096 {
        return Err("path is longer than 4096 bytes".to_owned());
    }
    if p.chars().any(|c| c.is_control()) {
        return Err(format!("path {p:?} contains a control character"));
    }
    if p.starts_with('/') {
        return Err(format!(
            "path {p:?} is absolute; expected a path relative to the repository root"
        ));
    }
    let (mut kept, mut dropped) = (0usize, false);
    for seg in p.split('/') {
        match seg {
            "" | "." => dropped = true,
            ".." => {
                return Err(format!(
                    "path {p:?} contains '..'; expected a path inside the repository"
                ));
            }
            s if s.eq_ignore_ascii_case(".git") => {
                return Err(format!(
                    "path {p:?} has a '.git' segment; git's own directory cannot be synced"
                ));
            }
            _ => kept += 1,
        }
    }
    if kept == 0 && !allow_root {
        return Err(if p.is_empty() {
            "must not be empty".to_owned()
        } else {
            format!("path {p:?} names the repository root; expected a file path")
        });
    }
    if !dropped {
        return Ok(Cow::Borrowed(p));
    }
    let parts: Vec<&str> = p.split('/').filter(|s| !matches!(*s, "" | ".")).collect();
    Ok(Cow::Owned(parts.join("/")))
}

/// Checks a branch name (or prefix) with go-broadcast's rules, which are a safe subset of
/// `git check-ref-format`: at most 255 characters, `^[A-Za-z0-9][\w./-]*$`, no `..`, `//`,
/// `@{`, trailing `/` or `.lock`.
pub fn validate_branch(b: &str) -> Result<(), String> {
    if b.len() > 255 {
        return Err(format!("branch name {b:?} is longer than 255 characters"));
    }
    let first_ok = b.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = b
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-'));
    if !first_ok || !rest_ok {
        return Err(format!(
            "invalid branch name {b:?}: expected a letter or digit first, then letters, digits, '_', '.', '/', '-'"
        ));
    }
    for bad in ["..", "//"] {
        if b.contains(bad) {
            return Err(format!("invalid branch name {b:?}: contains '{bad}'"));
        }
    }
    if b.ends_with('/') || b.ends_with(".lock") || b.ends_with('.') {
        return Err(format!(
            "invalid branch name {b:?}: must not end with '/', '.' or '.lock'"
        ));
    }
    Ok(())
}

pub(super) fn validate_email(e: &str) -> Result<(), String> {
    let ok = e.len() <= 254 && !e.contains("..") && {
        match e.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && local
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._%+-".contains(c))
                    && !local.starts_with('.')
                    && !local.ends_with('.')
                    && domain.contains('.')
                    && domain
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || ".-".contains(c))
                    && !domain.starts_with(['.', '-'])
                    && domain.rsplit('.').next().is_some_and(|tld| {
                        tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic())
                    })
            }
            None => false,
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid email address {e:?}"))
    }
}
