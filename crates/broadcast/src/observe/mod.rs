//! Observability of a run: logs (`tracing` to stderr, text or JSON, redacted), the progress
//! display, and metrics (Prometheus text exposition, served live and written at the end).
//!
//! Everything is fed by one stream: `tracing` events and spans. The sync engine and `git-batch`
//! emit events on the targets below with documented fields; the log layer prints them, the
//! [`metrics`] layer counts them and the [`progress`] layer draws bars from them. The engine
//! knows nothing of Prometheus or terminals.
//!
//! | target | message | fields |
//! |---|---|---|
//! | [`broadcast_git_batch::PROCESS_LOG_TARGET`] | `git process` | `command`, `subcommand`, `duration_ms`, `duration_us`, `exit`, `timed_out` |
//! | [`REST_TARGET`] | `github request` | `method`, `endpoint`, `path`, `status`, `remaining`, `duration_ms` |
//! | [`RUN_TARGET`] | `group planned` | `group`, `targets` (every group, before the first starts) |
//! | [`RUN_TARGET`] | `group started` | `group`, `targets` |
//! | [`RUN_TARGET`] | `phase` | `group`, `phase` |
//! | [`RUN_TARGET`] | `phase done` | `group`, `phase`, `duration_us` |
//! | [`RUN_TARGET`] | `pacing` | `wait_ms`, `interval_ms` |
//! | [`DECISION_TARGET`] | `target done` | `group`, `repo`, `status`, `reason`, `files`, `bytes_written` |
//!
//! Spans: `group{id}` around a group, `target{repo}` around each target's phases.

pub mod logging;
pub mod metrics;
pub mod progress;
pub mod server;

/// Target of REST call events (one per HTTP response or network failure).
pub const REST_TARGET: &str = "broadcast::rest";
/// Target of run-structure events: groups starting, phases, write pacing.
pub const RUN_TARGET: &str = "broadcast::run";
/// Target of the notes `output::note` prints (as events with `--log-format json`); shown at
/// `info` whatever the level, except with `-q`.
pub const NOTE_TARGET: &str = "broadcast::note";
/// Target of per-target decisions: synced, in sync, up to date, skipped, blocked, failed.
pub const DECISION_TARGET: &str = "broadcast::decision";

/// Emits the `phase` event of `group` (the progress display shows it) and returns a guard that
/// emits `phase done` with the duration when dropped.
pub(crate) fn phase(group: &str, phase: &'static str) -> PhaseGuard {
    tracing::debug!(target: RUN_TARGET, group, phase, "phase");
    timed(group, phase)
}

/// A guard that emits `phase done` for `phase` when dropped, without announcing it (per-target
/// phases: the group's displayed phase stays).
pub(crate) fn timed(group: &str, phase: &'static str) -> PhaseGuard {
    PhaseGuard {
        group: group.to_owned(),
        phase,
        started: std::time::Instant::now(),
    }
}

/// See [`phase`].
pub(crate) struct PhaseGuard {
    group: String,
    phase: &'static str,
    started: std::time::Instant,
}

impl Drop for PhaseGuard {
    fn drop(&mut self) {
        tracing::debug!(
            target: RUN_TARGET,
            group = %self.group,
            phase = self.phase,
            duration_us = self.started.elapsed().as_micros() as u64,
            "phase done"
        );
    }
}

/// Emits `group planned` for every group of the plan, before the first one starts (the
/// dashboard and the progress bars show the whole run from the start).
pub(crate) fn plan(plan: &crate::plan::Plan) {
    for g in &plan.groups {
        tracing::debug!(target: RUN_TARGET, group = %g.id, targets = g.targets.len(), "group planned");
    }
}

/// Emits `group started` with the number of targets.
pub(crate) fn group_started(group: &str, targets: usize) {
    tracing::info!(target: RUN_TARGET, group, targets, "group started");
}

/// Emits the `target done` decision of one target: `info` when it went as planned, `warn` when
/// it failed or was blocked. `bytes_written` is the size of the files committed (synced
/// targets only).
pub(crate) fn decision(r: &crate::report::TargetReport) {
    use crate::report::{ChangeKind, TargetStatus};
    let bytes_written: u64 = if r.status == TargetStatus::Synced {
        r.changes
            .iter()
            .filter(|c| c.kind != ChangeKind::Deleted)
            .filter_map(|c| c.new_bytes)
            .sum()
    } else {
        0
    };
    let status = r.status.label();
    let reason = r.error.as_deref().unwrap_or("");
    let files = r.changes.len();
    if matches!(r.status, TargetStatus::Failed | TargetStatus::Blocked) {
        tracing::warn!(target: DECISION_TARGET, group = %r.group, repo = %r.target, status, reason, files, bytes_written, "target done");
    } else {
        tracing::info!(target: DECISION_TARGET, group = %r.group, repo = %r.target, status, reason, files, bytes_written, "target done");
    }
}

static NOTES_AS_EVENTS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Sends `output::note` lines through `tracing` from now on (set once, by the logging setup for
/// `--log-format json`).
pub fn notes_as_events(on: bool) {
    NOTES_AS_EVENTS.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether notes are events (see [`notes_as_events`]).
pub fn notes_are_events() -> bool {
    NOTES_AS_EVENTS.load(std::sync::atomic::Ordering::Relaxed)
}
