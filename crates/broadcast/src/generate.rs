//! `broadcast generate`: the man page (clap_mangen) and shell completions (clap_complete),
//! generated from the same clap definition as `--help`, so they cannot drift from it.

use clap::{CommandFactory, ValueEnum};

/// What `broadcast generate` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Generated {
    /// The man page `broadcast.1` (roff), with a section per subcommand.
    Man,
    /// Completions for bash (source it, or install it as `broadcast` in bash-completion's directory).
    CompleteBash,
    /// Completions for zsh (install as `_broadcast` on `$fpath`).
    CompleteZsh,
    /// Completions for fish (install as `broadcast.fish`).
    CompleteFish,
    /// Completions for PowerShell.
    CompletePowershell,
    /// Completions for elvish.
    CompleteElvish,
}

impl Generated {
    /// The file name a packager installs the output under.
    pub fn file_name(self) -> &'static str {
        match self {
            Generated::Man => "broadcast.1",
            Generated::CompleteBash => "broadcast.bash",
            Generated::CompleteZsh => "_broadcast",
            Generated::CompleteFish => "broadcast.fish",
            Generated::CompletePowershell => "_broadcast.ps1",
            Generated::CompleteElvish => "broadcast.elv",
        }
    }
}

/// The text of `what`.
///
/// # Errors
/// Only when rendering into memory fails (it does not, short of running out of memory).
pub fn render(what: Generated) -> anyhow::Result<String> {
    use clap_complete::Shell;
    let mut cmd = crate::cli::Cli::command();
    let mut out = Vec::new();
    let shell = match what {
        Generated::Man => {
            man(&cmd, &mut out)?;
            return Ok(String::from_utf8(out)?);
        }
        Generated::CompleteBash => Shell::Bash,
        Generated::CompleteZsh => Shell::Zsh,
        Generated::CompleteFish => Shell::Fish,
        Generated::CompletePowershell => Shell::PowerShell,
        Generated::CompleteElvish => Shell::Elvish,
    };
    clap_complete::generate(shell, &mut cmd, "broadcast", &mut out);
    Ok(String::from_utf8(out)?)
}

/// The man page of `cmd` followed by one section per subcommand (its about text and flags).
fn man(cmd: &clap::Command, out: &mut Vec<u8>) -> std::io::Result<()> {
    let page = clap_mangen::Man::new(cmd.clone());
    page.render(out)?;
    for sub in cmd.get_subcommands() {
        let name = format!("broadcast {}", sub.get_name());
        let heading = name.to_uppercase();
        let sub_page = clap_mangen::Man::new(sub.clone().bin_name(name));
        out.extend_from_slice(format!(".SH \"{heading}\"\n").as_bytes());
        // The subcommand's sections nest under its heading.
        let mut section = Vec::new();
        sub_page.render_description_section(&mut section)?;
        sub_page.render_options_section(&mut section)?;
        let section = String::from_utf8_lossy(&section).replace("\n.SH ", "\n.SS ");
        let section = section
            .strip_prefix(".SH ")
            .map_or(section.clone(), |r| format!(".SS {r}"));
        out.extend_from_slice(section.as_bytes());
    }
    Ok(())
}
