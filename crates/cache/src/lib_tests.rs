//! Unit tests of the cache.

use super::*;
use std::sync::Barrier;

fn cache(max: usize) -> Cache<u32, u32> {
    CacheBuilder::new(max).build().expect("valid settings")
}

#[test]
fn get_insert_remove() {
    let c = cache(10);
    assert_eq!(c.get(&1), None);
    assert_eq!(c.insert(1, 10), None);
    assert_eq!(c.insert(1, 11), Some(10));
    assert_eq!(c.get(&1), Some(11));
    assert_eq!(c.remove(&1), Some(11));
    assert_eq!(c.remove(&1), None);
    let s = c.stats();
    assert_eq!((s.hits, s.misses, s.size), (1, 1, 0));
}

#[test]
fn evicts_in_insertion_order() {
    // (max, keys inserted in order, keys expected to survive)
    let cases: [(usize, &[u32], &[u32]); 4] = [
        (3, &[1, 2, 3, 4], &[2, 3, 4]),
        (2, &[1, 2, 1, 3], &[2, 3]), // replacing 1 keeps its old position
        (1, &[5, 6, 7], &[7]),
        (3, &[1, 2, 3], &[1, 2, 3]),
    ];
    for (max, inserts, survivors) in cases {
        let c = cache(max);
        for &k in inserts {
            c.insert(k, k);
        }
        let mut live: Vec<u32> = inserts
            .iter()
            .copied()
            .filter(|k| c.get(k).is_some())
            .collect();
        live.dedup();
        assert_eq!(live, survivors, "max {max}, inserts {inserts:?}");
        assert_eq!(c.len(), survivors.len());
    }
}

#[test]
fn removed_keys_leave_stale_queue_entries_that_are_skipped() {
    let c = cache(2);
    c.insert(1, 1);
    c.insert(2, 2);
    c.remove(&1);
    c.insert(3, 3); // size 2: no eviction
    c.insert(4, 4); // evicts 2 (1 is stale)
    assert_eq!(c.get(&2), None);
    assert_eq!(c.get(&3), Some(3));
    assert_eq!(c.get(&4), Some(4));
    assert_eq!(c.stats().evictions, 1);
}

#[test]
fn queue_is_compacted_under_insert_remove_churn() {
    let c = cache(4);
    for i in 0..10_000 {
        c.insert(i, i);
        c.remove(&i);
    }
    let queued: usize = c.inner.order.iter().map(|q| lock(q).len()).sum();
    assert!(queued <= 2 * 4 + 64 + 1, "queue holds {queued} entries");
}

#[test]
fn expired_entries_are_not_returned() {
    let c: Cache<u32, u32> = CacheBuilder::new(10)
        .ttl(Duration::from_millis(20))
        .build()
        .expect("valid settings");
    c.insert(1, 1);
    std::thread::sleep(Duration::from_millis(40));
    assert_eq!(c.get(&1), None);
    let s = c.stats();
    assert_eq!((s.expirations, s.size, s.misses), (1, 0, 1));
}

#[test]
fn remove_expired_scans_everything() {
    let c: Cache<u32, u32> = CacheBuilder::new(100)
        .ttl(Duration::from_millis(10))
        .build()
        .expect("valid settings");
    for i in 0..50 {
        c.insert(i, i);
    }
    std::thread::sleep(Duration::from_millis(30));
    c.insert(99, 99);
    assert_eq!(c.remove_expired(), 50);
    assert_eq!(c.len(), 1);
    assert_eq!(c.stats().expirations, 50);
}

#[test]
fn cleanup_thread_removes_expired_and_stops_on_drop() {
    let c: Cache<u32, u32> = CacheBuilder::new(100)
        .ttl(Duration::from_millis(5))
        .cleanup_interval(Duration::from_millis(5))
        .build()
        .expect("valid settings");
    c.insert(1, 1);
    let weak = Arc::downgrade(&c.inner);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !c.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(c.len(), 0);
    drop(c);
    // The thread holds only a weak reference (upgraded briefly during a scan).
    while weak.strong_count() > 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(weak.strong_count(), 0);
}

#[test]
fn builder_rejects_bad_settings() {
    let check = |b: CacheBuilder, expected: &str| {
        let err = b.build::<u32, u32>().expect_err("invalid settings");
        assert_eq!(err.to_string(), expected);
    };
    check(
        CacheBuilder::new(0),
        "cache bound max_entries must be at least 1, got 0",
    );
    check(
        CacheBuilder::new(1).ttl(Duration::ZERO),
        "cache setting ttl must be longer than 0 ms",
    );
    check(
        CacheBuilder::new(1).cleanup_interval(Duration::ZERO),
        "cache setting cleanup_interval must be longer than 0 ms",
    );
}

#[test]
fn get_or_load_caches_values_but_not_errors() {
    let c = cache(10);
    let err = c
        .get_or_load(1, || Err::<u32, _>("boom"))
        .expect_err("loader fails");
    assert_eq!(*err, "boom");
    assert_eq!(c.get(&1), None);
    assert_eq!(c.get_or_load(1, || Ok::<_, &str>(7)), Ok(7));
    assert_eq!(c.get_or_load(1, || Err::<u32, _>("not called")), Ok(7));
    assert_eq!(c.stats().loads, 2);
}

#[test]
fn single_flight_runs_the_loader_once_for_8_threads() {
    let c = cache(10);
    let calls = AtomicUsize::new(0);
    let barrier = Barrier::new(8);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                barrier.wait();
                let v = c.get_or_load(42, || {
                    calls.fetch_add(1, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(50));
                    Ok::<_, String>(4242)
                });
                assert_eq!(v, Ok(4242));
            });
        }
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.stats().loads, 1);
}

#[test]
fn single_flight_shares_one_error_with_all_waiters() {
    let c = cache(10);
    let calls = AtomicUsize::new(0);
    let barrier = Barrier::new(4);
    let errors: Vec<Arc<String>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    c.get_or_load(7, || {
                        calls.fetch_add(1, Ordering::SeqCst);
                        std::thread::sleep(Duration::from_millis(50));
                        Err::<u32, _>("fetch failed".to_string())
                    })
                    .expect_err("loader fails")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    assert!(errors.iter().all(|e| Arc::ptr_eq(e, &errors[0])));
    assert_eq!(c.get(&7), None, "errors are not cached");
}

#[test]
fn panicking_loader_releases_waiters() {
    let c = cache(10);
    let barrier = Barrier::new(2);
    std::thread::scope(|s| {
        let leader = s.spawn(|| {
            c.get_or_load(1, || -> Result<u32, ()> {
                barrier.wait();
                std::thread::sleep(Duration::from_millis(30));
                panic!("loader panicked")
            })
        });
        barrier.wait();
        let v = c.get_or_load(1, || Ok::<_, ()>(5));
        assert_eq!(v, Ok(5));
        assert!(leader.join().is_err());
    });
    assert!(lock(&c.inner.inflight).is_empty());
}

#[test]
fn concurrent_inserts_respect_the_bound() {
    let c = cache(64);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let c = c.clone();
            s.spawn(move || {
                for i in 0..5_000 {
                    c.insert(t * 100_000 + i, i);
                    let _ = c.get(&(t * 100_000 + i / 2));
                }
            });
        }
    });
    assert!(c.len() <= 64, "size {}", c.len());
    assert_eq!(c.len(), c.inner.map.len());
    assert_eq!(c.stats().evictions, 20_000 - c.len() as u64);
}
