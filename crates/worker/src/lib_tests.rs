//! Unit tests of the worker pool.

use super::*;
use std::sync::Barrier;
use std::time::Duration;

#[test]
fn map_keeps_submission_order() {
    let pool = WorkerPool::new(3, 2).expect("pool starts");
    let cases: [(Vec<u64>, Vec<u64>); 3] = [
        (vec![], vec![]),
        (vec![5], vec![25]),
        ((0..100).collect(), (0..100).map(|x| x * x).collect()),
    ];
    for (input, expected) in cases {
        let got: Vec<u64> = pool
            .map(input, |x| {
                // later items finish first
                std::thread::sleep(Duration::from_micros(100 - x.min(100)));
                x * x
            })
            .expect("pool is running")
            .into_iter()
            .map(|r| r.expect("no task fails"))
            .collect();
        assert_eq!(got, expected);
    }
}

#[test]
fn panic_becomes_error_and_worker_lives_on() {
    let pool = WorkerPool::new(1, 4).expect("pool starts");
    type Task = Box<dyn FnOnce() -> u32 + Send>;
    let cases: [(Task, Result<u32, TaskError>); 4] = [
        (
            Box::new(|| panic!("static message")),
            Err(TaskError::Panicked {
                message: "static message".into(),
            }),
        ),
        (
            Box::new(|| panic!("formatted {}", 7)),
            Err(TaskError::Panicked {
                message: "formatted 7".into(),
            }),
        ),
        (
            Box::new(|| std::panic::panic_any(5u8)),
            Err(TaskError::Panicked {
                message: "<non-string panic payload>".into(),
            }),
        ),
        (Box::new(|| 3), Ok(3)),
    ];
    for (task, expected) in cases {
        assert_eq!(pool.submit(task).expect("pool is running").join(), expected);
    }
    let s = pool.stats();
    assert_eq!((s.processed, s.panicked, s.workers), (4, 3, 1));
}

#[test]
fn try_submit_reports_a_full_queue() {
    let pool = WorkerPool::new(1, 1).expect("pool starts");
    let gate = Arc::new(Barrier::new(2));
    let g = Arc::clone(&gate);
    let running = pool.submit(move || g.wait()).expect("pool is running");
    // wait until the worker took the first task, so the queue is empty
    while pool.stats().active == 0 {
        std::thread::yield_now();
    }
    let queued = pool.try_submit(|| 1).expect("one slot free");
    let err = pool.try_submit(|| 2).expect_err("queue is full");
    assert!(matches!(err, Error::QueueFull { capacity: 1 }), "{err:?}");
    assert_eq!(err.to_string(), "worker queue is full (1 tasks)");
    assert_eq!(pool.stats().queued, 1);
    gate.wait();
    running.join().expect("task runs");
    assert_eq!(queued.join(), Ok(1));
}

#[test]
fn submit_blocks_until_the_queue_has_room() {
    let pool = Arc::new(WorkerPool::new(1, 1).expect("pool starts"));
    let gate = Arc::new(Barrier::new(2));
    let g = Arc::clone(&gate);
    let first = pool.submit(move || g.wait()).expect("pool is running");
    while pool.stats().active == 0 {
        std::thread::yield_now();
    }
    let _second = pool.submit(|| ()).expect("fills the queue");
    let done = Arc::new(AtomicBool::new(false));
    let submitter = {
        let (pool, done) = (Arc::clone(&pool), Arc::clone(&done));
        std::thread::spawn(move || {
            let h = pool.submit(|| 3).expect("pool is running");
            done.store(true, Ordering::SeqCst);
            h.join()
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert!(
        !done.load(Ordering::SeqCst),
        "submit returned while the queue was full"
    );
    gate.wait();
    first.join().expect("task runs");
    assert_eq!(submitter.join().expect("no panic"), Ok(3));
}

#[test]
fn cancel_skips_queued_tasks() {
    let pool = WorkerPool::new(1, 8).expect("pool starts");
    let gate = Arc::new(Barrier::new(2));
    let g = Arc::clone(&gate);
    let token = pool.cancel_token();
    let first = pool
        .submit(move || {
            g.wait();
            g.wait();
            token.is_cancelled()
        })
        .expect("pool is running");
    gate.wait();
    let queued: Vec<_> = (0..3)
        .map(|i| pool.submit(move || i).expect("pool is running"))
        .collect();
    pool.cancel();
    gate.wait();
    assert_eq!(first.join(), Ok(true), "the running task sees the token");
    for h in queued {
        assert_eq!(h.join(), Err(TaskError::Cancelled));
    }
    assert_eq!(pool.stats().cancelled, 3);
}

#[test]
fn external_token_cancels_the_pool() {
    let token = CancelToken::new();
    let pool = WorkerPool::with_cancel_token(1, 8, token.clone()).expect("pool starts");
    token.cancel();
    assert!(pool.cancel_token().is_cancelled());
    let h = pool.submit(|| 1).expect("pool is running");
    assert_eq!(h.join(), Err(TaskError::Cancelled));
}

#[test]
fn shutdown_drains_then_rejects() {
    let pool = WorkerPool::new(2, 64).expect("pool starts");
    let ran = Arc::new(AtomicUsize::new(0));
    let batch = pool
        .submit_batch((0..50).map(|_| {
            let ran = Arc::clone(&ran);
            move || {
                std::thread::sleep(Duration::from_micros(200));
                ran.fetch_add(1, Ordering::SeqCst);
            }
        }))
        .expect("pool is running");
    pool.shutdown();
    assert_eq!(ran.load(Ordering::SeqCst), 50);
    assert_eq!(batch.into_ordered().len(), 50);
    assert!(matches!(pool.submit(|| ()), Err(Error::ShutDown)));
    assert!(matches!(pool.try_submit(|| ()), Err(Error::ShutDown)));
    assert!(matches!(
        pool.map(vec![1], |x: i32| x),
        Err(Error::ShutDown)
    ));
    pool.shutdown(); // idempotent
}

#[test]
fn submitting_from_many_threads_during_shutdown_never_panics() {
    let pool = Arc::new(WorkerPool::new(2, 4).expect("pool starts"));
    let start = Arc::new(Barrier::new(5));
    let submitters: Vec<_> = (0..4)
        .map(|_| {
            let (pool, start) = (Arc::clone(&pool), Arc::clone(&start));
            std::thread::spawn(move || {
                start.wait();
                let mut accepted = Vec::new();
                loop {
                    match pool.submit(|| 1u8) {
                        Ok(h) => accepted.push(h),
                        Err(Error::ShutDown) => break,
                        Err(other) => panic!("unexpected {other}"),
                    }
                }
                // every accepted task ran before shutdown returned
                accepted.into_iter().all(|h| h.join() == Ok(1))
            })
        })
        .collect();
    start.wait();
    std::thread::sleep(Duration::from_millis(5));
    pool.shutdown();
    for s in submitters {
        assert!(s.join().expect("submitter did not panic"));
    }
}

#[test]
fn batch_iterator_yields_every_index_once() {
    let pool = WorkerPool::new(4, 4).expect("pool starts");
    let batch = pool
        .submit_batch((0..20usize).map(|i| move || i * 2))
        .expect("pool is running");
    assert_eq!(batch.len(), 20);
    let mut seen: Vec<(usize, usize)> =
        batch.map(|(i, r)| (i, r.expect("no task fails"))).collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..20).map(|i| (i, i * 2)).collect::<Vec<_>>());
}

#[test]
fn dropped_task_resolves_as_dropped() {
    let (slot, handle) = one_shot::<u8>();
    drop(slot);
    assert_eq!(handle.join(), Err(TaskError::Dropped));
}

#[test]
fn zero_workers_is_an_error() {
    assert!(matches!(WorkerPool::new(0, 1), Err(Error::ZeroWorkers)));
}

#[test]
fn shutdown_from_inside_a_task_does_not_deadlock() {
    let pool = Arc::new(WorkerPool::new(2, 2).expect("pool starts"));
    let p = Arc::clone(&pool);
    let h = pool.submit(move || p.shutdown()).expect("pool is running");
    assert_eq!(h.join(), Ok(()));
    assert!(matches!(pool.submit(|| ()), Err(Error::ShutDown)));
}
