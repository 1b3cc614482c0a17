#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod catfile;
mod cmd;
mod commit;
mod config;
mod fast_import;
mod log;
mod loose;
mod oid;
#[cfg(test)]
mod parse_props;
mod repo;
mod store;
mod tree;
mod tree_walk;

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

pub use catfile::{CatFile, Object};
pub use cmd::{DEFAULT_TIMEOUT, Git, PROCESS_LOG_TARGET, STDERR_CAP_BYTES, redact_url_credentials};
pub use commit::{Commit, Signature};
pub use fast_import::{BlobContent, BlobSource, CommitRequest, StreamedBlob, TreeChange};
pub use log::CommitSummary;
pub use loose::{LooseObject, loose_object_path};
pub use oid::{ObjectId, ObjectKind, blob_oid, blob_oid_from_reader};
pub use repo::{FetchOptions, PushOptions, PushRefspec, PushStatus, PushedRef, RemoteRef, Repo};
pub use store::ObjectStore;
pub use tree::{EntryMode, TreeEntry, tree_oid};

/// Longest input kept in an [`Error::Parse`], in bytes.
const PARSE_INPUT_CAP_BYTES: usize = 200;

/// Everything that can go wrong in this crate.
///
/// Arguments are shown as passed to git with URL credentials replaced by `***`; stderr is
/// trimmed, capped at [`STDERR_CAP_BYTES`] and scrubbed the same way. Values given to
/// [`Git::with_config`] never appear in `Display` or `Debug`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The git program could not be started (not found, not executable).
    #[error("could not start {program:?}")]
    Spawn {
        /// The program that was started.
        program: PathBuf,
        /// Why the OS refused.
        #[source]
        source: std::io::Error,
    },
    /// git exited unsuccessfully.
    #[error("git {args:?} failed with {status}: {stderr}")]
    Command {
        /// The arguments (after `git`), credentials removed.
        args: Vec<String>,
        /// The exit status.
        status: ExitStatus,
        /// Trimmed, redacted stderr, at most [`STDERR_CAP_BYTES`] bytes.
        stderr: String,
    },
    /// git ran longer than the handle's timeout and was killed.
    #[error("git {args:?} timed out after {timeout:?} and was killed")]
    Timeout {
        /// The arguments (after `git`), credentials removed.
        args: Vec<String>,
        /// The timeout in force.
        timeout: Duration,
    },
    /// Reading from or writing to a git process's pipes failed (usually: it died).
    #[error("i/o with git {args:?} failed (stderr: {stderr:?})")]
    Pipe {
        /// The arguments (after `git`), credentials removed.
        args: Vec<String>,
        /// What git printed on stderr before dying, when known (trimmed, redacted, capped).
        stderr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// git printed something this crate could not parse.
    #[error("could not parse {what} from {input:?}")]
    Parse {
        /// What was being parsed (`object id`, `ls-tree entry`, ...).
        what: &'static str,
        /// The offending text (lossy UTF-8, at most 200 bytes).
        input: String,
    },
    /// A requested object is not in the object store (or its alternates). In a partial clone
    /// this is also what a missing blob gives, since lazy fetching is disabled.
    #[error("object {oid} is missing")]
    MissingObject {
        /// The missing object.
        oid: ObjectId,
    },
    /// The consumer given to [`CatFile::stream`] failed while reading object `oid` (for
    /// example, writing a spool file); the reader stays usable.
    #[error("processing object {oid} failed")]
    Consumer {
        /// The object being read.
        oid: ObjectId,
        /// The consumer's error.
        #[source]
        source: std::io::Error,
    },
    /// A tree path is not valid UTF-8 (a documented limitation of [`TreeEntry::path`]).
    #[error("tree path {path:?} is not valid utf-8")]
    NonUtf8Path {
        /// The path, lossily converted.
        path: String,
    },
    /// An argument was refused before running git (it could be read as an option, holds a
    /// newline, is not a valid tree path, ...).
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidArgument {
        /// Which argument (`revision`, `path`, `mode`, ...).
        what: &'static str,
        /// The value given.
        value: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A loose object's file is not what gitformat-loose(5) describes: not a zlib stream, a
    /// malformed header, a stream that ends early or late, or bytes after it
    /// ([`LooseObject`]). git would refuse the object too.
    #[error("loose object {path:?} is corrupt: {reason}")]
    CorruptLooseObject {
        /// The loose file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A file this crate reads or writes itself failed (for example
    /// `objects/info/alternates`).
    #[error("i/o on {path:?} failed")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn parse(what: &'static str, input: &[u8]) -> Self {
        let cut = &input[..input.len().min(PARSE_INPUT_CAP_BYTES)];
        Error::Parse {
            what,
            input: redact_url_credentials(&String::from_utf8_lossy(cut)),
        }
    }

    pub(crate) fn invalid(what: &'static str, value: &str, reason: &'static str) -> Self {
        Error::InvalidArgument {
            what,
            value: redact_url_credentials(value),
            reason,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
