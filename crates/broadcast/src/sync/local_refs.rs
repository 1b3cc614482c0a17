//! A local target's refs read from its files (gitrepository-layout(5): `HEAD`, loose refs under
//! `refs/`, `packed-refs`) instead of a `git ls-remote` process: the no-op re-run of a local
//! target then costs one git process (the `cat-file` that lists its base tree).
//!
//! Anything this reader does not handle with certainty answers `None`, and the caller asks git
//! (`ls-remote`): reftable storage, a detached or unborn `HEAD`, a symbolic loose ref, an id
//! that is not 40 hex digits (SHA-256 repositories), an unreadable file.

use std::path::Path;

use broadcast_git_batch::ObjectId;

/// What `git ls-remote --symref <dir> HEAD <names>` would say.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LocalRefs {
    /// The branch `HEAD` names (`main`).
    pub head_branch: String,
    /// The commit `HEAD` resolves to.
    pub head_oid: ObjectId,
    /// Each of the asked names (full ref names) that exists, with its id.
    pub refs: Vec<(String, ObjectId)>,
}

/// Reads `HEAD` and `names` (full names such as `refs/heads/main`) of the git directory
/// `git_dir`. No spawn; a few small file reads. `None`: ask git instead (see the module docs).
pub(crate) fn read(git_dir: &Path, names: &[&str]) -> Option<LocalRefs> {
    if git_dir.join("reftable").exists() || git_dir.join("commondir").exists() {
        return None;
    }
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head_ref = head.strip_suffix('\n')?.strip_prefix("ref: ")?;
    let head_branch = head_ref.strip_prefix("refs/heads/")?.to_owned();
    let packed = read_packed(git_dir)?;
    let resolve =
        |name: &str| -> Option<Option<ObjectId>> { resolve(git_dir, packed.as_deref(), name) };
    // Unborn HEAD: let git say what it advertises.
    let head_oid = resolve(head_ref)??;
    let mut refs = Vec::new();
    for name in names {
        if let Some(oid) = resolve(name)? {
            refs.push(((*name).to_owned(), oid));
        }
    }
    Some(LocalRefs {
        head_branch,
        head_oid,
        refs,
    })
}

/// The id the ref `name` (a full name such as `refs/heads/main`) of the git directory
/// `git_dir` points at, as `git rev-parse --verify <name>` would say, read from its files
/// whatever `HEAD` is (detached, unborn). No spawn. `None` when the ref is absent or the files
/// do not say it plainly (see the module docs; also a git directory without a `HEAD` file, such
/// as a work tree whose `.git` is a file): ask git then. The id is not peeled: it may name a
/// tag.
pub(crate) fn read_ref(git_dir: &Path, name: &str) -> Option<ObjectId> {
    if git_dir.join("reftable").exists()
        || git_dir.join("commondir").exists()
        || !git_dir.join("HEAD").is_file()
    {
        return None;
    }
    let packed = read_packed(git_dir)?;
    resolve(git_dir, packed.as_deref(), name)?
}

/// The text of `packed-refs`: `Some(None)` when there is none, `None` when it cannot be read.
fn read_packed(git_dir: &Path) -> Option<Option<String>> {
    match std::fs::read_to_string(git_dir.join("packed-refs")) {
        Ok(text) => Some(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some(None),
        Err(_) => None,
    }
}

/// `Some(Some(id))`: the ref exists; `Some(None)`: it does not; `None`: cannot tell.
fn resolve(git_dir: &Path, packed: Option<&str>, name: &str) -> Option<Option<ObjectId>> {
    if !name.starts_with("refs/") || name.contains("..") || name.contains('\0') {
        return None;
    }
    match std::fs::read_to_string(git_dir.join(name)) {
        // A loose ref wins over packed-refs (git-pack-refs(1)).
        Ok(text) => return oid_line(text.strip_suffix('\n')?).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        // A directory of that name (refs/heads/a when refs/heads/a/b exists) is no ref.
        Err(_) if git_dir.join(name).is_dir() => {}
        Err(_) => return None,
    }
    let Some(packed) = packed else {
        return Some(None);
    };
    for line in packed.lines() {
        // `# pack-refs with: ...` header, `^<id>` peeled lines of tags.
        if line.starts_with('#') || line.starts_with('^') {
            continue;
        }
        let (hex, ref_name) = line.split_once(' ')?;
        if ref_name == name {
            return oid_line(hex).map(Some);
        }
    }
    Some(None)
}

/// A SHA-1 id written as exactly 40 hex digits.
fn oid_line(text: &str) -> Option<ObjectId> {
    (text.len() == 40)
        .then(|| ObjectId::from_hex(text).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn oid(hex: &str) -> ObjectId {
        ObjectId::from_hex(hex).expect("hex")
    }

    /// A git directory from (relative path, content) pairs.
    fn check(files: &[(&str, &str)], names: &[&str]) -> Option<LocalRefs> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (p, text) in files {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        read(dir.path(), names)
    }

    #[test]
    fn refs_from_files_or_none_when_unsure() {
        let head = ("HEAD", "ref: refs/heads/main\n");
        let loose_main = ("refs/heads/main", &*format!("{A}\n"));
        let packed = (
            "packed-refs",
            &*format!(
                "# pack-refs with: peeled fully-peeled sorted \n{A} refs/heads/main\n{B} refs/heads/chore/sync\n^{A}\n"
            ),
        );
        let want = |refs: &[(&str, &str)]| {
            Some(LocalRefs {
                head_branch: "main".into(),
                head_oid: oid(A),
                refs: refs
                    .iter()
                    .map(|(n, h)| ((*n).to_owned(), oid(h)))
                    .collect(),
            })
        };
        // Loose, packed, loose winning over packed, absent.
        assert_eq!(
            check(&[head, loose_main], &["refs/heads/chore/sync"]),
            want(&[])
        );
        assert_eq!(
            check(&[head, packed], &["refs/heads/chore/sync", "refs/heads/x"]),
            want(&[("refs/heads/chore/sync", B)])
        );
        let newer = format!("{A}\n");
        assert_eq!(
            check(
                &[head, packed, ("refs/heads/chore/sync", &newer)],
                &["refs/heads/chore/sync"]
            ),
            want(&[("refs/heads/chore/sync", A)])
        );
        // A directory named like the ref is no ref.
        assert_eq!(
            check(
                &[head, loose_main, ("refs/heads/chore/sync/deeper", &newer)],
                &["refs/heads/chore/sync"]
            ),
            want(&[])
        );
        // Unsure: detached HEAD, unborn HEAD, reftable, symbolic loose ref, SHA-256.
        let detached = format!("{A}\n");
        assert_eq!(check(&[("HEAD", &detached)], &[]), None);
        assert_eq!(check(&[head], &[]), None);
        assert_eq!(
            check(&[head, loose_main, ("reftable/tables.list", "")], &[]),
            None
        );
        assert_eq!(
            check(
                &[head, loose_main, ("refs/heads/s", "ref: refs/heads/main\n")],
                &["refs/heads/s"]
            ),
            None
        );
        let long = format!("{A}{}\n", &B[..24]);
        assert_eq!(check(&[head, ("refs/heads/main", &long)], &[]), None);
    }

    /// A git directory from (relative path, content) pairs, then [`read_ref`] of `name`.
    fn check_one(files: &[(&str, &str)], name: &str) -> Option<ObjectId> {
        let dir = tempfile::tempdir().expect("temp dir");
        for (p, text) in files {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(path, text).expect("write");
        }
        read_ref(dir.path(), name)
    }

    #[test]
    fn one_ref_whatever_head_is() {
        let main = "refs/heads/main";
        let loose = format!("{A}\n");
        let packed = format!("# pack-refs with: peeled \n{B} refs/heads/main\n^{A}\n");
        // Detached and unborn HEAD do not matter; loose wins over packed.
        let detached = format!("{B}\n");
        assert_eq!(
            check_one(&[("HEAD", &detached), (main, &loose)], main),
            Some(oid(A))
        );
        let unborn = "ref: refs/heads/nothing\n";
        assert_eq!(
            check_one(&[("HEAD", unborn), ("packed-refs", &packed)], main),
            Some(oid(B))
        );
        assert_eq!(
            check_one(
                &[("HEAD", unborn), ("packed-refs", &packed), (main, &loose)],
                main
            ),
            Some(oid(A))
        );
        // Absent, no HEAD file (not a git directory), a symbolic ref, reftable, a worktree.
        assert_eq!(check_one(&[("HEAD", unborn)], main), None);
        assert_eq!(check_one(&[(main, &loose)], main), None);
        let sym = "ref: refs/heads/other\n";
        assert_eq!(check_one(&[("HEAD", unborn), (main, sym)], main), None);
        for odd in ["reftable/tables.list", "commondir"] {
            assert_eq!(
                check_one(&[("HEAD", unborn), (main, &loose), (odd, "")], main),
                None
            );
        }
    }
}
