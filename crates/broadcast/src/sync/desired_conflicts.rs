//! Path conflicts of a target's desired tree: files where the result needs directories and the
//! reverse, and paths that differ only in letter case.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::bail;
use broadcast_git_batch::TreeEntry;

use super::{Desired, Items, under};

/// File/directory conflicts between the desired entries and the base tree, and among the desired
/// entries themselves.
///
/// - A base file where the result needs a directory (`docs` in the base, `docs/a.md` desired) is
///   deleted, with a warning.
/// - Base files under a path the result needs as a file (`docs/a.md` in the base, `docs`
///   desired) are deleted, with a warning.
/// - Two desired entries `p` and `p/…` cannot both exist: an error naming both mappings.
pub(super) fn resolve_conflicts(
    entries: &BTreeMap<String, Desired>,
    items: &Items<'_>,
    base: &BTreeMap<String, TreeEntry>,
    deletes: &mut BTreeSet<String>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<()> {
    for path in entries.keys() {
        // Every ancestor directory of `path` must not be a file.
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            let dir = &path[..end + i];
            if entries.contains_key(dir) {
                bail!(
                    "'{dir}' is both a file ({}) and a directory holding '{path}' ({})",
                    items[dir].2,
                    items[path].2
                );
            }
            if base.contains_key(dir) && deletes.insert(dir.to_owned()) {
                warnings.push(format!(
                    "{dir}: a file in the target where the source has a directory; replaced"
                ));
            }
            end += i + 1;
        }
        // `path` must not be a directory of the base tree.
        let mut replaced = false;
        for (p, _) in under(base, path) {
            deletes.insert(p.clone());
            replaced = true;
        }
        if replaced {
            warnings.push(format!(
                "{path}: a directory in the target where the source has a file; replaced"
            ));
        }
    }
    Ok(())
}

/// Paths of the result that differ only in letter case, where at least one is written by this
/// sync: they cannot both be checked out on case-insensitive file systems (macOS, Windows).
pub(super) fn warn_case_clashes(
    entries: &BTreeMap<String, Desired>,
    base: &BTreeMap<String, TreeEntry>,
    deletes: &BTreeSet<String>,
    warnings: &mut Vec<String>,
) {
    let result = base
        .keys()
        .filter(|p| !deletes.contains(*p) && !entries.contains_key(*p))
        .chain(entries.keys());
    let mut by_lower: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for p in result {
        by_lower.entry(p.to_lowercase()).or_default().push(p);
    }
    for paths in by_lower.values_mut() {
        if paths.len() > 1 && paths.iter().any(|p| entries.contains_key(*p)) {
            paths.sort_unstable();
            warnings.push(format!(
                "{}: paths differ only in case; checkouts on macOS and Windows will break",
                paths.join(" and ")
            ));
        }
    }
}
