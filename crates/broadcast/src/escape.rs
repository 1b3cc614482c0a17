//! Terminal-safe text: control characters in file names, target names and remote messages are
//! escaped before anything prints them (a leaf module: everything that renders text uses it).

use std::borrow::Cow;
use std::fmt::Write as _;

/// `text` safe to print on a terminal: every control character (C0 `U+0000..=U+001F`, DEL
/// `U+007F`, C1 `U+0080..=U+009F`) is written as an escape: `\n`, `\r`, `\t`, `\x1b` (other C0
/// and DEL as `\xNN`), C1 as `\u{NN}`. Nothing else changes, so clean text comes back borrowed.
/// A file name can hold any of them (git allows every byte but NUL and `/`), and a raw ESC or CR
/// would let a template repository rewrite what the terminal shows.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    escape_control_keeping(text, &[])
}

/// [`escape_control`], leaving the characters of `keep` raw (for example `\n` and `\t` in
/// multi-line text whose layout they are).
pub fn escape_control_keeping<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    // Printable ASCII (the common case) holds no control character: one byte scan.
    if text.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return Cow::Borrowed(text);
    }
    let is_control =
        |c: char| (c.is_control() || ('\u{80}'..='\u{9f}').contains(&c)) && !keep.contains(&c);
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if !is_control(c) {
            out.push(c);
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert!(matches!(
            escape_control("plain/ünicöde.md"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape_control("a\u{1b}[31m\r\n\t\u{0}\u{7f}\u{85}\u{9b}z"),
            "a\\x1b[31m\\r\\n\\t\\x00\\x7f\\u{85}\\u{9b}z"
        );
        assert_eq!(escape_control_keeping("a\tb\nc\r", &['\t']), "a\tb\\nc\\r");
    }
}
