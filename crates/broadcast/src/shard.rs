//! `--shard K/N`: a deterministic partition of a run's targets over N machines or CI jobs.
//!
//! Every target is assigned to exactly one shard by a fixed hash of its repository identity, so
//! N jobs that run the same config with `--shard 1/N` … `--shard N/N` together cover every
//! target once, on any machine, in any run:
//!
//! - **key** ([`shard_key`]): for a GitHub repository `github:<owner>/<name>` in lower case
//!   (GitHub compares names case-insensitively); for a local repository `local:` followed by the
//!   repo string as written in the config, trimmed (an absolute path differs between machines, the
//!   config's text does not).
//! - **hash**: 64-bit FNV-1a of the key's UTF-8 bytes (offset basis `0xcbf29ce484222325`, prime
//!   `0x100000001b3`; <http://www.isthe.com/chongo/tech/comp/fnv/>). Never std's `Hash`, whose
//!   `RandomState` is seeded per process.
//! - **bucket**: jump consistent hash (Lamping and Veach, "A Fast, Minimal Memory, Consistent
//!   Hash Algorithm", 2014) of that hash into N buckets, in integer arithmetic only (no floating
//!   point, so no platform can round differently). Going from N to N+1 shards moves only about
//!   1/(N+1) of the targets, so resizing a CI matrix does not reshuffle the fleet.
//!
//! The unit is the repository, not the (group, repository) pair: a repository listed by several
//! groups lands in the same shard for all of them, so the groups' dependency order still holds
//! for it. Pure: no I/O.

use std::fmt;
use std::str::FromStr;

use crate::forge::github::Pacing;
use crate::plan::{Plan, TargetPlan};
use crate::repo::RepoRef;

/// `K/N`: this run handles shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    index: u32,
    count: u32,
}

/// Why a `--shard` value was refused. Each message names the value and what is expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardSpecError {
    /// No `/`, or more than one.
    #[error("'{0}': expected K/N, shard K of N with 1 <= K <= N (e.g. 2/8)")]
    Shape(String),
    /// K or N is not a whole number.
    #[error("'{value}': {part} '{text}' is not a whole number (expected K/N, e.g. 2/8)")]
    NotANumber {
        /// The whole value.
        value: String,
        /// `K` or `N`.
        part: &'static str,
        /// The offending text.
        text: String,
    },
    /// N is 0.
    #[error("'{0}': N must be at least 1")]
    NoShards(String),
    /// K is 0.
    #[error("'{0}': K must be at least 1 (shards count from 1: 1/N .. N/N)")]
    ZeroIndex(String),
    /// K is greater than N.
    #[error("'{value}': K ({index}) is greater than N ({count})")]
    IndexTooLarge {
        /// The whole value.
        value: String,
        /// K.
        index: u32,
        /// N.
        count: u32,
    },
}

impl ShardSpec {
    /// Shard `index` of `count`. Errors as [`FromStr`] does for `0/N`, `K/0` and `K > N`.
    pub fn new(index: u32, count: u32) -> Result<ShardSpec, ShardSpecError> {
        let value = format!("{index}/{count}");
        if count == 0 {
            return Err(ShardSpecError::NoShards(value));
        }
        if index == 0 {
            return Err(ShardSpecError::ZeroIndex(value));
        }
        if index > count {
            return Err(ShardSpecError::IndexTooLarge {
                value,
                index,
                count,
            });
        }
        Ok(ShardSpec { index, count })
    }

    /// K, from 1.
    pub fn index(self) -> u32 {
        self.index
    }

    /// N, at least 1.
    pub fn count(self) -> u32 {
        self.count
    }

    /// True when the repository with shard key `key` (see [`shard_key`]) belongs to this shard.
    pub fn contains(self, key: &str) -> bool {
        shard_of(key, self.count) == self.index
    }
}

impl FromStr for ShardSpec {
    type Err = ShardSpecError;

    fn from_str(s: &str) -> Result<ShardSpec, ShardSpecError> {
        let value = s.trim();
        let mut parts = value.split('/');
        let (Some(k), Some(n), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(ShardSpecError::Shape(s.to_owned()));
        };
        let num = |part: &'static str, text: &str| {
            let text = text.trim();
            if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ShardSpecError::NotANumber {
                    value: s.to_owned(),
                    part,
                    text: text.to_owned(),
                });
            }
            text.parse::<u32>().map_err(|_| ShardSpecError::NotANumber {
                value: s.to_owned(),
                part,
                text: text.to_owned(),
            })
        };
        let (index, count) = (num("K", k)?, num("N", n)?);
        ShardSpec::new(index, count).map_err(|e| match e {
            // Keep the value as typed in the message.
            ShardSpecError::NoShards(_) => ShardSpecError::NoShards(s.to_owned()),
            ShardSpecError::ZeroIndex(_) => ShardSpecError::ZeroIndex(s.to_owned()),
            ShardSpecError::IndexTooLarge { index, count, .. } => ShardSpecError::IndexTooLarge {
                value: s.to_owned(),
                index,
                count,
            },
            other => other,
        })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The shard key of a repository (see the module docs): `github:<owner>/<name>` in lower case,
/// or `local:<repo string as written in the config, trimmed>`.
pub fn shard_key(repo: &RepoRef, display: &str) -> String {
    match repo {
        RepoRef::GitHub { owner, name } => {
            format!("github:{}/{}", owner, name).to_ascii_lowercase()
        }
        RepoRef::Local { .. } => format!("local:{}", display.trim()),
    }
}

/// The shard key of a planned target.
pub fn target_key(t: &TargetPlan) -> String {
    shard_key(&t.repo, &t.display)
}

/// 64-bit FNV-1a of `bytes`.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET_BASIS, |h, &b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}

/// Jump consistent hash of `key` into `buckets` (at least 1) buckets: `0..buckets`. The
/// published algorithm computes `(b + 1) * (2^31 / ((key >> 33) + 1))` in floating point; this
/// takes the floor of the exact quotient `(b + 1) * 2^31 / ((key >> 33) + 1)` instead, the same
/// function without rounding that could differ between platforms.
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let buckets = u64::from(buckets.max(1));
    let (mut b, mut j) = (0u64, 0u64);
    while j < buckets {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) << 31) / ((key >> 33) + 1);
    }
    b as u32
}

/// The shard (1-based, `1..=count`) that owns shard key `key` out of `count` (at least 1).
pub fn shard_of(key: &str, count: u32) -> u32 {
    jump_hash(fnv1a64(key.as_bytes()), count) + 1
}

/// Keeps only the targets of `plan` in shard `spec`, and drops groups left without targets.
/// The order of groups and of targets within a group is unchanged. Returns how many targets the
/// plan had before.
pub fn apply(plan: &mut Plan, spec: ShardSpec) -> usize {
    let before = plan.groups.iter().map(|g| g.targets.len()).sum();
    for g in &mut plan.groups {
        g.targets.retain(|t| spec.contains(&target_key(t)));
    }
    plan.groups.retain(|g| !g.targets.is_empty());
    before
}

/// The write pacing of one of `shards` jobs sharing one token (GitHub's limits are per token, not
/// per machine): the interval multiplied by `shards` and the hourly budget divided by it (at
/// least 1 per hour when it was set), so N jobs together write no faster than one job would.
/// An explicit interval (`explicit_interval`: `--write-interval-ms` was given) wins: the pacing
/// is then `base` unchanged, the shard's own (e.g. each shard has its own token). `shards <= 1`
/// changes nothing.
pub fn shard_pacing(base: Pacing, explicit_interval: bool, shards: u32) -> Pacing {
    if shards <= 1 || explicit_interval {
        return base;
    }
    let per_hour = if base.per_hour == 0 {
        0
    } else {
        (base.per_hour / shards).max(1)
    };
    Pacing {
        interval: base.interval.saturating_mul(shards),
        per_hour,
        window: base.window,
    }
}

#[cfg(test)]
#[path = "shard_tests.rs"]
mod tests;
