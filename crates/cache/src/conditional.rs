//! Validators for HTTP conditional requests (RFC 9110 §13, `If-None-Match`): the `ETag` and the
//! body of every cacheable response, in memory and optionally in a directory on disk.
//!
//! A client sends `If-None-Match: <etag>` with a [`ConditionalCache::get`] hit, uses the kept
//! body when the server answers `304 Not Modified`, and [`ConditionalCache::put`]s every `200`
//! that carries an `ETag`. The server decides freshness on every request, so a kept body is never
//! served stale; the cache only saves the transfer (and, on GitHub, the request's cost: a 304 to a
//! correctly authorised conditional request does not count against the primary rate limit,
//! GitHub Docs "Best practices for using the REST API", "Use conditional requests if
//! appropriate").
//!
//! On disk it is a cache, never state: one file per key in the directory given, written to a
//! temporary file and renamed into place (atomic on one filesystem), read back only when the
//! file parses and names the same key. A missing, truncated, foreign or unreadable file is a
//! miss. Deleting the directory at any time is safe. Keys are stored in the files (so never put a
//! secret in a key); file names are a 64-bit FNV-1a hash of the key.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::{Cache, CacheBuilder};

/// First line of every entry file; a file starting otherwise is ignored.
const MAGIC: &str = "broadcast-conditional-v1\n";
/// Extension of entry files.
const EXT: &str = "etag";

/// One kept response: its validator, its body and its `Link` header (pagination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validated {
    /// The `ETag` header value as received, quotes and `W/` prefix included.
    pub etag: String,
    /// The response body.
    pub body: String,
    /// The `Link` header value, when the response had one.
    pub link: Option<String>,
}

/// Validators and bodies by key (a request URL, say), bounded in memory (FIFO eviction of the
/// oldest entry), optionally persisted one file per key under a directory.
///
/// `Clone` shares the memory side. Thread-safe: `get` and `put` may run on many threads; two
/// writers of one key on disk leave one of the two complete files.
#[derive(Clone, Debug)]
pub struct ConditionalCache {
    memory: Cache<String, Arc<Validated>>,
    dir: Option<PathBuf>,
}

impl ConditionalCache {
    /// A cache holding up to `max_entries` entries in memory (at least 1) and, when `dir` is
    /// given, every entry also under `dir` (created on the first `put`).
    pub fn new(max_entries: usize, dir: Option<PathBuf>) -> ConditionalCache {
        ConditionalCache {
            memory: CacheBuilder::new(max_entries.max(1))
                .build()
                .expect("a non-zero bound and no durations cannot fail"),
            dir,
        }
    }

    /// The directory entries are persisted to, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The entry for `key`: from memory, else from its file (then kept in memory). `None` when
    /// neither has a valid entry. One file read at most; O(entry size).
    pub fn get(&self, key: &str) -> Option<Arc<Validated>> {
        if let Some(v) = self.memory.get(key) {
            return Some(v);
        }
        let path = self.path_for(key)?;
        let bytes = fs::read(path).ok()?;
        let v = Arc::new(decode(key, &bytes)?);
        self.memory.insert(key.to_owned(), v.clone());
        Some(v)
    }

    /// Keeps `entry` for `key` in memory and, with a directory, on disk (temporary file in the
    /// same directory, then rename).
    ///
    /// Errors: the I/O error of creating the directory or writing the file; the memory side is
    /// updated regardless, and the previous file (if any) is left whole.
    pub fn put(&self, key: &str, entry: Validated) -> std::io::Result<()> {
        let entry = Arc::new(entry);
        self.memory.insert(key.to_owned(), entry.clone());
        let (Some(dir), Some(path)) = (self.dir.as_deref(), self.path_for(key)) else {
            return Ok(());
        };
        fs::create_dir_all(dir)?;
        let mut tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".part")
            .tempfile_in(dir)?;
        tmp.write_all(&encode(key, &entry))?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    }

    /// Forgets `key` in memory and on disk (a missing file is not an error).
    pub fn remove(&self, key: &str) -> std::io::Result<()> {
        self.memory.remove(key);
        match self.path_for(key).map(fs::remove_file) {
            Some(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Entries held in memory.
    pub fn len(&self) -> usize {
        self.memory.len()
    }

    /// `true` when memory holds no entry.
    pub fn is_empty(&self) -> bool {
        self.memory.is_empty()
    }

    fn path_for(&self, key: &str) -> Option<PathBuf> {
        Some(
            self.dir
                .as_ref()?
                .join(format!("{:016x}.{EXT}", fnv1a64(key.as_bytes()))),
        )
    }
}

/// 64-bit FNV-1a: stable across versions and platforms (file names must not change between runs).
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// `MAGIC`, then `key-len etag-len link-len|- body-len\n`, then the four strings back to back.
fn encode(key: &str, v: &Validated) -> Vec<u8> {
    let link_len = v
        .link
        .as_ref()
        .map_or_else(|| "-".to_owned(), |l| l.len().to_string());
    let header = format!(
        "{MAGIC}{} {} {link_len} {}\n",
        key.len(),
        v.etag.len(),
        v.body.len()
    );
    let mut out = Vec::with_capacity(header.len() + key.len() + v.etag.len() + v.body.len() + 64);
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(v.etag.as_bytes());
    if let Some(l) = &v.link {
        out.extend_from_slice(l.as_bytes());
    }
    out.extend_from_slice(v.body.as_bytes());
    out
}

/// The entry in `bytes` if it parses exactly (lengths add up to the file size) and is `key`'s.
fn decode(key: &str, bytes: &[u8]) -> Option<Validated> {
    let rest = bytes.strip_prefix(MAGIC.as_bytes())?;
    let nl = rest.iter().position(|&b| b == b'\n')?;
    let header = std::str::from_utf8(&rest[..nl]).ok()?;
    let mut data = &rest[nl + 1..];
    let mut fields = header.split(' ');
    let mut len = || {
        fields
            .next()
            .map(|f| (f != "-").then(|| f.parse::<usize>()))
    };
    let (key_len, etag_len, link_len, body_len) = (
        len()?.transpose().ok()??,
        len()?.transpose().ok()??,
        len()?.transpose().ok()?,
        len()?.transpose().ok()??,
    );
    if fields.next().is_some() {
        return None;
    }
    let mut take = |n: usize| -> Option<String> {
        let (head, tail) = data.split_at_checked(n)?;
        data = tail;
        String::from_utf8(head.to_vec()).ok()
    };
    if take(key_len)? != key {
        return None;
    }
    let etag = take(etag_len)?;
    let link = match link_len {
        Some(n) => Some(take(n)?),
        None => None,
    };
    let body = take(body_len)?;
    data.is_empty().then_some(Validated { etag, body, link })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(etag: &str, body: &str, link: Option<&str>) -> Validated {
        Validated {
            etag: etag.to_owned(),
            body: body.to_owned(),
            link: link.map(str::to_owned),
        }
    }

    #[test]
    fn entries_survive_a_new_cache_on_the_same_directory() {
        let dir = tempfile::tempdir().unwrap();
        let a = ConditionalCache::new(8, Some(dir.path().join("sub")));
        let e = entry("W/\"abc\"", "[{\"n\":1}]", Some("<x>; rel=\"next\""));
        a.put("https://h/x?y=1", e.clone()).unwrap();
        let b = ConditionalCache::new(8, Some(dir.path().join("sub")));
        assert_eq!(b.get("https://h/x?y=1").as_deref(), Some(&e));
        assert_eq!(b.get("https://h/x?y=2"), None);
        let no_link = entry("\"1\"", "", None);
        b.put("k", no_link.clone()).unwrap();
        let c = ConditionalCache::new(8, Some(dir.path().join("sub")));
        assert_eq!(c.get("k").as_deref(), Some(&no_link));
        c.remove("k").unwrap();
        c.remove("k").unwrap();
        assert_eq!(
            ConditionalCache::new(8, Some(dir.path().join("sub"))).get("k"),
            None
        );
    }

    #[test]
    fn memory_only_cache_keeps_entries_without_files() {
        let c = ConditionalCache::new(1, None);
        c.put("a", entry("\"1\"", "A", None)).unwrap();
        assert_eq!(c.get("a").map(|v| v.body.clone()).as_deref(), Some("A"));
        c.put("b", entry("\"2\"", "B", None)).unwrap();
        assert_eq!(c.get("a"), None, "bounded: the oldest entry is evicted");
        assert_eq!(c.len(), 1);
    }

    #[test]
    fn corrupt_truncated_and_foreign_files_are_misses() {
        let dir = tempfile::tempdir().unwrap();
        let c = ConditionalCache::new(8, Some(dir.path().to_owned()));
        c.put("key", entry("\"e\"", "body", None)).unwrap();
        let path = c.path_for("key").unwrap();
        let good = fs::read(&path).unwrap();
        let cases: Vec<Vec<u8>> = vec![
            good[..good.len() - 1].to_vec(),
            [good.as_slice(), b"x"].concat(),
            b"garbage".to_vec(),
            Vec::new(),
            encode("other key", &entry("\"e\"", "body", None)),
            good.iter()
                .map(|&b| if b == b' ' { b'x' } else { b })
                .collect(),
            vec![0xff; 40],
        ];
        for bytes in cases {
            fs::write(&path, &bytes).unwrap();
            let fresh = ConditionalCache::new(8, Some(dir.path().to_owned()));
            assert_eq!(
                fresh.get("key"),
                None,
                "{:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
        fs::write(&path, &good).unwrap();
        let fresh = ConditionalCache::new(8, Some(dir.path().to_owned()));
        assert_eq!(
            fresh.get("key").map(|v| v.body.clone()).as_deref(),
            Some("body")
        );
    }

    #[test]
    fn a_directory_that_cannot_be_created_fails_the_write_but_not_the_memory_side() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs::write(&file, "not a directory").unwrap();
        let c = ConditionalCache::new(8, Some(file.join("sub")));
        assert!(c.put("k", entry("\"1\"", "v", None)).is_err());
        assert_eq!(c.get("k").map(|v| v.body.clone()).as_deref(), Some("v"));
        assert!(
            !dir.path()
                .read_dir()
                .unwrap()
                .any(|e| { e.unwrap().file_name().to_string_lossy().ends_with(".part") })
        );
    }

    #[test]
    fn fnv_is_the_published_function() {
        // FNV-1a 64 test vectors (draft-eastlake-fnv): "" and "a".
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
