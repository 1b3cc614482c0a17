//! Checks of `files` and `directories` mappings: each mapping on its own, then the destinations
//! of one target together (no two mappings write one path; no file where another mapping needs
//! a directory).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::Issue;
use super::at::At;
use super::fields::normalized;
use super::model::{DirectoryMapping, FileMapping, Target};
use super::validate::issue;

fn check_globs(issues: &mut Vec<Issue>, at: &At<'_>, field: &str, patterns: &[String]) {
    for (i, p) in patterns.iter().enumerate() {
        if let Err(e) = broadcast_transform::validate_glob(p) {
            issue(
                issues,
                at.item(field, i),
                format!("invalid glob {p:?}: {e}"),
            );
        }
    }
}

/// Checks one file mapping; returns its normalized `dest` when that is valid.
pub(super) fn check_file_mapping<'c>(
    issues: &mut Vec<Issue>,
    at: &At<'_>,
    f: &'c FileMapping,
) -> Option<Cow<'c, str>> {
    // A delete entry's src is never read (go-broadcast examples write `src: dummy`).
    if !f.delete {
        if f.src.is_empty() {
            issue(
                issues,
                at.field("src"),
                "must not be empty (only `delete: true` entries may omit src)",
            );
        } else if let Err(e) = normalized(&f.src, false) {
            issue(issues, at.field("src"), e);
        }
    }
    match normalized(&f.dest, false) {
        Ok(dest) => Some(dest),
        Err(e) => {
            issue(issues, at.field("dest"), e);
            None
        }
    }
}

/// `src` and `dest` of a directory mapping must be written out: `.` names the repository root.
/// (An empty or missing `src` used to mean the root, so `directories: [{dest: out}]` copied the
/// whole template into `out/`.) A delete entry needs no `src`.
fn check_dir_required(issues: &mut Vec<Issue>, at: &At<'_>, d: &DirectoryMapping) {
    const ROOT_HINT: &str = "required; use \".\" for the repository root";
    if !d.delete && d.src.trim().is_empty() {
        issue(issues, at.field("src"), ROOT_HINT);
    }
    if d.dest.trim().is_empty() {
        let message = if d.delete { "required" } else { ROOT_HINT };
        issue(issues, at.field("dest"), message);
    }
}

/// `delete_orphaned` deletes what a copying mapping owns; beside `delete: true`, which copies
/// nothing, it means nothing, so the contradiction is refused. (`exclude` and `include_only`
/// beside `delete: true` are fine: excluded paths are kept.)
fn check_delete_filters(issues: &mut Vec<Issue>, at: &At<'_>, d: &DirectoryMapping) {
    if d.delete && d.delete_orphaned {
        issue(
            issues,
            at.field("delete_orphaned"),
            "has no effect with delete: true (which removes the files under dest); remove one of them",
        );
    }
}

/// Checks one directory mapping; returns its normalized `dest` when that is a valid path
/// (`""` for the root).
pub(super) fn check_dir_mapping<'c>(
    issues: &mut Vec<Issue>,
    at: &At<'_>,
    d: &'c DirectoryMapping,
) -> Option<Cow<'c, str>> {
    check_dir_required(issues, at, d);
    check_delete_filters(issues, at, d);
    if !d.delete
        && let Err(e) = normalized(&d.src, true)
    {
        issue(issues, at.field("src"), e);
    }
    let dest = match normalized(&d.dest, true) {
        Err(e) => {
            issue(issues, at.field("dest"), e);
            None
        }
        Ok(n) => {
            if n.is_empty() && d.delete && !d.dest.trim().is_empty() {
                issue(
                    issues,
                    at.field("dest"),
                    "deleting the repository root is not allowed",
                );
            }
            Some(n)
        }
    };
    if let Some(ex) = &d.exclude {
        check_globs(issues, at, "exclude", ex);
    }
    check_globs(issues, at, "include_only", &d.include_only);
    dest
}

/// One valid destination of a target: its normalized path and the mapping that writes it.
#[derive(Debug)]
pub(super) struct Dest<'c> {
    path: Cow<'c, str>,
    /// `directories` (else `files`).
    dir: bool,
    /// Index in `files` or `directories`.
    index: usize,
    delete: bool,
}

impl Dest<'_> {
    /// `<target>.files[i]` or `<target>.directories[i]`.
    fn field(&self, target: &At<'_>) -> String {
        target.item(if self.dir { "directories" } else { "files" }, self.index)
    }
}

/// Checks every mapping of target `t` at `at`, then that no two of them write the same
/// destination and that no file is written where another mapping needs a directory.
/// `dests` is scratch space, cleared first (kept across targets to reuse its buffer).
pub(super) fn check_target_mappings<'c>(
    issues: &mut Vec<Issue>,
    at: &At<'_>,
    t: &'c Target,
    dests: &mut Vec<Dest<'c>>,
) {
    dests.clear();
    let mut seen: BTreeMap<Cow<'c, str>, usize> = BTreeMap::new();
    let mut add = |issues: &mut Vec<Issue>, dests: &mut Vec<Dest<'c>>, dest: Dest<'c>| {
        if let Some(prev) = seen.insert(dest.path.clone(), dests.len()) {
            issue(
                issues,
                At::Root(&dest.field(at)).field("dest"),
                format!(
                    "destination {:?} is already used by {}",
                    dest.path,
                    dests[prev].field(at)
                ),
            );
        }
        dests.push(dest);
    };
    let files = at.field("files");
    for (index, f) in t.files.iter().enumerate() {
        if let Some(path) = check_file_mapping(issues, &files.index(index), f) {
            let dest = Dest {
                path,
                dir: false,
                index,
                delete: f.delete,
            };
            add(issues, dests, dest);
        }
    }
    let dirs = at.field("directories");
    for (index, d) in t.directories.iter().enumerate() {
        if let Some(path) = check_dir_mapping(issues, &dirs.index(index), d) {
            let dest = Dest {
                path,
                dir: true,
                index,
                delete: d.delete,
            };
            add(issues, dests, dest);
        }
    }
    check_file_dir_overlap(issues, at, dests);
}

/// Rejects a file destination that another mapping of the same target needs as a directory
/// (`conf` written by a `files` entry and `conf/sub` by another mapping): git cannot hold both.
/// Delete entries are left out: deleting `conf` and writing `conf/sub/x` is a valid change.
/// `dests` holds the files first, then the directories, each in order.
fn check_file_dir_overlap(issues: &mut Vec<Issue>, at: &At<'_>, dests: &[Dest<'_>]) {
    let written = || dests.iter().filter(|d| !d.delete);
    for dest in written() {
        for file in written().filter(|d| !d.dir) {
            let (path, file_path) = (&*dest.path, &*file.path);
            if path.len() > file_path.len()
                && path.as_bytes()[file_path.len()] == b'/'
                && path.starts_with(file_path)
            {
                issue(
                    issues,
                    At::Root(&dest.field(at)).field("dest"),
                    format!(
                        "destination {path:?} needs {file_path:?} to be a directory, but {} writes {file_path:?} as a file",
                        file.field(at)
                    ),
                );
            }
        }
    }
}
