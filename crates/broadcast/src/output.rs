//! Human and JSON output of a run.

use std::fmt::Write as _;

use crate::report::{ChangeKind, GroupStatus, RunReport, TargetStatus};

pub use crate::escape::{escape_control, escape_control_keeping};

/// Writes `text` to stdout through the redactor: reports quote git's and GitHub's error text.
///
/// Errors when stdout is closed (see [`crate::is_broken_pipe`]).
pub fn print(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let text = broadcast_redact::redact(text);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|_| stdout.flush())
        .map_err(|e| anyhow::Error::new(e).context("cannot write to stdout"))
}

/// A progress note for the person at the terminal: one line on stderr, redacted. With
/// `--log-format json` ([`crate::observe::notes_as_events`]) it is an `info` event on the
/// [`NOTE_TARGET`](crate::observe::NOTE_TARGET) target instead, so stderr stays one JSON object
/// per line.
pub fn note(message: &str) {
    if crate::observe::notes_are_events() {
        tracing::info!(target: crate::observe::NOTE_TARGET, "{message}");
    } else {
        eprintln!("{}", broadcast_redact::redact(message));
    }
}

fn size(n: Option<u64>) -> String {
    match n {
        Some(n) => format!("{n} B"),
        None => "?".to_owned(),
    }
}

/// The per-target change listing printed by a dry run (and `--verbose` runs).
pub fn render_changes(report: &RunReport, with_diff: bool) -> String {
    let mut out = String::new();
    for t in &report.targets {
        if t.changes.is_empty() {
            continue;
        }
        if t.status == TargetStatus::UpToDate {
            let _ = writeln!(
                out,
                "{} [{}]: branch {} already holds these {} change(s) against {}; nothing new to sync",
                t.target,
                t.group,
                t.branch.as_deref().unwrap_or("-"),
                t.changes.len(),
                t.base.as_deref().unwrap_or("the base branch")
            );
            continue;
        }
        let _ = writeln!(
            out,
            "{} [{}] -> branch {} (changes against {})",
            escape_control(&t.target),
            t.group,
            t.branch.as_deref().unwrap_or("-"),
            t.base.as_deref().unwrap_or("an empty repository")
        );
        for c in &t.changes {
            let path = escape_control(&c.path);
            let line = match c.kind {
                ChangeKind::Added => format!("  added     {path} ({})", size(c.new_bytes)),
                ChangeKind::Modified => format!(
                    "  modified  {path} ({} -> {})",
                    size(c.old_bytes),
                    size(c.new_bytes)
                ),
                ChangeKind::Deleted => format!("  deleted   {path} ({})", size(c.old_bytes)),
            };
            let _ = writeln!(out, "{line}");
            if with_diff && let Some(note) = &c.diff_note {
                let _ = writeln!(out, "    ({})", escape_control(note));
            }
            if with_diff && let Some(d) = &c.diff {
                for l in d.lines() {
                    let _ = writeln!(out, "    {}", escape_control_keeping(l, &['\t']));
                }
            }
        }
    }
    out
}

/// The summary table: target, status, files changed, branch, time.
pub fn render_table(report: &RunReport) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "GROUP".into(),
        "TARGET".into(),
        "STATUS".into(),
        "VS BASE (+/~/-)".into(),
        "BRANCH / PR".into(),
        "TIME".into(),
    ]];
    for t in &report.targets {
        let files = if t.changes.is_empty() {
            "-".to_owned()
        } else {
            format!("{}/{}/{}", t.files_added, t.files_modified, t.files_deleted)
        };
        let branch = match (&t.pull_request, &t.branch) {
            (Some(pr), _) => format!("#{} {} ({})", pr.number, pr.url, pr.action.label()),
            (None, Some(b)) => b.clone(),
            _ => "-".to_owned(),
        };
        rows.push([
            t.group.clone(),
            escape_control(&t.target).into_owned(),
            t.status.label().to_owned(),
            files,
            branch,
            format!("{} ms", t.elapsed_ms),
        ]);
    }
    let mut out = table(&rows);
    for t in &report.targets {
        let target = escape_control(&t.target);
        if let Some(e) = &t.error {
            // An error may span lines (a remote's messages); anything else is escaped.
            let e = escape_control_keeping(e, &['\n']);
            let _ = writeln!(out, "{target} [{}] {}: {e}", t.group, t.status.label());
        }
        for w in &t.warnings {
            let _ = writeln!(out, "{target} [{}] warning: {}", t.group, escape_control(w));
        }
    }
    for g in &report.groups {
        if let (Some(e), true) = (&g.error, g.status != GroupStatus::Ok) {
            let e = escape_control_keeping(e, &['\n']);
            let _ = writeln!(out, "group {} {}: {e}", g.id, g.status.label());
        }
    }
    if report.interrupted {
        let not_started = report
            .targets
            .iter()
            .filter(|t| t.error.as_deref() == Some(crate::report::INTERRUPTED))
            .count();
        let _ = writeln!(
            out,
            "interrupted: {not_started} target(s) not started (skipped); re-run to finish"
        );
    }
    let statuses = [
        TargetStatus::Synced,
        TargetStatus::UpToDate,
        TargetStatus::InSync,
        TargetStatus::WouldSync,
        TargetStatus::Skipped,
        TargetStatus::Blocked,
        TargetStatus::Failed,
    ];
    summary_line(&mut out, report, &statuses);
    out
}

/// The closing line of a table: `N target(s): <count> <status>, ...; <ms> ms`, one count per
/// status of `statuses` in that order, and the dry-run remark when nothing was written.
fn summary_line(out: &mut String, report: &RunReport, statuses: &[TargetStatus]) {
    let counts: Vec<String> = statuses
        .iter()
        .map(|s| {
            let n = report.targets.iter().filter(|t| t.status == *s).count();
            format!("{n} {}", s.label())
        })
        .collect();
    let _ = writeln!(
        out,
        "{} target(s): {}; {} ms{}",
        report.targets.len(),
        counts.join(", "),
        report.elapsed_ms,
        if report.dry_run {
            " (dry run: nothing was written)"
        } else {
            ""
        }
    );
}

/// Rows of cells as columns two spaces apart, each as wide as its widest cell (the last
/// column is not padded).
fn table<R: AsRef<[String]>>(rows: &[R]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for r in rows {
        for (i, c) in r.as_ref().iter().enumerate() {
            if widths.len() <= i {
                widths.push(0);
            }
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let r = r.as_ref();
        let mut line = String::new();
        for (i, (w, c)) in widths.iter().zip(r).enumerate() {
            if i + 1 == r.len() {
                line.push_str(c);
            } else {
                let _ = write!(line, "{c:<w$}  ");
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// `broadcast cancel`: one row per target (status, pull request, sync branch, time), then the
/// errors and foreign commits, then the totals.
pub fn render_cancel_table(report: &RunReport) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "GROUP",
            "TARGET",
            "STATUS",
            "PULL REQUEST",
            "SYNC BRANCH",
            "TIME",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for t in &report.targets {
        let pr = match (&t.pull_request, t.status) {
            (Some(pr), TargetStatus::WouldCancel) => {
                format!("#{} {} (would close)", pr.number, pr.url)
            }
            (Some(pr), _) => format!("#{} {} ({})", pr.number, pr.url, pr.action.label()),
            (None, _) => "-".to_owned(),
        };
        let branch = match (&t.branch, t.branch_action) {
            (Some(b), Some(a)) => format!("{} ({})", escape_control(b), a.label()),
            (Some(b), None) => escape_control(b).into_owned(),
            _ => "-".to_owned(),
        };
        rows.push(vec![
            t.group.clone(),
            escape_control(&t.target).into_owned(),
            t.status.label().to_owned(),
            pr,
            branch,
            format!("{} ms", t.elapsed_ms),
        ]);
    }
    let mut out = table(&rows);
    for t in &report.targets {
        if let Some(e) = &t.error {
            let e = escape_control_keeping(e, &['\n']);
            let _ = writeln!(
                out,
                "{} [{}] {}: {e}",
                escape_control(&t.target),
                t.group,
                t.status.label()
            );
        }
    }
    if report.interrupted {
        let _ = writeln!(
            out,
            "interrupted: targets not started are skipped; re-run to finish"
        );
    }
    let statuses = [
        TargetStatus::Cancelled,
        TargetStatus::WouldCancel,
        TargetStatus::NothingToDo,
        TargetStatus::Skipped,
        TargetStatus::Blocked,
        TargetStatus::Failed,
    ];
    summary_line(&mut out, report, &statuses);
    out
}

/// The `cancel` report as JSON: sync's shape (`targets`, `groups`, ...) with cancel's totals,
/// including `pull_requests_closed` and `branches_deleted` (dry run: what would be).
pub fn render_cancel_json(report: &RunReport) -> anyhow::Result<String> {
    use crate::report::{BranchAction, PullRequestAction};
    let count = |s: TargetStatus| report.targets.iter().filter(|t| t.status == s).count();
    let would = report.dry_run;
    let mut v = serde_json::to_value(report)?;
    v["totals"] = serde_json::json!({
        "targets": report.targets.len(),
        "cancelled": count(TargetStatus::Cancelled),
        "would_cancel": count(TargetStatus::WouldCancel),
        "nothing_to_do": count(TargetStatus::NothingToDo),
        "skipped": count(TargetStatus::Skipped),
        "blocked": count(TargetStatus::Blocked),
        "failed": count(TargetStatus::Failed),
        "pull_requests_closed": report.targets.iter().filter(|t| {
            t.pull_request.as_ref().is_some_and(|p| p.action == PullRequestAction::Closed
                || (would && t.status == TargetStatus::WouldCancel))
        }).count(),
        "branches_deleted": report.targets.iter().filter(|t| matches!(
            t.branch_action,
            Some(BranchAction::Deleted | BranchAction::WouldDelete)
        )).count(),
    });
    Ok(serde_json::to_string_pretty(&v)?)
}

/// The report as JSON: `{"targets": [...], "groups": [...], "totals": {...}, ...}`.
pub fn render_json(report: &RunReport) -> anyhow::Result<String> {
    let count = |s: TargetStatus| report.targets.iter().filter(|t| t.status == s).count();
    let mut v = serde_json::to_value(report)?;
    v["totals"] = serde_json::json!({
        "targets": report.targets.len(),
        "synced": count(TargetStatus::Synced),
        "up_to_date": count(TargetStatus::UpToDate),
        "in_sync": count(TargetStatus::InSync),
        "would_sync": count(TargetStatus::WouldSync),
        "skipped": count(TargetStatus::Skipped),
        "blocked": count(TargetStatus::Blocked),
        "failed": count(TargetStatus::Failed),
        "files_added": report.targets.iter().map(|t| t.files_added).sum::<usize>(),
        "files_modified": report.targets.iter().map(|t| t.files_modified).sum::<usize>(),
        "files_deleted": report.targets.iter().map(|t| t.files_deleted).sum::<usize>(),
        "git_spawns": report.targets.iter().map(|t| t.git_spawns).sum::<u64>()
            + report.groups.iter().map(|g| g.git_spawns).sum::<u64>(),
    });
    Ok(serde_json::to_string_pretty(&v)?)
}

/// `broadcast status`: one line per target (in sync, pending merge with its pull request and
/// age, behind, or the problem), errors below the table. `now` is seconds since the Unix epoch,
/// for the pull requests' ages.
pub fn render_status(report: &RunReport, now: i64) -> String {
    let mut out = String::from("GROUP  TARGET  STATE\n");
    for t in &report.targets {
        let pr = t.pull_request.as_ref().map(|pr| {
            let age = pr
                .created_at
                .as_deref()
                .and_then(parse_rfc3339_utc)
                .map(|at| format!(", opened {} ago", human_age(now - at)))
                .unwrap_or_default();
            format!("; PR #{} {}{age}", pr.number, pr.url)
        });
        let pr = pr.unwrap_or_default();
        let state = match t.status {
            TargetStatus::InSync => "in sync".to_owned(),
            TargetStatus::UpToDate => format!(
                "pending merge: sync branch {} holds {} change(s){pr}",
                t.branch.as_deref().unwrap_or("-"),
                t.changes.len()
            ),
            TargetStatus::WouldSync => {
                format!("behind: {} file(s) differ{pr}", t.changes.len())
            }
            TargetStatus::Skipped | TargetStatus::Failed | TargetStatus::Blocked => {
                format!("{} (see below)", t.status.label())
            }
            TargetStatus::Synced => "synced".to_owned(),
            TargetStatus::Cancelled | TargetStatus::WouldCancel | TargetStatus::NothingToDo => {
                t.status.label().to_owned()
            }
        };
        out.push_str(&format!(
            "{}  {}  {state}\n",
            t.group,
            escape_control(&t.target)
        ));
    }
    let mut out = align_columns(&out);
    for t in &report.targets {
        if let Some(e) = &t.error {
            // One line per error, below the table, so the columns stay aligned.
            out.push_str(&format!(
                "{} [{}] {}: {}\n",
                escape_control(&t.target),
                t.group,
                t.status.label(),
                escape_control(&e.replace('\n', " "))
            ));
        }
    }
    out
}

/// `broadcast validate`: the config's groups and targets as the plan sees them, then warnings
/// (ignored settings, transforms that directories do not inherit).
pub fn render_validate(loaded: &crate::config::LoadedConfig, plan: &crate::plan::Plan) -> String {
    let mut out = format!(
        "{}: configuration is valid\n",
        escape_control(&loaded.path.display().to_string())
    );
    for g in &plan.groups {
        out.push_str(&format!(
            "group {} ({}): source {}@{}, {} target(s), branch {}\n",
            g.id,
            escape_control(&g.name),
            escape_control(&g.source_display),
            g.source_branch,
            g.targets.len(),
            g.sync_branch
        ));
        for t in &g.targets {
            out.push_str(&format!(
                "  {} ({} mapping(s), base {})\n",
                escape_control(&t.display),
                t.mappings.len(),
                t.base_branch.as_deref().unwrap_or("default branch")
            ));
        }
    }
    let disabled: Vec<&str> = loaded
        .config
        .groups
        .iter()
        .filter(|g| g.enabled == Some(false))
        .map(|g| g.id.as_str())
        .collect();
    if !disabled.is_empty() {
        out.push_str(&format!("disabled groups: {}\n", disabled.join(", ")));
    }
    for w in crate::config::ignored_settings(&loaded.config)
        .iter()
        .chain(
            plan.groups
                .iter()
                .flat_map(|g| g.targets.iter().flat_map(|t| &t.warnings)),
        )
    {
        out.push_str(&format!("warning: {}\n", escape_control(w)));
    }
    out
}

/// Seconds since the Unix epoch, now (0 if the clock is before it).
pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Aligns whitespace-separated columns of `text` where columns are separated by two spaces.
pub fn align_columns(text: &str) -> String {
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.splitn(3, "  ").collect()).collect();
    let mut widths = [0usize; 3];
    for r in &rows {
        for (i, c) in r.iter().enumerate().take(2) {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            if i < 2 && i + 1 < r.len() {
                let _ = write!(line, "{c:<w$}  ", w = widths[i]);
            } else {
                line.push_str(c);
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out
}

/// Seconds since the Unix epoch of a UTC RFC 3339 timestamp as GitHub writes them
/// (`2026-11-30T06:00:00Z`); `None` for any other shape.
pub fn parse_rfc3339_utc(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3_600 + mm * 60 + ss)
}

/// `3d`, `5h`, `12m` or `40s`.
pub fn human_age(secs: i64) -> String {
    let secs = secs.max(0);
    match secs {
        s if s >= 86_400 => format!("{}d", s / 86_400),
        s if s >= 3_600 => format!("{}h", s / 3_600),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
#[path = "output_tests.rs"]
mod tests;
