//! Reading git configuration as git resolves it for one repository.

use crate::cmd::argv;
use crate::{Error, Repo, Result};

impl Repo {
    /// Every configuration entry whose key matches the extended regular expression `pattern`,
    /// as git resolves them for this repository (system, global, the repository's own file and
    /// its includes, then the `GIT_CONFIG_*` entries of this handle):
    /// `git config --null --get-regexp <pattern>`. One spawn.
    ///
    /// Keys come back as git prints them (section and name lower-cased, git-config(1)
    /// "CONFIGURATION FILE"); a key set without `=` (a bare boolean) has the value `""`.
    /// No match is an empty list (git exits 1 and prints nothing). git does not check that the
    /// directory is a repository: a missing one reads as having no configuration of its own.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] for a pattern starting with `-` or holding a newline,
    /// [`Error::Command`] for any other failure (a broken config file, say),
    /// [`Error::Parse`] for output that is not key/value records.
    pub fn config_get_regexp(&self, pattern: &str) -> Result<Vec<(String, String)>> {
        crate::repo::check_arg("config pattern", pattern)?;
        let args = argv(["config", "--null", "--get-regexp", pattern]);
        let out = self.git().run(Some(self.git_dir()), &args, Vec::new())?;
        if !out.status.success() {
            if out.status.code() == Some(1) && out.stdout.is_empty() {
                return Ok(Vec::new());
            }
            return Err(self.git().command_error(
                Some(self.git_dir()),
                &args,
                out.status,
                &out.stderr,
            ));
        }
        parse_null_entries(&out.stdout)
    }
}

/// `key\nvalue\0` records (a key alone, `key\0`, for a bare boolean), git-config(1) `--null`.
fn parse_null_entries(out: &[u8]) -> Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    for record in out.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let text =
            std::str::from_utf8(record).map_err(|_| Error::parse("git config output", record))?;
        let (key, value) = text.split_once('\n').unwrap_or((text, ""));
        entries.push((key.to_owned(), value.to_owned()));
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_records() {
        let parsed =
            parse_null_entries(b"core.hookspath\n/x/y\0receive.fsckobjects\0a.b\nl1\nl2\0")
                .expect("parses");
        assert_eq!(
            parsed,
            [
                ("core.hookspath".to_owned(), "/x/y".to_owned()),
                ("receive.fsckobjects".to_owned(), String::new()),
                ("a.b".to_owned(), "l1\nl2".to_owned()),
            ]
        );
        assert_eq!(parse_null_entries(b"").expect("empty"), []);
    }
}
