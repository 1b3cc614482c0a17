//! Object ids and in-process blob hashing.

use std::fmt;
use std::str::FromStr;

use sha1::{Digest, Sha1};

use crate::{Error, Result};

/// A SHA-1 git object id (20 bytes).
///
/// `Display` and `Debug` print the 40 lowercase hex digits git prints. Copying is free; parsing
/// from hex allocates nothing. SHA-256 repositories are not supported.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ObjectId([u8; 20]);

impl ObjectId {
    /// Parses 40 hex digits (either case).
    ///
    /// # Errors
    /// [`Error::Parse`] with `what = "object id"` when `s` is not exactly 40 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let b = s.as_bytes();
        if b.len() != 40 {
            return Err(Error::parse("object id", s.as_bytes()));
        }
        let mut out = [0u8; 20];
        for (i, pair) in b.chunks_exact(2).enumerate() {
            match (hex_val(pair[0]), hex_val(pair[1])) {
                (Some(h), Some(l)) => out[i] = (h << 4) | l,
                _ => return Err(Error::parse("object id", s.as_bytes())),
            }
        }
        Ok(Self(out))
    }

    /// Builds an id from its raw 20 bytes.
    pub const fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// The all-zero id git uses for "no object" (for example the old value of a ref that does
    /// not exist yet).
    pub const fn null() -> Self {
        Self([0; 20])
    }

    /// True for [`ObjectId::null`].
    pub fn is_null(&self) -> bool {
        self.0 == [0; 20]
    }

    /// The raw 20 bytes.
    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// Writes the 40 lowercase hex digits into `out` without allocating.
    pub fn write_hex(&self, out: &mut [u8; 40]) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, byte) in self.0.iter().enumerate() {
            out[2 * i] = HEX[usize::from(byte >> 4)];
            out[2 * i + 1] = HEX[usize::from(byte & 0xf)];
        }
    }

    /// The 40 lowercase hex digits as a new `String` (one allocation).
    pub fn to_hex(&self) -> String {
        self.to_string()
    }
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

impl fmt::Display for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; 40];
        self.write_hex(&mut buf);
        f.write_str(std::str::from_utf8(&buf).expect("hex digits are ASCII"))
    }
}

impl fmt::Debug for ObjectId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for ObjectId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Self::from_hex(s)
    }
}

/// The git blob id of `data`: SHA-1 of `"blob <len>\0"` followed by the bytes, as
/// `git hash-object --stdin` computes it (without any clean filter or CRLF conversion).
///
/// Runs in-process: no spawn, no allocation; cost is one SHA-1 pass over `data`.
pub fn blob_oid(data: &[u8]) -> ObjectId {
    let mut hasher = Sha1::new();
    let mut header = [0u8; 32];
    let len = write_header(&mut header, data.len());
    hasher.update(&header[..len]);
    hasher.update(data);
    ObjectId(hasher.finalize().into())
}

/// [`blob_oid`] of the `len` bytes `reader` yields, read in 64 KiB pieces (so a large blob is
/// never held whole).
///
/// # Errors
/// The reader's error, or `UnexpectedEof` / `InvalidData` when it yields fewer or more than
/// `len` bytes.
pub fn blob_oid_from_reader(len: u64, mut reader: impl std::io::Read) -> std::io::Result<ObjectId> {
    let mut hasher = Sha1::new();
    hasher.update(format!("blob {len}\0").as_bytes());
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    match total.cmp(&len) {
        std::cmp::Ordering::Equal => Ok(ObjectId(hasher.finalize().into())),
        std::cmp::Ordering::Less => Err(std::io::ErrorKind::UnexpectedEof.into()),
        std::cmp::Ordering::Greater => Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "more bytes than announced",
        )),
    }
}

fn write_header(buf: &mut [u8; 32], len: usize) -> usize {
    write_object_header(buf, "blob", len)
}

/// The id of a finished SHA-1 (the hasher fed with an object's header and body).
pub(crate) fn finish(hasher: Sha1) -> ObjectId {
    ObjectId(hasher.finalize().into())
}

/// Writes `"<kind> <len>\0"` (a loose object's header) into `buf`; returns its length.
/// `kind` is one of git's object kinds (at most 6 bytes), so the header fits in 32 bytes.
pub(crate) fn write_object_header(buf: &mut [u8; 32], kind: &str, len: usize) -> usize {
    buf[..kind.len()].copy_from_slice(kind.as_bytes());
    buf[kind.len()] = b' ';
    let mut digits = [0u8; 20];
    let mut n = len;
    let mut count = 0;
    loop {
        digits[count] = b'0' + (n % 10) as u8;
        count += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut at = kind.len() + 1;
    for d in digits[..count].iter().rev() {
        buf[at] = *d;
        at += 1;
    }
    buf[at] = 0;
    at + 1
}

/// The kind of a git object, as `cat-file` and `ls-tree` name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// File contents (also symlink targets).
    Blob,
    /// A directory listing.
    Tree,
    /// A commit.
    Commit,
    /// An annotated tag.
    Tag,
}

impl ObjectKind {
    /// Parses git's type name (`blob`, `tree`, `commit`, `tag`).
    ///
    /// # Errors
    /// [`Error::Parse`] with `what = "object type"` for any other text.
    pub fn parse(s: &[u8]) -> Result<Self> {
        match s {
            b"blob" => Ok(Self::Blob),
            b"tree" => Ok(Self::Tree),
            b"commit" => Ok(Self::Commit),
            b"tag" => Ok(Self::Tag),
            _ => Err(Error::parse("object type", s)),
        }
    }

    /// git's name for the kind.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Blob => "blob",
            Self::Tree => "tree",
            Self::Commit => "commit",
            Self::Tag => "tag",
        }
    }
}

impl fmt::Display for ObjectKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let cases: &[(&str, bool)] = &[
            ("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", true),
            ("E69DE29BB2D1D6434B8B29AE775AD8C2E48C5391", true),
            ("e69de29bb2d1d6434b8b29ae775ad8c2e48c539", false),
            ("e69de29bb2d1d6434b8b29ae775ad8c2e48c53911", false),
            ("g69de29bb2d1d6434b8b29ae775ad8c2e48c5391", false),
            ("", false),
        ];
        for (input, ok) in cases {
            let parsed = ObjectId::from_hex(input);
            assert_eq!(parsed.is_ok(), *ok, "{input}");
            if let Ok(oid) = parsed {
                assert_eq!(oid.to_string(), input.to_ascii_lowercase());
                assert_eq!(format!("{oid:?}"), input.to_ascii_lowercase());
            }
        }
    }

    #[test]
    fn null_id() {
        assert!(ObjectId::null().is_null());
        assert_eq!(ObjectId::null().to_string(), "0".repeat(40));
        assert!(!blob_oid(b"").is_null());
    }

    #[test]
    fn known_blob_ids() {
        // Values from `git hash-object --stdin`.
        let cases: &[(&[u8], &str)] = &[
            (b"", "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"),
            (b"hello\n", "ce013625030ba8dba906f756967f9e9ca394464a"),
        ];
        for (data, hex) in cases {
            assert_eq!(blob_oid(data).to_string(), *hex);
        }
    }

    #[test]
    fn header_digits() {
        for len in [0usize, 7, 10, 12345, usize::MAX] {
            let mut buf = [0u8; 32];
            let n = write_header(&mut buf, len);
            assert_eq!(&buf[..n], format!("blob {len}\0").as_bytes());
        }
    }

    #[test]
    fn kinds() {
        for k in [
            ObjectKind::Blob,
            ObjectKind::Tree,
            ObjectKind::Commit,
            ObjectKind::Tag,
        ] {
            assert_eq!(ObjectKind::parse(k.as_str().as_bytes()).ok(), Some(k));
        }
        assert!(ObjectKind::parse(b"blobby").is_err());
    }
}
