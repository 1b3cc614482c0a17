#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod atomic;
mod json;
mod processor;
mod transform;

use std::path::PathBuf;

pub use crate::atomic::{atomic_write, atomic_write_bytes};
pub use crate::json::JsonArrayStream;
pub use crate::processor::{StreamProcessor, StreamStats, transform_file};
pub use crate::transform::{ChunkTransform, LiteralReplace, RegexReplace};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading the input stream failed after `offset` bytes.
    #[error("reading input failed at byte {offset}")]
    Read {
        /// Bytes read successfully before the failure.
        offset: u64,
        /// The reader's error.
        #[source]
        source: std::io::Error,
    },
    /// Writing the output stream failed after `offset` bytes of output.
    #[error("writing output failed at byte {offset}")]
    Write {
        /// Bytes written successfully before the failure.
        offset: u64,
        /// The writer's error.
        #[source]
        source: std::io::Error,
    },
    /// A [`ChunkTransform`] broke its contract: it left more unconsumed bytes than it declared.
    #[error("chunk transform left {carry_bytes} bytes unconsumed, limit {limit_bytes}")]
    CarryExceeded {
        /// Bytes left unconsumed.
        carry_bytes: usize,
        /// The transform's `max_carry_bytes`.
        limit_bytes: usize,
    },
    /// Opening a file for reading failed.
    #[error("cannot open {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Creating the temporary file beside the destination failed.
    #[error("cannot create a temporary file in {dir}")]
    CreateTemp {
        /// The destination's directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The content callback of [`atomic_write`] failed; the destination is untouched.
    #[error("writing new content for {path} failed")]
    Content {
        /// The destination file.
        path: PathBuf,
        /// The callback's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Flushing, syncing or setting permissions on the temporary file failed.
    #[error("cannot sync the temporary file for {path}")]
    SyncFile {
        /// The destination file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Renaming the temporary file over the destination failed.
    #[error("cannot rename the temporary file over {path}")]
    Rename {
        /// The destination file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Syncing the directory after the rename failed: the new content is in place but may not
    /// survive a power loss.
    #[error("cannot sync directory {dir}")]
    SyncDir {
        /// The directory.
        dir: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The JSON input is not a top-level array, or an element is malformed (byte `offset`).
    #[error("invalid JSON array at byte {offset}: {reason}")]
    JsonSyntax {
        /// Byte offset in the input.
        offset: u64,
        /// What was expected.
        reason: &'static str,
    },
    /// An array element is well-formed JSON but does not deserialize into the target type.
    #[error("JSON array element {index} at byte {offset} does not deserialize")]
    JsonElement {
        /// Zero-based element index.
        index: u64,
        /// Byte offset of the element's first byte.
        offset: u64,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// An element is longer than the configured limit.
    #[error("JSON array element {index} at byte {offset} exceeds {limit_bytes} bytes")]
    JsonElementTooLarge {
        /// Zero-based element index.
        index: u64,
        /// Byte offset of the element's first byte.
        offset: u64,
        /// The limit.
        limit_bytes: usize,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
