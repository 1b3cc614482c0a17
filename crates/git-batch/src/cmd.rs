//! The [`Git`] handle and the one private function through which every git process starts.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use bytes::Bytes;
use wait_timeout::ChildExt;

use crate::{Error, Result};

/// Default per-process timeout: 10 minutes.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Longest git stderr kept in an error, in bytes (the tail is kept: git prints `fatal:` last).
pub const STDERR_CAP_BYTES: usize = 4096;

/// Shortest configured value (or word of one) that [`Git::scrub`] removes from error text.
const SCRUB_MIN_LEN: usize = 8;

/// Environment variables that locate a repository; removed from every child so that a caller
/// running inside a git hook cannot redirect our commands (set them again with
/// [`Git::with_env`] if wanted).
const REPO_ENV: &[&str] = &[
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
];

/// A handle on the git program: which binary, which extra environment and configuration,
/// which timeout.
///
/// Cheap to clone (one `Arc`); clones share the spawn counter read by [`Git::spawn_count`].
/// `Debug` prints configuration keys but never their values (they may hold tokens).
#[derive(Clone)]
pub struct Git {
    inner: Arc<Inner>,
    spawns: Arc<AtomicU64>,
}

#[derive(Clone)]
struct Inner {
    program: PathBuf,
    env: Vec<(String, String)>,
    config: Vec<(String, String)>,
    timeout: Duration,
}

impl Default for Git {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Git {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let env_keys: Vec<&str> = self.inner.env.iter().map(|(k, _)| k.as_str()).collect();
        let config_keys: Vec<&str> = self.inner.config.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("Git")
            .field("program", &self.inner.program)
            .field("env_keys", &env_keys)
            .field("config_keys", &config_keys)
            .field("timeout", &self.inner.timeout)
            .field("spawn_count", &self.spawn_count())
            .finish()
    }
}

/// Output of a finished git process.
pub(crate) struct Output {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: Vec<u8>,
}

impl Git {
    /// A handle on `git` found on `PATH`, with the default 10-minute timeout. No spawn.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                program: PathBuf::from("git"),
                env: Vec::new(),
                config: Vec::new(),
                timeout: DEFAULT_TIMEOUT,
            }),
            spawns: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Uses another git binary (a path, or a name looked up on `PATH`).
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Self {
        Arc::make_mut(&mut self.inner).program = program.into();
        self
    }

    /// Adds an environment variable to every process spawned through this handle (set after
    /// the crate's own variables, so it can override them).
    pub fn with_env(mut self, key: &str, value: &str) -> Self {
        Arc::make_mut(&mut self.inner)
            .env
            .push((key.to_owned(), value.to_owned()));
        self
    }

    /// Adds a git configuration entry to every process, passed as
    /// `GIT_CONFIG_COUNT`/`GIT_CONFIG_KEY_<n>`/`GIT_CONFIG_VALUE_<n>` (git >= 2.31, see
    /// git-config(1) "ENVIRONMENT"), never in argv. Values are scrubbed from every error's
    /// text, so a token (for example `http.<url>.extraHeader`) can be passed here safely.
    /// Replaces any `GIT_CONFIG_COUNT` inherited from the parent environment.
    pub fn with_config(mut self, key: &str, value: &str) -> Self {
        Arc::make_mut(&mut self.inner)
            .config
            .push((key.to_owned(), value.to_owned()));
        self
    }

    /// Sets the per-process timeout. A one-shot process that runs longer is killed and the call
    /// returns [`Error::Timeout`]; for [`crate::CatFile`] it bounds each `read`/`read_many`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        Arc::make_mut(&mut self.inner).timeout = timeout;
        self
    }

    /// The per-process timeout in force.
    pub fn timeout(&self) -> Duration {
        self.inner.timeout
    }

    /// Number of git processes started through this handle and all its clones (including
    /// those that failed or timed out after starting).
    pub fn spawn_count(&self) -> u64 {
        self.spawns.load(Ordering::Relaxed)
    }

    /// Builds the command line for `args` (with `--git-dir=<dir>` first when given).
    fn command(&self, git_dir: Option<&Path>, args: &[OsString]) -> Command {
        let mut cmd = Command::new(&self.inner.program);
        if let Some(dir) = git_dir {
            let mut flag = OsString::from("--git-dir=");
            flag.push(dir.as_os_str());
            cmd.arg(flag);
        }
        cmd.args(args);
        for key in REPO_ENV {
            cmd.env_remove(key);
        }
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_NO_LAZY_FETCH", "1")
            .env("LC_ALL", "C");
        if !self.inner.config.is_empty() {
            cmd.env("GIT_CONFIG_COUNT", self.inner.config.len().to_string());
            for (i, (k, v)) in self.inner.config.iter().enumerate() {
                cmd.env(format!("GIT_CONFIG_KEY_{i}"), k);
                cmd.env(format!("GIT_CONFIG_VALUE_{i}"), v);
            }
        }
        for (k, v) in &self.inner.env {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Its own process group: a Ctrl-C at the terminal reaches the whole foreground group,
        // and would kill a push half-way; the caller decides what an interrupt stops (git is
        // still bounded by the timeout, and never reads the terminal: GIT_TERMINAL_PROMPT=0).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        cmd
    }

    /// The argv shown in errors: lossy UTF-8, URL credentials and config values removed.
    pub(crate) fn display_args(&self, git_dir: Option<&Path>, args: &[OsString]) -> Vec<String> {
        let mut out = Vec::with_capacity(args.len() + 1);
        if let Some(dir) = git_dir {
            out.push(format!("--git-dir={}", dir.display()));
        }
        out.extend(args.iter().map(|a| self.scrub(&a.to_string_lossy())));
        out
    }

    /// Removes URL credentials and every configured value from `text`. Values (and words of
    /// values) shorter than [`SCRUB_MIN_LEN`] bytes are left alone: `0` or `true` are no
    /// secrets, and replacing them would garble every message (`GH006` -> `GH******6`).
    pub(crate) fn scrub(&self, text: &str) -> String {
        let mut s = redact_url_credentials(text);
        for (_, value) in &self.inner.config {
            if value.len() >= SCRUB_MIN_LEN && s.contains(value.as_str()) {
                s = s.replace(value.as_str(), "***");
            }
            for word in value.split_whitespace() {
                if word.len() >= SCRUB_MIN_LEN && s.contains(word) {
                    s = s.replace(word, "***");
                }
            }
        }
        s
    }

    /// Trims, scrubs and caps stderr for an error.
    pub(crate) fn stderr_for_error(&self, stderr: &[u8]) -> String {
        let text = String::from_utf8_lossy(stderr);
        let scrubbed = self.scrub(text.trim());
        cap_tail(&scrubbed, STDERR_CAP_BYTES)
    }

    /// Starts a long-lived process (stdin/stdout/stderr piped). Counts one spawn and emits a
    /// `debug` event on the [`PROCESS_LOG_TARGET`] target (`command`, `subcommand`, no
    /// duration: the process outlives the call).
    pub(crate) fn spawn(&self, git_dir: Option<&Path>, args: &[OsString]) -> Result<Child> {
        let child = self.spawn_quiet(git_dir, args)?;
        tracing::debug!(
            target: PROCESS_LOG_TARGET,
            command = %self.display_args(git_dir, args).join(" "),
            subcommand = subcommand(args),
            "git process started"
        );
        Ok(child)
    }

    /// Starts a process without an event (the caller emits one when it ends).
    fn spawn_quiet(&self, git_dir: Option<&Path>, args: &[OsString]) -> Result<Child> {
        let child = self
            .command(git_dir, args)
            .spawn()
            .map_err(|source| Error::Spawn {
                program: self.inner.program.clone(),
                source,
            })?;
        self.spawns.fetch_add(1, Ordering::Relaxed);
        Ok(child)
    }

    /// Runs git to completion: writes `input` to stdin (then closes it), collects stdout and
    /// stderr, and kills the process after the timeout.
    ///
    /// Returns the output whatever the exit status; see [`Git::run_ok`]. Every call that
    /// started a process emits one `debug` event on [`PROCESS_LOG_TARGET`] when it ends:
    /// `command` (argv as in errors: credentials and configured values removed), `subcommand`,
    /// `duration_ms` (`duration_us` too, for short processes) and `exit` (the exit code; -1 when
    /// killed by a signal or the timeout, with `timed_out = true` for the latter).
    pub(crate) fn run(
        &self,
        git_dir: Option<&Path>,
        args: &[OsString],
        input: Vec<Bytes>,
    ) -> Result<Output> {
        self.run_parts(
            git_dir,
            args,
            input.into_iter().map(StdinPart::Bytes).collect(),
        )
    }

    /// [`Git::run`] with stdin given as parts, some of which stream from a
    /// [`crate::BlobSource`] while being written (see [`StdinPart`]).
    pub(crate) fn run_parts(
        &self,
        git_dir: Option<&Path>,
        args: &[OsString],
        input: Vec<StdinPart>,
    ) -> Result<Output> {
        let started = std::time::Instant::now();
        let result = self.run_inner(git_dir, args, input);
        let (exit, timed_out) = match &result {
            Ok(out) => (out.status.code().unwrap_or(-1), false),
            Err(Error::Timeout { .. }) => (-1, true),
            Err(Error::Spawn { .. }) => return result,
            Err(_) => (-1, false),
        };
        let elapsed = started.elapsed();
        tracing::debug!(
            target: PROCESS_LOG_TARGET,
            command = %self.display_args(git_dir, args).join(" "),
            subcommand = subcommand(args),
            duration_ms = elapsed.as_millis() as u64,
            duration_us = elapsed.as_micros() as u64,
            exit,
            timed_out,
            "git process"
        );
        result
    }

    fn run_inner(
        &self,
        git_dir: Option<&Path>,
        args: &[OsString],
        input: Vec<StdinPart>,
    ) -> Result<Output> {
        let mut child = self.spawn_quiet(git_dir, args)?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let stderr = child.stderr.take().expect("stderr is piped");
        let writer = if input.is_empty() {
            drop(stdin);
            None
        } else {
            Some(thread::spawn(move || {
                let mut stdin = stdin;
                for part in &input {
                    part.write_to(&mut stdin)?;
                }
                stdin.flush()
            }))
        };
        let out_reader = thread::spawn(move || read_all(stdout));
        let err_reader = thread::spawn(move || read_all(stderr));

        let timeout = self.inner.timeout;
        let waited = child.wait_timeout(timeout);
        let status = match waited {
            Ok(Some(status)) => status,
            Ok(None) => {
                // Readers are left to finish on their own: a grandchild (remote helper) may
                // still hold the pipes open.
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Timeout {
                    args: self.display_args(git_dir, args),
                    timeout,
                });
            }
            Err(source) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Pipe {
                    args: self.display_args(git_dir, args),
                    stderr: String::new(),
                    source,
                });
            }
        };
        let stdout = out_reader.join().expect("stdout reader does not panic");
        let stderr = err_reader.join().expect("stderr reader does not panic");
        let pipe_err = |source| Error::Pipe {
            args: self.display_args(git_dir, args),
            stderr: String::new(),
            source,
        };
        let stdout = stdout.map_err(pipe_err)?;
        let stderr = stderr.map_err(pipe_err)?;
        if let Some(writer) = writer {
            // A process that exits without reading all its input is reported through its
            // exit status below, not as a broken pipe.
            let written = writer.join().expect("stdin writer does not panic");
            if let Err(source) = written
                && status.success()
                && source.kind() != std::io::ErrorKind::BrokenPipe
            {
                return Err(pipe_err(source));
            }
        }
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Like [`Git::run`], but a non-zero exit is [`Error::Command`]. Returns stdout.
    pub(crate) fn run_ok(
        &self,
        git_dir: Option<&Path>,
        args: &[OsString],
        input: Vec<Bytes>,
    ) -> Result<Vec<u8>> {
        self.run_ok_parts(
            git_dir,
            args,
            input.into_iter().map(StdinPart::Bytes).collect(),
        )
    }

    /// Like [`Git::run_parts`], but a non-zero exit is [`Error::Command`]. Returns stdout.
    pub(crate) fn run_ok_parts(
        &self,
        git_dir: Option<&Path>,
        args: &[OsString],
        input: Vec<StdinPart>,
    ) -> Result<Vec<u8>> {
        let out = self.run_parts(git_dir, args, input)?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(self.command_error(git_dir, args, out.status, &out.stderr))
        }
    }

    pub(crate) fn command_error(
        &self,
        git_dir: Option<&Path>,
        args: &[OsString],
        status: ExitStatus,
        stderr: &[u8],
    ) -> Error {
        Error::Command {
            args: self.display_args(git_dir, args),
            status,
            stderr: self.stderr_for_error(stderr),
        }
    }
}

/// One piece of a process's stdin: bytes at hand, or a blob whose bytes are produced while
/// they are written (so a large blob never sits whole in memory).
pub(crate) enum StdinPart {
    /// Written as is.
    Bytes(Bytes),
    /// Its source writes exactly `len` bytes (checked: see [`crate::StreamedBlob::write_exact`]).
    Blob(crate::StreamedBlob),
}

impl StdinPart {
    fn write_to(&self, out: &mut dyn Write) -> std::io::Result<()> {
        match self {
            StdinPart::Bytes(b) => out.write_all(b),
            StdinPart::Blob(blob) => blob.write_exact(out),
        }
    }
}

/// The `tracing` target of the events emitted for git processes (see [`Git::run`]); a log
/// filter or a metrics layer selects them by it.
pub const PROCESS_LOG_TARGET: &str = "broadcast_git_batch::process";

/// The git subcommand of `args`: the first argument that is not an option (`-c k=v` pairs and
/// `--git-dir=` come before it), or `"-"`.
fn subcommand(args: &[OsString]) -> &str {
    let mut it = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = it.next() {
        if a == "-c" || a == "-C" {
            it.next();
        } else if !a.starts_with('-') {
            return a;
        }
    }
    "-"
}

fn read_all(mut r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    r.read_to_end(&mut buf)?;
    Ok(buf)
}

/// Builds an argv vector from anything string- or path-like.
pub(crate) fn argv<I, S>(items: I) -> Vec<OsString>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

/// Replaces the userinfo of every `scheme://user:secret@host` (or `scheme://token@host`) with
/// `***`, giving `scheme://***@host`.
pub fn redact_url_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("://") {
        let (head, tail) = rest.split_at(pos + 3);
        out.push_str(head);
        // userinfo ends at '@' before any '/', whitespace, or quote.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace() || c == '\'' || c == '"' || c == '@')
            .unwrap_or(tail.len());
        if tail[end..].starts_with('@') && end > 0 {
            out.push_str("***");
            rest = &tail[end..];
        } else {
            rest = tail;
        }
    }
    out.push_str(rest);
    out
}

/// Keeps the last `cap` bytes of `s` (on a char boundary), prefixed with `[...] ` when cut.
fn cap_tail(s: &str, cap: usize) -> String {
    if s.len() <= cap {
        return s.to_owned();
    }
    let mut start = s.len() - cap;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[...] {}", &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_credentials() {
        let cases = [
            (
                "https://user:s3cret@github.com/o/r",
                "https://***@github.com/o/r",
            ),
            (
                "fatal: https://tok@host/x failed",
                "fatal: https://***@host/x failed",
            ),
            ("no url here", "no url here"),
            ("https://host/path@v1", "https://host/path@v1"),
            (
                "a https://x:y@h and ssh://u:p@h2/",
                "a https://***@h and ssh://***@h2/",
            ),
            ("'https://u:p@h'", "'https://***@h'"),
            ("trailing ://", "trailing ://"),
            ("://@host", "://@host"),
        ];
        for (input, want) in cases {
            assert_eq!(redact_url_credentials(input), want, "{input}");
        }
    }

    #[test]
    fn cap_keeps_tail() {
        let cases = [("short", 10, "short"), ("abcdefghij", 4, "[...] ghij")];
        for (input, cap, want) in cases {
            assert_eq!(cap_tail(input, cap), want);
        }
        // Never splits a multi-byte char.
        let s = "é".repeat(10);
        assert!(cap_tail(&s, 5).ends_with("éé"));
    }

    #[test]
    fn subcommand_skips_options() {
        let cases: &[(&[&str], &str)] = &[
            (&["ls-remote", "url"], "ls-remote"),
            (&["-c", "a=b", "fetch", "x"], "fetch"),
            (&["--no-pager", "push"], "push"),
            (&[], "-"),
            (&["--version"], "-"),
        ];
        for (args, want) in cases {
            assert_eq!(subcommand(&argv(args.iter())), *want, "{args:?}");
        }
    }

    #[test]
    fn scrub_config_values() {
        let git = Git::new().with_config(
            "http.extraHeader",
            "Authorization: Bearer ghp_abcdefgh12345",
        );
        let got =
            git.scrub("bad value 'Authorization: Bearer ghp_abcdefgh12345' and ghp_abcdefgh12345");
        assert!(!got.contains("ghp_abcdefgh12345"), "{got}");
        // Short values such as `pack.window=0` are no secrets and stay readable.
        let git = git.with_config("pack.window", "0");
        assert_eq!(
            git.scrub("remote: GH006: refused"),
            "remote: GH006: refused"
        );
        assert!(!format!("{git:?}").contains("ghp_"));
    }
}
