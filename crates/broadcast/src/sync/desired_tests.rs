//! Table tests of [`desired_state`]: one row per rule.

use std::collections::{BTreeMap, HashMap};

use broadcast_git_batch::{ObjectId, ObjectKind, TreeEntry, blob_oid};
use broadcast_transform::{RepoSlug, TransformSpec};
use bytes::Bytes;

use super::*;

const FILE: u32 = 0o100644;

fn entry(path: &str, mode: u32, content: &[u8]) -> TreeEntry {
    TreeEntry {
        mode,
        kind: if mode == MODE_GITLINK {
            ObjectKind::Commit
        } else {
            ObjectKind::Blob
        },
        oid: blob_oid(content),
        path: path.to_owned(),
    }
}

fn tree(files: &[(&str, &str)]) -> BTreeMap<String, TreeEntry> {
    files
        .iter()
        .map(|(p, c)| {
            let mode = if *c == "<submodule>" {
                MODE_GITLINK
            } else {
                FILE
            };
            ((*p).to_owned(), entry(p, mode, c.as_bytes()))
        })
        .collect()
}

fn source(files: &[(&str, &str)]) -> SourceTree {
    let entries = tree(files);
    let blobs: HashMap<ObjectId, Bytes> = files
        .iter()
        .map(|(_, c)| (blob_oid(c.as_bytes()), Bytes::from(c.as_bytes().to_vec())))
        .collect();
    SourceTree {
        commit: blob_oid(b"commit"),
        display: "acme/template".to_owned(),
        entries,
        sizes: blobs.iter().map(|(k, v)| (*k, v.len() as u64)).collect(),
        blobs,
        objects: None,
        slug: RepoSlug::new("acme", "template"),
    }
}

fn file(src: &str, dest: &str) -> MappingPlan {
    MappingPlan::File {
        field: format!("files[{src}]"),
        src: src.to_owned(),
        dest: dest.to_owned(),
        transform: TransformSpec::default(),
    }
}

struct Dir {
    src: &'static str,
    dest: &'static str,
    exclude: Option<Vec<String>>,
    include_only: Vec<String>,
    flatten: bool,
    hidden: bool,
    orphans: bool,
    vars: Vec<(&'static str, &'static str)>,
}

fn dir(src: &'static str, dest: &'static str) -> Dir {
    Dir {
        src,
        dest,
        exclude: Some(Vec::new()),
        include_only: Vec::new(),
        flatten: false,
        hidden: true,
        orphans: false,
        vars: Vec::new(),
    }
}

impl Dir {
    fn exclude(mut self, globs: &[&str]) -> Self {
        self.exclude = Some(globs.iter().map(|g| (*g).to_owned()).collect());
        self
    }
    fn orphans(mut self) -> Self {
        self.orphans = true;
        self
    }
    fn flatten(mut self) -> Self {
        self.flatten = true;
        self
    }
    fn no_hidden(mut self) -> Self {
        self.hidden = false;
        self
    }
    fn var(mut self, k: &'static str, v: &'static str) -> Self {
        self.vars.push((k, v));
        self
    }
    fn plan(self) -> MappingPlan {
        MappingPlan::Directory {
            field: format!("directories[{}]", self.dest),
            src: self.src.to_owned(),
            dest: self.dest.to_owned(),
            exclude: self.exclude,
            include_only: self.include_only,
            preserve_structure: !self.flatten,
            include_hidden: self.hidden,
            delete_orphaned: self.orphans,
            transform: TransformSpec {
                variables: self
                    .vars
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
                ..TransformSpec::default()
            },
        }
    }
}

fn delete_dir(dest: &str, exclude: Option<&[&str]>) -> MappingPlan {
    MappingPlan::DeleteDirectory {
        field: format!("directories[{dest}]"),
        dest: dest.to_owned(),
        exclude: exclude.map(|e| e.iter().map(|g| (*g).to_owned()).collect()),
        include_only: Vec::new(),
    }
}

fn delete_file(dest: &str) -> MappingPlan {
    MappingPlan::DeleteFile {
        field: format!("files[{dest}]"),
        dest: dest.to_owned(),
    }
}

enum Want {
    /// Desired paths, deleted paths, and one substring per expected warning.
    Ok(
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ),
    /// A substring of the error.
    Err(&'static str),
}

struct Case {
    name: &'static str,
    source: &'static [(&'static str, &'static str)],
    base: &'static [(&'static str, &'static str)],
    mappings: Vec<MappingPlan>,
    want: Want,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "file mapping adds the file",
            source: &[("Makefile", "all:\n")],
            base: &[],
            mappings: vec![file("Makefile", "Makefile")],
            want: Want::Ok(&["Makefile"], &[], &[]),
        },
        Case {
            name: "orphans: a file the source no longer has is deleted",
            source: &[("ci/a.yml", "a")],
            base: &[("ci/a.yml", "a"), ("ci/old.yml", "o")],
            mappings: vec![dir("ci", "ci").orphans().plan()],
            want: Want::Ok(&["ci/a.yml"], &["ci/old.yml"], &[]),
        },
        Case {
            name: "orphans: without delete_orphaned nothing is deleted",
            source: &[("ci/a.yml", "a")],
            base: &[("ci/a.yml", "a"), ("ci/old.yml", "o")],
            mappings: vec![dir("ci", "ci").plan()],
            want: Want::Ok(&["ci/a.yml"], &[], &[]),
        },
        Case {
            name: "orphans: excluded paths are never owned, so never deleted",
            source: &[("ci/a.yml", "a")],
            base: &[("ci/a.yml", "a"), ("ci/local.yml", "mine")],
            mappings: vec![dir("ci", "ci").exclude(&["local.yml"]).orphans().plan()],
            want: Want::Ok(&["ci/a.yml"], &[], &[]),
        },
        Case {
            name: "orphans: hidden files are not owned when include_hidden is false",
            source: &[("ci/a.yml", "a")],
            base: &[("ci/a.yml", "a"), ("ci/.keep", "")],
            mappings: vec![dir("ci", "ci").no_hidden().orphans().plan()],
            want: Want::Ok(&["ci/a.yml"], &[], &[]),
        },
        Case {
            name: "orphans: a rename in the source is a delete plus an add",
            source: &[("ci/new.yml", "x")],
            base: &[("ci/old.yml", "x")],
            mappings: vec![dir("ci", "ci").orphans().plan()],
            want: Want::Ok(&["ci/new.yml"], &["ci/old.yml"], &[]),
        },
        Case {
            name: "orphans: files outside the mapping's dest are untouched",
            source: &[("ci/a.yml", "a")],
            base: &[("ci/a.yml", "a"), ("cix/b.yml", "b"), ("other.txt", "o")],
            mappings: vec![dir("ci", "ci").orphans().plan()],
            want: Want::Ok(&["ci/a.yml"], &[], &[]),
        },
        Case {
            name: "orphans: a flattened mapping owns only the files directly in dest",
            source: &[("src/x/a.md", "a")],
            base: &[
                ("docs/a.md", "a"),
                ("docs/b.md", "b"),
                ("docs/sub/c.md", "c"),
            ],
            mappings: vec![dir("src", "docs").flatten().orphans().plan()],
            want: Want::Ok(&["docs/a.md"], &["docs/b.md"], &[]),
        },
        Case {
            name: "orphans: a path another mapping still writes is kept",
            source: &[("ci/a.yml", "a"), ("extra.yml", "e")],
            base: &[("ci/a.yml", "a"), ("ci/extra.yml", "e")],
            mappings: vec![
                dir("ci", "ci").orphans().plan(),
                file("extra.yml", "ci/extra.yml"),
            ],
            want: Want::Ok(&["ci/a.yml", "ci/extra.yml"], &[], &[]),
        },
        Case {
            name: "conflict: a target file where the source maps a directory is replaced",
            source: &[("docs/a.md", "a")],
            base: &[("docs", "a file")],
            mappings: vec![dir("docs", "docs").plan()],
            want: Want::Ok(&["docs/a.md"], &["docs"], &["docs: a file in the target"]),
        },
        Case {
            name: "conflict: a target directory where the source maps a file is replaced",
            source: &[("docs", "now a file")],
            base: &[("docs/a.md", "a"), ("docs/b/c.md", "c"), ("docsx", "x")],
            mappings: vec![file("docs", "docs")],
            want: Want::Ok(
                &["docs"],
                &["docs/a.md", "docs/b/c.md"],
                &["docs: a directory in the target"],
            ),
        },
        Case {
            name: "conflict: deep ancestor file is replaced",
            source: &[("a/b/c.txt", "c")],
            base: &[("a", "file")],
            mappings: vec![dir("a", "a").plan()],
            want: Want::Ok(&["a/b/c.txt"], &["a"], &["a: a file in the target"]),
        },
        Case {
            name: "conflict: two mappings making one path a file and a directory fail",
            source: &[("conf", "c"), ("d/sub", "s")],
            base: &[],
            mappings: vec![file("conf", "conf"), dir("d", "conf").plan()],
            want: Want::Err("'conf' is both a file"),
        },
        Case {
            name: "delete: a directory without filters goes whole",
            source: &[("x", "x")],
            base: &[("old/a", "a"), ("old/keep.local", "k"), ("oldx", "o")],
            mappings: vec![delete_dir("old", None)],
            want: Want::Ok(&[], &["old/a", "old/keep.local"], &[]),
        },
        Case {
            name: "delete: with exclude, excluded paths are kept",
            source: &[("x", "x")],
            base: &[("old/a", "a"), ("old/keep.local", "k")],
            mappings: vec![delete_dir("old", Some(&["*.local"]))],
            want: Want::Ok(&[], &["old/a"], &[]),
        },
        Case {
            name: "delete: a file mapping removes a file that exists",
            source: &[("x", "x")],
            base: &[("gone.txt", "g")],
            mappings: vec![delete_file("gone.txt"), delete_file("absent.txt")],
            want: Want::Ok(&[], &["gone.txt"], &[]),
        },
        Case {
            name: "delete: a directory delete never removes what another mapping copies",
            source: &[("Makefile", "m")],
            base: &[("docs/a.md", "a"), ("docs/Makefile", "old")],
            mappings: vec![file("Makefile", "docs/Makefile"), delete_dir("docs", None)],
            want: Want::Ok(
                &["docs/Makefile"],
                &["docs/a.md"],
                &[
                    "docs/Makefile: deleted by directories[docs] but written by files[Makefile]; the copy wins",
                ],
            ),
        },
        Case {
            name: "delete: a file delete never removes what another mapping copies",
            source: &[("a", "a")],
            base: &[],
            mappings: vec![file("a", "x"), delete_file("x")],
            want: Want::Ok(
                &["x"],
                &[],
                &["x: deleted by files[x] but written by files[a]"],
            ),
        },
        Case {
            name: "delete then copy: a later mapping brings the file back",
            source: &[("a", "a")],
            base: &[("a", "old")],
            mappings: vec![delete_file("a"), file("a", "a")],
            want: Want::Ok(&["a"], &[], &[]),
        },
        Case {
            name: "case: paths that differ only in case warn, naming both",
            source: &[("Readme.md", "r")],
            base: &[("README.md", "R")],
            mappings: vec![file("Readme.md", "Readme.md")],
            want: Want::Ok(
                &["Readme.md"],
                &[],
                &["README.md and Readme.md: paths differ only in case"],
            ),
        },
        Case {
            name: "case: the same path is no clash",
            source: &[("README.md", "r")],
            base: &[("README.md", "R")],
            mappings: vec![file("README.md", "README.md")],
            want: Want::Ok(&["README.md"], &[], &[]),
        },
        Case {
            name: "case: a clash the sync does not touch is not reported",
            source: &[("a", "a")],
            base: &[("X", "x"), ("x", "x")],
            mappings: vec![file("a", "a")],
            want: Want::Ok(&["a"], &[], &[]),
        },
        Case {
            name: "submodule: a file mapping naming a gitlink fails with a clear message",
            source: &[("vendor/lib", "<submodule>")],
            base: &[],
            mappings: vec![file("vendor/lib", "lib")],
            want: Want::Err("is a submodule"),
        },
        Case {
            name: "submodule: a file mapping reaching inside a submodule fails naming it",
            source: &[("vendor/lib", "<submodule>")],
            base: &[],
            mappings: vec![file("vendor/lib/README", "README")],
            want: Want::Err("is inside submodule 'vendor/lib'"),
        },
        Case {
            name: "submodule: a directory mapping skips it with a warning",
            source: &[("vendor/lib", "<submodule>"), ("vendor/a", "a")],
            base: &[],
            mappings: vec![dir("vendor", "vendor").plan()],
            want: Want::Ok(
                &["vendor/a"],
                &[],
                &["submodule 'vendor/lib' (gitlink, mode 160000) is skipped"],
            ),
        },
        Case {
            name: "overlap: a later mapping wins, with a warning",
            source: &[("a", "1"), ("b", "2")],
            base: &[],
            mappings: vec![file("a", "x"), file("b", "x")],
            want: Want::Ok(
                &["x"],
                &[],
                &["x: mapped by files[a] and files[b]; files[b] wins"],
            ),
        },
        Case {
            name: "missing: a file mapping whose source is absent fails naming the field",
            source: &[("a", "1")],
            base: &[],
            mappings: vec![file("nope", "nope")],
            want: Want::Err("files[nope].src: 'nope' not found"),
        },
        Case {
            name: "missing: an empty source directory fails naming the field",
            source: &[("a", "1")],
            base: &[],
            mappings: vec![dir("nope", "x").plan()],
            want: Want::Err("directories[x].src: directory 'nope' not found"),
        },
        Case {
            name: "flatten: two files with one basename fail",
            source: &[("d/a/x", "1"), ("d/b/x", "2")],
            base: &[],
            mappings: vec![dir("d", "o").flatten().plan()],
            want: Want::Err("maps both 'a/x' and 'b/x' to 'x'"),
        },
        Case {
            name: "variables: a placeholder without a value warns",
            source: &[("t/a.txt", "{{NAME}} {{OTHER}}")],
            base: &[],
            mappings: vec![dir("t", "t").var("NAME", "svc").plan()],
            want: Want::Ok(
                &["t/a.txt"],
                &[],
                &["t/a.txt: placeholder 'OTHER' has no value"],
            ),
        },
        Case {
            name: "variables: a UTF-8 byte-order mark is not taken for UTF-16",
            source: &[("t/a.txt", "\u{FEFF}{{NAME}}")],
            base: &[],
            mappings: vec![dir("t", "t").var("NAME", "svc").plan()],
            // `utf16_content_is_not_transformed` below covers real UTF-16 bytes.
            want: Want::Ok(&["t/a.txt"], &[], &[]),
        },
    ]
}

fn check(case: &Case) {
    let src = source(case.source);
    let base = tree(case.base);
    let got = desired_state(
        &case.mappings,
        &src,
        &base,
        &RepoSlug::new("acme", "service"),
    );
    match (&case.want, got) {
        (Want::Ok(paths, deletes, warns), Ok(state)) => {
            let got_paths: Vec<&str> = state.entries.keys().map(String::as_str).collect();
            assert_eq!(&got_paths, paths, "{}: desired paths", case.name);
            let got_deletes: Vec<&str> = state.deletes.iter().map(String::as_str).collect();
            assert_eq!(&got_deletes, deletes, "{}: deletions", case.name);
            assert_eq!(
                state.warnings.len(),
                warns.len(),
                "{}: warnings {:?}",
                case.name,
                state.warnings
            );
            for w in *warns {
                assert!(
                    state.warnings.iter().any(|g| g.contains(w)),
                    "{}: no warning contains {w:?}: {:?}",
                    case.name,
                    state.warnings
                );
            }
            // The result is always a valid tree: no path is both a file and a directory.
            super::super::compare::result_tree(&state, &base)
                .unwrap_or_else(|e| panic!("{}: result is no tree: {e}", case.name));
        }
        (Want::Err(needle), Err(e)) => {
            let msg = format!("{e:#}");
            assert!(msg.contains(needle), "{}: error {msg:?}", case.name);
        }
        (Want::Ok(..), Err(e)) => panic!("{}: unexpected error {e:#}", case.name),
        (Want::Err(needle), Ok(state)) => {
            panic!(
                "{}: expected an error with {needle:?}, got {state:?}",
                case.name
            )
        }
    }
}

#[test]
fn rules_table() {
    for case in cases() {
        check(&case);
    }
}

#[test]
fn variables_rewrite_content_and_blob_id() {
    let src = source(&[("t/a.txt", "name={{NAME}}\n")]);
    let state = desired_state(
        &[dir("t", "t").var("NAME", "svc").plan()],
        &src,
        &BTreeMap::new(),
        &RepoSlug::new("acme", "service"),
    )
    .unwrap();
    let d = &state.entries["t/a.txt"];
    assert_eq!(
        d.data,
        Some(NewContent::Memory(Bytes::from_static(b"name=svc\n")))
    );
    assert_eq!(d.oid, blob_oid(b"name=svc\n"));
    assert_eq!(d.src_oid, blob_oid(b"name={{NAME}}\n"));
}

#[test]
fn utf16_content_is_not_transformed() {
    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain("{{NAME}}".encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let mut src = source(&[]);
    let e = entry("t/a.txt", FILE, &utf16);
    src.blobs.insert(e.oid, Bytes::from(utf16.clone()));
    src.entries.insert(e.path.clone(), e);
    let state = desired_state(
        &[dir("t", "t").var("NAME", "svc").plan()],
        &src,
        &BTreeMap::new(),
        &RepoSlug::new("acme", "service"),
    )
    .unwrap();
    assert_eq!(state.entries["t/a.txt"].data, None);
    assert_eq!(state.warnings.len(), 1, "{:?}", state.warnings);
    assert_eq!(
        state.warnings,
        ["t/a.txt: file is UTF-16; transforms not applied"]
    );
}
