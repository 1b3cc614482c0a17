//! Shared fixtures for the benchmark suites.

pub mod alloc;
pub mod anchors;
pub mod fixtures;
