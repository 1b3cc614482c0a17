//! Template variables (`{{NAME}}`, `${NAME}`) replaced by one `memchr2` scan and a name lookup.
//!
//! Same result as the general [`Rewriter`] over the two rules of every variable (leftmost
//! match, output never rescanned, identity rules dropped), without an automaton: every needle
//! starts with `{{` or `${`, and when no name holds a `}`, the name of the only needle that can
//! match at a `{{`/`${` is the text up to the next `}`. Variable sets with a `}` in a name keep
//! the general rewriter.

use memchr::{memchr, memchr2};

use crate::Error;
use crate::rewrite::{Rewriter, Rule};

/// One variable: its name and what each of its two placeholder forms is replaced by. A form
/// whose replacement equals the placeholder itself is `None`, as the rewriter drops identity
/// rules (the scan then goes on inside it).
#[derive(Debug, Clone)]
struct Variable {
    name: Box<[u8]>,
    /// Replacement of `{{NAME}}`.
    braces: Option<Box<[u8]>>,
    /// Replacement of `${NAME}`.
    dollar: Option<Box<[u8]>>,
}

/// Variables whose names hold no `}`, sorted by name, looked up by binary search.
#[derive(Debug, Clone)]
pub(crate) struct PlaceholderScan {
    variables: Vec<Variable>,
    /// Longest name, in bytes: how far a `}` is looked for after `{{` or `${`.
    longest: usize,
    /// Some replacement is longer than its placeholder (the output gets spare room).
    grows: bool,
}

/// The compiled variable step of a transformer.
#[derive(Debug, Clone)]
pub(crate) enum Variables {
    /// No name holds a `}`: the placeholder scan.
    Scan(PlaceholderScan),
    /// The general rule rewriter.
    Rules(Box<Rewriter>),
}

impl Variables {
    /// Compiles `(name, value)` pairs (names non-empty and distinct, as a map's keys).
    /// `Ok(None)` when no placeholder would change anything. Errors as [`Rewriter::build`].
    pub(crate) fn build<'a>(
        variables: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    ) -> Result<Option<Self>, Error> {
        if variables.clone().into_iter().any(|(n, _)| n.contains('}')) {
            let mut rules = Vec::new();
            for (name, value) in variables {
                for needle in [format!("{{{{{name}}}}}"), format!("${{{name}}}")] {
                    rules.push(Rule::new(
                        needle.as_bytes(),
                        value.as_bytes(),
                        crate::rewrite::Boundary::Any,
                    ));
                }
            }
            return Ok(Rewriter::build("variables", rules)?.map(|r| Variables::Rules(Box::new(r))));
        }
        let mut list: Vec<Variable> = Vec::new();
        let mut grows = false;
        for (name, value) in variables {
            if name.is_empty() {
                return Err(Error::EmptyNeedle { what: "variables" });
            }
            let mut form = |needle: String| {
                grows |= value.len() > needle.len();
                (needle != value).then(|| value.as_bytes().into())
            };
            let braces = form(format!("{{{{{name}}}}}"));
            let dollar = form(format!("${{{name}}}"));
            if braces.is_some() || dollar.is_some() {
                list.push(Variable {
                    name: name.as_bytes().into(),
                    braces,
                    dollar,
                });
            }
        }
        if list.is_empty() {
            return Ok(None);
        }
        list.sort_by(|a, b| a.name.cmp(&b.name));
        let longest = list.iter().map(|v| v.name.len()).max().unwrap_or(0);
        Ok(Some(Variables::Scan(PlaceholderScan {
            variables: list,
            longest,
            grows,
        })))
    }

    /// Whether no placeholder holds a line feed, so that no replacement spans lines (see
    /// [`Transformer::is_line_local`](crate::Transformer::is_line_local)).
    pub(crate) fn is_line_local(&self) -> bool {
        match self {
            Variables::Scan(scan) => scan.variables.iter().all(|v| !v.name.contains(&b'\n')),
            Variables::Rules(rules) => rules.needles().all(|n| !n.contains(&b'\n')),
        }
    }

    /// Replaces every placeholder in one pass; `None` when nothing changed (no allocation).
    pub(crate) fn rewrite(&self, hay: &[u8]) -> Option<Vec<u8>> {
        match self {
            Variables::Scan(scan) => scan.rewrite(hay),
            Variables::Rules(rules) => rules.rewrite(hay),
        }
    }
}

impl PlaceholderScan {
    /// The placeholder at `start` that has a replacement: (its length, the replacement).
    fn match_at(&self, hay: &[u8], start: usize) -> Option<(usize, &[u8])> {
        let (dollar, close): (bool, &[u8]) = match hay.get(start..start + 2)? {
            b"{{" => (false, b"}}"),
            b"${" => (true, b"}"),
            _ => return None,
        };
        let name_at = start + 2;
        let window = &hay[name_at..hay.len().min(name_at + self.longest + 1)];
        // Names hold no `}`: a needle matching here ends its name at the first `}`.
        let name_end = name_at + memchr(b'}', window)?;
        if !hay[name_end..].starts_with(close) {
            return None;
        }
        let name = &hay[name_at..name_end];
        let at = self
            .variables
            .binary_search_by(|v| (*v.name).cmp(name))
            .ok()?;
        let v = &self.variables[at];
        let value = if dollar { &v.dollar } else { &v.braces };
        Some((name_end + close.len() - start, value.as_deref()?))
    }

    fn rewrite(&self, hay: &[u8]) -> Option<Vec<u8>> {
        let mut out: Option<Vec<u8>> = None;
        let mut copied = 0;
        let mut pos = 0;
        while let Some(i) = memchr2(b'{', b'$', &hay[pos..]) {
            let start = pos + i;
            match self.match_at(hay, start) {
                Some((len, value)) => {
                    let buf = out.get_or_insert_with(|| {
                        let spare = if self.grows { hay.len() / 8 } else { 0 };
                        Vec::with_capacity(hay.len() + 64 + spare)
                    });
                    buf.extend_from_slice(&hay[copied..start]);
                    buf.extend_from_slice(value);
                    copied = start + len;
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

    fn rules_of(vars: &[(&str, &str)]) -> Option<Rewriter> {
        let mut rules = Vec::new();
        for (name, value) in vars {
            for needle in [format!("{{{{{name}}}}}"), format!("${{{name}}}")] {
                rules.push(Rule::new(
                    needle.as_bytes(),
                    value.as_bytes(),
                    crate::rewrite::Boundary::Any,
                ));
            }
        }
        Rewriter::build("variables", rules).expect("rules build")
    }

    fn check(vars: &[(&str, &str)], hay: &str, expected: Option<&str>) {
        let scan = Variables::build(vars.iter().copied()).expect("builds");
        assert!(
            matches!(scan, None | Some(Variables::Scan(_))),
            "no `}}` in names: {vars:?}"
        );
        let got = scan.as_ref().and_then(|s| s.rewrite(hay.as_bytes()));
        let got = got
            .as_deref()
            .map(|b| std::str::from_utf8(b).expect("utf-8"));
        assert_eq!(got, expected, "{vars:?} on {hay:?}");
        let general = rules_of(vars).and_then(|r| r.rewrite(hay.as_bytes()));
        let general = general
            .as_deref()
            .map(|b| std::str::from_utf8(b).expect("utf-8"));
        assert_eq!(general, expected, "the general rewriter agrees");
    }

    #[test]
    fn placeholders_are_replaced_once_left_to_right() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, Option<&'a str>);
        let table: &[Case<'_>] = &[
            (&[("A", "x")], "{{A}} ${A}", Some("x x")),
            (&[("A", "x")], "{{ A}} ${A }{A}$A", None),
            (&[("A", "x")], "{{{A}}}", Some("{x}")),
            (&[("A", "x")], "$${A}}", Some("$x}")),
            (&[("A", "x")], "{{A}", None),
            (&[("A", "x")], "{{A", None),
            (&[("A", "x")], "${", None),
            (&[("A", "${A}")], "${A}{{A}}", Some("${A}${A}")),
            (&[("A", "{{B}}"), ("B", "y")], "{{A}}{{B}}", Some("{{B}}y")),
            (
                &[("AB", "1"), ("A", "2")],
                "{{AB}}{{A}}{{ABC}}",
                Some("12{{ABC}}"),
            ),
            (&[("A{", "1"), ("A", "2")], "{{{A}}{{A{}}", Some("{21")),
            (&[("A", "{{A}}")], "{{A}}", None),
            (&[("A", "{{A}}")], "${A}{{A}}", Some("{{A}}{{A}}")),
            (&[("A", "")], "a{{A}}b${A}c", Some("abc")),
            (&[("\u{e9}$", "e")], "{{\u{e9}$}}", Some("e")),
        ];
        for (vars, hay, expected) in table {
            check(vars, hay, *expected);
        }
    }

    #[test]
    fn an_identity_placeholder_lets_the_scan_go_on_inside_it() {
        // `{{{A}}` is its own value, so (as in the rewriter) `{{A}}` inside it is replaced.
        check(&[("{A", "{{{A}}"), ("A", "x")], "{{{A}}", Some("{x"));
    }

    #[test]
    fn names_with_a_closing_brace_use_the_general_rewriter() {
        let vars = [("A}}B", "1"), ("A", "2")];
        let built = Variables::build(vars.iter().copied())
            .expect("builds")
            .expect("changes something");
        assert!(matches!(built, Variables::Rules(_)));
        let out = built.rewrite(b"{{A}}B}} {{A}}").expect("changed");
        assert_eq!(out, b"1 2");
    }

    proptest::proptest! {
        /// Names and text from a small alphabet of brace, dollar and name bytes: the scan (or
        /// the fallback, for names with `}`) equals the general rewriter byte for byte.
        #[test]
        fn scan_equals_the_general_rewriter(
            vars in proptest::collection::btree_map("[AB{$}]{1,3}", "[AB{$}x]{0,6}", 1..4),
            hay in "[AB{$}x]{0,40}",
        ) {
            let pairs: Vec<(&str, &str)> =
                vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let built = Variables::build(pairs.iter().copied()).expect("builds");
            let got = built.and_then(|b| b.rewrite(hay.as_bytes()));
            let want = rules_of(&pairs).and_then(|r| r.rewrite(hay.as_bytes()));
            proptest::prop_assert_eq!(got, want, "{:?} on {:?}", vars, hay);
        }
    }

    #[test]
    fn nothing_to_replace_builds_nothing() {
        assert!(
            Variables::build([("A", "{{A}}")])
                .expect("builds")
                .is_some()
        );
        assert!(
            Variables::build(std::iter::empty::<(&str, &str)>())
                .expect("builds")
                .is_none()
        );
    }
}
