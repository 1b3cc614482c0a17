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
#[path = "transformer_tests.rs"]
mod tests;
