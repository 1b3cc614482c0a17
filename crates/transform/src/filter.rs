//! Path selection for directory mappings: `exclude` with git's own gitignore rules (through
//! ripgrep's `ignore` crate), `include_only` with a gitignore-like glob list on `globset`.

use globset::{Candidate, GlobBuilder, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::{Error, Result};

/// One pattern after parsing the gitignore-like syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Pattern {
    /// `!pat`: a match re-includes instead of excluding.
    negated: bool,
    /// `pat/`: only directories (ancestors of a file) can match.
    dir_only: bool,
    /// The glob handed to `globset`, relative to the mapping root.
    glob: String,
}

/// Parses one pattern of the dialect (see [`PathFilter`]) and compiles its glob.
fn parse(pattern: &str) -> Result<(Pattern, globset::Glob)> {
    let invalid = |reason: &'static str| Error::EmptyGlob {
        pattern: pattern.to_owned(),
        reason,
    };
    let (negated, rest) = match pattern.strip_prefix('!') {
        Some(rest) => (true, rest),
        None => (false, pattern),
    };
    let (dir_only, rest) = match rest.strip_suffix('/') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    let (rooted, rest) = match rest.strip_prefix('/') {
        Some(rest) => (true, rest),
        None => (false, rest),
    };
    if rest.is_empty() {
        return Err(invalid("pattern matches nothing"));
    }
    if rest.ends_with('/') || rest.starts_with('/') {
        return Err(invalid("pattern has an empty path component"));
    }
    if pattern.starts_with('#') {
        return Err(invalid(
            "a leading '#' makes a gitignore comment; write \\# for a literal #",
        ));
    }
    let glob = if rooted || rest.contains('/') || rest == "**" {
        rest.to_owned()
    } else {
        format!("**/{rest}")
    };
    let compiled = compile(pattern, &glob)?;
    Ok((
        Pattern {
            negated,
            dir_only,
            glob,
        },
        compiled,
    ))
}

/// Compiles `glob` (derived from the configured `pattern`) with the dialect's options.
fn compile(pattern: &str, glob: &str) -> Result<globset::Glob> {
    GlobBuilder::new(glob)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|source| Error::InvalidGlob {
            pattern: pattern.to_owned(),
            source,
        })
}

/// Checks that `pattern` is a valid `exclude` or `include_only` pattern.
///
/// Fails with [`Error::EmptyGlob`] for a pattern that matches nothing (``, `!`, `/`, `//`, an
/// empty component, a `#` comment) and [`Error::InvalidGlob`] / [`Error::InvalidPattern`] when
/// the glob does not compile (unclosed `[` or `{`, a trailing `\`). `**` inside a component
/// (`a**b`) is accepted and behaves like `*`. Cost: two glob compilations (regex builds).
pub fn validate_glob(pattern: &str) -> Result<()> {
    parse(pattern)?;
    // Parsing the line is the check; compiling a matcher (a regex set) is not needed for it.
    ExcludeList::builder(std::slice::from_ref(&pattern.to_owned())).map(|_| ())
}

/// An `exclude` list with git's semantics: gitignore lines relative to the mapping root.
///
/// A path is excluded when one of its parent directories is excluded (git never descends into
/// an excluded directory, so a `!` pattern cannot re-include a file below it), and otherwise
/// when the last pattern matching the path itself is not a negation. Directory-only patterns
/// (`build/`) match parent directories only, since every path handed in is a file.
#[derive(Debug, Clone)]
struct ExcludeList {
    matcher: Gitignore,
}

impl ExcludeList {
    fn new(patterns: &[String]) -> Result<Self> {
        let matcher = Self::builder(patterns)?
            .build()
            .map_err(|source| Error::InvalidPattern {
                pattern: patterns.join(" "),
                source,
            })?;
        Ok(Self { matcher })
    }

    /// A builder holding `patterns`, each parsed as a gitignore line (not compiled yet).
    fn builder(patterns: &[String]) -> Result<GitignoreBuilder> {
        let mut builder = GitignoreBuilder::new("");
        // git does not match an unclosed `[`; reject it instead of matching it literally.
        builder.allow_unclosed_class(false);
        for pattern in patterns {
            parse(pattern)?;
            builder
                .add_line(None, pattern)
                .map_err(|source| Error::InvalidPattern {
                    pattern: pattern.clone(),
                    source,
                })?;
        }
        Ok(builder)
    }

    /// Whether git would ignore the file at `path` (relative, `/`-separated, no leading `/`).
    ///
    /// Cost: one `GlobSet` query per parent directory, then one for the path.
    fn excludes(&self, path: &str) -> bool {
        if self.matcher.is_empty() {
            return false;
        }
        let parents = path.match_indices('/').map(|(end, _)| &path[..end]);
        for parent in parents {
            if self.matcher.matched(parent, true).is_ignore() {
                return true;
            }
        }
        self.matcher.matched(path, false).is_ignore()
    }
}

/// An ordered pattern list where the last matching pattern decides.
///
/// Each pattern `P` is compiled into up to two globs: `P` itself (unless directory-only), and
/// `P/**`, which matches exactly the paths that have an ancestor matching `P`. So one `GlobSet`
/// query per path answers "does `P` match the path or one of its ancestors".
#[derive(Debug, Clone)]
struct PatternList {
    set: GlobSet,
    /// For each glob in `set`, the index of the pattern it came from.
    owner: Vec<usize>,
    patterns: Vec<Pattern>,
}

impl PatternList {
    fn new(patterns: &[String]) -> Result<Self> {
        let mut builder = GlobSetBuilder::new();
        let mut parsed = Vec::with_capacity(patterns.len());
        let mut owner = Vec::with_capacity(patterns.len() * 2);
        for (i, pattern) in patterns.iter().enumerate() {
            let (p, glob) = parse(pattern)?;
            if !p.dir_only {
                builder.add(glob);
                owner.push(i);
            }
            builder.add(compile(pattern, &format!("{}/**", p.glob))?);
            owner.push(i);
            parsed.push(p);
        }
        let set = builder.build().map_err(|source| Error::InvalidGlob {
            pattern: patterns.join(" "),
            source,
        })?;
        Ok(Self {
            set,
            owner,
            patterns: parsed,
        })
    }

    fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Index of the last pattern matching `path` itself (directory-only patterns excluded) or
    /// any of its ancestor directories.
    fn last_match(&self, path: &str, scratch: &mut Vec<usize>) -> Option<usize> {
        self.set
            .matches_candidate_into(&Candidate::new(path), scratch);
        scratch.iter().map(|&g| self.owner[g]).max()
    }

    /// `Some(true)` when the deciding pattern selects the path, `Some(false)` when it is a
    /// negation, `None` when no pattern matches.
    fn decide(&self, path: &str, scratch: &mut Vec<usize>) -> Option<bool> {
        self.last_match(path, scratch)
            .map(|i| !self.patterns[i].negated)
    }
}

/// Which files of a directory mapping are synced.
///
/// `exclude` is a list of gitignore lines with exactly git's semantics (the mapping's `src` is
/// the repository root), matched by ripgrep's `ignore` crate:
/// - `*` and `?` never match `/`; `**` spans directories (`a/**/b`, `**/b`, `a/**`);
/// - a pattern without `/` (other than a trailing one) matches a name at any depth (`*.yml`
///   matches `a/b/c.yml`);
/// - a pattern with a leading or inner `/` is anchored at the mapping root (`/x` and `a/x`);
/// - a trailing `/` matches directories only (`dir/**/` excludes the subdirectories of `dir`,
///   not the files directly in it);
/// - an excluded directory excludes everything below it, and a `!pat` cannot re-include a
///   file below an excluded directory (`["*", "!*/", "!*.md"]` keeps only `.md` files);
/// - `!pat` re-includes; the last matching pattern wins;
/// - classes `[ab]` and `\` escapes work as in git; braces `{a,b}` are an extension of the
///   `ignore` crate (git matches them literally).
///
/// `include_only` keeps its own gitignore-like dialect on `globset` with the same syntax, but
/// a pattern matches a file when it matches the file or one of its parent directories, and the
/// last matching pattern decides.
///
/// Decision for a path relative to the mapping's `src`, in order:
/// 1. a component named `.git` excludes it (always on, not negatable);
/// 2. with `include_hidden == false`, a component starting with `.` excludes it;
/// 3. with a non-empty `include_only`, the path (or one of its ancestors) must match an include
///    pattern, last match deciding; directories are never pruned just because their name does
///    not match (`include_only: ["*.yml"]` keeps `a/b/c.yml`);
/// 4. the exclude list, as git decides (see above).
#[derive(Debug, Clone)]
pub struct PathFilter {
    include: PatternList,
    exclude: ExcludeList,
    include_hidden: bool,
}

impl PathFilter {
    /// Excludes used when a directory mapping has no `exclude` key (go-broadcast's config
    /// defaults). An explicit `exclude` list, even an empty one, replaces them.
    pub const DEFAULT_EXCLUDES: &'static [&'static str] = &[
        "*.out",
        "*.test",
        "*.exe",
        "**/.DS_Store",
        "**/tmp/*",
        "**/.git",
    ];

    /// Compiles a filter. `exclude: None` means [`Self::DEFAULT_EXCLUDES`]; `Some(list)`
    /// replaces them. `include_only` empty means every file is a candidate.
    ///
    /// Fails with the first invalid pattern ([`Error::EmptyGlob`], [`Error::InvalidGlob`]).
    /// Cost: one regex-backed `GlobSet` per list.
    pub fn new(
        exclude: Option<&[String]>,
        include_only: &[String],
        include_hidden: bool,
    ) -> Result<Self> {
        let exclude = match exclude {
            Some(list) => ExcludeList::new(list)?,
            None => {
                let defaults: Vec<String> = Self::DEFAULT_EXCLUDES
                    .iter()
                    .map(|p| (*p).to_owned())
                    .collect();
                ExcludeList::new(&defaults)?
            }
        };
        Ok(Self {
            include: PatternList::new(include_only)?,
            exclude,
            include_hidden,
        })
    }

    /// Whether the file at `rel_path` is synced (see the type docs for the rules).
    ///
    /// `rel_path` is relative to the mapping's `src`, `/`-separated; a leading `/` or `./` is
    /// ignored, and an empty path is never included. Cost: one `GlobSet` query for
    /// `include_only`, and one per path component for `exclude` (git's top-down walk);
    /// allocates only a small scratch vector when an `include_only` pattern matches.
    pub fn is_included(&self, rel_path: &str) -> bool {
        let mut path = rel_path;
        loop {
            if let Some(rest) = path.strip_prefix("./") {
                path = rest;
            } else if let Some(rest) = path.strip_prefix('/') {
                path = rest;
            } else {
                break;
            }
        }
        if path.is_empty() {
            return false;
        }
        for component in path.split('/') {
            if component == ".git" || (!self.include_hidden && component.starts_with('.')) {
                return false;
            }
        }
        let mut scratch = Vec::new();
        if !self.include.is_empty() && self.include.decide(path, &mut scratch) != Some(true) {
            return false;
        }
        !self.exclude.excludes(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    /// `cases`: (path, included?) under a filter built from the other arguments.
    fn check(
        exclude: Option<&[&str]>,
        include_only: &[&str],
        include_hidden: bool,
        cases: &[(&str, bool)],
    ) {
        let exclude = exclude.map(strings);
        let filter = PathFilter::new(exclude.as_deref(), &strings(include_only), include_hidden)
            .expect("test patterns are valid");
        for (path, expected) in cases {
            assert_eq!(
                filter.is_included(path),
                *expected,
                "{path:?} with exclude {exclude:?}, include_only {include_only:?}, hidden {include_hidden}"
            );
        }
    }

    #[test]
    fn star_does_not_cross_slash_and_double_star_does() {
        check(
            Some(&["src/*.rs"]),
            &[],
            true,
            &[("src/a.rs", false), ("src/x/a.rs", true)],
        );
        check(
            Some(&["src/**/*.rs"]),
            &[],
            true,
            &[("src/a.rs", false), ("src/x/y/a.rs", false), ("b.rs", true)],
        );
        check(Some(&["a?c"]), &[], true, &[("abc", false), ("a/c", true)]);
    }

    #[test]
    fn pattern_without_slash_matches_basename_at_any_depth() {
        check(
            Some(&["*.log"]),
            &[],
            true,
            &[("a.log", false), ("x/y/a.log", false), ("a.log.txt", true)],
        );
        check(
            Some(&["**/.DS_Store"]),
            &[],
            true,
            &[(".DS_Store", false), ("a/.DS_Store", false)],
        );
        check(
            Some(&["**/tmp/*"]),
            &[],
            true,
            &[
                ("tmp/a", false),
                ("x/tmp/a", false),
                ("x/tmp/b/c", false),
                ("tmpx/a", true),
            ],
        );
    }

    #[test]
    fn leading_or_inner_slash_anchors_at_the_root() {
        check(
            Some(&["/build"]),
            &[],
            true,
            &[
                ("build", false),
                ("build/x", false),
                ("a/build", true),
                ("a/build/x", true),
            ],
        );
        check(
            Some(&["docs/api"]),
            &[],
            true,
            &[("docs/api/a.md", false), ("x/docs/api/a.md", true)],
        );
    }

    #[test]
    fn trailing_slash_matches_directories_only() {
        check(
            Some(&["build/"]),
            &[],
            true,
            &[
                ("build", true),
                ("build/a", false),
                ("x/build/y/z", false),
                ("buildx/a", true),
            ],
        );
    }

    #[test]
    fn a_matching_directory_excludes_everything_below() {
        check(
            Some(&["docs"]),
            &[],
            true,
            &[
                ("docs", false),
                ("docs/a.md", false),
                ("x/docs/a/b.md", false),
                ("docsx/a.md", true),
            ],
        );
        check(
            Some(&["*.d"]),
            &[],
            true,
            &[("conf.d/x.conf", false), ("conf.dx/x", true)],
        );
    }

    #[test]
    fn negation_reincludes_and_last_match_wins() {
        check(
            Some(&["*.md", "!README.md"]),
            &[],
            true,
            &[("a.md", false), ("README.md", true), ("x/README.md", true)],
        );
        check(
            Some(&["!README.md", "*.md"]),
            &[],
            true,
            &[("README.md", false)],
        );
        // As in git, a file below an excluded directory cannot be re-included.
        check(
            Some(&["docs/", "!docs/keep.md"]),
            &[],
            true,
            &[("docs/a.md", false), ("docs/keep.md", false)],
        );
        check(
            Some(&["docs/*", "!docs/keep.md"]),
            &[],
            true,
            &[("docs/a.md", false), ("docs/keep.md", true)],
        );
    }

    #[test]
    fn exclude_follows_git() {
        let docs = &[
            ("README.md", true),
            ("a.txt", false),
            ("docs/a.md", true),
            ("docs/b.txt", false),
            ("docs/sub/c.md", true),
            ("docs/sub/d.yml", false),
            ("docs/x/y/z.md", true),
            ("docs/x/y/w.json", false),
        ];
        check(Some(&["*", "!*/", "!*.md"]), &[], true, docs);
        // Without `!*/` the directories stay excluded, and their files with them.
        check(
            Some(&["*", "!*.md"]),
            &[],
            true,
            &[("README.md", true), ("docs/a.md", false)],
        );
        check(
            Some(&["dir/**/"]),
            &[],
            true,
            &[
                ("dir/top.txt", true),
                ("dir/sub/s.txt", false),
                ("dir/sub/deep/t.txt", false),
                ("other/dir/sub/x", true),
            ],
        );
        check(
            Some(&["dir/**"]),
            &[],
            true,
            &[
                ("dir/top.txt", false),
                ("dir", true),
                ("dir/sub/s.txt", false),
            ],
        );
        check(
            Some(&["a/**/b"]),
            &[],
            true,
            &[
                ("a/b", false),
                ("a/x/y/b", false),
                ("a/x/b/c", false),
                ("x/a/b", true),
            ],
        );
    }

    #[test]
    fn include_only_keeps_matches_at_any_depth_without_pruning() {
        let yml = &[("a.yml", true), ("a/b/c.yml", true), ("a/b/c.md", false)];
        check(Some(&[]), &["*.yml"], true, yml);
        check(
            Some(&[]),
            &["sub/**"],
            true,
            &[("sub/a/b.txt", true), ("other/a.txt", false)],
        );
        check(
            Some(&[]),
            &["docs"],
            true,
            &[
                ("docs/a/b.md", true),
                ("x/docs/c.md", true),
                ("doc/c.md", false),
            ],
        );
        check(
            Some(&["secret.yml"]),
            &["*.yml"],
            true,
            &[("a/secret.yml", false), ("a/public.yml", true)],
        );
        check(
            Some(&[]),
            &["*.yml", "!ci/*.yml"],
            true,
            &[("ci/a.yml", false), ("cd/a.yml", true)],
        );
    }

    #[test]
    fn include_hidden_false_drops_dot_components() {
        let cases = &[
            (".github/workflows/ci.yml", false),
            ("a/.env", false),
            ("a/b.env", true),
        ];
        check(Some(&[]), &[], false, cases);
        check(
            Some(&[]),
            &[],
            true,
            &[(".github/workflows/ci.yml", true), ("a/.env", true)],
        );
    }

    #[test]
    fn git_directories_are_always_excluded() {
        check(
            Some(&["!.git/config"]),
            &[],
            true,
            &[
                (".git/config", false),
                ("a/.git/HEAD", false),
                (".github/x", true),
                (".gitignore", true),
            ],
        );
    }

    #[test]
    fn default_excludes_apply_only_without_an_exclude_list() {
        let cases = &[
            ("a.out", false),
            ("x/b.test", false),
            ("c.exe", false),
            (".DS_Store", false),
            ("x/tmp/y", false),
            ("a.go", true),
        ];
        check(None, &[], true, cases);
        check(
            Some(&[]),
            &[],
            true,
            &[("a.out", true), ("x/tmp/y", true), (".git/x", false)],
        );
        check(
            Some(&["*.go"]),
            &[],
            true,
            &[("a.out", true), ("a.go", false)],
        );
    }

    #[test]
    fn braces_and_classes_work_as_in_globset() {
        check(
            Some(&["*.{yml,yaml}"]),
            &[],
            true,
            &[("a.yml", false), ("b/c.yaml", false), ("d.json", true)],
        );
        check(
            Some(&["[Mm]akefile"]),
            &[],
            true,
            &[("Makefile", false), ("makefile", false), ("Rakefile", true)],
        );
        check(
            Some(&["\\[x\\]"]),
            &[],
            true,
            &[("[x]", false), ("x", true)],
        );
    }

    #[test]
    fn odd_paths() {
        check(
            Some(&["a.md"]),
            &[],
            true,
            &[
                ("./a.md", false),
                ("/b.md", true),
                ("", false),
                ("./", false),
            ],
        );
    }

    /// The definition `last_match` implements with `P/**` globs: test `P` against the path
    /// (unless directory-only) and against every ancestor, one glob at a time.
    fn last_match_by_walking(patterns: &[String], path: &str) -> Option<usize> {
        let mut best = None;
        for (i, pattern) in patterns.iter().enumerate() {
            let (p, glob) = parse(pattern).expect("valid");
            let m = glob.compile_matcher();
            let ancestors = path.match_indices('/').map(|(end, _)| &path[..end]);
            if (!p.dir_only && m.is_match(path)) || ancestors.into_iter().any(|a| m.is_match(a)) {
                best = Some(i);
            }
        }
        best
    }

    #[test]
    fn one_query_with_descendant_globs_equals_walking_ancestors() {
        let lists: &[&[&str]] = &[
            PathFilter::DEFAULT_EXCLUDES,
            &["docs", "build/", "!docs/keep.md", "/a/*", "**"],
            &["*.{yml,md}", "a/**", "**/b/", "?", "sub/**/x", "[ab]*"],
        ];
        let paths = [
            "a",
            "a/b",
            "a/b/c",
            "b/x.yml",
            "docs/keep.md",
            "x/docs/a.md",
            "build",
            "build/o",
            "sub/x",
            "sub/q/r/x",
            "tmp/a",
            "x/tmp/a/b",
            "z/.DS_Store",
            "q.md",
            "a.exe/x",
        ];
        for list in lists {
            let patterns = strings(list);
            let compiled = PatternList::new(&patterns).expect("valid");
            let mut scratch = Vec::new();
            for path in paths {
                assert_eq!(
                    compiled.last_match(path, &mut scratch),
                    last_match_by_walking(&patterns, path),
                    "{path:?} under {list:?}"
                );
            }
        }
    }

    #[test]
    fn validate_glob_rejects_what_cannot_match() {
        let table = [
            ("*.yml", true),
            ("!docs/", true),
            ("/a/**/b", true),
            ("{a,b}", true),
            ("", false),
            ("!", false),
            ("/", false),
            ("//", false),
            ("a//", false),
            ("[ab", false),
            ("{a,b", false),
            // globset treats `**` inside a component like `*`.
            ("a**b", true),
            ("a\\", false),
            ("# comment", false),
            ("\\#literal", true),
        ];
        for (pattern, ok) in table {
            assert_eq!(
                validate_glob(pattern).is_ok(),
                ok,
                "{pattern:?}: {:?}",
                validate_glob(pattern)
            );
        }
        let err = PathFilter::new(Some(&strings(&["ok", "[bad"])), &[], true).expect_err("invalid");
        assert!(err.to_string().contains("[bad"), "{err}");
    }
}
