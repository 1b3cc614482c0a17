//! Conditional requests: where the forge keeps the `ETag` and body of every GET between runs, and
//! which GETs may be answered from them.
//!
//! GitHub answers a GET carrying `If-None-Match: <etag>` of an unchanged resource with `304 Not
//! Modified`, which "does not count against your primary rate limit if ... the request was made
//! while correctly authorized with an `Authorization` header" (GitHub Docs, "Best practices for
//! using the REST API", "Use conditional requests if appropriate"). So an in-sync re-run that
//! repeats the pull-request lookups of the previous run costs no counted request.
//!
//! The files are a cache, never state: deleting them only makes the next run pay for its reads
//! again. GitHub's `ETag`s vary with the token (the responses say `Vary: Authorization`), and two
//! tokens may see different repositories, so entries are kept apart per API host and token: the
//! directory name is a SHA-256 of both. The token itself is never written.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::Token;

/// Entries kept in memory per forge (the disk holds any number).
pub(super) const MEMORY_ENTRIES: usize = 100_000;

/// Whether GETs are sent with `If-None-Match`, and where validators are kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ConditionalRequests {
    /// Plain GETs (the `--no-cache` flag).
    #[default]
    Off,
    /// Validators kept for this forge's lifetime only.
    Memory,
    /// Validators kept under this directory (one partition of [`partition_dir`]) across runs.
    Disk(PathBuf),
}

/// `$XDG_CACHE_HOME/broadcast` (Linux; `~/.cache/broadcast` when unset), the platform's user
/// cache directory elsewhere (`dirs::cache_dir`). `None` when the platform has none (no home).
pub fn default_cache_root() -> Option<PathBuf> {
    Some(dirs::cache_dir()?.join("broadcast"))
}

/// The directory under `root` for one API host and token:
/// `root/github/<first 32 hex digits of SHA-256("broadcast-etags-v1\0" api_url "\0" token)>`.
/// Different hosts or tokens never share entries; the token cannot be read back from the name.
pub fn partition_dir(root: &Path, api_url: &str, token: &Token) -> PathBuf {
    let mut h = Sha256::new();
    h.update(b"broadcast-etags-v1\0");
    h.update(api_url.trim_end_matches('/').as_bytes());
    h.update(b"\0");
    h.update(token.expose().as_bytes());
    let digest = h.finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    root.join("github").join(hex)
}

/// Whether a GET of `url` may be revalidated: everything but `GET /rate_limit`, which must be
/// fresh and costs nothing anyway.
pub(super) fn cacheable(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    !path.ends_with("/rate_limit")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_differ_by_host_and_token_and_never_hold_the_token() {
        let root = Path::new("/c");
        let t1 = Token::new("ghp_one");
        let t2 = Token::new("ghp_two");
        let a = partition_dir(root, "https://api.github.com", &t1);
        assert_eq!(a, partition_dir(root, "https://api.github.com/", &t1));
        assert_ne!(a, partition_dir(root, "https://api.github.com", &t2));
        assert_ne!(
            a,
            partition_dir(root, "https://ghe.example.com/api/v3", &t1)
        );
        assert!(a.starts_with("/c/github"));
        assert!(!a.to_string_lossy().contains("ghp_one"));
        assert_eq!(a.file_name().map(|n| n.len()), Some(32));
    }

    #[test]
    fn rate_limit_is_never_revalidated() {
        assert!(!cacheable("https://api.github.com/rate_limit"));
        assert!(!cacheable("http://127.0.0.1:9/api/v3/rate_limit?x=1"));
        assert!(cacheable(
            "https://api.github.com/repos/o/r/pulls?head=o:b&state=open"
        ));
        assert!(cacheable("https://api.github.com/repos/o/r"));
    }
}
