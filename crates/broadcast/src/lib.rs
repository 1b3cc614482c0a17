//! broadcast: keeps many git repositories in sync with a source (template) repository.
//!
//! This crate is thin: configuration, planning and the CLI, wiring the workspace's libraries
//! together (`git-batch` for git, `transform` for content, `worker` for fan-out, `redact` for logs).

pub mod forge;
pub mod repo;
