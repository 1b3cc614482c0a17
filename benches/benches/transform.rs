//! Criterion suite for broadcast-transform: `transform/<operation>/<input size>`.
//!
//! Content comes from `broadcast_benches::fixtures` (deterministic template-repository text
//! with slugs, badges, placeholders and addresses); throughput is the input size in bytes
//! (elements for the path filter). Allocations per operation are recorded beside the times
//! (`allocs.json`, through `broadcast_benches::alloc`) with a counting global allocator.

use std::collections::BTreeMap;
use std::hint::black_box;

use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_benches::fixtures::{
    self, SIZES, SOURCE_EMAIL, SOURCE_REPO, TARGET_EMAIL, TARGET_REPO, VARIABLES,
};
use broadcast_profiling::CountingAllocator;
use broadcast_transform::{
    EmailRewrite, PathFilter, RepoSlug, TransformSpec, Transformer, is_binary,
};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// Iterations averaged for allocation counts (allocations do not vary between runs).
const ALLOC_ITERATIONS: u64 = 20;

fn transformer(spec: &TransformSpec) -> Transformer {
    let source: RepoSlug = SOURCE_REPO.parse().expect("fixture slug is valid");
    let target: RepoSlug = TARGET_REPO.parse().expect("fixture slug is valid");
    Transformer::new(spec, &source, &target).expect("fixture spec compiles")
}

fn specs() -> [(&'static str, TransformSpec); 4] {
    let variables: BTreeMap<String, String> = VARIABLES
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let emails = vec![EmailRewrite {
        from: SOURCE_EMAIL.to_owned(),
        to: TARGET_EMAIL.to_owned(),
    }];
    [
        (
            "repo_name",
            TransformSpec {
                repo_name: true,
                ..TransformSpec::default()
            },
        ),
        (
            "variables",
            TransformSpec {
                variables: variables.clone(),
                ..TransformSpec::default()
            },
        ),
        (
            "emails",
            TransformSpec {
                emails: emails.clone(),
                ..TransformSpec::default()
            },
        ),
        (
            "chain",
            TransformSpec {
                repo_name: true,
                variables,
                emails,
            },
        ),
    ]
}

fn content_transforms(c: &mut Criterion) {
    let mut group = c.benchmark_group("transform");
    let inputs: Vec<(&str, Vec<u8>)> = SIZES
        .iter()
        .map(|&(label, bytes)| (label, fixtures::template_text(bytes)))
        .collect();
    for (operation, spec) in specs() {
        let t = transformer(&spec);
        for (label, content) in &inputs {
            group.throughput(Throughput::Bytes(content.len() as u64));
            group.bench_with_input(BenchmarkId::new(operation, label), content, |b, content| {
                b.iter(|| {
                    t.apply(black_box("docs/README.md"), black_box(content))
                        .expect("apply does not fail")
                })
            });
            alloc::record(
                &format!("transform/{operation}/{label}"),
                ALLOC_ITERATIONS,
                counting_allocator,
                || {
                    black_box(
                        t.apply("docs/README.md", content)
                            .expect("apply does not fail"),
                    );
                },
            );
        }
    }
    // The common case in a sync: a file that mentions nothing the chain rewrites.
    let chain_spec = specs()[3].1.clone();
    let chain = transformer(&chain_spec);
    let prose = fixtures::prose(1 << 20);
    group.throughput(Throughput::Bytes(prose.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("chain_no_match", "1MiB"),
        &prose,
        |b, content| {
            b.iter(|| {
                chain
                    .apply(black_box("docs/README.md"), black_box(content))
                    .expect("apply does not fail")
            })
        },
    );
    // Building the transformer, done once per (mapping, target): what a cache could save.
    group.throughput(Throughput::Elements(1));
    group.bench_function(BenchmarkId::new("new", "chain_spec"), |b| {
        b.iter(|| transformer(black_box(&chain_spec)))
    });
    alloc::record(
        "transform/new/chain_spec",
        ALLOC_ITERATIONS,
        counting_allocator,
        || {
            black_box(transformer(&chain_spec));
        },
    );
    for (label, content) in &inputs {
        group.throughput(Throughput::Bytes(content.len() as u64));
        group.bench_with_input(
            BenchmarkId::new("is_binary", label),
            content,
            |b, content| b.iter(|| is_binary(black_box("LICENSE"), black_box(content))),
        );
    }
    group.finish();
}

fn path_filter(c: &mut Criterion) {
    let mut group = c.benchmark_group("transform");
    let paths = fixtures::repo_paths(1000);
    let exclude: Vec<String> = [
        "*.out",
        "*.exe",
        "**/.DS_Store",
        "**/tmp/*",
        "vendor/",
        "!vendor/modules.txt",
        "**/*.{png,jpg}",
        "/build",
    ]
    .iter()
    .map(|p| (*p).to_owned())
    .collect();
    let filter = PathFilter::new(Some(&exclude), &[], false).expect("fixture patterns are valid");
    group.throughput(Throughput::Elements(paths.len() as u64));
    group.bench_function(BenchmarkId::new("path_filter", "1000paths"), |b| {
        b.iter(|| {
            paths
                .iter()
                .filter(|p| filter.is_included(black_box(p)))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, content_transforms, path_filter);
criterion_main!(benches);
