//! Integration tests: real git is the oracle.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use broadcast_git_batch::{
    BlobContent, CommitRequest, Error, FetchOptions, Git, ObjectId, ObjectKind, PushOptions,
    PushRefspec, PushStatus, Signature, TreeChange, blob_oid,
};
use bytes::Bytes;

type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// A temp dir with a private HOME and fixed identities, so host config never leaks in.
struct Fixture {
    dir: tempfile::TempDir,
}

const ENV: &[(&str, &str)] = &[
    ("GIT_CONFIG_NOSYSTEM", "1"),
    ("GIT_AUTHOR_NAME", "Author"),
    ("GIT_AUTHOR_EMAIL", "author@example.com"),
    ("GIT_AUTHOR_DATE", "1700000000 +0000"),
    ("GIT_COMMITTER_NAME", "Committer"),
    ("GIT_COMMITTER_EMAIL", "committer@example.com"),
    ("GIT_COMMITTER_DATE", "1700000000 +0000"),
];

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("home")).expect("home");
        Fixture { dir }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn home(&self) -> String {
        self.path("home").display().to_string()
    }

    fn git(&self) -> Git {
        let mut g = Git::new().with_env("HOME", &self.home());
        for (k, v) in ENV {
            g = g.with_env(k, v);
        }
        g
    }

    /// Runs the oracle git in `cwd`, asserting success; returns stdout.
    fn sh(&self, cwd: &Path, args: &[&str]) -> Vec<u8> {
        self.sh_in(cwd, args, None)
    }

    fn sh_in(&self, cwd: &Path, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
        use std::io::Write;
        let mut cmd = Command::new("git");
        cmd.args(args).current_dir(cwd).env("HOME", self.home());
        for (k, v) in ENV {
            cmd.env(k, v);
        }
        cmd.stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = cmd.spawn().expect("git runs");
        let mut input = child.stdin.take().expect("stdin");
        if let Some(data) = stdin {
            input.write_all(data).expect("write stdin");
        }
        drop(input);
        let out = child.wait_with_output().expect("git output");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// A work-tree repository `name` with `files` (path, bytes, executable) committed on main.
    fn work_repo(&self, name: &str, files: &[(&str, &[u8], bool)]) -> PathBuf {
        let root = self.path(name);
        std::fs::create_dir_all(&root).expect("mkdir");
        self.sh(&root, &["init", "-q", "-b", "main"]);
        for (path, data, exec) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().expect("has parent")).expect("mkdir");
            std::fs::write(&p, data).expect("write");
            if *exec {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))
                    .expect("chmod");
            }
        }
        self.sh(&root, &["add", "-A"]);
        self.sh(&root, &["commit", "-q", "-m", "initial"]);
        root
    }

    /// A bare "remote" cloned from a work repo, serving filtered fetches.
    fn served(&self, work: &Path, name: &str) -> PathBuf {
        let bare = self.path(name);
        self.sh(
            self.dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                &work.display().to_string(),
                &bare.display().to_string(),
            ],
        );
        self.sh(&bare, &["config", "uploadpack.allowFilter", "true"]);
        bare
    }
}

fn url(p: &Path) -> String {
    format!("file://{}", p.display())
}

fn sig() -> Signature {
    Signature {
        name: "Sync Bot".into(),
        email: "bot@example.com".into(),
        time_secs: 1_700_000_100,
        offset_minutes: 60,
    }
}

fn text(v: Vec<u8>) -> String {
    String::from_utf8(v).expect("utf-8")
}

#[test]
fn blob_oid_matches_hash_object() {
    let fx = Fixture::new();
    let big: Vec<u8> = (0..1_048_576u32).map(|i| (i % 251) as u8).collect();
    let cases: Vec<&[u8]> = vec![
        b"",
        b"hello\n",
        b"crlf\r\nline\r\n",
        b"\0\x01\xff binary",
        &big,
    ];
    for data in cases {
        let want = text(fx.sh_in(fx.dir.path(), &["hash-object", "--stdin"], Some(data)));
        assert_eq!(blob_oid(data).to_string(), want.trim());
        let streamed =
            broadcast_git_batch::blob_oid_from_reader(data.len() as u64, data).expect("reads");
        assert_eq!(streamed.to_string(), want.trim());
    }
    assert!(broadcast_git_batch::blob_oid_from_reader(3, &b"ab"[..]).is_err());
    assert!(broadcast_git_batch::blob_oid_from_reader(1, &b"ab"[..]).is_err());
}

const TRICKY: &[&str] = &[
    "plain.txt",
    "with space.txt",
    "quote\"d.txt",
    "\"leading-quote",
    "new\nline.txt",
    "tab\tname",
    "back\\slash",
    "ünïcödé/fïlé.md",
    "deep/a/b/c/d.txt",
];

#[test]
fn ls_tree_tricky_names_symlink_exec() -> TestResult {
    let fx = Fixture::new();
    let mut files: Vec<(&str, &[u8], bool)> =
        TRICKY.iter().map(|p| (*p, p.as_bytes(), false)).collect();
    files.push(("bin/run.sh", b"#!/bin/sh\n", true));
    let root = fx.work_repo("work", &files);
    std::os::unix::fs::symlink("plain.txt", root.join("link"))?;
    fx.sh(&root, &["add", "link"]);
    fx.sh(&root, &["commit", "-q", "-m", "link"]);

    let repo = fx.git().open(&root.join(".git"));
    let entries = repo.ls_tree("HEAD")?;
    let oracle = fx.sh(&root, &["ls-tree", "-r", "-z", "--full-tree", "HEAD"]);
    assert_eq!(
        entries.len(),
        oracle.split(|&b| b == 0).filter(|r| !r.is_empty()).count()
    );
    assert_eq!(entries.len(), TRICKY.len() + 2);
    for e in &entries {
        let (mode, content): (u32, Vec<u8>) = match e.path.as_str() {
            "link" => (0o120000, b"plain.txt".to_vec()),
            "bin/run.sh" => (0o100755, b"#!/bin/sh\n".to_vec()),
            p => {
                assert!(TRICKY.contains(&p), "unexpected path {p:?}");
                (0o100644, p.as_bytes().to_vec())
            }
        };
        assert_eq!(e.mode, mode, "{:?}", e.path);
        assert_eq!(e.kind, ObjectKind::Blob);
        assert_eq!(e.oid, blob_oid(&content), "{:?}", e.path);
    }
    // One cat-file process lists the same entries in the same order, from a commit or a tree,
    // and reads the commit.
    let head = repo.rev_parse("HEAD")?.ok_or("HEAD")?;
    let mut cat = repo.cat_file()?;
    assert_eq!(cat.ls_tree_recursive(head)?, entries);
    let commit = cat.read_commit(head)?;
    assert_eq!(cat.ls_tree_recursive(commit.tree)?, entries);
    assert!(cat.read_commit(commit.tree).is_err());
    assert!(cat.ls_tree_recursive(entries[0].oid).is_err());
    // Not a tree-ish: a command error, and an option-looking value is refused before spawning.
    assert!(matches!(repo.ls_tree("nope"), Err(Error::Command { .. })));
    assert!(matches!(
        repo.ls_tree("--help"),
        Err(Error::InvalidArgument { .. })
    ));
    Ok(())
}

#[test]
fn cat_file_read_many_100() -> TestResult {
    let fx = Fixture::new();
    let names: Vec<String> = (0..100).map(|i| format!("f/{i:03}.txt")).collect();
    let contents: Vec<Vec<u8>> = (0..100)
        .map(|i| format!("content {i}\r\n\0{}", "x".repeat(i * 37)).into_bytes())
        .collect();
    let files: Vec<(&str, &[u8], bool)> = names
        .iter()
        .zip(&contents)
        .map(|(n, c)| (n.as_str(), c.as_slice(), false))
        .collect();
    let root = fx.work_repo("work", &files);
    let git = fx.git();
    let repo = git.open(&root.join(".git"));
    let entries = repo.ls_tree("HEAD")?;
    let oids: Vec<ObjectId> = entries.iter().map(|e| e.oid).collect();
    let before = git.spawn_count();
    let mut reader = repo.cat_file()?;
    let objects = reader.read_many(&oids)?;
    assert_eq!(objects.len(), 100);
    for (e, o) in entries.iter().zip(&objects) {
        let i: usize = e.path[2..5].parse()?;
        assert_eq!(o.oid, e.oid);
        assert_eq!(o.kind, ObjectKind::Blob);
        assert_eq!(o.data, contents[i]);
    }
    // A missing object is an error, and the reader stays usable afterwards.
    let absent = blob_oid(b"never written");
    let err = reader.read_many(&[oids[0], absent, oids[1]]);
    assert!(matches!(err, Err(Error::MissingObject { oid }) if oid == absent));
    assert_eq!(reader.read(oids[2])?.data, objects[2].data);
    // Trees and commits come through too.
    let head = repo.rev_parse("HEAD")?.ok_or("HEAD resolves")?;
    assert_eq!(reader.read(head)?.kind, ObjectKind::Commit);
    drop(reader);
    assert_eq!(
        git.spawn_count() - before,
        2,
        "one cat-file plus one rev-parse"
    );
    Ok(())
}

#[test]
fn fast_import_matches_git() -> TestResult {
    let fx = Fixture::new();
    let root = fx.work_repo(
        "work",
        &[
            ("keep.txt", b"keep\n", false),
            ("gone.txt", b"bye\n", false),
            ("dir/old.txt", b"old\n", false),
        ],
    );
    let git = fx.git();
    let repo = git.open(&root.join(".git"));
    let base = repo.rev_parse("HEAD")?.ok_or("HEAD")?;
    let binary: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let crlf = b"line one\r\nline two\r\n".to_vec();
    let existing = blob_oid(b"keep\n");
    let mut changes = vec![
        TreeChange::Upsert {
            path: "scripts/run.sh".into(),
            mode: 0o100755,
            content: BlobContent::Data(Bytes::from_static(b"#!/bin/sh\necho hi\n")),
        },
        TreeChange::Upsert {
            path: "link".into(),
            mode: 0o120000,
            content: BlobContent::Data(Bytes::from_static(b"keep.txt")),
        },
        TreeChange::Upsert {
            path: "crlf.txt".into(),
            mode: 0o100644,
            content: BlobContent::Data(Bytes::from(crlf.clone())),
        },
        TreeChange::Upsert {
            path: "img.bin".into(),
            mode: 0o100644,
            content: BlobContent::Data(Bytes::from(binary.clone())),
        },
        TreeChange::Upsert {
            path: "copy-of-keep.txt".into(),
            mode: 0o100644,
            content: BlobContent::Existing(existing),
        },
        TreeChange::Delete {
            path: "gone.txt".into(),
        },
        TreeChange::Delete { path: "dir".into() },
    ];
    for p in TRICKY {
        changes.push(TreeChange::Upsert {
            path: format!("tricky/{p}"),
            mode: 0o100644,
            content: BlobContent::Data(Bytes::from(p.as_bytes().to_vec())),
        });
    }
    let req = CommitRequest {
        ref_name: "refs/heads/chore/sync-files-default".into(),
        parent: Some(base),
        author: sig(),
        committer: sig(),
        message: "sync: update files\n\nSync-Group: default\nSource-Commit: abc123\n".into(),
        changes,
    };
    let before = git.spawn_count();
    let commit = repo.fast_import(&req)?;
    assert_eq!(git.spawn_count() - before, 1, "one fast-import process");
    let oracle = text(fx.sh(&root, &["rev-parse", "refs/heads/chore/sync-files-default"]));
    assert_eq!(commit.to_string(), oracle.trim());

    // git's view of the new tree.
    let listing = fx.sh(&root, &["ls-tree", "-r", "-z", &commit.to_string()]);
    let mut seen = std::collections::BTreeMap::new();
    for rec in listing.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let s = std::str::from_utf8(rec)?;
        let (meta, path) = s.split_once('\t').ok_or("tab")?;
        seen.insert(
            path.to_string(),
            meta.split(' ').next().ok_or("mode")?.to_string(),
        );
    }
    assert_eq!(
        seen.get("scripts/run.sh").map(String::as_str),
        Some("100755")
    );
    assert_eq!(seen.get("link").map(String::as_str), Some("120000"));
    assert_eq!(seen.get("keep.txt").map(String::as_str), Some("100644"));
    assert!(!seen.contains_key("gone.txt") && !seen.contains_key("dir/old.txt"));
    for p in TRICKY {
        assert!(seen.contains_key(&format!("tricky/{p}")), "{p:?}");
    }
    let show = |path: &str| fx.sh(&root, &["cat-file", "blob", &format!("{commit}:{path}")]);
    assert_eq!(show("crlf.txt"), crlf);
    assert_eq!(show("img.bin"), binary);
    assert_eq!(show("link"), b"keep.txt");
    assert_eq!(show("copy-of-keep.txt"), b"keep\n");
    assert_eq!(show("tricky/new\nline.txt"), b"new\nline.txt");

    // Same view through our own readers.
    let read = repo.read_commit("refs/heads/chore/sync-files-default")?;
    assert_eq!(read.oid, commit);
    assert_eq!(read.parents, vec![base]);
    assert_eq!(read.message, req.message);
    assert_eq!(
        read.trailers(),
        vec![
            ("Sync-Group".to_string(), "default".to_string()),
            ("Source-Commit".to_string(), "abc123".to_string())
        ]
    );
    let oracle_trailers = text(fx.sh(
        &root,
        &[
            "log",
            "-1",
            "--format=%(trailers:key=Sync-Group,valueonly)",
            &commit.to_string(),
        ],
    ));
    assert_eq!(oracle_trailers.trim(), "default");
    let author = text(fx.sh(
        &root,
        &[
            "log",
            "-1",
            "--format=%an <%ae> %at %ai",
            &commit.to_string(),
        ],
    ));
    assert!(
        author.starts_with("Sync Bot <bot@example.com> 1700000100"),
        "{author}"
    );
    assert!(author.trim_end().ends_with("+0100"), "{author}");

    // Never rewinds: a root commit onto the existing ref is refused and the ref stays.
    let mut rewind = req.clone();
    rewind.parent = None;
    assert!(matches!(
        repo.fast_import(&rewind),
        Err(Error::Command { .. })
    ));
    assert_eq!(
        repo.rev_parse("refs/heads/chore/sync-files-default")?,
        Some(commit)
    );
    // A child of the tip advances it.
    let mut next = req;
    next.parent = Some(commit);
    next.changes = vec![TreeChange::Delete {
        path: "img.bin".into(),
    }];
    let second = repo.fast_import(&next)?;
    assert_eq!(
        repo.rev_parse("refs/heads/chore/sync-files-default")?,
        Some(second)
    );
    Ok(())
}

#[test]
fn filtered_fetch_fast_import_and_push() -> TestResult {
    let fx = Fixture::new();
    let work = fx.work_repo(
        "work",
        &[("a.txt", b"a\n", false), ("b/c.txt", b"c\n", false)],
    );
    fx.sh(&work, &["commit", "-q", "--allow-empty", "-m", "second"]);
    let served = fx.served(&work, "remote.git");
    let git = fx.git();
    let cache = git.init_bare(&fx.path("cache.git"))?;
    let opts = FetchOptions {
        depth: Some(1),
        filter: Some("blob:none".into()),
        no_tags: true,
        shallow_exclude: None,
    };
    cache.fetch(
        &url(&served),
        &["+refs/heads/main:refs/remotes/target/main".into()],
        &opts,
    )?;
    let tip = cache
        .rev_parse("refs/remotes/target/main")?
        .ok_or("fetched")?;

    // Blobs are missing, trees are there, nothing is fetched lazily.
    let entries = cache.ls_tree(&tip.to_string())?;
    assert_eq!(entries.len(), 2);
    // GIT_NO_LAZY_FETCH exists from git 2.44 on; older git fetches the blob lazily.
    let version = git.version()?;
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    let mut reader = cache.cat_file()?;
    if (major, minor) >= (2, 44) {
        assert!(matches!(
            reader.read(entries[0].oid),
            Err(Error::MissingObject { .. })
        ));
    }
    drop(reader);
    let shallow = std::fs::read_to_string(fx.path("cache.git/shallow"))?;
    assert_eq!(shallow.trim(), tip.to_string());

    let commit = cache.fast_import(&CommitRequest {
        ref_name: "refs/heads/sync".into(),
        parent: Some(tip),
        author: sig(),
        committer: sig(),
        message: "sync\n".into(),
        changes: vec![TreeChange::Upsert {
            path: "new.txt".into(),
            mode: 0o100644,
            content: BlobContent::Data(Bytes::from_static(b"new\n")),
        }],
    })?;
    let pushed = cache.push(
        &url(&served),
        &[PushRefspec {
            src: commit.to_string(),
            dst: "refs/heads/sync".into(),
            force_with_lease: Some(None),
        }],
        &PushOptions {
            atomic: true,
            no_thin: true,
        },
    )?;
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].status, PushStatus::Ok, "{:?}", pushed[0]);
    let listing = text(fx.sh(
        &served,
        &["ls-tree", "-r", "--name-only", "refs/heads/sync"],
    ));
    assert_eq!(listing, "a.txt\nb/c.txt\nnew.txt\n");
    assert_eq!(
        fx.sh(&served, &["cat-file", "blob", "refs/heads/sync:b/c.txt"]),
        b"c\n"
    );

    // ls-remote sees the same refs.
    let refs = git.ls_remote(&url(&served), &["refs/heads/*"])?;
    assert!(
        refs.iter()
            .any(|r| r.name == "refs/heads/sync" && r.oid == commit)
    );
    assert_eq!(
        git.ls_remote_symref_head(&url(&served))?,
        Some("main".to_string())
    );
    // One round trip: HEAD's branch, HEAD's id and the asked refs.
    let (head, refs) =
        git.ls_remote_with_head(&url(&served), &["refs/heads/sync", "refs/heads/nope"])?;
    assert_eq!(head.as_deref(), Some("main"));
    let main = fx.sh(&served, &["rev-parse", "refs/heads/main"]);
    let main = ObjectId::from_hex(text(main).trim())?;
    assert!(
        refs.iter().any(|r| r.name == "HEAD" && r.oid == main),
        "{refs:?}"
    );
    assert!(
        refs.iter()
            .any(|r| r.name == "refs/heads/sync" && r.oid == commit)
    );
    assert_eq!(refs.len(), 2, "{refs:?}");
    Ok(())
}

#[test]
fn create_bare_makes_a_repository_git_accepts() -> TestResult {
    let fx = Fixture::new();
    let git = fx.git();
    let path = fx.path("scratch.git");
    let before = git.spawn_count();
    let repo = git.create_bare(&path)?;
    assert_eq!(git.spawn_count(), before, "no process spawned");
    // git itself sees a bare repository, and fast-import writes into it.
    let out = text(fx.sh(&path, &["rev-parse", "--is-bare-repository"]));
    assert_eq!(out.trim(), "true");
    let sig = Signature {
        name: "A".into(),
        email: "a@example.com".into(),
        time_secs: 0,
        offset_minutes: 0,
    };
    let commit = repo.fast_import(&CommitRequest {
        ref_name: "refs/heads/main".into(),
        parent: None,
        author: sig.clone(),
        committer: sig,
        message: "m\n".into(),
        changes: vec![TreeChange::Upsert {
            path: "a.txt".into(),
            mode: 0o100644,
            content: BlobContent::Data(bytes::Bytes::from_static(b"a\n")),
        }],
    })?;
    assert_eq!(repo.rev_parse("HEAD")?, Some(commit));
    assert_eq!(text(fx.sh(&path, &["fsck", "--no-progress"])), "");
    // A non-empty path is refused.
    assert!(git.create_bare(&path).is_err());
    Ok(())
}

#[test]
fn tree_oid_matches_git_write_tree() -> TestResult {
    let fx = Fixture::new();
    // Names that sort differently as trees and as blobs ("a.b" < "a/" < "a0"), nesting,
    // an executable, unicode, spaces.
    let work = fx.work_repo(
        "work",
        &[
            ("a.b", b"1\n", false),
            ("a/x.txt", b"2\n", false),
            ("a0", b"3\n", true),
            ("a-b/c/d e.md", b"4\n", false),
            ("\u{fc}ber/f.txt", b"5\n", false),
            ("z", b"6\n", false),
        ],
    );
    let git = fx.git();
    let repo = git.open(&work.join(".git"));
    let entries = repo.ls_tree("HEAD")?;
    let want = repo.rev_parse("HEAD^{tree}")?.ok_or("tree")?;
    let got =
        broadcast_git_batch::tree_oid(entries.iter().map(|e| (e.path.as_str(), e.mode, e.oid)))?;
    assert_eq!(got, want);
    // Order of the input does not matter.
    let got_rev = broadcast_git_batch::tree_oid(
        entries
            .iter()
            .rev()
            .map(|e| (e.path.as_str(), e.mode, e.oid)),
    )?;
    assert_eq!(got_rev, want);
    // A path that is both a file and a directory is refused.
    let clash = [("a", 0o100644, want), ("a/b", 0o100644, want)];
    assert!(broadcast_git_batch::tree_oid(clash.iter().map(|(p, m, o)| (*p, *m, *o))).is_err());
    Ok(())
}

#[test]
fn push_leases() -> TestResult {
    let fx = Fixture::new();
    let work = fx.work_repo("work", &[("a.txt", b"a\n", false)]);
    let served = fx.served(&work, "remote.git");
    let git = fx.git();
    let repo = git.open(&work.join(".git"));
    let one = repo.rev_parse("HEAD")?.ok_or("HEAD")?;
    fx.sh(&work, &["commit", "-q", "--allow-empty", "-m", "two"]);
    let two = repo.rev_parse("HEAD")?.ok_or("HEAD")?;
    let spec = |src: ObjectId, lease| PushRefspec {
        src: src.to_string(),
        dst: "refs/heads/sync".into(),
        force_with_lease: lease,
    };
    let opts = PushOptions {
        atomic: true,
        no_thin: false,
    };

    let first = repo.push(&url(&served), &[spec(one, Some(None))], &opts)?;
    assert_eq!(first[0].status, PushStatus::Ok);
    // Must-not-exist lease fails now that it exists.
    let again = repo.push(&url(&served), &[spec(two, Some(None))], &opts)?;
    assert_eq!(again[0].status, PushStatus::Rejected, "{:?}", again[0]);
    // A stale expectation is rejected; the right one succeeds, also backwards (forced).
    let stale = repo.push(&url(&served), &[spec(two, Some(Some(two)))], &opts)?;
    assert_eq!(stale[0].status, PushStatus::Rejected);
    assert!(
        stale[0].summary.contains("stale info"),
        "{}",
        stale[0].summary
    );
    let ok = repo.push(&url(&served), &[spec(two, Some(Some(one)))], &opts)?;
    assert_eq!(ok[0].status, PushStatus::Ok);
    let same = repo.push(&url(&served), &[spec(two, Some(Some(two)))], &opts)?;
    assert_eq!(same[0].status, PushStatus::UpToDate);
    // Atomic: one bad ref blocks the good one.
    let both = repo.push(
        &url(&served),
        &[
            spec(one, Some(Some(one))),
            PushRefspec {
                src: one.to_string(),
                dst: "refs/heads/other".into(),
                force_with_lease: None,
            },
        ],
        &opts,
    )?;
    assert!(
        both.iter().all(|r| r.status == PushStatus::Rejected),
        "{both:?}"
    );
    assert_eq!(
        text(fx.sh(&served, &["rev-parse", "refs/heads/sync"])).trim(),
        two.to_string()
    );
    assert!(
        git.ls_remote(&url(&served), &["refs/heads/other"])?
            .is_empty()
    );
    // An unreachable remote is an error, not an empty list.
    assert!(matches!(
        repo.push(&url(&fx.path("absent.git")), &[spec(one, None)], &opts),
        Err(Error::Command { .. })
    ));
    Ok(())
}

#[test]
fn alternates_and_update_ref() -> TestResult {
    let fx = Fixture::new();
    let work = fx.work_repo("work", &[("a.txt", b"a\n", false)]);
    let git = fx.git();
    let src = git.open(&work.join(".git"));
    let base = src.rev_parse("HEAD")?.ok_or("HEAD")?;
    let repo = git.init_bare(&fx.path("borrower.git"))?;
    // A full hex id "resolves" without an existence check; peeling needs the object.
    let peel = format!("{base}^{{commit}}");
    assert_eq!(repo.rev_parse(&peel)?, None);
    repo.add_alternate(&work.join(".git/objects"))?;
    repo.add_alternate(&work.join(".git/objects"))?; // idempotent
    let alt = std::fs::read_to_string(fx.path("borrower.git/objects/info/alternates"))?;
    assert_eq!(alt.lines().count(), 1);
    assert_eq!(repo.rev_parse(&peel)?, Some(base));
    let commit = repo.fast_import(&CommitRequest {
        ref_name: "refs/heads/x".into(),
        parent: Some(base),
        author: sig(),
        committer: sig(),
        message: "m\n".into(),
        changes: vec![TreeChange::Upsert {
            path: "b.txt".into(),
            mode: 0o100644,
            content: BlobContent::Data(Bytes::from_static(b"b\n")),
        }],
    })?;
    assert_eq!(repo.ls_tree("refs/heads/x")?.len(), 2);
    // update_ref: create-only, compare-and-swap, unconditional.
    repo.update_ref("refs/heads/y", base, Some(ObjectId::null()))?;
    assert!(
        repo.update_ref("refs/heads/y", commit, Some(ObjectId::null()))
            .is_err()
    );
    assert!(
        repo.update_ref("refs/heads/y", commit, Some(commit))
            .is_err()
    );
    repo.update_ref("refs/heads/y", commit, Some(base))?;
    repo.update_ref("refs/heads/y", base, None)?;
    assert_eq!(repo.rev_parse("refs/heads/y")?, Some(base));
    assert_eq!(repo.rev_parse("refs/heads/none")?, None);
    Ok(())
}

#[test]
fn config_values_and_credentials_never_in_errors() -> TestResult {
    let fx = Fixture::new();
    let token = "ghp_Zx9TokenValue0123456789abcdefABCDEF";
    // A bad numeric value makes git quote it in stderr.
    let git = fx.git().with_config("core.abbrev", token).with_config(
        "http.extraHeader",
        &format!("Authorization: Bearer {token}"),
    );
    let repo = git.init_bare(&fx.path("r.git"));
    let err = repo.err().ok_or("git must refuse the bad config value")?;
    for shown in [err.to_string(), format!("{err:?}"), format!("{git:?}")] {
        assert!(!shown.contains(token), "{shown}");
        assert!(!shown.contains("Zx9Token"), "{shown}");
    }
    // Credentials in a URL are removed from args and stderr.
    let err = fx
        .git()
        .ls_remote("file://user:s3cretpass@/nonexistent/repo.git", &[])
        .err()
        .ok_or("must fail")?;
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("s3cretpass"), "{shown}");
        assert!(shown.contains("***@"), "{shown}");
    }
    Ok(())
}

fn script(fx: &Fixture, name: &str, body: &str) -> TestResult<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let p = fx.path(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n"))?;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
    Ok(p)
}

fn wait_gone(pid_file: &Path) -> TestResult<bool> {
    let pid = std::fs::read_to_string(pid_file)?;
    let proc_dir = PathBuf::from(format!("/proc/{}", pid.trim()));
    for _ in 0..100 {
        if !proc_dir.exists() {
            return Ok(true);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(false)
}

#[test]
fn timeout_kills_one_shot_process() -> TestResult {
    let fx = Fixture::new();
    let pid_file = fx.path("pid");
    let prog = script(
        &fx,
        "fake-git",
        &format!("echo $$ > '{}'\nexec sleep 30", pid_file.display()),
    )?;
    let git = fx
        .git()
        .with_program(&prog)
        .with_timeout(Duration::from_millis(300));
    let err = git
        .init_bare(&fx.path("r.git"))
        .err()
        .ok_or("must time out")?;
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(wait_gone(&pid_file)?, "the process must be killed");
    assert_eq!(git.spawn_count(), 1);
    Ok(())
}

#[test]
fn timeout_kills_unanswering_cat_file() -> TestResult {
    let fx = Fixture::new();
    let pid_file = fx.path("pid");
    // Reads requests, never answers: a `cat-file --batch` that is never fed a flush.
    let prog = script(
        &fx,
        "fake-git",
        &format!(
            "echo $$ > '{}'\nwhile read -r line; do :; done",
            pid_file.display()
        ),
    )?;
    let git = fx
        .git()
        .with_program(&prog)
        .with_timeout(Duration::from_millis(300));
    let repo = git.open(&fx.path("r.git"));
    let mut reader = repo.cat_file()?;
    let err = reader.read(blob_oid(b"x")).err().ok_or("must time out")?;
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(wait_gone(&pid_file)?, "the process must be killed");
    // Real git with the same tiny timeout works when it answers in time.
    let fx2 = Fixture::new();
    let work = fx2.work_repo("w", &[("a", b"a", false)]);
    let real = fx2.git().with_timeout(Duration::from_secs(30));
    let mut r = real.open(&work.join(".git")).cat_file()?;
    assert_eq!(r.read(blob_oid(b"a"))?.data, b"a");
    Ok(())
}

#[test]
fn spawn_errors_and_counter_shared_by_clones() -> TestResult {
    let fx = Fixture::new();
    let git = fx.git();
    let clone = git.clone();
    let _ = clone.init_bare(&fx.path("a.git"))?;
    let _ = git.init_bare(&fx.path("b.git"))?;
    assert_eq!(git.spawn_count(), 2);
    assert_eq!(clone.spawn_count(), 2);
    let version = git.version()?;
    let oracle = text(fx.sh(fx.dir.path(), &["--version"]));
    assert_eq!(format!("git version {version}"), oracle.trim());
    assert_eq!(git.spawn_count(), 3);
    let missing = fx.git().with_program(fx.path("no-such-git"));
    assert!(matches!(
        missing.init_bare(&fx.path("c.git")),
        Err(Error::Spawn { .. })
    ));
    Ok(())
}

#[test]
fn config_get_regexp_reads_what_git_resolves() -> TestResult {
    let fx = Fixture::new();
    let git = fx.git();
    let repo = git.init_bare(&fx.path("cfg.git"))?;
    let dir = fx.path("cfg.git");
    assert_eq!(repo.config_get_regexp(r"^receive\.")?, []);
    fx.sh(&dir, &["config", "receive.denyNonFastForwards", "true"]);
    fx.sh(&dir, &["config", "core.hooksPath", "/some where/hooks"]);
    let got = repo.config_get_regexp(r"^(core\.hookspath|receive\.)")?;
    assert_eq!(
        got,
        [
            // File order: `git init` wrote the [core] section first.
            ("core.hookspath".to_owned(), "/some where/hooks".to_owned()),
            ("receive.denynonfastforwards".to_owned(), "true".to_owned()),
        ]
    );
    // Entries of the handle's own GIT_CONFIG_* count too.
    let with_env = git
        .clone()
        .with_config("receive.fsckObjects", "true")
        .open(&dir);
    assert_eq!(with_env.config_get_regexp(r"^receive\.fsck")?.len(), 1);
    assert!(repo.config_get_regexp("-x").is_err());
    Ok(())
}

#[path = "loose.rs"]
mod loose;
mod store;
#[path = "streamed.rs"]
mod streamed;
mod tree_listing;
