#![doc = include_str!("../README.md")]
//!
//! # Types and data flow
//!
//! A [`TransformSpec`] (what one mapping asks for) plus the source and target [`RepoSlug`]s
//! compile into a [`Transformer`]; [`Transformer::apply`] then turns source bytes into the bytes
//! written to the target, skipping content that [`is_binary`] reports. [`PathFilter`] decides
//! which files of a directory mapping take part at all, and [`validate_glob`] lets config
//! validation reject a pattern before any sync starts. Every failure is an [`Error`].
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod binary;
mod filter;
mod rewrite;
mod slug;
mod template;
mod transformer;

pub use binary::{SNIFF_BYTES, is_binary, looks_like_utf16};
pub use filter::{PathFilter, validate_glob};
pub use slug::RepoSlug;
pub use transformer::{
    Applied, EmailRewrite, TransformContext, TransformSpec, TransformWarning, Transformer,
    transform,
};

/// Everything that can fail in this crate: building a transformer or a path filter.
///
/// Applying a built [`Transformer`] and matching paths do not fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A repository slug is not `owner/name` (from [`RepoSlug`]'s `FromStr`, or a hand-built
    /// slug handed to [`Transformer::new`] with `repo_name` on).
    #[error("invalid repository {value:?}: {reason}")]
    InvalidSlug {
        /// The rejected text (`owner/name` as written, or the slug displayed).
        value: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A template variable name cannot form a placeholder.
    #[error("invalid template variable {name:?}: {reason}")]
    InvalidVariable {
        /// The variable name as configured.
        name: String,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// An email rewrite has an empty address to find.
    #[error("invalid email rewrite {from:?} -> {to:?}: the address to replace is empty")]
    InvalidEmail {
        /// Address to find (empty).
        from: String,
        /// Replacement address.
        to: String,
    },
    /// A glob pattern was rejected by `globset`.
    #[error("invalid glob pattern {pattern:?}")]
    InvalidGlob {
        /// The pattern as configured (with any `!` or `/` decoration).
        pattern: String,
        /// What `globset` objected to.
        #[source]
        source: globset::Error,
    },
    /// An `exclude` pattern was rejected by the gitignore matcher (`ignore` crate).
    #[error("invalid exclude pattern {pattern:?}")]
    InvalidPattern {
        /// The pattern as configured.
        pattern: String,
        /// What the gitignore matcher objected to.
        #[source]
        source: ignore::Error,
    },
    /// A glob pattern can never match a path (empty, `!` alone, `/`, an empty component).
    #[error("invalid glob pattern {pattern:?}: {reason}")]
    EmptyGlob {
        /// The pattern as configured.
        pattern: String,
        /// Why it cannot match.
        reason: &'static str,
    },
    /// A rewrite rule had an empty needle (internal guard; `what` names the transform).
    #[error("{what} transform has an empty search string")]
    EmptyNeedle {
        /// `variables`, `emails` or `repo_name`.
        what: &'static str,
    },
    /// The multi-literal matcher for a transform could not be built.
    #[error("cannot build the {what} matcher")]
    Matcher {
        /// `variables`, `emails` or `repo_name`.
        what: &'static str,
        /// The Aho-Corasick builder's reason (usually a size limit).
        #[source]
        source: aho_corasick::BuildError,
    },
}

/// `Result` with this crate's [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
