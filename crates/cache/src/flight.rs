//! Single flight: concurrent loads of one missing key share the first caller's load.

use std::hash::Hash;
use std::sync::{Arc, Condvar, Mutex};

use super::{Inner, Result, lock};

pub(super) enum Role<V, E> {
    Leader(Arc<Flight<V, E>>),
    Follower(Arc<Flight<V, E>>),
    Alone,
}

pub(super) enum FlightState<V, E> {
    Running,
    Done(Result<V, Arc<E>>),
    Abandoned,
}

pub(super) struct Flight<V, E> {
    pub(super) state: Mutex<FlightState<V, E>>,
    pub(super) changed: Condvar,
}

impl<V: Clone, E> Flight<V, E> {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(FlightState::Running),
            changed: Condvar::new(),
        }
    }

    /// Blocks until the leader finishes; `None` when it panicked.
    pub(super) fn wait(&self) -> Option<Result<V, Arc<E>>> {
        let mut state = lock(&self.state);
        loop {
            match &*state {
                FlightState::Running => {
                    state = self
                        .changed
                        .wait(state)
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                }
                FlightState::Done(result) => return Some(result.clone()),
                FlightState::Abandoned => return None,
            }
        }
    }

    pub(super) fn set(&self, state: FlightState<V, E>) {
        *lock(&self.state) = state;
        self.changed.notify_all();
    }
}

/// Unregisters the flight and wakes its waiters, also when the loader panics.
pub(super) struct LeaderGuard<'a, K, V, E>
where
    K: Hash + Eq,
{
    pub(super) inner: &'a Inner<K, V>,
    pub(super) key: &'a K,
    pub(super) flight: &'a Arc<Flight<V, E>>,
    pub(super) done: bool,
}

impl<K: Hash + Eq, V: Clone, E> LeaderGuard<'_, K, V, E> {
    pub(super) fn finish(&mut self, result: Result<V, Arc<E>>) {
        self.done = true;
        lock(&self.inner.inflight).remove(self.key);
        self.flight.set(FlightState::Done(result));
    }
}

impl<K: Hash + Eq, V, E> Drop for LeaderGuard<'_, K, V, E> {
    fn drop(&mut self) {
        if !self.done {
            lock(&self.inner.inflight).remove(self.key);
            *lock(&self.flight.state) = FlightState::Abandoned;
            self.flight.changed.notify_all();
        }
    }
}
