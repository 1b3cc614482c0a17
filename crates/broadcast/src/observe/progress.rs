//! Progress bars on stderr, one per group: targets done / failed / pending, the current phase,
//! and while GitHub writes are paced, the time to the next write and an ETA.
//!
//! Drawn from the run's events (see [`super`]) by a `tracing` layer; shown only when stderr is a
//! terminal and neither `--quiet` nor `--json` was given (the caller decides: [`enabled`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tracing_subscriber::layer::Context;

use super::metrics::EventFields;
use super::{DECISION_TARGET, RUN_TARGET};

/// Whether progress bars are drawn: only on a terminal, and not with `--quiet` or `--json`.
pub fn enabled(stderr_is_terminal: bool, quiet: bool, json: bool) -> bool {
    stderr_is_terminal && !quiet && !json
}

#[derive(Debug)]
struct GroupBar {
    bar: ProgressBar,
    phase: String,
    failed: u64,
}

#[derive(Debug, Default)]
struct State {
    groups: HashMap<String, GroupBar>,
}

/// The progress display (cheap to clone: shared state).
#[derive(Debug, Clone)]
pub struct Progress {
    multi: MultiProgress,
    state: Arc<Mutex<State>>,
    /// When the next paced GitHub write may go. Its own lock: the bars read it while drawing,
    /// and they draw while `state` is held.
    next_write: Arc<Mutex<Option<Instant>>>,
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A display drawing on stderr (at most 10 times a second).
    pub fn new() -> Progress {
        Progress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10)),
            state: Arc::default(),
            next_write: Arc::default(),
        }
    }

    /// The bars, for writers that must clear them while they print.
    pub fn multi(&self) -> MultiProgress {
        self.multi.clone()
    }

    /// The `tracing` layer that updates the bars.
    pub fn layer<S>(self) -> impl tracing_subscriber::Layer<S>
    where
        S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    {
        use tracing_subscriber::Layer as _;
        ProgressLayer(self).with_filter(tracing_subscriber::filter::filter_fn(|m| {
            matches!(m.target(), RUN_TARGET | DECISION_TARGET)
        }))
    }

    fn style(&self) -> ProgressStyle {
        let next_write = Arc::clone(&self.next_write);
        ProgressStyle::with_template(
            "{prefix:>14.cyan.bold} [{bar:24.green/blue}] {pos}/{len} done, {msg}{next_write}{eta_known}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
        .with_key(
            "eta_known",
            |st: &ProgressState, w: &mut dyn std::fmt::Write| {
                // No estimate before the first target is done (indicatif would say 0s).
                if st.pos() > 0 && st.pos() < st.len().unwrap_or(0) {
                    let _ = write!(w, ", ETA {}", indicatif::HumanDuration(st.eta()));
                }
            },
        )
        .with_key(
            "next_write",
            move |_: &ProgressState, w: &mut dyn std::fmt::Write| {
                let next = next_write
                    .lock()
                    .ok()
                    .and_then(|t| *t)
                    .and_then(|t| t.checked_duration_since(Instant::now()));
                if let Some(left) = next.filter(|d| !d.is_zero()) {
                    let _ = write!(w, ", next write in {:.1}s", left.as_secs_f64());
                }
            },
        )
    }

    fn on(&self, target: &str, f: &EventFields) {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let message = f.str("message").unwrap_or_default();
        let group = f.str("group").unwrap_or("-").to_owned();
        match (target, message) {
            (RUN_TARGET, "group planned" | "group started") => {
                let phase = if message == "group planned" {
                    "waiting"
                } else {
                    "starting"
                };
                if let Some(g) = state.groups.get_mut(&group) {
                    g.phase = phase.to_owned();
                    refresh(g);
                    return;
                }
                let n = f.int("targets").unwrap_or(0) as u64;
                let bar = self.multi.add(ProgressBar::new(n));
                bar.set_style(self.style());
                bar.set_prefix(group.clone());
                bar.enable_steady_tick(Duration::from_millis(200));
                let g = GroupBar {
                    bar,
                    phase: phase.to_owned(),
                    failed: 0,
                };
                refresh(&g);
                state.groups.insert(group, g);
            }
            (RUN_TARGET, "phase") => {
                if let Some(g) = state.groups.get_mut(&group) {
                    g.phase = f.str("phase").unwrap_or("-").to_owned();
                    refresh(g);
                }
            }
            (RUN_TARGET, "pacing") => {
                let wait = Duration::from_millis(f.int("wait_ms").unwrap_or(0) as u64);
                let at = Instant::now() + wait;
                let mut next = self
                    .next_write
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *next = Some(next.map_or(at, |t| t.max(at)));
            }
            (DECISION_TARGET, "target done") => {
                if let Some(g) = state.groups.get_mut(&group) {
                    if matches!(f.str("status"), Some("failed" | "blocked")) {
                        g.failed += 1;
                    }
                    g.bar.inc(1);
                    if g.bar.position() >= g.bar.length().unwrap_or(0) {
                        g.phase = "done".to_owned();
                        refresh(g);
                        g.bar.finish();
                    } else {
                        refresh(g);
                    }
                }
            }
            _ => {}
        }
    }

    /// Removes every bar (at the end of a run, before the summary is printed).
    pub fn clear(&self) {
        let _ = self.multi.clear();
    }
}

fn refresh(g: &GroupBar) {
    let pending = g.bar.length().unwrap_or(0).saturating_sub(g.bar.position());
    g.bar.set_message(format!(
        "{} failed, {pending} pending [{}]",
        g.failed, g.phase
    ));
}

struct ProgressLayer(Progress);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for ProgressLayer {
    fn on_event(&self, event: &tracing::Event<'_>, _ctx: Context<'_, S>) {
        self.0
            .on(event.metadata().target(), &EventFields::of(event));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_only_on_a_terminal_without_quiet_or_json() {
        // (terminal, quiet, json, shown)
        let cases = [
            (true, false, false, true),
            (false, false, false, false),
            (true, true, false, false),
            (true, false, true, false),
        ];
        for (tty, quiet, json, want) in cases {
            assert_eq!(enabled(tty, quiet, json), want, "{tty} {quiet} {json}");
        }
    }

    /// A terminal that draws into nothing, so the bars really render in tests.
    #[derive(Debug)]
    struct NullTerm;

    impl indicatif::TermLike for NullTerm {
        fn width(&self) -> u16 {
            120
        }
        fn move_cursor_up(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_down(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_right(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn move_cursor_left(&self, _: usize) -> std::io::Result<()> {
            Ok(())
        }
        fn write_line(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn write_str(&self, _: &str) -> std::io::Result<()> {
            Ok(())
        }
        fn clear_line(&self) -> std::io::Result<()> {
            Ok(())
        }
        fn flush(&self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn drawing_while_events_arrive_does_not_deadlock() {
        // The bars' pacing countdown is read while drawing, and events draw while holding the
        // state: one lock for both hung the first version on a terminal.
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let p = Progress {
                multi: MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(
                    NullTerm,
                ))),
                state: Arc::default(),
                next_write: Arc::default(),
            };
            let mut started = EventFields::default();
            started.push_str("message", "group started");
            started.push_str("group", "g");
            started.push_int("targets", 50);
            p.on(RUN_TARGET, &started);
            let mut pacing = EventFields::default();
            pacing.push_str("message", "pacing");
            pacing.push_int("wait_ms", 5000);
            p.on(RUN_TARGET, &pacing);
            for _ in 0..50 {
                let mut ev = EventFields::default();
                ev.push_str("message", "target done");
                ev.push_str("group", "g");
                ev.push_str("status", "synced");
                p.on(DECISION_TARGET, &ev);
                std::thread::sleep(Duration::from_millis(2));
            }
            let _ = done.send(());
        });
        assert!(
            finished.recv_timeout(Duration::from_secs(20)).is_ok(),
            "progress updates deadlocked"
        );
    }

    #[test]
    fn events_move_the_bars() {
        let p = Progress {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::hidden()),
            state: Arc::default(),
            next_write: Arc::default(),
        };
        let ev = |fields: &[(&'static str, &str)], ints: &[(&'static str, i128)]| {
            let mut f = EventFields::default();
            for (k, v) in fields {
                f.push_str(k, v);
            }
            for (k, v) in ints {
                f.push_int(k, *v);
            }
            f
        };
        p.on(
            RUN_TARGET,
            &ev(
                &[("message", "group started"), ("group", "g")],
                &[("targets", 3)],
            ),
        );
        p.on(
            RUN_TARGET,
            &ev(
                &[("message", "phase"), ("group", "g"), ("phase", "read")],
                &[],
            ),
        );
        p.on(
            DECISION_TARGET,
            &ev(
                &[
                    ("message", "target done"),
                    ("group", "g"),
                    ("status", "failed"),
                ],
                &[],
            ),
        );
        p.on(
            DECISION_TARGET,
            &ev(
                &[
                    ("message", "target done"),
                    ("group", "g"),
                    ("status", "synced"),
                ],
                &[],
            ),
        );
        p.on(
            RUN_TARGET,
            &ev(&[("message", "pacing")], &[("wait_ms", 60_000)]),
        );
        let state = p.state.lock().expect("test mutex");
        let g = &state.groups["g"];
        // The bars draw the pacing countdown without deadlocking on the state lock.
        g.bar.tick();
        assert_eq!(g.bar.position(), 2);
        assert_eq!(g.failed, 1);
        assert_eq!(g.bar.message(), "1 failed, 1 pending [read]");
        assert!(
            p.next_write
                .lock()
                .expect("test mutex")
                .is_some_and(|t| t > Instant::now())
        );
    }
}
