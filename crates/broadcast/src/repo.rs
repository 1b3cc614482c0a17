//! Repository references as written in a config: `owner/name` (GitHub) or a local path / `file://` URL.

use std::fmt;
use std::path::{Path, PathBuf};

/// Where a repository lives, parsed from a config `repo:` string.
///
/// - `owner/name` (exactly one `/`, GitHub's name rules) is a GitHub repository.
/// - An absolute or `./`/`../`-relative path, or a `file://` URL, is a local git repository
///   (bare or with a work tree). Relative paths are resolved against the config file's directory.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RepoRef {
    /// A repository on GitHub (or GitHub Enterprise): `owner/name`.
    GitHub {
        /// Account or organisation.
        owner: String,
        /// Repository name.
        name: String,
    },
    /// A local repository, as an absolute path.
    Local {
        /// Absolute path of the repository (its work tree or its bare git directory).
        path: PathBuf,
    },
}

impl RepoRef {
    /// Parses a config repository string. `base_dir` resolves relative local paths.
    ///
    /// Errors with a message that says what is expected.
    pub fn parse(s: &str, base_dir: &Path) -> Result<RepoRef, String> {
        let s_trim = s.trim();
        if s_trim.is_empty() {
            return Err("repository must not be empty".to_owned());
        }
        if let Some(rest) = s_trim.strip_prefix("file://") {
            if rest.is_empty() {
                return Err(format!("repository '{s}': file:// URL has no path"));
            }
            let p = Path::new(rest);
            return Ok(RepoRef::Local {
                path: normalize(&if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base_dir.join(p)
                }),
            });
        }
        let looks_local = s_trim.starts_with('/')
            || s_trim.starts_with("./")
            || s_trim.starts_with("../")
            || s_trim == "."
            || s_trim.starts_with('~');
        if looks_local {
            if s_trim.starts_with('~') {
                return Err(format!(
                    "repository '{s}': '~' is not expanded; write an absolute or ./relative path"
                ));
            }
            return Ok(RepoRef::Local {
                path: normalize(&base_dir.join(s_trim)),
            });
        }
        validate_slug(s_trim)?;
        let (owner, name) = s_trim
            .split_once('/')
            .expect("validate_slug checked the '/'");
        Ok(RepoRef::GitHub {
            owner: owner.to_owned(),
            name: name.to_owned(),
        })
    }

    /// `owner/name` used by transforms (repo_name rewriting) and branch scopes.
    ///
    /// For a local repository this is `<parent directory>/<directory name without .git>`, so a
    /// layout like `repos/acme/service.git` behaves like `acme/service`.
    pub fn slug(&self) -> (String, String) {
        match self {
            RepoRef::GitHub { owner, name } => (owner.clone(), name.clone()),
            RepoRef::Local { path } => {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = name.strip_suffix(".git").unwrap_or(&name).to_owned();
                let owner = path
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "local".to_owned());
                (owner, name)
            }
        }
    }

    /// The repository name alone (last component), e.g. `service` for `acme/service`.
    pub fn name(&self) -> String {
        self.slug().1
    }

    /// The [`Forge::kind`](crate::forge::Forge::kind) that serves this repository: `github` or
    /// `local`.
    pub fn forge_kind(&self) -> &'static str {
        match self {
            RepoRef::GitHub { .. } => "github",
            RepoRef::Local { .. } => "local",
        }
    }

    /// True for GitHub repositories.
    pub fn is_github(&self) -> bool {
        matches!(self, RepoRef::GitHub { .. })
    }
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RepoRef::GitHub { owner, name } => write!(f, "{owner}/{name}"),
            RepoRef::Local { path } => write!(f, "{}", path.display()),
        }
    }
}

/// The git directory of a local repository at `path`: `<path>/.git` for a work tree, else the
/// path itself (a bare repository).
pub fn local_git_dir(path: &Path) -> PathBuf {
    let dot_git = path.join(".git");
    if dot_git.is_dir() {
        dot_git
    } else {
        path.to_path_buf()
    }
}

/// Drops `.` components and folds `..` lexically (no symlinks resolved), so reports show
/// `/srv/acme/a.git` rather than `/srv/./acme/a.git`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Checks an `owner/name` string with GitHub's naming rules (as go-broadcast does:
/// `^[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*$`, at most 200 characters, no `..`, no segment ending in `.`).
pub fn validate_slug(s: &str) -> Result<(), String> {
    if s.len() > 200 {
        return Err(format!("repository '{s}' is longer than 200 characters"));
    }
    let Some((owner, name)) = s.split_once('/') else {
        return Err(format!(
            "repository '{s}': expected owner/name (GitHub) or a local path (/abs, ./rel, file://)"
        ));
    };
    for part in [owner, name] {
        let mut chars = part.chars();
        let ok_first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let ok_rest = part
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
        if !ok_first || !ok_rest || part.contains("..") || part.ends_with('.') {
            return Err(format!(
                "repository '{s}': expected owner/name where each part starts with a letter or digit and uses only letters, digits, '_', '.', '-' (or a local path: /abs, ./rel, file://)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_github_and_local_forms() {
        let base = Path::new("/cfg");
        let check = |s: &str, want: Result<RepoRef, ()>| {
            assert_eq!(RepoRef::parse(s, base).map_err(|_| ()), want, "{s}");
        };
        let gh = |o: &str, n: &str| {
            Ok(RepoRef::GitHub {
                owner: o.into(),
                name: n.into(),
            })
        };
        let local = |p: &str| Ok(RepoRef::Local { path: p.into() });
        check("acme/api", gh("acme", "api"));
        check("acme/my.repo_x-1", gh("acme", "my.repo_x-1"));
        check("/srv/git/a.git", local("/srv/git/a.git"));
        check("./repos/a", local("/cfg/repos/a"));
        check("../up/a.git", local("/up/a.git"));
        check("file:///srv/a", local("/srv/a"));
        check("file://rel/a", local("/cfg/rel/a"));
        check("acme", Err(()));
        check("acme/a/b", Err(()));
        check("acme/a.", Err(()));
        check("acme/..x", Err(()));
        check("-acme/x", Err(()));
        check("", Err(()));
        check("~/x", Err(()));
    }

    #[test]
    fn local_slug_uses_parent_and_strips_dot_git() {
        let r = RepoRef::Local {
            path: "/x/acme/service.git".into(),
        };
        assert_eq!(r.slug(), ("acme".to_owned(), "service".to_owned()));
    }
}
