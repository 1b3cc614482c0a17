//! `broadcast generate`: the man page (clap_mangen) and shell completions (clap_complete),
//! generated from the same clap definition as `--help`, so they cannot drift from it.

use clap::CommandFactory;

pub use crate::cli::Generated;

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
