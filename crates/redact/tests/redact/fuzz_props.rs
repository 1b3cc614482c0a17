//! Property tests of redaction (fuzz target `redact`).
//!
//! Tokens of every built-in shape (each GitHub prefix, every `Authorization` scheme and
//! separator, bearer tokens, URL passwords, JWTs, all AWS key-id prefixes, every Slack prefix,
//! PEM private keys of several types, `key=value` / JSON / quoted secrets) are embedded in random
//! text, glued to their neighbours or not, and the text is written through [`RedactingWriter`]
//! in writes cut at random points (inside tokens, between lines, inside UTF-8 characters).
//! Properties: no secret survives, neither from [`Redactor::redact`] nor from the writer; the
//! prefilter never changes the result; text that comes back unchanged comes back borrowed.
//!
//! Case count: `BROADCAST_FUZZ_CASES` (default below); `cargo xtask fuzz --target redact` runs
//! these for a fixed time.

use std::borrow::Cow;

use broadcast_redact::{RedactingWriter, global};
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

/// A token in its context, and the secret parts that must not survive.
#[derive(Debug, Clone)]
struct Token {
    text: String,
    secrets: Vec<String>,
}

fn token(text: String, secret: String) -> Token {
    Token {
        text,
        secrets: vec![secret],
    }
}

fn tokens() -> impl Strategy<Value = Token> {
    let sel = |v: &'static [&'static str]| prop::sample::select(v);
    prop_oneof![
        (sel(&["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]), "[A-Za-z0-9_]{20,60}")
            .prop_map(|(p, s)| token(format!("{p}{s}"), s)),
        "[A-Za-z0-9_]{22,90}".prop_map(|s| token(format!("github_pat_{s}"), s)),
        (
            sel(&["Authorization", "authorization", "AUTHORIZATION", "Proxy-Authorization"]),
            sel(&[": ", ":", "=", " : ", "\t=\t"]),
            sel(&["Bearer ", "token ", "Basic ", "Digest ", "Negotiate ", "bearer\t", ""]),
            "[A-Za-z0-9._+/=-]{10,60}",
        )
            .prop_map(|(h, sep, scheme, s)| token(format!("{h}{sep}{scheme}{s}"), s)),
        (sel(&["bearer ", "Bearer ", "BEARER\t"]), "[A-Za-z0-9._~+/=-]{10,60}")
            .prop_map(|(b, s)| token(format!("{b}{s}"), s)),
        (
            sel(&["https", "http", "ssh", "git+ssh", "ftp"]),
            "[a-z0-9._-]{0,10}",
            "[A-Za-z0-9%!$*+=~-]{8,30}",
            sel(&["example.com/x.git", "h", "[::1]:8080/p"]),
        )
            .prop_map(|(scheme, u, s, host)| token(format!("{scheme}://{u}:{s}@{host}"), s)),
        ("[A-Za-z0-9_-]{8,40}", "[A-Za-z0-9_-]{8,60}", "[A-Za-z0-9_-]{8,43}").prop_map(
            |(a, b, c)| {
                let jwt = format!("eyJ{a}.eyJ{b}.{c}");
                Token { text: jwt, secrets: vec![a, b, c] }
            }
        ),
        (
            sel(&["AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"]),
            "[A-Z0-9]{16}",
        )
            .prop_map(|(p, s)| token(format!("{p}{s}"), s)),
        (sel(&["xoxa-", "xoxb-", "xoxe-", "xoxp-", "xoxr-", "xoxs-"]), "[A-Za-z0-9-]{10,50}")
            .prop_map(|(p, s)| token(format!("{p}{s}"), s)),
        (
            sel(&["RSA ", "EC ", "OPENSSH ", "ENCRYPTED ", "DSA ", ""]),
            prop::collection::vec("[A-Za-z0-9+/]{16,64}", 1..5),
            any::<bool>(),
        )
            .prop_map(|(kind, lines, crlf)| {
                let nl = if crlf { "\r\n" } else { "\n" };
                Token {
                    text: format!(
                        "-----BEGIN {kind}PRIVATE KEY-----{nl}{}{nl}-----END {kind}PRIVATE KEY-----",
                        lines.join(nl)
                    ),
                    secrets: lines,
                }
            }),
        (
            sel(&[
                "password", "PASSWORD", "passwd", "passphrase", "pwd", "token", "GITHUB_TOKEN",
                "access_token", "client_secret", "secret", "api_key", "apikey", "Api-Key",
                "private_key", "access_key", "secret_key", "credentials", "auth_key", "db.password",
            ]),
            sel(&["=", " = ", "\t=", "=\t"]),
            "[A-Za-z0-9!@#$%^*()_+.:/-]{8,40}",
        )
            .prop_map(|(k, sep, s)| token(format!("{k}{sep}{s}"), s)),
        (
            sel(&["password", "token", "secret", "apiKey", "api_key", "credential"]),
            sel(&["\"", "'"]),
            "[A-Za-z0-9 !#$%&()*+,./:;<=>?@_-]{8,40}",
        )
            .prop_map(|(k, q, s)| token(format!("{q}{k}{q}: {q}{s}{q}"), s)),
    ]
}

/// Text around tokens: anything printable, some control, non-ASCII, quotes, newlines.
fn filler() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,24}",
        2 => "[ \n\ta-z]{0,12}",
        1 => "\\PC{0,8}",
        1 => prop::sample::select(&["\n", "\r\n", " ", "", "\"", "'", ",", ";", "&", "é", "日本"][..]).prop_map(str::to_owned),
    ]
}

/// Text with tokens embedded, and the secrets that must not survive.
fn text_with_tokens() -> impl Strategy<Value = (String, Vec<String>)> {
    (
        filler(),
        prop::collection::vec((tokens(), filler(), any::<bool>()), 1..5),
    )
        .prop_map(|(head, parts)| {
            let mut text = head;
            let mut secrets = Vec::new();
            for (t, after, glued) in parts {
                // Glued or separated from the text before it.
                if !glued {
                    text.push(' ');
                }
                text.push_str(&t.text);
                if !glued {
                    text.push('\n');
                }
                text.push_str(&after);
                secrets.extend(t.secrets);
            }
            (text, secrets)
        })
}

/// Every secret occurs in `out` fewer times than in `input` (each token's own occurrence is
/// gone; a copy in the filler may be gone too).
fn check_gone(input: &str, out: &str, secrets: &[String]) -> Result<(), TestCaseError> {
    for s in secrets {
        let before = input.matches(s.as_str()).count();
        let after = out.matches(s.as_str()).count();
        prop_assert!(
            after < before,
            "secret {:?} survived\ninput:  {:?}\noutput: {:?}",
            s,
            input,
            out
        );
    }
    Ok(())
}

/// Writes `text` through a [`RedactingWriter`] in pieces cut at `cuts` (byte offsets, any).
fn through_writer(text: &str, cuts: &[prop::sample::Index]) -> String {
    let bytes = text.as_bytes();
    let mut at: Vec<usize> = cuts.iter().map(|c| c.index(bytes.len() + 1)).collect();
    at.sort_unstable();
    let mut out = Vec::new();
    {
        let mut w = RedactingWriter::new(&mut out);
        let mut last = 0;
        for c in at.into_iter().chain([bytes.len()]) {
            std::io::Write::write_all(&mut w, &bytes[last..c]).expect("writes to a Vec succeed");
            last = c;
        }
        std::io::Write::flush(&mut w).expect("flushing a Vec succeeds");
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Words near the secret formats that are not secrets.
const NEAR_MISSES: &[&str] = &[
    "token",
    "tokens",
    "ghp_",
    "ghp_short",
    "github_pat_",
    "Bearer",
    "bearer ",
    "Bearer x",
    "Authorization",
    "https://",
    "https://example.com/a:b",
    "user@host",
    "git@github.com:o/r.git",
    "eyJ",
    "eyJhbGci",
    "AKIA",
    "AKIAshort",
    "ASIA12",
    "xoxb-",
    "xox",
    "-----BEGIN",
    "-----BEGIN CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----",
    "password",
    "key",
    "secret:",
    "api_key",
    "max_tokens",
    "keyboard",
    "author",
    "0123456789abcdef0123456789abcdef01234567",
    " ",
    "\n",
    "=",
    ":",
    "\"",
    "é",
    "commit",
    "blob",
];

proptest! {
    #![proptest_config(cases(256))]

    /// No secret survives `redact`, whatever surrounds the tokens.
    #[test]
    fn fuzz_redact_no_token_survives((text, secrets) in text_with_tokens()) {
        let out = global().redact(&text);
        check_gone(&text, &out, &secrets)?;
        prop_assert_eq!(&out, &global().redact_unfiltered(&text));
    }

    /// No secret survives the logging writer, however the writes cut the text.
    #[test]
    fn fuzz_redact_writer_chunks(
        (text, secrets) in text_with_tokens(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let out = through_writer(&text, &cuts);
        check_gone(&text, &out, &secrets)?;
    }

    /// Text that redaction leaves alone comes back borrowed; the prefilter agrees with the
    /// unfiltered scan.
    #[test]
    fn fuzz_redact_clean_text_is_borrowed(
        words in prop::collection::vec(
            prop_oneof![prop::sample::select(NEAR_MISSES).prop_map(str::to_owned), "[ -~]{0,10}", "\\PC{0,4}"],
            0..30,
        ),
    ) {
        let text = words.concat();
        let out = global().redact(&text);
        prop_assert_eq!(&out, &global().redact_unfiltered(&text));
        match &out {
            Cow::Borrowed(b) => prop_assert_eq!(*b, text.as_str()),
            Cow::Owned(o) => prop_assert_ne!(o, &text, "allocated for an unchanged text"),
        }
        if matches!(out, Cow::Borrowed(_)) {
            prop_assert_eq!(through_writer(&text, &[]), text);
        }
    }
}
