//! Reading a group's source once: the source branch's commit (from the ref files when they say
//! it plainly, else `rev-parse`), its tree listed recursively, the size of every blob any
//! target's mappings select, and the content of the ones a transform may read that are small
//! enough to hold ([`stream_threshold`]); all through one `cat-file --batch-command` process,
//! kept for the group to stream larger blobs ([`SourceObjects`]).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use anyhow::{Context, anyhow, bail};
use broadcast_git_batch::{CatFile, FetchOptions, Git, ObjectId, ObjectStore, Repo, TreeEntry};
use broadcast_transform::{RepoSlug, TransformSpec};
use bytes::Bytes;

use super::blob_stream::{SourceObjects, stream_threshold};
use super::desired::SourceTree;
use super::in_place::BIG_FILE_THRESHOLD;
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
    /// The source's reader, which also sees the local targets' objects: the read phase lists
    /// their base trees through it.
    pub targets_reader: TargetsReader,
}

/// Largest number of target object stores one reader borrows: git looks an object up in each
/// alternate's packs and loose directory in turn, so one reader for a thousand targets would
/// make every lookup scan a thousand stores (and its environment variable could outgrow the
/// 128 KiB a single one may hold on Linux, execve(2) `MAX_ARG_STRLEN`).
pub(crate) const STORES_PER_READER: usize = 32;

/// A `cat-file` several threads take turns on.
type SharedCat = Arc<Mutex<CatFile>>;

/// Largest total length of one reader's alternates list (bytes), for long paths.
const ALTERNATES_BYTES: usize = 32 << 10;

/// `cat-file` readers that also see the plain local targets' object stores
/// (`GIT_ALTERNATE_OBJECT_DIRECTORIES`, git(1) "ENVIRONMENT"), so the read phase lists those
/// targets' base trees and reads their sync commits through a shared process instead of
/// starting one `cat-file` per target. The stores are split in chunks of at most
/// [`STORES_PER_READER`] in the group's order: the first chunk is borrowed by the source's own
/// reader, each later one by a reader of the source repository started at the first target
/// of the chunk that asks. Objects are named by their content: any store holding an id gives
/// the same bytes. The same holds for the scratch repositories of the write phase, whose
/// alternates are the source's and the target's stores.
pub(crate) struct TargetsReader {
    /// Which chunk each store is in.
    chunk_of: HashMap<PathBuf, usize>,
    /// Per chunk: its stores, and its reader once started (`None`: it could not start).
    chunks: Vec<(Vec<PathBuf>, OnceLock<Option<SharedCat>>)>,
    /// Each target store's own listing, read at its first check.
    own_stores: Mutex<HashMap<PathBuf, Option<Arc<ObjectStore>>>>,
    /// The runner and the repository later chunks' readers are started with.
    git: Git,
    git_dir: PathBuf,
}

impl TargetsReader {
    /// Splits `stores` (in order, without repeats) into chunks.
    fn chunked(stores: Vec<PathBuf>) -> Vec<Vec<PathBuf>> {
        let mut chunks: Vec<Vec<PathBuf>> = Vec::new();
        let mut bytes = 0;
        for store in stores {
            let len = store.as_os_str().len() + 1;
            match chunks.last_mut() {
                Some(last) if last.len() < STORES_PER_READER && bytes + len <= ALTERNATES_BYTES => {
                    bytes += len;
                    last.push(store);
                }
                _ => {
                    bytes = len;
                    chunks.push(vec![store]);
                }
            }
        }
        chunks
    }

    /// `git` with `stores` as its alternates.
    fn borrowing(git: &Git, stores: &[PathBuf]) -> Git {
        let list: Vec<&str> = stores.iter().filter_map(|p| p.to_str()).collect();
        git.clone()
            .with_env("GIT_ALTERNATE_OBJECT_DIRECTORIES", &list.join(":"))
    }

    /// `read` run on the reader whose alternates hold `repo`'s object store, when there is one,
    /// it succeeds, and every id `used` names in its answer (the objects `read` went through)
    /// is listed by `repo`'s own store ([`ObjectStore`]); `None` otherwise, and the caller
    /// reads through the target's own `cat-file`, which reports any error. The check matters:
    /// the reader also sees the other targets' stores and the source's, so without it a target
    /// that lost an object would be read through another store holding the same id. Holds that
    /// reader's lock while `read` runs.
    pub(crate) fn read<T>(
        &self,
        repo: &RepoRef,
        read: impl FnOnce(&mut CatFile) -> broadcast_git_batch::Result<T>,
        used: impl FnOnce(&T) -> Vec<ObjectId>,
    ) -> Option<T> {
        let store = target_store(repo)?;
        let answer = self.read_shared(&store, read)?;
        let own = self.own_store(&store)?;
        used(&answer)
            .into_iter()
            .all(|oid| own.contains(oid))
            .then_some(answer)
    }

    /// `store` read as an [`ObjectStore`], once per run (a target's reads share it); `None`
    /// when it cannot be read or borrows objects itself (`info/alternates`: its own files do
    /// not say what it can read).
    fn own_store(&self, store: &Path) -> Option<Arc<ObjectStore>> {
        let mut known = self
            .own_stores
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        known
            .entry(store.to_owned())
            .or_insert_with(|| {
                if store.join("info/alternates").exists() {
                    return None;
                }
                ObjectStore::open(store).ok().map(Arc::new)
            })
            .clone()
    }

    fn read_shared<T>(
        &self,
        store: &Path,
        read: impl FnOnce(&mut CatFile) -> broadcast_git_batch::Result<T>,
    ) -> Option<T> {
        let (stores, reader) = &self.chunks[*self.chunk_of.get(store)?];
        let cat = reader.get_or_init(|| {
            Self::borrowing(&self.git, stores)
                .open(&self.git_dir)
                .cat_file()
                .ok()
                .map(|c| Arc::new(Mutex::new(c)))
        });
        let mut cat = cat
            .as_ref()?
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        read(&mut cat).ok()
    }
}

/// The object store of a local target as an absolute path that git can take in
/// `GIT_ALTERNATE_OBJECT_DIRECTORIES` unquoted (no `:`, no leading `"`, UTF-8), when it is a
/// plain `objects` directory; `None` otherwise (a remote target, a work tree whose `.git` is a
/// file).
fn target_store(repo: &RepoRef) -> Option<PathBuf> {
    let RepoRef::Local { path } = repo else {
        return None;
    };
    let dir = std::path::absolute(local_git_dir(path).join("objects")).ok()?;
    let text = dir.to_str()?;
    (!text.contains(':') && !text.starts_with('"') && dir.is_dir()).then_some(dir)
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
    // git-config(1): with `core.bigFileThreshold` cat-file streams a packed blob above it
    // instead of inflating it whole (git's default, 512 MiB, holds a 150 MiB blob); the
    // `core.packedGit*` limits bound how much of a pack it maps at once (defaults: 1 GiB
    // windows, 8 GiB in all on 64-bit systems). A loose object is mapped whole whatever the
    // settings, so the streamed paths read loose blobs from their files in process
    // (`SourceObjects`) and ask cat-file only for packed ones.
    let cat_git = git
        .clone()
        .with_config("core.bigFileThreshold", BIG_FILE_THRESHOLD)
        .with_config("core.packedGitWindowSize", "16m")
        .with_config("core.packedGitLimit", "64m");
    let mut seen = HashSet::new();
    let stores: Vec<PathBuf> = group
        .targets
        .iter()
        .filter_map(|t| target_store(&t.repo))
        .filter(|s| seen.insert(s.clone()))
        .collect();
    let chunks = TargetsReader::chunked(stores);
    let first = chunks
        .first()
        .map_or(cat_git.clone(), |c| TargetsReader::borrowing(&cat_git, c));
    let mut cat = first.open(repo.git_dir()).cat_file()?;
    let (commit, listing) = read_branch(&repo, &mut cat, &branch_ref)?.ok_or_else(|| {
        anyhow!(
            "{}.source.branch: branch '{}' not found in source {}",
            group.field,
            group.source_branch,
            group.source_display
        )
    })?;
    let entries: BTreeMap<String, TreeEntry> =
        listing.into_iter().map(|e| (e.path.clone(), e)).collect();
    let mut tree = SourceTree {
        commit,
        display: group.source_display.clone(),
        entries,
        blobs: HashMap::new(),
        sizes: HashMap::new(),
        objects: None,
        slug: {
            let (owner, name) = group.source.slug();
            RepoSlug { owner, name }
        },
    };
    let objects_dir = std::path::absolute(repo.git_dir().join("objects"))
        .unwrap_or_else(|_| repo.git_dir().join("objects"));
    let wanted = wanted_blobs(group, &tree);
    if !wanted.is_empty() {
        let oids: Vec<ObjectId> = wanted.keys().copied().collect();
        tree.sizes = oids
            .iter()
            .zip(cat.info_many(&oids)?)
            .map(|(oid, (_, size))| (*oid, size))
            .collect();
        let threshold = stream_threshold();
        let small: Vec<ObjectId> = wanted
            .iter()
            .filter(|(oid, transformed)| **transformed && tree.sizes[*oid] <= threshold)
            .map(|(oid, _)| *oid)
            .collect();
        tree.blobs = cat
            .read_many(&small)?
            .into_iter()
            .map(|obj| (obj.oid, Bytes::from(obj.data)))
            .collect();
    }
    let cat = Arc::new(Mutex::new(cat));
    if !wanted.is_empty() {
        tree.objects = Some(Arc::new(SourceObjects::new(
            Arc::clone(&cat),
            Some(objects_dir.clone()),
            dir.to_owned(),
        )));
    }
    Ok(SourceSnapshot {
        tree,
        objects_dir,
        git_spawns: git.spawn_count(),
        targets_reader: TargetsReader {
            chunk_of: chunks
                .iter()
                .enumerate()
                .flat_map(|(i, c)| c.iter().map(move |s| (s.clone(), i)))
                .collect(),
            chunks: chunks
                .into_iter()
                .enumerate()
                .map(|(i, c)| {
                    let reader = OnceLock::new();
                    if i == 0 {
                        let _ = reader.set(Some(Arc::clone(&cat)));
                    }
                    (c, reader)
                })
                .collect(),
            own_stores: Mutex::default(),
            git: cat_git,
            git_dir: repo.git_dir().to_owned(),
        },
    })
}

/// The commit `branch_ref` (`refs/heads/<name>`) names, peeled as `<ref>^{commit}`, and every
/// entry of its tree (as `ls-tree -r --full-tree`), or `None` when the branch does not exist.
///
/// The ref is read from the repository's files when they say it plainly and it names a commit
/// ([`super::local_refs::read_ref`]): no spawn, the commit and the listing read through `cat`.
/// Anything else (a tag to peel, a symbolic ref, reftable storage, an absent branch) asks
/// `git rev-parse --verify` (one spawn), then lists through `cat` all the same.
fn read_branch(
    repo: &Repo,
    cat: &mut CatFile,
    branch_ref: &str,
) -> anyhow::Result<Option<(ObjectId, Vec<TreeEntry>)>> {
    let from_files = super::local_refs::read_ref(repo.git_dir(), branch_ref)
        .and_then(|oid| cat.read_commit(oid).ok());
    let (commit, tree) = match from_files {
        Some(c) => (c.oid, c.tree),
        None => match repo.rev_parse(&format!("{branch_ref}^{{commit}}"))? {
            Some(oid) => (oid, cat.read_commit(oid)?.tree),
            None => return Ok(None),
        },
    };
    let entries = cat
        .ls_tree_recursive(tree)
        .with_context(|| format!("cannot list the tree of {commit}"))?;
    Ok(Some((commit, entries)))
}

/// Every blob a mapping of any target selects, with whether a mapping with a transform selects
/// it (only those may need their bytes here). Submodules (gitlinks) and trees are never read:
/// their ids name no blob, and the mapping that names one fails on its own target.
fn wanted_blobs(group: &GroupPlan, tree: &SourceTree) -> BTreeMap<ObjectId, bool> {
    let is_blob = |e: &TreeEntry| e.entry_mode().is_some_and(|m| m.is_blob());
    let mut wanted: BTreeMap<ObjectId, bool> = BTreeMap::new();
    let mut add = |oid: ObjectId, spec: &TransformSpec| {
        *wanted.entry(oid).or_default() |= *spec != TransformSpec::default();
    };
    for m in group.targets.iter().flat_map(|t| &t.mappings) {
        match m {
            MappingPlan::File { src, transform, .. } => {
                if let Some(e) = tree.entries.get(src).filter(|e| is_blob(e)) {
                    add(e.oid, transform);
                }
            }
            MappingPlan::Directory { src, transform, .. } => {
                for e in tree.entries_under(src).filter(|e| is_blob(e)) {
                    add(e.oid, transform);
                }
            }
            MappingPlan::DeleteFile { .. } | MappingPlan::DeleteDirectory { .. } => {}
        }
    }
    wanted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_chunked_by_count_and_by_bytes() {
        let paths = |n: usize, len: usize| -> Vec<PathBuf> {
            (0..n)
                .map(|i| PathBuf::from(format!("/{i:0>width$}", width = len - 1)))
                .collect()
        };
        let sizes = |c: Vec<Vec<PathBuf>>| c.iter().map(Vec::len).collect::<Vec<_>>();
        assert_eq!(
            sizes(TargetsReader::chunked(Vec::new())),
            Vec::<usize>::new()
        );
        assert_eq!(sizes(TargetsReader::chunked(paths(1, 10))), [1]);
        assert_eq!(sizes(TargetsReader::chunked(paths(32, 10))), [32]);
        assert_eq!(sizes(TargetsReader::chunked(paths(70, 10))), [32, 32, 6]);
        // 4 KiB paths: eight of them (plus separators) fill 32 KiB.
        assert_eq!(sizes(TargetsReader::chunked(paths(20, 4096))), [7, 7, 6]);
        // Order is kept.
        let chunks = TargetsReader::chunked(paths(40, 10));
        assert_eq!(chunks.concat(), paths(40, 10));
    }
}
