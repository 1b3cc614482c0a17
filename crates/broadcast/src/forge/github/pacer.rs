//! Write pacing: the minimum spacing and the hourly sliding window of content-creating requests.

use std::collections::VecDeque;
use std::time::SystemTime;

use super::Pacing;

/// Minimum spacing plus an hourly sliding window for writes (GitHub "Best practices for using the
/// REST API": at most 80 content-generating requests per minute and 500 per hour).
#[derive(Debug, Clone)]
pub(super) struct Pacer {
    pacing: Pacing,
    last: Option<SystemTime>,
    hour: VecDeque<SystemTime>,
}

impl Pacer {
    pub(super) fn new(pacing: Pacing) -> Pacer {
        Pacer {
            pacing,
            last: None,
            hour: VecDeque::new(),
        }
    }

    /// Reserves the earliest slot at or after `now` and returns it.
    pub(super) fn reserve(&mut self, now: SystemTime) -> SystemTime {
        let mut t = now;
        if let (Some(last), Some(interval)) = (self.last, self.pacing.min_interval()) {
            t = t.max(last + interval);
        }
        if self.pacing.per_hour > 0 {
            let hour = self.pacing.window;
            loop {
                while self.hour.front().is_some_and(|&f| f + hour <= t) {
                    self.hour.pop_front();
                }
                if self.hour.len() < self.pacing.per_hour as usize {
                    break;
                }
                let front = *self.hour.front().expect("len >= per_hour > 0");
                t = t.max(front + hour);
            }
            self.hour.push_back(t);
        }
        self.last = Some(t);
        t
    }
}
