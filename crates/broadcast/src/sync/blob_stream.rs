//! Large source blobs without holding them whole.
//!
//! - A blob copied as is never needs its bytes here: its id and size come from the source tree
//!   and `cat-file` (`info`); where a target must receive it (a write in place), its bytes are
//!   copied from the source's `cat-file` straight into the target's `fast-import`
//!   ([`SourceObjects::copy`]).
//! - A transformed blob larger than [`STREAM_THRESHOLD_BYTES`] streams: `cat-file` output ->
//!   [`broadcast_stream_io::StreamProcessor`] with the transform applied line by line (exact:
//!   see [`broadcast_transform::Transformer::is_line_local`]) -> a temporary file -> the
//!   blob id computed by reading it back -> `fast-import` reading the file
//!   ([`SourceObjects::transform`]).
//!
//! Memory per blob: the processor's window (64 KiB chunks plus at most one line of
//! [`MAX_LINE_BYTES`]) and `cat-file`'s 64 KiB reader buffer, whatever the blob's size.
//!
//! A blob whose loose file is in the source's objects directory (a freshly committed source)
//! is read from that file in process ([`broadcast_git_batch::LooseObject`]: a 64 KiB buffer and
//! the inflater's window) rather than through `cat-file`, which maps a loose object whole while
//! it streams it; packed blobs and blobs in an alternate go through `cat-file`.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, HashMap};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use broadcast_git_batch::{
    BlobContent, BlobSource, CatFile, LooseObject, ObjectId, ObjectKind, StreamedBlob,
    blob_oid_from_reader,
};
use broadcast_stream_io::{ChunkTransform, StreamProcessor};
use broadcast_transform::{SNIFF_BYTES, Transformer, is_binary, looks_like_utf16};

use super::desired::{Desired, NewContent, SourceTree};

/// Largest blob a transform reads whole into memory (8 MiB); larger ones stream. Typical
/// template files (workflows, configs, docs) are far below it and keep the simple in-memory
/// path; the e2e `--large` scenario (150 MiB binaries, a 40 MiB text file) needs the streamed
/// one to stay under its 128 MiB peak. At 8 MiB a few blobs held at once across worker
/// threads still fit that budget.
pub(crate) const STREAM_THRESHOLD_BYTES: u64 = 8 << 20;

/// Internal: overrides [`STREAM_THRESHOLD_BYTES`] (a byte count) so tests reach the streamed
/// paths with small files. Not a documented setting.
pub(crate) const STREAM_THRESHOLD_ENV: &str = "BROADCAST_STREAM_THRESHOLD_BYTES";

/// Longest line a streamed transform carries between chunks (1 MiB). A text with a longer line
/// is read whole instead (still correct, not bounded).
pub(crate) const MAX_LINE_BYTES: usize = 1 << 20;

/// Chunk size of the streamed transform.
const CHUNK_BYTES: usize = 64 * 1024;

/// The threshold in force: [`STREAM_THRESHOLD_ENV`] when set to a number, else
/// [`STREAM_THRESHOLD_BYTES`].
pub(crate) fn stream_threshold() -> u64 {
    std::env::var(STREAM_THRESHOLD_ENV)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(STREAM_THRESHOLD_BYTES)
}

/// The source's object store, read by one `cat-file` process that the group's targets share
/// (one blob at a time) and, for loose objects, from their files; plus the directory for
/// temporary files.
pub(crate) struct SourceObjects {
    cat: Arc<Mutex<CatFile>>,
    /// The source's `objects/` directory, where loose objects are read in process (any
    /// thread, no lock); `None`: everything through `cat`.
    objects_dir: Option<PathBuf>,
    spool_dir: PathBuf,
    /// The first [`SNIFF_BYTES`] of each blob streamed so far: binary detection for another
    /// target needs no second pass over a large binary file.
    heads: Mutex<HashMap<ObjectId, Vec<u8>>>,
    /// Small blobs already copied to a target, kept for the group's other targets (at most
    /// [`SMALL_CACHE_BUDGET_BYTES`] in all): copying a small blob costs a `cat-file` round trip
    /// under the shared lock, which for many small files costs more than the bytes.
    small: Mutex<(HashMap<ObjectId, bytes::Bytes>, u64)>,
}

/// Largest blob [`source_blob_content`] keeps in memory for the group's other targets.
pub(crate) const SMALL_BLOB_BYTES: u64 = 1 << 20;

/// Total bytes of small blobs kept in memory per group: with the streamed paths, this bounds what
/// broadcast holds whatever a config maps.
pub(crate) const SMALL_CACHE_BUDGET_BYTES: u64 = 32 << 20;

impl std::fmt::Debug for SourceObjects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceObjects")
            .field("objects_dir", &self.objects_dir)
            .field("spool_dir", &self.spool_dir)
            .finish()
    }
}

/// What a streamed transform produced.
#[derive(Debug)]
pub(crate) enum Streamed {
    /// Nothing changed (binary content, or no rule matched): the source blob is used.
    Unchanged,
    /// New content, spooled to a file.
    Changed {
        /// Its blob id.
        oid: ObjectId,
        /// Its bytes.
        blob: Arc<SpooledBlob>,
        /// Placeholders left in the output that no variable defines.
        unreplaced: Vec<String>,
    },
    /// The content cannot be transformed piece by piece (UTF-16, a needle with a line feed, a
    /// line over [`MAX_LINE_BYTES`]): the caller reads it whole.
    NotStreamable,
}

impl SourceObjects {
    /// Wraps `cat` (a reader of the source's objects, maybe shared) and `objects_dir` (the same
    /// store's `objects/` directory, for loose objects; `None` reads everything through `cat`);
    /// temporary files go to `spool_dir`.
    pub(crate) fn new(
        cat: Arc<Mutex<CatFile>>,
        objects_dir: Option<PathBuf>,
        spool_dir: PathBuf,
    ) -> Self {
        SourceObjects {
            cat,
            objects_dir,
            spool_dir,
            heads: Mutex::new(HashMap::new()),
            small: Mutex::new((HashMap::new(), 0)),
        }
    }

    /// The bytes of small blob `oid` (at most [`SMALL_BLOB_BYTES`]) from memory, or read once
    /// and kept while the group's budget lasts. `None` when the source cannot give it (the
    /// streamed copy then reports the error).
    fn small_blob(&self, oid: ObjectId) -> Option<bytes::Bytes> {
        let lock = || {
            self.small
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(b) = lock().0.get(&oid) {
            return Some(b.clone());
        }
        let bytes = bytes::Bytes::from(self.read_whole(oid).ok()?);
        let mut small = lock();
        if small.1 + bytes.len() as u64 <= SMALL_CACHE_BUDGET_BYTES
            && small.0.insert(oid, bytes.clone()).is_none()
        {
            small.1 += bytes.len() as u64;
        }
        Some(bytes)
    }

    fn heads(&self) -> std::sync::MutexGuard<'_, HashMap<ObjectId, Vec<u8>>> {
        self.heads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn cat(&self) -> std::sync::MutexGuard<'_, CatFile> {
        self.cat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The whole content of `oid` (for blobs that cannot stream).
    pub(crate) fn read_whole(&self, oid: ObjectId) -> anyhow::Result<Vec<u8>> {
        if let Some(mut obj) = self.open_loose(oid)? {
            // The header's size is not trusted for allocation (as in git-batch's cat-file).
            let mut data = Vec::with_capacity(obj.size().min(STREAM_THRESHOLD_BYTES) as usize);
            obj.read_to_end(&mut data)
                .with_context(|| format!("cannot read blob {oid}"))?;
            return Ok(data);
        }
        Ok(self.cat().read(oid)?.data)
    }

    /// `oid`'s loose file in the source's objects directory, opened; `None` when it has none
    /// (packed, in an alternate) or loose reads are off.
    fn open_loose(&self, oid: ObjectId) -> broadcast_git_batch::Result<Option<LooseObject>> {
        match &self.objects_dir {
            Some(dir) => LooseObject::open(dir, oid),
            None => Ok(None),
        }
    }

    /// Streams `oid` as [`CatFile::stream`] does (`consume` gets its kind, size and a reader of
    /// exactly that many bytes): from its loose file when there is one (no lock held, several
    /// targets read at once), else through the shared `cat-file`.
    ///
    /// Errors: as [`CatFile::stream`]; a damaged loose file fails the read (naming the file)
    /// through `consume`'s reader, and is not retried through `cat-file`.
    fn stream<T>(
        &self,
        oid: ObjectId,
        consume: impl FnOnce(ObjectKind, u64, &mut dyn Read) -> std::io::Result<T>,
    ) -> broadcast_git_batch::Result<T> {
        match self.open_loose(oid)? {
            Some(mut obj) => {
                tracing::trace!(%oid, "source blob read from its loose object");
                consume(obj.kind(), obj.size(), &mut obj)
                    .map_err(|source| broadcast_git_batch::Error::Consumer { oid, source })
            }
            None => self.cat().stream(oid, consume),
        }
    }

    /// A blob of `len` bytes whose content is copied from the source (its loose file, else its
    /// `cat-file`) while `fast-import` reads it.
    pub(crate) fn copy(self: &Arc<Self>, oid: ObjectId, len: u64) -> StreamedBlob {
        StreamedBlob::new(
            len,
            Arc::new(SourceCopy {
                objects: Arc::clone(self),
                oid,
            }),
        )
    }

    /// Transforms blob `oid` destined for `dest` with `t` as a stream; see the module docs.
    /// `report_placeholders`: collect unreplaced placeholder names (the spec has variables).
    ///
    /// Errors: the source or the temporary file failing.
    pub(crate) fn transform(
        &self,
        oid: ObjectId,
        dest: &str,
        t: &Transformer,
        report_placeholders: bool,
    ) -> anyhow::Result<Streamed> {
        if !t.is_line_local() {
            return Ok(Streamed::NotStreamable);
        }
        // Empty content is text, so this holds only for an extension on the binary list: the
        // content cannot change the answer and nothing needs reading.
        if is_binary(dest, b"") {
            return Ok(Streamed::Unchanged);
        }
        let known_head = self.heads().get(&oid).cloned();
        if let Some(head) = &known_head {
            if is_binary(dest, head) {
                return Ok(Streamed::Unchanged);
            }
            if looks_like_utf16(head) {
                return Ok(Streamed::NotStreamable);
            }
        }
        std::fs::create_dir_all(&self.spool_dir)
            .context("cannot create the directory for temporary files")?;
        let spool = tempfile::NamedTempFile::new_in(&self.spool_dir)
            .context("cannot create a temporary file for a transformed blob")?;
        let mut out = spool.as_file().try_clone()?;
        let lines = LineSegments {
            t,
            dest,
            report_placeholders,
            changed: Cell::new(false),
            unreplaced: RefCell::new(BTreeSet::new()),
        };
        let outcome = self.stream(oid, |_, _, r| {
            let mut head = Vec::with_capacity(SNIFF_BYTES);
            r.take(SNIFF_BYTES as u64).read_to_end(&mut head)?;
            if known_head.is_none() {
                self.heads().insert(oid, head.clone());
            }
            if is_binary(dest, &head) {
                return Ok(Some(Streamed::Unchanged));
            }
            if looks_like_utf16(&head) {
                return Ok(Some(Streamed::NotStreamable));
            }
            let input = (&head[..]).chain(r);
            match StreamProcessor::new(CHUNK_BYTES).process(input, &mut out, &lines) {
                Ok(_) => Ok(None),
                Err(broadcast_stream_io::Error::CarryExceeded { .. }) => {
                    Ok(Some(Streamed::NotStreamable))
                }
                Err(e) => Err(std::io::Error::other(e)),
            }
        });
        let outcome = outcome.with_context(|| format!("cannot stream blob {oid} for '{dest}'"))?;
        if let Some(decided) = outcome {
            return Ok(decided);
        }
        if !lines.changed.get() {
            return Ok(Streamed::Unchanged);
        }
        let len = spool.as_file().metadata()?.len();
        let oid = blob_oid_from_reader(len, std::io::BufReader::new(spool.reopen()?))
            .context("cannot read back a transformed blob")?;
        Ok(Streamed::Changed {
            oid,
            blob: Arc::new(SpooledBlob { file: spool, len }),
            unreplaced: lines.unreplaced.into_inner().into_iter().collect(),
        })
    }
}

/// Copies one object from the source's loose file or `cat-file` (see [`SourceObjects::copy`]).
#[derive(Debug)]
struct SourceCopy {
    objects: Arc<SourceObjects>,
    oid: ObjectId,
}

impl BlobSource for SourceCopy {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        self.objects
            .stream(self.oid, |_, _, r| std::io::copy(r, out).map(|_| ()))
            .map_err(std::io::Error::other)
    }
}

/// Transformed content in a temporary file (removed when the last reference goes).
#[derive(Debug)]
pub(crate) struct SpooledBlob {
    file: tempfile::NamedTempFile,
    len: u64,
}

impl SpooledBlob {
    /// Its length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Its whole content (for a diff within its budget).
    pub(crate) fn read_all(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.file.path())
    }
}

impl BlobSource for SpooledBlob {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        std::io::copy(&mut self.file.reopen()?, out).map(|_| ())
    }
}

/// A [`Transformer`] as a [`ChunkTransform`]: each call transforms the complete lines it has
/// (the last call: everything), carrying an unfinished line of at most [`MAX_LINE_BYTES`].
struct LineSegments<'a> {
    t: &'a Transformer,
    dest: &'a str,
    report_placeholders: bool,
    changed: Cell<bool>,
    unreplaced: RefCell<BTreeSet<String>>,
}

impl ChunkTransform for LineSegments<'_> {
    fn max_carry_bytes(&self) -> usize {
        MAX_LINE_BYTES
    }

    fn transform(&self, buf: &[u8], start: usize, is_last: bool, out: &mut Vec<u8>) -> usize {
        let end = if is_last {
            buf.len()
        } else {
            match memchr_last_lf(&buf[start..]) {
                Some(i) => start + i + 1,
                None => start,
            }
        };
        let segment = &buf[start..end];
        let done = self.t.apply_text_segment(self.dest, segment);
        if matches!(done, std::borrow::Cow::Owned(_)) {
            self.changed.set(true);
        }
        if self.report_placeholders {
            self.unreplaced
                .borrow_mut()
                .extend(self.t.unreplaced_variables(&done));
        }
        out.extend_from_slice(&done);
        end
    }
}

fn memchr_last_lf(b: &[u8]) -> Option<usize> {
    b.iter().rposition(|&c| c == b'\n')
}

/// Sizes of `oids` in the repository `reader` (`cat-file` `info`), and the contents of those at
/// most `max_bytes` long (none when `max_bytes` is `None`). Best effort, for the report: a
/// failure leaves both maps without the objects concerned.
pub(crate) fn read_within(
    reader: &broadcast_git_batch::Repo,
    oids: &[ObjectId],
    max_bytes: Option<u64>,
) -> (HashMap<ObjectId, u64>, HashMap<ObjectId, Vec<u8>>) {
    let (mut sizes, mut data) = (HashMap::new(), HashMap::new());
    if oids.is_empty() {
        return (sizes, data);
    }
    let Ok(mut cat) = reader.cat_file() else {
        return (sizes, data);
    };
    if let Ok(infos) = cat.info_many(oids) {
        sizes = oids.iter().zip(infos).map(|(o, (_, n))| (*o, n)).collect();
    }
    if let Some(max) = max_bytes {
        let small: Vec<ObjectId> = oids
            .iter()
            .filter(|o| sizes.get(o).is_some_and(|n| *n <= max))
            .copied()
            .collect();
        if let Ok(objs) = cat.read_many(&small) {
            data = objs.into_iter().map(|o| (o.oid, o.data)).collect();
        }
    }
    (sizes, data)
}

/// The new content of a desired entry when it is at most `max_bytes` long (for a diff):
/// in memory, spooled, or read from the source. `None` when larger or unreadable.
pub(crate) fn new_bytes_within<'a>(
    source: &'a SourceTree,
    d: &'a Desired,
    max_bytes: u64,
) -> Option<Cow<'a, [u8]>> {
    match &d.data {
        Some(NewContent::Memory(b)) => Some(Cow::Borrowed(&b[..])),
        Some(NewContent::Spooled(s)) if s.len() <= max_bytes => s.read_all().ok().map(Cow::Owned),
        Some(NewContent::Spooled(_)) => None,
        None => match source.blobs.get(&d.src_oid) {
            Some(b) => Some(Cow::Borrowed(&b[..])),
            None if source
                .sizes
                .get(&d.src_oid)
                .is_some_and(|n| *n <= max_bytes) =>
            {
                source
                    .objects
                    .as_ref()?
                    .read_whole(d.src_oid)
                    .ok()
                    .map(Cow::Owned)
            }
            None => None,
        },
    }
}

/// The bytes of source blob `oid` for a target that must hold it: from memory when they were
/// read, a small blob from the group's budgeted cache, else copied from the source's `cat-file` while `fast-import` reads them (never whole
/// in memory). `None` for a blob the source snapshot does not know.
pub(crate) fn source_blob_content(source: &SourceTree, oid: ObjectId) -> Option<BlobContent> {
    if let Some(b) = source.blobs.get(&oid) {
        return Some(BlobContent::Data(b.clone()));
    }
    let len = *source.sizes.get(&oid)?;
    let objects = source.objects.as_ref()?;
    if len <= SMALL_BLOB_BYTES
        && let Some(b) = objects.small_blob(oid)
    {
        return Some(BlobContent::Data(b));
    }
    Some(BlobContent::Stream(objects.copy(oid, len)))
}

#[cfg(test)]
#[path = "blob_stream_tests.rs"]
mod tests;
