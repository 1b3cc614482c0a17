//! git over HTTP with the forge's `GitRemote`: git's own `git http-backend` (CGI) behind a tiny
//! HTTP/1.1 server on loopback that answers 401 to any request without the expected
//! `Authorization` header. The token reaches git only through `GIT_CONFIG_*` environment config.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use broadcast::forge::github::{GitHubForge, GitHubOptions, Pacing, Token};
use broadcast::forge::{Forge, GitRemote};
use broadcast::repo::RepoRef;

use crate::Result;
use crate::fixtures::TOKEN;

/// A running git smart-HTTP server; counts accepted and rejected requests.
pub(crate) struct GitServer {
    pub(crate) base_url: String,
    pub(crate) accepted: Arc<AtomicUsize>,
    pub(crate) rejected: Arc<AtomicUsize>,
}

/// The header git must send: `Basic base64("x-access-token:" + TOKEN)`, computed by an
/// independent encoder (the `base64` program) so the forge's encoder is checked too.
pub(crate) fn expected_authorization() -> Result<String> {
    let mut child = Command::new("base64")
        .args(["-w", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .ok_or("stdin")?
        .write_all(format!("x-access-token:{TOKEN}").as_bytes())?;
    let out = child.wait_with_output()?;
    Ok(format!("Basic {}", String::from_utf8(out.stdout)?.trim()))
}

impl GitServer {
    /// Serves every repository under `root` (threads live until the test process exits).
    pub(crate) fn start(root: &Path) -> Result<GitServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let want = expected_authorization()?;
        let accepted = Arc::new(AtomicUsize::new(0));
        let rejected = Arc::new(AtomicUsize::new(0));
        let (a, r, root_owned) = (accepted.clone(), rejected.clone(), root.to_path_buf());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (want, a, r, root) = (want.clone(), a.clone(), r.clone(), root_owned.clone());
                std::thread::spawn(move || {
                    if let Err(e) = serve(stream, &root, &want, &a, &r) {
                        eprintln!("git test server: {e}");
                    }
                });
            }
        });
        Ok(GitServer {
            base_url,
            accepted,
            rejected,
        })
    }
}

fn serve(
    stream: TcpStream,
    root: &Path,
    want_auth: &str,
    accepted: &AtomicUsize,
    rejected: &AtomicUsize,
) -> Result {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().ok_or("request line")?.to_owned();
    let target = parts.next().ok_or("request target")?.to_owned();
    let mut headers: HashMap<String, String> = HashMap::new();
    let mut authorization_count = 0;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("authorization") {
                authorization_count += 1;
            }
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let mut body = Vec::new();
    if let Some(len) = headers.get("content-length") {
        body.resize(len.parse()?, 0);
        reader.read_exact(&mut body)?;
    } else if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
    {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)?;
            let mut chunk = vec![0; n + 2];
            reader.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    // GitHub answers 400 to a duplicated Authorization header; any mismatch is a rejection here.
    if authorization_count != 1
        || headers.get("authorization").map(String::as_str) != Some(want_auth)
    {
        rejected.fetch_add(1, Ordering::SeqCst);
        out.write_all(
            b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        )?;
        return Ok(());
    }
    accepted.fetch_add(1, Ordering::SeqCst);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", root)
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("REMOTE_USER", "x-access-token")
        .env("CONTENT_LENGTH", body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(ct) = headers.get("content-type") {
        cmd.env("CONTENT_TYPE", ct);
    }
    if let Some(p) = headers.get("git-protocol") {
        cmd.env("GIT_PROTOCOL", p);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().ok_or("cgi stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let cgi = child.wait_with_output()?;
    writer.join().map_err(|_| "stdin writer panicked")??;
    let split = cgi
        .stdout
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| {
            cgi.stdout
                .windows(2)
                .position(|w| w == b"\n\n")
                .map(|i| (i, 2))
        })
        .ok_or("cgi output has no header end")?;
    let head = String::from_utf8_lossy(&cgi.stdout[..split.0]).into_owned();
    let content = &cgi.stdout[split.0 + split.1..];
    let mut status = "200 OK".to_owned();
    let mut resp = Vec::new();
    for h in head.lines() {
        if let Some(s) = h.strip_prefix("Status:") {
            status = s.trim().to_owned();
        } else if !h.is_empty() {
            resp.extend_from_slice(format!("{h}\r\n").as_bytes());
        }
    }
    out.write_all(format!("HTTP/1.1 {status}\r\n").as_bytes())?;
    out.write_all(&resp)?;
    out.write_all(
        format!(
            "Content-Length: {}\r\nConnection: close\r\n\r\n",
            content.len()
        )
        .as_bytes(),
    )?;
    out.write_all(content)?;
    Ok(())
}

/// `git` with a clean, fixed environment plus the remote's config through `GIT_CONFIG_*`.
pub(crate) fn git(
    home: &Path,
    cwd: &Path,
    remote: Option<&GitRemote>,
    args: &[&str],
) -> Result<Output> {
    for a in args {
        assert!(!a.contains(TOKEN), "token in argv: {a}");
    }
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(cwd)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_ASKPASS", "")
        .env("SSH_ASKPASS", "")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", "2024-01-01T00:00:00Z")
        .env("GIT_COMMITTER_NAME", "Test Committer")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_COMMITTER_DATE", "2024-01-01T00:00:00Z")
        .env_remove("GIT_CONFIG_PARAMETERS")
        .env_remove("GIT_DIR");
    if let Some(r) = remote {
        cmd.env("GIT_CONFIG_COUNT", r.config.len().to_string());
        for (i, (k, v)) in r.config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), k);
            cmd.env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
    } else {
        cmd.env_remove("GIT_CONFIG_COUNT");
    }
    Ok(cmd.output()?)
}

/// Runs git and fails the test with its stderr when it fails.
pub(crate) fn git_ok(
    home: &Path,
    cwd: &Path,
    remote: Option<&GitRemote>,
    args: &[&str],
) -> Result<String> {
    let out = git(home, cwd, remote, args)?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8(out.stdout)?)
}

/// A bare repository `<root>/<owner>/<name>.git` that accepts pushes over HTTP.
pub(crate) fn bare_repo(home: &Path, root: &Path, owner: &str, name: &str) -> Result<PathBuf> {
    let dir = root.join(owner).join(format!("{name}.git"));
    std::fs::create_dir_all(&dir)?;
    git_ok(home, &dir, None, &["init", "--bare", "-q", "-b", "main"])?;
    git_ok(home, &dir, None, &["config", "http.receivepack", "true"])?;
    git_ok(
        home,
        &dir,
        None,
        &["config", "uploadpack.allowFilter", "true"],
    )?;
    Ok(dir)
}

fn forge_for(server: &GitServer) -> Result<GitHubForge> {
    let mut o = GitHubOptions::new(Token::new(TOKEN));
    o.api_url = server.base_url.clone();
    o.web_url = server.base_url.clone();
    o.write_pacing = Pacing::unlimited();
    Ok(GitHubForge::new(o)?)
}

#[test]
fn git_push_and_fetch_authenticate_through_env_config_only() -> Result {
    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join("home");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&home)?;
    let bare = bare_repo(&home, &root, "acme", "api")?;
    let server = GitServer::start(&root)?;
    let forge = forge_for(&server)?;
    let repo = RepoRef::GitHub {
        owner: "acme".into(),
        name: "api".into(),
    };
    let remote = forge.git_remote(&repo)?;
    assert_eq!(remote.url, format!("{}/acme/api.git", server.base_url));
    assert!(!remote.url.contains(TOKEN));

    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work)?;
    git_ok(&home, &work, None, &["init", "-q", "-b", "main"])?;
    std::fs::write(work.join("README.md"), "hello\n")?;
    git_ok(&home, &work, None, &["add", "README.md"])?;
    git_ok(&home, &work, None, &["commit", "-q", "-m", "first"])?;
    let head = git_ok(&home, &work, None, &["rev-parse", "HEAD"])?;

    // Without the config, the server refuses and git fails (no prompt, no credential).
    let denied = git(&home, &work, None, &["push", &remote.url, "main"])?;
    assert!(!denied.status.success());
    assert!(server.rejected.load(Ordering::SeqCst) > 0);
    assert_eq!(server.accepted.load(Ordering::SeqCst), 0);

    git_ok(
        &home,
        &work,
        Some(&remote),
        &["push", "-q", &remote.url, "main:refs/heads/chore/sync"],
    )?;
    let pushed = git_ok(&home, &bare, None, &["rev-parse", "refs/heads/chore/sync"])?;
    assert_eq!(pushed, head);

    let clone = tmp.path().join("clone");
    std::fs::create_dir_all(&clone)?;
    git_ok(&home, &clone, None, &["init", "-q", "--bare"])?;
    git_ok(
        &home,
        &clone,
        Some(&remote),
        &[
            "fetch",
            "-q",
            "--filter=blob:none",
            "--depth",
            "1",
            &remote.url,
            "refs/heads/chore/sync:refs/heads/sync",
        ],
    )?;
    assert_eq!(
        git_ok(&home, &clone, None, &["rev-parse", "refs/heads/sync"])?,
        head
    );
    assert!(server.accepted.load(Ordering::SeqCst) >= 2);
    Ok(())
}

#[test]
fn extra_header_from_other_config_is_reset_not_duplicated() -> Result {
    // A stale header in the global config (as a persisted actions/checkout header would be) must
    // not be sent next to ours: the forge's first config entry resets the list.
    let tmp = tempfile::tempdir()?;
    let home = tmp.path().join("home");
    let root = tmp.path().join("srv");
    std::fs::create_dir_all(&home)?;
    bare_repo(&home, &root, "acme", "api")?;
    let server = GitServer::start(&root)?;
    let forge = forge_for(&server)?;
    let remote = forge.remote_for("acme", "api");
    std::fs::write(
        home.join(".gitconfig"),
        format!(
            "[http \"{}/\"]\n\textraHeader = Authorization: Basic c3RhbGU=\n",
            server.base_url
        ),
    )?;
    let work = tmp.path().join("w");
    std::fs::create_dir_all(&work)?;
    git_ok(&home, &work, None, &["init", "-q", "-b", "main"])?;
    git_ok(&home, &work, Some(&remote), &["ls-remote", &remote.url])?;
    assert_eq!(server.rejected.load(Ordering::SeqCst), 0);
    Ok(())
}
