//! Binary detection: extension lists first, then a content sniff of the first 8000 bytes.

/// Bytes sniffed from the start of the content: git's `FIRST_FEW_BYTES` (`xdiff-interface.c`,
/// `buffer_is_binary`), so "binary" here agrees with what `git diff` calls binary.
pub const SNIFF_BYTES: usize = 8000;

/// Extensions (lower-case, without the dot) that are always text, whatever the content.
///
/// go-broadcast's text list, plus `svg` (an XML format it listed as binary).
const TEXT_EXTENSIONS: &[&str] = &[
    "yml",
    "yaml",
    "json",
    "xml",
    "toml",
    "ini",
    "conf",
    "cfg",
    "md",
    "txt",
    "rst",
    "csv",
    "log",
    "gitignore",
    "gitattributes",
    "go",
    "js",
    "ts",
    "py",
    "rb",
    "sh",
    "bash",
    "zsh",
    "fish",
    "svg",
];

/// Extensions (lower-case, without the dot) that are always binary, whatever the content.
///
/// go-broadcast's binary list without `svg`.
const BINARY_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "gif", "bmp", "ico", "webp", "zip", "tar", "gz", "bz2", "xz", "7z",
    "rar", "exe", "dll", "so", "dylib", "a", "o", "mp3", "mp4", "avi", "mov", "wav", "flac", "ogg",
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "jar", "war", "ear", "class", "pyc", "pyo",
    "wasm", "db", "sqlite",
];

/// Share of control bytes, in percent, above which content counts as binary.
const CONTROL_PERCENT_LIMIT: usize = 30;

/// Whether `b` is a control byte that does not occur in text.
///
/// file(1)'s table (`encoding.c`, `text_chars`): NUL, the C0 controls and DEL, except BEL,
/// backspace, tab, LF, VT, FF, CR (all of `0x07..=0x0d`) and ESC (ANSI colour codes in logs).
fn is_control(b: u8) -> bool {
    // (b < 0x20 && !matches!(b, 0x07..=0x0d | 0x1b)) || b == 0x7f, without branches.
    ((b < 0x20) & (b.wrapping_sub(0x07) > 0x06) & (b != 0x1b)) | (b == 0x7f)
}

mod lookup;

#[cfg(test)]
use lookup::EXTENSIONS;
use lookup::{listed_extension, listed_tail};

/// Returns the extension of the last path component as written, without the dot; compare it
/// with `eq_ignore_ascii_case`. A leading dot counts (`.gitignore` gives `gitignore`); a name
/// without a dot, or ending in one, gives `None`. No allocation; a backward scan that stops at
/// the first `.` or `/` (a few bytes: the extension is short, so this beats `memrchr2`'s setup).
pub(crate) fn extension(path: &str) -> Option<&str> {
    // The last `/` or `.`: a `.` is the last dot of the last component; a `/` (or neither)
    // means the last component has no dot.
    let at = path.bytes().rposition(|b| b == b'/' || b == b'.')?;
    let ext = &path[at + 1..];
    (path.as_bytes()[at] == b'.' && !ext.is_empty()).then_some(ext)
}

/// Rules 1 and 2 of [`is_binary`]: the listed answer for the extension of `path`, if any.
#[inline]
fn listed_path(path: &str) -> Option<bool> {
    let bytes = path.as_bytes();
    if let Some(tail) = bytes.last_chunk::<8>()
        && let Some(answer) = listed_tail(*tail)
    {
        return answer;
    }
    extension(path).and_then(listed_extension)
}

/// Whether a file must be copied byte for byte instead of transformed.
///
/// `path` is the file's path (any prefix; only the last component's extension is read) and
/// `content` its bytes. Rules, first match wins:
/// 1. the extension (case-insensitive) is in the text list (go-broadcast's list plus `.svg`):
///    text;
/// 2. the extension is in the binary list (images, archives, executables, media, office
///    documents, `.class`/`.pyc`/`.wasm`, `.db`/`.sqlite`): binary;
/// 3. sniff the first [`SNIFF_BYTES`] bytes: empty is text; any NUL byte is binary (git's
///    `buffer_is_binary` rule); otherwise binary when more than 30 % of the sniffed bytes are
///    control bytes, UTF-8 or not. Control bytes are `0x01..=0x1f` and `0x7f` except BEL,
///    backspace, tab, LF, VT, FF, CR and ESC, which file(1) also counts as text. Bytes
///    `>= 0x80` are not control bytes, so Latin-1 and UTF-8 text stay text.
///
/// UTF-16 content has NUL bytes, so it is binary here unless its extension is in the text
/// list; see [`looks_like_utf16`].
///
/// Cost: no allocation; one hash table probe for the extension (about as cheap as reading the
/// extension), then, for unlisted extensions only, one `memchr` pass and one counting pass
/// over at most 8000 bytes.
#[inline]
pub fn is_binary(path: &str, content: &[u8]) -> bool {
    if let Some(binary) = listed_path(path) {
        return binary;
    }
    sniff_is_binary(content)
}

/// The content rule of [`is_binary`] (rule 3), without looking at any extension.
fn sniff_is_binary(content: &[u8]) -> bool {
    let head = &content[..content.len().min(SNIFF_BYTES)];
    if head.is_empty() {
        return false;
    }
    // `<[u8]>::contains` is memchr-backed for bytes.
    if head.contains(&0) {
        return true;
    }
    // Branch-free per byte, counted in u8 lanes of at most 255 bytes, so the loop vectorises.
    let control: usize = head
        .chunks(255)
        .map(|chunk| {
            let lane = chunk
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(is_control(b))));
            usize::from(lane)
        })
        .sum();
    control * 100 > head.len() * CONTROL_PERCENT_LIMIT
}

/// Byte order of UTF-16 content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Utf16 {
    /// Little-endian (`FF FE` byte order mark; Windows' default).
    Le,
    /// Big-endian (`FE FF` byte order mark).
    Be,
}

/// Detects UTF-16 content and its byte order; see [`looks_like_utf16`].
pub(crate) fn utf16_order(content: &[u8]) -> Option<Utf16> {
    match content {
        // `FF FE 00 00` is UTF-32's little-endian mark.
        [0xff, 0xfe, 0, 0, ..] => return None,
        [0xff, 0xfe, ..] => return Some(Utf16::Le),
        [0xfe, 0xff, ..] => return Some(Utf16::Be),
        _ => {}
    }
    let head = &content[..content.len().min(SNIFF_BYTES) & !1];
    let units = head.len() / 2;
    // Unmarked UTF-16 text has NUL bytes (the high byte of every ASCII unit); one memchr pass
    // rules out the common case of UTF-8 and ASCII text before the per-unit scans.
    if units < 2 || !head.contains(&0) {
        return None;
    }
    // Without a mark: most code units are ASCII text (one NUL byte beside a printable byte),
    // and no unit is NUL itself.
    let ascii_text = |low: u8| matches!(low, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    for (order, low_at) in [(Utf16::Le, 0), (Utf16::Be, 1)] {
        let mut ascii = 0;
        let mut nul_units = 0;
        for pair in head.chunks_exact(2) {
            let (low, high) = (pair[low_at], pair[1 - low_at]);
            if low == 0 && high == 0 {
                nul_units += 1;
            } else if high == 0 && ascii_text(low) {
                ascii += 1;
            }
        }
        if nul_units == 0 && ascii * 2 >= units {
            return Some(order);
        }
    }
    None
}

/// Whether `content` looks like UTF-16 text: a UTF-16 byte order mark (`FF FE` or `FE FF`,
/// but not UTF-32's `FF FE 00 00`), or, in the first [`SNIFF_BYTES`] bytes, alternating NUL
/// bytes: at least two code units, at least half of them ASCII text characters (one NUL byte
/// beside a printable byte, tab, LF or CR) in one byte order, and no code unit that is NUL.
///
/// Transforms work on UTF-8 or ASCII-compatible bytes, so UTF-16 files are copied untouched
/// (see [`Transformer::apply_reporting`](crate::Transformer::apply_reporting)). UTF-16 text
/// without a mark that is mostly outside ASCII (CJK) is not detected.
///
/// Cost: no allocation; at most two passes over at most 8000 bytes.
pub fn looks_like_utf16(content: &[u8]) -> bool {
    utf16_order(content).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, content: &[u8], expected: bool) {
        assert_eq!(
            is_binary(path, content),
            expected,
            "is_binary({path:?}, {} bytes starting {:?})",
            content.len(),
            &content[..content.len().min(16)]
        );
    }

    #[test]
    fn extension_lists_decide_before_content() {
        let nul = b"a\0b";
        let table: &[(&str, &[u8], bool)] = &[
            ("a.yml", nul, false),
            ("dir/A.YAML", nul, false),
            ("logo.svg", b"<svg>\0</svg>", false),
            ("x/.gitignore", nul, false),
            ("main.go", nul, false),
            ("logo.png", b"plain text", true),
            ("ARCHIVE.ZIP", b"plain text", true),
            ("lib.so", b"", true),
            ("data.sqlite", b"SQLite format 3", true),
        ];
        for (path, content, expected) in table {
            check(path, content, *expected);
        }
    }

    #[test]
    fn content_sniff_decides_unknown_extensions() {
        let latin1 = b"caf\xe9 cr\xe8me br\xfbl\xe9e\n".repeat(10);
        // Not UTF-8 (0xff, 0xe9): the control-byte share decides.
        let controls = [0x01u8, 0x02, 0x03, 0xff].repeat(100);
        let few_controls = [0x01u8, 0xe9, b'b', b'c', b'd'].repeat(100);
        // Valid UTF-8 full of control bytes is binary too.
        let ascii_controls = [0x01u8, 0x02, 0x03, b'a'].repeat(100);
        let nul_late = {
            let mut v = b"x".repeat(7999);
            v.push(0);
            v
        };
        let nul_after_window = {
            let mut v = b"x".repeat(8000);
            v.push(0);
            v
        };
        let cjk = "日本語のドキュメントです。\r\n".repeat(1000).into_bytes();
        let table: &[(&str, &[u8], bool)] = &[
            ("Makefile", b"", false),
            ("Makefile", b"all:\n\tgo build\n", false),
            ("README", "中文说明\n".as_bytes(), false),
            ("notes.unknown", &cjk, false),
            ("blob", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", true),
            ("latin1.conf2", &latin1, false),
            ("ctl.bin2", &controls, true),
            ("ctl.bin3", &[0xffu8, 0x01, 0x02, 0x03][..], true),
            ("few.ctl", &few_controls, false),
            ("ascii.ctl", &ascii_controls, true),
            ("nul.late", &nul_late, true),
            ("nul.after", &nul_after_window, false),
        ];
        for (path, content, expected) in table {
            check(path, content, *expected);
        }
    }

    #[test]
    fn control_share_applies_to_utf8_too() {
        let c0: Vec<u8> = (0x01..=0x10).collect();
        let ansi = b"\x1b[31mred\x1b[0m ok\n".repeat(50);
        let overstrike = b"N\x08NA\x08AM\x08ME\x08E\n".repeat(20);
        let page_breaks = b"\x0c\x0b\x07\r\n\t".repeat(30);
        let few = "h\u{e9}llo\x01 w\u{f6}rld\n".repeat(100).into_bytes();
        let utf8_controls = "\u{e9}\x02\x03".repeat(100).into_bytes();
        let table: &[(&str, &[u8], bool)] = &[
            // 16 bytes of C0 controls: 9 of them are not text.
            ("sixteen.ctl", &c0, true),
            ("ansi.log2", &ansi, false),
            ("man.1", &overstrike, false),
            ("breaks.x", &page_breaks, false),
            ("few.utf8", &few, false),
            ("many.utf8", &utf8_controls, true),
            // 30 % is still text, more is binary.
            ("limit.x", b"\x01\x02\x03abcdefg", false),
            ("over.x", b"\x01\x02\x03\x04abcdef", true),
            ("del.x", b"\x7f\x7f\x7f\x7fabcdef", true),
            ("esc.x", b"\x1b\x1b\x1b\x1babcdef", false),
        ];
        for (path, content, expected) in table {
            check(path, content, *expected);
        }
    }

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    fn utf16be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(|u| u.to_be_bytes()).collect()
    }

    #[test]
    fn utf16_is_detected_by_mark_or_alternating_nuls() {
        let with_mark = |mark: &[u8], body: Vec<u8>| [mark.to_vec(), body].concat();
        let small_ints: Vec<u8> = (0u16..200).flat_map(|i| (i % 7).to_le_bytes()).collect();
        let table: &[(&str, Vec<u8>, bool)] = &[
            (
                "le mark",
                with_mark(&[0xff, 0xfe], utf16le("{{NAME}}")),
                true,
            ),
            (
                "be mark",
                with_mark(&[0xfe, 0xff], utf16be("{{NAME}}")),
                true,
            ),
            ("mark only", vec![0xff, 0xfe], true),
            ("le ascii", utf16le("Set-Location {{NAME}}\r\n"), true),
            ("be ascii", utf16be("Set-Location {{NAME}}\r\n"), true),
            ("le mixed", utf16le("caf\u{e9} \u{65e5}\u{672c} docs"), true),
            ("utf-32 mark", vec![0xff, 0xfe, 0, 0, b'a', 0, 0, 0], false),
            ("utf-8", b"plain text".to_vec(), false),
            ("one unit", b"a\0".to_vec(), false),
            ("empty", Vec::new(), false),
            ("nul units", b"a\0\0\0b\0c\0".to_vec(), false),
            ("small ints", small_ints, false),
            ("png", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(), false),
        ];
        for (what, content, expected) in table {
            assert_eq!(looks_like_utf16(content), *expected, "{what}: {content:?}");
        }
    }

    #[test]
    fn utf8_character_cut_by_the_window_is_still_text() {
        // "é" is 2 bytes; 7999 ASCII bytes then "é" puts its first byte at offset 7999.
        let mut content = b"a".repeat(7999);
        content.extend_from_slice("é and more".as_bytes());
        check("doc.unknown", &content, false);
        // Invalid UTF-8 before the cut is not excused by the cut rule.
        let mut invalid = b"\x01\x02\x03\xff".repeat(2000);
        invalid.extend_from_slice("é".as_bytes());
        check("doc.unknown", &invalid, true);
    }

    /// The lists as a linear, case-insensitive scan: what the hash table must agree with.
    fn reference_listed(ext: &str) -> Option<bool> {
        let listed = |list: &[&str]| list.iter().any(|e| e.eq_ignore_ascii_case(ext));
        if listed(TEXT_EXTENSIONS) {
            Some(false)
        } else if listed(BINARY_EXTENSIONS) {
            Some(true)
        } else {
            None
        }
    }

    /// The extension of the last component the way `str` splitting finds it.
    fn reference_extension(path: &str) -> Option<&str> {
        let base = path.rsplit('/').next().unwrap_or(path);
        let (_, ext) = base.rsplit_once('.')?;
        (!ext.is_empty()).then_some(ext)
    }

    #[test]
    fn extension_table_holds_both_lists_exactly() {
        for list in [TEXT_EXTENSIONS, BINARY_EXTENSIONS] {
            for ext in list {
                assert!(
                    ext.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
                    "{ext}: list entries are lower-case letters and digits"
                );
                assert_eq!(listed_extension(ext), reference_listed(ext), "{ext}");
                let upper = ext.to_ascii_uppercase();
                assert_eq!(listed_extension(&upper), reference_listed(ext), "{upper}");
            }
        }
        let table: &[(&str, Option<bool>)] = &[
            ("txt", Some(false)),
            ("TxT", Some(false)),
            ("png", Some(true)),
            ("7Z", Some(true)),
            ("sqlite", Some(true)),
            ("GitAttributes", Some(false)),
            ("gitignores", None),
            ("pn", None),
            ("pngg", None),
            ("png\0", None),
            ("p\0g", None),
            ("\0", None),
            ("tar.gz", None),
            ("d\u{e9}", None),
            ("dat", None),
            ("abcdefgh", None),
            ("abcdefghijklmnopq", None),
            ("", None),
            ("PNG", Some(true)),
            ("pnG\u{e9}", None),
            ("[ng", None),
            ("@NG", None),
        ];
        for (ext, expected) in table {
            assert_eq!(listed_extension(ext), *expected, "{ext:?}");
            assert_eq!(reference_listed(ext), *expected, "{ext:?}");
        }
        let used = EXTENSIONS.slots.iter().filter(|s| **s != 0).count();
        assert_eq!(used, TEXT_EXTENSIONS.len() + BINARY_EXTENSIONS.len() - 2);
    }

    proptest::proptest! {
        #[test]
        fn table_lookup_equals_the_list_scan(
            ext in proptest::sample::select([TEXT_EXTENSIONS, BINARY_EXTENSIONS].concat()),
            upper in proptest::collection::vec(proptest::bool::ANY, 16),
            noise in "[a-zA-Z0-9.\\x00-\\x7f\u{e9}]{0,3}",
        ) {
            let mixed: String = ext
                .chars()
                .zip(&upper)
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            for candidate in [mixed.clone(), format!("{mixed}{noise}"), noise.clone()] {
                proptest::prop_assert_eq!(
                    listed_extension(&candidate),
                    reference_listed(&candidate)
                );
            }
        }

        /// The word-at-a-time path lookup against the reference: split off the extension,
        /// scan both lists ignoring ASCII case. Paths mix listed extensions in any case, dots,
        /// slashes, NUL, non-ASCII and long tails, at lengths on both sides of 8 bytes.
        #[test]
        fn path_lookup_equals_the_reference(
            stem in "[a./A-Z\x00\u{e9}]{0,10}",
            ext in proptest::sample::select(
                [TEXT_EXTENSIONS, BINARY_EXTENSIONS, &["", "pngx", "sqlites", "a.b"]].concat()
            ),
            upper in proptest::collection::vec(proptest::bool::ANY, 16),
            tail in "[a.Z/\x00\u{e9}]{0,2}",
        ) {
            let mixed: String = ext
                .chars()
                .zip(&upper)
                .map(|(c, &u)| if u { c.to_ascii_uppercase() } else { c })
                .collect();
            for path in [
                format!("{stem}.{mixed}"),
                format!("{stem}.{mixed}{tail}"),
                format!("{stem}{mixed}"),
                format!("{mixed}/{stem}"),
            ] {
                let expected = reference_extension(&path).and_then(reference_listed);
                proptest::prop_assert_eq!(listed_path(&path), expected, "{:?}", path);
            }
        }

        #[test]
        fn extension_equals_the_split_reference(path in "[a./A-Z\u{e9}]{0,12}") {
            proptest::prop_assert_eq!(extension(&path), reference_extension(&path));
        }
    }

    #[test]
    fn path_lookup_reads_the_last_word_and_falls_back() {
        let table: &[(&str, Option<bool>)] = &[
            ("test.png", Some(true)),
            ("test.txt", Some(false)),
            ("large.txt", Some(false)),
            ("a/b/C.JPEG", Some(true)),
            ("x.tar.gz", Some(true)),
            ("dir.png/file", None),
            ("dir/.png", Some(true)),
            ("archive.", None),
            ("abcdefgh", None),
            ("notes.sqlite", Some(true)),
            ("notes.sqlites", None),
            ("notes.abcdefg", None),
            ("repo/.GitIgnore", Some(false)),
            ("repo/.gitattributes", Some(false)),
            ("a.gitattributes", Some(false)),
            ("photo.p\u{e9}g", None),
            ("\u{e9}\u{e9}\u{e9}.png", Some(true)),
            ("p.png\0", None),
            ("a.b", None),
            ("a.go", Some(false)),
            (".md", Some(false)),
        ];
        for (path, expected) in table {
            assert_eq!(listed_path(path), *expected, "{path:?}");
            let reference = reference_extension(path).and_then(reference_listed);
            assert_eq!(reference, *expected, "reference {path:?}");
        }
    }

    #[test]
    fn extension_is_read_from_the_last_component() {
        let table = [
            ("a/b.c/Makefile", None),
            ("a/b/.gitignore", Some("gitignore")),
            ("x.TAR.GZ", Some("GZ")),
            ("trailing.", None),
            ("plain", None),
        ];
        for (path, expected) in table {
            assert_eq!(extension(path), expected, "{path}");
        }
    }
}
