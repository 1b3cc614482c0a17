//! Write phase of one target: one commit with `fast-import`, then either a ref update with a
//! lease straight in a local target ([`super::in_place`]) or, in a scratch repository, a push of
//! the sync branch with a lease; then the pull request.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use broadcast_git_batch::{
    CommitRequest, Git, ObjectId, PushOptions, PushRefspec, PushStatus, Repo, Signature, TreeChange,
};

use super::in_place::{self, Route};
use super::pull_request::ensure_pull_request;
use super::target::TargetCtx;
use crate::forge::Forge;
use crate::repo::RepoRef;
use crate::report::{FileChange, PullRequestReport, TargetStatus};

/// Said when a ref update loses its lease (expected-old-value check): someone moved the
/// sync branch between the read and the write.
pub(crate) const LEASE_LOST_HINT: &str = " (the branch moved since it was read, by another run or a person; nothing was overwritten, and a re-run reads it again and keeps any commit broadcast did not write)";

/// What the write phase of one target needs from its read phase.
pub(crate) struct Pending {
    pub forge: Arc<dyn Forge>,
    pub url: String,
    /// Where the target's objects can be read.
    pub reader: Repo,
    /// Scratch repository made by the read phase (remote targets), if any.
    pub scratch: Option<Repo>,
    pub base_branch: Option<String>,
    pub base_oid: Option<ObjectId>,
    pub sync_oid: Option<ObjectId>,
    pub changes: Vec<TreeChange>,
    /// The sync branch already holds the changes (only the pull request is checked).
    pub up_to_date: Option<ObjectId>,
    /// Blob ids a local target is known to hold (its base and sync branch trees): an in-place
    /// write names them instead of carrying their bytes ([`in_place::blobs_to_carry`]).
    pub present: HashSet<ObjectId>,
}

/// What the write phase did.
#[derive(Debug)]
pub(crate) struct WriteOutcome {
    pub status: TargetStatus,
    pub commit: Option<String>,
    pub pull_request: Option<PullRequestReport>,
    pub error: Option<String>,
}

/// Writes one target. `changes` is the report's change list (for the commit message and the
/// pull request body).
pub(crate) fn write(
    ctx: &TargetCtx<'_>,
    git: &Git,
    mut p: Pending,
    changes: &[FileChange],
) -> anyhow::Result<WriteOutcome> {
    let forge = &*p.forge;
    let target = ctx.target;
    if let Some(sync) = p.up_to_date {
        let pr = ensure_pull_request(ctx, forge, p.base_branch.as_deref(), sync, changes)?;
        return Ok(WriteOutcome {
            status: TargetStatus::UpToDate,
            commit: Some(sync.to_string()),
            pull_request: Some(pr),
            error: None,
        });
    }
    if forge.has_pull_requests() && forge.repository(&target.repo)?.archived {
        return Ok(WriteOutcome {
            status: TargetStatus::Skipped,
            commit: None,
            pull_request: None,
            error: Some(format!("{} is archived", target.display)),
        });
    }
    forge.check_files(&target.repo, changes)?;
    let tree_changes = std::mem::take(&mut p.changes);
    let commit = commit_and_push(ctx, git, &p, tree_changes, changes)?;
    let pull_request = if forge.has_pull_requests() {
        Some(ensure_pull_request(
            ctx,
            forge,
            p.base_branch.as_deref(),
            commit,
            changes,
        )?)
    } else {
        None
    };
    Ok(WriteOutcome {
        status: TargetStatus::Synced,
        commit: Some(commit.to_string()),
        pull_request,
        error: None,
    })
}

/// The sync commit of one target: written in place for a local target a push would treat as a
/// plain ref update (see [`super::in_place`]), else with `fast-import` in a scratch repository
/// and pushed with `--force-with-lease` against the sync branch's id read in the read phase.
fn commit_and_push(
    ctx: &TargetCtx<'_>,
    git: &Git,
    p: &Pending,
    tree_changes: Vec<TreeChange>,
    changes: &[FileChange],
) -> anyhow::Result<ObjectId> {
    let (group, target, source) = (ctx.group, ctx.target, ctx.source);
    let mut req = commit_request(ctx, p, tree_changes, changes);
    if matches!(target.repo, RepoRef::Local { .. }) {
        let git_dir = p.reader.git_dir();
        // The target's scratch directory, made now: its owner is the user this run writes as.
        std::fs::create_dir_all(&ctx.dir)
            .with_context(|| format!("cannot create {}", ctx.dir.display()))?;
        let facts = in_place::read_facts(
            git,
            git_dir,
            &req.ref_name,
            &ctx.engine.outside_receive_config,
            &ctx.dir,
        )?;
        match in_place::route(&facts) {
            Route::InPlace => {
                let carry = in_place::blobs_to_carry(&req.changes, &p.present);
                in_place::own_every_blob(&mut req.changes, |oid| {
                    carry
                        .contains(&oid)
                        .then(|| super::blob_stream::source_blob_content(&source.tree, oid))
                        .flatten()
                });
                return in_place::commit_in_place(
                    git,
                    git_dir,
                    &ctx.dir.join("in-place.git"),
                    &req,
                    p.sync_oid,
                )
                .with_context(|| {
                    format!("cannot write {} in {}", group.sync_branch, target.display)
                });
            }
            Route::Push(why) => {
                tracing::debug!(target = %target.display, "pushing, not writing in place: {why}");
            }
        }
    }
    let sync_ref = req.ref_name.clone();
    let scratch = match &p.scratch {
        Some(s) => s.clone(),
        None => {
            let s = git.create_bare(&ctx.dir.join("target.git"))?;
            let target_objects = p.reader.git_dir().join("objects");
            s.add_alternate(&std::path::absolute(&target_objects).unwrap_or(target_objects))?;
            s
        }
    };
    scratch.add_alternate(&source.objects_dir)?;
    // Keep fast-import's output as one pack even for a few objects (`fastimport.unpackLimit`,
    // git-config(1); the default 100 spawns `unpack-objects` below it), and push without delta
    // search (see below).
    let scratch = git
        .clone()
        .with_config("fastimport.unpackLimit", "0")
        .with_config("core.bigFileThreshold", in_place::BIG_FILE_THRESHOLD)
        .with_config("pack.window", "0")
        .open(scratch.git_dir());
    let commit = scratch
        .fast_import(&req)
        .context("cannot write the sync commit")?;
    // No delta search when packing the push (`pack.window=0`, git-config(1)):
    // - over smart HTTP git sends a thin pack whatever `--no-thin` says (git-remote-http starts
    //   `send-pack --thin`), and a thin pack reads the base versions of the changed paths as
    //   delta bases: blobs a blob-less fetch never downloaded, so pack-objects would die;
    // - for every target the delta search costs CPU on both ends (pack-objects here, index-pack
    //   on the receiving side) for a pack that holds only the new objects of one commit.
    //   Measured with `cargo xtask profile` (10 local targets, 1000 new files each, two runs):
    //   push 1,879-1,928 ms in total (pack-objects 1,573-1,598 ms) with the default window 10,
    //   823-846 ms (pack-objects 611-612 ms) with 0; index-pack on the receiving side grows
    //   from 318-335 ms to 406-430 ms (more bytes to hash).
    let pushed = scratch
        .push(
            &p.url,
            &[PushRefspec {
                src: commit.to_string(),
                dst: sync_ref,
                force_with_lease: Some(p.sync_oid),
            }],
            &PushOptions {
                atomic: true,
                no_thin: true,
            },
        )
        .with_context(|| format!("cannot push {} to {}", group.sync_branch, target.display))?;
    for r in &pushed {
        if !matches!(r.status, PushStatus::Ok | PushStatus::UpToDate) {
            // Only a stale lease is worth retrying; a hook, branch protection or a ruleset
            // refuses again until a person acts on what the remote said (quoted below).
            let hint = if r.is_stale_lease() {
                LEASE_LOST_HINT
            } else {
                ""
            };
            let remote: String = r
                .remote_messages
                .iter()
                .map(|l| format!("\nremote: {l}"))
                .collect();
            bail!(
                "push of {} to {} was rejected: {}{hint}{remote}",
                group.sync_branch,
                target.display,
                r.summary
            );
        }
    }
    Ok(commit)
}

/// The sync commit: on top of the base branch, `tree_changes` applied, the run's identity now.
fn commit_request(
    ctx: &TargetCtx<'_>,
    p: &Pending,
    tree_changes: Vec<TreeChange>,
    changes: &[FileChange],
) -> CommitRequest {
    let (group, source) = (ctx.group, ctx.source);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let identity = ctx.engine.identity();
    let sig = Signature {
        name: identity.name.clone(),
        email: identity.email.clone(),
        time_secs: now,
        offset_minutes: 0,
    };
    let message = crate::commit::commit_message(
        &group.source_display,
        &source.tree.commit.to_string(),
        &group.id,
        changes,
    );
    CommitRequest {
        ref_name: format!("refs/heads/{}", group.sync_branch),
        parent: p.base_oid,
        author: sig.clone(),
        committer: sig,
        message,
        changes: tree_changes,
    }
}
