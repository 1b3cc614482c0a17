//! Integration tests of broadcast-transform: properties over generated content.

use std::borrow::Cow;

use broadcast_transform::{EmailRewrite, PathFilter, RepoSlug, TransformSpec, Transformer};
use proptest::prelude::*;

mod fuzz_props;
mod gitignore;

type Result<T = (), E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Words that exercise every boundary of the repository-name and email rules.
const VOCABULARY: &[&str] = &[
    "acme/api",
    "api",
    "acme/api-gateway",
    "api-gateway",
    "github.com/",
    "https://",
    "module ",
    "require ",
    "\"",
    "'",
    ".",
    ".git",
    "-",
    "_",
    "/",
    " ",
    "\r\n",
    "\n",
    ":",
    "{{NAME}}",
    "${NAME}",
    "{{",
    "}}",
    "sec@x.com",
    ".au",
    "mailto:",
    "é",
    "\u{65e5}",
];

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(VOCABULARY), 0..40).prop_map(|words| words.concat())
}

fn transformer() -> Result<Transformer> {
    let spec = TransformSpec {
        repo_name: true,
        variables: [("NAME".to_owned(), "{{NAME}}-api".to_owned())]
            .into_iter()
            .collect(),
        emails: vec![EmailRewrite {
            from: "sec@x.com".into(),
            to: "sec@x.com.au".into(),
        }],
    };
    let source: RepoSlug = "acme/api".parse()?;
    let target: RepoSlug = "acme/api-gateway".parse()?;
    Ok(Transformer::new(&spec, &source, &target)?)
}

proptest! {
    #[test]
    fn rewriting_never_compounds(input in text(), path in prop::sample::select(&["a.md", "go.mod", "c.yml", "d.json", "Makefile"][..])) {
        let t = transformer().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = t.apply(path, input.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out_text = String::from_utf8_lossy(&out);
        // Every occurrence in the output is either already in the input or made by one replacement.
        let count = |hay: &str, needle: &str| hay.matches(needle).count();
        prop_assert!(count(&out_text, "gateway-gateway") <= count(&input, "gateway-gateway"));
        prop_assert!(count(&out_text, ".au.au") <= count(&input, ".au.au"));
        prop_assert!(count(&out_text, "-api-api") <= count(&input, "-api-api") + count(&input, "-api"));
        match out {
            Cow::Borrowed(b) => prop_assert_eq!(b, input.as_bytes()),
            Cow::Owned(o) => prop_assert_ne!(o.as_slice(), input.as_bytes()),
        }
    }

    #[test]
    fn line_by_line_equals_whole(input in text(), group in 1usize..4, path in prop::sample::select(&["a.md", "go.mod", "c.yml", "d.json", "Makefile"][..])) {
        let t = transformer().map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(t.is_line_local());
        let whole = t.apply(path, input.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        // Pieces of `group` lines each, every piece but the last ending right after a `\n`.
        let lines: Vec<&[u8]> = input.as_bytes().split_inclusive(|&b| b == b'\n').collect();
        let mut pieces = Vec::new();
        for piece in lines.chunks(group) {
            pieces.extend_from_slice(&t.apply_text_segment(path, &piece.concat()));
        }
        if !broadcast_transform::is_binary(path, input.as_bytes()) {
            prop_assert_eq!(String::from_utf8_lossy(&pieces), String::from_utf8_lossy(&whole));
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(content in prop::collection::vec(any::<u8>(), 0..512), path in "[a-z./]{0,12}") {
        let t = transformer().map_err(|e| TestCaseError::fail(e.to_string()))?;
        let _ = t.apply(&path, &content);
        let _ = t.unreplaced_variables(&content);
        let _ = broadcast_transform::is_binary(&path, &content);
        let filter = PathFilter::new(None, &["*.yml".to_owned()], false)
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let _ = filter.is_included(&path);
    }
}

#[test]
fn a_realistic_template_file_round() -> Result {
    let t = transformer()?;
    let input = "# api\r\n\r\n[![Go](https://github.com/acme/api/actions/workflows/go.yml/badge.svg)](https://github.com/acme/api/actions)\r\n\
                 Report to [security](mailto:sec@x.com). Service: {{NAME}}.\r\n\
                 go get github.com/acme/api@latest; see also acme/api-client and api.v2\r\n";
    let out = t.apply("README.md", input.as_bytes())?;
    let expected = "# api-gateway\r\n\r\n[![Go](https://github.com/acme/api-gateway/actions/workflows/go.yml/badge.svg)](https://github.com/acme/api-gateway/actions)\r\n\
                    Report to [security](mailto:sec@x.com.au). Service: {{NAME}}-api.\r\n\
                    go get github.com/acme/api-gateway@latest; see also acme/api-client and api.v2\r\n";
    assert_eq!(String::from_utf8_lossy(&out), expected);
    Ok(())
}

#[test]
fn a_needle_with_a_line_feed_is_not_line_local() -> Result {
    let spec = TransformSpec {
        variables: [("A".to_owned(), "x".to_owned())].into_iter().collect(),
        emails: vec![EmailRewrite {
            from: "a@b.c\nd".into(),
            to: "e@f.g".into(),
        }],
        ..TransformSpec::default()
    };
    let slug: RepoSlug = "acme/api".parse()?;
    assert!(!Transformer::new(&spec, &slug, &slug)?.is_line_local());
    assert!(transformer()?.is_line_local());
    Ok(())
}

#[test]
fn compiled_values_can_be_shared_across_worker_threads() -> Result {
    fn shareable<T: Send + Sync + Clone + 'static>(_: &T) {}
    let t = transformer()?;
    shareable(&t);
    let filter = PathFilter::new(None, &[], true)?;
    shareable(&filter);
    let out = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| t.apply("a.md", b"acme/api").map(|c| c.into_owned())))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect::<Vec<_>>()
    });
    for o in out {
        assert_eq!(o?, b"acme/api-gateway");
    }
    Ok(())
}
