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
/// A private key block begun but not ended in that piece (`-----BEGIN … PRIVATE KEY-----` with no
/// `-----END` after it) is held back until its END line arrives, so a key written line by line
/// is still redacted whole; if [`MAX_PENDING_BYTES`], a flush or drop forces it out first, the
/// rest of the key up to its END line is replaced by one marker as it arrives.
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
    /// A private key block was cut by a forced emit: output is masked up to its END line.
    in_key: bool,
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
            in_key: false,
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
        let result = self.emit(&piece);
        // Keep the allocation for the next partial line.
        self.pending = piece;
        self.pending.clear();
        result
    }

    /// Redacts and writes one piece; masks the tail of a key block a forced emit cut.
    fn emit(&mut self, mut piece: &[u8]) -> io::Result<()> {
        if self.in_key {
            let Some(end) = memchr::memmem::find(piece, PEM_END) else {
                return self.inner.write_all(crate::MARKER.as_bytes());
            };
            self.inner.write_all(crate::MARKER.as_bytes())?;
            piece = &piece[end..];
            self.in_key = false;
        }
        self.inner.write_all(&self.redactor.redact_bytes(piece))?;
        // The PEM rule redacted an unterminated block to the end of this piece.
        self.in_key = opens_private_key(piece);
        Ok(())
    }
}

const PEM_BEGIN: &[u8] = b"-----BEGIN ";
const PEM_END: &[u8] = b"-----END ";

/// Whether `text`'s last PEM BEGIN line is a private key's and no END line follows it.
/// One reverse `memmem` search; no allocation.
fn opens_private_key(text: &[u8]) -> bool {
    let Some(begin) = memchr::memmem::rfind(text, PEM_BEGIN) else {
        return false;
    };
    let line = &text[begin..text.len().min(begin + 80)];
    memchr::memmem::find(line, b"PRIVATE KEY").is_some()
        && memchr::memmem::find(&text[begin..], PEM_END).is_none()
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
            Some(nl) if self.pending.is_empty() && !self.in_key && !opens_private_key(buf) => {
                let (lines, rest) = buf.split_at(nl + 1);
                self.inner.write_all(&self.redactor.redact_bytes(lines))?;
                self.pending.extend_from_slice(rest);
            }
            Some(nl) => {
                let (lines, rest) = buf.split_at(nl + 1);
                self.pending.extend_from_slice(lines);
                // An open key block waits for its END line (up to the cap).
                if !opens_private_key(&self.pending) || self.pending.len() >= MAX_PENDING_BYTES {
                    self.emit_pending()?;
                }
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
            // Found by the `redact` fuzz target: a key written in several calls used to leave
            // its body in clear text once the BEGIN line had been emitted alone.
            (
                &[
                    " -----BEGIN RSA PRIVATE KEY-----\nAA+0",
                    "A0AA0A+A/++A\n-----END RSA PRIVATE KEY-----\n",
                ],
                " -----BEGIN RSA PRIVATE KEY-----***-----END RSA PRIVATE KEY-----\n",
            ),
            (
                &[
                    "-----BEGIN EC PRIVATE KEY-----\n",
                    "AAAA\n",
                    "BBBB\n",
                    "-----END EC PRIVATE KEY-----\nok\n",
                ],
                "-----BEGIN EC PRIVATE KEY-----***-----END EC PRIVATE KEY-----\nok\n",
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

    /// A key block forced out by a flush before its END line: the rest of the key is masked as
    /// it arrives, then output resumes after the END line.
    #[test]
    fn a_key_cut_by_a_flush_is_masked_to_its_end() {
        let mut out = Vec::new();
        {
            let mut w = RedactingWriter::new(&mut out);
            w.write_all(b"-----BEGIN PRIVATE KEY-----\nAAAA\n")
                .expect("writing to a Vec cannot fail");
            w.flush().expect("flushing a Vec cannot fail");
            w.write_all(b"BBBB\nCCCC\n-----END PRIVATE KEY-----\nok\n")
                .expect("writing to a Vec cannot fail");
        }
        let text = String::from_utf8_lossy(&out);
        assert!(
            !text.contains("AAAA") && !text.contains("BBBB") && !text.contains("CCCC"),
            "{text}"
        );
        assert!(text.ends_with("-----END PRIVATE KEY-----\nok\n"), "{text}");
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
