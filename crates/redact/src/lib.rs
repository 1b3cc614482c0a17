#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod rules;
pub mod tracing;

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::bytes::Regex;

pub use crate::tracing::RedactingWriter;

/// The marker that replaces a secret. Keys, token prefixes and URL users around it are kept:
/// `ghp_***`, `Authorization: Bearer ***`, `https://user:***@host`, `password=***`.
pub const MARKER: &str = "***";

/// Errors of this crate: only building a [`Redactor`] with custom patterns can fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A custom pattern given to [`RedactorBuilder::pattern`] is not a valid `regex` crate regex.
    #[error("custom redaction pattern {name:?} is not a valid regex")]
    InvalidPattern {
        /// The name given to the pattern.
        name: String,
        /// The regex source as given.
        pattern: String,
        /// Why the regex crate rejected it.
        #[source]
        source: Box<regex::Error>,
    },
    /// A custom pattern matches the empty string, which would insert markers everywhere.
    #[error("custom redaction pattern {name:?} matches the empty string")]
    EmptyMatch {
        /// The name given to the pattern.
        name: String,
        /// The regex source as given.
        pattern: String,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One compiled rule.
#[derive(Debug, Clone)]
struct Rule {
    name: String,
    regex: Regex,
    /// Indices of capture groups whose names start with `secret`; empty = replace whole match.
    secret_groups: Vec<usize>,
    /// `false` for custom patterns without trigger literals: they run on every input.
    gated: bool,
    /// Matches never span lines: run only over the lines holding a trigger.
    line_local: bool,
}

/// A set of compiled redaction rules plus the literal prefilter that decides which of them can
/// match a given text.
///
/// Build once (compiling the rules takes about a millisecond) and share: `Redactor` is
/// `Send + Sync` and every method takes `&self`. [`global()`] is a process-wide default instance.
///
/// Cost per call: one Aho-Corasick scan over the input for the trigger literals. When none occurs
/// (the common case: most log lines hold no secret) the input is returned as
/// [`Cow::Borrowed`] without allocating. Otherwise every rule whose trigger occurred runs its regex
/// over the text (linear time), the secret spans of all rules are merged, and one output is
/// allocated only if something was replaced.
#[derive(Debug, Clone)]
pub struct Redactor {
    rules: Vec<Rule>,
    /// Prefilter over all trigger literals; `None` when no gated rule exists.
    prefilter: Option<AhoCorasick>,
    /// For each prefilter pattern id, the index of the rule it gates.
    trigger_rule: Vec<usize>,
    /// Whether any rule runs without a trigger.
    has_ungated: bool,
}

impl Default for Redactor {
    /// All built-in rules (GitHub tokens, `Authorization` headers, bearer tokens, URL credentials,
    /// JWTs, PEM private keys, AWS access key ids, Slack tokens, sensitive `key=value` pairs).
    fn default() -> Self {
        Redactor::builder()
            .build()
            .expect("built-in rules are valid regexes and are covered by unit tests")
    }
}

/// Builds a [`Redactor`]: the built-in rules (unless [`RedactorBuilder::without_builtins`]) plus
/// custom patterns.
#[derive(Debug, Clone)]
pub struct RedactorBuilder {
    builtins: bool,
    custom: Vec<(String, String, Vec<String>)>,
}

impl RedactorBuilder {
    /// Drops the built-in rules; only custom patterns are used.
    pub fn without_builtins(mut self) -> Self {
        self.builtins = false;
        self
    }

    /// Adds a custom rule named `name` that runs on **every** input (no prefilter can skip it,
    /// so clean text is no longer free: prefer [`RedactorBuilder::pattern_with_triggers`]).
    ///
    /// `regex` uses `regex` crate syntax over bytes. Capture groups whose names start with
    /// `secret` (`(?P<secret>...)`, `(?P<secret_2>...)`) are replaced with [`MARKER`]; without
    /// such a group the whole match is. Errors come from [`RedactorBuilder::build`].
    pub fn pattern(mut self, name: impl Into<String>, regex: impl Into<String>) -> Self {
        self.custom.push((name.into(), regex.into(), Vec::new()));
        self
    }

    /// Like [`RedactorBuilder::pattern`], but the rule only runs when one of `triggers` occurs in
    /// the text (case-sensitive). Every match of `regex` must contain one of the triggers, or
    /// secrets can slip through.
    pub fn pattern_with_triggers<I, S>(
        mut self,
        name: impl Into<String>,
        regex: impl Into<String>,
        triggers: I,
    ) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let triggers: Vec<String> = triggers.into_iter().map(Into::into).collect();
        self.custom.push((name.into(), regex.into(), triggers));
        self
    }

    /// Compiles the rules and the prefilter.
    ///
    /// # Errors
    /// [`Error::InvalidPattern`] when a custom regex does not compile, [`Error::EmptyMatch`] when
    /// it matches the empty string.
    pub fn build(self) -> Result<Redactor> {
        let mut rules = Vec::new();
        // (literal, rule index, case-insensitive)
        let mut triggers: Vec<(String, usize, bool)> = Vec::new();
        if self.builtins {
            for spec in rules::BUILTIN {
                let regex = compile(spec.name, spec.pattern)?;
                let idx = rules.push_rule(spec.name.to_owned(), regex, true, spec.line_local);
                for t in spec.triggers {
                    triggers.push(((*t).to_owned(), idx, spec.case_insensitive));
                }
            }
        }
        for (name, pattern, trig) in self.custom {
            let regex = compile(&name, &pattern)?;
            if regex.is_match(b"") {
                return Err(Error::EmptyMatch { name, pattern });
            }
            let gated = !trig.is_empty();
            let idx = rules.push_rule(name, regex, gated, false);
            for t in trig {
                triggers.push((t, idx, false));
            }
        }
        let has_ungated = rules.iter().any(|r| !r.gated);
        // One case-sensitive automaton over every trigger, case-insensitive rules contributing
        // three spellings each. Kept under 64 literals so aho-corasick can use its vectorised
        // (Teddy) prefilter: an ASCII case-insensitive automaton scans about 18x slower.
        let mut literals = Vec::new();
        let mut trigger_rule = Vec::new();
        for (lit, idx, case_insensitive) in triggers {
            let variants = if case_insensitive {
                case_variants(&lit)
            } else {
                vec![lit]
            };
            for v in variants {
                literals.push(v);
                trigger_rule.push(idx);
            }
        }
        let prefilter = if literals.is_empty() {
            None
        } else {
            Some(
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostFirst)
                    .build(&literals)
                    .expect("trigger literal sets are small enough for aho-corasick"),
            )
        };
        Ok(Redactor {
            rules,
            prefilter,
            trigger_rule,
            has_ungated,
        })
    }
}

/// The spellings of a case-insensitive trigger that are searched: as written, upper case and
/// capitalised (`bearer`, `BEARER`, `Bearer`).
fn case_variants(lit: &str) -> Vec<String> {
    let lower = lit.to_ascii_lowercase();
    let upper = lit.to_ascii_uppercase();
    let mut cap = lower.clone();
    if let Some(first) = cap.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    let mut out = vec![lower, upper, cap];
    out.sort();
    out.dedup();
    out
}

trait PushRule {
    fn push_rule(&mut self, name: String, regex: Regex, gated: bool, line_local: bool) -> usize;
}

impl PushRule for Vec<Rule> {
    fn push_rule(&mut self, name: String, regex: Regex, gated: bool, line_local: bool) -> usize {
        let secret_groups = regex
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.filter(|n| n.starts_with("secret")).map(|_| i))
            .collect();
        self.push(Rule {
            name,
            regex,
            secret_groups,
            gated,
            line_local,
        });
        self.len() - 1
    }
}

fn compile(name: &str, pattern: &str) -> Result<Regex> {
    Regex::new(pattern).map_err(|source| Error::InvalidPattern {
        name: name.to_owned(),
        pattern: pattern.to_owned(),
        source: Box::new(source),
    })
}

impl Redactor {
    /// Starts a builder with the built-in rules enabled.
    pub fn builder() -> RedactorBuilder {
        RedactorBuilder {
            builtins: true,
            custom: Vec::new(),
        }
    }

    /// Names of the rules in application order (built-ins first, then custom patterns).
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Returns `text` with every secret replaced by [`MARKER`], keeping keys and prefixes.
    ///
    /// Returns [`Cow::Borrowed`] (no allocation) when nothing was replaced. Cost: one prefilter
    /// scan; plus, when a trigger literal occurs, one regex pass per triggered rule.
    pub fn redact<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            // Markers are ASCII and every rule's secret span starts and ends next to ASCII bytes
            // or at the text's ends, so valid UTF-8 stays valid; a custom pattern that splits a
            // character is repaired lossily rather than trusted.
            Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    /// Like [`Redactor::redact`] for bytes that need not be UTF-8 (git stderr, file contents).
    pub fn redact_bytes<'a>(&self, text: &'a [u8]) -> Cow<'a, [u8]> {
        self.redact_impl(text, true)
    }

    /// [`Redactor::redact`] without the prefilter: every rule's regex runs over the whole text.
    ///
    /// Same output as `redact` (the prefilter only skips rules that cannot match); it exists as
    /// the reference for tests and as the naive baseline in benchmarks. Cost: one regex pass per
    /// rule, always.
    pub fn redact_unfiltered<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.redact_impl(text.as_bytes(), false) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => Cow::Owned(match String::from_utf8(bytes) {
                Ok(s) => s,
                Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            }),
        }
    }

    fn redact_impl<'a>(&self, text: &'a [u8], prefilter: bool) -> Cow<'a, [u8]> {
        // (trigger position, rule index); allocated only once a trigger occurs, so the clean
        // path stays allocation-free.
        let mut hits: Vec<(usize, usize)> = Vec::new();
        if prefilter && let Some(pf) = &self.prefilter {
            // Restart one byte after each hit rather than after its end, so overlapping
            // triggers (`keyeyJ...`) are all seen; no trigger is a prefix of another.
            let mut pos = 0;
            while let Some(m) = pf.find(aho_corasick::Input::new(text).span(pos..text.len())) {
                hits.push((m.start(), self.trigger_rule[m.pattern().as_usize()]));
                pos = m.start() + 1;
            }
        }
        if prefilter && hits.is_empty() && !self.has_ungated {
            return Cow::Borrowed(text);
        }
        // Every rule runs over the original text (or over the lines holding its triggers);
        // the secret spans of all rules are merged, so a secret found by two rules
        // (`token=ghp_...`) is replaced once, as a whole.
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            if !prefilter || !rule.gated {
                collect_spans(rule, text, 0, &mut spans);
                continue;
            }
            let mut rule_hits = hits.iter().filter(|h| h.1 == i).map(|h| h.0).peekable();
            if rule_hits.peek().is_none() {
                continue;
            }
            if !rule.line_local {
                collect_spans(rule, text, 0, &mut spans);
                continue;
            }
            let mut done_until = 0;
            for pos in rule_hits {
                if pos < done_until {
                    continue; // this line was already scanned
                }
                let start = memchr::memrchr(b'\n', &text[..pos]).map_or(0, |n| n + 1);
                let end = memchr::memchr(b'\n', &text[pos..]).map_or(text.len(), |n| pos + n);
                collect_spans(rule, &text[start..end], start, &mut spans);
                done_until = end;
            }
        }
        if spans.is_empty() {
            return Cow::Borrowed(text);
        }
        spans.sort_unstable();
        let mut out = Vec::with_capacity(text.len());
        let mut last = 0;
        let mut iter = spans.into_iter().peekable();
        while let Some((s, mut e)) = iter.next() {
            while let Some(&(s2, e2)) = iter.peek() {
                if s2 > e {
                    break;
                }
                e = e.max(e2);
                iter.next();
            }
            out.extend_from_slice(&text[last..s]);
            out.extend_from_slice(MARKER.as_bytes());
            last = e;
        }
        out.extend_from_slice(&text[last..]);
        Cow::Owned(out)
    }

    /// Whether a structured field (a tracing field, a JSON key, an environment variable name) holds
    /// a secret by its name alone, so its whole value must be replaced.
    ///
    /// The name is compared ASCII case-insensitively with `-`, `.`, `_` and spaces removed, and is
    /// sensitive when it **ends** with a sensitive word (`token`, `password`, `secret`, `api_key`,
    /// `authorization`, `credentials`, `cookie`, `private_key`, ...): `GITHUB_TOKEN`,
    /// `client_secret` and `oauth` are; `author`, `keyboard`, `bypass`, `max_tokens` and
    /// `token_count` are not. Allocation-free for names up to 64 bytes.
    pub fn is_sensitive_field(&self, name: &str) -> bool {
        is_sensitive_field(name)
    }

    /// The value to print for field `name`: [`MARKER`] when the name is sensitive
    /// ([`is_sensitive_field`]), otherwise `value` passed through [`Redactor::redact`].
    pub fn redact_field<'a>(&self, name: &str, value: &'a str) -> Cow<'a, str> {
        if is_sensitive_field(name) && !value.is_empty() {
            Cow::Borrowed(MARKER)
        } else {
            self.redact(value)
        }
    }
}

/// Appends the secret spans of `rule`'s matches in `text` (which starts at byte `offset` of the
/// whole input). Spans that already read `***` (text
/// redacted before) are skipped, which keeps redaction idempotent.
///
/// For rules with secret groups the next search starts at the secret, not after the match: a
/// value can swallow the key of a token glued to it (`Bearer abcAuthorization: token xyz`), and
/// that token's own secret must still be found. Rescanning is capped at four times the text
/// length plus 4 KiB of matched bytes, after which the search resumes after each match, so
/// adversarial input (`password=password=…`) stays linear.
fn collect_spans(rule: &Rule, text: &[u8], offset: usize, spans: &mut Vec<(usize, usize)>) {
    let mut push = |s: usize, e: usize| {
        if e > s && &text[s..e] != MARKER.as_bytes() {
            spans.push((offset + s, offset + e));
        }
    };
    if rule.secret_groups.is_empty() {
        for m in rule.regex.find_iter(text) {
            push(m.start(), m.end());
        }
        return;
    }
    let mut budget = text.len().saturating_mul(4).saturating_add(4096);
    let mut pos = 0;
    while pos <= text.len() {
        let Some(caps) = rule.regex.captures_at(text, pos) else {
            break;
        };
        let m = caps.get(0).expect("group 0 always participates in a match");
        let mut resume = m.end();
        for &g in &rule.secret_groups {
            if let Some(sm) = caps.get(g) {
                push(sm.start(), sm.end());
                resume = resume.min(sm.start());
            }
        }
        budget = budget.saturating_sub(m.len().max(1));
        pos = if budget > 0 {
            resume.max(m.start() + 1)
        } else {
            m.end().max(m.start() + 1)
        };
    }
}

/// Free-function form of [`Redactor::is_sensitive_field`] (the rule list is fixed).
pub fn is_sensitive_field(name: &str) -> bool {
    let mut buf = [0u8; 64];
    let mut len = 0;
    let mut heap: Vec<u8> = Vec::new();
    for b in name.bytes() {
        if matches!(b, b'-' | b'.' | b'_' | b' ') {
            continue;
        }
        let b = b.to_ascii_lowercase();
        if len < buf.len() {
            buf[len] = b;
            len += 1;
        } else {
            if heap.is_empty() {
                heap.extend_from_slice(&buf);
            }
            heap.push(b);
        }
    }
    let norm: &[u8] = if heap.is_empty() { &buf[..len] } else { &heap };
    rules::FIELD_SUFFIXES.iter().any(|s| {
        let s = s.as_bytes();
        norm.ends_with(s)
    })
}

/// The process-wide default [`Redactor`] (all built-in rules), built on first use.
///
/// Cost: the first call compiles the rules (about a millisecond); later calls are a load.
pub fn global() -> &'static Redactor {
    global_arc()
}

pub(crate) fn global_arc() -> &'static std::sync::Arc<Redactor> {
    static GLOBAL: OnceLock<std::sync::Arc<Redactor>> = OnceLock::new();
    GLOBAL.get_or_init(|| std::sync::Arc::new(Redactor::default()))
}

/// Shorthand for `global().redact(text)`.
pub fn redact(text: &str) -> Cow<'_, str> {
    global().redact(text)
}

#[cfg(test)]
#[path = "lib_tests.rs"]
mod tests;
