//! [`Repo`]: commands run against one repository through `--git-dir`, plus the repository-less
//! commands of [`Git`] (`init`, `ls-remote`).

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use crate::cmd::argv;
use crate::commit::Commit;
use crate::tree::{TreeEntry, parse_ls_tree};
use crate::{CatFile, Error, Git, ObjectId, Result};

/// A ref advertised by a remote (`git ls-remote`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteRef {
    /// Full ref name (`refs/heads/main`, `HEAD`, `refs/tags/v1^{}`).
    pub name: String,
    /// The object it points at.
    pub oid: ObjectId,
}

/// Options for [`Repo::fetch`]. `Default` is a plain full fetch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// `--depth <n>`: shallow fetch of the last `n` commits.
    pub depth: Option<u32>,
    /// `--filter=<spec>`, for example `"blob:none"` (trees only, no file contents). A `file://`
    /// remote honours it only with `uploadpack.allowFilter=true`; a plain path ignores it.
    pub filter: Option<String>,
    /// `--no-tags`.
    pub no_tags: bool,
    /// `--shallow-exclude=<ref>`: fetch history down to, not including, the commits reachable
    /// from the remote's `<ref>`, deepening a shallow repository just enough to walk
    /// `<ref>..<fetched ref>` locally. Needs a server that supports `deepen-not` (GitHub and
    /// git's own do).
    pub shallow_exclude: Option<String>,
}

/// One ref to push: `src:dst`, optionally guarded by a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushRefspec {
    /// What to push: a commit id (hex) or a local ref.
    pub src: String,
    /// Where on the remote: a full ref name (`refs/heads/..`).
    pub dst: String,
    /// `None`: a plain push (non-fast-forward is rejected). `Some(Some(oid))`:
    /// `--force-with-lease=dst:oid`, overwrite only if the remote ref is still `oid`.
    /// `Some(None)`: `--force-with-lease=dst:`, the remote ref must not exist yet.
    pub force_with_lease: Option<Option<ObjectId>>,
}

/// Options for [`Repo::push`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PushOptions {
    /// `--atomic`: all refs are updated or none.
    pub atomic: bool,
    /// `--no-thin`: needed from a partial clone, where a thin pack would fetch missing blobs.
    pub no_thin: bool,
}

/// The outcome of one pushed ref, from `git push --porcelain` (git-push(1) "OUTPUT").
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRef {
    /// The remote ref.
    pub dst: String,
    /// What happened.
    pub status: PushStatus,
    /// git's summary text (`[new branch]`, `abc..def`, `[rejected] (stale info)`).
    pub summary: String,
    /// What the remote printed during the push: the text of git's `remote: ` stderr lines,
    /// prefix removed, in order (a hook's message, a forge's `GH006: Protected branch update
    /// failed ...`). git prints them once per push, so every ref of one push carries the same
    /// lines. URL credentials and configured values are scrubbed like any stderr; control
    /// characters are kept as sent.
    pub remote_messages: Vec<String>,
}

impl PushedRef {
    /// True when our side refused the ref because the remote moved under the lease: git's
    /// `[rejected] (stale info)` (a `--force-with-lease` expectation no longer holds) or
    /// `[rejected] (fetch first)` (git-push(1) "OUTPUT"). Re-reading the remote and retrying
    /// can succeed; other rejections (hooks, branch protection) need a person.
    pub fn is_stale_lease(&self) -> bool {
        // A concurrent update on a local receiving side: `cannot lock ref '…': is at X but
        // expected Y` (receive-pack's ref transaction lost the race).
        let raced = |t: &str| t.contains("cannot lock ref") && t.contains("but expected");
        let refused = !matches!(self.status, PushStatus::Ok | PushStatus::UpToDate);
        (self.status == PushStatus::Rejected
            && (self.summary.contains("stale info") || self.summary.contains("fetch first")))
            || (refused && (raced(&self.summary) || self.remote_messages.iter().any(|m| raced(m))))
    }
}

/// Per-ref push status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PushStatus {
    /// Updated (new ref, fast-forward, forced update or deletion).
    Ok,
    /// Nothing to do: the remote already had it.
    UpToDate,
    /// Refused by our side's checks (non-fast-forward, stale lease, atomic push failed).
    Rejected,
    /// Refused by the remote (hook declined, remote failure).
    Error,
}

/// A repository (bare, or a `.git` directory) driven through `git --git-dir=<dir>`.
///
/// Cheap to clone (a [`Git`] and a path). Every method documents how many processes it
/// spawns.
#[derive(Clone, Debug)]
pub struct Repo {
    git: Git,
    git_dir: PathBuf,
}

/// Refuses values git could read as an option or that break line-based protocols.
pub(crate) fn check_arg<'a>(what: &'static str, value: &'a str) -> Result<&'a str> {
    if value.is_empty() {
        return Err(Error::invalid(what, value, "is empty"));
    }
    if value.starts_with('-') {
        return Err(Error::invalid(what, value, "starts with '-'"));
    }
    if value.contains(['\n', '\0']) {
        return Err(Error::invalid(what, value, "contains a newline or NUL"));
    }
    Ok(value)
}

impl Git {
    /// The version git reports (`"2.47.3"` from `git version 2.47.3`): `git --version`. One
    /// spawn, about 1 ms; the cheapest way to check that the program starts.
    ///
    /// # Errors
    /// [`Error::Spawn`], [`Error::Command`], [`Error::Parse`] when the output does not start
    /// with `git version `.
    pub fn version(&self) -> Result<String> {
        let out = self.run_ok(None, &argv(["--version"]), Vec::new())?;
        let text = String::from_utf8_lossy(&out);
        text.trim()
            .strip_prefix("git version ")
            .map(str::to_owned)
            .ok_or_else(|| Error::parse("git --version output", &out))
    }

    /// Creates (or re-initialises) a bare repository at `path`: `git init --bare --quiet -- <path>`.
    /// One spawn.
    ///
    /// # Errors
    /// [`Error::Command`] when git refuses (for example the path is a file).
    pub fn init_bare(&self, path: &Path) -> Result<Repo> {
        let mut args = argv(["init", "--bare", "--quiet", "--"]);
        args.push(path.as_os_str().to_owned());
        self.run_ok(None, &args, Vec::new())?;
        Ok(self.open(path))
    }

    /// Creates a new, empty bare repository at `path` without spawning git: the directories and
    /// files git needs to recognise a repository (gitrepository-layout(5): `HEAD` naming
    /// `refs/heads/main`, `objects/`, `refs/`, and a `config` with `core.bare = true`), and
    /// nothing else (no hooks, no description). For scratch repositories that live for one
    /// operation; [`Git::init_bare`] is the full `git init`.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when `path` exists and is not an empty directory,
    /// [`Error::Io`] naming the file or directory that could not be written.
    pub fn create_bare(&self, path: &Path) -> Result<Repo> {
        if path.exists() && std::fs::read_dir(path).map_or(true, |mut d| d.next().is_some()) {
            return Err(Error::InvalidArgument {
                what: "repository path",
                value: path.display().to_string(),
                reason: "exists and is not an empty directory",
            });
        }
        let io = |p: &Path| {
            let p = p.to_path_buf();
            move |source| Error::Io { path: p, source }
        };
        for dir in ["objects/info", "objects/pack", "refs/heads", "refs/tags"] {
            let d = path.join(dir);
            std::fs::create_dir_all(&d).map_err(io(&d))?;
        }
        let head = path.join("HEAD");
        std::fs::write(&head, "ref: refs/heads/main\n").map_err(io(&head))?;
        let config = path.join("config");
        std::fs::write(
            &config,
            "[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n",
        )
        .map_err(io(&config))?;
        Ok(self.open(path))
    }

    /// A [`Repo`] for an existing git directory (bare repository or a `.git` folder). No spawn,
    /// no check: a wrong path fails at the first command.
    pub fn open(&self, git_dir: &Path) -> Repo {
        Repo {
            git: self.clone(),
            git_dir: git_dir.to_owned(),
        }
    }

    /// Lists a remote's refs: `git ls-remote -- <url> <patterns>..`. One spawn, network.
    ///
    /// # Errors
    /// [`Error::Command`] when the remote cannot be reached (stderr redacted),
    /// [`Error::Parse`] on unexpected output.
    pub fn ls_remote(&self, url: &str, patterns: &[&str]) -> Result<Vec<RemoteRef>> {
        check_arg("url", url)?;
        let mut args = argv(["ls-remote", "--", url]);
        for p in patterns {
            args.push(check_arg("pattern", p)?.into());
        }
        let out = self.run_ok(None, &args, Vec::new())?;
        let mut refs = Vec::new();
        for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            refs.push(parse_remote_line(line)?);
        }
        Ok(refs)
    }

    /// The branch `HEAD` points at and the refs matching `patterns`, in one round trip:
    /// `git ls-remote --symref -- <url> HEAD <patterns>..`. The returned refs include `HEAD`
    /// itself (named `"HEAD"`) when the remote advertises it. The branch is `None` when HEAD
    /// is detached, unborn or not advertised. One spawn, network.
    ///
    /// # Errors
    /// As [`Git::ls_remote`].
    pub fn ls_remote_with_head(
        &self,
        url: &str,
        patterns: &[&str],
    ) -> Result<(Option<String>, Vec<RemoteRef>)> {
        check_arg("url", url)?;
        let mut args = argv(["ls-remote", "--symref", "--", url, "HEAD"]);
        for p in patterns {
            args.push(check_arg("pattern", p)?.into());
        }
        let out = self.run_ok(None, &args, Vec::new())?;
        parse_ls_remote_symref(&out)
    }

    /// The branch a remote's `HEAD` points at (`"main"`), from
    /// `git ls-remote --symref -- <url> HEAD`; `None` when HEAD is detached, unborn or not
    /// advertised. One spawn, network.
    ///
    /// # Errors
    /// As [`Git::ls_remote`].
    pub fn ls_remote_symref_head(&self, url: &str) -> Result<Option<String>> {
        check_arg("url", url)?;
        let args = argv(["ls-remote", "--symref", "--", url, "HEAD"]);
        let out = self.run_ok(None, &args, Vec::new())?;
        for line in out.split(|&b| b == b'\n') {
            // `ref: refs/heads/main<TAB>HEAD`
            if let Some(rest) = line.strip_prefix(b"ref: ") {
                let target = rest.split(|&b| b == b'\t').next().unwrap_or(rest);
                let target = String::from_utf8(target.to_vec())
                    .map_err(|_| Error::parse("ls-remote symref", line))?;
                return Ok(Some(
                    target
                        .strip_prefix("refs/heads/")
                        .map(str::to_owned)
                        .unwrap_or(target),
                ));
            }
        }
        Ok(None)
    }
}

/// Parses `git ls-remote --symref` output: `<oid> TAB <ref>` lines and `ref: <target> TAB
/// <name>` symref lines (git-ls-remote(1)); returns the branch `HEAD` points at (without
/// `refs/heads/`) and the refs. Other symrefs are ignored.
pub(crate) fn parse_ls_remote_symref(out: &[u8]) -> Result<(Option<String>, Vec<RemoteRef>)> {
    let mut head = None;
    let mut refs = Vec::new();
    for line in out.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix(b"ref: ") {
            // `ref: refs/heads/main<TAB>HEAD`; other symrefs (remote HEADs) are ignored.
            let mut fields = rest.split(|&b| b == b'\t');
            let target = fields.next().unwrap_or(rest);
            if fields.next() == Some(b"HEAD".as_slice()) {
                let target = String::from_utf8(target.to_vec())
                    .map_err(|_| Error::parse("ls-remote symref", line))?;
                head = Some(
                    target
                        .strip_prefix("refs/heads/")
                        .map(str::to_owned)
                        .unwrap_or(target),
                );
            }
            continue;
        }
        refs.push(parse_remote_line(line)?);
    }
    Ok((head, refs))
}

pub(crate) fn parse_remote_line(line: &[u8]) -> Result<RemoteRef> {
    let bad = || Error::parse("ls-remote line", line);
    let text = std::str::from_utf8(line).map_err(|_| bad())?;
    let (hex, name) = text.split_once('\t').ok_or_else(bad)?;
    Ok(RemoteRef {
        name: name.to_owned(),
        oid: ObjectId::from_hex(hex)?,
    })
}

impl Repo {
    /// The git directory passed as `--git-dir`.
    pub fn git_dir(&self) -> &Path {
        &self.git_dir
    }

    /// The [`Git`] handle this repository runs through.
    pub fn git(&self) -> &Git {
        &self.git
    }

    pub(crate) fn run_ok(&self, args: &[OsString], input: Vec<Bytes>) -> Result<Vec<u8>> {
        self.git.run_ok(Some(&self.git_dir), args, input)
    }

    /// Fetches `refspecs` from `url`: `git fetch --quiet [--depth N] [--filter F] [--no-tags]
    /// [--shallow-exclude=R] -- <url> <refspecs>..`.
    /// One spawn (git may start `upload-pack` or a remote helper itself), network.
    ///
    /// With `filter: Some("blob:none")` the repository becomes a partial clone: file contents
    /// are absent and, because every process runs with `GIT_NO_LAZY_FETCH=1`, reading one
    /// fails instead of fetching silently.
    ///
    /// # Errors
    /// [`Error::Command`] (stderr redacted), [`Error::InvalidArgument`] for a refspec or
    /// URL starting with `-`.
    pub fn fetch(&self, url: &str, refspecs: &[String], opts: &FetchOptions) -> Result<()> {
        check_arg("url", url)?;
        let mut args = argv(["fetch", "--quiet"]);
        if let Some(depth) = opts.depth {
            args.push(format!("--depth={depth}").into());
        }
        if let Some(filter) = &opts.filter {
            args.push(format!("--filter={}", check_arg("filter", filter)?).into());
        }
        if opts.no_tags {
            args.push("--no-tags".into());
        }
        if let Some(exclude) = &opts.shallow_exclude {
            args.push(format!("--shallow-exclude={}", check_arg("ref", exclude)?).into());
        }
        args.push("--".into());
        args.push(url.into());
        for r in refspecs {
            // A leading '+' (force) is fine; '-' is not.
            args.push(check_arg("refspec", r)?.into());
        }
        self.run_ok(&args, Vec::new())?;
        Ok(())
    }

    /// Resolves a revision to an object id:
    /// `git rev-parse --verify --quiet --end-of-options <rev>`. One spawn.
    ///
    /// Returns `Ok(None)` when `rev` does not resolve (git exits 1 and prints nothing). A full
    /// 40-hex id resolves to itself without an existence check; append `^{commit}` (or
    /// `^{object}`) to require the object.
    ///
    /// # Errors
    /// [`Error::Command`] for other failures (not a repository), [`Error::InvalidArgument`].
    pub fn rev_parse(&self, rev: &str) -> Result<Option<ObjectId>> {
        check_arg("revision", rev)?;
        let args = argv(["rev-parse", "--verify", "--quiet", "--end-of-options", rev]);
        let out = self.git.run(Some(&self.git_dir), &args, Vec::new())?;
        if !out.status.success() {
            if out.status.code() == Some(1) && out.stderr.is_empty() {
                return Ok(None);
            }
            return Err(self.git.command_error(
                Some(&self.git_dir),
                &args,
                out.status,
                &out.stderr,
            ));
        }
        let text = std::str::from_utf8(&out.stdout)
            .map_err(|_| Error::parse("rev-parse output", &out.stdout))?;
        ObjectId::from_hex(text.trim()).map(Some)
    }

    /// Lists every blob, symlink and gitlink under `treeish`, recursively:
    /// `git ls-tree -r -z --full-tree <treeish>`. One spawn; works without blobs present
    /// (partial clone). Output is parsed from NUL-separated records, so any path byte
    /// round-trips.
    ///
    /// # Errors
    /// [`Error::Command`] when `treeish` does not resolve, [`Error::NonUtf8Path`] for a
    /// non-UTF-8 path, [`Error::InvalidArgument`].
    pub fn ls_tree(&self, treeish: &str) -> Result<Vec<TreeEntry>> {
        check_arg("tree-ish", treeish)?;
        let args = argv(["ls-tree", "-r", "-z", "--full-tree", treeish]);
        let out = self.run_ok(&args, Vec::new())?;
        parse_ls_tree(&out)
    }

    /// Starts one long-lived `cat-file --batch-command --buffer` process (see [`CatFile`]).
    /// One spawn plus two threads (stderr reader, timeout watchdog).
    ///
    /// # Errors
    /// [`Error::Spawn`].
    pub fn cat_file(&self) -> Result<CatFile> {
        CatFile::start(&self.git, &self.git_dir)
    }

    /// Reads and parses the commit `rev` resolves to (peeling tags):
    /// one `git cat-file --batch` process fed `<rev>^{commit}`.
    ///
    /// # Errors
    /// [`Error::MissingObject`]-like failures come back as [`Error::Parse`] with git's
    /// `missing` answer; [`Error::InvalidArgument`] for a bad revision.
    pub fn read_commit(&self, rev: &str) -> Result<Commit> {
        check_arg("revision", rev)?;
        let args = argv(["cat-file", "--batch"]);
        let input = Bytes::from(format!("{rev}^{{commit}}\n"));
        let out = self.run_ok(&args, vec![input])?;
        let nl = out
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| Error::parse("cat-file header", &out))?;
        let header = &out[..nl];
        let bad = || Error::parse("cat-file header", header);
        let mut fields = header.split(|&b| b == b' ');
        let hex = fields.next().ok_or_else(bad)?;
        let kind = fields.next().ok_or_else(bad)?;
        if kind != b"commit" {
            return Err(bad());
        }
        let size: usize = fields
            .next()
            .and_then(|s| std::str::from_utf8(s).ok())
            .and_then(|s| s.parse().ok())
            .ok_or_else(bad)?;
        let oid = std::str::from_utf8(hex)
            .map_err(|_| bad())
            .and_then(ObjectId::from_hex)?;
        let data = out.get(nl + 1..nl + 1 + size).ok_or_else(bad)?;
        Commit::parse(oid, data)
    }

    /// Makes objects in `objects_dir` (another repository's `objects` folder) readable from
    /// this one by appending its absolute path to `objects/info/alternates` (gitrepository-layout(5)).
    /// No spawn; does nothing when the line is already there.
    ///
    /// # Errors
    /// [`Error::Io`] naming the alternates file.
    pub fn add_alternate(&self, objects_dir: &Path) -> Result<()> {
        let info = self.git_dir.join("objects").join("info");
        let file = info.join("alternates");
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| Error::Io { path, source }
        };
        let abs = std::path::absolute(objects_dir).map_err(io(objects_dir))?;
        let line = abs.to_str().ok_or_else(|| {
            Error::invalid("alternate path", &abs.to_string_lossy(), "is not utf-8")
        })?;
        if line.contains('\n') {
            return Err(Error::invalid("alternate path", line, "contains a newline"));
        }
        let existing = match std::fs::read_to_string(&file) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(&file)(e)),
        };
        if existing.lines().any(|l| l == line) {
            return Ok(());
        }
        std::fs::create_dir_all(&info).map_err(io(&info))?;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&file)
            .map_err(io(&file))?;
        let mut text = String::new();
        if !existing.is_empty() && !existing.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(line);
        text.push('\n');
        f.write_all(text.as_bytes()).map_err(io(&file))?;
        Ok(())
    }

    /// Sets ref `name` to `new`: `git update-ref --no-deref -- <name> <new> [<old>]`. One spawn.
    ///
    /// `old: None` updates unconditionally; `Some(oid)` only if the ref is currently `oid`;
    /// `Some(ObjectId::null())` only if the ref does not exist yet.
    ///
    /// # Errors
    /// [`Error::Command`] when the ref's current value differs from `old`.
    pub fn update_ref(&self, name: &str, new: ObjectId, old: Option<ObjectId>) -> Result<()> {
        check_arg("ref name", name)?;
        let mut args = argv(["update-ref", "--no-deref", "--", name]);
        args.push(new.to_hex().into());
        if let Some(old) = old {
            args.push(old.to_hex().into());
        }
        self.run_ok(&args, Vec::new())?;
        Ok(())
    }

    /// Pushes `refspecs` to `url`:
    /// `git push --porcelain [--atomic] [--no-thin] [--force-with-lease=dst:expected].. -- <url> <src:dst>..`.
    /// One spawn (plus git's own `receive-pack` or remote helper), network.
    ///
    /// Returns one [`PushedRef`] per ref git reported, including rejected ones: a rejection
    /// is a status, not an error.
    ///
    /// # Errors
    /// [`Error::Command`] when git fails without reporting any ref (unreachable remote, bad
    /// credentials), [`Error::InvalidArgument`] for a bad refspec.
    pub fn push(
        &self,
        url: &str,
        refspecs: &[PushRefspec],
        opts: &PushOptions,
    ) -> Result<Vec<PushedRef>> {
        check_arg("url", url)?;
        let mut args = argv(["push", "--porcelain"]);
        if opts.atomic {
            args.push("--atomic".into());
        }
        if opts.no_thin {
            args.push("--no-thin".into());
        }
        for r in refspecs {
            check_arg("push source", &r.src)?;
            check_arg("push destination", &r.dst)?;
            if r.src.contains(':') || r.dst.contains(':') {
                return Err(Error::invalid("push refspec", &r.dst, "contains ':'"));
            }
            match r.force_with_lease {
                None => {}
                Some(None) => args.push(format!("--force-with-lease={}:", r.dst).into()),
                Some(Some(oid)) => args.push(format!("--force-with-lease={}:{oid}", r.dst).into()),
            }
        }
        args.push("--".into());
        args.push(url.into());
        for r in refspecs {
            args.push(format!("{}:{}", r.src, r.dst).into());
        }
        let out = self.git.run(Some(&self.git_dir), &args, Vec::new())?;
        let mut refs = parse_push_porcelain(&out.stdout);
        let remote = remote_lines(&self.git.scrub(&String::from_utf8_lossy(&out.stderr)));
        for r in &mut refs {
            r.remote_messages = remote.clone();
        }
        if refs.is_empty() && !out.status.success() {
            return Err(self.git.command_error(
                Some(&self.git_dir),
                &args,
                out.status,
                &out.stderr,
            ));
        }
        Ok(refs)
    }
}

/// Parses `<flag> TAB <from>:<to> TAB <summary>` lines (git-push(1) "OUTPUT", porcelain).
/// Lines of another shape are skipped, and so is a line whose `<to>` is not UTF-8 (no ref this
/// crate pushes is): a lossy name could match another ref.
pub(crate) fn parse_push_porcelain(stdout: &[u8]) -> Vec<PushedRef> {
    let mut refs = Vec::new();
    for line in stdout.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut parts = line.splitn(3, |&b| b == b'\t');
        let (Some(flag), Some(spec), summary) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(spec) = std::str::from_utf8(spec) else {
            continue;
        };
        let dst = spec.rsplit_once(':').map_or(spec, |(_, d)| d).to_owned();
        let summary = String::from_utf8_lossy(summary.unwrap_or(b"")).into_owned();
        let status = match flag {
            b" " | b"+" | b"-" | b"*" => PushStatus::Ok,
            b"=" => PushStatus::UpToDate,
            b"!" if summary.starts_with("[remote ") => PushStatus::Error,
            b"!" => PushStatus::Rejected,
            _ => continue,
        };
        refs.push(PushedRef {
            dst,
            status,
            summary,
            remote_messages: Vec::new(),
        });
    }
    refs
}

/// The text of git's `remote: ` stderr lines (what the remote's hooks and the forge said),
/// prefix removed. Trailing whitespace and the `ESC [ K` (clear to end of line) git appends on
/// a terminal are dropped; blank lines are skipped.
fn remote_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("remote:"))
        .map(|l| {
            let l = l.strip_prefix(' ').unwrap_or(l);
            l.replace("\u{1b}[K", "")
        })
        .map(|l| l.trim_end().to_owned())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
#[path = "repo_tests.rs"]
mod tests;
