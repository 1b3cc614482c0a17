//! broadcast: config, planning and the CLI.
