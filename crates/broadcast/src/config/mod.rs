//! Configuration: load a go-broadcast v1 file, resolve list references, validate.
//!
//! `load` returns a [`Config`] that passed every check in `validate`; errors name the file and
//! either a line and column (YAML syntax and type errors, from the parser) or a field path such as
//! `groups[1].targets[0].files[2].dest` (semantic errors), and say what is expected.

mod at;
mod branches;
mod fields;
mod ignored;
mod mappings;
mod model;
mod resolve;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use fields::{normalize_path, validate_branch};
pub use ignored::ignored_settings;
pub use model::*;

/// One semantic problem: where it is and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// Field path, e.g. `groups[1].targets[0].files[2].dest`.
    pub path: String,
    /// What is wrong and what is expected.
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The config path.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// YAML syntax error, wrong type or unknown key; the message carries line and column.
    #[error("{}: {message}", path.display())]
    Parse {
        /// The config path.
        path: PathBuf,
        /// The parser's message (line, column, what was expected).
        message: String,
    },
    /// The file parsed but breaks one or more rules.
    #[error("{}: invalid configuration ({} problem{}):\n{}", path.display(), issues.len(), if issues.len() == 1 { "" } else { "s" }, issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// The config path.
        path: PathBuf,
        /// Every problem found, in file order.
        issues: Vec<Issue>,
    },
}

/// A loaded, list-resolved and validated configuration, with the directory it came from
/// (relative local repository paths resolve against it).
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The configuration.
    pub config: Config,
    /// The file it was read from.
    pub path: PathBuf,
    /// The file's directory, absolute.
    pub base_dir: PathBuf,
}

/// Reads, parses, resolves list references and validates `path`.
///
/// Errors: [`ConfigError::Read`], [`ConfigError::Parse`] (with line and column), or
/// [`ConfigError::Invalid`] listing every problem with its field path.
pub fn load(path: &Path) -> Result<LoadedConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let base_dir = path
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .unwrap_or(Path::new("."));
    let base_dir = std::path::absolute(base_dir).unwrap_or_else(|_| base_dir.to_path_buf());
    let config = parse_str(&text, &base_dir).map_err(|e| match e {
        ParseError::Syntax(message) => ConfigError::Parse {
            path: path.to_path_buf(),
            message: message.replace("<input>", &path.display().to_string()),
        },
        ParseError::Invalid(issues) => ConfigError::Invalid {
            path: path.to_path_buf(),
            issues,
        },
    })?;
    Ok(LoadedConfig {
        config,
        path: path.to_path_buf(),
        base_dir,
    })
}

/// Errors of [`parse_str`].
#[derive(Debug)]
pub enum ParseError {
    /// YAML or type error (message with line and column).
    Syntax(String),
    /// Semantic problems.
    Invalid(Vec<Issue>),
}

/// Hides the values of secret-like keys (`token`, `secret`, `password`, `key`, `auth`, …) in the
/// source lines a parse error quotes (`12 |     api_token: value`), and any other occurrence of
/// those values in the message, then passes the result through the global redactor.
fn redact_snippet(message: &str) -> String {
    static SNIPPET_LINE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static SECRET_PAIR: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let snippet_line = SNIPPET_LINE
        .get_or_init(|| regex::Regex::new(r"^(\s*\d+\s*\|)(.*)$").expect("a valid regex literal"));
    let secret_pair = SECRET_PAIR.get_or_init(|| {
        regex::Regex::new(
            r#"(?i)(["']?[A-Za-z0-9_.-]*(?:token|secret|passw|passphrase|pwd|key|auth|credential|cookie|private)[A-Za-z0-9_.-]*["']?[ \t]*:[ \t]+)("(?:[^"\\]|\\.)*"|'[^']*'|[^,}\]#\s][^,}\]#]*)"#,
        )
        .expect("a valid regex literal")
    });
    let mut values: Vec<String> = Vec::new();
    let mut out: Vec<String> = message
        .lines()
        .map(|line| match snippet_line.captures(line) {
            Some(c) => {
                let code = secret_pair.replace_all(&c[2], |p: &regex::Captures<'_>| {
                    let v = p[2].trim_end().trim_matches(['"', '\'']);
                    if v.len() >= 3 {
                        values.push(v.to_owned());
                    }
                    format!("{}***", &p[1])
                });
                format!("{}{code}", &c[1])
            }
            None => line.to_owned(),
        })
        .collect();
    // A quoted line may be cut short (`github_pat_11ABC…`) before any redactor sees it, too short
    // to be recognised: any token prefix with what follows of it goes.
    static TOKEN_PREFIX: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let token_prefix = TOKEN_PREFIX.get_or_init(|| {
        regex::Regex::new(r"\b(gh[pousr]_|github_pat_|glpat-|xox[abposr]-)[A-Za-z0-9_\-]*")
            .expect("a valid regex literal")
    });
    for line in &mut out {
        for v in &values {
            if line.contains(v.as_str()) {
                *line = line.replace(v.as_str(), "***");
            }
        }
        if let std::borrow::Cow::Owned(masked) = token_prefix.replace_all(line, "${1}***") {
            *line = masked;
        }
    }
    broadcast_redact::redact(&out.join("\n")).into_owned()
}

/// Parses YAML text, resolves list references and validates. `base_dir` resolves relative local
/// repository paths.
pub fn parse_str(text: &str, base_dir: &Path) -> Result<Config, ParseError> {
    let mut config = parse_yaml(text)?;
    check(&mut config, base_dir)?;
    Ok(config)
}

/// The first half of [`parse_str`]: YAML text to a [`Config`], with no list resolution and no
/// validation. Errors: [`ParseError::Syntax`] (line and column, secret values hidden).
pub fn parse_yaml(text: &str) -> Result<Config, ParseError> {
    serde_saphyr::from_str(text).map_err(|e| {
        let text = e.to_string();
        let text = text.strip_prefix("error: ").unwrap_or(&text);
        ParseError::Syntax(redact_snippet(text.trim_end()))
    })
}

/// The second half of [`parse_str`]: resolves `file_list_refs` / `directory_list_refs` into
/// `config` and validates it. Resolving again is a no-op for targets without references.
/// Errors: [`ParseError::Invalid`] with every problem found.
pub fn check(config: &mut Config, base_dir: &Path) -> Result<(), ParseError> {
    let mut issues = Vec::new();
    resolve::resolve_lists(config, &mut issues);
    validate::validate(config, base_dir, &mut issues);
    if issues.is_empty() {
        Ok(())
    } else {
        Err(ParseError::Invalid(issues))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_snippets_hide_secret_values() {
        let check = |yaml: &str, secret: &str, kept: &str| {
            let Err(ParseError::Syntax(msg)) = parse_str(yaml, Path::new(".")) else {
                panic!("expected a syntax error for {yaml:?}");
            };
            assert!(!msg.contains(secret), "{secret} in {msg}");
            assert!(msg.contains(kept), "{kept} missing from {msg}");
        };
        check(
            "version: 1\nsome_token: s3cr3tvalue123\ngroups: []\n",
            "s3cr3tvalue123",
            "some_token: ***",
        );
        check(
            "version: 1\ngroups:\n  - name: G\n    password: \"hunter2 hunter2\"\n    id: g\n",
            "hunter2",
            "password: ***",
        );
        check(
            "version: 1\nextra: {api_key: abcdef123456, other: 1}\ngroups: []\n",
            "abcdef123456",
            "api_key: ***",
        );
        // The value quoted by the message itself (a wrong type) is hidden too.
        check(
            "version: 1\ngroups: []\nrate_limit_preflight: {secret_stuff: topsecretvalue}\n",
            "topsecretvalue",
            "secret_stuff",
        );
        // A token on a long line that the snippet cuts short is still hidden.
        let long = format!(
            "version: 1\ngroups: []\nnote: \"{} github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV\"\nbad: [\n",
            "x".repeat(150)
        );
        check(&long, "github_pat_11", "version");
        // Ordinary keys keep their values.
        check(
            "version: 1\nbogus: plainvalue\n",
            "nothing-secret-here",
            "plainvalue",
        );
    }
}
