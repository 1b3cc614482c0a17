//! `file_list_refs` / `directory_list_refs`: the referenced lists merged into each target.

use std::collections::BTreeMap;

use super::Issue;
use super::at::At;
use super::model::{Config, DirectoryMapping, FileMapping};
use super::validate::issue;

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
        at: &At<'_>,
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
                        at.item(&format!("{}_list_refs", self.kind), ri),
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
    let Config {
        file_lists,
        directory_lists,
        groups,
        ..
    } = config;
    let files = Lists {
        kind: "file",
        by_id: file_lists
            .iter()
            .map(|l| (l.id.as_str(), l.files.as_slice()))
            .collect(),
    };
    let dirs = Lists {
        kind: "directory",
        by_id: directory_lists
            .iter()
            .map(|l| (l.id.as_str(), l.directories.as_slice()))
            .collect(),
    };
    let root = At::Root("groups");
    for (gi, group) in groups.iter_mut().enumerate() {
        let g = root.index(gi);
        let targets = g.field("targets");
        for (ti, target) in group.targets.iter_mut().enumerate() {
            let at = targets.index(ti);
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
