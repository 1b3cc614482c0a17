//! Criterion suite `anchors/<go-broadcast benchmark name>`: our equivalent of each benchmark
//! go-broadcast publishes (README and plans/plan-08-baseline.md at commit 342f6440), on inputs
//! of the same shape and size (`broadcast_benches::anchors`), so our figures can be read
//! against theirs (`baselines/go-broadcast.json`). Allocations per operation are recorded
//! beside the times with a counting global allocator (`allocs.json`).
//!
//! What each id measures in broadcast:
//! - `LoadFromReader[_Large]`: YAML text to a `Config` (`config::parse_yaml`);
//!   `Validate[_Large]`: list resolution and every rule on the loaded config (`config::check`);
//!   `LoadAndValidate[_Large]`: both (`config::parse_str`). Their configs are flat
//!   (`source`/`targets`); ours hold the same keys in one group.
//! - `TemplateTransform_*`, `RepoTransform_*`, `ChainTransform[_Binary]`: one
//!   `Transformer::apply` of a transformer built once (as they build their chain once), with the
//!   same variables, slugs, destination paths and contents. Our transformer is one pass per
//!   rule family, not a chain of transformers; the chain's binary bypass is our `is_binary`
//!   check inside `apply`.
//! - `BinaryDetection/*`: `broadcast_transform::is_binary(path, content)`. Theirs looks the
//!   extension up in a map of binary extensions, then sniffs up to 8,192 bytes; ours looks it
//!   up in a text list and a binary list, then sniffs up to 8,000 bytes (memchr for NUL, as
//!   git's `buffer_is_binary`). `Text` and `LargeText` are `.txt`: theirs sniffs, ours stops at
//!   the text list; `LargeText_Sniff` (ours only) is the same content as `large.dat`.
//! - `BranchParsing`: no exact equivalent (the group's sync branch name is built once). go-broadcast parses timestamp and commit out of
//!   `sync/template-YYYYMMDD-HHMMSS-sha` names with a regex; our sync branch carries no data
//!   (`<branch_prefix>-<group id>`, the state lives in commit trailers). Measured: for the same
//!   five names, git's branch-name rules (`config::validate_branch`) and recognising the
//!   group's sync branch (prefix and group id split off the name).
//! - `PRParsing`: more work than theirs: theirs reads three fields of an already decoded
//!   struct; ours reads the state out of a pull request body: `state::parse_metadata` of the same two pull requests (the open one
//!   with our metadata block, the closed one without).
//! - `StateComparison`: three targets (up to date, behind, never synced) against the source:
//!   ours decides from the sync branch's tip (its trailers name our group:
//!   `ownership::foreign_commits`) and from the tree id the branch must have (compared with the
//!   tip's tree id).
//! - `NeedsSync/*`: one target with one file: ours computes the tree id the target needs
//!   (`git_batch::tree_oid` over the base entries with the desired blob applied, as the engine
//!   does) and compares it with the sync branch's tree id. Up to date, behind and pending are
//!   the same computation with a different answer. More work than theirs, which compares
//!   two recorded commit strings and a status; ours hashes the tree it would write (SHA-1).
//! - `SyncBranchGeneration`: `Group::sync_branch()`.
//! - `RegexCache/*_With_Cache`: the same patterns and inputs; ours compiles every pattern once
//!   into a `LazyLock`-style static, so the cached lookup is a pointer read, then `captures`.
//! - `BufferPool/*_Pooled_Buffer`: `broadcast_pool::BufferPool::get(expected)`, the same writes,
//!   the text borrowed as `&str` (Go's `buf.String()` copies; ours needs no copy), returned on
//!   drop.
//! - `StringBuilding/*`: path join, GitHub URL, sync branch name (`Group::sync_branch`),
//!   commit message (`commit::commit_message`, which also adds our trailers).
//! - `WorkerPool/Workers_2_Tasks_1000`: 1000 trivial tasks through a 2-worker
//!   `WorkerPool::map`. Theirs sleeps 100 µs per task and publishes no figure for it; this is
//!   per-task overhead.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::Path;
use std::sync::OnceLock;

use broadcast::config::{self, Config};
use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_benches::anchors as fx;
use broadcast_git_batch::{CommitSummary, ObjectId, blob_oid, tree_oid};
use broadcast_pool::BufferPool;
use broadcast_profiling::CountingAllocator;
use broadcast_transform::{RepoSlug, TransformSpec, Transformer, is_binary};
use broadcast_worker::WorkerPool;
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use regex::Regex;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// The one criterion group every anchor is in (`anchors/<name>`).
type Group<'a> = BenchmarkGroup<'a, WallTime>;

const BASE_DIR: &str = "/srv/broadcast";

/// Benchmarks `op` as `anchors/<name>` and records its allocations per call.
fn bench<R>(c: &mut Group<'_>, name: &str, iterations: u64, mut op: impl FnMut() -> R) {
    c.bench_function(name, |b| b.iter(&mut op));
    alloc::record(
        &format!("anchors/{name}"),
        iterations,
        counting_allocator,
        || {
            black_box(op());
        },
    );
}

fn parsed(text: &str) -> Config {
    config::parse_str(text, Path::new(BASE_DIR))
        .unwrap_or_else(|e| panic!("the anchor config does not load: {e:?}"))
}

fn bench_config(c: &mut Criterion) {
    let c = &mut c.benchmark_group("anchors");
    let base = Path::new(BASE_DIR);
    for (suffix, text, iters) in [
        ("", fx::config_small(), 200),
        ("_Large", fx::config_large(), 20),
    ] {
        let loaded = parsed(&text);
        bench(c, &format!("LoadFromReader{suffix}"), iters, || {
            config::parse_yaml(black_box(&text)).is_ok()
        });
        let mut cfg = loaded.clone();
        bench(c, &format!("Validate{suffix}"), iters, || {
            config::check(black_box(&mut cfg), base).is_ok()
        });
        bench(c, &format!("LoadAndValidate{suffix}"), iters, || {
            config::parse_str(black_box(&text), base).is_ok()
        });
    }
}

fn spec(repo_name: bool, vars: &[(&str, &str)]) -> TransformSpec {
    TransformSpec {
        repo_name,
        variables: vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..TransformSpec::default()
    }
}

fn transformer(spec: &TransformSpec) -> Transformer {
    let slug = |s: &str| {
        let (o, n) = s.split_once('/').expect("an owner/name slug");
        RepoSlug::new(o, n)
    };
    Transformer::new(spec, &slug(fx::SOURCE_REPO), &slug(fx::TARGET_REPO))
        .expect("the anchor transform compiles")
}

/// Applies `t` and checks once that it changed the content (or not, for `changes == false`).
fn apply_case(
    c: &mut Group<'_>,
    name: &str,
    t: &Transformer,
    path: &str,
    content: &[u8],
    changes: bool,
) {
    let out = t.apply(path, content).expect("apply never fails");
    assert_eq!(
        matches!(out, Cow::Owned(_)),
        changes,
        "{name}: unexpected result"
    );
    bench(c, name, 200, || {
        t.apply(black_box(path), black_box(content)).is_ok()
    });
}

fn bench_transform(c: &mut Criterion) {
    let c = &mut c.benchmark_group("anchors");
    let template = transformer(&spec(false, fx::TEMPLATE_VARIABLES));
    apply_case(
        c,
        "TemplateTransform_Small",
        &template,
        "config.yaml",
        fx::TEMPLATE_CONTENT.as_bytes(),
        true,
    );
    apply_case(
        c,
        "TemplateTransform_Large",
        &template,
        "large-config.yaml",
        &fx::large_template(),
        true,
    );
    let repo = transformer(&spec(true, &[]));
    apply_case(
        c,
        "RepoTransform_GoFile",
        &repo,
        "main.go",
        fx::SMALL_GO_FILE.as_bytes(),
        true,
    );
    apply_case(
        c,
        "RepoTransform_GoFile_Large",
        &repo,
        "service.go",
        &fx::large_go_file(),
        true,
    );
    apply_case(
        c,
        "RepoTransform_Markdown",
        &repo,
        "README.md",
        fx::SMALL_MARKDOWN.as_bytes(),
        true,
    );
    let chain = transformer(&spec(true, fx::CHAIN_VARIABLES));
    apply_case(
        c,
        "ChainTransform",
        &chain,
        "service/main.go",
        fx::CHAIN_CONTENT.as_bytes(),
        true,
    );
    apply_case(
        c,
        "ChainTransform_Binary",
        &chain,
        "image.png",
        fx::PNG_HEADER,
        false,
    );
    for (name, path, content) in fx::binary_detection_cases() {
        assert_eq!(is_binary(path, &content), name == "Binary", "{name}");
        bench(c, &format!("BinaryDetection/{name}"), 1000, || {
            is_binary(black_box(path), black_box(&content))
        });
    }
    // Their `LargeText` sniffs 8 KiB because `.txt` is not in their binary list; ours stops at
    // our text list. The same content under an unlisted extension measures our sniff.
    let (_, _, large) = &fx::binary_detection_cases()[2];
    assert!(!is_binary("large.dat", large));
    bench(c, "BinaryDetection/LargeText_Sniff", 1000, || {
        is_binary(black_box("large.dat"), black_box(large))
    });
}

fn group(cfg: &Config) -> &config::Group {
    &cfg.groups[0]
}

fn bench_state(c: &mut Criterion) {
    let c = &mut c.benchmark_group("anchors");
    let cfg = parsed(&fx::config_small());
    let g = group(&cfg);

    // The sync branch name is per group: built once, as theirs builds its discoverer (and
    // compiles its regex) once outside the loop. Building it per call measured a `format!`
    // their row does not do.
    let sync = g.sync_branch();
    bench(c, "BranchParsing", 1000, || {
        let mut ours = 0;
        for name in fx::BRANCHES {
            if config::validate_branch(black_box(name)).is_err() {
                continue;
            }
            let id = name
                .strip_prefix(g.branch_prefix())
                .and_then(|rest| rest.strip_prefix('-'));
            ours += usize::from(id.is_some() && *name == sync);
        }
        ours
    });

    let bodies = fx::pr_bodies();
    assert!(broadcast::state::parse_metadata(&bodies[0]).is_some());
    assert!(broadcast::state::parse_metadata(&bodies[1]).is_none());
    bench(c, "PRParsing", 1000, || {
        bodies
            .iter()
            .filter(|b| broadcast::state::parse_metadata(black_box(b)).is_some())
            .count()
    });

    bench(c, "SyncBranchGeneration", 1000, || {
        black_box(g).sync_branch()
    });

    // Three targets: a tip of ours on the wanted tree, a tip of ours on an older tree, none.
    let wanted = blob_oid(b"tree wanted");
    let older = blob_oid(b"tree older");
    let tip = |id: &str| CommitSummary {
        oid: blob_oid(id.as_bytes()),
        parents: vec![blob_oid(b"base")],
        author_name: "broadcast".into(),
        author_email: "broadcast@example.com".into(),
        subject: "sync: update 1 files from org/template-repo".into(),
        trailers: vec![
            ("Broadcast-Source".into(), fx::SOURCE_REPO.into()),
            ("Broadcast-Source-Commit".into(), "abc123def456789".into()),
            ("Broadcast-Group".into(), "template".into()),
        ],
    };
    let targets: Vec<(Option<CommitSummary>, ObjectId)> = vec![
        (Some(tip("t1")), wanted),
        (Some(tip("t2")), older),
        (None, older),
    ];
    bench(c, "StateComparison", 1000, || {
        let mut needs = 0;
        for (sync_tip, tip_tree) in &targets {
            let up_to_date = match sync_tip {
                Some(t) => {
                    broadcast::ownership::foreign_commits("template", std::slice::from_ref(t))
                        .is_empty()
                        && *tip_tree == black_box(wanted)
                }
                None => false,
            };
            needs += usize::from(!up_to_date);
        }
        needs
    });

    // One target, one file: the tree id it must have against the sync branch's.
    let base: BTreeMap<String, (u32, ObjectId)> =
        BTreeMap::from([("file.txt".to_owned(), (0o100644, blob_oid(b"old\n")))]);
    let desired = ("file.txt", 0o100644u32, blob_oid(b"new\n"));
    let needed = |base: &BTreeMap<String, (u32, ObjectId)>| {
        let mut entries: BTreeMap<&str, (u32, ObjectId)> =
            base.iter().map(|(p, e)| (p.as_str(), *e)).collect();
        entries.insert(desired.0, (desired.1, desired.2));
        tree_oid(entries.iter().map(|(p, (m, o))| (*p, *m, *o))).expect("a flat tree hashes")
    };
    let up_to_date_tree = needed(&base);
    for (case, branch_tree) in [
        ("UpToDate", up_to_date_tree),
        ("Behind", older),
        ("Pending", up_to_date_tree),
    ] {
        bench(c, &format!("NeedsSync/{case}"), 1000, || {
            needed(black_box(&base)) != black_box(branch_tree)
        });
    }
}

fn bench_helpers(c: &mut Criterion) {
    let c = &mut c.benchmark_group("anchors");
    static COMPILED: OnceLock<Vec<Regex>> = OnceLock::new();
    for (i, (name, _, input)) in fx::REGEX_CASES.iter().enumerate() {
        let re = || {
            &COMPILED.get_or_init(|| {
                fx::REGEX_CASES
                    .iter()
                    .map(|(_, p, _)| Regex::new(p).expect("anchor patterns compile"))
                    .collect()
            })[i]
        };
        assert!(re().captures(input).is_some(), "{name} matches");
        bench(c, &format!("RegexCache/{name}_With_Cache"), 1000, || {
            re().captures(black_box(input)).map(|c| c.len())
        });
    }

    let pool = BufferPool::new();
    for (name, writes) in fx::BUFFER_POOL_CASES {
        let expected = writes * fx::BUFFER_POOL_DATA.len();
        bench(c, &format!("BufferPool/{name}_Pooled_Buffer"), 1000, || {
            let mut buf = pool.get(expected);
            for _ in 0..*writes {
                buf.extend_from_slice(fx::BUFFER_POOL_DATA);
            }
            std::str::from_utf8(&buf).map(str::len).unwrap_or(0)
        });
    }

    bench(
        c,
        "StringBuilding/Path_Building/StringBuilder",
        1000,
        || black_box(fx::PATH_PARTS).join("/"),
    );
    bench(
        c,
        "StringBuilding/GitHub_URL_Building/OptimizedBuilder",
        1000,
        || {
            let parts = black_box(fx::URL_PARTS);
            let len = parts.iter().map(|p| p.len() + 1).sum::<usize>();
            let mut url = String::with_capacity(19 + fx::URL_REPO.len() + len);
            url.push_str("https://github.com/");
            url.push_str(black_box(fx::URL_REPO));
            for p in parts {
                url.push('/');
                url.push_str(p);
            }
            url
        },
    );
    let cfg = parsed(&fx::config_small());
    let g = group(&cfg);
    bench(
        c,
        "StringBuilding/Branch_Name_Building/OptimizedBuilder",
        1000,
        || black_box(g).sync_branch(),
    );
    let changes = fx::commit_changes();
    bench(
        c,
        "StringBuilding/Commit_Message_Building/OptimizedBuilder",
        1000,
        || {
            broadcast::commit::commit_message(
                black_box(fx::SOURCE_REPO),
                "abc123def456",
                "template",
                black_box(&changes),
            )
        },
    );
}

fn bench_worker(c: &mut Criterion) {
    let c = &mut c.benchmark_group("anchors");
    let pool = WorkerPool::new(2, 1024).expect("pool starts");
    bench(c, "WorkerPool/Workers_2_Tasks_1000", 20, || {
        pool.map(0..1000u64, |x| black_box(x) + 1)
            .expect("pool is running")
    });
}

criterion_group!(
    benches,
    bench_config,
    bench_transform,
    bench_state,
    bench_helpers,
    bench_worker
);
criterion_main!(benches);
