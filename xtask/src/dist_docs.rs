//! `cargo xtask dist-docs`: the man page and shell completions, written by the binary itself
//! (`broadcast generate ...`, clap_mangen and clap_complete over the clap definition).

use std::path::PathBuf;

use anyhow::Context;
use xshell::{Shell, cmd};

/// What `broadcast generate` takes, with the file each is installed as.
pub(crate) const OUTPUTS: &[(&str, &str)] = &[
    ("man", "broadcast.1"),
    ("complete-bash", "broadcast.bash"),
    ("complete-zsh", "_broadcast"),
    ("complete-fish", "broadcast.fish"),
    ("complete-powershell", "_broadcast.ps1"),
    ("complete-elvish", "broadcast.elv"),
];

pub(crate) fn run(sh: &Shell, out: Option<&str>) -> anyhow::Result<()> {
    let cargo = crate::cargo();
    let dir = out.map_or_else(|| PathBuf::from("target/dist-docs"), PathBuf::from);
    cmd!(sh, "{cargo} build -q -p broadcast")
        .run()
        .context("building broadcast")?;
    let bin = sh.current_dir().join("target/debug/broadcast");
    sh.create_dir(&dir)?;
    for (what, file) in OUTPUTS {
        let text = cmd!(sh, "{bin} generate {what}")
            .read()
            .with_context(|| format!("broadcast generate {what}"))?;
        let path = dir.join(file);
        std::fs::write(&path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}
