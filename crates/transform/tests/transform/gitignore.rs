//! `exclude` against git itself: the kept paths must be exactly what
//! `git ls-files --others --exclude-standard` lists when the patterns are the repository's
//! exclude file.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use broadcast_transform::PathFilter;
use proptest::prelude::*;

use super::Result;

/// Paths git keeps (does not ignore) among `paths`, with `patterns` as `.git/info/exclude`.
///
/// Builds a throwaway repository with one empty file per path; one `git ls-files` lists them.
fn git_keeps(patterns: &[String], paths: &BTreeSet<String>) -> Result<BTreeSet<String>> {
    let dir = tempfile::tempdir()?;
    let git = |args: &[&str]| -> Result<Vec<u8>> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()?;
        if !out.status.success() {
            return Err(format!("git {args:?}: {}", String::from_utf8_lossy(&out.stderr)).into());
        }
        Ok(out.stdout)
    };
    git(&["init", "-q"])?;
    let mut exclude = patterns.join("\n");
    exclude.push('\n');
    std::fs::write(dir.path().join(".git/info/exclude"), exclude)?;
    for p in paths {
        let file = dir.path().join(p);
        std::fs::create_dir_all(file.parent().unwrap_or(Path::new(".")))?;
        std::fs::write(file, b"")?;
    }
    let listed = git(&["ls-files", "--others", "--exclude-standard", "-z"])?;
    Ok(listed
        .split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect())
}

/// Paths our filter keeps with `patterns` as the `exclude` list.
fn we_keep(patterns: &[String], paths: &BTreeSet<String>) -> Result<BTreeSet<String>> {
    let filter = PathFilter::new(Some(patterns), &[], true)?;
    Ok(paths
        .iter()
        .filter(|p| filter.is_included(p))
        .cloned()
        .collect())
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn check(patterns: &[&str], paths: &[&str], expected: &[&str]) -> Result {
    let patterns = strings(patterns);
    let paths: BTreeSet<String> = paths.iter().map(|s| (*s).to_owned()).collect();
    let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(git_keeps(&patterns, &paths)?, expected, "git, {patterns:?}");
    assert_eq!(
        we_keep(&patterns, &paths)?,
        expected,
        "broadcast, {patterns:?}"
    );
    Ok(())
}

const DOCS: &[&str] = &[
    "README.md",
    "a.txt",
    "docs/a.md",
    "docs/b.txt",
    "docs/sub/c.md",
    "docs/sub/d.yml",
    "docs/x/y/z.md",
    "docs/x/y/w.json",
    "dir/top.txt",
    "dir/sub/s.txt",
    "dir/sub/deep/t.txt",
];

#[test]
fn exclude_everything_but_markdown() -> Result {
    check(
        &["*", "!*/", "!*.md"],
        DOCS,
        &["README.md", "docs/a.md", "docs/sub/c.md", "docs/x/y/z.md"],
    )
}

#[test]
fn directory_double_star_slash_keeps_files_directly_in_the_directory() -> Result {
    check(
        &["dir/**/"],
        DOCS,
        &[
            "README.md",
            "a.txt",
            "docs/a.md",
            "docs/b.txt",
            "docs/sub/c.md",
            "docs/sub/d.yml",
            "docs/x/y/z.md",
            "docs/x/y/w.json",
            "dir/top.txt",
        ],
    )
}

#[test]
fn a_file_below_an_excluded_directory_cannot_be_reincluded() -> Result {
    check(
        &["docs/", "!docs/a.md"],
        DOCS,
        &[
            "README.md",
            "a.txt",
            "dir/top.txt",
            "dir/sub/s.txt",
            "dir/sub/deep/t.txt",
        ],
    )
}

#[test]
fn reincluding_the_directory_then_the_file_works() -> Result {
    check(
        &["docs/*", "!docs/sub/", "docs/sub/*", "!docs/sub/c.md"],
        DOCS,
        &[
            "README.md",
            "a.txt",
            "docs/sub/c.md",
            "dir/top.txt",
            "dir/sub/s.txt",
            "dir/sub/deep/t.txt",
        ],
    )
}

/// Names used to build generated paths: directories, and files (some share a directory's name).
const DIR_NAMES: &[&str] = &["a", "b", "sub", "docs"];
const FILE_NAMES: &[&str] = &["a", "b.md", "c.txt", "README.md", "x.yml", "sub"];
/// Pattern segments: names, wildcards, classes.
const SEGMENTS: &[&str] = &[
    "a", "b", "sub", "docs", "*", "**", "*.md", "?", "b.md", "[ab]", "*.txt", "x*", "s*b",
];

fn path() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::sample::select(DIR_NAMES), 0..4),
        prop::sample::select(FILE_NAMES),
    )
        .prop_map(|(dirs, file)| {
            let mut parts = dirs;
            parts.push(file);
            parts.join("/")
        })
}

fn pattern() -> impl Strategy<Value = String> {
    (
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec(prop::sample::select(SEGMENTS), 1..4),
        any::<bool>(),
    )
        .prop_map(|(negated, rooted, segments, dir_only)| {
            format!(
                "{}{}{}{}",
                if negated { "!" } else { "" },
                if rooted { "/" } else { "" },
                segments.join("/"),
                if dir_only { "/" } else { "" }
            )
        })
}

/// Drops paths that name a directory of another path (a file and a directory cannot share a
/// name on disk).
fn without_file_directory_clashes(paths: Vec<String>) -> BTreeSet<String> {
    let all: BTreeSet<String> = paths.into_iter().collect();
    all.iter()
        .filter(|p| !all.iter().any(|q| q.starts_with(&format!("{p}/"))))
        .cloned()
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn exclude_keeps_exactly_what_git_keeps(
        patterns in prop::collection::vec(pattern(), 1..6),
        paths in prop::collection::vec(path(), 1..24),
    ) {
        let paths = without_file_directory_clashes(paths);
        let git = git_keeps(&patterns, &paths).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ours = we_keep(&patterns, &paths).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(ours, git, "patterns {:?}", patterns);
    }
}
