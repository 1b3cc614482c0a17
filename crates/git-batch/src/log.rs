//! Listing the commits of a range with who wrote them and their trailers, in one process.

use crate::cmd::argv;
use crate::{Error, ObjectId, Repo, Result};

/// One commit as listed by [`Repo::commits_between`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitSummary {
    /// The commit's id.
    pub oid: ObjectId,
    /// Its parents as recorded here (a commit at a shallow boundary lists none).
    pub parents: Vec<ObjectId>,
    /// Author name (lossy UTF-8).
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// First line of the message.
    pub subject: String,
    /// The message's trailers as git parses them (`%(trailers:only,unfold)`), `(key, value)`
    /// in order, values trimmed.
    pub trailers: Vec<(String, String)>,
}

/// `%P NUL %an NUL %ae NUL %s NUL %(trailers) NUL`; rev-list puts `commit <oid>\n` before
/// each record and `\n` after it. Only the trailers can hold a newline, none a NUL.
const FORMAT: &str = "--format=%P%x00%an%x00%ae%x00%s%x00%(trailers:only,unfold)%x00";

impl Repo {
    /// Lists the commits reachable from `include` and not from `exclude` (`exclude..include`),
    /// newest first: `git rev-list --format=... <include> --not <exclude>`. One spawn, no
    /// network. Works in a shallow repository: the walk stops at the shallow boundary.
    ///
    /// # Errors
    /// [`Error::Command`] when a revision does not resolve, [`Error::Parse`] for output that is
    /// not in the expected shape.
    pub fn commits_between(
        &self,
        exclude: Option<ObjectId>,
        include: ObjectId,
    ) -> Result<Vec<CommitSummary>> {
        let mut args = argv(["rev-list", FORMAT, &include.to_string()]);
        if let Some(x) = exclude {
            args.push("--not".into());
            args.push(x.to_string().into());
        }
        let out = self.run_ok(&args, Vec::new())?;
        parse_rev_list(&out)
    }
}

fn parse_rev_list(out: &[u8]) -> Result<Vec<CommitSummary>> {
    let mut commits = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let bad = || Error::parse("rev-list record", rest);
        let header_end = rest.iter().position(|&b| b == b'\n').ok_or_else(bad)?;
        let hex = rest[..header_end]
            .strip_prefix(b"commit ")
            .and_then(|h| std::str::from_utf8(h).ok())
            .ok_or_else(bad)?;
        let oid = ObjectId::from_hex(hex.trim())?;
        let body = &rest[header_end + 1..];
        let mut fields = Vec::with_capacity(5);
        let mut at = 0;
        for _ in 0..5 {
            let len = body[at..].iter().position(|&b| b == 0).ok_or_else(bad)?;
            fields.push(String::from_utf8_lossy(&body[at..at + len]).into_owned());
            at += len + 1;
        }
        // The record ends with the newline rev-list adds after the format.
        if body.get(at) == Some(&b'\n') {
            at += 1;
        }
        rest = &body[at..];
        let parents = fields[0]
            .split_whitespace()
            .map(ObjectId::from_hex)
            .collect::<Result<Vec<_>>>()?;
        let trailers = fields[4]
            .lines()
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        let mut f = fields.into_iter().skip(1);
        let mut next = || f.next().unwrap_or_default();
        commits.push(CommitSummary {
            oid,
            parents,
            author_name: next(),
            author_email: next(),
            subject: next(),
            trailers,
        });
    }
    Ok(commits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rev_list_records_parse() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = "c".repeat(40);
        let out = format!(
            "commit {a}\n{b} {c}\0Jane Doe\0jane@example.com\0Merge main\0\0\ncommit {b}\n{c}\0broadcast\0b@example.com\0sync: update x\0Broadcast-Source: acme/t\nBroadcast-Group: g\n\0\ncommit {c}\n\0Ünï\0u@example.com\0root\0\0\n"
        );
        let got = parse_rev_list(out.as_bytes()).expect("parses");
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].parents.len(), 2);
        assert_eq!(got[0].author_name, "Jane Doe");
        assert_eq!(got[0].subject, "Merge main");
        assert!(got[0].trailers.is_empty());
        assert_eq!(
            got[1].trailers,
            vec![
                ("Broadcast-Source".to_owned(), "acme/t".to_owned()),
                ("Broadcast-Group".to_owned(), "g".to_owned())
            ]
        );
        assert!(got[2].parents.is_empty());
        assert_eq!(got[2].author_name, "Ünï");
        assert!(parse_rev_list(b"").expect("empty").is_empty());
        assert!(parse_rev_list(format!("commit {a}\nonly one field").as_bytes()).is_err());
    }
}
