//! Repository rules, checked by `cargo test -p xtask` (and so by `cargo xtask test`).
//!
//! Every Rust file opens with a `//!` doc, no debug macro is left behind, every
//! crate opts into the workspace lints, internal dependencies carry no version,
//! and each crate README has the skeleton headings.

use std::path::{Path, PathBuf};

/// The README headings every library crate has, in this order.
const README_HEADINGS: &[&str] = &[
    "## Example",
    "## Cargo features",
    "## Invariants",
    "## Errors",
    "## Performance",
    "## Limitations",
];

fn root() -> PathBuf {
    crate::project_root()
}

/// Every file under the member folders whose name ends with `suffix`.
fn files(suffix: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = ["crates", "xtask", "benches"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    while let Some(dir) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in read.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            if path.is_dir() {
                if name != "target" && !name.to_string_lossy().starts_with('.') {
                    stack.push(path);
                }
            } else if name.to_string_lossy().ends_with(suffix) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

fn report(rule: &str, offenders: Vec<String>) {
    assert!(
        offenders.is_empty(),
        "{rule}:\n  {}",
        offenders.join("\n  ")
    );
}

/// The first line that is not blank; the rule is "the file opens with `//!`".
/// (`#![doc = ..]` counts: a crate root that includes its README as its documentation).
fn opens_with_module_doc(text: &str) -> bool {
    text.lines()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|l| {
            let l = l.trim_start();
            l.starts_with("//!") || l.starts_with("#![doc")
        })
}

#[test]
fn every_rust_file_opens_with_a_module_doc() {
    let offenders = files(".rs")
        .into_iter()
        .filter(|p| !opens_with_module_doc(&read(p)))
        .map(|p| relative(&p))
        .collect();
    report("files without a leading `//!` doc", offenders);
}

#[test]
fn no_debug_macro_is_left_behind() {
    let needle = concat!("db", "g!(");
    let offenders = files(".rs")
        .into_iter()
        .flat_map(|p| {
            read(&p)
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains(needle))
                .map(|(i, _)| format!("{}:{}", relative(&p), i + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    report("debug macro calls", offenders);
}

/// The `[section]` a manifest line belongs to, with the line.
fn sections(manifest: &str) -> Vec<(String, String)> {
    let mut section = String::new();
    let mut out = Vec::new();
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.to_owned();
        } else if !t.is_empty() && !t.starts_with('#') {
            out.push((section.clone(), t.to_owned()));
        }
    }
    out
}

fn member_manifests() -> Vec<PathBuf> {
    files("Cargo.toml")
}

#[test]
fn every_crate_opts_into_the_workspace_lints() {
    let offenders = member_manifests()
        .into_iter()
        .filter(|p| {
            !sections(&read(p))
                .iter()
                .any(|(s, l)| s == "[lints]" && l.replace(' ', "") == "workspace=true")
        })
        .map(|p| relative(&p))
        .collect();
    report("manifests without `[lints] workspace = true`", offenders);
}

/// A dependency line naming an internal crate with a version.
fn versioned_internal_dependency(section: &str, line: &str) -> bool {
    section.contains("dependencies")
        && (line.starts_with("broadcast-")
            || line.starts_with("broadcast =")
            || line.starts_with("broadcast."))
        && line.contains("version")
        && !line.contains("version.workspace")
}

#[test]
fn internal_dependencies_carry_no_version() {
    let mut manifests = member_manifests();
    manifests.push(root().join("Cargo.toml"));
    let offenders = manifests
        .into_iter()
        .flat_map(|p| {
            sections(&read(&p))
                .into_iter()
                .filter(|(s, l)| versioned_internal_dependency(s, l))
                .map(|(_, l)| format!("{}: {l}", relative(&p)))
                .collect::<Vec<_>>()
        })
        .collect();
    report("internal dependencies with a version", offenders);
}

/// Missing or out-of-order skeleton headings of one README.
fn readme_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.lines().next().is_some_and(|l| l.starts_with("# ")) {
        problems.push("first line is not `# <crate>`".to_owned());
    }
    let mut last = 0;
    for heading in README_HEADINGS {
        match text.lines().position(|l| l.trim_end() == *heading) {
            None => problems.push(format!("missing `{heading}`")),
            Some(at) if at < last => problems.push(format!("`{heading}` out of order")),
            Some(at) => last = at,
        }
    }
    problems
}

#[test]
fn crate_readmes_have_the_skeleton_headings() {
    let offenders = std::fs::read_dir(root().join("crates"))
        .expect("crates/ exists")
        .flatten()
        .map(|e| e.path().join("README.md"))
        .filter(|p| p.exists())
        .flat_map(|p| {
            readme_problems(&read(&p))
                .into_iter()
                .map(move |m| format!("{}: {m}", relative(&p)))
        })
        .collect();
    report("crate READMEs", offenders);
}

#[test]
fn the_rules_reject_what_they_should() {
    assert!(opens_with_module_doc("\n//! doc\nfn f() {}"));
    assert!(!opens_with_module_doc("// comment\n//! doc"));
    assert!(opens_with_module_doc(
        "#![doc = include_str!(\"../README.md\")]\n"
    ));
    assert!(versioned_internal_dependency(
        "[dependencies]",
        r#"broadcast-pool = { path = "../pool", version = "0.1" }"#
    ));
    assert!(!versioned_internal_dependency(
        "[dependencies]",
        "broadcast-pool.workspace = true"
    ));
    assert!(!versioned_internal_dependency(
        "[package]",
        r#"broadcast-x = { version = "1" }"#
    ));
    let good = "# pool\n\nA pool.\n\n## Example\n## Cargo features\n## Invariants\n## Errors\n## Performance\n## Limitations\n";
    assert!(readme_problems(good).is_empty());
    let swapped = good.replace("## Errors\n## Performance", "## Performance\n## Errors");
    assert_eq!(
        readme_problems(&swapped),
        vec!["`## Performance` out of order"]
    );
    assert_eq!(readme_problems("pool\n"), {
        let mut v = vec!["first line is not `# <crate>`".to_owned()];
        v.extend(README_HEADINGS.iter().map(|h| format!("missing `{h}`")));
        v
    });
}
