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

/// Parses the block that `text` starts with (`text` begins with [`METADATA_START`]): the
/// block as we render it without a YAML parser, anything else (edited, or written by
/// go-broadcast) with one.
fn parse_block(text: &str) -> Option<SyncMetadata> {
    let rest = text.strip_prefix(METADATA_START)?;
    let end = rest.find(METADATA_END)?;
    let block = &rest[..end];
    parse_rendered(block).or_else(|| parse_yaml_block(block))
}

/// The text between the markers read as YAML (`sync_metadata:` holding the five fields).
fn parse_yaml_block(block: &str) -> Option<SyncMetadata> {
    #[derive(Deserialize)]
    struct Wrapper {
        sync_metadata: SyncMetadata,
    }
    serde_saphyr::from_str::<Wrapper>(block)
        .ok()
        .map(|w| w.sync_metadata)
}

/// The block exactly as [`render_metadata`] writes it (the text between the markers), read
/// without a YAML parser; `None` for anything else, which the YAML parser then reads.
///
/// Accepts only what reads the same in YAML: the five keys in order, two spaces of indent,
/// and values as JSON strings of printable ASCII with the escapes `serde_json` writes (`\"`,
/// `\\`, `\n`, `\r`, `\t`, `\b`, `\f`, and `\uXXXX` below U+0080), whose YAML
/// double-quoted reading is the same string. Cost: one pass over the block, five allocations.
fn parse_rendered(block: &str) -> Option<SyncMetadata> {
    let mut rest = block.strip_prefix("\nsync_metadata:\n")?;
    let mut field = |key: &str| {
        let line = rest
            .strip_prefix("  ")?
            .strip_prefix(key)?
            .strip_prefix(": ")?;
        let (value, after) = json_ascii_string(line)?;
        rest = after.strip_prefix('\n')?;
        Some(value)
    };
    let meta = SyncMetadata {
        group_id: field("group_id")?,
        source_repo: field("source_repo")?,
        source_commit: field("source_commit")?,
        target_repo: field("target_repo")?,
        sync_commit: field("sync_commit")?,
    };
    rest.is_empty().then_some(meta)
}

/// Decodes the JSON string `text` starts with: (the string, the text after its closing quote).
/// `None` outside the subset [`parse_rendered`] accepts.
fn json_ascii_string(text: &str) -> Option<(String, &str)> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut out = String::new();
    let mut i = 1;
    loop {
        // Plain bytes up to the next quote or backslash are copied as one run.
        let run = bytes[i..]
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || !(0x20..0x7f).contains(&b))?;
        out.push_str(&text[i..i + run]);
        i += run;
        match bytes[i] {
            b'"' => return Some((out, &text[i + 1..])),
            b'\\' => {
                let decoded = match *bytes.get(i + 1)? {
                    b'"' => '"',
                    b'\\' => '\\',
                    b'n' => '\n',
                    b'r' => '\r',
                    b't' => '\t',
                    b'b' => '\u{8}',
                    b'f' => '\u{c}',
                    b'u' => {
                        let hex = text.get(i + 2..i + 6)?;
                        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                            return None;
                        }
                        let code = u8::try_from(u32::from_str_radix(hex, 16).ok()?).ok()?;
                        if !code.is_ascii() {
                            return None;
                        }
                        i += 4;
                        char::from(code)
                    }
                    _ => return None,
                };
                out.push(decoded);
                i += 2;
            }
            _ => return None,
        }
    }
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

    #[test]
    fn rendered_blocks_are_read_without_yaml_and_agree_with_it() {
        let block = |values: [&str; 5]| {
            format!(
                "\nsync_metadata:\n  group_id: {}\n  source_repo: {}\n  source_commit: {}\n  target_repo: {}\n  sync_commit: {}\n",
                values[0], values[1], values[2], values[3], values[4]
            )
        };
        let plain = ["\"g\"", "\"o/s\"", "\"abc\"", "\"o/t\"", "\"def\""];
        let escaped = [
            r#""a\"b\\c""#,
            r#""-\u002d>\n\t\r\b\f""#,
            "\"\"",
            r#""\u0041\u007f""#,
            "\"x y: #z\"",
        ];
        // (block, read by the fast path)
        let table: Vec<(String, bool)> = vec![
            (block(plain), true),
            (block(escaped), true),
            // Outside the subset: the YAML parser decides.
            (
                block([r#""\u00e9""#, "\"s\"", "\"c\"", "\"t\"", "\"d\""]),
                false,
            ),
            (
                block(["\"\\/\"", "\"s\"", "\"c\"", "\"t\"", "\"d\""]),
                false,
            ),
            (
                block(["\"\u{e9}\"", "\"s\"", "\"c\"", "\"t\"", "\"d\""]),
                false,
            ),
            (block(["g", "s", "c", "t", "d"]), false),
            (block(plain).replace("  group_id", "   group_id"), false),
            (block(plain).replace("\n  sync_commit: \"def\"", ""), false),
            (format!("{}  extra: \"x\"\n", block(plain)), false),
            (block(plain).replace('\n', "\r\n"), false),
            (block(plain).replacen("\"g\"", "\"g\"  # note", 1), false),
        ];
        for (text, fast) in &table {
            let got = parse_rendered(text);
            assert_eq!(got.is_some(), *fast, "{text:?}");
            if let Some(got) = got {
                assert_eq!(Some(got), parse_yaml_block(text), "{text:?}");
            }
        }
        let read = parse_rendered(&block(escaped)).expect("in the subset");
        assert_eq!(read.group_id, "a\"b\\c");
        assert_eq!(read.source_repo, "-->\n\t\r\u{8}\u{c}");
        assert_eq!(read.target_repo, "A\u{7f}");
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
