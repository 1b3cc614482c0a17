//! `broadcast generate`: the man page and shell completions come out of the clap definition;
//! and every flag of the CLI is documented in `--help` and in the README.

use clap::CommandFactory;

use super::Result;
use super::fixtures::Sandbox;

#[test]
fn man_page_and_completions_generate() -> Result {
    let sb = Sandbox::new();
    // (what, markers the output must hold)
    let cases: &[(&str, &[&str])] = &[
        (
            "man",
            &[
                ".TH broadcast 1",
                ".SH \"BROADCAST SYNC\"",
                "metrics\\-addr",
                "\\-\\-log\\-format",
            ],
        ),
        (
            "complete-bash",
            &["complete -F _broadcast", "--metrics-addr", "diagnose"],
        ),
        ("complete-zsh", &["#compdef broadcast", "--log-format"]),
        ("complete-fish", &["complete -c broadcast", "metrics-file"]),
        (
            "complete-powershell",
            &["Register-ArgumentCompleter", "--color"],
        ),
        (
            "complete-elvish",
            &["edit:completion:arg-completer[broadcast]", "--quiet"],
        ),
    ];
    for (what, markers) in cases {
        let out = sb.broadcast(&["generate", what]);
        assert_eq!(out.status.code(), Some(0), "{what}");
        let text = String::from_utf8_lossy(&out.stdout);
        for m in *markers {
            assert!(text.contains(m), "{what}: no {m:?} in\n{text}");
        }
    }
    assert_eq!(
        sb.broadcast(&["generate", "nonsense"]).status.code(),
        Some(2)
    );
    Ok(())
}

#[test]
fn every_flag_is_in_help_and_in_the_readme() -> Result {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))?;
    let sb = Sandbox::new();
    let mut cmd = broadcast::cli::Cli::command();
    cmd.build();
    let mut missing = Vec::new();
    let check = |missing: &mut Vec<String>, help: &str, scope: &str, args: Vec<String>| {
        for long in args {
            let flag = format!("--{long}");
            if !help.contains(&flag) {
                missing.push(format!("{scope}: {flag} not in --help"));
            }
            if !readme.contains(&flag) {
                missing.push(format!("{scope}: {flag} not in README.md"));
            }
        }
    };
    let longs = |c: &clap::Command| -> Vec<String> {
        c.get_arguments()
            .filter(|a| !a.is_hide_set())
            .filter_map(|a| a.get_long().map(str::to_owned))
            .filter(|l| l != "help" && l != "version")
            .collect()
    };
    let top = String::from_utf8_lossy(&sb.broadcast(&["--help"]).stdout).into_owned();
    check(&mut missing, &top, "broadcast", longs(&cmd));
    for sub in cmd.get_subcommands() {
        let name = sub.get_name();
        if name == "help" {
            continue;
        }
        let help = String::from_utf8_lossy(&sb.broadcast(&[name, "--help"]).stdout).into_owned();
        if !readme.contains(&format!("broadcast {name}")) {
            missing.push(format!("`broadcast {name}` not in README.md"));
        }
        check(&mut missing, &help, name, longs(sub));
    }
    assert!(missing.is_empty(), "{missing:#?}");
    Ok(())
}
