//! The `broadcast` binary: parse flags, run, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;

/// Counts allocations so `--profile` can report them (a few atomic adds per allocation).
#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static ALLOCATOR: broadcast_profiling::CountingAllocator = broadcast_profiling::CountingAllocator;

/// Built with `--features dhat-heap`: dhat records every allocation so `--profile` writes a
/// heap profile (several times slower; for finding allocation sites, not for timing).
#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: broadcast_profiling::heap::DhatAlloc = broadcast_profiling::heap::DhatAlloc;

fn main() -> ExitCode {
    let cli = broadcast::cli::Cli::parse();
    match broadcast::run(cli) {
        Ok(broadcast::Outcome::Success) => ExitCode::SUCCESS,
        Ok(broadcast::Outcome::TargetsFailed) => ExitCode::from(1),
        Ok(broadcast::Outcome::Interrupted) => ExitCode::from(130),
        Err(e) => {
            if broadcast::is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", broadcast::redact_error(&e));
            ExitCode::from(2)
        }
    }
}
