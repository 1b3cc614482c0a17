//! [`StreamProcessor`]: applies a [`ChunkTransform`] to a reader chunk by chunk.

use std::io::{self, Read, Write};
use std::path::Path;

use crate::{ChunkTransform, Error, Result, atomic_write};

/// Counters of one [`StreamProcessor::process`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// Bytes read from the input.
    pub bytes_in: u64,
    /// Bytes written to the output.
    pub bytes_out: u64,
    /// Calls made to the transform (chunks read plus the final call).
    pub chunks: u64,
}

/// Transforms a stream in chunks of a fixed size, carrying the undecided tail of each chunk
/// (bounded by [`ChunkTransform::max_carry_bytes`]) into the next, so the output is
/// byte-identical to transforming the whole input at once.
///
/// Memory: one window of `chunk_bytes + max_carry_bytes + lookbehind_bytes` plus an output
/// buffer of about the same size, allocated once per `process` call. Blocking: reads and writes
/// the given streams.
#[derive(Debug, Clone, Copy)]
pub struct StreamProcessor {
    chunk_bytes: usize,
}

impl Default for StreamProcessor {
    /// 64 KiB chunks.
    fn default() -> Self {
        StreamProcessor::new(64 * 1024)
    }
}

impl StreamProcessor {
    /// A processor reading `chunk_bytes` per step (at least 1; 0 is treated as 1).
    pub fn new(chunk_bytes: usize) -> Self {
        StreamProcessor {
            chunk_bytes: chunk_bytes.max(1),
        }
    }

    /// The chunk size in bytes.
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
    }

    /// Reads `reader` to the end, writes the transformed bytes to `writer` and flushes it.
    ///
    /// # Errors
    /// [`Error::Read`] / [`Error::Write`] with the byte offset reached (the writer may hold a
    /// partial output: use [`crate::atomic_write`] or [`transform_file`] for files), and
    /// [`Error::CarryExceeded`] when the transform breaks its contract.
    pub fn process<R, W, T>(
        &self,
        mut reader: R,
        mut writer: W,
        transform: &T,
    ) -> Result<StreamStats>
    where
        R: Read,
        W: Write,
        T: ChunkTransform + ?Sized,
    {
        let lookbehind = transform.lookbehind_bytes();
        let max_carry = transform.max_carry_bytes();
        let mut buf: Vec<u8> = Vec::with_capacity(lookbehind + max_carry + self.chunk_bytes);
        let mut out: Vec<u8> = Vec::with_capacity(self.chunk_bytes + self.chunk_bytes / 8);
        let mut stats = StreamStats::default();
        // Bytes of `buf` before `start` are already handled and kept only as look-behind.
        let mut start = 0usize;
        loop {
            let got =
                fill(&mut reader, &mut buf, self.chunk_bytes).map_err(|source| Error::Read {
                    offset: stats.bytes_in,
                    source,
                })?;
            stats.bytes_in += got as u64;
            let is_last = got == 0;
            stats.chunks += 1;
            let end = transform.transform(&buf, start, is_last, &mut out);
            debug_assert!(end >= start && end <= buf.len(), "transform returned {end}");
            let end = end.clamp(start, buf.len());
            let carry = buf.len() - end;
            if !is_last && carry > max_carry {
                return Err(Error::CarryExceeded {
                    carry_bytes: carry,
                    limit_bytes: max_carry,
                });
            }
            writer.write_all(&out).map_err(|source| Error::Write {
                offset: stats.bytes_out,
                source,
            })?;
            stats.bytes_out += out.len() as u64;
            out.clear();
            if is_last {
                break;
            }
            // Keep `lookbehind` handled bytes plus the unhandled tail.
            let keep_from = end.saturating_sub(lookbehind);
            buf.drain(..keep_from);
            start = end - keep_from;
        }
        writer.flush().map_err(|source| Error::Write {
            offset: stats.bytes_out,
            source,
        })?;
        Ok(stats)
    }
}

/// Appends up to `want` bytes from `reader` to `buf`, retrying short reads; returns the count
/// (0 only at end of input).
fn fill<R: Read>(reader: &mut R, buf: &mut Vec<u8>, want: usize) -> io::Result<usize> {
    let before = buf.len();
    let mut limited = reader.take(want as u64);
    loop {
        match limited.read_to_end(buf) {
            Ok(_) => return Ok(buf.len() - before),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Streams the file `src` through `transform` into `dst`, replacing `dst` atomically (see
/// [`atomic_write`]). `src` and `dst` may be the same path: the original is read while the
/// temporary file is written and is only replaced at the end.
///
/// # Errors
/// [`Error::Open`] for `src`, any [`StreamProcessor::process`] error wrapped in
/// [`Error::Content`], and the [`atomic_write`] errors. On error `dst` is untouched.
pub fn transform_file<T: ChunkTransform + ?Sized>(
    processor: &StreamProcessor,
    src: &Path,
    dst: &Path,
    transform: &T,
) -> Result<StreamStats> {
    let input = std::fs::File::open(src).map_err(|source| Error::Open {
        path: src.to_owned(),
        source,
    })?;
    let mut stats = StreamStats::default();
    atomic_write(dst, |w| -> Result<()> {
        stats = processor.process(&input, w, transform)?;
        Ok(())
    })?;
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LiteralReplace, RegexReplace};

    #[test]
    fn chunked_equals_whole_table() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let input = b"abcabcab cabc abcabc foo foofoo\nfoo".repeat(7);
        let lit = LiteralReplace::new("abc", "XY");
        let re = RegexReplace::new(r"\bfoo\b|ca[a-z]{0,3}", "[$0]", 8)?;
        for chunk in [1, 2, 3, 5, 7, 64, 4096] {
            let p = StreamProcessor::new(chunk);
            let mut out = Vec::new();
            p.process(&input[..], &mut out, &lit)?;
            assert_eq!(out, lit.replace_all(&input), "literal chunk {chunk}");
            let mut out = Vec::new();
            let stats = p.process(&input[..], &mut out, &re)?;
            assert_eq!(out, re.replace_all(&input), "regex chunk {chunk}");
            assert_eq!(stats.bytes_in, input.len() as u64);
            assert_eq!(stats.bytes_out, out.len() as u64);
        }
        Ok(())
    }

    struct Greedy;
    impl ChunkTransform for Greedy {
        fn max_carry_bytes(&self) -> usize {
            1
        }
        fn transform(&self, buf: &[u8], start: usize, is_last: bool, out: &mut Vec<u8>) -> usize {
            if is_last {
                out.extend_from_slice(&buf[start..]);
                buf.len()
            } else {
                start // never consumes: breaks the contract
            }
        }
    }

    #[test]
    fn contract_violation_is_an_error() {
        let r = StreamProcessor::new(4).process(&b"0123456789"[..], Vec::new(), &Greedy);
        assert!(
            matches!(
                r,
                Err(Error::CarryExceeded {
                    carry_bytes: 4,
                    limit_bytes: 1
                })
            ),
            "{r:?}"
        );
    }

    struct FailingWriter;
    impl Write for FailingWriter {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::other("disk full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn write_errors_are_reported() {
        let r = StreamProcessor::new(4).process(
            &b"0123456789"[..],
            FailingWriter,
            &LiteralReplace::new("1", "2"),
        );
        assert!(matches!(r, Err(Error::Write { offset: 0, .. })), "{r:?}");
    }
}
