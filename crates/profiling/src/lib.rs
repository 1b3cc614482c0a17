#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
// The counting allocator needs `unsafe impl GlobalAlloc`; it is confined to `alloc.rs` and every
// block there carries a `// SAFETY:` comment. Everything else is safe code.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod alloc;
#[cfg(feature = "criterion")]
pub mod criterion;
#[cfg(feature = "dhat-heap")]
pub mod heap;
mod rss;
mod suite;

use std::path::PathBuf;

pub use crate::alloc::{AllocStats, CountingAllocator};
pub use crate::rss::{current_rss_bytes, peak_rss_bytes, reset_peak_rss};
pub use crate::suite::{
    FunctionSamples, ProfileOptions, ProfileReport, ProfileSuite, chrome_trace_layer, files,
};

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The profile directory could not be created.
    #[error("cannot create profile directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The CPU profiler could not start (one is already running in this process, or the
    /// `SIGPROF` timer could not be installed).
    #[error("cannot start the CPU profiler at {frequency_hz} Hz")]
    StartProfiler {
        /// The requested sampling frequency.
        frequency_hz: i32,
        /// pprof's error.
        #[source]
        source: Box<pprof::Error>,
    },
    /// pprof could not build or render its report.
    #[error("cannot build the CPU profile report")]
    BuildReport {
        /// pprof's error.
        #[source]
        source: Box<pprof::Error>,
    },
    /// A profile file could not be serialised.
    #[error("cannot serialise {path}")]
    Json {
        /// The file.
        path: PathBuf,
        /// serde_json's error.
        #[source]
        source: serde_json::Error,
    },
    /// A profile file could not be written.
    #[error("cannot write {path}")]
    WriteFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
