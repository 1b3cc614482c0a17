#![doc = include_str!("../README.md")]
//!
//! # Overview
//!
//! [`BufferPool`] owns one bounded idle queue per [`SizeClass`]. [`BufferPool::get`] picks the
//! smallest class whose capacity is at least the request, pops an idle buffer (a hit) or allocates
//! one of exactly the class capacity (a miss), and wraps it in a [`PooledBuf`] guard. Dropping the
//! guard clears the buffer and pushes it back to its class unless the class is full or the buffer
//! no longer fits the class (then it is freed and counted as discarded). [`BufferPool::stats`]
//! returns a [`PoolStats`] snapshot. `BufferPool` is a cheap handle (`Clone` is one `Arc` clone)
//! and is `Send + Sync`.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::BytesMut;
use crossbeam::queue::ArrayQueue;
use crossbeam::utils::CachePadded;

/// Errors of this crate; only [`BufferPool::with_classes`] returns them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The class list was empty.
    #[error("a buffer pool needs at least one size class")]
    NoClasses,
    /// A class had a capacity of 0 bytes.
    #[error("size class {index} has a capacity of 0 bytes")]
    ZeroCapacity {
        /// Position of the class in the list given to `with_classes`.
        index: usize,
    },
    /// Two classes had the same capacity.
    #[error("size class of {capacity_bytes} bytes is listed twice")]
    DuplicateClass {
        /// The repeated capacity, in bytes.
        capacity_bytes: usize,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One size class: buffers of `capacity_bytes`, at most `max_retained` of them kept idle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeClass {
    /// Capacity of every buffer of this class, in bytes.
    pub capacity_bytes: usize,
    /// Maximum number of idle buffers the class keeps; more returns are discarded.
    /// 0 means buffers of this class are never kept (every `get` allocates).
    pub max_retained: usize,
}

impl SizeClass {
    /// A class of `capacity_bytes`-byte buffers keeping at most `max_retained` idle ones.
    /// Costs nothing; validation happens in [`BufferPool::with_classes`].
    pub const fn new(capacity_bytes: usize, max_retained: usize) -> Self {
        Self {
            capacity_bytes,
            max_retained,
        }
    }
}

/// The default classes: 1 KiB (256 idle), 8 KiB (64 idle), 64 KiB (16 idle), so at most
/// 1.75 MiB of idle buffers.
pub const DEFAULT_CLASSES: [SizeClass; 3] = [
    SizeClass::new(1024, 256),
    SizeClass::new(8 * 1024, 64),
    SizeClass::new(64 * 1024, 16),
];

/// A snapshot of a pool's counters since it was created. Counters are updated with relaxed
/// atomics, so a snapshot taken while other threads use the pool may be slightly inconsistent
/// (e.g. `returns` briefly ahead of `gets`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Calls to [`BufferPool::get`] (`hits + misses`).
    pub gets: u64,
    /// Gets served by an idle buffer (no allocation).
    pub hits: u64,
    /// Gets that allocated: the class was empty or the request was oversized.
    pub misses: u64,
    /// Gets larger than the largest class (also counted in `misses`); never kept.
    pub oversized: u64,
    /// Buffers given back and kept idle.
    pub returns: u64,
    /// Buffers given back but freed: class full, buffer shrunk or grown, or oversized.
    pub discarded: u64,
}

/// A size-classed buffer pool; see the crate docs. Cloning shares the same pool.
#[derive(Clone)]
pub struct BufferPool {
    inner: Arc<Inner>,
}

struct Inner {
    classes: Box<[Class]>,
    counters: StripedCounters,
}

struct Class {
    capacity_bytes: usize,
    /// `None` when `max_retained == 0` (an `ArrayQueue` needs a capacity of at least 1).
    idle: Option<ArrayQueue<BytesMut>>,
}

impl Default for BufferPool {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for BufferPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufferPool")
            .field("classes", &self.classes())
            .field("stats", &self.stats())
            .finish()
    }
}

impl BufferPool {
    /// A pool with [`DEFAULT_CLASSES`] (1 KiB / 8 KiB / 64 KiB). Allocates the three idle queues
    /// (a few KiB of slots), no buffers.
    pub fn new() -> Self {
        Self::with_classes(DEFAULT_CLASSES).expect("the default classes are valid")
    }

    /// A pool with the given classes, in any order (they are sorted by capacity).
    ///
    /// # Errors
    /// [`Error::NoClasses`] for an empty list, [`Error::ZeroCapacity`] for a 0-byte class,
    /// [`Error::DuplicateClass`] for two classes of the same capacity.
    pub fn with_classes(classes: impl IntoIterator<Item = SizeClass>) -> Result<Self> {
        let mut list: Vec<SizeClass> = classes.into_iter().collect();
        if list.is_empty() {
            return Err(Error::NoClasses);
        }
        if let Some(index) = list.iter().position(|c| c.capacity_bytes == 0) {
            return Err(Error::ZeroCapacity { index });
        }
        list.sort_by_key(|c| c.capacity_bytes);
        if let Some(w) = list
            .windows(2)
            .find(|w| w[0].capacity_bytes == w[1].capacity_bytes)
        {
            return Err(Error::DuplicateClass {
                capacity_bytes: w[0].capacity_bytes,
            });
        }
        let classes = list
            .into_iter()
            .map(|c| Class {
                capacity_bytes: c.capacity_bytes,
                idle: (c.max_retained > 0).then(|| ArrayQueue::new(c.max_retained)),
            })
            .collect();
        Ok(Self {
            inner: Arc::new(Inner {
                classes,
                counters: StripedCounters::new(),
            }),
        })
    }

    /// The classes of this pool, sorted by capacity.
    pub fn classes(&self) -> Vec<SizeClass> {
        self.inner
            .classes
            .iter()
            .map(|c| SizeClass {
                capacity_bytes: c.capacity_bytes,
                max_retained: c.idle.as_ref().map_or(0, ArrayQueue::capacity),
            })
            .collect()
    }

    /// A cleared buffer with `capacity() >= min_capacity`, from the smallest class that fits.
    ///
    /// Cost: on a hit, one lock-free queue pop and no allocation; on a miss, one allocation of the
    /// class capacity (or of exactly `min_capacity` bytes when it exceeds the largest class).
    /// Never blocks, never fails.
    pub fn get(&self, min_capacity: usize) -> PooledBuf {
        let inner = &self.inner;
        let class_index = inner
            .classes
            .iter()
            .position(|c| c.capacity_bytes >= min_capacity);
        let Some(index) = class_index else {
            inner.counters.add(Counter::Misses);
            inner.counters.add(Counter::Oversized);
            return PooledBuf {
                buf: BytesMut::with_capacity(min_capacity),
                pool: Some(Arc::clone(inner)),
                class: None,
            };
        };
        let class = &inner.classes[index];
        let buf = match class.idle.as_ref().and_then(ArrayQueue::pop) {
            Some(buf) => {
                inner.counters.add(Counter::Hits);
                buf
            }
            None => {
                inner.counters.add(Counter::Misses);
                BytesMut::with_capacity(class.capacity_bytes)
            }
        };
        PooledBuf {
            buf,
            pool: Some(Arc::clone(inner)),
            class: Some(index),
        }
    }

    /// A snapshot of the counters; sums a few striped atomics, no allocation.
    pub fn stats(&self) -> PoolStats {
        let c = &self.inner.counters;
        let hits = c.sum(Counter::Hits);
        let misses = c.sum(Counter::Misses);
        PoolStats {
            gets: hits + misses,
            hits,
            misses,
            oversized: c.sum(Counter::Oversized),
            returns: c.sum(Counter::Returns),
            discarded: c.sum(Counter::Discarded),
        }
    }

    /// Number of idle buffers currently kept, summed over the classes.
    pub fn idle_count(&self) -> usize {
        self.inner
            .classes
            .iter()
            .filter_map(|c| c.idle.as_ref())
            .map(ArrayQueue::len)
            .sum()
    }
}

impl Inner {
    fn give_back(&self, class: usize, mut buf: BytesMut) {
        let class = &self.classes[class];
        let cap = buf.capacity();
        // A buffer split by the caller may be shorter than its class; one grown past twice its
        // class would pin more memory than the class promises.
        if cap < class.capacity_bytes || cap > class.capacity_bytes.saturating_mul(2) {
            self.counters.add(Counter::Discarded);
            return;
        }
        buf.clear();
        match class.idle.as_ref().map(|q| q.push(buf)) {
            Some(Ok(())) => self.counters.add(Counter::Returns),
            Some(Err(_)) | None => self.counters.add(Counter::Discarded),
        }
    }
}

/// A buffer borrowed from a [`BufferPool`]; derefs to [`BytesMut`] and goes back to the pool when
/// dropped (see the crate's invariants for when it is freed instead).
pub struct PooledBuf {
    buf: BytesMut,
    /// `None` once detached by `into_inner`.
    pool: Option<Arc<Inner>>,
    /// `None` for oversized buffers, which never go back.
    class: Option<usize>,
}

impl PooledBuf {
    /// Takes the buffer out of the pool's care: it will not be returned. Counted neither as a
    /// return nor as a discard. No allocation.
    pub fn into_inner(mut self) -> BytesMut {
        self.pool = None;
        std::mem::take(&mut self.buf)
    }
}

impl Deref for PooledBuf {
    type Target = BytesMut;
    fn deref(&self) -> &BytesMut {
        &self.buf
    }
}

impl DerefMut for PooledBuf {
    fn deref_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
}

impl AsRef<[u8]> for PooledBuf {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl AsMut<[u8]> for PooledBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

impl fmt::Debug for PooledBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PooledBuf")
            .field("len", &self.buf.len())
            .field("capacity", &self.buf.capacity())
            .field("pooled", &self.pool.is_some())
            .finish()
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        match (self.pool.take(), self.class) {
            (Some(pool), Some(class)) => pool.give_back(class, std::mem::take(&mut self.buf)),
            (Some(pool), None) => pool.counters.add(Counter::Discarded),
            // Detached by `into_inner`: the buffer is the caller's now.
            (None, _) => {}
        }
    }
}

#[derive(Clone, Copy)]
enum Counter {
    Hits = 0,
    Misses = 1,
    Oversized = 2,
    Returns = 3,
    Discarded = 4,
}

const STRIPES: usize = 8;

/// Counters split over cache-padded stripes picked per thread, so that two threads using the
/// pool do not bounce one cache line on every `get`.
struct StripedCounters {
    stripes: Box<[CachePadded<[AtomicU64; 5]>]>,
}

impl StripedCounters {
    fn new() -> Self {
        Self {
            stripes: (0..STRIPES)
                .map(|_| CachePadded::new(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        }
    }

    fn add(&self, counter: Counter) {
        self.stripes[stripe()][counter as usize].fetch_add(1, Ordering::Relaxed);
    }

    fn sum(&self, counter: Counter) -> u64 {
        self.stripes
            .iter()
            .map(|s| s[counter as usize].load(Ordering::Relaxed))
            .sum()
    }
}

fn stripe() -> usize {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_picks_the_smallest_class_that_fits() {
        let pool = BufferPool::new();
        let cases = [
            (0, 1024),
            (1, 1024),
            (1024, 1024),
            (1025, 8192),
            (8192, 8192),
            (65_536, 65_536),
        ];
        for (request, expected) in cases {
            assert_eq!(pool.get(request).capacity(), expected, "request {request}");
        }
    }

    #[test]
    fn dropped_buffer_is_reused_cleared() {
        let pool = BufferPool::new();
        {
            let mut b = pool.get(100);
            b.extend_from_slice(b"secret");
        }
        let b = pool.get(100);
        assert!(b.is_empty());
        let s = pool.stats();
        assert_eq!(
            (s.gets, s.hits, s.misses, s.returns, s.discarded),
            (2, 1, 1, 1, 0)
        );
    }

    #[test]
    fn oversized_requests_are_allocated_and_never_kept() {
        let pool = BufferPool::new();
        let b = pool.get(100_000);
        assert!(b.capacity() >= 100_000);
        drop(b);
        let s = pool.stats();
        assert_eq!(
            (s.misses, s.oversized, s.returns, s.discarded),
            (1, 1, 0, 1)
        );
        assert_eq!(pool.idle_count(), 0);
    }

    #[test]
    fn per_class_cap_bounds_idle_buffers() {
        let pool = BufferPool::with_classes([SizeClass::new(64, 2)]).expect("valid classes");
        let held: Vec<_> = (0..5).map(|_| pool.get(10)).collect();
        drop(held);
        assert_eq!(pool.idle_count(), 2);
        let s = pool.stats();
        assert_eq!((s.returns, s.discarded), (2, 3));
    }

    #[test]
    fn grown_or_split_buffers_are_discarded() {
        let pool = BufferPool::with_classes([SizeClass::new(64, 4)]).expect("valid classes");
        {
            let mut grown = pool.get(10);
            grown.reserve(1000);
        }
        {
            let mut split = pool.get(10);
            split.extend_from_slice(&[0; 40]);
            let _front = split.split_to(40);
        }
        assert_eq!(pool.stats().discarded, 2);
        assert_eq!(pool.idle_count(), 0);
    }

    #[test]
    fn into_inner_detaches_the_buffer() {
        let pool = BufferPool::new();
        let b = pool.get(10).into_inner();
        assert_eq!(b.capacity(), 1024);
        let s = pool.stats();
        assert_eq!((s.returns, s.discarded), (0, 0));
    }

    #[test]
    fn zero_retention_class_never_keeps() {
        let pool = BufferPool::with_classes([SizeClass::new(64, 0)]).expect("valid classes");
        drop(pool.get(1));
        drop(pool.get(1));
        let s = pool.stats();
        assert_eq!((s.hits, s.misses, s.discarded), (0, 2, 2));
    }

    #[test]
    fn with_classes_rejects_bad_lists() {
        let check = |classes: Vec<SizeClass>, expected: &str| {
            let err = BufferPool::with_classes(classes).expect_err("invalid classes");
            assert_eq!(err.to_string(), expected);
        };
        check(vec![], "a buffer pool needs at least one size class");
        check(
            vec![SizeClass::new(8, 1), SizeClass::new(0, 1)],
            "size class 1 has a capacity of 0 bytes",
        );
        check(
            vec![
                SizeClass::new(8, 1),
                SizeClass::new(16, 1),
                SizeClass::new(8, 3),
            ],
            "size class of 8 bytes is listed twice",
        );
    }

    #[test]
    fn classes_are_sorted() {
        let pool = BufferPool::with_classes([SizeClass::new(4096, 1), SizeClass::new(16, 3)])
            .expect("valid classes");
        assert_eq!(
            pool.classes(),
            vec![SizeClass::new(16, 3), SizeClass::new(4096, 1)]
        );
        assert_eq!(pool.get(17).capacity(), 4096);
    }

    #[test]
    fn shared_across_threads_counts_every_get() {
        let pool = BufferPool::new();
        std::thread::scope(|s| {
            for t in 0..4 {
                let pool = pool.clone();
                s.spawn(move || {
                    for i in 0..1000 {
                        let mut b = pool.get(if (i + t) % 2 == 0 { 512 } else { 4000 });
                        b.extend_from_slice(&[t as u8; 16]);
                        assert_eq!(&b[..], &[t as u8; 16]);
                    }
                });
            }
        });
        let s = pool.stats();
        assert_eq!(s.gets, 4000);
        assert_eq!(s.returns + s.discarded, 4000);
        assert!(pool.idle_count() <= 8);
    }
}
