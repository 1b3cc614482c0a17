//! Instruction counts (valgrind callgrind through gungraun) for the CPU-bound
//! library paths: repeatable run to run, so CI can gate on a 2% change where
//! wall time on a shared machine cannot. Run through `cargo xtask bench --instructions`.
//!
//! Benchmark ids become `instructions/<function>/<case>` in the baseline file.
//! Inputs are built in `setup` functions, which callgrind does not count; setups
//! also warm lazily built state (the global redactor) so only the steady-state
//! call is counted. Every benchmark counts well over 10,000 instructions, so a
//! few instructions of code-layout change after a rebuild stay far below the gate.

use std::hint::black_box;
use std::path::Path;

use broadcast_benches::fixtures;
use broadcast_pool::BufferPool;
use broadcast_transform::{PathFilter, RepoSlug, TransformSpec, Transformer, is_binary};
use gungraun::{library_benchmark, library_benchmark_group, main};

/// About `len` bytes of YAML-like text that mentions the source repository.
fn text(len: usize) -> Vec<u8> {
    let line = b"      - uses: acme/template@v1 # sync from acme/template, see https://github.com/acme/template\n";
    line.iter().copied().cycle().take(len).collect()
}

fn transformer() -> Transformer {
    let spec = TransformSpec {
        repo_name: true,
        ..TransformSpec::default()
    };
    Transformer::new(
        &spec,
        &RepoSlug::new("acme", "template"),
        &RepoSlug::new("acme", "service"),
    )
    .expect("a repo-name spec between two valid slugs compiles")
}

fn transform_input(len: usize) -> (Transformer, Vec<u8>) {
    (transformer(), text(len))
}

#[library_benchmark]
#[bench::text_4kib(args = (4096), setup = transform_input)]
#[bench::text_64kib(args = (65536), setup = transform_input)]
fn transform_apply(input: (Transformer, Vec<u8>)) -> usize {
    let (t, content) = input;
    let out = t.apply(black_box(".github/workflows/ci.yml"), black_box(&content));
    out.map(|c| c.len()).unwrap_or(0)
}

// Classifies 200 `(path, content)` pairs that take every rule of `is_binary`: text and
// binary extensions, and content sniffing (UTF-8, NUL bytes, Latin-1, control bytes).
#[library_benchmark]
#[bench::pairs_200(args = (200), setup = fixtures::binary_check_pairs)]
fn transform_is_binary(pairs: Vec<(String, Vec<u8>)>) -> usize {
    pairs
        .iter()
        .filter(|(path, content)| is_binary(black_box(path), black_box(content)))
        .count()
}

fn paths(n: usize) -> (PathFilter, Vec<String>) {
    let filter = PathFilter::new(None, &[], false).expect("the default excludes compile");
    let paths = (0..n)
        .map(|i| format!(".github/workflows/d{}/job{i}.yml", i % 7))
        .collect();
    (filter, paths)
}

#[library_benchmark]
#[bench::paths_1000(args = (1000), setup = paths)]
fn transform_path_filter(input: (PathFilter, Vec<String>)) -> usize {
    let (filter, paths) = input;
    paths
        .iter()
        .filter(|p| filter.is_included(black_box(p)))
        .count()
}

#[library_benchmark]
#[bench::get_8kib_x100(args = (8192))]
fn pool_get(size: usize) -> usize {
    let pool = BufferPool::new();
    let mut total = 0;
    for _ in 0..100 {
        let buf = pool.get(black_box(size));
        total += buf.capacity();
    }
    total
}

/// 64 KiB of clean log text, with the global redactor built and warmed by one call.
fn clean_log(len: usize) -> String {
    let text = fixtures::log_text(len);
    assert!(
        matches!(
            broadcast_redact::global().redact(&text),
            std::borrow::Cow::Borrowed(_)
        ),
        "the log fixture is clean"
    );
    text
}

#[library_benchmark]
#[bench::log_64kib(args = (65536), setup = clean_log)]
fn redact_clean(text: String) -> usize {
    broadcast_redact::global().redact(black_box(&text)).len()
}

fn blob(len: usize) -> Vec<u8> {
    fixtures::go_source(len)
}

#[library_benchmark]
#[bench::data_64kib(args = (65536), setup = blob)]
fn git_batch_blob_oid(data: Vec<u8>) -> broadcast_git_batch::ObjectId {
    broadcast_git_batch::blob_oid(black_box(&data))
}

#[library_benchmark]
#[bench::targets_10(args = (10), setup = fixtures::config_yaml)]
fn config_parse(text: String) -> usize {
    match broadcast::config::parse_str(black_box(&text), black_box(Path::new("/srv/broadcast"))) {
        Ok(config) => config.groups.len(),
        Err(_) => 0,
    }
}

/// go-broadcast's 100-target "Large" config (`broadcast_benches::anchors::config_large`).
fn anchor_config(_: usize) -> String {
    broadcast_benches::anchors::config_large()
}

#[library_benchmark]
#[bench::anchor_large_100(args = (100), setup = anchor_config)]
fn config_load_validate(text: String) -> usize {
    match broadcast::config::parse_str(black_box(&text), black_box(Path::new("/srv/broadcast"))) {
        Ok(config) => config.groups[0].targets.len(),
        Err(_) => 0,
    }
}

// The two halves of `config_load_validate`, so the gate shows which one moved: YAML text to a
// `Config` (the parser), and list resolution plus every rule on the parsed config.
#[library_benchmark]
#[bench::anchor_large_100(args = (100), setup = anchor_config)]
fn config_parse_yaml(text: String) -> usize {
    match broadcast::config::parse_yaml(black_box(&text)) {
        Ok(config) => config.groups[0].targets.len(),
        Err(_) => 0,
    }
}

/// The 100-target anchor config, parsed (not yet resolved or validated).
fn anchor_config_parsed(targets: usize) -> broadcast::config::Config {
    broadcast::config::parse_yaml(&anchor_config(targets)).expect("the anchor config parses")
}

#[library_benchmark]
#[bench::anchor_large_100(args = (100), setup = anchor_config_parsed)]
fn config_validate(mut config: broadcast::config::Config) -> bool {
    broadcast::config::check(
        black_box(&mut config),
        black_box(Path::new("/srv/broadcast")),
    )
    .is_ok()
}

// The worker pool's per-task overhead is not in this suite: with two threads the count moves
// by up to 3 % between runs as valgrind serialises them differently, more than the gate's
// threshold. The criterion bench `worker/task_overhead` measures it.

/// go-broadcast's `TemplateTransform_Large` input: nine variables, about 30 KB with 1,200
/// placeholders (`broadcast_benches::anchors::large_template`).
fn anchor_template(_: usize) -> (Transformer, Vec<u8>) {
    use broadcast_benches::anchors as fx;
    let spec = TransformSpec {
        variables: fx::TEMPLATE_VARIABLES
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        ..TransformSpec::default()
    };
    let t = Transformer::new(
        &spec,
        &RepoSlug::new("org", "template-repo"),
        &RepoSlug::new("myorg", "my-service"),
    )
    .expect("the anchor variables compile");
    (t, fx::large_template())
}

// The placeholder scan over go-broadcast's large template.
#[library_benchmark]
#[bench::anchor_large(args = (0), setup = anchor_template)]
fn transform_template(input: (Transformer, Vec<u8>)) -> usize {
    let (t, content) = input;
    let out = t.apply(black_box("large-config.yaml"), black_box(&content));
    out.map(|c| c.len()).unwrap_or(0)
}

/// go-broadcast's three `BinaryDetection` cases (`Text`, `Binary`, `LargeText`).
fn binary_anchor_cases(_: usize) -> Vec<(&'static str, &'static str, Vec<u8>)> {
    broadcast_benches::anchors::binary_detection_cases()
}

// The three cases 1,000 times each: the extension lookup (all three have listed extensions).
#[library_benchmark]
#[bench::anchor_cases_x1000(args = (0), setup = binary_anchor_cases)]
fn transform_is_binary_listed(cases: Vec<(&'static str, &'static str, Vec<u8>)>) -> usize {
    let mut binary = 0;
    for _ in 0..1000 {
        for (_, path, content) in &cases {
            binary += usize::from(is_binary(black_box(path), black_box(content)));
        }
    }
    binary
}

/// go-broadcast's two `BenchmarkPRParsing` pull requests as bodies holding our state.
fn pr_bodies(_: usize) -> Vec<String> {
    broadcast_benches::anchors::pr_bodies()
}

// Reads the state out of both bodies 100 times (the block as we render it, and no block).
#[library_benchmark]
#[bench::anchor_bodies_x100(args = (0), setup = pr_bodies)]
fn state_parse_metadata(bodies: Vec<String>) -> usize {
    let mut found = 0;
    for _ in 0..100 {
        for body in &bodies {
            found += usize::from(broadcast::state::parse_metadata(black_box(body)).is_some());
        }
    }
    found
}

/// The three change lines of go-broadcast's `Commit_Message_Building`.
fn commit_changes(_: usize) -> Vec<broadcast::report::FileChange> {
    broadcast_benches::anchors::commit_changes()
}

// The sync commit's message for three changes, 100 times.
#[library_benchmark]
#[bench::anchor_x100(args = (0), setup = commit_changes)]
fn commit_message(changes: Vec<broadcast::report::FileChange>) -> usize {
    (0..100)
        .map(|_| {
            broadcast::commit::commit_message(
                black_box("org/template-repo"),
                "abc123def456",
                "template",
                black_box(&changes),
            )
            .len()
        })
        .sum()
}

/// A one-file tree (`NeedsSync`) and a nested one: (path, mode, id) entries.
fn tree_entries(files: usize) -> Vec<(String, u32, broadcast_git_batch::ObjectId)> {
    (0..files)
        .map(|i| {
            let path = match i % 3 {
                0 => format!("file{i}.txt"),
                1 => format!("dir{}/file{i}.md", i % 7),
                _ => format!("a/b{}/c/file{i}.go", i % 5),
            };
            let oid = broadcast_git_batch::blob_oid(path.as_bytes());
            (path, 0o100644, oid)
        })
        .collect()
}

// The tree id a target must have: one file 100 times, and a 300-entry nested tree once.
#[library_benchmark]
#[bench::one_file_x100(args = (1), setup = tree_entries)]
#[bench::nested_300(args = (300), setup = tree_entries)]
fn git_batch_tree_oid(entries: Vec<(String, u32, broadcast_git_batch::ObjectId)>) -> usize {
    let rounds = if entries.len() == 1 { 100 } else { 1 };
    (0..rounds)
        .filter_map(|_| {
            broadcast_git_batch::tree_oid(
                black_box(&entries)
                    .iter()
                    .map(|(p, m, o)| (p.as_str(), *m, *o)),
            )
            .ok()
        })
        .count()
}

library_benchmark_group!(
    name = cpu;
    benchmarks = transform_apply, transform_is_binary, transform_path_filter, pool_get,
        redact_clean, git_batch_blob_oid, config_parse, config_load_validate, config_parse_yaml,
        config_validate, transform_template, transform_is_binary_listed,
        state_parse_metadata, commit_message, git_batch_tree_oid
);

main!(library_benchmark_groups = cpu);
