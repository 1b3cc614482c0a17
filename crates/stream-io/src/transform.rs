//! The [`ChunkTransform`] contract and two exact implementations: [`LiteralReplace`] and
//! [`RegexReplace`].

use memchr::memmem;
use regex::bytes::Regex;

/// A byte transform that [`crate::StreamProcessor`] can apply chunk by chunk with output
/// byte-identical to applying it to the whole input at once.
///
/// # Contract
///
/// The processor keeps a window `buf` of the input: up to [`lookbehind_bytes`] bytes already
/// handled, then unhandled bytes starting at `start`. Each call to [`transform`] must
///
/// 1. append to `out` the output for `buf[start..end]` and return `end` (`start <= end <=
///    buf.len()`), deciding only what the whole-input transform would decide for those bytes;
/// 2. when `is_last` is `false`, leave at most [`max_carry_bytes`] bytes unhandled
///    (`buf.len() - end <= max_carry_bytes()`), otherwise the processor fails with
///    [`crate::Error::CarryExceeded`]; the unhandled tail is passed again, extended by the next
///    chunk;
/// 3. when `is_last` is `true`, handle everything (`end == buf.len()`).
///
/// A match-and-replace transform satisfies this when every match is at most `max_match` bytes
/// long: a match found in the window is final if the window holds `max_match` bytes (plus any
/// look-ahead) from its start; anything later waits for more input. [`LiteralReplace`] carries
/// `needle.len() - 1` bytes, [`RegexReplace`] carries `max_match + 4`.
///
/// [`lookbehind_bytes`]: ChunkTransform::lookbehind_bytes
/// [`max_carry_bytes`]: ChunkTransform::max_carry_bytes
/// [`transform`]: ChunkTransform::transform
pub trait ChunkTransform {
    /// Bytes before `start` the transform needs to see (for `\b`, `^` and similar look-behind);
    /// the processor keeps at most this many already-handled bytes in the window.
    fn lookbehind_bytes(&self) -> usize {
        0
    }

    /// Upper bound on unhandled bytes a non-final call leaves for the next one.
    fn max_carry_bytes(&self) -> usize;

    /// Transforms `buf[start..end]` into `out` and returns `end`; see the trait docs.
    fn transform(&self, buf: &[u8], start: usize, is_last: bool, out: &mut Vec<u8>) -> usize;
}

/// Replaces every non-overlapping occurrence of a literal byte string, left to right (the same
/// result as `str::replace`). Uses `memchr::memmem` (vectorised search).
#[derive(Debug, Clone)]
pub struct LiteralReplace {
    finder: memmem::Finder<'static>,
    replacement: Vec<u8>,
}

impl LiteralReplace {
    /// Replaces `needle` with `replacement`. An empty needle matches nothing.
    pub fn new(needle: impl AsRef<[u8]>, replacement: impl Into<Vec<u8>>) -> Self {
        LiteralReplace {
            finder: memmem::Finder::new(needle.as_ref()).into_owned(),
            replacement: replacement.into(),
        }
    }

    /// Replaces in a whole buffer at once (the reference the streaming result equals).
    pub fn replace_all(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        self.transform(input, 0, true, &mut out);
        out
    }
}

impl ChunkTransform for LiteralReplace {
    fn max_carry_bytes(&self) -> usize {
        self.finder.needle().len().saturating_sub(1)
    }

    fn transform(&self, buf: &[u8], start: usize, is_last: bool, out: &mut Vec<u8>) -> usize {
        let n = self.finder.needle().len();
        if n == 0 {
            out.extend_from_slice(&buf[start..]);
            return buf.len();
        }
        let mut pos = start;
        // A literal found in the window is complete, and no earlier occurrence can be cut off
        // by the window's end, so every match found is final.
        for m in self.finder.find_iter(&buf[start..]) {
            let s = start + m;
            if s < pos {
                continue; // overlapping occurrence: skipped, as in a whole-input scan
            }
            out.extend_from_slice(&buf[pos..s]);
            out.extend_from_slice(&self.replacement);
            pos = s + n;
        }
        let end = if is_last {
            buf.len()
        } else {
            pos.max(buf.len().saturating_sub(n - 1))
        };
        out.extend_from_slice(&buf[pos..end]);
        end
    }
}

/// Replaces every match of a regex whose matches are at most `max_match_bytes` long, with the
/// `regex` crate's `$name` / `${1}` expansion in the replacement.
///
/// Exactness needs the bound to be true: a regex such as `a+` has unbounded matches and gives
/// different results at chunk boundaries; write `a{1,64}` and pass 64. Look-around is limited to
/// 4 bytes (one UTF-8 character) on either side, which covers `\b`, `^`, `$` in multi-line
/// mode. `\A` and `\z` refer to the whole input only when the input fits in one window.
/// Empty matches (of `x*`, `\b`) are never replaced; apart from that the output equals
/// `Regex::replace_all`.
#[derive(Debug, Clone)]
pub struct RegexReplace {
    regex: Regex,
    replacement: Vec<u8>,
    max_match_bytes: usize,
}

/// Look-ahead and look-behind allowance: one UTF-8 encoded character.
const LOOK_BYTES: usize = 4;

impl RegexReplace {
    /// Compiles `pattern` (bytes regex syntax).
    ///
    /// # Errors
    /// The regex crate's error when `pattern` does not compile.
    pub fn new(
        pattern: &str,
        replacement: impl Into<Vec<u8>>,
        max_match_bytes: usize,
    ) -> Result<Self, regex::Error> {
        Ok(Self::from_regex(
            Regex::new(pattern)?,
            replacement,
            max_match_bytes,
        ))
    }

    /// Uses an already compiled regex.
    pub fn from_regex(
        regex: Regex,
        replacement: impl Into<Vec<u8>>,
        max_match_bytes: usize,
    ) -> Self {
        RegexReplace {
            regex,
            replacement: replacement.into(),
            max_match_bytes,
        }
    }

    /// Replaces in a whole buffer at once (the reference the streaming result equals).
    pub fn replace_all(&self, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(input.len());
        self.transform(input, 0, true, &mut out);
        out
    }

    fn window(&self) -> usize {
        self.max_match_bytes + LOOK_BYTES
    }
}

impl ChunkTransform for RegexReplace {
    fn lookbehind_bytes(&self) -> usize {
        LOOK_BYTES
    }

    fn max_carry_bytes(&self) -> usize {
        self.window()
    }

    fn transform(&self, buf: &[u8], start: usize, is_last: bool, out: &mut Vec<u8>) -> usize {
        let window = self.window();
        // Matches starting before `safe` lie wholly inside `buf` with their look-ahead.
        let safe = if is_last {
            buf.len() + 1
        } else {
            buf.len().saturating_sub(window)
        };
        let mut pos = start;
        let mut search = start;
        while search <= buf.len() {
            let Some(caps) = self.regex.captures_at(buf, search) else {
                break;
            };
            let m = caps.get(0).expect("group 0 always participates in a match");
            if m.start() >= safe {
                break;
            }
            if m.is_empty() {
                // Empty matches are never replaced (see the type docs): step past one byte.
                search = m.end() + 1;
                continue;
            }
            out.extend_from_slice(&buf[pos..m.start()]);
            caps.expand(&self.replacement, out);
            pos = m.end();
            search = m.end();
        }
        let end = if is_last {
            buf.len()
        } else {
            pos.max(safe.min(buf.len()))
        };
        if end > pos {
            out.extend_from_slice(&buf[pos..end]);
        }
        end
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_whole_input_matches_str_replace() {
        let cases: &[(&str, &str, &str)] = &[
            ("aaaa", "aa", "b"),
            ("xabcabcx", "abc", "Z"),
            ("none", "zz", "y"),
            ("", "a", "b"),
            ("abc", "", "x"),
        ];
        for (hay, needle, rep) in cases {
            let t = LiteralReplace::new(needle, *rep);
            let expected = if needle.is_empty() {
                hay.to_string()
            } else {
                hay.replace(needle, rep)
            };
            assert_eq!(
                t.replace_all(hay.as_bytes()),
                expected.as_bytes(),
                "{hay} {needle}"
            );
        }
    }

    #[test]
    fn regex_whole_input_matches_replace_all() -> Result<(), regex::Error> {
        let cases: &[(&str, &str, &str)] = &[
            ("foo bar foobar", r"\bfoo\b", "X"),
            ("a1 b22 c333", r"[0-9]{1,8}", "<$0>"),
            ("héllo wörld", r"\w{1,16}", "w"),
        ];
        for (hay, pat, rep) in cases {
            let t = RegexReplace::new(pat, *rep, 16)?;
            let expected = Regex::new(pat)?
                .replace_all(hay.as_bytes(), rep.as_bytes())
                .into_owned();
            assert_eq!(t.replace_all(hay.as_bytes()), expected, "{hay} {pat}");
        }
        let t = RegexReplace::new(r"x*", "-", 4)?;
        assert_eq!(t.replace_all(b"axxb"), b"a-b");
        Ok(())
    }
}
