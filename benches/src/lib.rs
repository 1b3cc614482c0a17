//! Shared fixtures for the benchmark suites.
