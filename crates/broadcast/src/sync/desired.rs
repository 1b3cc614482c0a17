//! The desired state of one target: a pure function of the target's mappings, the source tree
//! (with the contents of its mapped blobs) and the target's base tree.
//!
//! No I/O happens here except for transformed blobs above the streaming threshold, which
//! stream through [`SourceObjects`] ([`super::blob_stream`]): git is read before
//! ([`super::source`], [`super::target`]) and written after ([`super::write`]). Everything this module decides is covered by the table tests below:
//! ownership and orphan deletion, file/directory conflicts, `delete` with filters, case-only
//! clashes, transforms and their warnings.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use broadcast_git_batch::{EntryMode, ObjectId, TreeEntry, blob_oid};
use broadcast_transform::{PathFilter, RepoSlug, TransformSpec, Transformer};
use bytes::Bytes;

use super::blob_stream::{SourceObjects, SpooledBlob, Streamed};
use crate::plan::MappingPlan;

/// git tree mode of a subdirectory (git-ls-tree(1)).
pub(crate) const MODE_TREE: u32 = EntryMode::Tree.bits();
/// git tree mode of a submodule commit (gitlink).
pub(crate) const MODE_GITLINK: u32 = EntryMode::Gitlink.bits();
/// git tree mode of a symbolic link.
pub(crate) const MODE_SYMLINK: u32 = EntryMode::Symlink.bits();

/// The source side of a group, as the desired state needs it.
pub(crate) struct SourceTree {
    /// Source commit (for messages).
    pub commit: ObjectId,
    /// Source repository as written in the config (for messages).
    pub display: String,
    /// Every entry of the source commit's tree (`ls-tree -r`), by path.
    pub entries: BTreeMap<String, TreeEntry>,
    /// Contents of the blobs a transform may read that are at most the streaming threshold
    /// ([`super::blob_stream::STREAM_THRESHOLD_BYTES`]); blobs copied as is are not read.
    pub blobs: HashMap<ObjectId, Bytes>,
    /// Size in bytes of every blob a mapping selects (`cat-file` `info`).
    pub sizes: HashMap<ObjectId, u64>,
    /// The source's objects, for blobs that are not in `blobs` (streamed transforms, copies
    /// into a target); `None` in tests that hold every blob in `blobs`.
    pub objects: Option<Arc<SourceObjects>>,
    /// `owner/name` of the source, for `repo_name` transforms.
    pub slug: RepoSlug,
}

impl SourceTree {
    /// The entries under directory `dir` (`""` = every entry), in path order.
    pub(crate) fn entries_under<'a>(&'a self, dir: &str) -> impl Iterator<Item = &'a TreeEntry> {
        under(&self.entries, dir).map(|(_, e)| e)
    }

    fn short_commit(&self) -> String {
        self.commit.to_string()[..7].to_owned()
    }
}

/// The `(path, entry)` pairs of `entries` strictly under directory `dir` (`""` = all).
pub(crate) fn under<'a, V>(
    entries: &'a BTreeMap<String, V>,
    dir: &str,
) -> impl Iterator<Item = (&'a String, &'a V)> {
    let prefix = if dir.is_empty() {
        String::new()
    } else {
        format!("{dir}/")
    };
    entries
        .range(prefix.clone()..)
        .take_while(move |(p, _)| p.starts_with(&prefix))
}

/// The entry a target should have at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Desired {
    /// git tree mode (`0o100644`, `0o100755`, `0o120000`).
    pub mode: u32,
    /// Blob id of the content the target should have.
    pub oid: ObjectId,
    /// Content when a transform produced new bytes (else the source blob is used as is).
    pub data: Option<NewContent>,
    /// The source blob, for sizes and diffs.
    pub src_oid: ObjectId,
}

/// Bytes a transform produced.
#[derive(Debug, Clone)]
pub(crate) enum NewContent {
    /// In memory (a source blob at most the streaming threshold).
    Memory(Bytes),
    /// In a temporary file (a larger, streamed blob).
    Spooled(Arc<SpooledBlob>),
}

impl NewContent {
    /// Length in bytes.
    pub(crate) fn len(&self) -> u64 {
        match self {
            NewContent::Memory(b) => b.len() as u64,
            NewContent::Spooled(s) => s.len(),
        }
    }
}

impl PartialEq for NewContent {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (NewContent::Memory(a), NewContent::Memory(b)) => a == b,
            (NewContent::Spooled(a), NewContent::Spooled(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl Eq for NewContent {}

/// What a target should look like relative to its base tree.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct DesiredState {
    /// Paths the target should have, with their content.
    pub entries: BTreeMap<String, Desired>,
    /// Paths of the base tree to remove (never a key of `entries`).
    pub deletes: BTreeSet<String>,
    /// Non-fatal notes for the report, sorted, without duplicates.
    pub warnings: Vec<String>,
}

/// A directory a mapping owns: base files under `dest` that pass `filter` and that the source no
/// longer maps are deleted (`delete_orphaned: true`).
struct OwnedScope {
    dest: String,
    filter: PathFilter,
    flatten: bool,
}

/// Mapping outputs by destination path: (source entry, transformer index, mapping field).
type Items<'a> = BTreeMap<String, (&'a TreeEntry, usize, &'a str)>;

/// Computes the desired state of one target.
///
/// `mappings` apply in order (a later mapping wins on the same destination path, with a
/// warning); `base` is the target's base tree (`ls-tree -r`, blobs and gitlinks only) and is
/// empty for an empty repository.
///
/// Errors name the mapping's field: a missing source path, a file mapping naming a directory or
/// submodule, an invalid glob, a flattening collision, a path that would be both a file and a
/// directory in the result.
pub(crate) fn desired_state(
    mappings: &[MappingPlan],
    source: &SourceTree,
    base: &BTreeMap<String, TreeEntry>,
    target_slug: &RepoSlug,
) -> anyhow::Result<DesiredState> {
    let mut b = Builder {
        source,
        base,
        transformers: Transformers::new(&source.slug, target_slug),
        items: BTreeMap::new(),
        deletes: BTreeSet::new(),
        owned: Vec::new(),
        warnings: Vec::new(),
    };
    for m in mappings {
        match m {
            MappingPlan::File {
                field,
                src,
                dest,
                transform,
            } => b.file(field, src, dest, transform)?,
            MappingPlan::Directory { .. } => b.directory(m)?,
            MappingPlan::DeleteFile { field, dest } => {
                b.keep_copy(field, dest);
                if base.contains_key(dest) {
                    b.deletes.insert(dest.clone());
                }
            }
            MappingPlan::DeleteDirectory {
                field,
                dest,
                exclude,
                include_only,
            } => b.delete_directory(field, dest, exclude.as_deref(), include_only)?,
        }
    }
    b.finish()
}

/// The state of [`desired_state`] while it walks the mappings.
struct Builder<'a> {
    source: &'a SourceTree,
    base: &'a BTreeMap<String, TreeEntry>,
    transformers: Transformers<'a>,
    items: Items<'a>,
    deletes: BTreeSet<String>,
    owned: Vec<OwnedScope>,
    warnings: Vec<String>,
}

impl<'a> Builder<'a> {
    /// Records `item` at `dest`; a different mapping already there loses, with a warning.
    fn place(&mut self, dest: String, item: (&'a TreeEntry, usize, &'a str)) {
        self.deletes.remove(&dest);
        if let Some(prev) = self.items.get(&dest)
            && prev.2 != item.2
        {
            self.warnings.push(format!(
                "{dest}: mapped by {} and {}; {} wins",
                prev.2, item.2, item.2
            ));
        }
        self.items.insert(dest, item);
    }

    /// A deletion never removes what a copying mapping of the same target writes: the copy
    /// wins, with a warning naming both (the base's file is still replaced by the copy).
    fn keep_copy(&mut self, field: &str, path: &str) {
        if let Some((_, _, by)) = self.items.get(path) {
            self.warnings.push(format!(
                "{path}: deleted by {field} but written by {by}; the copy wins"
            ));
        }
    }

    fn file(
        &mut self,
        field: &'a str,
        src: &str,
        dest: &str,
        transform: &TransformSpec,
    ) -> anyhow::Result<()> {
        let source = self.source;
        if let Some(sub) = submodule_at_or_above(&source.entries, src) {
            return Err(submodule_error(field, src, sub, &source.display));
        }
        let e = source.entries.get(src).ok_or_else(|| {
            anyhow!(
                "{field}.src: '{src}' not found in source {} at {}",
                source.display,
                source.short_commit()
            )
        })?;
        if e.mode == MODE_TREE {
            bail!("{field}.src: '{src}' is a directory, not a file (use directories:)");
        }
        let ti = self.transformers.index(transform)?;
        self.place(dest.to_owned(), (e, ti, field));
        Ok(())
    }

    fn directory(&mut self, m: &'a MappingPlan) -> anyhow::Result<()> {
        let MappingPlan::Directory {
            field,
            src,
            dest,
            exclude,
            include_only,
            preserve_structure,
            include_hidden,
            delete_orphaned,
            transform,
        } = m
        else {
            unreachable!("called for directory mappings only");
        };
        let source = self.source;
        if !src.is_empty()
            && let Some(sub) = submodule_at_or_above(&source.entries, src)
        {
            return Err(submodule_error(field, src, sub, &source.display));
        }
        let filter = PathFilter::new(exclude.as_deref(), include_only, *include_hidden)
            .with_context(|| format!("{field}: invalid glob"))?;
        let ti = self.transformers.index(transform)?;
        let prefix_len = if src.is_empty() { 0 } else { src.len() + 1 };
        let mut any = false;
        let mut flat_seen: HashMap<String, String> = HashMap::new();
        for e in source.entries_under(src) {
            any = true;
            let rel = &e.path[prefix_len..];
            if !filter.is_included(rel) {
                continue;
            }
            if e.mode == MODE_GITLINK {
                self.warnings.push(format!(
                    "{field}: submodule '{}' (gitlink, mode 160000) is skipped; broadcast copies files, not submodules",
                    e.path
                ));
                continue;
            }
            let out_rel = if *preserve_structure {
                rel.to_owned()
            } else {
                let base = rel.rsplit('/').next().unwrap_or(rel).to_owned();
                if let Some(prev) = flat_seen.insert(base.clone(), rel.to_owned()) {
                    bail!(
                        "{field}: preserve_structure: false maps both '{prev}' and '{rel}' to '{base}'"
                    );
                }
                base
            };
            self.place(join(dest, &out_rel), (e, ti, field));
        }
        if !any {
            bail!(
                "{field}.src: directory '{src}' not found (or empty) in source {} at {}",
                source.display,
                source.short_commit()
            );
        }
        if *delete_orphaned {
            self.owned.push(OwnedScope {
                dest: dest.clone(),
                filter,
                flatten: !*preserve_structure,
            });
        }
        Ok(())
    }

    /// Without filters everything under `dest` goes; with them, only the paths the filters
    /// select (excluded paths are kept).
    fn delete_directory(
        &mut self,
        field: &str,
        dest: &str,
        exclude: Option<&[String]>,
        include_only: &[String],
    ) -> anyhow::Result<()> {
        let filter = if exclude.is_none() && include_only.is_empty() {
            None
        } else {
            Some(
                PathFilter::new(Some(exclude.unwrap_or_default()), include_only, true)
                    .with_context(|| format!("{field}: invalid glob"))?,
            )
        };
        let selected = |rel: &str| filter.as_ref().is_none_or(|f| f.is_included(rel));
        let prefix = if dest.is_empty() {
            String::new()
        } else {
            format!("{dest}/")
        };
        let copied: Vec<String> = under(&self.items, dest)
            .filter(|(p, _)| selected(&p[prefix.len()..]))
            .map(|(p, _)| p.clone())
            .collect();
        for p in copied {
            self.keep_copy(field, &p);
        }
        for (p, _) in under(self.base, dest) {
            if selected(&p[prefix.len()..]) {
                self.deletes.insert(p.clone());
            }
        }
        Ok(())
    }

    /// Transforms, orphans, conflicts, case clashes: the final state.
    fn finish(mut self) -> anyhow::Result<DesiredState> {
        let mut entries: BTreeMap<String, Desired> = BTreeMap::new();
        for (dest, (e, ti, _)) in &self.items {
            let t = &self.transformers.list[*ti];
            let d = desired_entry(dest, e, t, self.source, &mut self.warnings)?;
            entries.insert(dest.clone(), d);
        }
        // Orphans: owned paths of the base tree that no mapping produces any more.
        for scope in &self.owned {
            let prefix_len = if scope.dest.is_empty() {
                0
            } else {
                scope.dest.len() + 1
            };
            for (p, _) in under(self.base, &scope.dest) {
                let rel = &p[prefix_len..];
                let owned = (!scope.flatten || !rel.contains('/')) && scope.filter.is_included(rel);
                if owned && !entries.contains_key(p) {
                    self.deletes.insert(p.clone());
                }
            }
        }
        let (base, items) = (self.base, &self.items);
        resolve_conflicts(&entries, items, base, &mut self.deletes, &mut self.warnings)?;
        self.deletes.retain(|p| !entries.contains_key(p));
        warn_case_clashes(&entries, base, &self.deletes, &mut self.warnings);
        self.warnings.sort();
        self.warnings.dedup();
        Ok(DesiredState {
            entries,
            deletes: self.deletes,
            warnings: self.warnings,
        })
    }
}

/// The submodule (gitlink) at `path` or at a directory above it, if any: its contents are not
/// part of the source tree, so a mapping that reaches into it cannot be served.
fn submodule_at_or_above<'a>(
    entries: &'a BTreeMap<String, TreeEntry>,
    path: &str,
) -> Option<&'a str> {
    let mut at = path;
    loop {
        if let Some(e) = entries.get(at).filter(|e| e.mode == MODE_GITLINK) {
            return Some(e.path.as_str());
        }
        at = &at[..at.rfind('/')?];
    }
}

/// The error of a mapping whose `src` is a submodule or lies inside one.
fn submodule_error(field: &str, src: &str, submodule: &str, source: &str) -> anyhow::Error {
    if submodule == src {
        anyhow!(
            "{field}.src: '{src}' is a submodule (gitlink, mode 160000) in source {source}; broadcast copies files, not submodules"
        )
    } else {
        anyhow!(
            "{field}.src: '{src}' is inside submodule '{submodule}' (gitlink, mode 160000) of source {source}; a submodule's files are not part of the source tree"
        )
    }
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

/// The distinct transformers of one target, compiled once each.
struct Transformers<'a> {
    source: &'a RepoSlug,
    target: &'a RepoSlug,
    list: Vec<(TransformSpec, Transformer)>,
}

impl<'a> Transformers<'a> {
    fn new(source: &'a RepoSlug, target: &'a RepoSlug) -> Self {
        Transformers {
            source,
            target,
            list: Vec::new(),
        }
    }

    fn index(&mut self, spec: &TransformSpec) -> anyhow::Result<usize> {
        if let Some(i) = self.list.iter().position(|(s, _)| s == spec) {
            return Ok(i);
        }
        let t = Transformer::new(spec, self.source, self.target)?;
        self.list.push((spec.clone(), t));
        Ok(self.list.len() - 1)
    }
}

/// The entry for one mapped source file: the source blob as is, or the transform's output.
fn desired_entry(
    dest: &str,
    e: &TreeEntry,
    (spec, t): &(TransformSpec, Transformer),
    source: &SourceTree,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Desired> {
    let as_is = Desired {
        mode: e.mode,
        oid: e.oid,
        data: None,
        src_oid: e.oid,
    };
    if e.mode == MODE_SYMLINK || t.is_identity() {
        return Ok(as_is);
    }
    let whole;
    let content: &[u8] = match (source.blobs.get(&e.oid), &source.objects) {
        (Some(content), _) => content,
        (None, Some(objects)) => {
            // Larger than the threshold: stream it, or read it whole when it cannot stream.
            let streamed = objects
                .transform(e.oid, dest, t, !spec.variables.is_empty())
                .with_context(|| format!("transform of '{}' -> '{dest}'", e.path))?;
            match streamed {
                Streamed::Unchanged => return Ok(as_is),
                Streamed::Changed {
                    oid,
                    blob,
                    unreplaced,
                } => {
                    for v in unreplaced {
                        warnings.push(format!("{dest}: placeholder '{v}' has no value"));
                    }
                    return Ok(Desired {
                        mode: e.mode,
                        oid,
                        data: Some(NewContent::Spooled(blob)),
                        src_oid: e.oid,
                    });
                }
                Streamed::NotStreamable => {
                    whole = objects.read_whole(e.oid)?;
                    &whole
                }
            }
        }
        (None, None) => bail!(
            "internal error: blob {} of '{}' was not read",
            e.oid,
            e.path
        ),
    };
    let applied = t
        .apply_reporting(dest, content)
        .with_context(|| format!("transform of '{}' -> '{dest}'", e.path))?;
    if let Some(w) = applied.warning {
        warnings.push(format!("{dest}: {w}"));
    }
    let out = applied.content;
    if !spec.variables.is_empty() {
        for v in t.unreplaced_variables(&out) {
            warnings.push(format!("{dest}: placeholder '{v}' has no value"));
        }
    }
    Ok(match out {
        std::borrow::Cow::Borrowed(_) => as_is,
        std::borrow::Cow::Owned(v) => Desired {
            mode: e.mode,
            oid: blob_oid(&v),
            data: Some(NewContent::Memory(Bytes::from(v))),
            src_oid: e.oid,
        },
    })
}

#[path = "desired_conflicts.rs"]
mod conflicts;
use conflicts::{resolve_conflicts, warn_case_clashes};

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
