//! The per-mapping content transformer: emails, then template variables, then repository names.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use regex::bytes::Regex;

use crate::binary::{Utf16, extension, is_binary, utf16_order};
use crate::rewrite::{Boundary, Rewriter, Rule};
use crate::template::Variables;
use crate::{Error, RepoSlug, Result};

/// One email address to replace with another, as configured for one target.
///
/// The caller resolves go-broadcast's `security_email`/`support_email` pairs into these (target
/// address defaulting to the source one); a pair with `from == to` is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EmailRewrite {
    /// Address to find (case-sensitive, literal).
    pub from: String,
    /// Address written instead.
    pub to: String,
}

/// What ONE mapping (a file or directory entry of one target) asks the transformer to do.
///
/// Never a global chain: two mappings with different specs get different transformers, so
/// enabling `repo_name` on one target does not affect another (go-broadcast defect 9).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TransformSpec {
    /// Rewrite the source repository's `owner/name` (and bare name) into the target's.
    pub repo_name: bool,
    /// Template variables: `{{NAME}}` and `${NAME}` are replaced by the value, literally.
    pub variables: BTreeMap<String, String>,
    /// Email addresses to rewrite, in priority order.
    pub emails: Vec<EmailRewrite>,
}

/// Everything one transform call needs besides the spec and the content.
///
/// Used by the one-shot [`transform`]; callers that transform many files build one
/// [`Transformer`] instead.
#[derive(Debug, Clone, Copy)]
pub struct TransformContext<'a> {
    /// Repository the content comes from.
    pub source: &'a RepoSlug,
    /// Repository the content is written to.
    pub target: &'a RepoSlug,
    /// Destination path in the target, `/`-separated; its extension picks the rules.
    pub dest_path: &'a str,
}

/// Which rule family a destination path gets, from its name and extension (case-insensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    /// A file named `go.mod`: only its `module` directive is rewritten.
    GoMod,
    /// `.go`, and `.mod` files other than `go.mod`.
    Go,
    /// `.yaml`, `.yml`.
    Yaml,
    /// `.json`.
    Json,
    /// Everything else: `.md`, `.txt`, `.rst`, `.html`, Makefiles, shell, no extension.
    Text,
}

impl FileKind {
    fn of(dest_path: &str) -> Self {
        let base = dest_path.rsplit('/').next().unwrap_or(dest_path);
        if base.eq_ignore_ascii_case("go.mod") {
            return FileKind::GoMod;
        }
        let Some(ext) = extension(dest_path) else {
            return FileKind::Text;
        };
        let is = |name: &str| ext.eq_ignore_ascii_case(name);
        if is("go") || is("mod") {
            FileKind::Go
        } else if is("yaml") || is("yml") {
            FileKind::Yaml
        } else if is("json") {
            FileKind::Json
        } else {
            FileKind::Text
        }
    }
}

/// Leftover placeholders, as go-broadcast reports them: `{{NAME}}` or `${NAME}` with
/// `NAME` matching `[A-Z_][A-Z0-9_]*`.
static PLACEHOLDER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{([A-Z_][A-Z0-9_]*)\}\}|\$\{([A-Z_][A-Z0-9_]*)\}")
        .expect("the placeholder pattern is a valid regex")
});

/// Why [`Transformer::apply_reporting`] left a file untransformed although a rule would have
/// changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransformWarning {
    /// The content is UTF-16 ([`looks_like_utf16`](crate::looks_like_utf16)); transforms
    /// work on UTF-8 and ASCII-compatible bytes only, so it was copied as it is.
    Utf16,
}

impl std::fmt::Display for TransformWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransformWarning::Utf16 => f.write_str("file is UTF-16; transforms not applied"),
        }
    }
}

/// What [`Transformer::apply_reporting`] returns: the content to write and, when a rule could
/// not be applied, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied<'c> {
    /// The bytes to write: borrowed when unchanged.
    pub content: Cow<'c, [u8]>,
    /// Set when the content was left untouched although a rule would have changed it.
    pub warning: Option<TransformWarning>,
}

/// A compiled transform for one (spec, source repository, target repository).
///
/// Built once per mapping and target, then applied to every file: all matchers are compiled in
/// [`Transformer::new`], and [`Transformer::apply`] only scans. `Send + Sync`, so one instance
/// can serve a worker pool. Rules (see the crate docs for the exact boundaries):
/// 1. **emails**, by destination extension: `.yaml`/`.yml` rewrite `"SRC"`, `'SRC'` and
///    `: SRC` followed by whitespace; `.json` rewrites `"SRC"`; everything else rewrites `SRC`
///    bounded by characters that cannot extend an address;
/// 2. **template variables**: `{{NAME}}` and `${NAME}` of every defined variable, one pass;
///    values are literal and never re-expanded; unknown placeholders stay;
/// 3. **repository name**, by destination name and extension: in a `go.mod`, only the
///    `module` directive (`module github.com/so/sr` becomes `module github.com/to/tr`, also
///    `/v2` suffixes); `require`, `replace`, `exclude` and `retract` lines and comments are
///    never rewritten, so a target that requires the template module keeps requiring it
///    instead of requiring itself. `.go` files rewrite `github.com/so/sr` at a path boundary
///    (imports, strings); every other file rewrites the bounded slug `so/sr` (also when an
///    extension such as `.git` or `.svg` follows it) and the bounded bare name `sr`. No-op
///    when source and target are equal.
///
/// UTF-16 content ([`looks_like_utf16`](crate::looks_like_utf16)) is never transformed;
/// [`Transformer::apply_reporting`] says when that left a change undone.
#[derive(Debug, Clone)]
pub struct Transformer {
    variables: Option<Variables>,
    known_variables: BTreeSet<String>,
    emails_text: Option<Rewriter>,
    emails_yaml: Option<Rewriter>,
    emails_json: Option<Rewriter>,
    repo_go: Option<Rewriter>,
    repo_text: Option<Rewriter>,
}

impl Transformer {
    /// Compiles `spec` for content going from `source` to `target`.
    ///
    /// Fails with [`Error::InvalidSlug`] when `repo_name` is set, the slugs differ, and one of
    /// them has an empty part or a `/` inside a part; [`Error::InvalidVariable`] for an empty
    /// variable name; [`Error::InvalidEmail`] for an empty `from` address;
    /// [`Error::Matcher`] if an automaton cannot be built (not expected for config-sized input).
    ///
    /// Cost: up to five Aho-Corasick automata over a handful of literals (microseconds); no
    /// process, no I/O.
    pub fn new(spec: &TransformSpec, source: &RepoSlug, target: &RepoSlug) -> Result<Self> {
        check_variable_names(&spec.variables)?;
        let variables =
            Variables::build(spec.variables.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let mut emails_text = Vec::new();
        let mut emails_yaml = Vec::new();
        let mut emails_json = Vec::new();
        for rewrite in &spec.emails {
            if rewrite.from.is_empty() {
                return Err(Error::InvalidEmail {
                    from: rewrite.from.clone(),
                    to: rewrite.to.clone(),
                });
            }
            let (from, to) = (rewrite.from.as_bytes(), rewrite.to.as_bytes());
            emails_text.push(Rule::new(from, to, Boundary::Email));
            for quote in [b"\"", b"'"] {
                let quoted = |s: &[u8]| [quote.as_slice(), s, quote.as_slice()].concat();
                emails_yaml.push(Rule::new(&quoted(from), &quoted(to), Boundary::Any));
            }
            let mut value = Rule::new(from, to, Boundary::YamlValue);
            value.after = Boundary::YamlValue;
            emails_yaml.push(value);
            let quoted = |s: &[u8]| [b"\"".as_slice(), s, b"\""].concat();
            emails_json.push(Rule::new(&quoted(from), &quoted(to), Boundary::Any));
        }
        let (repo_go, repo_text) = if spec.repo_name && source != target {
            source.check_parts()?;
            target.check_parts()?;
            repo_rules(source, target)?
        } else {
            (None, None)
        };
        Ok(Self {
            variables,
            known_variables: spec.variables.keys().cloned().collect(),
            emails_text: Rewriter::build("emails", emails_text)?,
            emails_yaml: Rewriter::build("emails", emails_yaml)?,
            emails_json: Rewriter::build("emails", emails_json)?,
            repo_go,
            repo_text,
        })
    }

    /// Whether [`apply`](Self::apply) returns its input unchanged for every path and content:
    /// no variables, no email pair with different addresses, and no repository rewrite
    /// (`repo_name` off or source equal to target). Callers skip reading content then. O(1).
    pub fn is_identity(&self) -> bool {
        self.variables.is_none()
            && self.emails_text.is_none()
            && self.repo_go.is_none()
            && self.repo_text.is_none()
    }

    /// Transforms `content` destined for `dest_path` (its extension picks the rules).
    ///
    /// Returns `Cow::Borrowed(content)` when nothing changed: identity transformer, UTF-16
    /// content ([`looks_like_utf16`](crate::looks_like_utf16)), binary content
    /// ([`is_binary`]), or no rule matched. Works on bytes, so non-UTF-8 text is never
    /// lossily converted, and line endings (CRLF) are kept. Order: emails, then variables, then
    /// repository name; each step scans the previous step's output once.
    ///
    /// Errors: none today; the `Result` leaves room for limits without breaking callers.
    /// Cost: at most three linear scans; one output allocation per step that changes something.
    pub fn apply<'c>(&self, dest_path: &str, content: &'c [u8]) -> Result<Cow<'c, [u8]>> {
        if self.is_identity() || utf16_order(content).is_some() {
            return Ok(Cow::Borrowed(content));
        }
        Ok(self.apply_bytes(dest_path, content))
    }

    /// [`apply`](Self::apply), plus a [`TransformWarning`] when content was left untouched
    /// although a rule would have changed it: UTF-16 text whose decoded characters contain
    /// something this transformer rewrites (a placeholder, the repository name, an email).
    /// The caller reports it, e.g. `file X is UTF-16; transforms not applied`.
    ///
    /// Errors as [`apply`](Self::apply). Cost: as `apply`; for UTF-16 content, plus one
    /// decoding into a `String` and one transform of it (discarded).
    pub fn apply_reporting<'c>(&self, dest_path: &str, content: &'c [u8]) -> Result<Applied<'c>> {
        if self.is_identity() {
            return Ok(Applied {
                content: Cow::Borrowed(content),
                warning: None,
            });
        }
        if let Some(order) = utf16_order(content) {
            let decoded = decode_utf16(content, order);
            let changed = matches!(
                self.apply_bytes(dest_path, decoded.as_bytes()),
                Cow::Owned(_)
            );
            return Ok(Applied {
                content: Cow::Borrowed(content),
                warning: changed.then_some(TransformWarning::Utf16),
            });
        }
        Ok(Applied {
            content: self.apply_bytes(dest_path, content),
            warning: None,
        })
    }

    /// Whether transforming a text line by line gives the same bytes as transforming it whole:
    /// no needle (variable placeholder, email, repository name) contains a line feed. Every
    /// boundary rule treats the start and the end of its input like an adjacent `\n` (neither
    /// can extend a name, an address or a `key: value` prefix), the `go.mod` rule works on
    /// single lines, and placeholders never span lines, so a file can then be streamed in
    /// pieces that end right after a `\n` ([`apply_text_segment`](Self::apply_text_segment)).
    /// O(rules).
    pub fn is_line_local(&self) -> bool {
        self.variables.as_ref().is_none_or(Variables::is_line_local)
            && [
                &self.emails_text,
                &self.emails_yaml,
                &self.emails_json,
                &self.repo_go,
                &self.repo_text,
            ]
            .into_iter()
            .flatten()
            .flat_map(Rewriter::needles)
            .all(|n| !n.contains(&b'\n'))
    }

    /// The rules of [`apply`](Self::apply) without looking at the content's kind, for one piece
    /// of a file the caller already found to be text and not UTF-16 (with [`is_binary`] and
    /// [`looks_like_utf16`](crate::looks_like_utf16) on the file's first [`SNIFF_BYTES`]
    /// bytes, as `apply` does). When [`is_line_local`](Self::is_line_local) holds, applying
    /// this to consecutive pieces that each end right after a `\n` (the last may end anywhere)
    /// and concatenating the results equals `apply` on the whole file.
    ///
    /// [`SNIFF_BYTES`]: crate::SNIFF_BYTES
    pub fn apply_text_segment<'c>(&self, dest_path: &str, segment: &'c [u8]) -> Cow<'c, [u8]> {
        if self.is_identity() {
            return Cow::Borrowed(segment);
        }
        self.apply_rules(dest_path, segment)
    }

    /// The rules of [`apply`](Self::apply) on bytes that are not UTF-16.
    fn apply_bytes<'c>(&self, dest_path: &str, content: &'c [u8]) -> Cow<'c, [u8]> {
        if self.is_identity() || is_binary(dest_path, content) {
            return Cow::Borrowed(content);
        }
        self.apply_rules(dest_path, content)
    }

    /// The rewrite steps, in order, on text.
    fn apply_rules<'c>(&self, dest_path: &str, content: &'c [u8]) -> Cow<'c, [u8]> {
        let kind = FileKind::of(dest_path);
        let emails = match kind {
            FileKind::Yaml => &self.emails_yaml,
            FileKind::Json => &self.emails_json,
            FileKind::GoMod | FileKind::Go | FileKind::Text => &self.emails_text,
        };
        let repo = match kind {
            FileKind::GoMod => &None,
            FileKind::Go => &self.repo_go,
            FileKind::Yaml | FileKind::Json | FileKind::Text => &self.repo_text,
        };
        let mut current = Cow::Borrowed(content);
        if let Some(next) = emails.as_ref().and_then(|e| e.rewrite(&current)) {
            current = Cow::Owned(next);
        }
        if let Some(next) = self.variables.as_ref().and_then(|v| v.rewrite(&current)) {
            current = Cow::Owned(next);
        }
        if let Some(next) = repo.as_ref().and_then(|r| r.rewrite(&current)) {
            current = Cow::Owned(next);
        }
        if kind == FileKind::GoMod
            && let Some(go) = &self.repo_go
            && let Some(next) = rewrite_module_directive(go, &current)
        {
            current = Cow::Owned(next);
        }
        current
    }

    /// Names of leftover placeholders in `content` that this transformer does not define:
    /// `{{NAME}}` or `${NAME}` with `NAME` matching `[A-Z_][A-Z0-9_]*` (go-broadcast's warning
    /// rule). Sorted, without duplicates; empty when there are none.
    ///
    /// Works on input or output of [`apply`](Self::apply) alike. Cost: one regex scan; one
    /// allocation per distinct name found.
    pub fn unreplaced_variables(&self, content: &[u8]) -> Vec<String> {
        let mut names = BTreeSet::new();
        for caps in PLACEHOLDER.captures_iter(content) {
            let name = caps.get(1).or_else(|| caps.get(2)).map(|m| m.as_bytes());
            // The pattern only matches ASCII, so the name is valid UTF-8.
            if let Some(name) = name.and_then(|n| std::str::from_utf8(n).ok())
                && !self.known_variables.contains(name)
            {
                names.insert(name.to_owned());
            }
        }
        names.into_iter().collect()
    }
}

/// One-shot convenience: builds a [`Transformer`] for `ctx` and applies it once.
///
/// Costs a full [`Transformer::new`] per call; build the transformer once when transforming
/// more than one file. Errors as [`Transformer::new`] and [`Transformer::apply`].
pub fn transform<'c>(
    spec: &TransformSpec,
    ctx: &TransformContext<'_>,
    content: &'c [u8],
) -> Result<Cow<'c, [u8]>> {
    Transformer::new(spec, ctx.source, ctx.target)?.apply(ctx.dest_path, content)
}

/// Rewrites the module path of `go.mod`'s `module` directive lines (`module path` or
/// `module "path"`, after optional indentation) with `go`; every other line is left alone.
/// `None` when nothing changed.
fn rewrite_module_directive(go: &Rewriter, content: &[u8]) -> Option<Vec<u8>> {
    let mut out: Option<Vec<u8>> = None;
    let mut start = 0;
    for line in content.split_inclusive(|&b| b == b'\n') {
        let directive = line.trim_ascii_start();
        let is_module = directive.strip_prefix(b"module").is_some_and(|rest| {
            rest.first()
                .is_some_and(|&b| b == b' ' || b == b'\t' || b == b'"')
        });
        let rewritten = if is_module { go.rewrite(line) } else { None };
        match (rewritten, &mut out) {
            (Some(new), Some(buf)) => buf.extend_from_slice(&new),
            (Some(new), None) => {
                let mut buf = Vec::with_capacity(content.len() + 64);
                buf.extend_from_slice(&content[..start]);
                buf.extend_from_slice(&new);
                out = Some(buf);
            }
            (None, Some(buf)) => buf.extend_from_slice(line),
            (None, None) => {}
        }
        start += line.len();
    }
    out
}

/// Decodes UTF-16 `content` (a leading byte order mark is kept as U+FEFF; an odd last byte and
/// unpaired surrogates become U+FFFD).
fn decode_utf16(content: &[u8], order: Utf16) -> String {
    let units = content.chunks(2).map(|pair| match (order, pair) {
        (Utf16::Le, [a, b]) => u16::from_le_bytes([*a, *b]),
        (Utf16::Be, [a, b]) => u16::from_be_bytes([*a, *b]),
        _ => 0xfffd,
    });
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// Fails with [`Error::InvalidVariable`] for an empty variable name.
fn check_variable_names(variables: &BTreeMap<String, String>) -> Result<()> {
    match variables.keys().find(|name| name.is_empty()) {
        Some(name) => Err(Error::InvalidVariable {
            name: name.clone(),
            reason: "variable name must not be empty",
        }),
        None => Ok(()),
    }
}

/// Repository-name rules: (Go files, every other text file).
fn repo_rules(
    source: &RepoSlug,
    target: &RepoSlug,
) -> Result<(Option<Rewriter>, Option<Rewriter>)> {
    let from_slug = source.to_string();
    let to_slug = target.to_string();
    let go = vec![Rule::new(
        format!("github.com/{from_slug}").as_bytes(),
        format!("github.com/{to_slug}").as_bytes(),
        Boundary::Slug,
    )];
    let text = vec![
        Rule::new(from_slug.as_bytes(), to_slug.as_bytes(), Boundary::Slug),
        Rule::new(
            source.name.as_bytes(),
            target.name.as_bytes(),
            Boundary::Word,
        ),
    ];
    Ok((
        Rewriter::build("repo_name", go)?,
        Rewriter::build("repo_name", text)?,
    ))
}

#[cfg(test)]
mod tests {
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
        let same =
            Transformer::new(&spec_repo(), &slug("so/sr"), &slug("so/sr")).expect("compiles");
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
        let no_mark =
            |s: &str| -> Vec<u8> { s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect() };
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
}
