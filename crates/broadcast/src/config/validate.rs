//! Semantic validation of a list-resolved configuration, collecting every problem with its
//! field path. Field paths are written out only for the problems found (see [`At`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use super::Issue;
use super::at::At;
use super::fields::{validate_branch, validate_email};
use super::mappings::{Dest, check_dir_mapping, check_file_mapping, check_target_mappings};
use super::model::*;
use crate::repo::RepoRef;

/// Appends the issue `path: message`; `path` is written out here, once a problem is found.
pub(super) fn issue(issues: &mut Vec<Issue>, path: impl fmt::Display, message: impl Into<String>) {
    issues.push(Issue {
        path: path.to_string(),
        message: message.into(),
    });
}

fn check_nonblank(issues: &mut Vec<Issue>, at: &At<'_>, field: &str, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        if v.trim().is_empty() {
            issue(issues, at.item(field, i), "must not be blank");
        }
    }
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
    let groups = At::Root("groups");
    for (gi, g) in config.groups.iter().enumerate() {
        let at = groups.index(gi);
        validate_group(issues, &at, gi, g, &mut group_ids, base_dir);
        validate_group_targets(issues, &at, g, base_dir);
    }
    validate_dependencies(config, &group_ids, issues);
    super::branches::check_sync_branches(config, base_dir, issues);
}

/// `file_lists` and `directory_lists`: ids, names, and their mappings.
fn validate_lists(config: &Config, issues: &mut Vec<Issue>) {
    let file_ids = config.file_lists.iter().map(|l| (&l.id, &l.name));
    let dir_ids = config.directory_lists.iter().map(|l| (&l.id, &l.name));
    check_list_ids(issues, "file_lists", file_ids);
    check_list_ids(issues, "directory_lists", dir_ids);
    let root = At::Root("file_lists");
    for (li, l) in config.file_lists.iter().enumerate() {
        let list = root.index(li);
        let files_at = list.field("files");
        for (fi, f) in l.files.iter().enumerate() {
            check_file_mapping(issues, &files_at.index(fi), f);
        }
    }
    let root = At::Root("directory_lists");
    for (li, l) in config.directory_lists.iter().enumerate() {
        let list = root.index(li);
        let dirs_at = list.field("directories");
        for (di, d) in l.directories.iter().enumerate() {
            check_dir_mapping(issues, &dirs_at.index(di), d);
        }
    }
}

/// Ids (present, unique) and names (present) of the lists of one kind.
fn check_list_ids<'c>(
    issues: &mut Vec<Issue>,
    kind: &str,
    lists: impl Iterator<Item = (&'c String, &'c String)>,
) {
    let root = At::Root(kind);
    let mut seen = BTreeSet::new();
    for (i, (id, name)) in lists.enumerate() {
        let at = root.index(i);
        if id.trim().is_empty() {
            issue(issues, at.field("id"), "must not be empty");
        } else if !seen.insert(id.as_str()) {
            issue(issues, at.field("id"), format!("duplicate list id '{id}'"));
        }
        if name.trim().is_empty() {
            issue(issues, at.field("name"), "must not be empty");
        }
    }
}

/// One group's own fields (name, id, source, PR metadata, branch prefix); records its id.
fn validate_group<'a>(
    issues: &mut Vec<Issue>,
    at: &At<'_>,
    gi: usize,
    g: &'a Group,
    group_ids: &mut BTreeMap<&'a str, usize>,
    base_dir: &Path,
) {
    if g.name.trim().is_empty() {
        issue(issues, at.field("name"), "must not be empty");
    }
    if g.id.trim().is_empty() {
        issue(issues, at.field("id"), "must not be empty");
    } else if let Some(prev) = group_ids.insert(&g.id, gi) {
        issue(
            issues,
            at.field("id"),
            format!("duplicate group id '{}' (also groups[{prev}])", g.id),
        );
    } else if let Err(e) = validate_branch(&g.id) {
        issue(
            issues,
            at.field("id"),
            format!("group ids name sync branches: {e}"),
        );
    }
    let source = at.field("source");
    if g.source.repo.trim().is_empty() {
        issue(issues, source.field("repo"), "must not be empty");
    } else if let Err(e) = RepoRef::parse(&g.source.repo, base_dir) {
        issue(issues, source.field("repo"), e);
    }
    if let Some(b) = &g.source.branch
        && let Err(e) = validate_branch(b)
    {
        issue(issues, source.field("branch"), e);
    }
    for (field, v) in [
        ("security_email", &g.source.security_email),
        ("support_email", &g.source.support_email),
    ] {
        if let Some(e) = v.as_deref().filter(|e| !e.is_empty())
            && let Err(m) = validate_email(e)
        {
            issue(issues, source.field(field), m);
        }
    }
    let global = at.field("global");
    check_nonblank(issues, &global, "pr_labels", &g.global.pr_labels);
    check_nonblank(issues, &global, "pr_assignees", &g.global.pr_assignees);
    check_nonblank(issues, &global, "pr_reviewers", &g.global.pr_reviewers);
    check_nonblank(
        issues,
        &global,
        "pr_team_reviewers",
        &g.global.pr_team_reviewers,
    );
    let defaults = at.field("defaults");
    check_nonblank(issues, &defaults, "pr_labels", &g.defaults.pr_labels);
    if let Some(p) = g
        .defaults
        .branch_prefix
        .as_deref()
        .filter(|p| !p.is_empty())
        && let Err(e) = validate_branch(p)
    {
        issue(issues, defaults.field("branch_prefix"), e);
    }
    if g.targets.is_empty() {
        issue(
            issues,
            at.field("targets"),
            "at least one target is required",
        );
    }
}

/// A group's targets, each on its own, and duplicates among them.
fn validate_group_targets(issues: &mut Vec<Issue>, at: &At<'_>, g: &Group, base_dir: &Path) {
    let targets = at.field("targets");
    let mut seen_targets: BTreeMap<Cow<'_, str>, usize> = BTreeMap::new();
    let mut dests: Vec<Dest<'_>> = Vec::new();
    for (ti, t) in g.targets.iter().enumerate() {
        let at = targets.index(ti);
        let Some(repo) = validate_target(issues, &at, t, base_dir, &mut dests) else {
            continue;
        };
        let key = match repo {
            // `owner/name` as written (trimmed), compared case-insensitively as GitHub does.
            RepoRef::GitHub { .. } => {
                let slug = t.repo.trim();
                if slug.bytes().any(|b| b.is_ascii_uppercase()) {
                    Cow::Owned(slug.to_ascii_lowercase())
                } else {
                    Cow::Borrowed(slug)
                }
            }
            // The repository itself: symbolic links resolved when it exists (two names of one
            // repository would write one sync branch twice), else the absolute path.
            RepoRef::Local { path } => Cow::Owned(
                std::fs::canonicalize(&path)
                    .or_else(|_| std::path::absolute(&path))
                    .unwrap_or(path)
                    .display()
                    .to_string(),
            ),
        };
        if let Some(prev) = seen_targets.insert(key, ti) {
            issue(
                issues,
                at.field("repo"),
                format!(
                    "duplicate target '{}' in this group (also targets[{prev}])",
                    t.repo
                ),
            );
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

/// One target's own fields and mappings; returns its repository when that parses.
fn validate_target<'c>(
    issues: &mut Vec<Issue>,
    at: &At<'_>,
    t: &'c Target,
    base_dir: &Path,
    dests: &mut Vec<Dest<'c>>,
) -> Option<RepoRef> {
    let repo = if t.repo.trim().is_empty() {
        issue(issues, at.field("repo"), "must not be empty");
        None
    } else {
        RepoRef::parse(&t.repo, base_dir)
            .map_err(|e| issue(issues, at.field("repo"), e))
            .ok()
    };
    if let Some(b) = &t.branch
        && let Err(e) = validate_branch(b)
    {
        issue(issues, at.field("branch"), e);
    }
    if t.files.is_empty() && t.directories.is_empty() {
        issue(
            issues,
            at,
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
            issue(issues, at.field(field), m);
        }
    }
    check_nonblank(issues, at, "pr_labels", &t.pr_labels);
    check_nonblank(issues, at, "pr_assignees", &t.pr_assignees);
    check_nonblank(issues, at, "pr_reviewers", &t.pr_reviewers);
    check_nonblank(issues, at, "pr_team_reviewers", &t.pr_team_reviewers);
    check_target_mappings(issues, at, t, dests);
    repo
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
