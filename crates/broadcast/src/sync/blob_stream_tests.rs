//! [`SourceObjects`] reads a loose source blob from its file, byte-exact, without asking
//! `cat-file`; a packed one through `cat-file`; a damaged loose file is an error.

use std::path::Path;

use broadcast_git_batch::{Git, ObjectId};
use broadcast_transform::{RepoSlug, TransformSpec, Transformer};

use super::*;
use crate::sync::test_git::git_in;

fn init_bare(dir: &Path) {
    let parent = dir.parent().expect("has a parent");
    let out = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(dir)
        .current_dir(parent)
        .status()
        .expect("git runs");
    assert!(out.success());
}

fn write_blob(repo: &Path, data: &[u8]) -> ObjectId {
    git_in(repo, &["hash-object", "-w", "--stdin"], data)
        .parse()
        .expect("an object id")
}

/// A group's source objects over `objects_dir`, with `cat` reading `cat_repo`.
fn objects(cat_repo: &Path, objects_dir: &Path, spool: &Path) -> Arc<SourceObjects> {
    let cat = Git::new()
        .open(cat_repo)
        .cat_file()
        .expect("cat-file starts");
    Arc::new(SourceObjects::new(
        Arc::new(std::sync::Mutex::new(cat)),
        Some(objects_dir.to_owned()),
        spool.to_owned(),
    ))
}

fn copied(objects: &Arc<SourceObjects>, oid: ObjectId, len: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    objects.copy(oid, len).write_exact(&mut out)?;
    Ok(out)
}

/// The error and its sources, one per line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(&format!("\n{c}"));
        cur = c.source();
    }
    s
}

struct Blobs {
    binary: Vec<u8>,
    binary_oid: ObjectId,
    text: Vec<u8>,
    text_oid: ObjectId,
}

fn source_repo(repo: &Path) -> Blobs {
    init_bare(repo);
    // NUL, CR, LF and every byte value, several read buffers long.
    let binary: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let text = b"name: {{NAME}}\r\nkeep\n".repeat(20_000);
    Blobs {
        binary_oid: write_blob(repo, &binary),
        binary,
        text_oid: write_blob(repo, &text),
        text,
    }
}

#[test]
fn loose_source_blobs_are_read_from_their_files_without_cat_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src.git");
    let empty = dir.path().join("empty.git");
    let b = source_repo(&src);
    init_bare(&empty);
    // cat-file reads an empty repository: every object asked of it is missing.
    let objects = objects(&empty, &src.join("objects"), &dir.path().join("spool"));

    let got = copied(&objects, b.binary_oid, b.binary.len() as u64).expect("copied");
    assert!(got == b.binary, "copy: {} bytes", got.len());
    assert!(objects.read_whole(b.text_oid).expect("read") == b.text);

    let spec = TransformSpec {
        variables: [("NAME".to_owned(), "svc".to_owned())].into(),
        ..TransformSpec::default()
    };
    let slug = RepoSlug::new("acme", "template");
    let t = Transformer::new(&spec, &slug, &slug).expect("valid spec");
    match objects
        .transform(b.text_oid, "a.yml", &t, true)
        .expect("streams")
    {
        Streamed::Changed { blob, .. } => {
            let want = b"name: svc\r\nkeep\n".repeat(20_000);
            assert!(blob.read_all().expect("spooled") == want);
        }
        other => panic!("want a changed blob, got {other:?}"),
    }

    // Once packed, the same blobs come through cat-file only: the empty repository's cat-file
    // cannot give them, the source's can.
    git_in(
        &src,
        &[
            "pack-objects",
            "-q",
            &src.join("objects/pack/pack").display().to_string(),
        ],
        format!("{}\n{}\n", b.binary_oid, b.text_oid).as_bytes(),
    );
    git_in(&src, &["prune-packed"], b"");
    let err = copied(&objects, b.binary_oid, b.binary.len() as u64).expect_err("not loose");
    assert!(chain(&err).contains("missing"), "{}", chain(&err));
    let packed = objects_with_cat(&src);
    let got = copied(&packed, b.binary_oid, b.binary.len() as u64).expect("copied");
    assert!(got == b.binary, "packed copy: {} bytes", got.len());
    assert!(packed.read_whole(b.text_oid).expect("read") == b.text);
}

fn objects_with_cat(src: &Path) -> Arc<SourceObjects> {
    objects(src, &src.join("objects"), &src.join("spool"))
}

#[test]
fn a_damaged_loose_source_blob_fails_the_copy_naming_its_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let src = dir.path().join("src.git");
    let b = source_repo(&src);
    let path = broadcast_git_batch::loose_object_path(&src.join("objects"), b.binary_oid);
    let good = std::fs::read(&path).expect("loose file");
    std::fs::write(&path, &good[..good.len() / 2]).expect("truncate");
    let objects = objects_with_cat(&src);
    let err = copied(&objects, b.binary_oid, b.binary.len() as u64).expect_err("truncated");
    let text = chain(&err);
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("corrupt"), "{text}");
}
