//! Property tests of the config loader, validate and plan (fuzz target `config`).
//!
//! Structured generators build valid go-broadcast v1 files, then mutate them (cut, splice, insert
//! YAML punctuation, anchors and aliases, tabs, BOMs, NULs), next to arbitrary bytes and resource
//! bombs (alias fan-out, deep nesting, huge scalars). Properties: parsing never panics and always
//! returns; a rejection is a syntax error quoting a line and column or a list of issues each
//! naming a field path; a config that validates also plans; generated valid configs validate and
//! plan with every group and target in place.
//!
//! Case count: `BROADCAST_FUZZ_CASES` (default below); `cargo xtask fuzz --target config` runs
//! these for a fixed time.

use std::path::Path;

use proptest::prelude::*;

use super::{Scope, build};
use crate::config::{ParseError, parse_str};

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

/// JSON strings are YAML strings: any generated text is quoted this way.
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

#[derive(Debug, Clone)]
struct GenTarget {
    files: Vec<(String, String)>,
    dirs: Vec<(String, String)>,
    repo_name: bool,
    variables: Vec<(String, String)>,
    branch: Option<String>,
}

#[derive(Debug, Clone)]
struct GenGroup {
    name: String,
    priority: i64,
    enabled: bool,
    depends: Vec<usize>,
    targets: Vec<GenTarget>,
}

fn path_part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9_.-]{0,8}",
        "[a-zA-Z0-9 éü日-]{1,8}".prop_filter("no dot names", |s| {
            let t = s.trim();
            !t.is_empty() && t != "." && t != ".." && !t.eq_ignore_ascii_case(".git")
        }),
    ]
}

fn target() -> impl Strategy<Value = GenTarget> {
    (
        prop::collection::vec((path_part(), path_part()), 1..4),
        prop::collection::vec((path_part(), path_part()), 0..3),
        any::<bool>(),
        prop::collection::btree_map("[A-Z][A-Z0-9_]{0,6}", "[ -~é]{0,12}", 0..3)
            .prop_map(|m| m.into_iter().collect::<Vec<_>>()),
        prop::option::of("[a-z][a-z0-9-]{0,8}"),
    )
        .prop_map(|(files, dirs, repo_name, variables, branch)| GenTarget {
            files,
            dirs,
            repo_name,
            variables,
            branch,
        })
}

fn groups() -> impl Strategy<Value = Vec<GenGroup>> {
    prop::collection::vec(
        (
            "[A-Za-z][A-Za-z0-9 _é日-]{0,12}",
            -5i64..5,
            prop::bool::weighted(0.85),
            prop::collection::vec(any::<prop::sample::Index>(), 0..3),
            prop::collection::vec(target(), 1..4),
        ),
        1..4,
    )
    .prop_map(|gs| {
        gs.into_iter()
            .enumerate()
            .map(|(gi, (name, priority, enabled, deps, targets))| GenGroup {
                name,
                priority,
                enabled,
                // Only earlier groups: never a cycle.
                depends: if gi == 0 {
                    Vec::new()
                } else {
                    let mut d: Vec<usize> = deps.iter().map(|i| i.index(gi)).collect();
                    d.sort_unstable();
                    d.dedup();
                    d
                },
                targets,
            })
            .collect()
    })
}

/// Renders a valid config. Paths are made unique per target by a numeric prefix, so no two
/// mappings write the same destination and no file is also a directory.
fn render(groups: &[GenGroup]) -> String {
    let mut y = String::from("version: 1\nname: \"fuzz\"\ngroups:\n");
    for (gi, g) in groups.iter().enumerate() {
        y.push_str(&format!(
            "  - name: {}\n    id: g{gi}\n    priority: {}\n    enabled: {}\n",
            q(&g.name),
            g.priority,
            g.enabled
        ));
        if !g.depends.is_empty() {
            let d: Vec<String> = g.depends.iter().map(|d| format!("g{d}")).collect();
            y.push_str(&format!("    depends_on: [{}]\n", d.join(", ")));
        }
        y.push_str(&format!(
            "    source:\n      repo: acme/template-{gi}\n      branch: main\n    targets:\n"
        ));
        for (ti, t) in g.targets.iter().enumerate() {
            y.push_str(&format!("      - repo: org{ti}/repo-{gi}-{ti}\n"));
            if let Some(b) = &t.branch {
                y.push_str(&format!("        branch: {}\n", q(b)));
            }
            if !t.files.is_empty() {
                y.push_str("        files:\n");
                for (fi, (src, dest)) in t.files.iter().enumerate() {
                    y.push_str(&format!(
                        "          - src: {}\n            dest: {}\n",
                        q(&format!("in/f{fi}/{src}")),
                        q(&format!("f{fi}/{dest}"))
                    ));
                }
            }
            if !t.dirs.is_empty() {
                y.push_str("        directories:\n");
                for (di, (src, dest)) in t.dirs.iter().enumerate() {
                    y.push_str(&format!(
                        "          - src: {}\n            dest: {}\n            exclude: [\"*.tmp\"]\n",
                        q(&format!("in/d{di}/{src}")),
                        q(&format!("d{di}/{dest}"))
                    ));
                }
            }
            if t.repo_name || !t.variables.is_empty() {
                y.push_str(&format!(
                    "        transform:\n          repo_name: {}\n",
                    t.repo_name
                ));
                if !t.variables.is_empty() {
                    y.push_str("          variables:\n");
                    for (k, v) in &t.variables {
                        y.push_str(&format!("            {k}: {}\n", q(v)));
                    }
                }
            }
        }
    }
    y
}

/// One edit a person (or a broken tool) could make to the text.
#[derive(Debug, Clone)]
enum Mutation {
    Truncate(prop::sample::Index),
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, &'static str),
    DuplicateLine(prop::sample::Index),
    SwapLines(prop::sample::Index, prop::sample::Index),
    Byte(prop::sample::Index, u8),
}

const SNIPPETS: &[&str] = &[
    ": ",
    "- ",
    "\n",
    "\n  ",
    "\t",
    "#",
    "&a ",
    "*a",
    "<<: *a\n",
    "{",
    "}",
    "[",
    "]",
    ",",
    "\"",
    "'",
    "~",
    "null",
    "!!binary ",
    "!!str ",
    "!foo ",
    "? ",
    "|\n",
    ">-\n",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "\u{feff}",
    "\0",
    "\r",
    "\u{85}",
    "\u{2028}",
    "-1",
    "99999999999999999999999",
    "0x1F",
    ".inf",
    "yes",
    "groups",
    "version: 2\n",
    "files: []\n",
    "depends_on: [g0]\n",
    "id: g0\n",
    "repo: acme/template-0\n",
    "dest: ../escape\n",
    "src: /abs\n",
    "dest: .git/x\n",
    "branch: \"-x\"\n",
    "日本",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    let idx = any::<prop::sample::Index>;
    prop_oneof![
        idx().prop_map(Mutation::Truncate),
        (idx(), 1usize..40).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (idx(), prop::sample::select(SNIPPETS)).prop_map(|(i, s)| Mutation::Insert(i, s)),
        idx().prop_map(Mutation::DuplicateLine),
        (idx(), idx()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (idx(), any::<u8>()).prop_map(|(i, b)| Mutation::Byte(i, b)),
    ]
}

/// Applies `m` to `text` at byte level, then makes it a `String` (lossily, as a file read would
/// fail on invalid UTF-8 before parsing).
fn mutate(text: &str, m: &Mutation) -> String {
    let mut b = text.as_bytes().to_vec();
    let at = |i: &prop::sample::Index, len: usize| if len == 0 { 0 } else { i.index(len + 1) };
    match m {
        Mutation::Truncate(i) => b.truncate(at(i, b.len())),
        Mutation::Delete(i, n) => {
            let s = at(i, b.len());
            let e = (s + n).min(b.len());
            b.drain(s..e);
        }
        Mutation::Insert(i, s) => {
            let p = at(i, b.len());
            b.splice(p..p, s.bytes());
        }
        Mutation::Byte(i, v) => {
            if !b.is_empty() {
                let p = i.index(b.len());
                b[p] = *v;
            }
        }
        Mutation::DuplicateLine(i) | Mutation::SwapLines(i, _) => {
            let mut lines: Vec<&str> = text.split_inclusive('\n').collect();
            if lines.is_empty() {
                return text.to_owned();
            }
            let a = i.index(lines.len());
            match m {
                Mutation::SwapLines(_, j) => {
                    let c = j.index(lines.len());
                    lines.swap(a, c);
                }
                _ => lines.insert(a, lines[a]),
            }
            return lines.concat();
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

/// The properties every input must satisfy, whatever it is.
fn check_any(text: &str) -> Result<(), TestCaseError> {
    match parse_str(text, Path::new(".")) {
        Ok(config) => {
            // What validates must plan: validate is the only gate before a run.
            build(&config, Path::new("."), &Scope::default()).map_err(|e| {
                TestCaseError::fail(format!("validated config does not plan: {e:#}\n{text}"))
            })?;
        }
        Err(ParseError::Syntax(msg)) => {
            prop_assert!(
                has_location(&msg),
                "syntax error without a line and column: {msg:?}\ninput: {text:?}"
            );
        }
        Err(ParseError::Invalid(issues)) => {
            prop_assert!(!issues.is_empty(), "Invalid with no issue for {text:?}");
            for i in &issues {
                prop_assert!(
                    !i.path.trim().is_empty() && !i.message.trim().is_empty(),
                    "issue without a field path or message: {i:?}\ninput: {text:?}"
                );
            }
        }
    }
    Ok(())
}

/// Whether a parser message names where: `line N column M` (serde-saphyr's form) or `N:M`.
fn has_location(msg: &str) -> bool {
    static LOC: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    LOC.get_or_init(|| regex::Regex::new(r"(?i)line \d+|\d+:\d+").expect("a valid regex literal"))
        .is_match(msg)
}

/// Inputs that cost a naive parser exponential memory or time, or a deep stack.
fn bomb() -> impl Strategy<Value = String> {
    prop_oneof![
        // Billion laughs: each level lists the previous anchor `width` times.
        (2usize..12, 2usize..10, prop::bool::weighted(0.05)).prop_map(|(levels, width, past_budget)| {
            let mut levels = levels;
            while !past_budget && width.pow(levels as u32 - 1) > 100_000 {
                levels -= 1;
            }
            let mut y = String::from("version: 1\nsettings_presets:\n  - &l0 [\"lol\"]\n");
            for l in 1..levels {
                let refs = vec![format!("*l{}", l - 1); width].join(", ");
                y.push_str(&format!("  - &l{l} [{refs}]\n"));
            }
            y.push_str(&format!("groups: *l{}\n", levels - 1));
            y
        }),
        // Same, through merge keys into a mapping the schema reads.
        (2usize..10, 2usize..8).prop_map(|(levels, width)| {
            let mut y = String::from("version: 1\nx0: &m0 {a: 1}\n");
            for l in 1..levels {
                let refs = vec![format!("*m{}", l - 1); width].join(", ");
                y.push_str(&format!("x{l}: &m{l} {{ <<: [{refs}] }}\n"));
            }
            y
        }),
        // Deep nesting in flow and block style.
        (1usize..5000, prop::sample::select(&["[", "{a: ", "- "][..])).prop_map(|(depth, open)| {
            match open {
                "[" => format!("version: 1\ngroups: {}{}", "[".repeat(depth), "]".repeat(depth)),
                "{a: " => format!("version: 1\ngroups: {}1{}", "{a: ".repeat(depth), "}".repeat(depth)),
                _ => {
                    let mut y = String::from("version: 1\ngroups:\n");
                    for d in 0..depth.min(400) {
                        y.push_str(&" ".repeat(d * 2));
                        y.push_str("-\n");
                    }
                    y
                }
            }
        }),
        // Huge scalars, plain, quoted and block.
        (1usize..2_000_000, 0usize..3).prop_map(|(n, style)| {
            let big = "x".repeat(n);
            match style {
                0 => format!("version: 1\nname: {big}\ngroups: []\n"),
                1 => format!("version: 1\nname: \"{big}\"\ngroups: []\n"),
                _ => format!("version: 1\nname: |\n  {big}\ngroups: []\n"),
            }
        }),
        // Many keys.
        (1usize..20_000).prop_map(|n| {
            let mut y = String::from("version: 1\ngroups:\n  - name: g\n    id: g\n    source: {repo: a/b}\n    targets:\n      - repo: c/d\n        transform:\n          variables:\n");
            for i in 0..n {
                y.push_str(&format!("            V{i}: x\n"));
            }
            y
        }),
    ]
}

proptest! {
    #![proptest_config(cases(64))]

    /// Generated valid configs validate, and plan with every enabled group and all its targets.
    #[test]
    fn fuzz_config_valid_round_trips(gs in groups()) {
        let text = render(&gs);
        let config = match parse_str(&text, Path::new(".")) {
            Ok(c) => c,
            Err(ParseError::Syntax(m)) => return Err(TestCaseError::fail(format!("{m}\n{text}"))),
            Err(ParseError::Invalid(i)) => return Err(TestCaseError::fail(format!("{i:?}\n{text}"))),
        };
        prop_assert_eq!(config.groups.len(), gs.len());
        let plan = build(&config, Path::new("."), &Scope::default())
            .map_err(|e| TestCaseError::fail(format!("{e:#}\n{text}")))?;
        let enabled: Vec<String> = gs
            .iter()
            .enumerate()
            .filter(|(_, g)| g.enabled)
            .map(|(i, _)| format!("g{i}"))
            .collect();
        let mut planned: Vec<String> = plan.groups.iter().map(|g| g.id.clone()).collect();
        planned.sort();
        let mut want = enabled.clone();
        want.sort();
        prop_assert_eq!(planned, want);
        for g in &plan.groups {
            let gi: usize = g.id[1..].parse().expect("generated ids are g<N>");
            prop_assert_eq!(g.targets.len(), gs[gi].targets.len());
        }
    }

    /// Near-valid configs: a valid one with up to four edits.
    #[test]
    fn fuzz_config_mutated_never_panics(
        gs in groups(),
        edits in prop::collection::vec(mutation(), 1..5),
    ) {
        let mut text = render(&gs);
        for m in &edits {
            text = mutate(&text, m);
        }
        check_any(&text)?;
    }

    /// Arbitrary text: YAML punctuation soup and raw bytes.
    #[test]
    fn fuzz_config_arbitrary_text(
        soup in prop::collection::vec(prop::sample::select(SNIPPETS), 0..60),
        bytes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        check_any(&soup.concat())?;
        check_any(&String::from_utf8_lossy(&bytes))?;
    }
}

proptest! {
    #![proptest_config(cases(16))]

    /// Alias fan-out, deep nesting and huge scalars return (error or value) in bounded time and
    /// memory instead of expanding. (A fan-out that reaches the parser's node budget, 250 000
    /// nodes, costs seconds in a debug build: the generator keeps most cases below it.)
    #[test]
    fn fuzz_config_bombs_are_bounded(text in bomb()) {
        check_any(&text)?;
    }
}
