//! Criterion suite for the `broadcast` crate's configuration path:
//! `config/<operation>/<targets>targets` and `state/metadata/render_parse`.
//!
//! - `config/load_validate/*`: `broadcast::config::parse_str` of a deterministic go-broadcast
//!   v1 configuration (`broadcast_benches::fixtures::config_yaml`: groups of 25 targets with
//!   inline files and directories, excludes and include-only globs, transforms, pull request
//!   metadata, file and directory list references): YAML parse, list resolution, validation.
//! - `config/plan/*`: `broadcast::plan::build` of the parsed configuration (run order,
//!   resolved mappings, transform specs, merged pull request metadata).
//! - `state/metadata/render_parse`: `render_metadata` then `parse_metadata` of one
//!   pull request's metadata block.
//!
//! Throughput is targets per second (one element per target; the YAML is about 1 KiB per
//! target). Allocations per operation are recorded beside the times with a counting global
//! allocator (`allocs.json`, through `broadcast_benches::alloc`). No file system access:
//! every repository in the configuration is an `owner/name` slug.

use std::hint::black_box;
use std::path::Path;

use broadcast::config;
use broadcast::plan;
use broadcast::state::{SyncMetadata, parse_metadata, render_metadata};
use broadcast_benches::alloc::{self, counting_allocator};
use broadcast_benches::fixtures::{CONFIG_TARGETS, config_yaml};
use broadcast_profiling::CountingAllocator;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::new();

/// Directory relative local repositories would resolve against (none appear in the fixture).
const BASE_DIR: &str = "/srv/broadcast";

/// Iterations averaged for allocation counts: about 2,000 targets' worth per id, at least one.
fn alloc_iterations(targets: usize) -> u64 {
    (2000 / targets).max(1) as u64
}

/// The parsed fixture; a fixture that does not load is a bug in the generator.
fn parse(text: &str) -> config::Config {
    match config::parse_str(text, Path::new(BASE_DIR)) {
        Ok(c) => c,
        Err(e) => panic!("the fixture configuration does not load: {e:?}"),
    }
}

fn bench_config(c: &mut Criterion) {
    let base_dir = Path::new(BASE_DIR);
    let scope = plan::Scope::default();
    let mut group = c.benchmark_group("config");
    for &(label, targets) in CONFIG_TARGETS {
        let text = config_yaml(targets);
        let parsed = parse(&text);
        let built = plan::build(&parsed, base_dir, &scope).expect("fixture config plans");
        assert_eq!(
            built.groups.iter().map(|g| g.targets.len()).sum::<usize>(),
            targets,
            "every fixture target is planned"
        );
        if targets == 1000 {
            group.sample_size(10);
        }
        group.throughput(Throughput::Elements(targets as u64));

        let id = format!("load_validate/{label}");
        group.bench_function(&id, |b| {
            b.iter(|| config::parse_str(black_box(&text), black_box(base_dir)).is_ok())
        });
        alloc::record(
            &format!("config/{id}"),
            alloc_iterations(targets),
            counting_allocator,
            || {
                black_box(config::parse_str(&text, base_dir).is_ok());
            },
        );

        let id = format!("plan/{label}");
        group.bench_function(&id, |b| {
            b.iter(|| plan::build(black_box(&parsed), black_box(base_dir), &scope).is_ok())
        });
        alloc::record(
            &format!("config/{id}"),
            alloc_iterations(targets),
            counting_allocator,
            || {
                black_box(plan::build(&parsed, base_dir, &scope).is_ok());
            },
        );
    }
    group.finish();
}

fn bench_state(c: &mut Criterion) {
    let meta = SyncMetadata {
        group_id: "services-0".into(),
        source_repo: "acme/template".into(),
        source_commit: "4f6c0d2e9a1b3c5d7e9f0a2b4c6d8e0f1a3b5c7d".into(),
        target_repo: "acme/svc-0042".into(),
        sync_commit: "0123456789abcdef0123456789abcdef01234567".into(),
    };
    assert_eq!(
        parse_metadata(&render_metadata(&meta)).as_ref(),
        Some(&meta),
        "the metadata block round-trips"
    );
    let mut group = c.benchmark_group("state");
    group.throughput(Throughput::Elements(1));
    group.bench_function("metadata/render_parse", |b| {
        b.iter(|| parse_metadata(&render_metadata(black_box(&meta))))
    });
    alloc::record(
        "state/metadata/render_parse",
        1000,
        counting_allocator,
        || {
            black_box(parse_metadata(&render_metadata(&meta)));
        },
    );
    group.finish();
}

criterion_group!(benches, bench_config, bench_state);
criterion_main!(benches);
