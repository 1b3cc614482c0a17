//! Commits read back from the object store, signatures, and trailer parsing.

use std::fmt;

use crate::{Error, ObjectId, Result};

/// A parsed commit object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    /// The commit's id.
    pub oid: ObjectId,
    /// Its root tree.
    pub tree: ObjectId,
    /// Its parents, in order (empty for a root commit; in a shallow repository the parents
    /// are listed even though the objects are absent).
    pub parents: Vec<ObjectId>,
    /// The message (everything after the header's blank line), lossy UTF-8.
    pub message: String,
}

impl Commit {
    /// The trailers of the message's last paragraph, as `(key, value)` pairs in order, parsed
    /// in-process following git-interpret-trailers(1): the last paragraph (never the first,
    /// which is the subject) is a trailer block when all its lines are `Key: value` trailers
    /// (continuation lines starting with whitespace join the previous value), or when it holds
    /// a git-generated trailer (`Signed-off-by:`, `(cherry picked from commit`) and at least
    /// 25% of its lines are trailers. Keys keep their case; values are trimmed.
    ///
    /// Cost: one pass over the message, one allocation per key and value. Limitation: the
    /// `---` patch divider and `trailer.*` configuration are not considered.
    pub fn trailers(&self) -> Vec<(String, String)> {
        parse_trailers(&self.message)
    }

    /// Parses the raw bytes of a commit object (`cat-file commit` format).
    pub(crate) fn parse(oid: ObjectId, data: &[u8]) -> Result<Self> {
        let bad = || Error::parse("commit", data);
        let (header, message) = match find(data, b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &data[data.len()..]),
        };
        let mut tree = None;
        let mut parents = Vec::new();
        for line in header.split(|&b| b == b'\n') {
            if let Some(hex) = line.strip_prefix(b"tree ") {
                tree = Some(oid_from(hex).ok_or_else(bad)?);
            } else if let Some(hex) = line.strip_prefix(b"parent ") {
                parents.push(oid_from(hex).ok_or_else(bad)?);
            }
        }
        Ok(Commit {
            oid,
            tree: tree.ok_or_else(bad)?,
            parents,
            message: String::from_utf8_lossy(message).into_owned(),
        })
    }
}

fn oid_from(hex: &[u8]) -> Option<ObjectId> {
    std::str::from_utf8(hex)
        .ok()
        .and_then(|s| ObjectId::from_hex(s).ok())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

const GIT_GENERATED_PREFIXES: &[&str] = &["Signed-off-by: ", "(cherry picked from commit "];

fn trailer_split(line: &str) -> Option<(&str, &str)> {
    let colon = line.find(':')?;
    let key = line[..colon].trim_end();
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return None;
    }
    Some((key, line[colon + 1..].trim()))
}

fn parse_trailers(message: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = message.lines().filter(|l| !l.starts_with('#')).collect();
    let blank = |l: &str| l.trim().is_empty();
    let mut end = lines.len();
    while end > 0 && blank(lines[end - 1]) {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && !blank(lines[start - 1]) {
        start -= 1;
    }
    // The first paragraph is the subject and is never a trailer block.
    if start == end || lines[..start].iter().all(|l| blank(l)) {
        return Vec::new();
    }
    let block = &lines[start..end];
    let mut trailers: Vec<(String, String)> = Vec::new();
    let (mut trailer_lines, mut other_lines, mut generated) = (0usize, 0usize, false);
    let mut last_was_trailer = false;
    for line in block {
        if line.starts_with([' ', '\t']) && last_was_trailer {
            if let Some(last) = trailers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if GIT_GENERATED_PREFIXES.iter().any(|p| line.starts_with(p)) {
            generated = true;
        }
        match trailer_split(line) {
            Some((k, v)) => {
                trailer_lines += 1;
                trailers.push((k.to_owned(), v.to_owned()));
                last_was_trailer = true;
            }
            None => {
                other_lines += 1;
                last_was_trailer = false;
            }
        }
    }
    let accepted =
        (trailer_lines > 0 && other_lines == 0) || (generated && trailer_lines * 3 >= other_lines);
    if accepted { trailers } else { Vec::new() }
}

/// Who made a commit and when, as in fast-import's `author`/`committer` commands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Signature {
    /// Name; must not contain `<`, `>` or a newline.
    pub name: String,
    /// Email without angle brackets; must not contain `<`, `>` or a newline.
    pub email: String,
    /// Seconds since the Unix epoch.
    pub time_secs: i64,
    /// Offset from UTC in minutes (`+0130` is 90).
    pub offset_minutes: i32,
}

impl Signature {
    /// Checks the fields fast-import would refuse.
    pub(crate) fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("signature name", &self.name),
            ("signature email", &self.email),
        ] {
            if v.contains(['<', '>', '\n', '\0']) {
                return Err(Error::invalid(
                    what,
                    v,
                    "must not contain '<', '>', NUL or a newline",
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Signature {
    /// `Name <email> <secs> <+hhmm>` (git's raw date format).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let abs = self.offset_minutes.unsigned_abs();
        write!(
            f,
            "{} <{}> {} {}{:02}{:02}",
            self.name,
            self.email,
            self.time_secs,
            sign,
            abs / 60,
            abs % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn trailer_table() {
        let cases: Vec<(&str, Vec<(String, String)>)> = vec![
            ("subject only\n", vec![]),
            ("Key: value\n", vec![]),
            (
                "subject\n\nbody text\n\nSync-Group: default\nSource-Commit: abc\n",
                pairs(&[("Sync-Group", "default"), ("Source-Commit", "abc")]),
            ),
            ("subject\n\nnot a: trailer because of space\n", vec![]),
            (
                "subject\n\nKey: a\n  continued\n\n\n",
                pairs(&[("Key", "a continued")]),
            ),
            (
                "subject\n\nsome prose\nSigned-off-by: A <a@b>\n",
                pairs(&[("Signed-off-by", "A <a@b>")]),
            ),
            (
                "subject\n\nprose one\nprose two\nprose three\nprose four\nSigned-off-by: A\n",
                vec![],
            ),
            ("subject\n\nKey: v\nprose\n", vec![]),
            ("subject\n\nKey : spaced\n", pairs(&[("Key", "spaced")])),
        ];
        for (msg, want) in cases {
            assert_eq!(parse_trailers(msg), want, "{msg:?}");
        }
    }

    #[test]
    fn parse_commit_object() {
        let t = "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391";
        let p = "ce013625030ba8dba906f756967f9e9ca394464a";
        let raw = format!(
            "tree {t}\nparent {p}\nauthor A <a@b> 1 +0000\ncommitter A <a@b> 1 +0000\n\nmsg\n\nK: v\n"
        );
        let c = Commit::parse(ObjectId::null(), raw.as_bytes()).unwrap();
        assert_eq!(c.tree.to_string(), t);
        assert_eq!(c.parents.len(), 1);
        assert_eq!(c.message, "msg\n\nK: v\n");
        assert_eq!(c.trailers(), pairs(&[("K", "v")]));
        assert!(Commit::parse(ObjectId::null(), b"parent x\n\nm").is_err());
    }

    #[test]
    fn signature_format() {
        let cases = [(0, "+0000"), (90, "+0130"), (-300, "-0500")];
        for (offset, want) in cases {
            let s = Signature {
                name: "N".into(),
                email: "e@x".into(),
                time_secs: 5,
                offset_minutes: offset,
            };
            assert_eq!(s.to_string(), format!("N <e@x> 5 {want}"));
        }
        let bad = Signature {
            name: "a<b".into(),
            email: "e".into(),
            time_secs: 0,
            offset_minutes: 0,
        };
        assert!(bad.validate().is_err());
    }
}
