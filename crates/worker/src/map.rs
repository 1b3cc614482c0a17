//! [`WorkerPool::map`]: the items are claimed in blocks by at most one job per worker, so a
//! task costs a closure call and a push instead of a queued job, a result channel send and an
//! `Arc` clone.
//!
//! Claims follow guided scheduling: a claim takes `remaining / (CLAIM_DIVISOR × jobs)` items,
//! at least one. Blocks are large while much work is left and single items at the end, so a
//! slow item holds back at most its own small block while the other workers drain the rest.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;

use super::{Job, Result, Shared, TaskError, WorkerPool, lock, panic_message};

/// Each claim takes at most `1 / (CLAIM_DIVISOR × jobs)` of the items left.
const CLAIM_DIVISOR: usize = 4;

/// One `map` call's work, shared by its jobs.
struct MapWork<T, F> {
    /// Items not yet claimed, with their index in the input.
    items: Mutex<std::iter::Enumerate<std::vec::IntoIter<T>>>,
    f: F,
    jobs: usize,
}

/// Results of one job: `(index, result)` in the order it ran them.
type Finished<R> = Vec<(usize, Result<R, TaskError>)>;

impl<T, F> MapWork<T, F> {
    /// Moves the next block of items into `buf`; false when none is left.
    fn claim(&self, buf: &mut Vec<(usize, T)>) -> bool {
        let mut items = lock(&self.items);
        let left = items.len();
        if left == 0 {
            return false;
        }
        let take = (left / (CLAIM_DIVISOR * self.jobs)).max(1);
        buf.extend(items.by_ref().take(take));
        true
    }
}

/// One job: claims blocks until none is left, runs each item under `catch_unwind` (or skips
/// it as cancelled), then sends everything it ran in one message.
fn run<T, R, F>(work: &MapWork<T, F>, shared: &Shared, tx: &Sender<Finished<R>>)
where
    F: Fn(T) -> R,
{
    let mut out: Finished<R> = Vec::new();
    let mut block = Vec::new();
    while work.claim(&mut block) {
        let (mut processed, mut panicked, mut cancelled) = (0, 0, 0);
        shared.active.fetch_add(1, Ordering::Relaxed);
        for (index, item) in block.drain(..) {
            let result = if shared.token.is_cancelled() {
                cancelled += 1;
                drop(item);
                Err(TaskError::Cancelled)
            } else {
                catch_unwind(AssertUnwindSafe(|| (work.f)(item))).map_err(|payload| {
                    panicked += 1;
                    TaskError::Panicked {
                        message: panic_message(payload.as_ref()),
                    }
                })
            };
            processed += 1;
            out.push((index, result));
        }
        shared.active.fetch_sub(1, Ordering::Relaxed);
        shared.processed.fetch_add(processed, Ordering::Relaxed);
        shared.panicked.fetch_add(panicked, Ordering::Relaxed);
        shared.cancelled.fetch_add(cancelled, Ordering::Relaxed);
    }
    // The caller may be gone (it never is while `map` waits); nothing to do then.
    let _ = tx.send(out);
}

impl WorkerPool {
    /// Runs `f` on every item in the pool and returns the results in the items' order.
    /// Blocks until all are done.
    ///
    /// At most one job per worker (never more than items) is queued; the jobs claim the items
    /// in blocks (guided scheduling: about a quarter of a worker's share of what is left, at
    /// least one item), so the per-item cost is a closure call under `catch_unwind` and a
    /// push, with one lock per block. Every item is its own task for results and stats: a
    /// panic fails only its item ([`TaskError::Panicked`]), an item not started when the
    /// [`CancelToken`](crate::CancelToken) fires is [`TaskError::Cancelled`], and
    /// [`WorkerStats::processed`](crate::WorkerStats) counts items. `queued` counts the jobs.
    ///
    /// # Errors
    /// [`Error::ShutDown`](crate::Error::ShutDown) when shutdown starts before or while the jobs
    /// are queued; jobs already queued still run and their results are discarded.
    pub fn map<I, R, F>(&self, items: I, f: F) -> Result<Vec<Result<R, TaskError>>>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> R + Send + Sync + 'static,
        R: Send + 'static,
    {
        let items: Vec<I::Item> = items.into_iter().collect();
        let n = items.len();
        if n == 0 {
            return Ok(Vec::new());
        }
        let jobs = self.worker_count.min(n);
        let work = Arc::new(MapWork {
            items: Mutex::new(items.into_iter().enumerate()),
            f,
            jobs,
        });
        let (tx, rx) = crossbeam_channel::bounded::<Finished<R>>(jobs);
        for _ in 0..jobs {
            let (work, tx) = (Arc::clone(&work), tx.clone());
            let job: Job = Box::new(move |shared: &Shared| run(&work, shared, &tx));
            self.send(job, true)?;
        }
        drop(tx);
        let mut out: Vec<Result<R, TaskError>> = (0..n).map(|_| Err(TaskError::Dropped)).collect();
        // Ends once every job has sent (or was dropped unrun: its items stay `Dropped`).
        for finished in rx {
            for (index, result) in finished {
                out[index] = result;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;

    use super::*;
    use crate::CancelToken;

    #[test]
    fn every_item_is_its_own_task_for_panics_and_stats() {
        let pool = WorkerPool::new(2, 4).expect("pool starts");
        let got = pool
            .map(0..10u32, |x| {
                if x % 4 == 3 {
                    panic!("item {x}");
                }
                x * 10
            })
            .expect("pool is running");
        let want: Vec<Result<u32, TaskError>> = (0..10)
            .map(|x| {
                if x % 4 == 3 {
                    Err(TaskError::Panicked {
                        message: format!("item {x}"),
                    })
                } else {
                    Ok(x * 10)
                }
            })
            .collect();
        assert_eq!(got, want);
        let s = pool.stats();
        assert_eq!(
            (s.processed, s.panicked, s.cancelled, s.active),
            (10, 2, 0, 0)
        );
    }

    #[test]
    fn cancel_mid_map_skips_the_items_not_started() {
        let token = CancelToken::new();
        let pool = WorkerPool::with_cancel_token(1, 4, token.clone()).expect("pool starts");
        let ran = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&ran);
        let got = pool
            .map(0..8u32, move |x| {
                r.fetch_add(1, Ordering::SeqCst);
                if x == 2 {
                    token.cancel();
                }
                x
            })
            .expect("pool is running");
        assert_eq!(
            ran.load(Ordering::SeqCst),
            3,
            "items after the cancel do not run"
        );
        let want: Vec<Result<u32, TaskError>> = (0..8)
            .map(|x| {
                if x <= 2 {
                    Ok(x)
                } else {
                    Err(TaskError::Cancelled)
                }
            })
            .collect();
        assert_eq!(got, want);
        assert_eq!(pool.stats().cancelled, 5);
    }

    #[test]
    fn a_slow_item_does_not_hold_back_the_rest() {
        // Two workers, 40 items; item 0 waits until 30 others ran. Split in two halves up
        // front, the other worker could run only 20 of them.
        let pool = WorkerPool::new(2, 4).expect("pool starts");
        let done = Arc::new(AtomicUsize::new(0));
        let d = Arc::clone(&done);
        let got = pool
            .map(0..40u32, move |x| {
                if x == 0 {
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
                    while d.load(Ordering::SeqCst) < 30 {
                        assert!(std::time::Instant::now() < deadline, "the others stalled");
                        std::thread::yield_now();
                    }
                } else {
                    d.fetch_add(1, Ordering::SeqCst);
                }
                x
            })
            .expect("pool is running");
        assert_eq!(got, (0..40).map(Ok).collect::<Vec<_>>());
    }
}
