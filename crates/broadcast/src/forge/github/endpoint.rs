//! REST endpoint templates for metrics labels: a request path with its repository and numbers
//! replaced by placeholders, so one label value stands for one documented endpoint whatever the
//! repository. Placeholders are written `:owner` (as GitHub's older REST docs did), not
//! `{owner}`: some Prometheus text parsers end a label set at the first `}`.

/// The template of `path` (path and query relative to the API base): the query is dropped, the
/// two segments after `/repos/` become `:owner/:repo`, and every all-digit segment `:n`.
///
/// `/repos/acme/api/pulls/12?x=1` gives `/repos/:owner/:repo/pulls/:n`.
pub(crate) fn endpoint_template(path: &str) -> String {
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let mut out = String::with_capacity(path.len());
    let mut after_repos = 0;
    for (i, seg) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        let placeholder = match after_repos {
            2 => Some(":owner"),
            1 => Some(":repo"),
            _ => None,
        };
        if after_repos > 0 {
            after_repos -= 1;
        }
        match placeholder {
            Some(p) => out.push_str(p),
            None if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) => {
                out.push_str(":n")
            }
            None => out.push_str(seg),
        }
        if seg == "repos" && i == 1 {
            after_repos = 2;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        let cases = [
            ("/rate_limit", "/rate_limit"),
            ("/user", "/user"),
            ("/repos/acme/api", "/repos/:owner/:repo"),
            (
                "/repos/acme/api/pulls?head=acme:b&state=open&per_page=100",
                "/repos/:owner/:repo/pulls",
            ),
            ("/repos/acme/api/pulls/12", "/repos/:owner/:repo/pulls/:n"),
            (
                "/repos/a/b/issues/7/labels",
                "/repos/:owner/:repo/issues/:n/labels",
            ),
            ("/repositories/123/pulls?page=2", "/repositories/:n/pulls"),
        ];
        for (path, want) in cases {
            assert_eq!(endpoint_template(path), want, "{path}");
        }
    }
}
