//! One long-lived `git cat-file --batch-command --buffer` process.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use crate::{Error, Git, ObjectId, ObjectKind, Result};

/// Requests written per round trip in [`CatFile::read_many`]: 700 × 50 bytes stays under
/// half of Linux's 64 KiB pipe buffer, so writing a chunk never blocks while git waits for us
/// to read its answers.
const CHUNK_REQUESTS: usize = 700;

/// An object read from the object store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Object {
    /// Its id.
    pub oid: ObjectId,
    /// Its kind.
    pub kind: ObjectKind,
    /// Its raw contents (for trees: git's binary tree format).
    pub data: Vec<u8>,
}

/// A reader over one `git cat-file --batch-command --buffer` process (git >= 2.36).
///
/// Requests are pipelined: [`CatFile::read_many`] writes up to 700 `contents <oid>` lines
/// plus `flush`, then reads all answers, so the cost is one pipe round trip per 700 objects
/// (about 6 µs per object measured) and one process for the reader's life. Each call is
/// bounded by the handle's timeout: a watchdog thread (one per `CatFile`) kills git when a
/// call runs longer, and the call returns [`Error::Timeout`]. Dropping the reader closes
/// stdin, lets git exit and reaps it (killing it after the timeout).
pub struct CatFile {
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    header: Vec<u8>,
    request: Vec<u8>,
    watch: Arc<Watch>,
    watchdog: Option<JoinHandle<()>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
    args: Vec<String>,
    git: Git,
}

struct Watch {
    state: Mutex<WatchState>,
    wake: Condvar,
}

#[derive(Default)]
struct WatchState {
    deadline: Option<Instant>,
    shutdown: bool,
    timed_out: bool,
}

impl Watch {
    fn lock(&self) -> MutexGuard<'_, WatchState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl std::fmt::Debug for CatFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CatFile").field("args", &self.args).finish()
    }
}

impl CatFile {
    pub(crate) fn start(git: &Git, git_dir: &std::path::Path) -> Result<Self> {
        let args: Vec<OsString> = crate::cmd::argv(["cat-file", "--batch-command", "--buffer"]);
        let mut child = git.spawn(Some(git_dir), &args)?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut stderr = child.stderr.take().expect("stderr is piped");
        let stderr = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf);
            buf
        });
        let watch = Arc::new(Watch {
            state: Mutex::new(WatchState::default()),
            wake: Condvar::new(),
        });
        let timeout = git.timeout();
        let watchdog = {
            let watch = Arc::clone(&watch);
            thread::spawn(move || watchdog(child, &watch, timeout))
        };
        Ok(CatFile {
            stdin: Some(stdin),
            stdout: BufReader::with_capacity(64 * 1024, stdout),
            header: Vec::with_capacity(64),
            request: Vec::with_capacity(CHUNK_REQUESTS * 50 + 8),
            watch,
            watchdog: Some(watchdog),
            stderr: Some(stderr),
            args: git.display_args(Some(git_dir), &args),
            git: git.clone(),
        })
    }

    /// Reads one object. One pipe round trip; allocates the object's bytes.
    ///
    /// # Errors
    /// [`Error::MissingObject`] when the object is absent (in a partial clone: a blob that was
    /// filtered out; nothing is fetched), [`Error::Timeout`], [`Error::Pipe`] when git died.
    pub fn read(&mut self, oid: ObjectId) -> Result<Object> {
        let mut v = self.read_many(&[oid])?;
        Ok(v.pop().expect("read_many returns one object per id"))
    }

    /// Reads many objects, in order, pipelining the requests (one round trip per 700 ids).
    ///
    /// # Errors
    /// As [`CatFile::read`]; on [`Error::MissingObject`] the remaining answers of the chunk are
    /// still drained, so the reader stays usable.
    pub fn read_many(&mut self, oids: &[ObjectId]) -> Result<Vec<Object>> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        self.arm();
        let result = self.read_many_inner(oids);
        let timed_out = self.disarm();
        self.map_failure(result, timed_out)
    }

    fn read_many_inner(&mut self, oids: &[ObjectId]) -> Result<Vec<Object>> {
        let mut out = Vec::with_capacity(oids.len());
        let mut missing = None;
        for chunk in oids.chunks(CHUNK_REQUESTS) {
            self.send(chunk.iter().map(|&oid| ("contents", oid)))?;
            for &oid in chunk {
                match self.read_answer(oid)? {
                    Some(obj) => out.push(obj),
                    None => {
                        missing.get_or_insert(oid);
                    }
                }
            }
        }
        match missing {
            Some(oid) => Err(Error::MissingObject { oid }),
            None => Ok(out),
        }
    }

    /// Reads one answer (see [`read_answer_from`]), mapping read failures to [`Error::Pipe`].
    fn read_answer(&mut self, want: ObjectId) -> Result<Option<Object>> {
        let args = &self.args;
        read_answer_from(&mut self.stdout, &mut self.header, want, |source| {
            Error::Pipe {
                args: args.clone(),
                stderr: String::new(),
                source,
            }
        })
    }

    /// The kind and size in bytes of each object, in order, without reading contents (`info
    /// <oid>` commands, git-cat-file(1) "BATCH OUTPUT"; one round trip per 700 ids).
    ///
    /// # Errors
    /// As [`CatFile::read_many`].
    pub fn info_many(&mut self, oids: &[ObjectId]) -> Result<Vec<(ObjectKind, u64)>> {
        if oids.is_empty() {
            return Ok(Vec::new());
        }
        self.arm();
        let result = self.info_many_inner(oids);
        let timed_out = self.disarm();
        self.map_failure(result, timed_out)
    }

    fn info_many_inner(&mut self, oids: &[ObjectId]) -> Result<Vec<(ObjectKind, u64)>> {
        let mut out = Vec::with_capacity(oids.len());
        let mut missing = None;
        for chunk in oids.chunks(CHUNK_REQUESTS) {
            self.send(chunk.iter().map(|oid| ("info", *oid)))?;
            for &oid in chunk {
                match read_header(&mut self.stdout, &mut self.header, oid, |e| {
                    pipe_error(&self.args, e)
                })? {
                    Some(kind_size) => out.push(kind_size),
                    None => {
                        missing.get_or_insert(oid);
                    }
                }
            }
        }
        match missing {
            Some(oid) => Err(Error::MissingObject { oid }),
            None => Ok(out),
        }
    }

    /// Streams one object: `consume` gets its kind, its size in bytes and a reader of exactly
    /// that many bytes, and may read any part of it (the rest is skipped). Memory: the reader's
    /// 64 KiB buffer, whatever the object's size.
    ///
    /// # Errors
    /// [`Error::MissingObject`], [`Error::Timeout`], [`Error::Pipe`] as [`CatFile::read`];
    /// [`Error::Consumer`] when `consume` fails (the reader stays usable).
    pub fn stream<T>(
        &mut self,
        oid: ObjectId,
        consume: impl FnOnce(ObjectKind, u64, &mut dyn Read) -> std::io::Result<T>,
    ) -> Result<T> {
        self.arm();
        let result = self.stream_inner(oid, consume);
        let timed_out = self.disarm();
        self.map_failure(result, timed_out)
    }

    fn stream_inner<T>(
        &mut self,
        oid: ObjectId,
        consume: impl FnOnce(ObjectKind, u64, &mut dyn Read) -> std::io::Result<T>,
    ) -> Result<T> {
        self.send(std::iter::once(("contents", oid)))?;
        let args = self.args.clone();
        let pipe = |e| pipe_error(&args, e);
        let Some((kind, size)) = read_header(&mut self.stdout, &mut self.header, oid, pipe)? else {
            return Err(Error::MissingObject { oid });
        };
        let mut body = (&mut self.stdout).take(size);
        let consumed = consume(kind, size, &mut body);
        // Skip what the consumer left, so the next answer starts where it should.
        std::io::copy(&mut body, &mut std::io::sink()).map_err(pipe)?;
        if body.limit() != 0 {
            return Err(pipe(std::io::Error::from(
                std::io::ErrorKind::UnexpectedEof,
            )));
        }
        let mut lf = [0u8; 1];
        self.stdout.read_exact(&mut lf).map_err(pipe)?;
        if lf[0] != b'\n' {
            return Err(Error::parse("cat-file object terminator", &lf));
        }
        consumed.map_err(|source| Error::Consumer { oid, source })
    }

    /// Writes one `<command> <oid>` line per request plus `flush`.
    fn send(&mut self, requests: impl Iterator<Item = (&'static str, ObjectId)>) -> Result<()> {
        self.request.clear();
        let mut hex = [0u8; 40];
        for (command, oid) in requests {
            oid.write_hex(&mut hex);
            self.request.extend_from_slice(command.as_bytes());
            self.request.push(b' ');
            self.request.extend_from_slice(&hex);
            self.request.push(b'\n');
        }
        self.request.extend_from_slice(b"flush\n");
        let stdin = self.stdin.as_mut().ok_or_else(|| Error::Pipe {
            args: self.args.clone(),
            stderr: String::new(),
            source: std::io::Error::from(std::io::ErrorKind::BrokenPipe),
        })?;
        let pipe = |source| Error::Pipe {
            args: self.args.clone(),
            stderr: String::new(),
            source,
        };
        stdin.write_all(&self.request).map_err(pipe)?;
        stdin.flush().map_err(pipe)
    }

    /// A timed-out call becomes [`Error::Timeout`]; a dead git names its stderr.
    fn map_failure<T>(&mut self, result: Result<T>, timed_out: bool) -> Result<T> {
        match result {
            Err(Error::Pipe { .. }) | Err(Error::Parse { .. }) if timed_out => {
                Err(Error::Timeout {
                    args: self.args.clone(),
                    timeout: self.git.timeout(),
                })
            }
            Err(Error::Pipe { args, source, .. }) => {
                let stderr = self.finish_stderr();
                Err(Error::Pipe {
                    args,
                    stderr,
                    source,
                })
            }
            other => other,
        }
    }

    fn arm(&self) {
        let mut st = self.watch.lock();
        st.deadline = Some(Instant::now() + self.git.timeout());
        drop(st);
        self.watch.wake.notify_all();
    }

    fn disarm(&self) -> bool {
        let mut st = self.watch.lock();
        st.deadline = None;
        st.timed_out
    }

    fn finish_stderr(&mut self) -> String {
        self.stdin = None;
        match self.stderr.take() {
            Some(h) => {
                let bytes = h.join().unwrap_or_default();
                self.git.stderr_for_error(&bytes)
            }
            None => String::new(),
        }
    }
}

/// Reads one `cat-file --batch` answer for `want` from `r`: `<oid> SP <type> SP <size> LF <data>
/// LF`, or `<oid> SP missing LF` (git-cat-file(1) "BATCH OUTPUT"). `header` is a reusable
/// buffer; `pipe` turns a read failure (or a stream that ends early) into the caller's error.
///
/// The size in the header is not trusted for allocation: the data is read as it arrives (at most
/// `size` bytes), so a corrupt header ends in an error at the end of the stream instead of a
/// huge allocation.
///
/// # Errors
/// [`Error::Parse`] for a header that is not one of the two forms or names another object,
/// `pipe(..)` when the stream fails or ends before the object and its terminator.
pub(crate) fn read_answer_from<R: BufRead>(
    r: &mut R,
    header: &mut Vec<u8>,
    want: ObjectId,
    pipe: impl Fn(std::io::Error) -> Error,
) -> Result<Option<Object>> {
    let Some((kind, size)) = read_header(r, header, want, &pipe)? else {
        return Ok(None);
    };
    let size = usize::try_from(size).map_err(|_| {
        Error::parse(
            "cat-file header",
            header.strip_suffix(b"\n").unwrap_or(header),
        )
    })?;
    let mut data = Vec::with_capacity(size.min(PREALLOC_CAP_BYTES));
    r.by_ref()
        .take(size as u64)
        .read_to_end(&mut data)
        .map_err(&pipe)?;
    if data.len() != size {
        return Err(pipe(std::io::Error::from(
            std::io::ErrorKind::UnexpectedEof,
        )));
    }
    let mut lf = [0u8; 1];
    r.read_exact(&mut lf).map_err(&pipe)?;
    if lf[0] != b'\n' {
        return Err(Error::parse("cat-file object terminator", &lf));
    }
    Ok(Some(Object {
        oid: want,
        kind,
        data,
    }))
}

fn pipe_error(args: &[String], source: std::io::Error) -> Error {
    Error::Pipe {
        args: args.to_vec(),
        stderr: String::new(),
        source,
    }
}

/// Reads one answer header for `want`: `<oid> SP <type> SP <size> LF` gives the kind and size,
/// `<oid> SP missing LF` gives `None` (git-cat-file(1) "BATCH OUTPUT").
///
/// # Errors
/// As [`read_answer_from`].
pub(crate) fn read_header<R: BufRead>(
    r: &mut R,
    header: &mut Vec<u8>,
    want: ObjectId,
    pipe: impl Fn(std::io::Error) -> Error,
) -> Result<Option<(ObjectKind, u64)>> {
    header.clear();
    let n = r.read_until(b'\n', header).map_err(&pipe)?;
    if n == 0 {
        return Err(pipe(std::io::Error::from(
            std::io::ErrorKind::UnexpectedEof,
        )));
    }
    let line = header.strip_suffix(b"\n").unwrap_or(header);
    let bad = || Error::parse("cat-file header", line);
    let mut fields = line.split(|&b| b == b' ');
    let oid = fields
        .next()
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| ObjectId::from_hex(h).ok())
        .ok_or_else(bad)?;
    let kind = fields.next().ok_or_else(bad)?;
    if oid != want {
        return Err(bad());
    }
    if kind == b"missing" {
        return Ok(None);
    }
    let kind = ObjectKind::parse(kind)?;
    let size: u64 = fields
        .next()
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    if fields.next().is_some() {
        return Err(bad());
    }
    Ok(Some((kind, size)))
}

/// Most bytes reserved up front for one object whatever its header says (8 MiB); larger objects
/// grow as they are read.
const PREALLOC_CAP_BYTES: usize = 8 << 20;

fn watchdog(mut child: Child, watch: &Watch, timeout: Duration) {
    let mut st = watch.lock();
    loop {
        if st.shutdown {
            break;
        }
        match st.deadline {
            None => {
                st = watch
                    .wake
                    .wait(st)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
            Some(deadline) => {
                let now = Instant::now();
                if now >= deadline {
                    st.timed_out = true;
                    st.deadline = None;
                    let _ = child.kill();
                    // Reap now so no zombie outlives the call that timed out.
                    let _ = child.wait();
                } else {
                    st = watch
                        .wake
                        .wait_timeout(st, deadline - now)
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .0;
                }
            }
        }
    }
    drop(st);
    // stdin is closed by now: git exits on its own; bound the wait anyway.
    match child.wait_timeout(timeout) {
        Ok(Some(_)) => {}
        _ => {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for CatFile {
    fn drop(&mut self) {
        self.stdin = None;
        self.watch.lock().shutdown = true;
        self.watch.wake.notify_all();
        if let Some(h) = self.watchdog.take() {
            let _ = h.join();
        }
        if let Some(h) = self.stderr.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}
    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn thread_safety() {
        assert_send::<CatFile>();
        assert_send_sync::<Git>();
        assert_send_sync::<crate::Repo>();
        assert_send_sync::<Error>();
    }
}
