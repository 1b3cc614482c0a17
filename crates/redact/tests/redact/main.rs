//! Integration tests for `broadcast-redact`: property tests that generated secrets never survive
//! and that clean text comes back untouched, plus the tracing writer end to end.

use std::borrow::Cow;
use std::io::Write;
use std::sync::{Arc, Mutex};

use broadcast_redact::tracing::RedactingMakeWriter;
use broadcast_redact::{Redactor, global};
use proptest::prelude::*;

mod fuzz_props;

/// A generated secret inside its context, and the secret part that must not survive.
fn secret_strategy() -> impl Strategy<Value = (String, String)> {
    let alnum = "[A-Za-z0-9]{36}";
    prop_oneof![
        (
            prop_oneof![
                Just("ghp_"),
                Just("gho_"),
                Just("ghu_"),
                Just("ghs_"),
                Just("ghr_")
            ],
            alnum
        )
            .prop_map(|(p, s)| (format!("{p}{s}"), s)),
        "[A-Za-z0-9_]{60}".prop_map(|s| (format!("github_pat_{s}"), s)),
        (
            prop_oneof![Just("Bearer"), Just("token"), Just("Basic")],
            "[A-Za-z0-9._+/=-]{12,40}"
        )
            .prop_map(|(scheme, s)| (format!("Authorization: {scheme} {s}"), s)),
        "[A-Za-z0-9._~+/=-]{12,40}".prop_map(|s| (format!("bearer {s}"), s)),
        ("[a-z]{3,8}", "[A-Za-z0-9%!$*+-]{8,24}")
            .prop_map(|(u, s)| (format!("https://{u}:{s}@example.com/x"), s)),
        (
            "[A-Za-z0-9_-]{10,30}",
            "[A-Za-z0-9_-]{10,30}",
            "[A-Za-z0-9_-]{20,43}"
        )
            .prop_map(|(a, b, c)| {
                let s = format!("eyJ{a}.eyJ{b}.{c}");
                (s.clone(), s[3..].to_owned())
            }),
        "[A-Z0-9]{16}".prop_map(|s| (format!("AKIA{s}"), s)),
        "[A-Za-z0-9]{10,30}".prop_map(|s| (format!("xoxb-123456-{s}"), s)),
        "[A-Za-z0-9+/]{64}".prop_map(|s| (
            format!("-----BEGIN RSA PRIVATE KEY-----\n{s}\n-----END RSA PRIVATE KEY-----"),
            s
        )),
        (
            prop_oneof![
                Just("password"),
                Just("GITHUB_TOKEN"),
                Just("access_token"),
                Just("client_secret"),
                Just("api_key"),
                Just("Api-Key"),
            ],
            prop_oneof![Just("="), Just(" = ")],
            "[A-Za-z0-9!@#$%^*()_+-]{8,30}"
        )
            .prop_map(|(k, sep, s)| (format!("{k}{sep}{s}"), s)),
        ("[a-z_]{0,6}", "[A-Za-z0-9 !#$%&()*+,./:;<=>?@_-]{8,30}")
            .prop_map(|(k, s)| (format!(r#"{{"{k}password": "{s}"}}"#), s)),
    ]
}

/// Surrounding text: printable ASCII plus spaces and newlines, no quotes (which would legitimately
/// end a quoted value early).
fn filler() -> impl Strategy<Value = String> {
    "[ \na-zA-Z0-9.,:/-]{0,40}"
}

proptest! {
    #[test]
    fn generated_secrets_never_survive(
        pre in filler(),
        (text, secret) in secret_strategy(),
        post in filler(),
    ) {
        let input = format!("{pre} {text} {post}");
        let out = global().redact(&input);
        prop_assert!(!out.contains(&secret), "secret {secret:?} survived in {out:?}");
        prop_assert!(out.contains("***"));
    }

    #[test]
    fn hex_and_base64_survive(
        sha in "[0-9a-f]{40}",
        b64 in "[A-Za-z0-9+/]{40,120}={0,2}",
        words in "[a-z ]{0,40}",
    ) {
        let input = format!("commit {sha} blob {b64} {words}");
        let out = global().redact(&input);
        prop_assert!(matches!(out, Cow::Borrowed(_)), "{input:?} -> {out:?}");
    }

    #[test]
    fn prefilter_never_changes_the_result(
        pre in filler(),
        (text, _secret) in secret_strategy(),
        noise in "[ a-zA-Z=:/_\"-]{0,60}",
    ) {
        let input = format!("{pre} {noise} {text} {noise}");
        prop_assert_eq!(global().redact(&input), global().redact_unfiltered(&input));
    }

    #[test]
    fn redaction_is_idempotent(
        pre in filler(),
        (text, _secret) in secret_strategy(),
    ) {
        let once = global().redact(&format!("{pre} {text}")).into_owned();
        let twice = global().redact(&once);
        prop_assert_eq!(&*twice, &*once);
    }
}

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .expect("capture mutex poisoned")
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn tracing_events_are_redacted() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(RedactingMakeWriter::new(move || sink.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            url = "https://u:hunter2@example.com",
            "pushing with ghp_abcdefghijABCDEFGHIJ0123456789"
        );
        tracing::warn!(token = "abc123", "header Authorization: Bearer abcdefghijk");
        tracing::info!("commit 0123456789abcdef0123456789abcdef01234567");
    });
    let text = String::from_utf8(captured.0.lock().expect("capture mutex poisoned").clone())
        .expect("fmt writes UTF-8");
    for secret in ["hunter2", "ABCDEFGHIJ0123456789", "abc123", "abcdefghijk"] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    assert!(text.contains("ghp_***"), "{text}");
    assert!(text.contains(r#"token="***""#), "{text}");
    assert!(
        text.contains("0123456789abcdef0123456789abcdef01234567"),
        "{text}"
    );
}

#[test]
fn sensitive_field_names_are_redacted() {
    let captured = Captured::default();
    let sink = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .fmt_fields(broadcast_redact::tracing::redacting_fields())
        .with_writer(RedactingMakeWriter::new(move || sink.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(
            cookie = "session=abc",
            author = "alice",
            repo = "o/r",
            "done"
        );
    });
    let text = String::from_utf8(captured.0.lock().expect("capture mutex poisoned").clone())
        .expect("fmt writes UTF-8");
    assert!(!text.contains("session=abc"), "{text}");
    assert!(text.contains("cookie=***"), "{text}");
    assert!(text.contains(r#"author="alice""#), "{text}");
    assert!(
        text.contains(r#"repo="o/r""#) && text.contains("done"),
        "{text}"
    );
}

#[test]
fn shared_redactor_across_threads() {
    let r = Arc::new(Redactor::default());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let r = Arc::clone(&r);
            std::thread::spawn(move || {
                let mut out = Vec::new();
                {
                    let mut w = broadcast_redact::RedactingWriter::with_redactor(&mut out, r);
                    for i in 0..100 {
                        writeln!(w, "thread {t} line {i} GH_TOKEN=s{t}x{i}").expect("Vec write");
                    }
                }
                String::from_utf8(out).expect("ASCII input")
            })
        })
        .collect();
    for (t, h) in threads.into_iter().enumerate() {
        let text = h.join().expect("worker thread panicked");
        assert_eq!(text.lines().count(), 100);
        assert!(!text.contains(&format!("s{t}x")), "{text}");
    }
}
