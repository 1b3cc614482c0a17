#![doc = include_str!("../README.md")]
//!
//! # Overview
//!
//! [`WorkerPool::new`] starts the worker threads. Work goes in as closures through
//! [`WorkerPool::submit`] (blocking, returns a [`TaskHandle`]), [`WorkerPool::try_submit`]
//! (non-blocking), [`WorkerPool::submit_batch`] (returns [`BatchResults`], an iterator in
//! completion order that can also be collected in submission order) and [`WorkerPool::map`]
//! (results in submission order). Each result is a `Result<T, TaskError>`. A [`CancelToken`]
//! shared by the pool and its tasks stops queued work; [`WorkerPool::shutdown`] drains and joins;
//! [`WorkerPool::stats`] returns a [`WorkerStats`] snapshot.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, RwLock};
use std::thread::JoinHandle;

use crossbeam_channel::{Receiver, Sender, TrySendError};

mod map;

/// Errors of the pool itself (construction and submission).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// `WorkerPool::new` was asked for 0 workers.
    #[error("a worker pool needs at least 1 worker, got 0")]
    ZeroWorkers,
    /// The OS refused to start a worker thread.
    #[error("cannot spawn worker thread {index}")]
    SpawnWorker {
        /// Index of the worker that failed (0-based); the ones before it were shut down.
        index: usize,
        /// The error from `std::thread::Builder::spawn`.
        #[source]
        source: std::io::Error,
    },
    /// `try_submit` found the queue full.
    #[error("worker queue is full ({capacity} tasks)")]
    QueueFull {
        /// The queue capacity given to `WorkerPool::new`.
        capacity: usize,
    },
    /// The pool is shutting down or shut down; the task was not accepted.
    #[error("worker pool is shut down")]
    ShutDown,
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why an accepted task produced no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TaskError {
    /// The task panicked; the worker caught the panic and lives on.
    #[error("task panicked: {message}")]
    Panicked {
        /// The panic payload when it was a string, else `<non-string panic payload>`.
        message: String,
    },
    /// The pool's [`CancelToken`] was cancelled before the task started; it did not run.
    #[error("task cancelled before it started")]
    Cancelled,
    /// The task was dropped without running (its worker thread went away).
    #[error("task dropped without running")]
    Dropped,
}

/// A cancellation flag shared by a pool and its tasks. Cloning is one `Arc` clone; checking is
/// one relaxed-acquire atomic load. Once cancelled it stays cancelled.
#[derive(Debug, Clone, Default)]
pub struct CancelToken {
    cancelled: Arc<AtomicBool>,
}

impl CancelToken {
    /// A new, not cancelled token (one allocation).
    pub fn new() -> Self {
        Self::default()
    }

    /// Marks the token cancelled; every clone sees it. Idempotent.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::Release);
    }

    /// `true` once any clone called [`CancelToken::cancel`].
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

/// A snapshot of a pool's counters. Relaxed atomics: `active` and `queued` are instantaneous
/// and may be slightly stale under load.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerStats {
    /// Number of worker threads.
    pub workers: usize,
    /// Tasks finished: ran, panicked or skipped as cancelled.
    pub processed: u64,
    /// Tasks that panicked (included in `processed`).
    pub panicked: u64,
    /// Tasks skipped because the pool was cancelled (included in `processed`).
    pub cancelled: u64,
    /// Tasks running right now.
    pub active: usize,
    /// Tasks waiting in the queue right now.
    pub queued: usize,
}

type Job = Box<dyn FnOnce(&Shared) + Send + 'static>;

struct Shared {
    token: CancelToken,
    processed: AtomicU64,
    panicked: AtomicU64,
    cancelled: AtomicU64,
    active: AtomicUsize,
}

/// A bounded pool of worker threads; see the crate docs. `Send + Sync`: share it with `Arc` to
/// submit from several threads. Dropping it is [`WorkerPool::shutdown`].
pub struct WorkerPool {
    shared: Arc<Shared>,
    /// `None` once shutdown started. Submitters hold the read lock while sending, so
    /// `shutdown` (write lock) never races a send.
    sender: RwLock<Option<Sender<Job>>>,
    receiver: Receiver<Job>,
    workers: Mutex<Vec<JoinHandle<()>>>,
    worker_count: usize,
    queue_capacity: usize,
}

impl fmt::Debug for WorkerPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkerPool")
            .field("queue_capacity", &self.queue_capacity)
            .field("stats", &self.stats())
            .finish()
    }
}

impl WorkerPool {
    /// Starts `workers` threads (named `broadcast-worker-<i>`) and a queue of `queue_capacity`
    /// tasks. A capacity of 0 makes every `submit` wait until a worker takes the task.
    ///
    /// # Errors
    /// [`Error::ZeroWorkers`]; [`Error::SpawnWorker`] when a thread cannot be started (the
    /// threads already started are shut down).
    pub fn new(workers: usize, queue_capacity: usize) -> Result<Self> {
        Self::with_cancel_token(workers, queue_capacity, CancelToken::new())
    }

    /// [`WorkerPool::new`] with a token made elsewhere (for example by a signal handler that
    /// exists before the pool): cancelling any clone of `token` cancels the pool.
    ///
    /// # Errors
    /// As [`WorkerPool::new`].
    pub fn with_cancel_token(
        workers: usize,
        queue_capacity: usize,
        token: CancelToken,
    ) -> Result<Self> {
        if workers == 0 {
            return Err(Error::ZeroWorkers);
        }
        let (tx, rx) = crossbeam_channel::bounded::<Job>(queue_capacity);
        let shared = Arc::new(Shared {
            token,
            processed: AtomicU64::new(0),
            panicked: AtomicU64::new(0),
            cancelled: AtomicU64::new(0),
            active: AtomicUsize::new(0),
        });
        let pool = Self {
            shared,
            sender: RwLock::new(Some(tx)),
            receiver: rx,
            workers: Mutex::new(Vec::with_capacity(workers)),
            worker_count: workers,
            queue_capacity,
        };
        for index in 0..workers {
            let rx = pool.receiver.clone();
            let shared = Arc::clone(&pool.shared);
            let handle = std::thread::Builder::new()
                .name(format!("broadcast-worker-{index}"))
                .spawn(move || worker_loop(&rx, &shared))
                .map_err(|source| Error::SpawnWorker { index, source })?;
            lock(&pool.workers).push(handle);
        }
        Ok(pool)
    }

    /// Queues `task`, blocking while the queue is full, and returns a handle to its result.
    /// Cost: two allocations (the boxed task and the result slot) and one channel send.
    ///
    /// # Errors
    /// [`Error::ShutDown`] once [`WorkerPool::shutdown`] has started (the task is dropped).
    pub fn submit<T, F>(&self, task: F) -> Result<TaskHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (slot, handle) = one_shot();
        self.send(job(task, slot), true)?;
        Ok(handle)
    }

    /// Like [`WorkerPool::submit`] but never blocks.
    ///
    /// # Errors
    /// [`Error::QueueFull`] when the queue holds `queue_capacity` tasks, [`Error::ShutDown`]
    /// after shutdown started. The task is dropped in both cases.
    pub fn try_submit<T, F>(&self, task: F) -> Result<TaskHandle<T>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (slot, handle) = one_shot();
        self.send(job(task, slot), false)?;
        Ok(handle)
    }

    /// Queues every task (blocking while the queue is full) and returns their results as they
    /// complete. Cost per task: one allocation for the boxed task plus one channel send; the
    /// results share one unbounded channel, so workers never wait for the caller to read.
    ///
    /// # Errors
    /// [`Error::ShutDown`] when shutdown starts before or during the batch; tasks already
    /// queued still run and their results are discarded.
    pub fn submit_batch<T, F, I>(&self, tasks: I) -> Result<BatchResults<T>>
    where
        I: IntoIterator<Item = F>,
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut total = 0;
        for (index, task) in tasks.into_iter().enumerate() {
            let slot = BatchSlot {
                index,
                tx: Some(tx.clone()),
            };
            self.send(job(task, slot), true)?;
            total = index + 1;
        }
        Ok(BatchResults {
            rx,
            remaining: total,
            total,
        })
    }

    /// A clone of the pool's token, for tasks that want to stop early.
    pub fn cancel_token(&self) -> CancelToken {
        self.shared.token.clone()
    }

    /// Cancels the pool's token: queued tasks (and tasks submitted later) resolve as
    /// [`TaskError::Cancelled`] without running; running tasks see `is_cancelled() == true`.
    /// Does not block and does not shut the pool down.
    pub fn cancel(&self) {
        self.shared.token.cancel();
    }

    /// Stops accepting tasks, lets the workers finish everything already queued, and joins
    /// them. Blocks until then (use [`WorkerPool::cancel`] first for a fast stop). Idempotent
    /// and safe to call from several threads; concurrent submitters get [`Error::ShutDown`].
    /// Called from inside one of this pool's tasks, it does not join the calling worker.
    pub fn shutdown(&self) {
        drop(
            self.sender
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let handles = std::mem::take(&mut *lock(&self.workers));
        let me = std::thread::current().id();
        for handle in handles {
            if handle.thread().id() != me {
                // A worker never panics (tasks run under catch_unwind); nothing to report.
                let _ = handle.join();
            }
        }
    }

    /// A snapshot of the counters: a few atomic loads, no allocation.
    pub fn stats(&self) -> WorkerStats {
        let s = &self.shared;
        WorkerStats {
            workers: self.worker_count,
            processed: s.processed.load(Ordering::Relaxed),
            panicked: s.panicked.load(Ordering::Relaxed),
            cancelled: s.cancelled.load(Ordering::Relaxed),
            active: s.active.load(Ordering::Relaxed),
            queued: self.receiver.len(),
        }
    }

    /// The queue capacity given to [`WorkerPool::new`].
    pub fn queue_capacity(&self) -> usize {
        self.queue_capacity
    }

    fn send(&self, job: Job, block: bool) -> Result<()> {
        let guard = self.sender.read().unwrap_or_else(PoisonError::into_inner);
        let tx = guard.as_ref().ok_or(Error::ShutDown)?;
        if block {
            tx.send(job).map_err(|_| Error::ShutDown)
        } else {
            tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(_) => Error::QueueFull {
                    capacity: self.queue_capacity,
                },
                TrySendError::Disconnected(_) => Error::ShutDown,
            })
        }
    }
}

impl Drop for WorkerPool {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn worker_loop(rx: &Receiver<Job>, shared: &Shared) {
    // `recv` fails only once every sender is gone and the queue is empty: that is the drain.
    while let Ok(job) = rx.recv() {
        job(shared);
    }
}

/// Where a task's result goes. Dropping a sink unused reports [`TaskError::Dropped`].
trait Sink<T>: Send + 'static {
    fn complete(self, result: Result<T, TaskError>);
}

fn job<T, F, S>(task: F, sink: S) -> Job
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
    S: Sink<T>,
{
    Box::new(move |shared: &Shared| {
        let result = if shared.token.is_cancelled() {
            shared.cancelled.fetch_add(1, Ordering::Relaxed);
            drop(task);
            Err(TaskError::Cancelled)
        } else {
            shared.active.fetch_add(1, Ordering::Relaxed);
            let outcome = catch_unwind(AssertUnwindSafe(task));
            shared.active.fetch_sub(1, Ordering::Relaxed);
            outcome.map_err(|payload| {
                shared.panicked.fetch_add(1, Ordering::Relaxed);
                TaskError::Panicked {
                    message: panic_message(payload.as_ref()),
                }
            })
        };
        shared.processed.fetch_add(1, Ordering::Relaxed);
        sink.complete(result);
    })
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Guarded data (join handles, result slots) stays consistent across a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Slot<T> {
    value: Mutex<Option<Result<T, TaskError>>>,
    ready: Condvar,
}

struct SlotSender<T> {
    slot: Option<Arc<Slot<T>>>,
}

fn one_shot<T>() -> (SlotSender<T>, TaskHandle<T>) {
    let slot = Arc::new(Slot {
        value: Mutex::new(None),
        ready: Condvar::new(),
    });
    (
        SlotSender {
            slot: Some(Arc::clone(&slot)),
        },
        TaskHandle { slot },
    )
}

impl<T> SlotSender<T> {
    fn put(&mut self, result: Result<T, TaskError>) {
        if let Some(slot) = self.slot.take() {
            *lock(&slot.value) = Some(result);
            slot.ready.notify_all();
        }
    }
}

impl<T: Send + 'static> Sink<T> for SlotSender<T> {
    fn complete(mut self, result: Result<T, TaskError>) {
        self.put(result);
    }
}

impl<T> Drop for SlotSender<T> {
    fn drop(&mut self) {
        self.put(Err(TaskError::Dropped));
    }
}

/// The result of one task submitted with [`WorkerPool::submit`] or [`WorkerPool::try_submit`].
pub struct TaskHandle<T> {
    slot: Arc<Slot<T>>,
}

impl<T> fmt::Debug for TaskHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskHandle")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> TaskHandle<T> {
    /// Blocks until the task resolved and returns its outcome.
    ///
    /// # Errors
    /// [`TaskError::Panicked`], [`TaskError::Cancelled`] or [`TaskError::Dropped`].
    pub fn join(self) -> Result<T, TaskError> {
        let mut value = lock(&self.slot.value);
        loop {
            if let Some(result) = value.take() {
                return result;
            }
            value = self
                .slot
                .ready
                .wait(value)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// `true` once the task resolved (then `join` does not block).
    pub fn is_finished(&self) -> bool {
        lock(&self.slot.value).is_some()
    }
}

struct BatchSlot<T> {
    index: usize,
    tx: Option<Sender<(usize, Result<T, TaskError>)>>,
}

impl<T: Send + 'static> Sink<T> for BatchSlot<T> {
    fn complete(mut self, result: Result<T, TaskError>) {
        if let Some(tx) = self.tx.take() {
            // The caller may have dropped the results; nothing to do then.
            let _ = tx.send((self.index, result));
        }
    }
}

impl<T> Drop for BatchSlot<T> {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send((self.index, Err(TaskError::Dropped)));
        }
    }
}

/// Results of [`WorkerPool::submit_batch`]: an iterator of `(index, result)` in completion
/// order, where `index` is the task's position in the batch. Each `next` blocks until one more
/// task resolves; the iterator ends after `len()` items.
pub struct BatchResults<T> {
    rx: Receiver<(usize, Result<T, TaskError>)>,
    remaining: usize,
    total: usize,
}

impl<T> fmt::Debug for BatchResults<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchResults")
            .field("total", &self.total)
            .field("remaining", &self.remaining)
            .finish()
    }
}

impl<T> BatchResults<T> {
    /// Number of tasks in the batch.
    pub fn len(&self) -> usize {
        self.total
    }

    /// `true` for an empty batch.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Waits for the rest of the batch and returns every result in submission order
    /// (one `Vec` allocation). Results already taken through the iterator are
    /// [`TaskError::Dropped`] here.
    pub fn into_ordered(self) -> Vec<Result<T, TaskError>> {
        let mut out: Vec<Result<T, TaskError>> =
            (0..self.total).map(|_| Err(TaskError::Dropped)).collect();
        for (index, result) in self {
            out[index] = result;
        }
        out
    }
}

impl<T> Iterator for BatchResults<T> {
    type Item = (usize, Result<T, TaskError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        // Every task holds a sender until it resolves, so `recv` fails only if all of them
        // are gone, which means nothing more can arrive.
        let item = self.rx.recv().ok()?;
        self.remaining -= 1;
        Some(item)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.remaining))
    }
}

#[cfg(test)]
#[path = "lib_tests.rs"]
mod tests;
