//! Property tests of the pull request metadata block (fuzz target `metadata`).
//!
//! A body is built the way [`super::pull_request_body`] writes it (summary, changed-file list,
//! then the block) with hostile values, then edited the way people edit pull request bodies:
//! text added or cut before and after the block, blocks of other groups pasted in, broken or
//! duplicated blocks, truncation, and arbitrary character edits. Properties: parsing never
//! panics; with our block intact it yields our metadata or nothing, never another group's; edits
//! that leave the block and every marker alone change nothing.
//!
//! Case count: `BROADCAST_FUZZ_CASES` (default below); `cargo xtask fuzz --target metadata`
//! runs these for a fixed time.

use proptest::prelude::*;

use super::{
    METADATA_START, SyncMetadata, parse_metadata, parse_rendered, parse_yaml_block, render_metadata,
};

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("BROADCAST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// Text that tries to break out of the block or the YAML inside it.
const HOSTILE: &[&str] = &[
    "-->",
    "--",
    "<!--",
    "<!-- go-broadcast-metadata",
    "\n",
    "\r\n",
    ": ",
    "#",
    "\"",
    "'",
    "\\",
    "{x}",
    "[",
    "&a",
    "*a",
    "sync_metadata:",
    "  group_id: \"other\"",
    "é",
    "日本",
    "\u{200b}",
    "\u{feff}",
    "`",
    "-",
    "a",
    "/",
    " ",
];

fn hostile_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            prop::sample::select(HOSTILE).prop_map(str::to_owned),
            "[ -~]{0,6}",
            "\\PC{0,3}"
        ],
        0..max,
    )
    .prop_map(|v| v.concat())
}

fn metadata() -> impl Strategy<Value = SyncMetadata> {
    (
        prop_oneof!["[a-z][a-z0-9-]{0,12}", hostile_text(6)],
        hostile_text(4),
        "[0-9a-f]{40}",
        hostile_text(4),
        "[0-9a-f]{40}",
    )
        .prop_map(
            |(group_id, source_repo, source_commit, target_repo, sync_commit)| SyncMetadata {
                group_id,
                source_repo,
                source_commit,
                target_repo,
                sync_commit,
            },
        )
}

/// The body as `pull_request_body` renders it around the changed-file list.
fn body_for(m: &SyncMetadata, files: &[String]) -> String {
    let mut body = format!(
        "This pull request brings files from `{}` (commit `{}`, group `{}`) into this repository.\n\n## Changed files\n\n",
        m.source_repo.replace('`', "'"),
        m.source_commit,
        m.group_id
    );
    for f in files {
        body.push_str(&format!("- `{}` (added)\n", f.replace('`', "'")));
    }
    body.push('\n');
    body.push_str(&render_metadata(m));
    body
}

/// What a person (or a bot) does to the text outside our block.
#[derive(Debug, Clone)]
enum Edit {
    /// Free text.
    Text(String),
    /// Another group's whole block, pasted from its pull request.
    Foreign(SyncMetadata),
    /// Another group's block, cut short at the given fraction.
    BrokenForeign(SyncMetadata, prop::sample::Index),
    /// A second copy of our own block.
    Ours,
    /// Our block, cut short.
    BrokenOurs(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        3 => hostile_text(10).prop_map(Edit::Text),
        2 => metadata().prop_map(Edit::Foreign),
        1 => (metadata(), any::<prop::sample::Index>()).prop_map(|(m, i)| Edit::BrokenForeign(m, i)),
        1 => Just(Edit::Ours),
        1 => any::<prop::sample::Index>().prop_map(Edit::BrokenOurs),
    ]
}

fn cut(s: &str, i: &prop::sample::Index) -> String {
    let mut at = i.index(s.len() + 1);
    while !s.is_char_boundary(at) {
        at -= 1;
    }
    s[..at].to_owned()
}

/// `text` with each `(at, delete, insert)` edit applied in turn, positions moved to the
/// nearest character boundary.
fn damage(text: &str, edits: &[(prop::sample::Index, usize, String)]) -> String {
    let mut damaged = text.to_owned();
    for (i, del, ins) in edits {
        let mut s = i.index(damaged.len() + 1);
        while !damaged.is_char_boundary(s) {
            s -= 1;
        }
        let mut e = (s + del).min(damaged.len());
        while !damaged.is_char_boundary(e) {
            e += 1;
        }
        damaged.replace_range(s..e, ins);
    }
    damaged
}

fn render_edit(e: &Edit, ours: &SyncMetadata) -> String {
    match e {
        Edit::Text(t) => t.clone(),
        Edit::Foreign(m) => render_metadata(m),
        Edit::BrokenForeign(m, i) => cut(&render_metadata(m), i),
        Edit::Ours => render_metadata(ours),
        Edit::BrokenOurs(i) => cut(&render_metadata(ours), i),
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// Our block round-trips through a body whose file list holds hostile paths.
    #[test]
    fn fuzz_metadata_round_trips(
        m in metadata(),
        files in prop::collection::vec(hostile_text(5), 0..6),
    ) {
        let body = body_for(&m, &files);
        prop_assert_eq!(parse_metadata(&body), Some(m));
    }

    /// Text added before and after the block, holding no marker, changes nothing.
    #[test]
    fn fuzz_metadata_plain_edits_keep_ours(
        m in metadata(),
        files in prop::collection::vec(hostile_text(5), 0..4),
        before in hostile_text(12),
        after in hostile_text(12),
        cut_intro in any::<prop::sample::Index>(),
    ) {
        prop_assume!(!before.contains(METADATA_START) && !after.contains(METADATA_START));
        let body = body_for(&m, &files);
        let at = body.rfind(METADATA_START).expect("rendered bodies hold the block");
        // People rewrite the summary: cut some of it, add their own text.
        let intro = cut(&body[..at], &cut_intro);
        let edited = format!("{before}{intro}{}{after}", &body[at..]);
        prop_assert_eq!(parse_metadata(&edited), Some(m));
    }

    /// Pasted, broken and duplicated blocks anywhere outside ours: ours or nothing, never
    /// another group's.
    #[test]
    fn fuzz_metadata_never_another_groups(
        m in metadata(),
        before in prop::collection::vec(edit(), 0..4),
        after in prop::collection::vec(edit(), 0..4),
    ) {
        let body = body_for(&m, &[]);
        let mut edited = String::new();
        for e in &before {
            edited.push_str(&render_edit(e, &m));
        }
        edited.push_str(&body);
        for e in &after {
            edited.push_str(&render_edit(e, &m));
        }
        if let Some(got) = parse_metadata(&edited) {
            prop_assert_eq!(&got, &m, "another group's metadata from {:?}", edited);
        }
    }

    /// The block read without YAML is the block read with it, for our rendering (always read
    /// without YAML when every value is ASCII) and for damaged copies of it.
    #[test]
    fn fuzz_metadata_fast_path_equals_yaml(
        m in metadata(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, hostile_text(2)), 0..3),
    ) {
        let rendered = render_metadata(&m);
        let block = &rendered[METADATA_START.len()..rendered.rfind("-->").expect("closed")];
        let ascii = [&m.group_id, &m.source_repo, &m.target_repo]
            .iter()
            .all(|v| v.bytes().all(|b| b < 0x7f));
        let fast = parse_rendered(block);
        prop_assert_eq!(fast.is_some(), ascii, "{:?}", block);
        if let Some(fast) = fast {
            prop_assert_eq!(Some(fast), parse_yaml_block(block));
        }
        let damaged = damage(block, &edits);
        if let Some(fast) = parse_rendered(&damaged) {
            prop_assert_eq!(Some(fast), parse_yaml_block(&damaged), "{:?}", damaged);
        }
    }

    /// Truncation anywhere and arbitrary character edits never panic; a body cut inside the
    /// block yields nothing rather than a partial record.
    #[test]
    fn fuzz_metadata_damage_never_panics(
        m in metadata(),
        at in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), 0usize..8, hostile_text(3)), 0..4),
    ) {
        let body = body_for(&m, &[]);
        let truncated = cut(&body, &at);
        if let Some(got) = parse_metadata(&truncated) {
            prop_assert_eq!(&got, &m, "from a truncated body {:?}", truncated);
        }
        let damaged = damage(&body, &edits);
        let _ = parse_metadata(&damaged);
    }
}
