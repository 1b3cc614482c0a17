//! Atomic file replacement: write a temporary file in the destination's directory, sync it,
//! rename it over the destination, sync the directory.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Replaces the file at `path` with what `write` produces, atomically: readers see either the old
/// content or the complete new content, never a mix, and on any error the old file (or its
/// absence) is left untouched.
///
/// Steps: create a temporary file in `path`'s directory (same file system, so `rename` is atomic;
/// `tempfile` crate), call `write` with a 64 KiB buffered writer over it, flush, give it the
/// permissions of the file it replaces (a new file gets `0o666` minus the umask, like `open(2)`),
/// `fsync` it, `rename(2)` it over `path`, then `fsync` the directory so the rename itself is
/// durable (Unix only). The temporary file is removed on every error path.
///
/// Cost: one temporary file, two `fsync` calls (tens of milliseconds on a spinning disk, much
/// less on SSD or tmpfs), blocking.
///
/// Symbolic links are not followed: a link at `path` is replaced by a regular file.
///
/// # Errors
/// [`Error::CreateTemp`], [`Error::Content`] (the callback's error, boxed),
/// [`Error::SyncFile`], [`Error::Rename`], and [`Error::SyncDir`] (reported after the rename:
/// the new content is in place but its durability is not guaranteed).
pub fn atomic_write<F, E>(path: impl AsRef<Path>, write: F) -> Result<()>
where
    F: FnOnce(&mut dyn Write) -> std::result::Result<(), E>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let path = path.as_ref();
    let dir = parent_dir(path);
    let existing_perms = std::fs::metadata(path).ok().map(|m| m.permissions());
    let mut builder = tempfile::Builder::new();
    builder.prefix(".").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if existing_perms.is_none() {
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
    }
    let tmp = builder
        .tempfile_in(&dir)
        .map_err(|source| Error::CreateTemp {
            dir: dir.clone(),
            source,
        })?;
    // From here on, returning early drops `tmp`, which deletes the temporary file.
    let mut writer = BufWriter::with_capacity(64 * 1024, tmp);
    write(&mut writer).map_err(|e| Error::Content {
        path: path.to_owned(),
        source: e.into(),
    })?;
    let tmp = writer.into_inner().map_err(|e| Error::SyncFile {
        path: path.to_owned(),
        source: e.into_error(),
    })?;
    let sync_err = |source| Error::SyncFile {
        path: path.to_owned(),
        source,
    };
    if let Some(perms) = existing_perms {
        tmp.as_file().set_permissions(perms).map_err(sync_err)?;
    }
    tmp.as_file().sync_all().map_err(sync_err)?;
    tmp.persist(path).map_err(|e| Error::Rename {
        path: path.to_owned(),
        source: e.error,
    })?;
    sync_dir(&dir)
}

/// [`atomic_write`] with a byte slice as the new content.
///
/// # Errors
/// As [`atomic_write`].
pub fn atomic_write_bytes(path: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
    atomic_write(path, |w| w.write_all(bytes))
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| Error::SyncDir {
            dir: dir.to_owned(),
            source,
        })
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> Result<()> {
    // Directories cannot be opened for syncing on this platform; the rename is still atomic.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn temp_names(dir: &Path) -> std::io::Result<Vec<String>> {
        let mut names = Vec::new();
        for e in std::fs::read_dir(dir)? {
            names.push(e?.file_name().to_string_lossy().into_owned());
        }
        names.sort();
        Ok(names)
    }

    #[test]
    fn replaces_and_creates() -> TestResult {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("f.txt");
        atomic_write_bytes(&p, b"one")?;
        assert_eq!(std::fs::read(&p)?, b"one");
        atomic_write_bytes(&p, b"two")?;
        assert_eq!(std::fs::read(&p)?, b"two");
        assert_eq!(temp_names(dir.path())?, vec!["f.txt".to_owned()]);
        Ok(())
    }

    #[test]
    fn callback_error_leaves_original() -> TestResult {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("f.txt");
        std::fs::write(&p, b"original")?;
        let r = atomic_write(&p, |w| {
            w.write_all(b"partial")?;
            Err(std::io::Error::other("boom"))
        });
        assert!(matches!(r, Err(Error::Content { .. })), "{r:?}");
        assert_eq!(std::fs::read(&p)?, b"original");
        assert_eq!(temp_names(dir.path())?, vec!["f.txt".to_owned()]);
        Ok(())
    }

    #[test]
    fn missing_dir_is_create_temp_error() -> TestResult {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("no/such/f.txt");
        let r = atomic_write_bytes(&p, b"x");
        assert!(matches!(r, Err(Error::CreateTemp { .. })), "{r:?}");
        Ok(())
    }

    #[cfg(unix)]
    #[test]
    fn keeps_permissions() -> TestResult {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("run.sh");
        std::fs::write(&p, b"#!/bin/sh\n")?;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755))?;
        atomic_write_bytes(&p, b"#!/bin/sh\necho hi\n")?;
        assert_eq!(std::fs::metadata(&p)?.permissions().mode() & 0o777, 0o755);
        let new = dir.path().join("new.txt");
        atomic_write_bytes(&new, b"x")?;
        // A new file gets what a plain create would (0o666 minus the umask), not 0o600.
        let reference = dir.path().join("reference.txt");
        std::fs::write(&reference, b"x")?;
        assert_eq!(
            std::fs::metadata(&new)?.permissions().mode() & 0o777,
            std::fs::metadata(&reference)?.permissions().mode() & 0o777
        );
        Ok(())
    }
}
