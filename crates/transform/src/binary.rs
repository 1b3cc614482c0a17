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

/// Share of control bytes, in percent, above which content that is not UTF-8 counts as binary.
const CONTROL_PERCENT_LIMIT: usize = 30;

/// Returns the extension of the last path component as written, without the dot; compare it
/// with `eq_ignore_ascii_case`. A leading dot counts (`.gitignore` gives `gitignore`); a name
/// without a dot, or ending in one, gives `None`. No allocation.
pub(crate) fn extension(path: &str) -> Option<&str> {
    let base = path.rsplit('/').next().unwrap_or(path);
    let (_, ext) = base.rsplit_once('.')?;
    (!ext.is_empty()).then_some(ext)
}

/// Whether `ext` is in `list` (lower-case entries), ignoring ASCII case.
fn listed(list: &[&str], ext: &str) -> bool {
    list.iter().any(|e| e.eq_ignore_ascii_case(ext))
}

/// Whether a file must be copied byte for byte instead of transformed.
///
/// `path` is the file's path (any prefix; only the last component's extension is read) and
/// `content` its bytes. Rules, first match wins:
/// 1. the extension (case-insensitive) is in the text list (go-broadcast's list plus `.svg`):
///    text;
/// 2. the extension is in the binary list (images, archives, executables, media, office
///    documents, `.class`/`.pyc`/`.wasm`, `.db`/`.sqlite`): binary;
/// 3. sniff the first [`SNIFF_BYTES`] bytes: empty is text; any NUL byte is binary (git's rule);
///    valid UTF-8 is text (a multi-byte character cut by the 8000-byte window still counts as
///    valid); otherwise binary when more than 30 % of the sniffed bytes are control bytes
///    (`0x00..=0x1f` except tab, LF, FF and CR, plus `0x7f`). Bytes `>= 0x80` are not control
///    bytes, so Latin-1 text stays text.
///
/// Cost: no allocation; a scan of two short extension lists, one `memchr` pass and at most one
/// UTF-8 validation over at most 8000 bytes.
pub fn is_binary(path: &str, content: &[u8]) -> bool {
    if let Some(ext) = extension(path) {
        if listed(TEXT_EXTENSIONS, ext) {
            return false;
        }
        if listed(BINARY_EXTENSIONS, ext) {
            return true;
        }
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
    match std::str::from_utf8(head) {
        Ok(_) => return false,
        // A character cut by the window end: valid up to there, and nothing invalid seen.
        Err(e) if e.error_len().is_none() && head.len() == SNIFF_BYTES => return false,
        Err(_) => {}
    }
    let control = head
        .iter()
        .filter(|&&b| (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r')) || b == 0x7f)
        .count();
    control * 100 > head.len() * CONTROL_PERCENT_LIMIT
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
        // Valid UTF-8 is text even when full of control bytes.
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
            ("ascii.ctl", &ascii_controls, false),
            ("nul.late", &nul_late, true),
            ("nul.after", &nul_after_window, false),
        ];
        for (path, content, expected) in table {
            check(path, content, *expected);
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
