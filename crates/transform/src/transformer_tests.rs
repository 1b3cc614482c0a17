//! Tests of the transformer: rules, contexts, warnings, text encodings.

use super::*;

fn slug(s: &str) -> RepoSlug {
    s.parse().expect("test slugs are valid")
}

fn spec_repo() -> TransformSpec {
    TransformSpec {
        repo_name: true,
        ..TransformSpec::default()
    }
}

/// Applies `spec` from `source` to `target` and compares the text result.
fn check(
    spec: &TransformSpec,
    source: &str,
    target: &str,
    path: &str,
    input: &str,
    expected: &str,
) {
    let t = Transformer::new(spec, &slug(source), &slug(target)).expect("spec compiles");
    let got = t.apply(path, input.as_bytes()).expect("apply succeeds");
    assert_eq!(
        String::from_utf8_lossy(&got),
        expected,
        "{path}: {input:?} ({source} -> {target})"
    );
    if input == expected {
        assert!(
            matches!(got, Cow::Borrowed(_)),
            "unchanged content is borrowed: {path}"
        );
    }
}

#[test]
fn repo_name_in_go_files() {
    let spec = spec_repo();
    let table = [
        (
            "go.mod",
            "module github.com/so/sr\n",
            "module github.com/to/tr\n",
        ),
        (
            "go.mod",
            "module github.com/so/sr-extra\n",
            "module github.com/so/sr-extra\n",
        ),
        (
            "go.mod",
            "module github.com/so/sr/v2\n",
            "module github.com/to/tr/v2\n",
        ),
        // A go.mod rewrites its `module` directive only: the target never requires itself.
        (
            "go.mod",
            "require (\n\tgithub.com/so/sr v1.2.3\n\tgithub.com/so/sr-extra v0.1.0\n)\n",
            "require (\n\tgithub.com/so/sr v1.2.3\n\tgithub.com/so/sr-extra v0.1.0\n)\n",
        ),
        (
            "go.mod",
            "require github.com/so/sr v1.2.3\r\n",
            "require github.com/so/sr v1.2.3\r\n",
        ),
        (
            "go.mod",
            "module github.com/so/sr\r\n\r\nrequire github.com/so/sr v1.2.3\r\nreplace github.com/so/sr => ../sr\r\n",
            "module github.com/to/tr\r\n\r\nrequire github.com/so/sr v1.2.3\r\nreplace github.com/so/sr => ../sr\r\n",
        ),
        (
            "tools/go.mod",
            "// fork of github.com/so/sr\n  module \"github.com/so/sr/tools\" // the tools\n",
            "// fork of github.com/so/sr\n  module \"github.com/to/tr/tools\" // the tools\n",
        ),
        (
            "GO.MOD",
            "module\tgithub.com/so/sr\nmodulex github.com/so/sr\nexclude github.com/so/sr v1.0.0\n",
            "module\tgithub.com/to/tr\nmodulex github.com/so/sr\nexclude github.com/so/sr v1.0.0\n",
        ),
        // Other `.mod` files keep the Go rules.
        (
            "deps.mod",
            "require github.com/so/sr v1.2.3\n",
            "require github.com/to/tr v1.2.3\n",
        ),
        (
            "cmd/main.go",
            "import (\n\t\"github.com/so/sr\"\n\t\"github.com/so/sr/pkg/x\"\n)\n",
            "import (\n\t\"github.com/to/tr\"\n\t\"github.com/to/tr/pkg/x\"\n)\n",
        ),
        (
            "a.go",
            "// sr is the service; so/sr too\n",
            "// sr is the service; so/sr too\n",
        ),
        (
            "a.go",
            "x := \"github.com/so/sr\"",
            "x := \"github.com/to/tr\"",
        ),
        ("a.go", "notgithub.com/so/sr", "notgithub.com/so/sr"),
        ("A.GO", "github.com/so/sr", "github.com/to/tr"),
    ];
    for (path, input, expected) in table {
        check(&spec, "so/sr", "to/tr", path, input, expected);
    }
}

#[test]
fn repo_name_in_other_text_files() {
    let spec = spec_repo();
    let table = [
        (
            "README.md",
            "[![CI](https://github.com/so/sr/actions/workflows/ci.yml/badge.svg)](https://github.com/so/sr/actions)",
            "[![CI](https://github.com/to/tr/actions/workflows/ci.yml/badge.svg)](https://github.com/to/tr/actions)",
        ),
        (
            "README.md",
            "git clone https://github.com/so/sr.git\n",
            "git clone https://github.com/to/tr.git\n",
        ),
        (
            "README.md",
            "[![License](https://img.shields.io/github/license/so/sr.svg)](https://github.com/so/sr/blob/main/LICENSE)",
            "[![License](https://img.shields.io/github/license/to/tr.svg)](https://github.com/to/tr/blob/main/LICENSE)",
        ),
        (
            "README.md",
            "![release](https://img.shields.io/github/release/so/sr.svg?style=flat) so/sr.v2 so/sr.svgz",
            "![release](https://img.shields.io/github/release/to/tr.svg?style=flat) so/sr.v2 so/sr.svgz",
        ),
        (
            "README.md",
            "The sr service. See so/sr.",
            "The tr service. See to/tr.",
        ),
        (
            "README.md",
            "sr-extra so/sr-extra sr_x sr.v2 xsr other/sr",
            "sr-extra so/sr-extra sr_x sr.v2 xsr other/sr",
        ),
        ("docs/x.txt", "so/sr\r\nsr\r\n", "to/tr\r\ntr\r\n"),
        (
            "ci.yml",
            "repo: so/sr\nname: \"sr\"\n",
            "repo: to/tr\nname: \"tr\"\n",
        ),
        (
            "package.json",
            "{\"name\": \"sr\", \"repository\": \"github:so/sr\"}",
            "{\"name\": \"tr\", \"repository\": \"github:to/tr\"}",
        ),
        (
            "Makefile",
            "IMAGE := ghcr.io/so/sr:latest\nBIN := sr\n",
            "IMAGE := ghcr.io/to/tr:latest\nBIN := tr\n",
        ),
        ("x.md", "nothing to see", "nothing to see"),
    ];
    for (path, input, expected) in table {
        check(&spec, "so/sr", "to/tr", path, input, expected);
    }
}

#[test]
fn repo_name_never_compounds_when_target_extends_source() {
    let spec = spec_repo();
    let table = [
        (
            "README.md",
            "https://github.com/acme/api",
            "https://github.com/acme/api-gateway",
        ),
        (
            "README.md",
            "acme/api api acme/api",
            "acme/api-gateway api-gateway acme/api-gateway",
        ),
        (
            "go.mod",
            "module github.com/acme/api\n",
            "module github.com/acme/api-gateway\n",
        ),
        ("x.yml", "api: acme/api", "api-gateway: acme/api-gateway"),
    ];
    for (path, input, expected) in table {
        check(&spec, "acme/api", "acme/api-gateway", path, input, expected);
    }
    // Applying twice to the same input gives the same result (no state carried over).
    check(
        &spec,
        "acme/api",
        "acme/api-gateway",
        "a.md",
        "acme/api",
        "acme/api-gateway",
    );
}

#[test]
fn repo_name_is_a_no_op_when_off_or_source_equals_target() {
    let same = Transformer::new(&spec_repo(), &slug("so/sr"), &slug("so/sr")).expect("compiles");
    assert!(same.is_identity());
    let off = Transformer::new(&TransformSpec::default(), &slug("so/sr"), &slug("to/tr"))
        .expect("compiles");
    assert!(off.is_identity());
    check(
        &TransformSpec::default(),
        "so/sr",
        "to/tr",
        "a.md",
        "so/sr",
        "so/sr",
    );
    // Owner change only: the bare name stays, the slug changes.
    check(
        &spec_repo(),
        "so/sr",
        "to/sr",
        "a.md",
        "so/sr sr",
        "to/sr sr",
    );
}

#[test]
fn repo_name_rejects_unusable_slugs() {
    let bad = RepoSlug::new("", "sr");
    let err = Transformer::new(&spec_repo(), &bad, &slug("to/tr")).expect_err("empty owner");
    assert!(matches!(err, Error::InvalidSlug { .. }), "{err:?}");
    // Without repo_name the slugs are not looked at.
    assert!(Transformer::new(&TransformSpec::default(), &bad, &slug("to/tr")).is_ok());
}

fn spec_vars(pairs: &[(&str, &str)]) -> TransformSpec {
    TransformSpec {
        variables: pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        ..TransformSpec::default()
    }
}

/// Variable definitions of one table row.
type Vars = &'static [(&'static str, &'static str)];

#[test]
fn variables_are_replaced_in_one_pass() {
    let table: &[(Vars, &str, &str)] = &[
        (&[("NAME", "svc")], "{{NAME}} and ${NAME}", "svc and svc"),
        (
            &[("NAME", "svc")],
            "{{ NAME }} $NAME {{UNKNOWN}} ${OTHER}",
            "{{ NAME }} $NAME {{UNKNOWN}} ${OTHER}",
        ),
        (&[("A", "{{B}}"), ("B", "x")], "{{A}} {{B}}", "{{B}} x"),
        (&[("B", "x"), ("A", "${B}")], "${A}${B}", "${B}x"),
        (&[("A", "$1 \\0 $$")], "{{A}}", "$1 \\0 $$"),
        (
            &[("AB", "long"), ("A", "short")],
            "{{AB}}{{A}}",
            "longshort",
        ),
        (&[("lower", "v")], "{{lower}}\r\n", "v\r\n"),
        (&[("N", "")], "a{{N}}b", "ab"),
    ];
    for (vars, input, expected) in table {
        check(
            &spec_vars(vars),
            "so/sr",
            "to/tr",
            "file.txt",
            input,
            expected,
        );
    }
}

#[test]
fn unreplaced_variables_lists_unknown_placeholders() {
    let t = Transformer::new(&spec_vars(&[("KNOWN", "v")]), &slug("a/b"), &slug("c/d"))
        .expect("compiles");
    let table: &[(&str, &[&str])] = &[
        ("{{KNOWN}} ${KNOWN}", &[]),
        (
            "{{MISSING}} ${OTHER_1} {{MISSING}}",
            &["MISSING", "OTHER_1"],
        ),
        ("{{lower}} {{ SPACED }} $NAME ${1X}", &[]),
        ("", &[]),
    ];
    for (input, expected) in table {
        assert_eq!(
            t.unreplaced_variables(input.as_bytes()),
            *expected,
            "{input:?}"
        );
    }
}

#[test]
fn variable_names_must_not_be_empty() {
    let err = Transformer::new(&spec_vars(&[("", "v")]), &slug("a/b"), &slug("c/d"))
        .expect_err("empty name");
    assert!(matches!(err, Error::InvalidVariable { .. }), "{err:?}");
}

fn spec_emails(pairs: &[(&str, &str)]) -> TransformSpec {
    TransformSpec {
        emails: pairs
            .iter()
            .map(|(from, to)| EmailRewrite {
                from: from.to_string(),
                to: to.to_string(),
            })
            .collect(),
        ..TransformSpec::default()
    }
}

#[test]
fn emails_by_destination_extension() {
    let spec = spec_emails(&[("sec@x.com", "security@y.org")]);
    let table = [
        (
            "SECURITY.md",
            "[Report](mailto:sec@x.com) or [sec@x.com](mailto:sec@x.com)",
            "[Report](mailto:security@y.org) or [security@y.org](mailto:security@y.org)",
        ),
        ("SECURITY.md", "Mail sec@x.com.", "Mail security@y.org."),
        (
            "SECURITY.md",
            "not sec@x.com.au nor psec@x.com",
            "not sec@x.com.au nor psec@x.com",
        ),
        (
            "index.html",
            "<a href=\"mailto:sec@x.com\">",
            "<a href=\"mailto:security@y.org\">",
        ),
        (
            "c.yml",
            "a: \"sec@x.com\"\nb: 'sec@x.com'\nc: sec@x.com\n",
            "a: \"security@y.org\"\nb: 'security@y.org'\nc: security@y.org\n",
        ),
        (
            "c.yaml",
            "# ask sec@x.com for help\nc: sec@x.com.au\n",
            "# ask sec@x.com for help\nc: sec@x.com.au\n",
        ),
        (
            "p.json",
            "{\"security\": \"sec@x.com\", \"note\": \"ask sec@x.com\"}",
            "{\"security\": \"security@y.org\", \"note\": \"ask sec@x.com\"}",
        ),
        (
            "main.go",
            "// contact sec@x.com\n",
            "// contact security@y.org\n",
        ),
    ];
    for (path, input, expected) in table {
        check(&spec, "so/sr", "to/tr", path, input, expected);
    }
    let same = Transformer::new(
        &spec_emails(&[("a@x.com", "a@x.com")]),
        &slug("a/b"),
        &slug("c/d"),
    )
    .expect("compiles");
    assert!(
        same.is_identity(),
        "an email pair with equal addresses does nothing"
    );
    let empty = Transformer::new(&spec_emails(&[("", "a@x.com")]), &slug("a/b"), &slug("c/d"));
    assert!(matches!(empty, Err(Error::InvalidEmail { .. })));
}

#[test]
fn chain_order_is_emails_then_variables_then_repo_name() {
    let spec = TransformSpec {
        repo_name: true,
        variables: [
            ("REPO".to_string(), "so/sr".to_string()),
            ("MAIL".to_string(), "sec@x.com".to_string()),
        ]
        .into_iter()
        .collect(),
        emails: vec![EmailRewrite {
            from: "sec@x.com".into(),
            to: "new@y.org".into(),
        }],
    };
    let table = [
        // The variable's value passes through the repo-name step (variables run first) ...
        ("a.md", "repo {{REPO}}", "repo to/tr"),
        // ... but not through the email step (emails run before variables).
        (
            "a.md",
            "mail {{MAIL}} / sec@x.com",
            "mail sec@x.com / new@y.org",
        ),
        ("a.md", "sr\r\n", "tr\r\n"),
    ];
    for (path, input, expected) in table {
        check(&spec, "so/sr", "to/tr", path, input, expected);
    }
}

#[test]
fn binary_and_non_utf8_content() {
    let spec = TransformSpec {
        repo_name: true,
        ..spec_vars(&[("V", "x")])
    };
    let t = Transformer::new(&spec, &slug("so/sr"), &slug("to/tr")).expect("compiles");
    let png = b"\x89PNG\r\n\x1a\n\0so/sr{{V}}";
    assert!(matches!(
        t.apply("logo.png", png).expect("ok"),
        Cow::Borrowed(_)
    ));
    let with_nul = b"so/sr\0{{V}}";
    assert!(matches!(
        t.apply("data.bin", with_nul).expect("ok"),
        Cow::Borrowed(_)
    ));
    let latin1 = b"caf\xe9 so/sr {{V}}\r\n";
    let got = t.apply("notes.txt", latin1).expect("ok");
    assert_eq!(&*got, b"caf\xe9 to/tr x\r\n".as_slice());
}

fn utf16le(s: &str) -> Vec<u8> {
    [0xff, 0xfe]
        .into_iter()
        .chain(s.encode_utf16().flat_map(|u| u.to_le_bytes()))
        .collect()
}

#[test]
fn utf16_content_is_copied_with_a_warning_when_a_rule_would_apply() {
    let spec = TransformSpec {
        repo_name: true,
        ..spec_vars(&[("NAME", "svc")])
    };
    let t = Transformer::new(&spec, &slug("so/sr"), &slug("to/tr")).expect("compiles");
    let no_mark = |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
    let be: Vec<u8> = [0xfe, 0xff]
        .into_iter()
        .chain("repo so/sr".encode_utf16().flat_map(|u| u.to_be_bytes()))
        .collect();
    let table: &[(&str, Vec<u8>, Option<TransformWarning>)] = &[
        (
            "setup.ps1",
            utf16le("Write-Host {{NAME}}\r\n"),
            Some(TransformWarning::Utf16),
        ),
        (
            "notes.txt",
            utf16le("see so/sr"),
            Some(TransformWarning::Utf16),
        ),
        (
            "notes.md",
            no_mark("${NAME} here"),
            Some(TransformWarning::Utf16),
        ),
        ("be.txt", be, Some(TransformWarning::Utf16)),
        ("plain.txt", utf16le("nothing to replace {{OTHER}}"), None),
    ];
    for (path, content, warning) in table {
        let applied = t.apply_reporting(path, content).expect("ok");
        assert!(matches!(applied.content, Cow::Borrowed(_)), "{path}");
        assert_eq!(applied.warning, *warning, "{path}");
        assert!(matches!(
            t.apply(path, content).expect("ok"),
            Cow::Borrowed(_)
        ));
    }
    assert_eq!(
        TransformWarning::Utf16.to_string(),
        "file is UTF-16; transforms not applied"
    );
    let utf8 = t.apply_reporting("a.md", b"{{NAME}}").expect("ok");
    assert_eq!((&*utf8.content, utf8.warning), (b"svc".as_slice(), None));
    let identity = Transformer::new(&TransformSpec::default(), &slug("so/sr"), &slug("to/tr"))
        .expect("compiles");
    let content = utf16le("{{NAME}}");
    let untouched = identity.apply_reporting("a.txt", &content).expect("ok");
    assert_eq!(untouched.warning, None);
}

#[test]
fn one_shot_transform_uses_the_context() {
    let (source, target) = (slug("so/sr"), slug("to/tr"));
    let ctx = TransformContext {
        source: &source,
        target: &target,
        dest_path: "go.mod",
    };
    let got = transform(&spec_repo(), &ctx, b"module github.com/so/sr\n").expect("ok");
    assert_eq!(&*got, b"module github.com/to/tr\n".as_slice());
}
