//! Sync branch names that would land on the same ref: a target's base branch that is the
//! group's own sync branch, and two groups whose sync branches meet in one target.
//!
//! git stores a branch `a/b` as a file under a directory `a`, so `a` and `a/b` cannot both
//! exist; equal names are one branch. Either way the second group would overwrite (or fail to
//! push over) the first one's work, so both are configuration errors.

use std::collections::BTreeSet;
use std::path::Path;

use super::Issue;
use super::model::{Config, Group};
use crate::repo::RepoRef;

/// How two branch names meet in git's ref namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefClash {
    /// The same branch.
    Same,
    /// The first name is a directory of the second (`x` and `x/y`).
    FirstContainsSecond,
    /// The second name is a directory of the first.
    SecondContainsFirst,
}

/// Whether branches `a` and `b` cannot both exist as separate branches.
pub(crate) fn ref_clash(a: &str, b: &str) -> Option<RefClash> {
    let under = |dir: &str, name: &str| {
        name.strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
    };
    if a == b {
        Some(RefClash::Same)
    } else if under(a, b) {
        Some(RefClash::FirstContainsSecond)
    } else if under(b, a) {
        Some(RefClash::SecondContainsFirst)
    } else {
        None
    }
}

/// `<branch_prefix>-<id>` of a group, described for messages:
/// `'chore/sync-files-a' (branch_prefix 'chore/sync-files' + id 'a')`.
fn describe(g: &Group) -> String {
    let prefix = g.branch_prefix();
    format!(
        "'{}' (branch_prefix '{prefix}' + id '{}')",
        g.sync_branch(),
        g.id
    )
}

/// Identity of a target repository across groups (case-insensitive on GitHub).
fn target_key(repo: &str, base_dir: &Path) -> Option<String> {
    Some(match RepoRef::parse(repo, base_dir).ok()? {
        r @ RepoRef::GitHub { .. } => r.to_string().to_lowercase(),
        RepoRef::Local { path } => std::path::absolute(&path)
            .unwrap_or(path)
            .display()
            .to_string(),
    })
}

/// Appends an issue for every base branch that is (or clashes with) its group's sync branch,
/// and for every pair of groups whose sync branches clash in a target they share.
pub(super) fn check_sync_branches(config: &Config, base_dir: &Path, issues: &mut Vec<Issue>) {
    let usable = |g: &Group| !g.id.trim().is_empty();
    let sync: Vec<String> = config.groups.iter().map(Group::sync_branch).collect();
    for (gi, g) in config.groups.iter().enumerate().filter(|(_, g)| usable(g)) {
        for (ti, t) in g.targets.iter().enumerate() {
            let Some(base) = t.branch.as_deref().filter(|b| !b.is_empty()) else {
                continue;
            };
            let why = match ref_clash(base, &sync[gi]) {
                None => continue,
                Some(RefClash::Same) => format!(
                    "base branch '{base}' is this group's sync branch {}: sync commits would stack on the base itself; use another base, or change defaults.branch_prefix or the group id",
                    describe(g)
                ),
                Some(_) => format!(
                    "base branch '{base}' and this group's sync branch {} cannot both exist in git (one would be a directory of the other); use another base, or change defaults.branch_prefix or the group id",
                    describe(g)
                ),
            };
            issues.push(Issue {
                path: format!("groups[{gi}].targets[{ti}].branch"),
                message: why,
            });
        }
    }
    // Target identities per group, computed only for groups whose sync branches clash (rare).
    let mut targets: Vec<Option<BTreeSet<String>>> = vec![None; config.groups.len()];
    for (j, gj) in config.groups.iter().enumerate().filter(|(_, g)| usable(g)) {
        for (i, gi) in config.groups[..j]
            .iter()
            .enumerate()
            .filter(|(_, g)| usable(g))
        {
            let Some(clash) = ref_clash(&sync[i], &sync[j]) else {
                continue;
            };
            let keys = targets[i].get_or_insert_with(|| {
                gi.targets
                    .iter()
                    .filter_map(|t| target_key(&t.repo, base_dir))
                    .collect()
            });
            let shared: Vec<&str> = gj
                .targets
                .iter()
                .filter(|t| target_key(&t.repo, base_dir).is_some_and(|k| keys.contains(&k)))
                .map(|t| t.repo.as_str())
                .collect();
            if shared.is_empty() {
                continue;
            }
            let (a, b) = (describe(gj), describe(gi));
            let message = match clash {
                RefClash::Same => format!(
                    "sync branch {a} of group '{}' is also the sync branch {b} of groups[{i}] (group '{}') in target {}: each group would overwrite the other's commit; change defaults.branch_prefix or the id of one of them",
                    gj.id,
                    gi.id,
                    shared.join(", ")
                ),
                _ => format!(
                    "sync branch {a} of group '{}' and the sync branch {b} of groups[{i}] (group '{}') cannot both exist in target {} (in git's ref namespace one is a directory of the other); change defaults.branch_prefix or the id of one of them",
                    gj.id,
                    gi.id,
                    shared.join(", ")
                ),
            };
            issues.push(Issue {
                path: format!("groups[{j}]"),
                message,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_clash_rules() {
        let check = |a: &str, b: &str, want: Option<RefClash>| {
            assert_eq!(ref_clash(a, b), want, "{a} vs {b}");
        };
        check(
            "chore/sync-files-a",
            "chore/sync-files-a",
            Some(RefClash::Same),
        );
        check(
            "chore/sync-files-platform",
            "chore/sync-files-platform/legal-x",
            Some(RefClash::FirstContainsSecond),
        );
        check(
            "chore/sync-files-platform/legal-x",
            "chore/sync-files-platform",
            Some(RefClash::SecondContainsFirst),
        );
        check(
            "chore/sync-files-platform",
            "chore/sync-files-platform-legal",
            None,
        );
        check("chore/sync-files-a", "chore/sync-files-b", None);
        check("sync", "sync-g4", None);
        check("main", "main", Some(RefClash::Same));
    }
}
