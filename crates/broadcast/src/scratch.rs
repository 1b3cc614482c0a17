//! The run's scratch directory in the system temp directory, owned through an OS file lock so
//! that a later run can remove what a killed run left behind.
//!
//! Layout: `$TMPDIR/broadcast-run-XXXXXX/` (made by `tempfile`) holding `owner.lock`, a file
//! the owning run keeps locked (`File::lock`: `flock(2)` on Unix, `LockFileEx` on Windows)
//! until it ends. The OS drops the lock when the process dies, however it dies (SIGKILL
//! included), so "lock free" means "owner gone". The lock is taken on `owner.lock.new` and
//! only then renamed to `owner.lock`: an `owner.lock` is locked from the moment it exists, so
//! a run starting at the same time never mistakes a directory being set up for an abandoned
//! one. A directory without `owner.lock` (being set up, or left by an older version) is left
//! alone.

use std::fs::File;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Name prefix of every run's scratch directory in the temp directory.
pub const PREFIX: &str = "broadcast-run-";

/// The lock file inside a scratch directory.
pub const OWNER_LOCK: &str = "owner.lock";

/// A run's scratch directory, removed on drop. The owner lock is held as long as the value
/// lives.
#[derive(Debug)]
pub struct ScratchDir {
    dir: tempfile::TempDir,
    /// Held for the lock; dropped (unlocking) after `dir` is removed.
    _lock: File,
}

impl ScratchDir {
    /// Removes the scratch directories of runs that are gone (see [`remove_abandoned`]), then
    /// creates and locks a new one in [`std::env::temp_dir`] (`TMPDIR` on Unix).
    ///
    /// # Errors
    /// When the directory or its lock file cannot be created or locked.
    pub fn create() -> anyhow::Result<ScratchDir> {
        let tmp = std::env::temp_dir();
        remove_abandoned(&tmp);
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(&tmp)
            .context("cannot create a temporary directory for the run")?;
        let staging = dir.path().join(format!("{OWNER_LOCK}.new"));
        let lock = File::create(&staging)
            .and_then(|f| f.lock().map(|()| f))
            .and_then(|f| std::fs::rename(&staging, dir.path().join(OWNER_LOCK)).map(|()| f))
            .with_context(|| format!("cannot lock {}", dir.path().display()))?;
        Ok(ScratchDir { dir, _lock: lock })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Removes every `broadcast-run-*` directory in `tmp` whose `owner.lock` is not locked: its
/// run ended without cleaning up (killed, or the machine went down). Directories whose lock is
/// held belong to a run still going and are kept. Returns the directories removed; failures
/// are ignored (another run may be removing the same directory).
pub fn remove_abandoned(tmp: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return removed;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX)
            || !entry.file_type().is_ok_and(|t| t.is_dir())
        {
            continue;
        }
        let dir = entry.path();
        let lock = match File::open(dir.join(OWNER_LOCK)) {
            Ok(f) => f,
            Err(_) => continue,
        };
        // Lock acquired: the owner is gone. The directory is removed while the lock is held,
        // so a third run sees it locked and leaves it alone. Locked elsewhere (`WouldBlock`)
        // or no locking on this filesystem: kept.
        if lock.try_lock().is_ok() && std::fs::remove_dir_all(&dir).is_ok() {
            tracing::debug!(dir = %dir.display(), "removed an abandoned scratch directory");
            removed.push(dir);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abandoned_directories_go_and_locked_ones_stay() {
        let tmp = tempfile::tempdir().expect("tmp");
        let stale = tmp.path().join(format!("{PREFIX}stale"));
        let live = tmp.path().join(format!("{PREFIX}live"));
        let unowned = tmp.path().join(format!("{PREFIX}setup"));
        let other = tmp.path().join("other-dir");
        for d in [&stale, &live, &unowned, &other] {
            std::fs::create_dir_all(d.join("g0")).expect("mkdir");
        }
        File::create(stale.join(OWNER_LOCK)).expect("stale lock");
        File::create(other.join(OWNER_LOCK)).expect("other lock");
        let held = File::create(live.join(OWNER_LOCK)).expect("live lock");
        held.lock().expect("lock");
        assert_eq!(remove_abandoned(tmp.path()), std::slice::from_ref(&stale));
        assert!(!stale.exists());
        assert!(live.exists() && unowned.exists() && other.exists());
        drop(held);
        assert_eq!(remove_abandoned(tmp.path()), [live]);
    }
}
