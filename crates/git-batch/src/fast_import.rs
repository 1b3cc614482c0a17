//! One commit written by one `git fast-import` process.

use std::io::Write;
use std::sync::Arc;

use bytes::Bytes;

use crate::cmd::{StdinPart, argv};
use crate::{Error, ObjectId, Repo, Result, Signature};

/// A commit to write with [`Repo::fast_import`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitRequest {
    /// The ref to create or advance, for example `"refs/heads/chore/sync-files-default"`.
    /// Must start with `refs/`.
    pub ref_name: String,
    /// The parent (`from`): changes are applied on top of its tree. `None` makes a root commit
    /// whose tree holds only `changes`.
    pub parent: Option<ObjectId>,
    /// Author.
    pub author: Signature,
    /// Committer.
    pub committer: Signature,
    /// The full message (subject, body, trailers), written byte for byte.
    pub message: String,
    /// Changes applied in order on top of the parent's tree.
    pub changes: Vec<TreeChange>,
}

/// One change to a tree path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TreeChange {
    /// Create or replace the file at `path`.
    Upsert {
        /// `/`-separated path relative to the root; no empty, `.` or `..` component.
        path: String,
        /// `0o100644`, `0o100755`, `0o120000` (symlink; content is the target), `0o160000`
        /// (gitlink; content must be `Existing(commit id)`) or `0o040000` (`Existing(tree id)`).
        mode: u32,
        /// The bytes or an existing object.
        content: BlobContent,
    },
    /// Remove `path` (a file or a whole directory). Removing an absent path is not an error.
    Delete {
        /// `/`-separated path relative to the root.
        path: String,
    },
}

/// Content for [`TreeChange::Upsert`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlobContent {
    /// New bytes, written as a blob (no clean filter, no line-ending conversion).
    /// Cloning [`Bytes`] into the input stream does not copy them.
    Data(Bytes),
    /// An object already in the object store (or an alternate). fast-import checks that a
    /// blob or tree exists, so in a partial clone a filtered-out blob cannot be referenced
    /// this way (fails with "Blob not found" rather than fetching it).
    Existing(ObjectId),
    /// Bytes produced while fast-import reads them (a spooled file, another repository's
    /// object), so a large blob is never held whole by this process. Written as a blob like
    /// [`BlobContent::Data`].
    Stream(StreamedBlob),
}

/// Where the bytes of a [`BlobContent::Stream`] come from.
///
/// `write_to` is called once per [`Repo::fast_import`] that names the blob, on the thread that
/// feeds fast-import's stdin, while fast-import runs; it must write exactly the announced
/// length (fast-import reads `data <len>` and then that many bytes, git-fast-import(1)
/// "data"). Implementations should copy in bounded pieces (e.g. `std::io::copy`).
pub trait BlobSource: Send + Sync + std::fmt::Debug {
    /// Writes the blob's bytes to `out`.
    ///
    /// # Errors
    /// Any I/O error; the import then fails (see [`StreamedBlob`]).
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()>;
}

/// A blob of known length whose bytes a [`BlobSource`] writes on demand. Cheap to clone
/// (shares the source). Two values are equal when they share the source and the length.
#[derive(Clone, Debug)]
pub struct StreamedBlob {
    len: u64,
    source: Arc<dyn BlobSource>,
}

impl StreamedBlob {
    /// A blob of `len` bytes written by `source`.
    pub fn new(len: u64, source: Arc<dyn BlobSource>) -> Self {
        StreamedBlob { len, source }
    }

    /// The announced length in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the blob is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Writes the source's bytes to `out`, failing when the source writes more or fewer than
    /// [`len`](Self::len) bytes. On failure the caller must stop writing the stream: a
    /// fast-import stream started with `feature done` then ends without `done`, so git rejects
    /// the whole import instead of reading the next command as blob data.
    ///
    /// # Errors
    /// The source's error, or `InvalidData` for a length mismatch.
    pub fn write_exact(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let mut exact = ExactWriter {
            out,
            left: self.len,
        };
        self.source.write_to(&mut exact)?;
        if exact.left != 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!(
                    "blob source wrote {} of {} announced bytes",
                    self.len - exact.left,
                    self.len
                ),
            ));
        }
        Ok(())
    }
}

impl PartialEq for StreamedBlob {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && Arc::ptr_eq(&self.source, &other.source)
    }
}

impl Eq for StreamedBlob {}

/// Passes at most `left` bytes through; more is an error.
struct ExactWriter<'a> {
    out: &'a mut dyn Write,
    left: u64,
}

impl Write for ExactWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "blob source wrote more bytes than announced",
            ));
        }
        let n = self.out.write(buf)?;
        self.left -= n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

fn check_path(path: &str) -> Result<()> {
    let bad = |reason| Err(Error::invalid("tree path", path, reason));
    if path.is_empty() {
        return bad("is empty");
    }
    if path.contains('\0') {
        return bad("contains NUL");
    }
    for part in path.split('/') {
        match part {
            "" => return bad("has an empty component (leading, trailing or double '/')"),
            "." | ".." => return bad("has a '.' or '..' component"),
            p if p.eq_ignore_ascii_case(".git") => return bad("has a '.git' component"),
            _ => {}
        }
    }
    Ok(())
}

/// Writes `path` for a fast-import `M`/`D` line: C-style quoted when it contains LF, `"` or
/// `\`, or starts with `"` (git-fast-import(1) "filemodify"), plain otherwise.
fn push_path(out: &mut Vec<u8>, path: &str) {
    let needs_quote = path.starts_with('"')
        || path
            .bytes()
            .any(|b| b == b'\n' || b == b'"' || b == b'\\' || b < 0x20);
    if !needs_quote {
        out.extend_from_slice(path.as_bytes());
        return;
    }
    out.push(b'"');
    for &b in path.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x00..=0x1f => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

impl CommitRequest {
    /// Builds the fast-import stream as chunks (headers plus the `Data` buffers themselves,
    /// shared, not copied; `Stream` blobs as their sources).
    fn stream(&self) -> Result<Vec<StdinPart>> {
        if !self.ref_name.starts_with("refs/") || self.ref_name.contains([' ', '\n', '\0']) {
            return Err(Error::invalid(
                "ref name",
                &self.ref_name,
                "must start with refs/ and hold no space, newline or NUL",
            ));
        }
        self.author.validate()?;
        self.committer.validate()?;
        let mut chunks = Vec::with_capacity(self.changes.len() * 3 + 4);
        let mut head = Vec::with_capacity(256);
        head.extend_from_slice(b"feature done\n");
        let mut marks = Vec::with_capacity(self.changes.len());
        let mut next_mark = 1u64;
        for change in &self.changes {
            let mark = match change {
                TreeChange::Upsert {
                    path,
                    mode,
                    content,
                } => {
                    check_path(path)?;
                    let Some(entry_mode) = crate::EntryMode::from_bits(*mode) else {
                        return Err(Error::invalid(
                            "mode",
                            &format!("{mode:o}"),
                            "is not a git tree mode",
                        ));
                    };
                    let (len, part) = match content {
                        BlobContent::Data(data) => {
                            (data.len() as u64, StdinPart::Bytes(data.clone()))
                        }
                        BlobContent::Stream(blob) => (blob.len(), StdinPart::Blob(blob.clone())),
                        BlobContent::Existing(_) => {
                            marks.push(None);
                            continue;
                        }
                    };
                    if !entry_mode.is_blob() {
                        return Err(Error::invalid(
                            "mode",
                            &format!("{mode:o}"),
                            "needs BlobContent::Existing",
                        ));
                    }
                    head.extend_from_slice(
                        format!("blob\nmark :{next_mark}\ndata {len}\n").as_bytes(),
                    );
                    chunks.push(StdinPart::Bytes(Bytes::from(std::mem::take(&mut head))));
                    chunks.push(part);
                    head.push(b'\n');
                    next_mark += 1;
                    Some(next_mark - 1)
                }
                TreeChange::Delete { path } => {
                    check_path(path)?;
                    None
                }
            };
            marks.push(mark);
        }
        let commit_mark = next_mark;
        head.extend_from_slice(
            format!(
                "commit {}\nmark :{commit_mark}\nauthor {}\ncommitter {}\ndata {}\n",
                self.ref_name,
                self.author,
                self.committer,
                self.message.len()
            )
            .as_bytes(),
        );
        head.extend_from_slice(self.message.as_bytes());
        head.push(b'\n');
        if let Some(parent) = self.parent {
            head.extend_from_slice(format!("from {parent}\n").as_bytes());
        }
        for (change, mark) in self.changes.iter().zip(&marks) {
            match change {
                TreeChange::Upsert {
                    path,
                    mode,
                    content,
                } => {
                    let dataref = match (mark, content) {
                        (Some(m), _) => format!(":{m}"),
                        (None, BlobContent::Existing(oid)) => oid.to_hex(),
                        (None, BlobContent::Data(_) | BlobContent::Stream(_)) => {
                            unreachable!("data always gets a mark")
                        }
                    };
                    head.extend_from_slice(format!("M {mode:06o} {dataref} ").as_bytes());
                    push_path(&mut head, path);
                    head.push(b'\n');
                }
                TreeChange::Delete { path } => {
                    head.extend_from_slice(b"D ");
                    push_path(&mut head, path);
                    head.push(b'\n');
                }
            }
        }
        head.extend_from_slice(format!("\nget-mark :{commit_mark}\ndone\n").as_bytes());
        chunks.push(StdinPart::Bytes(Bytes::from(head)));
        Ok(chunks)
    }
}

impl Repo {
    /// Writes the blobs, trees and the commit of `req` in ONE `git fast-import --quiet`
    /// process (one pack file, no loose objects) and returns the new commit id, read back
    /// with `get-mark` on stdout.
    ///
    /// The ref is updated without `--force`: if it exists and the new commit does not descend
    /// from its current value (for example a root commit, or a parent that is not the ref's
    /// tip or a descendant of it), git refuses and this returns [`Error::Command`] — the ref
    /// is never rewound. Works in a shallow, blob-less repository (trees only are read) and in
    /// one whose objects live in an alternate.
    ///
    /// Cost: one spawn; the stream is built in memory without copying `Data` contents;
    /// `Stream` contents are copied from their sources while git reads them.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad ref, path, mode or signature (checked before
    /// spawning), [`Error::Command`] when fast-import fails, [`Error::Parse`] on unexpected
    /// output.
    pub fn fast_import(&self, req: &CommitRequest) -> Result<ObjectId> {
        let stream = req.stream()?;
        let args = argv(["fast-import", "--quiet"]);
        let out = self
            .git()
            .run_ok_parts(Some(self.git_dir()), &args, stream)?;
        let text =
            std::str::from_utf8(&out).map_err(|_| Error::parse("fast-import get-mark", &out))?;
        ObjectId::from_hex(text.trim())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_quoting() {
        let cases = [
            ("plain path with spaces", "plain path with spaces"),
            ("\"starts", "\"\\\"starts\""),
            ("has\nnewline", "\"has\\nnewline\""),
            ("mid\"quote", "\"mid\\\"quote\""),
            ("back\\slash", "\"back\\\\slash\""),
            ("tab\there", "\"tab\\there\""),
            ("ünïcode", "ünïcode"),
        ];
        for (input, want) in cases {
            let mut out = Vec::new();
            push_path(&mut out, input);
            assert_eq!(String::from_utf8(out).unwrap(), want, "{input:?}");
        }
    }

    #[test]
    fn path_checks() {
        let cases = [
            ("a/b.txt", true),
            ("", false),
            ("/abs", false),
            ("trailing/", false),
            ("a//b", false),
            ("a/../b", false),
            ("./a", false),
            (".git/config", false),
            ("x/.GIT/y", false),
            (".github/workflows/ci.yml", true),
        ];
        for (p, ok) in cases {
            assert_eq!(check_path(p).is_ok(), ok, "{p:?}");
        }
    }

    fn sig() -> Signature {
        Signature {
            name: "N".into(),
            email: "n@x".into(),
            time_secs: 1,
            offset_minutes: 0,
        }
    }

    #[test]
    fn stream_shape() {
        let req = CommitRequest {
            ref_name: "refs/heads/x".into(),
            parent: Some(ObjectId::null()),
            author: sig(),
            committer: sig(),
            message: "m\n".into(),
            changes: vec![
                TreeChange::Upsert {
                    path: "a".into(),
                    mode: 0o100755,
                    content: BlobContent::Data(Bytes::from_static(b"hi")),
                },
                TreeChange::Delete { path: "b".into() },
            ],
        };
        let s: Vec<u8> = req
            .stream()
            .unwrap()
            .iter()
            .flat_map(|p| match p {
                StdinPart::Bytes(b) => b.to_vec(),
                StdinPart::Blob(_) => unreachable!("no streamed blob here"),
            })
            .collect();
        let s = String::from_utf8(s).unwrap();
        let want = format!(
            "feature done\nblob\nmark :1\ndata 2\nhi\ncommit refs/heads/x\nmark :2\n\
             author N <n@x> 1 +0000\ncommitter N <n@x> 1 +0000\ndata 2\nm\n\nfrom {}\n\
             M 100755 :1 a\nD b\n\nget-mark :2\ndone\n",
            ObjectId::null()
        );
        assert_eq!(s, want);
        let mut bad = req.clone();
        bad.ref_name = "heads/x".into();
        assert!(bad.stream().is_err());
        let mut bad = req;
        bad.changes = vec![TreeChange::Upsert {
            path: "a".into(),
            mode: 0o100600,
            content: BlobContent::Existing(ObjectId::null()),
        }];
        assert!(bad.stream().is_err());
    }
}
