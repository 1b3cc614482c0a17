//! `owner/name` repository slugs, parsed with GitHub's naming rules.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// Longest accepted `owner/name` string in bytes (go-broadcast's repository validator uses the same limit).
const MAX_SLUG_BYTES: usize = 200;

/// A GitHub repository reference, `owner/name` (GitHub REST calls the parts `owner` and `repo`).
///
/// [`FromStr`] accepts exactly what go-broadcast's repository validator accepts:
/// `^[a-zA-Z0-9][\w.-]*/[a-zA-Z0-9][\w.-]*$`, at most 200 bytes, no `..`, and no part ending in `.`.
/// [`Display`](fmt::Display) writes `owner/name` back, so parsing and printing round-trip.
/// The fields are public so a caller can build a slug for a local repository (for example from
/// a directory layout) without going through the parser; [`crate::Transformer::new`] only
/// requires both parts to be non-empty and free of `/`.
///
/// Comparison is case-sensitive, like the rewriting it drives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoSlug {
    /// Account or organisation (`acme` in `acme/api`).
    pub owner: String,
    /// Repository name (`api` in `acme/api`).
    pub name: String,
}

impl RepoSlug {
    /// Builds a slug from its parts without validating them (cost: two allocations).
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
        }
    }

    /// Checks the parts for what rewriting needs: both non-empty and without `/`.
    pub(crate) fn check_parts(&self) -> Result<(), Error> {
        let bad = |part: &str| part.is_empty() || part.contains('/');
        if bad(&self.owner) || bad(&self.name) {
            return Err(Error::InvalidSlug {
                value: self.to_string(),
                reason: "owner and name must be non-empty and contain no '/'",
            });
        }
        Ok(())
    }
}

impl fmt::Display for RepoSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for RepoSlug {
    type Err = Error;

    /// Parses `owner/name`; fails with [`Error::InvalidSlug`] naming the rule that was broken.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &'static str| Error::InvalidSlug {
            value: s.to_owned(),
            reason,
        };
        if s.is_empty() {
            return Err(fail("repository must not be empty"));
        }
        if s.len() > MAX_SLUG_BYTES {
            return Err(fail("repository is longer than 200 bytes"));
        }
        let Some((owner, name)) = s.split_once('/') else {
            return Err(fail("expected owner/name"));
        };
        if s.contains("..") {
            return Err(fail("'..' is not allowed"));
        }
        for part in [owner, name] {
            let mut bytes = part.bytes();
            match bytes.next() {
                Some(b) if b.is_ascii_alphanumeric() => {}
                _ => return Err(fail("each part must start with a letter or digit")),
            }
            if !bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')) {
                return Err(fail(
                    "expected owner/name made of letters, digits, '_', '.' and '-'",
                ));
            }
            if part.ends_with('.') {
                return Err(fail("a part must not end with '.'"));
            }
        }
        Ok(Self::new(owner, name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: Option<(&str, &str)>) {
        let got = input.parse::<RepoSlug>();
        match expected {
            Some((owner, name)) => {
                let slug = got.unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
                assert_eq!((slug.owner.as_str(), slug.name.as_str()), (owner, name));
                assert_eq!(slug.to_string(), input, "display round-trips");
            }
            None => assert!(got.is_err(), "{input:?} should be rejected, got {got:?}"),
        }
    }

    #[test]
    fn slugs_follow_the_repository_validator() {
        let table: &[(&str, Option<(&str, &str)>)] = &[
            ("acme/api", Some(("acme", "api"))),
            ("Acme-Org/api.js", Some(("Acme-Org", "api.js"))),
            ("a1/b_c-d.e", Some(("a1", "b_c-d.e"))),
            ("", None),
            ("acme", None),
            ("acme/", None),
            ("/api", None),
            ("acme/api/extra", None),
            ("acme/../x", None),
            ("acme/api.", None),
            ("-acme/api", None),
            ("acme/.api", None),
            ("acme/a pi", None),
        ];
        for (input, expected) in table {
            check(input, *expected);
        }
        let long = format!("a/{}", "b".repeat(199));
        check(&long, None);
    }

    #[test]
    fn check_parts_needs_non_empty_parts_without_slash() {
        let table = [
            (RepoSlug::new("acme", "api"), true),
            (RepoSlug::new("", "api"), false),
            (RepoSlug::new("acme", ""), false),
            (RepoSlug::new("ac/me", "api"), false),
            (RepoSlug::new("local dir", "my repo"), true),
        ];
        for (slug, ok) in table {
            assert_eq!(slug.check_parts().is_ok(), ok, "{slug:?}");
        }
    }
}
