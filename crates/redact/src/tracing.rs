//! Redaction for output streams: [`RedactingWriter`] wraps any `io::Write` (stderr, a log file,
//! the pipe that relays git's stderr), and [`RedactingMakeWriter`] plugs it into a
//! `tracing_subscriber::fmt` layer so every formatted event passes through a [`Redactor`].
//!
//! ```
//! use broadcast_redact::tracing::RedactingMakeWriter;
//! let make_writer = RedactingMakeWriter::new(std::io::stderr);
//! let subscriber = tracing_subscriber::fmt().with_writer(make_writer).finish();
//! # drop(subscriber);
//! ```

use std::io::{self, Write};
use std::sync::Arc;

use tracing_subscriber::fmt::MakeWriter;

use crate::{Redactor, global_arc};

/// Longest partial line kept in memory before it is redacted and written anyway (64 KiB). A
/// secret cut at that point can survive in two halves; the PEM rule redacts a truncated block to
/// the end of the piece it sees.
pub const MAX_PENDING_BYTES: usize = 64 * 1024;

/// An `io::Write` adapter that redacts whole lines before passing them to the inner writer.
///
/// Bytes are buffered until a newline; each `write` call redacts and forwards everything up to
/// its last newline as one piece (so a multi-line PEM block written in one call is caught whole).
/// A trailing partial line is kept until the next newline, [`flush`](Write::flush), drop, or
/// [`MAX_PENDING_BYTES`]. A `write` that holds only complete lines while nothing is pending (what
/// `tracing_subscriber::fmt` does for every event) is redacted straight from the caller's buffer:
/// no copy and no allocation when clean.
///
/// Errors are the inner writer's. `write` reports the whole input as accepted once it is buffered
/// or forwarded. Drop writes pending bytes and ignores errors (call `flush` to see them).
#[derive(Debug)]
pub struct RedactingWriter<W: Write> {
    inner: W,
    redactor: Arc<Redactor>,
    pending: Vec<u8>,
}

impl<W: Write> RedactingWriter<W> {
    /// Wraps `inner`, redacting with [`crate::global()`].
    pub fn new(inner: W) -> Self {
        Self::with_redactor(inner, global_arc().clone())
    }

    /// Wraps `inner`, redacting with `redactor`.
    pub fn with_redactor(inner: W, redactor: Arc<Redactor>) -> Self {
        RedactingWriter {
            inner,
            redactor,
            pending: Vec::new(),
        }
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer, mutably (bytes written to it directly bypass redaction).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    fn emit_pending(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let piece = std::mem::take(&mut self.pending);
        let result = self.inner.write_all(&self.redactor.redact_bytes(&piece));
        // Keep the allocation for the next partial line.
        self.pending = piece;
        self.pending.clear();
        result
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match memchr::memrchr(b'\n', buf) {
            None => {
                self.pending.extend_from_slice(buf);
                if self.pending.len() >= MAX_PENDING_BYTES {
                    self.emit_pending()?;
                }
            }
            Some(nl) if self.pending.is_empty() => {
                let (lines, rest) = buf.split_at(nl + 1);
                self.inner.write_all(&self.redactor.redact_bytes(lines))?;
                self.pending.extend_from_slice(rest);
            }
            Some(nl) => {
                let (lines, rest) = buf.split_at(nl + 1);
                self.pending.extend_from_slice(lines);
                self.emit_pending()?;
                self.pending.extend_from_slice(rest);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit_pending()?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; `flush` reports them.
        let _ = self.emit_pending();
    }
}

/// A `tracing_subscriber::fmt::MakeWriter` that wraps every writer `M` makes in a
/// [`RedactingWriter`], so every log event is redacted before it reaches the output.
///
/// Cost per event: one `Arc` clone and one prefilter scan of the formatted line; nothing is
/// copied or allocated for clean lines.
#[derive(Debug, Clone)]
pub struct RedactingMakeWriter<M> {
    make: M,
    redactor: Arc<Redactor>,
}

impl<M> RedactingMakeWriter<M> {
    /// Wraps `make` (for example `std::io::stderr`), redacting with [`crate::global()`].
    pub fn new(make: M) -> Self {
        Self::with_redactor(make, global_arc().clone())
    }

    /// Wraps `make`, redacting with `redactor`.
    pub fn with_redactor(make: M, redactor: Arc<Redactor>) -> Self {
        RedactingMakeWriter { make, redactor }
    }
}

impl<'a, M> MakeWriter<'a> for RedactingMakeWriter<M>
where
    M: MakeWriter<'a>,
{
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter::with_redactor(self.make.make_writer(), self.redactor.clone())
    }

    fn make_writer_for(&'a self, meta: &::tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter::with_redactor(self.make.make_writer_for(meta), self.redactor.clone())
    }
}

/// A field formatter for `tracing_subscriber::fmt().fmt_fields(...)` that prints the value of
/// every field whose name is sensitive ([`crate::is_sensitive_field`]: `token`, `password`,
/// `authorization`, `cookie`, ...) as `***`, and every other field as `name=value` (`Debug`),
/// space-delimited like the default formatter. Combine it with [`RedactingMakeWriter`], which
/// still scans the formatted line for secrets inside ordinary values.
///
/// ```
/// use broadcast_redact::tracing::{RedactingMakeWriter, redacting_fields};
/// let subscriber = tracing_subscriber::fmt()
///     .fmt_fields(redacting_fields())
///     .with_writer(RedactingMakeWriter::new(std::io::stderr))
///     .finish();
/// # drop(subscriber);
/// ```
pub fn redacting_fields()
-> impl for<'w> tracing_subscriber::fmt::FormatFields<'w> + Send + Sync + 'static {
    use tracing_subscriber::field::MakeExt;
    tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
        if field.name() == "message" {
            write!(w, "{value:?}")
        } else if crate::is_sensitive_field(field.name()) {
            write!(w, "{field}={}", crate::MARKER)
        } else {
            write!(w, "{field}={value:?}")
        }
    })
    .delimited(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_table() {
        // (writes, expected output)
        let cases: &[(&[&str], &str)] = &[
            (&["password=a\n"], "password=***\n"),
            (&["pass", "word=abc", "\nok\n"], "password=***\nok\n"),
            (
                &["clean\n", "partial password=x"],
                "clean\npartial password=***",
            ),
            (
                &["-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"],
                "-----BEGIN PRIVATE KEY-----***-----END PRIVATE KEY-----\n",
            ),
            (
                &["a\nb ghp_abcdefghijABCDEFGHIJ012345 c\nd"],
                "a\nb ghp_*** c\nd",
            ),
        ];
        for (writes, expected) in cases {
            let mut out = Vec::new();
            {
                let mut w = RedactingWriter::new(&mut out);
                for piece in *writes {
                    w.write_all(piece.as_bytes())
                        .expect("writing to a Vec cannot fail");
                }
            }
            assert_eq!(String::from_utf8_lossy(&out), *expected, "{writes:?}");
        }
    }

    #[test]
    fn long_partial_line_is_emitted() {
        let mut out = Vec::new();
        let mut w = RedactingWriter::new(&mut out);
        let chunk = vec![b'x'; MAX_PENDING_BYTES];
        w.write_all(&chunk).expect("writing to a Vec cannot fail");
        assert_eq!(w.get_ref().len(), MAX_PENDING_BYTES);
    }
}
