//! Allocations per operation beside criterion's time: run a closure N times
//! between two allocator snapshots and write `allocs.json` for `cargo xtask bench`.
//!
//! Each bench file installs a counting global allocator (the profiling crate's
//! `CountingAllocator`) and, next to its criterion function, calls [`record`] with
//! the same id and a closure reading the allocator's totals:
//!
//! ```text
//! #[global_allocator]
//! static ALLOC: CountingAllocator = CountingAllocator::new();
//! use broadcast_benches::alloc::{self, counting_allocator};
//! alloc::record("pool/get/8KiB", 1_000, counting_allocator, || drop(pool.get(8192)));
//! ```
//!
//! The file lands in `<criterion root>/<id>/allocs.json` with the shape
//! `{"id": "pool/get/8KiB", "iterations": 1000, "allocs_per_op": 0.0, "bytes_per_op": 0.0}`;
//! the criterion root is `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
//! else the workspace's `target/criterion` (the same rule criterion follows).
//! Counts are exact for single-threaded closures: allocations made by other
//! threads during the loop are counted too, so keep background threads idle.

use std::path::{Path, PathBuf};

/// Cumulative allocator totals at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Number of allocations (`alloc`, `alloc_zeroed`, and `realloc` calls) so far.
    pub allocations: u64,
    /// Bytes requested by those allocations so far.
    pub bytes: u64,
}

/// Per-operation figures of one [`measure`] call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerOp {
    /// Iterations the figures are averaged over.
    pub iterations: u64,
    /// Allocations per call of the closure.
    pub allocs_per_op: f64,
    /// Bytes allocated per call of the closure.
    pub bytes_per_op: f64,
}

/// Runs `op` `iterations` times (after one warm-up call that is not counted)
/// and divides the change of `counts()` by `iterations`. Costs: `iterations + 1`
/// calls of `op`, two calls of `counts`, no allocation of its own.
pub fn measure(iterations: u64, counts: impl Fn() -> Counts, mut op: impl FnMut()) -> PerOp {
    let iterations = iterations.max(1);
    op();
    let before = counts();
    for _ in 0..iterations {
        op();
    }
    let after = counts();
    PerOp {
        iterations,
        allocs_per_op: after.allocations.saturating_sub(before.allocations) as f64
            / iterations as f64,
        bytes_per_op: after.bytes.saturating_sub(before.bytes) as f64 / iterations as f64,
    }
}

/// The totals of `broadcast_profiling::CountingAllocator`: allocations plus reallocations, and
/// the bytes they requested. Pass it as `counts` to [`record`] in a bench that installs that
/// allocator as its `#[global_allocator]`; without it every figure reads zero.
pub fn counting_allocator() -> Counts {
    let s = broadcast_profiling::CountingAllocator::snapshot();
    Counts {
        allocations: s.allocations + s.reallocations,
        bytes: s.bytes_allocated,
    }
}

/// [`measure`], then write the result for bench id `id` (criterion's full id,
/// `<crate>/<operation>/<input>`) under the criterion root. A write failure is
/// reported on stderr and otherwise ignored: the time figures still count.
pub fn record(id: &str, iterations: u64, counts: impl Fn() -> Counts, op: impl FnMut()) -> PerOp {
    let per_op = measure(iterations, counts, op);
    if let Err(err) = write(&criterion_root(), id, &per_op) {
        eprintln!("alloc: could not write allocs.json for {id}: {err}");
    }
    per_op
}

/// Runs `op` once per trial, `trials` times (at least once) after one warm-up call that is
/// not counted, and returns the trial with the fewest allocations (its bytes beside it) as a
/// [`PerOp`] of one iteration. Costs: `trials + 1` calls of `op`, `2 * trials` calls of
/// `counts`, no allocation of its own.
pub fn measure_min(trials: u64, counts: impl Fn() -> Counts, mut op: impl FnMut()) -> PerOp {
    op();
    let mut best: Option<Counts> = None;
    for _ in 0..trials.max(1) {
        let before = counts();
        op();
        let after = counts();
        let delta = Counts {
            allocations: after.allocations.saturating_sub(before.allocations),
            bytes: after.bytes.saturating_sub(before.bytes),
        };
        if best.is_none_or(|b| (delta.allocations, delta.bytes) < (b.allocations, b.bytes)) {
            best = Some(delta);
        }
    }
    let best = best.unwrap_or_default();
    PerOp {
        iterations: 1,
        allocs_per_op: best.allocations as f64,
        bytes_per_op: best.bytes as f64,
    }
}

/// Like [`record`] for code that allocates from several threads, where a race now and then
/// adds an allocation (a channel block allocated by two senders at once, a worker woken
/// twice): [`measure_min`], then write the result for `id`. The floor repeats run to run
/// where a mean over the same calls would not, so the "any growth is a regression" rule of
/// `cargo xtask compare` still holds.
pub fn record_min(id: &str, trials: u64, counts: impl Fn() -> Counts, op: impl FnMut()) -> PerOp {
    let per_op = measure_min(trials, counts, op);
    if let Err(err) = write(&criterion_root(), id, &per_op) {
        eprintln!("alloc: could not write allocs.json for {id}: {err}");
    }
    per_op
}

/// The criterion output root: `$CRITERION_HOME`, `$CARGO_TARGET_DIR/criterion`,
/// or `target/criterion` of the workspace.
pub fn criterion_root() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(target).join("criterion");
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion")
}

/// Writes `<root>/<id>/allocs.json` (id characters other than `[A-Za-z0-9._/-]` become `_`).
fn write(root: &Path, id: &str, per_op: &PerOp) -> std::io::Result<()> {
    let dir_name: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = root.join(dir_name);
    std::fs::create_dir_all(&dir)?;
    let escaped = id.replace('\\', "\\\\").replace('"', "\\\"");
    let json = format!(
        "{{\"id\":\"{escaped}\",\"iterations\":{},\"allocs_per_op\":{},\"bytes_per_op\":{}}}\n",
        per_op.iterations, per_op.allocs_per_op, per_op.bytes_per_op
    );
    std::fs::write(dir.join("allocs.json"), json)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn per_op_figures_divide_the_counter_change_by_iterations() {
        // A fake counter: each op "allocates" twice, 48 bytes in total.
        let state = Cell::new(Counts::default());
        let op = || {
            let c = state.get();
            state.set(Counts {
                allocations: c.allocations + 2,
                bytes: c.bytes + 48,
            });
        };
        for (iterations, expected) in [(10, 10), (0, 1), (1000, 1000)] {
            let per_op = measure(iterations, || state.get(), op);
            assert_eq!(
                per_op,
                PerOp {
                    iterations: expected,
                    allocs_per_op: 2.0,
                    bytes_per_op: 48.0
                }
            );
        }
    }

    #[test]
    fn measure_min_keeps_the_trial_with_the_fewest_allocations() {
        // A fake counter whose op "allocates" 5, 3, 4, 3 ... times (plus bytes) per call.
        let state = Cell::new(Counts::default());
        let calls = Cell::new(0u64);
        let op = || {
            let extra = [5, 3, 4][(calls.get() % 3) as usize];
            calls.set(calls.get() + 1);
            let c = state.get();
            state.set(Counts {
                allocations: c.allocations + extra,
                bytes: c.bytes + 10 * extra,
            });
        };
        for (trials, expected_allocs) in [(1, 3), (2, 3), (6, 3)] {
            calls.set(0);
            let per_op = measure_min(trials, || state.get(), op);
            assert_eq!(
                per_op,
                PerOp {
                    iterations: 1,
                    allocs_per_op: expected_allocs as f64,
                    bytes_per_op: 10.0 * expected_allocs as f64
                },
                "{trials} trials"
            );
        }
        calls.set(2);
        // Warm-up takes the 4, the only trial a 5.
        assert_eq!(measure_min(1, || state.get(), op).allocs_per_op, 5.0);
    }

    #[test]
    fn the_file_holds_the_id_and_figures() -> std::io::Result<()> {
        let root = std::env::temp_dir().join(format!("benches-alloc-{}", std::process::id()));
        let per_op = PerOp {
            iterations: 4,
            allocs_per_op: 0.5,
            bytes_per_op: 12.0,
        };
        write(&root, "pool/get/8 KiB", &per_op)?;
        let text = std::fs::read_to_string(root.join("pool/get/8_KiB/allocs.json"))?;
        std::fs::remove_dir_all(&root)?;
        assert_eq!(
            text,
            "{\"id\":\"pool/get/8 KiB\",\"iterations\":4,\"allocs_per_op\":0.5,\"bytes_per_op\":12}\n"
        );
        Ok(())
    }
}
