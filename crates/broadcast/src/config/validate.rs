//! List resolution and semantic validation, collecting every problem with its field path.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::Issue;
use super::model::*;
use crate::repo::RepoRef;

fn issue(issues: &mut Vec<Issue>, path: impl Into<String>, message: impl Into<String>) {
    issues.push(Issue {
        path: path.into(),
        message: message.into(),
    });
}

/// A mapping that can come from a list: keyed by its destination.
trait Keyed: Clone {
    fn dest(&self) -> &str;
}
impl Keyed for FileMapping {
    fn dest(&self) -> &str {
        &self.dest
    }
}
impl Keyed for DirectoryMapping {
    fn dest(&self) -> &str {
        &self.dest
    }
}

/// One kind of list (`file_lists` or `directory_lists`) as seen by the resolver.
struct Lists<'c, T> {
    /// `file` or `directory`.
    kind: &'static str,
    by_id: BTreeMap<&'c str, &'c [T]>,
}

impl<'c, T: Keyed> Lists<'c, T> {
    /// `refs` merged by dest in order, then `inline` (which wins); sorted by dest.
    fn merge(
        &self,
        other: &Lists<'c, impl Keyed>,
        refs: &[String],
        inline: &[T],
        at: &str,
        issues: &mut Vec<Issue>,
    ) -> Vec<T> {
        let mut by_dest = BTreeMap::new();
        for (ri, r) in refs.iter().enumerate() {
            match self.by_id.get(r.as_str()) {
                Some(entries) => {
                    for e in *entries {
                        by_dest.insert(e.dest().to_owned(), e.clone());
                    }
                }
                None => {
                    let hint = if other.by_id.contains_key(r.as_str()) {
                        format!(
                            " ('{r}' is a {}_list: use {}_list_refs)",
                            other.kind, other.kind
                        )
                    } else {
                        String::new()
                    };
                    let defined: Vec<&str> = self.by_id.keys().copied().collect();
                    issue(
                        issues,
                        format!("{at}.{}_list_refs[{ri}]", self.kind),
                        format!(
                            "unknown {} list '{r}'{hint}; defined {}_lists: [{}]",
                            self.kind,
                            self.kind,
                            defined.join(", ")
                        ),
                    );
                }
            }
        }
        for e in inline {
            by_dest.insert(e.dest().to_owned(), e.clone());
        }
        by_dest.into_values().collect()
    }
}

/// Merges `file_list_refs` / `directory_list_refs` into each target's mappings, as go-broadcast
/// does: keyed by `dest`, lists in ref order (later overrides earlier), inline entries win, result
/// sorted by `dest`. Unknown references are reported with their field path.
pub(super) fn resolve_lists(config: &mut Config, issues: &mut Vec<Issue>) {
    let file_lists = config.file_lists.clone();
    let dir_lists = config.directory_lists.clone();
    let files = Lists {
        kind: "file",
        by_id: file_lists
            .iter()
            .map(|l| (l.id.as_str(), l.files.as_slice()))
            .collect(),
    };
    let dirs = Lists {
        kind: "directory",
        by_id: dir_lists
            .iter()
            .map(|l| (l.id.as_str(), l.directories.as_slice()))
            .collect(),
    };
    for (gi, group) in config.groups.iter_mut().enumerate() {
        for (ti, target) in group.targets.iter_mut().enumerate() {
            let at = format!("groups[{gi}].targets[{ti}]");
            if !target.file_list_refs.is_empty() {
                target.files =
                    files.merge(&dirs, &target.file_list_refs, &target.files, &at, issues);
            }
            if !target.directory_list_refs.is_empty() {
                target.directories = dirs.merge(
                    &files,
                    &target.directory_list_refs,
                    &target.directories,
                    &at,
                    issues,
                );
            }
        }
    }
}

/// Normalizes a repository-relative path: `\` is not a separator, `./` segments and repeated or
/// trailing `/` are dropped. Errors (as the message) on empty, absolute, `..`, `.git` segments and
/// control characters.
pub fn normalize_path(p: &str, allow_root: bool) -> Result<String, String> {
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
    let mut parts = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
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
            s => parts.push(s),
        }
    }
    if parts.is_empty() && !allow_root {
        return Err(if p.is_empty() {
            "must not be empty".to_owned()
        } else {
            format!("path {p:?} names the repository root; expected a file path")
        });
    }
    Ok(parts.join("/"))
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

fn validate_email(e: &str) -> Result<(), String> {
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

fn check_nonblank(issues: &mut Vec<Issue>, at: &str, field: &str, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        if v.trim().is_empty() {
            issue(issues, format!("{at}.{field}[{i}]"), "must not be blank");
        }
    }
}

fn check_globs(issues: &mut Vec<Issue>, at: &str, field: &str, patterns: &[String]) {
    for (i, p) in patterns.iter().enumerate() {
        if let Err(e) = broadcast_transform::validate_glob(p) {
            issue(
                issues,
                format!("{at}.{field}[{i}]"),
                format!("invalid glob {p:?}: {e}"),
            );
        }
    }
}

fn check_file_mapping(issues: &mut Vec<Issue>, at: &str, f: &FileMapping) {
    if !(f.delete && f.src.is_empty()) {
        if f.src.is_empty() && !f.delete {
            issue(
                issues,
                format!("{at}.src"),
                "must not be empty (only `delete: true` entries may omit src)",
            );
        } else if let Err(e) = normalize_path(&f.src, false) {
            // A delete entry's src is never read (go-broadcast examples write `src: dummy`).
            if !f.delete {
                issue(issues, format!("{at}.src"), e);
            }
        }
    }
    if let Err(e) = normalize_path(&f.dest, false) {
        issue(issues, format!("{at}.dest"), e);
    }
}

/// `src` and `dest` of a directory mapping must be written out: `.` names the repository root.
/// (An empty or missing `src` used to mean the root, so `directories: [{dest: out}]` copied the
/// whole template into `out/`.) A delete entry needs no `src`.
fn check_dir_required(issues: &mut Vec<Issue>, at: &str, d: &DirectoryMapping) {
    const ROOT_HINT: &str = "required; use \".\" for the repository root";
    if !d.delete && d.src.trim().is_empty() {
        issue(issues, format!("{at}.src"), ROOT_HINT);
    }
    if d.dest.trim().is_empty() {
        let message = if d.delete { "required" } else { ROOT_HINT };
        issue(issues, format!("{at}.dest"), message);
    }
}

/// `delete_orphaned` deletes what a copying mapping owns; beside `delete: true`, which copies
/// nothing, it means nothing, so the contradiction is refused. (`exclude` and `include_only`
/// beside `delete: true` are fine: excluded paths are kept.)
fn check_delete_filters(issues: &mut Vec<Issue>, at: &str, d: &DirectoryMapping) {
    if d.delete && d.delete_orphaned {
        issue(
            issues,
            format!("{at}.delete_orphaned"),
            "has no effect with delete: true (which removes the files under dest); remove one of them".to_owned(),
        );
    }
}

fn check_dir_mapping(issues: &mut Vec<Issue>, at: &str, d: &DirectoryMapping) {
    check_dir_required(issues, at, d);
    check_delete_filters(issues, at, d);
    if !d.delete
        && let Err(e) = normalize_path(&d.src, true)
    {
        issue(issues, format!("{at}.src"), e);
    }
    match normalize_path(&d.dest, true) {
        Err(e) => issue(issues, format!("{at}.dest"), e),
        Ok(n) if n.is_empty() && d.delete && !d.dest.trim().is_empty() => issue(
            issues,
            format!("{at}.dest"),
            "deleting the repository root is not allowed",
        ),
        Ok(_) => {}
    }
    if let Some(ex) = &d.exclude {
        check_globs(issues, at, "exclude", ex);
    }
    check_globs(issues, at, "include_only", &d.include_only);
}

/// Validates a list-resolved configuration, appending every problem found.
pub(super) fn validate(config: &Config, base_dir: &Path, issues: &mut Vec<Issue>) {
    if config.version != 1 {
        issue(
            issues,
            "version",
            format!(
                "unsupported config version {}: only version 1 is supported",
                config.version
            ),
        );
    }
    if let Some(r) = &config.rate_limit_preflight {
        if !(0..=100).contains(&r.primary_margin_percent) {
            issue(
                issues,
                "rate_limit_preflight.primary_margin_percent",
                format!(
                    "must be between 0 and 100, got {}",
                    r.primary_margin_percent
                ),
            );
        }
        if r.secondary_reserve < 0 {
            issue(
                issues,
                "rate_limit_preflight.secondary_reserve",
                format!("must be >= 0, got {}", r.secondary_reserve),
            );
        }
    }
    validate_lists(config, issues);
    if config.groups.is_empty() {
        issue(issues, "groups", "at least one group is required");
    }
    let mut group_ids: BTreeMap<&str, usize> = BTreeMap::new();
    for (gi, g) in config.groups.iter().enumerate() {
        validate_group(issues, gi, g, &mut group_ids, base_dir);
        validate_group_targets(issues, gi, g, base_dir);
    }
    validate_dependencies(config, &group_ids, issues);
    super::branches::check_sync_branches(config, base_dir, issues);
}

/// `file_lists` and `directory_lists`: ids, names, and their mappings.
fn validate_lists(config: &Config, issues: &mut Vec<Issue>) {
    for (kind, ids) in [
        (
            "file_lists",
            config
                .file_lists
                .iter()
                .map(|l| (&l.id, &l.name))
                .collect::<Vec<_>>(),
        ),
        (
            "directory_lists",
            config
                .directory_lists
                .iter()
                .map(|l| (&l.id, &l.name))
                .collect(),
        ),
    ] {
        let mut seen = BTreeSet::new();
        for (i, (id, name)) in ids.into_iter().enumerate() {
            if id.trim().is_empty() {
                issue(issues, format!("{kind}[{i}].id"), "must not be empty");
            } else if !seen.insert(id.as_str()) {
                issue(
                    issues,
                    format!("{kind}[{i}].id"),
                    format!("duplicate list id '{id}'"),
                );
            }
            if name.trim().is_empty() {
                issue(issues, format!("{kind}[{i}].name"), "must not be empty");
            }
        }
    }
    for (li, l) in config.file_lists.iter().enumerate() {
        for (fi, f) in l.files.iter().enumerate() {
            check_file_mapping(issues, &format!("file_lists[{li}].files[{fi}]"), f);
        }
    }
    for (li, l) in config.directory_lists.iter().enumerate() {
        for (di, d) in l.directories.iter().enumerate() {
            check_dir_mapping(
                issues,
                &format!("directory_lists[{li}].directories[{di}]"),
                d,
            );
        }
    }
}

/// One group's own fields (name, id, source, PR metadata, branch prefix); records its id.
fn validate_group<'a>(
    issues: &mut Vec<Issue>,
    gi: usize,
    g: &'a Group,
    group_ids: &mut BTreeMap<&'a str, usize>,
    base_dir: &Path,
) {
    let at = format!("groups[{gi}]");
    if g.name.trim().is_empty() {
        issue(issues, format!("{at}.name"), "must not be empty");
    }
    if g.id.trim().is_empty() {
        issue(issues, format!("{at}.id"), "must not be empty");
    } else if let Some(prev) = group_ids.insert(&g.id, gi) {
        issue(
            issues,
            format!("{at}.id"),
            format!("duplicate group id '{}' (also groups[{prev}])", g.id),
        );
    } else if let Err(e) = validate_branch(&g.id) {
        issue(
            issues,
            format!("{at}.id"),
            format!("group ids name sync branches: {e}"),
        );
    }
    if g.source.repo.trim().is_empty() {
        issue(issues, format!("{at}.source.repo"), "must not be empty");
    } else if let Err(e) = RepoRef::parse(&g.source.repo, base_dir) {
        issue(issues, format!("{at}.source.repo"), e);
    }
    if let Some(b) = &g.source.branch
        && let Err(e) = validate_branch(b)
    {
        issue(issues, format!("{at}.source.branch"), e);
    }
    for (field, v) in [
        ("security_email", &g.source.security_email),
        ("support_email", &g.source.support_email),
    ] {
        if let Some(e) = v.as_deref().filter(|e| !e.is_empty())
            && let Err(m) = validate_email(e)
        {
            issue(issues, format!("{at}.source.{field}"), m);
        }
    }
    check_nonblank(
        issues,
        &format!("{at}.global"),
        "pr_labels",
        &g.global.pr_labels,
    );
    check_nonblank(
        issues,
        &format!("{at}.global"),
        "pr_assignees",
        &g.global.pr_assignees,
    );
    check_nonblank(
        issues,
        &format!("{at}.global"),
        "pr_reviewers",
        &g.global.pr_reviewers,
    );
    check_nonblank(
        issues,
        &format!("{at}.global"),
        "pr_team_reviewers",
        &g.global.pr_team_reviewers,
    );
    check_nonblank(
        issues,
        &format!("{at}.defaults"),
        "pr_labels",
        &g.defaults.pr_labels,
    );
    if let Some(p) = g
        .defaults
        .branch_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        && let Err(e) = validate_branch(p)
    {
        issue(issues, format!("{at}.defaults.branch_prefix"), e);
    }
    if g.targets.is_empty() {
        issue(
            issues,
            format!("{at}.targets"),
            "at least one target is required",
        );
    }
}

/// A group's targets, each on its own, and duplicates among them.
fn validate_group_targets(issues: &mut Vec<Issue>, gi: usize, g: &Group, base_dir: &Path) {
    let at = format!("groups[{gi}]");
    let mut seen_targets: BTreeMap<String, usize> = BTreeMap::new();
    for (ti, t) in g.targets.iter().enumerate() {
        let at = format!("{at}.targets[{ti}]");
        validate_target(issues, &at, t, base_dir);
        if let Ok(r) = RepoRef::parse(&t.repo, base_dir) {
            let key = match &r {
                RepoRef::GitHub { .. } => r.to_string().to_lowercase(),
                RepoRef::Local { path } => std::path::absolute(path)
                    .unwrap_or(path.clone())
                    .display()
                    .to_string(),
            };
            if let Some(prev) = seen_targets.insert(key, ti) {
                issue(
                    issues,
                    format!("{at}.repo"),
                    format!(
                        "duplicate target '{}' in this group (also targets[{prev}])",
                        t.repo
                    ),
                );
            }
        }
    }
}

/// `depends_on`: existence, self, cycles.
fn validate_dependencies(
    config: &Config,
    group_ids: &BTreeMap<&str, usize>,
    issues: &mut Vec<Issue>,
) {
    for (gi, g) in config.groups.iter().enumerate() {
        for (di, d) in g.depends_on.iter().enumerate() {
            if d == &g.id {
                issue(
                    issues,
                    format!("groups[{gi}].depends_on[{di}]"),
                    "a group cannot depend on itself",
                );
            } else if !group_ids.contains_key(d.as_str()) {
                let known: Vec<&str> = config.groups.iter().map(|g| g.id.as_str()).collect();
                issue(
                    issues,
                    format!("groups[{gi}].depends_on[{di}]"),
                    format!("unknown group id '{d}'; known ids: [{}]", known.join(", ")),
                );
            }
        }
    }
    if let Some(cycle) = find_cycle(config) {
        issue(
            issues,
            "groups",
            format!("dependency cycle: {}", cycle.join(" -> ")),
        );
    }
}

fn validate_target(issues: &mut Vec<Issue>, at: &str, t: &Target, base_dir: &Path) {
    if t.repo.trim().is_empty() {
        issue(issues, format!("{at}.repo"), "must not be empty");
    } else if let Err(e) = RepoRef::parse(&t.repo, base_dir) {
        issue(issues, format!("{at}.repo"), e);
    }
    if let Some(b) = &t.branch
        && let Err(e) = validate_branch(b)
    {
        issue(issues, format!("{at}.branch"), e);
    }
    if t.files.is_empty() && t.directories.is_empty() {
        issue(
            issues,
            at.to_owned(),
            "at least one entry in files or directories (or a list ref) is required",
        );
    }
    for (field, v) in [
        ("security_email", &t.security_email),
        ("support_email", &t.support_email),
    ] {
        if let Some(e) = v.as_deref().filter(|e| !e.is_empty())
            && let Err(m) = validate_email(e)
        {
            issue(issues, format!("{at}.{field}"), m);
        }
    }
    check_nonblank(issues, at, "pr_labels", &t.pr_labels);
    check_nonblank(issues, at, "pr_assignees", &t.pr_assignees);
    check_nonblank(issues, at, "pr_reviewers", &t.pr_reviewers);
    check_nonblank(issues, at, "pr_team_reviewers", &t.pr_team_reviewers);
    let mut dests: BTreeMap<String, String> = BTreeMap::new();
    for (fi, f) in t.files.iter().enumerate() {
        let fat = format!("{at}.files[{fi}]");
        check_file_mapping(issues, &fat, f);
        if let Ok(d) = normalize_path(&f.dest, false)
            && let Some(prev) = dests.insert(d.clone(), fat.clone())
        {
            issue(
                issues,
                format!("{fat}.dest"),
                format!("destination {d:?} is already used by {prev}"),
            );
        }
    }
    for (di, d) in t.directories.iter().enumerate() {
        let dat = format!("{at}.directories[{di}]");
        check_dir_mapping(issues, &dat, d);
        if let Ok(n) = normalize_path(&d.dest, true)
            && let Some(prev) = dests.insert(n.clone(), dat.clone())
        {
            issue(
                issues,
                format!("{dat}.dest"),
                format!("destination {n:?} is already used by {prev}"),
            );
        }
    }
    check_file_dir_overlap(issues, at, t);
}

/// Rejects a file destination that another mapping of the same target needs as a directory
/// (`conf` written by a `files` entry and `conf/sub` by another mapping): git cannot hold both.
/// Delete entries are left out: deleting `conf` and writing `conf/sub/x` is a valid change.
fn check_file_dir_overlap(issues: &mut Vec<Issue>, at: &str, t: &Target) {
    let files = t.files.iter().enumerate().filter(|(_, f)| !f.delete);
    let file_dests: Vec<(String, String)> = files
        .filter_map(|(fi, f)| {
            let dest = normalize_path(&f.dest, false).ok()?;
            Some((dest, format!("{at}.files[{fi}]")))
        })
        .collect();
    let dir_dests = t.directories.iter().enumerate().filter(|(_, d)| !d.delete);
    let dir_dests = dir_dests.filter_map(|(di, d)| {
        let dest = normalize_path(&d.dest, true).ok()?;
        Some((dest, format!("{at}.directories[{di}]")))
    });
    let all: Vec<(String, String)> = file_dests.iter().cloned().chain(dir_dests).collect();
    for (dest, field) in &all {
        for (file, file_field) in &file_dests {
            if dest.len() > file.len()
                && dest.starts_with(file.as_str())
                && dest.as_bytes()[file.len()] == b'/'
            {
                issue(
                    issues,
                    format!("{field}.dest"),
                    format!(
                        "destination {dest:?} needs {file:?} to be a directory, but {file_field} writes {file:?} as a file"
                    ),
                );
            }
        }
    }
}

fn find_cycle(config: &Config) -> Option<Vec<String>> {
    let deps: BTreeMap<&str, &[String]> = config
        .groups
        .iter()
        .map(|g| (g.id.as_str(), g.depends_on.as_slice()))
        .collect();
    // 0 = unvisited, 1 = on stack, 2 = done
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    fn visit<'a>(
        n: &'a str,
        deps: &BTreeMap<&'a str, &'a [String]>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let start = stack.iter().position(|s| *s == n).unwrap_or(0);
                let mut c: Vec<String> = stack[start..].iter().map(|s| s.to_string()).collect();
                c.push(n.to_owned());
                return Some(c);
            }
            _ => {}
        }
        state.insert(n, 1);
        stack.push(n);
        for d in deps.get(n).copied().unwrap_or(&[]) {
            if d == n || !deps.contains_key(d.as_str()) {
                continue;
            }
            if let Some(c) = visit(d, deps, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n, 2);
        None
    }
    for g in &config.groups {
        let mut stack = Vec::new();
        if let Some(c) = visit(&g.id, &deps, &mut state, &mut stack) {
            return Some(c);
        }
    }
    None
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
