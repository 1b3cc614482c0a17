//! In-place writes to local targets: the sync commit's objects go straight into the target's
//! object store and the sync branch moves with an expected-old-value check, instead of a
//! scratch repository, a push, `receive-pack`, `index-pack` and a connectivity walk.
//!
//! A push runs the target's receive-side hooks and honours its `receive.*` settings; a write in
//! place would skip them. So a target is written in place only when none of that exists
//! ([`route`], a pure function of [`Facts`] read by [`read_facts`]); otherwise it is pushed as
//! any other target.
//!
//! Safety of the write ([`commit_in_place`]):
//! - the objects are written by one `git fast-import` whose object directory is the target's
//!   (`GIT_OBJECT_DIRECTORY`, git(1) "ENVIRONMENT") while its refs live in a throw-away scratch
//!   repository: nothing in the target changes but a new pack;
//! - the target never borrows objects: every blob the new tree names that the target may lack
//!   is written into it (fast-import skips objects the store already holds), and fast-import
//!   refuses a tree naming a blob it cannot find, so no ref can point at a missing object;
//! - the ref moves last, with `git update-ref <ref> <new> <old>` (a zero `<old>` when the branch
//!   must not exist yet): the same lease a push with `--force-with-lease` gives. A writer that
//!   moved the branch in between wins; broadcast fails the target and leaves the branch alone.
//!   What it wrote is then an unreferenced pack that `git gc` prunes, as after a push whose ref
//!   update fails once its objects are in.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use broadcast_git_batch::{BlobContent, CommitRequest, EntryMode, Git, ObjectId, TreeChange};

/// `core.bigFileThreshold` for the `fast-import` processes of a write (git-config(1)): a blob
/// larger than this is streamed to the pack in 64 KiB pieces instead of being held whole (and
/// is not delta-compressed). git's default, 512 MiB, lets one process hold a 500 MiB file.
pub(crate) const BIG_FILE_THRESHOLD: &str = "16m";

/// Hooks `git receive-pack` runs (githooks(5)); `reference-transaction` runs for any ref update.
pub(crate) const RECEIVE_HOOKS: [&str; 5] = [
    "pre-receive",
    "update",
    "post-receive",
    "reference-transaction",
    "proc-receive",
];

/// Configuration keys (lower-case, as `git config --get-regexp` prints them) that make a push
/// behave differently from a plain ref update: another hooks directory, any `receive.*` rule
/// (`denyNonFastForwards`, `denyCurrentBranch`, `fsckObjects`, ...), object checks on transfer,
/// repository extensions (another object format or ref storage), and
/// `core.sharedRepository` (the permissions of the files git writes; `receive-pack` applies
/// them, a write in place would not).
pub(crate) const RECEIVE_CONFIG_PATTERN: &str =
    r"^(core\.hookspath|core\.sharedrepository|receive\..*|transfer\.fsckobjects|extensions\..*)$";

/// Words (lower-case) without which a repository's own `config` file cannot set a key of
/// [`RECEIVE_CONFIG_PATTERN`], directly or by including another file (`include.path`,
/// `includeIf.<condition>.path`, git-config(1) "Includes"). Key names are letters, digits and
/// `-` and are matched case-insensitively, so a section or key of the pattern always shows one
/// of these words in the file's text.
const RECEIVE_CONFIG_WORDS: [&str; 6] = [
    "include",
    "receive",
    "hookspath",
    "sharedrepository",
    "fsckobjects",
    "extensions",
];

/// Whether a repository's own configuration text (its `config` file) may set a key of
/// [`RECEIVE_CONFIG_PATTERN`], so that only `git config` can say what it resolves to. `false`
/// means the file contributes no such key and the keys set outside the repository decide.
/// Conservative: a comment or value holding one of the words also says `true`.
pub(crate) fn repo_config_may_set_receive_keys(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    RECEIVE_CONFIG_WORDS.iter().any(|w| lower.contains(w))
}

/// The keys of [`RECEIVE_CONFIG_PATTERN`] set outside any repository (system and global files,
/// `GIT_CONFIG_*` and `-c` entries in the environment), read once per run with one spawn of
/// `git config` for a git directory that cannot exist (git then reads no repository file).
/// Shared by the targets whose own `config` file sets none of those keys, so such a target
/// costs no `git config` spawn of its own.
#[derive(Debug, Default)]
pub(crate) struct OutsideReceiveConfig {
    keys: std::sync::OnceLock<Result<Vec<String>, String>>,
}

impl OutsideReceiveConfig {
    /// The keys, read on the first call with `git` (the local targets' runner) next to
    /// `git_dir`. A failure is kept and returned to every later caller as well.
    fn keys(&self, git: &Git, git_dir: &Path) -> anyhow::Result<Vec<String>> {
        let keys = self.keys.get_or_init(|| {
            // Below the file `HEAD`: no directory can be there.
            let nowhere = git_dir.join("HEAD").join("no-repository");
            git.open(&nowhere)
                .config_get_regexp(RECEIVE_CONFIG_PATTERN)
                .map(|entries| entries.into_iter().map(|(k, _)| k).collect())
                .map_err(|e| format!("cannot read the git configuration: {e}"))
        });
        keys.clone().map_err(anyhow::Error::msg)
    }
}

/// What decides how a local target is written.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    /// The git directory has `HEAD` and `objects/` and is not a linked worktree (`commondir`).
    pub plain_layout: bool,
    /// Receive-side hooks present in `hooks/` (names from [`RECEIVE_HOOKS`]).
    pub hooks: Vec<String>,
    /// Matching configuration keys ([`RECEIVE_CONFIG_PATTERN`]).
    pub config_keys: Vec<String>,
    /// The sync branch is checked out in the repository or one of its worktrees.
    pub sync_checked_out: bool,
    /// The git directory belongs to another user than the one this run writes as: a push
    /// leaves git's `safe.directory` rule (git-config(1)) to decide, a write in place would
    /// leave files of this user in it.
    pub foreign_owner: bool,
}

/// How a local target is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// Objects into the target's store, ref moved with a lease.
    InPlace,
    /// A push, so the target's own rules run; the reason is for the log.
    Push(String),
}

/// The rule: in place only when a push would do nothing more than a ref update.
pub(crate) fn route(f: &Facts) -> Route {
    if !f.plain_layout {
        return Route::Push("not a plain git directory".to_owned());
    }
    if f.foreign_owner {
        return Route::Push("owned by another user".to_owned());
    }
    if let Some(h) = f.hooks.first() {
        return Route::Push(format!("has a {h} hook"));
    }
    if let Some(k) = f.config_keys.first() {
        return Route::Push(format!("sets {k}"));
    }
    if f.sync_checked_out {
        return Route::Push("the sync branch is checked out".to_owned());
    }
    Route::InPlace
}

/// Reads the [`Facts`] of the git directory `git_dir` for sync branch `sync_ref`
/// (`refs/heads/...`): file checks, then the receive-side configuration: `outside`'s keys when
/// the repository's own `config` file sets none ([`repo_config_may_set_receive_keys`]), else
/// one `git config --get-regexp` spawn for the repository (skipped when the layout or a hook
/// already decides).
///
/// `run_dir`: a directory this run created (its owner is the user the run writes as).
pub(crate) fn read_facts(
    git: &Git,
    git_dir: &Path,
    sync_ref: &str,
    outside: &OutsideReceiveConfig,
    run_dir: &Path,
) -> anyhow::Result<Facts> {
    let mut f = Facts {
        plain_layout: git_dir.join("HEAD").is_file()
            && git_dir.join("objects").is_dir()
            && !git_dir.join("commondir").exists(),
        foreign_owner: foreign_owner(git_dir, run_dir),
        ..Facts::default()
    };
    f.hooks = RECEIVE_HOOKS
        .iter()
        .filter(|h| git_dir.join("hooks").join(h).exists())
        .map(|h| (*h).to_owned())
        .collect();
    if !f.plain_layout || f.foreign_owner || !f.hooks.is_empty() {
        return Ok(f);
    }
    let checked_out = |head: &Path| {
        std::fs::read_to_string(head)
            .is_ok_and(|s| s.trim().strip_prefix("ref:").map(str::trim) == Some(sync_ref))
    };
    f.sync_checked_out = checked_out(&git_dir.join("HEAD"))
        || std::fs::read_dir(git_dir.join("worktrees")).is_ok_and(|d| {
            d.filter_map(Result::ok)
                .any(|w| checked_out(&w.path().join("HEAD")))
        });
    let own = std::fs::read_to_string(git_dir.join("config"));
    if let Ok(text) = &own
        && !repo_config_may_set_receive_keys(text)
    {
        f.config_keys = outside.keys(git, git_dir)?;
        return Ok(f);
    }
    f.config_keys = git
        .open(git_dir)
        .config_get_regexp(RECEIVE_CONFIG_PATTERN)
        .with_context(|| format!("cannot read the git configuration of {}", git_dir.display()))?
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    Ok(f)
}

/// Whether `git_dir` and its `objects/` directory have another owner than `run_dir` (unix);
/// `false` elsewhere or when either cannot be read (the write then fails on its own).
fn foreign_owner(git_dir: &Path, run_dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let uid = |p: &Path| std::fs::metadata(p).map(|m| m.uid()).ok();
        match uid(run_dir) {
            Some(me) => [git_dir.to_path_buf(), git_dir.join("objects")]
                .iter()
                .any(|p| uid(p).is_some_and(|owner| owner != me)),
            None => false,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (git_dir, run_dir);
        false
    }
}

/// Every blob the commit names by id becomes content when `provide` can give its bytes (in
/// memory or streamed, see [`super::blob_stream::source_blob_content`]), so the target holds
/// it afterwards (fast-import skips the ones it already has). Gitlinks and trees stay
/// references; a blob without bytes stays one too and fast-import refuses it if the target
/// lacks it.
pub(crate) fn own_every_blob(
    changes: &mut [TreeChange],
    provide: impl Fn(ObjectId) -> Option<BlobContent>,
) {
    for c in changes {
        if let TreeChange::Upsert { mode, content, .. } = c
            && EntryMode::from_bits(*mode).is_some_and(|m| m.is_blob())
            && let BlobContent::Existing(oid) = content
            && let Some(provided) = provide(*oid)
        {
            *content = provided;
        }
    }
}

/// The blobs an in-place write of `changes` must carry as data: every blob a changed entry names
/// by id (`BlobContent::Existing`, a blob mode) that is not in `present`. Gitlinks, deletions
/// and entries already carrying their bytes are not listed.
///
/// `present` holds ids the target is known to hold: the blobs of trees its refs reach (its base
/// branch's tree and its sync branch's tree, read in the read phase). An id in `present` stays a
/// reference in the stream; should the target lack it after all (a concurrent writer moved the
/// sync branch and pruned), fast-import refuses the tree and no ref moves, so the rule of the
/// module holds: no ref points at a missing object.
pub(crate) fn blobs_to_carry(
    changes: &[TreeChange],
    present: &HashSet<ObjectId>,
) -> HashSet<ObjectId> {
    changes
        .iter()
        .filter_map(|c| match c {
            TreeChange::Upsert {
                mode,
                content: BlobContent::Existing(oid),
                ..
            } if EntryMode::from_bits(*mode).is_some_and(|m| m.is_blob())
                && !present.contains(oid) =>
            {
                Some(*oid)
            }
            _ => None,
        })
        .collect()
}

/// Writes `req` into the target at `target_git_dir` and moves `req.ref_name` from `expected`
/// (`None`: must not exist) to the new commit. `scratch_dir` is an empty or missing directory
/// for fast-import's refs. Two spawns: `fast-import`, `update-ref`.
///
/// Errors: fast-import's failure (a missing object, say), or the lease: the ref is not at
/// `expected` any more (the message says the branch moved since it was read).
pub(crate) fn commit_in_place(
    git: &Git,
    target_git_dir: &Path,
    scratch_dir: &Path,
    req: &CommitRequest,
    expected: Option<ObjectId>,
) -> anyhow::Result<ObjectId> {
    let objects = std::path::absolute(target_git_dir.join("objects"))
        .context("cannot resolve the target's object directory")?;
    let objects = objects
        .to_str()
        .context("the target's object directory is not UTF-8")?;
    // One pack even for a few objects (`fastimport.unpackLimit`, git-config(1)); large blobs
    // streamed, not held whole (`core.bigFileThreshold`).
    let importer = git
        .clone()
        .with_env("GIT_OBJECT_DIRECTORY", objects)
        .with_config("fastimport.unpackLimit", "0")
        .with_config("core.bigFileThreshold", BIG_FILE_THRESHOLD)
        .create_bare(scratch_dir)?;
    let commit = importer
        .fast_import(req)
        .context("cannot write the sync commit")?;
    git.open(target_git_dir)
        .update_ref(
            &req.ref_name,
            commit,
            Some(expected.unwrap_or_else(ObjectId::null)),
        )
        .map_err(|e| {
            anyhow::anyhow!(
                "update of {} was refused: {e}{}",
                req.ref_name,
                super::write::LEASE_LOST_HINT
            )
        })?;
    Ok(commit)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use bytes::Bytes;

    use super::*;
    use crate::sync::test_git::git_in;

    #[test]
    fn a_repository_file_without_receive_words_leaves_the_keys_to_the_outside() {
        let plain = "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n";
        for (text, may) in [
            (plain, false),
            ("", false),
            ("[user]\n\tname = Hook Author\n", false),
            ("[core]\n\thooksPath = /srv/hooks\n", true),
            ("[core]\n\tHOOKSPATH = x\n", true),
            ("[core]\n\tsharedRepository = group\n", true),
            ("[receive]\n\tdenyNonFastForwards\n", true),
            ("[Receive \"x\"]\n", true),
            ("[transfer]\n\tfsckObjects = true\n", true),
            ("[extensions]\n\tobjectFormat = sha256\n", true),
            ("[include]\n\tpath = ../shared.inc\n", true),
            ("[includeIf \"gitdir:/srv/\"]\n\tpath = x\n", true),
            // Conservative: a comment naming a word sends the target to `git config`.
            ("# no receive rules here\n[core]\n", true),
        ] {
            assert_eq!(repo_config_may_set_receive_keys(text), may, "{text:?}");
        }
    }

    #[test]
    fn only_a_target_a_push_would_treat_as_a_ref_update_is_written_in_place() {
        let plain = Facts {
            plain_layout: true,
            ..Facts::default()
        };
        let rows: Vec<(&str, Facts, Option<&str>)> = vec![
            ("plain bare repository", plain.clone(), None),
            (
                "linked worktree or odd layout",
                Facts::default(),
                Some("not a plain git directory"),
            ),
            (
                "pre-receive hook",
                Facts {
                    hooks: vec!["pre-receive".into()],
                    ..plain.clone()
                },
                Some("has a pre-receive hook"),
            ),
            (
                "hooks elsewhere",
                Facts {
                    config_keys: vec!["core.hookspath".into()],
                    ..plain.clone()
                },
                Some("sets core.hookspath"),
            ),
            (
                "a receive rule",
                Facts {
                    config_keys: vec!["receive.denynonfastforwards".into()],
                    ..plain.clone()
                },
                Some("sets receive.denynonfastforwards"),
            ),
            (
                "sync branch checked out",
                Facts {
                    sync_checked_out: true,
                    ..plain.clone()
                },
                Some("the sync branch is checked out"),
            ),
            (
                "another user's repository",
                Facts {
                    foreign_owner: true,
                    ..plain.clone()
                },
                Some("owned by another user"),
            ),
            (
                "shared repository permissions",
                Facts {
                    config_keys: vec!["core.sharedrepository".into()],
                    ..plain.clone()
                },
                Some("sets core.sharedrepository"),
            ),
        ];
        for (name, facts, want) in rows {
            let got = route(&facts);
            let want = want.map_or(Route::InPlace, |w| Route::Push(w.to_owned()));
            assert_eq!(got, want, "{name}");
        }
    }

    #[test]
    fn only_blobs_the_target_may_lack_are_carried() {
        let [held, missing, gitlink] =
            [b"held".as_slice(), b"missing", b"sub"].map(broadcast_git_batch::blob_oid);
        let upsert = |mode, oid| TreeChange::Upsert {
            path: "p".into(),
            mode,
            content: BlobContent::Existing(oid),
        };
        let data = TreeChange::Upsert {
            path: "t".into(),
            mode: 0o100644,
            content: BlobContent::Data(Bytes::from_static(b"transformed")),
        };
        let present: HashSet<ObjectId> = [held].into();
        let none = HashSet::new();
        type Row<'a> = (
            &'a str,
            Vec<TreeChange>,
            &'a HashSet<ObjectId>,
            Vec<ObjectId>,
        );
        let rows: Vec<Row<'_>> = vec![
            (
                "nothing known: every blob",
                vec![upsert(0o100644, held), upsert(0o100755, missing)],
                &none,
                vec![held, missing],
            ),
            (
                "held blob stays a reference",
                vec![upsert(0o100644, held), upsert(0o100644, missing)],
                &present,
                vec![missing],
            ),
            (
                "symlink is a blob too",
                vec![upsert(0o120000, missing)],
                &present,
                vec![missing],
            ),
            (
                "gitlink is never carried",
                vec![upsert(0o160000, gitlink)],
                &none,
                vec![],
            ),
            (
                "data and deletions carry nothing more",
                vec![data, TreeChange::Delete { path: "d".into() }],
                &none,
                vec![],
            ),
            (
                "all held: nothing",
                vec![upsert(0o100644, held), upsert(0o100755, held)],
                &present,
                vec![],
            ),
        ];
        for (name, changes, known, want) in rows {
            let want: HashSet<ObjectId> = want.into_iter().collect();
            assert_eq!(blobs_to_carry(&changes, known), want, "{name}");
        }
    }

    #[test]
    fn a_blob_named_by_id_but_missing_fails_the_write_and_moves_no_ref() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("t.git");
        git_in(
            dir.path(),
            &["init", "-q", "--bare", target.to_str().expect("utf8")],
            b"",
        );
        // A blob the target held once, unreferenced, then pruned: a stale "known present" id.
        let gone = git_in(&target, &["hash-object", "-w", "--stdin"], b"gone\n");
        git_in(&target, &["gc", "-q", "--prune=now"], b"");
        let gone = ObjectId::from_hex(&gone).expect("blob id");
        let sig = broadcast_git_batch::Signature {
            name: "t".into(),
            email: "t@example.com".into(),
            time_secs: 0,
            offset_minutes: 0,
        };
        let req = CommitRequest {
            ref_name: "refs/heads/sync".into(),
            parent: None,
            author: sig.clone(),
            committer: sig,
            message: "m\n".into(),
            changes: vec![TreeChange::Upsert {
                path: "f".into(),
                mode: 0o100644,
                content: BlobContent::Existing(gone),
            }],
        };
        // The selection, told the blob is present, leaves it a reference ...
        assert!(blobs_to_carry(&req.changes, &[gone].into()).is_empty());
        // ... and fast-import refuses the tree: no commit, no ref.
        let err = commit_in_place(
            &Git::new(),
            &target,
            &dir.path().join("scratch"),
            &req,
            None,
        )
        .expect_err("a missing blob fails the write");
        assert!(
            format!("{err:#}").contains("cannot write the sync commit"),
            "{err:#}"
        );
        assert_eq!(git_in(&target, &["for-each-ref"], b""), "");
    }

    #[test]
    fn blobs_by_id_become_data_when_their_bytes_are_known() {
        let known = broadcast_git_batch::blob_oid(b"k");
        let unknown = broadcast_git_batch::blob_oid(b"u");
        let blobs: HashMap<ObjectId, Bytes> = [(known, Bytes::from_static(b"k"))].into();
        let upsert = |mode, oid| TreeChange::Upsert {
            path: "p".into(),
            mode,
            content: BlobContent::Existing(oid),
        };
        let mut changes = vec![
            upsert(0o100644, known),
            upsert(0o100644, unknown),
            upsert(0o160000, known),
            TreeChange::Delete { path: "d".into() },
        ];
        own_every_blob(&mut changes, |oid| {
            blobs.get(&oid).map(|b| BlobContent::Data(b.clone()))
        });
        let kinds: Vec<&str> = changes
            .iter()
            .map(|c| match c {
                TreeChange::Upsert {
                    content: BlobContent::Data(_),
                    ..
                } => "data",
                TreeChange::Upsert { .. } => "id",
                TreeChange::Delete { .. } => "delete",
            })
            .collect();
        assert_eq!(kinds, ["data", "id", "id", "delete"]);
    }
}
