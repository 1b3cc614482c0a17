//! `ls-tree -r -z` entries and their parser.

use crate::{Error, ObjectId, ObjectKind, Result};

/// One entry of a recursive tree listing (`git ls-tree -r -z --full-tree`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TreeEntry {
    /// The mode as an octal value: `0o100644` (file), `0o100755` (executable), `0o120000`
    /// (symlink), `0o040000` (tree), `0o160000` (gitlink/submodule).
    pub mode: u32,
    /// The object kind (`Blob` for files and symlinks, `Commit` for gitlinks).
    pub kind: ObjectKind,
    /// The object id.
    pub oid: ObjectId,
    /// `/`-separated path relative to the tree root, exactly as stored (no quoting).
    pub path: String,
}

/// A git tree entry mode (git-ls-tree(1), gitformat-index(5)): the five modes git writes in a
/// tree. [`EntryMode::bits`] is the octal value (`0o100644`, ...) as stored and printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntryMode {
    /// `100644`: a regular file.
    Blob,
    /// `100755`: an executable file.
    Executable,
    /// `120000`: a symbolic link (the blob holds the link target).
    Symlink,
    /// `040000`: a subdirectory (tree).
    Tree,
    /// `160000`: a submodule commit (gitlink); the id names a commit of another repository.
    Gitlink,
}

impl EntryMode {
    /// The octal value git stores: `0o100644`, `0o100755`, `0o120000`, `0o040000`, `0o160000`.
    pub const fn bits(self) -> u32 {
        match self {
            EntryMode::Blob => 0o100644,
            EntryMode::Executable => 0o100755,
            EntryMode::Symlink => 0o120000,
            EntryMode::Tree => 0o040000,
            EntryMode::Gitlink => 0o160000,
        }
    }

    /// The mode of an octal value; `None` for a value git does not write in trees.
    pub const fn from_bits(bits: u32) -> Option<EntryMode> {
        Some(match bits {
            0o100644 => EntryMode::Blob,
            0o100755 => EntryMode::Executable,
            0o120000 => EntryMode::Symlink,
            0o040000 => EntryMode::Tree,
            0o160000 => EntryMode::Gitlink,
            _ => return None,
        })
    }

    /// True for the modes whose object is a blob in this repository (files and symlinks).
    pub const fn is_blob(self) -> bool {
        matches!(
            self,
            EntryMode::Blob | EntryMode::Executable | EntryMode::Symlink
        )
    }
}

impl TreeEntry {
    /// The entry's mode as an [`EntryMode`]; `None` for a mode git does not write (a tree
    /// read from a hand-made object).
    pub fn entry_mode(&self) -> Option<EntryMode> {
        EntryMode::from_bits(self.mode)
    }
}

/// The id of the tree that `entries` describe, computed in-process the way `git write-tree`
/// would, without writing anything: tree objects are `tree <len>\0` followed by
/// `<mode in octal, no leading zero> SP <name> NUL <20-byte id>` per entry, sorted by name with
/// subtrees compared as `name/` (git's `base_name_compare`, see git-mktree(1)).
///
/// `entries` is a recursive listing of leaves (blobs, symlinks, gitlinks) with `/`-separated
/// paths, as [`crate::Repo::ls_tree`] returns; intermediate trees are derived from the paths.
/// Cost: one SHA-1 over every tree object, O(n log n) for the sort; no spawn.
///
/// # Errors
/// [`Error::InvalidArgument`] for an empty path or component, or a path that is both a leaf
/// and a directory.
pub fn tree_oid<'a>(
    entries: impl IntoIterator<Item = (&'a str, u32, ObjectId)>,
) -> Result<ObjectId> {
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Dir<'a> {
        leaves: BTreeMap<&'a str, (u32, ObjectId)>,
        dirs: BTreeMap<&'a str, Dir<'a>>,
    }
    fn hash(dir: &Dir<'_>) -> ObjectId {
        use sha1::{Digest, Sha1};
        // (name, is a tree, mode, id): trees sort as if their name ended in '/'. Names are
        // distinct (a name that is both a leaf and a tree is rejected before).
        let mut items: Vec<(&str, bool, u32, ObjectId)> =
            Vec::with_capacity(dir.leaves.len() + dir.dirs.len());
        for (name, (mode, oid)) in &dir.leaves {
            items.push((name, false, *mode, *oid));
        }
        for (name, sub) in &dir.dirs {
            items.push((name, true, EntryMode::Tree.bits(), hash(sub)));
        }
        if !dir.dirs.is_empty() {
            fn key(name: &str, tree: bool) -> impl Iterator<Item = u8> + '_ {
                name.bytes().chain(tree.then_some(b'/'))
            }
            items.sort_unstable_by(|a, b| key(a.0, a.1).cmp(key(b.0, b.1)));
        }
        // The object is hashed as it is written, without building it: header, then entries.
        let len: usize = items
            .iter()
            .map(|(name, _, mode, _)| octal(*mode).1 + 1 + name.len() + 1 + 20)
            .sum();
        let mut hasher = Sha1::new();
        let mut header = [0u8; 32];
        let header_len = crate::oid::write_object_header(&mut header, "tree", len);
        hasher.update(&header[..header_len]);
        for (name, _, mode, oid) in &items {
            let (digits, n) = octal(*mode);
            hasher.update(&digits[digits.len() - n..]);
            hasher.update(b" ");
            hasher.update(name.as_bytes());
            hasher.update(b"\0");
            hasher.update(oid.as_bytes());
        }
        crate::oid::finish(hasher)
    }
    let bad = |path: &str, reason: &'static str| Error::InvalidArgument {
        what: "tree entry path",
        value: path.to_owned(),
        reason,
    };
    let mut root = Dir::default();
    for (path, mode, oid) in entries {
        let mut dir = &mut root;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            if part.is_empty() {
                return Err(bad(path, "empty path component"));
            }
            if parts.peek().is_none() {
                if dir.dirs.contains_key(part) {
                    return Err(bad(path, "is both a file and a directory"));
                }
                dir.leaves.insert(part, (mode, oid));
            } else {
                if dir.leaves.contains_key(part) {
                    return Err(bad(path, "is both a file and a directory"));
                }
                dir = dir.dirs.entry(part).or_default();
            }
        }
    }
    Ok(hash(&root))
}

/// `mode` in octal without leading zeros, right-aligned in the buffer: (buffer, digit count).
fn octal(mode: u32) -> ([u8; 11], usize) {
    let mut digits = [0u8; 11];
    let mut n = mode;
    let mut count = 0;
    loop {
        digits[digits.len() - 1 - count] = b'0' + (n % 8) as u8;
        count += 1;
        n /= 8;
        if n == 0 {
            return (digits, count);
        }
    }
}

/// Parses NUL-terminated `ls-tree -z` records: `<mode> SP <type> SP <oid> TAB <path> NUL`
/// (format from git-ls-tree(1) "OUTPUT FORMAT").
pub(crate) fn parse_ls_tree(out: &[u8]) -> Result<Vec<TreeEntry>> {
    let mut entries = Vec::new();
    for record in out.split(|&b| b == 0) {
        if record.is_empty() {
            continue;
        }
        entries.push(parse_record(record)?);
    }
    Ok(entries)
}

fn parse_record(record: &[u8]) -> Result<TreeEntry> {
    let bad = || Error::parse("ls-tree entry", record);
    let tab = record.iter().position(|&b| b == b'\t').ok_or_else(bad)?;
    let (meta, path) = (&record[..tab], &record[tab + 1..]);
    let mut fields = meta.split(|&b| b == b' ');
    let mode = fields.next().ok_or_else(bad)?;
    let kind = fields.next().ok_or_else(bad)?;
    let oid = fields.next().ok_or_else(bad)?;
    if fields.next().is_some() || path.is_empty() {
        return Err(bad());
    }
    let mode = std::str::from_utf8(mode)
        .ok()
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .ok_or_else(bad)?;
    let kind = ObjectKind::parse(kind)?;
    let oid = std::str::from_utf8(oid)
        .map_err(|_| bad())
        .and_then(ObjectId::from_hex)?;
    let path = String::from_utf8(path.to_vec()).map_err(|e| Error::NonUtf8Path {
        path: String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })?;
    Ok(TreeEntry {
        mode,
        kind,
        oid,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID: &str = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";

    #[test]
    fn parses_records() {
        let input = format!(
            "100644 blob {OID}\ta b\0100755 blob {OID}\tdir/run.sh\0120000 blob {OID}\tlink\0\
             160000 commit {OID}\tsub\0100644 blob {OID}\tnew\nline \"q\" é\0"
        );
        let got = parse_ls_tree(input.as_bytes()).unwrap();
        let want: Vec<(u32, ObjectKind, &str)> = vec![
            (0o100644, ObjectKind::Blob, "a b"),
            (0o100755, ObjectKind::Blob, "dir/run.sh"),
            (0o120000, ObjectKind::Blob, "link"),
            (0o160000, ObjectKind::Commit, "sub"),
            (0o100644, ObjectKind::Blob, "new\nline \"q\" é"),
        ];
        assert_eq!(got.len(), want.len());
        for (e, (mode, kind, path)) in got.iter().zip(want) {
            assert_eq!((e.mode, e.kind, e.path.as_str()), (mode, kind, path));
            assert_eq!(e.oid.to_string(), OID);
        }
    }

    #[test]
    fn rejects_malformed() {
        let cases: Vec<Vec<u8>> = vec![
            b"100644 blob\tx\0".to_vec(),
            format!("100644 blob {OID}\0").into_bytes(),
            format!("10064x blob {OID}\tx\0").into_bytes(),
            format!("100644 blub {OID}\tx\0").into_bytes(),
            format!("100644 blob {OID}\t\0").into_bytes(),
        ];
        for case in cases {
            assert!(
                parse_ls_tree(&case).is_err(),
                "{:?}",
                String::from_utf8_lossy(&case)
            );
        }
        let non_utf8 = [format!("100644 blob {OID}\t").as_bytes(), b"\xff\xfe\0"].concat();
        assert!(matches!(
            parse_ls_tree(&non_utf8),
            Err(Error::NonUtf8Path { .. })
        ));
    }
}

#[cfg(test)]
mod mode_tests {
    use super::EntryMode;

    #[test]
    fn octal_and_object_header_are_written_without_allocating() {
        for (mode, text) in [
            (0o100644, "100644"),
            (0o040000, "40000"),
            (0o160000, "160000"),
            (0, "0"),
            (u32::MAX, "37777777777"),
        ] {
            let (digits, n) = super::octal(mode);
            assert_eq!(&digits[digits.len() - n..], text.as_bytes());
        }
        let mut buf = [0u8; 32];
        for (kind, len, text) in [
            ("tree", 0, &b"tree 0\0"[..]),
            ("commit", usize::MAX, b"commit 18446744073709551615\0"),
        ] {
            let n = crate::oid::write_object_header(&mut buf, kind, len);
            assert_eq!(&buf[..n], text);
        }
    }

    #[test]
    fn bits_round_trip_and_reject_others() {
        for m in [
            EntryMode::Blob,
            EntryMode::Executable,
            EntryMode::Symlink,
            EntryMode::Tree,
            EntryMode::Gitlink,
        ] {
            assert_eq!(EntryMode::from_bits(m.bits()), Some(m));
        }
        assert_eq!(EntryMode::from_bits(0o100664), None);
        assert!(EntryMode::Symlink.is_blob() && !EntryMode::Gitlink.is_blob());
    }
}
