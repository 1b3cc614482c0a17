//! Per-thread stripes: the hit, miss, eviction, expiration and load counters, and the stripe
//! index the eviction order shares.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use crossbeam::utils::CachePadded;

/// Stripes of the counters and of the eviction order.
pub(super) const STRIPES: usize = 8;

#[derive(Clone, Copy)]
pub(super) enum Counter {
    Hits = 0,
    Misses = 1,
    Evictions = 2,
    Expirations = 3,
    Loads = 4,
}

/// Counters split over cache-padded stripes picked per thread, so concurrent `get`s do not
/// bounce one cache line.
pub(super) struct StripedCounters {
    stripes: Box<[CachePadded<[AtomicU64; 5]>]>,
}

impl StripedCounters {
    pub(super) fn new() -> Self {
        Self {
            stripes: (0..STRIPES)
                .map(|_| CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        }
    }

    pub(super) fn add(&self, counter: Counter) {
        self.stripes[stripe()][counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    pub(super) fn sum(&self, counter: Counter) -> u64 {
        self.stripes
            .iter()
            .map(|s| s[counter as usize].load(Ordering::Relaxed))
            .sum()
    }
}

pub(super) fn stripe() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    STRIPE.with(|s| {
        let mut v = s.get();
        if v == usize::MAX {
            v = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES;
            s.set(v);
        }
        v
    })
}
