//! Unit tests of the redactor.

use super::*;

fn check(input: &str, expected: &str) {
    let r = Redactor::default();
    let got = r.redact(input);
    assert_eq!(got, expected, "input: {input:?}");
    if input == expected {
        assert!(
            matches!(got, Cow::Borrowed(_)),
            "clean input allocated: {input:?}"
        );
    }
}

/// Found by the `redact` fuzz target: a value swallowed the key of the token glued after
/// it, and that token's secret survived.
#[test]
fn a_token_glued_to_a_value_is_still_found() {
    check(
        "Authorization: Bearer +AA=0a-aa+Authorization: token Aa-A-=-0_0",
        "Authorization: Bearer *** token ***",
    );
    check("password=#!A(a-a0password = #(0AaAa(", "password=*** = ***");
    // Adversarial repetition stays fast (the rescan budget) and leaves no value behind.
    let long = "password=".repeat(20_000);
    let out = Redactor::default().redact(&long).into_owned();
    assert!(out.starts_with("password=***"), "{}", &out[..40]);
}

#[test]
fn table() {
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let b64 = "SGVsbG8gd29ybGQsIHRoaXMgaXMgb3JkaW5hcnkgYmFzZTY0IGRhdGEgZm9yIGEgdGVzdA==";
    let cases: &[(&str, &str)] = &[
        // negatives: must survive unchanged
        ("plain log line with nothing", "plain log line with nothing"),
        (sha, sha),
        (
            &format!("commit {sha} pushed"),
            &format!("commit {sha} pushed"),
        ),
        (b64, b64),
        (
            "https://github.com/owner/repo.git",
            "https://github.com/owner/repo.git",
        ),
        (
            "ssh://git@github.com/owner/repo",
            "ssh://git@github.com/owner/repo",
        ),
        (
            "max_tokens=100 token_count=5",
            "max_tokens=100 token_count=5",
        ),
        (
            "author=alice bypass=true keyboard=qwerty",
            "author=alice bypass=true keyboard=qwerty",
        ),
        ("the token expired", "the token expired"),
        ("ghp_ short", "ghp_ short"),
        ("Bearer", "Bearer"),
        ("time 12:30:45 key=value", "time 12:30:45 key=value"),
        // GitHub tokens
        (
            "token ghp_abcdefghijklmnopqrstuvwxyz0123456789 used",
            "token ghp_*** used",
        ),
        ("gho_abcdefghijABCDEFGHIJ012345", "gho_***"),
        ("ghu_abcdefghijABCDEFGHIJ012345", "ghu_***"),
        ("ghs_abcdefghijABCDEFGHIJ012345", "ghs_***"),
        ("ghr_abcdefghijABCDEFGHIJ012345", "ghr_***"),
        (
            "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz",
            "github_pat_***",
        ),
        // headers
        (
            "Authorization: Bearer abc.def-ghi",
            "Authorization: Bearer ***",
        ),
        (
            "authorization: token 0123456789abcdef",
            "authorization: token ***",
        ),
        (
            "AUTHORIZATION: Basic dXNlcjpwYXNz",
            "AUTHORIZATION: Basic ***",
        ),
        (
            "http.extraHeader=Authorization: basic eC1hY2Nlc3M=",
            "http.extraHeader=Authorization: basic ***",
        ),
        ("curl -H 'Bearer abcdefgh12345'", "curl -H 'Bearer ***'"),
        // URLs
        (
            "https://user:s3cr3t@github.com/o/r",
            "https://user:***@github.com/o/r",
        ),
        (
            "fetch https://x-access-token:ghs_abcdefghijABCDEFGHIJ0123@github.com/o/r.git",
            "fetch https://x-access-token:***@github.com/o/r.git",
        ),
        // JWT
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sflKxwRJSMeKKF2QT4fwpM",
            "jwt eyJ***",
        ),
        // PEM
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----\nafter",
            "-----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\nafter",
        ),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk (truncated",
            "-----BEGIN OPENSSH PRIVATE KEY-----***",
        ),
        ("-----BEGIN CERTIFICATE-----", "-----BEGIN CERTIFICATE-----"),
        // AWS, Slack
        ("key AKIAIOSFODNN7EXAMPLE here", "key AKIA*** here"),
        ("xoxb-1234567890-abcdefghij", "xoxb-***"),
        // key=value
        ("password=hunter2", "password=***"),
        ("GITHUB_TOKEN=abc123 next", "GITHUB_TOKEN=*** next"),
        ("access_token=abc&x=1", "access_token=***&x=1"),
        ("?client_secret=zzz;", "?client_secret=***;"),
        (
            r#"{"password": "p\"w d", "user": "bob"}"#,
            r#"{"password": "***", "user": "bob"}"#,
        ),
        ("{'api_key': 'k-1'}", "{'api_key': '***'}"),
        (r#"token="quoted value""#, r#"token="***""#),
        ("Api-Key = xyz", "Api-Key = ***"),
        ("token=ghp_abcdefghijABCDEFGHIJ012345", "token=***"),
        ("password=***", "password=***"),
    ];
    for (input, expected) in cases {
        check(input, expected);
    }
}

#[test]
fn trigger_set_invariants() {
    let mut all = Vec::new();
    for spec in rules::BUILTIN {
        for t in spec.triggers {
            if spec.case_insensitive {
                all.extend(case_variants(t));
            } else {
                all.push((*t).to_owned());
            }
        }
    }
    // Teddy (the vectorised prefilter) handles at most 64 literals.
    assert!(all.len() <= 64, "{} trigger literals", all.len());
    for a in &all {
        for b in &all {
            assert!(
                a == b || !b.starts_with(a.as_str()),
                "{a} is a prefix of {b}"
            );
        }
    }
}

#[test]
fn sensitive_fields() {
    let cases: &[(&str, bool)] = &[
        ("token", true),
        ("GITHUB_TOKEN", true),
        ("access_token", true),
        ("client_secret", true),
        ("api-key", true),
        ("apiKey", true),
        ("Authorization", true),
        ("oauth", true),
        ("password", true),
        ("db.password", true),
        ("author", false),
        ("keyboard", false),
        ("bypass", false),
        ("passed", false),
        ("max_tokens", false),
        ("token_count", false),
        ("repo_name", false),
        ("", false),
        (&"x".repeat(100), false),
        (&format!("{}token", "x".repeat(100)), true),
    ];
    for (name, expected) in cases {
        assert_eq!(is_sensitive_field(name), *expected, "{name}");
    }
    let r = global();
    assert_eq!(r.redact_field("password", "hunter2"), "***");
    assert_eq!(r.redact_field("repo", "a/b"), "a/b");
}

#[test]
fn custom_patterns() -> Result<()> {
    let r = Redactor::builder()
        .pattern("ticket", r"TICKET-(?P<secret>\d+)")
        .pattern_with_triggers("internal", r"int_[a-z]{6}", ["int_"])
        .build()?;
    assert_eq!(
        r.redact("see TICKET-1234 and int_abcdef"),
        "see TICKET-*** and ***"
    );
    assert_eq!(r.redact("ghp_abcdefghijABCDEFGHIJ012345"), "ghp_***");
    let only = Redactor::builder()
        .without_builtins()
        .pattern("x", "secretword")
        .build()?;
    assert_eq!(
        only.redact("a secretword ghp_abcdefghijABCDEFGHIJ012345"),
        "a *** ghp_abcdefghijABCDEFGHIJ012345"
    );
    assert!(matches!(
        Redactor::builder().pattern("bad", "(").build(),
        Err(Error::InvalidPattern { .. })
    ));
    assert!(matches!(
        Redactor::builder().pattern("empty", "a*").build(),
        Err(Error::EmptyMatch { .. })
    ));
    Ok(())
}

#[test]
fn bytes_non_utf8() {
    let r = global();
    let input = b"\xff\xfe password=abc \xff";
    assert_eq!(&*r.redact_bytes(input), b"\xff\xfe password=*** \xff");
    let clean = b"\xff\xfe nothing";
    assert!(matches!(r.redact_bytes(clean), Cow::Borrowed(_)));
}

#[test]
fn concurrent_use() {
    let r = std::sync::Arc::new(Redactor::default());
    let handles: Vec<_> = (0..4)
        .map(|i| {
            let r = r.clone();
            std::thread::spawn(move || {
                for j in 0..200 {
                    let s = format!("t{i} j{j} password=p{i}{j} ok");
                    assert_eq!(r.redact(&s), format!("t{i} j{j} password=*** ok"));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("worker thread panicked");
    }
}
