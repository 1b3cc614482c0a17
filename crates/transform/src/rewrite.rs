//! Single-pass literal rewriting with boundary checks: the engine under every transform.
//!
//! A [`Rewriter`] holds literal rules (needle, replacement, what may stand before and after the
//! needle). One leftmost-first Aho-Corasick automaton finds needle candidates; each candidate is
//! accepted by the first rule (in priority order) whose needle is there and whose boundaries
//! hold, and its replacement is copied to the output. Scanning resumes after the needle in the
//! **input**, so replacement text is never scanned again: rewrites cannot compound.

use aho_corasick::{AhoCorasick, AhoCorasickKind, Input, MatchKind};
use memchr::memmem;

use crate::Error;

/// What must hold around a needle for a rule to apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Boundary {
    /// Anything may stand there.
    Any,
    /// Repository slug (`owner/name`, `github.com/owner/name`) edges; see [`slug_before`] and
    /// [`slug_after`].
    Slug,
    /// Bare repository name edges; see [`word_before`] and [`word_after`].
    Word,
    /// Email address edges; see [`email_before`] and [`email_after`].
    Email,
    /// Before: a YAML value position, `:` then at least one space or tab. After: ASCII whitespace
    /// or end of input.
    YamlValue,
}

/// Bytes that can be part of a GitHub owner or repository name: ASCII letters, digits, `-`,
/// `.` and `_`.
pub(crate) fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_')
}

/// A `.` that ends a sentence: followed by end of input or ASCII whitespace.
fn is_sentence_dot(hay: &[u8], at: usize) -> bool {
    hay.get(at) == Some(&b'.') && hay.get(at + 1).is_none_or(|b| b.is_ascii_whitespace())
}

/// Before a slug: start of input or a byte that is not a name byte (`/`, `"`, space, `(`, `:`).
fn slug_before(hay: &[u8], start: usize) -> bool {
    start == 0 || !is_name_byte(hay[start - 1])
}

/// File extensions that may follow a repository slug and still leave it the slug: clone URLs
/// (`.git`) and files named after the repository, such as badges
/// (`img.shields.io/github/license/acme/api.svg`). Lower-case; compared ignoring ASCII case.
const SLUG_SUFFIXES: &[&[u8]] = &[
    b"git", b"svg", b"png", b"jpg", b"jpeg", b"gif", b"webp", b"json", b"xml", b"yml", b"yaml",
    b"md", b"txt", b"html", b"zip", b"tar", b"gz", b"tgz",
];

/// After a slug: end of input, a byte that is not a name byte, a sentence-ending `.`, or one
/// or more [`SLUG_SUFFIXES`] extensions (`.git`, `.svg`, `.tar.gz`) that are themselves
/// followed by one of those. `acme/api.v2` and `acme/api.gitx` name other repositories.
fn slug_after(hay: &[u8], end: usize) -> bool {
    let mut end = end;
    loop {
        match hay.get(end) {
            None => return true,
            Some(&b) if !is_name_byte(b) => return true,
            Some(_) if is_sentence_dot(hay, end) => return true,
            Some(b'.') => {
                let ext_len = hay[end + 1..]
                    .iter()
                    .take_while(|&&b| b.is_ascii_alphanumeric())
                    .count();
                let ext = &hay[end + 1..end + 1 + ext_len];
                if !SLUG_SUFFIXES.iter().any(|s| s.eq_ignore_ascii_case(ext)) {
                    return false;
                }
                end += 1 + ext_len;
            }
            Some(_) => return false,
        }
    }
}

/// Before a bare name: start of input or a byte that is neither a name byte nor `/` (so the
/// `api` of `other/api` or `path/api` is left alone).
fn word_before(hay: &[u8], start: usize) -> bool {
    start == 0 || {
        let b = hay[start - 1];
        !is_name_byte(b) && b != b'/'
    }
}

/// After a bare name: end of input, a byte that is neither a name byte nor `/`, or a
/// sentence-ending `.`.
fn word_after(hay: &[u8], end: usize) -> bool {
    match hay.get(end) {
        None => true,
        Some(&b) if !is_name_byte(b) && b != b'/' => true,
        Some(_) => is_sentence_dot(hay, end),
    }
}

/// Bytes that extend an address on the left: letters, digits and `. _ % + -`.
fn is_email_local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-')
}

/// Before an email: start of input or a byte that cannot extend the local part.
fn email_before(hay: &[u8], start: usize) -> bool {
    start == 0 || !is_email_local_byte(hay[start - 1])
}

/// After an email: end of input, a byte that cannot extend the domain (not a letter, digit,
/// `-` or `_`), or a `.` not followed by a letter or digit (so `sec@x.com.au` is not hit by
/// `sec@x.com`, but `mail sec@x.com.` is).
fn email_after(hay: &[u8], end: usize) -> bool {
    match hay.get(end) {
        None => true,
        Some(b'.') => hay.get(end + 1).is_none_or(|b| !b.is_ascii_alphanumeric()),
        Some(&b) => !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_')),
    }
}

/// `:` followed by at least one space or tab, ending right before `start`.
fn yaml_value_before(hay: &[u8], start: usize) -> bool {
    let head = &hay[..start];
    let trimmed = head.trim_ascii_end();
    let blanks = &head[trimmed.len()..];
    !blanks.is_empty() && !blanks.contains(&b'\n') && trimmed.last() == Some(&b':')
}

impl Boundary {
    fn before(self, hay: &[u8], start: usize) -> bool {
        match self {
            Boundary::Any => true,
            Boundary::Slug => slug_before(hay, start),
            Boundary::Word => word_before(hay, start),
            Boundary::Email => email_before(hay, start),
            Boundary::YamlValue => yaml_value_before(hay, start),
        }
    }

    fn after(self, hay: &[u8], end: usize) -> bool {
        match self {
            Boundary::Any => true,
            Boundary::Slug => slug_after(hay, end),
            Boundary::Word => word_after(hay, end),
            Boundary::Email => email_after(hay, end),
            Boundary::YamlValue => hay.get(end).is_none_or(|b| b.is_ascii_whitespace()),
        }
    }
}

/// One literal rewrite rule.
#[derive(Debug, Clone)]
pub(crate) struct Rule {
    /// Literal bytes to find; never empty.
    pub(crate) needle: Vec<u8>,
    /// Literal bytes written instead (no `$1` expansion).
    pub(crate) replacement: Vec<u8>,
    /// Condition on the bytes before the needle.
    pub(crate) before: Boundary,
    /// Condition on the bytes after the needle.
    pub(crate) after: Boundary,
}

impl Rule {
    /// A rule with the same boundary on both sides.
    pub(crate) fn new(needle: &[u8], replacement: &[u8], boundary: Boundary) -> Self {
        Self {
            needle: needle.to_vec(),
            replacement: replacement.to_vec(),
            before: boundary,
            after: boundary,
        }
    }

    fn accepts(&self, hay: &[u8], start: usize) -> bool {
        hay[start..].starts_with(&self.needle)
            && self.before.before(hay, start)
            && self.after.after(hay, start + self.needle.len())
    }
}

/// How candidates are found.
#[derive(Debug, Clone)]
enum Search {
    /// One needle: `memmem` alone.
    Single(memmem::Finder<'static>),
    /// Several needles that all contain the shortest one (the anchor), like `acme/api` and
    /// `api`: `memmem` finds the anchor, the automaton only runs in the window around it.
    Anchored {
        anchor: memmem::Finder<'static>,
        /// Longest distance from a needle's start to an anchor inside it.
        back: usize,
        /// Longest needle, in bytes.
        longest: usize,
        automaton: AhoCorasick,
    },
    /// Several unrelated needles: the automaton over the whole input.
    Automaton(AhoCorasick),
}

/// Compiled rule set: rules in priority order plus the fastest way to find their needles.
#[derive(Debug, Clone)]
pub(crate) struct Rewriter {
    search: Search,
    rules: Vec<Rule>,
}

impl Rewriter {
    /// The needles of every rule.
    pub(crate) fn needles(&self) -> impl Iterator<Item = &[u8]> {
        self.rules.iter().map(|r| r.needle.as_slice())
    }

    /// Compiles `rules` (earlier rules win when several accept at one position).
    ///
    /// Returns `Ok(None)` when there is nothing to rewrite (no rules, or every rule would write
    /// its needle back unchanged with no effect). Fails with [`Error::Matcher`] when the
    /// automaton cannot be built (`what` names the transform) or [`Error::EmptyNeedle`] when a
    /// needle is empty.
    pub(crate) fn build(what: &'static str, rules: Vec<Rule>) -> Result<Option<Self>, Error> {
        let rules: Vec<Rule> = rules
            .into_iter()
            .filter(|r| r.needle != r.replacement)
            .collect();
        if rules.is_empty() {
            return Ok(None);
        }
        if rules.iter().any(|r| r.needle.is_empty()) {
            return Err(Error::EmptyNeedle { what });
        }
        let distinct: std::collections::BTreeSet<&[u8]> =
            rules.iter().map(|r| r.needle.as_slice()).collect();
        if distinct.len() == 1 {
            let finder = memmem::Finder::new(&rules[0].needle).into_owned();
            return Ok(Some(Self {
                search: Search::Single(finder),
                rules,
            }));
        }
        let shortest = distinct
            .iter()
            .min_by_key(|n| n.len())
            .expect("at least two distinct needles");
        let offsets: Option<Vec<usize>> = distinct
            .iter()
            .map(|n| memmem::rfind(n, shortest))
            .collect();
        // Anchored: the automaton only scans short windows, so its build cost matters more
        // than its scan speed (a contiguous NFA builds about twice as fast as a DFA). Otherwise
        // it scans everything, so let the builder pick (a DFA for small sets).
        let kind = offsets.as_ref().map(|_| AhoCorasickKind::ContiguousNFA);
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .kind(kind)
            .build(rules.iter().map(|r| &r.needle))
            .map_err(|source| Error::Matcher { what, source })?;
        let search = match offsets {
            Some(offsets) => Search::Anchored {
                anchor: memmem::Finder::new(shortest).into_owned(),
                back: offsets.into_iter().max().unwrap_or(0),
                longest: distinct.iter().map(|n| n.len()).max().unwrap_or(0),
                automaton,
            },
            None => Search::Automaton(automaton),
        };
        Ok(Some(Self { search, rules }))
    }

    /// The leftmost needle occurrence starting at or after `pos`, as (start, first rule index
    /// to try), or `None` when there is none.
    fn next_candidate(&self, hay: &[u8], pos: usize) -> Option<(usize, usize)> {
        match &self.search {
            Search::Single(finder) => finder.find(&hay[pos..]).map(|i| (pos + i, 0)),
            Search::Automaton(automaton) => automaton
                .find(Input::new(hay).span(pos..hay.len()))
                .map(|m| (m.start(), m.pattern().as_usize())),
            Search::Anchored {
                anchor,
                back,
                longest,
                automaton,
            } => {
                let mut from = pos;
                loop {
                    // Every needle contains the anchor, so a match starting at or after `pos`
                    // holds an anchor occurrence at or after `q`; the leftmost match starting
                    // at or before `q` lies inside `q - back .. q + longest`.
                    let q = from + anchor.find(&hay[from..])?;
                    let window = pos.max(q.saturating_sub(*back))..hay.len().min(q + longest);
                    if let Some(m) = automaton.find(Input::new(hay).span(window))
                        && m.start() <= q
                    {
                        return Some((m.start(), m.pattern().as_usize()));
                    }
                    from = q + 1;
                }
            }
        }
    }

    /// Output capacity for an input of `len` bytes: the input plus 64 bytes, plus 1/8 when a
    /// replacement is longer than its needle, so typical growth needs no reallocation.
    fn capacity(&self, len: usize) -> usize {
        let grows = self
            .rules
            .iter()
            .any(|r| r.replacement.len() > r.needle.len());
        len + 64 + if grows { len / 8 } else { 0 }
    }

    /// Rewrites `hay` in one pass; `None` when no rule applied (no allocation then).
    ///
    /// Cost: one `memmem` scan (plus automaton runs in small windows around anchor hits) or
    /// one prefiltered automaton scan; a rejected candidate restarts the search one byte later.
    /// Allocates the output once, on the first accepted match.
    pub(crate) fn rewrite(&self, hay: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut pos = 0;
        while pos < hay.len() {
            let Some((start, first_rule)) = self.next_candidate(hay, pos) else {
                break;
            };
            // Leftmost-first: no rule before `first_rule` has its needle at `start`.
            let rule = self.rules[first_rule..]
                .iter()
                .find(|r| r.accepts(hay, start));
            match rule {
                Some(rule) => {
                    let buf =
                        out.get_or_insert_with(|| Vec::with_capacity(self.capacity(hay.len())));
                    buf.extend_from_slice(&hay[copied..start]);
                    buf.extend_from_slice(&rule.replacement);
                    copied = start + rule.needle.len();
                    pos = copied;
                }
                None => pos = start + 1,
            }
        }
        let mut buf = out?;
        buf.extend_from_slice(&hay[copied..]);
        Some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(boundary: Boundary, needle: &str, hay: &str, expected: &str) {
        let rw = Rewriter::build("test", vec![Rule::new(needle.as_bytes(), b"<X>", boundary)])
            .expect("builds")
            .expect("has a rule");
        let got = rw.rewrite(hay.as_bytes());
        let got = got.as_deref().unwrap_or(hay.as_bytes());
        assert_eq!(
            String::from_utf8_lossy(got),
            expected,
            "{boundary:?} {needle:?} in {hay:?}"
        );
    }

    #[test]
    fn slug_boundary() {
        let table = [
            ("acme/api", "acme/api", "<X>"),
            (
                "see github.com/acme/api.",
                "acme/api",
                "see github.com/<X>.",
            ),
            ("(acme/api)", "acme/api", "(<X>)"),
            ("acme/api-extra", "acme/api", "acme/api-extra"),
            (
                "acme/api_x acme/api.v2",
                "acme/api",
                "acme/api_x acme/api.v2",
            ),
            ("xacme/api", "acme/api", "xacme/api"),
            ("clone acme/api.git", "acme/api", "clone <X>.git"),
            ("acme/api.gitx", "acme/api", "acme/api.gitx"),
            (
                "img.shields.io/github/license/acme/api.svg",
                "acme/api",
                "img.shields.io/github/license/<X>.svg",
            ),
            ("acme/api.SVG?style=flat", "acme/api", "<X>.SVG?style=flat"),
            ("acme/api.tar.gz", "acme/api", "<X>.tar.gz"),
            ("acme/api.svg.", "acme/api", "<X>.svg."),
            (
                "acme/api.svgx acme/api.v2.svg",
                "acme/api",
                "acme/api.svgx acme/api.v2.svg",
            ),
            ("acme/api.", "acme/api", "<X>."),
            ("acme/api/blob/main", "acme/api", "<X>/blob/main"),
            ("\"acme/api\"", "acme/api", "\"<X>\""),
        ];
        for (hay, needle, expected) in table {
            check(Boundary::Slug, needle, hay, expected);
        }
    }

    #[test]
    fn word_boundary() {
        let table = [
            ("api", "<X>"),
            ("the api service", "the <X> service"),
            (
                "api-gateway go-api api_x api.v2 api2 xapi",
                "api-gateway go-api api_x api.v2 api2 xapi",
            ),
            ("other/api and api/ dir", "other/api and api/ dir"),
            ("name: \"api\"", "name: \"<X>\""),
            ("uses api.", "uses <X>."),
            ("uses api.\r\n", "uses <X>.\r\n"),
            ("api api", "<X> <X>"),
        ];
        for (hay, expected) in table {
            check(Boundary::Word, "api", hay, expected);
        }
    }

    #[test]
    fn email_boundary() {
        let table = [
            ("sec@x.com", "<X>"),
            ("mailto:sec@x.com", "mailto:<X>"),
            ("[sec@x.com](mailto:sec@x.com)", "[<X>](mailto:<X>)"),
            ("sec@x.com.au", "sec@x.com.au"),
            ("sec@x.com-mail.org", "sec@x.com-mail.org"),
            ("psec@x.com", "psec@x.com"),
            ("a.sec@x.com", "a.sec@x.com"),
            ("write to sec@x.com.", "write to <X>."),
            ("<sec@x.com>", "<<X>>"),
        ];
        for (hay, expected) in table {
            check(Boundary::Email, "sec@x.com", hay, expected);
        }
    }

    #[test]
    fn yaml_value_boundary() {
        let table = [
            ("email: sec@x.com", "email: <X>"),
            ("email:\tsec@x.com\n", "email:\t<X>\n"),
            ("email: sec@x.com # contact", "email: <X> # contact"),
            ("email:sec@x.com", "email:sec@x.com"),
            ("- sec@x.com", "- sec@x.com"),
            ("email: sec@x.com.au", "email: sec@x.com.au"),
            ("email:\n  sec@x.com", "email:\n  sec@x.com"),
        ];
        for (hay, expected) in table {
            check(Boundary::YamlValue, "sec@x.com", hay, expected);
        }
    }

    #[test]
    fn rejected_candidate_lets_a_later_rule_match_at_the_same_position() {
        let rw = Rewriter::build(
            "test",
            vec![
                Rule::new(b"a@x.com", b"A", Boundary::Email),
                Rule::new(b"a@x.com.au", b"AU", Boundary::Email),
            ],
        )
        .expect("builds")
        .expect("has rules");
        let got = rw.rewrite(b"a@x.com.au a@x.com").expect("rewrites");
        assert_eq!(got, b"AU A");
    }

    #[test]
    fn replacements_are_never_rescanned() {
        let rw = Rewriter::build("test", vec![Rule::new(b"api", b"api-api", Boundary::Any)])
            .expect("builds")
            .expect("has a rule");
        assert_eq!(
            rw.rewrite(b"api api").expect("rewrites"),
            b"api-api api-api"
        );
        assert!(rw.rewrite(b"none here").is_none());
    }

    /// The same rules searched by the automaton over the whole input (no anchor, no memmem).
    fn automaton_only(rules: Vec<Rule>) -> Rewriter {
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(rules.iter().map(|r| &r.needle))
            .expect("builds");
        Rewriter {
            search: Search::Automaton(automaton),
            rules,
        }
    }

    proptest::proptest! {
        #[test]
        fn anchored_and_single_searches_equal_the_plain_automaton(
            words in proptest::collection::vec(
                proptest::sample::select(&["acme/api", "api", "acme/", "/", "-", ".", " ", "ap", "i", "a", ".git", "x"][..]),
                0..30,
            ),
        ) {
            let hay = words.concat();
            let rule_sets = [
                vec![
                    Rule::new(b"acme/api", b"S", Boundary::Slug),
                    Rule::new(b"api", b"W", Boundary::Word),
                ],
                vec![Rule::new(b"api", b"W", Boundary::Word)],
                vec![
                    Rule::new(b"api/api", b"S", Boundary::Slug),
                    Rule::new(b"api", b"W", Boundary::Any),
                ],
                vec![
                    Rule::new(b"\"api\"", b"Q", Boundary::Any),
                    Rule::new(b"api", b"W", Boundary::YamlValue),
                ],
            ];
            for rules in rule_sets {
                let fast = Rewriter::build("test", rules.clone()).expect("builds").expect("has rules");
                let plain = automaton_only(rules);
                proptest::prop_assert_eq!(fast.rewrite(hay.as_bytes()), plain.rewrite(hay.as_bytes()), "{:?}", hay);
            }
        }
    }

    #[test]
    fn identity_rules_are_dropped() {
        let rw =
            Rewriter::build("test", vec![Rule::new(b"x", b"x", Boundary::Any)]).expect("builds");
        assert!(rw.is_none());
        let empty = Rewriter::build("test", vec![Rule::new(b"", b"y", Boundary::Any)]);
        assert!(matches!(empty, Err(Error::EmptyNeedle { what: "test" })));
    }
}
