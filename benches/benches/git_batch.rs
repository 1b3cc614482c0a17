//! Criterion suite for `broadcast-git-batch`: process spawn cost, in-process blob hashing,
//! batched object reads, tree listing and one-process commits.
//!
//! Fixture repositories are built once per benchmark in a temp dir (with a private `HOME` and
//! `GIT_CONFIG_NOSYSTEM=1`, so host configuration never leaks in), through the crate itself:
//! `init_bare` plus one `fast_import`. Allocations per operation of the in-process hashing
//! are recorded beside its times (`allocs.json`, through `broadcast_benches::alloc`) with a
//! counting global allocator.

use std::hint::black_box;
use std::path::Path;

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_git_batch::{
    BlobContent, CommitRequest, Git, ObjectId, Repo, Signature, TreeChange, blob_oid,
};
use broadcast_profiling::CountingAllocator;
use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

fn git_for(dir: &Path) -> Git {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).expect("temp home is writable");
    Git::new()
        .with_env("HOME", &home.display().to_string())
        .with_env("GIT_CONFIG_NOSYSTEM", "1")
}

fn sig() -> Signature {
    Signature {
        name: "Bench".into(),
        email: "bench@example.com".into(),
        time_secs: 1_700_000_000,
        offset_minutes: 0,
    }
}

/// Deterministic file content of about `bytes` bytes, distinct per `seed`.
fn content(seed: usize, bytes: usize) -> Bytes {
    let line = format!("line {seed:08} of a synced template file: key = value\n");
    let mut out = line.repeat(bytes / line.len() + 1).into_bytes();
    out.truncate(bytes);
    Bytes::from(out)
}

fn changes(files: usize, bytes: usize, salt: usize) -> Vec<TreeChange> {
    (0..files)
        .map(|i| TreeChange::Upsert {
            path: format!("dir{}/file{i:04}.txt", i % 10),
            mode: 0o100644,
            content: BlobContent::Data(content(i + salt, bytes)),
        })
        .collect()
}

/// A bare repository whose `refs/heads/main` holds `files` files of `bytes` bytes.
fn fixture(dir: &Path, files: usize, bytes: usize) -> (Repo, ObjectId) {
    let git = git_for(dir);
    let repo = git
        .init_bare(&dir.join("fixture.git"))
        .expect("git init --bare works");
    let commit = repo
        .fast_import(&CommitRequest {
            ref_name: "refs/heads/main".into(),
            parent: None,
            author: sig(),
            committer: sig(),
            message: "fixture\n".into(),
            changes: changes(files, bytes, 0),
        })
        .expect("fixture commit is written");
    (repo, commit)
}

fn spawn(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let git = git_for(dir.path());
    c.bench_function("git-batch/spawn/version", |b| {
        b.iter(|| black_box(git.version().expect("git --version works")))
    });
}

fn hashing(c: &mut Criterion) {
    let mut group = c.benchmark_group("git-batch/blob_oid");
    for (label, bytes) in [
        ("1KiB", 1usize << 10),
        ("100KiB", 100 << 10),
        ("1MiB", 1 << 20),
    ] {
        let data = content(7, bytes);
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(label, |b| b.iter(|| blob_oid(black_box(&data))));
        alloc::record(
            &format!("git-batch/blob_oid/{label}"),
            20,
            counting_allocator,
            || {
                black_box(blob_oid(&data));
            },
        );
    }
    group.finish();
}

fn cat_file(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (repo, _) = fixture(dir.path(), 100, 1024);
    let oids: Vec<ObjectId> = repo
        .ls_tree("refs/heads/main")
        .expect("fixture tree lists")
        .into_iter()
        .map(|e| e.oid)
        .collect();
    let mut reader = repo.cat_file().expect("cat-file starts");
    let mut group = c.benchmark_group("git-batch/cat_file_batch");
    group.throughput(Throughput::Elements(oids.len() as u64));
    group.bench_function("100", |b| {
        b.iter(|| black_box(reader.read_many(&oids).expect("objects are present")))
    });
    group.finish();
}

fn ls_tree(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (repo, _) = fixture(dir.path(), 1000, 64);
    let mut group = c.benchmark_group("git-batch/ls_tree");
    group.throughput(Throughput::Elements(1000));
    group.bench_function("1000", |b| {
        b.iter(|| black_box(repo.ls_tree("refs/heads/main").expect("tree lists")))
    });
    group.finish();
}

fn fast_import(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (base_repo, base) = fixture(dir.path(), 100, 1024);
    let objects = base_repo.git_dir().join("objects");
    let git = base_repo.git().clone();
    let req = CommitRequest {
        ref_name: "refs/heads/chore/sync-files-default".into(),
        parent: Some(base),
        author: sig(),
        committer: sig(),
        message: "sync: update 100 files\n\nSync-Group: default\n".into(),
        changes: changes(100, 1024, 1000),
    };
    let mut group = c.benchmark_group("git-batch/fast_import");
    group.throughput(Throughput::Elements(100));
    group.bench_function("100files", |b| {
        // A fresh repository borrowing the fixture's objects per iteration, so packs do not
        // pile up; setup (one `init`) is not timed.
        b.iter_batched(
            || {
                let tmp = tempfile::tempdir_in(dir.path()).expect("temp dir");
                let repo = git
                    .init_bare(&tmp.path().join("t.git"))
                    .expect("init works");
                repo.add_alternate(&objects).expect("alternate is written");
                (tmp, repo)
            },
            |(tmp, repo)| {
                let id = repo.fast_import(&req).expect("commit is written");
                (tmp, black_box(id))
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, spawn, hashing, cat_file, ls_tree, fast_import);
criterion_main!(benches);
