//! Property tests of chunked transforms (fuzz target `stream-io`).
//!
//! Literal needles (including ones that overlap themselves and replacements that contain the
//! needle) and generated regexes with a known longest match (classes, `\w`, `.`, multi-byte
//! literals, `\b`, multi-line `^`/`$`) are applied to generated text. Properties: the
//! [`StreamProcessor`] output equals the whole-buffer transform for every chunk size and every
//! way a reader splits its reads (short reads, interrupted reads); a driver that follows the
//! [`ChunkTransform`] contract with a different chunk size at every step gives the same output
//! and never carries more than the transform's bound.
//!
//! Case count: `BROADCAST_FUZZ_CASES` (default below); `cargo xtask fuzz --target stream-io`
//! runs these for a fixed time.

use std::io::{self, Read};

use broadcast_stream_io::{ChunkTransform, LiteralReplace, RegexReplace, StreamProcessor};
use proptest::prelude::*;

fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("BROADCAST_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

/// A reader that returns the input in pieces of the given sizes (cycled), and an
/// `Interrupted` error before every piece marked so.
struct Jittery<'a> {
    data: &'a [u8],
    sizes: Vec<(usize, bool)>,
    step: usize,
    interrupted: bool,
}

impl Read for Jittery<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.is_empty() || buf.is_empty() {
            return Ok(0);
        }
        let (size, interrupt) = self.sizes[self.step % self.sizes.len()];
        if interrupt && !self.interrupted {
            self.interrupted = true;
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        self.interrupted = false;
        self.step += 1;
        let n = size.clamp(1, buf.len()).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

fn through_processor<T: ChunkTransform>(
    t: &T,
    input: &[u8],
    chunk: usize,
    sizes: Vec<(usize, bool)>,
) -> Result<Vec<u8>, TestCaseError> {
    let reader = Jittery {
        data: input,
        sizes,
        step: 0,
        interrupted: false,
    };
    let mut out = Vec::new();
    StreamProcessor::new(chunk)
        .process(reader, &mut out, t)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    Ok(out)
}

/// Follows the [`ChunkTransform`] contract by hand with `steps[i]` new bytes at step `i`
/// (cycled; 0 means a step that adds nothing), checking the carry bound at every step.
fn through_driver<T: ChunkTransform>(
    t: &T,
    input: &[u8],
    steps: &[usize],
) -> Result<Vec<u8>, TestCaseError> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let mut start = 0;
    let mut fed = 0;
    let mut i = 0;
    loop {
        // A cycle of empty steps would never finish: an all-zero list steps by one byte.
        let step = if steps.iter().all(|&s| s == 0) {
            1
        } else {
            steps[i % steps.len()]
        };
        let n = step.min(input.len() - fed);
        i += 1;
        buf.extend_from_slice(&input[fed..fed + n]);
        fed += n;
        let is_last = fed == input.len() && n == 0;
        let end = t.transform(&buf, start, is_last, &mut out);
        prop_assert!(
            end >= start && end <= buf.len(),
            "end {end} outside {start}..={}",
            buf.len()
        );
        if is_last {
            prop_assert_eq!(end, buf.len());
            break;
        }
        prop_assert!(
            buf.len() - end <= t.max_carry_bytes(),
            "carry {} over the bound {}",
            buf.len() - end,
            t.max_carry_bytes()
        );
        let keep_from = end.saturating_sub(t.lookbehind_bytes());
        buf.drain(..keep_from);
        start = end - keep_from;
    }
    Ok(out)
}

fn text() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => prop::collection::vec(
            prop::sample::select(&["a", "b", "ab", "1", " ", "\n", "é", "ß", "日", "\r\n", "aa"][..]),
            0..200,
        )
        .prop_map(|v| v.concat().into_bytes()),
        1 => prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// One regex atom and the most bytes it can match once.
fn atom() -> impl Strategy<Value = (String, usize)> {
    prop::sample::select(
        &[
            ("a", 1),
            ("b", 1),
            ("1", 1),
            ("é", 2),
            ("ß", 2),
            ("日", 3),
            ("[ab]", 1),
            ("[0-9]", 1),
            (r"\w", 4),
            ("[^a]", 4),
            (" ", 1),
            (r"\n", 1),
        ][..],
    )
    .prop_map(|(a, n)| (a.to_owned(), n))
}

/// A regex that cannot match the empty string, and its longest match in bytes.
fn bounded_regex() -> impl Strategy<Value = (String, usize)> {
    let branch = (
        prop::collection::vec((atom(), 1usize..4, 0usize..3), 1..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(atoms, b0, b1)| {
            let mut pat = String::new();
            let mut max = 0;
            if b0 {
                pat.push_str(r"\b");
            }
            for ((a, bytes), hi, lo_less) in atoms {
                let lo = hi.saturating_sub(lo_less).max(1);
                pat.push_str(&format!("(?:{a}){{{lo},{hi}}}"));
                max += bytes * hi;
            }
            if b1 {
                pat.push_str(r"\b");
            }
            (pat, max)
        });
    (
        prop::collection::vec(branch, 1..4),
        prop::sample::select(&["", "(?m)^", "(?i)"][..]),
        prop::sample::select(&["", "$"][..]),
    )
        .prop_map(|(branches, pre, post)| {
            let max = branches.iter().map(|b| b.1).max().unwrap_or(1);
            let alts: Vec<String> = branches.into_iter().map(|b| b.0).collect();
            let post = if pre == "(?m)^" { post } else { "" };
            (format!("{pre}(?:{}){post}", alts.join("|")), max)
        })
}

fn read_sizes() -> impl Strategy<Value = Vec<(usize, bool)>> {
    prop::collection::vec((1usize..40, prop::bool::weighted(0.1)), 1..8)
}

proptest! {
    #![proptest_config(cases(256))]

    /// Literal replace: processor output equals the whole-buffer output for any chunk size and
    /// read pattern, and so does a driver with a different step size each time.
    #[test]
    fn fuzz_stream_literal_any_chunking(
        input in text(),
        needle in prop_oneof!["[ab]{1,6}", "[aé\n]{1,4}", Just("aa".to_owned())],
        replacement in prop_oneof!["[abxy]{0,8}", Just(String::new())],
        chunk in 1usize..70,
        sizes in read_sizes(),
        steps in prop::collection::vec(0usize..20, 1..8),
    ) {
        let t = LiteralReplace::new(&needle, replacement.as_bytes());
        let whole = t.replace_all(&input);
        let naive = String::from_utf8_lossy(&input).replace(needle.as_str(), &replacement);
        if std::str::from_utf8(&input).is_ok() {
            prop_assert_eq!(&whole, naive.as_bytes());
        }
        prop_assert_eq!(&through_processor(&t, &input, chunk, sizes)?, &whole);
        prop_assert_eq!(&through_driver(&t, &input, &steps)?, &whole);
    }

    /// Regex replace with a true match bound: chunked output equals the whole-buffer output
    /// and the regex crate's own `replace_all`.
    #[test]
    fn fuzz_stream_regex_any_chunking(
        (pattern, max) in bounded_regex(),
        input in text(),
        chunk in 1usize..70,
        sizes in read_sizes(),
        steps in prop::collection::vec(0usize..20, 1..8),
    ) {
        let re = regex::bytes::Regex::new(&pattern).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let t = RegexReplace::from_regex(re.clone(), "<$0>", max);
        let whole = t.replace_all(&input);
        let reference = re.replace_all(&input, &b"<$0>"[..]).into_owned();
        prop_assert_eq!(&whole, &reference, "pattern {}", pattern);
        prop_assert_eq!(&through_processor(&t, &input, chunk, sizes)?, &whole, "pattern {}", pattern);
        prop_assert_eq!(&through_driver(&t, &input, &steps)?, &whole, "pattern {}", pattern);
    }
}
