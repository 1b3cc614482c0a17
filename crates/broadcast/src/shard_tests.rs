//! Table and property tests of `--shard K/N`: parsing, keys, the hash, balance, stability,
//! the partition of a plan, and the pacing rule.

use std::path::PathBuf;
use std::time::Duration;

use proptest::prelude::*;

use super::*;

fn gh(owner: &str, name: &str) -> RepoRef {
    RepoRef::GitHub {
        owner: owner.into(),
        name: name.into(),
    }
}

#[test]
fn specs_parse_or_say_what_is_wrong() {
    let ok = |s: &str, k: u32, n: u32| {
        assert_eq!(
            s.parse::<ShardSpec>(),
            Ok(ShardSpec { index: k, count: n }),
            "{s}"
        );
    };
    ok("1/1", 1, 1);
    ok("1/3", 1, 3);
    ok("3/3", 3, 3);
    ok(" 2/16 ", 2, 16);
    ok("07/10", 7, 10);
    let bad = |s: &str, want: &str| {
        let e = s.parse::<ShardSpec>().expect_err(s).to_string();
        assert!(e.contains(want), "{s}: {e}");
        assert!(
            e.contains(s.trim()),
            "{s}: the message quotes the value: {e}"
        );
    };
    bad("0/3", "K must be at least 1");
    bad("4/3", "K (4) is greater than N (3)");
    bad("1/0", "N must be at least 1");
    bad("0/0", "N must be at least 1");
    bad("a/b", "K 'a' is not a whole number");
    bad("1/b", "N 'b' is not a whole number");
    bad("-1/3", "K '-1' is not a whole number");
    bad("+1/3", "K '+1' is not a whole number");
    bad("1-2", "expected K/N");
    bad("1/2/3", "expected K/N");
    bad("", "expected K/N");
    bad("/3", "K '' is not a whole number");
    bad("99999999999/3", "is not a whole number");
}

#[test]
fn display_round_trips() {
    let s = ShardSpec::new(3, 8).expect("valid");
    assert_eq!(s.to_string(), "3/8");
    assert_eq!(s.to_string().parse::<ShardSpec>(), Ok(s));
}

#[test]
fn keys_normalize_the_repository_identity() {
    let check = |repo: RepoRef, display: &str, want: &str| {
        assert_eq!(shard_key(&repo, display), want, "{display}");
    };
    check(gh("acme", "api"), "acme/api", "github:acme/api");
    // GitHub names compare case-insensitively: one repository, one key.
    check(gh("Acme", "API"), "Acme/API", "github:acme/api");
    // Local: the config's text, not the machine's absolute path.
    check(
        RepoRef::Local {
            path: PathBuf::from("/home/ci/work/repos/a.git"),
        },
        " ./repos/a.git",
        "local:./repos/a.git",
    );
}

#[test]
fn fnv1a64_matches_the_reference_vectors() {
    // From the FNV reference test suite (fnv-1a, 64-bit).
    assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
}

#[test]
fn jump_hash_matches_the_published_algorithm() {
    // The float formula of the paper, for comparison on keys where it is exact enough.
    fn jump_float(mut key: u64, buckets: i64) -> i64 {
        let (mut b, mut j) = (-1i64, 0i64);
        while j < buckets {
            b = j;
            key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
            j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
        }
        b
    }
    let mut differ = 0;
    for i in 0..10_000u64 {
        let key = fnv1a64(format!("k{i}").as_bytes());
        for n in [1u32, 2, 3, 7, 16, 100] {
            if i64::from(jump_hash(key, n)) != jump_float(key, i64::from(n)) {
                differ += 1;
            }
        }
    }
    // The two differ only where the float quotient rounds across an integer.
    assert!(differ <= 3, "{differ} of 60000 assignments differ");
    assert_eq!(jump_hash(12345, 1), 0);
    assert_eq!(jump_hash(0, 0), 0, "0 buckets is treated as 1");
}

/// Known assignments, pinned: any change to the key, the hash or the bucket function moves
/// targets between CI jobs of a running fleet, and must show up here.
#[test]
fn known_assignments_are_pinned() {
    let rows: &[(&str, u32, u32)] = &[
        ("github:acme/api", 2, PINNED[0]),
        ("github:acme/web", 2, PINNED[1]),
        ("github:acme/api", 8, PINNED[2]),
        ("github:acme/web", 8, PINNED[3]),
        ("github:mrz1836/go-broadcast", 5, PINNED[4]),
        ("local:./repos/a.git", 3, PINNED[5]),
        ("github:acme/service-0001", 16, PINNED[6]),
        ("github:acme/service-0002", 16, PINNED[7]),
    ];
    for (key, n, want) in rows {
        assert_eq!(shard_of(key, *n), *want, "{key} over {n}");
    }
    assert_eq!(
        shard_of(&shard_key(&gh("Acme", "Api"), "Acme/Api"), 8),
        shard_of("github:acme/api", 8)
    );
}

/// Computed by an independent implementation of the paper's float formula over FNV-1a 64.
const PINNED: [u32; 8] = [2, 1, 3, 1, 2, 1, 16, 3];

/// 1,000 synthetic targets over N = 2..16: every shard holds within 4 standard deviations of a
/// uniform random assignment's mean (binomial: sigma = sqrt(T * p * (1 - p)), p = 1/N). An
/// ideal random assignment stays inside that band with probability above 99.99 % per shard.
#[test]
fn assignments_are_balanced() {
    const T: usize = 1000;
    let keys: Vec<String> = (0..T)
        .map(|i| shard_key(&gh("acme", &format!("service-{i:04}")), ""))
        .collect();
    for n in 2..=16u32 {
        let mut counts = vec![0usize; n as usize];
        for k in &keys {
            counts[(shard_of(k, n) - 1) as usize] += 1;
        }
        let p = 1.0 / f64::from(n);
        let mean = T as f64 * p;
        let sigma = (T as f64 * p * (1.0 - p)).sqrt();
        for (i, c) in counts.iter().enumerate() {
            let dev = (*c as f64 - mean).abs();
            assert!(
                dev <= 4.0 * sigma,
                "N={n}: shard {} holds {c}, mean {mean:.1}, sigma {sigma:.1}: {counts:?}",
                i + 1
            );
        }
    }
}

#[test]
fn growing_the_matrix_moves_few_targets() {
    // Jump hash: from N to N+1 only targets that move to the new shard change.
    let keys: Vec<String> = (0..1000).map(|i| format!("github:acme/r{i}")).collect();
    for n in 2..=15u32 {
        for k in &keys {
            let (before, after) = (shard_of(k, n), shard_of(k, n + 1));
            assert!(
                after == before || after == n + 1,
                "{k}: {before} -> {after}"
            );
        }
    }
}

#[test]
fn pacing_scales_with_the_shard_count_unless_given() {
    let base = Pacing {
        interval: Duration::from_millis(1000),
        per_hour: 500,
        ..Pacing::default()
    };
    let check = |explicit: bool, n: u32, ms: u64, per_hour: u32| {
        let p = shard_pacing(base, explicit, n);
        assert_eq!(
            (p.interval, p.per_hour),
            (Duration::from_millis(ms), per_hour),
            "explicit={explicit} n={n}"
        );
    };
    check(false, 1, 1000, 500);
    check(false, 2, 2000, 250);
    check(false, 3, 3000, 166);
    check(false, 8, 8000, 62);
    check(true, 8, 1000, 500);
    check(true, 1, 1000, 500);
    check(false, 1000, 1_000_000, 1);
    let off = shard_pacing(Pacing::unlimited(), false, 4);
    assert_eq!((off.interval, off.per_hour), (Duration::ZERO, 0));
}

proptest! {
    /// Across K = 1..N every key is in exactly one shard: disjoint and covering.
    #[test]
    fn shards_are_disjoint_and_cover_every_key(
        keys in proptest::collection::vec("[a-zA-Z0-9:/._-]{0,40}", 1..60),
        n in 1u32..40,
    ) {
        for key in &keys {
            let owners: Vec<u32> = (1..=n)
                .filter(|&k| ShardSpec::new(k, n).expect("valid").contains(key))
                .collect();
            prop_assert_eq!(owners.len(), 1, "{} over {}: {:?}", key, n, owners);
            prop_assert_eq!(owners[0], shard_of(key, n));
        }
    }
}

fn target(display: &str) -> TargetPlan {
    let (owner, name) = display.split_once('/').expect("owner/name");
    TargetPlan {
        field: String::new(),
        repo: gh(owner, name),
        display: display.to_owned(),
        base_branch: None,
        mappings: Vec::new(),
        pr: Default::default(),
        warnings: Vec::new(),
    }
}

fn group(id: &str, depends_on: &[&str], targets: &[&str]) -> crate::plan::GroupPlan {
    crate::plan::GroupPlan {
        field: String::new(),
        id: id.to_owned(),
        name: id.to_owned(),
        source: gh("acme", "template"),
        source_display: "acme/template".to_owned(),
        source_branch: "main".to_owned(),
        sync_branch: format!("chore/sync-files-{id}"),
        depends_on: depends_on.iter().map(|d| d.to_string()).collect(),
        targets: targets.iter().map(|t| target(t)).collect(),
    }
}

#[test]
fn apply_keeps_order_drops_empty_groups_and_keeps_a_repository_in_one_shard() {
    let names: Vec<String> = (0..40).map(|i| format!("acme/r{i:02}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let plan = Plan {
        groups: vec![
            group("base", &[], &refs),
            group("extra", &["base"], &refs[..10]),
            group("lonely", &[], &["acme/r00"]),
        ],
    };
    let n = 3;
    let mut seen = std::collections::BTreeMap::<(String, String), u32>::new();
    for k in 1..=n {
        let mut p = plan.clone();
        let before = apply(&mut p, ShardSpec::new(k, n).expect("valid"));
        assert_eq!(before, 51);
        for g in &p.groups {
            assert!(!g.targets.is_empty(), "empty group {} kept", g.id);
            // Plan order is kept within the shard.
            let idx: Vec<usize> = g
                .targets
                .iter()
                .map(|t| refs.iter().position(|r| *r == t.display).expect("known"))
                .collect();
            assert!(idx.windows(2).all(|w| w[0] < w[1]), "{idx:?}");
            for t in &g.targets {
                assert!(
                    seen.insert((g.id.clone(), t.display.clone()), k).is_none(),
                    "{} twice",
                    t.display
                );
            }
        }
        // Groups keep their order; `extra` still follows `base` when both are present.
        let ids: Vec<&str> = p.groups.iter().map(|g| g.id.as_str()).collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|id| ["base", "extra", "lonely"].iter().position(|x| x == id));
        assert_eq!(ids, sorted);
    }
    assert_eq!(seen.len(), 51, "every (group, target) in exactly one shard");
    // A repository listed by two groups is in the same shard for both.
    for name in &refs[..10] {
        assert_eq!(
            seen[&("base".to_owned(), name.to_string())],
            seen[&("extra".to_owned(), name.to_string())]
        );
    }
}
