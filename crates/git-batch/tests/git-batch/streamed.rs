//! Blobs streamed into fast-import (`BlobContent::Stream`) and objects streamed out of
//! cat-file (`CatFile::stream`, `CatFile::info_many`): byte-exact against real git.

use std::io::Write;
use std::sync::{Arc, Mutex};

use broadcast_git_batch::{
    BlobContent, BlobSource, CatFile, CommitRequest, Error, ObjectKind, StreamedBlob, TreeChange,
    blob_oid,
};

use super::{Fixture, TestResult, sig};

/// Writes its bytes in pieces of `piece` bytes (as a file or a pipe would).
#[derive(Debug)]
struct Pieces {
    data: Vec<u8>,
    piece: usize,
}

impl BlobSource for Pieces {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for p in self.data.chunks(self.piece) {
            out.write_all(p)?;
        }
        Ok(())
    }
}

/// Copies an object out of another repository's `cat-file`, as a local write does.
#[derive(Debug)]
struct FromCatFile {
    cat: Arc<Mutex<CatFile>>,
    oid: broadcast_git_batch::ObjectId,
}

impl BlobSource for FromCatFile {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut cat = self.cat.lock().expect("not poisoned");
        cat.stream(self.oid, |_, _, r| std::io::copy(r, out).map(|_| ()))
            .map_err(std::io::Error::other)
    }
}

fn request(changes: Vec<TreeChange>) -> CommitRequest {
    CommitRequest {
        ref_name: "refs/heads/main".into(),
        parent: None,
        author: sig(),
        committer: sig(),
        message: "m\n".into(),
        changes,
    }
}

fn upsert(path: &str, content: BlobContent) -> TreeChange {
    TreeChange::Upsert {
        path: path.into(),
        mode: 0o100644,
        content,
    }
}

/// Binary bytes with NUL, CR, LF and every byte value, longer than one pipe buffer.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 256) as u8).collect()
}

#[test]
fn streamed_blobs_are_written_byte_for_byte() -> TestResult {
    let fx = Fixture::new();
    let repo = fx.git().create_bare(&fx.path("t.git"))?;
    let big = binary(300_000);
    let crlf = b"line one\r\nline two\r\n".repeat(1000);
    let stream = |data: &[u8], piece| {
        BlobContent::Stream(StreamedBlob::new(
            data.len() as u64,
            Arc::new(Pieces {
                data: data.to_vec(),
                piece,
            }),
        ))
    };
    repo.fast_import(&request(vec![
        upsert("bin.dat", stream(&big, 4096)),
        upsert("crlf.txt", stream(&crlf, 7)),
        upsert("empty", stream(b"", 1)),
        upsert(
            "small.txt",
            BlobContent::Data(bytes::Bytes::from_static(b"x\n")),
        ),
    ]))?;
    let path = fx.path("t.git");
    for (name, want) in [
        ("bin.dat", &big[..]),
        ("crlf.txt", &crlf[..]),
        ("empty", b""),
        ("small.txt", b"x\n"),
    ] {
        let got = fx.sh(&path, &["cat-file", "blob", &format!("main:{name}")]);
        assert!(
            got == want,
            "{name}: {} bytes, want {}",
            got.len(),
            want.len()
        );
        let id = super::text(fx.sh(&path, &["rev-parse", &format!("main:{name}")]));
        assert_eq!(id.trim(), blob_oid(want).to_string(), "{name}");
    }
    assert_eq!(super::text(fx.sh(&path, &["fsck", "--no-progress"])), "");
    Ok(())
}

#[test]
fn a_source_writing_the_wrong_length_fails_the_import_and_moves_no_ref() -> TestResult {
    let fx = Fixture::new();
    let repo = fx.git().create_bare(&fx.path("t.git"))?;
    for (announced, actual) in [(10u64, 9usize), (10, 11)] {
        let blob = StreamedBlob::new(
            announced,
            Arc::new(Pieces {
                data: vec![b'a'; actual],
                piece: 3,
            }),
        );
        let r = repo.fast_import(&request(vec![upsert("a", BlobContent::Stream(blob))]));
        assert!(r.is_err(), "announced {announced}, wrote {actual}: {r:?}");
        assert_eq!(repo.rev_parse("refs/heads/main")?, None);
    }
    Ok(())
}

#[test]
fn objects_copied_between_repositories_through_cat_file() -> TestResult {
    let fx = Fixture::new();
    let big = binary(200_000);
    let crlf = b"a\r\nb\r\n".repeat(5000);
    let src = fx.work_repo(
        "src",
        &[("big.bin", &big, false), ("crlf.txt", &crlf, false)],
    );
    let git = fx.git();
    let src_repo = git.open(&src.join(".git"));
    let ids = [blob_oid(&big), blob_oid(&crlf)];
    let mut cat = src_repo.cat_file()?;
    assert_eq!(
        cat.info_many(&ids)?,
        vec![
            (ObjectKind::Blob, big.len() as u64),
            (ObjectKind::Blob, crlf.len() as u64)
        ]
    );
    // A consumer that reads only a prefix leaves the reader usable.
    let head = cat.stream(ids[0], |kind, size, r| {
        assert_eq!((kind, size), (ObjectKind::Blob, big.len() as u64));
        let mut head = [0u8; 10];
        r.read_exact(&mut head)?;
        Ok(head)
    })?;
    assert_eq!(head, big[..10]);
    // A failing consumer is named as such, and the reader still answers afterwards.
    let failed = cat.stream(ids[1], |_, _, _| -> std::io::Result<()> {
        Err(std::io::Error::other("disk full"))
    });
    assert!(matches!(failed, Err(Error::Consumer { .. })), "{failed:?}");
    let missing = blob_oid(b"not there");
    assert!(matches!(
        cat.info_many(&[missing]),
        Err(Error::MissingObject { .. })
    ));
    let cat = Arc::new(Mutex::new(cat));
    let dst = git.create_bare(&fx.path("dst.git"))?;
    let changes = ["big.bin", "crlf.txt"]
        .iter()
        .zip(ids)
        .zip([big.len(), crlf.len()])
        .map(|((p, oid), len)| {
            let source = Arc::new(FromCatFile {
                cat: Arc::clone(&cat),
                oid,
            });
            upsert(
                p,
                BlobContent::Stream(StreamedBlob::new(len as u64, source)),
            )
        })
        .collect();
    dst.fast_import(&request(changes))?;
    let path = fx.path("dst.git");
    assert!(fx.sh(&path, &["cat-file", "blob", "main:big.bin"]) == big);
    assert!(fx.sh(&path, &["cat-file", "blob", "main:crlf.txt"]) == crlf);
    Ok(())
}
