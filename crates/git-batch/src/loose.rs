//! Reading a loose object in process, as a stream.
//!
//! A loose object is the file `objects/<first 2 hex digits>/<other 38>` holding the zlib
//! stream (RFC 1950) of `<type> SP <size in decimal> NUL <content>` (gitformat-loose(5),
//! "Loose objects"; git's `object-file.c`, `parse_loose_header`). git itself maps such a file
//! whole while it streams it (`core.bigFileThreshold` and `core.packedGit*` bound packed
//! objects only), so a process reading a freshly committed 150 MiB blob through `cat-file` grows
//! by 150 MiB; reading it here costs fixed buffers instead.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::{Decompress, FlushDecompress, Status};

use crate::{Error, ObjectId, ObjectKind, Result};

/// Buffer between the file and the inflater (64 KiB).
const READ_BUF_BYTES: usize = 64 * 1024;

/// Longest header git accepts in a loose object (`MAX_HEADER_LEN` in git's `object-file.c`):
/// `<type> SP <size> NUL` fits in 32 bytes for every type and any 64-bit size.
const MAX_HEADER_BYTES: usize = 32;

/// One loose object opened for reading: its kind and size from the header, and its content as
/// a [`Read`].
///
/// The reader yields exactly [`LooseObject::size`] bytes and then checks that the zlib stream
/// ends there (its Adler-32 checksum verified by the inflater) with nothing after it: a
/// truncated, corrupt or mis-sized object ends in an error (`ErrorKind::InvalidData` or
/// `UnexpectedEof`, wrapping [`Error::CorruptLooseObject`] naming the file), never in a short
/// read that looks like the end. A reader dropped before the end checks nothing more.
///
/// The object id is not recomputed from the content (neither does `git cat-file`).
///
/// Memory: a 64 KiB read buffer and the inflater's state (its 32 KiB window), whatever the
/// object's size; no process is spawned.
pub struct LooseObject {
    path: PathBuf,
    kind: ObjectKind,
    size: u64,
    input: BufReader<File>,
    inflater: Decompress,
    /// Content bytes inflated together with the header, handed out first.
    pending: [u8; MAX_HEADER_BYTES],
    pending_at: usize,
    pending_end: usize,
    /// Content bytes not yet handed out.
    remaining: u64,
    stream_end: bool,
    verified: bool,
}

impl std::fmt::Debug for LooseObject {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LooseObject")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("size", &self.size)
            .field("remaining", &self.remaining)
            .finish()
    }
}

/// The path of `oid`'s loose file under `objects_dir`: `<objects_dir>/xx/yyyy…` (40 hex digits
/// split after the second, gitrepository-layout(5) "objects/[0-9a-f][0-9a-f]").
pub fn loose_object_path(objects_dir: &Path, oid: ObjectId) -> PathBuf {
    let mut hex = [0u8; 40];
    oid.write_hex(&mut hex);
    let hex = std::str::from_utf8(&hex).expect("hex digits are ASCII");
    objects_dir.join(&hex[..2]).join(&hex[2..])
}

impl LooseObject {
    /// Opens `oid`'s loose file under `objects_dir` (a repository's `objects/` directory) and
    /// reads its header. `Ok(None)` when there is no such file: the object is packed, in an
    /// alternate (`objects/info/alternates` is not followed) or absent, and the caller asks
    /// `cat-file` instead.
    ///
    /// Costs one `open` and one read of at most 64 KiB.
    ///
    /// # Errors
    /// [`Error::Io`] when the file exists but cannot be read; [`Error::CorruptLooseObject`]
    /// when its start is not a zlib stream or its header is not `<type> SP <size> NUL` with a
    /// known type and a canonical decimal size.
    pub fn open(objects_dir: &Path, oid: ObjectId) -> Result<Option<Self>> {
        let path = loose_object_path(objects_dir, oid);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(Error::Io { path, source }),
        };
        let mut obj = LooseObject {
            path,
            kind: ObjectKind::Blob,
            size: 0,
            input: BufReader::with_capacity(READ_BUF_BYTES, file),
            inflater: Decompress::new(true),
            pending: [0; MAX_HEADER_BYTES],
            pending_at: 0,
            pending_end: 0,
            remaining: 0,
            stream_end: false,
            verified: false,
        };
        obj.read_header()?;
        Ok(Some(obj))
    }

    /// The object's kind, from its header.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// The content's size in bytes, from its header.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The loose file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Inflates up to [`MAX_HEADER_BYTES`] and parses the header; content bytes that came with
    /// it stay in `pending`.
    fn read_header(&mut self) -> Result<()> {
        let mut buf = [0u8; MAX_HEADER_BYTES];
        let mut filled = 0;
        let nul = loop {
            if let Some(i) = buf[..filled].iter().position(|&b| b == 0) {
                break i;
            }
            if filled == buf.len() {
                return Err(self.corrupt("no header end within 32 bytes"));
            }
            let n = self
                .inflate(&mut buf[filled..])
                .map_err(|e| self.header_error(e))?;
            if n == 0 {
                return Err(self.corrupt("the stream ends inside the header"));
            }
            filled += n;
        };
        let (kind, size) =
            parse_header(&buf[..nul]).ok_or_else(|| self.corrupt("malformed header"))?;
        self.kind = kind;
        self.size = size;
        self.remaining = size;
        self.pending = buf;
        self.pending_at = nul + 1;
        self.pending_end = filled;
        if (self.pending_end - self.pending_at) as u64 > size {
            return Err(self.corrupt("more content than its header says"));
        }
        Ok(())
    }

    fn header_error(&self, e: std::io::Error) -> Error {
        match e.into_inner().map(|inner| inner.downcast::<Error>()) {
            Some(Ok(inner)) => *inner,
            Some(Err(other)) => Error::Io {
                path: self.path.clone(),
                source: std::io::Error::other(other),
            },
            None => self.corrupt("unreadable header"),
        }
    }

    fn corrupt(&self, reason: &'static str) -> Error {
        Error::CorruptLooseObject {
            path: self.path.clone(),
            reason,
        }
    }

    fn corrupt_io(&self, kind: std::io::ErrorKind, reason: &'static str) -> std::io::Error {
        std::io::Error::new(kind, self.corrupt(reason))
    }

    /// Inflates into `out` (non-empty); `Ok(0)` only once the zlib stream has ended.
    fn inflate(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.stream_end {
                return Ok(0);
            }
            let path = &self.path;
            let input = self.input.fill_buf().map_err(|source| {
                std::io::Error::other(Error::Io {
                    path: path.clone(),
                    source,
                })
            })?;
            let at_eof = input.is_empty();
            let (in_before, out_before) = (self.inflater.total_in(), self.inflater.total_out());
            let status = self
                .inflater
                .decompress(input, out, FlushDecompress::None)
                .map_err(|_| {
                    self.corrupt_io(std::io::ErrorKind::InvalidData, "not a valid zlib stream")
                })?;
            let consumed = (self.inflater.total_in() - in_before) as usize;
            let produced = (self.inflater.total_out() - out_before) as usize;
            self.input.consume(consumed);
            if status == Status::StreamEnd {
                self.stream_end = true;
            }
            if produced > 0 || self.stream_end {
                return Ok(produced);
            }
            if at_eof {
                return Err(self.corrupt_io(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file ends before its zlib stream does",
                ));
            }
            if consumed == 0 {
                return Err(self.corrupt_io(
                    std::io::ErrorKind::InvalidData,
                    "the inflater makes no progress",
                ));
            }
        }
    }

    /// After the last content byte: the zlib stream must end there, and the file with it.
    fn verify_end(&mut self) -> std::io::Result<()> {
        if self.verified {
            return Ok(());
        }
        let mut extra = [0u8; 1];
        if self.inflate(&mut extra)? > 0 {
            return Err(self.corrupt_io(
                std::io::ErrorKind::InvalidData,
                "more content than its header says",
            ));
        }
        let path = &self.path;
        let rest = self.input.fill_buf().map_err(|source| {
            std::io::Error::other(Error::Io {
                path: path.clone(),
                source,
            })
        })?;
        if !rest.is_empty() {
            return Err(self.corrupt_io(
                std::io::ErrorKind::InvalidData,
                "bytes after the end of its zlib stream",
            ));
        }
        self.verified = true;
        Ok(())
    }
}

impl Read for LooseObject {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.pending_at < self.pending_end {
            let n = (self.pending_end - self.pending_at).min(buf.len());
            buf[..n].copy_from_slice(&self.pending[self.pending_at..self.pending_at + n]);
            self.pending_at += n;
            self.remaining -= n as u64;
            return Ok(n);
        }
        if self.remaining == 0 {
            self.verify_end()?;
            return Ok(0);
        }
        let want = usize::try_from(self.remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let n = self.inflate(&mut buf[..want])?;
        if n == 0 {
            return Err(self.corrupt_io(
                std::io::ErrorKind::UnexpectedEof,
                "the zlib stream ends before the size its header says",
            ));
        }
        self.remaining -= n as u64;
        Ok(n)
    }
}

/// Parses `<type> SP <size>` (the header without its NUL) as git's `parse_loose_header` does:
/// one of the four types, then a decimal size without leading zeros (`0` itself is fine).
fn parse_header(h: &[u8]) -> Option<(ObjectKind, u64)> {
    let sp = h.iter().position(|&b| b == b' ')?;
    let kind = ObjectKind::parse(&h[..sp]).ok()?;
    let digits = &h[sp + 1..];
    if digits.is_empty()
        || !digits.iter().all(u8::is_ascii_digit)
        || (digits.len() > 1 && digits[0] == b'0')
    {
        return None;
    }
    let size = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((kind, size))
}

#[cfg(test)]
mod tests {
    use super::*;

    type Parsed = Option<(ObjectKind, u64)>;

    #[test]
    fn headers_parse_as_git_parses_them() {
        let cases: &[(&[u8], Parsed)] = &[
            (b"blob 0", Some((ObjectKind::Blob, 0))),
            (b"blob 123", Some((ObjectKind::Blob, 123))),
            (b"tree 7", Some((ObjectKind::Tree, 7))),
            (b"commit 250", Some((ObjectKind::Commit, 250))),
            (
                b"tag 18446744073709551615",
                Some((ObjectKind::Tag, u64::MAX)),
            ),
            (b"blob 010", None),
            (b"blob 00", None),
            (b"blob ", None),
            (b"blob", None),
            (b"blob 1 2", None),
            (b"blob -1", None),
            (b"blob +1", None),
            (b"blobs 1", None),
            (b"blob 18446744073709551616", None),
            (b"", None),
        ];
        for (input, want) in cases {
            assert_eq!(
                parse_header(input),
                *want,
                "{}",
                String::from_utf8_lossy(input)
            );
        }
    }

    #[test]
    fn path_splits_after_two_digits() {
        let oid = crate::blob_oid(b"");
        assert_eq!(
            loose_object_path(Path::new("o"), oid),
            Path::new("o/e6/9de29bb2d1d6434b8b29ae775ad8c2e48c5391")
        );
    }
}
