//! `CatFile::ls_tree_recursive` lists exactly what `git ls-tree -r -z --full-tree` lists:
//! modes, gitlinks, symlinks, executables, names with odd bytes, nested directories, and git's
//! tree order (a directory sorts as if its name ended in `/`).

use std::os::unix::ffi::OsStrExt;

use broadcast_git_batch::{Error, ObjectKind};

use super::{Fixture, TestResult};

#[test]
fn cat_file_listing_equals_ls_tree() -> TestResult {
    let fx = Fixture::new();
    let files: Vec<(&str, &[u8], bool)> = vec![
        ("a.txt", b"a\n", false),
        ("dir.txt", b"sorts before dir/\n", false),
        ("dir-x/y", b"dash sorts before dot\n", false),
        ("dir/b.txt", b"b\n", false),
        ("dir/sub/deeper/c.txt", b"c\n", false),
        ("dir/run.sh", b"#!/bin/sh\n", true),
        ("odd/ctrl\u{1}\u{7f} name", b"control bytes\n", false),
        ("odd/\u{e9}t\u{e9}", b"accents\n", false),
        ("z/\"q\"\\", b"quote and backslash\n", false),
    ];
    let root = fx.work_repo("work", &files);
    std::os::unix::fs::symlink("../a.txt", root.join("dir/link"))?;
    fx.sh(&root, &["add", "dir/link"]);
    // A submodule entry (gitlink): a commit id that this repository does not hold.
    let gitlink = "1234567890abcdef1234567890abcdef12345678";
    let cacheinfo = format!("160000,{gitlink},dir/sub/module");
    fx.sh(&root, &["update-index", "--add", "--cacheinfo", &cacheinfo]);
    fx.sh(&root, &["commit", "-q", "-m", "link and gitlink"]);

    let repo = fx.git().open(&root.join(".git"));
    let head = repo.rev_parse("HEAD")?.ok_or("HEAD")?;
    let from_ls_tree = repo.ls_tree(&head.to_string())?;
    let mut cat = repo.cat_file()?;
    assert_eq!(cat.ls_tree_recursive(head)?, from_ls_tree);
    let modes: Vec<(u32, ObjectKind, &str)> = from_ls_tree
        .iter()
        .map(|e| (e.mode, e.kind, e.path.as_str()))
        .collect();
    assert!(modes.contains(&(0o160000, ObjectKind::Commit, "dir/sub/module")));
    assert!(modes.contains(&(0o120000, ObjectKind::Blob, "dir/link")));
    assert!(modes.contains(&(0o100755, ObjectKind::Blob, "dir/run.sh")));
    assert_eq!(from_ls_tree.len(), files.len() + 2);
    Ok(())
}

#[test]
fn non_utf8_name_fails_alike() -> TestResult {
    let fx = Fixture::new();
    let root = fx.work_repo("work", &[("a.txt", b"a\n", false)]);
    let name = std::ffi::OsStr::from_bytes(b"bad\xff.txt");
    std::fs::write(root.join(name), b"x\n")?;
    fx.sh(&root, &["add", "-A"]);
    fx.sh(&root, &["commit", "-q", "-m", "non-utf8"]);
    let repo = fx.git().open(&root.join(".git"));
    let head = repo.rev_parse("HEAD")?.ok_or("HEAD")?;
    assert!(matches!(
        repo.ls_tree(&head.to_string()),
        Err(Error::NonUtf8Path { .. })
    ));
    assert!(matches!(
        repo.cat_file()?.ls_tree_recursive(head),
        Err(Error::NonUtf8Path { .. })
    ));
    Ok(())
}
