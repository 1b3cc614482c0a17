//! `ObjectStore`: what a repository's own object directory lists, against git's own answer.

use std::path::Path;

use broadcast_git_batch::{ObjectId, ObjectStore};

use super::{Fixture, TestResult, text};

fn hash(fx: &Fixture, root: &Path, data: &[u8]) -> ObjectId {
    let out = fx.sh_in(root, &["hash-object", "-w", "--stdin"], Some(data));
    text(out).trim().parse().expect("hash-object prints an id")
}

#[test]
fn loose_and_packed_objects_are_listed_and_a_removed_pack_is_not() -> TestResult {
    let fx = Fixture::new();
    let root = fx.path("r");
    std::fs::create_dir_all(&root)?;
    fx.sh(&root, &["init", "-q", "-b", "main"]);
    let objects = root.join(".git/objects");
    std::fs::write(root.join("p.txt"), b"packed\n")?;
    let packed = hash(&fx, &root, b"packed\n");
    fx.sh(&root, &["add", "p.txt"]);
    fx.sh(
        &root,
        &[
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "p",
        ],
    );
    fx.sh(&root, &["repack", "-q", "-a", "-d"]);
    fx.sh(&root, &["prune-packed"]);
    let loose = hash(&fx, &root, b"loose\n");
    let absent: ObjectId = "0123456789abcdef0123456789abcdef01234567".parse()?;

    let store = ObjectStore::open(&objects)?;
    assert!(store.contains(packed), "packed blob");
    assert!(store.contains(loose), "loose blob");
    assert!(!store.contains(absent));
    assert!(!broadcast_git_batch::loose_object_path(&objects, packed).exists());

    // The pack and its index gone: the packed blob is no longer listed.
    for e in std::fs::read_dir(objects.join("pack"))? {
        std::fs::remove_file(e?.path())?;
    }
    let store = ObjectStore::open(&objects)?;
    assert!(!store.contains(packed));
    assert!(store.contains(loose));

    // No pack directory at all: loose objects only.
    std::fs::remove_dir(objects.join("pack"))?;
    assert!(ObjectStore::open(&objects)?.contains(loose));
    Ok(())
}
