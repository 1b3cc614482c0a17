//! Reading a group's source once: the tree of the source branch's commit (`ls-tree -r`) and the
//! content of every blob any target's mappings select (one `cat-file --batch` process).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};
use broadcast_git_batch::{FetchOptions, ObjectId, Repo, TreeEntry};
use broadcast_transform::RepoSlug;
use bytes::Bytes;

use super::desired::SourceTree;
use super::{Engine, local_git_dir};
use crate::plan::{GroupPlan, MappingPlan};
use crate::repo::RepoRef;

/// The source of a group as every target of it sees it.
pub(crate) struct SourceSnapshot {
    /// Tree, blobs and names.
    pub tree: SourceTree,
    /// The object store (for the alternates of scratch repositories).
    pub objects_dir: PathBuf,
    /// git processes spawned to read it.
    pub git_spawns: u64,
}

/// Reads the source of `group`; `dir` is the group's scratch directory (a remote source is
/// fetched there, depth 1).
///
/// Errors: a missing local repository (naming the field), a failed fetch, a missing branch, a
/// git failure.
pub(crate) fn read_source(
    group: &GroupPlan,
    engine: &Engine,
    dir: &Path,
) -> anyhow::Result<SourceSnapshot> {
    let forge = engine.opts.forges.for_repo(&group.source)?;
    let remote = forge.git_remote(&group.source)?;
    let git = engine.git(&remote.config);
    let branch_ref = format!("refs/heads/{}", group.source_branch);
    let repo: Repo = match &group.source {
        RepoRef::Local { path } => {
            if !path.exists() {
                bail!(
                    "{}.source.repo: no repository at {} (relative paths resolve against the config file's directory)",
                    group.field,
                    path.display()
                );
            }
            git.open(&local_git_dir(path))
        }
        RepoRef::GitHub { .. } => {
            let repo = git.create_bare(&dir.join("source.git"))?;
            repo.fetch(
                &remote.url,
                &[format!("+{branch_ref}:{branch_ref}")],
                &FetchOptions {
                    depth: Some(1),
                    filter: None,
                    no_tags: true,
                    shallow_exclude: None,
                },
            )
            .with_context(|| {
                format!(
                    "cannot fetch branch '{}' of source {}",
                    group.source_branch, group.source_display
                )
            })?;
            repo
        }
    };
    let commit = repo
        .rev_parse(&format!("{branch_ref}^{{commit}}"))?
        .ok_or_else(|| {
            anyhow!(
                "{}.source.branch: branch '{}' not found in source {}",
                group.field,
                group.source_branch,
                group.source_display
            )
        })?;
    let entries: BTreeMap<String, TreeEntry> = repo
        .ls_tree(&commit.to_string())?
        .into_iter()
        .map(|e| (e.path.clone(), e))
        .collect();
    let mut tree = SourceTree {
        commit,
        display: group.source_display.clone(),
        entries,
        blobs: HashMap::new(),
        slug: {
            let (owner, name) = group.source.slug();
            RepoSlug { owner, name }
        },
    };
    let wanted = wanted_blobs(group, &tree);
    if !wanted.is_empty() {
        let mut cat = repo.cat_file()?;
        tree.blobs = cat
            .read_many(&wanted)?
            .into_iter()
            .map(|obj| (obj.oid, Bytes::from(obj.data)))
            .collect();
    }
    let objects_dir = std::path::absolute(repo.git_dir().join("objects"))
        .unwrap_or_else(|_| repo.git_dir().join("objects"));
    Ok(SourceSnapshot {
        tree,
        objects_dir,
        git_spawns: git.spawn_count(),
    })
}

/// Every blob a mapping of any target selects. Submodules (gitlinks) and trees are never read:
/// their ids name no blob, and the mapping that names one fails on its own target.
fn wanted_blobs(group: &GroupPlan, tree: &SourceTree) -> Vec<ObjectId> {
    let is_blob = |e: &TreeEntry| e.entry_mode().is_some_and(|m| m.is_blob());
    let mut wanted: BTreeSet<ObjectId> = BTreeSet::new();
    for m in group.targets.iter().flat_map(|t| &t.mappings) {
        match m {
            MappingPlan::File { src, .. } => {
                if let Some(e) = tree.entries.get(src).filter(|e| is_blob(e)) {
                    wanted.insert(e.oid);
                }
            }
            MappingPlan::Directory { src, .. } => {
                wanted.extend(
                    tree.entries_under(src)
                        .filter(|e| is_blob(e))
                        .map(|e| e.oid),
                );
            }
            MappingPlan::DeleteFile { .. } | MappingPlan::DeleteDirectory { .. } => {}
        }
    }
    wanted.into_iter().collect()
}
