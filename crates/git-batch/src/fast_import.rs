//! One commit written by one `git fast-import` process.

use bytes::Bytes;

use crate::cmd::argv;
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
    /// shared, not copied).
    fn stream(&self) -> Result<Vec<Bytes>> {
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
                    match content {
                        BlobContent::Data(data) => {
                            if !entry_mode.is_blob() {
                                return Err(Error::invalid(
                                    "mode",
                                    &format!("{mode:o}"),
                                    "needs BlobContent::Existing",
                                ));
                            }
                            head.extend_from_slice(
                                format!("blob\nmark :{next_mark}\ndata {}\n", data.len())
                                    .as_bytes(),
                            );
                            chunks.push(Bytes::from(std::mem::take(&mut head)));
                            chunks.push(data.clone());
                            head.push(b'\n');
                            next_mark += 1;
                            Some(next_mark - 1)
                        }
                        BlobContent::Existing(_) => None,
                    }
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
                        (None, BlobContent::Data(_)) => unreachable!("data always gets a mark"),
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
        chunks.push(Bytes::from(head));
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
    /// Cost: one spawn; the stream is built in memory without copying `Data` contents.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a bad ref, path, mode or signature (checked before
    /// spawning), [`Error::Command`] when fast-import fails, [`Error::Parse`] on unexpected
    /// output.
    pub fn fast_import(&self, req: &CommitRequest) -> Result<ObjectId> {
        let stream = req.stream()?;
        let args = argv(["fast-import", "--quiet"]);
        let out = self.run_ok(&args, stream)?;
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
        let s: Vec<u8> = req.stream().unwrap().concat();
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
