//! Loose objects read in process (`LooseObject`): byte-exact against objects written by
//! `git hash-object -w` and `git commit`, `None` once git has packed them, and an error (never a
//! short read) for a damaged file.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use broadcast_git_batch::{Error, LooseObject, ObjectId, ObjectKind, loose_object_path};
use proptest::prelude::*;

use super::{Fixture, TestResult, text};

/// A fresh repository `name` (with a work tree); returns it and its objects directory.
fn repo(fx: &Fixture, name: &str) -> (PathBuf, PathBuf) {
    let root = fx.path(name);
    std::fs::create_dir_all(&root).expect("mkdir");
    fx.sh(&root, &["init", "-q", "-b", "main"]);
    let objects = root.join(".git/objects");
    (root, objects)
}

/// Writes `data` as a loose blob with `git hash-object -w`; returns its id.
fn hash_object(fx: &Fixture, root: &Path, data: &[u8]) -> ObjectId {
    let out = fx.sh_in(root, &["hash-object", "-w", "--stdin"], Some(data));
    text(out).trim().parse().expect("hash-object prints an id")
}

/// Reads the whole content through reads of at most `piece` bytes.
fn read_in_pieces(obj: &mut LooseObject, piece: usize) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; piece];
    loop {
        match obj.read(&mut buf)? {
            0 => return Ok(out),
            n => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// Deterministic bytes that deflate compresses only a little (a 64-bit LCG's high bytes).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed;
    (0..len)
        .map(|_| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 56) as u8
        })
        .collect()
}

#[test]
fn loose_blobs_read_back_byte_exact() -> TestResult {
    let fx = Fixture::new();
    let (root, objects) = repo(&fx, "r");
    let all_bytes: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let mut big = noise(3 << 20, 7);
    big.extend_from_slice(&vec![0u8; 1 << 20]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("small", b"hello\n".to_vec()),
        ("empty", Vec::new()),
        ("binary with NULs", all_bytes),
        ("4 MiB", big),
    ];
    for (name, data) in &cases {
        let oid = hash_object(&fx, &root, data);
        for piece in [7usize, 64 * 1024] {
            let mut obj = LooseObject::open(&objects, oid)?.ok_or("loose file present")?;
            assert_eq!(obj.kind(), ObjectKind::Blob, "{name}");
            assert_eq!(obj.size(), data.len() as u64, "{name}");
            assert_eq!(obj.path(), loose_object_path(&objects, oid), "{name}");
            if piece == 7 && data.len() > 100_000 {
                continue;
            }
            let got = read_in_pieces(&mut obj, piece)?;
            assert!(
                got == *data,
                "{name}: {} bytes, want {}",
                got.len(),
                data.len()
            );
            // The end stays the end.
            assert_eq!(obj.read(&mut [0u8; 8])?, 0, "{name}");
        }
    }
    Ok(())
}

#[test]
fn loose_trees_and_commits_read_as_cat_file_prints_them() -> TestResult {
    let fx = Fixture::new();
    let (root, objects) = repo(&fx, "r");
    std::fs::write(root.join("a.txt"), "a\n")?;
    fx.sh(&root, &["add", "-A"]);
    fx.sh(&root, &["commit", "-q", "-m", "one"]);
    for (rev, kind, name) in [
        ("HEAD", ObjectKind::Commit, "commit"),
        ("HEAD^{tree}", ObjectKind::Tree, "tree"),
    ] {
        let oid: ObjectId = text(fx.sh(&root, &["rev-parse", rev])).trim().parse()?;
        let mut obj = LooseObject::open(&objects, oid)?.ok_or("loose file present")?;
        assert_eq!(obj.kind(), kind);
        let mut got = Vec::new();
        obj.read_to_end(&mut got)?;
        assert_eq!(got, fx.sh(&root, &["cat-file", name, &oid.to_string()]));
    }
    Ok(())
}

#[test]
fn packed_or_absent_objects_give_none() -> TestResult {
    let fx = Fixture::new();
    let (root, objects) = repo(&fx, "r");
    std::fs::write(root.join("a.txt"), "packed\n")?;
    fx.sh(&root, &["add", "-A"]);
    fx.sh(&root, &["commit", "-q", "-m", "one"]);
    let oid = hash_object(&fx, &root, b"packed\n");
    assert!(LooseObject::open(&objects, oid)?.is_some());
    fx.sh(&root, &["repack", "-a", "-d", "-q"]);
    fx.sh(&root, &["prune-packed"]);
    assert!(!loose_object_path(&objects, oid).exists());
    assert!(LooseObject::open(&objects, oid)?.is_none());
    // git still has it, packed.
    assert_eq!(
        fx.sh(&root, &["cat-file", "blob", &oid.to_string()]),
        b"packed\n"
    );
    let absent = broadcast_git_batch::blob_oid(b"never written");
    assert!(LooseObject::open(&objects, absent)?.is_none());
    Ok(())
}

/// zlib-compresses `raw` as git writes a loose object.
fn deflate(raw: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(raw).expect("in memory");
    z.finish().expect("in memory")
}

/// The full content, or the error that ended it (from `open` or from reading).
fn read_all(objects: &Path, oid: ObjectId) -> Result<Vec<u8>, String> {
    let mut obj = match LooseObject::open(objects, oid) {
        Ok(Some(o)) => o,
        Ok(None) => return Err("none".into()),
        Err(e) => return Err(e.to_string()),
    };
    let mut out = Vec::new();
    obj.read_to_end(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

#[test]
fn damaged_loose_files_are_errors_naming_the_file() -> TestResult {
    let fx = Fixture::new();
    let (root, objects) = repo(&fx, "r");
    let data = noise(40_000, 3);
    let oid = hash_object(&fx, &root, &data);
    let path = loose_object_path(&objects, oid);
    let good = std::fs::read(&path)?;
    assert_eq!(read_all(&objects, oid), Ok(data.clone()));
    let header = |size: usize| format!("blob {size}\0").into_bytes();
    let with_header = |h: Vec<u8>, body: &[u8]| deflate(&[h, body.to_vec()].concat());
    let mut flipped = good.clone();
    flipped[good.len() / 2] ^= 0x55;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "cut inside the checksum",
            good[..good.len() - 2].to_vec(),
            "ends before its zlib stream does",
        ),
        (
            "cut halfway",
            good[..good.len() / 2].to_vec(),
            "ends before its zlib stream does",
        ),
        (
            "cut inside the header",
            good[..4].to_vec(),
            "ends before its zlib stream does",
        ),
        ("empty file", Vec::new(), "ends before its zlib stream does"),
        ("a flipped byte", flipped, "not a valid zlib stream"),
        (
            "bytes after the stream",
            [good.clone(), b"xx".to_vec()].concat(),
            "bytes after the end",
        ),
        (
            "header one byte long",
            with_header(header(data.len() + 1), &data),
            "ends before the size its header says",
        ),
        (
            "header one byte short",
            with_header(header(data.len() - 1), &data),
            "more content than its header says",
        ),
        (
            "header says 5, 3 follow",
            with_header(header(5), b"abc"),
            "ends before the size its header says",
        ),
        (
            "header says 1, 3 follow",
            with_header(header(1), b"abc"),
            "more content than its header says",
        ),
        (
            "size with a leading zero",
            with_header(b"blob 03\0".to_vec(), b"abc"),
            "malformed header",
        ),
        (
            "unknown type",
            with_header(b"blobx 3\0".to_vec(), b"abc"),
            "malformed header",
        ),
        (
            "no header end",
            deflate(&[b'b'; 100]),
            "no header end within 32 bytes",
        ),
        ("not zlib", data[..100].to_vec(), "not a valid zlib stream"),
    ];
    for (name, bytes, reason) in cases {
        std::fs::write(&path, &bytes)?;
        match read_all(&objects, oid) {
            Ok(got) => panic!("{name}: read {} bytes, want an error", got.len()),
            Err(e) => {
                let file = path.file_name().and_then(|f| f.to_str()).ok_or("utf-8")?;
                assert!(e.contains(file) && e.contains(reason), "{name}: {e}");
            }
        }
    }
    // The error type says what it is.
    std::fs::write(&path, with_header(header(5), b"abc"))?;
    let mut obj = LooseObject::open(&objects, oid)?.ok_or("present")?;
    let err = obj.read_to_end(&mut Vec::new()).expect_err("short content");
    let inner = err.into_inner().ok_or("wraps the crate's error")?;
    assert!(matches!(
        inner.downcast_ref::<Error>(),
        Some(Error::CorruptLooseObject { .. })
    ));
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// Any content git writes reads back whole, whatever the read sizes.
    #[test]
    fn any_blob_git_writes_reads_back(
        data in proptest::collection::vec(any::<u8>(), 0..100_000),
        piece in 1usize..70_000,
    ) {
        let fx = Fixture::new();
        let (root, objects) = repo(&fx, "r");
        let oid = hash_object(&fx, &root, &data);
        let mut obj = LooseObject::open(&objects, oid)
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .ok_or_else(|| TestCaseError::fail("loose file present"))?;
        let got = read_in_pieces(&mut obj, piece)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(got == data, "{} bytes, want {}", got.len(), data.len());
    }
}
