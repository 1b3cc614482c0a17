//! Recursive tree listings and commits read through one [`CatFile`], so a caller that needs
//! both (a tree listing and a commit) pays one process instead of `ls-tree` plus `cat-file`.

use crate::{CatFile, Commit, Error, ObjectId, ObjectKind, Result, TreeEntry};

impl CatFile {
    /// Reads and parses commit `oid`. One pipe round trip.
    ///
    /// # Errors
    /// [`Error::MissingObject`], [`Error::Parse`] when `oid` is not a commit, and as
    /// [`CatFile::read`].
    pub fn read_commit(&mut self, oid: ObjectId) -> Result<Commit> {
        let obj = self.read(oid)?;
        if obj.kind != ObjectKind::Commit {
            return Err(Error::parse("commit object", obj.kind.as_str().as_bytes()));
        }
        Commit::parse(oid, &obj.data)
    }

    /// Every blob, symlink and gitlink under the tree of `treeish` (a tree id, or a commit id
    /// whose root tree is listed), recursively: the same entries as
    /// [`Repo::ls_tree`](crate::Repo::ls_tree) (`ls-tree -r --full-tree`), in git's tree order.
    /// Costs one pipe round trip per tree depth level (subtrees of a level are read in one
    /// batch) and no spawn; needs trees only (works in a blob-less partial clone).
    ///
    /// # Errors
    /// [`Error::MissingObject`], [`Error::Parse`] for a malformed tree or a non-tree,
    /// non-commit id, [`Error::NonUtf8Path`] for a non-UTF-8 path, and as [`CatFile::read`].
    pub fn ls_tree_recursive(&mut self, treeish: ObjectId) -> Result<Vec<TreeEntry>> {
        self.ls_tree_recursive_objects(treeish)
            .map(|(entries, _)| entries)
    }

    /// As [`CatFile::ls_tree_recursive`], plus the id of every object read on the way: the
    /// tree-ish, the root tree when the tree-ish is a commit, and every subtree (for a caller
    /// that must know they are all in one particular store).
    ///
    /// # Errors
    /// As [`CatFile::ls_tree_recursive`].
    pub fn ls_tree_recursive_objects(
        &mut self,
        treeish: ObjectId,
    ) -> Result<(Vec<TreeEntry>, Vec<ObjectId>)> {
        let mut read = vec![treeish];
        let root = self.read(treeish)?;
        let root = match root.kind {
            ObjectKind::Tree => root,
            ObjectKind::Commit => {
                let commit = Commit::parse(treeish, &root.data)?;
                read.push(commit.tree);
                self.read(commit.tree)?
            }
            other => return Err(Error::parse("tree-ish", other.as_str().as_bytes())),
        };
        // Breadth first: (path prefix, raw tree) of the current level; each tree's own listing
        // is kept by prefix and spliced into its parent's order after the walk.
        let mut level: Vec<(String, Vec<u8>)> = vec![(String::new(), root.data)];
        let mut pending: Vec<(String, ObjectId)> = Vec::new();
        let mut lists: Vec<(String, Vec<TreeEntry>)> = Vec::new();
        while !level.is_empty() {
            for (prefix, data) in &level {
                let mut list = Vec::new();
                for entry in parse_tree(data)? {
                    let (mode, name, oid) = entry;
                    let path = format!("{prefix}{name}");
                    if mode == 0o040000 {
                        pending.push((format!("{path}/"), oid));
                        list.push(TreeEntry {
                            mode,
                            kind: ObjectKind::Tree,
                            oid,
                            path,
                        });
                    } else {
                        let kind = if mode == 0o160000 {
                            ObjectKind::Commit
                        } else {
                            ObjectKind::Blob
                        };
                        list.push(TreeEntry {
                            mode,
                            kind,
                            oid,
                            path,
                        });
                    }
                }
                lists.push((prefix.clone(), list));
            }
            let oids: Vec<ObjectId> = pending.iter().map(|(_, oid)| *oid).collect();
            let objects = self.read_many(&oids)?;
            read.extend_from_slice(&oids);
            level = pending
                .drain(..)
                .zip(objects)
                .map(|((prefix, _), obj)| {
                    if obj.kind == ObjectKind::Tree {
                        Ok((prefix, obj.data))
                    } else {
                        Err(Error::parse("subtree", obj.kind.as_str().as_bytes()))
                    }
                })
                .collect::<Result<_>>()?;
        }
        // Splice: walk from the root listing, replacing each tree entry by its own listing.
        let by_prefix: std::collections::HashMap<String, Vec<TreeEntry>> =
            lists.into_iter().collect();
        let mut out = Vec::new();
        splice("", &by_prefix, &mut out);
        Ok((out, read))
    }
}

fn splice(
    prefix: &str,
    by_prefix: &std::collections::HashMap<String, Vec<TreeEntry>>,
    out: &mut Vec<TreeEntry>,
) {
    let Some(list) = by_prefix.get(prefix) else {
        return;
    };
    for e in list {
        if e.kind == ObjectKind::Tree {
            splice(&format!("{}/", e.path), by_prefix, out);
        } else {
            out.push(e.clone());
        }
    }
}

/// Entries of a raw tree object: `<octal mode> <name>\0<20-byte id>` repeated
/// (gitformat-loose(5) "Tree objects"; `ls-tree` prints the same modes zero-padded).
fn parse_tree(data: &[u8]) -> Result<Vec<(u32, String, ObjectId)>> {
    let bad = || Error::parse("tree object", data);
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest.iter().position(|&b| b == b' ').ok_or_else(bad)?;
        let mode_text = std::str::from_utf8(&rest[..sp]).map_err(|_| bad())?;
        let mode = u32::from_str_radix(mode_text, 8).map_err(|_| bad())?;
        let after = &rest[sp + 1..];
        let nul = after.iter().position(|&b| b == 0).ok_or_else(bad)?;
        let name = std::str::from_utf8(&after[..nul]).map_err(|_| Error::NonUtf8Path {
            path: String::from_utf8_lossy(&after[..nul]).into_owned(),
        })?;
        let id: [u8; 20] = after
            .get(nul + 1..nul + 21)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(bad)?;
        out.push((mode, name.to_owned(), ObjectId::from_bytes(id)));
        rest = &after[nul + 21..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_tree_entries() {
        let mut raw = b"100644 a.txt\0".to_vec();
        raw.extend_from_slice(&[1u8; 20]);
        raw.extend_from_slice(b"40000 dir\0");
        raw.extend_from_slice(&[2u8; 20]);
        let parsed = parse_tree(&raw).expect("parses");
        assert_eq!(
            parsed,
            [
                (0o100644, "a.txt".to_owned(), ObjectId::from_bytes([1; 20])),
                (0o040000, "dir".to_owned(), ObjectId::from_bytes([2; 20])),
            ]
        );
        assert!(parse_tree(&raw[..raw.len() - 1]).is_err());
        assert!(parse_tree(b"1x0644 a\0").is_err());
    }
}
