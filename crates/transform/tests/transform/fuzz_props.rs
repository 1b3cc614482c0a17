//! Property tests of the transformer (fuzz target `transform`).
//!
//! Text is built from a vocabulary of the pieces each rule looks at (placeholders and their
//! fragments, slugs, bare names, boundaries, emails, Go module lines), so nearly every case
//! holds near-matches. Properties: variables are replaced in one left-to-right pass whose output
//! is never scanned again (equal to a plain reference scan); text without a defined placeholder
//! comes back borrowed and unchanged; the repository-name rewrite is idempotent on its own
//! output when the target name does not contain the source name; binary and UTF-16 content is
//! never changed, whatever the spec.
//!
//! Case count: `BROADCAST_FUZZ_CASES` (default below); `cargo xtask fuzz --target transform`
//! runs these for a fixed time.

use std::borrow::Cow;
use std::collections::BTreeMap;

use broadcast_transform::{EmailRewrite, RepoSlug, TransformSpec, Transformer, is_binary};
use proptest::prelude::*;

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

const PATHS: &[&str] = &[
    "a.md", "b.txt", "go.mod", "x.go", "c.yml", "d.json", "Makefile", "e.sh", "f",
];

fn var_name() -> impl Strategy<Value = String> {
    "[A-Z_][A-Z0-9_]{0,4}"
}

/// Variables whose values hold placeholders (of themselves and of each other) and fragments.
fn variables() -> impl Strategy<Value = BTreeMap<String, String>> {
    prop::collection::btree_map(
        var_name(),
        prop::collection::vec(
            prop_oneof![
                var_name().prop_map(|n| format!("{{{{{n}}}}}")),
                var_name().prop_map(|n| format!("${{{n}}}")),
                "[a-z {}$é]{0,4}",
            ],
            0..4,
        )
        .prop_map(|v| v.concat()),
        1..4,
    )
}

/// Text made of placeholders for `names` (and near-misses) and filler.
fn placeholder_text(names: Vec<String>) -> impl Strategy<Value = String> {
    let names = std::sync::Arc::new(names);
    let pick = move || {
        let names = names.clone();
        any::<prop::sample::Index>().prop_map(move |i| names[i.index(names.len())].clone())
    };
    prop::collection::vec(
        prop_oneof![
            pick().prop_map(|n| format!("{{{{{n}}}}}")),
            pick().prop_map(|n| format!("${{{n}}}")),
            pick().prop_map(|n| format!("{{{{ {n} }}}}")),
            pick().prop_map(|n| format!("{{{n}}}")),
            pick().prop_map(|n| format!("$${{{n}}}")),
            pick().prop_map(|n| n.to_lowercase()),
            pick(),
            prop::sample::select(
                &[
                    "{{", "}}", "${", "}", "{", "$", " ", "\n", "\r\n", "é", "日"
                ][..]
            )
            .prop_map(str::to_owned),
            "[a-z ]{0,6}",
        ],
        0..30,
    )
    .prop_map(|v| v.concat())
}

/// Replaces `{{NAME}}` and `${NAME}` of every defined name in one left-to-right pass, never
/// looking at a replacement again.
fn reference_variables(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    'scan: while !rest.is_empty() {
        for (name, value) in vars {
            for (open, close) in [("{{", "}}"), ("${", "}")] {
                let needle = format!("{open}{name}{close}");
                if let Some(after) = rest.strip_prefix(needle.as_str()) {
                    out.push_str(value);
                    rest = after;
                    continue 'scan;
                }
            }
        }
        let c = rest.chars().next().expect("rest is not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

fn has_placeholder(text: &str, vars: &BTreeMap<String, String>) -> bool {
    vars.keys()
        .any(|n| text.contains(&format!("{{{{{n}}}}}")) || text.contains(&format!("${{{n}}}")))
}

fn slug_part() -> impl Strategy<Value = String> {
    "[a-z]{1,4}(-[a-z]{1,3})?(\\.[a-z]{1,2})?"
}

/// (source, target) with different slugs and a target name that does not contain the source
/// name.
fn slugs() -> impl Strategy<Value = (RepoSlug, RepoSlug)> {
    (slug_part(), slug_part(), slug_part(), slug_part())
        .prop_filter(
            "source differs from target; target name lacks the source name",
            |(so, sn, to, tn)| (so, sn) != (to, tn) && !tn.contains(sn.as_str()),
        )
        .prop_map(|(so, sn, to, tn)| (RepoSlug::new(so, sn), RepoSlug::new(to, tn)))
}

fn repo_text(s: &RepoSlug, t: &RepoSlug) -> impl Strategy<Value = String> + use<> {
    let words: Vec<String> = vec![
        format!("{}/{}", s.owner, s.name),
        s.name.clone(),
        s.owner.clone(),
        format!("{}/{}", t.owner, t.name),
        t.name.clone(),
        format!("github.com/{}/{}", s.owner, s.name),
        format!("module github.com/{}/{}\n", s.owner, s.name),
        format!("require github.com/{}/{} v1.0.0\n", s.owner, s.name),
        "github.com/".into(),
        "/v2".into(),
        ".git".into(),
        "/".into(),
        "-".into(),
        ".".into(),
        "_".into(),
        " ".into(),
        "\n".into(),
        "\"".into(),
        "'".into(),
        ":".into(),
        "@".into(),
        "é".into(),
        "x".into(),
    ];
    prop::collection::vec(prop::sample::select(words), 0..30).prop_map(|w| w.concat())
}

proptest! {
    #![proptest_config(cases(256))]

    /// Variables: exactly one pass; a value that holds a placeholder is written as it is.
    #[test]
    fn fuzz_transform_variables_single_pass(
        (vars, text, path) in variables().prop_flat_map(|vars| {
            let names: Vec<String> = vars.keys().cloned().chain(["OTHER".to_owned()]).collect();
            (Just(vars), placeholder_text(names), prop::sample::select(PATHS))
        }),
    ) {
        prop_assume!(!is_binary(path, text.as_bytes()));
        let spec = TransformSpec { variables: vars.clone(), ..TransformSpec::default() };
        let t = Transformer::new(&spec, &RepoSlug::new("o", "n"), &RepoSlug::new("o", "n"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = t.apply(path, text.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let want = reference_variables(&text, &vars);
        prop_assert_eq!(String::from_utf8_lossy(&out), want.as_str(), "input {:?}", text);
        if want == text {
            prop_assert!(matches!(out, Cow::Borrowed(_)));
        }
    }

    /// Variables on text without a defined placeholder: borrowed, unchanged.
    #[test]
    fn fuzz_transform_variables_identity_without_placeholders(
        (vars, text, path) in variables().prop_flat_map(|vars| {
            let names: Vec<String> = vars.keys().cloned().chain(["OTHER".to_owned()]).collect();
            (Just(vars), placeholder_text(names), prop::sample::select(PATHS))
        }),
    ) {
        // Break every defined placeholder the generator happened to write.
        let mut text = text;
        for _ in 0..8 {
            if !has_placeholder(&text, &vars) {
                break;
            }
            for n in vars.keys() {
                text = text
                    .replace(&format!("{{{{{n}}}}}"), &format!("{{{{ {n}}}}}"))
                    .replace(&format!("${{{n}}}"), &format!("$ {{{n}}}"));
            }
        }
        prop_assume!(!has_placeholder(&text, &vars));
        let spec = TransformSpec { variables: vars, ..TransformSpec::default() };
        let t = Transformer::new(&spec, &RepoSlug::new("o", "n"), &RepoSlug::new("o", "n"))
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = t.apply(path, text.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(matches!(out, Cow::Borrowed(b) if b == text.as_bytes()), "{:?} -> {:?}", text, out);
    }

    /// repo_name, source != target, target name without the source name: applying the
    /// transformer to its own output changes nothing more.
    #[test]
    fn fuzz_transform_repo_name_idempotent(
        ((source, target), text, path) in slugs().prop_flat_map(|(s, t)| {
            let text = repo_text(&s, &t);
            (Just((s, t)), text, prop::sample::select(PATHS))
        }),
    ) {
        let spec = TransformSpec { repo_name: true, ..TransformSpec::default() };
        let t = Transformer::new(&spec, &source, &target)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let once = t.apply(path, text.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let twice = t.apply(path, &once).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(
            String::from_utf8_lossy(&twice),
            String::from_utf8_lossy(&once),
            "{}/{} -> {}/{} on {:?} ({})", source.owner, source.name, target.owner, target.name, text, path
        );
    }

    /// Binary content (by extension or by sniffing) and UTF-16 text are never changed.
    #[test]
    fn fuzz_transform_binary_untouched(
        ((source, target), text) in slugs().prop_flat_map(|(s, t)| {
            let text = repo_text(&s, &t);
            (Just((s, t)), text)
        }),
        noise in prop::collection::vec(any::<u8>(), 0..64),
        nul_at in any::<prop::sample::Index>(),
        path in prop::sample::select(&["a.png", "b.zip", "c.bin", "d", "e.md.gz", "f.PNG"][..]),
        utf16 in any::<bool>(),
    ) {
        let spec = TransformSpec {
            repo_name: true,
            variables: [("NAME".to_owned(), "v".to_owned())].into_iter().collect(),
            emails: vec![EmailRewrite { from: "a@b.c".into(), to: "d@e.f".into() }],
        };
        let t = Transformer::new(&spec, &source, &target)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut content = format!("{text} {{{{NAME}}}} a@b.c ").into_bytes();
        content.extend_from_slice(&noise);
        if utf16 {
            let s = String::from_utf8_lossy(&content).into_owned();
            content = [0xff, 0xfe].into_iter().chain(s.encode_utf16().flat_map(u16::to_le_bytes)).collect();
        } else {
            let at = nul_at.index(content.len().min(broadcast_transform::SNIFF_BYTES) + 1);
            content.insert(at, 0);
        }
        let binary = is_binary(path, &content);
        let out = t.apply(path, &content).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if binary || utf16 {
            prop_assert!(matches!(out, Cow::Borrowed(b) if b == content.as_slice()));
        }
        let reported = t.apply_reporting(path, &content).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if binary || utf16 {
            prop_assert!(matches!(reported.content, Cow::Borrowed(b) if b == content.as_slice()));
        }
    }
}
