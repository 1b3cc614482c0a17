//! Snapshot tests of every human output format, on one report that has every status, a pull
//! request, warnings, a multi-line error, a diff and a file name with control characters.

use super::*;
use crate::report::{
    ChangeKind, FileChange, ForeignCommit, GroupReport, GroupStatus, PullRequestAction,
    PullRequestReport, TargetReport,
};

fn change(path: &str, kind: ChangeKind, old: Option<u64>, new: Option<u64>) -> FileChange {
    FileChange {
        path: path.to_owned(),
        kind,
        old_bytes: old,
        new_bytes: new,
        mode: (kind != ChangeKind::Deleted).then(|| "100644".to_owned()),
        diff: None,
        diff_note: None,
    }
}

fn target(name: &str, status: TargetStatus) -> TargetReport {
    let mut t = TargetReport::new("platform", name, format!("/srv/{name}.git"), status);
    t.base = Some("main".to_owned());
    t.elapsed_ms = 12;
    t
}

fn report() -> RunReport {
    let mut synced = target("acme/a", TargetStatus::Synced);
    synced.branch = Some("chore/sync-files-platform".to_owned());
    synced.commit = Some("1111111111111111111111111111111111111111".to_owned());
    synced.pull_request = Some(PullRequestReport {
        number: 7,
        url: "https://github.com/acme/a/pull/7".to_owned(),
        action: PullRequestAction::Created,
        created_at: Some("2026-11-30T12:00:00Z".to_owned()),
    });
    synced.set_changes(vec![
        change("Makefile", ChangeKind::Modified, Some(10), Some(12)),
        change("ci/new.yml", ChangeKind::Added, None, Some(5)),
        change("old.txt", ChangeKind::Deleted, Some(3), None),
    ]);
    synced.warnings = vec!["ci/x.yml: placeholder 'NAME' has no value".to_owned()];

    let mut would = target("acme/b", TargetStatus::WouldSync);
    would.branch = Some("chore/sync-files-platform".to_owned());
    let mut evil = change("evil\x1b[31m\nname", ChangeKind::Added, None, Some(4));
    evil.diff = Some("--- a/x\n+++ b/x\n@@ -0,0 +1 @@\n+red\x1b[31m\n".to_owned());
    would.set_changes(vec![evil]);

    let mut up = target("acme/c", TargetStatus::UpToDate);
    up.branch = Some("chore/sync-files-platform".to_owned());
    up.set_changes(vec![change(
        "Makefile",
        ChangeKind::Modified,
        Some(1),
        Some(2),
    )]);
    up.pull_request = Some(PullRequestReport {
        number: 3,
        url: "https://github.com/acme/c/pull/3".to_owned(),
        action: PullRequestAction::Open,
        created_at: Some("2026-11-28T12:00:00Z".to_owned()),
    });

    let mut blocked = target("acme/d", TargetStatus::Blocked);
    blocked.error = Some("sync branch has 1 commit(s) broadcast did not write".to_owned());
    blocked.foreign_commits = vec![ForeignCommit {
        commit: "2222222222222222222222222222222222222222".to_owned(),
        author: "Jane Doe <jane@example.com>".to_owned(),
        subject: "fix lint".to_owned(),
        reason: "no Broadcast-Group trailer".to_owned(),
    }];

    let mut failed = target("acme/e", TargetStatus::Failed);
    failed.error = Some(
        "push was rejected: [remote rejected]\nremote: GH006: Protected branch update failed"
            .to_owned(),
    );

    let skipped = target("acme/f", TargetStatus::Skipped);
    let in_sync = target("acme/g", TargetStatus::InSync);
    RunReport {
        targets: vec![synced, would, up, blocked, failed, skipped, in_sync],
        groups: vec![GroupReport {
            id: "platform".to_owned(),
            source: "acme/template".to_owned(),
            source_commit: Some("3333333333333333333333333333333333333333".to_owned()),
            git_spawns: 3,
            status: GroupStatus::Ok,
            error: None,
        }],
        elapsed_ms: 40,
        dry_run: false,
        interrupted: false,
    }
}

/// 2026-12-01T12:00:00Z.
const NOW: i64 = 1_796_126_400;

#[test]
fn table() {
    insta::assert_snapshot!(render_table(&report()));
}

#[test]
fn changes_with_diffs() {
    insta::assert_snapshot!(render_changes(&report(), true));
}

#[test]
fn status() {
    insta::assert_snapshot!(render_status(&report(), NOW));
}

#[test]
fn json() {
    let json: serde_json::Value = serde_json::from_str(&render_json(&report()).unwrap()).unwrap();
    insta::assert_json_snapshot!(json);
}

#[test]
fn no_control_character_reaches_the_terminal() {
    let r = report();
    for text in [
        render_table(&r),
        render_changes(&r, true),
        render_status(&r, NOW),
    ] {
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
    }
}

#[test]
fn rfc3339_parsing_matches_known_epochs() {
    assert_eq!(parse_rfc3339_utc("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339_utc("2000-03-01T00:00:00Z"), Some(951_868_800));
    assert_eq!(
        parse_rfc3339_utc("2026-11-30T06:00:00Z"),
        Some(1_796_018_400)
    );
    assert_eq!(parse_rfc3339_utc("2026-11-30 06:00:00"), None);
    assert_eq!(human_age(3 * 86_400 + 5), "3d");
    assert_eq!(human_age(59), "59s");
}

fn cancel_report(dry_run: bool) -> RunReport {
    use crate::report::BranchAction;
    let branch = "chore/sync-files-platform".to_owned();
    let pr = |n: u64, action| PullRequestReport {
        number: n,
        url: format!("https://github.com/acme/x/pull/{n}"),
        action,
        created_at: None,
    };
    let mut done = target("acme/a", TargetStatus::Cancelled);
    done.branch = Some(branch.clone());
    done.pull_request = Some(pr(7, PullRequestAction::Closed));
    done.branch_action = Some(BranchAction::Deleted);
    let mut would = target("acme/b", TargetStatus::WouldCancel);
    would.branch = Some(branch.clone());
    would.pull_request = Some(pr(8, PullRequestAction::Open));
    would.branch_action = Some(BranchAction::WouldDelete);
    let mut kept = target("acme/c", TargetStatus::Cancelled);
    kept.branch = Some(branch.clone());
    kept.pull_request = Some(pr(9, PullRequestAction::Closed));
    kept.branch_action = Some(BranchAction::Kept);
    let mut blocked = target("acme/d", TargetStatus::Blocked);
    blocked.branch = Some(branch);
    blocked.branch_action = Some(BranchAction::Kept);
    blocked.error = Some("sync branch has 1 commit(s) broadcast did not write: left alone".into());
    let nothing = target("acme/e", TargetStatus::NothingToDo);
    let mut r = report();
    r.targets = vec![done, would, kept, blocked, nothing];
    r.dry_run = dry_run;
    r
}

#[test]
fn cancel_table() {
    insta::assert_snapshot!(render_cancel_table(&cancel_report(false)));
}

#[test]
fn cancel_json_totals_count_closed_pull_requests_and_deleted_branches() {
    let v: serde_json::Value =
        serde_json::from_str(&render_cancel_json(&cancel_report(false)).unwrap()).unwrap();
    let t = &v["totals"];
    assert_eq!(
        (
            &t["cancelled"],
            &t["would_cancel"],
            &t["nothing_to_do"],
            &t["blocked"]
        ),
        (&2.into(), &1.into(), &1.into(), &1.into())
    );
    // Closed: a and c; would close (b) only counts in a dry run's report.
    assert_eq!(t["pull_requests_closed"], 2);
    assert_eq!(t["branches_deleted"], 2, "deleted (a) and would delete (b)");
    assert_eq!(v["targets"][0]["branch_action"], "deleted");
    assert!(v["targets"][4].get("branch_action").is_none());
    let dry: serde_json::Value =
        serde_json::from_str(&render_cancel_json(&cancel_report(true)).unwrap()).unwrap();
    assert_eq!(dry["totals"]["pull_requests_closed"], 3);
}
