//! Property tests of the git output parsers (fuzz target `git`): `ls-tree -z`, `cat-file
//! --batch` answers, `ls-remote --symref` and `push --porcelain`.
//!
//! Generators write what git writes for generated entries (paths with spaces, tabs, newlines,
//! quotes, non-ASCII and non-UTF-8 bytes; every mode, kind and flag), then the output is cut,
//! spliced and overwritten. Properties: the clean output parses back to exactly the generated
//! values (or, for a non-UTF-8 path or ref, to an error or a skipped line, never a lossy name);
//! damaged output gives an error or values, never a panic or an allocation sized by a header.
//!
//! Case count: `BROADCAST_FUZZ_CASES` (default below); `cargo xtask fuzz --target git` runs
//! these for a fixed time.

use std::io::Cursor;

use proptest::prelude::*;

use crate::catfile::read_answer_from;
use crate::repo::{PushStatus, parse_ls_remote_symref, parse_push_porcelain, parse_remote_line};
use crate::tree::parse_ls_tree;
use crate::{Error, ObjectId, ObjectKind};

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

fn oid() -> impl Strategy<Value = ObjectId> {
    any::<[u8; 20]>().prop_map(ObjectId::from_bytes)
}

/// Path bytes git can store: anything but NUL, weighted towards the awkward ones.
fn path_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(&b"abc/._-"[..]),
            2 => prop::sample::select(&b" \t\n\r\"'\\:;*?[]{}~^"[..]),
            1 => prop::sample::select(&[0xc3u8, 0xa9, 0xe6, 0x97, 0xa5, 0xff, 0xfe, 0x80][..]),
            1 => 1u8..=255,
        ],
        1..24,
    )
}

const DAMAGE_SNIPPETS: &[&[u8]] = &[
    b"\0",
    b"\t",
    b"\n",
    b" ",
    b"ref: ",
    b"missing",
    b"blob",
    b"99999999999999999999",
    b"18446744073709551615",
    b"-1",
    b"0",
    b"100644",
    b"\xff",
];

/// Edits applied to generated output.
#[derive(Debug, Clone)]
enum Damage {
    Truncate(prop::sample::Index),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, Vec<u8>),
    Overwrite(prop::sample::Index, u8),
}

fn damage() -> impl Strategy<Value = Damage> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        idx().prop_map(Damage::Truncate),
        (idx(), 1usize..12).prop_map(|(i, n)| Damage::Delete(i, n)),
        (
            idx(),
            prop_oneof![
                prop::sample::select(DAMAGE_SNIPPETS).prop_map(<[u8]>::to_vec),
                prop::collection::vec(any::<u8>(), 0..6),
            ]
        )
            .prop_map(|(i, b)| Damage::Insert(i, b)),
        (idx(), any::<u8>()).prop_map(|(i, b)| Damage::Overwrite(i, b)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Damage]) -> Vec<u8> {
    for d in edits {
        let at = |i: &prop::sample::Index, len: usize| i.index(len + 1);
        match d {
            Damage::Truncate(i) => b.truncate(at(i, b.len())),
            Damage::Delete(i, n) => {
                let s = at(i, b.len());
                let e = (s + n).min(b.len());
                b.drain(s..e);
            }
            Damage::Insert(i, v) => {
                let p = at(i, b.len());
                b.splice(p..p, v.iter().copied());
            }
            Damage::Overwrite(i, v) => {
                if !b.is_empty() {
                    let p = i.index(b.len());
                    b[p] = *v;
                }
            }
        }
    }
    b
}

/// `(mode, kind)` pairs git writes in `ls-tree -r` output.
const MODES: &[(u32, ObjectKind)] = &[
    (0o100644, ObjectKind::Blob),
    (0o100755, ObjectKind::Blob),
    (0o120000, ObjectKind::Blob),
    (0o160000, ObjectKind::Commit),
    (0o040000, ObjectKind::Tree),
];

fn ls_tree_entries() -> impl Strategy<Value = Vec<(u32, ObjectKind, ObjectId, Vec<u8>)>> {
    prop::collection::vec(
        (prop::sample::select(MODES), oid(), path_bytes()).prop_map(|((m, k), o, p)| (m, k, o, p)),
        0..12,
    )
}

fn ls_tree_output(entries: &[(u32, ObjectKind, ObjectId, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (mode, kind, oid, path) in entries {
        out.extend_from_slice(format!("{mode:06o} {kind} {oid}\t").as_bytes());
        out.extend_from_slice(path);
        out.push(0);
    }
    out
}

/// One object's kind and contents.
type Contents = (ObjectKind, Vec<u8>);

/// One `cat-file` answer: the id and the object, `None` for `missing`.
type Answer = (ObjectId, Option<Contents>);

/// `(id, kind, data)` or `(id, missing)` answers.
fn catfile_answers() -> impl Strategy<Value = Vec<Answer>> {
    let kind = prop::sample::select(
        &[
            ObjectKind::Blob,
            ObjectKind::Tree,
            ObjectKind::Commit,
            ObjectKind::Tag,
        ][..],
    );
    prop::collection::vec(
        (
            oid(),
            prop::option::weighted(0.85, (kind, prop_oneof![path_bytes(), Just(Vec::new())])),
        ),
        1..6,
    )
}

fn catfile_output(answers: &[Answer]) -> Vec<u8> {
    let mut out = Vec::new();
    for (oid, obj) in answers {
        match obj {
            Some((kind, data)) => {
                out.extend_from_slice(format!("{oid} {kind} {}\n", data.len()).as_bytes());
                out.extend_from_slice(data);
                out.push(b'\n');
            }
            None => out.extend_from_slice(format!("{oid} missing\n").as_bytes()),
        }
    }
    out
}

fn read_all(stream: &[u8], wants: &[ObjectId]) -> Vec<Result<Option<Contents>, Error>> {
    let mut r = Cursor::new(stream);
    let mut header = Vec::new();
    let mut got = Vec::new();
    for &want in wants {
        let answer = read_answer_from(&mut r, &mut header, want, |source| Error::Pipe {
            args: Vec::new(),
            stderr: String::new(),
            source,
        });
        let stop = answer.is_err();
        got.push(answer.map(|o| o.map(|o| (o.kind, o.data))));
        if stop {
            break;
        }
    }
    got
}

/// Ref names git accepts (git-check-ref-format(1)): no space, control character, `~^:?*[\`.
fn ref_name() -> impl Strategy<Value = String> {
    (
        prop::sample::select(&["refs/heads/", "refs/tags/", "refs/pull/1/", "refs/x/"][..]),
        "[a-zA-Z0-9_.+=@é日-]{1,10}(/[a-zA-Z0-9_-]{1,6}){0,2}",
    )
        .prop_map(|(p, n)| format!("{p}{n}"))
}

proptest! {
    #![proptest_config(cases(256))]

    /// `ls-tree -z` output parses back exactly; a non-UTF-8 path is an error, never a lossy
    /// path.
    #[test]
    fn fuzz_git_ls_tree_round_trips(entries in ls_tree_entries()) {
        let out = ls_tree_output(&entries);
        let all_utf8 = entries.iter().all(|e| std::str::from_utf8(&e.3).is_ok());
        match parse_ls_tree(&out) {
            Ok(parsed) => {
                prop_assert!(all_utf8, "a non-UTF-8 path was accepted: {parsed:?}");
                prop_assert_eq!(parsed.len(), entries.len());
                for (p, (mode, kind, oid, path)) in parsed.iter().zip(&entries) {
                    prop_assert_eq!((p.mode, p.kind, p.oid), (*mode, *kind, *oid));
                    prop_assert_eq!(p.path.as_bytes(), path.as_slice());
                }
            }
            Err(Error::NonUtf8Path { .. }) => prop_assert!(!all_utf8),
            Err(e) => return Err(TestCaseError::fail(format!("{e} for {out:?}"))),
        }
    }

    /// Damaged `ls-tree -z` output: an error or entries whose paths are bytes of the input.
    #[test]
    fn fuzz_git_ls_tree_damaged(
        entries in ls_tree_entries(),
        edits in prop::collection::vec(damage(), 1..4),
    ) {
        let out = apply(ls_tree_output(&entries), &edits);
        if let Ok(parsed) = parse_ls_tree(&out) {
            let records: Vec<&[u8]> = out.split(|&b| b == 0).filter(|r| !r.is_empty()).collect();
            prop_assert_eq!(parsed.len(), records.len());
            for (p, r) in parsed.iter().zip(records) {
                prop_assert!(r.ends_with(p.path.as_bytes()) && !p.path.is_empty());
                let tab = r.iter().position(|&b| b == b'\t').expect("parsed records have a tab");
                prop_assert_eq!(&r[tab + 1..], p.path.as_bytes());
            }
        }
    }

    /// `cat-file --batch` answers read back exactly, in order.
    #[test]
    fn fuzz_git_cat_file_round_trips(answers in catfile_answers()) {
        let stream = catfile_output(&answers);
        let wants: Vec<ObjectId> = answers.iter().map(|a| a.0).collect();
        let got = read_all(&stream, &wants);
        prop_assert_eq!(got.len(), answers.len());
        for (g, (_, want)) in got.into_iter().zip(answers) {
            match g {
                Ok(v) => prop_assert_eq!(v, want),
                Err(e) => return Err(TestCaseError::fail(e.to_string())),
            }
        }
    }

    /// Damaged answers (sizes that lie, cut streams, garbage headers): errors or objects, never
    /// a panic or a header-sized allocation.
    #[test]
    fn fuzz_git_cat_file_damaged(
        answers in catfile_answers(),
        edits in prop::collection::vec(damage(), 1..4),
    ) {
        let stream = apply(catfile_output(&answers), &edits);
        let wants: Vec<ObjectId> = answers.iter().map(|a| a.0).collect();
        for answer in read_all(&stream, &wants).into_iter().flatten().flatten() {
            prop_assert!(answer.1.len() <= stream.len());
        }
    }

    /// `ls-remote --symref` output parses back exactly; damaged output never panics.
    #[test]
    fn fuzz_git_ls_remote(
        head in prop::option::of(ref_name()),
        refs in prop::collection::vec((oid(), ref_name()), 0..8),
        edits in prop::collection::vec(damage(), 0..3),
    ) {
        let mut out = String::new();
        if let Some(h) = &head {
            out.push_str(&format!("ref: {h}\tHEAD\n"));
        }
        for (o, name) in &refs {
            out.push_str(&format!("{o}\t{name}\n"));
        }
        let (got_head, got_refs) = parse_ls_remote_symref(out.as_bytes())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want_head = head.map(|h| h.strip_prefix("refs/heads/").map(str::to_owned).unwrap_or(h));
        prop_assert_eq!(got_head, want_head);
        prop_assert_eq!(got_refs.len(), refs.len());
        for (g, (o, name)) in got_refs.iter().zip(&refs) {
            prop_assert_eq!((&g.oid, &g.name), (o, name));
        }
        let damaged = apply(out.into_bytes(), &edits);
        if let Ok((_, refs)) = parse_ls_remote_symref(&damaged) {
            for r in refs {
                // Every name read is a whole field of the input, never a lossy rewrite.
                let line = format!("{}\t{}", r.oid, r.name);
                let found = damaged
                    .split(|&b| b == b'\n')
                    .any(|l| l.eq_ignore_ascii_case(line.as_bytes()));
                prop_assert!(found, "{line:?} not in {damaged:?}");
            }
        }
        for line in damaged.split(|&b| b == b'\n') {
            let _ = parse_remote_line(line);
        }
    }

    /// `push --porcelain` lines give back each ref's destination and status; lines that are
    /// not ref lines are skipped; a destination is never a lossy rewrite of the bytes.
    #[test]
    fn fuzz_git_push_porcelain(
        lines in prop::collection::vec(
            (
                prop::sample::select(&[' ', '+', '-', '*', '=', '!'][..]),
                prop_oneof![Just(String::new()), ref_name(), "[0-9a-f]{40}"],
                ref_name(),
                prop::sample::select(&[
                    "[new branch]", "[up to date]", "1234567..89abcde", "abc...def (forced update)",
                    "[rejected] (stale info)", "[rejected] (fetch first)",
                    "[remote rejected] (hook declined)", "[remote failure] (timeout)", "[deleted]",
                    "",
                ][..]),
            ),
            0..6,
        ),
        noise in prop::sample::select(&["To file:///r.git\n", "Done\n", "", "error: x\n", "\n"][..]),
        edits in prop::collection::vec(damage(), 0..3),
    ) {
        let mut out = String::from(noise);
        for (flag, src, dst, summary) in &lines {
            out.push_str(&format!("{flag}\t{src}:{dst}\t{summary}\n"));
        }
        out.push_str(noise);
        let got = parse_push_porcelain(out.as_bytes());
        prop_assert_eq!(got.len(), lines.len());
        for (g, (flag, _, dst, summary)) in got.iter().zip(&lines) {
            let want = match flag {
                '=' => PushStatus::UpToDate,
                '!' if summary.starts_with("[remote ") => PushStatus::Error,
                '!' => PushStatus::Rejected,
                _ => PushStatus::Ok,
            };
            prop_assert_eq!((&g.dst, g.status, g.summary.as_str()), (dst, want, *summary));
        }
        let damaged = apply(out.into_bytes(), &edits);
        for r in parse_push_porcelain(&damaged) {
            let needle = format!(":{}\t", r.dst);
            let at_end = format!(":{}", r.dst);
            let found = damaged.windows(needle.len()).any(|w| w == needle.as_bytes())
                || damaged
                    .split(|&b| b == b'\n')
                    .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                    .any(|l| l.ends_with(at_end.as_bytes()))
                || damaged.split(|&b| b == b'\n').any(|l| {
                    l.split(|&b| b == b'\t').nth(1) == Some(r.dst.as_bytes())
                });
            prop_assert!(found, "destination {:?} is not in {:?}", r.dst, damaged);
        }
    }
}

/// Found while writing the `git` target: a header announcing an absurd size used to allocate
/// that size before reading (a capacity-overflow panic or an out-of-memory abort, not an
/// error).
#[test]
fn a_lying_cat_file_size_is_an_error_not_an_allocation() {
    let oid = ObjectId::from_bytes([7; 20]);
    for size in ["18446744073709551615", "99999999999", "4"] {
        let stream = format!("{oid} blob {size}\nab\n");
        let got = read_all(stream.as_bytes(), &[oid]);
        assert!(
            matches!(got.as_slice(), [Err(Error::Pipe { .. })]),
            "{size}: {got:?}"
        );
    }
}
