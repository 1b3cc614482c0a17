//! [`CountingAllocator`]: a `GlobalAlloc` over [`System`] that counts allocations and bytes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static DEALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static REALLOCATIONS: AtomicU64 = AtomicU64::new(0);
static BYTES_ALLOCATED: AtomicU64 = AtomicU64::new(0);
static BYTES_DEALLOCATED: AtomicU64 = AtomicU64::new(0);
static PEAK_LIVE_BYTES: AtomicU64 = AtomicU64::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// A global allocator that forwards to [`System`] and counts every allocation, deallocation,
/// reallocation and byte. Install it in the binary (or bench) that wants the numbers:
///
/// ```
/// use broadcast_profiling::CountingAllocator;
/// #[global_allocator]
/// static ALLOC: CountingAllocator = CountingAllocator::new();
///
/// let before = CountingAllocator::snapshot();
/// let v = vec![0u8; 1024];
/// let delta = CountingAllocator::snapshot().since(&before);
/// assert!(delta.allocations >= 1 && delta.bytes_allocated >= 1024);
/// # drop(v);
/// ```
///
/// Cost: five relaxed atomic read-modify-writes per allocation (a few nanoseconds, but they
/// contend across threads on the same cache lines). Counters are process-wide, so a snapshot
/// taken on one thread includes every thread's allocations.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator;

impl CountingAllocator {
    /// The allocator value to put in a `#[global_allocator]` static.
    pub const fn new() -> Self {
        CountingAllocator
    }

    /// The counters now. All zero when the allocator is not installed.
    pub fn snapshot() -> AllocStats {
        AllocStats {
            allocations: ALLOCATIONS.load(Relaxed),
            deallocations: DEALLOCATIONS.load(Relaxed),
            reallocations: REALLOCATIONS.load(Relaxed),
            bytes_allocated: BYTES_ALLOCATED.load(Relaxed),
            bytes_deallocated: BYTES_DEALLOCATED.load(Relaxed),
            peak_live_bytes: PEAK_LIVE_BYTES.load(Relaxed),
        }
    }

    /// Whether this allocator is the global allocator (it has served at least one allocation).
    pub fn is_installed() -> bool {
        INSTALLED.load(Relaxed)
    }

    /// Resets the peak to the bytes live now, so a later snapshot's `peak_live_bytes` covers
    /// only what follows.
    pub fn reset_peak() {
        let s = Self::snapshot();
        PEAK_LIVE_BYTES.store(s.live_bytes(), Relaxed);
    }
}

fn on_alloc(size: usize) {
    INSTALLED.store(true, Relaxed);
    ALLOCATIONS.fetch_add(1, Relaxed);
    let size = size as u64;
    let allocated = BYTES_ALLOCATED.fetch_add(size, Relaxed) + size;
    let live = allocated.saturating_sub(BYTES_DEALLOCATED.load(Relaxed));
    PEAK_LIVE_BYTES.fetch_max(live, Relaxed);
}

fn on_dealloc(size: usize) {
    DEALLOCATIONS.fetch_add(1, Relaxed);
    BYTES_DEALLOCATED.fetch_add(size as u64, Relaxed);
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees carry over; the counting uses only atomics and never allocates.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size), which is
        // exactly `System::alloc`'s.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            on_alloc(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by this allocator, i.e. by `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        on_dealloc(layout.size());
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr`/`layout` come from this allocator (i.e. `System`) and the caller upholds
        // `realloc`'s contract for `new_size`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            REALLOCATIONS.fetch_add(1, Relaxed);
            // Counted as freeing the old block and allocating the new one.
            on_dealloc(layout.size());
            DEALLOCATIONS.fetch_sub(1, Relaxed);
            on_alloc(new_size);
            ALLOCATIONS.fetch_sub(1, Relaxed);
        }
        p
    }
}

/// Allocation counters: absolute since process start from [`CountingAllocator::snapshot`], or a
/// difference from [`AllocStats::since`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct AllocStats {
    /// Calls to `alloc`/`alloc_zeroed` (reallocations not included).
    pub allocations: u64,
    /// Calls to `dealloc`.
    pub deallocations: u64,
    /// Successful calls to `realloc`.
    pub reallocations: u64,
    /// Bytes requested, including the new size of every reallocation.
    pub bytes_allocated: u64,
    /// Bytes freed, including the old size of every reallocation.
    pub bytes_deallocated: u64,
    /// Highest live byte count observed (absolute, process-wide, approximate under concurrent
    /// allocation; see [`CountingAllocator::reset_peak`]).
    pub peak_live_bytes: u64,
}

impl AllocStats {
    /// The counts between `before` and `self` (saturating). `peak_live_bytes` stays the later
    /// absolute value, since peaks cannot be subtracted.
    pub fn since(&self, before: &AllocStats) -> AllocStats {
        AllocStats {
            allocations: self.allocations.saturating_sub(before.allocations),
            deallocations: self.deallocations.saturating_sub(before.deallocations),
            reallocations: self.reallocations.saturating_sub(before.reallocations),
            bytes_allocated: self.bytes_allocated.saturating_sub(before.bytes_allocated),
            bytes_deallocated: self
                .bytes_deallocated
                .saturating_sub(before.bytes_deallocated),
            peak_live_bytes: self.peak_live_bytes,
        }
    }

    /// Bytes allocated and not yet freed.
    pub fn live_bytes(&self) -> u64 {
        self.bytes_allocated.saturating_sub(self.bytes_deallocated)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_table() {
        let a = AllocStats {
            allocations: 10,
            deallocations: 5,
            reallocations: 1,
            bytes_allocated: 1000,
            bytes_deallocated: 400,
            peak_live_bytes: 700,
        };
        let b = AllocStats {
            allocations: 15,
            deallocations: 9,
            reallocations: 1,
            bytes_allocated: 1500,
            bytes_deallocated: 1400,
            peak_live_bytes: 900,
        };
        let d = b.since(&a);
        assert_eq!((d.allocations, d.deallocations, d.reallocations), (5, 4, 0));
        assert_eq!(
            (d.bytes_allocated, d.bytes_deallocated, d.peak_live_bytes),
            (500, 1000, 900)
        );
        assert_eq!(a.since(&b).allocations, 0, "saturates");
        assert_eq!(b.live_bytes(), 100);
    }
}
