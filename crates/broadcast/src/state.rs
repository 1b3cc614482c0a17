//! State kept in the targets: commit trailers on the sync branch and the metadata block of the
//! pull request body. Nothing is stored locally.

use broadcast_git_batch::ObjectId;
use serde::{Deserialize, Serialize};

pub use crate::commit::{TRAILER_GROUP, TRAILER_SOURCE, TRAILER_SOURCE_COMMIT};
use crate::plan::{GroupPlan, TargetPlan};
use crate::report::FileChange;

/// Opening marker of the metadata block (go-broadcast's, so its tooling recognises our PRs).
pub const METADATA_START: &str = "<!-- go-broadcast-metadata";
const METADATA_END: &str = "-->";

/// The machine-readable block at the end of a pull request body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncMetadata {
    /// Group id.
    pub group_id: String,
    /// Source repository as configured.
    pub source_repo: String,
    /// Full source commit id.
    pub source_commit: String,
    /// Target repository as configured.
    pub target_repo: String,
    /// Commit on the sync branch.
    pub sync_commit: String,
}

/// Renders the pull request body: what changed, then the metadata block. Every value in the
/// block is JSON-quoted (JSON strings are valid YAML), so no group name or path can break it.
pub fn pull_request_body(
    group: &GroupPlan,
    target: &TargetPlan,
    source_commit: &ObjectId,
    sync_commit: &ObjectId,
    changes: &[FileChange],
) -> String {
    let mut body = String::new();
    body.push_str(&format!(
        "This pull request brings files from `{}` (commit `{}`, group `{}`) into this repository.\n\n## Changed files\n\n",
        group.source_display.replace('`', "'"),
        source_commit,
        group.id
    ));
    // Every change is listed; the forge fits the body to its own length limit.
    for c in changes {
        let kind = c.kind.past();
        body.push_str(&format!("- `{}` ({kind})\n", c.path.replace('`', "'")));
    }
    let meta = SyncMetadata {
        group_id: group.id.clone(),
        source_repo: group.source_display.clone(),
        source_commit: source_commit.to_string(),
        target_repo: target.display.clone(),
        sync_commit: sync_commit.to_string(),
    };
    body.push('\n');
    body.push_str(&render_metadata(&meta));
    body
}

fn q(s: &str) -> String {
    // `--` cannot end an HTML comment early once escaped as a JSON unicode escape.
    serde_json::to_string(s)
        .expect("strings always serialize")
        .replace("--", "-\\u002d")
}

/// The metadata block alone.
pub fn render_metadata(m: &SyncMetadata) -> String {
    format!(
        "{METADATA_START}\nsync_metadata:\n  group_id: {}\n  source_repo: {}\n  source_commit: {}\n  target_repo: {}\n  sync_commit: {}\n{METADATA_END}\n",
        q(&m.group_id),
        q(&m.source_repo),
        q(&m.source_commit),
        q(&m.target_repo),
        q(&m.sync_commit)
    )
}

/// Reads the metadata block back from a pull request body. `None` when there is none, when the
/// last block does not parse, or when an earlier block parses to different metadata.
///
/// The last block is the one broadcast wrote: [`pull_request_body`] puts it at the end and the
/// forge's length fit keeps it whole. Anything before it is text people can edit, including a
/// changed file whose name holds the marker, a block pasted from another pull request or an
/// older copy of this one; such a block is ambiguous, so it makes the result `None` rather than
/// let another group's (or another sync's) metadata through. Cost: one YAML parse per marker.
pub fn parse_metadata(body: &str) -> Option<SyncMetadata> {
    let last = body.rfind(METADATA_START)?;
    let ours = parse_block(&body[last..])?;
    let earlier_disagrees = body[..last]
        .match_indices(METADATA_START)
        .any(|(at, _)| parse_block(&body[at..]).is_some_and(|other| other != ours));
    (!earlier_disagrees).then_some(ours)
}

/// Parses the block that `text` starts with (`text` begins with [`METADATA_START`]).
fn parse_block(text: &str) -> Option<SyncMetadata> {
    #[derive(Deserialize)]
    struct Wrapper {
        sync_metadata: SyncMetadata,
    }
    let rest = text.strip_prefix(METADATA_START)?;
    let end = rest.find(METADATA_END)?;
    serde_saphyr::from_str::<Wrapper>(&rest[..end])
        .ok()
        .map(|w| w.sync_metadata)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_round_trips_hostile_values() {
        let m = SyncMetadata {
            group_id: "g: x".into(),
            source_repo: "a/b\" --> <!-- \n: {x}".into(),
            source_commit: "0123456789012345678901234567890123456789".into(),
            target_repo: "o/r #c".into(),
            sync_commit: "abc".into(),
        };
        let text = format!("hello\n\n{}", render_metadata(&m));
        assert_eq!(text.matches("-->").count(), 1, "{text}");
        assert_eq!(parse_metadata(&text), Some(m));
        assert_eq!(parse_metadata("no block"), None);
    }

    /// Found by the `metadata` fuzz target: the first marker used to win, so a changed file
    /// named like the marker hid the block, and a pasted older block was read instead of ours.
    #[test]
    fn the_last_block_is_ours_and_earlier_ones_must_agree() {
        let meta = |commit: &str| SyncMetadata {
            group_id: "a".into(),
            source_repo: String::new(),
            source_commit: commit.repeat(40),
            target_repo: String::new(),
            sync_commit: "0".repeat(40),
        };
        let (ours, older) = (meta("a"), meta("b"));
        let listed = format!(
            "## Changed files\n\n- `{METADATA_START}` (added)\n\n{}",
            render_metadata(&ours)
        );
        assert_eq!(parse_metadata(&listed), Some(ours.clone()));
        let pasted = format!("{}\n{}", render_metadata(&older), render_metadata(&ours));
        assert_eq!(parse_metadata(&pasted), None);
        let appended = format!("{}\n{}", render_metadata(&ours), render_metadata(&older));
        assert_eq!(parse_metadata(&appended), None);
        let copied = format!("{}\n{}", render_metadata(&ours), render_metadata(&ours));
        assert_eq!(parse_metadata(&copied), Some(ours.clone()));
        let cut = render_metadata(&ours);
        assert_eq!(parse_metadata(&cut[..cut.len() - 5]), None);
    }
}

#[cfg(test)]
#[path = "state_props.rs"]
mod fuzz_props;
