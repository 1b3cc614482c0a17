//! Instruction counts (placeholder, filled in below).
use crate::flags::BenchOptions;
use serde_json::{Map, Value};
use xshell::Shell;
pub(crate) fn run(_sh: &Shell, _opts: &BenchOptions) -> anyhow::Result<Map<String, Value>> {
    Ok(Map::new())
}
