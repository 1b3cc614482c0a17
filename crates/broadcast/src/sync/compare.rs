//! Comparing the desired state with the base tree: the tree changes to write, the change list to
//! report, and the tree id the sync branch must have to be up to date. Pure: no I/O.

use std::collections::{BTreeMap, HashMap};

use broadcast_git_batch::{BlobContent, ObjectId, StreamedBlob, TreeChange, TreeEntry, tree_oid};

use super::desired::{DesiredState, NewContent};
use crate::report::{ChangeKind, FileChange};

/// The difference between a target's base tree and its desired state.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    /// Changes for `fast-import`: deletions first (so a file can turn into a directory), then
    /// additions and modifications, each in path order.
    pub tree_changes: Vec<TreeChange>,
    /// The same changes for the report, sorted by path (sizes of old content not yet known).
    pub file_changes: Vec<FileChange>,
}

impl Comparison {
    /// True when the base tree already holds the desired state.
    pub(crate) fn is_empty(&self) -> bool {
        self.tree_changes.is_empty()
    }
}

/// Compares blob ids and modes of `desired` with `base`. `source_sizes` gives the sizes in
/// bytes of files copied unchanged from the source.
pub(crate) fn compare(
    desired: &DesiredState,
    base: &BTreeMap<String, TreeEntry>,
    source_sizes: &HashMap<ObjectId, u64>,
) -> Comparison {
    let mut out = Comparison::default();
    for path in &desired.deletes {
        out.tree_changes
            .push(TreeChange::Delete { path: path.clone() });
        out.file_changes.push(FileChange {
            path: path.clone(),
            kind: ChangeKind::Deleted,
            old_bytes: None,
            new_bytes: None,
            mode: None,
            diff: None,
            diff_note: None,
        });
    }
    for (path, d) in &desired.entries {
        let kind = match base.get(path) {
            None => ChangeKind::Added,
            Some(b) if b.oid != d.oid || b.mode != d.mode => ChangeKind::Modified,
            Some(_) => continue,
        };
        let content = match &d.data {
            Some(NewContent::Memory(bytes)) => BlobContent::Data(bytes.clone()),
            Some(NewContent::Spooled(file)) => BlobContent::Stream(StreamedBlob::new(
                file.len(),
                std::sync::Arc::clone(file) as _,
            )),
            None => BlobContent::Existing(d.oid),
        };
        out.tree_changes.push(TreeChange::Upsert {
            path: path.clone(),
            mode: d.mode,
            content,
        });
        let new_len = d
            .data
            .as_ref()
            .map(NewContent::len)
            .or_else(|| source_sizes.get(&d.src_oid).copied());
        out.file_changes.push(FileChange {
            path: path.clone(),
            kind,
            old_bytes: None,
            new_bytes: new_len,
            mode: Some(format!("{:o}", d.mode)),
            diff: None,
            diff_note: None,
        });
    }
    out.file_changes.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

/// The id of the tree the target has once `desired` is applied to `base`, computed in-process
/// (no listing of the sync branch is needed to tell whether it is up to date).
///
/// Errors only for entries that are not a tree (a path both a file and a directory), which
/// [`super::desired::desired_state`] rules out.
pub(crate) fn result_tree(
    desired: &DesiredState,
    base: &BTreeMap<String, TreeEntry>,
) -> anyhow::Result<ObjectId> {
    let mut result: BTreeMap<&str, (u32, ObjectId)> = base
        .iter()
        .filter(|(p, _)| !desired.deletes.contains(*p))
        .map(|(p, e)| (p.as_str(), (e.mode, e.oid)))
        .collect();
    for (p, d) in &desired.entries {
        result.insert(p.as_str(), (d.mode, d.oid));
    }
    Ok(tree_oid(result.iter().map(|(p, (m, o))| (*p, *m, *o)))?)
}

#[cfg(test)]
mod tests {
    use broadcast_git_batch::{ObjectKind, blob_oid};

    use super::super::desired::Desired;
    use super::*;

    fn base(files: &[(&str, &[u8])]) -> BTreeMap<String, TreeEntry> {
        files
            .iter()
            .map(|(p, c)| {
                let e = TreeEntry {
                    mode: 0o100644,
                    kind: ObjectKind::Blob,
                    oid: blob_oid(c),
                    path: (*p).to_owned(),
                };
                ((*p).to_owned(), e)
            })
            .collect()
    }

    fn want(path: &str, content: &[u8], mode: u32) -> (String, Desired) {
        let oid = blob_oid(content);
        (
            path.to_owned(),
            Desired {
                mode,
                oid,
                data: None,
                src_oid: oid,
            },
        )
    }

    #[test]
    fn kinds_order_and_sizes() {
        let base = base(&[
            ("same", b"s"),
            ("changed", b"old"),
            ("mode", b"m"),
            ("gone", b"g"),
        ]);
        let desired = DesiredState {
            entries: [
                want("same", b"s", 0o100644),
                want("changed", b"new!", 0o100644),
                want("mode", b"m", 0o100755),
                want("added", b"a", 0o100644),
            ]
            .into_iter()
            .collect(),
            deletes: ["gone".to_owned()].into_iter().collect(),
            warnings: Vec::new(),
        };
        let blobs: HashMap<ObjectId, u64> = [b"new!".as_slice(), b"a", b"m"]
            .into_iter()
            .map(|c| (blob_oid(c), c.len() as u64))
            .collect();
        let c = compare(&desired, &base, &blobs);
        let listed: Vec<(&str, ChangeKind, Option<u64>)> = c
            .file_changes
            .iter()
            .map(|f| (f.path.as_str(), f.kind, f.new_bytes))
            .collect();
        assert_eq!(
            listed,
            [
                ("added", ChangeKind::Added, Some(1)),
                ("changed", ChangeKind::Modified, Some(4)),
                ("gone", ChangeKind::Deleted, None),
                ("mode", ChangeKind::Modified, Some(1)),
            ]
        );
        // Deletions come first in the stream for fast-import.
        assert!(matches!(&c.tree_changes[0], TreeChange::Delete { path } if path == "gone"));
        assert_eq!(c.tree_changes.len(), 4);
    }

    #[test]
    fn nothing_to_do_is_empty_and_result_is_the_base_tree() {
        let base = base(&[("a", b"a"), ("d/b", b"b")]);
        let desired = DesiredState {
            entries: [want("a", b"a", 0o100644)].into_iter().collect(),
            ..DesiredState::default()
        };
        assert!(compare(&desired, &base, &HashMap::new()).is_empty());
        let expected = tree_oid(base.values().map(|e| (e.path.as_str(), e.mode, e.oid))).unwrap();
        assert_eq!(result_tree(&desired, &base).unwrap(), expected);
    }
}
