//! Heap profiles with dhat (feature `dhat-heap`): every allocation site with its bytes and
//! blocks, written as `dhat-heap.json` for the DHAT viewer
//! (<https://nnethercote.github.io/dh_view/dh_view.html>).
//!
//! dhat records only when [`DhatAlloc`] is the binary's `#[global_allocator]`, so a binary
//! that wants heap profiles picks it instead of [`crate::CountingAllocator`] at build time.
//! Every allocation then records a backtrace: the program runs several times slower, so a
//! heap profile is for finding allocation sites, not for timing.

use std::path::{Path, PathBuf};

/// dhat's global allocator; install with `#[global_allocator]` to record heap profiles.
pub use dhat::Alloc as DhatAlloc;

/// Totals of a finished heap profile (dhat's `HeapStats`), in bytes and blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct HeapTotals {
    /// Blocks allocated over the whole profile.
    pub total_blocks: u64,
    /// Bytes allocated over the whole profile.
    pub total_bytes: u64,
    /// Blocks live at the heap's peak (t-gmax).
    pub max_blocks: usize,
    /// Bytes live at the heap's peak (t-gmax).
    pub max_bytes: usize,
}

/// A running dhat heap profile; [`HeapProfile::finish`] writes it.
pub struct HeapProfile {
    profiler: dhat::Profiler,
    path: PathBuf,
}

impl std::fmt::Debug for HeapProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeapProfile")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl HeapProfile {
    /// Starts recording; the profile goes to `dir/dhat-heap.json`
    /// ([`crate::files::HEAP_PROFILE`]).
    ///
    /// # Panics
    /// When another dhat profiler is running in this process (dhat allows one at a time).
    pub fn start(dir: impl AsRef<Path>) -> HeapProfile {
        let path = dir.as_ref().join(crate::files::HEAP_PROFILE);
        let profiler = dhat::Profiler::builder().file_name(&path).build();
        HeapProfile { profiler, path }
    }

    /// Stops recording and writes the file (dhat also prints a one-paragraph summary on
    /// stderr). Returns the file and the totals; the totals are zero when [`DhatAlloc`] is not
    /// the global allocator.
    pub fn finish(self) -> (PathBuf, HeapTotals) {
        let s = dhat::HeapStats::get();
        let totals = HeapTotals {
            total_blocks: s.total_blocks,
            total_bytes: s.total_bytes,
            max_blocks: s.max_blocks,
            max_bytes: s.max_bytes,
        };
        drop(self.profiler);
        (self.path, totals)
    }
}
