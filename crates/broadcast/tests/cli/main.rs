//! Integration tests of the `broadcast` CLI: real git, real repositories in temp dirs.

mod cancel;
mod config;
mod fixtures;
mod generate;
mod hostile;
mod in_place;
mod layout;
mod observe;
mod ownership;
mod rerun;
mod rules;
mod shard;
mod streaming;
mod sync;
mod trust;

type Result<T = ()> = std::result::Result<T, Box<dyn std::error::Error>>;
