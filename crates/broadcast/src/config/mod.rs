//! Configuration: load a go-broadcast v1 file, resolve list references, validate.
//!
//! `load` returns a [`Config`] that passed every check in `validate`; errors name the file and
//! either a line and column (YAML syntax and type errors, from the parser) or a field path such as
//! `groups[1].targets[0].files[2].dest` (semantic errors), and say what is expected.

mod branches;
mod model;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::*;
pub use validate::{normalize_path, validate_branch};

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

/// Parses YAML text, resolves list references and validates. `base_dir` resolves relative local
/// repository paths.
pub fn parse_str(text: &str, base_dir: &Path) -> Result<Config, ParseError> {
    let mut config: Config = serde_saphyr::from_str(text).map_err(|e| {
        let text = e.to_string();
        let text = text.strip_prefix("error: ").unwrap_or(&text);
        ParseError::Syntax(text.trim_end().to_owned())
    })?;
    let mut issues = Vec::new();
    validate::resolve_lists(&mut config, &mut issues);
    validate::validate(&config, base_dir, &mut issues);
    if issues.is_empty() {
        Ok(config)
    } else {
        Err(ParseError::Invalid(issues))
    }
}
