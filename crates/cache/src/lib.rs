#![doc = include_str!("../README.md")]
//!
//! # Overview
//!
//! [`CacheBuilder`] takes the bound (`max_entries`), an optional TTL and an optional cleanup
//! interval and builds a [`Cache`]. A `Cache` is a cheap handle (`Clone` is one `Arc` clone,
//! `Send + Sync`): [`Cache::insert`] adds or replaces a value and evicts the oldest entry when
//! the bound is passed, [`Cache::get`] returns a clone of a live value, [`Cache::get_or_load`]
//! fills a miss through a loader with single-flight, and [`Cache::stats`] returns a
//! [`CacheStats`] snapshot.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::any::Any;
use std::borrow::Borrow;
use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

mod conditional;
mod counters;
mod flight;
pub use conditional::{ConditionalCache, Validated};
use counters::{Counter, STRIPES, StripedCounters, stripe};
use flight::{Flight, LeaderGuard, Role};

use crossbeam::utils::CachePadded;
use dashmap::DashMap;

/// Errors of this crate; only [`CacheBuilder::build`] returns them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `max_entries` was 0.
    #[error("cache bound max_entries must be at least 1, got 0")]
    ZeroCapacity,
    /// A duration setting was zero.
    #[error("cache setting {setting} must be longer than 0 ms")]
    ZeroDuration {
        /// The builder method that got the zero duration (`ttl` or `cleanup_interval`).
        setting: &'static str,
    },
    /// The background cleanup thread could not be started.
    #[error("cannot spawn the cache cleanup thread")]
    SpawnCleanup {
        /// The error from `std::thread::Builder::spawn`.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A snapshot of a cache's counters since it was built. Counters are relaxed atomics summed over
/// stripes, so a snapshot taken during concurrent use may be slightly inconsistent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// `get`/`get_or_load` calls that found a live value.
    pub hits: u64,
    /// `get`/`get_or_load` calls that found nothing or an expired value.
    pub misses: u64,
    /// Entries removed to keep the cache within `max_entries`.
    pub evictions: u64,
    /// Entries removed because their TTL had passed (by `get`, eviction or cleanup).
    pub expirations: u64,
    /// Loader runs started by `get_or_load` (a shared flight counts once).
    pub loads: u64,
    /// Entries currently stored (may include expired entries not yet removed).
    pub size: usize,
}

/// Builds a [`Cache`]: `CacheBuilder::new(max_entries).ttl(..).cleanup_interval(..).build()`.
#[derive(Debug, Clone)]
pub struct CacheBuilder {
    max_entries: usize,
    ttl: Option<Duration>,
    cleanup_interval: Option<Duration>,
}

impl CacheBuilder {
    /// A builder for a cache holding at most `max_entries` entries, no TTL and no cleanup
    /// thread.
    pub fn new(max_entries: usize) -> Self {
        Self {
            max_entries,
            ttl: None,
            cleanup_interval: None,
        }
    }

    /// Entries expire `ttl` after their last `insert` (monotonic clock, [`Instant`]).
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = Some(ttl);
        self
    }

    /// Starts a thread named `broadcast-cache-cleanup` that removes expired entries every
    /// `interval` (a full scan of the map, one shard write lock at a time). It stops when the
    /// last `Cache` handle is dropped. Without a TTL the thread is not started.
    pub fn cleanup_interval(mut self, interval: Duration) -> Self {
        self.cleanup_interval = Some(interval);
        self
    }

    /// Builds the cache. Allocates the map shards and 8 empty insertion-order queues; spawns one
    /// thread when both a TTL and a cleanup interval are set.
    ///
    /// # Errors
    /// [`Error::ZeroCapacity`], [`Error::ZeroDuration`], [`Error::SpawnCleanup`].
    pub fn build<K, V>(self) -> Result<Cache<K, V>>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        if self.max_entries == 0 {
            return Err(Error::ZeroCapacity);
        }
        if self.ttl == Some(Duration::ZERO) {
            return Err(Error::ZeroDuration { setting: "ttl" });
        }
        if self.cleanup_interval == Some(Duration::ZERO) {
            return Err(Error::ZeroDuration {
                setting: "cleanup_interval",
            });
        }
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let inner = Arc::new(Inner {
            map: DashMap::with_hasher(Hasher::default()),
            order: (0..STRIPES)
                .map(|_| CachePadded::new(Mutex::new(VecDeque::new())))
                .collect(),
            max_entries: self.max_entries,
            ttl: self.ttl,
            epoch: Instant::now(),
            len: CachePadded::new(AtomicUsize::new(0)),
            counters: StripedCounters::new(),
            inflight: Mutex::new(HashMap::new()),
            _stop_cleanup: stop_tx,
        });
        if let (Some(_), Some(interval)) = (self.ttl, self.cleanup_interval) {
            let weak = Arc::downgrade(&inner);
            std::thread::Builder::new()
                .name("broadcast-cache-cleanup".into())
                .spawn(move || cleanup_loop(&weak, &stop_rx, interval))
                .map_err(|source| Error::SpawnCleanup { source })?;
        }
        Ok(Cache { inner })
    }
}

fn cleanup_loop<K, V>(weak: &Weak<Inner<K, V>>, stop: &mpsc::Receiver<()>, interval: Duration)
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    // The sender lives in `Inner`: dropping the last cache handle disconnects the channel and
    // wakes this thread at once.
    while let Err(RecvTimeoutError::Timeout) = stop.recv_timeout(interval) {
        let Some(inner) = weak.upgrade() else { return };
        inner.remove_expired();
    }
}

/// A bounded TTL cache; see the crate docs. Cloning shares the same cache.
pub struct Cache<K, V> {
    inner: Arc<Inner<K, V>>,
}

impl<K, V> Clone for Cache<K, V> {
    fn clone(&self) -> Self {
        Self {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<K, V> fmt::Debug for Cache<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cache")
            .field("max_entries", &self.inner.max_entries)
            .field("ttl", &self.inner.ttl)
            .field("size", &self.inner.len.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

struct Entry<V> {
    value: V,
    /// Nanoseconds since `Inner::epoch` after which the entry is dead; `u64::MAX` without TTL.
    expires_at_ns: u64,
    /// Identifies this insertion of the key in the insertion-order queues.
    generation: u64,
}

/// foldhash's fast hasher, seeded per cache: several times cheaper than SipHash for short keys.
type Hasher = foldhash::fast::RandomState;

type Flights<K> = Mutex<HashMap<K, Arc<dyn Any + Send + Sync>>>;

/// One insertion-order queue: `(key, generation)` pairs, oldest first.
type OrderQueue<K> = CachePadded<Mutex<VecDeque<(K, u64)>>>;

struct Inner<K, V> {
    map: DashMap<K, Entry<V>, Hasher>,
    order: Box<[OrderQueue<K>]>,
    max_entries: usize,
    ttl: Option<Duration>,
    epoch: Instant,
    len: CachePadded<AtomicUsize>,
    counters: StripedCounters,
    inflight: Flights<K>,
    _stop_cleanup: mpsc::Sender<()>,
}

impl<K, V> Cache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A clone of the live value for `key`, or `None` when absent or expired (an expired entry
    /// is removed). Cost: one hash, one shard read lock, one `V::clone`, one clock read when a
    /// TTL is set; never allocates, blocks only while a writer holds the key's shard.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let inner = &*self.inner;
        let now = inner.now_ns();
        let expired_generation = {
            let entry = inner.map.get(key);
            match entry {
                Some(e) if e.expires_at_ns > now => {
                    let value = e.value.clone();
                    drop(e);
                    inner.counters.add(Counter::Hits);
                    return Some(value);
                }
                Some(e) => Some(e.generation),
                None => None,
            }
        };
        inner.counters.add(Counter::Misses);
        if let Some(generation) = expired_generation {
            inner.remove_if_generation(key, generation, true);
        }
        None
    }

    /// Inserts or replaces the value for `key` and restarts its TTL. A replaced key keeps its
    /// place in the eviction order. Cost: one shard write lock; for a new key also one key clone,
    /// one queue push (may allocate when the queue grows) and, past `max_entries`, one eviction
    /// (amortised O(1)). Returns the previous live value, if any.
    pub fn insert(&self, key: K, value: V) -> Option<V> {
        let inner = &*self.inner;
        let now = inner.now_ns();
        let expires_at_ns = inner.expiry(now);
        let (previous, new_key) = match inner.map.entry(key) {
            dashmap::Entry::Occupied(mut o) => {
                let e = o.get_mut();
                let old = std::mem::replace(&mut e.value, value);
                let was_live = e.expires_at_ns > now;
                e.expires_at_ns = expires_at_ns;
                (was_live.then_some(old), None)
            }
            dashmap::Entry::Vacant(v) => {
                let generation = next_generation();
                let key = v.key().clone();
                v.insert(Entry {
                    value,
                    expires_at_ns,
                    generation,
                });
                (None, Some((key, generation)))
            }
        };
        if let Some(queued) = new_key {
            let len = inner.len.fetch_add(1, Ordering::Relaxed) + 1;
            inner.push_order(queued);
            if len > inner.max_entries {
                inner.evict_to_bound();
            }
        }
        previous
    }

    /// Removes `key` and returns its value if it was live. Cost: one shard write lock; the
    /// key's queue entry becomes stale and is skipped later.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let inner = &*self.inner;
        let (_, e) = inner.map.remove(key)?;
        inner.len.fetch_sub(1, Ordering::Relaxed);
        (e.expires_at_ns > inner.now_ns()).then_some(e.value)
    }

    /// The live value for `key`, or the result of `load` stored under `key`.
    ///
    /// Single-flight: while one caller runs `load` for a key, other callers of `get_or_load`
    /// for that key (with the same `E`) block until it finishes and get its result: the value,
    /// or the same error as `Arc<E>` (the error is shared, not cloned, and never cached).
    /// The caller that ran the loader gets its error wrapped in an `Arc` too.
    ///
    /// Cost on a hit: as [`Cache::get`]. On a miss: one mutex-protected map insert of the
    /// flight (one allocation), the loader on the calling thread, then [`Cache::insert`].
    /// Blocks while another caller's loader for the same key runs. If the loader panics, the
    /// panic propagates to this caller and one waiter runs the loader again.
    ///
    /// # Errors
    /// The loader's error, as `Arc<E>`.
    pub fn get_or_load<E, F>(&self, key: K, load: F) -> Result<V, Arc<E>>
    where
        E: Send + Sync + 'static,
        F: FnOnce() -> Result<V, E>,
    {
        if let Some(v) = self.get(&key) {
            return Ok(v);
        }
        let inner = &*self.inner;
        let mut load = Some(load);
        loop {
            let flight = {
                let mut flights = lock(&inner.inflight);
                match flights.get(&key) {
                    Some(existing) => match Arc::clone(existing).downcast::<Flight<V, E>>() {
                        Ok(flight) => Role::Follower(flight),
                        // Another caller loads this key with a different error type.
                        Err(_) => Role::Alone,
                    },
                    None => {
                        let flight = Arc::new(Flight::<V, E>::new());
                        flights.insert(
                            key.clone(),
                            Arc::clone(&flight) as Arc<dyn Any + Send + Sync>,
                        );
                        Role::Leader(flight)
                    }
                }
            };
            match flight {
                Role::Follower(flight) => match flight.wait() {
                    Some(result) => return result,
                    // The leader panicked: try again, possibly as the new leader.
                    None => continue,
                },
                Role::Alone => {
                    let load = load
                        .take()
                        .expect("the loader is taken once: Alone returns");
                    inner.counters.add(Counter::Loads);
                    let value = load().map_err(Arc::new)?;
                    self.insert(key, value.clone());
                    return Ok(value);
                }
                Role::Leader(flight) => {
                    let mut guard = LeaderGuard {
                        inner,
                        key: &key,
                        flight: &flight,
                        done: false,
                    };
                    // A flight that finished between our miss and our registration left its
                    // value in the map.
                    if let Some(v) = self.peek_live(&key) {
                        guard.finish(Ok(v.clone()));
                        return Ok(v);
                    }
                    let load = load
                        .take()
                        .expect("the loader is taken once: Leader returns");
                    inner.counters.add(Counter::Loads);
                    let result = load().map_err(Arc::new);
                    if let Ok(v) = &result {
                        self.insert(key.clone(), v.clone());
                    }
                    guard.finish(result.clone());
                    return result;
                }
            }
        }
    }

    /// Like `get` without touching the counters or removing anything.
    fn peek_live(&self, key: &K) -> Option<V> {
        let now = self.inner.now_ns();
        self.inner
            .map
            .get(key)
            .filter(|e| e.expires_at_ns > now)
            .map(|e| e.value.clone())
    }

    /// Removes every expired entry now (a full scan, one shard write lock at a time) and
    /// returns how many were removed. The cleanup thread calls this; without a TTL it is a no-op.
    pub fn remove_expired(&self) -> usize {
        self.inner.remove_expired()
    }

    /// Number of stored entries (may include expired ones not yet removed). One atomic load.
    pub fn len(&self) -> usize {
        self.inner.len.load(Ordering::Relaxed)
    }

    /// `true` when no entries are stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound given to [`CacheBuilder::new`].
    pub fn max_entries(&self) -> usize {
        self.inner.max_entries
    }

    /// A snapshot of the counters; sums a few striped atomics, no allocation.
    pub fn stats(&self) -> CacheStats {
        let c = &self.inner.counters;
        CacheStats {
            hits: c.sum(Counter::Hits),
            misses: c.sum(Counter::Misses),
            evictions: c.sum(Counter::Evictions),
            expirations: c.sum(Counter::Expirations),
            loads: c.sum(Counter::Loads),
            size: self.len(),
        }
    }
}

impl<K, V> Inner<K, V>
where
    K: Hash + Eq + Clone,
    V: Clone,
{
    fn now_ns(&self) -> u64 {
        match self.ttl {
            // Without a TTL nothing expires and no clock is read.
            None => 0,
            Some(_) => u64::try_from(self.epoch.elapsed().as_nanos()).unwrap_or(u64::MAX - 1),
        }
    }

    fn expiry(&self, now_ns: u64) -> u64 {
        match self.ttl {
            None => u64::MAX,
            Some(ttl) => now_ns.saturating_add(u64::try_from(ttl.as_nanos()).unwrap_or(u64::MAX)),
        }
    }

    /// Removes `key` if it still is the insertion `generation`; returns whether it did.
    fn remove_if_generation<Q>(&self, key: &Q, generation: u64, expired: bool) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let now = self.now_ns();
        let removed = self.map.remove_if(key, |_, e| {
            e.generation == generation && (!expired || e.expires_at_ns <= now)
        });
        match removed {
            Some((_, e)) => {
                self.len.fetch_sub(1, Ordering::Relaxed);
                let counter = if e.expires_at_ns <= now {
                    Counter::Expirations
                } else {
                    Counter::Evictions
                };
                self.counters.add(counter);
                true
            }
            None => false,
        }
    }

    fn push_order(&self, queued: (K, u64)) {
        let mut queue = lock(&self.order[stripe()]);
        queue.push_back(queued);
        // Live keys are at most `max_entries`, so past twice that at least half the queue is
        // stale and compaction pays for itself.
        if queue.len() > 2 * self.max_entries + 64 {
            queue.retain(|(k, g)| self.map.get(k).is_some_and(|e| e.generation == *g));
        }
    }

    /// Pops the oldest queue entries until one live entry was removed or the size is within
    /// the bound. Amortised O(1): each queue entry is popped at most once.
    fn evict_to_bound(&self) {
        let first = stripe();
        while self.len.load(Ordering::Relaxed) > self.max_entries {
            let popped =
                (0..STRIPES).find_map(|i| lock(&self.order[(first + i) % STRIPES]).pop_front());
            let Some((key, generation)) = popped else {
                return;
            };
            self.remove_if_generation(&key, generation, false);
        }
    }

    fn remove_expired(&self) -> usize {
        if self.ttl.is_none() {
            return 0;
        }
        let now = self.now_ns();
        let mut removed = 0usize;
        self.map.retain(|_, e| {
            let live = e.expires_at_ns > now;
            removed += usize::from(!live);
            live
        });
        if removed > 0 {
            self.len.fetch_sub(removed, Ordering::Relaxed);
            for _ in 0..removed {
                self.counters.add(Counter::Expirations);
            }
        }
        removed
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The protected data stays consistent across a panic (single push/pop/insert/remove calls),
    // so a poisoned lock is still usable.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Unique per process: the thread's number in the high 24 bits, a per-thread counter below.
fn next_generation() -> u64 {
    static THREADS: AtomicU64 = AtomicU64::new(0);
    thread_local! {
        static NEXT: Cell<u64> = const { Cell::new(u64::MAX) };
    }
    NEXT.with(|n| {
        let mut v = n.get();
        if v == u64::MAX || v & ((1 << 40) - 1) == (1 << 40) - 1 {
            v = THREADS.fetch_add(1, Ordering::Relaxed) << 40;
        }
        n.set(v + 1);
        v
    })
}

#[cfg(test)]
#[path = "lib_tests.rs"]
mod tests;
